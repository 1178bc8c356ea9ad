"""Commands to devices: the request body, the store (with its audit log) and the state machine.

::

    POST …/commands ─► CommandStore.create (pending, audit 'created') ─► the leader's sweep
       (CommandStore.due) publishes it on gridlight/{h}/control/{device}/set, QoS 1, and again
       after CONTROL_RETRY_S, doubling up to CONTROL_RETRY_MAX_S, until the device answers on
       …/state ({"command_id", "ok", "state"}: acked or failed) or it expires (expired).

A command id is the client's (``"id"``) or generated. The same id again with the same body is
the same command (nothing is sent twice); with another body it is a conflict (409). Every
change of a command is a row of ``control_audit`` with who caused it (the API key's id, the
MQTT topic, the schedule or the automation rule).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import ConfigDict, Field, model_validator

from generator.times import format_ts
from server.control.devices import Device
from server.control.errors import Conflict
from server.errors import InvalidParameter
from server.storage.database import Database
from server.validation import Body, expect, number, problem, whole

__all__ = ["Command", "CommandRequest", "CommandStore", "check_against", "set_payload"]

STATUSES = ("pending", "acked", "failed", "expired")
COMMAND_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


class CommandRequest(Body):
    """A command to one device: ``on``, ``off``, or ``set`` a setpoint."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"action": "on"}, {"action": "set", "setpoint_c": 24}]}
    )

    action: Annotated[Literal["on", "off", "set"], expect("one of on, off, set")] = Field(
        description="on, off, or set (with setpoint_c)"
    )
    setpoint_c: number(-30, 100, description="the setpoint of a set command [°C]") | None = None
    id: (
        Annotated[
            str,
            Field(pattern=COMMAND_ID),
            expect("a command id of letters, digits, '_', '.', ':' or '-' (at most 64)"),
        ]
        | None
    ) = Field(None, description="your command id: the same id again runs once")
    ttl_s: whole(1, 86_400, description="expires when unacknowledged this long [s]") | None = None

    @model_validator(mode="after")
    def _setpoint(self) -> CommandRequest:
        if self.action == "set" and self.setpoint_c is None:
            raise problem("a set command needs setpoint_c [°C]", at="setpoint_c")
        if self.action != "set" and self.setpoint_c is not None:
            raise problem(f"setpoint_c is for set commands, not {self.action}", at="setpoint_c")
        return self

    def canonical(self, device: str) -> str:
        """What identifies the request for idempotency (not its id or ttl)."""
        return json.dumps(
            {"device": device, "action": self.action, "setpoint_c": self.setpoint_c},
            sort_keys=True,
        )


def check_against(request: CommandRequest, device: Device) -> None:
    """400 unless ``device`` can do what ``request`` asks."""
    if request.action in ("on", "off") and "on_off" not in device.capabilities:
        raise InvalidParameter(
            f"action: device {device.id!r} ({device.kind}) cannot switch on or off "
            f"(capabilities: {', '.join(device.capabilities)})"
        )
    if request.action == "set":
        if "setpoint" not in device.capabilities or device.setpoint_c is None:
            raise InvalidParameter(
                f"action: device {device.id!r} ({device.kind}) has no setpoint "
                f"(capabilities: {', '.join(device.capabilities)})"
            )
        lo, hi = device.setpoint_c.min, device.setpoint_c.max
        assert request.setpoint_c is not None
        if not lo <= request.setpoint_c <= hi:
            raise InvalidParameter(
                f"setpoint_c: expected a number in [{lo:g}, {hi:g}] for device {device.id!r}, "
                f"got {request.setpoint_c:g}"
            )


@dataclass(frozen=True)
class Command:
    household: str
    id: str
    device: str
    action: str
    setpoint_c: float | None
    status: str
    source: str
    created_s: float
    expires_s: float
    attempts: int
    next_s: float
    done_s: float | None
    state: dict[str, Any] | None
    error: str | None

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "household": self.household,
            "device": self.device,
            "action": self.action,
        }
        if self.setpoint_c is not None:
            out["setpoint_c"] = self.setpoint_c
        out |= {
            "status": self.status,
            "source": self.source,
            "created_at": format_ts(self.created_s),
            "expires_at": format_ts(self.expires_s),
            "attempts": self.attempts,
            "done_at": None if self.done_s is None else format_ts(self.done_s),
            "state": self.state,
            "error": self.error,
        }
        return out


