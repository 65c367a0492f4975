"""Alerts and webhooks: a counter's and its unit's last N responses falling a grade, and an
element graded D, raise one alert each (not again while it stands, again after it is closed);
a subscribed receiver started here on 127.0.0.1 gets them signed (HMAC-SHA256), a failed try
is retried after its pause and every try is logged; the console pages keep to the subtree."""

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from app.models import Alert, CounterCreate, Unit, WebhookAttempt, WebhookDelivery
from app.services import alerts, audit, intake, org, webhooks
from tests.factories import make_unit, response

WINDOW = 10
SECRET_KEY = "k" * 40
GOOD = (4,) * 9
POOR = (3, 3, 1, 3, 3, 3, 3, 3, 3)  # NIK (8 x 3 + 1) / 9 x 25 = 69,44 (C); waktu 25,00 (D)
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _record(
    session: Session, unit: Unit, answers: tuple[int, ...], count: int, offset: int
) -> None:
    counter = org.get_counter(session=session, unit=unit, code="loket-1")
    items = [response(answers, START + timedelta(minutes=offset + i)) for i in range(count)]
    intake.record_responses(session=session, unit=unit, items=items, channel="qr", counter=counter)


@pytest.fixture
def unit(session: Session) -> Unit:
    found = make_unit(session)
    org.create_counter(
        session=session, data=CounterCreate(unit_code=found.code, code="loket-1", name="Loket 1")
    )
    return found


def _kinds(raised: list[Alert]) -> set[tuple[str, str]]:
    return {(a.kind, a.key.split(":")[1]) for a in raised}


def test_a_fall_of_grade_and_an_element_graded_d_raise_alerts_once(
    session: Session, unit: Unit
) -> None:
    _record(session, unit, GOOD, WINDOW, 0)
    assert alerts.check(session=session, size=WINDOW) == []  # one window: nothing to compare
    _record(session, unit, POOR, WINDOW, 100)
    raised = alerts.check(session=session, size=WINDOW)
    assert _kinds(raised) == {
        ("grade_drop", "unit"),
        ("grade_drop", "counter"),
        ("element_d", "unit"),
        ("element_d", "counter"),
    }
    drop = next(a for a in raised if a.kind == "grade_drop" and a.counter_id is None)
    assert "turun dari 100,00 (A) ke 69,44 (C)" in drop.detail
    assert {a.element for a in raised if a.kind == "element_d"} == {"waktu"}
    # No new responses: nothing is scanned. New ones, same state: the alerts stand, once.
    assert alerts.check(session=session, size=WINDOW) == []
    _record(session, unit, POOR, 1, 200)
    assert alerts.check(session=session, size=WINDOW) == []
    # Closed, the cause can rise again with the next responses.
    element = next(a for a in raised if a.kind == "element_d" and a.counter_id is None)
    alerts.update(session=session, alert=element, actor=audit.Actor("test"), status="closed")
    _record(session, unit, POOR, 1, 300)
    again = alerts.check(session=session, size=WINDOW)
    assert [(a.kind, a.key) for a in again] == [("element_d", element.key)]


def test_flagged_responses_and_short_windows_raise_nothing(session: Session, unit: Unit) -> None:
    _record(session, unit, GOOD, WINDOW, 0)
    counter = org.get_counter(session=session, unit=unit, code="loket-1")
    items = [response(POOR, START + timedelta(minutes=100 + i)) for i in range(WINDOW)]
    intake.record_responses(
        session=session, unit=unit, items=items, channel="qr", counter=counter, flagged=True
    )
    assert alerts.check(session=session, size=WINDOW) == []


def test_a_closed_alert_stays_closed_and_comments_are_signed(session: Session, unit: Unit) -> None:
    _record(session, unit, GOOD, WINDOW, 0)
    _record(session, unit, POOR, WINDOW, 100)
    alert = alerts.check(session=session, size=WINDOW)[0]
    actor = audit.Actor("kepala@unit.go.id")
    alerts.update(session=session, alert=alert, actor=actor, status="acknowledged", comment="Dicek")
    assert alert.comments is not None and alert.comments.endswith("kepala@unit.go.id: Dicek")
    alerts.update(session=session, alert=alert, actor=actor, status="closed")
    with pytest.raises(Exception, match="stays closed"):
        alerts.update(session=session, alert=alert, actor=actor, status="open")


