"""Control's errors, in the one hierarchy of :mod:`server.errors`::

GridlightError
├── Conflict (409, "conflict")            a command id reused for another command
└── Infeasible (422, "infeasible")        a schedule that cannot be met (the message says why)
"""

from __future__ import annotations

from server.errors import GridlightError

__all__ = ["Conflict", "Infeasible"]


class Conflict(GridlightError):
    status = 409
    code = "conflict"


class Infeasible(GridlightError):
    status = 422
    code = "infeasible"
