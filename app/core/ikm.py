"""The IKM (Indeks Kepuasan Masyarakat) of PermenPAN-RB 14/2017, computed exactly.

Pure arithmetic on sums and counts: no I/O, no database, no web. SQL (or ``Tally.of`` for
rows in memory) supplies a :class:`Tally`; :func:`compute` turns it into an :class:`IkmResult`.

For one set of responses with k elements (SKM.md section 2)::

    n_i              = responses that answered element i (blanks excluded, never scored 0)
    NRR_i            = sum_i / n_i                                   (1..4)
    NRR tertimbang_i = NRR_i x w,  w = 1/k by default                (the "weight")
    IKM              = sum of NRR tertimbang_i                       (1..4)
    NIK              = IKM x 25  (IKM unit pelayanan, nilai konversi) (25..100)

All of it is done in :class:`fractions.Fraction`, so all-4 answers give exactly 100.00; a
:class:`Method` may ask for the rounded weights and intermediate roundings that agencies copied
from the regulation's printed sheet, so a published figure can be reproduced to the cent.
Displayed figures are rounded half-up to two decimals, and the grade (mutu) is read from the
rounded NIK, because the regulation's interval table has gaps (88.305 lies in no row).

A figure over several units is pooled by default (their tallies added: the regulation's unit
of analysis is the respondent); :func:`mean_of_children` gives instead the mean of child units'
figures, which many Bagian Organisasi publish for a pemda, labelled as such.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

ANSWER_MIN = 1
ANSWER_MAX = 4
NIK_FACTOR = 25

IntervalTable = Literal["2017", "2004"]
WEIGHT_CHOICES = ("exact", "0.111", "0.11", "0.071")
Aggregation = Literal["pooled", "mean_of_children"]
AGGREGATIONS: tuple[Aggregation, ...] = ("pooled", "mean_of_children")

# Lower bounds of A, B, C on the NIK rounded to two decimals; anything lower is D.
GRADE_FLOORS: dict[str, tuple[tuple[Decimal, str], ...]] = {
    "2017": ((Decimal("88.31"), "A"), (Decimal("76.61"), "B"), (Decimal("65.00"), "C")),
    "2004": ((Decimal("81.26"), "A"), (Decimal("62.51"), "B"), (Decimal("43.76"), "C")),
}
KINERJA = {"A": "Sangat baik", "B": "Baik", "C": "Kurang baik", "D": "Tidak baik"}

# Two-sided 95% quantiles of Student's t by degrees of freedom; between rows the lower df's
# (larger) value is used, so the interval errs on the wide side. Past 120 df: the normal 1.96.
T95 = (
    (1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (5, 2.571), (6, 2.447), (7, 2.365),
    (8, 2.306), (9, 2.262), (10, 2.228), (11, 2.201), (12, 2.179), (13, 2.160), (14, 2.145),
    (15, 2.131), (16, 2.120), (17, 2.110), (18, 2.101), (19, 2.093), (20, 2.086), (21, 2.080),
    (22, 2.074), (23, 2.069), (24, 2.064), (25, 2.060), (26, 2.056), (27, 2.052), (28, 2.048),
    (29, 2.045), (30, 2.042), (40, 2.021), (50, 2.009), (60, 2.000), (80, 1.990),
    (100, 1.984), (120, 1.980),
)  # fmt: skip
Z95 = 1.96
LOW_N = 30  # below this many responses an IKM is flagged as unreliable whatever its interval


def round_half_up(value: Fraction, decimals: int) -> Fraction:
    """Round a non-negative exact value half-up (2.345 -> 2.35), as the regulation's sheets do."""
    scale = 10**decimals
    return Fraction(math.floor(value * scale + Fraction(1, 2)), scale)


def to_decimal(value: Fraction, decimals: int = 2) -> Decimal:
    """The value rounded half-up to ``decimals`` places, as a Decimal with exactly those places."""
    rounded = round_half_up(value, decimals)
    exact = Decimal(rounded.numerator) / Decimal(rounded.denominator)
    return exact.quantize(Decimal(1).scaleb(-decimals))


