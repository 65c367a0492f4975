"""Demo data: Pemerintah Kota Kendari (SKM.md section 7) with two years of quarterly surveys.

Five OPDs (DPMPTSP, Disdukcapil, Dinas Sosial, Dinas Pendidikan, and Dinas Kesehatan with
Puskesmas Jati Raya and Puskesmas Lepo-lepo), their services and counters (one a kiosk
tablet), and the eight quarters up to the current one, in WITA: answers from QR codes, the
kiosk and typed-in paper forms, the population each unit recorded per quarter, saran in about a
quarter of the responses, and a few repeat answers flagged. Units move over time (most
improve, Dinas Sosial declines), so unit-quarters span the grades A to D, and some units fall
short of the minimum sample.

Random but seeded per unit and quarter: every demo database holds the same answers; only
their dates follow the calendar.
"""

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from app.core import followup as zi_followup
from app.core import ikm
from app.core.periods import Period, containing, shift
from app.errors import Conflict
from app.models import TIME_ZONES, Channel, CounterCreate, ServiceCreate, Unit, UnitCreate
from app.services import accounts, audit, followup, intake, org, publication, questionnaires

ZONE = ZoneInfo(TIME_ZONES["WITA"])
QUARTERS = 8
SARAN_SHARE = 0.25
FLAGGED_SHARE = 0.01  # repeat answers from one phone at a QR counter
# Typical answer shifts per element: waktu and pengaduan are the usual weak spots; most
# services are free of charge, so biaya scores high.
ELEMENT_SHIFT = {"waktu": -0.45, "pengaduan": -0.3, "sarana": -0.15, "biaya": 0.45}


@dataclass(frozen=True)
class DemoCounter:
    code: str
    name: str
    service: str | None = None  # the one service it serves, else any of the unit's
    kiosk: bool = False
    share: float = 1.0  # of the unit's responses


@dataclass(frozen=True)
class DemoUnit:
    code: str
    name: str
    parent: str | None = None
    services: tuple[tuple[str, str], ...] = ()
    counters: tuple[DemoCounter, ...] = ()
    paper_share: float = 0.0  # of the unit's responses, typed in from paper (no counter)
    level: tuple[float, float] = (3.0, 3.0)  # typical answer in the first and last quarter
    shift: dict[str, float] = field(default_factory=dict)  # its own weak and strong spots
    population: int = 0  # service users in a quarter
    coverage: tuple[float, float] = (1.0, 1.2)  # responses as a share of the minimum sample


