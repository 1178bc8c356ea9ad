"""The accounts' routes (``/api/v1``), JSON in and out, bodies validated by the models below
(their schemas are the OpenAPI document's, :mod:`server.openapi.schemas`).

Access: sign-up, verification, sign-in and password reset are open (and rate limited); the
rest need the session cookie (401 ``not_signed_in`` without it), and their writes the session's
``X-CSRF-Token`` (403 ``csrf_failed``), or, except the session's own routes, an OAuth access
token with the scope: ``read`` for ``/me`` and the member list, ``write`` to create a household,
``admin`` to invite, change roles, revoke and read the audit log. A household's members are listed to any of its members (emails to its
owners only); inviting, changing roles, revoking and reading the audit log are for its owners;
anyone may leave, except its last owner (409 ``last_owner``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint, Response, current_app, jsonify, request, session
from flask_login import login_user, logout_user
from pydantic import ConfigDict, Field

from server.accounts.errors import (
    EmailNotVerified,
    HouseholdTaken,
    InvalidCredentials,
    InvalidToken,
    NotSignedIn,
    UnknownUser,
)
from server.accounts.members import ROLES
from server.accounts.sessions import SessionUser, csrf_token, require_csrf, signed_in
from server.accounts.users import User
from server.api.params import json_body
from server.auth import InvalidAccessToken, oauth_actor
from server.errors import Forbidden, InvalidParameter, UnknownHousehold
from server.services import state
from server.storage.consent import CREATED
from server.storage.keys import HouseholdExists, RegistryError
from server.validation import Body, expect, parse

__all__ = [
    "HouseholdCreate",
    "MemberInvite",
    "MemberRole",
    "PasswordReset",
    "PasswordResetConfirm",
    "SignIn",
    "SignUp",
    "VerifyEmail",
    "blueprint",
]

#: Minimum and maximum length of a password (characters).
PASSWORD_MIN, PASSWORD_MAX = 10, 1024
EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$"
#: A name shown to others: no control characters (PostgreSQL refuses NUL in text, too).
NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"
HOUSEHOLD_ID = r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$"
CHANNEL = r"^[A-Za-z][A-Za-z0-9]{0,31}$"
#: Pages of the dashboard that email links open (they POST the token to the API).
VERIFY_PAGE = "/dashboard/verify-email"
RESET_PAGE = "/dashboard/reset-password"

Email = Annotated[
    str,
    Field(
        min_length=3,
        max_length=254,
        pattern=EMAIL_PATTERN,
        description="an email address",
        examples=["ada@example.org"],
    ),
    expect("an email address (name@domain) of at most 254 characters"),
]
Password = Annotated[
    str,
    Field(
        min_length=PASSWORD_MIN,
        max_length=PASSWORD_MAX,
        description=f"a password of {PASSWORD_MIN} to {PASSWORD_MAX} characters",
        examples=["correct horse battery"],
    ),
    expect(f"a password of {PASSWORD_MIN} to {PASSWORD_MAX} characters", secret=True),
]
Token = Annotated[
    str,
    Field(min_length=1, max_length=2000, description="the token=… of the emailed link"),
    expect("the token of the emailed link", secret=True),
]
Role = Annotated[
    Literal["owner", "member", "viewer"],
    Field(description="owner: everything; member: read and change; viewer: read"),
    expect("one of owner, member, viewer"),
]


class SignUp(Body):
    """A new account; a verification link is emailed to it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "ada@example.org",
                    "password": "correct horse battery",
                    "name": "Ada Lovelace",
                }
            ]
        }
    )

    email: Email
    password: Password
    name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=100,
            pattern=NAME_PATTERN,
            description="the name shown to co-members",
            examples=["Ada Lovelace"],
        ),
        expect("a name of 1 to 100 characters, without control characters"),
    ]


class VerifyEmail(Body):
    """The token of a verification link."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"token": "the-token-of-the-emailed-link"}]}
    )

    token: Token


class SignIn(Body):
    """Email and password of a verified account."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "ada@example.org", "password": "correct horse battery"}]
        }
    )

    email: Email
    password: Annotated[
        str,
        Field(min_length=1, max_length=PASSWORD_MAX, description="the account's password"),
        expect("the account's password", secret=True),
    ]