def set_payload(command: Command) -> bytes:
    """The MQTT payload of ``…/control/{device}/set``."""
    body: dict[str, Any] = {"command_id": command.id, "action": command.action}
    if command.setpoint_c is not None:
        body["setpoint_c"] = command.setpoint_c
    body["expires_at"] = format_ts(command.expires_s)
    return json.dumps(body, separators=(",", ":")).encode()


_COLUMNS = (
    "household, id, device, action, body, status, source, created_s, expires_s, attempts,"
    " next_s, done_s, state, error"
)


def _row(row: tuple) -> Command:
    (household, cid, device, action, body, status, source, created_s, expires_s, attempts,
     next_s, done_s, state, error) = row  # fmt: skip
    return Command(
        household,
        cid,
        device,
        action,
        json.loads(body).get("setpoint_c"),
        status,
        source,
        created_s,
        expires_s,
        attempts,
        next_s,
        done_s,
        None if state is None else json.loads(state),
        error,
    )


class CommandStore:
    """``control_commands`` and ``control_audit``, in the installation's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        household: str,
        device: str,
        request: CommandRequest,
        *,
        source: str,
        actor: str | None,
        now_s: float,
        ttl_s: float,
    ) -> tuple[Command, bool]:
        """The command (new, or the one with the same id and body) and whether it is new.

        The insert decides: of several workers or hosts creating the same id at once, one
        inserts it and the others find it (``ON CONFLICT DO NOTHING`` waits for the winner)."""
        cid = request.id or f"c-{secrets.token_hex(8)}"
        canonical = request.canonical(device)
        ttl = float(request.ttl_s or ttl_s)
        with self.db.write() as c:
            row = c.execute(
                sa.text(
                    f"INSERT INTO control_commands ({_COLUMNS}) VALUES (:h, :id, :device,"
                    " :action, :body, 'pending', :source, :now, :expires, 0, :now, NULL, NULL,"
                    f" NULL) ON CONFLICT (household, id) DO NOTHING RETURNING {_COLUMNS}"
                ),
                {"h": household, "id": cid, "device": device, "action": request.action,
                 "body": canonical, "source": source, "now": now_s, "expires": now_s + ttl},
            ).first()  # fmt: skip
            if row is not None:
                _audit(c, household, cid, device, "created", actor, json.loads(canonical), now_s)
                return _row(tuple(row)), True
            row = c.execute(_SELECT, {"h": household, "id": cid}).first()
            assert row is not None  # a conflict means the row exists
            existing = _row(tuple(row))
            if row[4] != canonical:
                raise Conflict(
                    f"command id {cid!r} was used for another command ("
                    f"{existing.device} {existing.action}): use a new id"
                )
            _audit(c, household, cid, device, "repeated", actor, None, now_s)
        return existing, False

    def get(self, household: str, cid: str) -> Command | None:
        with self.db.read() as c:
            row = c.execute(_SELECT, {"h": household, "id": cid}).first()
        return None if row is None else _row(tuple(row))

    def due(self, now_s: float, limit: int = 200) -> list[Command]:
        """Pending commands whose (re)send time has come, oldest first."""
        with self.db.read() as c:
            rows = c.execute(
                sa.text(
                    f"SELECT {_COLUMNS} FROM control_commands WHERE status = 'pending'"
                    " AND next_s <= :now ORDER BY next_s LIMIT :n"
                ),
                {"now": now_s, "n": limit},
            ).all()
        return [_row(tuple(r)) for r in rows]

    def sent(self, command: Command, now_s: float, next_s: float) -> None:
        with self.db.write() as c:
            c.execute(
                sa.text(
                    "UPDATE control_commands SET attempts = attempts + 1, next_s = :next"
                    " WHERE household = :h AND id = :id AND status = 'pending'"
                ),
                {"next": next_s, "h": command.household, "id": command.id},
            )
            _audit(
                c, command.household, command.id, command.device, "sent", None,
                {"attempt": command.attempts + 1}, now_s,
            )  # fmt: skip

    def finish(
        self,
        household: str,
        cid: str,
        status: str,
        now_s: float,
        *,
        state: Any = None,
        error: str | None = None,
        actor: str | None = None,
    ) -> Command | None:
        """Move a pending command to ``status``; the command when it moved, else ``None``
        (unknown, or already finished: a repeated answer changes nothing). Of two workers
        finishing it at once, one moves it (the update re-checks ``pending`` under its lock)."""
        if status not in STATUSES[1:]:
            raise ValueError(f"not a final status: {status!r}")
        with self.db.write() as c:
            row = c.execute(
                sa.text(
                    "UPDATE control_commands SET status = :status, done_s = :now, state = :state,"
                    " error = :error WHERE household = :h AND id = :id AND status = 'pending'"
                    f" RETURNING {_COLUMNS}"
                ),
                {"status": status, "now": now_s,
                 "state": None if state is None else json.dumps(state), "error": error,
                 "h": household, "id": cid},
            ).first()  # fmt: skip
            if row is None:
                return None
            command = _row(tuple(row))
            detail = {"state": state} if state is not None else {"error": error}
            _audit(c, household, cid, command.device, status, actor, detail, now_s)
        return command

    def audit(self, household: str, limit: int = 100) -> list[dict[str, Any]]:
        with self.db.read() as c:
            rows = c.execute(
                sa.text(
                    "SELECT command_id, device, event, actor, detail, ts_s FROM control_audit"
                    " WHERE household = :h ORDER BY id DESC LIMIT :n"
                ),
                {"h": household, "n": limit},
            ).all()
        return [
            {"command_id": c, "device": d, "event": e, "actor": a,
             "detail": None if x is None else json.loads(x), "at": format_ts(t)}
            for c, d, e, a, x, t in rows
        ]  # fmt: skip


_SELECT = sa.text(f"SELECT {_COLUMNS} FROM control_commands WHERE household = :h AND id = :id")
_AUDIT = sa.text(
    "INSERT INTO control_audit (household, command_id, device, event, actor, detail, ts_s)"
    " VALUES (:h, :cid, :device, :event, :actor, :detail, :ts)"
)


def _audit(
    c: sa.Connection,
    household: str,
    cid: str,
    device: str,
    event: str,
    actor: str | None,
    detail: Any,
    now_s: float,
) -> None:
    """One row of the audit log, in the caller's transaction."""
    c.execute(
        _AUDIT,
        {"h": household, "cid": cid, "device": device, "event": event, "actor": actor,
         "detail": None if detail is None else json.dumps(detail), "ts": now_s},
    )  # fmt: skip


