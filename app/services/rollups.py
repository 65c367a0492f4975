"""The rollups: the only module that writes or reads the ``response_rollup`` (per day),
``response_rollup_month`` (per month) and ``response_rollup_quarter`` (per quarter) tables.

Each per-day row holds, for one unit, local day, service, counter, form version, channel and
flag, the sums and counts an IKM needs (``ikm.Tally``); each month (quarter) row holds the
same sums for one unit, local month (quarter), form version and flag. Submissions add to all
three in their own transaction (:func:`add`; on PostgreSQL the insert's own statement, see
:func:`counted`); :func:`rebuild` recomputes them from the responses; the readers turn their
sums into tallies. A period is read from the quarter rows for its whole quarters, the month
rows for the whole months around them and the per-day rows for its ragged edges (and for a
service or counter, which only the per-day rows know), so every figure is the same as from
the raw responses. A key's sums may be spread over a few rows of any table (shards, see
:func:`add`), which every reader sums. The per-row arithmetic is the core's
(``ikm.Tally.of``); in SQL it is written once, in :func:`tally_aggregates`.
"""

import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core import ikm
from app.core.periods import Period
from app.db import id_array, is_postgresql, per_dialect, upsert_for
from app.errors import Conflict
from app.models import (
    ANSWER_COLUMNS,
    ROLLUP_COUNTS,
    ROLLUP_KEYS_FULL,
    ROLLUP_MONTH_KEYS,
    ROLLUP_QUARTER_KEYS,
    ROLLUP_SHARDS,
    FormVersion,
    Response,
    Unit,
    response_rollup,
    response_rollup_month,
    response_rollup_quarter,
)
from app.services.scopes import Scope, unit_ids

_r = response_rollup.c
_m = response_rollup_month.c
_q = response_rollup_quarter.c


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


def add(
    session: Session, rows: Sequence[dict[str, Any]], codes: Sequence[str], *, sign: int = 1
) -> None:
    """Add freshly inserted response rows (dicts of response columns) to the rollups, in the
    caller's transaction; with ``sign=-1``, take rows about to be deleted out of them (a paper
    entry undone: its sums leave the shard rows they are added to, exactly).

    Each key's sums go to one of ROLLUP_SHARDS rows, picked at random per call, in both
    tables: every submission to one unit and day (or month) updates "its" row, whose lock is
    held until the commit's flush to disk, so with one row per key concurrent submissions
    committed one at a time. Readers sum the shards, so the tallies are the same.
    """
    picked = shard()
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
        {
            **dict(zip(ROLLUP_KEYS_FULL, key, strict=True)),
            "shard": picked,
            **{c: sign * n for c, n in _counts(ikm.Tally.of(codes, answers)).items()},
        }
        for key, answers in sorted(groups.items(), key=lambda item: str(item[0]))
    ]
    # One statement, built once per dialect, run as executemany: a multi-row VALUES is
    # compiled afresh for each batch, and a large one (an import spanning thousands of days
    # and counters) took seconds.
    session.execute(_add_statement(session), values)
    months = _coarser(
        values,
        ROLLUP_MONTH_KEYS,
        lambda v: (
            v["unit_id"],
            v["local_date"].replace(day=1),
            v["form_version_id"],
            v["flagged"],
        ),
        lambda v: (v["local_date"], v["local_date"]),
    )
    quarters = _coarser(
        months,
        ROLLUP_QUARTER_KEYS,
        lambda v: (v["unit_id"], _quarter_of(v["month_date"]), v["form_version_id"], v["flagged"]),
        lambda v: (v["first_date"], v["last_date"]),
    )
    # After every per-day row, in key order: the same lock order in every transaction.
    session.execute(_month_statement(session), months)
    session.execute(_quarter_statement(session), quarters)


