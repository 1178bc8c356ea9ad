"""``python -m generator import ukdale``: small houses written in the UK-DALE layout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from generator.dataset import read_dataset
from generator.importers.ukdale import channel_name, import_ukdale
from tests.generator.cli_helpers import run_cli, server_stats

T0 = 1_700_000_004  # a whole multiple of 6 s (and of 12 s, not of 60 s)


def make_house(
    root: Path,
    channels: dict[int, tuple[str, list[tuple[float, float]]]],
    house: int = 1,
) -> Path:
    """Write ``root/house_{house}`` with labels.dat and one channel_K.dat per channel."""
    house_dir = root / f"house_{house}"
    house_dir.mkdir(parents=True)
    (house_dir / "labels.dat").write_text(
        "".join(f"{number} {label}\n" for number, (label, _) in channels.items())
    )
    for number, (_, readings) in channels.items():
        (house_dir / f"channel_{number}.dat").write_text("".join(f"{s} {w}\n" for s, w in readings))
    return root


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """House 1: aggregate, a boiler and a washing machine over 30 s, with a gap."""
    return make_house(
        tmp_path / "ukdale",
        {
            1: ("aggregate", [(T0, 100), (T0 + 3, 300), (T0 + 7, 500), (T0 + 25, 250)]),
            2: ("boiler", [(T0 + 1, 2000), (T0 + 8, 0)]),
            3: ("washing_machine", [(T0 + 13, 1500), (T0 + 14, 1700)]),
        },
    )


def test_watts_to_kw_averaged_in_6_s_bins(small):
    ds = import_ukdale(small, 1, "uk1").dataset
    info = ds.household("uk1")
    assert info.channels == ("Overall", "Boiler", "WashingMachine")
    assert (info.timezone, info.resolution_s, info.source) == ("Europe/London", 6, "ukdale:house_1")
    table = ds.table
    assert table.index[0] == pd.Timestamp(T0, unit="s", tz="UTC")
    assert len(table) == 5  # bins at T0, +6, +12, +18, +24
    # Bin T0 holds 100 W and 300 W: 0.2 kW; bins +12 and +18 hold no aggregate reading.
    assert_allclose(table["uk1_Overall"].to_numpy(), [0.2, 0.5, np.nan, np.nan, 0.25])
    assert_allclose(table["uk1_Boiler"].to_numpy(), [2.0, 0.0, np.nan, np.nan, np.nan])
    assert_allclose(table["uk1_WashingMachine"].to_numpy(), [np.nan, np.nan, 1.6, np.nan, np.nan])


def test_grid_is_aligned_to_whole_multiples_of_the_resolution(tmp_path):
    root = make_house(tmp_path, {1: ("aggregate", [(T0 + 5, 600), (T0 + 70, 1200)])})
    ds = import_ukdale(root, 1, "uk1", resolution_s=60).dataset
    assert all(ts.value % (60 * 10**9) == 0 for ts in ds.table.index)
    assert ds.table.index[0] == pd.Timestamp((T0 + 5) // 60 * 60, unit="s", tz="UTC")
    assert_allclose(ds.table["uk1_Overall"].to_numpy(), [0.6, 1.2])
    assert ds.household("uk1").resolution_s == 60


def test_unsorted_lines_and_repeated_times(tmp_path):
    root = make_house(
        tmp_path, {1: ("aggregate", [(T0 + 6, 400), (T0, 100), (T0, 900), (T0 + 1, 300)])}
    )
    ds = import_ukdale(root, 1, "uk1").dataset
    # Of two readings at T0 the first line's is kept: bin T0 is mean(100, 300) W.
    assert_allclose(ds.table["uk1_Overall"].to_numpy(), [0.2, 0.4])


def test_only_the_channels_asked_for(small):
    ds = import_ukdale(small, 1, "uk1", channels={"Geyser": "boiler", "Laundry": "3"}).dataset
    assert ds.household("uk1").channels == ("Overall", "Geyser", "Laundry")
    assert_allclose(ds.table["uk1_Geyser"].to_numpy()[:2], [2.0, 0.0])
    assert_allclose(ds.table["uk1_Laundry"].to_numpy()[2], 1.6)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("washing_machine", "WashingMachine"),
        ("boiler", "Boiler"),
        ("kitchen_lights", "KitchenLights"),
        ("lcd_office", "LcdOffice"),
        ("htpc", "Htpc"),
        ("5v_charger", "Ch5vCharger"),
        ("fridge-freezer (kitchen)", "FridgeFreezerKitchen"),
        ("___", "Channel7"),
        ("x" * 40, "X" + "x" * 31),
    ],
)
def test_channel_names_from_labels(label, expected):
    assert channel_name(label, 7) == expected


def test_repeated_labels_get_their_channel_number(tmp_path):
    root = make_house(
        tmp_path,
        {
            1: ("aggregate", [(T0, 100)]),
            2: ("light", [(T0, 10)]),
            3: ("light", [(T0, 20)]),
            4: ("overall", [(T0, 30)]),
        },
    )
    ds = import_ukdale(root, 1, "uk1").dataset
    assert ds.household("uk1").channels == ("Overall", "Light", "Light3", "Overall4")
    assert_allclose(ds.table.iloc[0].to_numpy(), [0.1, 0.01, 0.02, 0.03])


def test_round_trip_through_the_cli_and_server_stats(tmp_path):
    rng = np.random.default_rng(7)
    seconds = T0 + np.arange(0, 2 * 3600, 6) + rng.integers(0, 2, 1200)
    mains = 200 + 150 * rng.random(seconds.size)
    boiler = np.where((seconds - T0) % 1800 < 600, 3000.0, 0.0)
    root = make_house(
        tmp_path / "ukdale",
        {
            1: ("aggregate", list(zip(seconds.tolist(), mains.tolist(), strict=True))),
            2: ("boiler", list(zip(seconds.tolist(), boiler.tolist(), strict=True))),
            3: ("kettle", list(zip(seconds[:600].tolist(), [5.0] * 600, strict=True))),
        },
        house=2,
    )
    out = tmp_path / "ds"
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "import", "ukdale", str(root), "--house", "2"]
        + ["--household", "london", "--channels", "Geyser=boiler", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "imported 1200 rows at 6 s" in proc.stdout and "household london" in proc.stdout
    ds = read_dataset(out)
    info = ds.household("london")
    assert info.channels == ("Overall", "Geyser") and info.source == "ukdale:house_2"
    assert ds.table["london_Geyser"].max() == pytest.approx(3.0)
    assert ds.table["london_Overall"].between(0.2, 0.35).all()
    report = server_stats(out, "london", 60)
    assert report["household"] == "london" and report["interval_s"] == 60
    assert set(report["median"]) == {"Overall", "Geyser"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--house", "3"], "no house_3 directory in"),
        (["--house", "0"], "invalid house '0'"),
        (["--house", "x"], "invalid house 'x'"),
        (
            ["--channels", "Geyser=hob"],
            "no channel labelled 'hob' in labels.dat (it has: "
            "1=aggregate, 2=boiler, 3=washing_machine)",
        ),
        (["--channels", "Hot water=boiler"], "invalid channel name 'Hot water'"),
        (["--channels", "Mains=aggregate"], "channel 1 (the aggregate meter) is always imported"),
        (["--channels", "Overall=boiler"], "--channels names 'Overall' twice"),
        (["--channels", "Geyser"], "invalid --channels entry 'Geyser'"),
        (["--resolution", "0"], "invalid resolution 0: must be positive"),
        (["--household", "bad_id"], "invalid household id 'bad_id'"),
    ],
)
def test_bad_input_exits_2_with_a_message(small, tmp_path, capsys, args, message):
    out = tmp_path / "ds"
    argv = ["import", "ukdale", str(small), "--house", "1", "--household", "uk1"]
    argv += [*args, "--out", str(out)]
    code, stdout, stderr = run_cli(argv, capsys)
    assert code == 2
    assert message in stderr
    assert "Traceback" not in stderr and stdout == ""
    assert not out.exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda h: (h / "labels.dat").unlink(), "has no labels.dat"),
        (lambda h: (h / "labels.dat").write_text("1 aggregate\nboiler\n"), "line 2: 'boiler'"),
        (lambda h: (h / "labels.dat").write_text("2 boiler\n"), "labels.dat has no channel 1"),
        (lambda h: (h / "channel_2.dat").unlink(), "channel_2.dat' does not exist"),
        (
            lambda h: (h / "channel_1.dat").write_text("1700000004 100\nnoon 200\n"),
            "is not '<unix seconds> <watts>' per line",
        ),
    ],
)
def test_damaged_house_exits_2_with_a_message(small, tmp_path, capsys, damage, message):
    damage(small / "house_1")
    out = tmp_path / "ds"
    argv = ["import", "ukdale", str(small), "--house", "1", "--household", "uk1"]
    code, _, stderr = run_cli([*argv, "--out", str(out)], capsys)
    assert code == 2
    assert message in stderr
    assert not out.exists()


def test_missing_directory_exits_2_without_a_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "import", "ukdale", str(tmp_path / "nowhere")]
        + ["--house", "1", "--household", "uk1", "--out", str(tmp_path / "ds")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "no house_1 directory" in proc.stderr and "Traceback" not in proc.stderr
