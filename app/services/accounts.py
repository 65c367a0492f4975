"""Staff accounts of the console: creation, passwords (Argon2id), sessions kept in the database,
login throttling, and what each role may do where.

A user works on a subtree of the organisation, like an API key: ``admin`` (everything in it,
users and API keys included), ``manager`` (its units, counters, paper entry, reports),
``viewer`` (reads). A unit outside the subtree does not exist for the user (404).

Sessions live in ``staff_session``, keyed by a SHA-256 of the cookie's random token, so that a
logout, a disabled account or a password reset ends them on every worker at once. A session
ends after ``IDLE`` without a request and ``ABSOLUTE`` after login whatever happens.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from app.errors import AppError, InvalidInput, NotFound
from app.models import ROLES, StaffSession, StaffUser, Unit
from app.services import audit, org
from app.services.citizen import counted_hits, hit_rate_limits

IDLE = timedelta(hours=2)
ABSOLUTE = timedelta(hours=12)
# last_seen_at is written at most this often: a page view is a read, not a write.
SEEN_RESOLUTION = timedelta(minutes=1)
PASSWORD_MIN = 10
PASSWORD_MAX = 200  # Argon2 takes any length; a bound keeps a login POST cheap to refuse
# Failed logins allowed per hour: to one account, and from one client (a keyed hash of its
# address, as the survey counts submissions).
FAILS_PER_ACCOUNT_HOUR = 10
FAILS_PER_CLIENT_HOUR = 30
# What each role may do; a higher role holds the lower ones' rights.
RANK = {"viewer": 0, "manager": 1, "admin": 2}

_hasher = PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106's low-memory profile
# Verified against when the e-mail is unknown, so that timing does not tell which accounts exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class LoginRefused(AppError):
    """Wrong e-mail or password, or a disabled account: one message for all, so that nobody
    learns which e-mails have accounts."""

    status = 401
    code = "login_refused"


class LoginThrottled(AppError):
    status = 429
    code = "too_many_attempts"


@dataclass(frozen=True)
class StaffIdentity:
    """The user behind a request, as the console's pages need it (detached from any session)."""

    user_id: int
    email: str
    role: str
    unit_id: int
    session_hash: str

    def may(self, role: str) -> bool:
        """Whether this user's role holds ``role``'s rights."""
        return RANK[self.role] >= RANK[role]

    @property
    def actor(self) -> audit.Actor:
        """This user as the audit log names who made a change."""
        return audit.Actor(self.email, self.user_id)


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise InvalidInput(f"kata sandi minimal {PASSWORD_MIN} karakter", loc=("password",))
    if len(password) > PASSWORD_MAX:
        raise InvalidInput(f"kata sandi maksimal {PASSWORD_MAX} karakter", loc=("password",))


def normal_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 254 or " " in email:
        raise InvalidInput(f"alamat e-mail tidak sah: {email!r}", loc=("email",))
    return email


def _role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"peran harus salah satu dari {', '.join(ROLES)}", loc=("role",))
    return role


def create_user(
    *,
    session: Session,
    email: str,
    password: str,
    role: str,
    unit: Unit,
    actor: str = "cli",
    actor_id: int | None = None,
) -> StaffUser:
    """Store a new account (and its audit entry) and commit."""
    email = normal_email(email)
    if session.exec(select(StaffUser).where(StaffUser.email == email)).first() is not None:
        raise InvalidInput(f"e-mail {email} sudah terdaftar", loc=("email",))
    assert unit.id is not None
    user = StaffUser(
        email=email, password_hash=hash_password(password), role=_role(role), unit_id=unit.id
    )
    session.add(user)
    audit.record(
        session=session,
        actor=actor,
        actor_id=actor_id,
        action="user.create",
        unit_id=unit.id,
        target=email,
        detail=f"peran {role}",
    )
    session.commit()
    session.refresh(user)
    return user


def get_user(*, session: Session, email: str) -> StaffUser:
    user = session.exec(select(StaffUser).where(StaffUser.email == email.strip().lower())).first()
    if user is None:
        raise NotFound(f"tidak ada akun dengan e-mail {email!r}")
    return user


def list_users(*, session: Session, root: Unit | None = None) -> list[tuple[StaffUser, Unit]]:
    """Accounts with their units, by e-mail; with ``root``, only those working inside its
    subtree."""
    query = select(StaffUser, Unit).join(Unit, col(Unit.id) == col(StaffUser.unit_id))
    if root is not None:
        tree = org.subtree_ids(root)
        query = query.where(col(StaffUser.unit_id).in_(sa.select(tree.c.id)))
    return [(u, n) for u, n in session.exec(query.order_by(col(StaffUser.email))).all()]


def set_active(
    *,
    session: Session,
    user: StaffUser,
    active: bool,
    actor: str = "cli",
    actor_id: int | None = None,
) -> StaffUser:
    """Disable (ending every open session at once) or re-enable an account; commits."""
    user.active = active
    if not active:
        _end_sessions(session, user)
    action = "user.enable" if active else "user.disable"
    return _save(session, user, actor=actor, actor_id=actor_id, action=action)


def set_role(
    *, session: Session, user: StaffUser, role: str, actor: str, actor_id: int | None = None
) -> StaffUser:
    user.role = _role(role)
    return _save(
        session, user, actor=actor, actor_id=actor_id, action="user.role", detail=f"peran {role}"
    )


def reset_password(
    *,
    session: Session,
    user: StaffUser,
    password: str,
    actor: str = "cli",
    actor_id: int | None = None,
) -> StaffUser:
    """A new password; every session begun before it ends. Commits."""
    user.password_hash = hash_password(password)
    _end_sessions(session, user)
    return _save(session, user, actor=actor, actor_id=actor_id, action="user.reset_password")


