"""examples/: the layer-protocol demo trains, the EWMA example is a linear RNN."""
import re
import runpy
import sys
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_demo_loss_falls(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["demo.py", "--epochs", "5"])
    runpy.run_path(str(EXAMPLES / "demo.py"), run_name="__main__")
    out = capsys.readouterr().out
    train = [float(v) for v in re.findall(r"train mse ([0-9.]+)", out)]
    test = [float(v) for v in re.findall(r"test mse ([0-9.]+)", out)]
    assert len(train) == len(test) == 5
    assert train[-1] < train[0] / 3 and test[-1] < 0.05


def test_ewma_is_a_linear_rnn(tmp_path, capsys):
    namespace = runpy.run_path(str(EXAMPLES / "ewma.py"))
    x = namespace["noisy_hat"](50)
    for beta in (0.8, 0.5):
        np.testing.assert_allclose(namespace["ewma_rnn"](x, beta), namespace["ewma"](x, beta), rtol=1e-12)
    namespace["main"](["--out", str(tmp_path)])
    assert (tmp_path / "ewma.png").exists() and "equals the EWMA" in capsys.readouterr().out
