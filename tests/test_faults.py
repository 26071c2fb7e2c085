"""Faults: the stand-in servers misbehave and the bot copes.

Telegram: 429 with retry_after, 5xx, reset connections, stalled and cut-short downloads. The
bot retries or backs off, the user gets a reading or an apology (exactly one answer), and the
application keeps serving. Discord: the gateway drops the connection or invalidates the session;
the client reconnects and answers a message sent afterwards. SIGTERM while photos are being
read: every photo taken is answered before the exit. The model file missing or corrupt at
start-up of `python -m bot`: a clear error naming the file and a non-zero exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web
from make_bad_files import BAD, DIGITS
from standins import bots, discord_api
from standins.discord_api import DiscordStandIn
from standins.telegram_api import TOKEN, Fault, TelegramStandIn

from bench.synth import make
from bot import texts

ROOT = Path(__file__).resolve().parent.parent
PHOTO = (BAD / "plain.jpg").read_bytes()  # shows DIGITS
USER = 501


@pytest.fixture
async def start_telegram():
    """Start the real python-telegram-bot Application polling a fresh stand-in Bot API; `faults`
    are injected before the bot connects."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(faults=(), **settings) -> TelegramStandIn:
            class Faulty(TelegramStandIn):
                def __init__(self):
                    super().__init__()
                    for method, fault in faults:
                        self.inject(method, replace(fault))  # a copy: faults are counted down

            return await stack.enter_async_context(
                bots.telegram_bot(server_class=Faulty, rate_limit=1000, **settings)
            )

        yield start


@pytest.fixture
async def telegram(start_telegram) -> TelegramStandIn:
    """The bot with a short download timeout, so a dead download is apologised for quickly."""
    return await start_telegram(download_timeout=3.0)


def private_chat(server: TelegramStandIn, user: int = USER) -> dict:
    return server.chat(user)


async def answers_to(server: TelegramStandIn, message: dict, timeout: float = 10.0) -> list:
    """Every reply to `message`, once there is one; then a little longer to catch duplicates."""
    deadline = time.monotonic() + timeout
    while not [s for s in server.replies() if s.reply_to == message["message_id"]]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer within {timeout} s; calls: {server.calls[-20:]}")
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    return [s for s in server.replies() if s.reply_to == message["message_id"]]


def send_photo(server: TelegramStandIn, user: int = USER) -> dict:
    return server.push(server.photo_message(PHOTO, private_chat(server, user), user))


def assert_reading(replies: list) -> None:
    assert len(replies) == 1, f"{len(replies)} answers: {[r.text for r in replies]}"
    assert replies[0].method == "sendPhoto", replies[0].text
    assert replies[0].text.splitlines()[0].replace(" ", "") == DIGITS, replies[0].text


async def assert_still_serving(server: TelegramStandIn) -> None:
    help_message = server.push(server.text_message("/help", private_chat(server), USER))
    [reply] = await answers_to(server, help_message)
    assert "photo" in reply.text


# --- Telegram: the bot's own calls fail, then work: one reading, never two -------------------


@pytest.mark.parametrize(
    "method, fault",
    [
        ("sendPhoto", Fault("status", 429, retry_after=1)),
        ("sendPhoto", Fault("reset")),
        ("getFile", Fault("status", 500, times=2)),
        ("getFile", Fault("reset")),
        ("file", Fault("status", 503)),
        ("file", Fault("cut")),
    ],
    ids=lambda v: v if isinstance(v, str) else f"{v.kind}{v.status if v.kind == 'status' else ''}",
)
async def test_transient_fault_still_gives_one_reading(telegram, method, fault) -> None:
    server = telegram
    server.inject(method, replace(fault))
    message = send_photo(server)
    assert_reading(await answers_to(server, message))
    assert server.calls.count(method) >= 2, "the fault was never hit: the test proves nothing"