def counted(inserted: sa.CTE, k: int) -> sa.Select[Any]:
    """PostgreSQL: ``inserted``, an ``INSERT INTO response .. RETURNING`` of the rows' key
    columns and answers (as a CTE), with the rows it stored added to the three rollups by
    the same statement: one round trip where :func:`add` takes three, and no sums computed
    in Python (an API submission's largest cost). The rows are on one form of ``k``
    elements. Selects (idempotency key, id) of each row stored; run it with a ``shard``.

    The sums are :func:`tally_aggregates`, as in a rebuild. Each upsert runs only after the
    one before it has (its WHERE waits for the earlier one's count), so a transaction locks
    rollup rows as :func:`add` does: the per-day rows, then the months', then the quarters'
    (PostgreSQL would otherwise run them in an order of its choosing), each table's in key
    order: two submissions never wait for each other's rows in a cycle.
    """
    i = inserted.c
    sums = tally_aggregates(inserted, k)
    shard = sa.bindparam("shard", type_=sa.SmallInteger)
    day_keys = [
        i.unit_id,
        i.local_date,
        sa.func.coalesce(i.service_id, _ZERO),
        sa.func.coalesce(i.counter_id, _ZERO),
        i.form_version_id,
        i.channel,
        i.flagged,
    ]
    days = sa.select(*day_keys, shard, *sums).group_by(*day_keys).order_by(*day_keys)
    done = (
        _add_statement_for("postgresql")
        .from_select([*ROLLUP_KEYS_FULL, "shard", *ROLLUP_COUNTS], days)
        .returning(_ONE)
        .cte("day_rows")
    )
    for table, keyed, start in (
        (response_rollup_month, ROLLUP_MONTH_KEYS, _month_of("postgresql", i.local_date)),
        (response_rollup_quarter, ROLLUP_QUARTER_KEYS, _quarter_of_sql("postgresql", i.local_date)),
    ):
        keys = [i.unit_id, start, i.form_version_id, i.flagged]
        coarse = (
            sa.select(*keys, shard, sa.func.min(i.local_date), sa.func.max(i.local_date), *sums)
            .where(_after(done))
            .group_by(*keys)
            .order_by(*keys)
        )
        done = (
            _widening_upsert("postgresql", table, keyed)
            .from_select([*keyed, "shard", "first_date", "last_date", *ROLLUP_COUNTS], coarse)
            .returning(_ONE)
            .cte(f"{table.name}_rows")
        )
    return sa.select(i.idempotency_key, i.id).where(_after(done))


def _after(earlier: sa.CTE) -> sa.ColumnElement[bool]:
    # Always true, but PostgreSQL runs the earlier data-modifying CTE to find out first.
    return sa.select(sa.func.count()).select_from(earlier).scalar_subquery() >= _ZERO


def shard() -> int:
    """The shard a call's sums go to (see :func:`add`)."""
    return secrets.randbelow(ROLLUP_SHARDS)


def _coarser(
    rows: Sequence[dict[str, Any]],
    keys: tuple[str, ...],
    key_of: Callable[[dict[str, Any]], tuple[Any, ...]],
    days_of: Callable[[dict[str, Any]], tuple[date, date]],
) -> list[dict[str, Any]]:
    """Rollup rows (per day or month) taken together per coarser key (month or quarter): the
    sums added, the first and last day widened; in key order."""
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        at = key_of(row)
        first, last = days_of(row)
        coarse = found.get(at)
        if coarse is None:
            found[at] = {
                **dict(zip(keys, at, strict=True)),
                "shard": row["shard"],
                "first_date": first,
                "last_date": last,
                **{c: row[c] for c in ROLLUP_COUNTS},
            }
            continue
        coarse["first_date"] = min(coarse["first_date"], first)
        coarse["last_date"] = max(coarse["last_date"], last)
        for c in ROLLUP_COUNTS:
            coarse[c] += row[c]
    return [found[at] for at in sorted(found, key=str)]


def _quarter_of(day: date) -> date:
    """The first day of a date's quarter."""
    return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)


def _add_statement_for(dialect: str) -> Any:
    """The per-day upsert: the sums added."""
    stmt = upsert_for(dialect, response_rollup)
    return stmt.on_conflict_do_update(
        index_elements=[*ROLLUP_KEYS_FULL, "shard"],
        set_={c: response_rollup.c[c] + stmt.excluded[c] for c in ROLLUP_COUNTS},
    )


_add_statement = per_dialect(_add_statement_for)


@per_dialect
def _month_statement(dialect: str) -> Any:
    return _widening_upsert(dialect, response_rollup_month, ROLLUP_MONTH_KEYS)


@per_dialect
def _quarter_statement(dialect: str) -> Any:
    return _widening_upsert(dialect, response_rollup_quarter, ROLLUP_QUARTER_KEYS)


