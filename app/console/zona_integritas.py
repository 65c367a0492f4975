"""The Zona Integritas score for SKM: the LKE's items a, b and c for every unit of the user's
subtree and a year, the pemda's survey cycle, the units still short of their minimum sample in
the running period (with the days left), and each unit's evidence pack (ZIP)."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.console.deps import PostedForm, root_unit, visible_unit
from app.console.pages import HEADERS, AdminPage, ViewerPage, printable_base_url
from app.core.periods import containing, parse_period
from app.deps import ReadSession, SettingsDep, WriteSession
from app.errors import AppError, InvalidInput
from app.models import SURVEY_CYCLES
from app.services import evidence_pack, lke

router = APIRouter(prefix="/console/zi")

CYCLE_LABELS = {
    "quarter": "Triwulanan (4 kali setahun)",
    "semester": "Semesteran",
    "year": "Tahunan",
}
DONE = {"cycle": "Siklus survei disimpan."}


@router.get("")
def score_table(
    page: ViewerPage,
    session: ReadSession,
    unit: Annotated[str | None, Query(max_length=40)] = None,
    tahun: Annotated[int | None, Query(ge=2000, le=2999)] = None,
    ok: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    root = visible_unit(session, page.identity, unit) if unit else root_unit(session, page.identity)
    today = datetime.now(root.zone).date()
    year = tahun or today.year
    rows = lke.table(session=session, root=root, year=year)
    cycle = rows[0].cycle if rows else lke.DEFAULT_CYCLE
    running = containing(today, cycle)
    index = next((i for i, p in enumerate(rows[0].periods) if p.period == running), None)
    short = (
        [(r, r.periods[index]) for r in rows if not r.periods[index].held]
        if index is not None and year == today.year
        else []
    )
    context: dict[str, Any] = {
        "title": "Zona Integritas: penilaian SKM",
        "root": root,
        "year": year,
        "years": list(range(today.year, today.year - 4, -1)),
        "rows": rows,
        "cycle": cycle,
        "cycles": {c: CYCLE_LABELS[c] for c in SURVEY_CYCLES},
        "running": running,
        "days_left": (running.end - today).days + 1,
        "short": short,
        "may_set_cycle": page.identity.may("admin") and root.parent_id is None,
        "ok": DONE.get(ok or ""),
    }
    return page.render("zona_integritas.html", context)


@router.post("/siklus")
def set_cycle(page: AdminPage, session: WriteSession, form: PostedForm) -> Response:
    root = root_unit(session, page.identity)
    try:
        lke.set_survey_cycle(
            session=session, unit=root, cycle=str(form.get("cycle", "")), actor=page.identity.actor
        )
    except AppError:
        session.rollback()
        raise
    return RedirectResponse("/console/zi?ok=cycle", status_code=303, headers=HEADERS)


@router.get("/{code}/paket-bukti.zip")
def evidence(
    code: str,
    page: ViewerPage,
    session: ReadSession,
    settings: SettingsDep,
    period: Annotated[str, Query(max_length=40)],
) -> Response:
    """The unit's evidence pack for a period: report, results poster, public page, RTL, score."""
    unit = visible_unit(session, page.identity, code)
    try:
        chosen = parse_period(period)
    except ValueError as exc:
        raise InvalidInput(f"Periode tidak dikenal: {exc}") from None
    body = evidence_pack.build(
        session=session, unit=unit, period=chosen, base_url=printable_base_url(settings)
    )
    name = f"paket-bukti-skm-{unit.code}-{chosen.label}.zip"
    return Response(
        body,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"', **HEADERS},
    )
