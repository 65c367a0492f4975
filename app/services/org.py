"""The organisation: units (the tree from pemda to unit pelayanan), their services (jenis
layanan) and counters (loket), and the population each unit records per period.

Objects are found by code, as staff name them; nothing is deleted (responses refer to it), an
``active`` flag retires it.
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core.periods import Period
from app.db import is_postgresql, store_new, upsert
from app.errors import Conflict, InvalidInput, LocalBaseUrl, NotFound
from app.models import (
    CODE_PATTERN,
    Counter,
    CounterCreate,
    CounterUpdate,
    Population,
    Service,
    ServiceCreate,
    ServiceUpdate,
    Unit,
    UnitCreate,
    UnitUpdate,
    new_token,
)
from app.reports import qr
from app.services import audit
from app.services.questionnaires import check_form_code

MAX_POPULATION = 100_000_000  # more than any unit serves in a period; fits the column
MOVE_LOCK = 0x534B4D01  # PostgreSQL advisory lock key: unit moves, one at a time


# --- organisation tree ---


def lookup_code(code: str) -> str:
    """A code as stored (lower case); a text that no code can be (too long, a NUL, a space)
    becomes an empty string, which matches nothing without troubling the database."""
    code = code.strip().lower()
    return code if re.fullmatch(CODE_PATTERN, code) else ""


_UNIT_BY_CODE = select(Unit).where(Unit.code == sa.bindparam("code"))  # built once: every request


def _changes(data: UnitUpdate | ServiceUpdate | CounterUpdate) -> str:
    """What an update sets, for the audit log."""
    return ", ".join(f"{k}={v}" for k, v in data.model_dump(exclude_unset=True).items())


def get_unit(*, session: Session, code: str) -> Unit:
    unit = session.exec(_UNIT_BY_CODE, params={"code": lookup_code(code)}).first()
    if unit is None:
        raise NotFound(f"unknown unit code {code!r}")
    return unit


def create_unit(*, session: Session, data: UnitCreate, actor: audit.Actor = audit.CLI) -> Unit:
    parent = get_unit(session=session, code=data.parent_code) if data.parent_code else None
    if session.exec(select(Unit.id).where(Unit.code == data.code)).first() is not None:
        raise Conflict(f"a unit with code {data.code!r} already exists")
    # No silent default: a wrong zone misdates every response sent near midnight.
    time_zone = data.time_zone or (parent.time_zone if parent else None)
    if time_zone is None:
        raise InvalidInput(
            "time_zone is required for a unit at the top of the tree: WIB, WITA or WIT "
            "(a unit with a parent takes its parent's)",
            loc=("time_zone",),
        )
    if data.form_code is not None:
        check_form_code(session=session, code=data.form_code, loc=("form_code",))
    unit = Unit(
        code=data.code,
        name=data.name,
        address=data.address,
        time_zone=time_zone,
        parent_id=parent.id if parent else None,
        form_code=data.form_code,
    )
    where = parent.id if parent else None
    audit.record_as(
        session=session,
        actor=actor,
        action="unit.create",
        target=data.code,
        unit_id=where,
        detail=data.name,
    )
    store_new(session, unit, f"a unit with code {data.code!r} already exists")
    return unit


def update_unit(
    *, session: Session, unit: Unit, data: UnitUpdate, actor: audit.Actor = audit.CLI
) -> Unit:
    """Rename, re-address, move, change the form of or (de)activate a unit; a move may not
    create a cycle. A null form_code returns the unit to the default form. A new time zone
    re-dates the unit's responses (and rebuilds its rollups) in the same commit."""
    changes = data.model_dump(exclude_unset=True)
    rezoned = changes.get("time_zone") not in (None, unit.time_zone)
    if changes.get("form_code") is not None:
        check_form_code(session=session, code=changes["form_code"], loc=("form_code",))
    if "parent_code" in changes:
        code = changes.pop("parent_code")
        parent = get_unit(session=session, code=code) if code else None
        if parent is not None:
            # Two moves checked side by side could each pass and together close a loop: on
            # PostgreSQL moves take turns; SQLite lets one writer in at a time anyway.
            if is_postgresql(session):
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
    for name in ("address", "form_code"):
        if name in changes:
            setattr(unit, name, changes[name])
    session.add(unit)
    if rezoned:
        # Imported here: datafix reaches this module again through rollups and scopes.
        from app.services import datafix

        datafix.redate(session=session, units=[unit], commit=False)
    audit.record_as(
        session=session,
        actor=actor,
        action="unit.update",
        target=unit.code,
        unit_id=unit.id,
        detail=_changes(data),
    )
    session.commit()
    session.refresh(unit)
    return unit


