"""The accounts' errors, in the project's hierarchy (:mod:`server.errors`)::

GridlightError
├── BadRequest (400)
│   └── InvalidToken (400, "invalid_token")            a verification or reset link's token
├── InvalidCredentials (401, "invalid_credentials")    wrong email or password
├── NotSignedIn (401, "not_signed_in")                 a route for signed-in users
├── Forbidden (403, "forbidden")                        signed in, without the role
│   ├── EmailNotVerified (403, "email_not_verified")
│   └── CsrfFailed (403, "csrf_failed")                 a cookie-authenticated write without
│                                                       its ``X-CSRF-Token``
├── NotFound (404)
│   └── UnknownUser (404, "unknown_user")
└── Conflict (409, "conflict")
    ├── EmailTaken (409, "email_taken")
    ├── HouseholdTaken (409, "household_exists")
    ├── AlreadyMember (409, "already_member")
    └── LastOwner (409, "last_owner")
"""

from __future__ import annotations

from server.errors import BadRequest, Forbidden, GridlightError, NotFound

__all__ = [
    "AlreadyMember",
    "Conflict",
    "CsrfFailed",
    "EmailNotVerified",
    "EmailTaken",
    "HouseholdTaken",
    "InvalidCredentials",
    "InvalidToken",
    "LastOwner",
    "NotSignedIn",
    "UnknownUser",
]


class InvalidToken(BadRequest):
    code = "invalid_token"


class InvalidCredentials(GridlightError):
    status = 401
    code = "invalid_credentials"


class NotSignedIn(GridlightError):
    status = 401
    code = "not_signed_in"


class EmailNotVerified(Forbidden):
    code = "email_not_verified"


class CsrfFailed(Forbidden):
    code = "csrf_failed"


class UnknownUser(NotFound):
    code = "unknown_user"


class Conflict(GridlightError):
    status = 409
    code = "conflict"


class EmailTaken(Conflict):
    code = "email_taken"


class HouseholdTaken(Conflict):
    code = "household_exists"


class AlreadyMember(Conflict):
    code = "already_member"


class LastOwner(Conflict):
    code = "last_owner"
