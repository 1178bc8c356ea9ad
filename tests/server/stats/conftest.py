"""Fixtures for the statistics tests."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.server.stats.helpers import synthetic_frame


@pytest.fixture(scope="session")
def day_worker() -> pd.DataFrame:
    """Seven days of a day worker's home at 10 s resolution (Asia/Kolkata), Monday first."""
    return synthetic_frame(days=7, resolution_s=10)
