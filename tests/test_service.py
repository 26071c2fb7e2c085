"""The platform-neutral service: admission, worker pool, failures as replies, reply wording."""

from __future__ import annotations

import asyncio
import logging
import os
import threading

import pytest
from standins.photos import blank_photo, digits_photo

from bot import texts
from bot.about import _find_accuracy, about_text
from bot.logs import RedactingFormatter
from bot.service import READER_NICENESS, RateLimiter, Reply, Service, read_photo
from bot.settings import Settings, SettingsError
from core.errors import ImageError
from core.result import Digit, Result

pytestmark = pytest.mark.timeout(60)


def _digit(value: int, confidence: float, uncertain: bool = False, alt: int = 7) -> Digit:
    return Digit(value, confidence, ((value, confidence), (alt, 0.2)), (0, 0, 10, 10), 0, uncertain)


RESULT = Result((_digit(4, 0.99), _digit(2, 0.55, uncertain=True)), "42", (), (100, 50))


def _fixed(result: Result = RESULT, png: bytes | None = b"\x89PNG fake"):
    return lambda data: (result, png)


async def _bytes(data: bytes = b"photo"):
    return data


def test_caption_lists_digits_confidences_and_marks_uncertain():
    caption = texts.caption(RESULT)
    first, _, per_digit, note = caption.splitlines()
    assert first == "42"
    assert per_digit == f"4 99% · 2 55% {texts.UNCERTAIN} (7?)"
    assert "uncertain" in note


def test_caption_never_claims_certainty_and_fits_telegram():
    many = Result(tuple(_digit(i % 10, 0.9996) for i in range(600)), "1" * 600)
    caption = texts.caption(many)
    assert len(caption) <= 1024 and "more)" in caption
    assert "100%" not in caption and "99%" in caption


def test_caption_without_digits_is_a_tip_with_the_core_warnings():
    caption = texts.caption(Result((), "", ("No digits found. Come closer.", "Very dark.")))
    assert caption == f"{texts.NO_DIGITS}\nCome closer.\nVery dark."
    assert texts.caption(Result((), "")) == f"{texts.NO_DIGITS}\n{texts.NO_DIGITS_TIP}"


def test_rate_limiter_sliding_window():
    now = [0.0]
    limiter = RateLimiter(2, 60, clock=lambda: now[0])
    assert limiter.wait_time("a") == 0 and limiter.wait_time("a") == 0
    assert limiter.wait_time("a") == pytest.approx(60)
    assert limiter.wait_time("b") == 0  # per user
    now[0] = 30
    assert limiter.wait_time("a") == pytest.approx(30)
    now[0] = 60.5
    assert limiter.wait_time("a") == 0


async def test_reading_reply():
    service = Service(Settings(), pipeline=_fixed())
    reply = await service.handle("u", 10, _bytes)
    assert reply.kind == "reading" and reply.png and reply.text.startswith("42")
    assert service.in_flight == 0


async def test_no_digits_reply_has_no_picture():
    service = Service(Settings(), pipeline=_fixed(Result((), ""), None))
    reply = await service.handle("u", None, _bytes)
    assert reply.kind == "no_digits" and reply.png is None and texts.NO_DIGITS in reply.text


async def test_rate_limit_reply():
    service = Service(Settings(rate_limit=2), pipeline=_fixed())
    kinds = [(await service.handle("u", None, _bytes)).kind for _ in range(3)]
    assert kinds == ["reading", "reading", "refused"]
    assert (await service.handle("other", None, _bytes)).kind == "reading"


class FakeReader:
    """A pipeline for the fairness tests: each reading takes `seconds` on a fake clock (which it
    advances), and notes whose photo it read and when. The first reading waits for `gate`, so
    that a test can line photos up behind it."""

    def __init__(self, seconds: float):
        self.seconds, self.now = seconds, 0.0
        self.gate = threading.Event()
        self.started: list[tuple[str, float]] = []  # (photo, fake time its reading began)

    def clock(self) -> float:
        return self.now

    def __call__(self, data: bytes):
        self.started.append((data.decode(), self.now))
        if len(self.started) == 1:
            self.gate.wait(10)
        self.now += self.seconds
        return RESULT, b"png"


