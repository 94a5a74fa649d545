"""Experiment inputs that used to crash deep inside numpy/PIL, exhaust the machine's memory, or
run "ok" without a result: each is refused with one ParameterError naming the parameter, or
reported in the run's summary."""

import struct
import zlib

import numpy as np
import pytest

import specbias.experiments as registry
from specbias import load_mnist
from specbias._validation import ParameterError
from specbias.data import write_idx
from specbias.runner import resolve_config, run_experiment
from specbias.signals import load_signal

GIB = 1024**3


def refused(name, match, preset="quick", **overrides):
    with pytest.raises(ParameterError, match=match) as info:
        resolve_config(name, preset, overrides)
    return str(info.value)


@pytest.fixture
def small_machine(monkeypatch):
    """A machine with 2 GiB available (1.6 GiB usable by a run)."""
    monkeypatch.setattr(registry, "available_memory", lambda: 2.0 * GIB)


# ------------------------------------------------------------------ A. memory and size bounds


def test_available_memory_is_known_here():
    avail = registry.available_memory()
    assert avail is None or avail > 0


def test_radon_targets_billion_test_points_refused():
    refused("radon-targets", "n_test", n_test=10**9)


def test_memory_estimate_names_the_field_and_the_estimate(small_machine):
    msg = refused("radon-targets", "n_test", n_test=1_000_000)
    assert msg.startswith("The 'n_test' parameter of radon-targets needs about ")
    assert "n_test x width" in msg
    assert msg.endswith("more than the 1.6 GiB this machine has available.")
    need = float(msg.split("needs about ")[1].split(" GiB")[0])
    assert 25 < need < 40  # 4 x 1e6 x 1000 x 8 bytes = 29.8 GiB, plus the training features


def test_memory_check_is_skipped_when_memory_is_unknown(monkeypatch):
    monkeypatch.setattr(registry, "available_memory", lambda: None)
    cfg = resolve_config("radon-targets", "quick", {"n_test": 1_000_000, "width": 20000})
    assert cfg.n_test == 1_000_000


@pytest.mark.parametrize("name, overrides, field", [
    ("radon-mnist", {"record_every": 1, "epochs": 1000, "batches_per_epoch": 1000}, "record_every"),
    ("radon-pinning", {"steps": 10**7, "record_every": 1, "replicates": 100}, "record_every"),
    ("rahaman-frequencies", {"steps": 10**7, "every": 1}, "every"),
    ("rahaman-mnist-noise", {"n_train": 60000}, "n_train"),
    ("lucey-2d", {"rows": 128, "cols": 128}, "rows"),
    ("radon-gd-vs-convex", {"hull_grid": 1000, "width": 20000}, "hull_grid"),
])
def test_records_and_arrays_beyond_memory_refused(small_machine, name, overrides, field):
    refused(name, f"The '{field}' parameter of {name} needs about .* GiB", **overrides)


@pytest.mark.parametrize("name, field, value", [
    ("radon-targets", "n_test", 10**9),
    ("radon-mnist", "batch_size", 10**9),
    ("radon-mnist", "train_size", 10**9),
    ("radon-mnist", "n_radii", 10**9),
    ("radon-kernel-switch", "batches_per_epoch", 10**9),
    ("radon-pinning", "steps", 10**9),
    ("radon-gd-vs-convex", "max_steps", 10**9),
    ("rahaman-frequencies", "steps", 10**9),
    ("rahaman-mnist-noise", "n_train", 10**9),
    ("rahaman-ablation", "widths", [10**6]),
])
def test_sizes_have_upper_bounds(name, field, value):
    refused(name, field, **{field: value})


def test_presets_resolve_and_have_modest_estimates():
    for name, exp in registry.all_experiments().items():
        if name.startswith("_"):  # experiments that tests register for themselves
            continue
        for preset in exp.preset_names():
            cfg = resolve_config(name, preset)
            est = cfg.memory_estimate()
            if name != "radon-activations":  # no size parameters
                assert est, name
            assert max((v[0] for v in est.values()), default=0) < 4 * GIB, (name, preset)