def backoff_s(attempts: int, first_s: float, max_s: float) -> float:
    """Wait before resend number ``attempts + 1`` (after ``attempts`` sends). [s]"""
    return float(min(first_s * (2 ** max(attempts - 1, 0)), max_s))


class Sender:
    """The leader's sweep: send due commands, expire the old. ``publish(topic, payload)`` is
    the MQTT link's (QoS 1); ``emit(command)`` announces a status change."""

    def __init__(
        self,
        store: CommandStore,
        publish: Callable[[str, bytes], bool],
        emit: Callable[[Command], None],
        *,
        retry_s: float,
        retry_max_s: float,
    ) -> None:
        self.store = store
        self.publish = publish
        self.emit = emit
        self.retry_s = retry_s
        self.retry_max_s = retry_max_s

    def sweep(self, now_s: float) -> int:
        """Send what is due; returns how many were published."""
        sent = 0
        for command in self.store.due(now_s):
            if now_s >= command.expires_s:
                done = self.store.finish(
                    command.household,
                    command.id,
                    "expired",
                    now_s,
                    error=f"no answer from {command.device} after {command.attempts} sends",
                )
                if done is not None:
                    self.emit(done)
                continue
            topic = f"gridlight/{command.household}/control/{command.device}/set"
            if not self.publish(topic, set_payload(command)):
                continue  # not connected: due again at the next sweep
            wait = backoff_s(command.attempts + 1, self.retry_s, self.retry_max_s)
            self.store.sent(command, now_s, min(now_s + wait, command.expires_s))
            sent += 1
        return sent