# The console accounts the demo seeds: (e-mail, password, role, unit). Demo data only: the
# passwords are printed by `skm serve --demo` and written here for anyone to read.
DEMO_ACCOUNTS = (
    ("admin@kendari.demo", "demo-admin-kendari", "admin", "kendari"),
    ("manager.jatiraya@kendari.demo", "demo-manager-jatiraya", "manager", "pkm-jati-raya"),
)
SHOWCASE_UNIT = "disdukcapil"  # `skm serve --demo` prints its survey pages (a QR loket, a kiosk)
UNITS = (
    DemoUnit("kendari", "Pemerintah Kota Kendari"),
    DemoUnit(
        "dpmptsp",
        "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu",
        "kendari",
        services=(
            ("nib", "Izin usaha (NIB)"),
            ("pbg", "Persetujuan Bangunan Gedung (PBG)"),
            ("reklame", "Izin reklame"),
        ),
        counters=(
            DemoCounter("loket-1", "Loket 1 (NIB)", "nib", share=0.55),
            DemoCounter("loket-2", "Loket 2 (PBG dan reklame)", share=0.45),
        ),
        level=(3.2, 3.5),
        shift={"prosedur": -0.25, "biaya": 0.1},
        population=1100,
        coverage=(1.03, 1.15),
    ),
    DemoUnit(
        "disdukcapil",
        "Dinas Kependudukan dan Pencatatan Sipil",
        "kendari",
        services=(
            ("ktp-el", "KTP-el"),
            ("kk", "Kartu Keluarga"),
            ("akta-lahir", "Akta Kelahiran"),
            ("pindah", "Surat Pindah"),
        ),
        counters=(
            DemoCounter("loket", "Loket pelayanan", share=0.7),
            DemoCounter("anjungan", "Anjungan survei (tablet)", kiosk=True, share=0.3),
        ),
        level=(2.9, 3.85),
        shift={"waktu": -0.2},
        population=10_000,
        coverage=(0.85, 1.2),
    ),
    DemoUnit(
        "dinsos",
        "Dinas Sosial",
        "kendari",
        services=(("dtks", "Pendaftaran DTKS"), ("pbi", "Rekomendasi PBI Jaminan Kesehatan")),
        counters=(DemoCounter("loket-1", "Loket pelayanan", share=0.6),),
        paper_share=0.4,
        level=(3.3, 2.5),
        shift={"persyaratan": -0.2, "sarana": -0.25},
        population=700,
        coverage=(0.45, 0.75),
    ),
    DemoUnit(
        "disdik",
        "Dinas Pendidikan",
        "kendari",
        services=(
            ("legalisir", "Legalisir ijazah"),
            ("mutasi", "Mutasi siswa"),
            ("izin-paud", "Izin operasional PAUD"),
        ),
        counters=(DemoCounter("loket-1", "Loket PTSP pendidikan", share=0.7),),
        paper_share=0.3,
        level=(2.85, 3.3),
        population=450,
        coverage=(0.8, 1.1),
    ),
    DemoUnit("dinkes", "Dinas Kesehatan", "kendari"),
    DemoUnit(
        "pkm-jati-raya",
        "Puskesmas Jati Raya",
        "dinkes",
        services=(
            ("poli-umum", "Poli umum"),
            ("kia", "Kesehatan Ibu dan Anak (KIA)"),
            ("poli-gigi", "Poli gigi"),
        ),
        counters=(
            DemoCounter("pendaftaran", "Loket pendaftaran", share=0.7),
            DemoCounter("kia", "Loket KIA", "kia", share=0.3),
        ),
        level=(3.85, 3.95),
        population=5200,
        coverage=(1.03, 1.15),
    ),
    DemoUnit(
        "pkm-lepo-lepo",
        "Puskesmas Lepo-lepo",
        "dinkes",
        services=(
            ("poli-umum", "Poli umum"),
            ("imunisasi", "Imunisasi"),
            ("laboratorium", "Laboratorium"),
        ),
        counters=(DemoCounter("pendaftaran", "Loket pendaftaran"),),
        level=(2.45, 3.0),
        shift={"sarana": -0.45},
        population=3600,
        coverage=(0.9, 1.1),
    ),
)

