"""2-D targets of the Radon-spline paper, Experiment 2 (SPEC section 3)."""

__all__: list[str] = []
