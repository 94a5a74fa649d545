"""The experiment toolkit: the RunContext protocol, the shared blocks and field types, and what
every registered experiment guarantees -- its presets validate, every refusal of a config names
a field, ``run`` is typed with RunContext and raises nothing for a config problem, and no
experiment module imports another. The worked example of docs/adding-an-experiment.md runs as
written."""

from __future__ import annotations

import ast
import re
import sys
import time
import typing
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest
import torch
from pydantic import Field

import specbias.experiments as registry
from specbias._validation import ParameterError
from specbias.ensemble import train_ensemble
from specbias.experiments import ExperimentConfig, RunContext, register_experiment
from specbias.experiments._blocks import (
    ActivationName,
    ActivationNames,
    ActivationSpecs,
    Dtype,
    Frequencies,
    MnistDir,
    SignalSource,
    parse_spec,
)
from specbias.nn import MLP
from specbias.runner import RunContext as RunnerContext
from specbias.runner import resolve_config, run_experiment
from specbias.training import train

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(registry.__file__).parent
EXPERIMENTS = {n: e for n, e in registry.all_experiments().items() if not n.startswith("_")}
MODULES = sorted(p for p in PACKAGE.glob("*.py") if not p.name.startswith("_"))
MODULE_NAMES = {p.stem for p in MODULES}


def test_every_module_registers_one_experiment():
    assert len(MODULES) == len(EXPERIMENTS) >= 18
    assert {e.fn.__module__.rsplit(".", 1)[-1] for e in EXPERIMENTS.values()} == MODULE_NAMES


# ------------------------------------------------------------------ the modules, statically


def _sibling_imports(path: Path) -> list[str]:
    """Experiment modules imported by the module at ``path`` (relative or absolute imports)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:  # from . import x / from .x import y
                names = [node.module] if node.module else [a.name for a in node.names]
                found += [n.split(".")[0] for n in names if n.split(".")[0] in MODULE_NAMES]
            elif node.level == 0 and node.module:
                if node.module == "specbias.experiments":
                    found += [a.name for a in node.names if a.name in MODULE_NAMES]
                elif node.module.startswith("specbias.experiments."):
                    part = node.module.split(".")[2]
                    found += [part] if part in MODULE_NAMES else []
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[:2] == ["specbias", "experiments"] and len(parts) > 2 \
                        and parts[2] in MODULE_NAMES:
                    found.append(parts[2])
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_no_experiment_module_imports_another(path):
    assert _sibling_imports(path) == []


def test_the_import_check_sees_sibling_imports(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from .radon_mnist import train_one\nfrom . import lucey_spectrum\n"
                   "from specbias.experiments.rahaman_frequencies import heatmap\n"
                   "import specbias.experiments.radon_targets\nfrom ._blocks import heatmap\n"
                   "from ..training import train\n")
    assert _sibling_imports(bad) == ["radon_mnist", "lucey_spectrum", "rahaman_frequencies",
                                     "radon_targets"]


def _run_function(tree: ast.Module) -> ast.FunctionDef:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Call) and getattr(d.func, "id", "") == "register_experiment"
                for d in node.decorator_list):
            return node
    raise AssertionError("no function decorated with register_experiment")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_run_raises_no_parameter_error_and_parses_no_messages(path):
    tree = ast.parse(path.read_text())
    run = _run_function(tree)
    for node in ast.walk(run):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = getattr(target, "id", None) or getattr(target, "attr", None)
            assert name not in ("ParameterError", "invalid"), \
                f"{path.stem}: run raises {name} (line {node.lineno}): check it in the config"
    for node in ast.walk(tree):  # divergence comes from structured results, not messages
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert node.value.strip() != "diverged", f"{path.stem}: line {node.lineno}"


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_run_is_typed_with_the_run_context(name):
    exp = EXPERIMENTS[name]
    hints = typing.get_type_hints(exp.fn)
    assert hints["cfg"] is exp.config
    assert hints["ctx"] is RunContext
    assert hints["return"] is type(None)


# ------------------------------------------------------------------ presets and refusals


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_preset_validates(name):
    exp = EXPERIMENTS[name]
    assert "quick" in exp.presets
    for preset, values in exp.presets.items():
        cfg = exp.config.model_validate(values, context={"check_memory": False})
        assert isinstance(cfg, exp.config), preset
    assert isinstance(resolve_config(name, "quick"), exp.config)


def _bad_values(value):
    """Values around and beyond a field's quick value that a config may refuse."""
    if isinstance(value, bool):
        return ["maybe"]
    if isinstance(value, int):
        return [0, -1, 1, 2, 3 * value, 10**9, "x"]
    if isinstance(value, float):
        return [0.0, -1.0, 1e-3 * value, 1e3 * value, 1e300, "x"]
    if isinstance(value, str):
        return ["nonsense", ""]
    if value is None:
        return [0, -1, 1, 10**9, "nonsense"]
    if isinstance(value, list):
        out = [[], value[:1], value[::-1], value + value[:1], ["nonsense"]]
        if value and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            out += [[-v for v in value], [v * 1000 for v in value]]
        return out
    return []


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_refusal_names_a_field(name):
    """Each field of the quick config set to values around and beyond it: whatever is refused
    (a bound, a field type, a cross-field check, the memory estimate) names a field."""
    cfg = resolve_config(name, "quick")
    fields = set(type(cfg).model_fields)
    refused = 0
    for key in sorted(fields):
        for value in _bad_values(getattr(cfg, key)):
            try:
                resolve_config(name, "quick", {key: value})
            except ParameterError as exc:
                refused += 1
                found = re.findall(r"'([\w.]+)' parameters? of " + re.escape(name), str(exc))
                named = {f.split(".")[0] for f in found}  # 'ks.0': entry 0 of field ks
                assert named and named <= fields, (key, value, str(exc))
    assert refused > 0


