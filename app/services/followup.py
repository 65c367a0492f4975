"""The follow-up plan register (rencana tindak lanjut, RTL): actions a unit takes against the
weak elements of a period's results, their status and evidence, and how far they cover the
weak elements (the Zona Integritas item c). The arithmetic is ``app.core.followup``."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.core import followup, ikm
from app.core.periods import Period, parse_period
from app.errors import InvalidInput, NotFound
from app.models import (
    FOLLOWUP_STATUSES,
    EvidenceFile,
    FollowupAction,
    Response,
    Unit,
    utcnow,
)
from app.services import audit, results
from app.services.dashboard import element_names
from app.services.scopes import Scope

EVIDENCE_MAX_BYTES = 3 * 1024 * 1024  # a phone photo, reduced; the request limit is 4 MiB
EVIDENCE_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"%PDF-": "application/pdf",
}
SARAN_PER_ELEMENT = 5
ACTION_MAX, NOTE_MAX = 1000, 500


@dataclass(frozen=True)
class WeakElement:
    """An element the period's results call to improve, with saran that speak of it."""

    code: str
    name: str
    nik_rounded: float | None
    mutu: str | None
    saran: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Plan:
    """A unit's RTL for a period: the weak elements, the actions, and their coverage."""

    unit: Unit
    period: Period
    result: ikm.IkmResult
    weak: tuple[WeakElement, ...]
    actions: tuple[FollowupAction, ...]
    coverage: followup.FollowupCoverage
    names: dict[str, str]


def plan(
    *, session: Session, unit: Unit, period: Period, method: ikm.Method = ikm.DEFAULT_METHOD
) -> Plan:
    """The unit's weak elements in the period (its subtree pooled) with matching saran, its
    actions for the period, and the coverage of the weak elements by completed actions."""
    result = results.scope_ikm(session=session, scope=Scope(unit, period), method=method)
    names = element_names(session=session, unit=unit)
    codes = followup.weak_elements(result.elements) if result.n else ()
    by_code = {e.code: e for e in result.elements}
    weak = tuple(
        WeakElement(
            code,
            names.get(code, code),
            _as_float(by_code[code].nik_rounded),
            by_code[code].mutu,
            _saran_about(
                session, Scope(unit, period), followup.keywords(code, names.get(code, ""))
            ),
        )
        for code in codes
    )
    found = actions(session=session, unit=unit, period=period)
    done = [a.elements.split(",") for a in found if a.status == "selesai"]
    return Plan(
        unit, period, result, weak, tuple(found), followup.followup_coverage(codes, done), names
    )


def _as_float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _saran_about(session: Session, scope: Scope, words: Sequence[str]) -> tuple[str, ...]:
    """A few of the period's newest saran that name one of ``words`` (the SQL narrows by
    substring; the word-start rule of ``followup.mentions`` decides)."""
    if not words:
        return ()
    table = Response.__table__  # type: ignore[attr-defined]
    text = func.lower(col(Response.suggestion))
    rows = session.execute(
        sa.select(table.c.suggestion)
        .where(
            *scope.response_conditions(table),
            sa.or_(*(text.like(f"%{w}%") for w in words)),
        )
        .order_by(col(Response.submitted_at).desc())
        .limit(SARAN_PER_ELEMENT * 4)
    ).scalars()
    # The same words often come from many respondents: each saran once.
    kept = dict.fromkeys(s for s in rows if s and followup.mentions(s, words))
    return tuple(kept)[:SARAN_PER_ELEMENT]


def actions(*, session: Session, unit: Unit, period: Period | None = None) -> list[FollowupAction]:
    """The unit's actions (of one period, or all), by target date."""
    query = select(FollowupAction).where(FollowupAction.unit_id == unit.id)
    if period is not None:
        query = query.where(FollowupAction.period == period.label)
    return list(
        session.exec(query.order_by(col(FollowupAction.target_date), col(FollowupAction.id)))
    )


def get_action(*, session: Session, unit: Unit, action_id: int) -> FollowupAction:
    found = session.get(FollowupAction, action_id)
    if found is None or found.unit_id != unit.id:
        raise NotFound(f"{unit.code} has no follow-up action {action_id}")
    return found


def _elements(session: Session, unit: Unit, codes: Sequence[str]) -> str:
    known = element_names(session=session, unit=unit)
    chosen = [c for c in known if c in set(codes)]
    unknown = sorted(set(codes) - set(known))
    if unknown:
        raise InvalidInput(f"unknown element(s) {', '.join(unknown)}", loc=("elements",))
    if not chosen:
        raise InvalidInput("choose at least one element the action improves", loc=("elements",))
    return ",".join(chosen)


def _text(value: str, name: str, limit: int) -> str:
    cleaned = " ".join(value.split())
    if not cleaned:
        raise InvalidInput(f"{name} is required", loc=(name,))
    if len(cleaned) > limit or "\x00" in cleaned:
        raise InvalidInput(f"{name} is at most {limit} characters", loc=(name,))
    return cleaned


def _link(url: str | None) -> str | None:
    if not url or not url.strip():
        return None
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
        raise InvalidInput("the evidence link must be an http(s) address", loc=("evidence_url",))
    return url


