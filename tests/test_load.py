"""A short load run through the Telegram stand-in (bench/bench_load.py is the full one).

Users send photos in albums faster than the bot may read them, with a short MAX_WAIT and a tight
rate limit so that every kind of answer happens: readings, "busy" and "rate limited". Every photo
must get exactly one answer, and `/help` must keep being answered. Timing targets are the
bench's business; here only a hang (no answer at all) fails.
"""

from __future__ import annotations

import pytest
from standins import bots
from standins.load import Plan, drive, summary

from bench.synth import make
from bot import service as service_module

# Six users each send an album of five within half a second: two workers cannot read them all
# within a MAX_WAIT of 1 s whatever the machine (busy replies), and at most three photos per user
# may be read (rate-limit replies for the first users, who find the bot free).
PLAN = Plan(users=6, photos=5, burst=5, spread=0.5, help_every=0.25, settle=30)
RATE_LIMIT = 3


@pytest.fixture(scope="module")
def photos(mnist_sample) -> list[tuple[bytes, str]]:
    """Phone-sized photos, each with the text it reads as on its own: under load, with two
    workers reading at once, every reading must be exactly that."""
    x, y = mnist_sample
    jpegs = [make("easy", seed, x, y, size=(1280, 960))[0] for seed in range(4)]
    return [(jpeg, service_module.read_photo(jpeg)[0].text) for jpeg in jpegs]


async def test_every_photo_gets_exactly_one_answer(photos) -> None:
    settings = {"workers": 2, "max_wait": 1.0, "rate_limit": RATE_LIMIT}
    async with bots.telegram_bot(**settings) as server:
        out = await drive(server, photos, PLAN)
    print(summary(out))

    assert out.photos == PLAN.users * PLAN.photos
    assert not out.lost, f"photos never answered: {out.lost}"
    assert not out.twice, f"photos answered twice: {out.twice}"
    assert out.answered == out.photos
    assert set(out.kinds) <= {"reading", "busy", "rate_limited"}, out.kinds
    assert out.kinds["reading"] >= settings["workers"]
    assert out.kinds["busy"] > 0, "no photo was expected to wait 1 s: the run did not load the bot"
    assert out.kinds["rate_limited"] > 0
    assert out.correct == out.kinds["reading"], (
        "a reading under load differs from the same photo read alone"
    )
    assert out.help_latency and not out.help_lost, "/help went unanswered during the load"
