"""The Telegram adapter (python-telegram-bot 22): long polling, or a webhook when configured.

Private chats: every photo or image file is read. Groups (privacy mode on): `/digits` as a reply
to a photo, a photo whose caption mentions the bot, a photo sent in reply to the bot, and every
photo when auto-reading is on for the chat (`/autoread on|off`, admins only; default from
GROUP_AUTOREAD). Those choices live in Redis when REDIS_URL is set (shared by every process
behind a webhook load balancer; see bot/shared.py); otherwise in chat_data, which survives
restarts when TELEGRAM_STATE_FILE names a file.

A photo that must wait more than a few seconds for a reader gets a "queued" note at once
(bot/notes.py), deleted when the answer is sent.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import PurePosixPath
from urllib.parse import urlparse

from redis.exceptions import RedisError
from telegram import BotCommand, Chat, Message, MessageEntity, Update
from telegram.constants import ChatAction, ChatMemberStatus
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    PersistenceInput,
    PicklePersistence,
    filters,
)

from bot import texts
from bot.about import about_text
from bot.notes import Notes
from bot.service import Reply, Service, courtesy
from bot.settings import Settings
from bot.shared import Chats, Shared

log = logging.getLogger(__name__)

# Opt in to python-telegram-bot's future behaviour (durations as timedelta, e.g. RetryAfter's
# retry_after) rather than its deprecation warnings.
os.environ.setdefault("PTB_TIMEDELTA", "true")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic"}
COMMANDS = [
    BotCommand("help", "how to photograph digits"),
    BotCommand("digits", "reply to a photo with this to read it"),
    BotCommand("about", "the model and what happens to your photos"),
    BotCommand("autoread", "groups: read every photo (on/off, admins only)"),
]
HELP = texts.HELP.format(group_help=texts.TELEGRAM_GROUP_HELP)
# Sending a reply: attempts, and the longest flood-control wait we sit out before giving up.
SEND_ATTEMPTS = 3
START_ATTEMPTS = 5  # connecting at start-up: 0.5 + 1 + 2 + 4 s of patience
MAX_RETRY_AFTER = 30.0
# Updates handled at once. Photos waiting for their turn hold one each, and the fair queue lets
# about MAX_WAIT x readings per second of them wait (60 s x 6.5/s, 400, on the bench machine);
# the library's default of 256 would leave /help waiting behind them.
MAX_CONCURRENT_UPDATES = 4096
# An album photo that did not ask for a reading looks again after this long whether another
# photo of its album did: album photos arrive as separate updates, at the same moment, possibly
# at different processes behind a load balancer.
ALBUM_GRACE_SECONDS = 1.0


def build_application(
    settings: Settings, service: Service, shared: Shared | None = None
) -> Application:
    """The python-telegram-bot Application with every handler, not yet started. Chat settings
    go to `shared`'s Redis when it has one, else to chat_data."""
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .concurrent_updates(MAX_CONCURRENT_UPDATES)
        # getUpdates gets a pool of one connection by default; a long poll torn down mid-flight
        # can leave it checked out, after which polling stalls (a known python-telegram-bot /
        # httpx trap) and stopping waits a second for it. A spare connection avoids both.
        .get_updates_connection_pool_size(2)
    )
    if settings.telegram_base_url:
        builder = builder.base_url(settings.telegram_base_url)
    if settings.telegram_base_file_url:
        builder = builder.base_file_url(settings.telegram_base_file_url)
    if settings.telegram_state_file:
        keep = PersistenceInput(bot_data=False, user_data=False, callback_data=False)
        builder = builder.persistence(PicklePersistence(settings.telegram_state_file, keep))
    app = builder.build()
    shared = shared or Shared(None, settings.redis_prefix)
    app.bot_data.update(
        service=service,
        settings=settings,
        chats=shared.chats("tg", app.chat_data),
        notes=Notes(lambda note: _retrying(note.delete)),
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", help_command))
    app.add_handler(CommandHandler("about", about))
    app.add_handler(CommandHandler("digits", digits))
    app.add_handler(CommandHandler("autoread", autoread))
    app.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & (filters.PHOTO | filters.Document.ALL), photo)
    )
    app.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE, other_private)
    )
    app.add_error_handler(on_error)
    return app


