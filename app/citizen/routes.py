"""Citizen-facing pages (Bahasa Indonesia by default, English on request): the landing page,
the survey form behind a counter's QR code and its thank-you page. Server-rendered, no
JavaScript needed. Whether a counter is a kiosk is the counter's own setting, never the link's.
"""

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.db import Database
from app.deps import ReadSession, SettingsDep, database_of, settings_of
from app.errors import AppError
from app.group_commit import GroupCommit
from app.services import citizen

MAX_FORM_BYTES = 16 * 1024
# Kiosk answer buttons carry a face as well as the words (1 = worst, 4 = best): drawn inline
# (colour, mouth curve), since a counter tablet may have no emoji font and no network.
FACES = (
    ("#ef9a9a", "M7 17q5-5 10 0"),
    ("#ffcc80", "M7 16q5-2.5 10 0"),
    ("#c5e1a5", "M7 14q5 2.5 10 0"),
    ("#81c784", "M7 13q5 5 10 0"),
)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

TEXT = {
    "id": {
        "switch": "English",
        "question": "Pertanyaan",
        "to_fix": "Ada isian yang perlu diperbaiki",
        "service": "Jenis layanan yang Saudara terima",
        "choose": "Pilih jenis layanan",
        "profile": "Tentang Saudara (boleh dikosongkan)",
        "skip": "Tidak diisi",
        "suggestion": "Saran dan masukan (boleh dikosongkan)",
        "privacy": "Survei ini anonim: kami tidak menyimpan nama, nomor telepon, atau alamat "
        "IP Saudara; hanya jawaban, profil yang Saudara isi, dan waktu pengisian.",
        "submit": "Kirim jawaban",
        "thanks": "Terima kasih",
        "thanks_body": "Jawaban Saudara sudah kami terima dan akan dipakai untuk memperbaiki "
        "pelayanan.",
        "closed": "Survei ditutup",
        "closed_body": "Mohon maaf, survei untuk loket ini sudah ditutup. Terima kasih atas "
        "kesediaan Saudara.",
        "unavailable": "Mohon maaf",
        "unavailable_body": "Layanan sedang tidak tersedia. Mohon coba beberapa saat lagi.",
        "not_found": "Halaman tidak ditemukan",
        "not_found_body": "Tautan survei ini tidak dikenal. Mohon pindai kembali kode QR di loket.",
        "refused": "Jawaban tidak dapat diterima",
        "already": "Saudara sudah mengisi survei di loket ini. Terima kasih! Jawaban kedua "
        "tetap kami catat, tetapi tidak dihitung dalam IKM.",
    },
    "en": {
        "switch": "Bahasa Indonesia",
        "question": "Question",
        "to_fix": "Some answers need attention",
        "service": "The service you received",
        "choose": "Choose a service",
        "profile": "About you (optional)",
        "skip": "Not given",
        "suggestion": "Suggestions (optional)",
        "privacy": "This survey is anonymous: we do not store your name, phone number or IP "
        "address; only your answers, the profile you give, and the time.",
        "submit": "Send answers",
        "thanks": "Thank you",
        "thanks_body": "We have received your answers; they help improve this service.",
        "closed": "Survey closed",
        "closed_body": "Sorry, the survey for this counter is closed. Thank you for your time.",
        "unavailable": "Sorry",
        "unavailable_body": "The service is unavailable at the moment. Please try again shortly.",
        "not_found": "Page not found",
        "not_found_body": "This survey link is unknown. Please scan the QR code at the counter.",
        "refused": "Your answers could not be accepted",
        "already": "You have already answered the survey at this counter. Thank you! A second "
        "answer is recorded but not counted in the IKM.",
    },
}


async def page_lang(lang: str = "id") -> str:
    """The page's language: ``?lang=en`` for English, anything else Bahasa Indonesia (a
    citizen who edits the link gets a page, not an error)."""
    return language(lang)  # async: no trip to the threadpool for this


def language(lang: str | None) -> str:
    """:func:`page_lang` of a ``lang`` query value (None: none was given)."""
    return lang if lang in TEXT else "id"


Lang = Annotated[str, Depends(page_lang)]


