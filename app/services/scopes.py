"""Which responses a figure covers: a unit with its descendants (the default: one rule for the
CLI, the API, reports, trends and rankings), or the unit's own responses only; one service or
one counter of the unit; a period; flagged responses in or out. Every reader (rollups, exports,
reports) selects through :meth:`Scope.conditions`, so they all agree on what a scope holds."""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.core.periods import Period
from app.db import id_array, is_postgresql
from app.models import Counter, Service, Unit
from app.services.org import UnitNode, get_counter, get_service, subtree_ids, subtree_nodes


@dataclass(frozen=True)
class Scope:
    """Which responses an IKM covers.

    ``include_children`` (default) takes in every descendant of the unit: a result for an OPD
    is the result of the OPD and its units, pooled by sums and counts. A service or a counter
    belongs to one unit, so its scope is that unit's own service or counter.
    """

    unit: Unit
    period: Period
    include_children: bool = True
    service: Service | None = None
    counter: Counter | None = None
    include_flagged: bool = False

    def __post_init__(self) -> None:
        if self.service is not None or self.counter is not None:
            object.__setattr__(self, "include_children", False)

    @cached_property
    def _subtree(self) -> sa.CTE:
        # One CTE per scope: a statement that selects it twice (a union) names it once.
        return subtree_ids(self.unit)

    def conditions(
        self,
        table: Any,
        *,
        service: sa.ColumnElement[Any] | None,
        counter: sa.ColumnElement[Any] | None,
        period: bool = True,
        units: Sequence[int] | None = None,
    ) -> list[sa.ColumnElement[bool]]:
        """WHERE conditions selecting the scope from a table with unit_id, local_date and
        flagged columns (the response table or the rollups, whose service and counter
        columns are named differently). ``period=False`` leaves the dates to the caller
        (the month rollups); a table without service or counter columns (None) cannot
        select a service's or counter's scope. ``units``: the scope's :func:`unit_ids`, when
        the caller has read them (PostgreSQL only: one array parameter)."""
        # One unit is an equality, so an index on (unit_id, local_date, ...) also gives order.
        selected = (
            table.unit_id == sa.any_(id_array(units))
            if units is not None and self.include_children
            else table.unit_id.in_(sa.select(self._subtree.c.id))
            if self.include_children
            else table.unit_id == self.unit.id
        )
        conditions: list[sa.ColumnElement[bool]] = [selected]
        if period:
            conditions.append(table.local_date.between(self.period.start, self.period.end))
        if self.service is not None:
            if service is None:
                raise ValueError("this table does not know services")
            conditions.append(service == self.service.id)
        if self.counter is not None:
            if counter is None:
                raise ValueError("this table does not know counters")
            conditions.append(counter == self.counter.id)
        if not self.include_flagged:
            conditions.append(table.flagged.is_(False))
        return conditions

    def response_conditions(self, table: Any) -> list[sa.ColumnElement[bool]]:
        """The conditions on the response table itself."""
        return self.conditions(table.c, service=table.c.service_id, counter=table.c.counter_id)


def resolve_scope(
    *,
    session: Session,
    unit: Unit,
    period: Period,
    service_code: str | None = None,
    counter_code: str | None = None,
    include_children: bool = True,
    include_flagged: bool = False,
) -> Scope:
    """A scope from the codes a person or a client system gives (404 for unknown codes)."""
    return Scope(
        unit=unit,
        period=period,
        include_children=include_children,
        include_flagged=include_flagged,
        service=get_service(session=session, unit=unit, code=service_code)
        if service_code
        else None,
        counter=get_counter(session=session, unit=unit, code=counter_code)
        if counter_code
        else None,
    )


def ordered_reads(*, session: Session, scope: Scope) -> Scope:
    """The same responses, selected by an equality on the unit when it has no descendants:
    the (unit_id, local_date, id) index then also gives the order of row-by-row reads (pages,
    exports, respondent rows) instead of a sort per chunk."""
    if not scope.include_children:
        return scope
    below = session.exec(select(Unit.id).where(Unit.parent_id == scope.unit.id).limit(1)).first()
    return scope if below is not None else replace(scope, include_children=False)


def scope_units(*, session: Session, scope: Scope) -> list[UnitNode]:
    """The units whose responses the scope selects, parents first, siblings by code."""
    if not scope.include_children:
        return [UnitNode(scope.unit.id, scope.unit.parent_id, scope.unit.code)]
    return subtree_nodes(session=session, unit=scope.unit)


def unit_ids(
    *, session: Session, scope: Scope, nodes: Sequence[UnitNode] | None = None
) -> list[int] | None:
    """The ids of the units a pooled scope selects, read first on PostgreSQL (or taken from
    its :func:`scope_units` ``nodes`` when the caller has read them): given them as one
    array, the planner knows their number, where for the recursive CTE it guesses thousands
    and reads a whole table for one unit. None for the unit's own responses and on SQLite
    (whose planner needs no help), where :meth:`Scope.conditions` selects as always."""
    if not scope.include_children or not is_postgresql(session):
        return None
    if nodes is not None:
        return [node.id for node in nodes if node.id is not None]
    return list(session.execute(sa.select(scope._subtree.c.id)).scalars())
