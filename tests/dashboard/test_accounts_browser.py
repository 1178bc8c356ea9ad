"""Accounts in the dashboard, in headless Chromium (Debian's, driven by Playwright) against the
app served on loopback with demo mode off, its emails caught by the local SMTP stand-in:

* sign up → the emailed link confirms → sign in → add a household → the dashboard shows it →
  change a setting (and see a refused one explained) → create and revoke a key (the revoked key
  gets 401 at once) → sign out, and ``/`` asks for sign-in again;
* forgot password → the emailed link → a new password → sign in with it (the old one fails);
* axe-core finds no serious or critical violation on the sign-in page and the dashboard.

Screenshots go to ``$GRIDLIGHT_SCREENSHOTS_DIR`` when set (``docs/screenshots``), else to the
test's temporary directory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import requests
from flask import Flask
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from tests.dashboard.conftest import Served, accounts_config
from tests.server.accounts.conftest import last_mail

AXE = Path(__file__).resolve().parent / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery"
#: axe-core's findings as plain data: rule, impact, help and the first few nodes.
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" "))}));
}"""


@pytest.fixture
def site(make_app, smtp) -> Iterator[Served]:  # noqa: ANN001
    app: Flask = make_app(**accounts_config(smtp))
    with Served(app) as served:
        yield served