#: For every experiment with checks across fields: overrides that break one, and the field its
#: error names.
CROSS_FIELD = [
    ("lucey-memorization", {"oversampling": [1.0, 1.0]}, "oversampling"),
    ("plan-check", {"targets": [2.5]}, "targets"),
    ("radon-seminorm", {"zero_plane_range": 2.0, "data_range": 3.0}, "zero_plane_range"),
    ("lucey-2d", {"n_order": 1000}, "n_order"),
    ("rahaman-random-labels", {"inputs": ["mnist", "mnist"]}, "inputs"),
    ("lucey-components", {"narrow_width": 300}, "narrow_width"),
    ("lucey-components", {"n_components": 30}, "n_components"),
    ("lucey-iterations", {"fit_stop": 300}, "fit_stop"),
    ("lucey-mask", {"steps": [0.5, 10.0]}, "steps"),
    ("lucey-reconstruction", {"ks": [4, 1000]}, "ks"),
    ("lucey-spectrum", {"fit_start": 30}, "fit_start"),
    ("lucey-spline", {"stride": 100}, "stride"),
    ("lucey-spline", {"row": 10**6}, "signal"),
    ("radon-gd-vs-convex", {"optimizer": "sgd"}, "optimizer"),
    ("radon-kernel-switch", {"epochs": 2, "switch_epoch": 2}, "switch_epoch"),
    ("radon-kernel-switch", {"epochs": 1000, "batches_per_epoch": 10_000, "record_every": 10**6},
     "batches_per_epoch"),
    ("radon-mnist", {"epochs": 1000, "batches_per_epoch": 10_000, "record_every": 10**6},
     "batches_per_epoch"),
    ("radon-pinning", {"targets": [1.0]}, "targets"),
    ("radon-targets", {"targets": ["spiral"]}, "targets"),
    ("rahaman-ablation", {"depths": [], "widths": [], "clips": []}, "depths"),
    ("rahaman-frequencies", {"profiles": ["flat"]}, "profiles"),
    ("rahaman-frequencies", {"n_points": 32}, "frequencies"),
    ("rahaman-manifold", {"petals": [-1.0, 4.0]}, "petals"),
    ("rahaman-manifold", {"n_points": 100}, "frequencies"),
    ("rahaman-manifold", {"n_points": 160, "frequencies": [7.0, 17.0]}, "class_frequencies"),
    ("rahaman-mnist-noise", {"classes": [3, 3]}, "classes"),
    ("rahaman-mnist-noise", {"bands": [0, 50, 10]}, "bands"),
    ("rahaman-perturbation", {"deltas": [0.1, 0.01, 1.0]}, "deltas"),
    ("rahaman-perturbation", {"n_points": 20}, "frequencies"),
]


