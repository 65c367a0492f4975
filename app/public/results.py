"""``/hasil``: every unit's latest published result, and a unit's published periods with its
elements, trend and follow-up actions; the same as open data (JSON and CSV). Only published
snapshots are shown, never live figures; saran are never published (they may name people)."""

import csv
import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.core.followup import STATUS_WORDS
from app.deps import ReadSession
from app.errors import NotFound
from app.models import FollowupAction, Publication, Unit
from app.public.pages import cached, page, public_unit
from app.reports import svg
from app.services import followup, org, publication
from app.services.publication import Latest, Published

router = APIRouter()

PAGE_SIZE = 100
SORTS = {
    "nama": lambda r: (r.unit.name.lower(), r.unit.code),
    "nik": lambda r: (r.publication.nik_rounded or -1, r.unit.name.lower()),
    "n": lambda r: (r.publication.n, r.unit.name.lower()),
    "periode": lambda r: (r.publication.period_end, r.unit.name.lower()),
}


def _sorted(rows: list[Latest], sort: str, order: str) -> list[Latest]:
    key = SORTS.get(sort, SORTS["nama"])
    return sorted(rows, key=key, reverse=order == "desc")


@router.get("/hasil")
def all_units(
    request: Request,
    session: ReadSession,
    q: Annotated[str, Query(max_length=100)] = "",
    sort: Annotated[str, Query(max_length=10)] = "nama",
    order: Annotated[str, Query(max_length=4)] = "asc",
    halaman: Annotated[int, Query(ge=0, le=1000)] = 0,
) -> Response:
    rows = _sorted(publication.latest_per_unit(session=session, query=q), sort, order)
    shown = rows[halaman * PAGE_SIZE : (halaman + 1) * PAGE_SIZE]
    context = {
        "title": "Hasil Survei Kepuasan Masyarakat",
        "rows": [(r, publication.read(r.publication)) for r in shown],
        "total": len(rows),
        "q": q,
        "sort": sort if sort in SORTS else "nama",
        "order": "desc" if order == "desc" else "asc",
        "halaman": halaman,
        "pages": (len(rows) + PAGE_SIZE - 1) // PAGE_SIZE,
    }
    return page(request, "hasil.html", context)


def _latest_row(row: Latest) -> dict[str, Any]:
    shown = publication.read(row.publication)
    return {
        "unit_code": row.unit.code,
        "unit_name": row.unit.name,
        "parent_code": row.parent.code if row.parent else None,
        "parent_name": row.parent.name if row.parent else None,
        "period": shown.period.label,
        "period_text": row.publication.snapshot["period_text"],
        "revision": row.publication.revision,
        "published_at": row.publication.published_at.isoformat(),
        "n": shown.n,
        "nik": float(shown.nik) if shown.nik is not None else None,
        "mutu": shown.mutu,
        "kinerja": shown.kinerja,
        "url": f"/hasil/{row.unit.code}",
    }


LATEST_COLUMNS = (
    "unit_code", "unit_name", "parent_code", "parent_name", "period", "period_text", "revision",
    "published_at", "n", "nik", "mutu", "kinerja",
)  # fmt: skip


@router.get("/hasil.json")
def all_units_json(request: Request, session: ReadSession) -> Response:
    rows = [_latest_row(r) for r in publication.latest_per_unit(session=session)]
    body = json.dumps({"units": rows}, ensure_ascii=False, indent=1).encode()
    return cached(request, body, "application/json")


def _csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


@router.get("/hasil.csv")
def all_units_csv(request: Request, session: ReadSession) -> Response:
    rows = [_latest_row(r) for r in publication.latest_per_unit(session=session)]
    disposition = {"Content-Disposition": 'attachment; filename="hasil-skm.csv"'}
    return cached(request, _csv(rows, LATEST_COLUMNS), "text/csv; charset=utf-8", disposition)


def _chosen(
    history: list[Publication], period: str | None, revision: int | None
) -> Publication | None:
    """The publication a unit's page shows: the standing one of ``period`` (or of the latest
    period), or a given revision of it."""
    if not history:
        return None
    label = period or history[0].period
    for found in history:
        if found.period == label and (
            found.revision == revision if revision else found.revised_at is None
        ):
            return found
    raise NotFound("periode ini belum dipublikasikan")


def _trend(history: list[Publication], shown: Published) -> list[Published]:
    """The standing publications of the same kind of period as the one shown, oldest first."""
    standing = [publication.read(p) for p in reversed(history) if p.revised_at is None]
    return [p for p in standing if p.period.kind == shown.period.kind][-8:]


