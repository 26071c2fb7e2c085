"""State that several bot processes share: per-user rate limits, per-chat settings, albums.

With REDIS_URL set they live in Redis (the `redis` package's asyncio client), so N identical
processes behind a load balancer see one rate limit per user and one /autoread choice per chat,
and both survive restarts. Without it they live in this process's memory, as they always did
(chat settings in python-telegram-bot's chat_data, which TELEGRAM_STATE_FILE persists).

If Redis stops answering while the bot runs, photos are still read (the rate limit lets them
through, with a log line) and chats get the default settings: a short outage should not silence
the bot.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.settings import Settings

log = logging.getLogger(__name__)

# Seconds to connect to Redis or wait for an answer: it is on the local network, and a photo's
# admission should not hang on it.
REDIS_TIMEOUT = 2.0
# How long an album asked for in a group is remembered: its photos arrive within seconds.
ALBUM_SECONDS = 600
ALBUM_MEMORY = 256  # albums remembered in memory (per process)

# A sliding window per key in a sorted set of event times, atomic across processes. Times are
# Redis's own clock, so machines whose clocks differ agree, and a restart changes nothing.
# KEYS[1]: the key; ARGV: limit, window (s), a unique member. Returns the wait in seconds
# (a string: Redis turns Lua numbers into integers), "0" when the event was counted.
SLIDING_WINDOW = """
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return '0'
"""


class RedisRateLimiter:
    """At most `limit` photos per `window` seconds per user, counted in Redis."""

    def __init__(self, client: aioredis.Redis, prefix: str, limit: int, window: float):
        self.prefix, self.limit, self.window = prefix, limit, window
        self._client = client
        self._script = client.register_script(SLIDING_WINDOW)

    async def wait(self, key: str) -> float:
        """Seconds until `key` may send a photo; 0 means now, and the photo is counted."""
        try:
            answer = await self._script(
                keys=[f"{self.prefix}:rate:{key}"],
                args=[self.limit, self.window, uuid.uuid4().hex],
            )
        except RedisError as exc:
            log.warning("redis: rate limit not checked (%s)", _describe(exc))
            return 0.0
        return max(0.0, float(answer))

    async def give_back(self, key: str) -> None:
        """Uncount the latest photo of `key` (refused as busy after all)."""
        try:
            await self._client.zpopmax(f"{self.prefix}:rate:{key}")
        except RedisError as exc:
            log.warning("redis: rate limit not given back (%s)", _describe(exc))


class Chats(Protocol):
    """Per-chat settings (yes/no flags) and the albums asked for in groups."""

    async def flag(self, chat_id: int, name: str) -> bool | None:
        """The chat's setting, or None when it was never set."""

    async def set_flag(self, chat_id: int, name: str, value: bool) -> None:
        """Set the chat's setting; raises RedisError when it cannot be stored."""

    async def mark_album(self, album_id: str) -> None:
        """Remember that an album was asked for, so its other photos are read too."""

    async def album_marked(self, album_id: str) -> bool: ...


class MemoryChats:
    """Chats in this process: settings in `chat_data` (python-telegram-bot's, persisted by
    TELEGRAM_STATE_FILE), albums in a small dict."""

    def __init__(self, chat_data: Mapping[int, MutableMapping]):
        self._chat_data = chat_data
        self._albums: dict[str, bool] = {}

    async def flag(self, chat_id: int, name: str) -> bool | None:
        value = self._chat_data[chat_id].get(name)
        return None if value is None else bool(value)

    async def set_flag(self, chat_id: int, name: str, value: bool) -> None:
        self._chat_data[chat_id][name] = value

    async def mark_album(self, album_id: str) -> None:
        self._albums[album_id] = True
        while len(self._albums) > ALBUM_MEMORY:
            del self._albums[next(iter(self._albums))]

    async def album_marked(self, album_id: str) -> bool:
        return album_id in self._albums


class RedisChats:
    """Chats in Redis: a hash per chat ("1"/"0" per setting), a key per album with a lifetime."""

    def __init__(self, client: aioredis.Redis, prefix: str):
        self._client, self._prefix = client, prefix

    async def flag(self, chat_id: int, name: str) -> bool | None:
        try:
            value = await self._client.hget(f"{self._prefix}:chat:{chat_id}", name)
        except RedisError as exc:
            log.warning("redis: chat setting not read, using the default (%s)", _describe(exc))
            return None
        return None if value is None else value == b"1"

    async def set_flag(self, chat_id: int, name: str, value: bool) -> None:
        await self._client.hset(f"{self._prefix}:chat:{chat_id}", name, "1" if value else "0")

    async def mark_album(self, album_id: str) -> None:
        try:
            await self._client.set(f"{self._prefix}:album:{album_id}", "1", ex=ALBUM_SECONDS)
        except RedisError as exc:
            log.warning("redis: album not remembered (%s)", _describe(exc))

    async def album_marked(self, album_id: str) -> bool:
        try:
            return bool(await self._client.exists(f"{self._prefix}:album:{album_id}"))
        except RedisError as exc:
            log.warning("redis: album not looked up (%s)", _describe(exc))
            return False


@dataclass
class Shared:
    """Where this process keeps what must be shared: a Redis client, or None for memory."""

    client: aioredis.Redis | None
    prefix: str

    def limiter(self, settings: Settings) -> RedisRateLimiter | None:
        """The Redis rate limiter, or None: the service then keeps its own in memory."""
        if self.client is None:
            return None
        return RedisRateLimiter(self.client, self.prefix, settings.rate_limit, settings.rate_window)

    def chats(self, platform: str, chat_data: Mapping[int, MutableMapping]) -> Chats:
        """The chat settings of `platform` ("tg"): in Redis, else in `chat_data`."""
        if self.client is None:
            return MemoryChats(chat_data)
        return RedisChats(self.client, f"{self.prefix}:{platform}")

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()


async def connect(settings: Settings) -> Shared:
    """Connect to REDIS_URL (checking that it answers) or keep everything in memory. Raises
    ConnectionError naming the server (never its password) when Redis cannot be reached."""
    if not settings.redis_url:
        return Shared(None, settings.redis_prefix)
    client = aioredis.Redis.from_url(
        settings.redis_url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
    )
    try:
        await client.ping()
    except RedisError as exc:
        await client.aclose()
        raise ConnectionError(f"cannot reach Redis at {where(settings.redis_url)}: {exc}") from None
    return Shared(client, settings.redis_prefix)


def where(url: str) -> str:
    """A Redis URL without its password, for log lines: host:port/db or the socket path."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname}:{parts.port or 6379}{parts.path}"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:200]}"
