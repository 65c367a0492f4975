"""The Zona Integritas score for SKM (the LKE's items a, b and c) per unit and year, read from
what the service holds: the survey periods whose responses reached the minimum sample, the
published snapshots and posted results posters, and the follow-up actions. The ladders are
``app.core.zi``; the survey cycle (how many periods a year) is a pemda setting.

A unit's figures pool its subtree, as everywhere; a table over a subtree takes every unit's
results from one ranking per parent (a few grouped queries each), not a query per unit.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from app.core import followup, ikm, zi
from app.core.periods import Period, containing, shift
from app.errors import InvalidInput
from app.models import SURVEY_CYCLES, FollowupAction, Publication, SurveyCycle, Unit
from app.services import audit, results
from app.services.org import ancestors, subtree_with_depth
from app.services.scopes import Scope

DEFAULT_CYCLE = "quarter"  # item a rewards four surveys a year
CYCLE_WORDS = {"quarter": "triwulanan", "semester": "semesteran", "year": "tahunan"}


def _id(unit: Unit) -> int:
    assert unit.id is not None  # a stored unit
    return unit.id


def _root(session: Session, unit: Unit) -> Unit:
    above = ancestors(session=session, unit=unit)
    return above[0] if above else unit


def survey_cycle(*, session: Session, unit: Unit) -> str:
    """The survey cycle of the unit's pemda (the root of its tree): quarter by default."""
    root = _root(session, unit)
    found = session.get(SurveyCycle, root.id)
    return found.cycle if found is not None else DEFAULT_CYCLE


def set_survey_cycle(*, session: Session, unit: Unit, cycle: str, actor: audit.Actor) -> None:
    """Set the survey cycle of the unit's pemda (it applies to the whole tree)."""
    if cycle not in SURVEY_CYCLES:
        raise InvalidInput(f"the cycle must be one of {', '.join(SURVEY_CYCLES)}", loc=("cycle",))
    root = _root(session, unit)
    found = session.get(SurveyCycle, root.id) or SurveyCycle(unit_id=_id(root), cycle=cycle)
    found.cycle = cycle
    session.add(found)
    audit.record_as(
        session=session,
        actor=actor,
        action="survey_cycle.set",
        target=root.code,
        unit_id=root.id,
        detail=cycle,
    )
    session.commit()


def cycle_periods(cycle: str, year: int) -> list[Period]:
    """The survey periods of a year for a cycle, in order."""
    first = containing(date(year, 1, 1), cycle)
    count = {"quarter": 4, "semester": 2, "year": 1}[cycle]
    return [shift(first, i) for i in range(count)]


@dataclass(frozen=True)
class PeriodHeld:
    """One survey period of the year: its result and whether it counts for item a."""

    period: Period
    result: ikm.IkmResult

    @property
    def held(self) -> bool:
        sample = self.result.sample
        return self.result.n > 0 and sample is not None and sample.sufficient

    @property
    def why_not(self) -> str | None:
        """Why the period does not count, in the console's words (None when it does)."""
        if self.result.n == 0:
            return "belum ada responden"
        if self.result.sample is None:
            return "populasi belum dicatat"
        if not self.result.sample.sufficient:
            return f"{self.result.n} dari minimal {self.result.sample.minimum} responden"
        return None


@dataclass(frozen=True)
class UnitScore:
    unit: Unit
    depth: int
    year: int
    cycle: str
    periods: tuple[PeriodHeld, ...]
    published_online: tuple[str, ...]  # period labels with a standing publication
    posted_offline: tuple[str, ...]  # period labels whose results poster was marked posted
    score: zi.LkeScore


