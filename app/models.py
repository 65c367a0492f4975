"""Tables and their input/output shapes (SQLModel), plus the derived rollup tables.

Responses are anonymous: no name, NIK, phone number or IP address is stored with one.
"""

import re
import secrets
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import AfterValidator, StringConstraints, WithJsonSchema, field_validator
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from app.core.forms import MAX_ELEMENTS

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# WIB, WITA, WIT: the three Indonesian time zones, stored by IANA name.
TIME_ZONES = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}
CHANNELS = ("qr", "kiosk", "paper", "api")
Channel = Literal["qr", "kiosk", "paper", "api"]
ANSWER_COLUMNS = tuple(f"a{i}" for i in range(1, MAX_ELEMENTS + 1))
SUGGESTION_MAX = 2000

CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"
CODE_RULE = (
    "codes are 1 to 40 characters: lower-case letters, digits, '-' or '_', "
    "starting with a letter or digit"
)


def _code(value: str) -> str:
    # Lowered and trimmed, as staff type them ("DUKCAPIL-Kantor "); the rule in words rather
    # than pydantic's regular expression.
    code = value.strip().lower()
    if not re.fullmatch(CODE_PATTERN, code):
        raise ValueError(CODE_RULE)
    return code


Code = Annotated[
    str,
    AfterValidator(_code),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*[A-Za-z0-9][A-Za-z0-9_-]{0,39}\s*$",
            "description": CODE_RULE,
        }
    ),
]
# No NUL: PostgreSQL cannot store it in text, and no name or address needs one.
NO_NUL = r"^[^\x00]*$"
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL)
]
Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500, pattern=NO_NUL)]
# A questionnaire's code (survey_forms/*.yaml); services check it against the stored forms.
FormCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=NO_NUL)
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every database (SQLite keeps no offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; pass a timezone-aware value")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER only


def zone_label(iana: str) -> str:
    """WIB, WITA or WIT for a stored IANA zone name (any other name as it is)."""
    return next((label for label, zone in TIME_ZONES.items() if zone == iana), iana)


def _time_zone(value: str) -> str:
    zone = TIME_ZONES.get(value.upper(), value)
    if zone not in TIME_ZONES.values():
        raise ValueError(f"time zone must be WIB, WITA or WIT ({', '.join(TIME_ZONES.values())})")
    return zone


# --- unit: the organisation tree (pemda -> OPD/dinas -> unit pelayanan, any depth) ---


class UnitBase(SQLModel):
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200)
    address: str | None = Field(default=None, max_length=500)
    # No default: a wrong zone misdates every response near midnight (see UnitCreate).
    time_zone: str = Field(max_length=40)


class Unit(UnitBase, table=True):
    __tablename__ = "unit"
    id: int | None = Field(default=None, primary_key=True)
    parent_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    # The questionnaire its survey uses; None: the SKM_DEFAULT_FORM setting.
    form_code: str | None = Field(default=None, max_length=60)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class UnitCreate(SQLModel):
    model_config = {"extra": "forbid"}

    code: Code
    name: Name
    address: Address | None = None
    time_zone: str | None = Field(
        default=None,
        description="WIB, WITA or WIT (or its IANA name). Required for a unit at the top of the "
        "tree; a unit with a parent takes its parent's zone when none is given.",
    )
    parent_code: Code | None = None
    form_code: FormCode | None = Field(
        default=None, description="Its questionnaire; null: the default form (SKM_DEFAULT_FORM)"
    )

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _time_zone(value)


class UnitUpdate(SQLModel):
    """Changes to a unit; omitted fields stay. A null parent_code moves it to the top."""

    model_config = {"extra": "forbid"}

    name: Name | None = None
    address: Address | None = None
    time_zone: str | None = Field(
        default=None,
        description="WIB, WITA or WIT: a new zone re-dates the unit's stored responses (and "
        "its IKM per day and period) from the moment each was sent",
    )
    parent_code: Code | None = None
    form_code: FormCode | None = Field(
        default=None, description="Its questionnaire; null: back to the default form"
    )
    active: bool | None = Field(default=None, description="false closes its counters' surveys")

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _time_zone(value)