async def start_application(app: Application, settings: Settings) -> str:
    """Connect, register the command menu and start receiving updates; returns a ready note.
    Network trouble and flood control at this point are retried a few times (a rejected token
    is not)."""
    await _retrying(app.initialize, attempts=START_ATTEMPTS)
    try:
        await app.bot.set_my_commands(COMMANDS)
    except TelegramError as exc:
        log.warning("telegram: could not set the command menu: %s", exc)
    if settings.telegram_webhook_url:
        path = urlparse(settings.telegram_webhook_url).path.strip("/") or "telegram"
        await app.updater.start_webhook(
            listen=settings.telegram_webhook_listen,
            port=settings.telegram_webhook_port,
            url_path=path,
            webhook_url=settings.telegram_webhook_url,
            secret_token=settings.telegram_webhook_secret or None,
            allowed_updates=[Update.MESSAGE],
            bootstrap_retries=START_ATTEMPTS,
        )
        mode = f"webhook on port {settings.telegram_webhook_port}"
    else:
        await app.updater.start_polling(
            allowed_updates=[Update.MESSAGE], bootstrap_retries=START_ATTEMPTS
        )
        mode = "polling"
    await app.start()
    return f"telegram @{app.bot.username} ({mode})"


async def stop_application(app: Application) -> None:
    if app.updater and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()


# Commands


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _send_text(update.effective_message, texts.START + HELP)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _send_text(update.effective_message, HELP)


async def about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _send_text(update.effective_message, about_text())


