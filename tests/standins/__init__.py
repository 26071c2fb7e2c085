"""Stand-in Telegram Bot API and Discord servers for tests, served by aiohttp on 127.0.0.1."""