class Receiver:
    """An HTTP receiver on 127.0.0.1 that answers the statuses it is given, in turn."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/skm"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver([500])
    found.thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


def test_a_webhook_is_delivered_signed_retried_after_a_failure_and_logged(
    session: Session, unit: Unit, receiver: Receiver
) -> None:
    parent = session.get(Unit, unit.parent_id) if unit.parent_id else unit
    hook, secret = webhooks.create(
        session=session, unit=parent or unit, url=receiver.url, actor=audit.Actor("test"),
        secret_key=SECRET_KEY,
    )  # fmt: skip
    assert secret == webhooks.secret_of(SECRET_KEY, hook) and secret.startswith("whsec_")
    _record(session, unit, GOOD, WINDOW, 0)
    _record(session, unit, POOR, WINDOW, 100)
    raised = alerts.check(session=session, size=WINDOW)
    deliveries = session.exec(
        select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
    ).all()
    assert len(deliveries) == len(raised) == 4
    now = datetime.now(UTC)
    with httpx.Client() as client:
        first = webhooks.deliver_due(session=session, secret_key=SECRET_KEY, client=client, now=now)
        assert [t.status_code for t in first] == [500, 200, 200, 200]
        failed = session.get(WebhookDelivery, first[0].delivery_id)
        assert failed is not None
        assert (failed.status, failed.attempts) == ("pending", 1)
        assert failed.next_attempt_at == now + webhooks.BACKOFF[0]
        # Not yet due: nothing is sent; after the pause it is.
        soon = now + timedelta(seconds=10)
        assert (
            webhooks.deliver_due(session=session, secret_key=SECRET_KEY, client=client, now=soon)
            == []
        )
        later = now + webhooks.BACKOFF[0]
        retried = webhooks.deliver_due(
            session=session, secret_key=SECRET_KEY, client=client, now=later
        )
    assert [(t.delivery_id, t.status_code) for t in retried] == [(failed.id, 200)]
    session.refresh(failed)
    assert (failed.status, failed.attempts, failed.delivered_at) == ("delivered", 2, later)
    log = session.exec(select(WebhookAttempt).where(WebhookAttempt.delivery_id == failed.id)).all()
    assert [(a.status_code, a.error) for a in log] == [(500, "HTTP 500"), (200, None)]
    assert len(receiver.received) == 5
    for headers, body in receiver.received:
        stamp, mac = headers["X-SKM-Signature"].removeprefix("t=").split(",v1=")
        expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
        assert hmac.compare_digest(mac, expected.hexdigest())
        assert headers["X-SKM-Event"] == "alert.raised"
        payload = json.loads(body)
        assert payload["alert"]["unit"]["code"] == unit.code
        assert payload["alert"]["kind"] in ("grade_drop", "element_d")


def test_an_unreachable_receiver_fails_after_the_last_try(session: Session, unit: Unit) -> None:
    hook, _ = webhooks.create(
        session=session, unit=unit, url="http://127.0.0.1:9/nothing-listens",
        actor=audit.Actor("test"), secret_key=SECRET_KEY,
    )  # fmt: skip
    webhooks.enqueue(session, unit, "alert.raised", {"event": "alert.raised"}, START)
    session.commit()
    at = START
    with httpx.Client() as client:
        for pause in (*webhooks.BACKOFF, timedelta(0)):
            tried = webhooks.deliver_due(
                session=session, secret_key=SECRET_KEY, client=client, now=at
            )
            assert len(tried) == 1 and tried[0].status_code is None
            assert tried[0].error is not None and "ConnectError" in tried[0].error
            at += pause
    delivery = session.exec(
        select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
    ).one()
    assert (delivery.status, delivery.attempts) == ("failed", webhooks.MAX_ATTEMPTS)


def test_webhook_urls_must_be_http(session: Session, unit: Unit) -> None:
    for url in ("ftp://example.org/x", "javascript:alert(1)", "https://"):
        with pytest.raises(Exception, match="http"):
            webhooks.create(
                session=session, unit=unit, url=url, actor=audit.Actor("t"), secret_key=SECRET_KEY
            )


def test_a_subscription_hears_only_its_subtree(session: Session, unit: Unit) -> None:
    other = make_unit(session)
    webhooks.create(
        session=session, unit=other, url="https://other.example/hook", actor=audit.Actor("t"),
        secret_key=SECRET_KEY,
    )  # fmt: skip
    assert webhooks.enqueue(session, unit, "alert.raised", {}, START) == 0
    assert webhooks.enqueue(session, other, "alert.raised", {}, START) == 1
    standing = session.exec(select(Alert).where(col(Alert.unit_id) == unit.id)).all()
    assert standing == []
