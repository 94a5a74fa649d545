"""The Lucey experiments run end to end (quick presets, small overrides) and show what they should."""

import math

import numpy as np
import pytest

from specbias import ParameterError
from specbias.runner import run_experiment


def run(name, tmp_path, seed=0, **overrides):
    return run_experiment(name, preset="quick", overrides=overrides, out=tmp_path / name,
                          quiet_progress=True, seed=seed)


def test_lucey_mask(tmp_path):
    s = run("lucey-mask", tmp_path, steps=[10.0, 1000.0, 100000.0], width=64, points=300)
    m = s["metrics"]
    pred = m["grey_zone_db_predicted"]
    assert pred == pytest.approx(20 * math.log10(math.sqrt(math.log(100) / -math.log(0.99))))
    assert m["grey_zone_db"]["gd"]["100000"] == pytest.approx(pred, abs=0.01)
    assert m["grey_zone_db"]["flow"]["10"] == pytest.approx(pred, abs=1e-6)
    assert 24 < m["grey_zone_db"]["gd"]["10"] < pred  # GD's zone is a bit narrower at small T
    assert m["grey_zone_db"]["ridge"] == pytest.approx(20 * math.log10(99), abs=1e-6)
    assert m["window_exponent"] == pytest.approx(0.5, abs=0.01)
    for T, r in m["window_sq_over_T"].items():
        assert r == pytest.approx(1.0, abs=0.06), T
    act = m["components_active"]["by_steps"]
    assert act["10"] < act["1000"] < act["100000"]
    assert {f["file"] for f in s["figures"]} >= {"masks.png", "masks_on_spectrum.png"}


def test_lucey_reconstruction_strategies(tmp_path):
    s = run("lucey-reconstruction", tmp_path, samples=96)
    m = s["metrics"]
    ks = m["ks"]
    assert ks[0] == 4 and ks[-1] <= 48
    gap, gain = m["gap_to_dst_min_db"], m["gain_db"]
    # the regularizer that works: rises with k, never more than 1 dB below the DST baseline
    for st, act in [("a", "tanh"), ("a", "relu"), ("b", "sinc"), ("b", "gaussian")]:
        assert gap[st][act] > -1.0, (st, act)
        assert gain[st][act] > 3.0, (st, act)
        assert m["max_drop_db"][st][act] < 0.5
    # the one that does not: little gain with k
    for st, act in [("a", "sinc"), ("a", "gaussian"), ("b", "tanh"), ("b", "relu")]:
        assert gain[st][act] < 0.6 * min(gain["a"]["tanh"], gain["a"]["relu"],
                                         gain["b"]["sinc"], gain["b"]["gaussian"]), (st, act)
    assert gain["b"]["relu"] == pytest.approx(0.0, abs=1e-6)  # ReLU is scale equivariant
    # training PSNR is at least the dense PSNR trend: more steps fit the samples better
    tr = np.array(m["psnr_train"]["a"]["relu"])
    assert np.all(np.diff(tr) > 0)
    assert len(m["steps_a"]["relu"]) == len(ks)
    assert np.all(np.diff(m["steps_a"]["relu"]) > 0)


def test_lucey_reconstruction_on_a_user_signal(tmp_path):
    x = np.linspace(0, 1, 300)
    sig = np.sin(3 * np.pi * x) + 0.5 * np.sin(11 * np.pi * x)  # vanishes at both ends
    np.save(tmp_path / "sig.npy", sig)
    s = run("lucey-reconstruction", tmp_path, signal=str(tmp_path / "sig.npy"), samples=64,
            ks=[4, 8, 16], activations=["relu", "sinc"])
    m = s["metrics"]
    assert m["signal"]["length"] == 300
    assert m["signal"]["peak"] == pytest.approx(np.ptp(sig))
    dst = m["psnr_dense"]["dst"]
    assert dst[-1] > 60  # a sum of two sines is exact in the DST basis from k = 11
    with pytest.raises(ParameterError, match="ks"):
        run("lucey-reconstruction", tmp_path, samples=64, ks=[4, 100])
    with pytest.raises(ParameterError, match="signal"):
        run("lucey-reconstruction", tmp_path, signal=str(tmp_path / "none.npy"))


