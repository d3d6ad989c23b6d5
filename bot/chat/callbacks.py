"""Compact callback data: ``"<prefix>:<field>:<field>"``, checked for prefix, arity and 64 bytes.

Buttons route on these ids, never on their translated labels. Must not import platform libraries.
"""

from __future__ import annotations

from dataclasses import dataclass

SEPARATOR = ":"
MAX_BYTES = 64  # Telegram's limit for callback_data

# Prefixes and how many fields each carries.
MENU = "m"  # m:<action>
ANSWER = "a"  # a:<assessment id>:<step>:<value>
HOUSEHOLD = "h"  # h:<action>:<household id>
LANGUAGE = "l"  # l:<lang>
CONSENT = "c"  # c:<yes|no>:<language>:<then>  (then: what was asked first, "join.CODE")
ACCOUNT = "u"  # u:<action>  (the person's own data)
OFFICER = "o"  # o:<action>:<id>  (a commune officer's villages, leaders, targets)
REVIEW = "r"  # r:<action>:<id>  (a commune officer's review of submitted households)
REMINDERS = "n"  # n:<on|off>:<kind>  (a person's own reminders)
BULLETIN = "b"  # b:<action>:<arg>  (a commune officer's broadcasts and reminder campaigns)
HOME = "v"  # v:<action>:<id>  (a person saying which village they live in)
GROUP = "g"  # g:<group>:<then>  (a citizen's group of Công dân học tập)
COMMUNITY = "k"  # k:<action>:<village id>  (a village's own Cộng đồng học tập assessment)
ORGANISATION = "d"  # d:<action>:<id>  (the commune's learning units, Đơn vị học tập)
CLAN = "q"  # q:<action>:<id>  (the commune's clans, Dòng họ học tập)
# Buttons of an older release that still sit on people's screens carry fewer fields: these
# prefixes read the missing ones as "".
SHORTER = {CONSENT: 1}
ARITY = {
    MENU: 1,
    ANSWER: 3,
    HOUSEHOLD: 2,
    LANGUAGE: 1,
    CONSENT: 3,
    ACCOUNT: 1,
    OFFICER: 2,
    REVIEW: 2,
    REMINDERS: 2,
    BULLETIN: 2,
    HOME: 2,
    GROUP: 2,
    COMMUNITY: 2,
    ORGANISATION: 2,
    CLAN: 2,
}


class CallbackError(ValueError):
    """Callback data that is not ours, has the wrong shape, or is too long."""


@dataclass(frozen=True)
class Callback:
    prefix: str
    fields: tuple[str, ...]


def pack(prefix: str, *fields: object) -> str:
    """Build callback data; refuse anything that would not round-trip."""
    if prefix not in ARITY or len(fields) != ARITY[prefix]:
        raise CallbackError(f"{prefix!r} takes {ARITY.get(prefix)} fields, got {len(fields)}")
    parts = [str(f) for f in fields]
    if any(SEPARATOR in part for part in parts):
        raise CallbackError(f"a field contains {SEPARATOR!r}: {parts}")
    data = SEPARATOR.join([prefix, *parts])
    if len(data.encode("utf-8")) > MAX_BYTES:
        raise CallbackError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def unpack(data: str) -> Callback:
    """Parse callback data built by ``pack``."""
    if len(data.encode("utf-8")) > MAX_BYTES:
        raise CallbackError("callback data too long")
    prefix, *fields = data.split(SEPARATOR)
    if prefix in SHORTER and SHORTER[prefix] <= len(fields) < ARITY[prefix]:
        fields += [""] * (ARITY[prefix] - len(fields))
    if prefix not in ARITY or len(fields) != ARITY[prefix]:
        raise CallbackError(f"unknown callback data {data[:20]!r}")
    return Callback(prefix, tuple(fields))
