"""Data fixes over stored responses (run from the CLI, or as part of the change that needs
them): re-dating responses after a unit's time zone is corrected."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from app.db import is_postgresql
from app.models import Response, Unit
from app.services import rollups


@dataclass(frozen=True)
class Redated:
    responses: int  # responses whose local date changed
    unit_ids: tuple[int, ...]  # units that had any: their rollups were rebuilt


def local_date_sql(session: Session, submitted_at: Any, zone: str) -> sa.ColumnElement[Any]:
    """SQL for the calendar date of a UTC timestamp column in an Indonesian time zone."""
    if is_postgresql(session):
        return sa.cast(sa.func.timezone(zone, submitted_at), sa.Date)
    # SQLite keeps submitted_at as naive UTC text and knows no zones. WIB, WITA and WIT are
    # fixed offsets without daylight saving (since 1964, long before any response), so the
    # offset of any recent day holds for every stored one.
    offset = ZoneInfo(zone).utcoffset(datetime(2026, 1, 1))
    assert offset is not None
    return sa.func.date(submitted_at, f"{int(offset.total_seconds()) // 60:+d} minutes")


def redate(*, session: Session, units: Sequence[Unit], commit: bool = True) -> Redated:
    """Set each response's local_date to the day its submitted_at falls on in its unit's
    (current) time zone, and rebuild the rollups of the units where any date changed, in one
    transaction. ``commit=False`` leaves the commit to the caller's change."""
    table: sa.Table = Response.__table__  # type: ignore[attr-defined]
    if is_postgresql(session):
        # Submissions wait until this commits: one arriving meanwhile would be dated by the
        # zone being replaced. The mode excludes itself, so two fixes take turns.
        session.execute(sa.text("LOCK TABLE response IN SHARE ROW EXCLUSIVE MODE"))
    by_zone: dict[str, list[int]] = defaultdict(list)
    for unit in units:
        assert unit.id is not None
        by_zone[unit.time_zone].append(unit.id)
    changed: dict[int, int] = {}
    for zone, ids in by_zone.items():
        local = local_date_sql(session, table.c.submitted_at, zone)
        stale = sa.and_(table.c.unit_id.in_(ids), table.c.local_date != local)
        counts = sa.select(table.c.unit_id, sa.func.count()).where(stale).group_by(table.c.unit_id)
        found = {int(unit_id): int(n) for unit_id, n in session.execute(counts).all()}
        if found:
            session.execute(table.update().where(stale).values(local_date=local))
            changed.update(found)
    if changed:
        rollups.rebuild(session=session, unit_ids=sorted(changed), commit=False)
    if commit:
        session.commit()
    return Redated(responses=sum(changed.values()), unit_ids=tuple(sorted(changed)))
