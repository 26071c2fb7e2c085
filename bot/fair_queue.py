"""Fair turns at the readers: one queue per user, served in rounds, with the expected wait.

Each photo belongs to a round: a user's photo is in round 0 when none of theirs is waiting or
being read, else in the round after their previous one. Turns go by round, then by arrival. So
everyone's first photo is read before anyone's second, and an album of ten waits in its owner's
turns instead of in front of everybody else. The price: a photo in a late round (someone's
seventh) can wait longer than expected when new users keep arriving, as their first photos go
first; that is the point, and the rate limit caps how many rounds anyone has.

A turn covers downloading the photo and reading it. `slots` turns run at once: one reading per
worker, and one more photo per worker downloading meanwhile, so the workers never wait for the
network. Photos are downloaded only when their turn comes: waiting ones take no memory.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import Counter
from dataclasses import dataclass, field

# Seconds one reading takes before any was measured: the README's 0.25-0.29 CPU-seconds per
# phone photo, doubled for a machine that is busy with other work too.
FIRST_GUESS_SECONDS = 0.5
# Weight of each new measurement in the running average of the reading time: about the last ten
# photos count, so a slow spell shows within seconds while one odd photo moves it little.
NEW_READING_WEIGHT = 0.1


@dataclass(eq=False)
class Place:
    """One photo's place: its owner, round and arrival number, and the wait expected when it
    joined, in seconds."""

    owner: str
    round: int
    number: int
    expected_wait: float
    started: bool = False
    left: bool = False
    turn: asyncio.Future | None = field(default=None, repr=False)

    def __lt__(self, other: Place) -> bool:
        return (self.round, self.number) < (other.round, other.number)


class ReadingTime:
    """The running average of how long one reading takes, in seconds."""

    def __init__(self, first_guess: float = FIRST_GUESS_SECONDS):
        self.seconds = first_guess
        self.measured = 0

    def add(self, seconds: float) -> None:
        """Count one reading; the first measurement replaces the guess."""
        weight = 1.0 if self.measured == 0 else NEW_READING_WEIGHT
        self.seconds += weight * (seconds - self.seconds)
        self.measured += 1


class FairQueue:
    """Turns at `workers` readers handed out in rounds (see the module docstring)."""

    def __init__(self, workers: int, reading: ReadingTime | None = None):
        self.workers = workers
        self.slots = 2 * workers  # each worker reads one photo while the next one downloads
        self.reading = reading or ReadingTime()
        self.running = 0  # places holding a turn
        self._waiting: list[Place] = []  # a heap by (round, number); left places are skipped
        self._per_round: Counter[int] = Counter()  # waiting places per round
        self._last_round: dict[str, int] = {}  # owner -> round of their latest unfinished place
        self._unfinished: Counter[str] = Counter()  # owner -> places waiting or running
        self._numbers = itertools.count()

    @property
    def waiting(self) -> int:
        return sum(self._per_round.values())

    def round_for(self, owner: str) -> int:
        """The round a new photo of `owner` would join."""
        last = self._last_round.get(owner)
        return 0 if last is None else last + 1

    def expected_wait(self, owner: str) -> float:
        """Seconds a new photo of `owner` would wait for a reader: the photos ahead of it in
        turn order (being read, downloading or waiting in the same or an earlier round), less the
        readers free for them, times the reading time, divided by the workers."""
        new_round = self.round_for(owner)
        waiting_ahead = sum(n for r, n in self._per_round.items() if r <= new_round)
        ahead = self.running + waiting_ahead
        return max(0, ahead + 1 - self.workers) * self.reading.seconds / self.workers

    def join(self, owner: str) -> Place:
        """A place for a new photo of `owner`; await `turn(place)` before downloading it."""
        place = Place(owner, self.round_for(owner), next(self._numbers), self.expected_wait(owner))
        self._last_round[owner] = place.round
        self._unfinished[owner] += 1
        self._per_round[place.round] += 1
        heapq.heappush(self._waiting, place)
        self._hand_out()
        return place

    async def turn(self, place: Place) -> None:
        """Wait until `place` may download and read its photo."""
        if place.started:
            return
        loop = asyncio.get_running_loop()
        place.turn = loop.create_future()
        await place.turn  # cancelled: the caller's finish() removes the place

    def finish(self, place: Place) -> None:
        """The place's reply is ready (or it gave up waiting): free its turn or its place."""
        if place.left:
            return
        place.left = True
        if place.started:
            self.running -= 1
        else:
            self._per_round[place.round] -= 1
            if not self._per_round[place.round]:
                del self._per_round[place.round]
        self._unfinished[place.owner] -= 1
        if not self._unfinished[place.owner]:
            del self._unfinished[place.owner]
            del self._last_round[place.owner]
        self._hand_out()

    def _hand_out(self) -> None:
        """Give free turns to the first waiting places in round order."""
        while self.running < self.slots and self._waiting:
            place = heapq.heappop(self._waiting)
            if place.left:
                continue
            place.started = True
            self.running += 1
            self._per_round[place.round] -= 1
            if not self._per_round[place.round]:
                del self._per_round[place.round]
            if place.turn is not None and not place.turn.done():
                place.turn.set_result(None)
