"""Data sets: loaders for data the user provides, and data shipped by dependencies."""

from .mnist import MNIST, load_mnist, read_idx, write_idx

__all__ = ["MNIST", "load_mnist", "read_idx", "write_idx"]