def _score(
    unit: Unit,
    depth: int,
    year: int,
    cycle: str,
    held: Sequence[PeriodHeld],
    publications: Sequence[Publication],
    actions: Sequence[FollowupAction],
    today: date,
) -> UnitScore:
    online = tuple(p.period for p in publications)
    offline = tuple(p.period for p in publications if p.poster_posted_at is not None)
    # Item c over the year: every ended period's weak elements, each to be covered by an action
    # of that period (a weak element in two quarters needs an answer in each). A period still
    # running has no follow-up due yet.
    weak: list[str] = []
    done: list[list[str]] = []
    for place in held:
        if place.result.n == 0 or place.period.end >= today:
            continue
        label = place.period.label
        weak += [f"{label}:{c}" for c in followup.weak_elements(place.result.elements)]
        done += [
            [f"{label}:{c}" for c in a.elements.split(",")]
            for a in actions
            if a.period == label and a.status == "selesai"
        ]
    coverage = followup.followup_coverage(weak, done)
    score = zi.LkeScore(
        periods_held=sum(1 for p in held if p.held),
        periods_expected=len(held),
        online=bool(online),
        offline=bool(offline),
        followup=coverage,
    )
    return UnitScore(unit, depth, year, cycle, tuple(held), online, offline, score)


def unit_score(
    *,
    session: Session,
    unit: Unit,
    year: int,
    method: ikm.Method = ikm.DEFAULT_METHOD,
    today: date | None = None,
) -> UnitScore:
    """The unit's LKE items for a year (its subtree pooled); ``today`` (default: the unit's
    date now) decides which periods have ended."""
    cycle = survey_cycle(session=session, unit=unit)
    periods = cycle_periods(cycle, year)
    found = results.trend(
        session=session, scope=Scope(unit, periods[0]), periods=periods, method=method
    )
    held = [PeriodHeld(p, r) for p, r in found]
    ids = [_id(unit)]
    return _score(
        unit,
        0,
        year,
        cycle,
        held,
        _publications(session, ids, year).get(ids[0], []),
        _actions(session, ids, [p.label for p in periods]).get(ids[0], []),
        today or datetime.now(unit.zone).date(),
    )


def table(
    *,
    session: Session,
    root: Unit,
    year: int,
    method: ikm.Method = ikm.DEFAULT_METHOD,
    today: date | None = None,
) -> list[UnitScore]:
    """Every unit of the root's subtree (parents first) with its LKE items for the year."""
    day = today or datetime.now(root.zone).date()
    cycle = survey_cycle(session=session, unit=root)
    periods = cycle_periods(cycle, year)
    labels = [p.label for p in periods]
    units = subtree_with_depth(session, root)
    found: dict[int, list[ikm.IkmResult]] = {}
    top = results.trend(
        session=session, scope=Scope(root, periods[0]), periods=periods, method=method
    )
    found[_id(root)] = [r for _, r in top]
    parents = {u.parent_id for u, _ in units}
    for unit, _ in units:
        if unit.id not in parents:
            continue
        per_period = results.rankings(session=session, parent=unit, periods=periods, method=method)
        for period_results in zip(*per_period, strict=True):
            found[_id(period_results[0][0])] = [result for _, result in period_results]
    ids = [_id(u) for u, _ in units]
    publications = _publications(session, ids, year)
    actions = _actions(session, ids, labels)
    return [
        _score(
            unit,
            depth,
            year,
            cycle,
            [PeriodHeld(p, r) for p, r in zip(periods, found[_id(unit)], strict=True)],
            publications.get(_id(unit), []),
            actions.get(_id(unit), []),
            day,
        )
        for unit, depth in units
    ]


def _publications(
    session: Session, unit_ids: Sequence[int], year: int
) -> dict[int, list[Publication]]:
    """The units' standing publications of periods within the year (its quarters, semesters,
    months or the year itself)."""
    rows = session.exec(
        select(Publication).where(
            col(Publication.unit_id).in_(unit_ids),
            col(Publication.period_start) >= date(year, 1, 1),
            col(Publication.period_end) <= date(year, 12, 31),
            col(Publication.revised_at).is_(None),
        )
    )
    grouped: dict[int, list[Publication]] = defaultdict(list)
    for row in rows:
        grouped[row.unit_id].append(row)
    return grouped


def _actions(
    session: Session, unit_ids: Sequence[int], labels: Sequence[str]
) -> dict[int, list[FollowupAction]]:
    rows = session.exec(
        select(FollowupAction).where(
            col(FollowupAction.unit_id).in_(unit_ids), col(FollowupAction.period).in_(labels)
        )
    )
    grouped: dict[int, list[FollowupAction]] = defaultdict(list)
    for row in rows:
        grouped[row.unit_id].append(row)
    return grouped
