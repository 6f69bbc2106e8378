"""``python -m model.bench``: see :mod:`model.bench.run`."""

import sys

from model.bench.run import main

if __name__ == "__main__":
    sys.exit(main())
