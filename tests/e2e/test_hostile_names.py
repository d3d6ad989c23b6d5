"""Names and texts full of ``<``, ``>``, ``&``, quotes, braces, emoji and 5,000 characters,
through every flow that echoes them, on the real Telegram runner: Telegram refuses no call the
bot makes, and what the person reads is what was typed or named, character for character.

A name is data, never markup (``bot/rich.py``): ``<b>`` reads as ``<b>`` and ``&amp;`` as
``&amp;``, in a message, a button, a spreadsheet and a chart. Where a flow has a length limit,
its own refusal in the person's language is the answer, never the apology for a failure; a
text too long for one message arrives in parts Telegram takes, cut between words or lines,
never inside a tag or an entity. The flows: a person's own name (the greeting after /start,
/mydata); a leader adding households, their list and card; an officer adding villages (and the
same name again) and the commune's report; the arguments of /form, /report and /village; the
review's comment and decision number. A fixed list of hostile strings goes through each flow;
hypothesis adds generated ones where an example costs only a few messages.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from io import BytesIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import _, format_date, format_percent, local_time, ngettext, use_locale
from bot.services.context import GDHT
from bot.services.units import add_village
from bot.storage.models import Assessment, Household, Person, Unit
from conversations.loader import load_forms
from tests.support.chat import Chat
from tests.support.fake_telegram import FakeBotApi, FakeMessage, FakeUser

from .conftest import COMMUNE, NOW, RunningBot, World
from .test_roles import officer  # noqa: F401  (a fixture)
from .test_telegram_journeys import consent, labels

Sessions = async_sessionmaker[AsyncSession]

# --------------------------------------------------------------------------- the strings

WORDS = "<b>Xóm</b> & \"Co\" 'Út' &amp; 👨‍👩‍👧 {name} "
LONG = (WORDS * (5000 // len(WORDS) + 1))[:4999].rstrip() + "."
LONG += "x" * (5000 - len(LONG))  # 5,000 characters, words between single spaces
RUN = ("<&>\"'" * 1000)[:5000]  # 5,000 characters without a space: cut inside the word
assert len(LONG) == len(RUN) == 5000

HOSTILE = [
    "<b>",
    "</i>",
    "&amp;",
    "&",
    "\"'",
    '<a href="x">',
    "<b>đậm</b> & <i>nghiêng</i> <code>x</code>",
    "&lt;script&gt; &#39; &#x27; &nbsp; &",
    "{name} {0} {} %s %(name)s \\n",
    "👍🏽 👩🏿‍🚀 👨‍👩‍👧‍👦 🏳️‍🌈 🇻🇳",  # skin tones, ZWJ sequences, a flag
    unicodedata.normalize("NFD", "Nguyễn Thị Ánh Tuyết ở Ấp Đồng Tháp"),  # combining marks
    "<" * 100,
    LONG,
    RUN,
]
SHORT = [text for text in HOSTILE if len(text) <= 100]
# The pieces hypothesis joins into names and texts. No control characters: Telegram turns
# them into spaces, and the bot drops them from what it receives.
PIECES = [
    "<", ">", "&", '"', "'", "<b>", "</b>", "</i>", "&amp;", "&lt;", "&#39;", '<a href="x">',
    "{", "}", "{name}", "%s", "\\", "/", "a", "Ă", "đ", "ệ", "\u0301", "\u0323", " ",
    "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "😀",
]  # fmt: skip
names = (
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=24)
    .map("".join)
    .filter(lambda text: text.strip() != "")
)
typed = (  # what a person types may hold line breaks too
    st.lists(st.sampled_from([*PIECES, "\n"]), min_size=1, max_size=24)
    .map("".join)
    .filter(lambda text: text.strip() != "")
)

with use_locale("vi"):
    APOLOGY = _(
        "Sorry, something went wrong on our side. Your earlier answers are saved; "
        "please try again."
    )
    WELCOME = _("Welcome back, {name}!")
    NAME_LINE = _("Name: {name}")
    NOT_REGISTERED = _("not registered")
    HEAD_NAME_LIMIT = _("Please type the head of the household's name (2 to 100 letters).")
    ADDED_HOUSEHOLD = _("Added household {code} · {name}.")
    HOUSEHOLD = _("Household {code} · {name}")
    VILLAGE_ADDED = _("Village added: {name} (code {code}).")
    VILLAGE_EXISTS = _("The commune already has a village named {name}.")
    VILLAGE_TOO_LONG = _("The name is longer than {limit} characters.").format(limit=200)
    VILLAGE_BUTTON = _("{village} · {count} households")
    BACK = "◀ " + _("Back")
    REPORT_LINE = _("{name}: {count}/{total} ({share})")
    NONE_YET = format_percent(0.0)
    NO_FORM = _("There is no criteria set called {key}. Known sets: {keys}.")
    NO_UNIT = _("There is no unit with code {code}.")
    NO_VILLAGE = _("There is no village with code {code}. Ask your village leader for it.")
    GIVE_BACK = "↩ " + _("Return for changes")
    RECOGNISE = "🏅 " + _("Recognise")
    UNIT_YEAR = _("{unit}, year {year}")
    RETURNED = _("Returned to the village leader with your comment.")
    RETURNED_WITH = _("Returned with the comment: {comment}")
    COMMENT_LIMIT = _("Say what should change (1 to {maximum} characters).").format(maximum=500)
    RECOGNISED = _("Recognised under decision {number} of {date}.")
    DECISION_LIMIT = _(
        "Give the number of the recognition decision (at most {maximum} characters)."
    ).format(maximum=64)
    DECISION_DATE = format_date(dt.date(2026, 11, 15))
    TODAY = format_date(local_time(NOW).date())


def collapsed(text: str) -> str:
    """Text as a flow that tidies typed words keeps it: runs of spaces made one, ends trimmed."""
    return " ".join(text.split())


def village_name(text: str) -> str:
    """A typed village name as the commune keeps it: tidied, its accents composed (NFC)."""
    return unicodedata.normalize("NFC", collapsed(text))


def units(text: str) -> int:
    """Telegram's length: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------- checks


