"""The "queued, about N s" note for a photo that must wait for a reader.

A photo expected to wait more than a few seconds gets a short note at once, so nobody wonders
whether the bot saw it. One note covers every photo a user has waiting in a chat (an album of ten
gets one note, not ten: Telegram limits the messages a bot may send to one chat), and it is
deleted once the last of them is answered: the answers come as new messages, which notify the
user where an edited note would not, and a text note cannot be edited into a photo.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

# A photo expected to wait longer than this gets the note. Telegram shows a chat action ("sending
# a photo...") for at most 5 s; after that, without a note, the user sees nothing happening.
NOTE_AFTER_SECONDS = 5.0


@dataclass(eq=False)
class Note:
    """A note being sent or shown, and how many waiting photos it stands for."""

    sending: asyncio.Task
    photos: int = 0


class Notes:
    """The open notes, one per key (a chat and a user); `remove` deletes a sent note."""

    def __init__(self, remove: Callable[[object], Awaitable[object]]):
        self.remove = remove
        self._open: dict[str, Note] = {}

    def cover(
        self, key: str, expected_wait: float, send: Callable[[], Awaitable[object]]
    ) -> Note | None:
        """Count a photo under the key's open note; open one with send() (in the background,
        so the photo's turn is not delayed) when there is none and the wait is long. Returns
        the note to hand back to uncover(), or None."""
        note = self._open.get(key)
        if note is None:
            if expected_wait <= NOTE_AFTER_SECONDS:
                return None
            note = self._open[key] = Note(asyncio.create_task(_quietly(send)))
        note.photos += 1
        return note

    async def uncover(self, key: str, note: Note | None) -> None:
        """One of the note's photos is answered; the last one deletes the note."""
        if note is None:
            return
        note.photos -= 1
        if note.photos > 0:
            return
        if self._open.get(key) is note:
            del self._open[key]
        message = await note.sending
        if message is None:
            return
        try:
            await self.remove(message)
        except Exception as exc:  # a note left behind is untidy, not worth more than a line
            log.warning("could not delete a queue note: %s: %s", type(exc).__name__, exc)


async def _quietly(send: Callable[[], Awaitable[object]]) -> object | None:
    """send()'s message, or None (and one log line) when it fails."""
    try:
        return await send()
    except Exception as exc:
        log.warning("could not send a queue note: %s: %s", type(exc).__name__, exc)
        return None
