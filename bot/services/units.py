"""Villages and households of a commune: add, rename, merge, list, and import from a CSV file.

There is no official list of villages, so each commune keeps its own here. Every function takes an
`AsyncSession` and never commits: the caller commits once, so a refused change writes nothing. Bad
input raises `UnitError` with one localised line naming the file, row and field.

Must not import channels, platform libraries or conversations, and must not know which platform
a request came from.
"""

from __future__ import annotations

import asyncio
import csv
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _, ngettext
from bot.rich import Refusal
from bot.storage.geography import child_path, move_subtree
from bot.storage.models import UNIT_LEVELS, Assessment, Household, Unit, table_of, utcnow
from conversations.text import vietnamese_key

VILLAGE = UNIT_LEVELS["village"]
COMMUNE = UNIT_LEVELS["commune"]
COLUMNS = ("village", "household_code", "head_name", "members")
# Columns a file may leave out: how many members are of working age (the base of the Công dân
# học tập share); a household without it counts as "not given" in the reports.
OPTIONAL = ("working_age",)
MEMBERS_MIN, MEMBERS_MAX = 1, 50
NAME_MAX, CODE_MAX = 200, 32


class UnitError(Refusal):
    """A refused change to villages or households; str() is one line for the person."""


@dataclass(frozen=True)
class ImportSummary:
    """What one CSV import added."""

    villages_added: int
    households_added: int


@dataclass(frozen=True)
class VillageRow:
    """A village of a commune with its number of (not removed) households."""

    id: int
    code: str
    name: str
    households: int


@dataclass(frozen=True)
class _Row:
    line: int
    village: str
    household_code: str
    head_name: str
    members: int
    working_age: int | None = None


async def list_villages(session: AsyncSession, commune_code: str) -> list[VillageRow]:
    """Return the active villages of a commune, by name, with household counts."""
    commune = await find_commune(session, commune_code)
    joined = and_(Household.village_id == Unit.id, Household.removed_at.is_(None))
    result = await session.execute(
        select(Unit.id, Unit.code, Unit.name, func.count(Household.id))
        .outerjoin(Household, joined)
        .where(Unit.parent_id == commune.id, Unit.level == VILLAGE, Unit.active.is_(True))
        .group_by(Unit.id, Unit.code, Unit.name)
    )
    rows = [VillageRow(*row) for row in result.all()]
    return sorted(rows, key=lambda row: (vietnamese_key(row.name), row.code))


async def add_village(
    session: AsyncSession, commune_code: str, name: str, code: str | None = None
) -> Unit:
    """Add a village to a commune; without a code one is made up as <commune>-<nnn>."""
    commune = await find_commune(session, commune_code)
    name = _clean_name(name)
    villages = await _villages(session, commune)
    if any(name_key(v.name) == name_key(name) for v in villages if v.active):
        raise UnitError(_("The commune already has a village named {name}.").format(name=name))
    if code is None:
        code = (await _next_codes(session, commune, 1))[0]
    else:
        code = await _free_code(session, code)
    return (await _create_villages(session, commune, [(name, code)]))[0]


async def rename_unit(session: AsyncSession, code: str, new_name: str) -> Unit:
    """Rename a unit (village, commune or province) found by its code."""
    unit = await _unit(session, code)
    name = _clean_name(new_name)
    if unit.level == VILLAGE and unit.parent_id is not None:
        siblings = await session.scalars(
            select(Unit).where(
                Unit.parent_id == unit.parent_id, Unit.active.is_(True), Unit.id != unit.id
            )
        )
        if any(name_key(sibling.name) == name_key(name) for sibling in siblings):
            raise UnitError(_("The commune already has a village named {name}.").format(name=name))
    unit.name = name
    return unit


async def merge_villages(session: AsyncSession, source_code: str, target_code: str) -> Unit:
    """Move the households of one village into another and retire the first; return the target."""
    source, target = await _unit(session, source_code), await _unit(session, target_code)
    _check_mergeable(source, target)
    clash = await session.scalar(
        select(Household.code)
        .where(Household.village_id == source.id)
        .where(Household.code.in_(select(Household.code).where(Household.village_id == target.id)))
        .order_by(Household.code)
        .limit(1)
    )
    if clash is not None:
        raise UnitError(
            _("Both villages have a household with the code {code}; change one first.").format(
                code=clash
            )
        )
    await session.execute(
        update(Household).where(Household.village_id == source.id).values(village_id=target.id)
    )
    await session.execute(
        update(Assessment).where(Assessment.unit_id == source.id).values(unit_id=target.id)
    )
    for child in (await session.scalars(select(Unit).where(Unit.parent_id == source.id))).all():
        await move_subtree(session, child, target)
    source.active, source.merged_into_id = False, target.id
    return target


