"""Injected faults: kinds, rates, and labels that say exactly where the faulty table differs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from generator.faults import DROPOUT_S, KINDS, STUCK_S
from generator.synth import generate


@pytest.fixture(scope="module")
def rated():
    return generate(days=2, seed=4, start="2026-04-06", fault_rate=0.01)


@pytest.fixture(scope="module")
def every():
    return generate(days=1, seed=4, start="2026-04-06", faults_every_s=600)


def differing(ds) -> pd.DataFrame:
    """(second, column) of every value where the faulty table differs from the clean one."""
    clean, faulty = ds.table.to_numpy(), ds.faulty.to_numpy()
    differ = ~((clean == faulty) | (np.isnan(clean) & np.isnan(faulty)))
    sec, col = np.nonzero(differ)
    return pd.DataFrame({"sec": sec, "col": col}).sort_values(["sec", "col"], ignore_index=True)


def labelled(ds) -> pd.DataFrame:
    labels = ds.faults
    sec = (labels["ts"] - ds.table.index[0]) // pd.Timedelta(seconds=1)
    names = (labels["household"] + "_" + labels["channel"]).to_numpy()
    col = pd.Index(ds.table.columns).get_indexer(names)
    assert (col >= 0).all()
    return pd.DataFrame({"sec": sec.to_numpy(), "col": col}).sort_values(
        ["sec", "col"], ignore_index=True
    )


@pytest.mark.parametrize("mode", ["rated", "every"])
def test_faulty_table_differs_exactly_where_labelled(mode, request):
    ds = request.getfixturevalue(mode)
    assert list(ds.faults.columns) == ["ts", "household", "channel", "kind"]
    assert not ds.faults.duplicated(["ts", "household", "channel"]).any()
    assert set(ds.faults["kind"]) == set(KINDS)
    pd.testing.assert_frame_equal(differing(ds), labelled(ds))
    # The clean table is untouched.
    assert not np.isnan(ds.table.to_numpy()).any()


def test_each_kind_looks_like_its_name(rated):
    clean, faulty = rated.table, rated.faulty
    for kind in KINDS:
        rows = rated.faults[rated.faults["kind"] == kind]
        cols = (rows["household"] + "_" + rows["channel"]).to_numpy()
        sec = ((rows["ts"] - clean.index[0]) // pd.Timedelta(seconds=1)).to_numpy()
        col = pd.Index(clean.columns).get_indexer(cols)
        c, f = clean.to_numpy()[sec, col], faulty.to_numpy()[sec, col]
        if kind in ("missing", "dropout"):
            assert np.isnan(f).all()
        elif kind == "negative":
            assert (f < 0).all()
            assert_allclose(f[c > 0], -c[c > 0])
        elif kind == "spike":
            # x10-x100 of the reading, or of the channel's typical "on" level if that is more.
            top = clean.max().to_numpy()[col]
            assert (f >= 10 * c - 1e-12).all() and (f > 0).all()
            assert (f <= 100 * np.maximum(c, top) + 1e-9).all()
        else:  # stuck: repeats an earlier reading, which the clean signal has left
            assert (f >= 0).all() and not np.isnan(f).any()
            assert (f != c).all()


def test_runs_have_their_lengths(rated):
    for kind, (lo, hi) in (("dropout", DROPOUT_S), ("stuck", STUCK_S)):
        rows = rated.faults[rated.faults["kind"] == kind]
        for _, group in rows.groupby(["household", "channel"]):
            sec = ((group["ts"] - rated.table.index[0]) // pd.Timedelta(seconds=1)).to_numpy()
            breaks = np.flatnonzero(np.diff(sec) != 1)
            lengths = np.diff(np.concatenate(([0], breaks + 1, [len(sec)])))
            assert lengths.max() <= 2 * hi  # two runs may touch
            if kind == "dropout":
                assert np.median(lengths) >= lo


def test_fault_rate_is_the_share_of_faulty_values(rated):
    share = len(rated.faults) / rated.table.size
    assert 0.006 < share < 0.014
    per_column = rated.faults.groupby(["household", "channel"]).size()
    assert len(per_column) == rated.table.shape[1]
    lower = generate(households=("A",), days=2, seed=4, fault_rate=0.001)
    assert 0.0005 < len(lower.faults) / lower.table.size < 0.0016


def test_faults_every_n_seconds_hits_every_channel_at_multiples(every):
    t0 = every.table.index[0]
    sec = ((every.faults["ts"] - t0) // pd.Timedelta(seconds=1)).to_numpy()
    point = every.faults["kind"].isin(["negative", "spike", "missing"]).to_numpy()
    assert (sec[point] % 600 == 0).all()
    starts = every.faults[sec % 600 == 0]
    # Every channel gets a fault at every multiple; only a stuck meter repeating the true
    # value stays invisible, so nearly all (multiple, column) pairs are labelled.
    assert len(starts) >= 0.75 * (86400 // 600) * every.table.shape[1]
    # Each channel's kind is its own: Overall's faults are not a copy of AC's.
    kinds = starts.pivot_table(
        index="ts", columns=["household", "channel"], values="kind", aggfunc="first"
    )
    assert (kinds[("A", "AC")] != kinds[("A", "Overall")]).any()


def test_runs_stop_at_the_next_fault_in_every_n_seconds_mode():
    ds = generate(households=("A",), days=1, seed=2, faults_every_s=7)
    sec = ((ds.faults["ts"] - ds.table.index[0]) // pd.Timedelta(seconds=1)).to_numpy()
    assert set(ds.faults["kind"]) == set(KINDS)
    # Many values are faulty, and no run reaches past the next multiple of 7.
    assert len(ds.faults) > 0.2 * ds.table.size
    runs = ds.faults.assign(sec=sec, start=sec - sec % 7)
    assert (
        runs.groupby(["channel", "start"])["sec"].max()
        - runs.groupby(["channel", "start"])["start"].first()
        < 7
    ).all()