def test_lucey_iterations_exponents(tmp_path):
    s = run("lucey-iterations", tmp_path)
    m = s["metrics"]
    for act, err in m["relative_error"].items():
        assert err < 0.15, act
    g = m["growth_exponent"]
    assert g["heaviside"] < g["relu"] < g["relu2"]
    chk = m["closed_form_check"]
    assert chk["mask_realized_by_plain_gd"] == pytest.approx(chk["mask_closed_form"], abs=1e-10)
    assert chk["mask_closed_form"] >= chk["mask_at_real_T"]


def test_lucey_spline(tmp_path):
    s = run("lucey-spline", tmp_path, grid=129, stride=6)
    m = s["metrics"]
    for p in ("1", "2"):
        assert m["column_max_rel_error"][p] < 1e-12
        assert m["ridge_vs_spline_max_rel_error"][p] < 1e-8
    for p in ("1", "2", "3"):
        assert m["ridge_green_vs_spline_max_rel_error"][p] < 1e-8
    conv = m["column_error_by_grid"]["3"]
    assert conv["33"] / conv["65"] == pytest.approx(4, rel=0.15)
    assert 0 < m["ridge_vs_spline_max_rel_error"]["3"] < 1e-2


def test_lucey_components(tmp_path):
    s = run("lucey-components", tmp_path, samples=128, narrow_width=16,
            activations=["heaviside", "tanh", "relu", "sinc"], shown=["heaviside", "tanh"])
    m = s["metrics"]
    assert m["dst_correlation"]["wide"]["heaviside"] > 0.99
    assert m["dst_variant"]["wide"]["heaviside"].startswith("DST-IV")
    assert m["dst_subspace_correlation"]["wide"]["tanh"] > 0.9
    assert m["dst_subspace_correlation"]["wide"]["relu"] > 0.9
    assert m["dst_subspace_correlation"]["wide"]["sinc"] < 0.5  # flat spectrum: no sine order
    r = m["roughness"]["narrow"]
    assert r["heaviside"] > 3 * r["tanh"]  # Fig. 5: staircase vs smooth


def test_lucey_2d_and_determinism(tmp_path):
    a = run("lucey-2d", tmp_path, rows=12, cols=12, n_components=10)
    b = run_experiment("lucey-2d", preset="quick", overrides={"rows": 12, "cols": 12,
                       "n_components": 10}, out=tmp_path / "again", quiet_progress=True)
    assert a["metrics"] == b["metrics"]
    m = a["metrics"]
    assert m["anisotropy"]["rank1"] > 0.9
    assert m["anisotropy"]["full_rank"] < 0.7
    assert m["roughness_ratio"]["rank1"] > 2 * m["roughness_ratio"]["full_rank"]
    assert m["roughness_ratio"]["dst"] == pytest.approx(1.0)
    c = run("lucey-2d", tmp_path / "seed1", seed=1, rows=12, cols=12, n_components=10)
    assert c["metrics"]["roughness"]["full_rank"] != m["roughness"]["full_rank"]
    assert c["metrics"]["roughness"]["rank1"] == m["roughness"]["rank1"]


def test_lucey_2d_order_range(tmp_path):
    """Rank-1 components are ordered by roughness only below j ~ R (raster aliasing)."""
    s = run("lucey-2d", tmp_path, rows=12, cols=12, n_components=8, n_order=72)
    m = s["metrics"]
    rho_first, rho = m["order_smoothness_spearman_first"], m["order_smoothness_spearman"]
    assert m["n_order"] == 72
    assert rho_first["rank1"] > 0.9  # j < R = 12: ordered
    assert abs(rho["rank1"]) < 0.4  # over 6 R components: unrelated
    assert rho["full_rank"] > 0.9 and rho["dst"] > 0.9
    assert abs(m["rank1_vertical_energy_peak"] - 12) <= 1  # vertical energy peaks at j ~ R
    assert m["order_smoothness_spearman_all"]["full_rank"] > 0.9
    with pytest.raises(ParameterError, match="n_order"):
        run("lucey-2d", tmp_path, rows=12, cols=12, n_order=1000)


