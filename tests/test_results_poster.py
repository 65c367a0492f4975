"""The results poster: one page in A4 and in A3, the figures and texts as given, the QR code
decoding (zbar) to the public page, long texts cut rather than spilling onto a second page."""

import dataclasses
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from app.reports.results_poster import PosterElement, ResultsPoster, results_poster_pdf
from tests.tools import decode_qr, page_sizes, pdf_text, system_tool

URL = "https://skm.kendarikota.go.id/hasil/pkm-jati-raya"
ELEMENTS = tuple(
    PosterElement(name, Decimal(value), grade)
    for name, value, grade in (
        ("Persyaratan", "93.95", "A"),
        ("Sistem, Mekanisme, dan Prosedur", "94.51", "A"),
        ("Waktu Penyelesaian", "75.80", "C"),
        ("Biaya/Tarif", "98.40", "A"),
        ("Produk Spesifikasi Jenis Pelayanan", "83.83", "B"),
        ("Kompetensi Pelaksana", "92.90", "A"),
        ("Perilaku Pelaksana", "93.89", "A"),
        ("Penanganan Pengaduan, Saran dan Masukan", "58.21", "D"),
        ("Sarana dan Prasarana", "90.49", "A"),
    )
)
ACTIONS = (
    "Menambah petugas loket pada jam sibuk (pukul 08.00-11.00)",
    "Membuka kanal pengaduan melalui WhatsApp dan kotak saran di ruang tunggu",
    "Menambah kursi dan kipas angin di ruang tunggu",
)
POSTER = ResultsPoster(
    unit_name="Puskesmas Jati Raya",
    parent_name="Dinas Kesehatan Kota Kendari",
    period_words="Triwulan III Tahun 2026",
    nik=Decimal("82.35"),
    mutu="B",
    kinerja="Baik",
    n=1234,
    elements=ELEMENTS,
    actions=ACTIONS,
    url=URL,
    published_on="2 Desember 2026",
)
POINTS = {"a4": (595.28, 841.89), "a3": (841.89, 1190.55)}


def _write(tmp_path: Path, poster: ResultsPoster, size: str = "a4") -> Path:
    path = tmp_path / f"poster-{size}.pdf"
    path.write_bytes(results_poster_pdf(poster, size))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("size", ["a4", "a3"])
def test_poster_is_one_page_with_the_figures_and_a_readable_code(tmp_path: Path, size: str) -> None:
    path = _write(tmp_path, POSTER, size)
    assert page_sizes(path) == [POINTS[size]]
    text = pdf_text(path)
    for expected in (
        "HASIL SURVEI KEPUASAN MASYARAKAT",
        "Puskesmas Jati Raya",
        "Triwulan III Tahun 2026",
        "82,35",
        "Mutu B",
        "Kinerja: Baik",
        "dari 1.234 responden",
        "1. " + ACTIONS[0],
        "Pindai untuk melihat hasil lengkap",
        URL,
        "Dipublikasikan 2 Desember 2026",
    ):
        assert expected in text, expected
    for element in ELEMENTS:
        assert element.name in text, element.name
    subprocess.run(
        [system_tool("pdftoppm"), "-r", "100", "-png", str(path), str(tmp_path / "page")],
        check=True,
    )
    assert decode_qr(tmp_path / "page-1.png") == URL


@pytest.mark.slow
def test_poster_cuts_long_texts_to_stay_on_one_page(tmp_path: Path) -> None:
    unit_name = ("Unit Pelaksana Teknis Daerah Pelayanan Terpadu " * 7)[:300]
    action = ("Menata ulang alur pelayanan dan papan informasi persyaratan " * 20)[:1000]
    assert (len(unit_name), len(action)) == (300, 1000)
    poster = dataclasses.replace(POSTER, unit_name=unit_name, actions=(action,) * 3)
    for size in POINTS:
        path = _write(tmp_path, poster, size)
        assert page_sizes(path) == [POINTS[size]]
        text = pdf_text(path)
        assert "…" in text
        assert action not in text
        assert "3. Menata ulang alur pelayanan" in text


@pytest.mark.slow
def test_poster_without_actions_says_the_plan_is_being_drawn_up(tmp_path: Path) -> None:
    path = _write(tmp_path, dataclasses.replace(POSTER, actions=()))
    text = pdf_text(path)
    assert "Tindak lanjut perbaikan Rencana tindak lanjut sedang disusun." in text
    assert ACTIONS[0] not in text


@pytest.mark.slow
def test_poster_prints_only_the_first_three_actions(tmp_path: Path) -> None:
    path = _write(tmp_path, dataclasses.replace(POSTER, actions=(*ACTIONS, "Aksi keempat")))
    text = pdf_text(path)
    assert "3. " + ACTIONS[2] in text
    assert "Aksi keempat" not in text


def test_poster_of_an_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="'letter'"):
        results_poster_pdf(POSTER, "letter")
