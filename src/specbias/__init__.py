"""specbias: measure, predict and control the spectral bias of neural networks.

The public API is importable from the top level; submodules load on first use, so
``import specbias`` stays fast.

* activations: :func:`activation`, :mod:`specbias.activations` (zoo, Fourier transforms, penalties)
* features: :func:`shallow_features` (docs/theory.md section 1)
* shrinkage: :class:`SpectralSolver` (GD / flow / ridge / PCA as masks on singular values, section 2)
* kernel regime: :func:`kernel_fit` (section 3)
* spectra: :func:`radial_magnitude`, :func:`breakpoints`, :func:`relu_net_fourier` (sections 3, 5)
* torch: :mod:`specbias.nn` (``ShallowNet``, ``MLP``), :func:`train` and its callbacks
* NTK: :func:`empirical_ntk`, :func:`ntk_eigs`, :class:`LinearizedGD` (section 8)
* adaptive regime: :func:`zero_plane_motion`, :func:`clustering_auc` (section 4)
* experiments: ``specbias list`` / ``specbias run NAME`` or :func:`run_experiment`
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"  # the single source: pyproject.toml reads it

# public name -> module that defines it (imported lazily)
_EXPORTS = {
    "activation": "activations",
    "design_activation": "activations",
    "Activation": "activations",
    "shallow_features": "features",
    "radon_features": "features",
    "SpectralSolver": "shrinkage",
    "gradient_descent": "shrinkage",
    "kernel_fit": "kernel",
    "radial_magnitude": "spectra",
    "numerical_fourier": "spectra",
    "breakpoints": "relu_fourier",
    "relu_net_fourier": "relu_fourier",
    "ShallowNet": "nn",
    "MLP": "nn",
    "FourierFeatures": "nn",
    "PositionalEncoding": "nn",
    "SIREN": "nn",
    "predict_bandwidth": "plan",
    "plan_bandwidth": "plan",
    "predict_shallow": "plan",
    "plan_shallow": "plan",
    "train": "training",
    "TrainResult": "training",
    "Callback": "training",
    "LossRecorder": "training",
    "ParamNormRecorder": "training",
    "SpectrumTracker": "callbacks",
    "train_ensemble": "ensemble",
    "EnsembleModel": "ensemble",
    "train_regime": "regimes",
    "ZeroPlaneRecorder": "callbacks",
    "zero_plane_motion": "zeroplanes",
    "clustering_auc": "zeroplanes",
    "cluster_order": "zeroplanes",
    "datapoint_pinning": "zeroplanes",
    "network_radial_magnitude": "zeroplanes",
    "radon_target": "targets",
    "load_mnist": "data",
    "run_experiment": "runner",
    "empirical_ntk": "ntk",
    "ntk_matvec": "ntk",
    "ntk_eigs": "ntk",
    "kernel_drift": "ntk",
    "LinearizedGD": "ntk",
    "SpecbiasError": "_validation",
    "ParameterError": "_validation",
    "DivergenceError": "_validation",
    "MissingDependencyError": "_validation",
}

_SUBMODULES = {
    "activations", "features", "shrinkage", "kernel", "spectra", "relu_fourier", "nn", "training",
    "callbacks", "ensemble", "zeroplanes", "data", "targets", "experiments", "runner", "report",
    "sweep", "io", "progress", "signals", "splines", "regimes", "ntk",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        mod = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        value = getattr(mod, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'specbias' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