def unit_tree(*, session: Session) -> list[tuple[Unit, int]]:
    """Every unit with its depth, parents before children, siblings by code."""
    units = session.exec(select(Unit)).all()
    roots = [unit for unit in units if unit.parent_id is None]
    return preorder(roots, units)


def subtree(*, session: Session, unit: Unit) -> list[Unit]:
    """The unit and its descendants (the ids ``subtree_ids`` selects), parents first."""
    return [below for below, _ in subtree_with_depth(session, unit)]


def subtree_with_depth(session: Session, unit: Unit) -> list[tuple[Unit, int]]:
    ids = sa.select(subtree_ids(unit).c.id)
    return preorder([unit], session.exec(select(Unit).where(col(Unit.id).in_(ids))).all())


class UnitNode(NamedTuple):
    """A unit's place in the tree, without the rest of it: a province's two thousand read
    in a few milliseconds where whole units take tens (a tuple: made at C speed)."""

    id: int | None
    parent_id: int | None
    code: str


def subtree_nodes(*, session: Session, unit: Unit) -> list[UnitNode]:
    """:func:`subtree` as nodes."""
    units = Unit.__table__.c  # type: ignore[attr-defined]
    rows = session.execute(
        sa.select(units.id, units.parent_id, units.code).where(
            units.id.in_(sa.select(subtree_ids(unit).c.id))
        )
    ).all()
    root = UnitNode(unit.id, unit.parent_id, unit.code)
    return [node for node, _ in preorder([root], map(UnitNode._make, rows))]


