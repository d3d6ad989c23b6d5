"""Villages and households: add, rename, merge and list villages, and import a commune's CSV in one
transaction, refusing a broken file whole with the file, row and field of the first problem."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import use_locale
from bot.services.units import (
    UnitError,
    add_village,
    import_csv,
    list_villages,
    merge_villages,
    rename_unit,
)
from bot.storage.models import Assessment, Household, Person, Unit

pytestmark = pytest.mark.usefixtures("geography")

HOAN_KIEM = "00070"  # Phường Hoàn Kiếm, Hà Nội
CUA_NAM = "00073"  # Phường Cửa Nam, Hà Nội
HEADER = "village,household_code,head_name,members"


def _write(tmp_path: Path, text: str, name: str = "households.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


async def _count(session: AsyncSession, model: type[Household] | type[Unit]) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


async def _household(session: AsyncSession, village: Unit, code: str) -> Household:
    household = Household(village_id=village.id, code=code, head_name="Nguyễn Văn An", members=4)
    session.add(household)
    await session.flush()
    return household


async def test_add_village_makes_up_codes_and_places_it_under_the_commune(
    session: AsyncSession,
) -> None:
    first = await add_village(session, HOAN_KIEM, "  Tổ   dân phố 1 ")
    second = await add_village(session, HOAN_KIEM, "Tổ dân phố 2")
    given = await add_village(session, HOAN_KIEM, "Tổ dân phố 3", code="HK-TDP3")
    await session.commit()
    commune = await session.scalar(select(Unit).where(Unit.code == HOAN_KIEM))
    assert commune is not None
    assert [first.code, second.code, given.code] == ["00070-001", "00070-002", "HK-TDP3"]
    assert first.name == "Tổ dân phố 1"
    assert (first.kind, first.level, first.depth) == ("village", 3, 3)
    assert first.path == f"{commune.path}{first.id}/"


@pytest.mark.parametrize(
    ("commune", "name", "code"),
    [
        ("99999", "Thôn 1", None),  # no such commune
        ("01", "Thôn 1", None),  # a province, not a commune
        (HOAN_KIEM, "   ", None),  # empty name
        (HOAN_KIEM, "thôn  MỘT", None),  # same name as an existing village
        (HOAN_KIEM, "Thôn 2", "00073"),  # code of another unit
        (HOAN_KIEM, "Thôn 2", "has space"),
    ],
)
async def test_add_village_refuses_bad_input(
    session: AsyncSession, commune: str, name: str, code: str | None
) -> None:
    await add_village(session, HOAN_KIEM, "Thôn Một")
    with pytest.raises(UnitError):
        await add_village(session, commune, name, code=code)


async def test_rename_keeps_names_unique_within_the_commune(session: AsyncSession) -> None:
    village = await add_village(session, HOAN_KIEM, "Thôn 1")
    await add_village(session, HOAN_KIEM, "Thôn 2")
    renamed = await rename_unit(session, village.code, "Thôn Đông")
    assert renamed.name == "Thôn Đông"
    with pytest.raises(UnitError):
        await rename_unit(session, village.code, "thôn 2")
    with pytest.raises(UnitError):
        await rename_unit(session, "no-such-code", "Thôn 3")


async def test_merge_moves_households_and_assessments_and_retires_the_source(
    session: AsyncSession,
) -> None:
    source = await add_village(session, HOAN_KIEM, "Thôn 1")
    target = await add_village(session, HOAN_KIEM, "Thôn 2")
    household = await _household(session, source, "H01")
    await _household(session, target, "H02")
    leader = Person(display_name="Chi hội trưởng")
    session.add(leader)
    await session.flush()
    assessment = Assessment(
        form_key="gia-dinh", form_version=1, year=2025, subject="household",
        household_id=household.id, unit_id=source.id, created_by=leader.id,
    )  # fmt: skip
    session.add(assessment)
    await session.flush()

    assert await merge_villages(session, source.code, target.code) is target
    await session.commit()
    session.expunge_all()

    moved = await session.scalar(select(Household).where(Household.code == "H01"))
    retired = await session.scalar(select(Unit).where(Unit.id == source.id))
    assert moved is not None
    assert moved.village_id == target.id
    assert await session.scalar(select(Assessment.unit_id)) == target.id
    assert retired is not None
    assert (retired.active, retired.merged_into_id) == (False, target.id)
    assert [row.code for row in await list_villages(session, HOAN_KIEM)] == [target.code]


async def test_merge_refuses_clashing_codes_other_communes_and_itself(
    session: AsyncSession,
) -> None:
    one = await add_village(session, HOAN_KIEM, "Thôn 1")
    two = await add_village(session, HOAN_KIEM, "Thôn 2")
    other = await add_village(session, CUA_NAM, "Thôn 1")
    await _household(session, one, "H01")
    await _household(session, two, "H01")
    for source, target in ((one, two), (one, other), (one, one), (one, "00070")):
        code = target if isinstance(target, str) else target.code
        with pytest.raises(UnitError):
            await merge_villages(session, source.code, code)
    assert one.active


async def test_list_villages_counts_households_still_present(session: AsyncSession) -> None:
    village = await add_village(session, HOAN_KIEM, "Thôn B")
    await add_village(session, HOAN_KIEM, "Thôn A")
    await _household(session, village, "H01")
    removed = await _household(session, village, "H02")
    removed.removed_at = removed.created_at
    await session.flush()
    rows = await list_villages(session, HOAN_KIEM)
    assert [(row.name, row.households) for row in rows] == [("Thôn A", 0), ("Thôn B", 1)]


async def test_a_large_file_imports_in_one_transaction(
    session: AsyncSession, tmp_path: Path
) -> None:
    lines = [HEADER] + [
        f"Thôn {v},H{h:03d},Nguyễn Văn {v}-{h},{1 + h % 9}" for v in range(20) for h in range(150)
    ]
    path = _write(tmp_path, "\n".join(lines) + "\n")

    summary = await import_csv(session, path, HOAN_KIEM)
    assert (summary.villages_added, summary.households_added) == (20, 3000)
    # Nothing was committed inside: rolling back leaves the database as it was.
    await session.rollback()
    assert await _count(session, Household) == 0
    assert await list_villages(session, HOAN_KIEM) == []

    await import_csv(session, path, HOAN_KIEM)
    await session.commit()
    rows = await list_villages(session, HOAN_KIEM)
    assert len(rows) == 20
    assert {row.households for row in rows} == {150}


async def test_import_reads_bom_semicolons_codes_and_names_of_existing_villages(
    session: AsyncSession, tmp_path: Path
) -> None:
    existing = await add_village(session, HOAN_KIEM, "Thôn Đông")
    text = (
        "members;head_name;household_code;village\n"
        f"4;Trần Thị Bình;A1;{existing.code}\n"
        "3;Lê Văn Cường;A2; thôn  đông \n"
        "\n"
        "5;Phạm Thị Dung;A1;Thôn Tây\n"
        "2;Hoàng Văn Em;A2;THÔN TÂY\n"
    )
    summary = await import_csv(session, _write(tmp_path, text, bom=True), HOAN_KIEM)
    assert (summary.villages_added, summary.households_added) == (1, 4)
    rows = {row.name: row.households for row in await list_villages(session, HOAN_KIEM)}
    assert rows == {"Thôn Đông": 2, "Thôn Tây": 2}


async def test_import_into_a_merged_village_goes_to_its_target(
    session: AsyncSession, tmp_path: Path
) -> None:
    old = await add_village(session, HOAN_KIEM, "Thôn Cũ")
    new = await add_village(session, HOAN_KIEM, "Thôn Mới")
    await merge_villages(session, old.code, new.code)
    path = _write(tmp_path, f"{HEADER}\nThôn Cũ,H1,Ngô Văn Phúc,3\n")
    summary = await import_csv(session, path, HOAN_KIEM)
    assert summary.villages_added == 0
    assert await session.scalar(select(Household.village_id)) == new.id


BROKEN = [
    ("village,household_code,head_name\nThôn 1,H1,An\n", 1, "members"),
    (f"{HEADER},phone\nThôn 1,H1,An,3,0900\n", 1, "phone"),
    (f"{HEADER}\nThôn 1,H1,An,3\nThôn 1,H2,Bình\n", 3, None),
    (f"{HEADER}\nThôn 1,H1,An,3\nThôn 1,H2,,4\n", 3, "head_name"),
    (f"{HEADER}\nThôn 1,,An,3\n", 2, "household_code"),
    (f"{HEADER}\n,H1,An,3\n", 2, "village"),
    (f"{HEADER}\nThôn 1,H1,An,ba\n", 2, "members"),
    (f"{HEADER}\nThôn 1,H1,An,2.5\n", 2, "members"),
    (f"{HEADER}\nThôn 1,H1,An,0\n", 2, "members"),
    (f"{HEADER}\nThôn 1,H1,An,51\n", 2, "members"),
    (f"{HEADER}\nThôn 1,H1,An,3\nThôn 2,H1,Bình,3\nthôn 1,H1,Cúc,3\n", 4, "household_code"),
    (f"{HEADER}\nThôn Đông,H1,An,3\n", 2, "household_code"),  # already in the database
    (f"{HEADER}\nThôn 1,{'H' * 33},An,3\n", 2, "household_code"),
    (f"{HEADER}\n", 2, None),
    ("", 1, "village"),
    (f'{HEADER}\nThôn 1,H1,An,3\nThôn 1,"H2"x,Bình,3\n', 3, None),  # broken quoting
]


@pytest.mark.parametrize(("text", "row", "field"), BROKEN)
async def test_a_broken_file_is_refused_whole_naming_row_and_field(
    session: AsyncSession, tmp_path: Path, text: str, row: int, field: str | None
) -> None:
    village = await add_village(session, HOAN_KIEM, "Thôn Đông")
    await _household(session, village, "H1")
    await session.commit()
    units, households = await _count(session, Unit), await _count(session, Household)
    path = _write(tmp_path, text)

    with pytest.raises(UnitError) as refused:
        await import_csv(session, path, HOAN_KIEM)

    message = str(refused.value)
    assert message.startswith(f"{path}:{row}: {field + ':' if field else ''}")
    assert "\n" not in message
    await session.commit()
    assert (await _count(session, Unit), await _count(session, Household)) == (units, households)


async def test_import_names_all_further_problems_in_one_line(
    session: AsyncSession, tmp_path: Path
) -> None:
    path = _write(tmp_path, f"{HEADER}\nThôn 1,H1,An,0\nThôn 1,H2,Bình,x\nThôn 1,H3,,1\n")
    with use_locale("en"), pytest.raises(UnitError) as refused:
        await import_csv(session, path, HOAN_KIEM)
    assert str(refused.value) == f"{path}:2: members: 0 is outside 1 to 50 (and 2 more problems)"


async def test_import_refuses_unreadable_files_and_unknown_communes(
    session: AsyncSession, tmp_path: Path
) -> None:
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(f"{HEADER}\nThôn 1,H1,An,3\n".encode("cp1258", errors="replace"))
    good = _write(tmp_path, f"{HEADER}\nThôn 1,H1,An,3\n")
    with use_locale("en"):
        for path, commune, expected in (
            (latin, HOAN_KIEM, f"{latin}: not UTF-8 text"),
            (tmp_path / "missing.csv", HOAN_KIEM, f"{tmp_path / 'missing.csv'}: cannot read"),
            (good, "99999", f"{good}: commune: No commune has the code 99999"),
        ):
            with pytest.raises(UnitError, match="^" + re.escape(expected)):
                await import_csv(session, path, commune)
    assert await _count(session, Household) == 0


async def test_import_takes_working_age_members_when_the_file_gives_them(
    session: AsyncSession, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        f"{HEADER},working_age\nThôn Đông,H1,An,4,2\nThôn Đông,H2,Bình,3,\nThôn Đông,H3,Chi,1,0\n",
    )
    await import_csv(session, path, HOAN_KIEM)
    await session.commit()
    rows = (await session.execute(select(Household.code, Household.working_age))).all()
    # An empty cell is "not given yet", never a guess from the headcount.
    assert sorted(rows) == [("H1", 2), ("H2", None), ("H3", 0)]


@pytest.mark.parametrize(
    ("cell", "problem"),
    [("5", "5 is outside 0 to 4"), ("hai", "hai is not a whole number"), ("-1", "-1 is outside")],
)
async def test_working_age_above_the_headcount_or_not_a_number_is_refused(
    session: AsyncSession, tmp_path: Path, cell: str, problem: str
) -> None:
    path = _write(tmp_path, f"{HEADER},working_age\nThôn Đông,H1,An,4,{cell}\n")
    with use_locale("en"), pytest.raises(UnitError) as refused:
        await import_csv(session, path, HOAN_KIEM)
    assert str(refused.value).startswith(f"{path}:2: working_age: {problem}")
