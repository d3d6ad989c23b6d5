"""A passing self-check is the citizen's own estimate: the village's branch leader (or the
commune officer) confirms or declines the title, it is then locked, and the report counts
confirmed titles on the working-age base. Also: a citizen who has not said where they live is
told so at the result, with one tap to fix it; nothing is stored before consent, not even
after an erasure; a late "I do not agree" takes nothing back by itself."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import router
from bot.chat.messages import Actor, Inbound, Outbound
from bot.chat.review_callbacks import CITIZENS, CONFIRM, DECLINE
from bot.chat.review_callbacks import pack as review_pack
from bot.services.context import Services
from bot.services.people import LEADER, grant
from bot.services.reports import build_report
from bot.services.units import add_village
from bot.storage.models import Assessment, FormSetting, Household, Identity, Person, Unit
from conversations.loader import load_forms

pytestmark = pytest.mark.usefixtures("geography")

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
HOAN_KIEM = "00070"
Sessions = async_sessionmaker[AsyncSession]


class Person_:
    """Someone on the terminal channel, talking to the router as a real chat would."""

    def __init__(self, sessions: Sessions, login: str) -> None:
        self.sessions, self.actor = sessions, Actor("terminal", login, login, login.title(), "vi")
        self.last = Outbound()

    async def send(self, text: str) -> str:
        if text.startswith("/"):
            name, _sep, argument = text[1:].partition(" ")
            inbound = Inbound(self.actor, command=name, argument=argument, keyed=True)
        else:
            inbound = Inbound(self.actor, text=text, keyed=True)
        return await self._handle(inbound)

    async def tap(self, data: str) -> str:
        return await self._handle(Inbound(self.actor, choice=data, keyed=True))

    async def _handle(self, inbound: Inbound) -> str:
        services = Services(self.sessions, load_forms(), clock=lambda: NOW)
        self.last = await router.handle(services, inbound)
        texts = [reply.text.plain() for reply in self.last.replies]
        if self.last.notice is not None:
            texts.insert(0, self.last.notice.plain())
        return "\n".join(texts)

    def buttons(self) -> list[tuple[str, str]]:
        return [(b.label, b.data) for r in self.last.replies for b in r.choices()]


async def _leader(sessions: Sessions, village: Unit, login: str = "binh") -> Person_:
    async with sessions() as session:
        person = Person(display_name=login, locale="vi", consent_at=NOW, created_at=NOW)
        session.add(person)
        await session.flush()
        session.add(Identity(person_id=person.id, channel="terminal", external_id=login,
                             chat_id=login, created_at=NOW))  # fmt: skip
        await grant(session, person.id, LEADER, village.id, NOW)
        await session.commit()
    return Person_(sessions, login)


async def _village(sessions: Sessions, name: str = "Thôn Đông") -> Unit:
    async with sessions() as session:
        village = await add_village(session, HOAN_KIEM, name)
        session.add(Household(village_id=village.id, code="H001", head_name="An", members=4,
                              working_age=3, created_at=NOW))  # fmt: skip
        await session.commit()
        return village


async def _passing_citizen(
    sessions: Sessions, village: Unit | None, login: str = "lan"
) -> Person_:
    citizen = Person_(sessions, login)
    await citizen.send("/start")
    await citizen.send("1")  # I agree
    if village is not None:
        await citizen.send(f"/village {village.code}")
    await citizen.send("/selfcheck")
    await citizen.send("1")  # the first group: người dân trong xã
    for _question in range(10):
        await citizen.send("1")  # "Regularly, every day": 10 points each
    return citizen


async def _self_check(sessions: Sessions) -> Assessment:
    async with sessions() as session:
        found = await session.scalar(select(Assessment).where(Assessment.subject == "person"))
        assert found is not None
        return found


async def test_a_passing_self_check_waits_for_confirmation_and_says_so(
    session_factory: Sessions,
) -> None:
    village = await _village(session_factory)
    citizen = await _passing_citizen(session_factory, village)
    result = await citizen.send("1")  # submit at the review
    assert "100/100 điểm — ✅ đạt tiêu chí — chờ xác nhận" in result
    assert "QĐ 324/QĐ-KHVN ngày 25/10/2023" in result
    assert "được công nhận" not in result
    check = await _self_check(session_factory)
    assert (check.state, check.passed, check.unit_id) == ("submitted", True, village.id)


async def test_the_branch_leader_confirms_the_title_and_it_is_counted_and_locked(
    session_factory: Sessions,
) -> None:
    village = await _village(session_factory)
    citizen = await _passing_citizen(session_factory, village)
    await citizen.send("1")
    leader = await _leader(session_factory, village)
    await leader.send("/start")
    waiting = review_pack(CITIZENS, f"{village.id}-0")
    assert ("👤 Thôn Đông: 1 người chờ xác nhận", waiting) in leader.buttons()
    listed = await leader.tap(waiting)
    assert "1 người tự đánh giá đạt tiêu chí, đang chờ xác nhận" in listed
    check = await _self_check(session_factory)
    assert "Đã xác nhận danh hiệu: Lan." in await leader.tap(review_pack(CONFIRM, check.id))
    async with session_factory() as session:
        confirmed = await session.get(Assessment, check.id)
        assert confirmed is not None
        assert (confirmed.state, confirmed.reviewed_by is not None) == ("recognised", True)
        report = await build_report(session, village, 2026, NOW)
        await session.commit()
    assert (report.total.confirmed, report.total.certified, report.total.working_age) == (1, 1, 3)
    # Confirmed is final: a second tap, or a decline, changes nothing.
    again = await leader.tap(review_pack(DECLINE, check.id))
    assert "đã được xác nhận, không thay đổi được nữa" in again
    assert (await _self_check(session_factory)).state == "recognised"


async def test_a_leader_of_another_village_or_the_wrong_role_cannot_confirm(
    session_factory: Sessions,
) -> None:
    east, west = await _village(session_factory), await _village(session_factory, "Thôn Tây")
    citizen = await _passing_citizen(session_factory, east)
    await citizen.send("1")
    check = await _self_check(session_factory)
    other = await _leader(session_factory, west, "dung")
    refused = await other.tap(review_pack(CONFIRM, check.id))
    assert "Chỉ chi hội trưởng của thôn này hoặc cán bộ xã mới xác nhận được." in refused
    assert other.last.alert
    # The commune sets who confirms: 2 = the commune officer only.
    async with session_factory() as session:
        commune = await session.scalar(select(Unit).where(Unit.code == HOAN_KIEM))
        assert commune is not None
        session.add(FormSetting(unit_id=commune.id, form_key="cong-dan-hoc-tap",
                                name="confirmer", value=2))  # fmt: skip
        await session.commit()
    own = await _leader(session_factory, east, "binh")
    assert "mới xác nhận được" in await own.tap(review_pack(CONFIRM, check.id))
    assert (await _self_check(session_factory)).state == "submitted"


async def test_a_citizen_without_a_village_is_told_and_one_tap_fixes_it(
    session_factory: Sessions,
) -> None:
    village = await _village(session_factory)
    citizen = await _passing_citizen(session_factory, None)
    result = await citizen.send("1")
    assert "Phiếu này chưa được tính cho thôn nào" in result
    choose = next(data for label, data in citizen.buttons() if "Chọn thôn của tôi" in label)
    assert "Gõ mã thôn" in await citizen.tap(choose)
    assert "Bạn ở tổ dân phố nào của Phường Hoàn Kiếm?" in await citizen.send("hoan kiem")
    pick = next(data for label, data in citizen.buttons() if label == "Thôn Đông")
    assert "Đã ghi: bạn ở Thôn Đông." in await citizen.tap(pick)
    assert (await _self_check(session_factory)).unit_id == village.id  # now it counts there


async def test_after_erasure_a_message_greets_and_asks_consent_storing_nothing(
    session_factory: Sessions,
) -> None:
    citizen = Person_(session_factory, "lan")
    await citizen.send("/start")
    await citizen.send("1")  # agree
    await citizen.send("/mydata")
    await citizen.tap(next(data for label, data in citizen.buttons() if "Xóa dữ liệu" in label))
    assert "dữ liệu của bạn đã được xóa" in await citizen.tap("u:erase-yes")
    async with session_factory() as session:
        people = await session.scalar(select(func.count()).select_from(Person))
    again = await citizen.send("xin chào")
    assert again.startswith("Xin chào! hoctap") and "Bạn có đồng ý không?" in again
    assert "hoctap không lưu gì về bạn" in await citizen.send("/mydata")
    async with session_factory() as session:  # no new, unconsented record
        assert await session.scalar(select(func.count()).select_from(Person)) == people
        assert await session.scalar(select(func.count()).select_from(Identity)) == 0


async def test_a_late_i_do_not_agree_after_agreeing_takes_nothing_back(
    session_factory: Sessions,
) -> None:
    citizen = Person_(session_factory, "lan")
    greeting = await citizen.send("/start")
    assert "Bạn có đồng ý không?" in greeting
    old_no = next(data for label, data in citizen.buttons() if label == "Tôi không đồng ý")
    await citizen.send("1")  # agree
    late = await citizen.tap(old_no)  # the old button, still on screen
    assert "Bạn đã đồng ý ngày" in late and "/mydata" in late
    assert "không lưu gì" not in late
    async with session_factory() as session:
        person = await session.scalar(select(Person))
        assert person is not None and person.consent_at is not None