async def _queue_up(service: Service, photos: list[str]) -> dict[str, asyncio.Task]:
    """Send each photo ("A1" is user A's first) as its own task, in this order, letting each be
    admitted before the next is sent."""
    tasks = {}
    for photo in photos:
        fetch = lambda p=photo: _bytes(p.encode())  # noqa: E731
        tasks[photo] = asyncio.create_task(service.handle(photo[0], None, fetch))
        await asyncio.sleep(0.01)
    return tasks


async def test_photos_are_read_in_rounds_one_per_user():
    """Everyone's first photo before anyone's second (and second before third), whoever sent
    most first. One worker: A1 is being read and A2 downloading (one photo per worker goes
    ahead) when B and C arrive."""
    reader = FakeReader(seconds=1.0)
    settings = Settings(workers=1, rate_limit=100, max_wait=1000)
    service = Service(settings, pipeline=reader, clock=reader.clock)
    tasks = await _queue_up(service, ["A1", "A2", "A3", "A4", "A5", "B1", "B2", "C1"])
    reader.gate.set()
    replies = await asyncio.wait_for(asyncio.gather(*tasks.values()), 10)
    service.close()
    assert [r.kind for r in replies] == ["reading"] * 8
    assert [photo for photo, _ in reader.started] == [
        "A1", "A2", "B1", "C1", "B2", "A3", "A4", "A5"
    ]  # fmt: skip
    assert service.in_flight == 0


async def test_busy_only_when_the_expected_wait_passes_max_wait():
    """Readings take 2 s (measured on a fake clock), one worker, MAX_WAIT 4 s: with A's photo
    being read and Z's downloading, B's is expected to wait 4 s and is admitted; C's would wait
    6 s and is told the bot is busy, without it counting against C's rate limit. Each admitted
    photo's reading begins when expected, within MAX_WAIT of the fake time it was admitted."""
    reader = FakeReader(seconds=2.0)
    settings = Settings(workers=1, rate_limit=1, max_wait=4.0)
    service = Service(settings, pipeline=reader, clock=reader.clock)
    reader.started.append(("calibration", 0.0))  # the reading time is measured, not guessed:
    assert (await service.handle("X", None, _bytes)).kind == "reading"  # 2 s
    assert service.queue.reading.seconds == pytest.approx(2.0)
    reader.started.clear()
    admitted_at = reader.now

    admitted = [await service.admit(user) for user in "AZB"]
    assert [ticket.expected_wait for ticket in admitted] == [0.0, 2.0, 4.0]
    assert await service.admit("C") == Reply("busy", texts.BUSY)
    fetches = [lambda p=p: _bytes(p.encode()) for p in "AZB"]
    readings = [service.read(t, None, f) for t, f in zip(admitted, fetches, strict=True)]
    reading = asyncio.gather(*readings)
    await asyncio.sleep(0.05)
    reader.gate.set()
    replies = await asyncio.wait_for(reading, 10)
    assert [r.kind for r in replies] == ["reading"] * 3
    waits = {photo: start - admitted_at for photo, start in reader.started}
    assert waits == {"A": 0.0, "Z": 2.0, "B": 4.0}
    assert all(wait <= settings.max_wait for wait in waits.values())
    assert (await service.handle("C", None, _bytes)).kind == "reading"  # not rate limited
    assert service.in_flight == 0
    service.close()


async def test_too_big_is_refused_before_download():
    fetched = []

    async def fetch():
        fetched.append(1)
        return b"x"

    service = Service(Settings(max_image_mb=0.001), pipeline=_fixed())
    reply = await service.handle("u", 5 * 1024 * 1024, fetch)
    assert reply.kind == "refused" and "5.0 MB" in reply.text and fetched == []
    reply = await service.handle("u", None, lambda: _bytes(b"x" * 2000))  # size not reported
    assert reply.kind == "refused" and "too large" in reply.text


