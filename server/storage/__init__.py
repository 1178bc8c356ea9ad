"""Storage in SQLite under the data directory: live households and API keys, raw readings
with 1-minute rollups and retention, and the dead-letter table.

Plain ``sqlite3`` and pandas: nothing here imports Flask, Redis or MQTT, so the command line
and the ingest workers use it as the web app does.
"""

from server.storage.deadletters import DeadLetter, DeadLetters
from server.storage.keys import KeyStore, LiveHousehold, RegistryError
from server.storage.legacy import DB_FILE, connect, db_path
from server.storage.readings import RESOLUTIONS, Reading, ReadingStore, WriteResult

__all__ = [
    "DB_FILE",
    "RESOLUTIONS",
    "DeadLetter",
    "DeadLetters",
    "KeyStore",
    "LiveHousehold",
    "Reading",
    "ReadingStore",
    "RegistryError",
    "WriteResult",
    "connect",
    "db_path",
]