def _message(
    request: Request, lang: str, status: int, heading: str, body: str, refresh: str | None = None
) -> HTMLResponse:
    context = {
        "lang": lang,
        "title": heading,
        "heading": heading,
        "body": body,
        "refresh": refresh,
        "kiosk": False,
    }
    return templates.TemplateResponse(request, "message.html", context, status_code=status)


def _error_page(request: Request, lang: str, exc: AppError) -> HTMLResponse:
    t = TEXT[lang]
    if exc.status == 404:
        return _message(request, lang, 404, t["not_found"], t["not_found_body"])
    if exc.status == 410:
        return _message(request, lang, 410, t["closed"], t["closed_body"])
    return _message(request, lang, exc.status, t["refused"], exc.detail)


def unavailable_page(request: Request, headers: dict[str, str]) -> HTMLResponse:
    """The page a citizen sees while the database cannot be reached (503)."""
    lang = language(request.query_params.get("lang"))
    t = TEXT[lang]
    page = _message(request, lang, 503, t["unavailable"], t["unavailable_body"])
    page.headers.update(headers)
    return page


# A survey page with no answers or errors to show back (nearly every one) differs from one
# request to the next only in its form token, so it is rendered once, with a placeholder where
# the token goes, per everything else it shows: the key names each value the template reads,
# so a renamed unit or counter, another service list or a new form version renders anew.
_TOKEN_SLOT = f"form-token-{secrets.token_hex(8)}"
_BLANK_PAGES: dict[tuple[Any, ...], str] = {}
_BLANK_PAGES_KEPT = 1024  # a few per counter and language; past this the cache starts over


def _blank_survey_html(context: citizen.SurveyContext, *, lang: str, message: str | None) -> str:
    fixed = context.fixed_service
    key = (
        lang,
        message,
        context.version.content_hash,
        context.unit.name,
        context.pemda,
        context.counter.name,
        context.counter.token,
        context.counter.kiosk,
        tuple((s.id, s.code, s.name) for s in context.services),
        fixed.id if fixed else None,
    )
    html = _BLANK_PAGES.get(key)
    if html is None:
        if len(_BLANK_PAGES) >= _BLANK_PAGES_KEPT:
            _BLANK_PAGES.clear()
        html = _BLANK_PAGES[key] = _survey_html(context, lang=lang, message=message)
    return html


def _survey_html(
    context: citizen.SurveyContext,
    *,
    lang: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
) -> str:
    title = context.form.title.model_dump()[lang]
    page: dict[str, Any] = {
        "lang": lang,
        "t": TEXT[lang],
        # A screen reader reads the title first: on a refused form it says so at once.
        "title": f"{TEXT[lang]['to_fix']}: {title}" if errors else title,
        "form": context.form.model_dump(),
        "unit": context.unit,
        "pemda": context.pemda,
        "counter": context.counter,
        "services": context.services,
        "fixed_service": context.fixed_service,
        "form_token": _TOKEN_SLOT,
        "values": values or {},
        "errors": errors or {},
        "message": message,
        "kiosk": context.counter.kiosk,
        "faces": FACES,
        "action": f"/s/{context.counter.token}?lang={lang}",
    }
    return templates.get_template("survey.html").render(page)


def _render_form(
    request: Request,
    context: citizen.SurveyContext,
    *,
    lang: str,
    settings: Settings,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
) -> HTMLResponse:
    assert context.counter.id is not None
    # The token is bound to this browser's id, which a new browser gets here with the form.
    known = citizen.browser_id(request.cookies.get(citizen.BROWSER_COOKIE))
    browser = known or citizen.new_browser_id()
    token = citizen.issue_form_token(
        settings.secret_key.get_secret_value(),
        context.counter.id,
        datetime.now(UTC),
        browser=browser,
    )
    if values or errors:
        html = _survey_html(context, lang=lang, values=values, errors=errors, message=message)
    else:
        html = _blank_survey_html(context, lang=lang, message=message)
    response = HTMLResponse(html.replace(_TOKEN_SLOT, token), status_code=status)
    if known is None:
        # No Max-Age: it ends with the browser session. A kiosk tablet's serves everyone.
        response.set_cookie(
            citizen.BROWSER_COOKIE, browser, path="/s/", httponly=True, samesite="lax"
        )
    return response


