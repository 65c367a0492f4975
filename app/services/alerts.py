"""Alerts: a counter, service or unit whose IKM over its last N responses falls a grade
against the N before, or whose last N responses grade an element D. Staff see them in the
console (acknowledge, comment, close); subscribed systems hear of them by webhook.

The check runs as a periodic job (every replica may run it; the job's row is locked while it
runs) over the scopes that received responses since its last round, so its cost follows new
responses, not the size of the database. Windows are read from the response table, summed in
SQL, and computed by ``app.core.ikm`` like every other figure; flagged responses stay out.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.core import ikm
from app.errors import InvalidInput, NotFound
from app.models import (
    ALERT_STATUSES,
    Alert,
    Counter,
    FormVersion,
    JobState,
    Response,
    Service,
    Unit,
    utcnow,
)
from app.reports.wording import number
from app.services import audit, rollups, webhooks
from app.services.dashboard import element_names
from app.services.followup import append_line

JOB = "alerts"
GRADES = ("A", "B", "C", "D")
DEFAULT_WINDOW = 30  # responses: enough for a grade to mean something, few enough to be recent


def _newest_first(table: sa.Table) -> tuple[sa.ColumnElement[Any], ...]:
    """The newest responses first: by local date, then by id (the order they were stored in a
    day). The (unit_id, local_date, id) index gives a unit's window without a sort."""
    return (table.c.local_date.desc(), table.c.id.desc())


@dataclass(frozen=True)
class _Scope:
    """What a window reads: a unit's own responses, or one of its services or counters."""

    unit: Unit
    service: Service | None = None
    counter: Counter | None = None

    @property
    def key(self) -> str:
        if self.counter is not None:
            return f"counter:{self.counter.id}"
        if self.service is not None:
            return f"service:{self.service.id}"
        return f"unit:{self.unit.id}"

    @property
    def words(self) -> str:
        if self.counter is not None:
            return f"loket {self.counter.name} ({self.unit.name})"
        if self.service is not None:
            return f"layanan {self.service.name} ({self.unit.name})"
        return self.unit.name

    def conditions(self, table: sa.Table) -> list[sa.ColumnElement[bool]]:
        if self.counter is not None:
            return [table.c.counter_id == self.counter.id]
        if self.service is not None:
            return [table.c.service_id == self.service.id]
        return [table.c.unit_id == self.unit.id]


def _window(
    session: Session, scope: _Scope, version: FormVersion, offset: int, size: int
) -> ikm.Tally | None:
    """The tally of ``size`` responses of the scope on ``version``, newest first after
    skipping ``offset``; None when there are fewer."""
    table = Response.__table__  # type: ignore[attr-defined]
    rows = (
        sa.select(table)
        .where(
            *scope.conditions(table),
            table.c.form_version_id == version.id,
            table.c.flagged.is_(False),
        )
        .order_by(*_newest_first(table))
        .offset(offset)
        .limit(size)
        .subquery()
    )
    found = session.execute(sa.select(*rollups.tally_aggregates(rows, len(version.codes)))).one()
    if int(found[0]) < size:
        return None
    return rollups.tally_of(found, version.codes, version.definition["interval_table"])


@dataclass(frozen=True)
class Finding:
    key: str
    kind: str
    scope: _Scope
    element: str | None
    detail: str
    facts: dict[str, Any]


def scan(session: Session, scope: _Scope, size: int) -> list[Finding]:
    """What the scope's last ``size`` responses show: a fall of grade against the ``size``
    before them, and each element graded D."""
    table = Response.__table__  # type: ignore[attr-defined]
    newest = session.execute(
        sa.select(table.c.form_version_id)
        .where(*scope.conditions(table), table.c.flagged.is_(False))
        .order_by(*_newest_first(table))
        .limit(1)
    ).scalar()
    if newest is None:
        return []
    version = session.get(FormVersion, newest)
    assert version is not None  # foreign key
    latest = _window(session, scope, version, 0, size)
    if latest is None:
        return []
    now = ikm.compute(latest, ikm.DEFAULT_METHOD)
    found: list[Finding] = []
    before_tally = _window(session, scope, version, size, size)
    if before_tally is not None and now.mutu is not None:
        before = ikm.compute(before_tally, ikm.DEFAULT_METHOD)
        if before.mutu is not None and GRADES.index(now.mutu) > GRADES.index(before.mutu):
            found.append(
                Finding(
                    f"grade_drop:{scope.key}",
                    "grade_drop",
                    scope,
                    None,
                    f"IKM {scope.words} atas {size} respons terakhir turun dari "
                    f"{number(before.nik_rounded)} ({before.mutu}) ke "
                    f"{number(now.nik_rounded)} ({now.mutu}).",
                    {
                        "window": size,
                        "before": {"nik": float(before.nik_rounded or 0), "mutu": before.mutu},
                        "now": {"nik": float(now.nik_rounded or 0), "mutu": now.mutu},
                    },
                )
            )
    names = element_names(session=session, unit=scope.unit)
    for element in now.elements:
        if element.mutu == "D":
            found.append(
                Finding(
                    f"element_d:{scope.key}:{element.code}",
                    "element_d",
                    scope,
                    element.code,
                    f"Unsur {names.get(element.code, element.code)} pada {scope.words} bermutu D "
                    f"({number(element.nik_rounded)}) atas {size} respons terakhir.",
                    {"window": size, "nik": float(element.nik_rounded or 0), "mutu": "D"},
                )
            )
    return found


