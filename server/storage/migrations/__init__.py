"""Alembic's migrations of the installation's schema (:mod:`server.storage.migrate` runs them)."""