@pytest.mark.parametrize("name, overrides, field", CROSS_FIELD)
def test_cross_field_errors_name_the_field(name, overrides, field):
    with pytest.raises(ParameterError) as info:
        resolve_config(name, "quick", overrides)
    assert f"'{field}' parameter" in str(info.value) or f"'{field}'" in str(info.value)
    assert f"of {name}" in str(info.value)


def test_every_cross_field_validator_is_exercised():
    covered = {name for name, _, _ in CROSS_FIELD}
    for name, exp in EXPERIMENTS.items():
        own = set(exp.config.__pydantic_decorators__.model_validators) - {"_fits_in_memory"}
        if own:
            assert name in covered, (name, own)


def test_field_types_check_defaults_under_overridden_fields():
    # frequencies keep their default; the smaller grid puts them above its Nyquist limit
    with pytest.raises(ParameterError, match=r"'frequencies' parameter of rahaman-frequencies "
                                             r"must lie in \(0, 16\)"):
        resolve_config("rahaman-frequencies", "quick", {"n_points": 32})


@pytest.mark.parametrize("name", sorted(n for n, e in EXPERIMENTS.items()
                                        if {"activation", "activations"} & set(e.config.model_fields)))
def test_unknown_activation_refused_when_the_config_is_built(name):
    fields = EXPERIMENTS[name].config.model_fields
    key = "activations" if "activations" in fields else "activation"
    value = ["relu", "rleu"] if key == "activations" else "rleu"
    with pytest.raises(ParameterError, match=f"The '{key}' parameter of {name} must .*"
                                             "Unknown activation 'rleu'. Did you mean 'relu'"):
        resolve_config(name, "quick", {key: value})


def test_constant_signal_needs_a_peak(tmp_path):
    path = tmp_path / "flat.npy"
    np.save(path, np.ones(300))
    with pytest.raises(ParameterError, match="'peak' parameter of lucey-reconstruction must be "
                                             "given for a constant signal"):
        resolve_config("lucey-reconstruction", "quick", {"signal": str(path)})
    assert resolve_config("lucey-reconstruction", "quick",
                          {"signal": str(path), "peak": 1.0}).peak == 1.0


def test_unreadable_signal_refused_when_the_config_is_built(tmp_path):
    (tmp_path / "empty.npy").write_bytes(b"")
    for name in ("lucey-reconstruction", "lucey-spline"):
        with pytest.raises(ParameterError, match=f"'signal' parameter of {name} cannot be used"
                                                 ".*empty"):
            resolve_config(name, "quick", {"signal": str(tmp_path / "empty.npy")})
        with pytest.raises(ParameterError, match=f"'signal' parameter of {name} must be None, "
                                                 "one of"):
            resolve_config(name, "quick", {"signal": str(tmp_path / "missing.npy")})


def test_mnist_directory_checked_when_the_config_is_built(tmp_path):
    for name, key in (("radon-mnist", "data_path"), ("radon-kernel-switch", "data_path"),
                      ("rahaman-mnist-noise", "mnist_path")):
        with pytest.raises(ParameterError, match=f"'{key}' parameter of {name} must be"):
            resolve_config(name, "quick", {key: str(tmp_path / "nowhere")})
        with pytest.raises(ParameterError, match="train-images-idx3-ubyte.*missing"):
            resolve_config(name, "quick", {key: str(tmp_path)})