def serious_violations(page: Page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed at {AXE}: run `make axe` (make test does)")
    page.add_script_tag(path=str(AXE))
    return [v for v in page.evaluate(AXE_RUN) if v["impact"] in ("serious", "critical")]


#: Elements that stick out past the viewport's right edge (what makes a page scroll sideways).
OVERFLOWING = """() => {
  const clipped = (n) => { for (let p = n.parentElement; p; p = p.parentElement) {
    if (["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(p).overflowX)) return true; }
    return false; };
  return [...document.querySelectorAll("body *")]
    .filter((n) => n.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5 && !clipped(n))
    .map((n) => `${n.tagName.toLowerCase()}${n.id ? "#" + n.id : ""}.${n.className}`).slice(0, 8);
}"""


def fits_width(page: Page, width: int) -> None:
    """No horizontal scrolling at ``width`` px; else the elements that overflow are named."""
    page.set_viewport_size({"width": width, "height": 780})
    try:
        page.wait_for_function(f"() => document.documentElement.scrollWidth <= {width}")
    except PlaywrightError:
        raise AssertionError(f"wider than {width} px: {page.evaluate(OVERFLOWING)}") from None


def emailed_link(smtp, to: str) -> str:  # noqa: ANN001
    text = last_mail(smtp, to).get_content()
    found = re.search(r"https?://\S+", text)
    assert found is not None, text
    return found[0]


def confirmed_account(base: str, smtp, email: str, name: str) -> None:  # noqa: ANN001
    """Sign ``email`` up over the API and confirm it with the emailed link's token."""
    r = requests.post(
        f"{base}/api/v1/users",
        json={"email": email, "password": PASSWORD, "name": name},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    token = urlsplit(emailed_link(smtp, email)).query.removeprefix("token=")
    r = requests.post(f"{base}/api/v1/users/verify", json={"token": unquote(token)}, timeout=30)
    assert r.status_code == 200, r.text


def problem_text(page: Page) -> str:
    page.wait_for_selector("#problem:not([hidden])")
    return page.text_content("#problem") or ""


def test_sign_up_verify_sign_in_settings_keys_sign_out(
    site: Served,
    smtp,  # noqa: ANN001
    page: Page,
    out_dir: Path,
):
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    base = site.url

    # signed out, / sends to the sign-in page, which comes back to / afterwards
    page.goto(f"{base}/")
    assert urlsplit(page.url).path == "/dashboard/sign-in"
    page.wait_for_selector("body[data-ready]")
    assert serious_violations(page) == []
    page.screenshot(path=str(out_dir / "sign-in-1280.png"), full_page=True)
    fits_width(page, 360)
    page.screenshot(path=str(out_dir / "sign-in-360.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # sign up: a short password is refused with the API's words, then a good one
    page.click("text=Create an account")
    page.wait_for_selector("body[data-ready]")
    page.fill("#name", "Ada Lovelace")
    page.fill("#email", "ada@example.org")
    page.fill("#password", "short")
    page.click("button[type=submit]")
    assert "password: expected a password of 10 to 1024 characters" in problem_text(page)
    assert page.get_attribute("#password", "aria-invalid") == "true"
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#done:not([hidden])")
    assert "we sent a link to ada@example.org" in page.text_content("#done")
    page.screenshot(path=str(out_dir / "sign-up-1280.png"), full_page=True)

    # signing in before confirming is refused, and says why
    page.goto(f"{base}/dashboard/sign-in")
    page.wait_for_selector("body[data-ready]")
    page.fill("#email", "ada@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    assert "confirm ada@example.org first" in problem_text(page)

    # the emailed link confirms the address
    link = emailed_link(smtp, "ada@example.org")
    assert urlsplit(link).path == "/dashboard/verify-email"
    page.goto(link)
    page.wait_for_selector("#done:not([hidden])")
    assert "ada@example.org is confirmed" in page.text_content("#done")
    page.screenshot(path=str(out_dir / "verify-email-1280.png"), full_page=True)

    # a wrong password, then the right one; back to the dashboard
    page.click("#next-link")
    page.wait_for_selector("body[data-ready]")
    page.fill("#email", "ada@example.org")
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    assert "wrong email or password" in problem_text(page)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.wait_for_selector("#who:not([hidden])")
    assert page.text_content("#who") == "Ada Lovelace"
    assert page.is_hidden("#key-box")  # signed in: no key to paste
    page.wait_for_selector("body[data-loaded='none']")
    assert "You have no household yet" in page.text_content("#live-msg")

    # add a household: the dashboard shows it, Ada its owner
    page.fill("#new-id", "H7")
    page.fill("#new-name", "Flat 7")
    page.fill("#new-timezone", "Europe/Paris")
    page.fill("#new-channels", "Overall, Geyser")
    page.click("#new-household-form button[type=submit]")
    page.wait_for_selector("body[data-loaded='H7']")
    assert page.input_value("#household") == "H7"
    options = page.eval_on_selector_all("#household option", "(os) => os.map((o) => o.textContent)")
    assert options == ["Flat 7 (H7) · owner"]
    assert "Its meter key (shown once): gl_" in page.text_content("#new-msg")

    # change a setting: a refused value is explained, a good one saved (as the API now says)
    page.wait_for_selector("#alerts-form:not([hidden])")
    page.fill("#alerts-cooldown", "99999999")
    page.click("#alerts-form button[type=submit]")
    page.wait_for_selector("#alerts-form-msg.error")
    assert page.text_content("#alerts-form-msg") == (
        "Not saved: cooldown_min: expected a whole number in [0, 10080], got 99999999"
    )
    assert page.get_attribute("#alerts-cooldown", "aria-invalid") == "true"
    page.fill("#alerts-cooldown", "15")
    page.check("#alerts-form input[name=quiet]")
    page.fill("#alerts-quiet-start", "22:30")
    page.fill("#alerts-quiet-end", "06:45")
    page.click("#alerts-form button[type=submit]")
    page.wait_for_selector("#alerts-form-msg.ok")
    saved = page.request.get(f"{base}/api/v1/households/H7/alert-settings").json()["settings"]
    assert saved["cooldown_min"] == 15
    assert saved["quiet_hours"] == {"start": "22:30", "end": "06:45"}

    # tariff: a flat one, priced at once
    page.wait_for_selector("#tariff-form:not([hidden])")
    page.fill("#tariff-currency", "eur")
    page.fill("#tariff-price", "0.31")
    page.fill("#tariff-standing", "0.5")
    page.click("#tariff-form button[type=submit]")
    page.wait_for_selector("#tariff-form-msg.ok")
    assert "0.31 EUR/kWh" in page.text_content("#tariff-now")

    # keys: create one (its secret shown once), it works; revoke it, it is refused at once
    page.wait_for_selector("#key-create-form:not([hidden])")
    page.fill("#key-label", "Browser test")
    page.click("#key-create-form button[type=submit]")
    page.wait_for_selector("#key-new:not([hidden])")
    key = page.text_content("#key-secret")
    assert key and key.startswith("gl_")
    headers = {"Authorization": f"Bearer {key}"}
    url = f"{base}/api/v1/households/H7/alert-settings"
    assert requests.get(url, headers=headers, timeout=10).status_code == 200
    key_id = key.split("_")[1]
    row = f"#key-list li[data-key='{key_id}']"
    assert "Browser test" in page.text_content(row)
    page.screenshot(path=str(out_dir / "settings-1280.png"), full_page=True)
    page.click(f"{row} button")
    page.wait_for_selector("#keys-msg:has-text('is revoked')")
    assert page.query_selector(row) is None
    assert requests.get(url, headers=headers, timeout=10).status_code == 401

    # members: invite a confirmed account, change its role, revoke it
    assert "Ada Lovelace" in page.text_content("#member-list")
    confirmed_account(base, smtp, "grace@example.org", "Grace")
    page.fill("#invite-email", "nobody@example.org")
    page.click("#invite-form button[type=submit]")
    page.wait_for_selector("#members-msg.error")
    assert "no verified account has the email 'nobody@example.org'" in page.text_content(
        "#members-msg"
    )
    page.fill("#invite-email", "grace@example.org")
    page.select_option("#invite-role", "viewer")
    page.click("#invite-form button[type=submit]")
    page.wait_for_selector("#members-msg:has-text('Grace is now a viewer')")
    grace = page.get_attribute("#member-list li:has-text('Grace')", "data-member")
    page.select_option(f"#role-{grace}", "member")
    page.click(f"#member-list li[data-member='{grace}'] button:text-is('Change role')")
    page.wait_for_selector("#members-msg:has-text('Grace is now member')")
    roles = page.request.get(f"{base}/api/v1/households/H7/members").json()["members"]
    assert {m["name"]: m["role"] for m in roles} == {"Ada Lovelace": "owner", "Grace": "member"}
    page.click(f"#member-list li[data-member='{grace}'] button:text-is('Revoke')")
    page.wait_for_selector("#members-msg:has-text('Grace no longer has a role here')")
    roles = page.request.get(f"{base}/api/v1/households/H7/members").json()["members"]
    assert [m["name"] for m in roles] == ["Ada Lovelace"]

    # consent: a household made over HTTP has collection only; give analytics, for this wording
    page.wait_for_selector("#consent-form input[name='analytics']")
    assert page.is_checked("#consent-form input[name='collection']")
    assert not page.is_checked("#consent-form input[name='analytics']")
    page.check("#consent-form input[name='analytics']")
    page.click("#consent-form button[type=submit]")
    page.wait_for_selector("#consent-msg:has-text('Consent saved')")
    given = page.request.get(f"{base}/api/v1/households/H7/consent").json()
    assert {p: c["granted"] for p, c in given["consents"].items()} == {
        "collection": True,
        "analytics": True,
        "recommendations": False,
        "sharing": False,
    }
    assert given["consents"]["analytics"]["version"] == given["version"]

    # the dashboard passes axe at both widths
    assert serious_violations(page) == []
    fits_width(page, 360)
    page.screenshot(path=str(out_dir / "settings-360.png"), full_page=True)
    assert serious_violations(page) == []

    # sign out: back to the sign-in page, and / asks for it again
    page.click("#sign-out")
    page.wait_for_url(re.compile(r".*/dashboard/sign-in$"))
    assert page.request.get(f"{base}/api/v1/session").status == 401
    page.goto(f"{base}/")  # the service worker may serve the cached shell: its script redirects
    page.wait_for_url(re.compile(r".*/dashboard/sign-in\?next=%2F$"))
    assert errors == []


def test_reset_password_in_the_browser(site: Served, smtp, page: Page, out_dir: Path):  # noqa: ANN001
    base = site.url
    r = requests.post(
        f"{base}/api/v1/users",
        json={"email": "bob@example.org", "password": PASSWORD, "name": "Bob"},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))

    page.goto(f"{base}/dashboard/sign-in")
    page.click("text=Forgot your password?")
    page.wait_for_selector("body[data-ready]")
    page.fill("#email", "bob@example.org")
    page.click("button[type=submit]")
    page.wait_for_selector("#done:not([hidden])")
    assert "If an account has this email" in page.text_content("#done")
    page.screenshot(path=str(out_dir / "reset-password-1280.png"), full_page=True)

    link = emailed_link(smtp, "bob@example.org")
    assert urlsplit(link).path == "/dashboard/reset-password"
    page.goto(link)
    page.wait_for_selector("body[data-ready]")
    assert page.text_content("h1") == "Choose a new password"
    page.fill("#password", "tiny")
    page.click("button[type=submit]")
    assert "password: expected a password of 10 to 1024 characters" in problem_text(page)
    page.fill("#password", "a brand new passphrase")
    page.click("button[type=submit]")
    page.wait_for_selector("#done:not([hidden])")
    assert "Your password is changed" in page.text_content("#done")

    # the link works once
    page.goto(link)
    page.wait_for_selector("body[data-ready]")
    page.fill("#password", "yet another passphrase")
    page.click("button[type=submit]")
    assert "used already" in problem_text(page)

    # the old password fails, the new one signs in (the link also confirmed the email)
    page.goto(f"{base}/dashboard/sign-in?next=/%3Fhousehold%3DX")
    page.wait_for_selector("body[data-ready]")
    page.fill("#email", "bob@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    assert "wrong email or password" in problem_text(page)
    page.fill("#password", "a brand new passphrase")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/?household=X")
    page.wait_for_selector("#who:not([hidden])")
    assert page.text_content("#who") == "Bob"
    assert errors == []


def test_next_never_leaves_the_site(site: Served, smtp, page: Page):  # noqa: ANN001
    """A crafted sign-in link cannot send the user elsewhere after signing in."""
    from tests.dashboard.test_users_cli import PASSWORD as CLI_PASSWORD

    db_user = requests.post(
        f"{site.url}/api/v1/users",
        json={"email": "eve@example.org", "password": CLI_PASSWORD, "name": "Eve"},
        timeout=30,
    )
    assert db_user.status_code == 201
    link = emailed_link(smtp, "eve@example.org")
    page.goto(link)
    page.wait_for_selector("#done:not([hidden])")
    page.goto(f"{site.url}/dashboard/sign-in?next=//evil.example/steal")
    page.wait_for_selector("body[data-ready]")
    page.fill("#email", "eve@example.org")
    page.fill("#password", CLI_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/")
