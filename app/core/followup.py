"""The follow-up plan's arithmetic (rencana tindak lanjut, RTL): which elements a period's
results call to improve, how far completed actions cover them, and which saran speak of an
element (to help staff word an action). Pure: element results and texts in, answers out.

Weak elements: those graded C or D; when none is, the three with the lowest NRR, so that every
period has something to improve. Coverage is the share of weak elements with at least one
completed action, read as all, most (more than half), few (at least one) or none: the ladder
of the Zona Integritas item c (``app.core.zi``).
"""

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from app.core.ikm import ElementResult

# The register's statuses as pages, reports and files name them.
STATUS_WORDS = {"rencana": "Direncanakan", "proses": "Dalam proses", "selesai": "Selesai"}
WEAK_GRADES = ("C", "D")
WEAKEST_WHEN_NONE = 3
FOLLOWUP_VALUES = {
    "all": Decimal("1.00"),
    "most": Decimal("0.67"),
    "few": Decimal("0.33"),
    "none": Decimal("0"),
}
FOLLOWUP_WORDS = {
    "all": "seluruhnya",
    "most": "sebagian besar",
    "few": "sebagian kecil",
    "none": "belum ada",
}

# Words citizens use for each element of the 2017 questionnaire, lower-case stems matched at
# a word's start ("antre" finds "antrean", "antrian" needs its own). Other forms fall back to
# the long words of the element's name.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "persyaratan": ("syarat", "persyaratan", "berkas", "dokumen", "fotokopi", "formulir"),
    "prosedur": ("prosedur", "alur", "tata cara", "mekanisme", "ribet", "berbelit"),
    # Not "cepat" (mostly praise) nor "tunggu" (the waiting room is sarana).
    "waktu": ("waktu", "lama", "antre", "antri", "menunggu", "lambat", "berjam"),
    "biaya": ("biaya", "tarif", "bayar", "pungli", "pungutan", "gratis", "uang"),
    "produk": ("produk", "hasil", "salah ketik", "keliru", "spesifikasi"),
    "kompetensi": ("kompeten", "kemampuan", "paham", "menguasai", "terampil", "pengetahuan"),
    "perilaku": ("sikap", "ramah", "sopan", "perilaku", "judes", "kasar", "senyum", "santun"),
    "pengaduan": ("pengaduan", "keluhan", "aduan", "mengadu", "komplain"),
    "sarana": (
        "sarana", "prasarana", "ruang", "kursi", "toilet", "wc", "parkir", "fasilitas",
        "panas", "kipas", "ac", "tempat duduk",
    ),
}  # fmt: skip
_NAME_STOP = {"pelayanan", "layanan", "petugas", "kesesuaian", "terhadap", "dengan"}


def weak_elements(elements: Sequence[ElementResult]) -> tuple[str, ...]:
    """The codes of the elements a follow-up plan answers, in the form's order: those graded C
    or D, else the three with the lowest NRR (ties in the form's order). Elements without an
    NRR (no answers) are not judged."""
    judged = [e for e in elements if e.nrr is not None]
    graded = tuple(e.code for e in judged if e.mutu in WEAK_GRADES)
    if graded:
        return graded
    order = {e.code: i for i, e in enumerate(elements)}
    lowest = sorted(judged, key=lambda e: (e.nrr, order[e.code]))[:WEAKEST_WHEN_NONE]
    return tuple(sorted((e.code for e in lowest), key=order.__getitem__))


@dataclass(frozen=True)
class FollowupCoverage:
    """How many of the weak elements have at least one completed action."""

    weak: tuple[str, ...]
    done: tuple[str, ...]

    @property
    def share(self) -> Fraction | None:
        return Fraction(len(self.done), len(self.weak)) if self.weak else None

    @property
    def level(self) -> str:
        """all, most (more than half), few (at least one) or none."""
        if not self.weak or not self.done:
            return "none"
        if len(self.done) == len(self.weak):
            return "all"
        return "most" if 2 * len(self.done) > len(self.weak) else "few"

    @property
    def value(self) -> Decimal:
        """Item c's value."""
        return FOLLOWUP_VALUES[self.level]

    @property
    def words(self) -> str:
        return FOLLOWUP_WORDS[self.level]


def followup_coverage(
    weak: Sequence[str], completed: Collection[Collection[str]]
) -> FollowupCoverage:
    """The coverage of ``weak`` element codes by completed actions, each given as the element
    codes it addresses (an action may address several; one on a strong element counts for
    nothing here)."""
    addressed = {code for action in completed for code in action}
    return FollowupCoverage(tuple(weak), tuple(code for code in weak if code in addressed))


def keywords(code: str, name: str) -> tuple[str, ...]:
    """The words that tie a saran to an element: the known ones for its code, else the words
    of five or more letters of its name (leaving out "pelayanan" and the like)."""
    known = KEYWORDS.get(code)
    if known:
        return known
    words = re.findall(r"[a-z]+", name.lower())
    return tuple(dict.fromkeys(w for w in words if len(w) >= 5 and w not in _NAME_STOP))


def mentions(text: str, words: Sequence[str]) -> bool:
    """Whether ``text`` holds one of ``words`` at the start of a word (case ignored)."""
    lowered = text.lower()
    return any(re.search(r"(?<![a-z])" + re.escape(word), lowered) for word in words)