def _widening_upsert(dialect: str, table: sa.Table, keys: tuple[str, ...]) -> Any:
    """A month's or quarter's upsert: the sums added, the first and last day widened."""
    stmt = upsert_for(dialect, table)
    # SQLite's two-argument min/max are PostgreSQL's least/greatest.
    least, greatest = (
        (sa.func.least, sa.func.greatest) if dialect == "postgresql" else (sa.func.min, sa.func.max)
    )
    return stmt.on_conflict_do_update(
        index_elements=[*keys, "shard"],
        set_={
            **{c: table.c[c] + stmt.excluded[c] for c in ROLLUP_COUNTS},
            "first_date": least(table.c.first_date, stmt.excluded.first_date),
            "last_date": greatest(table.c.last_date, stmt.excluded.last_date),
        },
    )


def tally_aggregates(table: sa.Table | sa.Subquery | sa.CTE, k: int) -> list[sa.ColumnElement[Any]]:
    """SQL aggregates over response rows answered on a k-element form, in ROLLUP_COUNTS order:
    the same sums and counts as ``ikm.Tally.of`` (a test holds the two equal)."""
    columns = [table.c[c] for c in ANSWER_COLUMNS[:k]]
    complete = sa.and_(*(c.is_not(None) for c in columns))
    total = sum(columns[1:], columns[0])
    return [
        sa.func.count(),
        *(sa.func.count(table.c[c]) for c in ANSWER_COLUMNS),
        *(sa.func.coalesce(sa.func.sum(table.c[c]), _ZERO) for c in ANSWER_COLUMNS),
        sa.func.count(sa.case((complete, _ONE))),
        sa.func.coalesce(sa.func.sum(sa.case((complete, total))), _ZERO),
        sa.func.coalesce(sa.func.sum(sa.case((complete, total * total))), _ZERO),
    ]


# Constants written into the SQL, not sent as parameters: intake runs these aggregates on
# every submission, and each parameter costs the driver time on every call.
_ZERO: sa.ColumnClause[Any] = sa.literal_column("0")
_ONE: sa.ColumnClause[Any] = sa.literal_column("1")


def rebuild(*, session: Session, unit_ids: Iterable[int] | None = None, commit: bool = True) -> int:
    """Recompute the rollups (per day, then per month) from the responses (a data fix), for
    every unit or only the given ones; returns the number of per-day rows written. With
    ``commit=False`` the caller's transaction goes on (a fix that changed the responses
    commits both at once)."""
    if is_postgresql(session):
        # Submissions wait until the rebuild commits: none slips in between the delete and
        # the re-count, and taking the response table first cannot deadlock with them (they
        # lock the response table, then the rollups). SQLite's write lock does the same.
        session.execute(sa.text("LOCK TABLE response IN SHARE MODE"))
        session.execute(sa.text("LOCK TABLE response_rollup IN EXCLUSIVE MODE"))
        session.execute(sa.text("LOCK TABLE response_rollup_month IN EXCLUSIVE MODE"))
        session.execute(sa.text("LOCK TABLE response_rollup_quarter IN EXCLUSIVE MODE"))
    table: sa.Table = Response.__table__  # type: ignore[attr-defined]
    only = list(unit_ids) if unit_ids is not None else None
    # One row per key again, shard 0 (the column's default).
    for rollup in (response_rollup, response_rollup_month, response_rollup_quarter):
        delete = rollup.delete()
        if only is not None:
            delete = delete.where(rollup.c.unit_id.in_(only))
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
    # The month rows from the per-day rows just written (far fewer rows than the
    # responses), then the quarter rows from the month rows.
    dialect = session.get_bind().dialect.name
    month = _month_of(dialect, _r.local_date)
    months = _together(
        response_rollup,
        [_r.unit_id, month, _r.form_version_id, _r.flagged],
        _r.local_date,
        _r.local_date,
    )
    quarter = _quarter_of_sql(dialect, _m.month_date)
    quarters = _together(
        response_rollup_month,
        [_m.unit_id, quarter, _m.form_version_id, _m.flagged],
        _m.first_date,
        _m.last_date,
    )
    if only is not None:
        months = months.where(_r.unit_id.in_(only))
        quarters = quarters.where(_m.unit_id.in_(only))
    for table, keyed, select_rows in (
        (response_rollup_month, ROLLUP_MONTH_KEYS, months),
        (response_rollup_quarter, ROLLUP_QUARTER_KEYS, quarters),
    ):
        session.execute(
            table.insert().from_select(
                [*keyed, "first_date", "last_date", *ROLLUP_COUNTS], select_rows
            )
        )
    if commit:
        session.commit()
    count = sa.select(sa.func.count()).select_from(response_rollup)
    if only is not None:
        count = count.where(_r.unit_id.in_(only))
    return int(session.execute(count).scalar_one())


