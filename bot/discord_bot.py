"""The Discord adapter (discord.py 2.7), working without the privileged message-content intent.

Without that intent Discord still sends a message's attachments when the message is a DM or
mentions the bot, and interactions always carry their attachments. So the bot answers:
the slash command `/digits image:<attachment>`, the message context-menu command "Read digits",
images in DMs, and messages that mention the bot and carry images (or reply to one that does).

The client is discord.py's AutoShardedClient: one process runs as many shards as Discord
recommends, or DISCORD_SHARD_COUNT of them, or only DISCORD_SHARD_IDS of DISCORD_SHARD_COUNT, so
a big bot's shards can be split across processes (which then share rate limits through Redis).

A photo that must wait more than a few seconds for a reader gets a "queued" note at once: the
interaction's response for commands (later edited into the first answer), a reply for messages
(deleted once answered; bot/notes.py).

DISCORD_API_BASE_URL and DISCORD_GATEWAY_URL redirect the library (tests, proxies) through its
two public class attributes: `discord.http.Route.BASE` (REST and interaction webhooks) and
`discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY` (where shards connect when the shard count is
given; otherwise GET /gateway/bot names the gateway).
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import PurePosixPath

import aiohttp
import discord
import yarl
from discord import app_commands

from bot import texts
from bot.about import about_text
from bot.notes import NOTE_AFTER_SECONDS, Notes
from bot.service import Reply, Service, Ticket, courtesy
from bot.settings import Settings

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic"}
PNG_NAME = "digits.png"
COLOUR = discord.Colour.blurple()
HELP = texts.HELP.format(group_help=texts.DISCORD_GROUP_HELP)
SEND_ATTEMPTS = 3


class DigitClient(discord.AutoShardedClient):
    """A sharded client with the app commands registered and the Service at hand."""

    def __init__(self, settings: Settings, service: Service, **options):
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # no voice here
        super().__init__(
            intents=discord.Intents.default(),
            shard_count=settings.discord_shard_count or None,
            shard_ids=list(settings.shard_ids) or None,
            **options,
        )
        self.settings, self.service = settings, service
        self.notes = Notes(lambda note: note.delete())
        self.connected = asyncio.Event()
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(digits_command)
        self.tree.add_command(read_digits_menu)
        self.tree.add_command(help_command)
        self.tree.add_command(about_command)
        self.tree.on_error = on_command_error

    async def setup_hook(self) -> None:
        if self.settings.discord_sync_commands:
            await self.tree.sync()

    async def on_connect(self) -> None:
        self.connected.set()

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        direct = isinstance(message.channel, discord.DMChannel | discord.GroupChannel)
        if not direct and not self._mentioned(message):
            return
        images = _images(message.attachments)
        if not images and not direct:
            referenced = message.reference.resolved if message.reference else None
            if isinstance(referenced, discord.Message):
                images = _images(referenced.attachments)
        if not images:
            text = texts.NOT_AN_IMAGE if message.attachments else texts.DM_NO_IMAGE
            await _send(lambda: message.reply(text, mention_author=False))
            return
        courtesy(message.channel.typing())  # "digitbot is typing..." while it reads
        owner = f"dc:{message.author.id}"
        images = images[: self.settings.max_images_per_message]
        admitted = [await self.service.admit(owner) for _ in images]
        key = f"{message.channel.id}/{owner}"
        notes = [
            self.notes.cover(key, t.expected_wait, lambda t=t: _note_reply(message, t))
            for t in admitted
            if isinstance(t, Ticket)
        ]
        try:
            for reading in _readings(self.service, admitted, images):
                reply = await reading
                await _send(lambda r=reply: message.reply(**_reply_kwargs(r), mention_author=False))
        finally:
            for note in notes:
                await self.notes.uncover(key, note)

    def _mentioned(self, message: discord.Message) -> bool:
        """The message mentions the bot itself, or its own role (Discord's autocomplete offers
        both); @everyone and @here do not count."""
        if any(user.id == self.user.id for user in message.mentions):
            return True
        me = message.guild.me if message.guild else None
        own = [r for r in getattr(me, "roles", []) if r.is_bot_managed()]
        return any(role in own for role in message.role_mentions)

    async def on_error(self, event: str, *args, **kwargs) -> None:
        """One log line for an exception in an event handler (instead of a traceback)."""
        error = sys.exc_info()[1]
        log.error("discord: in %s: %s: %s", event, type(error).__name__, _one_line(error))


def apply_endpoints(settings: Settings) -> None:
    """Point discord.py at other REST and gateway URLs when the settings give them."""
    if settings.discord_api_base_url:
        discord.http.Route.BASE = settings.discord_api_base_url.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


async def start_client(client: DigitClient, timeout: float = 60.0) -> asyncio.Task:
    """Log in and connect; returns the running client task once the gateway session is up."""
    apply_endpoints(client.settings)
    task = asyncio.create_task(client.start(client.settings.discord_token), name="discord")
    connected = asyncio.create_task(client.connected.wait())
    done, _ = await asyncio.wait({task, connected}, timeout=timeout, return_when="FIRST_COMPLETED")
    if connected not in done:
        connected.cancel()
        if task in done:
            task.result()  # raises LoginFailure and the like
        task.cancel()
        raise TimeoutError(f"discord: no gateway session after {timeout:.0f} s")
    return task


# App commands


@app_commands.command(name="digits", description="Read the handwritten digits in an image")
@app_commands.describe(image="A photo of handwritten digits (JPEG, PNG or WebP)")
@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
async def digits_command(interaction: discord.Interaction, image: discord.Attachment) -> None:
    await _answer_interaction(interaction, [image])


@app_commands.context_menu(name="Read digits")
@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
async def read_digits_menu(interaction: discord.Interaction, message: discord.Message) -> None:
    await _answer_interaction(interaction, message.attachments)


@app_commands.command(name="help", description="How to photograph digits for the bot")
@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
async def help_command(interaction: discord.Interaction) -> None:
    await interaction.response.send_message(HELP, ephemeral=True)


@app_commands.command(name="about", description="The model, and what happens to your photos")
@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
async def about_command(interaction: discord.Interaction) -> None:
    await interaction.response.send_message(about_text(), ephemeral=True)


async def _answer_interaction(
    interaction: discord.Interaction, attachments: list[discord.Attachment]
) -> None:
    """Refuse at once (privately) or defer within Discord's 3 s, then follow up per image."""
    client: DigitClient = interaction.client
    images = _images(attachments)[: client.settings.max_images_per_message]
    if not images:
        text = texts.NOT_AN_IMAGE if attachments else texts.CONTEXT_NO_IMAGE
        await interaction.response.send_message(text, ephemeral=True)
        return
    user = f"dc:{interaction.user.id}"
    ticket = await client.service.admit(user)
    if isinstance(ticket, Reply):
        await interaction.response.send_message(ticket.text, ephemeral=True)
        return
    noted = ticket.expected_wait > NOTE_AFTER_SECONDS
    try:
        if noted:  # the response is the note, edited into the first answer when it is ready
            await interaction.response.send_message(_queued_text(ticket))
        else:
            await interaction.response.defer(thinking=True)
    except BaseException:
        ticket.release()
        raise
    admitted = [ticket] + [await client.service.admit(user) for _ in images[1:]]
    for i, reading in enumerate(_readings(client.service, admitted, images)):
        reply = await reading
        if i == 0 and noted:
            await _send(lambda r=reply: interaction.edit_original_response(**_edit_kwargs(r)))
        else:
            await _send(lambda r=reply: interaction.followup.send(**_reply_kwargs(r)))


