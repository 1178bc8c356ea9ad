"""Privacy tests reuse the accounts' app, mail catcher and helpers."""

from tests.server.accounts.conftest import app, smtp  # noqa: F401
