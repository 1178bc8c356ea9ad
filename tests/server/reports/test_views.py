"""``GET …/reports`` and ``GET …/reports/{yyyy-mm}.pdf``: list, PDF with ETag, 304, 400, 401,
404."""

from __future__ import annotations

import hashlib

import pytest

from tests.server.reports.conftest import utc


@pytest.fixture
def app(make_app):  # noqa: ANN001, ANN201
    app = make_app()
    app.extensions["reports"].scheduler.run_once(utc("2026-02-01 00:00:01"))
    return app


def test_the_list_names_each_report(app):  # noqa: ANN001
    body = app.test_client().get("/api/v1/households/Z/reports").get_json()
    (report,) = body["reports"]
    pdf = (app.extensions["reports"].store.get("Z", "2026-01").path).read_bytes()
    assert report["month"] == "2026-01"
    assert report["size_bytes"] == len(pdf)
    assert report["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert report["url"] == "/api/v1/households/Z/reports/2026-01.pdf"
    assert report["created_at"].endswith("Z")
    assert report["summary"]["energy_kwh"] > 0


def test_the_pdf_is_served_with_its_hash_as_etag(app):  # noqa: ANN001
    client = app.test_client()
    response = client.get("/api/v1/households/Z/reports/2026-01.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data[:5] == b"%PDF-"
    digest = hashlib.sha256(response.data).hexdigest()
    assert response.headers["ETag"] == f'"{digest}"'
    again = client.get(
        "/api/v1/households/Z/reports/2026-01.pdf", headers={"If-None-Match": f'"{digest}"'}
    )
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/households/Z/reports/2026-02.pdf", 404, "not_found"),  # not generated
        ("/api/v1/households/Z/reports/2026-13.pdf", 400, "invalid_parameter"),
        ("/api/v1/households/Z/reports/2099-01.pdf", 400, "invalid_parameter"),  # future
        ("/api/v1/households/Z/reports/0000-01.pdf", 400, "invalid_parameter"),  # found by fuzzing
        ("/api/v1/households/nope/reports", 404, "unknown_household"),
        ("/api/v1/households/nope/reports/2026-01.pdf", 404, "unknown_household"),
        ("/api/v1/households/Y/reports", 401, "unauthorized"),  # not open, no key
        ("/api/v1/households/Y/reports/2026-01.pdf", 401, "unauthorized"),
    ],
)
def test_errors(app, path: str, status: int, code: str):  # noqa: ANN001
    response = app.test_client().get(path)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