def grade(nik_rounded: Decimal, table: IntervalTable = "2017") -> str:
    """Mutu A-D of a NIK already rounded to two decimals (SKM.md section 3)."""
    for floor, letter in GRADE_FLOORS[table]:
        if nik_rounded >= floor:
            return letter
    return "D"


def sample_size(population: int) -> int:
    """Krejcie-Morgan minimum sample for a population N, rounded half-up (SKM.md section 4).

    S = lambda^2 N P Q / (d^2 (N - 1) + lambda^2 P Q), lambda^2 = 3.841, P = Q = 0.5, d = 0.05.
    """
    if population < 1:
        raise ValueError(f"population must be at least 1, got {population}")
    chi2pq = Fraction("3.841") * Fraction(1, 4)
    d2 = Fraction(1, 400)
    s = chi2pq * population / (d2 * (population - 1) + chi2pq)
    return math.floor(s + Fraction(1, 2))


@dataclass(frozen=True)
class Method:
    """How an IKM is computed: the weight, optional intermediate roundings, the grade table.

    ``weight`` is ``"exact"`` (1/k at full precision) or a fixed decimal such as ``"0.111"``;
    each ``round_*`` is a number of decimals (rounded half-up) or None for no rounding.
    ``table`` None grades with the table of the form the responses were answered on (the
    table in force for their period, ``Tally.table``); a result always names the table used.
    """

    weight: str = "exact"
    round_nrr: int | None = None
    round_weighted: int | None = None
    round_total: int | None = None
    table: IntervalTable | None = None

    def __post_init__(self) -> None:
        if self.weight != "exact":
            try:
                fixed = Fraction(self.weight)
            except ValueError:
                raise ValueError(
                    f"weight must be 'exact' or a decimal such as 0.111, got {self.weight!r}"
                ) from None
            if not 0 < fixed <= 1:
                raise ValueError(f"weight must lie in (0, 1], got {self.weight}")
        for name in ("round_nrr", "round_weighted", "round_total"):
            decimals = getattr(self, name)
            if decimals is not None and not 0 <= decimals <= 10:
                raise ValueError(f"{name} must be between 0 and 10 decimals, got {decimals}")
        if self.table is not None and self.table not in GRADE_FLOORS:
            raise ValueError(f"table must be 2017 or 2004, got {self.table!r}")

    def weight_for(self, k: int) -> Fraction:
        return Fraction(1, k) if self.weight == "exact" else Fraction(self.weight)

    @property
    def label(self) -> str:
        """A short stable description, printed beside every figure the method produced."""
        parts = ["weight exact 1/k" if self.weight == "exact" else f"weight {self.weight}"]
        for name, decimals in (
            ("NRR", self.round_nrr),
            ("NRR tertimbang", self.round_weighted),
            ("total", self.round_total),
        ):
            if decimals is not None:
                parts.append(f"{name} rounded to {decimals} dp")
        parts.append(f"interval table {self.table or 'of the form'}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "weight": self.weight,
            "round_nrr": self.round_nrr,
            "round_weighted": self.round_weighted,
            "round_total": self.round_total,
            "table": self.table,
            "label": self.label,
        }


DEFAULT_METHOD = Method()


