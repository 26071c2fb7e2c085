"""Security: tokens never reach logs or replies; photos are never written to disk; every
dependency is pinned.

The token and disk checks run the real code (`python -m bot`, at DEBUG) in a child process.
Writes are caught two ways: an audit hook (`sys.addaudithook`) reports every file Python opens
for writing once the bot is serving, and the child gets fresh, empty TMPDIR, HOME and working
directories that must hold no new file afterwards (this also catches files written by C code
such as OpenCV or libjpeg, which Python cannot audit).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from urllib.parse import quote

from make_bad_files import BAD
from packaging.requirements import Requirement
from standins.discord_api import TOKEN as DC_TOKEN
from standins.discord_api import DiscordStandIn
from standins.telegram_api import TOKEN as TG_TOKEN
from standins.telegram_api import Fault, TelegramStandIn

ROOT = Path(__file__).resolve().parent.parent
USER = 501
DC_USER = 600000000000000009

# Run first in the child: report every file opened for writing (and other ways of creating
# files) on stderr as "AUDIT ...", once armed. `arm()` is called when the bot is serving.
AUDIT_HOOK = r"""
import os, sys
_armed = []
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_CREATE = {"os.rename", "os.replace", "os.link", "os.symlink", "os.mkdir", "shutil.copyfile",
           "shutil.move", "tempfile.mkstemp", "tempfile.mkdtemp", "os.truncate", "os.mkfifo"}

def _hook(event, args):
    if not _armed:
        return
    if event == "open":
        path, mode, flags = args
        if isinstance(flags, int) and flags & _WRITE and not str(path).startswith("/dev/"):
            print(f"AUDIT open-for-write {path!r} mode={mode!r}", file=sys.stderr, flush=True)
    elif event in _CREATE:
        print(f"AUDIT {event} {args!r}", file=sys.stderr, flush=True)

def arm():
    # what the sandbox dirs hold now (caches written at start-up), to compare with at the end
    import json
    dirs = [os.environ["TMPDIR"], os.environ["HOME"], os.getcwd()]
    files = sorted(os.path.join(r, f) for d in dirs for r, _, fs in os.walk(d) for f in fs)
    print("ARMED " + json.dumps(files), file=sys.stderr, flush=True)
    _armed.append(True)