def refused(api: FakeBotApi, since: int = 0) -> list[str]:
    """Every call the bot made since `since` that the fake Bot API refused."""
    return [str(c)[:300] for c in api.calls[since:] if c.status is not None and c.status >= 400]


def read(messages: Iterable[FakeMessage]) -> str:
    """What the person reads in these messages, one after another."""
    return "\n".join(message.visible for message in messages)


def check_clean(api: FakeBotApi, since: int, what: str) -> None:
    """Nothing refused since `since`, and no apology for a failure in any chat it touched."""
    assert refused(api, since) == [], what
    touched = {c.chat_id for c in api.calls[since:] if c.chat_id is not None}
    apologies = [m.visible for c in touched for m in api.messages_to(c) if APOLOGY in m.visible]
    assert apologies == [], what


def check_cut(parts: list[FakeMessage], expected: str, what: str) -> None:
    """A text longer than one message arrives in parts, each within Telegram's limit, which
    together read the whole text: a cut drops only the space or line break it is made at, or
    falls inside a word that has none (a cut inside a tag or an entity would have been refused
    or would read differently)."""
    assert len(parts) > 1, what
    assert all(units(part.visible) <= 4096 for part in parts), what
    assert re.sub(r"\s", "", read(parts)) == re.sub(r"\s", "", expected), what


def with_buttons(chat: Chat) -> FakeMessage:
    """The newest message of the chat that has buttons (what the person taps next)."""
    return [m for m in chat.api.messages_to(chat.chat_id) if m.buttons][-1]


# -------------------------------------------------------------------------- 1. names and arguments


def full_name(user: FakeUser) -> str:
    """The name python-telegram-bot gives the bot: first and last name, as Telegram has them."""
    return f"{user.first_name} {user.last_name}" if user.last_name else user.first_name


async def greet(api: FakeBotApi, user: FakeUser) -> tuple[str, str]:
    """A newcomer agrees, comes back with /start and asks /mydata; return the greeting and
    the line of /mydata that names them."""
    chat = Chat(api, user)
    await consent(chat)
    mark = len(api.calls)
    welcome, _menu = await chat.send("/start", replies=2)
    assert not welcome.entities, f"{full_name(user)!r} turned into formatting"
    [mydata] = await chat.send("/mydata")
    check_clean(api, mark, repr(full_name(user)))
    named = NAME_LINE.split("{name}")[0]
    [line] = [line for line in mydata.visible.split("\n") if line.startswith(named)]
    return welcome.visible, line