@pytest.mark.parametrize(
    "method, fault",
    [
        ("getMe", Fault("status", 502)),
        ("getMe", Fault("reset")),
        ("deleteWebhook", Fault("status", 429, retry_after=1)),
    ],
    ids=lambda v: v if isinstance(v, str) else f"{v.kind}{v.status if v.kind == 'status' else ''}",
)
async def test_startup_survives_a_transient_fault(start_telegram, method, fault) -> None:
    """One 5xx, 429 or reset from Telegram while the bot connects must not stop it starting."""
    server = await start_telegram(faults=[(method, fault)])
    assert not server.faults.get(method), "the fault was never hit"
    assert_reading(await answers_to(server, send_photo(server)))


async def test_flood_control_wait_is_honoured(telegram) -> None:
    server = telegram
    server.inject("sendMessage", Fault("status", 429, retry_after=2))
    message = server.push(server.text_message("/help", private_chat(server), USER))
    pushed = time.monotonic()
    [reply] = await answers_to(server, message)
    assert reply.at - pushed >= 1.9, "retried before the retry_after Telegram asked for"


async def test_polling_survives_errors_and_resets(telegram) -> None:
    server = telegram
    server.inject("getUpdates", Fault("status", 502))
    server.inject("getUpdates", Fault("reset"))
    server.inject("getUpdates", Fault("status", 429, retry_after=1))
    message = send_photo(server)
    assert_reading(await answers_to(server, message, timeout=20))
    assert not server.faults.get("getUpdates"), "not every injected fault was served"


# --- Telegram: the download never works: an apology, then business as usual -----------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault("stall", seconds=math.inf, times=10),
        Fault("cut", times=10),
        Fault("status", 500, times=10),
    ],
    ids=lambda f: f.kind,
)
async def test_failed_download_gets_an_apology(telegram, fault) -> None:
    server = telegram
    server.inject("file", replace(fault))
    message = send_photo(server)
    [reply] = await answers_to(server, message, timeout=15)
    assert reply.text == texts.DOWNLOAD_FAILED
    server.faults.clear()
    assert_reading(await answers_to(server, send_photo(server)))


async def test_download_stalled_once_is_retried(start_telegram) -> None:
    """A download that stalls past the HTTP read timeout is tried again and the reading arrives."""
    server = await start_telegram()  # the default download timeout
    server.inject("file", Fault("stall", seconds=math.inf))
    message = send_photo(server)
    assert_reading(await answers_to(server, message, timeout=20))


async def test_photo_upload_failing_still_answers_with_text(telegram) -> None:
    """sendPhoto keeps failing (5xx) while sendMessage works: the user still gets the digits."""
    server = telegram
    server.inject("sendPhoto", Fault("status", 500, times=20))
    message = send_photo(server)
    [reply] = await answers_to(server, message)
    assert reply.method == "sendMessage"
    assert DIGITS in reply.text.replace(" ", "") or reply.text == texts.FAILED, reply.text


async def test_reply_that_cannot_be_sent_does_not_stop_the_bot(telegram) -> None:
    """Every send fails for a while: the bot gives up on that photo and serves the next one."""
    server = telegram
    server.inject("sendPhoto", Fault("status", 500, times=20))
    server.inject("sendMessage", Fault("status", 500, times=20))
    send_photo(server)
    deadline = time.monotonic() + 10
    while server.calls.count("sendPhoto") + server.calls.count("sendMessage") < 3:
        assert time.monotonic() < deadline, f"the bot never tried to answer: {server.calls}"
        await asyncio.sleep(0.05)
    await asyncio.sleep(2)  # let it finish retrying and give up
    server.faults.clear()
    assert_reading(await answers_to(server, send_photo(server, user=USER + 1)))
    await assert_still_serving(server)


# --- Discord: the gateway drops or invalidates the session -----------------------------------

DISCORD_USER = 600000000000000009


