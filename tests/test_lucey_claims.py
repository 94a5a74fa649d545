"""The Lucey experiments' claims: declared, able to fail, and holding (or declared findings) at
the quick preset."""

import copy

import numpy as np
import pytest

from specbias.claims import evaluate_claims
from specbias.experiments import all_experiments, get
from specbias.experiments.lucey_2d import order_spearman
from specbias.experiments.lucey_spectrum import drop_index

LUCEY = ["lucey-2d", "lucey-components", "lucey-iterations", "lucey-mask", "lucey-memorization",
         "lucey-reconstruction", "lucey-spectrum", "lucey-spline"]


def verdicts(name, metrics, preset="quick"):
    return {r["id"]: r["verdict"] for r in evaluate_claims(get(name).claims, metrics, preset)}


def test_every_lucey_experiment_declares_claims():
    exps = all_experiments()
    assert set(LUCEY) <= set(exps)
    for name in LUCEY:
        claims = exps[name].claims
        assert claims, name
        for c in claims:
            assert c.where.startswith("Lucey"), (name, c.id)
            assert c.statement and c.paper_value, (name, c.id)
            if c.finding:
                assert "docs/lucey.md#" in c.finding, (name, c.id)
    mem = exps["lucey-memorization"]
    assert mem.demo is False and "paper" in mem.presets


def test_drop_index():
    s = np.array([1.0, 0.99, 0.8, 0.4, 0.1])
    assert drop_index(s, 0.5) == 4
    assert drop_index(s, 0.05) is None
    assert drop_index(s, 0.9) == 3


def test_order_spearman():
    r = np.arange(1, 9)[:, None, None] * np.linspace(0, 1, 5)[None, None, :]  # rising slopes
    imgs = np.broadcast_to(r, (8, 4, 5)).copy()
    assert order_spearman(imgs) == pytest.approx(1.0)
    assert order_spearman(imgs[::-1]) == pytest.approx(-1.0)


SPECTRUM = {
    "decay_exponent": {"heaviside": 1.09, "tanh": 1.17, "relu": 2.19, "relu2": 3.27,
                       "gelu": 2.18, "silu": 2.16, "sinc": 0.04, "gaussian": 0.01},
    "drop_index": {"sinc": {"1": None, "0.25": 65, "0.0625": 17},
                   "gaussian": {"1": 97, "0.25": 25, "0.0625": 7}},
    "drop_over_s": {"sinc": {"1": None, "0.25": 65 / 64, "0.0625": 17 / 16},
                    "gaussian": {"1": 97 / 256, "0.25": 25 / 64, "0.0625": 7 / 16}},
    "scale_invariance_max_diff": {"heaviside": 0.0, "relu": 0.0, "relu2": 1e-15},
}


def test_spectrum_claims_can_fail():
    assert set(verdicts("lucey-spectrum", SPECTRUM).values()) == {"holds"}
    m = copy.deepcopy(SPECTRUM)  # the drop stays put while s changes: not tracking s
    m["drop_index"]["sinc"] = {"1": None, "0.25": 65, "0.0625": 65}
    m["drop_over_s"]["sinc"] = {"1": None, "0.25": 65 / 64, "0.0625": 65 / 16}
    v = verdicts("lucey-spectrum", m)
    assert v["drop-tracks-s"] == "fails" and v["sinc-unity-until-s"] == "fails"
    m = copy.deepcopy(SPECTRUM)
    m["decay_exponent"]["relu"] = 3.5  # ReLU decays faster than ReLU^2
    v = verdicts("lucey-spectrum", m)
    assert v["decay-order"] == "fails" and v["decay-types"] == "fails"
    m = copy.deepcopy(SPECTRUM)
    del m["drop_over_s"]
    assert verdicts("lucey-spectrum", m)["drop-tracks-s"] == "fails"


def test_2d_claims_can_fail():
    m = {"anisotropy": {"rank1": 0.996, "full_rank": 0.33},
         "roughness_ratio": {"rank1": 4.75, "full_rank": 0.59},
         "order_smoothness_spearman": {"rank1": 0.15, "full_rank": 0.998},
         "order_smoothness_spearman_first": {"rank1": 1.0, "full_rank": 0.97}}
    v = verdicts("lucey-2d", m)
    assert v["rank1-order-unrelated"] == "holds" and v["rank1-first-ordered"] == "finding"
    m["order_smoothness_spearman"]["rank1"] = 1.0  # the first-16 reading of the old metric
    m["order_smoothness_spearman_first"]["rank1"] = 0.1  # the finding stops reproducing
    v = verdicts("lucey-2d", m)
    assert v["rank1-order-unrelated"] == "fails" and v["rank1-first-ordered"] == "fails"


