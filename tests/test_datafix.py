"""Re-dating responses when a unit's time zone is corrected (app.services.datafix), both from
org.update_unit and as the `skm db redate` data fix."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core import ikm
from app.core.periods import parse_period
from app.models import TIME_ZONES, Response, UnitUpdate, UTCDateTime
from app.services import datafix, intake, org, results, rollups, scopes
from tests.factories import make_unit, response

# 23:30 WIB on 30 June (semester I) is 01:30 WIT on 1 July (semester II); two hours earlier
# is 21:30 WIB and 23:30 WIT, the same day in both.
LATE = datetime(2026, 6, 30, 16, 30, tzinfo=UTC)
EARLIER = LATE - timedelta(hours=2)


def _n(session: Session, unit_code: str, period: str) -> int:
    unit = org.get_unit(session=session, code=unit_code)
    scope = scopes.Scope(unit=unit, period=parse_period(period))
    return results.scope_ikm(session=session, scope=scope, method=ikm.Method()).n


def test_a_new_time_zone_redates_responses_and_their_ikm(session: Session) -> None:
    unit = make_unit(session, tz="WIB")
    items = [response((4,) * 9, LATE), response((2,) * 9, EARLIER)]
    intake.record_responses(session=session, unit=unit, items=items, channel="qr")
    assert (_n(session, unit.code, "2026-S1"), _n(session, unit.code, "2026-S2")) == (2, 0)

    org.update_unit(session=session, unit=unit, data=UnitUpdate(time_zone="WIT"))

    days = session.exec(
        select(col(Response.local_date))
        .where(Response.unit_id == unit.id)
        .order_by(col(Response.id))
    ).all()
    assert list(days) == [date(2026, 7, 1), date(2026, 6, 30)]
    assert (_n(session, unit.code, "2026-S1"), _n(session, unit.code, "2026-S2")) == (1, 1)
    assert _n(session, unit.code, "2026-07-01..2026-07-01") == 1
    july = scopes.Scope(unit=unit, period=parse_period("2026-07"))
    stored = rollups.tally(session=session, scope=july)
    rollups.rebuild(session=session, unit_ids=[unit.id or 0])
    assert stored == rollups.tally(session=session, scope=july)  # the rollups were current
    assert stored is not None and stored.sums[0] == 4


def test_redate_counts_only_changed_responses_and_units(session: Session) -> None:
    moved, kept = make_unit(session, tz="WIB"), make_unit(session, tz="WIB")
    for unit in (moved, kept):
        intake.record_responses(
            session=session, unit=unit, items=[response((3,) * 9, LATE)], channel="qr"
        )
    moved.time_zone = TIME_ZONES["WIT"]  # as before re-dating existed: dates left as WIB's
    session.add(moved)
    session.commit()
    done = datafix.redate(session=session, units=[moved, kept])
    assert done == datafix.Redated(responses=1, unit_ids=(moved.id or 0,))
    assert datafix.redate(session=session, units=[moved, kept]) == datafix.Redated(0, ())
    assert (_n(session, moved.code, "2026-S2"), _n(session, kept.code, "2026-S2")) == (1, 0)


@pytest.mark.parametrize("zone", sorted(TIME_ZONES.values()))
@pytest.mark.parametrize("local", [datetime(2026, 6, 30, 23, 59, 59), datetime(2024, 3, 1)])
def test_local_date_sql_agrees_with_python(session: Session, zone: str, local: datetime) -> None:
    for moment in (local, local - timedelta(seconds=1)):
        when = moment.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
        sent = sa.literal(when, UTCDateTime())
        found = session.execute(sa.select(datafix.local_date_sql(session, sent, zone))).scalar()
        assert str(found) == moment.date().isoformat()