async def check_arguments(
    api: FakeBotApi, chat: Chat, argument: str, village: bool = True
) -> None:
    """/form, /report and /village with `argument`: each says it knows no such thing, naming
    it as typed (its first 64 and 32 characters, where the bot quotes only those)."""
    mark = len(api.calls)
    key = argument.strip()
    answer = await chat.send(f"/form {argument}")
    assert read(answer).startswith(NO_FORM.split("{keys}")[0].format(key=key[:64])), repr(key)
    answer = await chat.send(f"/report {argument}")
    expected = NO_UNIT.format(code=key)
    if units(expected) > 4096:
        check_cut(answer, expected, repr(key))
    else:
        assert read(answer) == expected, repr(key)
    if village:
        answer = await chat.send(f"/village {argument}")
        assert read(answer) == NO_VILLAGE.format(code=key[:32]), repr(key)
    check_clean(api, mark, repr(key))


async def test_names_and_arguments_are_shown_as_telegram_gives_them(
    api: FakeBotApi, bot: RunningBot
) -> None:
    api.rate_limit(None, None)  # about what is shown, not the pace: no flood limits
    given_names = [
        *[(name, None) for name in SHORT[:6]],
        *[(name, None) for name in SHORT[8:11]],
        ("<b>Hoa</b>", "&amp; <i>👩🏿‍🚀"),
        # Telegram's names are at most 64 + 64 characters; the bot keeps 200 of any it gets.
        (RUN, None),
    ]
    for number, (first, last) in enumerate(given_names):
        user = api.user(8000 + number, first, "vi", last_name=last)
        welcome, line = await greet(api, user)
        name = full_name(user)[:200]
        assert welcome == WELCOME.format(name=name), repr(name)
        assert line == NAME_LINE.format(name=name), repr(name)
    chat = Chat(api, user)  # the last of them, who has agreed too
    arguments = ["<b>x", "<i>", *HOSTILE[1:], "<b>a\n</b>\n&amp;\n\n\"'"]
    for number, argument in enumerate(arguments):
        await check_arguments(api, chat, argument, village=number % 2 == 0)


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # one bot for every example
)
@given(first=names, last=st.none() | names, argument=typed)
async def test_any_name_and_argument_of_hostile_pieces_is_shown_as_it_is(
    api: FakeBotApi, bot: RunningBot, first: str, last: str | None, argument: str
) -> None:
    api.rate_limit(None, None)  # about what is shown, not the pace: no flood limits
    user = api.user(8200 + len(api.calls), first, "vi", last_name=last)  # a newcomer each time
    welcome, line = await greet(api, user)
    assert welcome == WELCOME.format(name=full_name(user)[:200])
    assert line == NAME_LINE.format(name=full_name(user)[:200])
    await check_arguments(api, Chat(api, user), argument)


# --------------------------------------------------------------------------- 2. households


async def add_household(leader: Chat, name: str) -> list[FakeMessage]:
    """/add, the head's name typed, then 3 people of whom 1 of working age; return what the
    bot answered the name with, or (when it took the name) the last step's answer."""
    await leader.send("/add")
    answer = await leader.send(name)
    if HEAD_NAME_LIMIT in read(answer):
        return answer
    await leader.send("3")
    return await leader.send("1")


async def household_labels(leader: Chat) -> list[str]:
    """Every household's label in the leader's list, page after page."""
    await leader.send("/households")
    found: list[str] = []
    while True:
        page = with_buttons(leader)
        found += [label for label in labels(page) if label.startswith(("⚪", "🔵", "📝"))]
        if "▶" not in labels(page):
            return found
        await leader.click("▶")


