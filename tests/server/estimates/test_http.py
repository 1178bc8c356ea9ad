"""A household's appliance models over HTTP, on real components (Redis, the live estimator): the
operator publishes models with ``python -m server nilm publish``; the household's owner lists
them, attaches one by name, watches the estimator take it up (waiting_for_history, then
estimating) and detaches it; nobody else may, and bad requests are refused with the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from generator.dataset import write_dataset
from server.nilm import Disaggregator
from tests.server.estimates.conftest import TZ, R, ac_entries, cli, live_household
from tests.server.nilm.conftest import minute_dataset
from tests.wait import wait_for

PASSWORD = "correct horse battery"


class Browser:
    """A signed-in user's client (its session cookie and CSRF token)."""

    def __init__(self, app: Flask, email: str) -> None:
        self.client: FlaskClient = app.test_client()
        r = self.client.post("/api/v1/session", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.get_json()
        self.csrf = r.get_json()["csrf_token"]
        self.user_id = r.get_json()["user"]["id"]

    def get(self, url: str) -> Any:
        return self.client.get(url)

    def write(self, method: str, url: str, **kw: Any) -> Any:
        return self.client.open(url, method=method, headers={"X-CSRF-Token": self.csrf}, **kw)


def add_user(app: Flask, tmp_path: Path, email: str, *owner_of: str) -> None:
    pw = tmp_path / "password.txt"
    pw.write_text(PASSWORD + "\n", encoding="utf-8")
    args = ["users", "add", email, "--password-file", str(pw)]
    for household in owner_of:
        args += ["--owner-of", household]
    from server.cli import main

    assert main([*args, "--data-dir", app.config["DATA_DIR"]]) == 0


def error_of(r: Any) -> tuple[int, str, str]:
    body = r.get_json()
    return r.status_code, body["error"]["code"], body["error"]["message"]


def test_an_owner_attaches_a_published_model_and_detaches_it(make_app, trained, tmp_path, capsys):  # noqa: ANN001
    model: Disaggregator = trained["model"]
    need = model.context_samples
    app = make_app()
    data_dir = app.config["DATA_DIR"]
    gl = app.extensions["gridlight"]
    _, _, post = live_household(app, trained)
    gl.keys.add_household("M", ("AC", "Overall"), timezone=TZ)  # meters its AC

    # the operator publishes; a centred model is refused (it could never run live)
    assert (
        cli("publish", "--model", str(trained["path"]), "--name", "ac-60s", "--data-dir", data_dir)
        == 0
    )
    published = json.loads(capsys.readouterr().out)
    assert (published["name"], published["appliance"], published["causal"]) == (
        "ac-60s",
        "AC",
        True,
    )
    assert cli("publish", "--model", str(trained["centred"]), "--data-dir", data_dir) == 2
    assert "centred" in capsys.readouterr().err
    assert cli("catalog", "--data-dir", data_dir) == 0
    assert [m["name"] for m in json.loads(capsys.readouterr().out)["models"]] == ["ac-60s"]

    add_user(app, tmp_path, "owner@example.org", "L", "M")
    add_user(app, tmp_path, "member@example.org")
    accounts = app.extensions["accounts"]
    owner = Browser(app, "owner@example.org")
    member = Browser(app, "member@example.org")
    accounts.memberships.add("L", member.user_id, "member")
    base = "/api/v1/households/L/estimates"

    # the catalog as the owner sees it: what L could attach, with its provenance
    r = owner.get(f"{base}/catalog")
    assert r.status_code == 200, r.get_json()
    (entry,) = r.get_json()["models"]
    assert entry["name"] == "ac-60s" and entry["model_resolution_s"] == R and entry["causal"]
    assert entry["trained_on"]["household"] == "A"
    assert entry["need_samples"] == need
    assert entry["on_level_w"] == model.header["on_level_w"]  # what rated_w is compared with
    # M meters its AC: nothing of the catalog is for it
    assert owner.get("/api/v1/households/M/estimates/catalog").get_json()["models"] == []

    # nobody else: signed out 401, a member 403 (owners only), an unknown household 404
    assert app.test_client().get(base).status_code == 401
    assert app.test_client().put(f"{base}/AC", json={"model": "ac-60s"}).status_code == 401
    for method, url in (
        ("GET", base),
        ("GET", f"{base}/catalog"),
        ("PUT", f"{base}/AC"),
        ("DELETE", f"{base}/AC"),
    ):
        r = member.write(method, url, json={"model": "ac-60s"})
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden", (method, url)
    assert owner.get("/api/v1/households/nobody/estimates").status_code == 404

    # bad requests, with the reason
    status, code, message = error_of(
        owner.write("PUT", f"{base}/AC", data="{", content_type="application/json")
    )
    assert (status, code) == (400, "invalid_json"), message
    status, code, message = error_of(owner.write("PUT", f"{base}/AC", json={"name": "ac-60s"}))
    assert status == 400 and "model" in message, message
    status, code, message = error_of(
        owner.write("PUT", f"{base}/AC", json={"model": "no such/model"})
    )
    assert status == 400 and "model" in message, message
    status, code, message = error_of(owner.write("PUT", f"{base}/AC", json={"model": "geyser-1"}))
    assert (status, code) == (404, "unknown_model") and "'geyser-1'" in message
    status, code, message = error_of(owner.write("PUT", f"{base}/Geyser", json={"model": "ac-60s"}))
    assert (status, code) == (400, "invalid_model") and "'AC', not 'Geyser'" in message
    status, code, message = error_of(
        owner.write("PUT", "/api/v1/households/M/estimates/AC", json={"model": "ac-60s"})
    )
    assert (status, code) == (409, "appliance_metered"), message
    for rated in ("big", -5, 0, 1e9, True):
        status, code, message = error_of(
            owner.write("PUT", f"{base}/AC", json={"model": "ac-60s", "rated_w": rated})
        )
        assert status == 400 and "rated_w: expected a number in [1, 100000]" in message, message
    status, code, message = error_of(
        owner.write("PUT", f"{base}/AC", json={"model": "ac-60s", "rated_w": 20_000})
    )
    assert (status, code) == (400, "invalid_model"), message
    assert "rated_w: a rating of 20000 W is not within" in message, message
    status, code, _ = error_of(owner.write("DELETE", f"{base}/AC"))
    assert (status, code) == (404, "unknown_estimate")
    assert owner.get(base).get_json() == {"household": "L", "live": True, "estimates": []}

    engine = app.extensions["estimates"].engine

    def loaded(rated_w: float | None) -> bool:
        """The estimator holds L's AC model with this rating."""
        listener = engine.listener("L")
        found = None if listener is None else listener.models.get("AC")
        return found is not None and found.model.rated_w == rated_w

    # with the household's rating (its AC is larger than the one the model learned) ...
    r = owner.write("PUT", f"{base}/AC", json={"model": "ac-60s", "rated_w": 2200})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["rated_w"] == 2200.0
    assert r.get_json()["on_threshold_w"] == pytest.approx(model.rated(2200.0).on_threshold_w)
    (audited,) = [
        e for e in accounts.audit.of_household("L", limit=100) if e["event"] == "estimate_attached"
    ]
    assert audited["detail"]["rated_w"] == 2200.0
    wait_for(lambda: loaded(2200.0), what="the estimator to load the rated model", timeout_s=30.0)
    # ... and attached again without one: the model as trained replaces it
    # (a live household with no history yet: the estimator takes it up and waits)
    r = owner.write("PUT", f"{base}/AC", json={"model": "ac-60s"})
    assert r.status_code == 200, r.get_json()
    attached = r.get_json()
    assert attached["rated_w"] is None
    assert attached["on_threshold_w"] == model.on_threshold_w
    assert (attached["household"], attached["appliance"], attached["model"]) == (
        "L",
        "AC",
        "ac-60s",
    )
    assert attached["state"] == "pending" and attached["model_resolution_s"] == R
    wait_for(
        lambda: loaded(None),
        what="the estimator to load the model attached over HTTP",
        timeout_s=30.0,
    )
    wait_for(
        lambda: engine.job.followings["L"].subscribed.is_set(), what="L followed", timeout_s=30.0
    )
    assert app.test_client().get("/api/v1/households/L").get_json()["estimated"] == ["AC"]

    def state() -> dict:
        (found,) = owner.get(base).get_json()["estimates"]
        return found

    post(0, 3)  # far too little history
    wait_for(
        lambda: state()["state"] == "waiting_for_history",
        what="waiting_for_history",
        timeout_s=30.0,
    )
    assert state()["need_samples"] == need and state()["model"] == "ac-60s"
    post(3, need + 2)
    wait_for(lambda: len(ac_entries(app, "L")) == 2, what="the first estimates", timeout_s=30.0)
    wait_for(lambda: state()["state"] == "estimating", what="the estimating state", timeout_s=30.0)

    # unpublishing leaves the attached copy estimating; detaching stops it
    assert cli("unpublish", "--name", "ac-60s", "--data-dir", data_dir) == 0
    assert "still attached (a copy) to: L" in capsys.readouterr().out
    assert owner.get(f"{base}/catalog").get_json()["models"] == []
    assert state()["state"] == "estimating"
    assert owner.write("DELETE", f"{base}/AC").status_code == 204
    wait_for(lambda: "L" not in engine.job.followings, what="L let go", timeout_s=30.0)
    post(need + 2, need + 4)
    assert len(ac_entries(app, "L")) == 2
    assert owner.get(base).get_json()["estimates"] == []
    assert "estimated" not in app.test_client().get("/api/v1/households/L").get_json()
    audit = [e["event"] for e in accounts.audit.of_household("L", limit=100)]
    assert "estimate_attached" in audit and "estimate_detached" in audit


def test_a_household_served_from_a_dataset_is_409(make_app, trained, tmp_path, capsys):  # noqa: ANN001
    app = make_app(NILM_ENABLED=False)
    data_dir = Path(app.config["DATA_DIR"])
    write_dataset(minute_dataset(days=1, households=("A",)), data_dir / "demo")
    assert (
        cli("publish", "--model", str(trained["path"]), "--name", "ac", "--data-dir", str(data_dir))
        == 0
    )
    # registered as well (as a demo household is, for its key): served from its dataset still
    app.extensions["gridlight"].keys.add_household("A", ("AC", "Geyser", "Overall"), timezone=TZ)
    add_user(app, tmp_path, "owner@example.org")
    owner = Browser(app, "owner@example.org")
    app.extensions["accounts"].memberships.add("A", owner.user_id, "owner")
    assert app.extensions["gridlight"].households.is_live("A") is False
    r = owner.write("PUT", "/api/v1/households/A/estimates/AC", json={"model": "ac"})
    status, code, message = error_of(r)
    assert (status, code) == (409, "not_live") and "nilm apply" in message
    assert error_of(owner.get("/api/v1/households/A/estimates/catalog"))[:2] == (409, "not_live")
    assert owner.get("/api/v1/households/A/estimates").get_json() == {
        "household": "A",
        "live": False,
        "estimates": [],
    }
