"""Several bot processes sharing the work, with the real parts: a Redis server started here,
`python -m bot` processes in Telegram webhook mode behind a round-robin load balancer, and
Discord shards split across processes or run by one.

The Redis server is Debian's redis-server on 127.0.0.1 and a free port; these tests skip, saying
why, only where it is not installed (.ci/run installs it).
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import socket
import uuid

import pytest
from PIL import Image
from redis.asyncio import Redis
from standins.bots import discord_bot, telegram_bot
from standins.discord_api import GUILD_ID, DiscordStandIn
from standins.photos import digits_photo
from standins.processes import bot_process
from standins.proxy import RoundRobinProxy
from standins.redis_server import RedisServer, RedisUnavailable
from standins.telegram_api import BOT, TelegramStandIn

from bot import texts
from bot.settings import Settings
from bot.shared import RedisRateLimiter, connect
from core.result import Digit, Result

pytestmark = pytest.mark.timeout(120)

USER, OTHER, ADMIN, ALBUM_USER = 501, 502, 503, 504
GROUP = -100777
DISCORD_USER = 600000000000000001
# A guild on the other shard of two: GUILD_ID is on shard (GUILD_ID >> 22) % 2 = 1, this on 0.
OTHER_GUILD = 700000000004194306
RATE_LIMITED = texts.RATE_LIMITED.split("{")[0]


@pytest.fixture(scope="module")
def redis_url():
    try:
        server = RedisServer.start()
    except RedisUnavailable as exc:
        pytest.skip(f"no Redis server for the multi-process tests: {exc}")
    yield server.url
    server.stop()


@pytest.fixture
def prefix() -> str:
    """A key prefix of this test's own, so tests sharing the server share nothing else."""
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def photo(mnist_sample) -> bytes:
    return digits_photo(*mnist_sample, "4071")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any bot setting of the developer's, plus `settings`."""
    own = ("TELEGRAM_", "DISCORD_", "REDIS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    env.update(settings)
    return env


def _rate_limited(sent) -> bool:
    return sent.text.startswith(RATE_LIMITED)


def _fixed_reading(data: bytes) -> tuple[Result, bytes]:
    """The pipeline of the in-process bots here: every photo reads "42" (what is read does not
    matter to these tests; where and how often it is answered does)."""
    digits = tuple(Digit(v, 0.99, ((v, 0.99),), (0, 0, 10, 10), 0, False) for v in (4, 2))
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(buffer, "PNG")
    return Result(digits, "42", (), (40, 20)), buffer.getvalue()


# Redis itself


async def test_redis_rate_limit_is_one_sliding_window_for_every_process(redis_url, prefix):
    settings = Settings(redis_url=redis_url, redis_prefix=prefix)
    first, second = await connect(settings), await connect(settings)  # two processes' clients
    try:
        one = RedisRateLimiter(first.client, prefix, limit=2, window=1.0)
        two = RedisRateLimiter(second.client, prefix, limit=2, window=1.0)
        assert await one.wait("tg:1") == 0 and await two.wait("tg:1") == 0
        wait = await one.wait("tg:1")
        assert 0 < wait <= 1.0
        assert await two.wait("tg:2") == 0  # per user
        await asyncio.sleep(wait + 0.05)
        assert await two.wait("tg:1") == 0
    finally:
        await first.close()
        await second.close()


async def test_unreachable_redis_is_named_without_its_password():
    port = _free_port()  # nothing listens there
    url = f"redis://:hunter2-secret@127.0.0.1:{port}/0"
    with pytest.raises(ConnectionError, match=f"127.0.0.1:{port}") as caught:
        await connect(Settings(redis_url=url))
    assert "hunter2" not in str(caught.value)
    assert "hunter2-secret" in Settings(redis_url=url).secrets  # redacted from every log line


async def test_redis_going_away_lets_photos_through(caplog):
    """A Redis outage while the bot runs: the rate limit goes unchecked (with a warning) and
    the photos are read, rather than the bot falling silent."""
    client = Redis.from_url(f"redis://127.0.0.1:{_free_port()}/0", socket_connect_timeout=1)
    limiter = RedisRateLimiter(client, "test", limit=1, window=60)
    caplog.set_level(logging.WARNING, logger="bot.shared")
    try:
        assert await limiter.wait("tg:1") == 0 and await limiter.wait("tg:1") == 0
    finally:
        await client.aclose()
    assert "rate limit not checked" in caplog.text


# Telegram


async def test_settings_and_rate_limits_survive_a_restart_with_redis(redis_url, prefix, photo):
    group = TelegramStandIn().chat(GROUP, "supergroup")
    settings = {"redis_url": redis_url, "redis_prefix": prefix, "rate_limit": 1}
    settings["pipeline"] = _fixed_reading
    async with telegram_bot(**settings) as tg:
        tg.admins.add((GROUP, ADMIN))
        tg.push(tg.text_message("/autoread on", group, ADMIN))
        tg.push(tg.photo_message(photo, tg.chat(USER), USER))
        replies = await tg.wait_sent(2)
        assert any(r.text.startswith("Auto-reading is now on") for r in replies)
        assert not any(_rate_limited(r) for r in replies)
    async with telegram_bot(**settings) as tg:  # a new process: its memory is empty
        in_group = tg.push(tg.photo_message(photo, group, OTHER))
        [reply] = await tg.wait_sent(1)
        assert reply.reply_to == in_group["message_id"] and not _rate_limited(reply)
        tg.push(tg.photo_message(photo, tg.chat(USER), USER))
        replies = await tg.wait_sent(2)
        assert _rate_limited(replies[1]), replies[1].text


async def test_two_webhook_processes_behind_a_load_balancer_share_state(redis_url, prefix, photo):
    """Two `python -m bot` processes in webhook mode; Telegram (the stand-in) posts each update
    to the load balancer, which hands them to the processes in turn. One user's rate limit holds
    across both, /autoread set through one applies in the other, and an album asked for through
    one is read whole."""
    server = await TelegramStandIn().start()
    ports = [_free_port(), _free_port()]
    proxy = await RoundRobinProxy([f"http://127.0.0.1:{port}" for port in ports]).start()
    common = {
        "TELEGRAM_WEBHOOK_URL": f"{proxy.url}/telegram-hook",
        "TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1",
        "TELEGRAM_WEBHOOK_SECRET": "lb-s3cret",
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": prefix,
        "RATE_LIMIT": "2",
        "WORKERS": "1",
    }
    envs = [
        _clean_env(**server.bot_env(**common, TELEGRAM_WEBHOOK_PORT=str(port))) for port in ports
    ]
    try:
        async with bot_process(envs[0]) as first, bot_process(envs[1]) as second:
            assert "webhook" in first.tail() and "redis 127.0.0.1" in second.tail()
            for n in range(1, 4):  # one at a time, so the balancer alternates: 0, 1, 0
                server.push(server.photo_message(photo, server.chat(USER), USER))
                await server.wait_sent(n, timeout=30)
            assert proxy.routed == [0, 1, 0]
            replies = server.replies()
            assert [_rate_limited(r) for r in replies] == [False, False, True]

            group = server.chat(GROUP, "supergroup")
            server.admins.add((GROUP, ADMIN))
            server.push(server.text_message("/autoread on", group, ADMIN))
            await server.wait_sent(4, timeout=30)
            photo_message = server.push(server.photo_message(photo, group, OTHER))
            replies = await server.wait_sent(5, timeout=30)
            assert proxy.routed[-2:] == [1, 0]  # set in the second process, read by the first
            assert replies[3].text.startswith("Auto-reading is now on")
            assert replies[4].reply_to == photo_message["message_id"]
            assert not _rate_limited(replies[4])

            # An album whose first photo mentions the bot, its photos spread over both processes.
            quiet_group = server.chat(GROUP - 1, "supergroup")
            caption = f"@{BOT['username']} readings"
            album = [
                server.photo_message(photo, quiet_group, ALBUM_USER, media_group_id="album-lb")
                for _ in range(3)
            ]
            album[0] = server.photo_message(
                photo, quiet_group, ALBUM_USER, caption=caption, media_group_id="album-lb"
            )
            for message in album:
                server.push(message)
            await server.wait_sent(8, timeout=30)
            assert set(proxy.routed[-3:]) == {0, 1}
            answered = {r.reply_to for r in server.replies()[5:]}
            assert answered == {m["message_id"] for m in album}  # 2 read, 1 over the limit
            logs = first.log + second.log
    finally:
        await proxy.stop()
        await server.stop()
    assert not [line for line in logs if "CRITICAL" in line or "Traceback" in line], logs


# Discord


class TwoShards(DiscordStandIn):
    """A stand-in Discord that recommends two shards and has a guild on each."""

    def __init__(self):
        super().__init__(shards=2, guilds=(GUILD_ID, OTHER_GUILD))


async def _mention_in_each_guild(server: DiscordStandIn, photo: bytes) -> list:
    """The user mentions the bot with the photo in GUILD_ID (shard 1), then in OTHER_GUILD
    (shard 0), each answered before the next; returns the two replies."""
    replies = []
    for n, guild in enumerate((GUILD_ID, OTHER_GUILD), start=1):
        message = server.message(
            DISCORD_USER, attachments=[server.attachment(photo)], mention_bot=True, guild_id=guild
        )
        await server.message_create(message)
        replies = await server.wait_sent(n, kinds=("message",), timeout=30)
        reference = replies[-1].payload["message_reference"]
        assert str(reference["message_id"]) == message["id"]
    return replies


async def test_one_process_runs_every_shard_discord_recommends(photo):
    async with discord_bot(server_class=TwoShards, pipeline=_fixed_reading) as server:
        await server.wait_shards([0, 1])
        assert sorted(server.identified) == [(0, 2), (1, 2)]
        replies = await _mention_in_each_guild(server, photo)
        assert all(r.embeds for r in replies)


async def test_shards_split_across_two_processes_share_rate_limits(redis_url, prefix, photo):
    """DISCORD_SHARD_COUNT=2 with DISCORD_SHARD_IDS=0 in one process and 1 in the other: each
    guild's events reach one process only, and a user's rate limit (1) holds across both."""
    server = await TwoShards().start()
    common = {
        "DISCORD_TOKEN": server.token,
        "DISCORD_API_BASE_URL": server.api_url,
        "DISCORD_GATEWAY_URL": server.gateway_url,
        "DISCORD_SHARD_COUNT": "2",
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": prefix,
        "RATE_LIMIT": "1",
        "WORKERS": "1",
    }
    try:
        async with (
            bot_process(_clean_env(**common, DISCORD_SHARD_IDS="0")),
            bot_process(_clean_env(**common, DISCORD_SHARD_IDS="1")),
        ):
            await server.wait_shards([0, 1])
            assert sorted(server.identified) == [(0, 2), (1, 2)]  # each shard once
            replies = await _mention_in_each_guild(server, photo)
            await asyncio.sleep(0.5)  # a second answer to either message would show now
            assert len([s for s in server.sent if s.kind == "message"]) == 2
    finally:
        await server.stop()
    assert not replies[0].content.startswith(RATE_LIMITED)  # a reading (or whatever the core
    assert replies[1].content.startswith(RATE_LIMITED)  # says of the photo), then the limit
