"""Vanishing and exploding gradients, measured: where the story of LSTMs and GRUs starts.

    python examples/gradient_flow.py [--length 50] [--out minirnn-output]

1. At initialisation, on the remember-the-first-input task: ||dL/dh_t|| against the distance
   from the loss for SimpleRNN (tanh, relu), LSTM (h and the cell state c) and GRU.
2. The same after a few epochs of training.
3. The decay rate per step against the recurrent spectral radius, tanh and relu.
4. An exploding tanh RNN (recurrent kernel x 3), trained with and without clipnorm.
"""
import argparse

from minirnn.apps import probe

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=50)
    parser.add_argument("--out", default="minirnn-output")
    args = parser.parse_args()
    probe.probe(length=args.length, out=f"{args.out}/at_init")
    probe.probe(length=args.length, epochs=5, out=f"{args.out}/trained")
    probe.decay_vs_radius(length=args.length, out=args.out)
    probe.exploding(length=args.length, out=args.out)
