"""The per-day rollups: the only module that writes or reads the ``response_rollup`` table.

Each row holds, for one unit, local day, service, counter, form version, channel and flag, the
sums and counts an IKM needs (``ikm.Tally``). Submissions add to it in their own transaction;
:func:`rebuild` recomputes it from the responses; the readers turn its sums into tallies.
The per-row arithmetic is the core's (``ikm.Tally.of``); in SQL it is written once, in
:func:`tally_aggregates`.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core import ikm
from app.core.periods import Period
from app.db import is_postgresql, per_dialect, upsert_for
from app.errors import Conflict
from app.models import (
    ANSWER_COLUMNS,
    ROLLUP_COUNTS,
    ROLLUP_KEYS_FULL,
    FormVersion,
    Response,
    Unit,
    response_rollup,
)
from app.services.scopes import Scope

_r = response_rollup.c
_SUMS = tuple(sa.func.sum(_r[c]) for c in ROLLUP_COUNTS)


def _counts(tally: ikm.Tally) -> dict[str, int]:
    """A tally as rollup columns (answers of elements past the form's k stay zero)."""
    counts = dict.fromkeys(ROLLUP_COUNTS, 0)
    counts.update(
        responses=tally.responses,
        complete=tally.complete,
        complete_sum=tally.complete_sum,
        complete_sumsq=tally.complete_sumsq,
    )
    for column, n_i, s_i in zip(ANSWER_COLUMNS, tally.answered, tally.sums, strict=False):
        counts[f"{column}_n"] = n_i
        counts[f"{column}_sum"] = s_i
    return counts


def add(session: Session, rows: Sequence[dict[str, Any]], codes: Sequence[str]) -> None:
    """Add freshly inserted response rows (dicts of response columns) to the rollups, in the
    caller's transaction."""
    groups: dict[tuple[Any, ...], list[tuple[int | None, ...]]] = defaultdict(list)
    for row in rows:
        key = (
            row["unit_id"],
            row["local_date"],
            row["service_id"] or 0,
            row["counter_id"] or 0,
            row["form_version_id"],
            row["channel"],
            row["flagged"],
        )
        groups[key].append(tuple(row[c] for c in ANSWER_COLUMNS[: len(codes)]))
    if not groups:
        return
    # Sorted keys: concurrent transactions lock rollup rows in the same order (no deadlock).
    values = [
        {**dict(zip(ROLLUP_KEYS_FULL, key, strict=True)), **_counts(ikm.Tally.of(codes, answers))}
        for key, answers in sorted(groups.items(), key=lambda item: str(item[0]))
    ]
    # One statement, built once per dialect, run as executemany: a multi-row VALUES is
    # compiled afresh for each batch, and a large one (an import spanning thousands of days
    # and counters) took seconds.
    session.execute(_add_statement(session), values)


@per_dialect
def _add_statement(dialect: str) -> Any:
    stmt = upsert_for(dialect, response_rollup)
    return stmt.on_conflict_do_update(
        index_elements=list(ROLLUP_KEYS_FULL),
        set_={c: response_rollup.c[c] + stmt.excluded[c] for c in ROLLUP_COUNTS},
    )


def tally_aggregates(table: sa.Table, k: int) -> list[sa.ColumnElement[Any]]:
    """SQL aggregates over response rows answered on a k-element form, in ROLLUP_COUNTS order:
    the same sums and counts as ``ikm.Tally.of`` (a test holds the two equal)."""
    columns = [table.c[c] for c in ANSWER_COLUMNS[:k]]
    complete = sa.and_(*(c.is_not(None) for c in columns))
    total = sum(columns[1:], columns[0])
    return [
        sa.func.count(),
        *(sa.func.count(table.c[c]) for c in ANSWER_COLUMNS),
        *(sa.func.coalesce(sa.func.sum(table.c[c]), 0) for c in ANSWER_COLUMNS),
        sa.func.count(sa.case((complete, 1))),
        sa.func.coalesce(sa.func.sum(sa.case((complete, total))), 0),
        sa.func.coalesce(sa.func.sum(sa.case((complete, total * total))), 0),
    ]


def rebuild(*, session: Session, unit_ids: Iterable[int] | None = None, commit: bool = True) -> int:
    """Recompute the rollups from the responses (a data fix), for every unit or only the
    given ones; returns the number of rollup rows written. With ``commit=False`` the caller's
    transaction goes on (a fix that changed the responses commits both at once)."""
    if is_postgresql(session):
        # Submissions wait until the rebuild commits: none slips in between the delete and
        # the re-count, and taking the response table first cannot deadlock with them (they
        # lock the response table, then the rollups). SQLite's write lock does the same.
        session.execute(sa.text("LOCK TABLE response IN SHARE MODE"))
        session.execute(sa.text("LOCK TABLE response_rollup IN EXCLUSIVE MODE"))
    table: sa.Table = Response.__table__  # type: ignore[attr-defined]
    only = list(unit_ids) if unit_ids is not None else None
    delete = response_rollup.delete()
    if only is not None:
        delete = delete.where(_r.unit_id.in_(only))
    session.execute(delete)
    for version in session.exec(select(FormVersion)).all():
        keys = [
            table.c.unit_id,
            table.c.local_date,
            sa.func.coalesce(table.c.service_id, 0),
            sa.func.coalesce(table.c.counter_id, 0),
            table.c.form_version_id,
            table.c.channel,
            table.c.flagged,
        ]
        select_stmt = (
            sa.select(*keys, *tally_aggregates(table, len(version.codes)))
            .where(table.c.form_version_id == version.id)
            .group_by(*keys)
        )
        if only is not None:
            select_stmt = select_stmt.where(table.c.unit_id.in_(only))
        session.execute(
            response_rollup.insert().from_select([*ROLLUP_KEYS_FULL, *ROLLUP_COUNTS], select_stmt)
        )
    if commit:
        session.commit()
    count = sa.select(sa.func.count()).select_from(response_rollup)
    if only is not None:
        count = count.where(_r.unit_id.in_(only))
    return int(session.execute(count).scalar_one())


# --- reading: tallies of a scope ---


@dataclass(frozen=True)
class _Part:
    version: FormVersion
    first: date
    last: date
    tally: ikm.Tally


def tally(*, session: Session, scope: Scope) -> ikm.Tally | None:
    """Per-element sums and counts of the scope (one GROUP BY over the rollups); None when
    there are no responses."""
    conditions = scope.conditions(_r, service=_r.service_key, counter=_r.counter_key)
    stmt = (
        sa.select(
            _r.form_version_id, sa.func.min(_r.local_date), sa.func.max(_r.local_date), *_SUMS
        )
        .where(*conditions)
        .group_by(_r.form_version_id)
    )
    return pool(session, session.execute(stmt).all())


def responses_by_unit(*, session: Session, scope: Scope) -> dict[int, int]:
    """How many responses each unit of the scope holds (units without any are absent)."""
    stmt = (
        sa.select(_r.unit_id, sa.func.sum(_r.responses))
        .where(*scope.conditions(_r, service=_r.service_key, counter=_r.counter_key))
        .group_by(_r.unit_id)
    )
    return {unit_id: int(n) for unit_id, n in session.execute(stmt).all() if n}


def form_versions(*, session: Session, scope: Scope) -> list[FormVersion]:
    """The form versions answered in the scope, oldest first."""
    used = (
        sa.select(_r.form_version_id)
        .where(*scope.conditions(_r, service=_r.service_key, counter=_r.counter_key))
        .distinct()
    )
    return list(
        session.exec(
            select(FormVersion).where(col(FormVersion.id).in_(used)).order_by(col(FormVersion.id))
        )
    )


def tallies_by_branch(
    *, session: Session, parent: Unit, period: Period, include_flagged: bool = False
) -> dict[int, ikm.Tally | Conflict | None]:
    """The tally of each direct child of ``parent`` pooled with its own subtree, in one
    GROUP BY (a provincial table has hundreds of units); keyed by child id. A branch whose
    responses mix element sets gets the Conflict that says so instead of a tally."""
    branch = branch_cte(parent)
    conditions = [_r.local_date.between(period.start, period.end)]
    if not include_flagged:
        conditions.append(_r.flagged.is_(False))
    stmt = (
        sa.select(
            branch.c.top,
            _r.form_version_id,
            sa.func.min(_r.local_date),
            sa.func.max(_r.local_date),
            *_SUMS,
        )
        .join(branch, branch.c.id == _r.unit_id)
        .where(*conditions)
        .group_by(branch.c.top, _r.form_version_id)
    )
    rows: dict[int, list[Any]] = defaultdict(list)
    for top, *rest in session.execute(stmt).all():
        rows[top].append(rest)
    tallies: dict[int, ikm.Tally | Conflict | None] = {}
    for top, found in rows.items():
        try:
            tallies[top] = pool(session, found)
        except Conflict as exc:  # one branch mixing forms must not sink the whole ranking
            tallies[top] = exc
    return tallies


def branch_cte(parent: Unit) -> sa.CTE:
    """(id, top): every descendant of ``parent`` mapped to the direct child it lies under."""
    units = Unit.__table__.c  # type: ignore[attr-defined]
    branch = (
        sa.select(units.id.label("id"), units.id.label("top"))
        .where(units.parent_id == parent.id)
        .cte("branch", recursive=True)
    )
    return branch.union(  # UNION: ends even on a loop (see org.subtree_ids)
        sa.select(units.id, branch.c.top).where(units.parent_id == branch.c.id)
    )


def pool(session: Session, rows: Sequence[Any]) -> ikm.Tally | None:
    """One Tally from rollup sums per form version (rows of form_version_id, first date, last
    date, *ROLLUP_COUNTS); None when there are none.

    Versions whose elements are the same set pool, matched by element code (not position);
    a scope mixing different element sets has no single IKM and is refused with the versions
    and the dates where they meet.
    """
    versions = {v.id: v for v in session.exec(select(FormVersion)).all()}
    parts: list[_Part] = []
    for version_id, first, last, *sums in rows:
        counts = dict(zip(ROLLUP_COUNTS, (int(s) for s in sums), strict=True))
        version = versions[version_id]
        k = len(version.codes)
        found = ikm.Tally(
            codes=version.codes,
            responses=counts["responses"],
            answered=tuple(counts[f"{c}_n"] for c in ANSWER_COLUMNS[:k]),
            sums=tuple(counts[f"{c}_sum"] for c in ANSWER_COLUMNS[:k]),
            complete=counts["complete"],
            complete_sum=counts["complete_sum"],
            complete_sumsq=counts["complete_sumsq"],
            table=version.definition["interval_table"],
        )
        parts.append(_Part(version, _as_date(first), _as_date(last), found))
    if not parts:
        return None
    # The newest version's element order is the one shown.
    parts.sort(key=lambda p: p.version.id or 0, reverse=True)
    lead = parts[0]
    mixed = [
        p
        for p in parts
        if set(p.tally.codes) != set(lead.tally.codes) or p.tally.table != lead.tally.table
    ]
    if mixed:
        raise Conflict(_mixed_forms_message(parts))
    total = lead.tally
    for other in parts[1:]:
        total = total + other.tally.reordered(lead.tally.codes)
    return total


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _mixed_forms_message(parts: list[_Part]) -> str:
    spans = sorted(parts, key=lambda p: p.first)
    described = "; ".join(
        f"{p.version.code} (version {p.version.id}, {len(p.tally.codes)} elements) "
        f"from {p.first} to {p.last}"
        for p in spans
    )
    return (
        "the responses in this scope were answered on forms with different elements, which "
        f"have no single IKM: {described}. Compute the periods on each side of where they "
        "meet separately"
    )
