"""What the bot says to users, in one place, and how a reading is put into words."""

from __future__ import annotations

from core.result import Result

HELP = (
    "Send me a photo of handwritten digits and I'll read them: a postal code, a meter reading, "
    "a page of numbers.\n\n"
    "For the best reading:\n"
    "• dark ink on light paper, in good even light, no shadow across the digits\n"
    "• fill the frame with the digits; hold the phone straight above the page\n"
    "• leave a little space between digits; keep them in steady lines\n"
    "• send it as a photo, or as a file (JPEG, PNG or WebP) for full resolution\n\n"
    "I reply with the digits, how sure I am of each, and the photo with every digit boxed. "
    "Digits marked ⚠ are uncertain: check them.\n\n"
    "{group_help}"
    "/about: the model and what happens to your photos"
)

TELEGRAM_GROUP_HELP = (
    "In groups: reply /digits to a photo, mention me in a photo's caption, or send a photo as a "
    "reply to me. Group admins can make me read every photo with /autoread on.\n\n"
)

DISCORD_GROUP_HELP = (
    "In servers: use /digits with an image, right-click a message → Apps → Read digits, or "
    "mention me in a message with an image. In DMs just send the image.\n\n"
)

START = "Hello! I read handwritten digits in photos. Send me one to try.\n\n"

ABOUT = (
    "digitbot {version}: reads handwritten digits with two small neural networks (CNNs) trained "
    "on MNIST{accuracy}.\n\n"
    "Privacy: I read your photo in memory; it is never written to disk or logged, and nothing "
    "of it is kept once I have replied. (The chat itself stays with Telegram or Discord, as "
    "every message does.)\n\n"
    "digitbot is open source: you can run your own copy (see its README)."
)

NO_DIGITS = "I couldn't find any digits in this photo."
NO_DIGITS_TIP = (
    "Tips: dark digits on light paper, good even light, fill the frame with the digits, and "
    "keep the photo sharp."
)
NOT_AN_IMAGE = "That file isn't a photo I can read. Send a JPEG, PNG or WebP image."
TOO_BIG = "That image is too large ({size} MB). Please send one under {limit} MB."
BUSY = "I'm busy with a lot of photos right now. Please send it again in a minute."
QUEUED = "⏳ Got it. Many photos are ahead of yours: I'll answer in about {seconds} s."
RATE_LIMITED = "You've sent a lot of photos. Please wait {seconds} s before the next one."
DOWNLOAD_FAILED = "I couldn't download that photo. Please send it again."
FAILED = "Sorry, something went wrong reading that photo. Please try again."
DIGITS_NEEDS_REPLY = "Reply /digits to a message with a photo and I'll read it."
AUTOREAD_USAGE = "Use /autoread on or /autoread off (group admins only). Now: {state}."
AUTOREAD_SET = "Auto-reading is now {state}: {meaning}"
AUTOREAD_ON = "I'll read every photo sent to this group."
AUTOREAD_OFF = "I'll read photos only when asked (/digits reply, mention, or reply to me)."
AUTOREAD_ADMINS_ONLY = "Only group admins can change auto-reading."
SETTING_FAILED = "Sorry, I couldn't save that setting. Please try again."
AUTOREAD_PRIVATE = "Auto-reading is for groups; in a private chat I read every photo."
DM_NO_IMAGE = "Send me an image with handwritten digits and I'll read them. /help for tips."
CONTEXT_NO_IMAGE = "That message has no image I can read."

UNCERTAIN = "⚠"


def percent(p: float) -> str:
    """A probability as a whole percentage; never shows 100% for a guess that isn't certain."""
    value = round(p * 100)
    return f"{min(value, 99) if p < 1 else 100}%"


def headline(result: Result) -> str:
    """The digits as read, with line breaks and groups as the core laid them out."""
    return result.text or "".join(str(d.value) for d in result.digits)


def confidences(result: Result, limit: int = 900) -> str:
    """One entry per digit, e.g. `9 99% · 0 97% · 2 58% ⚠ (7?)`; cut short with `…` past limit."""
    parts = []
    for d in result.digits:
        part = f"{d.value} {percent(d.confidence)}"
        if d.uncertain:
            alts = [v for v, _ in d.alternatives if v != d.value][:1]
            part += f" {UNCERTAIN}" + (f" ({alts[0]}?)" if alts else "")
        parts.append(part)
    text = ""
    for i, part in enumerate(parts):
        piece = part if i == 0 else " · " + part
        if len(text) + len(piece) > limit:
            return text + f" … (+{len(parts) - i} more)"
        text += piece
    return text


def caption(result: Result, limit: int = 1024) -> str:
    """The reply text for a reading, at most `limit` characters (Telegram captions: 1024)."""
    if not result.digits:
        # The core's own notes say why and how to do better; its "No digits found." we just said.
        notes = [w.removeprefix("No digits found.").strip() for w in result.warnings]
        notes = [n for n in notes if n] or [NO_DIGITS_TIP]
        return _clip("\n".join([NO_DIGITS, *notes]), limit)
    head = _clip(headline(result), limit // 3)
    notes = list(result.warnings)
    if any(d.uncertain for d in result.digits):
        notes.insert(0, f"{UNCERTAIN} uncertain: please check these digits.")
    tail = _clip("\n".join(notes), limit // 4)
    per_digit = confidences(result, limit=limit - len(head) - len(tail) - 20)
    return "\n".join([head, "", per_digit, tail] if tail else [head, "", per_digit])


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