class _Node(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def parent_id(self) -> int | None: ...
    @property
    def code(self) -> str: ...


NodeT = TypeVar("NodeT", bound=_Node)


def preorder(roots: Sequence[NodeT], units: Iterable[NodeT]) -> list[tuple[NodeT, int]]:
    """``roots`` and those of ``units`` below them with their depth below their root, each
    parent before its children, siblings by code; ends even should a loop get into the tree
    (each unit is listed once)."""
    below: dict[int | None, list[NodeT]] = defaultdict(list)
    for unit in sorted(units, key=lambda u: u.code):
        below[unit.parent_id].append(unit)
    ordered: list[tuple[NodeT, int]] = []
    seen: set[int | None] = set()
    stack = [(root, 0) for root in sorted(roots, key=lambda u: u.code, reverse=True)]
    while stack:
        unit, depth = stack.pop()
        if unit.id in seen:
            continue
        seen.add(unit.id)
        ordered.append((unit, depth))
        children = below.get(unit.id)
        if children:  # most units are leaves: nothing to look up or extend for them
            stack.extend([(child, depth + 1) for child in reversed(children)])
    return ordered


@dataclass(frozen=True)
class TreeRow:
    unit: Unit
    depth: int  # below the top of the listed tree
    parent_code: str | None


def tree_rows(*, session: Session, root_id: int | None = None) -> list[TreeRow]:
    """The tree as rows, parents before children, siblings by code; with ``root_id`` only
    that unit and its descendants, depths counted from it."""
    if root_id is None:
        tree = unit_tree(session=session)
        codes: dict[int | None, str] = {}
    else:
        root = session.get(Unit, root_id)
        if root is None:
            return []
        tree = subtree_with_depth(session, root)
        codes = {root.parent_id: parent_code(session=session, unit=root) or ""}
    codes.update({unit.id: unit.code for unit, _ in tree})
    return [TreeRow(unit, depth, codes.get(unit.parent_id) or None) for unit, depth in tree]


_units = Unit.__table__.c  # type: ignore[attr-defined]
_up = (
    sa.select(_units.id, _units.parent_id)
    .where(_units.id == sa.bindparam("parent"))
    .cte("up", recursive=True)
)
# UNION: ends even if a loop got into the tree.
_up = _up.union(sa.select(_units.id, _units.parent_id).where(_units.id == _up.c.parent_id))
_ANCESTORS = select(Unit).where(col(Unit.id).in_(sa.select(_up.c.id)))  # built once


def ancestors(*, session: Session, unit: Unit) -> list[Unit]:
    """The unit's parents, the top of the tree first (one statement however deep; every
    survey page asks); ends even if a loop got into the tree."""
    if unit.parent_id is None:
        return []
    found = {u.id: u for u in session.exec(_ANCESTORS, params={"parent": unit.parent_id})}
    chain: list[Unit] = []
    seen = {unit.id}
    current: int | None = unit.parent_id
    while current is not None and current not in seen:
        parent = found[current]
        seen.add(current)
        chain.insert(0, parent)
        current = parent.parent_id
    return chain


def parent_code(*, session: Session, unit: Unit) -> str | None:
    parent = session.get(Unit, unit.parent_id) if unit.parent_id else None
    return parent.code if parent else None


def children(*, session: Session, unit: Unit) -> list[Unit]:
    return list(session.exec(select(Unit).where(Unit.parent_id == unit.id).order_by(Unit.code)))


def inside(*, session: Session, root_id: int | None, unit: Unit) -> bool:
    """Whether ``unit`` is the unit ``root_id`` or one of its descendants (None: the whole
    tree). Walks up the parents: a tree is a few levels deep, and the session keeps them."""
    if root_id is None:
        return True
    seen: set[int] = set()
    current: Unit | None = unit
    while current is not None and current.id not in seen:
        if current.id == root_id:
            return True
        assert current.id is not None
        seen.add(current.id)
        current = session.get(Unit, current.parent_id) if current.parent_id else None
    return False


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


def list_services(*, session: Session, unit: Unit) -> list[Service]:
    return list(
        session.exec(select(Service).where(Service.unit_id == unit.id).order_by(Service.code))
    )


def list_counters(*, session: Session, unit: Unit) -> list[Counter]:
    return list(
        session.exec(select(Counter).where(Counter.unit_id == unit.id).order_by(Counter.code))
    )


def counter_service(*, session: Session, counter: Counter) -> Service | None:
    return session.get(Service, counter.service_id) if counter.service_id else None


def create_service(
    *, session: Session, data: ServiceCreate, actor: audit.Actor = audit.CLI
) -> Service:
    unit = get_unit(session=session, code=data.unit_code)
    taken = select(Service.id).where(Service.unit_id == unit.id, Service.code == data.code)
    if session.exec(taken).first() is not None:
        raise Conflict(f"unit {unit.code!r} already has a service {data.code!r}")
    service = Service(unit_id=unit.id, code=data.code, name=data.name)  # type: ignore[arg-type]
    audit.record_as(
        session=session,
        actor=actor,
        action="service.create",
        target=f"{unit.code}/{data.code}",
        unit_id=unit.id,
        detail=data.name,
    )
    store_new(session, service, f"unit {unit.code!r} already has a service {data.code!r}")
    return service


def create_counter(
    *, session: Session, data: CounterCreate, actor: audit.Actor = audit.CLI
) -> Counter:
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
        kiosk=data.kiosk,
    )
    audit.record_as(
        session=session,
        actor=actor,
        action="counter.create",
        target=f"{unit.code}/{data.code}",
        unit_id=unit.id,
        detail=data.name,
    )
    store_new(session, counter, f"unit {unit.code!r} already has a counter {data.code!r}")
    return counter