# --- unit_report_setting and unit_logo: who signs a unit's report, and its logo ---

NIP_DIGITS = 18
FOREWORD_MAX = 4000


def _nip(value: str) -> str:
    # Typed as printed ("19800101 200501 1 001"); stored as its 18 digits.
    digits = "".join(value.split())
    if not (digits.isascii() and digits.isdigit()) or len(digits) != NIP_DIGITS:
        raise ValueError(
            f"a NIP is {NIP_DIGITS} digits (spaces allowed between them), "
            f"got {len(digits)} character(s){'' if digits.isdigit() else ' with non-digits'}"
        )
    return digits


Nip = Annotated[
    str,
    AfterValidator(_nip),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^[0-9 ]+$",
            "description": "18 digits; spaces as printed are allowed and dropped",
            "examples": ["19800101 200501 1 001"],
        }
    ),
]
City = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_NUL)
]
Foreword = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=FOREWORD_MAX, pattern=NO_NUL),
]


class UnitReportSettingBase(SQLModel):
    """What a unit's report prints that the responses do not say. Every field is optional;
    the report fills a gap with its default (SKM.md section 5, the signature block)."""

    signer_title: str | None = Field(default=None, max_length=200)  # jabatan
    signer_name: str | None = Field(default=None, max_length=200)
    signer_nip: str | None = Field(default=None, max_length=NIP_DIGITS)  # digits only
    city: str | None = Field(default=None, max_length=100)  # place of signing
    sign_date: date | None = None  # None: the day the report is made
    foreword: str | None = Field(default=None, max_length=FOREWORD_MAX)  # kata pengantar


class UnitReportSetting(UnitReportSettingBase, table=True):
    __tablename__ = "unit_report_setting"
    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UnitReportSettingUpdate(SQLModel):
    """A unit's report settings, all at once (an omitted or null field returns to its
    default)."""

    model_config = {"extra": "forbid"}

    signer_title: Name | None = Field(
        default=None,
        description="Jabatan of the signer, e.g. 'Kepala Dinas Kependudukan dan Pencatatan "
        "Sipil' or 'Wali Kota Kendari'; null: 'Kepala ' + the unit's name",
    )
    signer_name: Name | None = Field(
        default=None, description="Name with its degrees as signed; null: a line to sign over"
    )
    signer_nip: Nip | None = Field(
        default=None, description="18 digits; null: a line to fill in (none when a name is set)"
    )
    city: City | None = Field(
        default=None,
        description="Place of signing, e.g. 'Kendari'; null: the nearest parent unit's city, "
        "else a line to fill in",
    )
    sign_date: date | None = Field(default=None, description="null: the day of the report")
    foreword: Foreword | None = Field(
        default=None,
        description="Kata pengantar (paragraphs separated by blank lines); null: the standard text",
    )


class UnitLogo(SQLModel, table=True):
    """A unit's logo, in the database so every worker and every backup has it. Its
    descendants print it unless they have their own."""

    __tablename__ = "unit_logo"
    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    media_type: str = Field(max_length=40)  # reports.logo.MEDIA_TYPES, read from the content
    content: bytes = Field(sa_type=sa.LargeBinary)
    sha256: str = Field(max_length=64)
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- service (jenis layanan) and counter (loket / QR point) of a unit ---