class PasswordReset(Body):
    """The email of the account whose password was forgotten."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "ada@example.org"}]})

    email: Email


class PasswordResetConfirm(Body):
    """The token of a password-reset link and the new password."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"token": "the-token-of-the-emailed-link", "password": "a whole new password"}
            ]
        }
    )

    token: Token
    password: Password


class HouseholdCreate(Body):
    """A new live household; its creator becomes its owner."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "H2",
                    "name": "Flat 2",
                    "timezone": "Europe/Paris",
                    "channels": ["Overall", "Geyser"],
                }
            ]
        }
    )

    id: Annotated[
        str,
        Field(pattern=HOUSEHOLD_ID, description="household id", examples=["H1"]),
        expect("an id of 1 to 32 letters, digits or '-', starting with a letter or digit"),
    ]
    name: Annotated[
        str | None,
        Field(
            default=None,
            min_length=1,
            max_length=100,
            pattern=NAME_PATTERN,
            description="default: the id",
        ),
        expect("a name of 1 to 100 characters, without control characters"),
    ] = None
    timezone: Annotated[
        str,
        Field(max_length=64, description="IANA time zone", examples=["Europe/Paris"]),
        expect("an IANA time zone name such as 'Europe/Paris'"),
    ] = "UTC"
    channels: Annotated[
        list[Annotated[str, Field(pattern=CHANNEL), expect("a channel name such as Overall")]],
        Field(min_length=1, max_length=32, examples=[["Overall", "Geyser"]]),
        expect("a list of 1 to 32 channel names"),
    ]


class MemberInvite(Body):
    """A verified account, by its email, and the role it gets."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"email": "bob@example.org", "role": "viewer"}]}
    )

    email: Email
    role: Role


