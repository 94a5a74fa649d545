"""Callbacks of the Rahaman experiments: spectra, spectral norms, weight clipping."""

import copy
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from specbias import SpectrumTracker, relu_net_fourier, train_ensemble
from specbias._validation import ParameterError
from specbias.callbacks import (
    SpectralNormRecorder,
    WeightClip,
    clip_parameters,
    discrete_spectrum,
    first_reach,
)
from specbias.ensemble import EnsembleModel
from specbias.nn import MLP
from specbias.training import TrainState, train

D = torch.float64
N = 128


def _grid():
    z = np.arange(N) / N
    return z, torch.tensor(z, dtype=D)[:, None]


def _target(z):
    return np.sin(2 * np.pi * 3 * z + 0.4) + 0.3 * np.sin(2 * np.pi * 11 * z + 2.0)


def _mlps(n, width=16, depth=3):
    return [MLP(1, width, depth, generator=torch.Generator().manual_seed(s), dtype=D)
            for s in range(n)]


def test_discrete_spectrum_matches_fft():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(3, N))
    z = np.arange(N) / N
    k = np.arange(1, N // 2)
    ref = 2 / N * np.abs(np.fft.rfft(v, axis=-1))[:, 1 : N // 2]
    np.testing.assert_allclose(discrete_spectrum(v, z, k), ref, rtol=1e-10, atol=1e-12)
    # a sum of sines: its amplitudes at its frequencies, zero elsewhere
    s = discrete_spectrum(_target(z), z, [3, 11, 5])
    np.testing.assert_allclose(s, [1.0, 0.3, 0.0], atol=1e-12)


def test_tracker_records_the_model_spectrum():
    z, X = _grid()
    y = torch.tensor(_target(z), dtype=D)
    spec = SpectrumTracker(X, [3, 11], every=10, amplitudes=[1.0, 0.3])
    net = _mlps(1)[0]
    train(net, (X, y), 30, lr=1e-2, callbacks=[spec], progress=False)
    assert spec.steps().tolist() == [0, 10, 20, 30]
    with torch.no_grad():
        out = net(X).numpy()
    np.testing.assert_allclose(spec.spectra()[-1], discrete_spectrum(out, z, [3, 11]) / [1, 0.3],
                               rtol=1e-12)
    # first_reach is consistent with the records
    fr = spec.first_reach(0.2)
    for j in range(2):
        col = spec.spectra()[:, j]
        expect = spec.steps()[np.argmax(col >= 0.2)] if np.any(col >= 0.2) else np.nan
        np.testing.assert_equal(fr[j], expect)


def test_exact_method_is_twice_the_transform():
    z, X = _grid()
    net = _mlps(1)[0]
    ex = SpectrumTracker(X, [1.0, 4.0], method="exact", interval=(0.0, 1.0)).measure(net)
    ref = 2 * np.abs(relu_net_fourier(net, 2 * np.pi * np.array([1.0, 4.0]), (0, 1)))
    np.testing.assert_allclose(ex, ref, rtol=1e-14)
    # and the DFT on a fine grid approaches it
    zf = np.arange(20_000) / 20_000
    dft = SpectrumTracker(torch.tensor(zf, dtype=D)[:, None], [1.0, 4.0]).measure(net)
    np.testing.assert_allclose(dft, ex, rtol=2e-3, atol=1e-4)


def test_ensemble_tracker_equals_per_member():
    z, X = _grid()
    nets = _mlps(3)
    ens = EnsembleModel(nets)
    tr = SpectrumTracker(X, [2, 5, 9])
    got = tr.measure(ens)
    assert got.shape == (3, 3)
    for i, m in enumerate(nets):
        np.testing.assert_allclose(got[i], tr.measure(m), rtol=1e-12)
    ex = SpectrumTracker(X, [2, 5], method="exact").measure(ens)
    for i, m in enumerate(nets):
        np.testing.assert_allclose(ex[i], SpectrumTracker(X, [2, 5], method="exact").measure(m))


def test_basis_tracker_signed_projections():
    z, X = _grid()
    rng = np.random.default_rng(1)
    U, _ = np.linalg.qr(rng.normal(size=(N, 6)))
    net = _mlps(1)[0]
    with torch.no_grad():
        f = net(X).numpy()
    signed = SpectrumTracker(X, basis=U, absolute=False).measure(net)
    np.testing.assert_allclose(signed, U.T @ f, rtol=1e-12)
    np.testing.assert_allclose(SpectrumTracker(X, basis=U).measure(net), np.abs(U.T @ f))


def test_manifold_grid_needs_coords():
    z = np.arange(N) / N
    G = torch.tensor(np.stack([np.cos(2 * np.pi * z), np.sin(2 * np.pi * z)], 1), dtype=D)
    with pytest.raises(ParameterError, match="coords"):
        SpectrumTracker(G, [1.0])
    net = MLP(2, 8, 2, dtype=D)
    s = SpectrumTracker(G, [1.0, 2.0], coords=z).measure(net)
    with torch.no_grad():
        np.testing.assert_allclose(s, discrete_spectrum(net(G).numpy(), z, [1.0, 2.0]))


def test_spectral_norms_single_and_ensemble():
    nets = _mlps(2)
    rec = SpectralNormRecorder()
    rec.on_train_begin(TrainState(nets[0], None, 0, 0.0))
    for name, p in nets[0].named_parameters():
        if p.ndim == 2:
            expect = float(torch.linalg.svdvals(p.detach()).max())
            assert abs(rec.record[name][0] - expect) < 1e-12 * expect
    erec = SpectralNormRecorder()
    erec.on_train_begin(TrainState(EnsembleModel(nets), None, 0, np.zeros(2)))
    for name, p in nets[1].named_parameters():
        if p.ndim == 2:
            assert abs(erec.record[name][0][1] - float(torch.linalg.svdvals(p.detach()).max())) < 1e-10
    assert "layers.0.bias" not in erec.record


def test_weight_clip_single_and_per_member():
    z, X = _grid()
    y = torch.tensor(_target(z), dtype=D)
    nets = _mlps(2)
    copies = [copy.deepcopy(m) for m in nets]
    clips = [0.05, 0.3]
    ens = clip_parameters(EnsembleModel(nets), clips)
    res = train_ensemble(ens, (X, y), 30, lr=1e-2, callbacks=[WeightClip(clips)], progress=False)
    for i, (m, c) in enumerate(zip(copies, clips, strict=True)):
        clip_parameters(m, c)
        train(m, (X, y), 30, lr=1e-2, callbacks=[WeightClip(c)], progress=False)
        assert max(float(p.detach().abs().max()) for p in m.parameters()) <= c
        with torch.no_grad():
            torch.testing.assert_close(res.model(X)[i], m(X), rtol=1e-9, atol=1e-12)
        # the bound is active: some parameter sits at the clip
        assert any(torch.any(p.detach().abs() == c) for p in m.parameters())


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=12), st.floats(0.05, 0.95))
def test_first_reach_brute_force(values, thr):
    steps = np.arange(len(values)) * 7
    got = first_reach(steps, np.array(values)[:, None], thr)[0]
    expect = next((s for s, v in zip(steps, values, strict=True) if v >= thr), np.nan)
    np.testing.assert_equal(got, expect)


