"""The Discord bot: real discord.py against the stand-in REST API and gateway on 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading
from contextlib import AsyncExitStack

import discord
import pytest
import yarl
from standins.bots import discord_bot
from standins.discord_api import APP_ID, DiscordStandIn
from standins.photos import digits_photo, open_png

from bot import texts
from bot.fair_queue import ReadingTime
from core.result import Digit, Result

pytestmark = pytest.mark.timeout(60)

NUMBER = "4071"
USER = 600000000000000001


@pytest.fixture(scope="module")
def photo(mnist_sample) -> bytes:
    return digits_photo(*mnist_sample, NUMBER)


@pytest.fixture
async def make_bot():
    """Start the bot against a fresh stand-in Discord with the given settings."""
    async with AsyncExitStack() as stack:

        async def make(**settings) -> DiscordStandIn:
            return await stack.enter_async_context(discord_bot(**settings))

        yield make


@pytest.fixture
async def dc(make_bot):
    return await make_bot()


def _assert_reading(sent) -> None:
    [embed] = sent.embeds
    assert NUMBER in embed["title"]
    assert "%" in embed["description"]
    assert embed["image"]["url"] == "attachment://digits.png"
    open_png(sent.files["digits.png"])


async def _quiet(server: DiscordStandIn, seconds: float = 0.5) -> None:
    """Give the bot time to (wrongly) react."""
    await asyncio.sleep(seconds)


async def test_commands_registered(dc):
    names = {(c["name"], c.get("type", 1)) for c in dc.commands}
    assert {("digits", 1), ("Read digits", 3), ("help", 1), ("about", 1)} <= names
    [digits] = [c for c in dc.commands if c["name"] == "digits"]
    assert digits["options"][0]["type"] == 11  # an attachment option
    assert yarl.URL(discord.http.Route.BASE).host == "127.0.0.1"
    assert dc.compression == ["zlib-stream"]


async def test_slash_command_defers_then_follows_up(dc, photo):
    attachment = dc.attachment(photo)
    interaction = await dc.slash_command(USER, "digits", attachment)
    [followup] = await dc.wait_sent(1, kinds=("followup",))
    [callback] = [s for s in dc.sent if s.kind == "callback"]
    assert callback.payload["type"] == 5  # deferred "thinking" response
    assert interaction["id"] in callback.path and callback.at <= followup.at
    assert followup.path.startswith(f"/webhooks/{APP_ID}/{interaction['token']}")
    _assert_reading(followup)


async def test_slash_command_in_a_dm(dc, photo):
    await dc.slash_command(USER, "digits", dc.attachment(photo), dm=True)
    [followup] = await dc.wait_sent(1, kinds=("followup",))
    _assert_reading(followup)


async def test_slash_command_with_a_non_image(dc):
    attachment = dc.attachment(b"just text", filename="notes.txt", content_type="text/plain")
    await dc.slash_command(USER, "digits", attachment)
    [callback] = await dc.wait_sent(1, kinds=("callback",))
    assert callback.payload["type"] == 4 and callback.flags & 64  # private reply at once
    assert callback.content == texts.NOT_AN_IMAGE
    assert "GET cdn" not in dc.calls


async def test_context_menu_reads_the_message(dc, photo):
    target = dc.message(USER + 1, attachments=[dc.attachment(photo, content_type="image/jpeg")])
    await dc.context_menu(USER, "Read digits", target)
    [followup] = await dc.wait_sent(1, kinds=("followup",))
    _assert_reading(followup)


async def test_context_menu_on_a_message_without_images(dc):
    await dc.context_menu(USER, "Read digits", dc.message(USER + 1, content="hi"))
    [callback] = await dc.wait_sent(1, kinds=("callback",))
    assert callback.content == texts.CONTEXT_NO_IMAGE and callback.flags & 64


async def test_dm_image_is_read(dc, photo):
    message = await dc.message_create(
        dc.message(USER, attachments=[dc.attachment(photo, "IMG_1.JPG")], dm=True)
    )
    [reply] = await dc.wait_sent(1)
    assert reply.kind == "message" and reply.path == f"/channels/{message['channel_id']}/messages"
    assert f"POST /channels/{message['channel_id']}/typing" in dc.calls  # "is typing..."
    assert str(reply.payload["message_reference"]["message_id"]) == message["id"]
    _assert_reading(reply)


async def test_mention_with_image_is_read(dc, photo):
    message = await dc.message_create(
        dc.message(USER, attachments=[dc.attachment(photo)], mention_bot=True)
    )
    [reply] = await dc.wait_sent(1)
    assert str(reply.payload["message_reference"]["message_id"]) == message["id"]
    _assert_reading(reply)


async def test_mention_replying_to_an_image_reads_that_image(dc, photo):
    original = dc.message(USER + 1, attachments=[dc.attachment(photo)])
    await dc.message_create(dc.message(USER, mention_bot=True, referenced=original))
    [reply] = await dc.wait_sent(1)
    _assert_reading(reply)


async def test_unaddressed_guild_image_is_ignored(dc, photo):
    await dc.message_create(dc.message(USER, attachments=[dc.attachment(photo)]))
    everyone = dc.message(USER, content="@everyone", attachments=[dc.attachment(photo)])
    await dc.message_create({**everyone, "mention_everyone": True})
    # The bot's own messages and other bots are ignored too, even in DMs.
    bot_author = {"id": "42", "username": "otherbot", "discriminator": "0", "bot": True}
    await dc.message_create(
        dc.message(42, attachments=[dc.attachment(photo)], dm=True, author=bot_author)
    )
    await _quiet(dc)
    assert dc.sent == [] and "GET cdn" not in dc.calls


async def test_dm_without_image_gets_help(dc):
    await dc.message_create(dc.message(USER, content="hello", dm=True))
    [reply] = await dc.wait_sent(1)
    assert reply.content == texts.DM_NO_IMAGE


async def test_help_and_about_are_private(dc):
    await dc.slash_command(USER, "help")
    await dc.slash_command(USER, "about")
    replies = await dc.wait_sent(2, kinds=("callback",))
    assert all(r.flags & 64 for r in replies)
    text = " ".join(r.content for r in replies)
    assert "/digits" in text and "never written to disk" in text


async def test_rate_limited_slash_command_is_answered_at_once(make_bot, photo):
    dc = await make_bot(rate_limit=1)
    await dc.slash_command(USER, "digits", dc.attachment(photo))
    await dc.wait_sent(1, kinds=("followup",))
    await dc.slash_command(USER, "digits", dc.attachment(photo))
    callbacks = await dc.wait_sent(2, kinds=("callback",))
    assert callbacks[1].payload["type"] == 4 and callbacks[1].flags & 64
    assert "wait" in callbacks[1].content


async def test_gateway_drop_resumes_and_keeps_answering(dc, photo):
    await dc.drop()
    await dc.wait_connected()
    assert dc.resumes == 1 and dc.identifies == 1
    await dc.message_create(dc.message(USER, attachments=[dc.attachment(photo)], dm=True))
    [reply] = await dc.wait_sent(1)
    _assert_reading(reply)


async def test_invalid_session_identifies_again_and_keeps_answering(dc, photo):
    await dc.invalidate()
    await dc.wait_connected()
    assert dc.identifies == 2
    await dc.message_create(dc.message(USER, attachments=[dc.attachment(photo)], dm=True))
    [reply] = await dc.wait_sent(1)
    _assert_reading(reply)


# A long wait for a reader: a note at once, and the answers after it.


class GatedReader:
    """A pipeline whose readings all wait for `gate`, then read "42"."""

    def __init__(self):
        self.gate = threading.Event()

    def __call__(self, data: bytes):
        self.gate.wait(10)
        digits = tuple(Digit(v, 0.99, ((v, 0.99),), (0, 0, 10, 10), 0, False) for v in (4, 2))
        return Result(digits, "42", (), (40, 20)), b"\x89PNG not really"


async def _busy_reader(make_bot, photo):
    """A bot whose one worker is busy reading another user's DM photo, with readings estimated
    at 10 s: the next photo would wait 10 s."""
    reader = GatedReader()
    dc = await make_bot(pipeline=reader, reading=ReadingTime(10.0))
    await dc.message_create(dc.message(USER + 9, attachments=[dc.attachment(photo)], dm=True))
    while "GET cdn" not in dc.calls:
        await asyncio.sleep(0.02)
    return dc, reader


async def test_long_wait_on_a_command_answers_with_a_note_then_edits_it(make_bot, photo):
    dc, reader = await _busy_reader(make_bot, photo)
    await dc.slash_command(USER, "digits", dc.attachment(photo))
    [note] = await dc.wait_sent(1, kinds=("callback",))
    assert note.payload["type"] == 4 and not note.flags & 64  # a public message, at once
    assert note.content == texts.QUEUED.format(seconds=10)
    reader.gate.set()
    [edit] = await dc.wait_sent(1, kinds=("edit",))
    assert edit.path.endswith("/messages/@original")
    [embed] = edit.embeds
    assert embed["title"] == "42" and "digits.png" in edit.files
    assert edit.content == ""  # the note's text is gone
    await dc.wait_sent(1, kinds=("message",))  # the other user's DM answer
    assert not [s for s in dc.sent if s.kind == "followup"]


async def test_long_wait_on_a_message_gets_a_note_deleted_after_the_answers(make_bot, photo):
    dc, reader = await _busy_reader(make_bot, photo)
    images = [dc.attachment(photo, f"IMG_{i}.JPG") for i in range(2)]
    message = await dc.message_create(dc.message(USER, attachments=images, dm=True))
    [note] = await dc.wait_sent(1, kinds=("message",))
    assert note.content == texts.QUEUED.format(seconds=10)
    assert str(note.payload["message_reference"]["message_id"]) == message["id"]
    reader.gate.set()
    sent = await dc.wait_sent(5, kinds=("message", "delete"))
    await _quiet(dc, 0.3)
    assert [s.kind for s in dc.sent if s.kind in ("message", "delete")] == [
        "message", "message", "message", "message", "delete"
    ]  # fmt: skip
    answers = sent[1:4]  # the other user's DM, then this message's two images
    assert all(a.embeds for a in answers)
    references = [str(a.payload["message_reference"]["message_id"]) for a in answers[1:]]
    assert references == [message["id"], message["id"]]
    assert sent[4].path == f"/channels/{message['channel_id']}/messages/{note.message_id}"
