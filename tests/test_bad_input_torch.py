"""Bad input to the torch-side modules gives one clear ParameterError naming the parameter, never a
raw error from deep inside torch or numpy, nor a silently wrong result."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from specbias._validation import ParameterError
from specbias.callbacks import (
    SpectrumTracker,
    WeightClip,
    clip_parameters,
    discrete_spectrum,
    first_reach,
)
from specbias.data import load_mnist, read_idx, write_idx
from specbias.ensemble import EnsembleModel, member_losses, train_ensemble
from specbias.nn import MLP, ShallowNet
from specbias.regimes import (
    ClassificationRecorder,
    KernelSwitch,
    regime_param_groups,
    shallow_net,
    steps_per_epoch,
    train_regime,
)
from specbias.targets import bumps_2d, donoho_doppler, doppler_2d, plane_waves, radial_wave
from specbias.training import LossRecorder, ParamNormRecorder, make_optimizer, train
from specbias.zeroplanes import (
    ZeroPlaneRecord,
    ZeroPlaneRecorder,
    clustering_baseline,
    network_radial_magnitude,
    zero_plane_motion,
)

X1 = torch.linspace(0, 1, 8)[:, None]
Y1 = torch.sin(3 * X1[:, 0])
X2 = torch.randn(8, 2, generator=torch.Generator().manual_seed(0))
Y2 = X2[:, 0].sin()


def _mlp(**kw):
    return MLP(1, 4, 1, generator=torch.Generator().manual_seed(0), **kw)


def _sn(**kw):
    return ShallowNet(2, 4, generator=torch.Generator().manual_seed(0), **kw)


def _train(model=None, data=None, steps=2, **kw):
    return train(_mlp() if model is None else model, (X1, Y1) if data is None else data, steps,
                 progress=False, **kw)


def _train_ens(models=None, data=None, steps=2, **kw):
    return train_ensemble([_mlp(), _mlp()] if models is None else models,
                          (X1, Y1) if data is None else data, steps, progress=False, **kw)


# ------------------------------------------------------------------------------------ nn


@pytest.mark.parametrize("model", [_mlp, _sn], ids=["MLP", "ShallowNet"])
def test_forward_wrong_dtype(model):
    net = model()
    x = torch.zeros(5, net.in_dim, dtype=torch.float64)
    with pytest.raises(ParameterError, match=r"dtype torch\.float32.*Got torch\.float64"):
        net(x)


def test_mlp_forward_numpy_input():
    with pytest.raises(ParameterError, match="MLP expects a torch.Tensor input"):
        _mlp()(np.zeros((5, 1)))


def test_forward_wrong_width_already_checked():
    with pytest.raises(ParameterError, match=r"ShallowNet expects inputs of shape \(N, 2\)"):
        _sn()(torch.zeros(5, 3))


@pytest.mark.parametrize("cls", [ShallowNet, MLP])
def test_integer_dtype(cls):
    args = (2, 4) if cls is ShallowNet else (2, 4, 1)
    with pytest.raises(ParameterError, match="'dtype' parameter of"):
        cls(*args, dtype=torch.int64)


def test_bad_generator():
    with pytest.raises(ParameterError, match="'generator' parameter of ShallowNet"):
        ShallowNet(2, 4, generator=0)


@pytest.mark.parametrize("kw,name", [({"theta": [[np.nan, 0.0]]}, "theta"),
                                     ({"s": [np.nan]}, "s"), ({"gamma": [np.inf]}, "gamma")])
def test_from_radon_non_finite(kw, name):
    args = {"c": [1.0], "theta": [[1.0, 0.0]], "gamma": [0.0], "s": [1.0]} | kw
    with pytest.raises(ParameterError, match=f"'{name}' parameter of ShallowNet.from_radon must be finite"):
        ShallowNet.from_radon(**args)


def test_from_radon_empty_and_non_numeric():
    with pytest.raises(ParameterError, match="'theta' parameter of ShallowNet.from_radon"):
        ShallowNet.from_radon([], np.zeros((0, 2)), [], [])
    with pytest.raises(ParameterError, match="'theta' parameter of ShallowNet.from_radon must be array-like"):
        ShallowNet.from_radon([1.0], "ab", [0.0], [1.0])


def test_from_standard_bias_shape():
    with pytest.raises(ParameterError, match=r"'b' parameter of ShallowNet.from_standard must have shape \(2,\)"):
        ShallowNet.from_standard([1.0, 1.0], [[1.0, 0.0], [0.0, 1.0]], [0.0, 1.0, 2.0])


def test_from_standard_nan():
    with pytest.raises(ParameterError, match="'w' parameter of ShallowNet.from_standard must be finite"):
        ShallowNet.from_standard([1.0], [[np.nan, 0.0]], [0.0])


def test_width_depth_already_checked():
    with pytest.raises(ParameterError, match="'width' parameter of ShallowNet"):
        ShallowNet(2, 0)
    with pytest.raises(ParameterError, match="'depth' parameter of MLP"):
        MLP(1, 4, 0)


# ------------------------------------------------------------------------------ training


def test_train_target_shape_n1_is_not_broadcast():
    # y of shape (N, 1) against outputs (N,) used to broadcast to (N, N) with a warning only
    with pytest.raises(ParameterError, match=r"'data' parameter of train: y of shape \(8, 1\)"):
        _train(data=(X1, Y1[:, None]))


def test_train_empty_data():
    with pytest.raises(ParameterError, match="'data' parameter of train must hold at least one sample"):
        _train(data=(torch.zeros(0, 1), torch.zeros(0)))


@pytest.mark.parametrize("which", ["X", "y"])
def test_train_nan_data_is_not_reported_as_divergence(which):
    X, y = X1.clone(), Y1.clone()
    (X if which == "X" else y)[3] = float("nan")
    with pytest.raises(ParameterError, match=f"'data' parameter of train must be finite. {which} has 1"):
        _train(data=(X, y))


def test_train_divergence_still_flagged():
    res = _train(steps=50, optimizer="sgd", lr=1e6)
    assert res.diverged and "diverged" in res.message


def test_train_rows_mismatch():
    with pytest.raises(ParameterError, match="'data' parameter of train must hold X and y with the same number of rows"):
        _train(data=(X1, Y1[:7]))


def test_train_lr_named_for_train():
    with pytest.raises(ParameterError, match=r"The 'lr' parameter of train must be a float in the range \(0.0, inf\). Got -1"):
        _train(lr=-1)


def test_train_model_not_a_module():
    with pytest.raises(ParameterError, match="'model' parameter of train"):
        _train(model="mlp")


def test_train_plain_linear_wrong_width():
    with pytest.raises(ParameterError, match="'data' parameter of train does not fit the model"):
        _train(model=torch.nn.Linear(2, 1), data=(torch.randn(8, 3), torch.randn(8, 1)))


def test_train_dtype_mismatch():
    with pytest.raises(ParameterError, match="MLP expects inputs of dtype"):
        _train(data=(X1.double(), Y1.double()))


@pytest.mark.parametrize("labels,match", [
    (torch.full((8,), 5), r"labels y must lie in \[0, 2\]"),
    (torch.full((8,), -1), r"labels y must lie in \[0, 2\]"),
    (torch.zeros(8), "integer class labels"),
])
def test_train_cross_entropy_labels(labels, match):
    with pytest.raises(ParameterError, match=f"'data' parameter of train: .*{match}"):
        _train(model=_mlp(out_dim=3), data=(X1, labels), loss="cross_entropy")


def test_train_loss_callable_not_scalar():
    with pytest.raises(ParameterError, match="'loss' parameter of train must return a scalar"):
        _train(loss=lambda p, t: (p - t) ** 2)


def test_train_callbacks():
    with pytest.raises(ParameterError, match="'callbacks' parameter of train must be a sequence"):
        _train(callbacks=LossRecorder())
    with pytest.raises(ParameterError, match="'callbacks' parameter of train must hold Callback"):
        _train(callbacks=[lambda state: None])


def test_train_optimizer_class_instead_of_instance():
    with pytest.raises(ParameterError, match="'optimizer' parameter of train"):
        _train(optimizer=torch.optim.Adam)


def test_train_generator():
    with pytest.raises(ParameterError, match="'generator' parameter of train"):
        _train(batch_size=2, generator=3)


def test_train_already_checked():
    with pytest.raises(ParameterError, match="'steps' parameter of train"):
        _train(steps=-1)
    with pytest.raises(ParameterError, match="'batch_size' parameter of train"):
        _train(batch_size=0)
    with pytest.raises(ParameterError, match="'loss' parameter of train"):
        _train(loss="hinge")
    with pytest.raises(ParameterError, match="'optimizer' parameter must be one of"):
        _train(optimizer="lbfgs")


def test_make_optimizer_bad_kwargs():
    with pytest.raises(ParameterError, match="'adam' optimizer of make_optimizer rejected"):
        make_optimizer(_mlp().parameters(), "adam", 1e-3, momentum=0.9)
    with pytest.raises(ParameterError, match="make_optimizer rejected"):
        make_optimizer(_mlp().parameters(), "adam", 1e-3, betas=(2.0, 0.9))


def test_loss_recorder_validation():
    with pytest.raises(ParameterError, match="'validation' parameter of LossRecorder"):
        LossRecorder(validation={"test": X1})
    with pytest.raises(ParameterError, match="'validation' parameter of LossRecorder"):
        LossRecorder(validation=[(X1, Y1)])


def test_callback_name():
    with pytest.raises(ParameterError, match="'name' parameter of ParamNormRecorder"):
        ParamNormRecorder(name="")


# ------------------------------------------------------------------------------ ensemble


def test_ensemble_already_checked():
    with pytest.raises(ParameterError, match="'models' parameter of EnsembleModel must be a non-empty"):
        EnsembleModel([])
    with pytest.raises(ParameterError, match="'models' parameter of EnsembleModel must hold copies"):
        EnsembleModel([MLP(1, 4, 1), MLP(1, 5, 1)])


def test_ensemble_forward_dtype():
    with pytest.raises(ParameterError, match="EnsembleModel expects inputs of dtype"):
        EnsembleModel([_mlp(), _mlp()])(X1.double())


def test_sequential_ensemble_wrong_width():
    def seq():
        return torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))

    with pytest.raises(ParameterError, match=r"Sequential ensemble expects inputs of shape \(N, 2\)"):
        EnsembleModel([seq(), seq()])(torch.randn(5, 3))


def test_member_losses_shapes():
    with pytest.raises(ParameterError, match="'y' parameter of member_losses must have shape"):
        member_losses(torch.zeros(2, 5), torch.zeros(4))
    with pytest.raises(ParameterError, match="'y' parameter of member_losses must hold integer class labels"):
        member_losses(torch.zeros(2, 5, 3), torch.zeros(5), "cross_entropy")
    with pytest.raises(ParameterError, match=r"'y' parameter of member_losses must hold class labels in \[0, 2\]"):
        member_losses(torch.zeros(2, 5, 3), torch.full((5,), 7), "cross_entropy")
    with pytest.raises(ParameterError, match="'pred' and 'y' parameters of member_losses"):
        member_losses(np.zeros((2, 5)), torch.zeros(5))


def test_train_ensemble_rows_mismatch():
    with pytest.raises(ParameterError, match="'y' parameter of member_losses"):
        _train_ens(data=(X1, Y1[:7]))


def test_train_ensemble_empty_and_nan():
    with pytest.raises(ParameterError, match="'data' parameter of train_ensemble must hold at least one"):
        _train_ens(data=(torch.zeros(0, 1), torch.zeros(0)))
    with pytest.raises(ParameterError, match="'data' parameter of train_ensemble must be finite"):
        _train_ens(data=(X1, torch.full((8,), float("nan"))))


def test_train_ensemble_divergence_still_flagged():
    res = _train_ens(steps=50, optimizer="sgd", lr=1e6)
    assert res.diverged.all()


def test_train_ensemble_callbacks_and_validation():
    with pytest.raises(ParameterError, match="'callbacks' parameter of train_ensemble"):
        _train_ens(callbacks=[3])
    with pytest.raises(ParameterError, match="'validation' parameter of train_ensemble"):
        _train_ens(validation={"v": (np.zeros((3, 1)), np.zeros(3))})


def test_train_ensemble_optimizer_kwargs():
    with pytest.raises(ParameterError, match="make_optimizer rejected"):
        _train_ens(optimizer_kwargs={"momentum": 0.9})


def test_train_ensemble_cross_entropy_labels():
    with pytest.raises(ParameterError, match=r"'y' parameter of member_losses must hold class labels in \[0, 2\]"):
        _train_ens(models=[_mlp(out_dim=3), _mlp(out_dim=3)], data=(X1, torch.full((8,), 5)),
                   loss="cross_entropy")


def test_train_ensemble_already_checked():
    with pytest.raises(ParameterError, match="'record_every' parameter of train_ensemble"):
        _train_ens(record_every=0)
    with pytest.raises(ParameterError, match="'lr' parameter of train_ensemble"):
        _train_ens(lr=0)


# ----------------------------------------------------------------------------- callbacks


def test_spectrum_tracker_interval():
    with pytest.raises(ParameterError, match="'interval' parameter of SpectrumTracker"):
        SpectrumTracker(torch.zeros(5, 1), [1.0], method="exact", interval=(1.0, 0.0))
    with pytest.raises(ParameterError, match="'interval' parameter of SpectrumTracker"):
        SpectrumTracker(torch.zeros(5, 1), [1.0], method="exact", interval="ab")


def test_spectrum_tracker_grid():
    with pytest.raises(ParameterError, match="'grid' parameter of SpectrumTracker must be finite"):
        SpectrumTracker(torch.full((5, 1), float("nan")), [1.0], coords=np.arange(5.0))
    with pytest.raises(ParameterError, match="'grid' parameter of SpectrumTracker must hold at least one"):
        SpectrumTracker(torch.zeros(0, 1), [1.0])
    with pytest.raises(ParameterError, match="'grid' parameter of SpectrumTracker must be a torch.Tensor"):
        SpectrumTracker(np.zeros(5), [1.0])


def test_spectrum_tracker_name():
    with pytest.raises(ParameterError, match="'name' parameter of SpectrumTracker"):
        SpectrumTracker(torch.zeros(5, 1), [1.0], name=3)


def test_discrete_spectrum_values():
    with pytest.raises(ParameterError, match="'values' parameter of discrete_spectrum must be finite"):
        discrete_spectrum([np.nan, 1.0], [0.0, 0.5], [1.0])
    with pytest.raises(ParameterError, match="'values' parameter of discrete_spectrum must be array-like"):
        discrete_spectrum("ab", [0.0, 0.5], [1.0])


def test_first_reach_values():
    with pytest.raises(ParameterError, match="'values' parameter of first_reach must be array-like"):
        first_reach([0, 1], "ab")
    # NaN (a diverged member) stays allowed
    assert np.isnan(first_reach([0, 1], [[np.nan], [0.1]]))[0]


def test_clip_not_a_number():
    with pytest.raises(ParameterError, match="'clip' parameter of clip_parameters"):
        clip_parameters(_mlp(), "a")
    with pytest.raises(ParameterError, match="'clip' parameter of WeightClip"):
        WeightClip("a")
    with pytest.raises(ParameterError, match="'clip' parameter of WeightClip"):
        WeightClip(0.0)


# ---------------------------------------------------------------------------- zeroplanes


def test_zero_plane_recorder_needs_zero_planes():
    with pytest.raises(ParameterError, match="ZeroPlaneRecorder needs a ShallowNet.*Got MLP"):
        _train(callbacks=[ZeroPlaneRecorder()])
    with pytest.raises(ParameterError, match="'every' parameter of ZeroPlaneRecorder"):
        ZeroPlaneRecorder(every=0)


def test_zero_plane_recorder_end_without_begin():
    rec = ZeroPlaneRecorder()
    rec.on_train_end(None)  # used to raise IndexError
    with pytest.raises(ParameterError, match="'record' parameter of zero_plane_motion"):
        zero_plane_motion(rec)


def test_record_from_arrays_shapes():
    th = np.tile([[1.0, 0.0], [0.0, 1.0]], (3, 1, 1))
    ones = np.ones((3, 2))
    with pytest.raises(ParameterError, match=r"'gamma' parameter of ZeroPlaneRecord.from_arrays must have shape \(3, 2\)"):
        ZeroPlaneRecord.from_arrays(th, np.ones((3, 5)), ones, ones)
    with pytest.raises(ParameterError, match="'step' parameter of ZeroPlaneRecord.from_arrays"):
        ZeroPlaneRecord.from_arrays(th, ones, ones, ones, step=[0, 1])
    with pytest.raises(ParameterError, match="'s' parameter of ZeroPlaneRecord.from_arrays"):
        zero_plane_motion({"theta": th, "gamma": ones, "s": np.ones(7)})


def test_network_radial_magnitude_zero_normal():
    with pytest.raises(ParameterError, match="'theta' parameter of network_radial_magnitude has a zero row"):
        network_radial_magnitude(np.zeros((2, 2)), np.ones(2), np.ones(2), np.ones(2), "relu", [1.0])


def test_clustering_baseline_rng():
    with pytest.raises(ParameterError, match="'rng' parameter of clustering_baseline"):
        clustering_baseline(3, 2, rng="a")


# ------------------------------------------------------------------------------- regimes


def test_steps_per_epoch_batch_size():
    with pytest.raises(ParameterError, match="'batch_size' parameter of steps_per_epoch"):
        steps_per_epoch(10, "a")
    with pytest.raises(ParameterError, match="'batch_size' parameter of steps_per_epoch"):
        steps_per_epoch(10, 20.5)
    assert steps_per_epoch(10, 20) == 1 and steps_per_epoch(10, 3) == 3


def test_regime_param_groups_multipliers_not_mapping():
    with pytest.raises(ParameterError, match="'lr_multipliers' parameter of regime_param_groups"):
        regime_param_groups(_sn(), 0.1, lr_multipliers=[1, 2])


def test_train_regime_checks():
    with pytest.raises(ParameterError, match="'optimizer_kwargs' parameter of train_regime"):
        train_regime(_sn(), (X2, Y2), 2, optimizer_kwargs=[1], progress=False)
    with pytest.raises(ParameterError, match="'lr' parameter of train_regime"):
        train_regime(_sn(), (X2, Y2), 2, lr=-1, progress=False)
    with pytest.raises(ParameterError, match="'optimizer' parameter of make_regime_optimizer|make_optimizer rejected"):
        train_regime(_sn(), (X2, Y2), 2, optimizer="adam", optimizer_kwargs={"momentum": 0.9},
                     progress=False)
    with pytest.raises(ParameterError, match="'switch_step' parameter of train_regime"):
        train_regime(_sn(), (X2, Y2), 2, regime="switch", progress=False)
    with pytest.raises(ParameterError, match="'at_step' parameter of KernelSwitch"):
        KernelSwitch(-1)


def test_classification_recorder_labels():
    X = X2
    labels = torch.zeros(8, dtype=torch.int64)
    with pytest.raises(ParameterError, match="'datasets' parameter of ClassificationRecorder"):
        ClassificationRecorder({"a": (X, labels[:3])})
    with pytest.raises(ParameterError, match="'datasets' parameter of ClassificationRecorder"):
        ClassificationRecorder({"a": (X, torch.zeros(8))})
    net = shallow_net(2, 3, out_dim=3, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ParameterError, match=r"datasets\['a'\] has labels up to 9, but the model has 3 outputs"):
        train(net, (X, labels), 2, loss="cross_entropy", progress=False,
              callbacks=[ClassificationRecorder({"a": (X, torch.full((8,), 9))})])
    with pytest.raises(ParameterError, match="ClassificationRecorder needs a classifier"):
        train(_sn(), (X, Y2), 2, progress=False,
              callbacks=[ClassificationRecorder({"a": (X, labels)})])


# ---------------------------------------------------------------------------------- data


def _idx_header(code, shape):
    return bytes([0, 0, code, len(shape)]) + struct.pack(">" + "I" * len(shape), *shape)


def test_read_idx_truncated_header(tmp_path):
    p = tmp_path / "short"
    p.write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(ParameterError, match="truncated or corrupt"):
        read_idx(p)


def test_read_idx_truncated_body_already_checked(tmp_path):
    p = tmp_path / "body"
    p.write_bytes(_idx_header(8, (10,)) + b"\0" * 5)
    with pytest.raises(ParameterError, match="truncated or corrupt"):
        read_idx(p)


def test_read_idx_bad_gzip(tmp_path):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(ParameterError, match="could not be read as an IDX file"):
        read_idx(bad)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(_idx_header(8, (3,)) + b"abc")[:-10])
    with pytest.raises(ParameterError, match="could not be read as an IDX file"):
        read_idx(cut)


def test_read_idx_zero_dimensions(tmp_path):
    p = tmp_path / "nd0"
    p.write_bytes(bytes([0, 0, 8, 0]))
    with pytest.raises(ParameterError, match="declares 0 dimensions"):
        read_idx(p)


def test_write_idx_keeps_values(tmp_path):
    # int64 values outside uint8 used to wrap around silently (300 -> 44, -1 -> 255)
    write_idx(tmp_path / "a", np.array([300, -1, 7]))
    assert read_idx(tmp_path / "a").tolist() == [300, -1, 7]
    write_idx(tmp_path / "b", np.array([0.5, 1.5], dtype=np.float16))
    assert read_idx(tmp_path / "b").tolist() == [0.5, 1.5]
    write_idx(tmp_path / "c", np.arange(10))  # labels: still written as uint8
    assert read_idx(tmp_path / "c").dtype == np.uint8
    with pytest.raises(ParameterError, match="'array' parameter of write_idx"):
        write_idx(tmp_path / "d", np.array(["a", "b"]))


def test_load_mnist_bad_inputs(tmp_path):
    with pytest.raises(ParameterError, match="'path' parameter of load_mnist must be a directory"):
        load_mnist(tmp_path / "missing")
    with pytest.raises(ParameterError, match="not found"):
        load_mnist(tmp_path)
    with pytest.raises(ParameterError, match="'seed' parameter of load_mnist"):
        load_mnist(tmp_path, seed=-1)
    with pytest.raises(ParameterError, match="'test_fraction' parameter of load_mnist"):
        load_mnist(None, test_fraction=1.5)


def test_load_mnist_corrupt_file(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 2, 2), dtype=np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2, dtype=np.uint8))
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((1, 2, 2), dtype=np.uint8))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    with pytest.raises(ParameterError, match="t10k-labels-idx1-ubyte.gz could not be read"):
        load_mnist(tmp_path)


# ------------------------------------------------------------------------------- targets


@pytest.mark.parametrize("value", [("a", "b"), (1, 2, 3), 3.0, (1.0, np.inf), (5.0, 2.0), (-1.0, 2.0)])
def test_plane_waves_freq_range(value):
    with pytest.raises(ParameterError, match="'freq_range' parameter of plane_waves"):
        plane_waves(freq_range=value, seed=0)


@pytest.mark.parametrize("seed", ["a", -1])
def test_random_target_seed(seed):
    with pytest.raises(ParameterError, match="'seed' parameter"):
        plane_waves(seed=seed)


@pytest.mark.parametrize("kw,name", [
    ({"width_range": (-0.1, 0.1)}, "width_range"), ({"width_range": (0.1, 0.02)}, "width_range"),
    ({"height_range": (5.0, 2.0)}, "height_range"), ({"width_range": "ab"}, "width_range"),
    ({"extent": (0.0, np.inf)}, "extent"), ({"extent": (1.0, -1.0)}, "extent"),
])
def test_bumps_2d_ranges(kw, name):
    with pytest.raises(ParameterError, match=f"'{name}' parameter of bumps_2d"):
        bumps_2d(seed=0, **kw)


@pytest.mark.parametrize("extent", [(-np.inf, np.inf), "ab", (1.0, -1.0)])
def test_doppler_2d_extent(extent):
    with pytest.raises(ParameterError, match="'extent' parameter of doppler_2d"):
        doppler_2d(extent=extent)


@pytest.mark.parametrize("eps", [-0.5, 0.0, np.nan])
def test_donoho_doppler_eps(eps):
    with pytest.raises(ParameterError, match="'eps' parameter of donoho_doppler"):
        donoho_doppler([0.5], eps=eps)


def test_rahaman_targets_already_checked():
    with pytest.raises(ParameterError, match="'x' parameter of radial_wave must be a 2-D array"):
        radial_wave([1.0, 2.0], 1.0)
