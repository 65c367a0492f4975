"""IKM results over the database: one scope, a ranking of a unit's children, a trend.

Every figure comes from ``core.ikm.compute`` on tallies the rollups supply, so the CLI, the API
and the report agree to the cent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core import ikm
from app.core.periods import Period, containing, shift
from app.errors import InvalidInput
from app.models import Population, Unit
from app.services import rollups
from app.services.org import children, get_population, subtree_ids
from app.services.questionnaires import current_form
from app.services.scopes import Scope

MAX_TREND_POINTS = 60


def scope_ikm(*, session: Session, scope: Scope, method: ikm.Method) -> ikm.IkmResult:
    """The IKM of a scope, with sample adequacy against the scope's population for the period."""
    found = rollups.tally(session=session, scope=scope) or _empty_tally(session)
    return ikm.compute(found, method, scope_population(session=session, scope=scope))


def scope_population(*, session: Session, scope: Scope) -> int | None:
    """The population a scope's sample is judged against: the unit's own, or for a pooled
    scope the sum of those entered for the units of its subtree (None where none is)."""
    if not scope.include_children:
        return get_population(session=session, unit=scope.unit, period=scope.period)
    total = session.exec(
        select(sa.func.sum(Population.population)).where(
            col(Population.unit_id).in_(sa.select(subtree_ids(scope.unit).c.id)),
            Population.period == scope.period.label,
        )
    ).one()
    return None if total is None else int(total)


def _empty_tally(session: Session) -> ikm.Tally:
    _, form = current_form(session=session)
    return ikm.Tally(codes=form.element_codes, table=form.interval_table)


def ranking(
    *, session: Session, parent: Unit, period: Period, method: ikm.Method
) -> list[tuple[Unit, ikm.IkmResult]]:
    """The IKM of every direct child of a unit, each pooled with its own subtree; by code."""
    tallies = rollups.tallies_by_branch(session=session, parent=parent, period=period)
    # Each child is pooled with its subtree, so its sample is judged against their populations.
    branch = rollups.branch_cte(parent)
    p = Population.__table__.c  # type: ignore[attr-defined]
    populations = {
        top: int(total)
        for top, total in session.execute(
            sa.select(branch.c.top, sa.func.sum(p.population))
            .join(branch, branch.c.id == p.unit_id)
            .where(p.period == period.label)
            .group_by(branch.c.top)
        ).all()
    }
    result = []
    for child in children(session=session, unit=parent):
        assert child.id is not None  # stored
        found = tallies.get(child.id) or _empty_tally(session)
        result.append((child, ikm.compute(found, method, populations.get(child.id))))
    return result


def trend(
    *, session: Session, scope: Scope, periods: Sequence[Period], method: ikm.Method
) -> list[tuple[Period, ikm.IkmResult]]:
    """The scope's result in each of the given periods (the scope's own period is ignored)."""
    return [
        (
            period,
            scope_ikm(
                session=session,
                scope=Scope(
                    unit=scope.unit,
                    period=period,
                    include_children=scope.include_children,
                    service=scope.service,
                    counter=scope.counter,
                    include_flagged=scope.include_flagged,
                ),
                method=method,
            ),
        )
        for period in periods
    ]


def periods_between(first: Period, last: Period, granularity: str) -> list[Period]:
    """The calendar periods of a granularity from the one holding ``first``'s start to the
    one holding ``last``'s end; at most MAX_TREND_POINTS."""
    current = containing(first.start, granularity)
    points: list[Period] = []
    while current.start <= last.end:
        if len(points) == MAX_TREND_POINTS:
            raise InvalidInput(f"a trend has at most {MAX_TREND_POINTS} points")
        points.append(current)
        current = shift(current, 1)
    return points