# Saran as citizens write them: about the service itself, about the element they rated
# low, or thanks. No names of people.
SARAN_SERVICE = {
    "nib": (
        "Pendampingan pengisian NIB di OSS sangat membantu usaha kecil seperti kami.",
        "Sistem OSS sering gangguan, mohon disediakan petugas pendamping di loket.",
        "Mohon sosialisasi perizinan berusaha untuk pelaku UMKM sampai ke kelurahan.",
    ),
    "pbg": (
        "Proses PBG terlalu lama, mohon kepastian jadwal peninjauan lapangan.",
        "Rincian retribusi PBG perlu dijelaskan sebelum pembayaran.",
        "Berkas PBG dikembalikan berkali-kali untuk perbaikan kecil; mohon diperiksa sekaligus.",
    ),
    "reklame": (
        "Perpanjangan izin reklame sebaiknya bisa diajukan secara daring.",
        "Mohon ada pengingat sebelum masa berlaku izin reklame habis.",
    ),
    "ktp-el": (
        "Blangko KTP-el sering kosong, mohon stok diperbanyak agar tidak bolak-balik.",
        "Antrean perekaman KTP-el panjang sejak pagi, mohon tambah alat perekaman.",
        "Mohon pemberitahuan KTP-el selesai dicetak dikirim lewat SMS atau WhatsApp.",
        "Perekaman sidik jari gagal berulang kali, alatnya perlu diperiksa.",
        "Mohon ada perekaman KTP-el keliling untuk lansia dan warga yang sakit.",
    ),
    "kk": (
        "Perubahan data KK meminta terlalu banyak fotokopi dokumen.",
        "KK dengan tanda tangan elektronik bisa dicetak sendiri; mohon sosialisasinya diperluas.",
        "Syarat pecah KK di papan informasi berbeda dengan yang disampaikan petugas.",
    ),
    "akta-lahir": (
        "Mohon akta kelahiran bisa diurus langsung dari rumah sakit tempat melahirkan.",
        "Syarat surat keterangan lahir dari bidan kurang jelas di papan informasi.",
        "Akta kelahiran anak kami selesai di hari yang sama, terima kasih.",
    ),
    "pindah": (
        "Surat pindah keluar daerah lama karena menunggu daerah tujuan.",
        "Mohon dijelaskan dokumen apa saja yang perlu dibawa ke daerah tujuan.",
    ),
    "dtks": (
        "Sudah tiga kali datang mengurus DTKS, tetapi data belum juga diperbarui.",
        "Mohon hasil verifikasi DTKS diberitahukan tanpa kami harus datang lagi.",
        "Mohon jadwal penyaluran bantuan sosial diumumkan di kantor kelurahan.",
        "Banyak lansia harus berdiri menunggu, mohon ada kursi tambahan.",
    ),
    "pbi": (
        "Rekomendasi PBI lama keluarnya, padahal pasien perlu segera berobat.",
        "Persyaratan surat rekomendasi PBI berubah-ubah.",
    ),
    "legalisir": (
        "Legalisir ijazah menunggu pejabat penanda tangan, mohon ada pejabat pengganti.",
        "Mohon legalisir ijazah bisa diambil di hari yang sama.",
    ),
    "mutasi": (
        "Syarat mutasi siswa antarsekolah sebaiknya dimuat di situs dinas.",
        "Petugas mutasi siswa menjelaskan dengan sabar dan jelas.",
    ),
    "izin-paud": (
        "Mohon kepastian lama proses izin operasional PAUD.",
        "Mohon ada bimbingan teknis pengisian berkas izin PAUD.",
    ),
    "poli-umum": (
        "Antrean poli umum lama, dokter sering datang terlambat.",
        "Mohon nomor antrean bisa diambil lewat aplikasi supaya tidak menunggu lama.",
        "Obat yang diresepkan sering kosong di apotek puskesmas.",
        "Dokter dan perawat poli umum ramah dan teliti memeriksa.",
    ),
    "kia": (
        "Ruang KIA perlu tempat bermain anak selama ibu menunggu.",
        "Jadwal pemeriksaan ibu hamil mohon diumumkan lebih awal.",
        "Bidan di ruang KIA sabar menjelaskan, terima kasih.",
    ),
    "poli-gigi": (
        "Kuota pasien poli gigi per hari terlalu sedikit, mohon ditambah.",
        "Alat di poli gigi perlu diperbarui.",
    ),
    "imunisasi": (
        "Vaksin imunisasi dasar kadang kosong, mohon dipastikan tersedia sesuai jadwal.",
        "Mohon pengingat jadwal imunisasi anak dikirim lewat WhatsApp.",
    ),
    "laboratorium": (
        "Hasil laboratorium keluar lama, mohon bisa dikirim lewat WhatsApp.",
        "Pengambilan sampel darah di laboratorium cepat dan rapi.",
    ),
}
SARAN_ELEMENT = {
    "persyaratan": (
        "Persyaratan yang diminta petugas tidak sama dengan yang tertulis di papan informasi.",
        "Mohon daftar persyaratan dibagikan dalam lembaran atau di media sosial.",
    ),
    "prosedur": (
        "Alur pelayanan membingungkan, mohon dipasang petunjuk arah dan nomor loket yang jelas.",
        "Mohon alur pelayanan disederhanakan, jangan berpindah-pindah meja.",
    ),
    "waktu": (
        "Waktu tunggu terlalu lama, mohon tambah petugas pada jam sibuk.",
        "Pelayanan baru dimulai pukul sembilan, padahal jadwalnya pukul delapan.",
        "Mohon ada kepastian kapan dokumen selesai.",
    ),
    "biaya": (
        "Masih ada pungutan untuk map dan fotokopi di loket, mohon ditertibkan.",
        "Mohon papan informasi menyebutkan dengan jelas bahwa layanan ini gratis.",
    ),
    "produk": (
        "Dokumen yang saya terima ada salah ketik data, harus diperbaiki lagi.",
        "Hasil layanan tidak sesuai dengan yang tercantum dalam standar pelayanan.",
    ),
    "kompetensi": (
        "Petugas baru belum menguasai aplikasi sehingga pelayanan tersendat.",
        "Mohon petugas dilatih agar dapat menjawab pertanyaan dengan tepat.",
    ),
    "perilaku": (
        "Ada petugas yang kurang ramah dan sibuk dengan telepon genggam saat melayani.",
        "Mohon petugas lebih sabar melayani warga lanjut usia.",
    ),
    "pengaduan": (
        "Kotak saran tidak pernah dibuka, pengaduan tidak ditanggapi.",
        "Mohon nomor WhatsApp pengaduan dicantumkan dan benar-benar dibalas.",
        "Tidak jelas ke mana harus menyampaikan keluhan.",
    ),
    "sarana": (
        "Ruang tunggu panas dan kursi kurang, mohon tambah kipas angin atau pendingin ruangan.",
        "Toilet pengunjung kotor dan sering tidak ada air.",
        "Tidak ada jalur kursi roda dan tempat parkir sempit.",
        "Mohon disediakan ruang laktasi dan tempat bermain anak.",
    ),
}
SARAN_THANKS = (
    "Pelayanan sudah baik, pertahankan.",
    "Terima kasih, petugas ramah dan pelayanan cepat.",
    "Pelayanan memuaskan, semoga terus ditingkatkan.",
    "Petugas membantu mengisi formulir, sangat menolong bagi yang belum paham.",
    "Mohon jam pelayanan diperpanjang sampai sore bagi warga yang bekerja.",
)
SARAN_BETTER = "Sudah lebih baik dibanding tahun lalu, antrean lebih tertib."