@dataclass(frozen=True)
class Tally:
    """Sums and counts of a set of responses: everything the IKM needs.

    ``answered[i]`` and ``sums[i]`` belong to ``codes[i]``. The ``complete_*`` fields cover the
    responses that answered every element (their row totals and squared row totals) and feed
    the confidence interval only. Tallies of disjoint sets add up to the tally of their union,
    which is how units, days and services are pooled: by sums and counts, never by averages.
    """

    codes: tuple[str, ...]
    responses: int = 0
    answered: tuple[int, ...] = ()
    sums: tuple[int, ...] = ()
    complete: int = 0
    complete_sum: int = 0
    complete_sumsq: int = 0
    table: IntervalTable = "2017"  # the grade table of the form the responses answered

    def __post_init__(self) -> None:
        if self.table not in GRADE_FLOORS:
            raise ValueError(f"table must be 2017 or 2004, got {self.table!r}")
        k = len(self.codes)
        if k == 0 or len(set(self.codes)) != k:
            raise ValueError(f"element codes must be non-empty and distinct: {self.codes}")
        if not self.answered and not self.sums and self.responses == 0:
            object.__setattr__(self, "answered", (0,) * k)
            object.__setattr__(self, "sums", (0,) * k)
        if len(self.answered) != k or len(self.sums) != k:
            raise ValueError("answered and sums need one entry per element code")
        for n_i, s_i in zip(self.answered, self.sums, strict=True):
            if not 0 <= n_i <= self.responses or not n_i * ANSWER_MIN <= s_i <= n_i * ANSWER_MAX:
                raise ValueError(f"inconsistent tally: n_i={n_i}, sum={s_i}, n={self.responses}")
        if not 0 <= self.complete <= min(self.answered):
            raise ValueError(f"inconsistent tally: complete={self.complete}")

    @classmethod
    def of(
        cls,
        codes: Sequence[str],
        rows: Iterable[Sequence[int | None]],
        table: IntervalTable = "2017",
    ) -> Tally:
        """Tally raw answer rows (one value 1..4 or None per element, in ``codes`` order)."""
        k = len(codes)
        responses = complete = complete_sum = complete_sumsq = 0
        answered = [0] * k
        sums = [0] * k
        for row in rows:
            if len(row) != k:
                raise ValueError(f"a row has {len(row)} answers, expected {k}")
            responses += 1
            for i, value in enumerate(row):
                if value is None:
                    continue
                if type(value) is not int or not ANSWER_MIN <= value <= ANSWER_MAX:
                    raise ValueError(f"answer {value!r} for {codes[i]} is not 1..4")
                answered[i] += 1
                sums[i] += value
            if all(value is not None for value in row):
                total = sum(v for v in row if v is not None)
                complete += 1
                complete_sum += total
                complete_sumsq += total * total
        return cls(
            codes=tuple(codes),
            responses=responses,
            answered=tuple(answered),
            sums=tuple(sums),
            complete=complete,
            complete_sum=complete_sum,
            complete_sumsq=complete_sumsq,
            table=table,
        )

    def reordered(self, codes: Sequence[str]) -> Tally:
        """The same tally with its elements in another order: versions of a form that list
        the same elements in a different order pool by element code, not by position."""
        if sorted(codes) != sorted(self.codes):
            raise ValueError(f"cannot reorder elements {self.codes} as {tuple(codes)}")
        index = [self.codes.index(code) for code in codes]
        return replace(
            self,
            codes=tuple(codes),
            answered=tuple(self.answered[i] for i in index),
            sums=tuple(self.sums[i] for i in index),
        )

    def __add__(self, other: Tally) -> Tally:
        if self.codes != other.codes:
            raise ValueError(f"cannot pool element sets {self.codes} and {other.codes}")
        if self.table != other.table:
            raise ValueError(f"cannot pool interval tables {self.table} and {other.table}")
        return Tally(
            codes=self.codes,
            responses=self.responses + other.responses,
            answered=tuple(a + b for a, b in zip(self.answered, other.answered, strict=True)),
            sums=tuple(a + b for a, b in zip(self.sums, other.sums, strict=True)),
            complete=self.complete + other.complete,
            complete_sum=self.complete_sum + other.complete_sum,
            complete_sumsq=self.complete_sumsq + other.complete_sumsq,
            table=self.table,
        )


@dataclass(frozen=True)
class SampleAdequacy:
    """n against the Krejcie-Morgan minimum S for the unit's population N."""

    population: int
    minimum: int
    n: int

    @property
    def sufficient(self) -> bool:
        return self.n >= self.minimum

    @property
    def verdict(self) -> str:
        return "memenuhi" if self.sufficient else "belum memenuhi"

    def to_dict(self) -> dict[str, Any]:
        return {
            "population": self.population,
            "minimum": self.minimum,
            "n": self.n,
            "sufficient": self.sufficient,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class ConfidenceInterval:
    """An approximate 95% interval of the NIK, from the spread of the complete responses.

    Beyond the regulation: it tells a unit whether its n answers can tell one grade from the
    next. The standard error is 25 w sd(row totals) / sqrt(n'), n' the smallest n_i, with the
    finite-population correction when the population is known, and a t quantile for small n.
    """

    low: Decimal
    high: Decimal
    grades: tuple[str, ...]
    level: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "low": float(self.low),
            "high": float(self.high),
            "grades": list(self.grades),
        }


