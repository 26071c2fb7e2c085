"""`python -m bot` as a separate process, as a deployment runs it: started with an environment,
ready once it logs its ready line, stopped with SIGTERM. Its log lines are kept in `log`.

    async with bot_process(env) as bot:     # waits for "digitbot ready"
        ...
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    log: list[str] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def _collect(self) -> None:
        async for raw in self.process.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.log.append(line)
            if "digitbot ready" in line:
                self.ready.set()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log[-lines:])


@asynccontextmanager
async def bot_process(env: dict[str, str], timeout: float = 60.0) -> AsyncIterator[BotProcess]:
    """Start the bot with `env`, wait for its ready line, stop it (SIGTERM) on leaving."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
    )
    bot = BotProcess(process)
    collector = asyncio.create_task(bot._collect())
    try:
        ready = asyncio.create_task(bot.ready.wait())
        exited = asyncio.create_task(process.wait())
        await asyncio.wait({ready, exited}, timeout=timeout, return_when="FIRST_COMPLETED")
        ready.cancel()
        exited.cancel()
        if not bot.ready.is_set():
            raise RuntimeError(f"the bot did not start:\n{bot.tail()}")
        yield bot
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
        await asyncio.wait_for(collector, 5)