def _readings(
    service: Service, admitted: list[Ticket | Reply], images: list[discord.Attachment]
) -> list[asyncio.Future[Reply]]:
    """The replies to a message's images, in their order: refusals at once, and the admitted
    images read meanwhile (they wait in their owner's turns, see bot/fair_queue.py)."""
    readings = []
    for ticket, image in zip(admitted, images, strict=True):
        if isinstance(ticket, Reply):
            done = asyncio.get_running_loop().create_future()
            done.set_result(ticket)
            readings.append(done)
        else:
            readings.append(asyncio.ensure_future(service.read(ticket, image.size, image.read)))
    return readings


async def on_command_error(
    interaction: discord.Interaction, error: app_commands.AppCommandError
) -> None:
    """One log line; the user hears that something went wrong if they can still be answered."""
    cause = getattr(error, "original", error)
    log.error("discord: %s: %s", type(cause).__name__, _one_line(cause))
    try:
        if interaction.response.is_done():
            await interaction.followup.send(texts.FAILED, ephemeral=True)
        else:
            await interaction.response.send_message(texts.FAILED, ephemeral=True)
    except discord.HTTPException:
        pass


# Replies


def _reply_kwargs(reply: Reply) -> dict:
    """Message arguments for a Reply: an embed with the picture for a reading, else text."""
    if reply.result is None or reply.png is None:
        return {"content": reply.text}
    result = reply.result
    embed = discord.Embed(
        title=texts.headline(result).replace("\n", " / ")[:256],
        description=texts.confidences(result, limit=4000),
        colour=COLOUR,
    )
    if any(d.uncertain for d in result.digits):
        embed.set_footer(text=f"{texts.UNCERTAIN} uncertain: please check these digits.")
    if result.warnings:
        embed.add_field(name="Note", value="\n".join(result.warnings)[:1024], inline=False)
    embed.set_image(url=f"attachment://{PNG_NAME}")
    return {"embed": embed, "file": discord.File(io.BytesIO(reply.png), filename=PNG_NAME)}


def _edit_kwargs(reply: Reply) -> dict:
    """Arguments to edit a message (the queue note) into a Reply: its text, embed and picture
    replace the note's."""
    kwargs = _reply_kwargs(reply)
    files = [kwargs.pop("file")] if "file" in kwargs else []
    return {"content": None, "embed": None, **kwargs, "attachments": files}


async def _note_reply(message: discord.Message, ticket: Ticket) -> discord.Message:
    return await message.reply(_queued_text(ticket), mention_author=False)


def _queued_text(ticket: Ticket) -> str:
    return texts.QUEUED.format(seconds=max(1, round(ticket.expected_wait)))


def _images(attachments: list[discord.Attachment]) -> list[discord.Attachment]:
    return [a for a in attachments if _is_image(a)]


def _is_image(attachment: discord.Attachment) -> bool:
    kind = (attachment.content_type or "").lower()
    return kind.startswith("image/") or PurePosixPath(attachment.filename).suffix.lower() in (
        IMAGE_SUFFIXES
    )


async def _send(make: Callable[[], Awaitable[object]]) -> None:
    """Send a reply, retrying dropped connections (discord.py itself retries 5xx and 429);
    a reply that cannot be sent is logged in one line and goes no further."""
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            await make()
            return
        except discord.HTTPException as exc:
            log.error("discord: could not send a reply: %s %s", exc.status, _one_line(exc.text))
            return
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            if attempt == SEND_ATTEMPTS:
                log.error("discord: could not send a reply: %s", type(exc).__name__)
                return
            log.warning("discord: %s while replying, retrying", type(exc).__name__)
            await asyncio.sleep(0.5 * attempt)


def _one_line(error: object) -> str:
    return str(error).replace("\n", " ")[:200]