# ------------------------------------------------------------------ the field types


class _FieldsConfig(ExperimentConfig):
    n_points: int = Field(64, ge=8, le=4096)
    frequencies: Frequencies = Field(default_factory=lambda: [1.0, 5.0])
    act: ActivationName = "relu"
    acts: ActivationNames = Field(default_factory=lambda: ["heaviside", "relu3.5"])
    specs: ActivationSpecs = Field(default_factory=lambda: ["sinc(s=4)", "relu"])
    dtype: Dtype = "float64"
    signal: SignalSource = None
    data: MnistDir = None


@register_experiment("_test-fields", config=_FieldsConfig, description="test only",
                     reproduces="-")
def _fields_run(cfg: _FieldsConfig, ctx: RunContext) -> None:
    ctx.metric("n", cfg.n_points)


@pytest.mark.parametrize("overrides, match", [
    ({"frequencies": [1.0, 32.0]}, r"'frequencies' parameter of _test-fields must lie in \(0, 32\) "
                                   r"\(the Nyquist limit of the grid of n_points = 64 points\). "
                                   r"Got \[1.0, 32.0\] instead."),
    ({"frequencies": [0.0, 3.0]}, "'frequencies' parameter"),
    ({"n_points": 8}, r"'frequencies' parameter of _test-fields must lie in \(0, 4\)"),
    ({"act": "tanhh"}, "'act' parameter of _test-fields must name an activation of the zoo "
                       r"\(Unknown activation 'tanhh'. Did you mean 'tanh'"),
    ({"acts": ["relu", "nope"]}, "'acts' parameter of _test-fields must hold activation names"
                                 r".*Got \['relu', 'nope'\] instead."),
    ({"acts": ["power_relu(b=2)"]}, "'acts' parameter.*Bad parameters"),
    ({"specs": ["sinc(s=0)"]}, "'specs' parameter.*'s' in activation spec 'sinc\\(s=0\\)' must "
                               "be positive"),
    ({"specs": ["sinc(s=[1])"]}, "'specs' parameter"),
    ({"dtype": "float16"}, "'dtype' parameter of _test-fields is invalid: input should be "
                           "'float32' or 'float64'"),
    ({"signal": "no-such-file.npy"}, "'signal' parameter of _test-fields must be None, one of"),
    ({"data": "no-such-dir"}, "'data' parameter of _test-fields must be None"),
])
def test_field_types_refuse_with_the_field_name(overrides, match):
    with pytest.raises(ParameterError, match=match):
        resolve_config("_test-fields", "quick", overrides)


def test_field_types_accept_the_zoo():
    cfg = resolve_config("_test-fields", "quick", {"act": "Heaviside", "signal": "ascent",
                                                   "specs": ["wavepacket(w0=3, s=2)"]})
    assert cfg.act == "Heaviside" and cfg.specs == ["wavepacket(w0=3, s=2)"]
    act, s = parse_spec("wavepacket(w0=3, s=2)")
    assert act.params == {"w0": 3} and s == 2.0


# ------------------------------------------------------------------ RunContext


@pytest.fixture
def ctx(tmp_path):
    return RunnerContext("_test-fields", resolve_config("_test-fields"), 0, tmp_path)


def test_the_runner_context_is_a_run_context(ctx):
    assert isinstance(ctx, RunContext)


def test_timer_records_the_wall_time_also_when_the_block_raises(ctx):
    with ctx.timer("sleep"):
        time.sleep(0.01)
    assert ctx.timings["sleep"] >= 0.01 and not ctx.metrics
    with pytest.raises(KeyError), ctx.timer("boom"):
        raise KeyError("x")
    assert "boom" in ctx.timings