async def test_a_leader_adds_households_whose_heads_have_hostile_names(
    api: FakeBotApi, bot: RunningBot, village: World, session_factory: Sessions
) -> None:
    api.rate_limit(None, None)
    # A code as a commune's spreadsheet may give it (up to 32 characters): the bot's are H001….
    code, head = "<b>&amp;\"'</i>{0}👍🏽", "<i>Bà Tư</i>"
    async with session_factory() as session:
        session.add(Household(village_id=village.village.id, code=code, head_name=head, members=2))
        await session.commit()
    leader = Chat(api, village.leader_user)
    await consent(leader)
    added: dict[str, str] = {}  # code -> the head's name as the bot keeps it
    for name in [*HOSTILE, "  <b>  Hộ   &amp;\n Tư  "]:
        mark = len(api.calls)
        answer = await add_household(leader, name)
        check_clean(api, mark, repr(name))
        kept = collapsed(name)
        if not 2 <= len(kept) <= 100:  # "&", and the 5,000 characters
            assert read(answer) == HEAD_NAME_LIMIT, repr(name)
            continue
        said, card = answer[-2:]
        number = f"H{len(added) + 5:03d}"  # after H001 to H003 and the imported one
        assert said.visible == ADDED_HOUSEHOLD.format(code=number, name=kept), repr(name)
        assert card.visible.split("\n")[0] == "🏠 " + HOUSEHOLD.format(code=number, name=kept)
        assert not said.entities and not card.entities, repr(name)
        added[number] = kept
    assert len(added) == 12

    shown = await household_labels(leader)
    for number, kept in added.items():
        assert f"⚪ {number} · {kept} · {NOT_REGISTERED}" in shown, repr(kept)
    label = f"⚪ {code} · {head} · {NOT_REGISTERED}"
    assert label in shown
    await leader.send("/households")
    [card] = await leader.click(label)
    assert card.visible.split("\n")[0] == "🏠 " + HOUSEHOLD.format(code=code, name=head)
    assert not card.entities
    check_clean(api, 0, "the list and the card")


# ---------------------------------------------------------------------- 3. villages and the report


async def test_an_officer_adds_villages_with_hostile_names_then_reads_the_report(
    api: FakeBotApi,
    bot: RunningBot,
    officer: Chat,  # noqa: F811
    session_factory: Sessions,
) -> None:
    api.rate_limit(None, None)
    await officer.send("/start", replies=2)
    await officer.click(next(label for label in labels(officer.last_message()) if "🏘" in label))
    added: list[str] = []
    asked = False  # whether the bot waits for a name: after "+ Add", and after each refusal
    for name in [*HOSTILE, "&" * 200, "&" * 201]:
        add = next(label for label in labels(with_buttons(officer)) if label.startswith("+ "))
        mark = len(api.calls)
        if not asked:
            await officer.click(add)
        [answer, *listed] = await officer.send(name)
        check_clean(api, mark, repr(name))
        kept = village_name(name)
        if len(kept) > 200:
            assert answer.visible == VILLAGE_TOO_LONG, repr(name)
            asked = True
            continue
        async with session_factory() as session:
            [code] = (await session.scalars(select(Unit.code).where(Unit.name == kept))).all()
        assert answer.visible == VILLAGE_ADDED.format(name=kept, code=code), repr(name)
        [villages] = listed
        button = VILLAGE_BUTTON.format(village=kept, count="0")
        assert button in labels(villages), repr(name)
        added.append(kept)

        # The same name again (in capitals too, for some): it exists; nothing to apologise for.
        await officer.click(add)
        for again in [name, name.upper()] if len(added) % 4 == 1 else [name]:
            [exists] = await officer.send(again)
            assert exists.visible == VILLAGE_EXISTS.format(name=village_name(again)), repr(again)
        asked = True
        if len(added) % 4 == 2:  # its card: the name in bold, nothing else made bold by it
            [card] = await officer.click_on(villages, button)
            assert card.visible.split("\n")[0] == f"🏘 {kept} ({code})", repr(name)
            assert [(e["type"], e["offset"], e["length"]) for e in card.entities or []] == [
                ("bold", 3, units(kept))
            ], repr(name)
            await officer.click(BACK)
            asked = False
        check_clean(api, mark, repr(name))
    assert len(added) == 13

    # The commune's report: a line per village in chat, a row each in the spreadsheet.
    async with session_factory() as session:
        for unit in await session.scalars(select(Unit).where(Unit.name.in_(added))):
            session.add(Household(village_id=unit.id, code="H001", head_name="An", members=3))
        await session.commit()
    mark = len(api.calls)
    text, spreadsheet, chart = await report(officer)
    check_clean(api, mark, "the report")
    rows = [line.split(" ", 1)[1] for line in text.visible.split("\n") if ": 0/" in line]
    for kept in added:
        assert REPORT_LINE.format(name=kept, count=0, total=1, share=NONE_YET) in rows
    cells = spreadsheet_names(spreadsheet)
    assert set(added) <= set(cells)
    assert all(kind == "s" for name, kind in cells.items() if name in added)
    assert chart.photo is not None


