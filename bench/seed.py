"""Seeding shared by the benchmarks: one unit, two services, N responses spread over 2025."""

import random
import time
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from app.config import REPO_ROOT
from app.db import create_db_engine, upgrade_schema
from app.models import ServiceCreate, UnitCreate
from app.services import intake, org, questionnaires

CHUNK = 5_000
SEXES, EDUCATION = ("L", "P"), ("SD", "SMP", "SMA", "D3", "S1", "S2")


def seed(url: str, rows: int) -> None:
    """Schema, forms, unit "bench" with services ktp-el and kk, and ``rows`` responses."""
    upgrade_schema(url)
    engine = create_db_engine(url)
    rng = random.Random(2026)
    start = datetime(2025, 1, 1, tzinfo=UTC)  # a whole past year
    with Session(engine) as session:
        questionnaires.sync_forms(session=session, forms_dir=REPO_ROOT / "survey_forms")
        _, form = questionnaires.current_form(
            session=session, code=questionnaires.default_form_code()
        )
        unit = org.create_unit(
            session=session,
            data=UnitCreate(
                code="bench", name="Unit Benchmark", address="Jl. Contoh 1", time_zone="WITA"
            ),
        )
        kinds = [
            org.create_service(
                session=session, data=ServiceCreate(unit_code="bench", code=code, name=code)
            )
            for code in ("ktp-el", "kk")
        ]
        began = time.perf_counter()
        for first in range(0, rows, CHUNK):
            items = [
                intake.ResponseIn(
                    idempotency_key=f"bench:{i}",
                    submitted_at=start + timedelta(seconds=i * (365 * 86400 // rows)),
                    # Paper may leave blanks, but never every element (such a form is refused).
                    answers={
                        c: rng.choice((1, 2, 3, 3, 4, 4, None)) if j else rng.randint(1, 4)
                        for j, c in enumerate(form.element_codes)
                    },
                    sex=rng.choice(SEXES),
                    age=rng.randint(17, 80),
                    education=rng.choice(EDUCATION),
                    # Some saran start like a formula: the exports must keep them text.
                    suggestion=f"=1+1 saran nomor {i}" if i % 50 == 0 else None,
                )
                for i in range(first, min(first + CHUNK, rows))
            ]
            intake.record_responses(
                session=session,
                unit=unit,
                items=items,
                channel="paper",
                service=kinds[first // CHUNK % 2],
            )
            done = min(first + CHUNK, rows)
            rate = done / (time.perf_counter() - began)
            print(f"\rseeded {done:,}/{rows:,} responses ({rate:,.0f}/s)", end="", flush=True)
        print()
    engine.dispose()