# ------------------------------------------------------------------ B. cross-field checks


@pytest.mark.parametrize("name, overrides, match", [
    ("lucey-spectrum", {"fit_start": 30}, "'fit_start' parameter of lucey-spectrum must be below"),
    ("lucey-spectrum", {"fit_first": 300}, "'fit_first' parameter of lucey-spectrum"),
    ("lucey-mask", {"steps": [1e300, 1e308]}, "'steps' parameter of lucey-mask"),
    ("lucey-mask", {"steps": [0.5, 10.0]}, "'steps' parameter of lucey-mask"),
    ("lucey-iterations", {"fit_stop": 300}, "fit_stop"),
    ("lucey-components", {"narrow_width": 300}, "'narrow_width' parameter of lucey-components"),
    ("lucey-reconstruction", {"ks": [4, 1000]}, "'ks' parameter of lucey-reconstruction"),
    ("lucey-spline", {"stride": 100}, "'stride' parameter of lucey-spline"),
    ("radon-gd-vs-convex", {"optimizer": "sgd"}, "'optimizer' parameter of radon-gd-vs-convex"),
    ("radon-kernel-switch", {"epochs": 2, "switch_epoch": 2},
     "'switch_epoch' parameter of radon-kernel-switch"),
    ("radon-pinning", {"targets": [1.0]}, "'targets' parameter of radon-pinning"),
    ("radon-targets", {"targets": ["spiral"]}, "'targets' parameter of radon-targets"),
    ("rahaman-mnist-noise", {"classes": [3, 3]}, "'classes' parameter of rahaman-mnist-noise"),
    ("rahaman-perturbation", {"deltas": [0.1, 0.01, 1.0]}, "'deltas' parameter"),
    ("rahaman-manifold", {"frequencies": [10.0, 400.0]}, "Nyquist"),
])
def test_cross_field_checks_refuse_when_the_config_is_built(name, overrides, match):
    refused(name, match, **overrides)


def test_non_finite_values_refused():
    refused("radon-activations", "z_max", z_max=float("inf"))
    refused("lucey-spline", "lams", lams=[float("nan")])


def _png_header(path, width, height):
    """A tiny PNG whose header promises width x height grey pixels (a decompression bomb)."""
    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("side", [9000, 10000, 100000])  # ours; PIL's warning; PIL's error
def test_decompression_bomb_image_refused(tmp_path, side):
    path = _png_header(tmp_path / "bomb.png", side, side)
    with pytest.raises(ParameterError, match="bomb.png.*(too large|more than)"):
        load_signal(path)


def test_bomb_signal_refused_by_the_experiment(tmp_path):
    path = _png_header(tmp_path / "bomb.png", 100000, 100000)
    with pytest.raises(ParameterError, match="too large"):
        run_experiment("lucey-reconstruction", overrides={"signal": str(path)},
                       out=tmp_path / "out", quiet_progress=True)


def test_bad_npy_files_refused(tmp_path, monkeypatch):
    (tmp_path / "empty.npy").write_bytes(b"")
    with pytest.raises(ParameterError, match="empty"):
        load_signal(tmp_path / "empty.npy")
    np.savez(tmp_path / "archive.npz", a=np.arange(3.0))
    (tmp_path / "archive.npz").rename(tmp_path / "archive.npy")
    with pytest.raises(ParameterError, match="not one array"):
        load_signal(tmp_path / "archive.npy")
    np.save(tmp_path / "big.npy", np.zeros((4, 30)))
    monkeypatch.setattr("specbias.signals.MAX_VALUES", 100)
    with pytest.raises(ParameterError, match="120 values"):
        load_signal(tmp_path / "big.npy")


def test_long_signal_refused_before_the_fit(tmp_path, monkeypatch):
    np.save(tmp_path / "long.npy", np.sin(np.linspace(0.0, 50.0, 20000)))
    monkeypatch.setattr(registry, "available_memory", lambda: 40.0 * 1024**2)
    with pytest.raises(ParameterError, match="'signal' parameter of lucey-reconstruction needs "
                                             "about .*a signal of 20000 samples"):
        run_experiment("lucey-reconstruction", overrides={"signal": str(tmp_path / "long.npy")},
                       out=tmp_path / "out", quiet_progress=True)


