"""The Telegram bot: real python-telegram-bot against the stand-in Bot API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import threading
from contextlib import AsyncExitStack

import aiohttp
import pytest
from standins.bots import telegram_bot
from standins.photos import blank_photo, digits_photo, open_png
from standins.telegram_api import BOT, Fault, TelegramStandIn

from bot import texts
from bot.fair_queue import ReadingTime
from core.result import Digit, Result

pytestmark = pytest.mark.timeout(60)

NUMBER = "4071"
USER, OTHER, ADMIN = 501, 502, 503
GROUP = -100777


@pytest.fixture(scope="module")
def photo(mnist_sample) -> bytes:
    return digits_photo(*mnist_sample, NUMBER)


@pytest.fixture
async def make_bot():
    """Start the bot against a fresh stand-in server with the given settings."""
    async with AsyncExitStack() as stack:

        async def make(**settings) -> TelegramStandIn:
            return await stack.enter_async_context(telegram_bot(**settings))

        yield make


@pytest.fixture
async def tg(make_bot):
    return await make_bot()


async def _settle(server: TelegramStandIn) -> None:
    """Let the bot fetch and handle every queued update (so silence can be checked)."""
    for _ in range(100):
        if not server.updates and server.calls[-1:] == ["getUpdates"]:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)


async def test_private_photo_gets_the_number_and_a_png(tg, photo):
    sent = tg.push(tg.photo_message(photo, tg.chat(USER), USER))
    [reply] = await tg.wait_sent(1)
    assert reply.method == "sendPhoto"
    assert reply.chat_id == USER and reply.reply_to == sent["message_id"]
    assert NUMBER in reply.text.splitlines()[0]
    assert "%" in reply.text  # a confidence per digit
    image = open_png(reply.files["photo"])
    assert image.width > 100 and image.height > 50
    assert "getFile" in tg.calls and "file" in tg.calls


async def test_image_sent_as_a_file_is_read(tg, mnist_sample):
    png = digits_photo(*mnist_sample, NUMBER, fmt="PNG")
    message = tg.document_message(
        png, tg.chat(USER), USER, file_name="scan.png", mime_type="image/png"
    )
    tg.push(message)
    [reply] = await tg.wait_sent(1)
    assert reply.method == "sendPhoto" and NUMBER in reply.text


async def test_album_every_photo_answered(tg, photo):
    ids = set()
    for _ in range(3):
        msg = tg.photo_message(photo, tg.chat(USER), USER, media_group_id="album-1")
        ids.add(tg.push(msg)["message_id"])
    replies = await tg.wait_sent(3)
    assert {r.reply_to for r in replies} == ids
    assert all(NUMBER in r.text for r in replies)


async def test_photo_without_digits_gets_a_tip(tg):
    tg.push(tg.photo_message(blank_photo(), tg.chat(USER), USER))
    [reply] = await tg.wait_sent(1)
    assert reply.method == "sendMessage"
    assert texts.NO_DIGITS in reply.text


async def test_non_image_file_gets_a_friendly_reply(tg):
    doc = tg.document_message(
        b"%PDF-1.4 ...", tg.chat(USER), USER, file_name="bill.pdf", mime_type="application/pdf"
    )
    tg.push(doc)
    [reply] = await tg.wait_sent(1)
    assert reply.text == texts.NOT_AN_IMAGE
    assert "getFile" not in tg.calls  # not even downloaded


async def test_broken_image_file_gets_the_core_message(tg):
    doc = tg.document_message(
        b"\xff\xd8\xff\xe0 truncated",
        tg.chat(USER),
        USER,
        file_name="a.jpg",
        mime_type="image/jpeg",
    )
    tg.push(doc)
    [reply] = await tg.wait_sent(1)
    assert reply.method == "sendMessage"
    assert "image" in reply.text.lower() and "went wrong" not in reply.text


async def test_too_big_refused_before_download(make_bot, photo):
    tg = await make_bot(max_image_mb=0.001)
    tg.push(tg.photo_message(photo, tg.chat(USER), USER, file_size=5_000_000))
    [reply] = await tg.wait_sent(1)
    assert "too large" in reply.text
    assert "file" not in tg.calls and "getFile" not in tg.calls


async def test_help_and_about(tg):
    tg.push(tg.text_message("/help", tg.chat(USER), USER))
    tg.push(tg.text_message("/about", tg.chat(USER), USER))
    tg.push(tg.text_message("/start", tg.chat(USER), USER))
    replies = await tg.wait_sent(3)
    by_text = " ".join(r.text for r in replies)
    assert "/digits" in by_text and "good even light" in by_text  # help (also in /start)
    about = next(r.text for r in replies if "Privacy" in r.text)
    assert "never written to disk" in about and "digitbot" in about


async def test_private_text_points_at_photos(tg):
    tg.push(tg.text_message("hello", tg.chat(USER), USER))
    [reply] = await tg.wait_sent(1)
    assert reply.text == texts.DM_NO_IMAGE


# Groups: privacy mode on, so only asked-for photos are read.


async def test_group_silent_on_unrelated_photo_answers_digits_reply(tg, photo):
    group = tg.chat(GROUP, "supergroup")
    unrelated = tg.push(tg.photo_message(photo, group, USER))
    await _settle(tg)
    assert tg.replies() == [] and "getFile" not in tg.calls
    command = tg.push(tg.text_message("/digits", group, OTHER, reply_to=unrelated))
    [reply] = await tg.wait_sent(1)
    assert reply.chat_id == GROUP and reply.reply_to == command["message_id"]
    assert NUMBER in reply.text


async def test_group_digits_addressed_to_the_bot(tg, photo):
    group = tg.chat(GROUP, "supergroup")
    target = tg.photo_message(photo, group, USER)
    tg.push(tg.text_message(f"/digits@{BOT['username']}", group, OTHER, reply_to=target))
    [reply] = await tg.wait_sent(1)
    assert NUMBER in reply.text


async def test_group_digits_without_a_photo_explains(tg):
    group = tg.chat(GROUP, "supergroup")
    tg.push(tg.text_message("/digits", group, OTHER))
    [reply] = await tg.wait_sent(1)
    assert reply.text == texts.DIGITS_NEEDS_REPLY


async def test_group_caption_mention_and_reply_to_bot(tg, photo):
    group = tg.chat(GROUP, "supergroup")
    mention = tg.push(
        tg.photo_message(photo, group, USER, caption=f"what does this say @{BOT['username']}")
    )
    bots_message = tg.message(group, BOT["id"], text="earlier answer")
    answer = tg.push(tg.photo_message(photo, group, OTHER, reply_to=bots_message))
    other_mention = tg.push(tg.photo_message(photo, group, USER, caption="hey @someone_else"))
    command = tg.push(tg.photo_message(photo, group, USER, caption="/digits please"))
    replies = await tg.wait_sent(3)
    await _settle(tg)
    asked = {mention["message_id"], answer["message_id"], command["message_id"]}
    assert {r.reply_to for r in tg.replies()} == asked
    assert other_mention["message_id"] not in {r.reply_to for r in replies}
    assert all(NUMBER in r.text for r in replies)


async def test_group_autoread_only_admins_switch_it(tg, photo):
    group = tg.chat(GROUP, "supergroup")
    tg.admins.add((GROUP, ADMIN))
    tg.push(tg.text_message("/autoread on", group, USER))
    [refused] = await tg.wait_sent(1)
    assert refused.text == texts.AUTOREAD_ADMINS_ONLY
    tg.push(tg.text_message("/autoread on", group, ADMIN))
    replies = await tg.wait_sent(2)
    assert replies[1].text.startswith("Auto-reading is now on")
    photo_msg = tg.push(tg.photo_message(photo, group, USER))
    replies = await tg.wait_sent(3)
    assert replies[2].reply_to == photo_msg["message_id"] and NUMBER in replies[2].text


async def test_group_autoread_default_from_settings(make_bot, photo):
    tg = await make_bot(group_autoread=True)
    tg.push(tg.photo_message(photo, tg.chat(GROUP, "group"), USER))
    [reply] = await tg.wait_sent(1)
    assert NUMBER in reply.text


async def test_rate_limit_reply(make_bot, photo):
    tg = await make_bot(rate_limit=2)
    for _ in range(3):
        tg.push(tg.photo_message(photo, tg.chat(USER), USER))
    replies = await tg.wait_sent(3)
    limited = [r for r in replies if "wait" in r.text]
    assert len(limited) == 1 and limited[0].method == "sendMessage"
    assert len([r for r in replies if r.method == "sendPhoto"]) == 2


async def test_webhook_mode(make_bot, photo):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/digitbot-hook"
    tg = await make_bot(
        telegram_webhook_url=url,
        telegram_webhook_listen="127.0.0.1",
        telegram_webhook_port=port,
        telegram_webhook_secret="s3cret",
    )
    assert tg.last_params["setWebhook"]["url"] == url
    assert tg.last_params["setWebhook"]["secret_token"] == "s3cret"
    assert "getUpdates" not in tg.calls
    message = tg.photo_message(photo, tg.chat(USER), USER)
    update = {"update_id": 1, "message": message}
    async with aiohttp.ClientSession() as session:
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
        async with session.post(url, json=update, headers=wrong) as response:
            assert response.status == 403
        right = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
        async with session.post(url, json=update, headers=right) as response:
            assert response.status == 200
    [reply] = await tg.wait_sent(1)
    assert reply.reply_to == message["message_id"] and NUMBER in reply.text


# The stand-in misbehaves (a first taste of issue 5): the user still gets the reading.


async def test_flood_control_and_server_errors_are_retried(tg, photo):
    tg.inject("sendPhoto", Fault("status", 429, retry_after=1))
    tg.inject("sendPhoto", Fault("status", 502))
    tg.push(tg.photo_message(photo, tg.chat(USER), USER))
    [reply] = await tg.wait_sent(1)
    assert NUMBER in reply.text and tg.calls.count("sendPhoto") == 3


async def test_reset_and_cut_downloads_are_retried(tg, photo):
    tg.inject("getFile", Fault("reset"))
    tg.inject("file", Fault("cut"))
    tg.push(tg.photo_message(photo, tg.chat(USER), USER))
    [reply] = await tg.wait_sent(1)
    assert NUMBER in reply.text
    assert tg.calls.count("getFile") == 2 and tg.calls.count("file") == 2


async def test_download_that_keeps_failing_gets_an_apology(make_bot, photo):
    tg = await make_bot(download_timeout=1.0)
    tg.inject("file", Fault("stall", seconds=5))
    tg.push(tg.photo_message(photo, tg.chat(USER), USER))
    [reply] = await tg.wait_sent(1)
    assert reply.text == texts.DOWNLOAD_FAILED
    tg.push(tg.photo_message(photo, tg.chat(USER), USER))  # and the bot keeps serving
    replies = await tg.wait_sent(2)
    assert NUMBER in replies[1].text


async def test_group_album_with_a_mention_is_read_whole(tg, photo):
    group = tg.chat(GROUP, "supergroup")
    caption = f"@{BOT['username']} meter readings"
    first = tg.photo_message(photo, group, USER, caption=caption, media_group_id="g-album")
    ids = {tg.push(first)["message_id"]}
    for _ in range(2):
        ids.add(
            tg.push(tg.photo_message(photo, group, USER, media_group_id="g-album"))["message_id"]
        )
    tg.push(tg.photo_message(photo, group, USER, media_group_id="other-album"))
    await tg.wait_sent(3)
    await _settle(tg)
    assert {r.reply_to for r in tg.replies()} == ids


async def test_autoread_choice_survives_a_restart_with_a_state_file(photo, tmp_path):
    state = tmp_path / "state.pickle"
    group = TelegramStandIn().chat(GROUP, "supergroup")
    async with telegram_bot(telegram_state_file=str(state)) as tg:
        tg.admins.add((GROUP, ADMIN))
        tg.push(tg.text_message("/autoread on", group, ADMIN))
        [reply] = await tg.wait_sent(1)
        assert "now on" in reply.text
    async with telegram_bot(telegram_state_file=str(state)) as tg:
        message = tg.push(tg.photo_message(photo, group, USER))
        [reply] = await tg.wait_sent(1)
        assert reply.reply_to == message["message_id"] and NUMBER in reply.text
    async with telegram_bot() as tg:  # without the file: the default, silence
        tg.push(tg.photo_message(photo, group, USER))
        await _settle(tg)
        assert tg.replies() == []


# A long wait for a reader: a note at once, deleted once the answers are out.


class GatedReader:
    """A pipeline whose readings all wait for `gate`, then read "42"."""

    def __init__(self):
        self.gate = threading.Event()

    def __call__(self, data: bytes):
        self.gate.wait(10)
        digits = tuple(Digit(v, 0.99, ((v, 0.99),), (0, 0, 10, 10), 0, False) for v in (4, 2))
        return Result(digits, "42", (), (40, 20)), b"\x89PNG not really"


async def test_a_long_wait_gets_one_queued_note_deleted_after_the_answers(photo):
    """Readings take 10 s (the service's estimate), one worker: the first photo is read at
    once; an album of three sent meanwhile would wait 10, 20 and 30 s, so its first photo gets
    one "queued, about 10 s" note at once, and the note goes when the last answer is sent."""
    reader = GatedReader()
    async with telegram_bot(workers=1, pipeline=reader, reading=ReadingTime(10.0)) as tg:
        tg.push(tg.photo_message(photo, tg.chat(USER), USER))
        while "file" not in tg.calls:  # the first photo is being read
            await asyncio.sleep(0.02)
        album = [
            tg.push(tg.photo_message(photo, tg.chat(USER), USER, media_group_id="a1"))
            for _ in range(3)
        ]
        [note] = await tg.wait_sent(1)
        assert note.text == texts.QUEUED.format(seconds=10)
        assert note.reply_to == album[0]["message_id"]
        await asyncio.sleep(0.3)
        assert len(tg.replies()) == 1 and not tg.deleted  # one note for the album, still up
        reader.gate.set()
        replies = await tg.wait_sent(5)
        for _ in range(100):
            if tg.deleted:
                break
            await asyncio.sleep(0.05)
    answers = [r for r in replies if r is not note]
    assert [a.method for a in answers] == ["sendPhoto"] * 4
    assert {a.reply_to for a in answers[1:]} == {m["message_id"] for m in album}
    [(chat, message_id, when)] = tg.deleted
    assert (chat, message_id) == (USER, note.message_id)
    assert when >= max(a.at for a in answers)
