"""Publishing results: staff freeze a unit's figures for a period as a snapshot, and the public
pages, the open data and the results poster read the snapshot, never the live responses.

Publishing the same unit and period again adds a revision; the earlier snapshot stays, marked
revised, so what was once shown can still be seen. Saran are never part of a snapshot.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app.core import ikm
from app.core.periods import Period, long_date, parse_period, period_text
from app.db import contains_pattern
from app.errors import Conflict, InvalidInput, NotFound
from app.models import PUBLISHABLE_KINDS, EvidenceFile, Publication, Unit, utcnow
from app.reports.results_poster import PosterElement, ResultsPoster, results_poster_pdf
from app.services import audit, followup, results
from app.services.dashboard import element_names
from app.services.org import ancestors
from app.services.scopes import Scope

SNAPSHOT_VERSION = 1


class NothingToPublish(Conflict):
    """The period has no responses in the unit's subtree: there is no figure to freeze."""

    code = "nothing_to_publish"


def publishable_period(text: str) -> Period:
    """A period staff may publish: a year, semester, quarter or month (a ragged range is a
    question for the console, not a result for the notice board)."""
    return _publishable(parse_period(text))


def _publishable(period: Period) -> Period:
    if period.kind not in PUBLISHABLE_KINDS:
        raise InvalidInput("publish a year, semester, quarter or month, not a date range")
    return period


def publish(
    *,
    session: Session,
    unit: Unit,
    period: Period,
    method: ikm.Method,
    actor: audit.Actor,
    now: datetime | None = None,
) -> Publication:
    """Freeze the unit's result for the period (its subtree pooled, flagged responses out) as
    the published one; an earlier publication of the same period becomes revised."""
    _publishable(period)
    result = results.scope_ikm(session=session, scope=Scope(unit, period), method=method)
    if result.n == 0 or result.nik_rounded is None:
        raise NothingToPublish(f"{unit.code} has no IKM for {period.label}: nothing to publish")
    at = now or utcnow()
    earlier = current_of(session=session, unit=unit, period=period)
    publication = Publication(
        unit_id=unit.id,  # type: ignore[arg-type]  # a stored unit has an id
        period=period.label,
        period_start=period.start,
        period_end=period.end,
        revision=earlier.revision + 1 if earlier else 1,
        weight=method.weight,
        n=result.n,
        nik_rounded=float(result.nik_rounded),
        mutu=result.mutu,
        snapshot=_snapshot(session, unit, period, result, at),
        published_at=at,
        published_by=actor.name,
    )
    if earlier is not None:
        earlier.revised_at = at
        session.add(earlier)
    session.add(publication)
    audit.record_as(
        session=session,
        actor=actor,
        action="publication.publish",
        target=f"{unit.code} {period.label}",
        unit_id=unit.id,
        detail=f"revision {publication.revision}: NIK {result.nik_rounded} "
        f"({result.mutu}), n {result.n}",
    )
    try:
        session.commit()
    except IntegrityError:
        # Two people published the same period at once: the other revision stands.
        session.rollback()
        raise Conflict("this period was published at the same moment; reload and check") from None
    session.refresh(publication)
    return publication


def _snapshot(
    session: Session, unit: Unit, period: Period, result: ikm.IkmResult, at: datetime
) -> dict[str, Any]:
    return {
        "version": SNAPSHOT_VERSION,
        "unit": {"code": unit.code, "name": unit.name},
        "period": period.label,
        "period_text": period_text(period),
        "published_at": at.isoformat(),
        "element_names": element_names(session=session, unit=unit),
        "result": result.to_dict(),
    }


def current_of(*, session: Session, unit: Unit, period: Period) -> Publication | None:
    """The unit's standing (not revised) publication of the period, if any."""
    return session.exec(
        select(Publication).where(
            Publication.unit_id == unit.id,
            Publication.period == period.label,
            col(Publication.revised_at).is_(None),
        )
    ).first()


def history(*, session: Session, unit: Unit) -> list[Publication]:
    """Every publication of a unit, newest period first, its revisions newest first."""
    return list(
        session.exec(
            select(Publication)
            .where(Publication.unit_id == unit.id)
            .order_by(
                col(Publication.period_end).desc(),
                col(Publication.period_start).desc(),
                col(Publication.revision).desc(),
            )
        )
    )


