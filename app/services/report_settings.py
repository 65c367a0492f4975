"""What a unit's report prints beyond its figures: the signer, the place and date of signing,
the kata pengantar and the logo. Stored per unit; the logo and the city are inherited down
the tree (a dinas signs in the city of its pemda, under the pemda's emblem unless it has its
own); the signer and the kata pengantar are the unit's own, since they speak for its head.
"""

import hashlib
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from app.errors import InvalidInput, NotFound
from app.models import Unit, UnitLogo, UnitReportSetting, UnitReportSettingUpdate, utcnow
from app.reports.logo import Logo, LogoError, check_logo
from app.services import org


@dataclass(frozen=True)
class ReportSettings:
    """A unit's settings as its report uses them: its own, with the inherited city and logo
    (``None`` where nothing is set up the tree either)."""

    own: UnitReportSetting | None
    city: str | None
    city_from: str | None  # the code of the unit whose city it is
    logo: Logo | None
    logo_from: str | None  # the code of the unit whose logo it is

    @property
    def signer_title(self) -> str | None:
        return self.own.signer_title if self.own else None

    @property
    def signer_name(self) -> str | None:
        return self.own.signer_name if self.own else None

    @property
    def signer_nip(self) -> str | None:
        return self.own.signer_nip if self.own else None

    @property
    def sign_date(self) -> date | None:
        return self.own.sign_date if self.own else None

    @property
    def foreword(self) -> str | None:
        return self.own.foreword if self.own else None


def own_settings(*, session: Session, unit: Unit) -> UnitReportSetting | None:
    return session.get(UnitReportSetting, unit.id)


def put_settings(
    *, session: Session, unit: Unit, data: UnitReportSettingUpdate
) -> UnitReportSetting:
    """Replace the unit's report settings with ``data`` (a null field returns to its default)."""
    assert unit.id is not None  # a stored unit
    row = own_settings(session=session, unit=unit) or UnitReportSetting(unit_id=unit.id)
    for name in UnitReportSettingUpdate.model_fields:
        setattr(row, name, getattr(data, name))
    row.updated_at = utcnow()
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def resolve(*, session: Session, unit: Unit) -> ReportSettings:
    """The unit's settings with the city and logo of the nearest unit up the tree that has
    one (the unit itself first)."""
    chain = [unit, *reversed(org.ancestors(session=session, unit=unit))]  # nearest first
    own = own_settings(session=session, unit=unit)
    city = city_from = None
    for candidate in chain:
        setting = own if candidate is unit else own_settings(session=session, unit=candidate)
        if setting is not None and setting.city:
            city, city_from = setting.city, candidate.code
            break
    logo = logo_from = None
    for candidate in chain:
        stored = session.get(UnitLogo, candidate.id)
        if stored is not None:
            logo, logo_from = Logo(stored.media_type, stored.content), candidate.code
            break
    return ReportSettings(own=own, city=city, city_from=city_from, logo=logo, logo_from=logo_from)


def set_logo(*, session: Session, unit: Unit, content: bytes) -> UnitLogo:
    """Store the unit's logo after checking what it really is (PNG, JPEG or safe SVG)."""
    try:
        logo = check_logo(content)
    except LogoError as exc:
        raise InvalidInput(str(exc), loc=("body",)) from None
    assert unit.id is not None  # a stored unit
    row = session.get(UnitLogo, unit.id) or UnitLogo(
        unit_id=unit.id, media_type=logo.media_type, content=b"", sha256=""
    )
    row.media_type = logo.media_type
    row.content = logo.content
    row.sha256 = hashlib.sha256(logo.content).hexdigest()
    row.uploaded_at = utcnow()
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def own_logo(*, session: Session, unit: Unit) -> UnitLogo | None:
    return session.get(UnitLogo, unit.id)


def remove_logo(*, session: Session, unit: Unit) -> None:
    """Remove the unit's own logo (it then prints its parents' logo, if any)."""
    row = session.get(UnitLogo, unit.id)
    if row is None:
        raise NotFound(f"unit {unit.code} has no logo of its own")
    session.delete(row)
    session.commit()
