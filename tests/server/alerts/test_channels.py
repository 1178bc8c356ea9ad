"""Each channel against its local server, a failing one among them, every attempt logged."""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from concurrent.futures import wait
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from server.alerts.channels import EmailChannel, PushChannel, SmsChannel, WebhookChannel, sign
from server.alerts.dispatch import Dispatcher, notice_of
from server.alerts.rules import SPIKE_MESSAGE, Alert
from server.alerts.settings import default_settings, merge
from server.alerts.store import AlertLog
from server.push.devices import DeviceStore
from server.push.fcm import FcmClient
from server.storage import Database, open_database
from server.storage.crypto import Keyring, MasterKey
from tests.server.alerts.servers import (
    SID,
    TOKEN,
    SmtpServer,
    self_signed,
    twilio,
    webhook_receiver,
)
from tests.server.push.fcm_server import FakeFcmServer

SECRET = "whsec-0123456789abcdef"
ALERT = Alert("A", "spike", "alert", "red", 1_763_792_760, SPIKE_MESSAGE, {"power_kw": 3.1})


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    db = open_database(f"sqlite:///{tmp_path / 'g.sqlite3'}")
    yield db
    db.dispose()


@pytest.fixture
def alert_log(db: Database) -> AlertLog:
    return AlertLog(db)


def settings(**channels: dict) -> dict:
    doc = default_settings("UTC", ("Overall",))
    doc["channels"]["push"]["enabled"] = False
    return merge(doc, {"channels": channels})


def run(dispatcher: Dispatcher, alert_log: AlertLog, doc: dict, quiet: bool = False) -> int:
    alert_id = alert_log.add(ALERT)
    futures = dispatcher.dispatch(notice_of(alert_id, ALERT, "Home A"), doc, quiet)
    done, pending = wait(futures, timeout=30)
    assert not pending
    return alert_id


def test_email_over_smtp_with_login(alert_log: AlertLog):
    with SmtpServer() as smtp:
        email = EmailChannel(
            "127.0.0.1", smtp.port, "alerts@gridlight.test", username="alerts", password="s3cret"
        )
        dispatcher = Dispatcher(alert_log, {"email": email}, backoff_s=0.01)
        alert_id = run(
            dispatcher, alert_log, settings(email={"enabled": True, "to": ["owner@example.org"]})
        )
        assert [(a.channel, a.status, a.target) for a in alert_log.attempts(alert_id)] == [
            ("email", "sent", "o***@example.org")
        ]
        (envelope,) = smtp.messages
        assert envelope.rcpt_tos == ["owner@example.org"]
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert mail["Subject"] == "Home A: Energy spike"
        assert SPIKE_MESSAGE in mail.get_content()

        wrong = EmailChannel(
            "127.0.0.1", smtp.port, "alerts@gridlight.test", username="alerts", password="nope"
        )
        dispatcher = Dispatcher(alert_log, {"email": wrong}, backoff_s=0.01)
        alert_id = run(
            dispatcher, alert_log, settings(email={"enabled": True, "to": ["owner@example.org"]})
        )
        (attempt,) = alert_log.attempts(alert_id)
        assert attempt.status == "failed"
        assert "SMTP login refused: 535" in attempt.error


def test_email_with_starttls_and_a_password_from_a_file(alert_log: AlertLog, tmp_path: Path):
    from server.alerts import secret

    ca_file, server_tls = self_signed(tmp_path)
    (tmp_path / "smtp-password").write_text("s3cret\n")
    cfg = {"SMTP_PASSWORD": None, "SMTP_PASSWORD_FILE": str(tmp_path / "smtp-password")}
    with SmtpServer(server_tls) as smtp:
        email = EmailChannel(
            "127.0.0.1",
            smtp.port,
            "alerts@gridlight.test",
            username="alerts",
            password=secret(cfg, "SMTP_PASSWORD"),
            starttls=True,
            ca_file=str(ca_file),
        )
        dispatcher = Dispatcher(alert_log, {"email": email}, backoff_s=0.01)
        doc = settings(email={"enabled": True, "to": ["owner@example.org"]})
        alert_id = run(dispatcher, alert_log, doc)
        assert [a.status for a in alert_log.attempts(alert_id)] == ["sent"]
        assert len(smtp.messages) == 1

        plain = EmailChannel("127.0.0.1", smtp.port, "alerts@gridlight.test")
        dispatcher = Dispatcher(alert_log, {"email": plain}, backoff_s=0.01)
        alert_id = run(dispatcher, alert_log, doc)  # the server requires STARTTLS first
        assert alert_log.attempts(alert_id)[0].error.startswith("SMTP 530")
        assert len(smtp.messages) == 1


