"""The Keras stock-price tutorial 'ibm' (see minirnn.apps.tutorials.ibm for the exact set-up).

    python examples/ibm_stock.py --csv PATH [--epochs N] [--seed S] [--out DIR]

Without --csv it runs on a synthetic series and says so. Same as: minirnn reproduce ibm ...
"""
import sys

from minirnn.apps.cli import example

if __name__ == "__main__":
    sys.exit(example("ibm"))
