"""The Keras stock-price tutorial 'ko' (see minirnn.apps.tutorials.ko for the exact set-up).

    python examples/ko_stock.py --csv PATH [--epochs N] [--seed S] [--out DIR]

Without --csv it runs on a synthetic series and says so. Same as: minirnn reproduce ko ...
"""
import sys

from minirnn.apps.cli import example

if __name__ == "__main__":
    sys.exit(example("ko"))
