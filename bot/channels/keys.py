"""Inbox keys for platforms that send no update id (Zalo): the event's time, then a hash.

The same event always gets the same key (so a redelivery is stored once), and keys grow with
the event's time (so stored updates replay in the order they were written). Two different
events of the same millisecond collide with odds of one in four million; the second would be
taken for a redelivery. Must not import the database or any platform library.
"""

from __future__ import annotations

import hashlib

EPOCH_MS = 1_700_000_000_000  # Nov 2023: keys stay ordered by time until 2093


def ordered_id(millis: object, ident: str) -> int:
    """The key of the event of ``ident`` (a message id) at ``millis`` (milliseconds since
    1970, or seconds: told apart by size; anything else counts as 0)."""
    try:
        moment = int(str(millis)) if not isinstance(millis, int | float) else int(millis)
    except ValueError:
        moment = 0
    if 0 < moment < 10**11:  # seconds, not milliseconds
        moment *= 1000
    elapsed = min(max(moment - EPOCH_MS, 0), (1 << 41) - 1)
    digest = hashlib.sha256(ident.encode()).digest()
    return (elapsed << 22) | (int.from_bytes(digest[:3], "big") & ((1 << 22) - 1))