def day_totals(
    *, session: Session, unit_ids: Sequence[int | None] | None = None
) -> list[tuple[Any, ...]]:
    """The per-day rollup's sums per key, its shards added up, in key order: what every
    reader sees, and what a rebuild must reproduce (the rows themselves depend on the shards
    the submissions picked; a rebuild writes shard 0 only)."""
    r = response_rollup.c
    keys = [r[key] for key in ROLLUP_KEYS_FULL]
    stmt = sa.select(*keys, *(sa.func.sum(r[c]) for c in ROLLUP_COUNTS)).group_by(*keys)
    if unit_ids is not None:
        stmt = stmt.where(r.unit_id.in_(unit_ids))
    return [tuple(row) for row in session.execute(stmt.order_by(*keys)).all()]


def month_totals(
    *, session: Session, unit_ids: Sequence[int | None] | None = None
) -> list[tuple[Any, ...]]:
    """The per-month rollup per key, its shards taken together (first and last day, sums),
    in key order: see :func:`day_totals`."""
    return _coarse_totals(session, response_rollup_month, ROLLUP_MONTH_KEYS, unit_ids)


def quarter_totals(
    *, session: Session, unit_ids: Sequence[int | None] | None = None
) -> list[tuple[Any, ...]]:
    """The per-quarter rollup per key, as :func:`month_totals`."""
    return _coarse_totals(session, response_rollup_quarter, ROLLUP_QUARTER_KEYS, unit_ids)


def _coarse_totals(
    session: Session,
    table: sa.Table,
    keyed: tuple[str, ...],
    unit_ids: Sequence[int | None] | None,
) -> list[tuple[Any, ...]]:
    t = table.c
    keys = [t[key] for key in keyed]
    stmt = _together(table, keys, t.first_date, t.last_date)
    if unit_ids is not None:
        stmt = stmt.where(t.unit_id.in_(unit_ids))
    return [tuple(row) for row in session.execute(stmt.order_by(*keys)).all()]


def _together(
    table: sa.Table,
    keys: Sequence[sa.ColumnElement[Any]],
    first: sa.ColumnElement[Any],
    last: sa.ColumnElement[Any],
) -> sa.Select[Any]:
    """Rollup rows taken together per key: (*keys, first day, last day, *ROLLUP_COUNTS),
    the sums added. A month or quarter row of a rebuild, or a key's shards together."""
    return sa.select(
        *keys,
        sa.func.min(first),
        sa.func.max(last),
        *(sa.func.sum(table.c[c]) for c in ROLLUP_COUNTS),
    ).group_by(*keys)


