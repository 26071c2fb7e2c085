"""The real bots running against the stand-in servers: one place for tests and benchmarks.

    async with telegram_bot(rate_limit=1000) as server:   # a started TelegramStandIn
        server.push(server.photo_message(...)); await server.wait_sent(1)

    async with discord_bot(server_class=MyStandIn) as server:   # a connected DiscordStandIn
        await server.message_create(server.message(...))

Keyword arguments are bot Settings (workers defaults to 1; redis_url shares state through a
real Redis). The reading pipeline is the real core's, looked up at start so a test can still
replace bot.service.read_photo, unless `pipeline` gives another; `reading` sets the service's
reading-time estimate. The bot's Service is `server.service`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import discord

from bot import service as service_module
from bot.discord_bot import DigitClient, start_client
from bot.fair_queue import ReadingTime
from bot.service import Pipeline, Service
from bot.settings import Settings
from bot.shared import Shared, connect
from bot.telegram_bot import build_application, start_application, stop_application
from standins.discord_api import DiscordStandIn
from standins.telegram_api import TelegramStandIn


@asynccontextmanager
async def telegram_bot(
    server_class: type[TelegramStandIn] = TelegramStandIn,
    *,
    pipeline: Pipeline | None = None,
    reading: ReadingTime | None = None,
    **settings,
) -> AsyncIterator[TelegramStandIn]:
    """python-telegram-bot's Application polling a fresh stand-in Bot API server."""
    server = await server_class().start()
    config, service, shared = await _configured(
        settings,
        pipeline,
        reading,
        telegram_token=server.token,
        telegram_base_url=server.base_url,
        telegram_base_file_url=server.base_file_url,
    )
    server.service = service
    app = build_application(config, service, shared)
    try:
        await start_application(app, config)
        yield server
    finally:
        await stop_application(app)
        service.close()
        await shared.close()
        await server.stop()


@asynccontextmanager
async def discord_bot(
    server_class: type[DiscordStandIn] = DiscordStandIn,
    *,
    pipeline: Pipeline | None = None,
    reading: ReadingTime | None = None,
    **settings,
) -> AsyncIterator[DiscordStandIn]:
    """discord.py's client, logged in and connected to a fresh stand-in Discord."""
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    server = await server_class().start()
    config, service, shared = await _configured(
        settings,
        pipeline,
        reading,
        discord_token=server.token,
        discord_api_base_url=server.api_url,
        discord_gateway_url=server.gateway_url,
    )
    server.service = service
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
        await shared.close()
        await server.stop()
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


async def _configured(
    settings: dict, pipeline: Pipeline | None, reading: ReadingTime | None, **endpoints
) -> tuple[Settings, Service, Shared]:
    """The bot's Settings (one worker unless the test says otherwise) pointed at a stand-in, its
    shared state (Redis when the settings name one), and a Service on the real reading pipeline
    unless `pipeline` is given."""
    config = Settings(**{"workers": 1, **settings, **endpoints})
    config.check()
    shared = await connect(config)
    pipeline = pipeline or service_module.read_photo
    service = Service(config, pipeline=pipeline, limiter=shared.limiter(config), reading=reading)
    return config, service, shared