def _check_mergeable(source: Unit, target: Unit) -> None:
    if source.id == target.id:
        raise UnitError(_("A village cannot be merged into itself."))
    for unit in (source, target):
        if unit.level != VILLAGE or not unit.active:
            raise UnitError(_("{code} is not an active village.").format(code=unit.code))
    if source.parent_id != target.parent_id:
        raise UnitError(_("Only villages of the same commune can be merged."))


async def import_csv(session: AsyncSession, path: Path | str, commune_code: str) -> ImportSummary:
    """Import villages and households from a CSV file, checking every row before writing any."""
    path = Path(path)
    try:
        commune = await find_commune(session, commune_code)
    except UnitError as error:
        raise UnitError(f"{path}: commune: {error}") from None
    rows = _parse_rows(path, await read_table(path))
    by_code, by_name = _village_index(await _villages(session, commune))
    resolved = [by_code.get(row.village) or by_name.get(name_key(row.village)) for row in rows]
    await _check_household_codes(session, path, rows, resolved)
    created = await _create_named_villages(session, commune, rows, resolved)
    await _insert_households(session, rows, resolved, created)
    return ImportSummary(villages_added=len(created), households_added=len(rows))


async def _create_named_villages(
    session: AsyncSession, commune: Unit, rows: list[_Row], resolved: list[Unit | None]
) -> dict[str, Unit]:
    """Create the villages the file names but the commune lacks, keyed by name key."""
    spellings: dict[str, str] = {}
    for row, village in zip(rows, resolved, strict=True):
        if village is None:
            # A new village takes the spelling of the first row that names it.
            spellings.setdefault(name_key(row.village), row.village)
    codes = await _next_codes(session, commune, len(spellings))
    created = await _create_villages(
        session, commune, list(zip(spellings.values(), codes, strict=True))
    )
    return {name_key(village.name): village for village in created}


async def _insert_households(
    session: AsyncSession, rows: list[_Row], resolved: list[Unit | None], new: dict[str, Unit]
) -> None:
    now = utcnow()
    records = [
        {
            "village_id": (village or new[name_key(row.village)]).id,
            "code": row.household_code,
            "head_name": row.head_name,
            "members": row.members,
            "working_age": row.working_age,
            "created_at": now,
        }
        for row, village in zip(rows, resolved, strict=True)
    ]
    # One executemany INSERT: thousands of rows in a few statements, not one per row.
    await session.execute(insert(table_of(Household)), records)