def test_reconstruction_finding_can_fail():
    gap = {"a": {"tanh": 1.08, "relu": 2.25, "sinc": -5.65, "gaussian": 3.45},
           "b": {"tanh": -3.07, "relu": -5.23, "sinc": 2.43, "gaussian": 1.38}}
    gain = {"a": {"tanh": 9.2, "relu": 5.7, "sinc": 0.0, "gaussian": 3.0},
            "b": {"tanh": 0.91, "relu": 0.0, "sinc": 6.7, "gaussian": 5.6}, "dst": 7.14}
    psnr = {"a": {"tanh": [16.6, 25.9], "relu": [19.4, 25.0]}}
    m = {"gap_to_dst_min_db": gap, "gain_db": gain, "psnr_dense": psnr}
    v = verdicts("lucey-reconstruction", m)
    assert set(v.values()) == {"holds", "finding"}
    assert v["a-gaussian-poor"] == "finding" and v["a-tanh-above-relu"] == "finding"
    m = copy.deepcopy(m)
    m["gap_to_dst_min_db"]["a"]["gaussian"] = -4.0  # poor, as the paper says: finding gone
    m["gain_db"]["b"]["tanh"] = 5.0  # tanh improves with s
    v = verdicts("lucey-reconstruction", m)
    assert v["a-gaussian-poor"] == "fails" and v["b-monotonic-no-benefit"] == "fails"


def test_memorization_claims_can_fail():
    grid = ("K=N", "K=2N", "random K=2N")

    def per(vals):
        return {r: dict(zip(grid, v, strict=True)) for r, v in vals.items()}

    m = {"scale": 16.0, "samples": {"1": 17, "2": 33, "4": 65},
         "shannon_error": {"1": 0.0, "2": 0.707, "4": 0.866},
         "train_error": {"sinc": per({"1": (0, 0, 0), "2": (0.6, 0.6, 0.61),
                                      "4": (0.86, 0.86, 0.86)}),
                         "relu": per({"1": (0, 0, 0), "2": (0, 0, 0.05), "4": (2e-4, 0, 0)})},
         "active_components": {"sinc": per({"1": (17,) * 3, "2": (23,) * 3, "4": (23,) * 3})},
         "log10_steps_to_memorize": {"sinc": per({"1": (1, 1, 1), "2": (32, 32, 32),
                                                  "4": (33, 33, None)}),
                                     "relu": per({"1": (7, 5, 6), "2": (9, 7, 33),
                                                  "4": (11, 8, 9)})},
         "control_error": {"1": 0.0, "2": 7e-5, "4": 1e-4}}
    assert set(verdicts("lucey-memorization", m).values()) == {"holds"}
    bad = copy.deepcopy(m)  # a sinc net that memorizes below 1/s, and gains with width
    bad["train_error"]["sinc"]["4"] = {"K=N": 0.5, "K=2N": 0.0, "random K=2N": 0.0}
    bad["active_components"]["sinc"]["4"]["K=2N"] = 65
    v = verdicts("lucey-memorization", bad)
    assert v["sinc-cannot-memorize"] == "fails" and v["width-no-gain"] == "fails"
    assert v["band-holds-s-values"] == "fails"
    bad = copy.deepcopy(m)
    bad["train_error"]["relu"]["4"]["K=2N"] = 0.3
    bad["log10_steps_to_memorize"]["relu"]["4"]["K=2N"] = 30
    v = verdicts("lucey-memorization", bad)
    assert v["relu-memorizes"] == "fails" and v["spectrum-not-rank"] == "fails"


def test_mask_and_iterations_claims_can_fail():
    mask = {"grey_zone_db": {"gd": {"10": 25.7, "100": 26.5, "1000": 26.6, "10000": 26.6}},
            "grey_zone_db_predicted": 26.61,
            "window_sq_over_T": {"10": 1.05, "100": 1.0, "1000": 1.0, "10000": 1.0},
            "window_exponent": 0.497,
            "components_active": {"by_steps": {"10": 4, "100": 10, "1000": 30, "10000": 74}}}
    assert set(verdicts("lucey-mask", mask).values()) == {"holds"}
    mask["grey_zone_db"]["gd"]["10000"] = 40.0  # a grey zone that widens with T
    mask["components_active"]["by_steps"]["10000"] = 30
    v = verdicts("lucey-mask", mask)
    assert v["grey-zone"] == "fails" and v["iterations-set-components"] == "fails"
    it = {"relative_error": {"heaviside": 0.03, "relu": 0.5},
          "steps_at_fit_stop": {"heaviside": 1.6e4, "relu": 1.2e5, "relu2": 5e11},
          "closed_form_check": {"mask_realized_by_plain_gd": 0.6, "mask_closed_form": 0.6}}
    v = verdicts("lucey-iterations", it)
    assert v["growth-types"] == "fails" and v["orders-of-magnitude"] == "fails"
    assert v["closed-form-gd"] == "holds"


@pytest.mark.slow
def test_lucey_quick_claims_hold(tmp_path):
    from specbias.verify import run_verify

    result = run_verify(LUCEY, preset="quick", out=tmp_path, echo=lambda s: None)
    assert not result.errors
    bad = [(r["experiment"], r["id"], r["measured"]) for r in result.rows
           if r["verdict"] not in ("holds", "finding")]
    assert not bad