def test_sms_through_the_twilio_messages_api(alert_log: AlertLog):
    with twilio() as api:
        sms = SmsChannel(SID, TOKEN, "+15550001111", base_url=api.url)
        dispatcher = Dispatcher(alert_log, {"sms": sms}, backoff_s=0.01)
        api.answers = [500]  # the first answer fails: retried once
        alert_id = run(
            dispatcher, alert_log, settings(sms={"enabled": True, "to": ["+4915112345678"]})
        )
        assert [(a.attempt, a.status) for a in alert_log.attempts(alert_id)] == [
            (1, "failed"),
            (2, "sent"),
        ]
        assert api.requests[-1]["To"] == "+4915112345678"
        assert api.requests[-1]["From"] == "+15550001111"
        assert SPIKE_MESSAGE in api.requests[-1]["Body"]

        bad_token = SmsChannel(SID, "wrong", "+15550001111", base_url=api.url)
        dispatcher = Dispatcher(alert_log, {"sms": bad_token}, backoff_s=0.01)
        alert_id = run(
            dispatcher, alert_log, settings(sms={"enabled": True, "to": ["+4915112345678"]})
        )
        (attempt,) = alert_log.attempts(alert_id)  # 401 is not retried
        assert attempt.error == "Twilio HTTP 401 20003: Authenticate"


def test_webhook_is_signed_and_retried_with_bounded_backoff(alert_log: AlertLog):
    with webhook_receiver() as hook:
        dispatcher = Dispatcher(
            alert_log, {"webhook": WebhookChannel(max_attempts=3)}, backoff_s=0.01
        )
        hook.answers = [503, 503]
        doc = settings(webhook={"enabled": True, "url": hook.url + "/hook", "secret": SECRET})
        alert_id = run(dispatcher, alert_log, doc)
        assert [(a.attempt, a.status, a.error) for a in alert_log.attempts(alert_id)] == [
            (1, "failed", "webhook HTTP 503"),
            (2, "failed", "webhook HTTP 503"),
            (3, "sent", None),
        ]
        last = hook.requests[-1]
        assert hmac.compare_digest(
            last["headers"]["X-Gridlight-Signature"], sign(SECRET, last["body"])
        )
        body = json.loads(last["body"])
        assert body["alert"]["message"] == SPIKE_MESSAGE
        assert str(body["sent_at"]) == last["headers"]["X-Gridlight-Timestamp"]

        hook.answers = [503] * 5  # never succeeds: gives up after max_attempts
        alert_id = run(dispatcher, alert_log, doc)
        assert [a.status for a in alert_log.attempts(alert_id)] == ["failed"] * 3


def test_a_failing_channel_never_blocks_the_others(alert_log: AlertLog, tmp_path: Path):
    with SmtpServer() as smtp, twilio() as api, webhook_receiver() as hook:
        channels = {
            "email": EmailChannel("127.0.0.1", smtp.port, "alerts@gridlight.test"),
            "sms": SmsChannel(SID, TOKEN, "+15550001111", base_url=api.url),
            # nothing listens on this port: connection refused, on every attempt
            "webhook": WebhookChannel(max_attempts=2),
        }
        dispatcher = Dispatcher(alert_log, channels, backoff_s=0.01, timeout_s=2)
        doc = settings(
            email={"enabled": True, "to": ["owner@example.org"]},
            sms={"enabled": True, "to": ["+4915112345678"]},
            webhook={"enabled": True, "url": "http://127.0.0.1:9/hook", "secret": SECRET},
        )
        alert_id = run(dispatcher, alert_log, doc)
        got = {(a.channel, a.attempt, a.status) for a in alert_log.attempts(alert_id)}
        assert got == {
            ("email", 1, "sent"),
            ("sms", 1, "sent"),
            ("webhook", 1, "failed"),
            ("webhook", 2, "failed"),
        }
        assert len(smtp.messages) == 1 and len(api.requests) == 1 and hook.requests == []