def test_record_divergence_reads_structured_fields_not_messages(ctx):
    res = SimpleNamespace(diverged=np.array([False, True, True]),
                          diverged_at=np.array([-1, 7, 3]),
                          divergence_reason=["", "loss is nan (non-finite)", "loss is inf"],
                          messages=["garbled", "text"])
    entries = ctx.record_divergence(res, prefix="depth 4 ")
    assert list(entries) == ["depth 4 member 2", "depth 4 member 1"]  # in the order they diverged
    assert entries["depth 4 member 1"].startswith("member 1 diverged at step 7: loss is nan")
    assert ctx.diverged == entries
    named = ctx.record_divergence(res, ["a", "b", "c"])
    assert list(named) == ["c", "b"]
    single = SimpleNamespace(diverged=True, diverged_at=4, divergence_reason="loss is nan",
                             message="diverged at step 4: loss is nan; training stopped")
    assert ctx.record_divergence(single, "fit") == {"fit": single.message}
    assert ctx.record_divergence(single) == {"run": single.message}
    assert ctx.record_divergence(SimpleNamespace(diverged=False, message="")) == {}
    assert ctx.record_divergence(SimpleNamespace(diverged=np.zeros(3, bool), diverged_at=-np.ones(3),
                                                 divergence_reason=[""] * 3)) == {}


def test_record_divergence_keeps_the_labels_of_the_messages(ctx):
    """The labels and messages the experiments recorded by parsing ``res.messages``."""
    X = torch.linspace(0, 1, 16)[:, None]
    nets = [MLP(1, 8, 2, generator=torch.Generator().manual_seed(i)) for i in range(3)]
    res = train_ensemble(nets, (X, torch.sin(6 * X[:, 0])), 20, lr=1e4, progress=False)
    assert res.diverged.any()
    parsed = {"regression " + m.split(" diverged")[0]: m for m in res.messages}
    assert ctx.record_divergence(res, prefix="regression ") == parsed
    one = train(MLP(1, 8, 1), (X, X[:, 0]), 5, lr=1e9, optimizer="sgd", progress=False)
    assert one.diverged and ctx.record_divergence(one, "mlp") == {"mlp": one.message}
    assert ctx.diverged["mlp"] == one.message


# ------------------------------------------------------------------ the docs page


def test_the_worked_example_of_the_docs_runs(tmp_path):
    text = (ROOT / "docs" / "adding-an-experiment.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    module = next(b for b in blocks if "@register_experiment(" in b)
    tests = next(b for b in blocks if "def test_" in b)
    saved, names = dict(registry._REGISTRY), dict(registry._NAMES)
    mod = ModuleType("toy_two_sines")  # a module of its own, as the file would be
    sys.modules[mod.__name__] = mod
    try:
        exec(compile(module, "adding-an-experiment.md", "exec"), mod.__dict__)
        exp = registry.get("toy-two-sines")
        assert typing.get_type_hints(exp.fn)["ctx"] is RunContext
        assert exp.config.experiment_name() == "toy-two-sines"
        tns: dict = {"__name__": "test_toy_two_sines"}
        exec(compile(tests, "adding-an-experiment.md", "exec"), tns)
        tns["test_toy_two_sines_learns_the_low_frequency_first"](tmp_path)
        tns["test_toy_two_sines_refuses_frequencies_above_nyquist"]()
        with pytest.raises(ParameterError, match="'every' parameter of toy-two-sines must not "
                                                 "exceed steps"):
            resolve_config("toy-two-sines", "quick", {"every": 1000})
        s = run_experiment("toy-two-sines", overrides={"steps": 5, "every": 1, "lr": 1e4},
                           out=tmp_path / "diverged", quiet_progress=True)
        assert s["status"] == "diverged" and sorted(s["diverged"]) == ["seed 0", "seed 1"]
    finally:
        del sys.modules[mod.__name__]
        registry._REGISTRY.clear()
        registry._REGISTRY.update(saved)
        registry._NAMES.clear()
        registry._NAMES.update(names)
