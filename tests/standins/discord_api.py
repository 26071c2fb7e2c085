"""A stand-in Discord: the REST API, the CDN and the gateway, enough for discord.py 2.7.

Point discord.py at it with `discord.http.Route.BASE = server.api_url` and
`discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(server.gateway_url)` (what the bot's
DISCORD_API_BASE_URL / DISCORD_GATEWAY_URL settings do). The gateway speaks JSON, with the
zlib-stream transport compression discord.py asks for: one compressor per connection, each
payload flushed with Z_SYNC_FLUSH.

Tests dispatch gateway events (`message_create`, `slash_command`, `context_menu`) and read what
the bot sent in `server.sent`. Sharding as Discord does it: GET /gateway/bot recommends `shards`
shards, each IDENTIFY names its shard, and a guild's events go to shard (guild_id >> 22) % shards
only (DMs to shard 0); `guilds` lists the guilds the bot is in.

Faults for resilience tests: `drop()` closes the gateway connection (the client should resume),
`invalidate()` sends an invalid session, and `inject(prefix, Fault)` makes the next matching REST
call fail (429 with retry_after, 5xx, reset).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import WSMsgType, web

TOKEN = "discord-stand-in-token.Abc.xyz"
APP_ID = 700000000000000001
GUILD_ID = 700000000000000002
CHANNEL_ID = 700000000000000003
BOT_USER = {
    "id": str(APP_ID),
    "username": "digitbot",
    "discriminator": "0",
    "global_name": "Digit Bot",
    "avatar": None,
    "bot": True,
}
HEARTBEAT_MS = 41250


@dataclass
class Fault:
    kind: str  # "status" or "reset"
    status: int = 500
    retry_after: float | None = None
    times: int = 1


@dataclass
class Sent:
    """One REST call the bot made: kind (message, callback, followup, edit, ...), its JSON
    payload, and uploaded files by name."""

    kind: str
    path: str
    payload: dict
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)
    message_id: str | None = None  # of the message it created

    @property
    def embeds(self) -> list[dict]:
        data = self.payload.get("data", self.payload)
        return data.get("embeds") or []

    @property
    def content(self) -> str:
        data = self.payload.get("data", self.payload)
        return data.get("content") or ""

    @property
    def flags(self) -> int:
        data = self.payload.get("data", self.payload)
        return int(data.get("flags") or 0)


def user(user_id: int, name: str = "someone") -> dict:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
    }


def _now() -> str:
    return datetime.now(UTC).isoformat()


def channel_of(guild_id: int) -> int:
    """The one text channel of a guild: CHANNEL_ID in GUILD_ID, the next id in the others."""
    return CHANNEL_ID if guild_id == GUILD_ID else guild_id + 1


class DiscordStandIn:
    def __init__(self, token: str = TOKEN, shards: int = 1, guilds: tuple[int, ...] = (GUILD_ID,)):
        self.token = token
        self.shards, self.guilds = shards, guilds
        self.identified: list[tuple[int, int]] = []  # (shard id, shard count) of each IDENTIFY
        self.sent: list[Sent] = []
        self.calls: list[str] = []
        self.files: dict[str, bytes] = {}
        self.commands: list[dict] = []
        self.identifies = 0
        self.compression: list[str | None] = []  # what each gateway connection asked for
        self.resumes = 0
        self.faults: list[tuple[str, Fault]] = []
        self._ids = itertools.count(800000000000000000)
        self._sockets: list[web.WebSocketResponse] = []
        self._compressors: dict[int, zlib._Compress] = {}
        self._seq = 0
        self._sessions: dict[str, int] = {}  # session id -> its shard
        self._shard_of: dict[int, int] = {}  # id(socket) -> the shard it identified or resumed
        self._events: list[dict] = []  # dispatched payloads, for RESUME
        self._connected = asyncio.Event()
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # Lifecycle

    async def start(self) -> DiscordStandIn:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{id}/{name}", self._cdn)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.url.split('://', 1)[1]}/gateway"

    def new_id(self) -> int:
        return next(self._ids)

    # What tests send to the bot

    def attachment(self, data: bytes, filename: str = "photo.jpg", content_type=None) -> dict:
        attachment_id = str(self.new_id())
        self.files[attachment_id] = data
        url = f"{self.url}/attachments/{attachment_id}/{filename}"
        found = {
            "id": attachment_id,
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
        }
        if content_type:
            found["content_type"] = content_type
        return found

    def message(
        self,
        author_id: int,
        *,
        content: str = "",
        attachments: list[dict] = (),
        dm: bool = False,
        mention_bot: bool = False,
        channel_id: int | None = None,
        author: dict | None = None,
        referenced: dict | None = None,
        guild_id: int = GUILD_ID,
    ) -> dict:
        author = author or user(author_id)
        if mention_bot and f"<@{APP_ID}>" not in content:
            content = f"<@{APP_ID}> {content}".strip()
        message = {
            "id": str(self.new_id()),
            "channel_id": str(channel_id or (self.new_id() if dm else channel_of(guild_id))),
            "author": author,
            "content": content,
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [BOT_USER] if mention_bot else [],
            "mention_roles": [],
            "attachments": list(attachments),
            "embeds": [],
            "pinned": False,
            "type": 19 if referenced else 0,
            "flags": 0,
            "components": [],
        }
        if referenced is not None:
            message["message_reference"] = {
                "message_id": referenced["id"],
                "channel_id": referenced["channel_id"],
                "type": 0,
            }
            message["referenced_message"] = referenced
        if not dm:
            message["guild_id"] = str(guild_id)
            message["member"] = _member(None)
        return message

    async def message_create(self, message: dict) -> dict:
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    def _interaction(self, user_id: int, data: dict, *, dm: bool) -> dict:
        interaction_id = self.new_id()
        interaction = {
            "id": str(interaction_id),
            "application_id": str(APP_ID),
            "type": 2,
            "data": data,
            "channel_id": str(CHANNEL_ID),
            "token": f"interaction-token-{interaction_id}",
            "version": 1,
            "app_permissions": "2248473465835073",
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if dm:
            interaction["user"] = user(user_id)
            interaction["channel"] = {"id": str(CHANNEL_ID), "type": 1}
            interaction["context"] = 1
        else:
            interaction["guild_id"] = str(GUILD_ID)
            interaction["guild_locale"] = "en-US"
            interaction["member"] = _member(user(user_id))
            interaction["channel"] = {
                "id": str(CHANNEL_ID),
                "type": 0,
                "guild_id": str(GUILD_ID),
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
            }
            interaction["context"] = 0
        return interaction

    def _command(self, name: str, kind: int) -> dict:
        for command in self.commands:
            if command["name"] == name and command.get("type", 1) == kind:
                return command
        raise LookupError(f"the bot did not register the command {name!r} (type {kind})")

    async def slash_command(
        self, user_id: int, name: str, attachment: dict | None = None, dm: bool = False
    ) -> dict:
        command = self._command(name, 1)
        data = {"id": command["id"], "name": name, "type": 1}
        if attachment is not None:
            data["options"] = [{"name": "image", "type": 11, "value": attachment["id"]}]
            data["resolved"] = {"attachments": {attachment["id"]: attachment}}
        interaction = self._interaction(user_id, data, dm=dm)
        await self.dispatch("INTERACTION_CREATE", interaction)
        return interaction

    async def context_menu(self, user_id: int, name: str, target: dict) -> dict:
        command = self._command(name, 3)
        data = {
            "id": command["id"],
            "name": name,
            "type": 3,
            "target_id": target["id"],
            "resolved": {"messages": {target["id"]: target}},
        }
        interaction = self._interaction(user_id, data, dm=False)
        await self.dispatch("INTERACTION_CREATE", interaction)
        return interaction

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def wait_shards(self, shard_ids, timeout: float = 30.0) -> None:
        """Wait until each of `shard_ids` has a connection that identified or resumed."""
        deadline = time.monotonic() + timeout
        while not set(shard_ids) <= set(self._shard_of.values()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"shards up: {sorted(set(self._shard_of.values()))}")
            await asyncio.sleep(0.05)

    def shard_for(self, data: dict) -> int:
        """The shard an event goes to: its guild's, or shard 0 (DMs)."""
        guild_id = data.get("guild_id") if isinstance(data, dict) else None
        return (int(guild_id) >> 22) % self.shards if guild_id else 0

    async def wait_sent(self, count: int, kinds=("message", "followup"), timeout: float = 10.0):
        """Wait until at least `count` calls of the given kinds were recorded."""
        deadline = time.monotonic() + timeout
        while True:
            found = [s for s in self.sent if s.kind in kinds]
            if len(found) >= count:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(found)} {kinds} after {timeout} s, wanted {count}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.2))
            except TimeoutError:
                pass

    # Faults

    def inject(self, prefix: str, fault: Fault) -> None:
        """Make the next REST call whose "METHOD /path" starts with prefix misbehave."""
        self.faults.append((prefix, fault))

    async def drop(self, code: int = 4000) -> None:
        """Close the gateway connection (resumable codes: the client should RESUME)."""
        self._connected.clear()
        for ws in list(self._sockets):
            await ws.close(code=code)

    async def invalidate(self, resumable: bool = False) -> None:
        self._connected.clear()
        await self._send_all({"op": 9, "d": resumable})

    # Gateway

    async def dispatch(self, event: str, data: dict) -> None:
        """Send an event to the connection of the shard it belongs to."""
        self._seq += 1
        payload = {"op": 0, "t": event, "s": self._seq, "d": data}
        self._events.append(payload)
        shard = self.shard_for(data)
        sockets = [ws for ws in self._sockets if self._shard_of.get(id(ws)) == shard]
        if not sockets:
            raise RuntimeError(f"no gateway connection for shard {shard}")
        for ws in sockets:
            await self._send(ws, payload)

    async def _send_all(self, payload: dict) -> None:
        if not self._sockets:
            raise RuntimeError("no gateway connection")
        for ws in list(self._sockets):
            await self._send(ws, payload)

    async def _send(self, ws: web.WebSocketResponse, payload: dict) -> None:
        data = json.dumps(payload).encode()
        compressor = self._compressors.get(id(ws))
        if compressor is None:
            await ws.send_str(data.decode())
        else:
            await ws.send_bytes(compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        compress = request.query.get("compress")
        self.compression.append(compress)
        if compress == "zlib-stream":
            self._compressors[id(ws)] = zlib.compressobj()
        elif compress:
            await ws.close(code=4000, message=f"unsupported compression {compress}".encode())
            return ws
        self._sockets.append(ws)
        try:
            await self._send(ws, {"op": 10, "d": {"heartbeat_interval": HEARTBEAT_MS}})
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                await self._on_gateway_message(ws, json.loads(msg.data))
        finally:
            self._sockets.remove(ws)
            self._compressors.pop(id(ws), None)
            self._shard_of.pop(id(ws), None)
        return ws

    async def _on_gateway_message(self, ws: web.WebSocketResponse, message: dict) -> None:
        op, data = message.get("op"), message.get("d")
        if op == 1:  # heartbeat
            await self._send(ws, {"op": 11})
        elif op == 2:  # identify
            if data.get("token") != self.token:
                await ws.close(code=4004, message=b"Authentication failed.")
                return
            shard, count = data.get("shard") or (0, 1)
            if count != self.shards or not 0 <= shard < count:
                await ws.close(code=4010, message=b"Invalid shard.")
                return
            self.identifies += 1
            self.identified.append((shard, count))
            session = f"stand-in-session-{self.identifies}"
            self._sessions = {s: n for s, n in self._sessions.items() if n != shard}
            self._sessions[session] = shard
            self._shard_of[id(ws)] = shard
            self._events = [p for p in self._events if self.shard_for(p["d"]) != shard]
            guilds = [g for g in self.guilds if self.shard_for({"guild_id": g}) == shard]
            ready = {
                "v": 10,
                "user": BOT_USER,
                "guilds": [{"id": str(g), "unavailable": True} for g in guilds],
                "session_id": session,
                "resume_gateway_url": self.gateway_url,
                "application": {"id": str(APP_ID), "flags": 0},
                "private_channels": [],
                "relationships": [],
                "shard": [shard, count],
            }
            self._seq += 1
            await self._send(ws, {"op": 0, "t": "READY", "s": self._seq, "d": ready})
            for guild in guilds:
                self._seq += 1
                event = {"op": 0, "t": "GUILD_CREATE", "s": self._seq, "d": _guild(guild)}
                await self._send(ws, event)
            self._connected.set()
        elif op == 6:  # resume
            shard = self._sessions.get(data.get("session_id"))
            if data.get("token") != self.token or shard is None:
                await self._send(ws, {"op": 9, "d": False})
                return
            self.resumes += 1
            self._shard_of[id(ws)] = shard
            for payload in self._events:
                if payload["s"] > (data.get("seq") or 0) and self.shard_for(payload["d"]) == shard:
                    await self._send(ws, payload)
            self._seq += 1
            await self._send(ws, {"op": 0, "t": "RESUMED", "s": self._seq, "d": {}})
            self._connected.set()

    # REST

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        key = f"{request.method} {path}"
        self.calls.append(key)
        if not path.startswith("/interactions/") and not path.startswith("/webhooks/"):
            if request.headers.get("Authorization") != f"Bot {self.token}":
                return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        for i, (prefix, fault) in enumerate(self.faults):
            if key.startswith(prefix):
                fault.times -= 1
                if fault.times <= 0:
                    del self.faults[i]
                if fault.kind == "reset":
                    request.transport.abort()
                    return web.Response(status=500)
                body = {"message": "stand-in fault", "code": 0}
                headers = {}
                if fault.retry_after is not None:
                    body.update(retry_after=fault.retry_after, **{"global": False})
                    headers = {
                        "Retry-After": str(fault.retry_after),
                        "X-RateLimit-Scope": "user",
                        "Via": "1.1 google",  # discord.py takes a 429 without it for a ban
                    }
                return _json(body, status=fault.status, headers=headers)
        payload, files = await _payload(request)
        parts = path.strip("/").split("/")
        if key == "GET /users/@me":
            return _json(BOT_USER)
        if key == "GET /oauth2/applications/@me":
            return _json(_application())
        if key in ("GET /gateway", "GET /gateway/bot"):
            limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
            body = {"url": self.gateway_url, "shards": self.shards, "session_start_limit": limit}
            return _json(body)
        if request.method == "PUT" and parts[:1] == ["applications"] and parts[-1] == "commands":
            self.commands = [
                {
                    "description": "",
                    **c,
                    "id": str(self.new_id()),
                    "application_id": str(APP_ID),
                    "version": "1",
                }
                for c in payload
            ]
            return _json(self.commands)
        if request.method == "POST" and parts[0] == "channels" and parts[-1] == "typing":
            return web.Response(status=204)  # a typing indicator: in `calls`, not in `sent`
        if request.method == "DELETE" and parts[0] == "channels" and parts[2:3] == ["messages"]:
            self._record("delete", path, payload, files)
            return web.Response(status=204)
        if request.method == "POST" and parts[0] == "channels" and parts[-1] == "messages":
            message = self._message_obj(int(parts[1]), payload, files)
            self._record("message", path, payload, files, message["id"])
            return _json(message)
        if parts[0] == "interactions" and parts[-1] == "callback":
            self._record("callback", path, payload, files)
            kind = payload.get("type")
            flags = int((payload.get("data") or {}).get("flags") or 0)
            body = {
                "interaction": {
                    "id": parts[1],
                    "type": 2,
                    "response_message_id": str(self.new_id()),
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": bool(flags & 64),
                },
                "resource": {"type": kind},
            }
            return _json(body)
        if parts[0] == "webhooks" and request.method == "POST":
            self._record("followup", path, payload, files)
            return _json(self._message_obj(CHANNEL_ID, payload, files))
        if parts[0] == "webhooks" and request.method == "PATCH":
            self._record("edit", path, payload, files)
            return _json(self._message_obj(CHANNEL_ID, payload, files))
        if parts[0] == "webhooks" and request.method == "GET":
            return _json(self._message_obj(CHANNEL_ID, {}, {}))
        return _json({"message": "404: Not Found", "code": 0}, status=404)

    def _record(
        self, kind: str, path: str, payload: dict, files: dict, message_id: str | None = None
    ) -> None:
        self.sent.append(Sent(kind, path, payload, files, message_id=message_id))
        self._changed.set()

    def _message_obj(self, channel_id: int, payload: dict, files: dict) -> dict:
        attachments = [
            {
                "id": str(self.new_id()),
                "filename": name,
                "size": len(data),
                "url": f"{self.url}/attachments/0/{name}",
                "proxy_url": f"{self.url}/attachments/0/{name}",
            }
            for name, data in files.items()
        ]
        message = self.message(APP_ID, author=BOT_USER, channel_id=channel_id)
        message.update(
            content=payload.get("content") or "",
            embeds=payload.get("embeds") or [],
            attachments=attachments,
        )
        return message

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        self.calls.append("GET cdn")
        data = self.files.get(request.match_info["id"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")


async def _payload(request: web.Request) -> tuple:
    """(JSON payload, {filename: bytes}) of a JSON or multipart request."""
    files: dict[str, bytes] = {}
    if not request.can_read_body:
        return {}, files
    if request.content_type == "application/json":
        return await request.json(), files
    payload: dict = {}
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[value.filename] = value.file.read()
        elif key == "payload_json":
            payload = json.loads(value)
    return payload, files


def _json(body, status: int = 200, headers: dict | None = None) -> web.Response:
    """A JSON response whose Content-Type is exactly application/json, as discord.py expects."""
    headers = {**(headers or {}), "Content-Type": "application/json"}
    return web.Response(body=json.dumps(body).encode(), status=status, headers=headers)


def _member(member_user: dict | None) -> dict:
    member = {
        "roles": [],
        "joined_at": _now(),
        "deaf": False,
        "mute": False,
        "flags": 0,
        "permissions": "2248473465835073",
    }
    if member_user is not None:
        member["user"] = member_user
    return member


def _guild(guild_id: int = GUILD_ID) -> dict:
    return {
        "id": str(guild_id),
        "name": "Test server",
        "icon": None,
        "owner_id": "1",
        "member_count": 2,
        "large": False,
        "unavailable": False,
        "features": [],
        "emojis": [],
        "stickers": [],
        "roles": [
            {
                "id": str(guild_id),
                "name": "@everyone",
                "permissions": "2248473465835073",
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
            }
        ],
        "channels": [
            {
                "id": str(channel_of(guild_id)),
                "type": 0,
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
            }
        ],
        "threads": [],
        "members": [{**_member(BOT_USER)}],
        "voice_states": [],
        "presences": [],
        "joined_at": _now(),
    }


def _application() -> dict:
    return {
        "id": str(APP_ID),
        "name": "digitbot",
        "description": "",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": user(1, "owner"),
        "verify_key": "0" * 64,
        "flags": 0,
        "summary": "",
        "rpc_origins": [],
    }
