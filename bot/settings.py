"""Every setting of the bot in one place: read from the environment (and a `.env` file).

Each field lists its environment variable and default; the README's settings table mirrors this
module. Bad values stop the bot at start-up with a message naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields


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
    # Photos allowed to wait for a worker; beyond workers + queue_size users get the busy reply.
    queue_size: int = 16
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

    telegram_base_url: str = ""  # e.g. http://localhost:8081/bot for a local Bot API server
    telegram_base_file_url: str = ""  # e.g. http://localhost:8081/file/bot
    telegram_webhook_url: str = ""  # public HTTPS URL; set -> webhook mode instead of polling
    telegram_webhook_listen: str = "0.0.0.0"
    telegram_webhook_port: int = 8443
    telegram_webhook_secret: str = ""

    discord_api_base_url: str = ""  # e.g. http://127.0.0.1:9000/api/v10 (tests, proxies)
    discord_gateway_url: str = ""  # e.g. ws://127.0.0.1:9000/gateway
    discord_sync_commands: bool = True  # register the slash and context-menu commands at start

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
        for name in ("queue_size",):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name.upper()} must be 0 or more")
        for name in ("rate_window", "download_timeout", "max_image_mb"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name.upper()} must be positive")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise SettingsError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")

    @property
    def max_image_bytes(self) -> int:
        return int(self.max_image_mb * 1024 * 1024)

    @property
    def tokens(self) -> tuple[str, ...]:
        """The secrets that must never reach a log line."""
        return tuple(t for t in (self.telegram_token, self.discord_token) if t)


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
