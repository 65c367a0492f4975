"""The audit log: who changed what, when. Each use-case that changes the organisation, the
accounts, API keys or the responses (paper entry, imports, publication) records one entry in
the same transaction as the change, so the two commit or roll back together."""

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import AuditEntry, Unit

DETAIL_MAX = 2000


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a console user (by e-mail and id) or the command line."""

    name: str
    user_id: int | None = None


CLI = Actor("cli")


def record(
    *,
    session: Session,
    actor: str,
    action: str,
    target: str,
    unit_id: int | None = None,
    actor_id: int | None = None,
    detail: str | None = None,
) -> None:
    """Add an entry to the caller's transaction (the caller commits)."""
    session.add(
        AuditEntry(
            user_id=actor_id,
            actor=actor[:254],
            action=action,
            unit_id=unit_id,
            target=target[:200],
            detail=detail[:DETAIL_MAX] if detail else None,
        )
    )


def record_as(
    *,
    session: Session,
    actor: Actor,
    action: str,
    target: str,
    unit_id: int | None = None,
    detail: str | None = None,
) -> None:
    """:func:`record` for an :class:`Actor` (what services that take an ``actor`` call)."""
    record(
        session=session,
        actor=actor.name,
        actor_id=actor.user_id,
        action=action,
        target=target,
        unit_id=unit_id,
        detail=detail,
    )


def page_of(
    *,
    session: Session,
    root: Unit | None,
    action: str | None = None,
    actor: str | None = None,
    page: int = 0,
    size: int = 50,
) -> tuple[list[AuditEntry], bool]:
    """The newest entries (about units in ``root``'s subtree, when given), optionally of one
    action or actor, a page at a time; with whether there are more."""
    from app.services import org  # org records its changes here: imported when needed

    query = select(AuditEntry)
    if root is not None:
        tree = org.subtree_ids(root)
        query = query.where(col(AuditEntry.unit_id).in_(sa.select(tree.c.id)))
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(AuditEntry.actor == actor.strip().lower())
    rows = list(
        session.exec(
            query.order_by(col(AuditEntry.id).desc()).offset(page * size).limit(size + 1)
        ).all()
    )
    return rows[:size], len(rows) > size
