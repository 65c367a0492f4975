"""The SKM items of the Zona Integritas evaluation sheet (LKE, sub-pillar "Penilaian Kepuasan
terhadap Pelayanan") and the follow-up coverage item c reads. Pure: counts and flags in, the
ladder's values out (two decimals, as the sheet writes them).

- a. the survey was held: 4 or more periods a year = 1.00, 3 = 0.75, 2 = 0.50, 1 = 0.25, 0 = 0.
  A period counts when its responses reached the minimum sample (the service decides that from
  ``ikm.SampleAdequacy``).
- b. the results are open to the public: online and offline = 1.00, offline only = 0.50, not
  published = 0. The sheet names no value for online only; it is one of the two channels, so it
  scores as offline only does (0.50) rather than as nothing published.
- c. the results were followed up: all = 1.00, most = 0.67, a few = 0.33, none = 0, read from
  the share of weak elements with at least one completed action: all of them, more than half,
  at least one, none.
"""

from dataclasses import dataclass
from decimal import Decimal

from app.core.followup import FollowupCoverage

SURVEY_LADDER = (Decimal("0"), Decimal("0.25"), Decimal("0.50"), Decimal("0.75"), Decimal("1.00"))


def survey_value(periods_held: int) -> Decimal:
    """Item a: the value for the number of survey periods held in the year."""
    if periods_held < 0:
        raise ValueError("a number of periods cannot be negative")
    return SURVEY_LADDER[min(periods_held, len(SURVEY_LADDER) - 1)]


def publication_value(*, online: bool, offline: bool) -> Decimal:
    """Item b: published online and offline 1.00, on one channel 0.50, on none 0."""
    if online and offline:
        return Decimal("1.00")
    if online or offline:
        return Decimal("0.50")
    return Decimal("0")


@dataclass(frozen=True)
class LkeScore:
    """The three SKM items for a unit and year, with what each was read from."""

    periods_held: int
    periods_expected: int
    online: bool
    offline: bool
    followup: FollowupCoverage

    @property
    def a(self) -> Decimal:
        return survey_value(self.periods_held)

    @property
    def b(self) -> Decimal:
        return publication_value(online=self.online, offline=self.offline)

    @property
    def c(self) -> Decimal:
        return self.followup.value

    @property
    def mean(self) -> Decimal:
        """The three items averaged (two decimals, half up), as a sub-pillar sums its items."""
        return ((self.a + self.b + self.c) / 3).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
