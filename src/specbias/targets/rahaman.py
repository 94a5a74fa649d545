"""1-D targets of Rahaman et al. (SPEC section 5)."""

__all__: list[str] = []
