"""The words a commune uses for itself and its villages, in the reader's language.

A commune is a xã, a phường or a đặc khu, from its kind in the official list; a village is a
thôn, ấp, bản, làng, khu, khu phố or tổ dân phố, as the commune calls it (DOMAIN.md). The
commune chooses its village word (``Unit.village_word``); until it does, a xã and a đặc khu say
"thôn" and a phường "tổ dân phố". In English each word has its usual rendering. The words are
data, like a form's labels: a table here, not catalog messages, since the Vietnamese word is
the commune's own choice rather than a translation. Texts take them as placeholders
(``{village_word}``, ``{villages_word}``, ``{commune_word}``, and capitalised to start a
sentence: ``{Village_word}``…). Must not import any platform library.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Words, _, current_locale
from bot.storage.models import UNIT_LEVELS, Unit

COMMUNE = UNIT_LEVELS["commune"]
# Vietnamese word -> English (singular, plural).
VILLAGE_WORDS: dict[str, tuple[str, str]] = {
    "thôn": ("village", "villages"),
    "ấp": ("hamlet", "hamlets"),
    "bản": ("village", "villages"),
    "làng": ("village", "villages"),
    "khu": ("quarter", "quarters"),
    "khu phố": ("neighbourhood", "neighbourhoods"),
    "tổ dân phố": ("residential group", "residential groups"),
}
COMMUNE_WORDS: dict[str, tuple[str, str]] = {  # kind -> (Vietnamese, English)
    "commune": ("xã", "commune"),
    "ward": ("phường", "ward"),
    "special_zone": ("đặc khu", "special zone"),
}
DEFAULT_VILLAGE_WORD = {"commune": "thôn", "ward": "tổ dân phố", "special_zone": "thôn"}


GENERAL_VI = Words("xã", "thôn", "thôn")
GENERAL_EN = Words("commune", "village", "villages")


def village_word_of(commune: Unit) -> str:
    """The Vietnamese word the commune uses for its villages."""
    return commune.village_word or DEFAULT_VILLAGE_WORD.get(commune.kind, "thôn")


def words_of(commune: Unit | None, lang: str | None = None) -> Words:
    """A commune's words in ``lang`` (the current locale by default); general ones for None."""
    english = (lang or current_locale()) == "en"
    if commune is None:
        return GENERAL_EN if english else GENERAL_VI
    word = village_word_of(commune)
    commune_vi, commune_en = COMMUNE_WORDS.get(commune.kind, COMMUNE_WORDS["commune"])
    if english:
        singular, plural = VILLAGE_WORDS.get(word, ("village", "villages"))
        return Words(commune_en, singular, plural)
    return Words(commune_vi, word, word)


async def commune_of(session: AsyncSession, unit: Unit) -> Unit | None:
    """The commune a unit is or lies in (None for a province)."""
    current: Unit | None = unit
    while current is not None and current.level > COMMUNE:
        current = await session.get(Unit, current.parent_id) if current.parent_id else None
    return current if current is not None and current.level == COMMUNE else None


async def words_for(session: AsyncSession, unit: Unit | None, lang: str | None = None) -> Words:
    """The words of the commune a unit lies in (general ones above communes)."""
    commune = await commune_of(session, unit) if unit is not None else None
    return words_of(commune, lang)


def role_name(role: str, said: Words | None = None) -> str:
    """A role in words, in the person's language, with the commune's own word for itself
    (a ward's officer is "cán bộ phường")."""
    said = said or words_of(None)
    names = {
        "leader": _("branch leader"),
        "officer": _("{commune_word} officer").format(**said.placeholders()),
        "province": _("province viewer"),
        "admin": _("administrator"),
        "citizen": _("citizen"),
    }
    return names.get(role, role)


def unit_label(unit: Unit) -> str:
    """A unit as the command line names it: "Xã Thanh Trì (00640)"."""
    return f"{unit.name} ({unit.code})"
