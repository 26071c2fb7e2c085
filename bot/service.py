"""The platform-neutral part of the bot: admit a photo, read it off the event loop, word the reply.

Adapters hand over who asked, the size the platform reports and a coroutine that downloads the
bytes into memory; they get back a Reply to send. Every outcome, failures included, is a Reply:
the adapters never see an exception from reading a photo.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from bot import texts
from bot.fair_queue import FairQueue, Place, ReadingTime
from bot.settings import Settings
from core.errors import DigitbotError, ImageError
from core.result import Result

log = logging.getLogger(__name__)

# Niceness of the reader threads: the load bench (bench/bench_load.py) showed /help's slowest answer
# falling from 1.1-1.2 s to under 0.5 s at 10, with the same throughput.
READER_NICENESS = 10

Fetch = Callable[[], Awaitable[bytes | bytearray]]
Pipeline = Callable[[bytes], tuple[Result, bytes | None]]


@dataclass(frozen=True)
class Reply:
    """What to send back. `kind` is one of: reading, no_digits, refused, busy, error."""

    kind: str
    text: str
    result: Result | None = None
    png: bytes | None = None


def read_photo(data: bytes) -> tuple[Result, bytes | None]:
    """Decode, read and render one photo with the core. Runs in a worker thread."""
    from core import decode, read, render

    photo = decode(data)
    result = read(photo)
    return result, (render(result, photo) if result.digits else None)


def warm_up() -> None:
    """Import the core and load its model, so the first photo is quick and a broken model file
    stops the bot at start-up rather than at the first user's photo."""
    from core import classify, decode, read, render  # noqa: F401 - importing is half the work

    classify.get_classifier()


def _yield_to_event_loop() -> None:
    """Run a reader thread at a lower CPU priority than the event loop, so commands such as /help
    stay quick while every worker is busy reading (Linux gives each thread its own nice value)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), READER_NICENESS)


_courtesies: set[asyncio.Task] = set()  # running niceties (asyncio keeps only weak references)


def courtesy(awaitable: Awaitable[object]) -> None:
    """Run a nicety ("typing...", "sending a photo...") in the background: it never delays a
    reply, and its failure is not worth a log line."""

    async def run() -> None:
        await awaitable

    task = asyncio.create_task(run())
    _courtesies.add(task)
    task.add_done_callback(_forget)


def _forget(task: asyncio.Task) -> None:
    _courtesies.discard(task)
    if not task.cancelled():
        task.exception()


class RateLimiter:
    """At most `limit` events per `window` seconds per key (a sliding window), in this process's
    memory. bot.shared.RedisRateLimiter is the same for several processes."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._events: dict[str, deque[float]] = {}

    def wait_time(self, key: str) -> float:
        """Seconds until `key` may act again; 0 means now (and the event is counted)."""
        now = self.clock()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return events[0] + self.window - now
        events.append(now)
        if len(self._events) > 10_000:
            self._forget_idle(now)
        return 0.0

    async def wait(self, key: str) -> float:
        """wait_time(), in the form every limiter has."""
        return self.wait_time(key)

    async def give_back(self, key: str) -> None:
        """Uncount the latest event of `key` (a photo refused after all)."""
        events = self._events.get(key)
        if events:
            events.pop()

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, v in self._events.items() if not v or v[-1] <= now - self.window]:
            del self._events[key]


class Limiter(Protocol):
    async def wait(self, key: str) -> float:
        """Seconds until `key` may send a photo; 0 means now, and the photo is counted."""

    async def give_back(self, key: str) -> None:
        """Uncount the latest photo of `key`."""


class Ticket:
    """An admitted photo's place in the fair queue, held until its reply is ready."""

    def __init__(self, queue: FairQueue, place: Place):
        self._queue, self.place = queue, place

    @property
    def expected_wait(self) -> float:
        """Seconds the photo was expected to wait for a reader when it was admitted."""
        return self.place.expected_wait

    def release(self) -> None:
        self._queue.finish(self.place)


