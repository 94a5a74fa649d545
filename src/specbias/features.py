"""Feature (Jacobian) matrices of shallow networks (docs/theory.md section 1).

With only the output weights trained, a shallow network is linear in them: ``f = A w`` with

    A[n, k] = act(s (x_n - b_k))                      (1-D, Lucey)
    A[n, k] = act(s_k (theta_k . x_n - gamma_k))      (n-D, Radon-spline parameterization)

``A`` is the network's Jacobian with respect to the output weights.
"""

from __future__ import annotations

import numpy as np

from ._validation import ParameterError, check_array, check_real_output, check_scalar
from .activations import resolve


def _check_scale(scale, K: int, owner: str):
    """A positive finite float, or a positive finite array of shape (K,)."""
    if np.ndim(scale) == 0:
        return check_scalar(scale, "scale", owner=owner, min_val=0.0, include_min=False)
    s = check_array(scale, "scale", owner=owner, ndim=1)
    if s.shape != (K,) or np.any(s <= 0):
        raise ParameterError(
            f"The 'scale' parameter of {owner} must be a positive float or a "
            f"positive array of shape {(K,)}. Got shape {s.shape} instead."
        )
    return s


def _real_features(out, owner: str) -> np.ndarray:
    """The activation's output as float64, refusing complex values (not cut to their real part)."""
    return check_real_output(out, "activation", owner=owner)


def _check_features(A: np.ndarray, shape: tuple[int, int], owner: str) -> np.ndarray:
    if A.shape != shape:
        raise ParameterError(
            f"The 'activation' parameter of {owner} must map an array to an array of the same "
            f"shape. Got an output of shape {A.shape} for an input of shape {shape} instead."
        )
    return A


def shallow_features(x, biases, activation, scale=1.0) -> np.ndarray:
    """The N x K feature matrix ``A[n, k] = act(scale * (x_n - b_k))`` (docs/theory.md section 1).

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

    Returns
    -------
    ndarray, shape (N, K)
        The features, float64.

    Examples
    --------
    >>> import numpy as np
    >>> A = shallow_features(np.linspace(0, 1, 5), np.linspace(0, 1, 5), "step")
    >>> A.shape, float(A[0, 0]), float(A[0, 1])
    ((5, 5), 1.0, 0.0)
    """
    x = check_array(x, "x", owner="shallow_features", ndim=1)
    b = check_array(biases, "biases", owner="shallow_features", ndim=1)
    s = _check_scale(scale, b.size, "shallow_features")
    act = resolve(activation)
    A = _check_features(_real_features(act(s * (x[:, None] - b[None, :])), "shallow_features"),
                        (x.size, b.size), "shallow_features")
    if not np.all(np.isfinite(A)):
        raise ParameterError("The activation produced non-finite features; check 'scale'.")
    return A


def radon_features(x, theta, gamma, activation, scale=1.0) -> np.ndarray:
    """The N x K matrix ``Phi[n, k] = act(s_k (theta_k . x_n - gamma_k))`` (docs/theory.md section 1).

    Parameters
    ----------
    x : array_like, shape (N, d)
        Inputs.
    theta : array_like, shape (K, d)
        Directions of the units' zero planes (rows normalized here).
    gamma : array_like, shape (K,)
        Offsets of the zero planes.
    activation : str, Activation or callable
        The non-linearity ``act``.
    scale : float or array_like of shape (K,)
        Scale ``s`` (one per unit allowed), ``s > 0``.

    Returns
    -------
    ndarray, shape (N, K)
        The features, float64.
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
    s = _check_scale(scale, gamma.size, "radon_features")
    act = resolve(activation)
    return _check_features(_real_features(act(s * (x @ theta.T - gamma[None, :])), "radon_features"),
                           (x.shape[0], gamma.size), "radon_features")
