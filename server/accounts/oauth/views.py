"""The OAuth 2.0 routes: the consent screen, the token and revocation endpoints, and the
server's metadata.

* ``GET /oauth/authorize``: the request is checked first (an unknown client or a redirect URI it
  did not register answers 400 JSON and never redirects; other errors go back to the client's
  redirect URI as RFC 6749 §4.1.2.1 says). A visitor who is not signed in is sent to the
  dashboard's sign-in page with ``?next=`` this URL; a signed-in user sees a server-rendered
  page naming the client and each scope, with approve and deny.
* ``POST /oauth/authorize`` (the page's form): the session's CSRF token travels in the form
  (``csrf_token``); approve redirects to the client with ``code`` and ``state``, deny with
  ``error=access_denied``.
* ``POST /oauth/token`` and ``POST /oauth/revoke``: authlib's endpoints; their errors keep
  RFC 6749's shape (``{"error": …, "error_description": …}``), which OAuth clients parse.
* ``GET /.well-known/oauth-authorization-server``: RFC 8414 metadata.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request
from flask import session as flask_session

from server.accounts.errors import CsrfFailed, NotSignedIn
from server.accounts.oauth.server import metadata, public_url
from server.accounts.oauth.store import SCOPES
from server.accounts.sessions import csrf_token, signed_in
from server.errors import BadRequest, error_body

__all__ = ["blueprint"]

blueprint = Blueprint("oauth", __name__, template_folder="templates")


def _ext() -> Any:
    return current_app.extensions["oauth"]


def _oauth_error(err: OAuth2Error) -> Response:
    """Back to the client when its redirect URI is known and checked, else 400 JSON."""
    if err.redirect_uri:
        return _ext().server.handle_error_response(None, err)
    description = err.description or err.error
    body = error_body(err.error, f"this authorization request is invalid: {description}")
    return Response(
        jsonify(body).get_data(), status=err.status_code or 400, mimetype="application/json"
    )


def _no_framing(response: Response) -> Response:
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' *; "
        "frame-ancestors 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/oauth/authorize")
def authorize_page():  # noqa: ANN201
    ext = _ext()
    try:
        grant = ext.server.get_consent_grant(end_user=None)
    except OAuth2Error as err:
        return _oauth_error(err)
    user = signed_in()
    if user is None:
        page = current_app.config["OAUTH_SIGN_IN_PAGE"]
        return redirect(f"{page}?{urlencode({'next': request.full_path})}", 302)
    client = grant.client
    scopes = grant.request.scope.split()
    html = render_template(
        "oauth/consent.html",
        client=client,
        user=user,
        scopes=[(s, SCOPES[s]) for s in scopes],
        redirect_host=grant.redirect_uri,
        csrf_token=csrf_token(),
        action=request.full_path,
    )
    return _no_framing(Response(html, mimetype="text/html"))


@blueprint.post("/oauth/authorize")
def authorize_decision():  # noqa: ANN201
    ext = _ext()
    user = signed_in()
    if user is None:
        raise NotSignedIn("sign in first, then approve or deny from the consent page")
    sent = request.form.get("csrf_token", "")
    token = flask_session.get("csrf")
    if not token or not sent or not hmac.compare_digest(str(token), sent):
        raise CsrfFailed("the consent form must carry the session's csrf_token: reload the page")
    decision = request.form.get("decision")
    if decision not in ("approve", "deny"):
        raise BadRequest(f"decision must be 'approve' or 'deny', got {decision!r}")
    try:
        grant = ext.server.get_consent_grant(end_user=user)
    except OAuth2Error as err:
        return _oauth_error(err)
    approved = decision == "approve"
    response = ext.server.create_authorization_response(
        grant_user=user if approved else None, grant=grant
    )
    current_app.extensions["accounts"].audit.record(
        "oauth_consent" if approved else "oauth_denied",
        user_id=user.id,
        detail={"client": grant.client.client_id, "scope": grant.request.scope},
    )
    return response


@blueprint.post("/oauth/token")
def token():  # noqa: ANN201
    try:
        return _ext().server.create_token_response()
    except OAuth2Error as err:  # an insecure transport, before authlib's own handling
        return _ext().server.handle_error_response(None, err)


@blueprint.post("/oauth/revoke")
def revoke():  # noqa: ANN201
    try:
        return _ext().server.create_endpoint_response("revocation")
    except OAuth2Error as err:
        return _ext().server.handle_error_response(None, err)


@blueprint.get("/.well-known/oauth-authorization-server")
def server_metadata():  # noqa: ANN201
    issuer = current_app.config["OAUTH_ISSUER"]
    if not issuer:
        url = public_url(request)
        issuer = url[: url.index("/", url.index("//") + 2)]
    return jsonify(metadata(str(issuer).rstrip("/")))