_Batch = tuple[str, str | None, str | None, Channel, bool]  # unit, service, counter, channel, flag


def seed_demo(*, session: Session, now: datetime | None = None) -> bool:
    """Seed the demo organisation when the database has no unit; returns whether it did.
    ``now`` (default: the present) ends the eighth quarter."""
    if session.exec(select(Unit.id)).first() is not None:
        return False
    now = now or datetime.now(UTC)
    for unit in UNITS:
        data = UnitCreate(code=unit.code, name=unit.name, parent_code=unit.parent, time_zone="WITA")
        org.create_unit(session=session, data=data)
        for code, name in unit.services:
            org.create_service(
                session=session, data=ServiceCreate(unit_code=unit.code, code=code, name=name)
            )
        for c in unit.counters:
            counter = CounterCreate(
                unit_code=unit.code, code=c.code, name=c.name, service_code=c.service, kiosk=c.kiosk
            )
            org.create_counter(session=session, data=counter)
    codes = questionnaires.current_form(session=session)[1].element_codes
    current = containing(now.astimezone(ZONE).date(), "quarter")
    batches: dict[_Batch, list[intake.ResponseIn]] = defaultdict(list)
    for unit in UNITS:
        if not unit.services:
            continue
        stored = org.get_unit(session=session, code=unit.code)
        for index in range(QUARTERS):
            quarter = shift(current, index - QUARTERS + 1)
            population = _quarter(unit, index, quarter, now, codes, batches)
            org.set_population(session=session, unit=stored, period=quarter, population=population)
    for (unit_code, service_code, counter_code, channel, flagged), items in batches.items():
        unit_row = org.get_unit(session=session, code=unit_code)
        intake.record_responses(
            session=session,
            unit=unit_row,
            items=items,
            channel=channel,
            service=org.get_service(session=session, unit=unit_row, code=service_code)
            if service_code
            else None,
            counter=org.get_counter(session=session, unit=unit_row, code=counter_code)
            if counter_code
            else None,
            flagged=flagged,
        )
    for email, password, role, unit_code in DEMO_ACCOUNTS:
        accounts.create_user(
            session=session,
            email=email,
            password=password,
            role=role,
            unit=org.get_unit(session=session, code=unit_code),
            actor="demo",
        )
    _publish_and_follow_up(session, current)
    return True


