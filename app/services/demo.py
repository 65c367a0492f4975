"""Demo data: Pemerintah Kota Kendari with two OPDs and three service units (SKM.md section 7).

Responses are random but seeded, so every demo database holds the same figures.
"""

import random
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from app.models import CounterCreate, ServiceCreate, Unit, UnitCreate
from app.services import intake, org, questionnaires

UNITS = (
    ("kendari", "Pemerintah Kota Kendari", None),
    ("disdukcapil", "Dinas Kependudukan dan Pencatatan Sipil", "kendari"),
    ("dinkes", "Dinas Kesehatan", "kendari"),
    ("dukcapil-kantor", "Pelayanan Dukcapil Kantor Dinas", "disdukcapil"),
    ("pkm-jati-raya", "Puskesmas Jati Raya", "dinkes"),
    ("pkm-lepo-lepo", "Puskesmas Lepo-lepo", "dinkes"),
)
SERVICES = {
    "dukcapil-kantor": (("ktp-el", "KTP-el"), ("kk", "Kartu Keluarga"), ("akta", "Akta Kelahiran")),
    "pkm-jati-raya": (("poli-umum", "Poli umum"), ("kia", "Kesehatan Ibu dan Anak")),
    "pkm-lepo-lepo": (("poli-umum", "Poli umum"),),
}
# Typical answer of each unit; waktu (the usual weak spot) is set lower below.
QUALITY = {"dukcapil-kantor": 3.1, "pkm-jati-raya": 3.4, "pkm-lepo-lepo": 2.9}
RESPONSES_PER_UNIT = 120


def seed_demo(*, session: Session, responses_per_unit: int = RESPONSES_PER_UNIT) -> bool:
    """Seed the demo organisation when the database has no unit; returns whether it did."""
    if session.exec(select(Unit.id)).first() is not None:
        return False
    rng = random.Random(2026)  # noqa: S311 (demo data, not security)
    for code, name, parent in UNITS:
        data = UnitCreate(code=code, name=name, parent_code=parent, time_zone="WITA")
        org.create_unit(session=session, data=data)
    now = datetime.now(UTC)
    codes = questionnaires.current_form(session=session)[1].element_codes
    for unit_code, unit_services in SERVICES.items():
        unit = org.get_unit(session=session, code=unit_code)
        for number, (code, name) in enumerate(unit_services, start=1):
            service = org.create_service(
                session=session, data=ServiceCreate(unit_code=unit_code, code=code, name=name)
            )
            counter = org.create_counter(
                session=session,
                data=CounterCreate(
                    unit_code=unit_code,
                    code=f"loket-{number}",
                    name=f"Loket {number}",
                    service_code=code,
                ),
            )
            count = responses_per_unit // len(unit_services)
            items = [
                _response(rng, codes, f"demo:{unit_code}:{code}:{i}", now, QUALITY[unit_code])
                for i in range(count)
            ]
            intake.record_responses(
                session=session,
                unit=unit,
                items=items,
                channel="qr",
                service=service,
                counter=counter,
            )
    return True


def _response(
    rng: random.Random, codes: tuple[str, ...], key: str, now: datetime, mean: float
) -> intake.ResponseIn:
    answers: dict[str, int | None] = {}
    for index, code in enumerate(codes):
        centre = mean - (0.6 if index == 2 else 0.0)  # waktu penyelesaian: the usual weak spot
        answers[code] = min(4, max(1, round(rng.gauss(centre, 0.6))))
    return intake.ResponseIn(
        idempotency_key=key,
        submitted_at=now - timedelta(days=rng.randint(0, 400), minutes=rng.randint(0, 600)),
        answers=answers,
        sex=rng.choice(("L", "P")),
        age=rng.randint(18, 70),
        education=rng.choice(("SMP", "SMA", "SMA", "D3", "S1", "S1", "S2")),
        occupation=rng.choice(("PNS", "SWASTA", "WIRAUSAHA", "LAINNYA")),
    )
