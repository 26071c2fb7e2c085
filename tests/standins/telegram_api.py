"""A stand-in Telegram Bot API server: just enough of the real API for python-telegram-bot.

Point the real Application at it with ApplicationBuilder().base_url(server.base_url) and
.base_file_url(server.base_file_url). Tests queue updates (send_photo, send_text, ...), the bot
long-polls them with getUpdates, and whatever the bot sends is recorded in `server.sent`
(messages it deletes in `server.deleted`). Once the bot sets a webhook, queued updates are
POSTed to it instead, one at a time and in order, each retried until it is taken (HTTP 200),
with the secret token header, as Telegram does.

Faults for resilience tests: `server.inject(method, Fault(...))` makes the next call(s) of a
method (or "file" for downloads) answer with an HTTP error (429 with retry_after, 5xx), reset
the connection, stall, or cut a download short.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

TOKEN = "123456:TEST-token-for-the-stand-in-server"
BOT = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Digit Bot",
    "username": "digit_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
# How long an empty getUpdates long poll is held at most, whatever timeout the client asks for,
# so that a stopping bot is never kept waiting.
MAX_POLL = 1.0


@dataclass
class Fault:
    """How a call misbehaves: kind is "status", "reset", "stall" or "cut"."""

    kind: str
    status: int = 500
    retry_after: int | None = None
    seconds: float = 0.0  # stall: delay before answering normally (or forever with inf)
    times: int = 1


@dataclass
class Sent:
    """One call the bot made: method, its parameters (JSON-decoded) and uploaded files."""

    method: str
    params: dict
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)
    message_id: int | None = None  # of the message it created

    @property
    def chat_id(self) -> int:
        return int(self.params["chat_id"])

    @property
    def reply_to(self) -> int | None:
        reply = self.params.get("reply_parameters") or {}
        return reply.get("message_id") or self.params.get("reply_to_message_id")

    @property
    def text(self) -> str:
        return self.params.get("text") or self.params.get("caption") or ""


class TelegramStandIn:
    def __init__(self, token: str = TOKEN):
        self.token = token
        self.updates: list[dict] = []
        self.sent: list[Sent] = []
        self.calls: list[str] = []
        self.last_params: dict[str, dict] = {}  # the latest parameters of each method called
        self.files: dict[str, bytes] = {}
        self.admins: set[tuple[int, int]] = set()
        self.faults: dict[str, list[Fault]] = {}
        self.deleted: list[tuple[int, int, float]] = []  # (chat id, message id, when)
        self.webhook: tuple[str, str] | None = None  # (url, secret token) once the bot sets it
        self.delivered: list[tuple[int, float]] = []  # (update id, when) posted to the webhook
        self.received: dict[int, float] = {}  # message id -> when the bot first got its update
        self.fetched: dict[str, float] = {}  # file id -> when the bot first asked for the file
        self._delivery: asyncio.Task | None = None
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._file_ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # Lifecycle

    async def start(self) -> TelegramStandIn:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._delivery is not None:
            self._delivery.cancel()
        if self._runner:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def bot_env(self, **settings: str) -> dict[str, str]:
        """The environment for `python -m bot` as a subprocess talking to this server: this
        process's environment without its tokens, plus `settings`."""
        env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
        env.update(
            TELEGRAM_TOKEN=self.token,
            TELEGRAM_BASE_URL=self.base_url,
            TELEGRAM_BASE_FILE_URL=self.base_file_url,
            PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        )
        env.update(settings)
        return env

    # What tests send to the bot

    def chat(self, chat_id: int, kind: str = "private", title: str = "Test group") -> dict:
        if kind == "private":
            return {"id": chat_id, "type": "private", "first_name": "User"}
        return {"id": chat_id, "type": kind, "title": title}

    def user(self, user_id: int) -> dict:
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}

    def add_file(self, data: bytes, suffix: str = "jpg") -> dict:
        """Store a file the bot can fetch; returns its getFile-style description."""
        n = next(self._file_ids)
        file_id = f"file-{n}"
        self.files[file_id] = data
        return {
            "file_id": file_id,
            "file_unique_id": f"u{n}",
            "file_size": len(data),
            "file_path": f"photos/file_{n}.{suffix}",
        }

    def message(
        self, chat: dict, user_id: int | None, *, reply_to: dict | None = None, **fields
    ) -> dict:
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat}
        if user_id is not None:
            message["from"] = BOT if user_id == BOT["id"] else self.user(user_id)
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update(fields)
        return message

    def photo_message(
        self,
        data: bytes,
        chat: dict,
        user_id: int,
        *,
        caption: str | None = None,
        file_size: int | None = None,
        **fields,
    ) -> dict:
        f = self.add_file(data)
        sizes = [
            {"file_id": f"{f['file_id']}-thumb", "file_unique_id": "t", "width": 90, "height": 60},
            {
                "file_id": f["file_id"],
                "file_unique_id": f["file_unique_id"],
                "width": 1280,
                "height": 853,
                "file_size": file_size or len(data),
            },
        ]
        if caption is not None:
            fields["caption"] = caption
            fields["caption_entities"] = _entities(caption)
        return self.message(chat, user_id, photo=sizes, **fields)

    def document_message(
        self, data: bytes, chat: dict, user_id: int, *, file_name: str, mime_type: str, **fields
    ) -> dict:
        f = self.add_file(data, suffix=file_name.rsplit(".", 1)[-1])
        document = {
            "file_id": f["file_id"],
            "file_unique_id": f["file_unique_id"],
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        return self.message(chat, user_id, document=document, **fields)

    def text_message(self, text: str, chat: dict, user_id: int, **fields) -> dict:
        return self.message(chat, user_id, text=text, entities=_entities(text), **fields)

    def push(self, message: dict) -> dict:
        """Queue an update carrying `message`; returns the message."""
        self.updates.append({"update_id": next(self._update_ids), "message": message})
        self._changed.set()
        return message

    def inject(self, method: str, fault: Fault) -> None:
        self.faults.setdefault(method, []).append(fault)

    async def wait_sent(self, count: int, timeout: float = 10.0, method: str | None = None):
        """Wait until at least `count` replies (sendMessage/Photo/Document) were recorded."""
        deadline = time.monotonic() + timeout
        while True:
            replies = self.replies(method)
            if len(replies) >= count:
                return replies
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(replies)} replies after {timeout} s, wanted {count}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.2))
            except TimeoutError:
                pass

    def replies(self, method: str | None = None) -> list[Sent]:
        wanted = {method} if method else {"sendMessage", "sendPhoto", "sendDocument"}
        return [s for s in self.sent if s.method in wanted]

    # The API

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        self.calls.append(method)
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        if (answer := await self._fault(method, request)) is not None:
            return answer
        params, files = await _params(request)
        self.last_params[method] = params
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            if method.startswith("set") or method.startswith("delete"):
                return _ok(True)
            return _error(404, "Not Found: method not found")
        return await handler(params, files)

    async def _m_getMe(self, params, files):
        return _ok(BOT)

    async def _m_getUpdates(self, params, files):
        offset = int(params.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            self._changed.clear()
            try:
                timeout = min(float(params.get("timeout") or 0), MAX_POLL)
                await asyncio.wait_for(self._changed.wait(), timeout)
            except TimeoutError:
                pass
        limit = int(params.get("limit") or 100)
        self._note_received(self.updates[:limit])
        return _ok(self.updates[:limit])

    def _note_received(self, updates: list[dict]) -> None:
        now = time.monotonic()
        for update in updates:
            self.received.setdefault(update["message"]["message_id"], now)

    async def _m_getFile(self, params, files):
        file_id = params["file_id"]
        if file_id not in self.files:
            return _error(400, "Bad Request: invalid file_id")
        data = self.files[file_id]
        self.fetched.setdefault(file_id, time.monotonic())
        n = file_id.split("-")[1]
        return _ok(
            {
                "file_id": file_id,
                "file_unique_id": f"u{n}",
                "file_size": len(data),
                "file_path": f"photos/{file_id}.jpg",
            }
        )

    async def _m_getChatMember(self, params, files):
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        user = BOT if user_id == BOT["id"] else self.user(user_id)
        if (chat_id, user_id) in self.admins:
            return _ok({"status": "creator", "user": user, "is_anonymous": False})
        return _ok({"status": "member", "user": user})

    async def _m_sendChatAction(self, params, files):
        return _ok(True)

    async def _m_deleteMessage(self, params, files):
        self.deleted.append((int(params["chat_id"]), int(params["message_id"]), time.monotonic()))
        self._changed.set()
        return _ok(True)

    async def _m_setWebhook(self, params, files):
        self.webhook = (params["url"], params.get("secret_token") or "")
        if self._delivery is None:
            self._delivery = asyncio.create_task(self._deliver())
        return _ok(True)

    async def _m_deleteWebhook(self, params, files):
        self.webhook = None
        return _ok(True)

    async def _deliver(self) -> None:
        """POST queued updates to the webhook, oldest first; a refused or failed one is tried
        again a little later."""
        async with aiohttp.ClientSession() as session:
            while True:
                if self.webhook is None or not self.updates:
                    self._changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.2)
                    continue
                update, (url, secret) = self.updates[0], self.webhook
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                try:
                    async with session.post(url, json=update, headers=headers) as response:
                        taken = response.status == 200
                except (aiohttp.ClientError, OSError):
                    taken = False
                if taken:
                    self.updates.remove(update)
                    self.delivered.append((update["update_id"], time.monotonic()))
                    self._note_received([update])
                else:
                    await asyncio.sleep(0.1)

    async def _m_sendMessage(self, params, files):
        return self._record("sendMessage", params, files, text=params.get("text", ""))

    async def _m_sendPhoto(self, params, files):
        if "photo" not in files:
            return _error(400, "Bad Request: there is no photo in the request")
        size = {"file_id": "sent", "file_unique_id": "s", "width": 1, "height": 1}
        return self._record("sendPhoto", params, files, photo=[size])

    async def _m_sendDocument(self, params, files):
        document = {"file_id": "sent-doc", "file_unique_id": "sd", "file_name": "digits.png"}
        return self._record("sendDocument", params, files, document=document)

    def _record(self, method: str, params: dict, files: dict, **content) -> web.Response:
        chat_id = int(params["chat_id"])
        chat = self.chat(chat_id, "private" if chat_id > 0 else "supergroup")
        if "caption" in params:
            content["caption"] = params["caption"]
        message = self.message(chat, BOT["id"], **content)
        self.sent.append(Sent(method, params, files, message_id=message["message_id"]))
        self._changed.set()
        return _ok(message)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        self.calls.append("file")
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        if (answer := await self._fault("file", request)) is not None:
            return answer
        name = request.match_info["path"].rsplit("/", 1)[-1].rsplit(".", 1)[0]
        data = self.files.get(name)
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    async def _fault(self, method: str, request: web.Request) -> web.StreamResponse | None:
        queue = self.faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        if fault.kind == "status":
            extra = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
            return _error(fault.status, f"stand-in fault {fault.status}", extra)
        if fault.kind == "reset":
            request.transport.abort()
            return web.Response(status=500)
        if fault.kind == "stall":
            await asyncio.sleep(fault.seconds)
            return None
        if fault.kind == "cut":
            name = request.match_info.get("path", "").rsplit("/", 1)[-1].rsplit(".", 1)[0]
            data = self.files.get(name, b"\0" * 1000)
            response = web.StreamResponse(headers={"Content-Length": str(len(data))})
            await response.prepare(request)
            await response.write(data[: len(data) // 2])
            request.transport.abort()
            return response
        raise ValueError(f"unknown fault kind {fault.kind!r}")


async def _params(request: web.Request) -> tuple[dict, dict[str, bytes]]:
    params: dict = dict(request.query)
    files: dict[str, bytes] = {}
    if request.content_type == "application/json":
        params.update(await request.json())
        return params, files
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = value.file.read()
        else:
            params[key] = _decode(value)
    return params, files


def _decode(value: str):
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, dict | list) else value


def _entities(text: str) -> list[dict]:
    """A leading /command and @mentions, as Telegram marks them (ASCII text only)."""
    entities = []
    for word in text.split():
        offset = text.index(word)
        if word.startswith("@"):
            entities.append({"type": "mention", "offset": offset, "length": len(word)})
        elif word.startswith("/") and offset == 0:
            entities.append({"type": "bot_command", "offset": 0, "length": len(word)})
    return entities


def _ok(result) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, parameters: dict | None = None) -> web.Response:
    body = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)