def test_npy_row_is_a_copy_not_a_mapped_view(tmp_path):
    np.save(tmp_path / "two.npy", np.arange(12.0).reshape(3, 4))
    row = load_signal(tmp_path / "two.npy", row=1)
    assert row.tolist() == [4.0, 5.0, 6.0, 7.0]
    assert type(row) is np.ndarray and row.base is None


# ------------------------------------------------------------------ C. silent acceptance


@pytest.mark.parametrize("name", sorted(n for n, e in registry.all_experiments().items()
                                        if "activations" in e.config.model_fields))
def test_empty_activation_list_refused(name):
    refused(name, "activations", activations=[])


FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
         "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def _idx_dir(path, *, n=6, side=28, x_dtype=np.uint8, labels=None):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, side, side)).astype(x_dtype)
    arrays = {"x_train": x, "y_train": np.arange(n) % 10 if labels is None else labels,
              "x_test": rng.integers(0, 256, (3, 28, 28)).astype(np.uint8),
              "y_test": np.array([1, 2, 3])}
    path.mkdir()
    for key, stem in FILES.items():
        write_idx(path / stem, np.asarray(arrays[key]))
    return path, arrays


def test_good_idx_files_load(tmp_path):
    path, arrays = _idx_dir(tmp_path / "ok")
    m = load_mnist(path)
    assert m.x_train.shape == (6, 784) and m.y_train.tolist() == arrays["y_train"].tolist()


def test_idx_without_images_refused(tmp_path):
    path, _ = _idx_dir(tmp_path / "zero", n=0, labels=np.zeros(0, dtype=np.uint8))
    with pytest.raises(ParameterError, match="train-images-idx3-ubyte holds no images"):
        load_mnist(path)


def test_idx_with_nan_pixels_refused(tmp_path):
    path, arrays = _idx_dir(tmp_path / "nan", x_dtype=np.float32)
    x = arrays["x_train"].copy()
    x[2, 5, 5] = np.nan
    write_idx(path / FILES["x_train"], x)
    with pytest.raises(ParameterError, match="finite pixel values. Got 1 NaN"):
        load_mnist(path)


def test_idx_with_small_images_refused(tmp_path):
    path, _ = _idx_dir(tmp_path / "small", side=3)
    with pytest.raises(ParameterError, match="28 x 28 images. Got 3 x 3"):
        load_mnist(path)


def test_idx_with_label_200_refused(tmp_path):
    path, _ = _idx_dir(tmp_path / "label", labels=np.array([1, 2, 200, 3, 4, 5]))
    with pytest.raises(ParameterError, match="digits 0..9. Got 1 label"):
        load_mnist(path)


def test_idx_with_pixels_out_of_range_refused(tmp_path):
    path, _ = _idx_dir(tmp_path / "range", x_dtype=np.int16)
    x = np.full((6, 28, 28), 300, dtype=np.int16)
    write_idx(path / FILES["x_train"], x)
    with pytest.raises(ParameterError, match=r"grey levels in \[0, 255\]"):
        load_mnist(path)


PIN = {"replicates": 1, "steps": 300, "record_every": 20}


def test_radon_pinning_learns_with_its_default_lr(tmp_path):
    s = run_experiment("radon-pinning", overrides=PIN, out=tmp_path / "ok", quiet_progress=True)
    assert s["status"] == "ok" and not s["failed"] and not s["diverged"]


@pytest.mark.parametrize("lr", [1e3, 1e6])
def test_radon_pinning_that_learns_nothing_is_reported(tmp_path, lr):
    s = run_experiment("radon-pinning", overrides={**PIN, "lr": lr}, out=tmp_path / "bad",
                       quiet_progress=True)
    assert s["status"] != "ok"
    flagged = {**s["failed"], **s["diverged"]}
    assert "replicate 0" in flagged
    if lr == 1e3:  # the ReLUs die: finite numbers, nothing learned
        assert "did not learn" in s["failed"]["replicate 0"]