class MemberRole(Body):
    """A member's new role."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "member"}]})

    role: Role


blueprint = Blueprint("accounts", __name__, url_prefix="/api/v1")


def _ext() -> Any:
    return current_app.extensions["accounts"]


def _user(*, write: bool = False, scope: str | None = None) -> User:
    """The request's user: by OAuth access token with ``scope`` (routes that take tokens), else
    by session cookie (``write``: with its CSRF token)."""
    if scope is not None:
        actor = oauth_actor(scope)
        if actor is not None:
            found = _ext().users.get(int(actor.partition(":")[2]))
            if found is None:
                raise InvalidAccessToken("the access token's account no longer exists")
            return found
    user = signed_in()
    if user is None:
        raise NotSignedIn("sign in first: POST /api/v1/session with your email and password")
    if write:
        require_csrf()
    return user


def _role_in(household: str, user: User, allowed: tuple[str, ...], what: str) -> str:
    state().households.info(household)  # 404 for an unknown household
    role = _ext().memberships.role(household, user.id)
    if role not in allowed:
        raise Forbidden(
            f"only its {' or '.join(r + 's' for r in allowed)} may {what} household "
            f"{household!r}" + (f"; you are a {role}" if role else "; you have no role in it")
        )
    return str(role)


def _session_answer(user: User) -> Response:
    return jsonify({"user": user.public(), "csrf_token": csrf_token()})


# -- users ----------------------------------------------------------------------------------
@blueprint.post("/users")
def sign_up():  # noqa: ANN201
    ext = _ext()
    body = parse(SignUp, json_body())
    user = ext.users.create(body.email, body.name, ext.passwords.hash(body.password))
    token = ext.tokens.verification(user.id, ext.users.email_hash(user.email))
    link = ext.mailer.link(request.host_url, VERIFY_PAGE, token)
    sent = ext.mailer.send(
        user.email,
        "Confirm your Gridlight account",
        [
            f"Hello {user.name},",
            "",
            "Open this link to confirm your email address and finish signing up:",
            link,
            "",
            f"It works for {int(ext.tokens.verify_ttl_s // 3600)} hours. If you did not sign up, "
            "ignore this email.",
        ],
        "verification",
    )
    ext.audit.record("user_created", user_id=user.id)
    return jsonify({"user": user.public(), "verification_sent": sent}), 201


@blueprint.post("/users/verify")
def verify_email():  # noqa: ANN201
    ext = _ext()
    body = parse(VerifyEmail, json_body())
    user_id, email_hash = ext.tokens.read_verification(body.token)
    user = ext.users.get(user_id)
    if user is None or not ext.users.email_hash(user.email).startswith(email_hash):
        raise InvalidToken("this verification link is for an account that no longer exists")
    ext.users.mark_verified(user.id)
    if not user.verified:
        ext.audit.record("email_verified", user_id=user.id)
    return jsonify({"user": ext.users.get(user.id).public()})


# -- session --------------------------------------------------------------------------------
@blueprint.post("/session")
def sign_in():  # noqa: ANN201
    ext = _ext()
    body = parse(SignIn, json_body())
    user = ext.users.by_email(body.email)
    if not ext.passwords.check(user.password_hash if user else None, body.password):
        if user is not None:
            ext.audit.record("sign_in_failed", user_id=user.id)
        raise InvalidCredentials("wrong email or password")
    assert user is not None
    if not user.verified:
        raise EmailNotVerified(
            f"confirm {user.email} first: open the link emailed at sign-up "
            "(POST /api/v1/password-reset sends a new link that also confirms it)"
        )
    if ext.passwords.needs_rehash(user.password_hash):  # the configured cost went up
        ext.users.set_password(user.id, ext.passwords.hash(body.password))
        user = ext.users.get(user.id)
    session.clear()  # a fresh session and CSRF token for each sign-in
    session.permanent = True  # ends after PERMANENT_SESSION_LIFETIME, not "never"
    login_user(SessionUser(user, ext.tokens.session_id(user.id, user.password_hash)))
    ext.audit.record("sign_in", user_id=user.id)
    return _session_answer(user)


@blueprint.get("/session")
def get_session():  # noqa: ANN201
    return _session_answer(_user())


@blueprint.delete("/session")
def sign_out():  # noqa: ANN201
    _user(write=True)
    logout_user()
    session.clear()
    return "", 204


# -- password reset -------------------------------------------------------------------------
@blueprint.post("/password-reset")
def password_reset():  # noqa: ANN201
    ext = _ext()
    body = parse(PasswordReset, json_body())
    user = ext.users.by_email(body.email)
    if user is not None:
        token = ext.tokens.reset(user.id, user.password_hash)
        ext.mailer.send(
            user.email,
            "Reset your Gridlight password",
            [
                f"Hello {user.name},",
                "",
                "Open this link to choose a new password:",
                ext.mailer.link(request.host_url, RESET_PAGE, token),
                "",
                f"It works once, for {int(ext.tokens.reset_ttl_s // 60)} minutes. If you did not "
                "ask for it, ignore this email: your password stays as it is.",
            ],
            "password-reset",
        )
        ext.audit.record("password_reset_requested", user_id=user.id)
    return jsonify({"status": "if an account has this email, a reset link was sent to it"}), 202


@blueprint.post("/password-reset/confirm")
def password_reset_confirm():  # noqa: ANN201
    ext = _ext()
    body = parse(PasswordResetConfirm, json_body())
    user_id, fingerprint = ext.tokens.read_reset(body.token)
    user = ext.users.get(user_id)
    used = InvalidToken("this password-reset link was used already, or the password changed since")
    if user is None or ext.tokens.fingerprint(user.password_hash) != fingerprint:
        raise used
    if not ext.users.set_password(
        user.id, ext.passwords.hash(body.password), expected=user.password_hash
    ):
        raise used
    ext.users.mark_verified(user.id)  # the link reached the mailbox: the email is the user's
    ext.oauth.store.revoke_user(user.id)  # as every other session ends, so do the apps' tokens
    ext.audit.record("password_reset", user_id=user.id)
    return jsonify({"user": ext.users.get(user.id).public()})


@blueprint.get("/me")
def me():  # noqa: ANN201
    user = _user(scope="read")
    return jsonify({"user": user.public(), "households": _ext().memberships.of_user(user.id)})


# -- households and their members -------------------------------------------------------------
@blueprint.post("/households")
def create_household():  # noqa: ANN201
    ext = _ext()
    user = _user(write=True, scope="write")
    body = parse(HouseholdCreate, json_body())
    gl = state()
    try:
        gl.households.info(body.id)
    except UnknownHousehold:
        pass
    else:
        raise HouseholdTaken(f"household {body.id!r} exists already: choose another id")

    def owner(conn: Any, info: Any) -> None:
        ext.memberships.add(info.id, user.id, "owner", conn=conn)
        # the creating owner's consent: collection given (they create it to send readings),
        # analytics, recommendations and sharing not until they give them (PUT …/consent)
        gl.consent.set(info.id, CREATED, user_id=user.id, source="household_created", conn=conn)
        ext.audit.record(
            "household_created",
            household=info.id,
            user_id=user.id,
            detail={"channels": list(info.channels), "timezone": info.timezone},
            conn=conn,
        )

    try:
        info, key = gl.keys.add_household(
            body.id, body.channels, timezone=body.timezone, name=body.name, then=owner
        )
    except HouseholdExists as err:
        raise HouseholdTaken(str(err)) from None
    except RegistryError as err:
        raise InvalidParameter(str(err)) from None
    household = {
        "id": info.id,
        "name": info.name,
        "timezone": info.timezone,
        "channels": list(info.channels),
    }
    return jsonify({"household": household, "role": "owner", "key": key}), 201


def _member_json(entry: dict[str, Any], with_email: bool) -> dict[str, Any]:
    return entry if with_email else {k: v for k, v in entry.items() if k != "email"}


@blueprint.get("/households/<household>/members")
def list_members(household: str):  # noqa: ANN201
    user = _user(scope="read")
    role = _role_in(household, user, ROLES, "list the members of")
    members = _ext().memberships.of_household(household)
    return jsonify(
        {"household": household, "members": [_member_json(m, role == "owner") for m in members]}
    )


@blueprint.post("/households/<household>/members")
def invite_member(household: str):  # noqa: ANN201
    ext = _ext()
    user = _user(write=True, scope="admin")
    _role_in(household, user, ("owner",), "invite members to")
    body = parse(MemberInvite, json_body())
    invited = ext.users.by_email(body.email)
    if invited is None or not invited.verified:
        raise UnknownUser(
            f"no verified account has the email {body.email!r}: they sign up and confirm first"
        )
    ext.memberships.add(household, invited.id, body.role)
    ext.audit.record(
        "member_added",
        household=household,
        user_id=user.id,
        detail={"member": invited.id, "role": body.role},
    )
    entry = next(m for m in ext.memberships.of_household(household) if m["user_id"] == invited.id)
    return jsonify(entry), 201


@blueprint.patch("/households/<household>/members/<int:user_id>")
def change_member(household: str, user_id: int):  # noqa: ANN201
    ext = _ext()
    user = _user(write=True, scope="admin")
    _role_in(household, user, ("owner",), "change the roles in")
    body = parse(MemberRole, json_body())

    def audit(conn: Any, old: str) -> None:
        ext.audit.record(
            "role_changed",
            household=household,
            user_id=user.id,
            detail={"member": user_id, "from": old, "to": body.role},
            conn=conn,
        )

    ext.memberships.change(household, user_id, body.role, then=audit)
    entry = next(m for m in ext.memberships.of_household(household) if m["user_id"] == user_id)
    return jsonify(entry)


@blueprint.delete("/households/<household>/members/<int:user_id>")
def remove_member(household: str, user_id: int):  # noqa: ANN201
    ext = _ext()
    user = _user(write=True, scope="admin")
    if user_id != user.id:  # leaving is anyone's right; removing others is the owners'
        _role_in(household, user, ("owner",), "remove members of")
    else:
        _role_in(household, user, ROLES, "leave")

    def audit(conn: Any, old: str) -> None:
        ext.audit.record(
            "member_removed",
            household=household,
            user_id=user.id,
            detail={"member": user_id, "role": old},
            conn=conn,
        )

    ext.memberships.change(household, user_id, None, then=audit)
    return "", 204


@blueprint.get("/households/<household>/audit")
def household_audit(household: str):  # noqa: ANN201
    user = _user(scope="admin")
    _role_in(household, user, ("owner",), "read the audit log of")
    raw = request.args.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise InvalidParameter(f"limit must be a whole number in [1, 1000], got {raw!r}")
    entries = _ext().audit.of_household(household, limit=int(raw))
    return jsonify({"household": household, "entries": entries})
