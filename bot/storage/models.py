"""The tables of the bot's database, declared with SQLAlchemy 2 typed mappings.

Holds the declarative `Base` (with a constraint naming convention so migrations stay portable),
the `UTCDateTime` column type and one class per table. Only portable column types are used, so the
same schema runs on SQLite and PostgreSQL.

Must not import services, channels, conversations or gettext, and must not format text for people.
Relationships are `lazy="raise"`: loading is always explicit (`selectinload`), never implicit IO.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Update,
    bindparam,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UNIT_LEVELS = {"province": 1, "commune": 2, "village": 3}
ROLES = ("citizen", "leader", "officer", "province", "admin")
SUBJECTS = ("household", "person", "village", "organisation", "clan")
ORGANISATION_KINDS = ("school", "agency", "enterprise", "cooperative")
ASSESSMENT_STATES = ("draft", "submitted", "returned", "recognised", "not_recognised")


def utcnow() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime stored as UTC; naive values are refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the database stores aware UTC times")
        utc = value.astimezone(dt.UTC)
        # SQLite has no time zone type: store the UTC wall time and re-attach UTC on load.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(AsyncAttrs, DeclarativeBase):
    """Declarative base; every constraint and index gets a predictable name."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """Return the Core table of a model, for bulk statements without ORM bookkeeping."""
    return cast(Table, model.__table__)


def update_of(model: type[Base], key: str, key_param: str, **new: str) -> Update:
    """A Core UPDATE of the row whose ``key`` column equals the parameter ``key_param``, setting
    each column named in ``new`` to the parameter named by its value (typed as the column).
    Built once, for the statements that run on every message (building one costs about as much
    as running it, and a Core statement skips the ORM's flush)."""
    table = table_of(model)
    values = {name: bindparam(param, type_=table.c[name].type) for name, param in new.items()}
    return update(table).where(table.c[key] == bindparam(key_param)).values(values)


class Unit(Base):
    """A node of the unit tree: province, commune (xã, phường, đặc khu), village or deeper."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The division type ("province", "city", "commune", "ward", "special_zone", "village", ...);
    # `level` groups them: 1 province, 2 commune, 3 village, deeper levels allowed.
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # Ancestor ids and its own, "/1/57/1200/", so a subtree is one indexed LIKE '/1/57/%'.
    path: Mapped[str] = mapped_column(String(255), index=True)
    depth: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(default=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped by database triggers whenever a household, registration or assessment of this unit
    # changes (migration 0007); stored totals counted at an older version are recounted.
    totals_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # A commune's word for its villages (thôn, ấp, bản, …); None: the default of its kind.
    village_word: Mapped[str | None] = mapped_column(String(16))

    parent: Mapped[Unit | None] = relationship(
        remote_side=[id], foreign_keys=[parent_id], lazy="raise"
    )


class Household(Base):
    """A household of a village; removal keeps the row so anonymous counts stay right."""

    __tablename__ = "households"
    __table_args__ = (
        UniqueConstraint("village_id", "code"),
        CheckConstraint("members > 0", name="members_positive"),
        # Covers the reports' count of households in scope per village (bot/storage/queries.py).
        Index(
            "ix_households_village_id_removed_at_created_at",
            "village_id",
            "removed_at",
            "created_at",
            "members",
            "working_age",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    code: Mapped[str] = mapped_column(String(32))
    head_name: Mapped[str] = mapped_column(String(200))
    members: Mapped[int] = mapped_column(Integer)
    # Members of working age: the base of the Công dân học tập share. None: not given yet.
    working_age: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    village: Mapped[Unit] = relationship(lazy="raise")


class Organisation(Base):
    """A learning unit's subject (Đơn vị học tập): a school, agency, enterprise or cooperative
    of a commune, with its head (who assesses it) and its staff (the base of their Công dân
    học tập share). Moving to another commune changes ``commune_id``; removal keeps the row."""

    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(_one_of("kind", ORGANISATION_KINDS), name="kind"),
        CheckConstraint("staff IS NULL OR staff >= 0", name="staff_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    staff: Mapped[int | None] = mapped_column(Integer)
    head_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Clan(Base):
    """A clan of a commune (Dòng họ học tập): its name, its head (who assesses it) and, in
    ``clan_households``, its member households, which may live in several villages."""

    __tablename__ = "clans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    head_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ClanHousehold(Base):
    """A household's clan: one clan per household (a member of none has no row)."""

    __tablename__ = "clan_households"

    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id"), primary_key=True, autoincrement=False
    )
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id"), index=True)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Registration(Base):
    """A household registered for the titles of one calendar year."""

    __tablename__ = "registrations"

    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Person(Base):
    """Someone who talks to the bot; erasure blanks the personal fields and keeps the row."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(16), default="vi")
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    consent_purpose: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The village a person lives in: their self-checks count in its totals. No foreign key: see
    # migration 0004 (units are never deleted; the service checks the village exists).
    home_unit_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # Which group's Công dân học tập form the person self-checks with ("resident", "worker",
    # "staff", "pupil": bot/services/groups.py); None: not chosen yet.
    citizen_group: Mapped[str | None] = mapped_column(String(16))


class ChatState(Base):
    """Where a person stands in a conversation, so a restart or another worker resumes there."""

    __tablename__ = "chat_states"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id"), primary_key=True, autoincrement=False
    )
    flow: Mapped[str] = mapped_column(String(64), default="")
    data: Mapped[str | None] = mapped_column(Text)  # JSON text of the flow's small state
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Identity(Base):
    """A person's account on one channel (Telegram user id, Zalo id, terminal name). The channel
    is the adapter's name, the same as its inbox rows': a new channel needs no new schema."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when a message to this chat was refused because the person blocked the bot; cleared
    # when they write again. Reminders skip blocked chats.
    blocked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When the person last wrote (kept to within ``people.SEEN_EVERY``): where a platform lets
    # the bot write only for a while after that (Zalo OA), reminders wait for the next message.
    # None: not known, or the platform said the time is up.
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RoleAssignment(Base):
    """A role held by a person over a unit (no unit for admin); revoked rows stay for audit."""

    __tablename__ = "role_assignments"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class FormVersion(Base):
    """A criteria-set file version seen by the bot (assessments name key and version)."""

    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(128))
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class FormSetting(Base):
    """A form parameter (points, pass mark, ...) overridden by a commune or province."""

    __tablename__ = "form_settings"
    __table_args__ = (UniqueConstraint("unit_id", "form_key", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    form_key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Assessment(Base):
    """One assessment of a household, a person, a village (its Cộng đồng học tập title:
    ``unit_id`` is the village), an organisation (Đơn vị học tập) or a clan (Dòng họ học tập;
    for both, ``unit_id`` is the commune) against one form version, for one year."""

    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint(_one_of("subject", SUBJECTS), name="subject"),
        CheckConstraint(_one_of("state", ASSESSMENT_STATES), name="state"),
        CheckConstraint(
            "(subject = 'household' AND household_id IS NOT NULL)"
            " OR (subject = 'person' AND person_id IS NOT NULL)"
            " OR (subject = 'village' AND unit_id IS NOT NULL AND household_id IS NULL"
            " AND person_id IS NULL)"
            " OR (subject = 'organisation' AND organisation_id IS NOT NULL)"
            " OR (subject = 'clan' AND clan_id IS NOT NULL)",
            name="subject_given",
        ),
        Index("ix_assessments_unit_id_year_form_key", "unit_id", "year", "form_key"),
        # Covers finding a household's deciding assessment of a year without reading the rows.
        Index(
            "ix_assessments_household_id_year_form_key",
            "household_id",
            "year",
            "form_key",
            "state",
            "passed",
            "unit_id",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_key: Mapped[str] = mapped_column(String(64))
    form_version: Mapped[int] = mapped_column(Integer)
    year: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(16))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    clan_id: Mapped[int | None] = mapped_column(ForeignKey("clans.id"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    state: Mapped[str] = mapped_column(String(16), default="draft")
    cursor: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column()
    level: Mapped[int | None] = mapped_column(Integer)
    # JSON text of the engine's Result, kept so a report never re-scores an old version.
    result: Mapped[str | None] = mapped_column(Text)
    review_comment: Mapped[str | None] = mapped_column(Text)
    decision_no: Mapped[str | None] = mapped_column(String(64))
    decision_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Who recognised (or confirmed, refused, returned) it; no foreign key (migration 0009).
    reviewed_by: Mapped[int | None] = mapped_column(Integer)
    # How many times it was submitted: 2 or more is a resubmission after the commune returned it.
    submissions: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    answers: Mapped[list[Answer]] = relationship(
        lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )


class Answer(Base):
    """One stored answer; unique per (assessment, question) so a redelivery is harmless."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("assessment_id", "question_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnswerRevision(Base):
    """An answer's earlier value, kept when a leader or citizen changed or cleared it.

    Written in the same transaction as the change, so an answer edited after the commune
    returned a submission still shows what was there before. Erased with the answers.
    """

    __tablename__ = "answer_revisions"
    __table_args__ = (
        Index("ix_answer_revisions_assessment_id_replaced_at", "assessment_id", "replaced_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)  # the value as it was before the change
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # when that value was given
    replaced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    replaced_by: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    # The assessment's `submissions` when the value was replaced: 0 while a first draft, n after
    # the n-th submission was returned. Rounds, not clock times, say what changed since when.
    submission_round: Mapped[int] = mapped_column(Integer)


class UnitTotals(Base):
    """One unit's counted numbers for a year and set of forms, at the unit's `totals_version`.

    A cache of the report's GROUP BY, kept exact by the version: database triggers bump it in
    the same transaction as any change it counts, and a report recounts rows that are behind.
    """

    __tablename__ = "unit_totals"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    forms: Mapped[str] = mapped_column(String(200), primary_key=True)  # "gdht-key/cdht-key"
    version: Mapped[int] = mapped_column(Integer)
    households: Mapped[int] = mapped_column(Integer)
    members: Mapped[int] = mapped_column(Integer)
    registered: Mapped[int] = mapped_column(Integer)
    assessed: Mapped[int] = mapped_column(Integer)
    passing: Mapped[int] = mapped_column(Integer)
    pending: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer)
    recognised: Mapped[int] = mapped_column(Integer)
    checked: Mapped[int] = mapped_column(Integer)
    certified: Mapped[int] = mapped_column(Integer)
    working_age: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    working_age_missing: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    confirmed: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class Target(Base):
    """A target share recognised for one title and year; no unit means the national default."""

    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("unit_id", "title", "year"),
        # NULLs are distinct in a unique constraint on both databases, so the national row
        # needs its own partial index to stay unique.
        Index(
            "uq_targets_national_title_year",
            "title",
            "year",
            unique=True,
            sqlite_where=text("unit_id IS NULL"),
            postgresql_where=text("unit_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    title: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    percent: Mapped[float] = mapped_column(Float)
    # What the share is of: "all" the subjects in scope, or those "registered" for the year
    # (local plans count both ways; only households register in hoctap).
    base: Mapped[str] = mapped_column(String(16), default="all", server_default=text("'all'"))


class Reminder(Base):
    """A message to one person at `due_at` (UTC). The periodic job sends what is due and closes
    the row (`done_at`, `outcome`) in its own transaction, so a restart neither loses nor repeats
    it. `key` makes planning idempotent: a campaign planned twice makes one row."""

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_done_at_channel_due_at", "done_at", "channel", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    # The messenger it goes out on, chosen when planned; None: the person has none to reach.
    channel: Mapped[str | None] = mapped_column(String(16))
    payload: Mapped[str | None] = mapped_column(Text)  # JSON text: ids, never personal data
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id"), index=True)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # "sent", "blocked" (the person blocked the bot), "failed" (gave up after retries),
    # "skipped" (turned off, no longer true, or nobody to reach).
    outcome: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Broadcast(Base):
    """A message from a commune officer to the commune's leaders or its citizens who agreed."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    audience: Mapped[str] = mapped_column(String(16))  # "leaders" | "citizens"
    text: Mapped[str] = mapped_column(Text)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the author was told how many got it (after every recipient's row closed).
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CampaignSetting(Base):
    """A commune's own choice for one built-in reminder campaign (missing: the defaults)."""

    __tablename__ = "campaign_settings"
    __table_args__ = (UniqueConstraint("unit_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(default=True)
    day: Mapped[str | None] = mapped_column(String(5))  # "MM-DD"
    days: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ReminderChoice(Base):
    """A person's own choice to receive one kind of reminder or not (missing: the default)."""

    __tablename__ = "reminder_choices"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id"), primary_key=True, autoincrement=False
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    enabled: Mapped[bool] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Lease(Base):
    """A named lease held by one process for a while: only the holder sends reminders, so two
    workers never double the rate or the messages."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ChannelToken(Base):
    """A channel's OAuth tokens (Zalo OA): one row per channel, encrypted with a key derived
    from the app's secret key, which lives only in the environment. Locked to be refreshed,
    so two workers never spend the same single-use refresh token."""

    __tablename__ = "channel_tokens"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    access_expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    refresh_token: Mapped[str] = mapped_column(Text)
    refresh_expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the platform refused the refresh token: nothing works until it is authorised
    # again (``hoctap zalo-oa authorize CODE``).
    dead_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


_UNSENT = text("reply IS NOT NULL AND replied_at IS NULL")


class InboxUpdate(Base):
    """A raw update committed before it is acknowledged; `done_at` commits with its effect, and
    with them `reply`, what the effect must show; `replied_at` once the channel took it."""

    __tablename__ = "inbox"
    __table_args__ = (
        Index("ix_inbox_done_at_channel_received_at", "done_at", "channel", "received_at"),
        Index(
            "ix_inbox_unsent",
            "channel",
            "update_id",
            sqlite_where=_UNSENT,
            postgresql_where=_UNSENT,
        ),
    )

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_key: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)  # the raw JSON as received
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reply: Mapped[str | None] = mapped_column(Text)  # the Outbound as JSON (bot.chat.messages)
    replied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Who did what to which object; `detail` never holds personal data values."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    detail: Mapped[str | None] = mapped_column(Text)


class Invite(Base):
    """A one-time code that gives a role over a unit; it expires and can be revoked."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    # For the head of a learning unit or a clan ("head"): what they will assess.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    clan_id: Mapped[int | None] = mapped_column(ForeignKey("clans.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class LinkCode(Base):
    """A short-lived code that joins a person's identity on another messenger to them."""

    __tablename__ = "link_codes"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