def update_service(
    *, session: Session, service: Service, data: ServiceUpdate, actor: audit.Actor = audit.CLI
) -> Service:
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(service, name, value)
    session.add(service)
    audit.record_as(
        session=session,
        actor=actor,
        action="service.update",
        target=service.code,
        unit_id=service.unit_id,
        detail=_changes(data),
    )
    session.commit()
    session.refresh(service)
    return service


def update_counter(
    *, session: Session, counter: Counter, data: CounterUpdate, actor: audit.Actor = audit.CLI
) -> Counter:
    """Rename, re-assign to a service of its unit, open or close a counter, make it a kiosk or
    not."""
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
    audit.record_as(
        session=session,
        actor=actor,
        action="counter.update",
        target=counter.code,
        unit_id=counter.unit_id,
        detail=_changes(data),
    )
    session.commit()
    session.refresh(counter)
    return counter


def set_population(
    *, session: Session, unit: Unit, period: Period, population: int, actor: audit.Actor = audit.CLI
) -> None:
    if not 1 <= population <= MAX_POPULATION:
        raise InvalidInput(f"population must be 1 to {MAX_POPULATION:,}, got {population}")
    stmt = upsert(session, Population).values(
        unit_id=unit.id, period=period.label, population=population
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["unit_id", "period"], set_={"population": population}
    )
    session.execute(stmt)
    audit.record_as(
        session=session,
        actor=actor,
        action="population.set",
        target=unit.code,
        unit_id=unit.id,
        detail=f"{period.label}: {population}",
    )
    session.commit()


def populations(*, session: Session, unit: Unit) -> list[tuple[str, int]]:
    """The unit's recorded populations by period label, the latest periods first."""
    rows = session.exec(
        select(Population.period, Population.population)
        .where(Population.unit_id == unit.id)
        .order_by(col(Population.period).desc())
    ).all()
    return [(period, population) for period, population in rows]


def get_population(*, session: Session, unit: Unit, period: Period) -> int | None:
    return session.exec(
        select(Population.population).where(
            Population.unit_id == unit.id, Population.period == period.label
        )
    ).first()


# --- counters: QR codes and posters ---


def rotate_counter_token(
    *, session: Session, counter: Counter, actor: audit.Actor = audit.CLI
) -> Counter:
    """Give a counter a new public token: printed codes with the old one stop working."""
    counter.token = new_token()
    session.add(counter)
    audit.record_as(
        session=session,
        actor=actor,
        action="counter.rotate",
        target=counter.code,
        unit_id=counter.unit_id,
    )
    session.commit()
    session.refresh(counter)
    return counter


def printable_base_url(*, base_url: str, allow_local: bool, to_allow: str) -> str:
    """The base URL to print in QR codes and on posters. A loopback one (the default
    http://127.0.0.1:8000) is refused unless allowed: phones would open themselves, and the
    mistake shows only once the posters hang at the counters. ``to_allow`` says how to allow it
    anyway (the CLI option or the query parameter)."""
    if qr.is_local_url(base_url) and not allow_local:
        raise LocalBaseUrl(
            f"the survey links would point at {base_url}, which phones cannot reach: set "
            "SKM_PUBLIC_BASE_URL to the address phones can reach (this server's LAN address or "
            f"its public domain), or {to_allow} for a local trial"
        )
    return base_url


def posters(
    *, session: Session, unit: Unit, base_url: str, counter: Counter | None = None
) -> list[qr.Poster]:
    """Poster data for one counter or every active counter of a unit, by counter code."""
    if counter is not None:
        chosen = [counter]
    else:
        chosen = [c for c in list_counters(session=session, unit=unit) if c.active]
    if not chosen:
        raise NotFound(f"unit {unit.code!r} has no active counter")
    names = {s.id: s.name for s in list_services(session=session, unit=unit)}
    return [
        qr.Poster(
            unit_name=unit.name,
            counter_name=c.name,
            service_name=names.get(c.service_id) if c.service_id else None,
            url=qr.survey_url(base_url, c.token),
        )
        for c in chosen
    ]