sys.addaudithook(_hook)
"""


def sandbox_env(tmp_path: Path, **extra: str) -> tuple[dict[str, str], list[Path]]:
    """Environment for a child with its own empty TMPDIR, HOME and working directory."""
    dirs = [tmp_path / "tmp", tmp_path / "home", tmp_path / "cwd"]
    for d in dirs:
        d.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    env.update(
        TMPDIR=str(dirs[0]),
        HOME=str(dirs[1]),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env, dirs


def telegram_sandbox(
    tmp_path: Path, server: TelegramStandIn, **extra: str
) -> tuple[dict[str, str], list[Path]]:
    """sandbox_env for `python -m bot` on Telegram through `server`, logging at DEBUG."""
    return sandbox_env(
        tmp_path,
        TELEGRAM_TOKEN=TG_TOKEN,
        TELEGRAM_BASE_URL=server.base_url,
        TELEGRAM_BASE_FILE_URL=server.base_file_url,
        LOG_LEVEL="DEBUG",
        **extra,
    )


def new_files(dirs: list[Path], stderr: str) -> list[str]:
    """Files in the sandbox dirs now that were not there when the child armed its audit hook."""
    armed = [line for line in stderr.splitlines() if line.startswith("ARMED ")]
    assert armed, "the child never armed its audit hook"
    before = set(json.loads(armed[0][len("ARMED ") :]))
    return sorted({str(p) for d in dirs for p in d.rglob("*") if p.is_file()} - before)


def audit_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("AUDIT")]


def test_reading_photos_writes_nothing_to_disk(tmp_path: Path) -> None:
    """The bot's reading pipeline over good and bad photos: no file is opened for writing."""
    names = ["plain.jpg", "plain.png", "cmyk.jpg", "alpha.png", "animated.gif", "truncated.jpg"]
    code = (
        AUDIT_HOOK
        + f"""
from pathlib import Path
from bot.service import read_photo, warm_up
from core.errors import DigitbotError
warm_up()
photos = [Path({str(BAD)!r}, n).read_bytes() for n in {names!r}]
arm()
for data in photos:
    try:
        result, png = read_photo(data)
        print("read", repr(result.text), len(png or b""))
    except DigitbotError as e:
        print("refused", e)
"""
    )
    env, dirs = sandbox_env(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=dirs[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count("\n") == len(names), out.stdout
    assert "read '" in out.stdout, "no photo was read: the check would be vacuous"
    assert not audit_lines(out.stderr), "written while reading photos:\n" + "\n".join(
        audit_lines(out.stderr)
    )
    assert not new_files(dirs, out.stderr)


# --- the whole bot, as `python -m bot`, at DEBUG level, with known tokens ---------------------

# Run in the child after AUDIT_HOOK: arm the hook when the bot logs that it is ready, then run
# `python -m bot` exactly as the Procfile does.
RUN_BOT = r"""
import logging, runpy

class _ArmWhenReady(logging.Filter):
    def filter(self, record):
        if not _armed and record.getMessage().startswith("digitbot ready"):
            arm()
        return True

logging.getLogger("bot").addFilter(_ArmWhenReady())
sys.argv = ["bot"]
runpy.run_module("bot", run_name="__main__", alter_sys=True)
"""


class BotProcess:
    """`python -m bot` in a sandbox, its output (stdout and stderr) collected as it runs."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.env, self.cwd = env, cwd
        self.lines: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None

    async def start(self, wait_for: str | None = "digitbot ready", timeout: float = 30) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            AUDIT_HOOK + RUN_BOT,
            cwd=self.cwd,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read())
        if wait_for:
            await self.wait_for(wait_for, timeout)

    async def _read(self) -> None:
        async for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    async def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} from the bot:\n" + self.output[-4000:])
            await asyncio.sleep(0.05)

    async def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), 20)
        await asyncio.wait_for(self._reader, 5)
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


def assert_no_secret(text: str, secret: str, where: str) -> None:
    """Neither `secret` nor (for a Telegram token) its part after the colon, plain or URL-encoded,
    appears in `text`."""
    part = secret.rsplit(":", 1)[-1]
    for form in {secret, part, quote(secret, safe=""), quote(part, safe="")}:
        assert form not in text, f"a secret ({form[:6]}...) appears in {where}"


def assert_clean_run(
    bot: BotProcess, dirs: list[Path], token: str, sent: list[tuple[str, dict, dict]]
) -> None:
    """No token in the log or in anything sent (where, payload, files); nothing written to disk
    while the bot was serving."""
    assert_no_secret(bot.output, token, "the bot's log")
    for where, payload, files in sent:
        assert_no_secret(json.dumps(payload), token, where)
        for data in files.values():
            assert token.encode() not in data, f"the token is in a file in {where}"
    written = audit_lines(bot.output[bot.output.index("ARMED ") :])
    assert not written, "written while serving:\n" + "\n".join(written)
    assert not new_files(dirs, bot.output)


async def test_telegram_token_never_logged_nor_sent_photos_never_written(tmp_path: Path) -> None:
    server = await TelegramStandIn().start()
    env, dirs = telegram_sandbox(tmp_path, server, DOWNLOAD_TIMEOUT="2")
    bot = BotProcess(env, dirs[2])
    try:
        await bot.start()
        chat = server.chat(USER)
        photo = (BAD / "plain.jpg").read_bytes()
        asked = [
            server.push(server.text_message("/start", chat, USER)),
            server.push(server.text_message("/help", chat, USER)),
            server.push(server.text_message("/about", chat, USER)),
            server.push(server.photo_message(photo, chat, USER)),
            server.push(
                server.photo_message((BAD / "bomb_30000x30000.png").read_bytes(), chat, USER)
            ),
            server.push(
                server.document_message(
                    (BAD / "truncated.jpg").read_bytes(),
                    chat,
                    USER,
                    file_name="t.jpg",
                    mime_type="image/jpeg",
                )
            ),
        ]
        await server.wait_sent(len(asked), timeout=30)
        # Errors: a download that fails for good, flood control and a polling hiccup.
        server.inject("file", Fault("status", 500, times=10))
        server.inject("sendMessage", Fault("status", 429, retry_after=1))
        server.inject("getUpdates", Fault("status", 502))
        asked.append(server.push(server.photo_message(photo, chat, USER)))
        await server.wait_sent(len(asked), timeout=30)
    finally:
        code = await bot.stop()
        await server.stop()

    assert code == 0, bot.output[-3000:]
    answered = {s.reply_to for s in server.replies()}
    assert {m["message_id"] for m in asked} <= answered
    assert any(s.method == "sendPhoto" for s in server.sent), "no reading: the run proved little"
    assert "DEBUG" in bot.output and "[token]" in bot.output, "no debug line had a token to hide"
    sent = [(f"a {s.method} the bot sent", s.params, s.files) for s in server.sent]
    assert_clean_run(bot, dirs, TG_TOKEN, sent)


async def test_rejected_telegram_token_is_not_echoed(tmp_path: Path) -> None:
    """python-telegram-bot puts the token in its InvalidToken message; it must not reach the log."""
    server = await TelegramStandIn(token="999:another-token-the-server-knows").start()
    env, dirs = telegram_sandbox(tmp_path, server)
    bot = BotProcess(env, dirs[2])
    try:
        await bot.start(wait_for=None)
        code = await asyncio.wait_for(bot.proc.wait(), 30)
        await asyncio.wait_for(bot._reader, 5)
    finally:
        await bot.stop()
        await server.stop()
    assert code != 0, bot.output[-3000:]
    assert "getMe" in server.calls
    assert "token" in bot.output.lower(), "the error should say the token was rejected"
    assert_no_secret(bot.output, TG_TOKEN, "the bot's log")


async def test_webhook_secret_never_logged(tmp_path: Path) -> None:
    """In webhook mode the secret that authenticates Telegram's calls is a secret like the token
    (python-telegram-bot logs setWebhook's parameters, secret included, at DEBUG)."""
    secret = "webhook-secret-7f3a9c21"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = await TelegramStandIn().start()
    env, dirs = telegram_sandbox(
        tmp_path,
        server,
        TELEGRAM_WEBHOOK_URL="https://bot.example.invalid/telegram",
        TELEGRAM_WEBHOOK_SECRET=secret,
        TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
        TELEGRAM_WEBHOOK_PORT=str(port),
    )
    bot = BotProcess(env, dirs[2])
    try:
        await bot.start()
    finally:
        code = await bot.stop()
        await server.stop()
    assert code == 0, bot.output[-3000:]
    assert "setWebhook" in server.calls and "setWebhook" in bot.output
    assert_no_secret(bot.output, secret, "the bot's log")
    assert_no_secret(bot.output, TG_TOKEN, "the bot's log")


async def test_discord_token_never_logged_nor_sent(tmp_path: Path) -> None:
    server = await DiscordStandIn().start()
    env, dirs = sandbox_env(
        tmp_path,
        DISCORD_TOKEN=DC_TOKEN,
        DISCORD_API_BASE_URL=server.api_url,
        DISCORD_GATEWAY_URL=server.gateway_url,
        LOG_LEVEL="DEBUG",
    )
    bot = BotProcess(env, dirs[2])
    try:
        await bot.start()
        await server.wait_connected()
        photo = (BAD / "plain.jpg").read_bytes()
        attachment = server.attachment(photo, "photo.jpg", "image/jpeg")
        await server.message_create(server.message(DC_USER, attachments=[attachment], dm=True))
        await server.slash_command(DC_USER, "help")
        bad = server.attachment((BAD / "truncated.jpg").read_bytes(), "t.jpg", "image/jpeg")
        await server.message_create(server.message(DC_USER, attachments=[bad], dm=True))
        await server.wait_sent(2, kinds=("message",), timeout=30)
        await server.drop(4000)  # a RESUME carries the token too
        await server.wait_connected(15)
        await server.invalidate(resumable=False)  # and so does a new IDENTIFY
        await server.wait_connected(15)
        await server.message_create(server.message(DC_USER, attachments=[attachment], dm=True))
        await server.wait_sent(3, kinds=("message",), timeout=30)
    finally:
        code = await bot.stop()
        await server.stop()

    assert code == 0, bot.output[-3000:]
    assert "DEBUG" in bot.output
    sent = [(f"a {s.kind} the bot sent", s.payload, s.files) for s in server.sent]
    assert_clean_run(bot, dirs, DC_TOKEN, sent)


def test_the_audit_hook_sees_writes(tmp_path: Path) -> None:
    """The watcher itself: a write after arming is reported, so a silent run means something."""
    code = AUDIT_HOOK + "arm()\nopen('photo.jpg', 'wb').write(b'x')\nimport os\nos.mkdir('d')\n"
    env, dirs = sandbox_env(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=dirs[2], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert len(audit_lines(out.stderr)) == 2, out.stderr
    assert new_files(dirs, out.stderr) == [str(dirs[2] / "photo.jpg")]


# --- the dependencies are pinned ------------------------------------------------------------


# pip's own tools, which lock files leave to the installer (pip-compile calls them "unsafe").
INSTALLERS = ("pip", "setuptools", "wheel")


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def test_every_installed_dependency_is_pinned() -> None:
    """Everything digitbot[test] pulls in, transitively, has an exact pin in constraints.txt that
    matches what is installed, and the install commands use that file."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line!r}"
            pins[_name(name)] = version.strip()

    seen, todo, unpinned, differ = set(), [("digitbot", ("test", "train"))], [], []
    while todo:
        name, extras = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional dependency for another platform
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in ("", *extras)):
                continue
            key = _name(req.name)
            if key in seen or key in ("digitbot", *INSTALLERS):
                continue
            seen.add(key)
            todo.append((req.name, tuple(req.extras)))
            try:
                installed = metadata.version(req.name)
            except metadata.PackageNotFoundError:
                continue
            if key not in pins:
                unpinned.append(key)
            elif pins[key] != installed:
                differ.append(f"{key} {pins[key]} pinned, {installed} installed")
    assert len(seen) > 20, "the dependency walk found too little to mean anything"
    assert not unpinned, f"installed but not pinned in constraints.txt: {sorted(unpinned)}"
    assert not differ, "\n".join(differ)
    for path in (ROOT / ".ci" / "run", ROOT / "README.md"):
        assert "-c constraints.txt" in path.read_text(), f"{path.name} installs without the pins"
