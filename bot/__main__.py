"""`python -m bot`: run every adapter whose token is set, in one process, until stopped.

Settings come from the environment and a `.env` file in the working directory (see
bot/settings.py). Exit status: 0 after a clean stop (SIGINT/SIGTERM), 1 on a start-up problem or
when an adapter dies, 2 when no token is set.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from typing import TYPE_CHECKING

from dotenv import load_dotenv

from bot.logs import setup_logging
from bot.settings import Settings, SettingsError

if TYPE_CHECKING:
    from bot.service import Service
    from bot.shared import Shared

log = logging.getLogger("bot")

NO_TOKEN = (
    "digitbot: no bot token set. Set TELEGRAM_TOKEN (from @BotFather) and/or DISCORD_TOKEN "
    "(Discord developer portal -> your application -> Bot -> Reset Token), in the environment "
    "or in a .env file in this directory. See the README, 'Self-hosting'."
)


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    load_dotenv(".env")
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"digitbot: {exc}", file=sys.stderr)
        return 1
    if not settings.tokens:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    setup_logging(settings.log_level, secrets=settings.secrets)
    try:
        return asyncio.run(run(settings, started))
    except KeyboardInterrupt:
        return 0


async def run(settings: Settings, started: float | None = None) -> int:
    """Start the adapters, log one line when ready, and serve until a signal or a failure."""
    from bot import shared as shared_state
    from bot.service import Service, warm_up

    started = time.monotonic() if started is None else started
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass  # not on this platform or not the main thread

    try:
        shared = await shared_state.connect(settings)
    except ConnectionError as exc:
        log.critical("%s", exc)
        return 1
    service = Service(settings, limiter=shared.limiter(settings))
    stoppers, watched, ready = [], [], []
    status = 0
    try:
        try:
            await loop.run_in_executor(None, warm_up)
        except Exception as exc:
            log.critical("cannot load the digit model: %s", exc)
            return 1
        starting = {}
        if settings.telegram_token:
            starting["telegram"] = _start_telegram(settings, service, shared, stoppers)
        if settings.discord_token:
            starting["discord"] = _start_discord(settings, service, stoppers, watched)
        results = await asyncio.gather(*starting.values(), return_exceptions=True)
        failed = False
        for name, result in zip(starting, results, strict=True):
            if isinstance(result, BaseException):
                log.critical("%s start-up failed: %s: %s", name, type(result).__name__, result)
                failed = True
            else:
                ready.append(result)
        if failed:
            return 1
        log.info(
            "digitbot ready in %.2f s: %s; %d workers, max wait %g s, %s",
            time.monotonic() - started,
            ", ".join(ready),
            settings.workers,
            settings.max_wait,
            f"redis {shared_state.where(settings.redis_url)}" if shared.client else "no redis",
        )
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({stopping, *watched}, return_when="FIRST_COMPLETED")
        for task in done - {stopping}:
            exc = None if task.cancelled() else task.exception()
            log.critical("%s adapter stopped: %s", task.get_name(), exc or "closed")
            status = 1
        stopping.cancel()
        return status
    finally:
        for stopper in reversed(stoppers):
            try:
                await stopper()
            except Exception as exc:
                log.warning("while stopping: %s: %s", type(exc).__name__, exc)
        service.close()
        await shared.close()
        log.info("digitbot stopped")


async def _start_telegram(
    settings: Settings, service: Service, shared: Shared, stoppers: list
) -> str:
    from bot import telegram_bot

    app = telegram_bot.build_application(settings, service, shared)
    stoppers.append(lambda: telegram_bot.stop_application(app))
    return await telegram_bot.start_application(app, settings)


async def _start_discord(
    settings: Settings, service: Service, stoppers: list, watched: list
) -> str:
    from bot import discord_bot

    client = discord_bot.DigitClient(settings, service)
    stoppers.append(client.close)
    watched.append(await discord_bot.start_client(client))
    return f"discord {client.user}"


if __name__ == "__main__":
    sys.exit(main())