@dataclass(frozen=True)
class ElementResult:
    """One element (unsur): n_i, sum, NRR, NRR tertimbang, and its grade on NRR x 25."""

    code: str
    n: int
    sum: int
    nrr: Fraction | None
    weighted: Fraction | None
    nik_rounded: Decimal | None
    mutu: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "n": self.n,
            "sum": self.sum,
            "nrr": _as_float(self.nrr),
            "weighted": _as_float(self.weighted),
            "nik_rounded": _as_float(self.nik_rounded),
            "mutu": self.mutu,
        }


@dataclass(frozen=True)
class Coverage:
    """The units a result covers: their codes, parents first, and how many had responses."""

    codes: tuple[str, ...]
    units_with_responses: int

    @property
    def units(self) -> int:
        return len(self.codes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "units_with_responses": self.units_with_responses,
            "codes": list(self.codes),
        }


@dataclass(frozen=True)
class Aggregate:
    """How a figure over several units was formed: their responses pooled (sums and counts),
    or the mean of child units' figures (``children`` averaged, of ``of`` child units)."""

    kind: Aggregation = "pooled"
    children: int | None = None
    of: int | None = None

    @property
    def label(self) -> str:
        if self.kind == "pooled":
            return "pooled: sums and counts of every response"
        left_out = (self.of or 0) - (self.children or 0)
        without = f" ({left_out} without responses left out)" if left_out else ""
        return f"mean of {self.children} child unit(s){without}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "children": self.children, "label": self.label}


POOLED = Aggregate()


