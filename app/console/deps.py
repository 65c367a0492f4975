"""What every console route shares: the signed-in staff member (a session cookie checked in
the database), the CSRF check on every state-changing form, and units seen through the user's
subtree (404 outside it, for pages and form posts alike)."""

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

from app.config import Settings
from app.deps import DatabaseDep, SettingsDep
from app.errors import AppError, NotFound
from app.models import Unit
from app.services import accounts, org
from app.services.accounts import StaffIdentity

SESSION_COOKIE = "skm_staff"
CSRF_FIELD = "csrf"


class LoginRequired(AppError):
    """No valid session: a page redirects to the login page, which comes back here after."""

    status = 401
    code = "login_required"

    def __init__(self, next_path: str) -> None:
        super().__init__("Silakan masuk terlebih dahulu.")
        self.next_path = next_path


class NotAllowed(AppError):
    """Signed in, inside the subtree, but the role does not allow this action."""

    status = 403
    code = "forbidden"


class CsrfRefused(AppError):
    status = 403
    code = "csrf_refused"


def login_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/console/login?next={quote(here, safe='')}"


def staff(request: Request, database: DatabaseDep) -> StaffIdentity:
    """The signed-in user; LoginRequired (a redirect to the login page) otherwise. The session
    is read in a reading transaction; its last use is noted, to the minute, in a short
    writing one."""
    token = request.cookies.get(SESSION_COOKIE)
    now = datetime.now(UTC)
    with database.session() as session:
        identity, stale = accounts.session_identity(session=session, token=token, now=now)
    if identity is None:
        raise LoginRequired(login_url(request))
    if stale:
        with database.session(write=True) as session:
            accounts.touch_session(session=session, identity=identity, now=now)
    return identity


Staff = Annotated[StaffIdentity, Depends(staff)]


def role(required: str) -> object:
    """A dependency: the signed-in user, whose role must hold ``required``'s rights."""

    def dependency(identity: Staff) -> StaffIdentity:
        if not identity.may(required):
            raise NotAllowed("Peran Anda tidak mengizinkan tindakan ini.")
        return identity

    return Depends(dependency)


Manager = Annotated[StaffIdentity, role("manager")]
Admin = Annotated[StaffIdentity, role("admin")]


async def checked_form(request: Request, identity: Staff, settings: SettingsDep) -> FormData:
    """The posted form, once its CSRF token is this session's (403 otherwise). Every console
    POST takes this dependency, so none is left unchecked."""
    form = await request.form()
    presented = form.get(CSRF_FIELD)
    if not accounts.csrf_matches(
        secret=settings.secret_key.get_secret_value(),
        identity=identity,
        presented=presented if isinstance(presented, str) else None,
    ):
        raise CsrfRefused(
            "Formulir ini kedaluwarsa atau tidak berasal dari halaman ini. Muat ulang halaman "
            "lalu kirim kembali."
        )
    return form


PostedForm = Annotated[FormData, Depends(checked_form)]


def visible_unit(session: Session, identity: StaffIdentity, code: str) -> Unit:
    """The unit with this code if the user may see it (404 otherwise, alike)."""
    try:
        unit = org.get_unit(session=session, code=code)
    except NotFound:
        unit = None
    return accounts.visible_unit(session=session, identity=identity, unit=unit)


def root_unit(session: Session, identity: StaffIdentity) -> Unit:
    unit = session.get(Unit, identity.unit_id)
    assert unit is not None  # foreign key
    return unit


def secure_cookie(settings: Settings) -> bool:
    return settings.public_base_url.startswith("https://")


def read_upload(form: FormData, name: str, limit: int) -> tuple[str, bytes] | None:
    """A form's uploaded file by field name, as (file name, at most ``limit`` bytes), closed
    after reading; None when no file was chosen."""
    upload = form.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        if isinstance(upload, UploadFile):
            upload.file.close()
        return None
    try:
        return upload.filename, upload.file.read(limit)
    finally:
        upload.file.close()