async def form_fields(request: Request) -> dict[str, str] | None:
    """The urlencoded body, capped in size (None when it is larger); later duplicates of a
    field are ignored."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return None
    fields: dict[str, str] = {}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        fields.setdefault(key, value)
    return fields


# HEAD too: chat apps fetch a shared link's headers for a preview.
@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    context = {"lang": "id", "title": "SKM: Survei Kepuasan Masyarakat", "kiosk": False}
    return templates.TemplateResponse(request, "home.html", context)


# The survey page and its submission are the busiest citizen routes: each runs its whole
# use-case, session included, in one trip to the threadpool (as sync routes with a session
# dependency they took three, which cost more CPU than their statements). They are plain
# Starlette routes (added below, after the functions): FastAPI's solving of their
# dependencies (database, settings, language, form) cost 50-70 us a request, more than
# reading the four by hand; neither is in the API's schema.
async def survey_page(request: Request) -> Response:
    return await run_in_threadpool(
        _survey_page,
        request,
        request.path_params["token"],
        database_of(request),
        settings_of(request),
        language(request.query_params.get("lang")),
    )


def _survey_page(
    request: Request, token: str, database: Database, settings: Settings, lang: str
) -> Response:
    # The connection goes back to the pool before the page is rendered: with 64 phones at
    # once, the pool (not the CPU) was what requests queued for. The counter, its unit, form
    # and services need not be read in one snapshot: an edit between two reads shows on the
    # next page, as it would a moment later anyway.
    with database.session(snapshot=False) as session:
        try:
            context = citizen.load_survey(session=session, token=token)
        except AppError as exc:
            return _error_page(request, lang, exc)
    repeat = citizen.answered_before(
        context=context,
        cookie=request.cookies.get(citizen.DEVICE_COOKIE),
        limits=citizen.Limits.from_settings(settings),
        now=datetime.now(UTC),
    )
    notice = TEXT[lang]["already"] if repeat else None
    return _render_form(request, context, lang=lang, settings=settings, message=notice)


async def survey_submit(request: Request) -> Response:
    # The submissions a worker has in flight are stored together (group commit).
    post = _Post(
        request,
        request.path_params["token"],
        database_of(request),
        settings_of(request),
        await form_fields(request),
        language(request.query_params.get("lang")),
    )
    return await _SUBMITS.submit(post)


@dataclass(frozen=True)
class _Post:
    request: Request
    token: str
    database: Database
    settings: Settings
    fields: dict[str, str] | None
    lang: str


def _store_posts(posts: Sequence[_Post]) -> list[Response | Exception]:
    """Each submission's answer, several stored in one transaction (their hits counted in
    one statement, their responses in one insert); a group that cannot be settled together
    (a limit reached, a lost connection, a deadlock) is rolled back and its submissions are
    taken one at a time, as if each had come alone: exactly those over a limit are refused,
    and a submission stored before an unheard commit is answered as the replay it is."""
    if len(posts) > 1 and len({id(post.database) for post in posts}) == 1:
        try:
            return _store_together(posts)
        except Exception as exc:  # each submission alone gets its own answer
            logger.info("%d submissions taken one at a time: %s", len(posts), exc.__class__)
    return [_alone(post) for post in posts]


def _alone(post: _Post) -> Response | Exception:
    try:
        with post.database.session(write=True) as session:
            found = _screen(session, post, datetime.now(UTC), {})
            if isinstance(found, Response):
                return found
            try:
                (accepted,) = citizen.accept_screened(
                    session=session,
                    screened=[found],
                    limits=citizen.Limits.from_settings(post.settings),
                    now=datetime.now(UTC),
                )
            except AppError as exc:
                return _refused(post, found.context, exc)
        return _redirect(post, accepted)
    except Exception as exc:  # the submission's request raises it
        return exc


def _store_together(posts: Sequence[_Post]) -> list[Response | Exception]:
    outcomes: list[Response | Exception | None] = [None] * len(posts)
    now = datetime.now(UTC)
    with posts[0].database.session(write=True) as session:
        contexts: dict[str, citizen.SurveyContext | AppError] = {}
        screened: list[tuple[int, citizen.Screened]] = []
        for index, post in enumerate(posts):
            found = _screen(session, post, now, contexts)
            if isinstance(found, Response):
                outcomes[index] = found
            else:
                screened.append((index, found))
        # One configuration per process: the first submission's limits are everyone's.
        limits = citizen.Limits.from_settings(posts[0].settings)
        accepted = citizen.accept_screened(
            session=session, screened=[one for _, one in screened], limits=limits, now=now
        )
    # Committed: nothing below may send the group to the one-at-a-time path.
    for (index, _), done in zip(screened, accepted, strict=True):
        outcomes[index] = _redirect(posts[index], done)
    assert None not in outcomes  # every submission answered, in its place
    return outcomes  # type: ignore[return-value]


def _screen(
    session: Session,
    post: _Post,
    now: datetime,
    contexts: dict[str, citizen.SurveyContext | AppError],
) -> citizen.Screened | Response:
    """The submission checked without counting or storing it, or the page that refuses it;
    ``contexts`` keeps the survey links read so far by the submissions stored together."""
    request, lang = post.request, post.lang
    if post.token not in contexts:
        try:
            contexts[post.token] = citizen.load_survey(session=session, token=post.token)
        except AppError as exc:
            contexts[post.token] = exc
    context = contexts[post.token]
    if isinstance(context, AppError):
        return _error_page(request, lang, context)
    if post.fields is None:
        return _error_page(request, lang, citizen.SurveyRejected(citizen.TOO_LARGE, status=413))
    client = citizen.Client(
        peer=request.client.host if request.client else None,
        forwarded_for=request.headers.get("x-forwarded-for"),
        cookie=request.cookies.get(citizen.DEVICE_COOKIE),
        browser=request.cookies.get(citizen.BROWSER_COOKIE),
        url=str(request.url),
        origin=request.headers.get("origin"),
        fetch_site=request.headers.get("sec-fetch-site"),
    )
    try:
        return citizen.screen_submission(
            context=context,
            fields=post.fields,
            client=client,
            limits=citizen.Limits.from_settings(post.settings),
            now=now,
        )
    except AppError as exc:
        return _refused(post, context, exc)


def _refused(post: _Post, context: citizen.SurveyContext, exc: AppError) -> Response:
    """The page answering a refused submission."""
    request, lang, settings = post.request, post.lang, post.settings
    if isinstance(exc, citizen.FormSessionUnknown):
        # A fresh, empty form for this browser: answers posted with another browser's token
        # are not shown back as if this person had chosen them.
        return _render_form(
            request, context, lang=lang, settings=settings, status=400, message=exc.detail
        )
    if exc.status != 422 or not isinstance(exc, citizen.SurveyRejected):
        return _error_page(request, lang, exc)
    # The form again, with the citizen's answers and what is missing.
    return _render_form(
        request,
        context,
        lang=lang,
        settings=settings,
        status=422,
        values=post.fields,
        errors=exc.errors,
        message=exc.detail,
    )


def _redirect(post: _Post, accepted: citizen.Accepted) -> Response:
    redirect = RedirectResponse(f"/s/{post.token}/terima-kasih?lang={post.lang}", status_code=303)
    if accepted.device_cookie is not None:
        redirect.set_cookie(
            citizen.DEVICE_COOKIE,
            accepted.device_cookie,
            max_age=post.settings.device_cooldown_hours * 3600,
            path=f"/s/{post.token}",
            httponly=True,
            samesite="lax",
        )
    return redirect


_SUBMITS = GroupCommit(_store_posts)
# HEAD too: chat apps fetch a shared link's headers for a preview.
router.add_route("/s/{token}", survey_page, methods=["GET", "HEAD"], include_in_schema=False)
router.add_route("/s/{token}", survey_submit, methods=["POST"], include_in_schema=False)


@router.get("/s/{token}/terima-kasih", response_class=HTMLResponse)
def survey_thanks(
    request: Request, token: str, session: ReadSession, settings: SettingsDep, lang: Lang
) -> Response:
    try:
        context = citizen.load_survey(session=session, token=token)
    except AppError as exc:
        return _error_page(request, lang, exc)
    t = TEXT[lang]
    # A kiosk returns to a fresh form for the next person after a few seconds.
    refresh = (
        f"{settings.kiosk_return_seconds};url=/s/{token}?lang={lang}"
        if context.counter.kiosk
        else None
    )
    return _message(request, lang, 200, t["thanks"], t["thanks_body"], refresh)