def create_action(
    *,
    session: Session,
    unit: Unit,
    period: str,
    elements: Sequence[str],
    action: str,
    responsible: str,
    target_date: date,
    actor: audit.Actor,
    evidence_url: str | None = None,
) -> FollowupAction:
    """Add an action (status rencana) to the unit's plan for a period."""
    try:
        label = parse_period(period).label
    except ValueError as exc:
        raise InvalidInput(str(exc), loc=("period",)) from None
    row = FollowupAction(
        unit_id=unit.id,  # type: ignore[arg-type]  # a stored unit has an id
        period=label,
        elements=_elements(session, unit, elements),
        action=_text(action, "action", ACTION_MAX),
        responsible=_text(responsible, "responsible", 200),
        target_date=target_date,
        evidence_url=_link(evidence_url),
    )
    session.add(row)
    session.flush()
    audit.record_as(
        session=session,
        actor=actor,
        action="followup.create",
        target=f"{unit.code} {label} #{row.id}",
        unit_id=unit.id,
        detail=row.action,
    )
    session.commit()
    session.refresh(row)
    return row


def update_action(
    *,
    session: Session,
    unit: Unit,
    action_id: int,
    actor: audit.Actor,
    status: str | None = None,
    note: str | None = None,
    evidence_url: str | None = None,
    now: datetime | None = None,
) -> FollowupAction:
    """Change an action's status, add a dated progress note, or set its evidence link."""
    row = get_action(session=session, unit=unit, action_id=action_id)
    at = now or utcnow()
    changes = []
    if status is not None and status != row.status:
        if status not in FOLLOWUP_STATUSES:
            raise InvalidInput(
                f"status must be one of {', '.join(FOLLOWUP_STATUSES)}", loc=("status",)
            )
        changes.append(f"status {row.status} -> {status}")
        row.status = status
        row.completed_at = at if status == "selesai" else None
    if note is not None and note.strip():
        line = f"{at.date().isoformat()}: {_text(note, 'note', NOTE_MAX)}"
        row.notes = append_line(
            row.notes, line, full="this action has no room for more notes", loc="note"
        )
        changes.append("note")
    if evidence_url is not None:
        row.evidence_url = _link(evidence_url)
        changes.append("evidence link")
    if not changes:
        return row
    row.updated_at = at
    session.add(row)
    audit.record_as(
        session=session,
        actor=actor,
        action="followup.update",
        target=f"{unit.code} {row.period} #{row.id}",
        unit_id=unit.id,
        detail=", ".join(changes),
    )
    session.commit()
    session.refresh(row)
    return row


LOG_MAX = 4000  # the notes and comments columns


def append_line(log: str | None, line: str, *, full: str, loc: str) -> str:
    """A dated log kept in one text column (an action's notes, an alert's comments) with a
    line added; refused with ``full`` when the column has no room."""
    combined = f"{log}\n{line}" if log else line
    if len(combined) > LOG_MAX:
        raise InvalidInput(full, loc=(loc,))
    return combined


def check_evidence(filename: str, content: bytes) -> EvidenceFile:
    """An evidence file from an upload: PNG, JPEG or PDF by its first bytes (not its name),
    at most 3 MiB. Not yet added to a session."""
    if not content:
        raise InvalidInput("the file is empty", loc=("file",))
    if len(content) > EVIDENCE_MAX_BYTES:
        raise InvalidInput(
            f"the file is {len(content) // 1024} KB; at most "
            f"{EVIDENCE_MAX_BYTES // 1024 // 1024} MB is accepted",
            loc=("file",),
        )
    media = next((t for magic, t in EVIDENCE_TYPES.items() if content.startswith(magic)), None)
    if media is None:
        raise InvalidInput("evidence must be a photo (JPEG, PNG) or a PDF", loc=("file",))
    name = "".join(c for c in filename if c.isprintable() and c not in '/\\"')[-200:] or "bukti"
    return EvidenceFile(
        unit_id=0, filename=name, media_type=media, size=len(content), content=content,
        uploaded_by="",
    )  # fmt: skip


def attach_evidence(
    *,
    session: Session,
    unit: Unit,
    action_id: int,
    evidence: EvidenceFile,
    actor: audit.Actor,
) -> EvidenceFile:
    """Store a checked evidence file with an action."""
    row = get_action(session=session, unit=unit, action_id=action_id)
    evidence.unit_id = unit.id  # type: ignore[assignment]  # a stored unit has an id
    evidence.action_id = row.id
    evidence.uploaded_by = actor.name
    session.add(evidence)
    audit.record_as(
        session=session,
        actor=actor,
        action="followup.evidence",
        target=f"{unit.code} {row.period} #{row.id}",
        unit_id=unit.id,
        detail=f"{evidence.filename} ({evidence.media_type}, {evidence.size} bytes)",
    )
    session.commit()
    session.refresh(evidence)
    return evidence


def evidence_of(session: Session, action_ids: Sequence[int]) -> dict[int, list[EvidenceFile]]:
    """The evidence files of the given actions (without their content), by action."""
    found: dict[int, list[EvidenceFile]] = {i: [] for i in action_ids}
    if not action_ids:
        return found
    rows = session.exec(
        select(EvidenceFile)
        .where(col(EvidenceFile.action_id).in_(action_ids))
        .order_by(col(EvidenceFile.id))
        .options(sa.orm.defer(EvidenceFile.content))  # type: ignore[arg-type]
    )
    for row in rows:
        found[row.action_id].append(row)  # type: ignore[index]  # selected by action_id
    return found


def get_evidence(*, session: Session, unit: Unit, evidence_id: int) -> EvidenceFile:
    found = session.get(EvidenceFile, evidence_id)
    if found is None or found.unit_id != unit.id:
        raise NotFound("no such evidence file")
    return found
