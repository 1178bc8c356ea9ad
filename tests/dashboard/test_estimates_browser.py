"""Settings → Appliance estimates in headless Chromium (Debian's, through Playwright) against the
app served on loopback, accounts on and demo mode off:

* the operator publishes a causal AC model (``python -m server nilm publish``); the owner of a
  live household with only ``Overall`` sees it in the form, labelled with what it learned where;
* a rating the API refuses (out of the model's range, or not a number) shows the API's sentence
  next to the form and marks the field ``aria-invalid``; nothing is attached;
* attaching with rating 2200 lists the estimate with its rating and state, as GET …/estimates
  has it (``rated_w`` 2200); Detach removes it (GET …/estimates is empty again);
* a member (403) and a household served from a dataset (409 ``not_live``) get the API's
  explanation and no form; with nothing published, the owner is told how models are published;
* axe-core finds no serious or critical violation, and the page fits 360 px.

The live estimator is off (``NILM_ENABLED`` defaults to off under ``TESTING``): an attached model
stays ``pending``, which is the state the panel shows; the states after it (as
``tests/server/estimates/test_http.py`` sees the estimator record them) are checked through the
module's ``stateText``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page

from server.cli import main
from server.nilm import Disaggregator
from tests.dashboard.conftest import CHANNELS, Served, accounts_config
from tests.dashboard.test_accounts_browser import (
    PASSWORD,
    confirmed_account,
    fits_width,
    serious_violations,
)
from tests.server.nilm.conftest import minute_dataset

MODEL = "ac-causal-60s"
TZ = "Asia/Kolkata"


@pytest.fixture(scope="module")
def ac_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Disaggregator]:
    """A causal AC model trained on three days of synthetic household A at 1 min (seconds)."""
    ds = minute_dataset(days=3, households=("A",))
    model = Disaggregator.fit(
        ds.frame("A"), "AC", ds.household("A"), causal=True, min_history_days=2
    )
    return model.save(tmp_path_factory.mktemp("estimates-ui") / "ac.model"), model


@pytest.fixture
def site(make_app, smtp, ac_model) -> Iterator[Served]:  # noqa: ANN001
    """Live H (Overall only) and M, dataset household A registered too; the model published."""
    app: Flask = make_app(**accounts_config(smtp))
    keys = app.extensions["gridlight"].keys
    keys.add_household("H", ("Overall",), timezone=TZ)
    keys.add_household("M", ("Overall",), timezone=TZ)
    keys.add_household("A", CHANNELS, timezone=TZ)  # served from its dataset still
    path, _ = ac_model
    argv = ["nilm", "publish", "--model", str(path), "--name", MODEL]
    assert main([*argv, "--data-dir", app.config["DATA_DIR"]]) == 0
    with Served(app) as served:
        yield served


def estimates(page: Page, base: str, household: str = "H") -> dict:
    r = page.request.get(f"{base}/api/v1/households/{household}/estimates")
    assert r.ok, r.text()
    return r.json()


def test_an_owner_attaches_and_detaches_a_model_from_the_settings(
    site: Served,
    smtp,  # noqa: ANN001
    page: Page,
    ac_model: tuple[Path, Disaggregator],
    out_dir: Path,
):
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    base = site.url
    confirmed_account(base, smtp, "olive@example.org", "Olive")
    signed = page.request.post(
        f"{base}/api/v1/session", data={"email": "olive@example.org", "password": PASSWORD}
    )
    assert signed.ok, signed.text()
    memberships = site.app.extensions["accounts"].memberships
    user_id = signed.json()["user"]["id"]
    memberships.add("H", user_id, "owner")
    memberships.add("A", user_id, "owner")
    memberships.add("M", user_id, "member")

    page.goto(f"{base}/?household=H")
    page.wait_for_selector("body[data-loaded='H']", timeout=60_000)
    page.wait_for_selector("#set-estimates[data-household='H'] #estimate-form:not([hidden])")
    _, model = ac_model
    options = page.eval_on_selector_all("#estimate-model option", "(os) => os.map((o) => o.text)")
    # Intl rounds half up (Python's format rounds half to even)
    learned = f"{math.floor(model.header['on_level_w'] + 0.5):,}"
    assert options == [f"{MODEL}: AC, learned {learned} W on household A"]
    assert page.text_content("#estimate-list") == "No appliance is estimated yet."
    need = model.context_samples
    assert page.text_content("#estimate-model-about") == (
        f"AC, learned {learned} W when on, on household A. It needs "
        f"{need} windows of 60 s ({need // 60} h {need % 60} min) of history before its first "
        "estimate."
    )
    # the rating's hint is the input's description
    described_by = page.get_attribute("#estimate-rated", "aria-describedby")
    assert described_by == "estimate-rated-hint estimates-msg"

    # a rating far from the learned level: the API's sentence beside the form, the field marked
    page.fill("#estimate-rated", "20000")
    page.click("#estimate-submit")
    page.wait_for_selector("#estimates-msg.error:not([hidden])")
    message = page.text_content("#estimates-msg")
    assert message.startswith("Not attached: rated_w: a rating of 20000 W is not within"), message
    assert page.get_attribute("#estimate-rated", "aria-invalid") == "true"
    page.fill("#estimate-rated", "big")
    page.click("#estimate-submit")
    page.wait_for_selector("#estimates-msg:has-text('rated_w: expected a number')")
    assert page.text_content("#estimates-msg").startswith(
        "Not attached: rated_w: expected a number in [1, 100000]"
    )
    assert page.get_attribute("#estimate-rated", "aria-invalid") == "true"
    assert estimates(page, base)["estimates"] == []

    # with this household's rating: listed with it and its state, as the API has it
    page.fill("#estimate-rated", "2200")
    page.click("#estimate-submit")
    page.wait_for_selector("#estimates-msg.ok:has-text('AC is estimated by')")
    assert page.get_attribute("#estimate-rated", "aria-invalid") is None
    (attached,) = estimates(page, base)["estimates"]
    assert (attached["appliance"], attached["model"], attached["rated_w"]) == ("AC", MODEL, 2200)
    assert attached["state"] == "pending"
    item = "#estimate-list li[data-appliance='AC']"
    assert page.get_attribute(item, "data-state") == "pending"
    text = page.text_content(item)
    assert f"AC · {MODEL}" in text and "Trained on household A" in text
    assert "rated 2,200 W here" in text
    assert "State: pending: the estimator takes it up shortly" in text
    # attaching again would replace it: the form says so
    assert "(replaces the attached one)" in page.text_content("#estimate-model option")
    assert "Attaching it replaces the AC model attached now." in page.text_content(
        "#estimate-model-about"
    )

    assert serious_violations(page) == []
    page.evaluate("() => { document.querySelector('.tabs').style.position = 'static'; }")
    page.locator("#set-estimates").screenshot(path=str(out_dir / "estimates-1280.png"))
    fits_width(page, 360)
    page.locator("#set-estimates").screenshot(path=str(out_dir / "estimates-360.png"))
    assert serious_violations(page) == []
    page.set_viewport_size({"width": 1280, "height": 900})

    page.click(f"{item} button:text-is('Detach')")
    page.wait_for_selector("#estimates-msg.ok:has-text('AC is no longer estimated')")
    page.wait_for_selector(item, state="detached")
    assert estimates(page, base)["estimates"] == []

    # a member: the API's refusal (owners only), no form
    page.select_option("#household", "M")
    page.wait_for_selector("#set-estimates[data-household='M']")
    assert page.is_hidden("#estimate-form")
    assert "Only its owners may see the appliance models of household 'M'; you are a member" in (
        page.text_content("#estimates-msg")
    )
    # a household served from a dataset: 409 not_live says why, no form
    page.select_option("#household", "A")
    page.wait_for_selector("#set-estimates[data-household='A']")
    assert page.is_hidden("#estimate-form")
    assert "nilm apply" in page.text_content("#estimates-msg")

    # nothing published: the owner is told how models come
    argv = ["nilm", "unpublish", "--name", MODEL, "--data-dir", site.app.config["DATA_DIR"]]
    assert main(argv) == 0
    page.select_option("#household", "H")
    page.wait_for_selector(
        "#set-estimates[data-household='H'] #estimate-catalog-note:not([hidden])"
    )
    assert page.is_hidden("#estimate-form")
    assert page.text_content("#estimate-catalog-note") == (
        "No published model fits this household yet: the operator publishes models with "
        "python -m server nilm publish."
    )

    # the estimator's later states, in words (the estimator does not run here)
    states = page.evaluate(
        """async () => {
          const {stateText} = await import("/dashboard/static/js/estimates.js");
          const recent = new Date(Date.now() - 60000);
          return [
            stateText({state: "starting", need_samples: 498}, "UTC"),
            stateText({state: "waiting_for_history", have_samples: 120, need_samples: 498}, "UTC"),
            stateText({state: "estimating", last_estimate_of: recent.toISOString()}, "UTC"),
            stateText({state: "failed", reason: "model file damaged"}, "UTC"),
            recent.toISOString().slice(11, 16),
          ];
        }"""
    )
    assert states[:2] == [
        "starting: waiting for the first model window to close",
        "waiting for history: 120 of 498 model windows",
    ]
    assert states[2] == f"estimating, last estimate {states[4]}"
    assert states[3] == "failed: model file damaged"
    assert errors == []
