"""IKM results over the database: one scope, a ranking of a unit's children, a trend.

Every figure comes from ``core.ikm`` on tallies the rollups supply, so the CLI, the API and
the report agree to the cent. One rule everywhere: a unit's result covers the unit and all its
descendants, pooled by sums and counts, unless the scope asks for the unit's own responses
only; every result names the units it covers (``IkmResult.coverage``).
"""

from collections.abc import Sequence
from dataclasses import replace

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core import ikm
from app.core.periods import Period, containing, shift
from app.errors import Conflict, InvalidInput
from app.models import Population, Unit
from app.services import rollups
from app.services.org import children, get_population, preorder, subtree, subtree_ids
from app.services.questionnaires import unit_form
from app.services.scopes import Scope, scope_units

MAX_TREND_POINTS = 60
SUB_SCOPE_SAMPLE_NOTE = (
    "the minimum sample is judged for the whole unit, not per service or counter: "
    "populations are recorded per unit"
)


def scope_ikm(
    *,
    session: Session,
    scope: Scope,
    method: ikm.Method,
    aggregate: ikm.Aggregation = "pooled",
) -> ikm.IkmResult:
    """The IKM of a scope: its responses pooled, or with ``mean_of_children`` the mean of the
    unit's children's figures; with the units it covers and the sample adequacy against the
    scope's population for the period."""
    if aggregate == "mean_of_children":
        return _mean_of_children(session, scope, method)
    found = rollups.tally(session=session, scope=scope) or _empty_tally(session, scope.unit)
    result = ikm.compute(found, method, scope_population(session=session, scope=scope))
    units = scope_units(session=session, scope=scope)
    # The pooled counts also tell an own-only result what it leaves out below the unit.
    counts = rollups.responses_by_unit(session=session, scope=replace(scope, include_children=True))
    notes = []
    if scope.service is not None or scope.counter is not None:
        notes.append(SUB_SCOPE_SAMPLE_NOTE)
    covered = {unit.id for unit in units}
    below = {unit_id: n for unit_id, n in counts.items() if unit_id not in covered}
    if below:
        notes.append(
            f"the unit's own responses only: {sum(below.values())} response(s) of "
            f"{len(below)} unit(s) below {scope.unit.code} are not counted"
        )
    return replace(
        result,
        coverage=_coverage(units, counts),
        warnings=(*result.warnings, *notes),
    )


def _coverage(units: Sequence[Unit], counts: dict[int, int]) -> ikm.Coverage:
    return ikm.Coverage(
        codes=tuple(unit.code for unit in units),
        units_with_responses=sum(1 for unit in units if unit.id in counts),
    )


def _mean_of_children(session: Session, scope: Scope, method: ikm.Method) -> ikm.IkmResult:
    if scope.service is not None or scope.counter is not None:
        raise InvalidInput(
            "aggregate mean_of_children averages child units, not a service or counter"
        )
    if not scope.include_children:
        raise InvalidInput(
            "aggregate mean_of_children averages the child units: it cannot count the unit's "
            "own responses only"
        )
    ranked = ranking(
        session=session,
        parent=scope.unit,
        period=scope.period,
        method=method,
        include_flagged=scope.include_flagged,
    )
    if not ranked:
        raise InvalidInput(f"unit {scope.unit.code!r} has no child units to average")
    population = scope_population(session=session, scope=scope)
    try:
        result = ikm.mean_of_children([found for _, found in ranked], method, population)
    except ValueError as exc:  # children on forms with other elements or grade tables
        raise Conflict(f"the child units cannot be averaged: {exc}") from None
    own_only = replace(scope, include_children=False)
    own = sum(rollups.responses_by_unit(session=session, scope=own_only).values())
    if not own:
        return result
    note = f"{own} response(s) of {scope.unit.code} itself are not in the mean of its child units"
    return replace(result, warnings=(*result.warnings, note))


def scope_population(*, session: Session, scope: Scope) -> int | None:
    """The population a scope's sample is judged against: the unit's own, or for a pooled
    scope the sum of those entered for the units of its subtree (None where none is).
    Populations are recorded per unit, so a service or a counter has none of its own."""
    if scope.service is not None or scope.counter is not None:
        return None
    if not scope.include_children:
        return get_population(session=session, unit=scope.unit, period=scope.period)
    total = session.exec(
        select(sa.func.sum(Population.population)).where(
            col(Population.unit_id).in_(sa.select(subtree_ids(scope.unit).c.id)),
            Population.period == scope.period.label,
        )
    ).one()
    return None if total is None else int(total)


def _empty_tally(session: Session, unit: Unit) -> ikm.Tally:
    """No responses: the elements of the form the unit asks."""
    _, form = unit_form(session=session, unit=unit)
    return ikm.Tally(codes=form.element_codes, table=form.interval_table)


def ranking(
    *,
    session: Session,
    parent: Unit,
    period: Period,
    method: ikm.Method,
    include_flagged: bool = False,
) -> list[tuple[Unit, ikm.IkmResult]]:
    """The IKM of every direct child of a unit, each pooled with its own subtree (the same
    figure as its own ``scope_ikm``); by code."""
    tallies = rollups.tallies_by_branch(
        session=session, parent=parent, period=period, include_flagged=include_flagged
    )
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
    units = subtree(session=session, unit=parent)
    whole = Scope(unit=parent, period=period, include_flagged=include_flagged)
    counts = rollups.responses_by_unit(session=session, scope=whole)
    result = []
    for child in children(session=session, unit=parent):
        assert child.id is not None  # stored
        found = tallies.get(child.id)
        if isinstance(found, Conflict):
            computed = _no_single_ikm(session, child, method, found)
        else:
            computed = ikm.compute(
                found or _empty_tally(session, child), method, populations.get(child.id)
            )
        coverage = _coverage([unit for unit, _ in preorder([child], units)], counts)
        result.append((child, replace(computed, coverage=coverage)))
    return result


def trend(
    *,
    session: Session,
    scope: Scope,
    periods: Sequence[Period],
    method: ikm.Method,
    aggregate: ikm.Aggregation = "pooled",
) -> list[tuple[Period, ikm.IkmResult]]:
    """The scope's result in each of the given periods (the scope's own period is ignored).
    A period whose responses mix element sets has no figure and says why; the others stand."""
    points = []
    for period in periods:
        try:
            result = scope_ikm(
                session=session,
                scope=replace(scope, period=period),
                method=method,
                aggregate=aggregate,
            )
        except Conflict as exc:
            result = _no_single_ikm(session, scope.unit, method, exc)
        points.append((period, result))
    return points


def _no_single_ikm(
    session: Session, unit: Unit, method: ikm.Method, exc: Conflict
) -> ikm.IkmResult:
    """The place of a result that cannot be formed (its responses mix element sets): no
    figures, and the reason among its warnings."""
    empty = ikm.compute(_empty_tally(session, unit), method)
    return replace(empty, warnings=(exc.detail,))


def periods_between(first: Period, last: Period, granularity: str) -> list[Period]:
    """The calendar periods of a granularity from the one holding ``first``'s start to the
    one holding ``last``'s end; at most MAX_TREND_POINTS."""
    if last.end < first.start:
        raise InvalidInput(
            f"the trend ends ({last.label}) before it starts ({first.label})", loc=("query", "to")
        )
    current = containing(first.start, granularity)
    points: list[Period] = []
    while current.start <= last.end:
        if len(points) == MAX_TREND_POINTS:
            raise InvalidInput(f"a trend has at most {MAX_TREND_POINTS} points")
        points.append(current)
        current = shift(current, 1)
    return points
