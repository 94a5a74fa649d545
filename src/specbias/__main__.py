"""``python -m specbias``: the ``specbias`` command line."""

from specbias.cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess in the tests
    main()