def get(*, session: Session, unit: Unit, period: str, revision: int | None = None) -> Publication:
    """A unit's publication of a period: the standing one, or a given revision (404 if none)."""
    query = select(Publication).where(Publication.unit_id == unit.id, Publication.period == period)
    if revision is None:
        query = query.where(col(Publication.revised_at).is_(None))
    else:
        query = query.where(Publication.revision == revision)
    found = session.exec(query).first()
    if found is None:
        raise NotFound(f"{unit.code} has no publication for {period}")
    return found


@dataclass(frozen=True)
class Latest:
    """A unit's most recent standing publication (for the list of every unit)."""

    unit: Unit
    parent: Unit | None
    publication: Publication


def latest_per_unit(*, session: Session, query: str = "") -> list[Latest]:
    """Every active unit's standing publication of its latest period (the latest end date; of
    two ending together, the one published last), with its parent; by unit name. ``query``
    keeps units whose name or code holds it."""
    ranked = (
        select(
            Publication.id,
            func.row_number()
            .over(
                partition_by=col(Publication.unit_id),
                order_by=(
                    col(Publication.period_end).desc(),
                    col(Publication.published_at).desc(),
                ),
            )
            .label("place"),
        )
        .where(col(Publication.revised_at).is_(None))
        .subquery()
    )
    parent = sa.orm.aliased(Unit)
    statement = (
        select(Publication, Unit, parent)
        .join(ranked, sa.and_(ranked.c.id == Publication.id, ranked.c.place == 1))
        .join(Unit, col(Unit.id) == Publication.unit_id)
        .outerjoin(parent, col(parent.id) == Unit.parent_id)
        .where(col(Unit.active).is_(True))
        .order_by(col(Unit.name), col(Unit.code))
    )
    words = query.strip().lower()
    if words:
        pattern = contains_pattern(words)
        statement = statement.where(
            sa.or_(
                func.lower(Unit.name).like(pattern, escape="\\"),
                func.lower(Unit.code).like(pattern, escape="\\"),
            )
        )
    return [Latest(unit, above, found) for found, unit, above in session.exec(statement)]


@dataclass(frozen=True)
class SincePublication:
    """How the live figures have moved since a publication: responses added (or, after an
    undone paper entry, removed) and whether the NIK or grade would now differ."""

    publication: Publication
    n_now: int
    nik_now: Decimal | None
    mutu_now: str | None

    @property
    def new_responses(self) -> int:
        return self.n_now - self.publication.n

    @property
    def changed(self) -> bool:
        published = self.publication.nik_rounded
        now = float(self.nik_now) if self.nik_now is not None else None
        return self.new_responses != 0 or now != published or self.mutu_now != self.publication.mutu


def since(*, session: Session, unit: Unit, publication: Publication) -> SincePublication:
    """The live result of the publication's scope and period beside the frozen one, with the
    method it was published with."""
    period = parse_period(publication.period)
    method = ikm.Method(**_method_fields(publication))
    now = results.scope_ikm(session=session, scope=Scope(unit, period), method=method)
    return SincePublication(publication, now.n, now.nik_rounded, now.mutu)


def _method_fields(publication: Publication) -> dict[str, Any]:
    stored = publication.snapshot["result"]["method"]
    return {
        key: stored[key]
        for key in ("weight", "round_nrr", "round_weighted", "round_total", "table")
    }


def mark_poster_posted(
    *,
    session: Session,
    unit: Unit,
    publication: Publication,
    actor: audit.Actor,
    photo: EvidenceFile | None = None,
    now: datetime | None = None,
) -> Publication:
    """Record that the results poster of a publication hangs at the service point (the
    offline half of the LKE's item b), with an optional photo as evidence."""
    if publication.unit_id != unit.id:
        raise NotFound("no such publication for this unit")
    publication.poster_posted_at = now or utcnow()
    if photo is not None:
        photo.unit_id = unit.id
        photo.uploaded_by = actor.name
        session.add(photo)
        session.flush()
        publication.poster_photo_id = photo.id
    session.add(publication)
    audit.record_as(
        session=session,
        actor=actor,
        action="publication.poster_posted",
        target=f"{unit.code} {publication.period}",
        unit_id=unit.id,
        detail="with a photo" if photo is not None else None,
    )
    session.commit()
    session.refresh(publication)
    return publication