class Service(SQLModel, table=True):
    __tablename__ = "service"
    __table_args__ = (sa.UniqueConstraint("unit_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    code: str = Field(max_length=40)
    name: str = Field(max_length=200)
    active: bool = True


class ServiceCreate(SQLModel):
    unit_code: Code
    code: Code
    name: Name


class ServiceUpdate(SQLModel):
    model_config = {"extra": "forbid"}

    name: Name | None = None
    active: bool | None = Field(default=None, description="false hides it from the survey page")


def new_token() -> str:
    return secrets.token_urlsafe(16)


class Counter(SQLModel, table=True):
    __tablename__ = "counter"
    __table_args__ = (sa.UniqueConstraint("unit_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    service_id: int | None = Field(default=None, foreign_key="service.id")
    code: str = Field(max_length=40)
    name: str = Field(max_length=200)
    # The public survey URL is /s/{token}: unguessable, rotatable, never the id.
    token: str = Field(default_factory=new_token, max_length=64, unique=True)
    # A tablet at the counter that everyone answers on: set by staff, never by the link.
    kiosk: bool = False
    active: bool = True


class CounterCreate(SQLModel):
    unit_code: Code
    code: Code
    name: Name
    service_code: Code | None = None
    kiosk: bool = Field(
        default=False, description="a tablet at the counter that everyone answers on"
    )


class CounterUpdate(SQLModel):
    """Changes to a counter; omitted fields stay. A null service_code detaches the service."""

    model_config = {"extra": "forbid"}

    name: Name | None = None
    service_code: Code | None = None
    active: bool | None = Field(default=None, description="false closes its survey page (410)")
    kiosk: bool | None = Field(
        default=None, description="true: a tablet at the counter that everyone answers on"
    )


# --- form_version: an immutable questionnaire definition ---


class FormVersion(SQLModel, table=True):
    __tablename__ = "form_version"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=60, index=True)
    content_hash: str = Field(max_length=64, unique=True)
    element_codes: str = Field(max_length=1000)  # comma-separated, in answer-column order
    definition: dict[str, Any] = Field(sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.element_codes.split(","))


# --- response: one anonymous questionnaire ---


def _answer_checks() -> list[sa.CheckConstraint]:
    return [sa.CheckConstraint(f"{c} BETWEEN 1 AND 4", name=f"{c}_range") for c in ANSWER_COLUMNS]


class Response(SQLModel, table=True):
    __tablename__ = "response"
    __table_args__ = (
        sa.CheckConstraint(f"channel IN {CHANNELS!r}", name="channel"),
        sa.CheckConstraint("age IS NULL OR age BETWEEN 1 AND 130", name="age_range"),
        # Lists and exports walk a unit's responses in this order (see app/responses.py).
        sa.Index("ix_response_unit_id_local_date_id", "unit_id", "local_date", "id"),
        *_answer_checks(),
    )
    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    unit_id: int = Field(foreign_key="unit.id")
    service_id: int | None = Field(default=None, foreign_key="service.id")
    counter_id: int | None = Field(default=None, foreign_key="counter.id", index=True)
    form_version_id: int = Field(foreign_key="form_version.id")
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    local_date: date  # submitted_at's date in the unit's time zone: periods filter on this
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    channel: str = Field(max_length=10)
    # A client-chosen key: the database refuses a second row with it (retries are no-ops).
    idempotency_key: str = Field(max_length=100, unique=True)
    # SHA-256 of what was sent with the key: a replay must match it, or it is a conflict.
    body_hash: str | None = Field(default=None, max_length=64)
    flagged: bool = False  # suspected automated or duplicate; excluded from the IKM by default
    sex: str | None = Field(default=None, max_length=20)
    age: int | None = Field(default=None, sa_type=sa.SmallInteger)
    education: str | None = Field(default=None, max_length=20)
    occupation: str | None = Field(default=None, max_length=20)
    suggestion: str | None = Field(default=None, max_length=SUGGESTION_MAX)
    # Answers 1..4 or NULL (blank), in the form version's element order.
    a1: int | None = Field(default=None, sa_type=sa.SmallInteger)
    a2: int | None = Field(default=None, sa_type=sa.SmallInteger)
    a3: int | None = Field(default=None, sa_type=sa.SmallInteger)
    a4: int | None = Field(default=None, sa_type=sa.SmallInteger)
    a5: int | None = Field(default=None, sa_type=sa.SmallInteger)
    a6: int | None = Field(default=None, sa_type=sa.SmallInteger)
    a7: int | None = Field(default=None, sa_type=sa.SmallInteger)
    a8: int | None = Field(default=None, sa_type=sa.SmallInteger)
    a9: int | None = Field(default=None, sa_type=sa.SmallInteger)
    a10: int | None = Field(default=None, sa_type=sa.SmallInteger)
    a11: int | None = Field(default=None, sa_type=sa.SmallInteger)
    a12: int | None = Field(default=None, sa_type=sa.SmallInteger)
    a13: int | None = Field(default=None, sa_type=sa.SmallInteger)
    a14: int | None = Field(default=None, sa_type=sa.SmallInteger)


# --- population: service users of a unit in a period (for the sample-size check) ---


class Population(SQLModel, table=True):
    __tablename__ = "population"
    __table_args__ = (
        sa.UniqueConstraint("unit_id", "period"),
        sa.CheckConstraint("population > 0", name="positive"),
    )
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id")
    period: str = Field(max_length=30)  # canonical period label: 2026, 2026-S1, ...
    population: int


# --- response_rollup: per-day sums and counts, kept in the insert's transaction ---
# Derived data (rebuildable from `response`), so plain Core rather than a domain model. The
# keys use 0 for "no service/counter" because NULLs are distinct in a primary key.

ROLLUP_KEYS = ("unit_id", "local_date", "service_key", "counter_key", "form_version_id")
ROLLUP_KEYS_FULL = (*ROLLUP_KEYS, "channel", "flagged")
# A key's sums may be spread over several rows ("shard" 0..ROLLUP_SHARDS-1, see
# services/rollups.py: add), in both rollup tables; readers always SUM over them. The rebuild
# writes shard 0.
ROLLUP_SHARDS = 16
ROLLUP_COUNTS = (
    "responses",
    *(f"{c}_n" for c in ANSWER_COLUMNS),
    *(f"{c}_sum" for c in ANSWER_COLUMNS),
    "complete",
    "complete_sum",
    "complete_sumsq",
)

response_rollup = sa.Table(
    "response_rollup",
    SQLModel.metadata,
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("unit.id"), nullable=False),
    sa.Column("local_date", sa.Date, nullable=False),
    sa.Column("service_key", sa.Integer, nullable=False),
    sa.Column("counter_key", sa.Integer, nullable=False),
    sa.Column("form_version_id", sa.Integer, sa.ForeignKey("form_version.id"), nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("flagged", sa.Boolean, nullable=False),
    sa.Column("shard", sa.SmallInteger, nullable=False, server_default="0"),
    *(sa.Column(name, sa.BigInteger, nullable=False) for name in ROLLUP_COUNTS),
    sa.PrimaryKeyConstraint(*ROLLUP_KEYS_FULL, "shard"),
)

# --- response_rollup_month and response_rollup_quarter: the same sums per unit and local
# month (quarter), for whole months (quarters) ---
# A province's semester is two rows per unit in the quarter table instead of one per day,
# service, counter and channel; service, counter and channel are left out because only a
# single unit's own scopes filter on them (those read the per-day table). first_date and
# last_date bound the days the row holds (a message about mixed forms names them). Kept with
# the per-day rows, in the same transaction.

ROLLUP_MONTH_KEYS = ("unit_id", "month_date", "form_version_id", "flagged")
ROLLUP_QUARTER_KEYS = ("unit_id", "quarter_date", "form_version_id", "flagged")


def _coarse_rollup(name: str, keys: tuple[str, ...]) -> sa.Table:
    return sa.Table(
        name,
        SQLModel.metadata,
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("unit.id"), nullable=False),
        sa.Column(keys[1], sa.Date, nullable=False),  # the month's (quarter's) first day
        sa.Column("form_version_id", sa.Integer, sa.ForeignKey("form_version.id"), nullable=False),
        sa.Column("flagged", sa.Boolean, nullable=False),
        sa.Column("first_date", sa.Date, nullable=False),
        sa.Column("last_date", sa.Date, nullable=False),
        sa.Column("shard", sa.SmallInteger, nullable=False, server_default="0"),  # as per day
        *(sa.Column(count, sa.BigInteger, nullable=False) for count in ROLLUP_COUNTS),
        sa.PrimaryKeyConstraint(*keys, "shard"),
    )


response_rollup_month = _coarse_rollup("response_rollup_month", ROLLUP_MONTH_KEYS)
response_rollup_quarter = _coarse_rollup("response_rollup_quarter", ROLLUP_QUARTER_KEYS)


# --- rate_limit: hits per key in fixed windows, shared by every worker ---


class RateLimit(SQLModel, table=True):
    __tablename__ = "rate_limit"
    # A counter id, or a keyed hash of the client's IP that changes daily: never the raw IP.
    bucket: str = Field(primary_key=True, max_length=80)
    # The hour; indexed for the cleanup of old windows.
    window_start: datetime = Field(primary_key=True, sa_type=UTCDateTime, index=True)
    # A bucket's count is the sum of its shards' (see services/citizen.py: rate_shards).
    shard: int = Field(default=0, primary_key=True, sa_type=sa.SmallInteger)
    hits: int = 0


# --- api_key: keys for other systems; only a hash of the secret is stored ---

SCOPES = ("ikm:read", "responses:read", "responses:write", "admin")


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    prefix: str = Field(max_length=20, unique=True)  # shown in lists; the key starts with it
    secret_hash: str = Field(max_length=64)  # SHA-256 of the whole key (it is high-entropy)
    scopes: str = Field(max_length=200)  # space-separated
    unit_id: int | None = Field(default=None, foreign_key="unit.id")  # limits it to a subtree
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


# --- staff accounts of the console: a role over a subtree, like an API key ---

ROLES = ("admin", "manager", "viewer")


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)  # stored lower-case
    password_hash: str = Field(max_length=200)  # Argon2id, with its parameters and salt
    role: str = Field(max_length=20)  # one of ROLES
    unit_id: int = Field(foreign_key="unit.id")  # the root of the subtree it works on
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Sessions begun before this instant are over (a password reset ends them everywhere).
    sessions_valid_from: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StaffSession(SQLModel, table=True):
    __tablename__ = "staff_session"
    # SHA-256 of the cookie's token: the database never holds a usable session.
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- audit_log: who changed what, when (console and CLI) ---


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # The staff account, or None for the command line (``actor`` says "cli").
    user_id: int | None = Field(default=None, foreign_key="staff_user.id")
    actor: str = Field(max_length=254)
    action: str = Field(max_length=60)  # e.g. counter.create, response.paper, user.disable
    # The unit the change belongs to, so an admin sees its subtree's entries only.
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    target: str = Field(max_length=200)  # what was changed, by its code or e-mail
    detail: str | None = Field(default=None, max_length=2000)


# --- paper_upload: a sheet staff uploaded, kept between its preview and its confirmation ---


class PaperUpload(SQLModel, table=True):
    """In the database, not in a worker's memory or disk: the confirmation may reach another
    replica than the preview. Deleted when stored, and an hour after the upload at the most."""

    __tablename__ = "paper_upload"
    id: str = Field(primary_key=True, max_length=32)  # random, in the confirm form
    unit_id: int = Field(foreign_key="unit.id")
    service_id: int | None = Field(default=None, foreign_key="service.id")
    user_id: int = Field(foreign_key="staff_user.id")
    filename: str = Field(max_length=200)
    content: bytes = Field(sa_type=sa.LargeBinary)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- publication: a scope's results for a period, frozen when staff publish them ---

PUBLISHABLE_KINDS = ("year", "semester", "quarter", "month")


class Publication(SQLModel, table=True):
    """What the public sees: the figures as they were when published, never recomputed.
    Publishing the same unit and period again adds a revision; the earlier one stays, marked
    revised (``revised_at``)."""

    __tablename__ = "publication"
    __table_args__ = (sa.UniqueConstraint("unit_id", "period", "revision"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    period: str = Field(max_length=30)  # canonical label: 2026, 2026-S1, 2026-Q3, 2026-07
    period_start: date
    period_end: date
    revision: int = 1
    weight: str = Field(max_length=10)  # the method's weight (ikm.Method)
    n: int
    nik_rounded: float | None = None  # the published NIK (two decimals), for listings
    mutu: str | None = Field(default=None, max_length=1)
    snapshot: dict[str, Any] = Field(sa_type=sa.JSON)  # the whole result, element names, etc.
    published_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_by: str = Field(max_length=254)
    revised_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The results poster (the offline half of the LKE's item b): when staff marked it posted.
    poster_posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    poster_photo_id: int | None = Field(default=None, foreign_key="evidence_file.id")


# --- the follow-up plan (rencana tindak lanjut, RTL): actions against weak elements ---

FOLLOWUP_STATUSES = ("rencana", "proses", "selesai")


class FollowupAction(SQLModel, table=True):
    __tablename__ = "followup_action"
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    period: str = Field(max_length=30)  # the survey period whose results it answers
    elements: str = Field(max_length=1000)  # element codes, comma-separated
    action: str = Field(max_length=1000)  # what will be done
    responsible: str = Field(max_length=200)  # who (a post, not a citizen)
    target_date: date
    status: str = Field(default="rencana", max_length=10)  # one of FOLLOWUP_STATUSES
    notes: str | None = Field(default=None, max_length=4000)  # progress notes, dated lines
    evidence_url: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EvidenceFile(SQLModel, table=True):
    """A photo or PDF kept as evidence (of an action, or of a posted results poster): in the
    database, so every replica serves it; type read from the content and size capped."""

    __tablename__ = "evidence_file"
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    action_id: int | None = Field(default=None, foreign_key="followup_action.id", index=True)
    filename: str = Field(max_length=200)
    media_type: str = Field(max_length=40)
    size: int
    content: bytes = Field(sa_type=sa.LargeBinary)
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    uploaded_by: str = Field(max_length=254)


# --- survey_cycle: how often a pemda surveys (the LKE's item a rewards four a year) ---

SURVEY_CYCLES = ("quarter", "semester", "year")


class SurveyCycle(SQLModel, table=True):
    """Set on a unit (normally the pemda) for its subtree; the nearest ancestor's setting
    applies, quarterly where none is set."""

    __tablename__ = "survey_cycle"
    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    cycle: str = Field(max_length=10)  # one of SURVEY_CYCLES


# --- alerts: a scope's IKM over its last responses fell a grade, or an element graded D ---

ALERT_KINDS = ("grade_drop", "element_d")
ALERT_STATUSES = ("open", "acknowledged", "closed")


class Alert(SQLModel, table=True):
    __tablename__ = "alert"
    __table_args__ = (
        # One standing alert per scope and cause; once closed, the same cause may rise again.
        sa.Index(
            "uq_alert_key_standing",
            "key",
            unique=True,
            postgresql_where=sa.text("status <> 'closed'"),
            sqlite_where=sa.text("status <> 'closed'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120)  # kind:scope:id[:element]
    kind: str = Field(max_length=20)  # one of ALERT_KINDS
    unit_id: int = Field(foreign_key="unit.id", index=True)
    service_id: int | None = Field(default=None, foreign_key="service.id")
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    element: str | None = Field(default=None, max_length=60)
    detail: str = Field(max_length=500)
    raised_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status: str = Field(default="open", max_length=15)  # one of ALERT_STATUSES
    comments: str | None = Field(default=None, max_length=4000)  # dated lines, by whom
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- webhooks: other systems told of alerts by a signed POST, retried, every try logged ---


class Webhook(SQLModel, table=True):
    """A subscriber for a subtree's alerts. Its signing secret is not stored: it is derived
    from SKM_SECRET_KEY and ``salt`` (shown once at creation, the same on every replica)."""

    __tablename__ = "webhook"
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id")
    url: str = Field(max_length=500)
    salt: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(max_length=254)
    active: bool = True


WEBHOOK_STATUSES = ("pending", "delivered", "failed")


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhook.id", index=True)
    event: str = Field(max_length=40)  # alert.raised
    payload: str = Field(sa_type=sa.Text)  # the exact JSON body that is signed and sent
    status: str = Field(default="pending", max_length=10)  # one of WEBHOOK_STATUSES
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    """The delivery log: one row per HTTP try."""

    __tablename__ = "webhook_attempt"
    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_delivery.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=300)
    duration_ms: int = 0


class JobState(SQLModel, table=True):
    """Where a periodic job stopped (e.g. the last response id the alert check has seen), in
    the database, so that any replica may run the next round."""

    __tablename__ = "job_state"
    name: str = Field(primary_key=True, max_length=40)
    position: int = Field(default=0, sa_type=ID)
    ran_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