def test_lucey_spectrum_drop_moves_with_s(tmp_path):
    acts = ["sinc", "gaussian", "relu", "heaviside"]
    a = run("lucey-spectrum", tmp_path / "a", width=128, activations=acts, fit_first=10,
            scale_fractions=[1.0, 0.5, 0.125])
    m = a["metrics"]
    d = m["drop_index"]
    assert d["sinc"]["1"] is None  # s = K: the drop lies beyond k = K
    assert d["sinc"]["0.5"] == pytest.approx(64, abs=3)  # sinc: flat until k = s
    assert d["sinc"]["0.125"] == pytest.approx(16, abs=2)
    for f in ("1", "0.5", "0.125"):  # Gaussian: level 0.5 at k ~ sqrt(2 ln 2)/pi s
        s_b = m["scales_non_monotonic"][f]
        assert d["gaussian"][f] == pytest.approx(math.sqrt(2 * math.log(2)) / math.pi * s_b,
                                                 rel=0.25, abs=2)
    assert m["scale_invariance_max_diff"]["relu"] < 1e-12
    assert m["scale_invariance_max_diff"]["heaviside"] < 1e-12
    # another scale moves the drop
    b = run("lucey-spectrum", tmp_path / "b", width=128, activations=acts, fit_first=10,
            scale_fractions=[0.25])
    assert b["metrics"]["drop_index"]["sinc"]["0.25"] == pytest.approx(32, abs=2)
    assert b["metrics"]["drop_index"]["gaussian"]["0.25"] < d["gaussian"]["0.5"]
    verdicts = {c["id"]: c["verdict"] for c in a["claims"]}
    assert verdicts["drop-tracks-s"] == "holds" and verdicts["sinc-unity-until-s"] == "holds"
    with pytest.raises(ParameterError, match="scale_fractions"):
        run("lucey-spectrum", tmp_path, scale_fractions=[0.5, 0.5])


def test_lucey_memorization(tmp_path):
    s = run("lucey-memorization", tmp_path, scale=8.0, oversampling=[1.0, 2.0, 4.0],
            widths=[1, 2], random_width=2)
    m = s["metrics"]
    assert m["samples"] == {"1": 9, "2": 17, "4": 33}
    err = m["train_error"]
    assert set(err["sinc"]["4"]) == {"K=N", "K=2N", "random K=2N"}
    assert all(v < 1e-8 for v in err["sinc"]["1"].values())  # spacing 1/s: memorized
    for r in ("2", "4"):  # below 1/s: the band holds ~s values whatever the width
        vals = list(err["sinc"][r].values())
        assert min(vals) > 0.5 * m["shannon_error"][r]
        assert err["sinc"][r]["K=N"] - min(vals) < 0.02  # more or other biases gain nothing
        assert err["relu"][r]["K=2N"] < 1e-3  # ReLU on a bias grid memorizes
        assert max(m["dof_fitted"]["sinc"][r].values()) < 2 * 8 + 8
        assert min(m["log10_steps_to_memorize"]["sinc"][r].values()) > 20
    assert max(m["control_error"].values()) < 0.01
    assert max(v for per in m["log10_steps_to_memorize"]["relu"].values()
               for k, v in per.items() if not k.startswith("random")) < 16
    assert {f["file"] for f in s["figures"]} >= {"memorization_error.png", "fits.png",
                                                 "spectra.png"}
    with pytest.raises(ParameterError, match="oversampling"):
        run("lucey-memorization", tmp_path, oversampling=[0.5, 2.0])
