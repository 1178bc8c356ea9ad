"""The accounts' stores on both backends: users found by keyed hash, once per email; roles with
an owner always kept; the audit log."""

from __future__ import annotations

import pytest

from server.accounts.errors import AlreadyMember, EmailTaken, LastOwner, UnknownUser
from server.accounts.members import AuditLog, Memberships
from server.accounts.secret import derive
from server.accounts.users import Passwords, UserStore
from server.storage import KeyStore
from server.storage.crypto import Keyring, MasterKey
from server.storage.database import open_database

MASTER = MasterKey.generate()


def keyring(db):  # noqa: ANN001, ANN201
    return Keyring.load(db, MASTER)


@pytest.fixture
def db(database_url: str):  # noqa: ANN201
    db = open_database(database_url)
    yield db
    db.dispose()


def test_users_are_found_by_a_keyed_hash_of_their_email(db) -> None:  # noqa: ANN001
    users = UserStore(db, derive("secret", "email-hash"), keyring(db), clock=lambda: 1_000)
    ada = users.create(" Ada@Example.org ", "Ada", "hash-1")
    assert ada.email == "Ada@Example.org" and ada.created_s == 1_000 and not ada.verified
    assert users.by_email("ada@example.ORG") == ada
    assert users.get(ada.id) == ada
    with pytest.raises(EmailTaken, match="exists already"):
        users.create("ADA@example.org", "Other", "hash-2")
    # the stored hash is keyed: another secret finds nobody, and the email is not the hash
    other = UserStore(db, derive("another secret", "email-hash"), keyring(db))
    assert other.by_email("ada@example.org") is None
    assert users.email_hash("ada@example.org") != other.email_hash("ada@example.org")
    assert users.mark_verified(ada.id) and users.get(ada.id).verified_s == 1_000
    assert not users.set_password(ada.id, "hash-3", expected="not-the-current")
    assert users.set_password(ada.id, "hash-3", expected="hash-1")
    assert users.get(ada.id).password_hash == "hash-3"


def test_passwords_are_argon2id() -> None:
    passwords = Passwords(time_cost=1, memory_kib=64, parallelism=1)
    stored = passwords.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert passwords.check(stored, "correct horse battery")
    assert not passwords.check(stored, "correct horse batterY")
    assert not passwords.check(None, "correct horse battery")  # an unknown user
    assert not passwords.check("not a hash", "x")
    stronger = Passwords(time_cost=2, memory_kib=64, parallelism=1)
    assert stronger.needs_rehash(stored)


def test_a_household_keeps_an_owner(db) -> None:  # noqa: ANN001
    users = UserStore(db, b"k" * 32, keyring(db))
    ada, bob = users.create("ada@x.org", "Ada", "h"), users.create("bob@x.org", "Bob", "h")
    members, audit = Memberships(db, keyring(db), clock=lambda: 5), AuditLog(db, clock=lambda: 7.5)

    def owner(conn, info) -> None:  # noqa: ANN001
        members.add(info.id, ada.id, "owner", conn=conn)

    KeyStore(db).add_household("H1", ["Overall"], then=owner)
    assert members.role("H1", ada.id) == "owner"
    members.add("H1", bob.id, "viewer")
    with pytest.raises(AlreadyMember):
        members.add("H1", bob.id, "member")
    assert [(m["name"], m["role"]) for m in members.of_household("H1")] == [
        ("Ada", "owner"),
        ("Bob", "viewer"),
    ]
    with pytest.raises(LastOwner, match="last owner"):
        members.change("H1", ada.id, "member")
    with pytest.raises(LastOwner):
        members.change("H1", ada.id, None)
    with pytest.raises(UnknownUser):
        members.change("H1", 999, "viewer")
    seen = []
    assert members.change("H1", bob.id, "owner", then=lambda c, old: seen.append(old)) == "viewer"
    assert seen == ["viewer"]
    assert members.change("H1", ada.id, None) == "owner"
    assert members.of_user(ada.id) == [] and members.of_user(bob.id) == [
        {"household": "H1", "role": "owner"}
    ]
    audit.record("role_changed", household="H1", user_id=bob.id, detail={"to": "owner"})
    audit.record("sign_in", user_id=bob.id)
    assert audit.of_household("H1") == [
        {
            "id": audit.of_household("H1")[0]["id"],
            "user_id": bob.id,
            "event": "role_changed",
            "detail": {"to": "owner"},
            "ts": "1970-01-01T00:00:07Z",
        }
    ]
    # newest first; the same time: the later entry first
    assert [e["event"] for e in audit.of_user(bob.id)] == ["sign_in", "role_changed"]


def test_a_failed_membership_leaves_no_household(db) -> None:  # noqa: ANN001
    def fail(conn, info) -> None:  # noqa: ANN001
        raise RuntimeError("the owner's row could not be written")

    keys = KeyStore(db)
    with pytest.raises(RuntimeError):
        keys.add_household("H2", ["Overall"], then=fail)
    assert keys.get("H2") is None
