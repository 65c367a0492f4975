"""IKM results over the database: one scope, a ranking of a unit's children, a trend.

Every figure comes from ``core.ikm`` on tallies the rollups supply, so the CLI, the API and
the report agree to the cent. One rule everywhere: a unit's result covers the unit and all its
descendants, pooled by sums and counts, unless the scope asks for the unit's own responses
only; every result names the units it covers (``IkmResult.coverage``).
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core import ikm
from app.core.periods import Period, containing, shift
from app.errors import Conflict, InvalidInput
from app.models import Population, Unit
from app.services import rollups
from app.services.org import children, subtree_ids, subtree_nodes
from app.services.questionnaires import unit_form
from app.services.scopes import Scope, scope_units, unit_ids

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
    scope's population for the period. Responses mixing element sets are a Conflict."""
    found = _results(session, scope, [scope.period], method, aggregate, _EmptyTallies(session))
    if isinstance(found[0], Conflict):
        raise found[0]
    return found[0]


def trend(
    *,
    session: Session,
    scope: Scope,
    periods: Sequence[Period],
    method: ikm.Method,
    aggregate: ikm.Aggregation = "pooled",
) -> list[tuple[Period, ikm.IkmResult]]:
    """The scope's result in each of the given periods (the scope's own period is ignored),
    from one grouped query over the rollups whatever the number of periods. A period whose
    responses mix element sets has no figure and says why; the others stand."""
    empty = _EmptyTallies(session)
    found = _results(session, scope, periods, method, aggregate, empty)
    return [
        (period, _no_single_ikm(empty(scope.unit), method, r) if isinstance(r, Conflict) else r)
        for period, r in zip(periods, found, strict=True)
    ]


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
    empty = _EmptyTallies(session)
    return _rankings(session, parent, [period], method, include_flagged, empty)[0]


def rankings(
    *,
    session: Session,
    parent: Unit,
    periods: Sequence[Period],
    method: ikm.Method,
    include_flagged: bool = False,
) -> list[list[tuple[Unit, ikm.IkmResult]]]:
    """:func:`ranking` in each of the periods, from the same few queries as for one."""
    empty = _EmptyTallies(session)
    return _rankings(session, parent, periods, method, include_flagged, empty)


