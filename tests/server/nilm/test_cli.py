"""``python -m server nilm``: train → apply → evaluate round trip, apply reading only Overall,
the ``estimated`` marking, training that never looks past ``--until``, and exit status 2 with
a message naming the bad value."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from generator.dataset import Dataset, read_dataset, read_meta, write_dataset
from server.cli import main
from server.nilm import Disaggregator, NilmError, estimated_channels, train_from_dataset
from tests.server.nilm.conftest import UNTIL, minute_dataset, only_overall

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def model_path(nilm_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "a-ac.model"
    args = ["nilm", "train", "--dataset", str(nilm_dir), "--household", "A"]
    assert main([*args, "--appliance", "AC", "--until", UNTIL.isoformat(), "--out", str(path)]) == 0
    return path


def test_train_prints_the_header(nilm_dir, tmp_path, capsys):
    out = tmp_path / "m" / "geyser.model"
    args = ["nilm", "train", "--dataset", str(nilm_dir), "--household", "A"]
    assert main([*args, "--appliance", "Geyser", "--until", "2026-04-13", "--out", str(out)]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["model"] == str(out) and out.is_file()
    assert body["appliance"] == "Geyser" and body["resolution_s"] == 60
    assert pd.Timestamp(body["training_period"]["end"]) < pd.Timestamp("2026-04-13T00:00Z")


def test_apply_reads_only_overall_and_marks_the_estimate(model_path, nilm_dir, tmp_path, capsys):
    source = only_overall(nilm_dir, "B", tmp_path / "b-overall")
    assert read_meta(source)[0]["B"].channels == ("Overall",)
    out = tmp_path / "b-estimated"
    args = ["nilm", "apply", "--dataset", str(source), "--household", "B"]
    assert main([*args, "--model", str(model_path), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["estimated"] == ["AC"] and summary["samples"] > 0
    assert "trained on household 'A' (day-worker) applied to 'B' (office)" in captured.err

    written = read_dataset(out)
    info = written.household("B")
    assert info.channels == ("Overall", "AC")
    assert estimated_channels(info) == ["AC"]
    assert info.extra["estimates"]["AC"]["trained_on"]["household"] == "A"
    assert info.archetype == "office" and info.timezone == "Asia/Kolkata"
    raw = json.loads((out / "households.json").read_text())["households"][0]
    assert raw["estimated"] == ["AC"]
    frame = written.frame("B")
    original = read_dataset(nilm_dir).frame("B")
    assert_allclose(frame["Overall"].to_numpy(), original["Overall"].to_numpy())
    assert frame["AC"].notna().all() and (frame["AC"] <= frame["Overall"] + 1e-12).all()
    # The full dataset (with B's real AC) gives the same estimate: nothing but Overall is read.
    full_out = tmp_path / "b-from-full"
    args = ["nilm", "apply", "--dataset", str(nilm_dir), "--household", "B"]
    assert main([*args, "--model", str(model_path), "--out", str(full_out)]) == 0
    assert_allclose(read_dataset(full_out).frame("B")["AC"], frame["AC"])
    # An estimated channel is not training data.
    with pytest.raises(NilmError, match="'AC' of household 'B' is itself an estimate"):
        train_from_dataset(out, "B", "AC")


def test_evaluate_prints_the_figures(nilm_dir, capsys):
    args = ["nilm", "evaluate", "--dataset", str(nilm_dir), "--household", "A"]
    assert main([*args, "--appliance", "AC", "--train-until", UNTIL.isoformat()]) == 0
    body = json.loads(capsys.readouterr().out)
    for key in ("f1", "mae_w", "energy_share_error", "on_threshold_w"):
        assert isinstance(body[key], float), key
    for base in body["baselines"].values():
        assert {"f1", "mae_w", "energy_share_error"} <= set(base)
    assert body["household"] == "A" and body["appliance"] == "AC"


def test_training_never_looks_past_until(nilm_dir, tmp_path):
    """Scrambling every reading from --until on changes nothing in the trained model."""
    dataset = read_dataset(nilm_dir)
    table = dataset.table.copy()
    later = table.index >= UNTIL
    rng = np.random.default_rng(1)
    table.loc[later, :] = rng.uniform(0, 5, size=(int(later.sum()), table.shape[1]))
    scrambled = write_dataset(
        Dataset(households=dataset.households, table=table), tmp_path / "scrambled"
    )
    honest = train_from_dataset(nilm_dir, "A", "AC", until=UNTIL)
    other = train_from_dataset(scrambled, "A", "AC", until=UNTIL)
    assert honest.header == other.header
    overall = dataset.frame("B")["Overall"]
    assert_allclose(
        honest.estimate(overall, "Asia/Kolkata", 60), other.estimate(overall, "Asia/Kolkata", 60)
    )
    # ...while training on the scrambled period does change it (the check can fail).
    leaky = train_from_dataset(scrambled, "A", "AC")
    assert leaky.header["training_period"] != honest.header["training_period"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--household", "Z", "--appliance", "AC"], "unknown household 'Z'"),
        (["train", "--household", "A", "--appliance", "Fridge"], "no channel 'Fridge'"),
        (["train", "--household", "A", "--appliance", "Overall"], "cannot be 'Overall'"),
        (
            ["train", "--household", "A", "--appliance", "AC", "--until", "2020-01-01"],
            "--until 2020-01-01T00:00:00\\+00:00 is not after the first reading",
        ),
        (
            ["train", "--household", "A", "--appliance", "AC", "--until", "yesterday"],
            "invalid time 'yesterday'",
        ),
        (
            ["train", "--household", "A", "--appliance", "AC", "--until", "2026-04-09"],
            "household 'A' has 3.2 days of readings .* at least 7 are needed",
        ),
        (
            ["evaluate", "--household", "A", "--appliance", "AC", "--train-until", "2027-01-01"],
            "no readings of 'AC' from 2027-01-01T00:00:00\\+00:00 on",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_value(nilm_dir, tmp_path, capsys, argv, message):
    action, rest = argv[0], argv[1:]
    extra = ["--out", str(tmp_path / "m.model")] if action == "train" else []
    assert main(["nilm", action, "--dataset", str(nilm_dir), *rest, *extra]) == 2
    err = capsys.readouterr().err
    assert "python -m server nilm: error:" in err
    assert re.search(message, err), err
    assert not (tmp_path / "m.model").exists()


def test_missing_overall_and_coarser_household(model_path, tmp_path, capsys):
    dataset = minute_dataset(days=2, households=("A",))
    info = dataset.households["A"]
    no_overall = Dataset(
        households={"A": info.__class__(**{**info.__dict__, "channels": ("AC", "Geyser")})},
        table=dataset.table[["A_AC", "A_Geyser"]],
    )
    path = write_dataset(no_overall, tmp_path / "no-overall")
    args = ["nilm", "apply", "--dataset", str(path), "--household", "A", "--model"]
    assert main([*args, str(model_path), "--out", str(tmp_path / "o")]) == 2
    assert "has no whole-house channel 'Overall' (it has: AC, Geyser)" in capsys.readouterr().err

    from server.nilm.data import to_resolution

    coarse_info = info.__class__(**{**info.__dict__, "resolution_s": 300})
    coarse = Dataset(households={"A": coarse_info}, table=to_resolution(dataset.table, 300))
    path = write_dataset(coarse, tmp_path / "coarse")
    args = ["nilm", "apply", "--dataset", str(path), "--household", "A", "--model"]
    assert main([*args, str(model_path), "--out", str(tmp_path / "o")]) == 2
    assert "readings at 300 s are coarser than the model's 60 s" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_apply_refuses_to_overwrite_its_input(model_path, nilm_dir, capsys):
    args = ["nilm", "apply", "--dataset", str(nilm_dir), "--household", "B"]
    assert main([*args, "--model", str(model_path), "--out", str(nilm_dir)]) == 2
    assert "is the input dataset" in capsys.readouterr().err


def test_module_entry_point_exit_status(nilm_dir, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "server", "nilm", "apply", "--dataset", str(nilm_dir)]
        + ["--household", "A", "--model", str(tmp_path / "nope.model"), "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "cannot read the model file" in proc.stderr and "nope.model" in proc.stderr


def test_loaded_model_matches_trained(model_path, nilm_dir):
    loaded = Disaggregator.load(model_path)
    assert loaded.appliance == "AC" and loaded.lag_s == 7200


def test_estimated_marking_is_backward_compatible():
    from generator.dataset import HouseholdInfo

    base = {"id": "H", "channels": ["Overall", "AC", "Geyser"], "timezone": "UTC"}
    assert HouseholdInfo.from_json(base).estimated == ()
    marked = HouseholdInfo.from_json({**base, "estimated": ["AC", "Nope"]})
    assert marked.estimated == ("AC",)
    assert marked.to_json()["estimated"] == ["AC", "Nope"]
    assert HouseholdInfo.from_json({**base, "estimated": True}).estimated == ("AC", "Geyser")
