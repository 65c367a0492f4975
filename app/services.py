"""Use-cases over a Session: the organisation tree, recording responses, IKM over the database.

Each function that writes owns its commit (one per use-case). Aggregation happens in SQL: the
rollup table holds per-day sums and counts, kept in the same transaction as the insert.
"""

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app import ikm, qr
from app.errors import Conflict, InvalidInput, NotFound
from app.forms import Form, load_forms, parse_form
from app.models import (
    ANSWER_COLUMNS,
    CODE_PATTERN,
    ROLLUP_COUNTS,
    Counter,
    CounterCreate,
    CounterUpdate,
    FormVersion,
    Population,
    Service,
    ServiceCreate,
    ServiceUpdate,
    Unit,
    UnitCreate,
    UnitUpdate,
    new_token,
    response_rollup,
)
from app.periods import Period

DEFAULT_FORM = "permenpan-rb-14-2017"
MAX_POPULATION = 100_000_000  # more than any unit serves in a period; fits the column
MOVE_LOCK = 0x534B4D01  # PostgreSQL advisory lock key: unit moves, one at a time


def _store_new(session: Session, row: Any, taken: str) -> None:
    """Commit a new row; when a concurrent request won the race for its unique code, the
    unique index refuses it and the client hears the same 409 as the earlier check gives."""
    session.add(row)
    try:
        session.commit()
    except sa.exc.IntegrityError:
        session.rollback()
        raise Conflict(taken) from None
    session.refresh(row)


