"""Signal loading, resampling, PSNR and the DST baseline."""

import numpy as np
import pytest
import pywt.data
import scipy.fft
from PIL import Image

from specbias import ParameterError
from specbias.signals import dst_basis, dst_fit, dst_matrix, load_signal, psnr, resample


def test_default_is_a_camera_row_scaled_to_unit_range():
    row = load_signal()
    assert np.allclose(row, pywt.data.camera()[256] / 255.0)
    assert np.allclose(load_signal("ascent", row=-1), pywt.data.ascent()[-1] / 255.0)


def test_numeric_files(tmp_path):
    v = np.linspace(-2, 3, 17) ** 2
    np.save(tmp_path / "a.npy", v)
    assert np.array_equal(load_signal(tmp_path / "a.npy"), v)
    M = np.arange(12.0).reshape(3, 4)
    np.save(tmp_path / "m.npy", M)
    assert np.array_equal(load_signal(str(tmp_path / "m.npy"), row=2), M[2])
    assert np.array_equal(load_signal(tmp_path / "m.npy"), M[1])  # middle row
    np.savetxt(tmp_path / "c.csv", v, delimiter=",")
    assert np.allclose(load_signal(tmp_path / "c.csv"), v)
    np.savetxt(tmp_path / "r.csv", v[None, :], delimiter=",")
    assert np.allclose(load_signal(tmp_path / "r.csv"), v)
    with pytest.raises(ParameterError, match="2-D sources only"):
        load_signal(tmp_path / "a.npy", row=0)
    with pytest.raises(ParameterError, match="'row' parameter"):
        load_signal(tmp_path / "m.npy", row=3)


def test_image_file_row(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "im.png")
    grey = np.asarray(Image.fromarray(img).convert("L"), dtype=float) / 255
    assert np.allclose(load_signal(tmp_path / "im.png", row=7), grey[7])
    img16 = (rng.integers(0, 65536, (6, 9))).astype(np.uint16)
    Image.fromarray(img16).save(tmp_path / "im16.png")
    assert np.allclose(load_signal(tmp_path / "im16.png", row=2), img16[2] / 65535)
    (tmp_path / "junk.jpg").write_text("not an image")
    with pytest.raises(ParameterError, match="Could not read an image"):
        load_signal(tmp_path / "junk.jpg")
    with pytest.raises(ParameterError, match="existing file"):
        load_signal(tmp_path / "missing.npy")


def test_resample_is_exact_on_the_grid_and_linear_between():
    sig = np.random.default_rng(1).standard_normal(11)
    grid = np.linspace(0, 1, 11)
    assert np.allclose(resample(sig, grid), sig)
    mid = (grid[:-1] + grid[1:]) / 2
    assert np.allclose(resample(sig, mid), (sig[:-1] + sig[1:]) / 2)
    assert np.allclose(resample(sig, grid[::2], kind="nearest"), sig[::2])
    with pytest.raises(ParameterError, match=r"\[0, 1\]"):
        resample(sig, [1.5])


def test_psnr_formula():
    rng = np.random.default_rng(2)
    ref = rng.uniform(0, 1, 100)
    est = ref + rng.normal(0, 0.05, 100)
    mse = np.mean((ref - est) ** 2)
    assert psnr(ref, est, peak=1.0) == pytest.approx(-10 * np.log10(mse))
    assert psnr(ref, est) == pytest.approx(10 * np.log10(np.ptp(ref) ** 2 / mse))
    assert psnr(ref, ref) == float("inf")
    with pytest.raises(ParameterError, match="shape"):
        psnr(ref, est[:-1])


def test_dst_matrix_is_scipys_transform_and_orthonormal():
    v = np.random.default_rng(3).standard_normal(13)
    for t in (1, 2, 3, 4):
        D = dst_matrix(13, t)
        assert np.allclose(D @ v, scipy.fft.dst(v, type=t, norm="ortho"))
        assert np.allclose(D @ D.T, np.eye(13))
    n = 9  # type 1 rows are sampled sines
    i = np.arange(n)
    assert np.allclose(np.abs(dst_matrix(n, 1)[2]), np.abs(np.sin(np.pi * 3 * (i + 1) / (n + 1)))
                       * np.sqrt(2 / (n + 1)))


def test_dst_fit_recovers_sine_sums_and_is_a_projection():
    x = np.linspace(0, 1, 40)
    y = 1.5 * np.sin(2 * np.pi * x) - 0.3 * np.sin(5 * np.pi * x)
    assert np.allclose(dst_fit(x, y, 5), y)
    rng = np.random.default_rng(4)
    z = rng.standard_normal(40)
    f = dst_fit(x, z, 7)
    B = dst_basis(x, 7)
    assert np.allclose(B.T @ (z - f), 0, atol=1e-10)  # residual orthogonal to the basis
    assert np.allclose(dst_fit(x, np.c_[z, y], 7)[:, 0], f)
    assert np.allclose(dst_basis(np.array([0.0, 1.0]), 4), 0, atol=1e-12)