class Service:
    """Reads photos for every adapter: rate limit, fair queue bounded by the expected wait,
    worker pool, reply text."""

    def __init__(
        self,
        settings: Settings,
        pipeline: Pipeline = read_photo,
        clock: Callable[[], float] = time.monotonic,
        limiter: Limiter | None = None,
        reading: ReadingTime | None = None,
    ):
        self.settings = settings
        self.pipeline = pipeline
        self.clock = clock
        self.limiter = limiter or RateLimiter(settings.rate_limit, settings.rate_window, clock)
        self.queue = FairQueue(settings.workers, reading)
        self._pool = ThreadPoolExecutor(
            settings.workers, thread_name_prefix="reader", initializer=_yield_to_event_loop
        )

    @property
    def in_flight(self) -> int:
        """Photos admitted and not yet answered."""
        return self.queue.running + self.queue.waiting

    async def admit(self, user: str) -> Ticket | Reply:
        """A Ticket if `user` may send a photo now, else the polite refusal to send at once:
        the rate limit's, or busy when the photo would wait longer than MAX_WAIT. A busy photo
        does not count against the user's rate limit."""
        limited = await self.limiter.wait(user)
        if limited > 0:
            log.info("rate limit: a user must wait %.0f s", limited)
            return Reply("refused", texts.RATE_LIMITED.format(seconds=max(1, round(limited))))
        wait = self.queue.expected_wait(user)
        if wait > self.settings.max_wait:
            await self.limiter.give_back(user)
            log.warning(
                "busy: a photo would wait %.0f s (%d in flight, %.2f s a reading)",
                wait,
                self.in_flight,
                self.queue.reading.seconds,
            )
            return Reply("busy", texts.BUSY)
        return Ticket(self.queue, self.queue.join(user))

    async def read(self, ticket: Ticket, size: int | None, fetch: Fetch) -> Reply:
        """Wait for the photo's turn, download it (into memory) and read it; releases the
        ticket. A photo too large by its reported size is refused without waiting."""
        try:
            if size is not None and size > self.settings.max_image_bytes:
                log.info("refused a %d-byte image before download", size)
                return self._too_big(size)
            await self.queue.turn(ticket.place)
            return await self._read(fetch)
        finally:
            ticket.release()

    async def handle(self, user: str, size: int | None, fetch: Fetch) -> Reply:
        """admit() then read(): the whole job for adapters that need nothing in between."""
        ticket = await self.admit(user)
        if isinstance(ticket, Reply):
            return ticket
        return await self.read(ticket, size, fetch)

    async def _read(self, fetch: Fetch) -> Reply:
        limit = self.settings.max_image_bytes
        started = time.monotonic()
        try:
            data = await asyncio.wait_for(fetch(), self.settings.download_timeout)
        except Exception as exc:  # any download failure is the same to the user
            log.warning("download failed: %s", _describe(exc))
            return Reply("error", texts.DOWNLOAD_FAILED)
        if len(data) > limit:
            log.info("refused a %d-byte image after download", len(data))
            return self._too_big(len(data))
        try:
            result, png = await self._run_pipeline(bytes(data))
        except ImageError as exc:
            log.info("unreadable image: %s", exc)
            return Reply("refused", str(exc) or texts.NOT_AN_IMAGE)
        except Exception as exc:  # the bot keeps serving, whatever went wrong
            log.error("reading failed: %s", _describe(exc))
            return Reply("error", texts.FAILED)
        log.info(
            "read %d digits in %.2f s (%d bytes)",
            len(result.digits),
            time.monotonic() - started,
            len(data),
        )
        if not result.digits:
            return Reply("no_digits", texts.caption(result), result=result)
        return Reply("reading", texts.caption(result), result=result, png=png)

    async def _run_pipeline(self, data: bytes) -> tuple[Result, bytes | None]:
        """The pipeline in a worker thread. Its time there (on the service's clock) goes into the
        reading time the expected waits use, failures included: they took a reader too."""
        took: list[float] = []

        def timed() -> tuple[Result, bytes | None]:
            started = self.clock()
            try:
                return self.pipeline(data)
            finally:
                took.append(self.clock() - started)

        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, timed)
        finally:
            if took:
                self.queue.reading.add(took[0])

    def _too_big(self, size: int) -> Reply:
        mb = 1024 * 1024
        limit = self.settings.max_image_mb
        text = texts.TOO_BIG.format(size=f"{size / mb:.1f}", limit=f"{limit:g}")
        return Reply("refused", text)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _describe(exc: BaseException) -> str:
    """Exception type and message on one line (DigitbotError messages are already user-facing)."""
    if isinstance(exc, DigitbotError):
        return f"{type(exc).__name__}: {exc}"
    text = str(exc).replace("\n", " ")[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