def _touched(session: Session, after: int) -> tuple[list[_Scope], int]:
    """The scopes with responses stored after id ``after``, and the newest id."""
    table = Response.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        sa.select(table.c.unit_id, table.c.service_id, table.c.counter_id, sa.func.max(table.c.id))
        .where(table.c.id > after)
        .group_by(table.c.unit_id, table.c.service_id, table.c.counter_id)
    ).all()
    scopes: dict[str, _Scope] = {}
    newest = after
    for unit_id, service_id, counter_id, top in rows:
        newest = max(newest, int(top))
        unit = session.get(Unit, unit_id)
        assert unit is not None  # foreign key
        for scope in (
            _Scope(unit),
            _Scope(unit, service=session.get(Service, service_id)) if service_id else None,
            _Scope(unit, counter=session.get(Counter, counter_id)) if counter_id else None,
        ):
            if scope is not None:
                scopes.setdefault(scope.key, scope)
    return list(scopes.values()), newest


def check(
    *, session: Session, size: int = DEFAULT_WINDOW, now: datetime | None = None
) -> list[Alert]:
    """One round of the job: scan the scopes with new responses, raise the alerts not already
    standing, queue their webhook deliveries; commits. Returns the alerts raised."""
    at = now or utcnow()
    state = session.exec(select(JobState).where(JobState.name == JOB).with_for_update()).first()
    if state is None:
        state = JobState(name=JOB, position=0)
        session.add(state)
        session.flush()
    scopes, newest = _touched(session, state.position)
    raised = []
    for scope in scopes:
        for finding in scan(session, scope, size):
            alert = _raise(session, finding, at)
            if alert is not None:
                raised.append(alert)
    state.position = newest
    state.ran_at = at
    session.add(state)
    session.commit()
    return raised


def _raise(session: Session, finding: Finding, at: datetime) -> Alert | None:
    """Store the alert unless the same one stands (then None); queue its deliveries."""
    standing = session.exec(
        select(Alert.id).where(Alert.key == finding.key, Alert.status != "closed")
    ).first()
    if standing is not None:
        return None
    alert = Alert(
        key=finding.key,
        kind=finding.kind,
        unit_id=finding.scope.unit.id,  # type: ignore[arg-type]  # stored
        service_id=finding.scope.service.id if finding.scope.service else None,
        counter_id=finding.scope.counter.id if finding.scope.counter else None,
        element=finding.element,
        detail=finding.detail[:500],
        raised_at=at,
        updated_at=at,
    )
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:  # raised by another round at the same moment
        return None
    webhooks.enqueue(session, finding.scope.unit, "alert.raised", _payload(alert, finding), at)
    return alert


def _payload(alert: Alert, finding: Finding) -> dict[str, Any]:
    scope = finding.scope
    return {
        "event": "alert.raised",
        "alert": {
            "id": alert.id,
            "kind": alert.kind,
            "raised_at": alert.raised_at.isoformat(),
            "unit": {"code": scope.unit.code, "name": scope.unit.name},
            "service": {"code": scope.service.code, "name": scope.service.name}
            if scope.service
            else None,
            "counter": {"code": scope.counter.code, "name": scope.counter.name}
            if scope.counter
            else None,
            "element": alert.element,
            "detail": alert.detail,
            **finding.facts,
        },
    }


def listing(*, session: Session, unit_ids: Sequence[int], status: str | None = None) -> list[Alert]:
    """The alerts of the given units, standing ones first, newest first."""
    query = select(Alert).where(col(Alert.unit_id).in_(unit_ids))
    if status is not None:
        query = query.where(Alert.status == status)
    order = sa.case((col(Alert.status) == "closed", 1), else_=0)
    return list(
        session.exec(query.order_by(order, col(Alert.raised_at).desc(), col(Alert.id).desc()))
    )


def update(
    *,
    session: Session,
    alert: Alert,
    actor: audit.Actor,
    status: str | None = None,
    comment: str | None = None,
    now: datetime | None = None,
) -> Alert:
    """Acknowledge or close an alert, or add a comment (dated, signed)."""
    at = now or utcnow()
    changes = []
    if status is not None and status != alert.status:
        if status not in ALERT_STATUSES:
            raise InvalidInput(
                f"status must be one of {', '.join(ALERT_STATUSES)}", loc=("status",)
            )
        if alert.status == "closed":
            raise InvalidInput("a closed alert stays closed", loc=("status",))
        changes.append(f"status {alert.status} -> {status}")
        alert.status = status
    text = " ".join((comment or "").split())
    if text:
        if len(text) > 500 or "\x00" in text:
            raise InvalidInput("a comment is at most 500 characters", loc=("comment",))
        line = f"{at.date().isoformat()} {actor.name}: {text}"
        alert.comments = append_line(
            alert.comments, line, full="this alert has no room for more comments", loc="comment"
        )
        changes.append("comment")
    if not changes:
        return alert
    alert.updated_at = at
    session.add(alert)
    audit.record_as(
        session=session,
        actor=actor,
        action="alert.update",
        target=alert.key,
        unit_id=alert.unit_id,
        detail=", ".join(changes),
    )
    session.commit()
    session.refresh(alert)
    return alert


def get(*, session: Session, alert_id: int, unit_ids: Sequence[int]) -> Alert:
    found = session.get(Alert, alert_id)
    if found is None or found.unit_id not in unit_ids:
        raise NotFound(f"no alert {alert_id}")
    return found