def standing(session: Session, unit_ids: Sequence[int]) -> list[Publication]:
    """The standing publications of the given units, oldest period first."""
    if not unit_ids:
        return []
    return list(
        session.exec(
            select(Publication)
            .where(col(Publication.unit_id).in_(unit_ids), col(Publication.revised_at).is_(None))
            .order_by(col(Publication.period_start), col(Publication.period_end))
        )
    )


@dataclass(frozen=True)
class PublishedElement:
    code: str
    name: str
    nrr: float | None
    nik: Decimal | None  # NRR x 25, two decimals
    mutu: str | None


@dataclass(frozen=True)
class Published:
    """A publication's frozen figures, read back from its snapshot as the pages print them."""

    publication: Publication
    unit_code: str
    unit_name: str
    period: Period
    n: int
    nik: Decimal | None
    mutu: str | None
    kinerja: str | None
    elements: tuple[PublishedElement, ...]
    sample: dict[str, Any] | None
    method_label: str
    units_covered: int

    @property
    def revised(self) -> bool:
        return self.publication.revised_at is not None


def result_elements(publication: Publication) -> tuple[ikm.ElementResult, ...]:
    """The published elements as results again (for the follow-up arithmetic)."""
    return tuple(
        ikm.ElementResult(
            code=e["code"],
            n=e["n"],
            sum=e["sum"],
            nrr=Fraction(e["nrr"]) if e["nrr"] is not None else None,
            weighted=None,
            nik_rounded=_decimal(e["nik_rounded"]),
            mutu=e["mutu"],
        )
        for e in publication.snapshot["result"]["elements"]
    )


def _decimal(value: float | None) -> Decimal | None:
    # Snapshots hold rounded display values as JSON numbers; two decimals restore them.
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def read(publication: Publication) -> Published:
    """The figures of a publication as published (never recomputed)."""
    snapshot = publication.snapshot
    result = snapshot["result"]
    names = snapshot.get("element_names", {})
    elements = tuple(
        PublishedElement(
            e["code"], names.get(e["code"], e["code"]), e["nrr"], _decimal(e["nik_rounded"]),
            e["mutu"],
        )
        for e in result["elements"]
    )  # fmt: skip
    coverage = result.get("coverage") or {}
    return Published(
        publication=publication,
        unit_code=snapshot["unit"]["code"],
        unit_name=snapshot["unit"]["name"],
        period=parse_period(publication.period),
        n=result["n"],
        nik=_decimal(result["nik_rounded"]),
        mutu=result["mutu"],
        kinerja=result["kinerja"],
        elements=elements,
        sample=result.get("sample"),
        method_label=result["method"]["label"],
        units_covered=coverage.get("units", 1),
    )


TOP_ACTIONS = 3


def results_poster(
    *, session: Session, unit: Unit, publication: Publication, base_url: str, size: str = "a4"
) -> bytes:
    """The results poster of a publication (A4 or A3 PDF): its frozen figures, the first
    follow-up actions of its period, and a QR code to the unit's public page."""
    shown = read(publication)
    above = ancestors(session=session, unit=unit)
    actions = followup.actions(session=session, unit=unit, period=shown.period)
    poster = ResultsPoster(
        unit_name=unit.name,
        parent_name=above[-1].name if above else None,
        period_words=period_text(shown.period),
        nik=shown.nik or Decimal(0),
        mutu=shown.mutu or "-",
        kinerja=shown.kinerja or "-",
        n=shown.n,
        elements=tuple(PosterElement(e.name, e.nik, e.mutu) for e in shown.elements),
        actions=tuple(a.action for a in actions[:TOP_ACTIONS]),
        url=public_url(base_url, unit),
        published_on=long_date(publication.published_at.date()),
    )
    return results_poster_pdf(poster, size)


def public_url(base_url: str, unit: Unit) -> str:
    """The unit's public results page."""
    return f"{base_url.rstrip('/')}/hasil/{unit.code}"
