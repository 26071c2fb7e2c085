"""Load through the Telegram stand-in: 50 users x 10 photos in bursts, `/help` asked all along.

    python bench/bench_load.py            # the full run (~1-2 minutes on 2 cores)
    python bench/bench_load.py --short    # 10 users x 4 photos, for a quick look
    python bench/bench_load.py --files    # 12-megapixel JPEGs sent as files (memory)

The bot runs as `python -m bot` (its real process, default settings unless given) against the
stand-in Bot API on 127.0.0.1; this script sends the photos (1280x960 phone-like JPEGs from
bench/synth.py, Telegram's photo size) and records every answer. It prints: the answers by kind
(reading, rate limited, busy), photos lost or answered twice (must be 0), photos per second,
p50/p95 update->reply time and queue wait (update taken -> turn to be downloaded and read),
"queued" notes sent and left behind (must be 0), fairness (waiting first photos overtaken by
anyone's third or later: must be 0; see tests/standins/load.py), the bot's peak RSS (target
<= 250 MB) and `/help` latency during the load (target <= 1 s). At the default MAX_WAIT no photo
within its user's rate limit may be refused as busy. Exit status 1 when a photo is lost or
answered twice or a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from standins.load import Plan, drive, percentile, summary  # noqa: E402
from standins.telegram_api import TelegramStandIn  # noqa: E402

from bench.synth import make  # noqa: E402

PEAK_RSS_MB = 250  # the memory target for the bot under load
HELP_SECONDS = 1.0  # `/help` must answer within this while the load runs (issue 23)


def photos(count: int, size: tuple[int, int] = (1280, 960)) -> list[tuple[bytes, str]]:
    d = np.load(ROOT / "tests" / "fixtures" / "mnist_test_1000.npz")
    return [make("easy", seed, d["x"], d["y"], size=size) for seed in range(count)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


async def run(plan: Plan, bot_env: dict[str, str]) -> int:
    server = await TelegramStandIn().start()
    env = server.bot_env(LOG_LEVEL="WARNING", **bot_env)
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
    )
    log: list[str] = []

    async def read_log() -> None:
        async for line in bot.stderr:
            log.append(line.decode(errors="replace").rstrip())

    reader = asyncio.create_task(read_log())
    try:
        deadline = time.monotonic() + 60
        while "getUpdates" not in server.calls:
            if bot.returncode is not None or time.monotonic() > deadline:
                print("\n".join(log[-20:]))
                raise SystemExit("the bot did not start")
            await asyncio.sleep(0.05)
        idle_mb = status_kb(bot.pid, "VmRSS") / 1024
        samples: list[float] = []

        async def sample_rss() -> None:
            while True:
                samples.append(status_kb(bot.pid, "VmRSS") / 1024)
                await asyncio.sleep(0.2)

        sampler = asyncio.create_task(sample_rss())
        print(f"load: {plan.users} users x {plan.photos} photos, albums of {plan.burst}, ...")
        images = photos(4, (4000, 3000)) if plan.as_files else photos(20)
        cpu_before, load_before = cpu_seconds(bot.pid), os.getloadavg()[0]
        out = await drive(server, images, plan)
        cpu = cpu_seconds(bot.pid) - cpu_before
        load_after = os.getloadavg()[0]
        sampler.cancel()
        peak_mb = status_kb(bot.pid, "VmHWM") / 1024
    finally:
        if bot.returncode is None:
            bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), 30)
        await reader
        await server.stop()

    print(summary(out))
    print(f"bot RSS                idle {idle_mb:.0f} MB, peak {peak_mb:.0f} MB")
    reads = max(out.kinds.get("reading", 0), 1)
    print(
        f"bot CPU                {cpu:.1f} s in all, {cpu / reads:.2f} s per photo read "
        f"(other answers included); machine load {load_before:.1f} -> {load_after:.1f} "
        f"on {os.cpu_count()} CPUs"
    )
    busy = [line for line in log if "busy: a photo would wait" in line]
    if busy:
        print(f"bot busy lines         {len(busy)}, the first: {busy[0].split(': ', 1)[-1]}")
    errors = [line for line in log if " ERROR " in line or " CRITICAL " in line]
    print(f"bot errors logged      {len(errors)}")
    for line in errors[:5]:
        print("   ", line[:200])
    lat = out.all_latencies()
    print(
        f"\nRESULT photos/s={out.answered / max(out.seconds, 1e-9):.2f} "
        f"read/s={out.kinds.get('reading', 0) / max(out.seconds, 1e-9):.2f} "
        f"p50={percentile(lat, 50):.2f}s p95={percentile(lat, 95):.2f}s "
        f"wait_p50={percentile(out.queue_wait, 50):.2f}s "
        f"wait_p95={percentile(out.queue_wait, 95):.2f}s busy={out.kinds.get('busy', 0)} "
        f"peak_rss={peak_mb:.0f}MB help_max={max(out.help_latency, default=float('nan')):.2f}s "
        f"lost={len(out.lost)} twice={len(out.twice)} overtaken={out.overtaken_firsts}"
    )
    failed = []
    if out.lost or out.twice:
        failed.append("photos lost or answered twice")
    if out.kinds.get("busy", 0) and "MAX_WAIT" not in bot_env:
        failed.append(f"{out.kinds['busy']} photos refused as busy at the default MAX_WAIT")
    if out.overtaken_firsts:
        failed.append(f"{out.overtaken_firsts} waiting first photos overtaken by a third or later")
    if out.notes_left:
        failed.append(f"{out.notes_left} queued notes left undeleted")
    if peak_mb > PEAK_RSS_MB:
        failed.append(f"peak RSS {peak_mb:.0f} MB > {PEAK_RSS_MB} MB")
    if out.help_lost or max(out.help_latency, default=0) > HELP_SECONDS:
        failed.append(f"/help slower than {HELP_SECONDS} s or unanswered")
    for f in failed:
        print("MISSED:", f)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="10 users x 4 photos")
    parser.add_argument(
        "--files", action="store_true", help="12-megapixel JPEGs sent as files, not photos"
    )
    parser.add_argument("--users", type=int)
    parser.add_argument("--photos", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a bot setting for this run, e.g. --set RATE_LIMIT=100 --set MAX_WAIT=20",
    )
    args = parser.parse_args(argv)
    plan = Plan(seed=args.seed)
    if args.short:
        plan = replace(plan, users=10, photos=4, burst=2, spread=3.0)
    if args.users:
        plan = replace(plan, users=args.users)
    if args.photos:
        plan = replace(plan, photos=args.photos)
    if args.files:
        plan = replace(plan, as_files=True)
    bot_env = dict(item.split("=", 1) for item in args.set)
    return asyncio.run(run(plan, bot_env))


if __name__ == "__main__":
    sys.exit(main())