async def report(chat: Chat) -> tuple[FakeMessage, FakeMessage, FakeMessage]:
    """/report: its text, the message with the spreadsheet, the one with the chart (what
    came in their place when a file is missing)."""
    answer = await chat.send("/report", replies=3)
    assert len(answer) == 3, read(answer)
    text, spreadsheet, chart = answer
    assert spreadsheet.document is not None, "no spreadsheet came"
    return text, spreadsheet, chart


def spreadsheet_names(message: FakeMessage) -> dict[object, str]:
    """The village names of the report's first sheet (column B under the heading) and the
    kind of cell each is: "s" a string, "f" a formula."""
    assert message.document is not None
    sheet = load_workbook(BytesIO(message.document.content)).worksheets[0]
    return {row[1].value: row[1].data_type for row in sheet.iter_rows(min_row=7)}


async def villages_named(sessions: Sessions, village_names: list[str]) -> None:
    """Villages of the test commune with these names, a household each (as an import adds)."""
    async with sessions() as session:
        for name in village_names:
            unit = await add_village(session, COMMUNE, name)
            session.add(Household(village_id=unit.id, code="H001", head_name="An", members=3))
        await session.commit()


@pytest.mark.parametrize(
    "name",
    [
        pytest.param('=HYPERLINK("https://example.com","Xóm Mới")', id="formula"),
        pytest.param("Xóm $\\frac$ & $x^$", id="dollars"),
    ],
)
async def test_a_report_keeps_a_village_name_that_looks_like_a_formula_or_mathtext(
    api: FakeBotApi,
    bot: RunningBot,
    officer: Chat,  # noqa: F811
    session_factory: Sessions,
    name: str,
) -> None:
    api.rate_limit(None, None)
    await villages_named(session_factory, [name])
    mark = len(api.calls)
    text, spreadsheet, chart = await report(officer)
    check_clean(api, mark, repr(name))
    assert f"⚠️ {REPORT_LINE.format(name=name, count=0, total=1, share=NONE_YET)}" in (
        text.visible.split("\n")
    )
    assert spreadsheet_names(spreadsheet).get(name) == "s"
    assert chart.photo is not None


# --------------------------------------------------------------------------- 4. the review

REVIEWED_VILLAGE = '<a href="x">Xóm</a> & "Co" {0} 👨‍👩‍👧'


async def waiting_households(sessions: Sessions, heads: list[str]) -> None:
    """A village of hostile name whose households, of hostile heads' names, each wait for the
    commune's review with a passing assessment of this year."""
    version = load_forms().get(GDHT).version
    async with sessions() as session:
        unit = await add_village(session, COMMUNE, REVIEWED_VILLAGE)
        author = await session.scalar(select(Person).order_by(Person.id))
        assert author is not None
        for number, head in enumerate(heads, start=1):
            household = Household(
                village_id=unit.id, code=f"M{number:03}", head_name=head, members=4
            )
            session.add(household)
            await session.flush()
            session.add(
                Assessment(
                    form_key=GDHT, form_version=version, year=NOW.year, subject="household",
                    household_id=household.id, created_by=author.id, state="submitted",
                    score=90.0, max_score=100.0, passed=True, submitted_at=NOW, submissions=1,
                )
            )  # fmt: skip
        await session.commit()


async def open_card(chat: Chat, code: str, listed: FakeMessage | None = None) -> FakeMessage:
    """Tap the household of `code` in the village's list of households waiting, paging on;
    on `listed`, a list the officer has since opened a card on, tap its buttons as a slow
    screen still shows them, rather than go back to the list each time."""
    while True:
        message = listed or with_buttons(chat)
        found = [label for label in all_labels(message) if code_of(label) == code]
        pager = [label for label in all_labels(message) if label.endswith("▶")]
        [card] = await chat.click_on(message, found[0] if found else pager[0])
        if found:
            return card


def all_labels(message: FakeMessage) -> list[str]:
    """The labels of the buttons a message shows, and showed before its edits."""
    markups = [message.reply_markup, *(markup for _text, markup in message.history)]
    return [
        str(button.get("text", ""))
        for markup in markups
        for row in (markup or {}).get("inline_keyboard", [])
        for button in row
    ]