class _EmptyTallies:
    """The tally without responses of a unit: the elements of the form it asks, each form
    read once per request (a ranking or trend has many empty places)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.found: dict[str | None, ikm.Tally] = {}

    def __call__(self, unit: Unit) -> ikm.Tally:
        if unit.form_code not in self.found:
            _, form = unit_form(session=self.session, unit=unit)
            self.found[unit.form_code] = ikm.Tally(
                codes=form.element_codes, table=form.interval_table
            )
        return self.found[unit.form_code]


def _results(
    session: Session,
    scope: Scope,
    periods: Sequence[Period],
    method: ikm.Method,
    aggregate: ikm.Aggregation,
    empty: _EmptyTallies,
) -> list[ikm.IkmResult | Conflict]:
    """The scope's result (or why there is none) in each period: the same few queries for
    one period as for sixty."""
    if aggregate == "mean_of_children":
        return _means_of_children(session, scope, periods, method, empty)
    units = scope_units(session=session, scope=scope)
    # The pooled counts also tell an own-only result what it leaves out below the unit.
    found = rollups.tallies_and_reach(
        session=session,
        scope=scope,
        periods=periods,
        units=unit_ids(session=session, scope=scope, nodes=units),
    )
    populations = scope_populations(session=session, scope=scope, periods=periods)
    codes = tuple(unit.code for unit in units)
    results: list[ikm.IkmResult | Conflict] = []
    for (tally, reach), population in zip(found, populations, strict=True):
        if isinstance(tally, Conflict):
            results.append(tally)
            continue
        result = ikm.compute(tally or empty(scope.unit), method, population)
        notes = []
        if scope.service is not None or scope.counter is not None:
            notes.append(SUB_SCOPE_SAMPLE_NOTE)
        with_responses = int(reach.own > 0)
        if scope.include_children:
            with_responses += reach.below_units
        elif reach.below:
            notes.append(
                f"the unit's own responses only: {reach.below} response(s) of "
                f"{reach.below_units} unit(s) below {scope.unit.code} are not counted"
            )
        results.append(
            replace(
                result,
                coverage=ikm.Coverage(codes, with_responses),
                warnings=(*result.warnings, *notes),
            )
        )
    return results


def _means_of_children(
    session: Session,
    scope: Scope,
    periods: Sequence[Period],
    method: ikm.Method,
    empty: _EmptyTallies,
) -> list[ikm.IkmResult | Conflict]:
    if scope.service is not None or scope.counter is not None:
        raise InvalidInput(
            "aggregate mean_of_children averages child units, not a service or counter"
        )
    if not scope.include_children:
        raise InvalidInput(
            "aggregate mean_of_children averages the child units: it cannot count the unit's "
            "own responses only"
        )
    rankings = _rankings(session, scope.unit, periods, method, scope.include_flagged, empty)
    if not rankings[0]:
        raise InvalidInput(f"unit {scope.unit.code!r} has no child units to average")
    populations = scope_populations(session=session, scope=scope, periods=periods)
    reaches = rollups.reach(session=session, scope=scope, periods=periods)
    results: list[ikm.IkmResult | Conflict] = []
    for ranked, population, reach in zip(rankings, populations, reaches, strict=True):
        try:
            result = ikm.mean_of_children([found for _, found in ranked], method, population)
        except ValueError as exc:  # children on forms with other elements or grade tables
            results.append(Conflict(f"the child units cannot be averaged: {exc}"))
            continue
        if reach.own:
            note = (
                f"{reach.own} response(s) of {scope.unit.code} itself are not in the "
                "mean of its child units"
            )
            result = replace(result, warnings=(*result.warnings, note))
        results.append(result)
    return results


def scope_population(*, session: Session, scope: Scope) -> int | None:
    """The population a scope's sample is judged against: the unit's own, or for a pooled
    scope the sum of those entered for the units of its subtree (None where none is).
    Populations are recorded per unit, so a service or a counter has none of its own."""
    return scope_populations(session=session, scope=scope, periods=[scope.period])[0]


def scope_populations(
    *, session: Session, scope: Scope, periods: Sequence[Period]
) -> list[int | None]:
    """:func:`scope_population` for each of the periods, in one query."""
    if scope.service is not None or scope.counter is not None:
        return [None for _ in periods]
    units = (
        col(Population.unit_id).in_(sa.select(subtree_ids(scope.unit).c.id))
        if scope.include_children
        else Population.unit_id == scope.unit.id
    )
    labels = {period.label for period in periods}
    totals = dict(
        session.exec(
            select(Population.period, sa.func.sum(Population.population))
            .where(units, col(Population.period).in_(labels))
            .group_by(Population.period)
        ).all()
    )
    return [
        None if totals.get(period.label) is None else int(totals[period.label])
        for period in periods
    ]


def _rankings(
    session: Session,
    parent: Unit,
    periods: Sequence[Period],
    method: ikm.Method,
    include_flagged: bool,
    empty: _EmptyTallies,
) -> list[list[tuple[Unit, ikm.IkmResult]]]:
    """:func:`ranking` in each of the periods, from the same few queries."""
    # The parent's subtree walked parents first: each child's units follow it.
    below = subtree_nodes(session=session, unit=parent)[1:]
    tallies = rollups.tallies_by_branch(
        session=session,
        parent=parent,
        periods=periods,
        include_flagged=include_flagged,
        units=[node.id for node in below if node.id is not None],
    )
    # Each child is pooled with its subtree, so its sample is judged against their populations.
    branch = rollups.branch_cte(parent)
    p = Population.__table__.c  # type: ignore[attr-defined]
    populations = {
        (top, label): int(total)
        for top, label, total in session.execute(
            sa.select(branch.c.top, p.period, sa.func.sum(p.population))
            .join(branch, branch.c.id == p.unit_id)
            .where(p.period.in_({period.label for period in periods}))
            .group_by(branch.c.top, p.period)
        ).all()
    }
    kids = children(session=session, unit=parent)
    codes: dict[int | None, list[str]] = defaultdict(list)
    top: int | None = None
    for node in below:
        if node.parent_id == parent.id:
            top = node.id
        codes[top].append(node.code)
    rankings = []
    for period, found in zip(periods, tallies, strict=True):
        ranked = []
        for child in kids:
            assert child.id is not None  # stored
            place = found.get(child.id)
            tally = place.found if place is not None else None
            if isinstance(tally, Conflict):
                computed = _no_single_ikm(empty(child), method, tally)
            else:
                computed = ikm.compute(
                    tally or empty(child), method, populations.get((child.id, period.label))
                )
            coverage = ikm.Coverage(tuple(codes[child.id]), place.units if place else 0)
            ranked.append((child, replace(computed, coverage=coverage)))
        rankings.append(ranked)
    return rankings


def _no_single_ikm(empty: ikm.Tally, method: ikm.Method, exc: Conflict) -> ikm.IkmResult:
    """The place of a result that cannot be formed (its responses mix element sets): no
    figures, and the reason among its warnings."""
    return replace(ikm.compute(empty, method), warnings=(exc.detail,))


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