def test_bad_inputs():
    z, X = _grid()
    with pytest.raises(ParameterError, match="exactly one"):
        SpectrumTracker(X)
    with pytest.raises(ParameterError, match="amplitudes"):
        SpectrumTracker(X, [1, 2], amplitudes=[1.0])
    with pytest.raises(ParameterError, match="method"):
        SpectrumTracker(X, [1], method="fft")
    with pytest.raises(ParameterError, match="torch.Tensor"):
        SpectrumTracker(z, [1])
    with pytest.raises(ParameterError, match="rows"):
        SpectrumTracker(X, basis=np.eye(3))
    with pytest.raises(ParameterError, match="every"):
        SpectrumTracker(X, [1], every=0)
    with pytest.raises(ParameterError, match="clip"):
        WeightClip(-1.0)
    with pytest.raises(ParameterError, match="clip"):
        clip_parameters(torch.nn.Linear(2, 2), [1.0, 2.0])
    with pytest.raises(ParameterError, match="values"):
        first_reach([0, 1], [0.1])
    with pytest.raises(ParameterError, match="samples"):
        discrete_spectrum(np.zeros(5), np.arange(4) / 4, [1])
    assert math.isnan(first_reach([0, 1], [0.1, 0.2], 0.5))


def test_param_norm_recorder_is_the_spectral_norm_recorder():
    from specbias.training import ParamNormRecorder

    nets = _mlps(2)
    a, b = ParamNormRecorder(every=2), SpectralNormRecorder(every=2)
    res = train_ensemble(nets, (torch.zeros(4, 1, dtype=D), torch.zeros(4, dtype=D)), 4,
                         callbacks=[a, b], progress=False)
    assert set(res.records) == {"param_norms", "spectral_norms"}
    assert a.record["step"] == b.record["step"] == [0, 2, 4]
    for name in b.record:
        np.testing.assert_array_equal(a.record[name], b.record[name])
    assert "layers.0.bias" not in a.record and a.record["layers.0.weight"][0].shape == (2,)
