from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.push.fcm_server import FakeFcm, FakeFcmServer


@pytest.fixture
def fcm(tmp_path: Path) -> Iterator[FakeFcm]:
    with FakeFcmServer(tmp_path) as fake:
        yield fake
