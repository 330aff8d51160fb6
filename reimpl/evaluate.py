"""`python -m reimpl.evaluate`, kept as the command README and docs give; the code lives in
reimpl/train/evaluate.py."""

import sys

from reimpl.train.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
