"""Every setting of the bot in one place: read from the environment (and a `.env` file).

Each field lists its environment variable and default; the README's settings table mirrors this
module. Bad values stop the bot at start-up with a message naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")  # what redis.asyncio.from_url accepts


class SettingsError(ValueError):
    """A setting has a value the bot cannot use; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    telegram_token: str = ""
    discord_token: str = ""

    # Photos per user per minute. A reading costs ~0.1-0.5 s of CPU; six a minute keeps one busy
    # user from starving a small shared server while being plenty for a person sending photos.
    rate_limit: int = 6
    rate_window: float = 60.0
    # Threads reading photos. The work is NumPy/OpenCV/LiteRT, which release the GIL; one per core.
    workers: int = min(2, os.cpu_count() or 1)
    # Longest expected wait for a reader, in seconds: a photo that would wait longer gets the busy
    # reply at once. The queue is fair (one per user, served in rounds), so this bounds the wait
    # rather than the number of photos. 60 s: in bench/bench_load.py's burst of 50 users (300
    # photos within their rate limits) none waited over 35 s on two free cores, so none is refused.
    max_wait: float = 60.0
    # Largest photo file accepted, checked before download where the platform reports it.
    # Telegram's cloud Bot API serves files up to 20 MB; 10 MB covers any phone photo.
    max_image_mb: float = 10.0
    download_timeout: float = 30.0
    # Images read from one Discord message (it may carry up to 10).
    max_images_per_message: int = 4

    # Groups: read every photo (not just /digits replies, mentions and replies to the bot)?
    # Group admins override this per chat with /autoread on|off.
    group_autoread: bool = False
    # File keeping each group's /autoread choice across restarts; empty: kept in memory only.
    telegram_state_file: str = ""

    log_level: str = "INFO"

    # Several bot processes: per-user rate limits and per-chat settings live in this Redis
    # (e.g. redis://localhost:6379/0) instead of each process's memory, so they hold across
    # processes and restarts. Keys start with redis_prefix (one prefix per bot sharing a server).
    redis_url: str = ""
    redis_prefix: str = "digitbot"

    telegram_base_url: str = ""  # e.g. http://localhost:8081/bot for a local Bot API server
    telegram_base_file_url: str = ""  # e.g. http://localhost:8081/file/bot
    telegram_webhook_url: str = ""  # public HTTPS URL; set -> webhook mode instead of polling
    telegram_webhook_listen: str = "0.0.0.0"
    telegram_webhook_port: int = 8443
    telegram_webhook_secret: str = ""

    discord_api_base_url: str = ""  # e.g. http://127.0.0.1:9000/api/v10 (tests, proxies)
    discord_gateway_url: str = ""  # e.g. ws://127.0.0.1:9000/gateway
    discord_sync_commands: bool = True  # register the slash and context-menu commands at start
    # Sharding (discord.py's AutoShardedClient). 0: as many shards as Discord recommends, all in
    # this process. discord_shard_ids ("0,1"): the shards this process runs out of
    # discord_shard_count, to split a big bot across processes.
    discord_shard_count: int = 0
    discord_shard_ids: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from `env` (default: os.environ); variables are the field names upper-cased."""
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            raw = env.get(f.name.upper())
            if raw is None or raw.strip() == "":
                continue
            values[f.name] = _parse(f.name.upper(), raw.strip(), type(getattr(cls, f.name)))
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """Raise SettingsError for values out of range."""
        for name in ("rate_limit", "workers", "max_images_per_message"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name.upper()} must be at least 1")
        for name in ("discord_shard_count",):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name.upper()} must be 0 or more")
        for name in ("rate_window", "download_timeout", "max_image_mb", "max_wait"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name.upper()} must be positive")
        self._check_shards()
        if self.redis_url and self.telegram_state_file:
            raise SettingsError(
                "REDIS_URL and TELEGRAM_STATE_FILE are both set: with Redis the chat settings "
                "live in Redis; unset TELEGRAM_STATE_FILE"
            )
        if self.redis_url and not self.redis_url.startswith(REDIS_SCHEMES):
            raise SettingsError("REDIS_URL must start with redis://, rediss:// or unix://")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise SettingsError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")

    def _check_shards(self) -> None:
        ids = self.shard_ids
        if ids and not self.discord_shard_count:
            raise SettingsError("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT")
        if any(i < 0 or i >= self.discord_shard_count for i in ids):
            raise SettingsError("DISCORD_SHARD_IDS must be between 0 and DISCORD_SHARD_COUNT - 1")

    @property
    def shard_ids(self) -> tuple[int, ...]:
        """DISCORD_SHARD_IDS as numbers ("0,1" -> (0, 1)); empty: every shard."""
        try:
            return tuple(int(part) for part in self.discord_shard_ids.split(",") if part.strip())
        except ValueError:
            raise SettingsError(
                f"DISCORD_SHARD_IDS must be numbers separated by commas, not "
                f"{self.discord_shard_ids!r}"
            ) from None

    @property
    def max_image_bytes(self) -> int:
        return int(self.max_image_mb * 1024 * 1024)

    @property
    def tokens(self) -> tuple[str, ...]:
        """The bot tokens that are set."""
        return tuple(t for t in (self.telegram_token, self.discord_token) if t)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Everything that must never reach a log line: the tokens, the webhook secret and the
        password in REDIS_URL."""
        password = urlsplit(self.redis_url).password if self.redis_url else None
        found = (*self.tokens, self.telegram_webhook_secret, password or "")
        return tuple(s for s in found if s)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse(name: str, raw: str, kind: type) -> object:
    if kind is bool:
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise SettingsError(f"{name} must be true or false, not {raw!r}")
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    return raw
