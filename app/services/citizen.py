"""The citizen survey behind a counter's QR code: loading the page, checking and storing a
submission. No personal data is kept: the one-time form token is random, not derived from
the person or the device, and the browser id it is bound to is a random value that lives only
in the browser's cookie.
"""

import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlmodel import Session, col

from app.config import Settings
from app.core.forms import Form
from app.db import ModelColumns, is_postgresql
from app.errors import AppError, Gone, NotFound
from app.models import SUGGESTION_MAX, Counter, FormVersion, RateLimit, Service, Unit
from app.services import intake, questionnaires

HONEYPOT = "website"  # a field people never see; bots fill it in
# A kiosk tablet sends everyone's answers from one address.
KIOSK_RATE_FACTOR = 10


# Refusals a citizen may see, in the page's language of record.
INVALID_FORM = "Formulir tidak dikenali. Mohon buka kembali halaman survei, lalu isi kembali."
AUTOMATED = "Pengiriman ini tampak otomatis dan tidak dapat diterima."
TOO_LARGE = "Isian formulir terlalu panjang. Mohon persingkat saran, lalu kirim kembali."


class SurveyRejected(AppError):
    """A submission that is refused; the page is shown again with ``errors`` per field."""

    status = 422
    code = "survey_rejected"

    def __init__(self, detail: str, *, status: int = 422, errors: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.errors = errors or {}


class FormSessionUnknown(SurveyRejected):
    """The form token was issued to another browser, or this browser's cookie is gone (a
    cross-site POST carries no SameSite=Lax cookie): the form is shown again, with a token
    for this browser, rather than an error page."""

    def __init__(self) -> None:
        super().__init__(
            "Sesi formulir tidak dikenali. Mohon muat ulang halaman, lalu isi kembali.",
            status=400,
        )


@dataclass(frozen=True)
class SurveyContext:
    counter: Counter
    unit: Unit
    version: FormVersion
    form: Form
    services: list[Service]
    pemda: str | None = None  # the name of the top of the unit's tree; None: the unit is it

    @property
    def fixed_service(self) -> Service | None:
        if self.counter.service_id is not None:
            return next((s for s in self.services if s.id == self.counter.service_id), None)
        return self.services[0] if len(self.services) == 1 else None


@dataclass
class Submission:
    answers: dict[str, int | None] = field(default_factory=dict)
    profile: dict[str, str | int] = field(default_factory=dict)
    service: Service | None = None
    suggestion: str | None = None


# Built once: every survey page and submission runs them. The first reads, in one statement,
# the counter, its unit, the newest version of the unit's form and the counter's own service
# (when it has an active one: then the unit's list of services is not needed). Both are Core
# statements whose rows build the models (ModelColumns): the ORM's loading of three entities
# cost as much CPU as the rest of a survey page's read.
_COUNTER = ModelColumns(Counter, "counter_")
_UNIT = ModelColumns(Unit, "unit_")
_fixed_table = sa.alias(Service.__table__, "fixed")  # type: ignore[attr-defined]
_FIXED = ModelColumns(Service, "fixed_", _fixed_table)
_SERVICE = ModelColumns(Service, "service_")
_version_id, _content_hash = questionnaires.newest_of_unit_form()
# The name of the top of the unit's tree (its pemda; NULL when the unit is the top), which the
# page shows above the unit's: read with the rest, where a second statement (org.ancestors)
# cost a round trip and a fifth of the page's CPU for every unit that has a parent. Written
# as SQL that PostgreSQL and SQLite both run (a correlated recursive CTE, which SQLAlchemy
# does not build in a scalar subquery); the depth bound ends a walk that a loop got into,
# and a loop has no top: no name.
_PEMDA_NAME = sa.literal_column(
    "(WITH RECURSIVE up (id, parent_id, depth) AS ("
    " SELECT above.id, above.parent_id, 1 FROM unit AS above WHERE above.id = unit.parent_id"
    " UNION ALL"
    " SELECT step.id, step.parent_id, up.depth + 1 FROM unit AS step"
    " JOIN up ON step.id = up.parent_id WHERE up.depth < 64)"
    " SELECT root.name FROM up JOIN unit AS root ON root.id = up.id"
    " WHERE up.parent_id IS NULL LIMIT 1)",
    type_=sa.String(),
)
_SURVEY = (
    sa.select(
        *_COUNTER.columns,
        *_UNIT.columns,
        _version_id.label("version_id"),
        _content_hash.label("content_hash"),
        _PEMDA_NAME.label("pemda_name"),
        *_FIXED.columns,
    )
    .select_from(Counter)
    .join(Unit, col(Unit.id) == col(Counter.unit_id))
    .outerjoin(
        _fixed_table,
        sa.and_(_fixed_table.c.id == col(Counter.service_id), _fixed_table.c.active.is_(True)),
    )
    .where(col(Counter.token) == sa.bindparam("token"))
)
_SERVICES = (
    sa.select(*_SERVICE.columns)
    .where(col(Service.unit_id) == sa.bindparam("unit"), col(Service.active).is_(True))
    .order_by(col(Service.name))
)


def load_survey(*, session: Session, token: str) -> SurveyContext:
    """The counter behind a survey link, its unit, form and services, and the pemda above
    the unit, in one statement (two when the counter leaves the service to the citizen)."""
    # A NUL cannot be in a token, and PostgreSQL refuses to even compare text holding one.
    found = (
        None
        if "\x00" in token
        else session.connection()
        .execute(_SURVEY, {"token": token, "default_form": questionnaires.default_form_code()})
        .first()
    )
    if found is None:
        raise NotFound("survey link not found")
    row = found._mapping
    counter, unit, fixed = _COUNTER.build(row), _UNIT.build(row), _FIXED.build(row)
    assert counter is not None and unit is not None  # inner-joined
    if not counter.active or not unit.active:
        raise Gone("this survey is closed")
    version, form = questionnaires.form_from_columns(
        session, unit, row["version_id"], row["content_hash"]
    )
    unit_services = (
        [fixed]
        if fixed is not None
        else [
            service
            for listed in session.connection().execute(_SERVICES, {"unit": unit.id})
            if (service := _SERVICE.build(listed._mapping)) is not None
        ]
    )
    return SurveyContext(
        counter=counter,
        unit=unit,
        version=version,
        form=form,
        services=unit_services,
        pemda=row["pemda_name"],
    )


# --- the signed one-time form token, bound to the browser that fetched the form ---

BROWSER_COOKIE = "skm_browser"
_BROWSER_ID = re.compile(r"[A-Za-z0-9_-]{22}")


def new_browser_id() -> str:
    """A random id for one browser's cookie, derived from nothing about the person or the
    device; it is never stored or logged here, only mixed into form tokens' signatures."""
    return secrets.token_urlsafe(16)


def browser_id(cookie: str | None) -> str | None:
    """The browser id in ``cookie``, if it has the shape of one this service sets."""
    return cookie if cookie is not None and _BROWSER_ID.fullmatch(cookie) else None


def _signature(secret: str, counter_id: int, issued: int, nonce: str) -> str:
    message = f"{counter_id}.{issued}.{nonce}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def _token_signature(secret: str, counter_id: int, issued: int, nonce: str, browser: str) -> str:
    # Four dot-separated parts: never equal to a device cookie's message ("....device").
    return _signature(secret, counter_id, issued, f"{nonce}.{browser}")


def issue_form_token(secret: str, counter_id: int, now: datetime, *, browser: str) -> str:
    """A token naming when the form was served, valid only from the browser whose id is
    ``browser``; its nonce becomes the idempotency key."""
    issued = int(now.timestamp())
    nonce = secrets.token_urlsafe(12)
    return f"{issued}.{nonce}.{_token_signature(secret, counter_id, issued, nonce, browser)}"


def check_form_token(
    secret: str,
    counter_id: int,
    token: str,
    now: datetime,
    *,
    browser: str | None,
    min_seconds: int,
    max_seconds: int,
) -> str:
    """The token's nonce, if it is genuine, for this counter and this browser, and neither
    too fresh nor stale. A well-formed token that does not verify is treated as another
    browser's (``FormSessionUnknown``): the two cannot be told apart, and the answer to both
    is a fresh form."""
    try:
        issued_text, nonce, signature = token.split(".")
        issued = int(issued_text)
    except ValueError:
        raise SurveyRejected(INVALID_FORM, status=400) from None
    if browser is None:
        raise FormSessionUnknown()
    expected = _token_signature(secret, counter_id, issued, nonce, browser)
    if not hmac.compare_digest(expected, signature):
        raise FormSessionUnknown()
    age = now.timestamp() - issued
    if age < min_seconds:
        raise SurveyRejected(
            "Formulir dikirim terlalu cepat. Mohon periksa kembali jawaban Saudara, "
            "lalu kirim lagi."
        )
    if age > max_seconds:
        raise SurveyRejected("Formulir sudah kedaluwarsa. Mohon isi kembali, lalu kirim.")
    return nonce


# --- where a submission was sent from ---

CROSS_SITE = (
    "Jawaban hanya dapat dikirim dari halaman survei di situs ini. Mohon pindai kembali kode "
    "QR di loket, lalu isi survei dari halaman yang terbuka."
)
# Sec-Fetch-Site of a form on this site ("none": the browser started the request itself).
# "same-site" is refused too: the form is only ever served, and posts back, on one origin.
_SAME_SITE = {"same-origin", "none"}


def origin_of(url: str) -> str | None:
    """The origin of an http(s) URL or Origin header, as ``scheme://host:port`` (lower case,
    the default port spelled out), so that equal origins compare equal; None otherwise
    (``null``, another scheme, a bad port)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        return None
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    return f"{parts.scheme}://{host}:{port or (443 if parts.scheme == 'https' else 80)}"


def check_origin(
    *, fetch_site: str | None, origin: str | None, allowed: Collection[str | None]
) -> None:
    """Refuses (403) a POST a browser says came from another site: by Sec-Fetch-Site when
    sent, and by Origin when sent, which must be one of the ``allowed`` origins (this
    server's as the request names it, and the public base URL's behind a proxy). A request
    with neither header (an old browser, a script) is let through to the token checks."""
    if fetch_site is not None and fetch_site.strip().lower() not in _SAME_SITE:
        raise SurveyRejected(CROSS_SITE, status=403)
    if origin is not None:
        expected = {origin_of(a) for a in allowed if a is not None} - {None}
        if origin_of(origin) not in expected:
            raise SurveyRejected(CROSS_SITE, status=403)


# --- parsing and storing a submission ---


def parse_submission(context: SurveyContext, fields: Mapping[str, str]) -> Submission:
    """Every answer required (1..4), profile values from the form's lists, saran bounded.

    Errors are in Bahasa Indonesia, keyed by field name, for display beside each field.
    """
    errors: dict[str, str] = {}
    result = Submission()
    for element in context.form.elements:
        answer = fields.get(element.code, "").strip()
        if answer not in {"1", "2", "3", "4"}:
            errors[element.code] = "Mohon pilih salah satu jawaban."
        else:
            result.answers[element.code] = int(answer)
    for spec in context.form.profile:
        raw = fields.get(spec.code, "").strip()
        if not raw:
            continue
        value: str | int = raw
        if spec.type == "integer":
            # isdigit() alone passes "²" and 5,000-digit strings, which int() refuses
            value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 3 else -1
        if not spec.accepts(value):
            errors[spec.code] = (
                f"Isikan angka {spec.min} sampai {spec.max}."
                if spec.type == "integer"
                else "Pilihan tidak dikenal."
            )
        else:
            result.profile[spec.code] = value
    suggestion = fields.get("saran", "").strip()
    if len(suggestion) > SUGGESTION_MAX:
        errors["saran"] = f"Saran paling banyak {SUGGESTION_MAX} karakter."
    result.suggestion = suggestion or None
    result.service = context.fixed_service
    if result.service is None and context.services:
        chosen = fields.get("service", "")
        result.service = next((s for s in context.services if s.code == chosen), None)
        if result.service is None:
            errors["service"] = "Mohon pilih jenis layanan yang Saudara terima."
    if errors:
        raise SurveyRejected("Mohon lengkapi isian yang ditandai.", errors=errors)
    return result


def screen(
    *,
    context: SurveyContext,
    fields: Mapping[str, str],
    browser: str | None,
    secret: str,
    now: datetime,
    min_seconds: int,
    max_seconds: int,
) -> str:
    """The honeypot and the signed form token (bound to ``browser``), checked before anything
    is counted or stored (so junk posts cannot use up a counter's hourly limit); returns the
    token's nonce."""
    if fields.get(HONEYPOT, "").strip():
        raise SurveyRejected(AUTOMATED, status=400)
    assert context.counter.id is not None
    return check_form_token(
        secret,
        context.counter.id,
        fields.get("form_token", ""),
        now,
        browser=browser,
        min_seconds=min_seconds,
        max_seconds=max_seconds,
    )


def _prepare(
    session: Session,
    context: SurveyContext,
    parsed: Submission,
    nonce: str,
    now: datetime,
    channel: str,
    flagged: bool,
) -> intake.Prepared:
    item = intake.ResponseIn(
        idempotency_key=f"web:{nonce}",
        submitted_at=now.astimezone(UTC),
        answers=parsed.answers,
        suggestion=parsed.suggestion,
        **parsed.profile,
    )
    return intake.prepare_responses(
        session=session,
        unit=context.unit,
        items=[item],
        channel=channel,  # type: ignore[arg-type]
        service=parsed.service,
        counter=context.counter,
        flagged=flagged,
        on_form=(context.version, context.form),
    )


# --- ballot-stuffing defences that keep no personal data ---


def client_ip(peer: str | None, forwarded_for: str | None, trusted: list[str]) -> str:
    """The client's address: the peer, or, behind a trusted proxy, the nearest untrusted hop
    of X-Forwarded-For (read from the right, so a client cannot forge its way in)."""
    networks = [ipaddress.ip_network(t, strict=False) for t in trusted]

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    address = peer or "unknown"
    if not forwarded_for or not is_trusted(address):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not is_trusted(hop):
            return hop
    return address


def client_bucket(secret: str, address: str, now: datetime) -> str:
    """A keyed hash of the address and the UTC day: it rotates daily and cannot be reversed
    into the IP address without the secret."""
    message = f"{now.astimezone(UTC).date().isoformat()}|{_network(address)}".encode()
    return "client:" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def _network(address: str) -> str:
    """The client's network: an IPv4 address, or an IPv6 /64 (one household or phone gets a
    whole /64 and can pick any address in it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


# One bucket's hourly count is spread over up to this many rows (shards), so that concurrent
# submissions from one address (a kiosk, a campus behind one NAT) or to one counter do not all
# queue on one row lock until their transactions commit.
RATE_SHARDS = 8
# Old windows are deleted by about one submission in this many (an index finds them).
CLEANUP_ODDS = 100
RATE_WINDOW_KEPT = timedelta(days=1)
_rate_table: sa.Table = RateLimit.__table__  # type: ignore[attr-defined]  # a table model's
_rate = _rate_table.c
_COUNTED = (
    sa.select(_rate.bucket, sa.func.sum(_rate.hits))
    .where(
        _rate.bucket.in_(sa.bindparam("buckets", expanding=True)),
        _rate.window_start == sa.bindparam("window"),
    )
    .group_by(_rate.bucket)
)


def rate_shards(limit: int) -> int:
    """How many rows a bucket with this hourly limit is counted in. A check sees its own hit
    and the committed ones, not those still uncommitted on other shards, so a burst can pass
    the limit by up to shards - 1: one shard per 64 of the limit keeps that under 2%, and a
    limit under 128 (one client's) keeps one row and is exact."""
    return max(1, min(RATE_SHARDS, limit // 64))


TOO_MANY = "Terlalu banyak pengiriman dalam waktu singkat. Mohon coba lagi nanti."


def hit_rate_limits(*, session: Session, limits: list[tuple[str, int]], now: datetime) -> None:
    """Count one hit per entry in its bucket's hourly window (in the database, so every
    worker sees it; a bucket named twice counts two) and refuse with 429 when any bucket is
    over its limit. The hits are part of the caller's transaction: they commit with the
    submission, and a refused one is not counted (the caller rolls back)."""
    params, limit_of = _hits(limits, now)
    if is_postgresql(session):
        counted = dict(session.execute(_hit_and_count_statement(len(limit_of)), params).all())
    else:
        session.execute(_hit_statement(len(limit_of)), params)
        buckets = {"buckets": list(limit_of), "window": params["window"]}
        counted = dict(session.execute(_COUNTED, buckets).all())
    if any(counted[bucket] > limit for bucket, limit in limit_of.items()):
        raise SurveyRejected(TOO_MANY, status=429)


def rate_gate(*, limits: list[tuple[str, int]], now: datetime) -> intake.Gate:
    """PostgreSQL: :func:`hit_rate_limits` as a gate of the submission's insert, so that the
    hits, their check and the insert are one statement. A closed gate means 429: nothing is
    stored, and the caller rolls the hits back."""
    params, limit_of = _hits(limits, now)
    params.update(cap_buckets=list(limit_of), caps=list(limit_of.values()))
    return intake.Gate(cte=_gate_statement(len(limit_of)), params=params)


def _hits(limits: list[tuple[str, int]], now: datetime) -> tuple[dict[str, Any], dict[str, int]]:
    """The parameters of :func:`_hit_statement` for these hits, and each bucket's limit (the
    lowest it was named with), the buckets in the order of the statement's rows."""
    window = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    named: dict[str, int] = {}  # bucket: hits
    limit_of: dict[str, int] = {}
    for bucket, limit in limits:
        named[bucket] = named.get(bucket, 0) + 1
        limit_of[bucket] = min(limit, limit_of.get(bucket, limit))
    # In one order (bucket, shard), so two transactions never wait for each other's rows.
    hits = sorted(
        (bucket, secrets.randbelow(rate_shards(limit_of[bucket])), count)
        for bucket, count in named.items()
    )
    # One statement with a row per bucket: a list of parameter sets would run as
    # executemany, which psycopg sends in pipeline mode, costlier than the statement.
    params: dict[str, Any] = {"window": window}
    for i, (bucket, shard, count) in enumerate(hits):
        params.update({f"bucket_{i}": bucket, f"shard_{i}": shard, f"hits_{i}": count})
    return params, {bucket: limit_of[bucket] for bucket, _, _ in hits}


def counted_hits(*, session: Session, buckets: list[str], now: datetime) -> dict[str, int]:
    """Each bucket's hits in the current hourly window (a bucket without any is absent)."""
    window = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    rows = session.execute(_COUNTED, {"buckets": buckets, "window": window}).all()
    return {bucket: int(hits) for bucket, hits in rows}


@cache
def _hit_statement(rows: int) -> sa.TextClause:
    """The upsert of ``rows`` hits in one statement, built once per number of rows: a list of
    parameter sets would run as executemany (psycopg's pipeline mode, costlier than the
    statement for two rows), and SQLAlchemy compiles a multi-row ``insert().values()`` anew
    on every call. The same SQL on PostgreSQL and SQLite."""
    values = ", ".join(f"(:bucket_{i}, :window, :shard_{i}, :hits_{i})" for i in range(rows))
    sql = (
        f"INSERT INTO rate_limit (bucket, window_start, shard, hits) VALUES {values} "  # noqa: S608 (placeholders only)
        "ON CONFLICT (bucket, window_start, shard) "
        "DO UPDATE SET hits = rate_limit.hits + excluded.hits"
    )
    # The window bound as the column stores it (UTCDateTime), so that it matches the rows.
    return sa.text(sql).bindparams(sa.bindparam("window", type_=_rate.window_start.type))


@cache
def _hit_totals(rows: int) -> sa.Subquery:
    """PostgreSQL: the upsert of :func:`_hit_statement` as the CTE ``hit`` and each bucket's
    sum over its shards (``bucket``, ``total``). The sums read the table as it was before the
    statement (a data-modifying CTE's rows are not seen), so a shard just written is counted
    from what the upsert returned instead."""
    window = sa.bindparam("window", type_=_rate.window_start.type)
    hit = (
        sa.text(f"{_hit_statement(rows).text} RETURNING bucket, shard, hits")
        .bindparams(window)
        .columns(sa.column("bucket", sa.String), sa.column("shard"), sa.column("hits"))
        .cte("hit")
    )
    others = sa.select(_rate.bucket, _rate.hits).where(
        _rate.window_start == window,
        _rate.bucket.in_(sa.select(hit.c.bucket)),
        sa.tuple_(_rate.bucket, _rate.shard).not_in(sa.select(hit.c.bucket, hit.c.shard)),
    )
    counted = sa.union_all(sa.select(hit.c.bucket, hit.c.hits), others).subquery("counted")
    return (
        sa.select(counted.c.bucket, sa.func.sum(counted.c.hits).label("total"))
        .group_by(counted.c.bucket)
        .subquery("totals")
    )


@cache
def _hit_and_count_statement(rows: int) -> sa.Select[Any]:
    """PostgreSQL: the hits and their sums (:func:`_hit_totals`) in one statement, a round
    trip fewer on every hit."""
    totals = _hit_totals(rows)
    return sa.select(totals.c.bucket, totals.c.total)


@cache
def _gate_statement(rows: int) -> sa.CTE:
    """PostgreSQL: the gate of :func:`rate_gate`, one row saying whether every bucket's sum
    (:func:`_hit_totals`, whose upsert it runs) is within its limit (``cap_buckets`` and
    ``caps``, two arrays)."""
    totals = _hit_totals(rows)
    caps = (
        sa.text(
            "SELECT * FROM unnest(CAST(:cap_buckets AS VARCHAR[]), CAST(:caps AS INTEGER[])) "
            "AS cap (bucket, most)"
        )
        .columns(sa.column("bucket", sa.String), sa.column("most", sa.Integer))
        .subquery("caps")
    )
    within = sa.func.bool_and(totals.c.total <= caps.c.most)
    return (
        sa.select(within.label("ok"))
        .select_from(totals.join(caps, totals.c.bucket == caps.c.bucket))
        .cte("gate")
    )


def clear_old_windows(*, session: Session, now: datetime) -> int:
    """Delete the hourly windows older than a day (they are useless; the table keeps about a
    day of rows) and commit; returns how many rows went."""
    window = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    deleted = session.execute(
        sa.delete(RateLimit).where(col(RateLimit.window_start) < window - RATE_WINDOW_KEPT)
    )
    session.commit()
    return int(getattr(deleted, "rowcount", 0) or 0)


DEVICE_COOKIE = "skm_done"


def device_cookie(secret: str, counter_id: int, now: datetime) -> str:
    issued = int(now.timestamp())
    return f"{counter_id}.{issued}.{_signature(secret, counter_id, issued, 'device')}"


def answered_recently(
    secret: str, counter_id: int, cookie: str | None, now: datetime, cooldown: timedelta
) -> bool:
    """Whether this browser sent a response to this counter within the cooldown."""
    if not cookie:
        return False
    try:
        counter_text, issued_text, signature = cookie.split(".")
        issued = int(issued_text)
    except ValueError:
        return False
    genuine = hmac.compare_digest(_signature(secret, counter_id, issued, "device"), signature)
    return (
        genuine
        and counter_text == str(counter_id)
        and now.timestamp() - issued < cooldown.total_seconds()
    )


# --- the whole submission flow ---


@dataclass(frozen=True)
class Limits:
    """The defences against ballot stuffing, as configured."""

    secret: str
    min_seconds: int
    max_seconds: int
    per_client_hour: int
    per_counter_hour: int
    cooldown: timedelta
    trusted_proxies: tuple[str, ...] = ()
    public_base_url: str | None = None  # its origin may post the form (behind a proxy)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Limits":
        return cls(
            secret=settings.secret_key.get_secret_value(),
            min_seconds=settings.survey_min_seconds,
            max_seconds=settings.survey_max_seconds,
            per_client_hour=settings.rate_per_client_hour,
            per_counter_hour=settings.rate_per_counter_hour,
            cooldown=timedelta(hours=settings.device_cooldown_hours),
            trusted_proxies=tuple(settings.trusted_proxies),
            public_base_url=settings.public_base_url,
        )


@dataclass(frozen=True)
class Client:
    """Where a submission comes from, as HTTP sees it; the address is only ever hashed, the
    browser id only ever mixed into a signature."""

    peer: str | None
    forwarded_for: str | None = None
    cookie: str | None = None  # the device cookie an earlier answer left, if any
    browser: str | None = None  # the anonymous browser id from its cookie, if any
    url: str | None = None  # the URL posted to, as this server sees it (its origin)
    origin: str | None = None  # the Origin header
    fetch_site: str | None = None  # the Sec-Fetch-Site header


@dataclass(frozen=True)
class Accepted:
    stored: bool  # False: a replay of a stored submission (back button, resent POST)
    flagged: bool  # a repeat from the same browser: kept for staff, left out of the IKM
    device_cookie: str | None  # to set on a personal device; None on a kiosk


def answered_before(
    *, context: SurveyContext, cookie: str | None, limits: Limits, now: datetime
) -> bool:
    """Whether this browser answered at this counter within the cooldown. Never on a kiosk:
    everyone there answers in one browser, so its cookie says nothing about the person."""
    assert context.counter.id is not None
    if context.counter.kiosk:
        return False
    return answered_recently(limits.secret, context.counter.id, cookie, now, limits.cooldown)


@dataclass(frozen=True)
class Screened:
    """A submission that passed every check made without the database (sent from this
    site, honeypot, token, answers): what counting and storing it need."""

    context: SurveyContext
    parsed: Submission
    nonce: str
    repeat: bool  # the same browser answered here within the cooldown: flagged
    kiosk: bool
    counter_id: int
    buckets: list[tuple[str, int]]  # the hourly limits it counts against: (bucket, limit)


def screen_submission(
    *,
    context: SurveyContext,
    fields: Mapping[str, str],
    client: Client,
    limits: Limits,
    now: datetime,
) -> Screened:
    """The checks of :func:`accept` that need no database, in its order. Raises as it does."""
    counter = context.counter
    assert counter.id is not None
    counter_id, kiosk = counter.id, counter.kiosk  # read now: a commit expires them
    check_origin(
        fetch_site=client.fetch_site,
        origin=client.origin,
        allowed=(client.url, limits.public_base_url),
    )
    nonce = screen(
        context=context,
        fields=fields,
        browser=browser_id(client.browser),
        secret=limits.secret,
        now=now,
        min_seconds=limits.min_seconds,
        max_seconds=limits.max_seconds,
    )
    parsed = parse_submission(context, fields)
    repeat = answered_before(context=context, cookie=client.cookie, limits=limits, now=now)
    address = client_ip(client.peer, client.forwarded_for, list(limits.trusted_proxies))
    buckets = [
        (
            client_bucket(limits.secret, address, now),
            limits.per_client_hour * (KIOSK_RATE_FACTOR if kiosk else 1),
        ),
        (f"counter:{counter_id}", limits.per_counter_hour),
    ]
    return Screened(context, parsed, nonce, repeat, kiosk, counter_id, buckets)


def accept(
    *,
    session: Session,
    context: SurveyContext,
    fields: Mapping[str, str],
    client: Client,
    limits: Limits,
    now: datetime,
) -> Accepted:
    """One citizen submission, start to end: screened (sent from this site, honeypot, form
    token bound to this browser) and parsed before anything is counted, then the hourly
    limits per client and per counter, the repeat check, and the store, in one transaction.
    Whether the counter is a kiosk comes from the counter alone (set by staff), never from
    the request. Raises
    ``SurveyRejected`` (422 with ``errors`` per field, 400, 403, 429), ``FormSessionUnknown``
    (400) when the token is not this browser's."""
    screened = screen_submission(
        context=context, fields=fields, client=client, limits=limits, now=now
    )
    (accepted,) = accept_screened(session=session, screened=[screened], limits=limits, now=now)
    return accepted


def accept_screened(
    *, session: Session, screened: list[Screened], limits: Limits, now: datetime
) -> list[Accepted]:
    """Count and store screened submissions in one transaction, committed: their hits in
    one statement and their responses in one insert (on PostgreSQL, one statement for both).
    Raises ``SurveyRejected`` (429), the hits rolled back, when any limit would be passed:
    for several submissions, the caller takes them one at a time, so that exactly those over
    a limit are refused (and not counted)."""
    buckets = [b for one in screened for b in one.buckets]
    gate = None
    if is_postgresql(session):  # the hits are counted and checked by the insert's statement
        gate = rate_gate(limits=buckets, now=now)
    else:
        try:
            hit_rate_limits(session=session, limits=buckets, now=now)
        except SurveyRejected:
            session.rollback()  # the refused hits are not counted, whatever the caller does
            raise
    prepared = [
        _prepare(
            session,
            one.context,
            one.parsed,
            one.nonce,
            now,
            "kiosk" if one.kiosk else "qr",
            one.repeat,
        )
        for one in screened
    ]
    try:
        results = intake.store_prepared(session=session, batches=prepared, gate=gate)
    except intake.GateClosed:
        session.rollback()  # the refused hits are not counted, whatever the caller does
        raise SurveyRejected(TOO_MANY, status=429) from None
    session.commit()
    if secrets.randbelow(CLEANUP_ODDS) == 0:
        clear_old_windows(session=session, now=now)
    return [
        Accepted(
            stored=result.inserted == 1,
            flagged=one.repeat,
            device_cookie=None if one.kiosk else device_cookie(limits.secret, one.counter_id, now),
        )
        for one, result in zip(screened, results, strict=True)
    ]