@router.get("/hasil/{code}")
def one_unit(
    request: Request,
    code: str,
    session: ReadSession,
    periode: Annotated[str | None, Query(max_length=40)] = None,
    revisi: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> Response:
    unit = public_unit(session, code)
    history = publication.history(session=session, unit=unit)
    chosen = _chosen(history, periode, revisi)
    context: dict[str, Any] = {
        "title": f"Hasil SKM {unit.name}",
        "unit": unit,
        "above": _parent_name(session, unit),
        "history": history,
        "shown": None,
    }
    if chosen is not None:
        shown = publication.read(chosen)
        trend = _trend(history, shown)
        actions = followup.actions(session=session, unit=unit, period=shown.period)
        context.update(
            shown=shown,
            bars=svg.element_bars(
                [(e.name, e.nik, e.mutu) for e in shown.elements],
                f"Nilai per unsur, {shown.period.label}",
            ),
            trend=trend,
            trend_chart=svg.trend_line(
                [(svg.short_period(p.period), p.nik, p.mutu) for p in trend],
                f"Tren IKM {unit.name}",
            ),
            actions=actions,
            names={e.code: e.name for e in shown.elements},
            status_words=STATUS_WORDS,
        )
    return page(request, "hasil_unit.html", context)


def _parent_name(session: Session, unit: Unit) -> str | None:
    above = org.ancestors(session=session, unit=unit)
    return above[-1].name if above else None


def _action_row(action: FollowupAction, names: dict[str, str]) -> dict[str, Any]:
    return {
        "period": action.period,
        "elements": [{"code": c, "name": names.get(c, c)} for c in action.elements.split(",")],
        "action": action.action,
        "responsible": action.responsible,
        "target_date": action.target_date.isoformat(),
        "status": action.status,
        "completed_at": action.completed_at.isoformat() if action.completed_at else None,
    }


def _publication_row(found: Published) -> dict[str, Any]:
    p = found.publication
    return {
        "period": found.period.label,
        "period_text": p.snapshot["period_text"],
        "revision": p.revision,
        "revised_at": p.revised_at.isoformat() if p.revised_at else None,
        "published_at": p.published_at.isoformat(),
        "n": found.n,
        "nik": float(found.nik) if found.nik is not None else None,
        "mutu": found.mutu,
        "kinerja": found.kinerja,
        "method": found.method_label,
        "sample": found.sample,
        "elements": [
            {
                "code": e.code,
                "name": e.name,
                "nrr": e.nrr,
                "nik": float(e.nik) if e.nik is not None else None,
                "mutu": e.mutu,
            }
            for e in found.elements
        ],
    }


def _unit_data(session: Session, unit: Unit) -> tuple[list[Published], list[dict[str, Any]]]:
    published = [publication.read(p) for p in publication.history(session=session, unit=unit)]
    names = {e.code: e.name for p in published for e in p.elements}
    actions = [_action_row(a, names) for a in followup.actions(session=session, unit=unit)]
    return published, actions


@router.get("/hasil/{code}/data.json")
def one_unit_json(request: Request, code: str, session: ReadSession) -> Response:
    unit = public_unit(session, code)
    published, actions = _unit_data(session, unit)
    body = {
        "unit": {"code": unit.code, "name": unit.name},
        "publications": [_publication_row(p) for p in published],
        "actions": actions,
    }
    return cached(
        request, json.dumps(body, ensure_ascii=False, indent=1).encode(), "application/json"
    )


UNIT_COLUMNS = (
    "unit_code", "period", "revision", "revised", "published_at", "n", "nik", "mutu", "kinerja",
    "element_code", "element_name", "element_nrr", "element_nik", "element_mutu",
)  # fmt: skip


@router.get("/hasil/{code}/data.csv")
def one_unit_csv(request: Request, code: str, session: ReadSession) -> Response:
    """One row per publication and element (long format, for pivot tables)."""
    unit = public_unit(session, code)
    published, _ = _unit_data(session, unit)
    rows = [
        {
            "unit_code": unit.code,
            "period": p.period.label,
            "revision": p.publication.revision,
            "revised": "ya" if p.revised else "tidak",
            "published_at": p.publication.published_at.isoformat(),
            "n": p.n,
            "nik": p.nik,
            "mutu": p.mutu,
            "kinerja": p.kinerja,
            "element_code": e.code,
            "element_name": e.name,
            "element_nrr": e.nrr,
            "element_nik": e.nik,
            "element_mutu": e.mutu,
        }
        for p in published
        for e in p.elements
    ]
    disposition = {"Content-Disposition": f'attachment; filename="hasil-skm-{unit.code}.csv"'}
    return cached(request, _csv(rows, UNIT_COLUMNS), "text/csv; charset=utf-8", disposition)