# Follow-up actions the demo records against weak elements (what units in the field write).
DEMO_ACTIONS = {
    "persyaratan": "Memasang daftar persyaratan di setiap loket dan di laman web",
    "prosedur": "Memasang bagan alur pelayanan di ruang tunggu",
    "waktu": "Menambah petugas loket pada jam sibuk dan memasang nomor antrean",
    "biaya": "Memasang papan informasi tarif resmi di loket",
    "produk": "Memeriksa ulang dokumen sebelum diserahkan kepada pemohon",
    "kompetensi": "Pelatihan standar pelayanan bagi petugas loket",
    "perilaku": "Pelatihan pelayanan prima bagi petugas loket",
    "pengaduan": "Membuka kanal pengaduan WhatsApp yang dibalas dalam dua hari kerja",
    "sarana": "Menambah kursi ruang tunggu dan memperbaiki pendingin ruangan",
}
# Units whose notice board lacks the results poster, and whose follow-up lags: the LKE table
# of the demo then shows every value of items b and c.
NO_POSTER = {"dinsos"}
FEW_DONE = {"dinsos", "disdik"}
DEMO_ACTOR = audit.Actor("demo")


def _publish_and_follow_up(session: Session, current: Period) -> None:
    """Publish the finished quarters of every unit with services, mark their results posters
    posted, and record an action per weak element: done for all but the last quarter."""
    finished = [shift(current, -i) for i in range(QUARTERS - 1, 0, -1)]
    for unit in UNITS:
        if not unit.services:
            continue
        stored = org.get_unit(session=session, code=unit.code)
        for index, quarter in enumerate(finished):
            try:
                done = publication.publish(
                    session=session,
                    unit=stored,
                    period=quarter,
                    method=ikm.DEFAULT_METHOD,
                    actor=DEMO_ACTOR,
                    now=datetime.combine(quarter.end + timedelta(days=10), time(2), UTC),
                )
            except Conflict:  # a quarter without responses has nothing to publish
                continue
            if unit.code not in NO_POSTER:
                publication.mark_poster_posted(
                    session=session,
                    unit=stored,
                    publication=done,
                    actor=DEMO_ACTOR,
                    now=done.published_at + timedelta(days=2),
                )
            weak = zi_followup.weak_elements(publication.result_elements(done))
            last = index == len(finished) - 1
            for number, code in enumerate(weak):
                row = followup.create_action(
                    session=session,
                    unit=stored,
                    period=quarter.label,
                    elements=[code],
                    action=DEMO_ACTIONS.get(code, "Evaluasi pelayanan bersama petugas"),
                    responsible="Koordinator pelayanan",
                    target_date=quarter.end + timedelta(days=60),
                    actor=DEMO_ACTOR,
                )
                assert row.id is not None  # stored
                lagging = unit.code in FEW_DONE and number > 0
                status = "proses" if last or lagging else "selesai"
                followup.update_action(
                    session=session, unit=stored, action_id=row.id, actor=DEMO_ACTOR,
                    status=status, note="Dibahas dalam forum konsultasi publik",
                    now=datetime.combine(quarter.end + timedelta(days=45), time(2), UTC),
                )  # fmt: skip


