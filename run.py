"""Solve a sourcing case: ``python run.py [INPUT.xlsx] [-o OUTPUT.xlsx] [--exposure-cap SHARE]``."""

import sys

from model.cli import main

if __name__ == "__main__":
    sys.exit(main())
