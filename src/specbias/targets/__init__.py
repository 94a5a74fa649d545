"""Target functions and signals: 1-D sums of sines, manifolds and spikes (Rahaman et al.),
2-D targets of the Radon-spline paper's Experiment 2."""

from .radon import *  # noqa: F401,F403
from .radon import __all__ as _radon_all
from .rahaman import *  # noqa: F401,F403
from .rahaman import __all__ as _rahaman_all

__all__ = [*_radon_all, *_rahaman_all]
