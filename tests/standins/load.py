"""A load driver for the Telegram stand-in: many users sending photos in bursts, with `/help`
asked all along. Used by tests/test_load.py (short) and bench/bench_load.py (the full run).

Each user sends `photos` photos as albums of `burst`, the users starting at random moments
within `spread` seconds and pausing `gap` seconds between their albums. Another user asks
`/help` every `help_every` seconds while photos are outstanding. Every message's answers are
collected: each photo must get exactly one answer (a reading, or the rate-limit, busy or another
polite reply), none lost and none twice.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

from bot import texts

from .telegram_api import TelegramStandIn

HELP_USER = 9_999


@dataclass(frozen=True)
class Plan:
    users: int = 50
    photos: int = 10
    burst: int = 5
    spread: float = 10.0  # users start within this many seconds
    gap: float = 3.0  # seconds between one user's bursts
    help_every: float = 0.5
    settle: float = 60.0  # the longest wait for the last answers after the last photo
    seed: int = 0
    as_files: bool = False  # send the photos as files (full resolution), not as photos


@dataclass
class Outcome:
    """What happened to every message of a run."""

    photos: int = 0
    kinds: Counter = field(default_factory=Counter)  # answer kind -> photos
    correct: int = 0  # readings whose text is the photo's number
    lost: list[int] = field(default_factory=list)  # message ids never answered
    twice: list[int] = field(default_factory=list)  # message ids answered more than once
    latency: dict[str, list[float]] = field(default_factory=dict)  # kind -> seconds
    help_latency: list[float] = field(default_factory=list)
    help_lost: int = 0
    seconds: float = 0.0  # first photo sent to last photo answered

    @property
    def answered(self) -> int:
        return sum(self.kinds.values())

    def all_latencies(self) -> list[float]:
        return [s for values in self.latency.values() for s in values]


def kind_of(sent) -> str:
    """The kind of answer a recorded reply is."""
    if sent.method in ("sendPhoto", "sendDocument"):
        return "reading"
    text = sent.text
    if text == texts.BUSY:
        return "busy"
    if text.startswith(texts.RATE_LIMITED.split("{")[0]):
        return "rate_limited"
    if text.startswith(texts.NO_DIGITS):
        return "no_digits"
    return "other"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


async def drive(server: TelegramStandIn, photos: list[tuple[bytes, str]], plan: Plan) -> Outcome:
    """Run `plan` against the bot polling `server`; `photos` are (jpeg, number) to cycle through."""
    rng = random.Random(plan.seed)
    pushed: dict[int, tuple[float, str]] = {}  # message id -> (time, expected number)
    helps: dict[int, float] = {}
    sending_done = asyncio.Event()
    n = 0

    async def user(uid: int, start: float) -> None:
        nonlocal n
        await asyncio.sleep(start)
        chat = server.chat(uid)
        for b, first in enumerate(range(0, plan.photos, plan.burst)):
            if b:
                await asyncio.sleep(plan.gap)
            album = f"album-{uid}-{b}"
            for _ in range(first, min(first + plan.burst, plan.photos)):
                data, number = photos[n % len(photos)]
                n += 1
                if plan.as_files:
                    message = server.document_message(
                        data,
                        chat,
                        uid,
                        file_name="photo.jpg",
                        mime_type="image/jpeg",
                        media_group_id=album,
                    )
                else:
                    message = server.photo_message(data, chat, uid, media_group_id=album)
                pushed[server.push(message)["message_id"]] = (time.monotonic(), number)

    async def helper() -> None:
        chat = server.chat(HELP_USER)
        while not sending_done.is_set():
            message = server.push(server.text_message("/help", chat, HELP_USER))
            helps[message["message_id"]] = time.monotonic()
            try:
                await asyncio.wait_for(sending_done.wait(), plan.help_every)
            except TimeoutError:
                pass

    def answered_ids() -> set[int]:
        return {s.reply_to for s in server.replies() if s.reply_to in pushed}

    begin = time.monotonic()
    help_task = asyncio.create_task(helper())
    starts = sorted(rng.uniform(0, plan.spread) for _ in range(plan.users))
    await asyncio.gather(*(user(1000 + i, s) for i, s in enumerate(starts)))
    last_push = time.monotonic()
    while len(answered_ids()) < len(pushed) and time.monotonic() - last_push < plan.settle:
        await asyncio.sleep(0.05)
    sending_done.set()
    await help_task
    await asyncio.sleep(1.0)  # late duplicates and the last /help answers

    out = Outcome(photos=len(pushed))
    by_message: dict[int, list] = {}
    for sent in server.replies():
        by_message.setdefault(sent.reply_to, []).append(sent)
    last_answer = begin
    for mid, (at, number) in pushed.items():
        answers = by_message.get(mid, [])
        if not answers:
            out.lost.append(mid)
            continue
        if len(answers) > 1:
            out.twice.append(mid)
        first = answers[0]
        kind = kind_of(first)
        out.kinds[kind] += 1
        out.latency.setdefault(kind, []).append(first.at - at)
        last_answer = max(last_answer, first.at)
        if kind == "reading" and first.text.split("\n\n")[0] == number:
            out.correct += 1
    for mid, at in helps.items():
        answers = by_message.get(mid, [])
        if answers:
            out.help_latency.append(answers[0].at - at)
        else:
            out.help_lost += 1
    out.seconds = last_answer - begin
    return out


def summary(out: Outcome) -> str:
    lat = out.all_latencies()
    reading = out.latency.get("reading", [])
    lines = [
        f"photos sent            {out.photos}",
        "answers                " + ", ".join(f"{k} {v}" for k, v in sorted(out.kinds.items())),
        f"lost / answered twice  {len(out.lost)} / {len(out.twice)}",
        f"readings correct       {out.correct} of {out.kinds.get('reading', 0)}",
        f"run time               {out.seconds:.1f} s",
        f"photos answered / s    {out.answered / max(out.seconds, 1e-9):.2f}",
        f"photos read / s        {out.kinds.get('reading', 0) / max(out.seconds, 1e-9):.2f}",
        f"update->reply, all     p50 {percentile(lat, 50):.2f} s  p95 {percentile(lat, 95):.2f} s",
        f"update->reply, reading p50 {percentile(reading, 50):.2f} s  "
        f"p95 {percentile(reading, 95):.2f} s",
        f"/help during the load  {len(out.help_latency)} asked, "
        f"p50 {percentile(out.help_latency, 50):.2f} s, "
        f"p95 {percentile(out.help_latency, 95):.2f} s, "
        f"max {max(out.help_latency, default=float('nan')):.2f} s, {out.help_lost} unanswered",
    ]
    return "\n".join(lines)
