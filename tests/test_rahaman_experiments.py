"""The Rahaman et al. experiments, run small through the runner; their metrics must show the
paper's effects."""

import numpy as np
import pytest

from specbias._validation import ParameterError
from specbias.experiments import get
from specbias.runner import run_experiment


def _run(name, tmp_path, **overrides):
    return run_experiment(name, preset="quick", overrides=overrides, out=tmp_path / name,
                          quiet_progress=True)["metrics"]


FREQ = {"width": 32, "depth": 4, "n_points": 64, "frequencies": [1.0, 4.0, 9.0], "seeds": 2,
        "steps": 600, "every": 10, "norm_every": 200}


def test_frequencies_low_first_and_deterministic(tmp_path):
    m = _run("rahaman-frequencies", tmp_path, **FREQ)
    for profile in ("equal", "increasing"):
        first = m["first_reach_step"][profile]
        assert first["1"] < first["4"] < first["9"]  # (never reached counts as `steps`)
        assert m["rank_correlation"][profile] == 1.0
        assert m["reached_fraction"][profile]["1"] == 1.0
    assert m["linear_regions"]["final"] > m["linear_regions"]["init"]
    assert all(g > 1 for k, g in m["spectral_norm_growth"].items() if k != "layers.0.weight")
    again = _run("rahaman-frequencies", tmp_path / "again", **FREQ)
    assert again == m
    assert get("rahaman-frequencies").demo


def test_frequencies_rejects_frequencies_above_nyquist(tmp_path):
    with pytest.raises(ParameterError, match="Nyquist"):
        _run("rahaman-frequencies", tmp_path, n_points=32, frequencies=[4.0, 20.0])


def test_perturbation_high_frequencies_break_first(tmp_path):
    m = _run("rahaman-perturbation", tmp_path, width=32, depth=4, n_points=64,
             frequencies=[1.0, 3.0, 8.0], seeds=2, steps=800, draws=8,
             deltas=np.geomspace(1e-3, 1.0, 12).tolist())
    half = m["half_amplitude_delta"]
    assert half["1"] > half["8"]
    assert m["trained_amplitude"]["1"] > 0.8


def test_mnist_noise_low_frequency_noise_hurts_more(tmp_path):
    m = _run("rahaman-mnist-noise", tmp_path, width=32, depth=3, n_train=120, n_val=60,
             ks=[0.5, 10.0], epss=[1.0], steps=150, every=5, bands=[0, 10, 60])
    best = m["best_val_loss"]
    assert best["k=0.5"]["eps=1"] > best["k=10"]["eps=1"]
    assert best["k=10"]["eps=1"] < 0.8 * best["k=0.5"]["eps=1"]
    assert m["clean_best_val_loss"] < best["k=10"]["eps=1"]
    assert m["dip"]["k=10"]["eps=1"] > m["dip"]["k=0.5"]["eps=1"]  # high-k noise is fitted late
    cen = m["noise_spectral_centroid"]
    assert cen["k=0.5"] < cen["k=10"]
    reach = m["band_first_reach"]
    assert reach["0-10"] is not None and reach["0-10"] <= (reach["60-120"] or np.inf)
    assert m["n_train"] == 120
    assert m["grid_eigvec_sign_changes"] == list(range(8))  # Fig. 6: sinusoid-like


def test_manifold_more_petals_learn_high_frequencies_sooner(tmp_path):
    m = _run("rahaman-manifold", tmp_path, width=32, depth=4, n_points=160, petals=[0.0, 10.0],
             frequencies=[7.0, 17.0, 27.0, 37.0], seeds=1, steps=700, every=25,
             class_frequencies=[27.0], class_steps=300, plane_grid=32)
    amp = m["high_freq_mean_amplitude"]
    assert amp["10"] > amp["0"]
    assert m["final_loss"]["10"] < m["final_loss"]["0"]
    assert m["accuracy"]["27"]["10"] >= m["accuracy"]["27"]["0"]
    # Fig. 7 maps and App. E's k-NN: every K and L measured, the network smoother than k-NN
    assert set(m["input_space_frequency"]) == {"0", "10"}
    assert set(m["knn_mean_accuracy"]) == {"1", "3", "5"}
    assert all(0 <= a <= 1 for v in m["knn_mean_accuracy"].values() for a in v.values())
    assert m["heldout_mean_accuracy"]["10"] > m["heldout_mean_accuracy"]["0"]
    assert all(m["input_space_frequency"]["10"] < v
               for v in m["knn_input_space_frequency"].values())


def test_manifold_rejects_more_neighbours_than_points(tmp_path):
    with pytest.raises(ParameterError, match="knn_neighbors"):
        _run("rahaman-manifold", tmp_path, n_points=32, frequencies=[3.0, 5.0],
             class_frequencies=[3.0], knn_neighbors=[40])


def test_random_labels_flat_manifold_is_harder(tmp_path):
    m = _run("rahaman-random-labels", tmp_path, width=32, depth=3, n_train=120, seeds=1,
             steps=150, every=5)
    assert m["n_train"] == 120 and m["flat_dim"] >= 1
    assert 3 < m["intrinsic_dim"] < 30
    loss = m["mean_loss"]
    assert loss["full"] < loss["mnist"] < loss["flat"]
    assert set(m["final_accuracy"]) == {"mnist", "flat", "full"}


def test_random_labels_rejects_repeated_inputs(tmp_path):
    with pytest.raises(ParameterError, match="inputs"):
        _run("rahaman-random-labels", tmp_path, inputs=["mnist", "mnist"])


def test_ablation_clip_limits_high_frequencies(tmp_path):
    m = _run("rahaman-ablation", tmp_path, n_points=64, depths=[1, 4], widths=[16],
             clips=[0.05, 1.0], base_width=32, base_depth=4, seeds=2, steps=500, every=25, lr=1e-3)
    hf = m["high_freq_mean_amplitude"]
    assert hf["clip"]["1"] > hf["clip"]["0.05"]
    assert hf["depth"]["4"] > hf["depth"]["1"]
    assert set(hf["width"]) == {"16"}
    assert set(m["loss_spikes"]["depth"]) == {"1", "4"}
    assert all(v >= 0 for g in m["loss_spikes"].values() for v in g.values())
    assert -1 <= m["low_first_rank_correlation"] <= 1


@pytest.mark.slow  # ~14 s; test_ablation_clip_limits_high_frequencies runs the experiment fast
def test_ablation_quick_preset_high_frequencies_grow_with_depth(tmp_path):
    # the quick preset's depth ablation (widths/clips trimmed to one value to save time)
    m = _run("rahaman-ablation", tmp_path, widths=[16], clips=[1.0])
    hf = m["high_freq_mean_amplitude"]["depth"]
    assert hf["2"] < hf["4"] < hf["6"]