def _quarter(
    unit: DemoUnit,
    index: int,
    quarter: Period,
    now: datetime,
    codes: tuple[str, ...],
    batches: dict[_Batch, list[intake.ResponseIn]],
) -> int:
    """One unit's responses in one quarter, added to the batches; returns its population."""
    rng = random.Random(f"kendari:{unit.code}:{index}")  # noqa: S311 (demo data, not security)
    start = datetime.combine(quarter.start, time(0), ZONE)
    end = datetime.combine(quarter.end + timedelta(days=1), time(0), ZONE)
    # The current quarter is under way: the survey and the population so far.
    elapsed = min(1.0, max(0.1, (now - start) / (end - start)))
    population = max(1, round(unit.population * rng.uniform(0.85, 1.15) * elapsed))
    full = ikm.sample_size(round(population / elapsed))
    count = round(full * rng.uniform(*unit.coverage) * elapsed)
    first, last = unit.level
    level = first + (last - first) * index / (QUARTERS - 1) + rng.gauss(0, 0.04)
    for number in range(count):
        answers = {
            code: _answer(rng, level + ELEMENT_SHIFT.get(code, 0) + unit.shift.get(code, 0))
            for code in codes
        }
        counter = _pick_counter(rng, unit)
        service = (counter.service if counter else None) or rng.choice(unit.services)[0]
        channel: Channel = "paper" if counter is None else "kiosk" if counter.kiosk else "qr"
        flagged = channel == "qr" and rng.random() < FLAGGED_SHARE
        when = _moment(rng, start, min(end, now))
        saran = _saran(rng, unit, index, service, answers) if rng.random() < SARAN_SHARE else None
        batch = (unit.code, service, counter.code if counter else None, channel, flagged)
        batches[batch].append(
            intake.ResponseIn(
                idempotency_key=f"demo:{unit.code}:{quarter.label}:{number}",
                submitted_at=when,
                answers=answers,
                suggestion=saran,
                sex=rng.choice(("L", "P")),
                age=min(85, max(17, round(rng.gauss(38, 12)))),
                education=rng.choice(("SD", "SMP", "SMA", "SMA", "SMA", "D3", "S1", "S1", "S2")),
                occupation=rng.choice(
                    ("PNS", "SWASTA", "SWASTA", "WIRAUSAHA", "WIRAUSAHA", "LAINNYA", "LAINNYA")
                ),
            )
        )
    return population


def _answer(rng: random.Random, centre: float) -> int:
    """An answer 1..4 around a typical value: people differ, and 4 is as high as it goes."""
    return min(4, max(1, round(rng.gauss(centre, 0.6))))


def _pick_counter(rng: random.Random, unit: DemoUnit) -> DemoCounter | None:
    """Where the answer came from; None: a paper form typed in later."""
    if rng.random() < unit.paper_share:
        return None
    return rng.choices(unit.counters, weights=[c.share for c in unit.counters])[0]


def _moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment in opening hours (08.00 to 16.00, Monday to Friday) between start and end."""
    for _ in range(20):
        day = start + timedelta(days=rng.randrange(max(1, (end - start).days)))
        if day.weekday() < 5:
            break
    moment = day + timedelta(hours=8, seconds=rng.randrange(8 * 3600))
    if moment >= end:  # today, later than now
        moment = start + (end - start) * rng.random()
    return moment.astimezone(UTC)


def _saran(
    rng: random.Random, unit: DemoUnit, index: int, service: str, answers: dict[str, int]
) -> str:
    weakest = min(answers, key=lambda code: (answers[code], code))
    if answers[weakest] <= 2 and rng.random() < 0.6:
        text = rng.choice(SARAN_ELEMENT.get(weakest, SARAN_THANKS))
    elif answers[weakest] >= 3 and rng.random() < 0.5:
        improving = unit.level[1] > unit.level[0] and index >= QUARTERS // 2
        text = rng.choice((*SARAN_THANKS, SARAN_BETTER) if improving else SARAN_THANKS)
    else:
        text = rng.choice(SARAN_SERVICE[service])
    if rng.random() < 0.15:  # some write more than one thing
        other = rng.choice(SARAN_SERVICE[service])
        text = text if other == text else f"{text} {other}"
    return text
