"""`python -m bot` as a user runs it: tokens from .env, both adapters, one ready line, clean stop,
and no token in any log line (even at DEBUG, where the HTTP libraries log request URLs)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from standins.discord_api import TOKEN as DISCORD_TOKEN
from standins.discord_api import DiscordStandIn
from standins.photos import digits_photo
from standins.telegram_api import TOKEN as TELEGRAM_TOKEN
from standins.telegram_api import TelegramStandIn

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.timeout(120)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def test_no_token_says_what_to_set(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=_env(), capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "TELEGRAM_TOKEN" in done.stderr and "DISCORD_TOKEN" in done.stderr


def test_bad_setting_is_named(tmp_path):
    env = _env(TELEGRAM_TOKEN="1:x", RATE_LIMIT="lots")
    done = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 1 and "RATE_LIMIT" in done.stderr


async def test_runs_both_bots_from_dotenv_and_never_logs_tokens(tmp_path, mnist_sample):
    telegram = await TelegramStandIn().start()
    discord = await DiscordStandIn().start()
    (tmp_path / ".env").write_text(
        f"TELEGRAM_TOKEN={TELEGRAM_TOKEN}\n"
        f"TELEGRAM_BASE_URL={telegram.base_url}\n"
        f"TELEGRAM_BASE_FILE_URL={telegram.base_file_url}\n"
        f"DISCORD_TOKEN={DISCORD_TOKEN}\n"
        f"DISCORD_API_BASE_URL={discord.api_url}\n"
        f"DISCORD_GATEWAY_URL={discord.gateway_url}\n"
        "LOG_LEVEL=DEBUG\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    lines: list[str] = []
    ready = asyncio.Event()

    async def collect():
        async for raw in process.stdout:
            lines.append(raw.decode(errors="replace"))
            if "digitbot ready" in lines[-1]:
                ready.set()

    collector = asyncio.create_task(collect())
    try:
        await asyncio.wait_for(ready.wait(), 60)
        [line] = [x for x in lines if "digitbot ready" in x]
        assert "telegram @digit_test_bot (polling)" in line and "discord digitbot" in line

        photo = digits_photo(*mnist_sample, "4071")
        telegram.push(telegram.photo_message(photo, telegram.chat(501), 501))
        [reply] = await telegram.wait_sent(1, timeout=30)
        assert "4071" in reply.text
        await discord.wait_connected()
        dm = discord.message(601, attachments=[discord.attachment(photo)], dm=True)
        await discord.message_create(dm)
        [reply] = await discord.wait_sent(1, timeout=30)
        assert "4071" in reply.embeds[0]["title"]
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 30)
        await asyncio.wait_for(collector, 5)
        await telegram.stop()
        await discord.stop()
    log = "".join(lines)
    assert code == 0, log[-2000:]
    assert "digitbot stopped" in log
    assert "getUpdates" in log  # DEBUG logging really was on, URLs included ...
    assert TELEGRAM_TOKEN not in log and DISCORD_TOKEN not in log  # ... without the tokens
    assert "[token]" in log


async def test_refused_token_fails_start_up_without_showing_it(tmp_path):
    telegram = await TelegramStandIn().start()
    wrong = "999:WRONG-token-never-to-be-logged"
    env = _env(
        TELEGRAM_TOKEN=wrong,
        TELEGRAM_BASE_URL=telegram.base_url,
        TELEGRAM_BASE_FILE_URL=telegram.base_file_url,
        LOG_LEVEL="DEBUG",
    )
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), 60)
    finally:
        await telegram.stop()
    log = out.decode()
    assert process.returncode == 1 and "start-up failed" in log
    assert wrong not in log