class RealisticDiscord(DiscordStandIn):
    """The stand-in with one detail of the real API that discord.py relies on: Discord's own
    429 answers come through its proxy with a `Via` header (without it discord.py takes the 429
    for a Cloudflare ban and gives up at once)."""

    def __init__(self):
        super().__init__()
        self.cdn_faults: list[str] = []  # "reset" or "stall", one per download, on the CDN

    async def _rest(self, request):
        response = await super()._rest(request)
        if response.status == 429:
            response.headers["Via"] = "1.1 google"
        return response

    async def _cdn(self, request):
        if self.cdn_faults:
            kind = self.cdn_faults.pop(0)
            self.calls.append(f"GET cdn ({kind})")
            if kind == "stall":
                await asyncio.sleep(3600)
            request.transport.abort()
            return web.Response(status=500)
        return await super()._cdn(request)


@pytest.fixture
async def discord_bot():
    """The real discord.py client connected to the stand-in gateway and REST API."""
    async with bots.discord_bot(
        server_class=RealisticDiscord, rate_limit=1000, download_timeout=3.0
    ) as server:
        yield server


async def discord_photo_answered(server: DiscordStandIn) -> None:
    """A DM with the photo gets exactly one reply, and it is the reading."""
    before = len(server.sent)
    attachment = server.attachment(PHOTO, "photo.jpg", "image/jpeg")
    message = await server.message_create(
        server.message(DISCORD_USER, attachments=[attachment], dm=True)
    )
    deadline = time.monotonic() + 15
    while not (replies := [s for s in server.sent[before:] if s.kind == "message"]):
        assert time.monotonic() < deadline, f"no reply; calls: {server.calls[-10:]}"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    replies = [s for s in server.sent[before:] if s.kind == "message"]
    assert len(replies) == 1, [r.payload for r in replies]
    reference = replies[0].payload.get("message_reference") or {}
    assert str(reference.get("message_id")) == message["id"]
    [embed] = replies[0].embeds
    assert embed["title"].replace(" ", "") == DIGITS, embed


async def test_gateway_drop_is_resumed(discord_bot) -> None:
    server = discord_bot
    await server.drop(4000)
    await server.wait_connected(15)
    assert server.resumes == 1 and server.identifies == 1, "expected a RESUME, not a new session"
    await discord_photo_answered(server)


async def test_abrupt_disconnect_is_recovered(discord_bot) -> None:
    """The connection closes with 1006-like abruptness (no close frame we could choose)."""
    server = discord_bot
    for ws in list(server._sockets):
        ws._req.transport.abort()
    server._connected.clear()
    await server.wait_connected(20)
    await discord_photo_answered(server)


@pytest.mark.parametrize("resumable", [False, True])
async def test_invalid_session_reconnects(discord_bot, resumable: bool) -> None:
    server = discord_bot
    await server.invalidate(resumable=resumable)
    await server.wait_connected(20)
    if not resumable:
        assert server.identifies == 2, "a non-resumable invalid session needs a new IDENTIFY"
    await discord_photo_answered(server)


async def test_message_sent_while_disconnected_is_answered_after_resume(discord_bot) -> None:
    """Events dispatched while the client is away are replayed on RESUME and answered."""
    server = discord_bot
    await server.drop(4000)
    attachment = server.attachment(PHOTO, "photo.jpg", "image/jpeg")
    message = server.message(DISCORD_USER, attachments=[attachment], dm=True)
    server._seq += 1
    server._events.append({"op": 0, "t": "MESSAGE_CREATE", "s": server._seq, "d": message})
    await server.wait_connected(15)
    replies = await server.wait_sent(1, kinds=("message",), timeout=15)
    assert str(replies[0].payload["message_reference"]["message_id"]) == message["id"]


@pytest.mark.parametrize(
    "fault",
    [
        discord_api.Fault("status", 429, retry_after=0.5),
        discord_api.Fault("status", 502),
        discord_api.Fault("reset"),
    ],
    ids=lambda f: f"{f.kind}{f.status if f.kind == 'status' else ''}x{f.times}",
)
async def test_rest_faults_on_reply_are_retried(discord_bot, fault) -> None:
    server = discord_bot
    server.inject("POST /channels", replace(fault))
    await discord_photo_answered(server)
    assert not server.faults, "the injected fault was never hit"


