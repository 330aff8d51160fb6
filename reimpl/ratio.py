"""`python -m reimpl.ratio`, kept as the command README and docs give; the code lives in
reimpl/train/ratio.py."""

import sys

from reimpl.train.ratio import main

if __name__ == "__main__":
    sys.exit(main())
