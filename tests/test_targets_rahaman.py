"""Targets of Rahaman et al. checked against their defining properties (spectra, geometry)."""

import numpy as np
import pytest

import specbias.targets as targets
from specbias._validation import ParameterError
from specbias.callbacks import discrete_spectrum
from specbias.targets.rahaman import (
    SumOfSines,
    delta_spike,
    flower,
    radial_wave,
    rahaman_amplitudes,
    square_wave,
    sum_of_sines,
)


def test_exports():
    for name in ("SumOfSines", "flower", "delta_spike", "radial_wave", "sum_of_sines"):
        assert name in targets.__all__ and hasattr(targets, name)


@pytest.mark.parametrize("kind", ["equal", "increasing"])
def test_sum_of_sines_spectrum_recovers_amplitudes(kind):
    t = SumOfSines.rahaman(kind, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(t.frequencies, np.arange(5, 55, 5))
    assert np.all((t.phases >= 0) & (t.phases < 2 * np.pi))
    z = np.arange(200) / 200
    # the FFT of the samples: amplitude A_i at k_i, phase phi_i - pi/2, nothing elsewhere
    F = np.fft.rfft(t(z)) * 2 / 200
    k = t.frequencies.astype(int)
    np.testing.assert_allclose(np.abs(F[k]), t.amplitudes, atol=1e-12)
    np.testing.assert_allclose(np.angle(F[k] * np.exp(-1j * (t.phases - np.pi / 2))), 0, atol=1e-9)
    others = np.setdiff1d(np.arange(1, 100), k)
    assert np.max(np.abs(F[others])) < 1e-12
    np.testing.assert_allclose(discrete_spectrum(t(z), z, t.frequencies), t.amplitudes, atol=1e-12)


def test_phases_are_reproducible_and_amplitudes_as_in_paper():
    a = SumOfSines.rahaman(rng=np.random.default_rng(0))
    b = SumOfSines.rahaman(rng=np.random.default_rng(0))
    np.testing.assert_array_equal(a.phases, b.phases)
    np.testing.assert_allclose(rahaman_amplitudes("increasing"), np.linspace(0.1, 1.0, 10))
    np.testing.assert_array_equal(rahaman_amplitudes("equal", 3), [1, 1, 1])


def test_sum_of_sines_is_the_sum():
    z = np.random.default_rng(1).uniform(size=50)
    k, A, phi = np.array([1.0, 7.5]), np.array([2.0, -0.5]), np.array([0.3, 1.1])
    expect = sum(a * np.sin(2 * np.pi * kk * z + p) for kk, a, p in zip(k, A, phi, strict=True))
    np.testing.assert_allclose(sum_of_sines(z, k, A, phi), expect, rtol=1e-13)


@pytest.mark.parametrize("L", [0, 4, 10, 16])
def test_flower_geometry(L):
    z = np.arange(1000) / 1000
    g = flower(z, L)
    r = np.linalg.norm(g, axis=1)
    np.testing.assert_allclose(r, 1 + 0.5 * np.sin(2 * np.pi * L * z), atol=1e-13)
    ang = np.mod(np.arctan2(g[:, 1], g[:, 0]), 2 * np.pi)
    np.testing.assert_allclose(ang, 2 * np.pi * z, atol=1e-12)
    # the radius has exactly L oscillations: its spectrum is a single line at k = L
    if L:
        F = np.abs(np.fft.rfft(r - 1)) * 2 / 1000
        assert np.argmax(F) == L and abs(F[L] - 0.5) < 1e-12


def test_delta_spike_spectrum_is_flat():
    n = 200
    z = np.arange(n) / n
    d = delta_spike(z, 0.5, height=3.0)
    assert d.sum() == 3.0 and d[100] == 3.0
    s = discrete_spectrum(d, z, np.arange(1, n // 2))
    np.testing.assert_allclose(s, 2 * 3.0 / n, rtol=1e-12)


def test_radial_wave_depends_only_on_the_norm():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(20, 5))
    Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    np.testing.assert_allclose(radial_wave(x @ Q, 3.0, 0.7), radial_wave(x, 3.0, 0.7), atol=1e-12)
    np.testing.assert_allclose(radial_wave(x, 3.0, 0.7), 0.7 * np.sin(3 * np.linalg.norm(x, axis=1)))


def test_square_wave_thresholds_the_single_mode():
    z = np.arange(1000) / 1000 + 1e-4
    s = square_wave(z, 7)
    np.testing.assert_array_equal(s, ((1 + np.sin(2 * np.pi * 7 * z)) / 2 > 0.5).astype(float))
    assert abs(s.mean() - 0.5) < 0.01
    # 14 sign changes over one period of z
    assert np.count_nonzero(np.diff(s)) == 13


def test_bad_inputs():
    with pytest.raises(ParameterError, match="kind"):
        rahaman_amplitudes("random")
    with pytest.raises(ParameterError, match="L"):
        flower([0.1], -1)
    with pytest.raises(ParameterError, match="amplitudes"):
        sum_of_sines([0.1], [1.0, 2.0], [1.0])
    with pytest.raises(ParameterError, match="x"):
        radial_wave([1.0, 2.0], 1.0)
    with pytest.raises(ParameterError, match="k"):
        square_wave([0.1], 0)
    with pytest.raises(ParameterError, match="rng"):
        SumOfSines.rahaman(rng=0)