async def read_table(path: Path) -> list[list[str]]:
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        raise UnitError(
            f"{path}: " + _("cannot read the file: {reason}").format(reason=error.strerror)
        ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnitError(
            f"{path}: "
            + _("not UTF-8 text (byte {offset}); save it as CSV UTF-8").format(offset=error.start)
        ) from None
    header = text.partition("\n")[0]
    # Spreadsheets in a Vietnamese locale save CSV with semicolons, as the decimal mark is a comma.
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        return list(reader)
    except csv.Error as error:
        raise UnitError(
            f"{path}:{reader.line_num}: " + _("not valid CSV: {reason}").format(reason=error)
        ) from None


def _parse_rows(path: Path, table: list[list[str]]) -> list[_Row]:
    problems: list[str] = []
    order = _header_problems(path, table[0] if table else [], problems)
    rows: list[_Row] = []
    for line, fields in enumerate(table[1:], start=2):
        if order is None or not any(field.strip() for field in fields):
            continue
        row = _parse_row(f"{path}:{line}", line, fields, order, problems)
        if row is not None:
            rows.append(row)
    if not rows and not problems:
        problems.append(f"{path}:2: " + _("no household rows after the header"))
    raise_first(problems)
    return rows


def header_order(
    path: Path, header: list[str], required: Sequence[str], optional: Sequence[str] = ()
) -> dict[str, int]:
    """Where each column of a CSV file is; every required one must be there, optional ones
    may. Refused (``UnitError``) naming each column that is missing or unexpected."""
    problems: list[str] = []
    order = _header_problems(path, header, problems, required, optional)
    raise_first(problems)
    assert order is not None
    return order


def _header_problems(
    path: Path,
    header: list[str],
    problems: list[str],
    required: Sequence[str] = COLUMNS,
    optional: Sequence[str] = OPTIONAL,
) -> dict[str, int] | None:
    """Where each column is, or None with the problems appended."""
    names = [clean(name).lower() for name in header]
    expected = ", ".join(required)
    if optional:
        expected += " " + _("(and optionally {columns})").format(columns=", ".join(optional))
    for name in required:
        if name not in names:
            problems.append(
                f"{path}:1: {name}: "
                + _("column missing; the header must be {columns}").format(columns=expected)
            )
    for index, name in enumerate(names):
        if name not in (*required, *optional) or names.index(name) != index:
            problems.append(
                f"{path}:1: {name or index + 1}: "
                + _("unexpected column; the header must be {columns}").format(columns=expected)
            )
    return None if problems else {name: index for index, name in enumerate(names)}


def _parse_row(
    where: str, line: int, fields: list[str], order: dict[str, int], problems: list[str]
) -> _Row | None:
    if len(fields) != len(order):
        problems.append(
            f"{where}: "
            + _("{count} fields, expected {expected}").format(
                count=len(fields), expected=len(order)
            )
        )
        return None
    values = {name: clean(fields[index]) for name, index in order.items()}
    found = len(problems)
    for name in COLUMNS:
        if not values[name]:
            problems.append(f"{where}: {name}: " + _("must not be empty"))
    for name, limit in (
        ("village", NAME_MAX),
        ("head_name", NAME_MAX),
        ("household_code", CODE_MAX),
    ):
        if len(values[name]) > limit:
            problems.append(
                f"{where}: {name}: " + _("longer than {limit} characters").format(limit=limit)
            )
    members = _members(f"{where}: members: ", values["members"], problems)
    if len(problems) > found or members is None:
        return None
    working_age = _working_age(f"{where}: working_age: ", values.get("working_age", ""),
                               members, problems)  # fmt: skip
    if len(problems) > found:
        return None
    return _Row(
        line, values["village"], values["household_code"], values["head_name"], members,
        working_age,
    )  # fmt: skip


def _working_age(where: str, value: str, members: int, problems: list[str]) -> int | None:
    """Members of working age: empty for "not given", else a whole number up to ``members``."""
    if not value:
        return None
    try:
        count = int(value)
    except ValueError:
        problems.append(where + _("{value} is not a whole number").format(value=value))
        return None
    if not 0 <= count <= members:
        problems.append(
            where
            + _("{value} is outside {low} to {high}").format(value=count, low=0, high=members)
        )
        return None
    return count


def _members(where: str, value: str, problems: list[str]) -> int | None:
    if not value:
        return None
    try:
        members = int(value)
    except ValueError:
        problems.append(where + _("{value} is not a whole number").format(value=value))
        return None
    if not MEMBERS_MIN <= members <= MEMBERS_MAX:
        problems.append(
            where
            + _("{value} is outside {low} to {high}").format(
                value=members, low=MEMBERS_MIN, high=MEMBERS_MAX
            )
        )
        return None
    return members


def _village_index(villages: Sequence[Unit]) -> tuple[dict[str, Unit], dict[str, Unit]]:
    """Map village codes and name keys to the active village they now mean."""
    by_id = {village.id: village for village in villages}
    by_code: dict[str, Unit] = {}
    by_name: dict[str, Unit] = {}
    # Inactive villages first, so an active village wins a name they share.
    for village in sorted(villages, key=lambda v: v.active):
        current: Unit | None = village
        # A merged-away village still named in old lists leads to where it was merged.
        for _step in range(len(by_id)):
            if current is None or current.active:
                break
            current = by_id.get(current.merged_into_id or 0)
        if current is not None and current.active:
            by_code[village.code] = current
            by_name[name_key(village.name)] = current
    return by_code, by_name


async def _check_household_codes(
    session: AsyncSession, path: Path, rows: list[_Row], resolved: list[Unit | None]
) -> None:
    known = {village.id for village in resolved if village is not None}
    result = await session.execute(
        select(Household.village_id, Household.code).where(Household.village_id.in_(known))
    )
    taken = {(village_id, code) for village_id, code in result.all()}
    seen: dict[tuple[int | str, str], int] = {}
    problems: list[str] = []
    for row, village in zip(rows, resolved, strict=True):
        where = f"{path}:{row.line}: household_code: "
        name = village.name if village is not None else row.village
        owner = (village.id if village is not None else name_key(row.village), row.household_code)
        if owner in taken:
            problems.append(
                where
                + _("{code} already exists in village {village}").format(
                    code=row.household_code, village=name
                )
            )
        elif owner in seen:
            problems.append(
                where
                + _("{code} repeats row {row} in village {village}").format(
                    code=row.household_code, row=seen[owner], village=name
                )
            )
        seen.setdefault(owner, row.line)
    raise_first(problems)


def raise_first(problems: list[str]) -> None:
    if not problems:
        return
    more = len(problems) - 1
    message = problems[0]
    if more:
        message += " " + ngettext(
            "(and {count} more problem)", "(and {count} more problems)", more
        ).format(count=more)
    raise UnitError(message)


async def find_commune(session: AsyncSession, code: str) -> Unit:
    unit = await session.scalar(select(Unit).where(Unit.code == clean(code)))
    if unit is None or unit.level != COMMUNE:
        raise UnitError(_("No commune has the code {code}.").format(code=clean(code)))
    return unit


async def _unit(session: AsyncSession, code: str) -> Unit:
    unit = await session.scalar(select(Unit).where(Unit.code == clean(code)))
    if unit is None:
        raise UnitError(_("No unit has the code {code}.").format(code=clean(code)))
    return unit


async def _villages(session: AsyncSession, commune: Unit) -> Sequence[Unit]:
    result = await session.scalars(
        select(Unit).where(Unit.parent_id == commune.id, Unit.level == VILLAGE)
    )
    return result.all()


async def _next_codes(session: AsyncSession, commune: Unit, count: int) -> list[str]:
    prefix = f"{commune.code}-"
    codes = await session.scalars(select(Unit.code).where(Unit.code.startswith(prefix)))
    numbers = [int(code[len(prefix) :]) for code in codes if code[len(prefix) :].isdigit()]
    start = max(numbers, default=0) + 1
    return [f"{prefix}{number:03d}" for number in range(start, start + count)]


async def _free_code(session: AsyncSession, code: str) -> str:
    code = clean(code)
    if not code or len(code) > CODE_MAX or any(char.isspace() for char in code):
        raise UnitError(
            _("A unit code has 1 to {limit} characters and no spaces.").format(limit=CODE_MAX)
        )
    if await session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        raise UnitError(_("The code {code} is already used.").format(code=code))
    return code


async def _create_villages(
    session: AsyncSession, commune: Unit, names_and_codes: list[tuple[str, str]]
) -> list[Unit]:
    villages = [
        Unit(
            code=code, name=name, kind="village", level=VILLAGE, parent_id=commune.id,
            path="", depth=commune.depth + 1, active=True,
        )
        for name, code in names_and_codes
    ]  # fmt: skip
    session.add_all(villages)
    await session.flush()
    # The path holds the village's own id, known only after the insert.
    for village in villages:
        village.path = child_path(commune, village.id)
    await session.flush()
    return villages


def _clean_name(name: str) -> str:
    cleaned = clean(name)
    if not cleaned:
        raise UnitError(_("The name must not be empty."))
    if len(cleaned) > NAME_MAX:
        raise UnitError(_("The name is longer than {limit} characters.").format(limit=NAME_MAX))
    return cleaned


def clean(text: str) -> str:
    """Trim, collapse inner spaces and compose accents (NFC), as Vietnamese text arrives mixed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def name_key(name: str) -> str:
    """A village name as compared: spaces and accents normalised, case folded."""
    return clean(name).casefold()


async def households_by_village(
    session: AsyncSession, commune: Unit
) -> dict[tuple[str, str], Household]:
    """The commune's current households by (village name key, household code); a village is
    also found by its code."""
    rows = await session.execute(
        select(Household, Unit.name, Unit.code)
        .join(Unit, Unit.id == Household.village_id)
        .where(Unit.parent_id == commune.id, Household.removed_at.is_(None))
    )
    found: dict[tuple[str, str], Household] = {}
    for household, name, code in rows:
        found[(name_key(name), household.code)] = household
        found[(name_key(code), household.code)] = household
    return found


def check_household_size(members: int, working_age: int | None) -> None:
    """Refuse a headcount or a working-age count that cannot be (``UnitError``)."""
    if not MEMBERS_MIN <= members <= MEMBERS_MAX:
        raise UnitError(
            _("{value} is outside {low} to {high}").format(
                value=members, low=MEMBERS_MIN, high=MEMBERS_MAX
            )
        )
    if working_age is not None and not 0 <= working_age <= members:
        raise UnitError(
            _("{value} is outside {low} to {high}").format(value=working_age, low=0, high=members)
        )


def update_household(household: Household, members: int, working_age: int | None) -> bool:
    """Set a household's headcount and working-age members; True if anything changed."""
    check_household_size(members, working_age)
    changed = (household.members, household.working_age) != (members, working_age)
    household.members, household.working_age = members, working_age
    return changed
