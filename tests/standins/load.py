"""A load driver for the Telegram stand-in: many users sending photos in bursts, with `/help`
asked all along. Used by tests/test_load.py (short) and bench/bench_load.py (the full run).

Each user sends `photos` photos as albums of `burst`, the users starting at random moments
within `spread` seconds and pausing `gap` seconds between their albums. Another user asks
`/help` every `help_every` seconds while photos are outstanding. Every message's answers are
collected: each photo must get exactly one answer (a reading, or the rate-limit, busy or another
polite reply), none lost and none twice. "Queued" notes are counted apart; each must be deleted.

Fairness is judged by when each photo's turn came: when the bot asked the stand-in for its file
(it downloads a photo only when its turn comes). A photo that got its turn while another user's
first photo had been waiting longer than FAIRNESS_SLACK seconds, and before that first photo's
own turn, overtook it; with fair queueing no user's third or later photo overtakes anyone's first.
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
# How long a photo's update may have been with the bot before it counts as waiting in the queue:
# the bot takes a few milliseconds to admit an update, and a turn handed out meanwhile is no
# overtaking (it would be read first by any order).
FAIRNESS_SLACK = 0.25


@dataclass(frozen=True)
class Plan:
    users: int = 50
    photos: int = 10
    burst: int = 5
    spread: float = 10.0  # users start within this many seconds
    gap: float = 3.0  # seconds between one user's bursts
    help_every: float = 0.5
    settle: float = 120.0  # the longest wait for the last answers after the last photo (2 MAX_WAIT)
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
    notes: int = 0  # "queued" notes sent
    notes_left: int = 0  # notes never deleted
    queue_wait: list[float] = field(default_factory=list)  # update taken -> turn, admitted photos
    overtaken_firsts: int = 0  # first photos some user's third-or-later photo overtook
    firsts_after_a_third: int = 0  # first photos answered after some user's third was answered

    @property
    def answered(self) -> int:
        return sum(self.kinds.values())

    def all_latencies(self) -> list[float]:
        return [s for values in self.latency.values() for s in values]


def kind_of(sent) -> str:
    """The kind of answer a recorded reply is ("note" for a queued note, which is none)."""
    if sent.method in ("sendPhoto", "sendDocument"):
        return "reading"
    text = sent.text
    if text.startswith(texts.QUEUED.split("{")[0]):
        return "note"
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
    photos_of: dict[int, list[tuple[int, str]]] = {}  # user -> [(message id, file id)] in order
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
                photos_of.setdefault(uid, []).append((message["message_id"], _file_id(message)))

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
        return {s.reply_to for s in _answers(server) if s.reply_to in pushed}

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
    for sent in _answers(server):
        by_message.setdefault(sent.reply_to, []).append(sent)
    notes = [s for s in server.replies() if kind_of(s) == "note"]
    deleted = {(chat, message_id) for chat, message_id, _ in server.deleted}
    out.notes = len(notes)
    out.notes_left = len([n for n in notes if (n.chat_id, n.message_id) not in deleted])
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
    _judge_fairness(server, out, photos_of, by_message)
    return out


def _answers(server: TelegramStandIn) -> list:
    """The replies that answer a message: all but the queued notes."""
    return [s for s in server.replies() if kind_of(s) != "note"]


def _file_id(message: dict) -> str:
    if "photo" in message:
        return message["photo"][-1]["file_id"]
    return message["document"]["file_id"]


def _judge_fairness(
    server: TelegramStandIn, out: Outcome, photos_of: dict, by_message: dict
) -> None:
    """Queue waits, and first photos overtaken by others' third-or-later photos (see the module
    docstring); also, literally, first photos read and answered after some user's third one."""
    turns = []  # (turn time, user, index in the user's photos, received)
    for user, photos in photos_of.items():
        for index, (message_id, file_id) in enumerate(photos):
            if file_id in server.fetched and message_id in server.received:
                received = server.received[message_id]
                turns.append((server.fetched[file_id], user, index, received))
                out.queue_wait.append(server.fetched[file_id] - received)
    firsts = [t for t in turns if t[2] == 0]
    later = [t for t in turns if t[2] >= 2]
    out.overtaken_firsts = sum(
        any(
            user != other and received + FAIRNESS_SLACK < turn < first_turn
            for turn, other, _, _ in later
        )
        for first_turn, user, _, received in firsts
    )
    answered = {  # photos read (they had a turn), not refused at once
        (user, index): by_message[message_id][0].at
        for user, photos in photos_of.items()
        for index, (message_id, file_id) in enumerate(photos)
        if by_message.get(message_id) and file_id in server.fetched
    }
    thirds = [at for (_, index), at in answered.items() if index == 2]
    first_third = min(thirds, default=float("inf"))
    out.firsts_after_a_third = sum(
        at > first_third for (_, index), at in answered.items() if index == 0
    )


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
        f"queue wait (turn)      p50 {percentile(out.queue_wait, 50):.2f} s  "
        f"p95 {percentile(out.queue_wait, 95):.2f} s  "
        f"max {max(out.queue_wait, default=float('nan')):.2f} s",
        f"queued notes           {out.notes} sent, {out.notes_left} left undeleted",
        f"fairness               {out.overtaken_firsts} waiting first photos overtaken by a "
        f"third or later; {out.firsts_after_a_third} firsts read after some user's third was "
        "answered (users who had not sent anything yet count here)",
        f"/help during the load  {len(out.help_latency)} asked, "
        f"p50 {percentile(out.help_latency, 50):.2f} s, "
        f"p95 {percentile(out.help_latency, 95):.2f} s, "
        f"max {max(out.help_latency, default=float('nan')):.2f} s, {out.help_lost} unanswered",
    ]
    return "\n".join(lines)