async def test_failures_become_friendly_replies_and_one_log_line(caplog):
    async def broken_download():
        raise ConnectionResetError("peer reset")

    async def stalled_download():
        await asyncio.sleep(10)

    def crash(data):
        raise RuntimeError("boom\nsecond line")

    def bad_image(data):
        raise ImageError("The image file is damaged or incomplete; please send it again.")

    settings = Settings(download_timeout=0.2, rate_limit=100)
    caplog.set_level(logging.INFO, logger="bot.service")
    assert (await Service(settings, _fixed()).handle("u", None, broken_download)).text == (
        texts.DOWNLOAD_FAILED
    )
    assert (await Service(settings, _fixed()).handle("u", None, stalled_download)).kind == "error"
    caplog.clear()
    reply = await Service(settings, crash).handle("u", None, _bytes)
    assert reply == Reply("error", texts.FAILED)
    [record] = caplog.records
    assert record.levelname == "ERROR" and "\n" not in record.getMessage()
    reply = await Service(settings, bad_image).handle("u", None, _bytes)
    assert reply.kind == "refused" and "damaged" in reply.text


def test_settings_from_env():
    settings = Settings.from_env(
        {"TELEGRAM_TOKEN": "t", "RATE_LIMIT": "3", "GROUP_AUTOREAD": "on", "WORKERS": " 4 "}
    )
    assert settings.rate_limit == 3 and settings.group_autoread and settings.workers == 4
    assert settings.tokens == ("t",)
    with pytest.raises(SettingsError, match="RATE_LIMIT"):
        Settings.from_env({"RATE_LIMIT": "many"})
    with pytest.raises(SettingsError, match="WORKERS"):
        Settings.from_env({"WORKERS": "0"})


def test_settings_for_several_processes_are_checked():
    settings = Settings.from_env(
        {"MAX_WAIT": "30", "DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": "2, 3"}
    )
    assert settings.max_wait == 30 and settings.shard_ids == (2, 3)
    bad = [
        ({"MAX_WAIT": "0"}, "MAX_WAIT"),
        ({"DISCORD_SHARD_IDS": "0"}, "DISCORD_SHARD_COUNT"),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "0,2"}, "DISCORD_SHARD_IDS"),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "one"}, "DISCORD_SHARD_IDS"),
        ({"REDIS_URL": "redis://r/0", "TELEGRAM_STATE_FILE": "s.pickle"}, "TELEGRAM_STATE_FILE"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
    ]
    for env, named in bad:
        with pytest.raises(SettingsError, match=named):
            Settings.from_env(env)


def test_log_lines_never_show_tokens():
    token = "123456:SECRET-abc"
    formatter = RedactingFormatter([token])
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "POST https://x/bot%s/getMe", (token,), None
    )
    line = formatter.format(record)
    assert token not in line and "[token]" in line


def test_about_reads_the_model_card_defensively():
    assert _find_accuracy({"test_accuracy": 0.9912}) == pytest.approx(0.9912)
    assert _find_accuracy({"metrics": {"accuracy": 99.1}}) == pytest.approx(0.991)
    assert _find_accuracy({"test_accuracy": "n/a"}) is None
    assert "never written to disk" in about_text()


def test_real_core_reads_a_known_number(mnist_sample):
    result, png = read_photo(digits_photo(*mnist_sample, "4071"))
    assert result.text.replace(" ", "") == "4071"
    assert png.startswith(b"\x89PNG")
    result, png = read_photo(blank_photo())
    assert result.digits == () and png is None


async def test_readers_run_at_lower_priority_than_the_event_loop():
    seen: list[int] = []

    def pipeline(data: bytes):
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return RESULT, b"png"

    service = Service(Settings(), pipeline=pipeline)
    try:
        reply = await service.handle("u1", 10, _bytes)
    finally:
        service.close()
    assert reply.kind == "reading"
    assert seen == [os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) + READER_NICENESS]