def _month_of(dialect: str, day: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """SQL for the first day of a date's month."""
    if dialect == "postgresql":
        return sa.cast(sa.func.date_trunc(sa.literal_column("'month'"), day), sa.Date)
    return sa.func.date(day, "start of month")


def _quarter_of_sql(dialect: str, month: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """SQL for the first day of the quarter of a month's first day (on PostgreSQL, of any
    day)."""
    if dialect == "postgresql":
        return sa.cast(sa.func.date_trunc(sa.literal_column("'quarter'"), month), sa.Date)
    back = (sa.cast(sa.func.strftime("%m", month), sa.Integer) - 1) % 3
    return sa.func.date(month, "-" + sa.cast(back, sa.Text) + " months")


# --- reading: tallies of a scope ---


@dataclass(frozen=True)
class _Part:
    version: FormVersion
    first: date
    last: date
    tally: ikm.Tally


Found = ikm.Tally | Conflict | None
"""A reader's answer for one period (or branch): the pooled tally; the Conflict that says why
there is none (its responses mix element sets); or None without responses."""


@dataclass(frozen=True)
class Split:
    """How a period is read: its whole quarters from the quarter rows, the whole months
    around them from the month rows, the rest per day."""

    quarters: tuple[date, date] | None  # first days of its first and last whole quarter
    months: tuple[tuple[date, date], ...]  # first days of each run's first and last month
    days: tuple[tuple[date, date], ...]  # the ragged edges, inclusive day ranges


def split(period: Period) -> Split:
    """A period as its whole quarters, the whole months around them (at most two runs) and
    the days around those (at most two ranges)."""
    first = period.start if period.start.day == 1 else _next_month(period.start)
    after = (period.end + timedelta(days=1)).replace(day=1)  # after its last whole month
    if first >= after:  # no whole month inside
        return Split(None, (), ((period.start, period.end),))
    days = []
    if period.start < first:
        days.append((period.start, first - timedelta(days=1)))
    if after <= period.end:
        days.append((after, period.end))
    quarter = first if _quarter_of(first) == first else _next_quarter(_quarter_of(first))
    quarters_after = _quarter_of(after)  # after its last whole quarter
    if quarter >= quarters_after:  # no whole quarter inside
        return Split(None, ((first, _previous_month(after)),), tuple(days))
    months = []
    if first < quarter:
        months.append((first, _previous_month(quarter)))
    if quarters_after < after:
        months.append((quarters_after, _previous_month(after)))
    quarters = (quarter, _quarter_of(quarters_after - timedelta(days=1)))
    return Split(quarters, tuple(months), tuple(days))


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _previous_month(first: date) -> date:
    """The first day of the month before a month's first day."""
    return (first - timedelta(days=1)).replace(day=1)


def _next_quarter(first: date) -> date:
    """The first day of the quarter after a quarter's first day."""
    return _next_month(_next_month(_next_month(first)))


def tally(*, session: Session, scope: Scope) -> ikm.Tally | None:
    """Per-element sums and counts of the scope; None when there are no responses. A scope
    whose responses mix element sets raises the Conflict that says so."""
    found = tallies(session=session, scope=scope, periods=[scope.period])[0]
    if isinstance(found, Conflict):
        raise found
    return found


def tallies(
    *,
    session: Session,
    scope: Scope,
    periods: Sequence[Period],
    units: Sequence[int] | None = None,
) -> list[Found]:
    """The scope's tally in each of the periods (its own period is ignored), in one grouped
    query (a trend). ``units``: the scope's :func:`unit_ids` when the caller has them."""
    if units is None:
        units = unit_ids(session=session, scope=scope)
    rows: dict[tuple[int, int], list[Any]] = {}
    for layer in _layers(periods):
        source = _source(session, scope, [periods[i] for i in layer], units=units)
        for (index, key), parts in _aggregate(session, source).items():
            rows[(layer[index], key)] = parts
    versions = _versions(session)
    return [_found(versions, rows.get((index, 0), [])) for index in range(len(periods))]


@dataclass(frozen=True)
class Reach:
    """Where a scope's responses in a period come from: its unit itself, and the units
    below it (counted whether or not the scope takes them in)."""

    own: int  # responses of the unit itself
    below_units: int  # units below it with responses
    below: int  # their responses


def reach(
    *,
    session: Session,
    scope: Scope,
    periods: Sequence[Period],
    units: Sequence[int] | None = None,
) -> list[Reach]:
    """The scope's :class:`Reach` in each of the periods, in one grouped query. ``units``:
    the pooled scope's :func:`unit_ids` when the caller has them."""
    pooled = replace(scope, include_children=True)
    if units is None:
        units = unit_ids(session=session, scope=pooled)
    found = [Reach(0, 0, 0) for _ in periods]
    for layer in _layers(periods):
        c = _source(session, pooled, [periods[i] for i in layer], units=units).c
        own = sa.case((c.unit_id == scope.unit.id, 1), else_=0)
        stmt = sa.select(
            c.idx, own, sa.func.count(sa.distinct(c.unit_id)), sa.func.sum(c.responses)
        ).group_by(c.idx, own)
        for index, is_own, count, responses in session.execute(stmt).all():
            at = layer[index]
            if is_own:
                found[at] = replace(found[at], own=int(responses))
            else:
                found[at] = replace(found[at], below_units=int(count), below=int(responses))
    return found


def tallies_and_reach(
    *,
    session: Session,
    scope: Scope,
    periods: Sequence[Period],
    units: Sequence[int] | None = None,
) -> list[tuple[Found, Reach]]:
    """:func:`tallies` and :func:`reach` of each period. A pooled scope reads both from the
    same rollup rows: the sums with the unit's own responses beside them, then the units
    with rows counted by :func:`_units`. ``units``: the scope's :func:`unit_ids` when the
    caller has them."""
    if not scope.include_children:  # the reach is of the pooled scope, a wider one
        return list(
            zip(
                tallies(session=session, scope=scope, periods=periods),
                reach(session=session, scope=scope, periods=periods),
                strict=True,
            )
        )
    if units is None:
        units = unit_ids(session=session, scope=scope)
    rows: dict[int, list[Any]] = {}
    reaches = [Reach(0, 0, 0) for _ in periods]
    for layer in _layers(periods):
        source = _source(session, scope, [periods[i] for i in layer], units=units)
        below_units = _units(session, source, own=scope.unit.id)
        for (index, key), parts in _aggregate(session, source, own=scope.unit.id).items():
            at = layer[index]
            rows[at] = [part[:-1] for part in parts]
            own = sum(int(part[-1]) for part in parts)
            below = sum(int(part[3]) for part in parts) - own  # part[3]: responses
            reaches[at] = Reach(own, below_units.get((index, key), 0), below)
    versions = _versions(session)
    return [
        (_found(versions, rows.get(index, [])), reaches[index]) for index in range(len(periods))
    ]


def responses_by_unit(*, session: Session, scope: Scope) -> dict[int, int]:
    """How many responses each unit of the scope holds itself (units without any are absent)."""
    source = _source(session, scope, [scope.period], units=unit_ids(session=session, scope=scope))
    stmt = sa.select(source.c.unit_id, sa.func.sum(source.c.responses)).group_by(source.c.unit_id)
    return {unit_id: int(n) for unit_id, n in session.execute(stmt).all() if n}


def responses_per_day(*, session: Session, scope: Scope) -> dict[date, int]:
    """How many responses the scope holds on each local day of its period (days without any
    are absent), from the per-day rows."""
    conditions = scope.conditions(_r, service=_r.service_key, counter=_r.counter_key)
    stmt = (
        sa.select(_r.local_date, sa.func.sum(_r.responses))
        .where(*conditions)
        .group_by(_r.local_date)
        .order_by(_r.local_date)
    )
    return {_as_date(day): int(n) for day, n in session.execute(stmt).all() if n}


def form_versions(*, session: Session, scope: Scope) -> list[FormVersion]:
    """The form versions answered in the scope, oldest first."""
    source = _source(session, scope, [scope.period], units=unit_ids(session=session, scope=scope))
    used = sa.select(source.c.form_version_id).distinct()
    return list(
        session.exec(
            select(FormVersion).where(col(FormVersion.id).in_(used)).order_by(col(FormVersion.id))
        )
    )


@dataclass(frozen=True)
class Branch:
    """A branch of a ranking in a period: its pooled tally (or why there is none) and how
    many of its units have responses."""

    found: Found
    units: int


def tallies_by_branch(
    *,
    session: Session,
    parent: Unit,
    periods: Sequence[Period],
    include_flagged: bool = False,
    units: Sequence[int] | None = None,
) -> list[dict[int, Branch]]:
    """For each period, the :class:`Branch` of each direct child of ``parent`` pooled with
    its own subtree, keyed by child id (children without responses are absent), from two
    grouped queries (a provincial table has hundreds of units). A branch whose responses mix
    element sets gets the Conflict that says so instead of a tally: it must not sink the
    whole ranking. ``units``: the ids below ``parent`` when the caller has read them (on
    PostgreSQL each unit's rollup rows are then read as a range of the primary key, where
    the join alone read every unit's rows of the table)."""
    branch = branch_cte(parent)
    versions = _versions(session)
    found: list[dict[int, Branch]] = [{} for _ in periods]
    for layer in _layers(periods):
        source = _source(
            session,
            None,
            [periods[i] for i in layer],
            branch=branch,
            include_flagged=include_flagged,
            units=units,
        )
        counted = _units(session, source)
        for (index, top), parts in _aggregate(session, source).items():
            found[layer[index]][top] = Branch(_found(versions, parts), counted.get((index, top), 0))
    return found


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


def _aggregate(
    session: Session, source: sa.Subquery, *, own: int | None = None
) -> dict[tuple[int, int], list[Any]]:
    """Rows of (form_version_id, first date, last date, *ROLLUP_COUNTS) for each (period
    index, key) of a source: the shape :func:`pool` takes. With ``own`` each row also ends
    with the responses of that unit itself, from the same pass over the rollup rows."""
    c = source.c
    own_responses = (
        [sa.func.coalesce(sa.func.sum(sa.case((c.unit_id == own, c.responses))), 0)]
        if own is not None
        else []
    )
    stmt = sa.select(
        c.idx,
        c.key,
        c.form_version_id,
        sa.func.min(c.first),
        sa.func.max(c.last),
        *(sa.func.sum(c[name]) for name in ROLLUP_COUNTS),
        *own_responses,
    ).group_by(c.idx, c.key, c.form_version_id)
    rows: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for index, key, *rest in session.execute(stmt).all():
        rows[(int(index), int(key))].append(rest)
    return rows


def _units(
    session: Session, source: sa.Subquery, *, own: int | None = None
) -> dict[tuple[int, int], int]:
    """How many units (other than ``own``) have rows in each (period index, key) of a
    source, each unit once whatever its form versions. The (index, key, unit) triples are
    made distinct first, which PostgreSQL hashes: a count(DISTINCT) beside the sums sorted
    every wide row (at a province, on disk) and took longer than the sums themselves."""
    c = source.c
    triples = sa.select(c.idx, c.key, c.unit_id).distinct()
    if own is not None:
        triples = triples.where(c.unit_id != own)
    t = triples.subquery("triples")
    stmt = sa.select(t.c.idx, t.c.key, sa.func.count()).group_by(t.c.idx, t.c.key)
    return {(int(index), int(key)): int(n) for index, key, n in session.execute(stmt).all()}


def _source(
    session: Session,
    scope: Scope | None,
    periods: Sequence[Period],
    *,
    units: Sequence[int] | None = None,
    branch: sa.CTE | None = None,
    include_flagged: bool = False,
) -> sa.Subquery:
    """The rollup rows of non-overlapping periods: (idx, key, unit_id, form_version_id,
    first, last, *ROLLUP_COUNTS), idx the period's position. Whole quarters come from the
    quarter rows, whole months around them from the month rows, the days around those (and
    all of a service's or counter's, which the coarser rows do not keep) from the per-day
    rows. The rows are a ``scope``'s (whose ``unit_ids`` are ``units``), keyed 0; or every
    descendant's of a ``branch_cte`` (among ``units``, when given), keyed by the branch."""
    day_only = scope is not None and (scope.service is not None or scope.counter is not None)
    splits = [Split(None, (), ((p.start, p.end),)) if day_only else split(p) for p in periods]
    quarter_pieces = [(i, s.quarters) for i, s in enumerate(splits) if s.quarters is not None]
    month_pieces = [(i, months) for i, s in enumerate(splits) for months in s.months]
    day_pieces = [(i, days) for i, s in enumerate(splits) for days in s.days]
    arms: list[sa.Select[Any]] = []
    for table, day, first, last, pieces, after in (
        (
            response_rollup_quarter,
            _q.quarter_date,
            _q.first_date,
            _q.last_date,
            quarter_pieces,
            _next_quarter,
        ),
        (
            response_rollup_month,
            _m.month_date,
            _m.first_date,
            _m.last_date,
            month_pieces,
            _next_month,
        ),
        (response_rollup, _r.local_date, _r.local_date, _r.local_date, day_pieces, _next_day),
    ):
        if not pieces:
            continue
        t = table.c
        key: sa.ColumnElement[Any]
        if scope is not None:
            where = scope.conditions(
                t,
                service=t.service_key if table is response_rollup else None,
                counter=t.counter_key if table is response_rollup else None,
                period=False,
                units=units,
            )
            key = sa.literal(0)
            source: sa.FromClause = table
        else:
            assert branch is not None
            where = [] if include_flagged else [t.flagged.is_(False)]
            if units is not None and is_postgresql(session):
                where.append(t.unit_id == sa.any_(id_array(units)))
            key = branch.c.top
            source = table.join(branch, branch.c.id == t.unit_id)
        index = _period_index(day, pieces)
        # An arm per range of days rather than an OR of them: each is a range of the primary
        # key (unit, day) per unit, where an OR was a filter over all of a unit's rows.
        arms.extend(
            sa.select(
                index.label("idx"),
                key.label("key"),
                t.unit_id,
                t.form_version_id,
                first.label("first"),
                last.label("last"),
                *(t[name] for name in ROLLUP_COUNTS),
            )
            .select_from(source)
            .where(*where, day.between(low, high))
            for low, high in _spans([span for _, span in pieces], after)
        )
    return (arms[0] if len(arms) == 1 else sa.union_all(*arms)).subquery("source")


def _next_day(day: date) -> date:
    return day + timedelta(days=1)


def _spans(
    pieces: Sequence[tuple[date, date]], after: Callable[[date], date]
) -> list[tuple[date, date]]:
    """Inclusive ranges of days (or months) with the ones that touch joined: a trend's
    periods become one range, one comparison per row instead of one per period."""
    spans: list[tuple[date, date]] = []
    for low, high in sorted(pieces):
        if spans and after(spans[-1][1]) >= low:
            spans[-1] = (spans[-1][0], max(spans[-1][1], high))
        else:
            spans.append((low, high))
    return spans


def _period_index(
    day: sa.ColumnElement[Any], pieces: Sequence[tuple[int, tuple[date, date]]]
) -> sa.ColumnElement[Any]:
    """SQL for the position of the period a row's day (or month) falls in, given each
    period's inclusive ranges."""
    if len({index for index, _ in pieces}) == 1:
        return sa.literal(pieces[0][0])
    return sa.case(*((day.between(low, high), index) for index, (low, high) in pieces))


def _versions(session: Session) -> dict[int, FormVersion]:
    """Every form version by id: read once per reader call (there are a handful)."""
    return {v.id: v for v in session.exec(select(FormVersion)).all() if v.id is not None}


def _found(versions: Mapping[int, FormVersion], rows: Sequence[Any]) -> Found:
    try:
        return _pool(versions, rows)
    except Conflict as exc:
        return exc


def _layers(periods: Sequence[Period]) -> list[list[int]]:
    """The periods' indexes in groups whose periods do not overlap (each group is one query:
    a row counts towards one period of it). A trend's periods are one group."""
    layers: list[list[int]] = []
    for index in sorted(range(len(periods)), key=lambda i: periods[i].start):
        for layer in layers:
            if periods[layer[-1]].end < periods[index].start:
                layer.append(index)
                break
        else:
            layers.append([index])
    return layers


def tally_of(sums: Sequence[Any], codes: tuple[str, ...], table: ikm.IntervalTable) -> ikm.Tally:
    """The Tally of one row of :func:`tally_aggregates` (or of rollup sums, in ROLLUP_COUNTS
    order) over responses answered on a form with these element codes and grade table."""
    counts = dict(zip(ROLLUP_COUNTS, (int(s) for s in sums), strict=True))
    k = len(codes)
    return ikm.Tally(
        codes=codes,
        responses=counts["responses"],
        answered=tuple(counts[f"{c}_n"] for c in ANSWER_COLUMNS[:k]),
        sums=tuple(counts[f"{c}_sum"] for c in ANSWER_COLUMNS[:k]),
        complete=counts["complete"],
        complete_sum=counts["complete_sum"],
        complete_sumsq=counts["complete_sumsq"],
        table=table,
    )


def _pool(versions: Mapping[int, FormVersion], rows: Sequence[Any]) -> ikm.Tally | None:
    """One Tally from rollup sums per form version (rows of form_version_id, first date, last
    date, *ROLLUP_COUNTS); None when there are none.

    Versions whose elements are the same set pool, matched by element code (not position);
    a scope mixing different element sets has no single IKM and is refused with the versions
    and the dates where they meet.
    """
    parts: list[_Part] = []
    for version_id, first, last, *sums in rows:
        version = versions[version_id]
        found = tally_of(sums, version.codes, version.definition["interval_table"])
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
