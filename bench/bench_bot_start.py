"""Start-up time and idle memory of `python -m bot` (targets: ready <= 2 s, idle <= 150 MB).

The bot runs as a user runs it, in its own process, with both adapters on, against the test
suite's stand-in Telegram and Discord servers on 127.0.0.1, so no network time is counted.
Start-up is the wall time from launching the process to its "digitbot ready" log line (Python
start, imports, model load, log-in, command registration, first long poll). Memory is the
process's resident set size (VmRSS) once ready and idle, and again after reading one photo.

    python bench/bench_bot_start.py [--runs 3] [--only telegram|discord]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from standins.discord_api import TOKEN as DISCORD_TOKEN  # noqa: E402
from standins.discord_api import DiscordStandIn  # noqa: E402
from standins.photos import digits_photo  # noqa: E402
from standins.telegram_api import TOKEN as TELEGRAM_TOKEN  # noqa: E402
from standins.telegram_api import TelegramStandIn  # noqa: E402

TARGET_SECONDS, TARGET_MB = 2.0, 150.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def one_run(only: str | None, photo: bytes) -> tuple[float, float, float]:
    telegram = await TelegramStandIn().start()
    discord = await DiscordStandIn().start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
    env.update(PYTHONPATH=str(ROOT), LOG_LEVEL="INFO")
    if only in (None, "telegram"):
        env.update(
            TELEGRAM_TOKEN=TELEGRAM_TOKEN,
            TELEGRAM_BASE_URL=telegram.base_url,
            TELEGRAM_BASE_FILE_URL=telegram.base_file_url,
        )
    if only in (None, "discord"):
        env.update(
            DISCORD_TOKEN=DISCORD_TOKEN,
            DISCORD_API_BASE_URL=discord.api_url,
            DISCORD_GATEWAY_URL=discord.gateway_url,
        )
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd="/",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async for raw in process.stdout:
            if b"digitbot ready" in raw:
                ready = time.perf_counter() - started
                print("   ", raw.decode().strip())
                break
        else:
            raise RuntimeError("the bot exited before it was ready")
        drain = asyncio.create_task(process.stdout.read())
        await asyncio.sleep(2.0)
        idle = rss_mb(process.pid)
        if only in (None, "telegram"):
            telegram.push(telegram.photo_message(photo, telegram.chat(1), 1))
            await telegram.wait_sent(1, timeout=30)
        else:
            await discord.message_create(
                discord.message(1, attachments=[discord.attachment(photo)], dm=True)
            )
            await discord.wait_sent(1, timeout=30)
        await asyncio.sleep(0.5)
        after = rss_mb(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
        drain.cancel()
        await telegram.stop()
        await discord.stop()
    return ready, idle, after


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("telegram", "discord"))
    args = parser.parse_args()
    data = np.load(ROOT / "tests" / "fixtures" / "mnist_test_1000.npz")
    photo = digits_photo(data["x"], data["y"], "4071")
    runs = []
    for i in range(args.runs):
        runs.append(await one_run(args.only, photo))
        print(
            f"run {i + 1}: ready {runs[-1][0]:.2f} s, idle {runs[-1][1]:.0f} MB, "
            f"after one photo {runs[-1][2]:.0f} MB"
        )
    ready = statistics.median(r[0] for r in runs)
    idle = max(r[1] for r in runs)
    after = max(r[2] for r in runs)
    adapters = args.only or "telegram + discord"
    print(f"\n{adapters}, {args.runs} runs, {os.cpu_count()} CPUs")
    print(
        f"start-up to ready (median): {ready:.2f} s   target <= {TARGET_SECONDS:.0f} s "
        f"({ready / TARGET_SECONDS:.2f} of target)"
    )
    print(
        f"idle memory (max RSS):      {idle:.0f} MB   target <= {TARGET_MB:.0f} MB "
        f"({idle / TARGET_MB:.2f} of target)"
    )
    print(f"after one photo (max RSS):  {after:.0f} MB")


if __name__ == "__main__":
    asyncio.run(main())
