"""examples/: the README's demo runs and its loss falls."""
import re
import runpy
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_demo_loss_falls(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["demo.py", "--epochs", "5"])
    runpy.run_path(str(EXAMPLES / "demo.py"), run_name="__main__")
    out = capsys.readouterr().out
    train = [float(v) for v in re.findall(r"train mse ([0-9.]+)", out)]
    test = [float(v) for v in re.findall(r"test mse ([0-9.]+)", out)]
    assert len(train) == len(test) == 5
    assert train[-1] < train[0] / 3 and test[-1] < 0.05
