"""Logging for the bot: one format, quiet HTTP clients, and tokens redacted from every line.

python-telegram-bot's HTTP client (httpx) logs each request URL, which contains the bot token, at
INFO; those loggers are kept at WARNING. As defence in depth every line written, tracebacks
included, has the tokens replaced by `[token]`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET = ("httpx", "httpcore", "websockets", "aiohttp.access")


class RedactingFormatter(logging.Formatter):
    """A Formatter that replaces each secret in the finished line (message and traceback)."""

    def __init__(self, secrets: Iterable[str], fmt: str = FORMAT):
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "[token]")
    return text


def setup_logging(level: str, secrets: Iterable[str], stream=None) -> logging.Handler:
    """Log to stderr at `level` with every secret redacted; returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler
