"""The Zona Integritas evidence pack of a unit and period: one ZIP with what evaluators ask
for. The signed-ready report (PDF), the results poster, the public page's address and a PDF
copy of it, the follow-up plan with its evidence files, the LKE score sheet, and a list of the
contents that names anything missing (no publication yet, no poster posted)."""

import csv
import io
import zipfile
from datetime import datetime

from sqlmodel import Session

from app.core import ikm
from app.core.followup import STATUS_WORDS
from app.core.periods import Period, long_date, period_text
from app.errors import NotFound
from app.models import Publication, Unit
from app.reports import files
from app.reports.public_snapshot import SnapshotPage, snapshot_pdf
from app.reports.wording import number
from app.services import followup, lke, publication
from app.services.report_data import build_report, respondents


def _snapshot(unit: Unit, found: Publication, url: str, history: list[Publication],
              actions: list[tuple[str, str, str, str]], now: datetime) -> bytes:  # fmt: skip
    shown = publication.read(found)
    count = f"{shown.n:,}".replace(",", ".")
    headline = f"IKM {number(shown.nik)} - mutu {shown.mutu} ({shown.kinerja}) - {count} responden"
    taken = f"{long_date(now.date())} pukul {now.strftime('%H.%M')}"
    return snapshot_pdf(
        SnapshotPage(
            url=url,
            taken=taken,
            unit_name=unit.name,
            period_words=period_text(shown.period),
            published_on=long_date(found.published_at.date()),
            headline=headline,
            elements=tuple((e.name, number(e.nik), e.mutu or "-") for e in shown.elements),
            actions=tuple(actions),
            history=tuple(
                f"{h.snapshot['period_text']}: IKM {number(h.nik_rounded)} ({h.mutu})"
                + (", direvisi" if h.revised_at else "")
                for h in history
            ),
        )
    )


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")  # Excel opens UTF-8 with its BOM


def build(
    *,
    session: Session,
    unit: Unit,
    period: Period,
    base_url: str,
    now: datetime | None = None,
    method: ikm.Method = ikm.DEFAULT_METHOD,
) -> bytes:
    """The ZIP's bytes. 404 when the unit has no responses in the period (there is nothing
    to give evidence of)."""
    at = now or datetime.now(unit.zone)
    data = build_report(session=session, unit=unit, period=period, method=method)
    if data.result.n == 0:
        raise NotFound(f"{unit.code} has no responses in {period.label}")
    url = publication.public_url(base_url, unit)
    stem = f"{unit.code}-{period.label}"
    contents: list[str] = []
    missing: list[str] = []
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as pack:

        def add(name: str, body: bytes, what: str) -> None:
            pack.writestr(name, body)
            contents.append(f"{name}: {what}")

        report = files.render("pdf", data, respondents(session, data, unit))
        add(f"1-laporan-skm-{stem}.pdf", report, "laporan hasil SKM, siap ditandatangani")
        plan = followup.plan(session=session, unit=unit, period=period, method=method)
        names = plan.names
        action_rows = [
            (
                ", ".join(names.get(c, c) for c in a.elements.split(",")),
                a.action,
                long_date(a.target_date),
                STATUS_WORDS[a.status],
            )
            for a in plan.actions
        ]
        found = publication.current_of(session=session, unit=unit, period=period)
        if found is not None:
            poster = publication.results_poster(
                session=session, unit=unit, publication=found, base_url=base_url
            )
            add(f"2-poster-hasil-{stem}.pdf", poster, "poster hasil untuk papan pengumuman (A4)")
            history = publication.history(session=session, unit=unit)
            page = _snapshot(unit, found, url, history, action_rows, at)
            add(f"3-halaman-publik-{stem}.pdf", page, f"salinan halaman publik {url}")
            if found.poster_photo_id is not None:
                photo = followup.get_evidence(
                    session=session, unit=unit, evidence_id=found.poster_photo_id
                )
                add(f"4-foto-poster-{photo.filename}", photo.content, "foto poster terpasang")
            elif found.poster_posted_at is None:
                missing.append("poster hasil belum dicatat terpasang di papan pengumuman")
        else:
            missing.append(f"hasil {period_text(period)} belum dipublikasikan")
        add("3-alamat-halaman-publik.txt", f"{url}\n".encode(), "alamat halaman publik")
        rtl = [["No", "Unsur", "Kegiatan", "Penanggung jawab", "Target", "Status", "Catatan",
                "Bukti"]]  # fmt: skip
        evidence = followup.evidence_of(session, [a.id for a in plan.actions if a.id])
        for i, a in enumerate(plan.actions, 1):
            files_of = evidence.get(a.id or 0, [])
            proofs = [a.evidence_url or ""] + [f"bukti/{f.id}-{f.filename}" for f in files_of]
            rtl.append([str(i), action_rows[i - 1][0], a.action, a.responsible,
                        a.target_date.isoformat(), STATUS_WORDS[a.status], a.notes or "",
                        " ".join(p for p in proofs if p)])  # fmt: skip
            for f in files_of:
                stored = followup.get_evidence(session=session, unit=unit, evidence_id=f.id or 0)
                add(f"bukti/{f.id}-{f.filename}", stored.content, f"bukti kegiatan {i}")
        add(f"5-rtl-{stem}.csv", _csv(rtl), "rencana tindak lanjut dan statusnya")
        if not plan.actions:
            missing.append("belum ada kegiatan tindak lanjut untuk periode ini")
        score = lke.unit_score(session=session, unit=unit, year=period.start.year, method=method)
        add(f"6-nilai-lke-{unit.code}-{period.start.year}.csv", _score_sheet(score),
            "nilai LKE butir a, b, c")  # fmt: skip
        readme = [
            f"Paket bukti Survei Kepuasan Masyarakat: {unit.name}, {period_text(period)}",
            f"Disusun {long_date(at.date())} pukul {at.strftime('%H.%M')}.",
            "",
            "Isi:",
            *(f"- {c}" for c in contents),
        ]
        if missing:
            readme += ["", "Belum tersedia:", *(f"- {m}" for m in missing)]
        pack.writestr("BACA.txt", "\n".join(readme) + "\n")
    return out.getvalue()


def _score_sheet(score: lke.UnitScore) -> bytes:
    s = score.score
    rows = [
        ["Butir", "Dasar penilaian", "Nilai"],
        [
            "a. Survei dilaksanakan",
            f"{s.periods_held} dari {s.periods_expected} periode ({lke.CYCLE_WORDS[score.cycle]}) "
            "mencapai sampel minimal",
            number(s.a),
        ],
        [
            "b. Hasil dipublikasikan",
            f"daring: {'ya' if s.online else 'tidak'}; luring (poster): "
            f"{'ya' if s.offline else 'tidak'}",
            number(s.b),
        ],
        [
            "c. Hasil ditindaklanjuti",
            f"{len(s.followup.done)} dari {len(s.followup.weak)} unsur lemah ditindaklanjuti "
            f"sampai selesai ({s.followup.words})",
            number(s.c),
        ],
        ["Rata-rata", "", number(s.mean)],
    ]
    for held in score.periods:
        rows.append([f"Periode {period_text(held.period)}", held.why_not or "memenuhi", ""])
    return _csv(rows)
