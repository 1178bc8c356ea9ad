"""pyfcm and google-auth, for real, against the local OAuth + FCM v1 stand-in."""

from __future__ import annotations

import json
import time

import pytest

from server.push.fcm import FcmClient, FcmConfigError, Outcome, alert, state_push

TOKEN = "device-one:APA91b" + "a" * 140
OTHER = "device-two:APA91b" + "b" * 140
STATE = {"version": 1, "household": "A", "seq": "1763792750000-0", "worst": "red"}


def client_for(fcm, **kwargs) -> FcmClient:  # noqa: ANN001
    return FcmClient(fcm.credentials, fcm.url, **kwargs)


def test_state_message_is_data_only(fcm):
    client = client_for(fcm)
    assert client.endpoint == f"{fcm.url}/v1/projects/gridlight-test/messages:send"
    message = state_push(TOKEN, "android", "A", STATE["seq"], json.dumps(STATE), high=False)
    result = client.send(message)
    assert result.outcome is Outcome.SENT, result.detail
    assert result.detail.startswith("projects/gridlight-test/messages/")
    assert fcm.problems == []
    (sent,) = fcm.messages
    assert sent["token"] == TOKEN
    assert "notification" not in sent
    assert sent["data"] == {
        "type": "widget_state",
        "household": "A",
        "seq": STATE["seq"],
        "state": json.dumps(STATE),
    }
    assert sent["android"] == {"priority": "normal", "collapse_key": "gridlight-A", "ttl": "3600s"}


def test_one_oauth_token_for_many_messages(fcm):
    client = client_for(fcm)
    for i in range(3):
        state = json.dumps({**STATE, "seq": f"1-{i}"})
        assert client.send(state_push(TOKEN, "android", "A", f"1-{i}", state, high=True)).outcome
    assert len(fcm.messages) == 3
    assert len(fcm.tokens_issued) == 1
    assert {m["android"]["priority"] for m in fcm.messages} == {"high"}


def test_alert_is_a_separate_visible_notification(fcm):
    result = client_for(fcm).send(alert(TOKEN, "android", "A", "Home: red", "Unusually high: AC"))
    assert result.outcome is Outcome.SENT
    (sent,) = fcm.messages
    assert sent["notification"] == {"title": "Home: red", "body": "Unusually high: AC"}
    assert "data" not in sent
    assert sent["android"]["priority"] == "high"
    assert sent["android"]["notification"] == {
        "channel_id": "gridlight_alerts",
        "tag": "gridlight-A",
    }
    assert sent["android"]["collapse_key"] == "gridlight-A-alert"


def test_ios_and_web_configs(fcm):
    client = client_for(fcm)
    client.send(state_push(TOKEN, "ios", "A", "1-0", "{}", high=True))
    client.send(state_push(OTHER, "web", "A", "1-0", "{}", high=True))
    ios, web = fcm.messages
    assert ios["apns"]["headers"]["apns-push-type"] == "background"
    assert ios["apns"]["headers"]["apns-priority"] == "5"
    assert ios["apns"]["payload"] == {"aps": {"content-available": 1}}
    assert web["webpush"]["headers"]["Urgency"] == "high"


@pytest.mark.parametrize(
    ("answer", "outcome", "prune"),
    [
        ("unregistered", Outcome.UNREGISTERED, True),
        ("invalid_token", Outcome.INVALID_TOKEN, True),
        ("unavailable", Outcome.FAILED, False),
    ],
)
def test_answers(fcm, answer, outcome, prune):
    fcm.answer(TOKEN, answer)
    result = client_for(fcm, retries=1, backoff_s=0.01).send(
        state_push(TOKEN, "android", "A", "1-0", "{}", high=False)
    )
    assert result.outcome is outcome
    assert result.prune is prune
    assert fcm.messages == []


def test_503_is_retried_a_bounded_number_of_times_and_retry_after_is_not_slept(fcm):
    fcm.answer(TOKEN, "unavailable")
    fcm.retry_after_s = 120  # pyfcm alone would sleep 120 s and then try again, forever
    client = client_for(fcm, retries=2, backoff_s=0.01)
    started = time.monotonic()
    result = client.send(state_push(TOKEN, "android", "A", "1-0", "{}", high=False))
    assert time.monotonic() - started < 5
    assert result.outcome is Outcome.FAILED
    assert "503" in result.detail
    assert len(fcm.requests) == 3  # the first try and 2 retries


def test_a_bad_message_is_a_failure_not_a_dead_token(fcm):
    client = client_for(fcm)
    # FCM rejects a data value that is not a string with 400 INVALID_ARGUMENT, not about the token
    message = state_push(TOKEN, "android", "A", "1-0", "{}", high=False)
    object.__setattr__(message, "data", {"type": "widget_state", "seq": 5})
    result = client.send(message)
    assert result.outcome is Outcome.FAILED
    assert not result.prune
    assert "data values must be strings" in result.detail


def test_a_key_the_token_endpoint_does_not_know_is_a_failure(fcm, tmp_path):
    from tests.server.push.fcm_server import service_account

    (tmp_path / "other").mkdir()
    other, _, _ = service_account(tmp_path / "other", fcm.token_uri)  # a key fcm never saw
    message = state_push(TOKEN, "android", "A", "1-0", "{}", high=False)
    result = FcmClient(other, fcm.url).send(message)
    assert result.outcome is Outcome.FAILED
    assert fcm.tokens_issued == []
    assert any("bad assertion" in p for p in fcm.problems)


def test_unreachable_fcm_is_a_failure(fcm):
    from tests.services import free_port

    client = FcmClient(fcm.credentials, f"http://127.0.0.1:{free_port()}", retries=0)
    result = client.send(state_push(TOKEN, "android", "A", "1-0", "{}", high=False))
    assert result.outcome is Outcome.FAILED
    assert "ConnectionError" in result.detail


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the FCM service-account file"),
        ("not json", "is not JSON"),
        ('{"project_id": "p"}', "lacks client_email, private_key, token_uri"),
    ],
)
def test_bad_credentials(tmp_path, content, message):
    path = tmp_path / "sa.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(FcmConfigError, match=message):
        FcmClient(path)


def test_bad_base_url(fcm):
    with pytest.raises(FcmConfigError, match="must be http"):
        FcmClient(fcm.credentials, "ftp://example")


def test_sends_from_several_threads(fcm):
    """The alerts' push channel shares the sender's client: sends from other threads work."""
    import threading

    client = client_for(fcm)
    results = []

    def send_five(token: str) -> None:
        for i in range(5):
            message = state_push(token, "android", "A", f"1-{i}", "{}", high=False)
            results.append(client.send(message).outcome)

    threads = [threading.Thread(target=send_five, args=(t,)) for t in (TOKEN, OTHER)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == [Outcome.SENT] * 10
    assert len(fcm.messages_to(TOKEN)) == len(fcm.messages_to(OTHER)) == 5
    assert fcm.problems == []