def first_waiting(chat: Chat) -> str:
    """The code of the first household in the list on screen."""
    label = next(label for label in labels(with_buttons(chat)) if label.startswith("✅"))
    return code_of(label)


def code_of(label: str) -> str:
    """The household code of a review list's label ("✅ H001 · head · score"), else ""."""
    mark, _sep, rest = label.partition(" ")
    return rest.split(" · ", 1)[0] if mark in ("✅", "✖") else ""


async def test_the_review_shows_hostile_names_comments_and_decision_numbers_as_typed(
    api: FakeBotApi,
    bot: RunningBot,
    officer: Chat,  # noqa: F811
    session_factory: Sessions,
) -> None:
    api.rate_limit(None, None)
    comments = [text for text in HOSTILE if text not in ("&", "\"'")]
    # Typed alone (the decision is dated today), or with its date after a space, a comma or a
    # semicolon, which ends the number there: "12/&amp;" is whole only without a date after it.
    decisions = [(f"12/{text}", "") for text in ["<b>", "</i>", "&amp;", '<a href="x">']]
    decisions += [("12/<b>QĐ</b>-UBND", ", 15/11/2026"), ("1" + "<" * 64, "")]
    count = len(comments) + len(decisions)  # one each, and a few left waiting
    heads = [text for text in HOSTILE if len(text) <= 200]
    head_of = {f"M{n + 1:03}": heads[n % len(heads)] for n in range(count)}
    await waiting_households(session_factory, list(head_of.values()))
    village = collapsed(REVIEWED_VILLAGE)

    await officer.send("/review")
    header = with_buttons(officer)
    with use_locale("vi"):
        waiting = ngettext(
            "<b>{village}</b>: {count} household waiting for review.",
            "<b>{village}</b>: {count} households waiting for review.",
            count,
        )
    assert header.visible.startswith(
        waiting.replace("<b>", "").replace("</b>", "").format(village=village, count=count)
    )
    assert header.entities == [{"type": "bold", "offset": 0, "length": units(village)}]
    returned: dict[str, str] = {}  # code -> the comment as kept
    for comment in comments:
        mark = len(api.calls)
        code = first_waiting(officer)
        card = await open_card(officer, code)
        shown = card.visible.split("\n")
        assert shown[0] == "🏠 " + HOUSEHOLD.format(code=code, name=head_of[code])
        assert shown[1] == UNIT_YEAR.format(unit=village, year=NOW.year)
        await officer.click(GIVE_BACK)
        answer = await officer.send(comment)
        check_clean(api, mark, repr(comment))
        kept = collapsed(comment)
        if len(kept) > 500:
            assert answer[0].visible == COMMENT_LIMIT, repr(comment)
            # Asked again, not dropped: a shorter comment is taken at once.
            kept = collapsed(comment[:500])
            answer = await officer.send(comment[:500])
        assert answer[0].visible == RETURNED, repr(comment)
        returned[code] = kept
    assert len(returned) == len(comments)
    for number, dated in decisions:
        mark = len(api.calls)
        await open_card(officer, first_waiting(officer))
        await officer.click(RECOGNISE)
        answer = await officer.send(number + dated)
        check_clean(api, mark, repr(number))
        kept = collapsed(number)
        if len(kept) > 64:
            assert answer[0].visible == DECISION_LIMIT, repr(number)
            answer = await officer.send("12/QĐ-UBND")  # asked again: this one is taken
            assert answer[0].visible.startswith(RECOGNISED.format(number="12/QĐ-UBND", date=TODAY))
        else:
            date = DECISION_DATE if dated else TODAY
            assert answer[0].visible == RECOGNISED.format(number=kept, date=date), repr(number)

    # The leader sends them again unchanged: each card shows the comment it came back with.
    async with session_factory() as session:
        await session.execute(
            update(Assessment)
            .where(Assessment.state == "returned")
            .values(state="submitted", submissions=2)
        )
        await session.commit()
    await officer.send("/review")
    listed = with_buttons(officer)
    for code, comment in returned.items():
        mark = len(api.calls)
        card = await open_card(officer, code, listed)
        assert RETURNED_WITH.format(comment=comment) in card.visible.split("\n"), repr(comment)
        check_clean(api, mark, repr(comment))