def upsert(session: Session, table: Any) -> Any:
    """A dialect INSERT that knows ON CONFLICT (PostgreSQL and SQLite spell it alike)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


# --- forms ---


def sync_forms(*, session: Session, forms_dir: Path) -> int:
    """Store every form file whose content is new as a new form version; returns how many."""
    added = 0
    for form in load_forms(forms_dir).values():
        stmt = (
            upsert(session, FormVersion)
            .values(
                code=form.code,
                content_hash=form.content_hash(),
                element_codes=",".join(form.element_codes),
                definition=form.model_dump(mode="json"),
                created_at=datetime.now().astimezone(),
            )
            .on_conflict_do_nothing(index_elements=["content_hash"])
            .returning(col(FormVersion.id))
        )
        # Counted from RETURNING: psycopg reports rowcount -1 for this statement.
        added += len(session.execute(stmt).all())
    session.commit()
    return added


def current_form(*, session: Session, code: str) -> tuple[FormVersion, Form]:
    """The newest stored version of a form, and its parsed definition."""
    version = session.exec(
        select(FormVersion).where(FormVersion.code == code).order_by(col(FormVersion.id).desc())
    ).first()
    if version is None:
        known = sorted(set(session.exec(select(FormVersion.code)).all()))
        raise NotFound(f"unknown form {code!r}; known forms: {', '.join(known) or 'none'}")
    return version, parse_form(version.definition, f"form_version {version.id}")


# --- organisation tree ---


def lookup_code(code: str) -> str:
    """A code as stored (lower case); a text that no code can be (too long, a NUL, a space)
    becomes an empty string, which matches nothing without troubling the database."""
    code = code.strip().lower()
    return code if re.fullmatch(CODE_PATTERN, code) else ""


def get_unit(*, session: Session, code: str) -> Unit:
    unit = session.exec(select(Unit).where(Unit.code == lookup_code(code))).first()
    if unit is None:
        raise NotFound(f"unknown unit code {code!r}")
    return unit


def create_unit(*, session: Session, data: UnitCreate) -> Unit:
    parent = get_unit(session=session, code=data.parent_code) if data.parent_code else None
    if session.exec(select(Unit.id).where(Unit.code == data.code)).first() is not None:
        raise Conflict(f"a unit with code {data.code!r} already exists")
    unit = Unit(
        code=data.code,
        name=data.name,
        address=data.address,
        time_zone=data.time_zone,
        parent_id=parent.id if parent else None,
    )
    _store_new(session, unit, f"a unit with code {data.code!r} already exists")
    return unit


def update_unit(*, session: Session, unit: Unit, data: UnitUpdate) -> Unit:
    """Rename, re-address, move or (de)activate a unit; a move may not create a cycle."""
    changes = data.model_dump(exclude_unset=True)
    if "parent_code" in changes:
        code = changes.pop("parent_code")
        parent = get_unit(session=session, code=code) if code else None
        if parent is not None:
            # Two moves checked side by side could each pass and together close a loop: on
            # PostgreSQL moves take turns; SQLite lets one writer in at a time anyway.
            if session.get_bind().dialect.name == "postgresql":
                session.execute(sa.select(sa.func.pg_advisory_xact_lock(MOVE_LOCK)))
            tree = subtree_ids(unit)
            inside = sa.select(tree.c.id).where(tree.c.id == parent.id)
            if session.execute(inside).first() is not None:
                session.rollback()
                raise Conflict(f"unit {unit.code!r} cannot move under itself or its descendant")
        unit.parent_id = parent.id if parent else None
    for name in ("name", "time_zone", "active"):
        if changes.get(name) is not None:
            setattr(unit, name, changes[name])
    if "address" in changes:
        unit.address = changes["address"]
    session.add(unit)
    session.commit()
    session.refresh(unit)
    return unit


def unit_tree(*, session: Session) -> list[tuple[Unit, int]]:
    """Every unit with its depth, parents before children, siblings by code."""
    units = session.exec(select(Unit).order_by(Unit.code)).all()
    children: dict[int | None, list[Unit]] = defaultdict(list)
    for unit in units:
        children[unit.parent_id].append(unit)
    ordered: list[tuple[Unit, int]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for unit in children[parent_id]:
            ordered.append((unit, depth))
            walk(unit.id, depth + 1)

    walk(None, 0)
    return ordered


def children(*, session: Session, unit: Unit) -> list[Unit]:
    return list(session.exec(select(Unit).where(Unit.parent_id == unit.id).order_by(Unit.code)))


def subtree_ids(unit: Unit) -> sa.CTE:
    """A recursive CTE of the unit's id and all its descendants' ids."""
    units = Unit.__table__  # type: ignore[attr-defined]
    tree = sa.select(sa.literal(unit.id).label("id")).cte("subtree", recursive=True)
    # UNION, not UNION ALL: should a loop ever get into the tree, the walk still ends.
    return tree.union(sa.select(units.c.id).where(units.c.parent_id == tree.c.id))


def get_service(*, session: Session, unit: Unit, code: str) -> Service:
    service = session.exec(
        select(Service).where(Service.unit_id == unit.id, Service.code == lookup_code(code))
    ).first()
    if service is None:
        raise NotFound(f"unit {unit.code!r} has no service {code!r}")
    return service


def get_counter(*, session: Session, unit: Unit, code: str) -> Counter:
    counter = session.exec(
        select(Counter).where(Counter.unit_id == unit.id, Counter.code == lookup_code(code))
    ).first()
    if counter is None:
        raise NotFound(f"unit {unit.code!r} has no counter {code!r}")
    return counter


def create_service(*, session: Session, data: ServiceCreate) -> Service:
    unit = get_unit(session=session, code=data.unit_code)
    taken = select(Service.id).where(Service.unit_id == unit.id, Service.code == data.code)
    if session.exec(taken).first() is not None:
        raise Conflict(f"unit {unit.code!r} already has a service {data.code!r}")
    service = Service(unit_id=unit.id, code=data.code, name=data.name)  # type: ignore[arg-type]
    _store_new(session, service, f"unit {unit.code!r} already has a service {data.code!r}")
    return service


def create_counter(*, session: Session, data: CounterCreate) -> Counter:
    unit = get_unit(session=session, code=data.unit_code)
    service = (
        get_service(session=session, unit=unit, code=data.service_code)
        if data.service_code
        else None
    )
    taken = select(Counter.id).where(Counter.unit_id == unit.id, Counter.code == data.code)
    if session.exec(taken).first() is not None:
        raise Conflict(f"unit {unit.code!r} already has a counter {data.code!r}")
    counter = Counter(
        unit_id=unit.id,  # type: ignore[arg-type]
        service_id=service.id if service else None,
        code=data.code,
        name=data.name,
    )
    _store_new(session, counter, f"unit {unit.code!r} already has a counter {data.code!r}")
    return counter


def update_service(*, session: Session, service: Service, data: ServiceUpdate) -> Service:
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(service, name, value)
    session.add(service)
    session.commit()
    session.refresh(service)
    return service


def update_counter(*, session: Session, counter: Counter, data: CounterUpdate) -> Counter:
    """Rename, re-assign to a service of its unit, open or close a counter."""
    changes = data.model_dump(exclude_unset=True)
    if "service_code" in changes:
        code = changes.pop("service_code")
        unit = session.get(Unit, counter.unit_id)
        assert unit is not None  # foreign key
        counter.service_id = get_service(session=session, unit=unit, code=code).id if code else None
    for name, value in changes.items():
        if value is not None:
            setattr(counter, name, value)
    session.add(counter)
    session.commit()
    session.refresh(counter)
    return counter


def set_population(*, session: Session, unit: Unit, period: Period, population: int) -> None:
    if not 1 <= population <= MAX_POPULATION:
        raise InvalidInput(f"population must be 1 to {MAX_POPULATION:,}, got {population}")
    stmt = upsert(session, Population).values(
        unit_id=unit.id, period=period.label, population=population
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["unit_id", "period"], set_={"population": population}
    )
    session.execute(stmt)
    session.commit()


def get_population(*, session: Session, unit: Unit, period: Period) -> int | None:
    return session.exec(
        select(Population.population).where(
            Population.unit_id == unit.id, Population.period == period.label
        )
    ).first()


# --- IKM over the database ---


@dataclass(frozen=True)
class Scope:
    """Which responses an IKM covers."""

    unit: Unit
    period: Period
    include_children: bool = False
    service: Service | None = None
    counter: Counter | None = None
    include_flagged: bool = False

    def conditions(
        self, table: Any, *, service: sa.ColumnElement[Any], counter: sa.ColumnElement[Any]
    ) -> list[sa.ColumnElement[bool]]:
        """WHERE conditions selecting the scope from a table with unit_id, local_date and
        flagged columns (the response table or the rollups, whose service and counter
        columns are named differently)."""
        # One unit is an equality, so an index on (unit_id, local_date, ...) also gives order.
        units = (
            table.unit_id.in_(sa.select(subtree_ids(self.unit).c.id))
            if self.include_children
            else table.unit_id == self.unit.id
        )
        conditions: list[sa.ColumnElement[bool]] = [
            units,
            table.local_date.between(self.period.start, self.period.end),
        ]
        if self.service is not None:
            conditions.append(service == self.service.id)
        if self.counter is not None:
            conditions.append(counter == self.counter.id)
        if not self.include_flagged:
            conditions.append(table.flagged.is_(False))
        return conditions


def resolve_scope(
    *,
    session: Session,
    unit: Unit,
    period: Period,
    service_code: str | None = None,
    counter_code: str | None = None,
    include_children: bool = False,
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


def tally(*, session: Session, scope: Scope) -> ikm.Tally | None:
    """Per-element sums and counts of the scope, from the rollups (one GROUP BY in SQL);
    None when there are no responses."""
    r = response_rollup.c
    conditions = scope.conditions(r, service=r.service_key, counter=r.counter_key)
    stmt = (
        sa.select(r.form_version_id, *(sa.func.sum(r[c]) for c in ROLLUP_COUNTS))
        .where(*conditions)
        .group_by(r.form_version_id)
    )
    return _pool(session, session.execute(stmt).all())


def _pool(session: Session, rows: Sequence[Any]) -> ikm.Tally | None:
    """One Tally from rollup sums per form version (rows of form_version_id, *ROLLUP_COUNTS).

    Versions of a form share element codes and pool; a scope mixing forms with different
    element sets has no single IKM and is refused. None when there are no responses.
    """
    pooled: dict[tuple[tuple[str, ...], str], ikm.Tally] = {}
    versions = {v.id: v for v in session.exec(select(FormVersion)).all()}
    for version_id, *sums in rows:
        counts = dict(zip(ROLLUP_COUNTS, (int(s) for s in sums), strict=True))
        version = versions[version_id]
        codes = version.codes
        k = len(codes)
        part = ikm.Tally(
            codes=codes,
            responses=counts["responses"],
            answered=tuple(counts[f"{c}_n"] for c in ANSWER_COLUMNS[:k]),
            sums=tuple(counts[f"{c}_sum"] for c in ANSWER_COLUMNS[:k]),
            complete=counts["complete"],
            complete_sum=counts["complete_sum"],
            complete_sumsq=counts["complete_sumsq"],
            table=version.definition["interval_table"],
        )
        key = (codes, part.table)
        pooled[key] = pooled[key] + part if key in pooled else part
    if len(pooled) > 1:
        raise Conflict(
            "the responses in this scope were answered on forms with different elements or "
            "grade tables; compute each period or unit separately"
        )
    return next(iter(pooled.values()), None)


def scope_ikm(*, session: Session, scope: Scope, method: ikm.Method) -> ikm.IkmResult:
    """The IKM of a scope, with sample adequacy against the scope's population for the period."""
    found = tally(session=session, scope=scope) or _empty_tally(session)
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
    _, form = current_form(session=session, code=DEFAULT_FORM)
    return ikm.Tally(codes=form.element_codes, table=form.interval_table)