@dataclass(frozen=True)
class IkmResult:
    """The outcome for one set of responses; figures are None when no IKM can be computed.

    ``coverage`` names the units the figure covers (None for responses read from a file);
    ``aggregate`` says whether their responses were pooled or child units' figures averaged.
    """

    n: int
    elements: tuple[ElementResult, ...]
    ikm: Fraction | None
    nik: Fraction | None
    nik_rounded: Decimal | None
    mutu: str | None
    kinerja: str | None
    method: Method
    sample: SampleAdequacy | None = None
    ci: ConfidenceInterval | None = None
    warnings: tuple[str, ...] = field(default=())
    coverage: Coverage | None = None
    aggregate: Aggregate = POOLED

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: exact values as floats, display values rounded to two decimals."""
        return {
            "n": self.n,
            "ikm": _as_float(self.ikm),
            "nik": _as_float(self.nik),
            "nik_rounded": _as_float(self.nik_rounded),
            "mutu": self.mutu,
            "kinerja": self.kinerja,
            "method": self.method.to_dict(),
            "aggregate": self.aggregate.to_dict(),
            "coverage": self.coverage.to_dict() if self.coverage else None,
            "elements": [e.to_dict() for e in self.elements],
            "sample": self.sample.to_dict() if self.sample else None,
            "ci": self.ci.to_dict() if self.ci else None,
            "warnings": list(self.warnings),
        }


def _as_float(value: Fraction | Decimal | None) -> float | None:
    return None if value is None else float(value)


def _maybe_round(value: Fraction, decimals: int | None) -> Fraction:
    return value if decimals is None else round_half_up(value, decimals)


def _element(
    code: str, n_i: int, s_i: int, mean: Fraction | None, method: Method, weight: Fraction
) -> ElementResult:
    """One element from its mean answer (NRR before the method's rounding), if it has one."""
    if mean is None:
        return ElementResult(code, n_i, s_i, None, None, None, None)
    assert method.table is not None  # resolved by the caller
    nrr = _maybe_round(mean, method.round_nrr)
    weighted = _maybe_round(nrr * weight, method.round_weighted)
    element_nik = to_decimal(nrr * NIK_FACTOR)
    return ElementResult(
        code, n_i, s_i, nrr, weighted, element_nik, grade(element_nik, method.table)
    )


def _weight_warnings(method: Method, k: int) -> list[str]:
    weight = method.weight_for(k)
    if method.weight != "exact" and abs(weight - Fraction(1, k)) > Fraction(1, 100):
        return [f"weight {method.weight} does not fit {k} elements (1/{k} expected)"]
    return []


def _sample(population: int | None, n: int, warnings: list[str]) -> SampleAdequacy | None:
    if population is None:
        return None
    sample = SampleAdequacy(population, sample_size(population), n)
    if not sample.sufficient:
        warnings.append(
            f"sample of {sample.n} is below the minimum of {sample.minimum} "
            f"for a population of {population} (belum memenuhi)"
        )
    return sample


def _undefined(n: int, elements: Sequence[ElementResult], warnings: list[str]) -> bool:
    """True (with the reason among the warnings) when no IKM can be computed."""
    missing = [e.code for e in elements if e.weighted is None]
    if n and not missing:
        return False
    warnings.append(
        "no responses"
        if n == 0
        else f"no answers for element(s) {', '.join(missing)}: the IKM is undefined"
    )
    return True


def _total(elements: Sequence[ElementResult], method: Method) -> tuple[Fraction, Fraction]:
    """The IKM (sum of NRR tertimbang, rounded as the method says) and the NIK = IKM x 25."""
    weighted_values = [e.weighted for e in elements if e.weighted is not None]
    ikm = _maybe_round(sum(weighted_values, Fraction(0)), method.round_total)
    return ikm, ikm * NIK_FACTOR


def compute(
    tally: Tally, method: Method = DEFAULT_METHOD, population: int | None = None
) -> IkmResult:
    """The IKM of a tally under a method, with sample adequacy when the population is known."""
    table = method.table or tally.table
    method = replace(method, table=table)  # the result names the table it was graded with
    k = len(tally.codes)
    weight = method.weight_for(k)
    warnings = _weight_warnings(method, k)
    elements = tuple(
        _element(code, n_i, s_i, Fraction(s_i, n_i) if n_i else None, method, weight)
        for code, n_i, s_i in zip(tally.codes, tally.answered, tally.sums, strict=True)
    )
    sample = _sample(population, tally.responses, warnings)
    if _undefined(tally.responses, elements, warnings):
        return IkmResult(
            tally.responses, elements, None, None, None, None, None, method, sample,
            None, tuple(warnings),
        )  # fmt: skip

    ikm, nik = _total(elements, method)
    nik_rounded = to_decimal(nik)
    mutu = grade(nik_rounded, table)
    ci = _confidence_interval(tally, weight, nik, population, table)
    if tally.responses < LOW_N:
        warnings.append(f"only {tally.responses} responses: too few for a reliable IKM")
    if ci is not None and len(ci.grades) > 1:
        warnings.append(
            f"the 95% interval {ci.low}-{ci.high} spans grades {'/'.join(ci.grades)}: "
            "more responses are needed to tell them apart"
        )
    return IkmResult(
        n=tally.responses,
        elements=elements,
        ikm=ikm,
        nik=nik,
        nik_rounded=nik_rounded,
        mutu=mutu,
        kinerja=KINERJA[mutu],
        method=method,
        sample=sample,
        ci=ci,
        warnings=tuple(warnings),
    )


def mean_of_children(
    children: Sequence[IkmResult], method: Method = DEFAULT_METHOD, population: int | None = None
) -> IkmResult:
    """The mean of child units' results, as many Bagian Organisasi publish for a pemda.

    Children without responses are left out. For each element i::

        NRR_i = mean of the children's NRR_i (over the children that have one)

    and from there the method's own path (rounding, weight, sum, x 25, grade), so with the
    exact method and every child answering every element, the NIK is the mean of the
    children's NIKs. n and each n_i, sum_i are the children's totals; the sample is judged
    on that n against ``population`` (the subtree's, as for the pooled figure). No interval:
    its formula is for respondents, not for a mean of unit figures. The children's results
    must come from the same method; coverage joins theirs (each child with its subtree).
    """
    if not children:
        raise ValueError("no child results to average")
    codes = tuple(e.code for e in children[0].elements)
    if any(tuple(e.code for e in child.elements) != codes for child in children):
        raise ValueError("child results with different element sets cannot be averaged")
    # Sorted by the child's own code, so the mean never depends on the order it is given.
    ordered = sorted(children, key=lambda c: c.coverage.codes[:1] if c.coverage else ())
    answered = [c for c in ordered if c.n > 0]
    tables = {c.method.table for c in answered} or {children[0].method.table}
    if method.table is None and len(tables) > 1:
        raise ValueError("children graded with different interval tables: name one")
    table: IntervalTable = method.table or tables.pop() or "2017"
    method = replace(method, table=table)
    k = len(codes)
    weight = method.weight_for(k)
    warnings = _weight_warnings(method, k)
    elements = []
    for i, code in enumerate(codes):
        means = [nrr for c in answered if (nrr := c.elements[i].nrr) is not None]
        elements.append(
            _element(
                code,
                sum(c.elements[i].n for c in answered),
                sum(c.elements[i].sum for c in answered),
                sum(means, Fraction(0)) / len(means) if means else None,
                method,
                weight,
            )
        )
    n = sum(c.n for c in answered)
    sample = _sample(population, n, warnings)
    if len(answered) < len(children):
        warnings.append(
            f"{len(children) - len(answered)} of {len(children)} child unit(s) have no "
            "responses and are left out of the mean"
        )
    coverage = None
    if all(c.coverage is not None for c in ordered):
        coverage = Coverage(
            codes=tuple(code for c in ordered if c.coverage for code in c.coverage.codes),
            units_with_responses=sum(
                c.coverage.units_with_responses for c in answered if c.coverage
            ),
        )
    aggregate = Aggregate("mean_of_children", children=len(answered), of=len(children))
    empty = IkmResult(
        n, tuple(elements), None, None, None, None, None, method, sample, None, (), coverage,
        aggregate,
    )  # fmt: skip
    if _undefined(n, elements, warnings):
        return replace(empty, warnings=tuple(warnings))
    ikm, nik = _total(elements, method)
    nik_rounded = to_decimal(nik)
    mutu = grade(nik_rounded, table)
    if n < LOW_N:
        warnings.append(f"only {n} responses: too few for a reliable IKM")
    return replace(
        empty,
        ikm=ikm,
        nik=nik,
        nik_rounded=nik_rounded,
        mutu=mutu,
        kinerja=KINERJA[mutu],
        warnings=tuple(warnings),
    )


def _t95(df: int) -> float:
    if df > T95[-1][0]:
        return Z95
    return next(value for row_df, value in reversed(T95) if row_df <= df)


def _confidence_interval(
    tally: Tally, weight: Fraction, nik: Fraction, population: int | None, table: IntervalTable
) -> ConfidenceInterval | None:
    m = tally.complete
    if m < 2:
        return None
    variance = (tally.complete_sumsq - Fraction(tally.complete_sum**2, m)) / (m - 1)
    n_eff = min(tally.answered)
    fpc = 1.0
    if population is not None:
        fpc = math.sqrt(max(population - n_eff, 0) / max(population - 1, 1))
    half = _t95(n_eff - 1) * NIK_FACTOR * float(weight) * math.sqrt(variance / n_eff) * fpc
    centre = float(nik)
    span = NIK_FACTOR * float(weight) * len(tally.codes)  # NIK of all-1 answers; x4 is the top
    low = to_decimal(Fraction(max(centre - half, ANSWER_MIN * span)))
    high = to_decimal(Fraction(min(centre + half, ANSWER_MAX * span)))
    grades = sorted({grade(low, table), grade(high, table)} | _grades_between(low, high, table))
    return ConfidenceInterval(low=low, high=high, grades=tuple(grades))


def _grades_between(low: Decimal, high: Decimal, table: IntervalTable) -> set[str]:
    return {letter for floor, letter in GRADE_FLOORS[table] if low <= floor <= high}
