"""Feature (Jacobian) matrices of shallow networks (SPEC section 1).

With only the output weights trained, a shallow network is linear in them: ``f = A w`` with

    A[n, k] = act(s (x_n - b_k))                      (1-D, Lucey)
    A[n, k] = act(s_k (theta_k . x_n - gamma_k))      (n-D, Radon-spline parameterization)

``A`` is the network's Jacobian with respect to the output weights.
"""

from __future__ import annotations

import numpy as np

from ._validation import ParameterError, check_array, check_scalar
from .activations import resolve


def shallow_features(x, biases, activation, scale=1.0) -> np.ndarray:
    """The N x K feature matrix ``A[n, k] = act(scale * (x_n - b_k))`` (SPEC section 1).

    Parameters
    ----------
    x : array_like, shape (N,)
        Sample positions.
    biases : array_like, shape (K,)
        Bias (breakpoint) positions ``b_k``.
    activation : str, Activation or callable
        The non-linearity ``act``.
    scale : float or array_like of shape (K,)
        Horizontal scale ``s`` (one per neuron allowed), ``s > 0``.

    Examples
    --------
    >>> import numpy as np
    >>> A = shallow_features(np.linspace(0, 1, 5), np.linspace(0, 1, 5), "step")
    >>> A.shape, float(A[0, 0]), float(A[0, 1])
    ((5, 5), 1.0, 0.0)
    """
    x = check_array(x, "x", owner="shallow_features", ndim=1)
    b = check_array(biases, "biases", owner="shallow_features", ndim=1)
    if np.ndim(scale) == 0:
        s = check_scalar(scale, "scale", owner="shallow_features", min_val=0.0, include_min=False)
    else:
        s = check_array(scale, "scale", owner="shallow_features", ndim=1)
        if s.shape != b.shape or np.any(s <= 0):
            raise ParameterError(
                "The 'scale' parameter of shallow_features must be a positive float or a "
                f"positive array of shape {b.shape}. Got shape {s.shape} instead."
            )
    act = resolve(activation)
    A = np.asarray(act(s * (x[:, None] - b[None, :])), dtype=np.float64)
    if not np.all(np.isfinite(A)):
        raise ParameterError("The activation produced non-finite features; check 'scale'.")
    return A


def radon_features(x, theta, gamma, activation, scale=1.0) -> np.ndarray:
    """The N x K matrix ``Phi[n, k] = act(s_k (theta_k . x_n - gamma_k))`` (SPEC section 1).

    ``x`` has shape (N, d), ``theta`` (K, d) (rows normalized here), ``gamma`` (K,), ``scale``
    a positive scalar or shape (K,).
    """
    x = check_array(x, "x", owner="radon_features", ndim=2)
    theta = check_array(theta, "theta", owner="radon_features", ndim=2)
    gamma = check_array(gamma, "gamma", owner="radon_features", ndim=1)
    if theta.shape[1] != x.shape[1] or theta.shape[0] != gamma.shape[0]:
        raise ParameterError(
            f"Shapes do not match: x {x.shape}, theta {theta.shape}, gamma {gamma.shape}; "
            "expected x (N, d), theta (K, d), gamma (K,)."
        )
    norms = np.linalg.norm(theta, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ParameterError("The 'theta' parameter of radon_features has a zero row.")
    theta = theta / norms
    s = np.asarray(scale, dtype=np.float64)
    if np.any(s <= 0) or s.ndim > 1:
        raise ParameterError("The 'scale' parameter of radon_features must be positive.")
    act = resolve(activation)
    return np.asarray(act(s * (x @ theta.T - gamma[None, :])), dtype=np.float64)