def _save(
    session: Session,
    user: StaffUser,
    *,
    actor: str,
    actor_id: int | None,
    action: str,
    detail: str | None = None,
) -> StaffUser:
    """Store a changed account with its audit entry, commit, and return it fresh."""
    session.add(user)
    audit.record(
        session=session,
        actor=actor,
        actor_id=actor_id,
        action=action,
        unit_id=user.unit_id,
        target=user.email,
        detail=detail,
    )
    session.commit()
    session.refresh(user)
    return user


def _end_sessions(session: Session, user: StaffUser) -> None:
    user.sessions_valid_from = datetime.now(UTC)
    session.execute(sa.delete(StaffSession).where(col(StaffSession.user_id) == user.id))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _account_bucket(secret: str, email: str) -> str:
    digest = hmac.new(secret.encode(), email.encode(), hashlib.sha256).hexdigest()[:32]
    return f"login:{digest}"


def log_in(
    *, session: Session, email: str, password: str, client: str, secret: str, now: datetime
) -> tuple[StaffUser, str]:
    """Check a login and open a session; returns the user and the cookie's token (only its
    hash is stored). A failure counts against the account and the client (``client``: the
    keyed hash bucket of the client's address) and is committed; too many failures in the
    hour refuse even a right password until the hour is over."""
    email = email.strip().lower()[:254]
    buckets = [
        (_account_bucket(secret, email), FAILS_PER_ACCOUNT_HOUR),
        (f"login-{client}", FAILS_PER_CLIENT_HOUR),
    ]
    if _over_limit(session, buckets, now):
        raise LoginThrottled(
            "Terlalu banyak percobaan masuk yang gagal. Mohon coba lagi satu jam lagi."
        )
    user = session.exec(select(StaffUser).where(StaffUser.email == email)).first()
    if not _verify(user.password_hash if user else _DUMMY_HASH, password[:PASSWORD_MAX]) or (
        user is None or not user.active
    ):
        hit_rate_limits(session=session, limits=[(b, 10**9) for b, _ in buckets], now=now)
        session.commit()
        raise LoginRefused("E-mail atau kata sandi salah, atau akun tidak aktif.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.add(user)
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=_token_hash(token), user_id=user.id or 0, created_at=now, last_seen_at=now
        )
    )
    audit.record(
        session=session,
        actor=user.email,
        actor_id=user.id,
        action="user.login",
        unit_id=user.unit_id,
        target=user.email,
    )
    session.commit()
    session.refresh(user)
    return user, token


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _over_limit(session: Session, limits: list[tuple[str, int]], now: datetime) -> bool:
    counted = counted_hits(session=session, buckets=[b for b, _ in limits], now=now)
    return any(counted.get(bucket, 0) >= limit for bucket, limit in limits)


def session_identity(
    *, session: Session, token: str | None, now: datetime
) -> tuple[StaffIdentity | None, bool]:
    """The user behind a session cookie, or None when the session is unknown, idle too long,
    too old, begun before a password reset, or its account is disabled; and whether its last
    use is more than a minute old (then :func:`touch_session` notes this one). Only reads."""
    if not token or len(token) > 100:
        return None, False
    found = session.exec(
        select(StaffSession, StaffUser)
        .join(StaffUser, col(StaffUser.id) == col(StaffSession.user_id))
        .where(StaffSession.token_hash == _token_hash(token))
    ).first()
    if found is None:
        return None, False
    stored, user = found
    if (
        not user.active
        or now - stored.last_seen_at > IDLE
        or now - stored.created_at > ABSOLUTE
        or stored.created_at < user.sessions_valid_from
    ):
        return None, False
    assert user.id is not None
    identity = StaffIdentity(
        user_id=user.id,
        email=user.email,
        role=user.role,
        unit_id=user.unit_id,
        session_hash=stored.token_hash,
    )
    return identity, now - stored.last_seen_at > SEEN_RESOLUTION


def touch_session(*, session: Session, identity: StaffIdentity, now: datetime) -> None:
    """Note the session's use now (its idle expiry starts again); commits."""
    session.execute(
        sa.update(StaffSession)
        .where(col(StaffSession.token_hash) == identity.session_hash)
        .values(last_seen_at=now)
    )
    session.commit()


def log_out(*, session: Session, identity: StaffIdentity) -> None:
    session.execute(
        sa.delete(StaffSession).where(col(StaffSession.token_hash) == identity.session_hash)
    )
    session.commit()


def csrf_token(*, secret: str, identity: StaffIdentity) -> str:
    """The token every state-changing form of this session carries: bound to the session (a
    new login, a new token), derived rather than stored."""
    message = f"csrf|{identity.session_hash}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def csrf_matches(*, secret: str, identity: StaffIdentity, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(
        csrf_token(secret=secret, identity=identity), presented
    )


def visible_unit(*, session: Session, identity: StaffIdentity, unit: Unit | None) -> Unit:
    """The unit if the user may see it; outside the user's subtree it does not exist (404)."""
    if unit is None or not org.inside(session=session, root_id=identity.unit_id, unit=unit):
        raise NotFound("unit tidak ditemukan")
    return unit


def purge_expired(*, session: Session, now: datetime) -> int:
    """Delete sessions past their absolute or idle expiry; commits. Returns how many went."""
    deleted = session.execute(
        sa.delete(StaffSession).where(
            sa.or_(
                col(StaffSession.created_at) < now - ABSOLUTE,
                col(StaffSession.last_seen_at) < now - IDLE,
            )
        )
    )
    session.commit()
    return int(getattr(deleted, "rowcount", 0) or 0)