async def digits(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/digits` sent as a reply to a photo reads that photo."""
    message = update.effective_message
    target = message.reply_to_message
    if target is None or _image_of(target) is None:
        await _send_text(message, texts.DIGITS_NEEDS_REPLY)
        return
    await _read_and_reply(context, target, answer_to=message)


async def autoread(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/autoread on|off`: group admins choose whether every photo in the chat is read."""
    message, chat = update.effective_message, update.effective_chat
    if chat.type == Chat.PRIVATE:
        await _send_text(message, texts.AUTOREAD_PRIVATE)
        return
    choice = (context.args or [""])[0].lower()
    if choice not in ("on", "off"):
        state = "on" if await _autoread_on(context, chat.id) else "off"
        await _send_text(message, texts.AUTOREAD_USAGE.format(state=state))
        return
    if not await _is_admin(context, message):
        await _send_text(message, texts.AUTOREAD_ADMINS_ONLY)
        return
    chats: Chats = context.bot_data["chats"]
    try:
        await chats.set_flag(chat.id, "autoread", choice == "on")
    except RedisError as exc:
        log.error("telegram: /autoread not saved: %s: %s", type(exc).__name__, exc)
        await _send_text(message, texts.SETTING_FAILED)
        return
    meaning = texts.AUTOREAD_ON if choice == "on" else texts.AUTOREAD_OFF
    await _send_text(message, texts.AUTOREAD_SET.format(state=choice, meaning=meaning))


# Photos


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo or a file: read it in private chats; in groups only when the bot was asked."""
    message = update.effective_message
    private = update.effective_chat.type == Chat.PRIVATE
    if not private and not await _asked_in_group(message, context):
        return
    if _image_of(message) is None:
        if private:
            await _send_text(message, texts.NOT_AN_IMAGE)
        return
    await _read_and_reply(context, message, answer_to=message)


async def other_private(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text, stickers, unknown commands in a private chat: point at what the bot does."""
    await _send_text(update.effective_message, texts.DM_NO_IMAGE)


async def _asked_in_group(message: Message, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """The bot was asked to read this group photo: mentioned, replied to, in an album that
    was, or auto-reading is on."""
    chats: Chats = context.bot_data["chats"]
    album = message.media_group_id
    if _mentions_bot(message, context) or _replies_to_bot(message, context):
        if album is not None:
            await chats.mark_album(album)
        return True
    if await _autoread_on(context, message.chat_id):
        return True
    if album is None:
        return False
    if await chats.album_marked(album):
        return True
    await asyncio.sleep(ALBUM_GRACE_SECONDS)
    return await chats.album_marked(album)


def _mentions_bot(message: Message, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """The caption mentions the bot, or is the /digits command (`/digits@bot` included)."""
    me = context.bot
    name = (me.username or "").lower()
    kinds = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION, MessageEntity.BOT_COMMAND]
    for entity, text in message.parse_caption_entities(kinds).items():
        text = text.lower()
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == me.id:
            return True
        if entity.type == MessageEntity.MENTION and text[1:] == name:
            return True
        if entity.type == MessageEntity.BOT_COMMAND and text in ("/digits", f"/digits@{name}"):
            return True
    return False


def _replies_to_bot(message: Message, context: ContextTypes.DEFAULT_TYPE) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == context.bot.id)


async def _autoread_on(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> bool:
    chats: Chats = context.bot_data["chats"]
    choice = await chats.flag(chat_id, "autoread")
    return context.bot_data["settings"].group_autoread if choice is None else choice


async def _is_admin(context: ContextTypes.DEFAULT_TYPE, message: Message) -> bool:
    if message.sender_chat is not None and message.sender_chat.id == message.chat_id:
        return True  # an anonymous group admin
    if message.from_user is None:
        return False
    member = await context.bot.get_chat_member(message.chat_id, message.from_user.id)
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def _image_of(message: Message, limit: int | None = None) -> tuple[str, int | None] | None:
    """(file_id, reported size) of the image a message carries, or None. Of a photo's sizes,
    the largest within `limit` bytes (Telegram keeps several; refusing is the last resort)."""
    if message.photo:
        fitting = [
            p for p in message.photo if p.file_size and p.file_size <= (limit or p.file_size)
        ]
        best = (fitting or message.photo)[-1]
        return best.file_id, best.file_size
    document = message.document
    if document is None:
        return None
    mime = (document.mime_type or "").lower()
    suffix = PurePosixPath(document.file_name or "").suffix.lower()
    if mime.startswith("image/") or suffix in IMAGE_SUFFIXES:
        return document.file_id, document.file_size
    return None


async def _read_and_reply(
    context: ContextTypes.DEFAULT_TYPE, source: Message, answer_to: Message
) -> None:
    """Read the image of `source` and answer `answer_to` (the same message, or a /digits)."""
    service: Service = context.bot_data["service"]
    notes: Notes = context.bot_data["notes"]
    file_id, size = _image_of(source, service.settings.max_image_bytes)
    user = answer_to.from_user or answer_to.sender_chat
    owner = f"tg:{user.id if user else answer_to.chat_id}"
    ticket = await service.admit(owner)
    if isinstance(ticket, Reply):
        await _send(answer_to, ticket)
        return

    async def fetch() -> bytearray:
        file = await _retrying(lambda: context.bot.get_file(file_id))
        return await _retrying(file.download_as_bytearray)

    seconds = max(1, round(ticket.expected_wait))
    note_key = f"{answer_to.chat_id}/{owner}"
    note = notes.cover(
        note_key,
        ticket.expected_wait,
        lambda: _retrying(
            lambda: answer_to.reply_text(texts.QUEUED.format(seconds=seconds), do_quote=True)
        ),
    )
    try:
        if note is None:  # "sending a photo...": for 5 s, enough when there is no long wait
            courtesy(context.bot.send_chat_action(answer_to.chat_id, ChatAction.UPLOAD_PHOTO))
        reply = await service.read(ticket, size, fetch)
        await _send(answer_to, reply)
    finally:
        await notes.uncover(note_key, note)


async def _send(message: Message, reply: Reply) -> None:
    """Send a Reply as an answer to `message`: the picture with its caption, or just text."""
    if reply.png is None:
        await _send_text(message, reply.text)
        return
    try:
        await _retrying(
            lambda: message.reply_photo(
                photo=reply.png, caption=reply.text, filename="digits.png", do_quote=True
            )
        )
    except BadRequest as exc:  # e.g. PHOTO_INVALID_DIMENSIONS for a very long strip
        log.info("telegram: sending as a document instead of a photo: %s", exc)
        try:
            await _retrying(
                lambda: message.reply_document(
                    document=reply.png, caption=reply.text, filename="digits.png", do_quote=True
                )
            )
        except TelegramError as exc:
            log.warning("telegram: picture not sent (%s); sending the digits as text", exc)
            await _send_text(message, reply.text)
    except (NetworkError, RetryAfter) as exc:  # uploads keep failing: the digits still matter
        log.warning("telegram: picture not sent (%s); sending the digits as text", exc)
        await _send_text(message, reply.text)


async def _send_text(message: Message, text: str) -> None:
    await _retrying(lambda: message.reply_text(text, do_quote=True))


async def _retrying(call, attempts: int = SEND_ATTEMPTS):
    """Await call(), retrying network failures and flood-control waits a few times."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except RetryAfter as exc:
            wait = exc.retry_after
            wait = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
            if attempt == attempts or wait > MAX_RETRY_AFTER:
                raise
            log.warning("telegram: flood control, retrying in %.0f s", wait)
            await asyncio.sleep(wait)
        except (BadRequest, Forbidden, InvalidToken):
            raise
        except NetworkError as exc:  # includes TimedOut
            if attempt == attempts:
                raise
            log.warning("telegram: %s, retrying", type(exc).__name__)
            await asyncio.sleep(min(0.5 * 2 ** (attempt - 1), 8))
    raise AssertionError("unreachable")


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One log line per failure; the application keeps serving other updates."""
    error = context.error
    log.error("telegram: %s: %s", type(error).__name__, str(error).replace("\n", " ")[:200])
