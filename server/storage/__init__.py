"""Storage in the installation's database (``DATABASE_URL``: the embedded SQLite file under the
data directory, or PostgreSQL shared by every host): live households and API keys, raw readings
with 1-minute rollups and retention, and the dead-letter table.

SQLAlchemy Core and pandas: nothing here imports Flask, Redis or MQTT, so the command line and
the ingest workers use it as the web app does.
"""

from server.storage.database import (
    DB_FILE,
    Database,
    DatabaseUnavailable,
    command_database,
    database_url,
    open_database,
)
from server.storage.deadletters import DeadLetter, DeadLetters
from server.storage.keys import KeyStore, LiveHousehold, RegistryError, key_id
from server.storage.readings import RESOLUTIONS, Reading, ReadingStore, WriteResult

__all__ = [
    "DB_FILE",
    "RESOLUTIONS",
    "Database",
    "DatabaseUnavailable",
    "DeadLetter",
    "DeadLetters",
    "KeyStore",
    "LiveHousehold",
    "Reading",
    "ReadingStore",
    "RegistryError",
    "WriteResult",
    "command_database",
    "database_url",
    "key_id",
    "open_database",
]
