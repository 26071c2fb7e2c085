"""The real bots running against the stand-in servers: one place for tests and benchmarks.

    async with telegram_bot(rate_limit=1000) as server:   # a started TelegramStandIn
        server.push(server.photo_message(...)); await server.wait_sent(1)

    async with discord_bot(server_class=MyStandIn) as server:   # a connected DiscordStandIn
        await server.message_create(server.message(...))

Keyword arguments are bot Settings (workers defaults to 1). The reading pipeline is the real
core's, looked up at start so a test can still replace bot.service.read_photo.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import discord

from bot import service as service_module
from bot.discord_bot import DigitClient, start_client
from bot.service import Service
from bot.settings import Settings
from bot.telegram_bot import build_application, start_application, stop_application
from standins.discord_api import DiscordStandIn
from standins.telegram_api import TelegramStandIn


@asynccontextmanager
async def telegram_bot(
    server_class: type[TelegramStandIn] = TelegramStandIn, **settings
) -> AsyncIterator[TelegramStandIn]:
    """python-telegram-bot's Application polling a fresh stand-in Bot API server."""
    server = await server_class().start()
    config, service = _configured(
        settings,
        telegram_token=server.token,
        telegram_base_url=server.base_url,
        telegram_base_file_url=server.base_file_url,
    )
    app = build_application(config, service)
    try:
        await start_application(app, config)
        yield server
    finally:
        await stop_application(app)
        service.close()
        await server.stop()


@asynccontextmanager
async def discord_bot(
    server_class: type[DiscordStandIn] = DiscordStandIn, **settings
) -> AsyncIterator[DiscordStandIn]:
    """discord.py's client, logged in and connected to a fresh stand-in Discord."""
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    server = await server_class().start()
    config, service = _configured(
        settings,
        discord_token=server.token,
        discord_api_base_url=server.api_url,
        discord_gateway_url=server.gateway_url,
    )
    # The default 2 s wait for guilds after READY is for the real gateway; here they come at once.
    client = DigitClient(config, service, guild_ready_timeout=0.1)
    task = None
    try:
        task = await start_client(client, timeout=15)
        await server.wait_connected()
        yield server
    finally:
        await client.close()
        if task is not None:
            await task
        service.close()
        await server.stop()
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


def _configured(settings: dict, **endpoints) -> tuple[Settings, Service]:
    """The bot's Settings (one worker unless the test says otherwise) pointed at a stand-in, and
    a Service on the real reading pipeline."""
    config = Settings(**{"workers": 1, **settings, **endpoints})
    return config, Service(config, pipeline=service_module.read_photo)
