"""Numerical transforms: FFT vs direct sums vs closed forms; the total magnitude M(r)."""

import numpy as np
import pytest

from specbias import ParameterError, activation, radial_magnitude
from specbias.spectra import fourier_2d, grid_2d, numerical_fourier
from specbias.targets.radon import bessel_ring


def test_spectra_fft_grid_matches_direct_sums():
    act = activation("relu")
    w, F = numerical_fourier(act, h=1e-3, n=2**16, order=2, band=(1.0, 3.0))
    pick = w[::7]
    _, D = numerical_fourier(act, pick, h=1e-3, n=2**16, order=2)
    np.testing.assert_allclose(D, F[::7], rtol=1e-9)


def test_spectra_difference_order_does_not_change_a_decaying_transform():
    act = activation("gaussian")
    w0, F0 = numerical_fourier(act, h=1e-2, n=2**14, band=(0.5, 4.0))
    w2, F2 = numerical_fourier(act, h=1e-2, n=2**14, order=2, delta=0.5, band=(0.5, 4.0))
    np.testing.assert_array_equal(w0, w2)
    np.testing.assert_allclose(F2, F0, rtol=1e-9)
    np.testing.assert_allclose(F0, np.sqrt(2 * np.pi) * np.exp(-w0**2 / 2), rtol=1e-10)


def test_spectra_numerical_fourier_errors():
    with pytest.raises(ParameterError, match="'h' parameter"):
        numerical_fourier("relu", h=0)
    with pytest.raises(ParameterError, match="non-finite"):
        numerical_fourier(lambda z: np.exp(z**2), h=1.0, n=64)
    with pytest.raises(ParameterError, match="'order' parameter"):
        numerical_fourier("relu", order=-1)


def test_spectra_fourier_2d_separable_gaussian():
    X, _ = grid_2d(128, (-10, 10))
    V = np.exp(-(X[:, 0] ** 2) / 2 - (X[:, 1] ** 2) / 8).reshape(128, 128)
    xi, F = fourier_2d(V, (-10, 10), pad=2)
    exact = 2 * np.pi * 2 * np.exp(-(xi[:, None] ** 2) / 2 - 4 * (xi[None, :] ** 2) / 2)
    assert np.max(np.abs(F - exact)) < 2e-5  # the Gaussian tail cut at |y| = 10: e^{-12.5}


def test_spectra_radial_magnitude_gaussian_closed_form():
    f = lambda X: np.exp(-(X**2).sum(1) / 2)  # noqa: E731
    r, M = radial_magnitude(f, (-8, 8), n=128, pad=8, r_max=6.0, n_radii=30)
    exact = 2 * np.pi * r * 2 * np.pi * np.exp(-(r**2) / 2)
    assert np.max(np.abs(M - exact)) < 5e-4 * exact.max()
    # array input gives the same as the callable
    X, _ = grid_2d(128, (-8, 8))
    r2, M2 = radial_magnitude(f(X).reshape(128, 128), (-8, 8), pad=8, r_max=6.0, n_radii=30)
    np.testing.assert_allclose(M2, M)


def test_spectra_radial_magnitude_finds_ring_and_plane_wave_frequency():
    r, M = radial_magnitude(bessel_ring(12.0), (-1, 1), n=128, window="hann")
    assert abs(r[np.argmax(M)] - 12.0) < 1.5
    k = np.array([7.0, -5.0])
    r, M = radial_magnitude(lambda X: np.cos(X @ k), (-1, 1), n=128, window="hann")
    assert abs(r[np.argmax(M)] - np.hypot(*k)) < 1.5


def test_spectra_errors():
    with pytest.raises(ParameterError, match="'window'"):
        radial_magnitude(np.ones((8, 8)), window="kaiser")
    with pytest.raises(ParameterError, match="square"):
        fourier_2d(np.ones((4, 5)))
    with pytest.raises(ParameterError, match="'extent'"):
        grid_2d(4, (1.0, -1.0))
    with pytest.raises(ParameterError, match="'r_max'"):
        radial_magnitude(np.ones((8, 8)), r_max=1e6)