def test_quiet_hours_and_unconfigured_channels_are_logged_as_skipped(alert_log: AlertLog):
    dispatcher = Dispatcher(alert_log, {"email": None}, backoff_s=0.01)
    doc = settings(email={"enabled": True, "to": ["owner@example.org"]})
    alert_id = run(dispatcher, alert_log, doc)
    assert [(a.status, a.error) for a in alert_log.attempts(alert_id)] == [
        ("skipped", "email is not configured on this server")
    ]
    alert_id = run(dispatcher, alert_log, doc, quiet=True)
    assert [(a.status, a.error) for a in alert_log.attempts(alert_id)] == [
        ("skipped", "quiet hours")
    ]


def test_push_through_the_widget_fcm_client(alert_log: AlertLog, db: Database, tmp_path: Path):
    devices = DeviceStore(db, Keyring.load(db, MasterKey.generate()))
    good, dead = "device-one:APA91b" + "a" * 140, "device-two:APA91b" + "b" * 140
    devices.register("A", good, "android")
    devices.register("A", dead, "android")
    with FakeFcmServer(tmp_path) as fcm:
        fcm.answer(dead, "unregistered")
        client = FcmClient(fcm.credentials, fcm.url, retries=0)
        dispatcher = Dispatcher(alert_log, {"push": PushChannel(client, devices)})
        alert_id = run(dispatcher, alert_log, settings(push={"enabled": True}))
        assert fcm.problems == []
        (note,) = fcm.messages_to(good)
        assert note["notification"] == {"title": "Home A: Energy spike", "body": SPIKE_MESSAGE}
        assert note["android"]["priority"] == "high"
        statuses = sorted(a.status for a in alert_log.attempts(alert_id))
        assert statuses == ["failed", "sent"]
        assert [t for t, _ in devices.devices("A")] == [good]  # the dead token was pruned


def test_a_hanging_channel_times_out_while_the_others_are_delivered(alert_log: AlertLog):
    import socket

    with SmtpServer() as smtp, socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections are accepted by the kernel and never answered
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        channels = {
            "email": EmailChannel("127.0.0.1", smtp.port, "alerts@gridlight.test"),
            "webhook": WebhookChannel(max_attempts=1),
        }
        dispatcher = Dispatcher(alert_log, channels, timeout_s=1.0)
        doc = settings(
            email={"enabled": True, "to": ["owner@example.org"]},
            webhook={"enabled": True, "url": url, "secret": SECRET},
        )
        alert_id = alert_log.add(ALERT)
        email, hook = dispatcher.dispatch(notice_of(alert_id, ALERT, "Home A"), doc, False)
        assert email.result(timeout=10) is True
        assert hook.result(timeout=10) is False
        by_channel = {a.channel: a for a in alert_log.attempts(alert_id)}
        assert by_channel["email"].status == "sent"
        assert by_channel["webhook"].status == "failed"
        assert "Timeout" in by_channel["webhook"].error


def test_sms_errors_are_bounded_and_never_show_the_token(
    alert_log: AlertLog, caplog: pytest.LogCaptureFixture
):
    import logging
    import socket
    import time

    caplog.set_level(logging.DEBUG)
    doc = settings(sms={"enabled": True, "to": ["+4915112345678"]})
    with twilio() as api:
        api.answers = [400]  # the stand-in's error for this status: not retried
        sms = SmsChannel(SID, TOKEN, "+15550001111", base_url=api.url + "/")
        alert_id = run(Dispatcher(alert_log, {"sms": sms}, backoff_s=0.01), alert_log, doc)
        (attempt,) = alert_log.attempts(alert_id)
        assert attempt.error == "Twilio HTTP 400 20500: Internal Server Error"

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepted by the kernel, never answered
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        sms = SmsChannel(SID, TOKEN, "+15550001111", base_url=url, max_attempts=2)
        dispatcher = Dispatcher(alert_log, {"sms": sms}, backoff_s=0.01, timeout_s=0.5)
        started = time.monotonic()
        alert_id = run(dispatcher, alert_log, doc)
        assert time.monotonic() - started < 5
        attempts = alert_log.attempts(alert_id)
        assert [(a.attempt, a.status) for a in attempts] == [(1, "failed"), (2, "failed")]
        assert all(a.error.startswith("Twilio: ReadTimeout") for a in attempts)
    assert "Messages.json" in caplog.text  # the client did log its requests
    assert TOKEN not in caplog.text
    assert TOKEN not in " ".join(a.error for a in alert_log.attempts(alert_id))
