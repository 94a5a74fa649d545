"""``specbias plan``: choose steps, learning rate, ``omega0``, ``sigma`` or Lucey's scale ``s`` for
a target bandwidth, or predict the bandwidth of given settings (docs/planning.md).

Bad requests raise :class:`specbias.ParameterError` (one line; exit status 2 through the
command line's error handling).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click
import numpy as np

from ._validation import ParameterError

NETWORKS = ("siren", "fourier", "shallow")
DEFAULT_KNOB = {"siren": "omega0", "fourier": "sigma", "shallow": "scale"}
KNOBS = {"siren": ("omega0", "steps", "lr"), "fourier": ("sigma", "steps", "lr"),
         "shallow": ("scale", "steps")}


def _builder(network: str, width: int, depth: int, features: int, activation: str,
             omega0: float, sigma: float, knob: str):
    import torch

    from .nn import MLP, SIREN, FourierFeatures

    def siren(v, g):
        return SIREN(1, width, depth, omega0=v if knob == "omega0" else omega0, generator=g,
                     dtype=torch.float64)

    def fourier(v, g):
        ff = FourierFeatures(1, features, v if knob == "sigma" else sigma, g, dtype=torch.float64)
        return torch.nn.Sequential(ff, MLP(ff.out_dim, width, depth, activation, generator=g,
                                           dtype=torch.float64))

    return siren if network == "siren" else fourier


def _fmt_steps(v: float) -> str:
    return "never" if not math.isfinite(v) else f"{v:.4g}"


@click.command("plan")
@click.argument("network", type=click.Choice(NETWORKS))
@click.option("--knob", type=click.Choice(["omega0", "sigma", "scale", "steps", "lr"]),
              default=None, help="What to plan (default: omega0 for siren, sigma for fourier, "
                                 "scale for shallow).")
@click.option("--bandwidth", type=float, default=None,
              help="Target bandwidth (cycles per unit); omit it to predict the bandwidth of "
                   "the given settings instead.")
@click.option("--steps", type=float, default=None,
              help="GD steps (the budget when --knob steps).")
@click.option("--lr", type=float, default=None, help="SGD learning rate (mean MSE).")
@click.option("--lr-fraction", type=float, default=None,
              help="Learning rate as a fraction of each kernel's max_lr (default 0.5 when "
                   "--lr is not given).")
@click.option("--points", type=click.IntRange(8, 4096), default=64, show_default=True,
              help="Grid points x_n = n/N on [0, 1).")
@click.option("--width", type=click.IntRange(1, 4096), default=256, show_default=True)
@click.option("--depth", type=click.IntRange(1, 16), default=3, show_default=True)
@click.option("--omega0", type=float, default=30.0, show_default=True,
              help="SIREN omega0 (when it is not the knob).")
@click.option("--sigma", type=float, default=10.0, show_default=True,
              help="Fourier-feature sigma (when it is not the knob).")
@click.option("--features", type=click.IntRange(1, 4096), default=128, show_default=True,
              help="Fourier features m.")
@click.option("--activation", default=None,
              help="MLP activation for fourier (default relu), feature activation for shallow "
                   "(default sinc).")
@click.option("--scale", type=float, default=None, help="Shallow scale s (when not the knob).")
@click.option("--range", "knob_range", type=(float, float), default=None,
              help="Search range LOW HIGH of the knob.")
@click.option("--inits", type=click.IntRange(1, 64), default=3, show_default=True,
              help="Initializations the prediction averages.")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option("--level", type=float, default=1 - 1 / math.e, show_default="1 - 1/e",
              help="Learned fraction at which a frequency counts as learned.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for plan.json and plan.png.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def plan_cmd(network, knob, bandwidth, steps, lr, lr_fraction, points, width, depth, omega0,
             sigma, features, activation, scale, knob_range, inits, seed, level, out, as_json):
    """Plan the knob that makes a NETWORK (siren, fourier, shallow) learn up to --bandwidth.

    \b
    specbias plan siren --width 256 --depth 3 --bandwidth 16 --steps 2000 --lr 1e-4
    specbias plan fourier --bandwidth 8 --steps 500            # sigma, lr = 0.5 max_lr
    specbias plan siren --knob steps --bandwidth 12 --omega0 30
    specbias plan shallow --bandwidth 10 --steps 100           # Lucey's scale s (sinc)
    specbias plan siren --omega0 20 --steps 300                # predict the bandwidth
    """
    import torch

    from . import plan as P

    knob = knob or DEFAULT_KNOB[network]
    if knob not in KNOBS[network]:
        raise ParameterError(f"The knob '{knob}' does not apply to a {network} network; choose "
                             f"one of {', '.join(KNOBS[network])}.")
    x = torch.arange(points, dtype=torch.float64)[:, None] / points
    result: dict[str, Any] = {"network": network, "points": points}
    if network == "shallow":
        act = activation or "sinc"
        if lr is not None or lr_fraction is not None:
            raise ParameterError("The shallow network trains at lr = 1/sigma_1^2 (Lucey); "
                                 "--lr and --lr-fraction do not apply.")
        if bandwidth is None:
            if scale is None or steps is None:
                raise ParameterError("Predicting needs --scale and --steps for a shallow network.")
            pred = P.predict_shallow(x, scale=scale, steps=steps, activation=act, level=level)
            plan = None
        else:
            plan = P.plan_shallow(bandwidth, x, knob=knob, steps=steps, scale=scale,
                                  activation=act, knob_range=knob_range, level=level)
            pred = plan.prediction
    else:
        if lr is None and lr_fraction is None and knob != "lr":
            lr_fraction = 0.5
        build = _builder(network, width, depth, features, activation or "relu", omega0, sigma,
                         knob)
        fixed = omega0 if network == "siren" else sigma
        common: dict[str, Any] = dict(level=level, inits=inits, seed=seed)
        if bandwidth is None:
            if steps is None:
                raise ParameterError("Predicting the bandwidth needs --steps.")
            pred = P.predict_bandwidth(x, builder=build, value=fixed, steps=steps, lr=lr,
                                       lr_fraction=lr_fraction, **common)
            plan = None
        elif knob in ("steps", "lr"):
            plan = P.plan_bandwidth(bandwidth, x, knob=knob, builder=build, value=fixed,
                                    steps=steps, lr=lr, lr_fraction=lr_fraction, **common)
            pred = plan.prediction
        else:
            plan = P.plan_bandwidth(bandwidth, x, knob=knob, builder=build, steps=steps, lr=lr,
                                    lr_fraction=lr_fraction, knob_range=knob_range, **common)
            pred = plan.prediction
    result["plan"] = None if plan is None else plan.to_dict()
    result["prediction"] = pred.to_dict()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "plan.json").write_text(json.dumps(result, indent=2))
        _plot(out / "plan.png", pred, plan)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    if plan is not None:
        lo, hi = plan.interval
        click.echo(f"{plan.knob} = {plan.value:.6g}  (bandwidth {plan.target:g}; values "
                   f"{lo:.4g} to {'inf' if not math.isfinite(hi) else f'{hi:.4g}'} give it)")
    click.echo(f"predicted bandwidth {pred.bandwidth:g} after {pred.steps:g} steps at lr "
               f"{pred.lr:.4g} (max_lr {pred.max_lr:.4g}); per initialization: "
               f"{', '.join(f'{b:g}' for b in pred.bandwidth_per_init)}")
    shown = min(pred.frequencies.size, int(max(8, 2 * pred.bandwidth + 4)))
    click.echo("frequency  steps needed  learned fraction")
    for j in range(shown):
        click.echo(f"{pred.frequencies[j]:9g}  {_fmt_steps(pred.steps_needed[j]):>12}  "
                   f"{pred.learned_fraction[j]:16.3f}")
    for note in ([] if plan is None else plan.notes):
        click.echo(f"note: {note}")
    if out is not None:
        click.echo(f"written: {out / 'plan.json'}, {out / 'plan.png'}")


def _plot(path: Path, pred, plan) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = pred.frequencies
    T = np.where(np.isfinite(pred.steps_needed), pred.steps_needed, np.nan)
    fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
    ax.semilogy(k, np.maximum(T, 1e-3), "o-", ms=3, label="steps needed")
    ax.axhline(pred.steps, color="k", lw=0.8, ls="--", label=f"{pred.steps:g} steps")
    ax.axvline(pred.bandwidth, color="C3", lw=0.8, label=f"bandwidth {pred.bandwidth:g}")
    title = "predicted" if plan is None else f"{plan.knob} = {plan.value:.4g}"
    ax.set(xlabel="frequency (cycles per unit)", ylabel=f"steps to learned fraction {pred.level:.2f}",
           title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)
