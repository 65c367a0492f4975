"""API keys for other systems: creation, listing, revocation, and checking a presented key.

A key is ``skm_<8 hex>.<secret>``: the first part is its public prefix (shown in lists and
logs), the whole is hashed with SHA-256 for storage. The secret has 256 bits of entropy, so a
plain hash suffices (no password stretching), and the comparison is constant-time.
"""

import hashlib
import hmac
import re
import secrets
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.db import is_busy, without_waiting
from app.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from app.models import SCOPES, ApiKey, Unit
from app.services import audit, org

LAST_USED_RESOLUTION = timedelta(minutes=1)  # fewer writes: last use is kept to the minute


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    *,
    session: Session,
    name: str,
    scopes: list[str],
    unit_code: str | None = None,
    expires: date | None = None,
    actor: audit.Actor = audit.CLI,
) -> tuple[ApiKey, str]:
    """Store a new key and return it with its plaintext, which is shown once and never again."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if not scopes or unknown:
        raise InvalidInput(
            f"scopes must be among {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}"
        )
    if not name.strip():
        raise InvalidInput("a key needs a name")
    unit = org.get_unit(session=session, code=unit_code) if unit_code else None
    expires_at = datetime.combine(expires, time.max, UTC) if expires else None
    if expires_at is not None and expires_at < datetime.now(UTC):
        raise InvalidInput(f"expiry {expires} is in the past")
    prefix = f"skm_{secrets.token_hex(4)}"
    plaintext = f"{prefix}.{secrets.token_urlsafe(32)}"  # KEY_SHAPE
    key = ApiKey(
        name=name.strip(),
        prefix=prefix,
        secret_hash=_hash(plaintext),
        scopes=" ".join(sorted(set(scopes))),
        unit_id=unit.id if unit else None,
        expires_at=expires_at,
    )
    session.add(key)
    audit.record_as(
        session=session,
        actor=actor,
        action="apikey.create",
        target=prefix,
        unit_id=unit.id if unit else None,
        detail=f"{key.name} [{key.scopes}]",
    )
    session.commit()
    session.refresh(key)
    return key, plaintext


def list_keys(*, session: Session, root: Unit | None = None) -> list[ApiKey]:
    """Every key; with ``root``, the keys limited to its subtree (and the unlimited ones when
    ``root`` is the top of the tree)."""
    query = select(ApiKey).order_by(col(ApiKey.id))
    if root is not None:
        inside = col(ApiKey.unit_id).in_(sa.select(org.subtree_ids(root).c.id))
        query = query.where(
            sa.or_(inside, col(ApiKey.unit_id).is_(None)) if root.parent_id is None else inside
        )
    return list(session.exec(query).all())


def revoke_key(*, session: Session, prefix: str, actor: audit.Actor = audit.CLI) -> ApiKey:
    key = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if key is None:
        raise NotFound(f"no API key with prefix {prefix!r}")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        session.add(key)
        audit.record_as(
            session=session,
            actor=actor,
            action="apikey.revoke",
            target=prefix,
            unit_id=key.unit_id,
            detail=key.name,
        )
        session.commit()
        session.refresh(key)
    return key


# Every key create_key has made: a text of another shape is no key, known without a query.
KEY_SHAPE = re.compile(r"skm_[0-9a-f]{8}\.[A-Za-z0-9_-]{43}")


def presented_key(authorization: str | None) -> str:
    """The key in an ``Authorization: Bearer`` header; 401 when there is none or when it
    does not have the shape of a key (whether it is a valid key is :func:`authenticate`'s)."""
    kind, _, presented = (authorization or "").partition(" ")
    presented = presented.strip()
    if kind.lower() != "bearer" or not presented:
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
    if not KEY_SHAPE.fullmatch(presented):
        raise Unauthorized("invalid API key")
    return presented


# The key by its prefix (bind ``prefix``: see :func:`prefix_of`): every API request reads it.
HAS_PREFIX = col(ApiKey.prefix) == sa.bindparam("prefix")
BY_PREFIX = select(ApiKey).where(HAS_PREFIX)


def prefix_of(presented: str) -> str:
    """The prefix a presented key is stored under."""
    return presented.partition(".")[0]


def authenticate(*, session: Session, authorization: str | None, scope: str) -> ApiKey:
    """The key behind an ``Authorization: Bearer`` header, if valid and holding ``scope``:
    401 for a missing, unknown, revoked or expired key, 403 for a missing scope (``admin``
    holds every scope). Only reads."""
    presented = presented_key(authorization)
    key = session.exec(BY_PREFIX, params={"prefix": prefix_of(presented)}).first()
    return verify(key, presented, scope)


def verify(key: ApiKey | None, presented: str, scope: str) -> ApiKey:
    """:func:`authenticate` once the key stored under the presented key's prefix has been
    read (None: none is), for a caller that reads it together with something else."""
    now = datetime.now(UTC)
    # Compare even when the prefix is unknown, so timing does not reveal which prefixes exist.
    stored = key.secret_hash if key else _hash("")
    if not hmac.compare_digest(stored, _hash(presented)) or key is None:
        raise Unauthorized("invalid API key")
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at < now):
        raise Unauthorized("this API key is revoked or expired")
    # admin manages the organisation it may see, and so may also read and write all of it.
    if scope not in key.scope_set and "admin" not in key.scope_set:
        raise Forbidden(f"this API key lacks the scope {scope!r}")
    return key


# When this process last noted each key's use (by prefix): under load, the keys' rows are not
# asked to change more than once a minute per process, even while a note keeps being skipped.
_noted: dict[str, datetime] = {}


def record_use(*, session: Session, key: ApiKey) -> None:
    """Note, to the minute, that ``key`` was just used (after :func:`authenticate`, in its
    session; the key stays usable after the session closes).

    Best effort, and never waiting for a lock: a request that only reads must not queue
    behind writers. On SQLite the note is skipped while another connection holds the write
    lock, on PostgreSQL while another transaction holds the key's row; a later request makes
    it. Two workers noting at once write once (the row must still be stale).
    """
    now = datetime.now(UTC)
    noted = _noted.get(key.prefix)
    if (key.last_used_at is not None and now - key.last_used_at <= LAST_USED_RESOLUTION) or (
        noted is not None and now - noted <= LAST_USED_RESOLUTION
    ):
        return
    _noted[key.prefix] = now
    state = sa.inspect(key, raiseerr=False)  # None: a read-only copy (ModelColumns)
    if state is not None and state.session is session:
        session.expunge(key)  # loaded as it is: the rollback and commit below do not expire it
    session.rollback()  # a fresh transaction (on SQLite, a read one cannot take the lock)
    stale = sa.or_(
        col(ApiKey.last_used_at).is_(None),
        col(ApiKey.last_used_at) < now - LAST_USED_RESOLUTION,
    )
    target = (
        sa.select(col(ApiKey.id))
        .where(col(ApiKey.id) == key.id, stale)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    try:
        with without_waiting(session):
            session.execute(
                sa.update(ApiKey).where(col(ApiKey.id) == target).values(last_used_at=now)
            )
            session.commit()
    except sa.exc.OperationalError as exc:
        if not is_busy(exc):
            raise
        session.rollback()


def visible_unit(*, session: Session, key: ApiKey, unit: Unit | None) -> Unit:
    """The unit if the key may see it; outside the key's subtree it does not exist (404)."""
    if unit is None or not org.inside(session=session, root_id=key.unit_id, unit=unit):
        raise NotFound("no such unit")
    return unit
