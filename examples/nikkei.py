"""The Keras stock-price tutorial 'nikkei' (see minirnn.apps.tutorials.nikkei for the exact set-up).

    python examples/nikkei.py --csv PATH [--epochs N] [--seed S] [--out DIR]

Without --csv it runs on a synthetic series and says so. Same as: minirnn reproduce nikkei ...
"""
import sys

from minirnn.apps.cli import example

if __name__ == "__main__":
    sys.exit(example("nikkei"))
