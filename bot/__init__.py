"""digitbot chat adapters: Telegram and Discord over one platform-neutral service (bot.service)."""