def ranking(
    *, session: Session, parent: Unit, period: Period, method: ikm.Method
) -> list[tuple[Unit, ikm.IkmResult]]:
    """The IKM of every direct child of a unit, each pooled with its own subtree, in one
    GROUP BY over the rollups (a provincial table has hundreds of units); by child code."""
    units = Unit.__table__.c  # type: ignore[attr-defined]
    branch = (
        sa.select(units.id.label("id"), units.id.label("top"))
        .where(units.parent_id == parent.id)
        .cte("branch", recursive=True)
    )
    branch = branch.union(  # UNION: ends even on a loop (see subtree_ids)
        sa.select(units.id, branch.c.top).where(units.parent_id == branch.c.id)
    )
    r = response_rollup.c
    stmt = (
        sa.select(branch.c.top, r.form_version_id, *(sa.func.sum(r[c]) for c in ROLLUP_COUNTS))
        .join(branch, branch.c.id == r.unit_id)
        .where(r.local_date.between(period.start, period.end), r.flagged.is_(False))
        .group_by(branch.c.top, r.form_version_id)
    )
    rows: dict[int, list[Any]] = defaultdict(list)
    for top, *sums in session.execute(stmt).all():
        rows[top].append(sums)
    # Each child is pooled with its subtree, so its sample is judged against their populations.
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
        found = _pool(session, rows[child.id]) or _empty_tally(session)
        result.append((child, ikm.compute(found, method, populations.get(child.id))))
    return result


# --- counters: QR codes and posters ---


def rotate_counter_token(*, session: Session, counter: Counter) -> Counter:
    """Give a counter a new public token: printed codes with the old one stop working."""
    counter.token = new_token()
    session.add(counter)
    session.commit()
    session.refresh(counter)
    return counter


def posters(
    *, session: Session, unit: Unit, base_url: str, counter: Counter | None = None
) -> list[qr.Poster]:
    """Poster data for one counter or every active counter of a unit, by counter code."""
    if counter is not None:
        chosen = [counter]
    else:
        chosen = list(
            session.exec(
                select(Counter)
                .where(Counter.unit_id == unit.id, col(Counter.active).is_(True))
                .order_by(Counter.code)
            ).all()
        )
    if not chosen:
        raise NotFound(f"unit {unit.code!r} has no active counter")
    names = {s.id: s.name for s in session.exec(select(Service).where(Service.unit_id == unit.id))}
    return [
        qr.Poster(
            unit_name=unit.name,
            counter_name=c.name,
            service_name=names.get(c.service_id) if c.service_id else None,
            url=qr.survey_url(base_url, c.token),
        )
        for c in chosen
    ]
