"""Callback data of the commune's review buttons: ``r:<action>:<id>``.

Built and read with the same rules as ``bot.services.callbacks`` (prefix, field count, 64 bytes):
once ``REVIEW`` is in its ``ARITY`` table, ``callbacks.unpack`` reads these too and the router
hands them to ``review.on_review_button``. Must not import platform libraries.
"""

from __future__ import annotations

from bot.chat.callbacks import MAX_BYTES, SEPARATOR, Callback, CallbackError

REVIEW = "r"  # r:<action>:<id>
ARITY = 2
# Actions: the villages waiting, page by page (id: "<commune>-<page>"; "0", every commune the
# officer serves), one village's households (id: "<village>-<page>"), one assessment (id:
# assessment), recognise it, refuse it, return it for changes, recognise every passing
# household of a village (id: village).
LIST, VILLAGE, OPEN, RECOGNISE, REFUSE, RETURN, ALL = "list", "v", "open", "ok", "no", "ret", "all"
# Citizens' self-checks waiting for confirmation: the list (id: "<area unit>-<page>"), one of
# them (id: assessment), confirm its title, decline it.
CITIZENS, CITIZEN, CONFIRM, DECLINE = "cl", "co", "cy", "cn"
ACTIONS = (
    LIST,
    VILLAGE,
    OPEN,
    RECOGNISE,
    REFUSE,
    RETURN,
    ALL,
    CITIZENS,
    CITIZEN,
    CONFIRM,
    DECLINE,
)


def pack(action: str, ident: object) -> str:
    """Build review callback data; refuse anything that would not round-trip."""
    field = str(ident)
    if action not in ACTIONS or SEPARATOR in field:
        raise CallbackError(f"not a review button: {action!r} {field!r}")
    data = SEPARATOR.join([REVIEW, action, field])
    if len(data.encode("utf-8")) > MAX_BYTES:
        raise CallbackError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def unpack(data: str) -> Callback:
    """Parse data built by ``pack``."""
    if len(data.encode("utf-8")) > MAX_BYTES:
        raise CallbackError("callback data too long")
    prefix, *fields = data.split(SEPARATOR)
    if prefix != REVIEW or len(fields) != ARITY or fields[0] not in ACTIONS:
        raise CallbackError(f"not review callback data {data[:20]!r}")
    return Callback(prefix, tuple(fields))