@pytest.mark.parametrize("kind", ["reset", "stall"])
async def test_attachment_download_failing_gets_an_apology(discord_bot, kind) -> None:
    server = discord_bot
    server.cdn_faults = [kind] * 5
    before = len([s for s in server.sent if s.kind == "message"])
    attachment = server.attachment(PHOTO, "photo.jpg", "image/jpeg")
    await server.message_create(server.message(DISCORD_USER, attachments=[attachment], dm=True))
    [reply] = await server.wait_sent(before + 1, kinds=("message",), timeout=10)
    assert reply.content == texts.DOWNLOAD_FAILED or reply.embeds, reply.payload
    server.cdn_faults = []
    await discord_photo_answered(server)


# --- stopping: SIGTERM while photos are being read -------------------------------------------


async def test_sigterm_during_readings_loses_nothing(mnist_sample) -> None:
    """A deploy restarts the bot: every photo it has taken from Telegram is answered before it
    exits; the ones it has not taken stay queued at Telegram for the next start."""
    x, y = mnist_sample
    photo = make("easy", 1, x, y, size=(1280, 960))[0]
    server = await TelegramStandIn().start()
    env = server.bot_env(WORKERS="1", RATE_LIMIT="100")
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=ROOT, env=env, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while "getUpdates" not in server.calls:
            assert bot.returncode is None and time.monotonic() < deadline, "the bot did not start"
            await asyncio.sleep(0.05)
        sent = [
            server.push(server.photo_message(photo, server.chat(USER + i), USER + i))
            for i in range(8)
        ]
        sent = [message["message_id"] for message in sent]
        while "file" not in server.calls:  # readings under way
            await asyncio.sleep(0.02)
        bot.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        code = await asyncio.wait_for(bot.wait(), 60)
    finally:
        if bot.returncode is None:
            bot.kill()
        await server.stop()
    assert code == 0
    answered = {r.reply_to for r in server.replies()}
    queued = {u["message"]["message_id"] for u in server.updates}
    lost = [m for m in sent if m not in answered and m not in queued]
    assert not lost, f"{len(lost)} of {len(sent)} photos neither answered nor left queued"
    assert any(r.at > stopping for r in server.replies()), "nothing was in flight at SIGTERM"


# --- start-up: the model file missing or corrupt ---------------------------------------------


def _project_copy(tmp_path: Path) -> Path:
    """core/, bot/ and models/ copied, so the copy's model can be broken without touching ours."""
    copy = tmp_path / "project"
    for part in ("core", "bot", "models"):
        shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _run_bot(project: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    env.update(
        PYTHONPATH=str(project),
        PYTHONDONTWRITEBYTECODE="1",
        TELEGRAM_TOKEN=TOKEN,
        TELEGRAM_BASE_URL="http://127.0.0.1:9/bot",  # never reached: the model fails first
        TELEGRAM_BASE_FILE_URL="http://127.0.0.1:9/file/bot",
    )
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "damage", ["missing", "empty", "garbage", "truncated", "card_garbage", "card_temperature"]
)
def test_broken_model_stops_startup_naming_the_file(tmp_path: Path, damage: str) -> None:
    project = _project_copy(tmp_path)
    model = project / "models" / "digits.tflite"
    card = project / "models" / "model_card.json"
    assert model.exists(), "the shipped model is missing from models/"
    broken = model
    if damage == "missing":
        model.unlink()
    elif damage == "empty":
        model.write_bytes(b"")
    elif damage == "garbage":
        model.write_bytes(b"not a model " * 1000)
    elif damage == "truncated":
        model.write_bytes(model.read_bytes()[:4096])
    elif damage == "card_garbage":  # the card holds the calibration the model is used with
        broken = card
        card.write_text("{ not json")
    else:
        broken = card
        card.write_text(json.dumps({**json.loads(card.read_text()), "temperature": -1}))
    run = _run_bot(project)
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert str(broken) in output, output  # the copy's own path: the message names the file
    assert "Traceback" not in output, output
    assert "ready" not in output, output
