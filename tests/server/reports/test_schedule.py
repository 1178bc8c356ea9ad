"""The schedule: at local midnight on the 1st, once across apps sharing a database, catching up
missed months; each report emailed (PDF attached) and pushed with seed 000's text."""

from __future__ import annotations

import threading
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from server.alerts.settings import default_settings
from server.reports import SEED_MESSAGE
from tests.server.alerts.servers import SmtpServer
from tests.server.push.fcm_server import FakeFcmServer
from tests.server.reports.conftest import ZONE, utc

TOKEN = "report-device:APA91b" + "r" * 140


def _run(app, now_s: float) -> list[tuple[str, str]]:  # noqa: ANN001
    return [(r.household, r.month) for r in app.extensions["reports"].scheduler.run_once(now_s)]


def test_generated_once_at_the_local_month_boundary(make_app):
    app = make_app()
    # January's report is owed from local midnight on February 1st (23:00 UTC on Jan 31)
    assert _run(app, utc("2026-01-31 23:59:59")) == []
    assert sorted(_run(app, utc("2026-02-01 00:00:01"))) == [("Y", "2026-01"), ("Z", "2026-01")]
    assert _run(app, utc("2026-02-15 12:00")) == []
    assert _run(app, utc("2026-02-28 23:59:59")) == []
    assert sorted(_run(app, utc("2026-03-01 00:00:01"))) == [("Y", "2026-02"), ("Z", "2026-02")]
    assert _run(app, utc("2026-03-01 00:01:01")) == []
    store = app.extensions["reports"].store
    assert [r.month for r in store.list("Z")] == ["2026-02", "2026-01"]
    report = store.get("Z", "2026-02")
    assert report.path == Path(app.config["DATA_DIR"]) / "reports" / "Z" / "2026-02.pdf"
    assert report.path.read_bytes()[:5] == b"%PDF-"


def test_two_apps_sharing_a_database_claim_each_month_once(make_app):
    first, second = make_app(), make_app()
    results: dict[str, list] = {}
    barrier = threading.Barrier(2)

    def run(name: str, app) -> None:  # noqa: ANN001
        barrier.wait()
        results[name] = _run(app, utc("2026-03-01 00:00:30"))

    threads = [threading.Thread(target=run, args=(n, a)) for n, a in (("a", first), ("b", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    made = results["a"] + results["b"]
    assert sorted(made) == [("Y", "2026-01"), ("Y", "2026-02"), ("Z", "2026-01"), ("Z", "2026-02")]
    assert (
        _run(first, utc("2026-03-01 00:05")) == [] and _run(second, utc("2026-03-01 00:05")) == []
    )


def test_missed_months_are_caught_up_within_the_data(make_app):
    app = make_app()
    # down since January: in June, January to March are owed (the readings end in March)
    made = _run(app, utc("2026-06-10 08:00"))
    assert [m for h, m in made if h == "Z"] == ["2026-01", "2026-02", "2026-03"]
    summaries = app.extensions["reports"].store.summaries("Z")
    assert summaries["2026-03"]["coverage"] < 0.2  # March 1-4 only
    assert _run(app, utc("2026-07-01 00:00:01")) == []


def test_catch_up_is_bounded(make_app):
    app = make_app(REPORTS_CATCH_UP_MONTHS=2)
    assert [m for h, m in _run(app, utc("2026-04-01 00:00:01")) if h == "Z"] == [
        "2026-02",
        "2026-03",
    ]


def test_report_is_emailed_with_the_pdf_and_pushed_with_the_seed_text(make_app, tmp_path: Path):
    with SmtpServer() as smtp, FakeFcmServer(tmp_path) as fcm:
        app = make_app(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=smtp.port,
            SMTP_FROM="reports@gridlight.test",
            PUSH_ENABLED=True,
            FCM_CREDENTIALS=str(fcm.credentials),
            FCM_BASE_URL=fcm.url,
        )
        alerts = app.extensions["alerts"]
        doc = default_settings(ZONE, ("Overall", "Heater"))
        doc["channels"]["email"] = {"enabled": True, "to": ["owner@example.org"]}
        alerts.settings.put("Z", doc)
        app.extensions["gridlight"].devices.register("Z", TOKEN, "android")
        assert sorted(_run(app, utc("2026-02-01 00:00:01"))) == [("Y", "2026-01"), ("Z", "2026-01")]
        (envelope,) = smtp.messages  # Y has no recipients
        assert envelope.rcpt_tos == ["owner@example.org"]
        msg = message_from_bytes(envelope.content, policy=default_policy)
        assert "January 2026" in msg["Subject"]
        assert SEED_MESSAGE in msg.get_body(("plain",)).get_content()
        (attachment,) = list(msg.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_filename() == "gridlight-Z-2026-01.pdf"
        stored = app.extensions["reports"].store.get("Z", "2026-01")
        assert attachment.get_content() == stored.path.read_bytes()
        assert fcm.problems == []
        (push,) = fcm.messages_to(TOKEN)
        assert push["notification"]["body"] == SEED_MESSAGE
        assert push["data"] == {"type": "report", "household": "Z", "month": "2026-01"}


def test_a_failing_smtp_server_is_retried_and_the_report_still_stored(
    make_app, caplog: pytest.LogCaptureFixture
):
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens: connection refused
    app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=port, REPORTS_EMAIL_ATTEMPTS=2)
    alerts = app.extensions["alerts"]
    doc = default_settings(ZONE, ("Overall", "Heater"))
    doc["channels"]["email"] = {"enabled": True, "to": ["owner@example.org"]}
    alerts.settings.put("Z", doc)
    made = _run(app, utc("2026-02-01 00:00:01"))
    assert ("Z", "2026-01") in made
    failures = [r.getMessage() for r in caplog.records if "report email" in r.getMessage()]
    assert len(failures) == 2 and "attempt 2/2" in failures[-1]
    assert app.extensions["reports"].store.get("Z", "2026-01") is not None
