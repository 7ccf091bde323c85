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


def test_the_readme_keras_snippet_runs_as_written_with_float32_data(tmp_path, monkeypatch, capsys):
    """Keras' default data type is float32: the README's Keras code must take it unchanged."""
    readme = (EXAMPLES.parent / "README.md").read_text()
    section = readme[readme.index("## For Keras users"):]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    rng = np.random.default_rng(0)
    series = np.sin(np.arange(160) / 6).astype(np.float32)
    X = np.stack([series[i:i + 60] for i in range(100)])[:, :, None]
    y = series[60:160]
    monkeypatch.chdir(tmp_path)
    namespace = {"X_train": X[:80], "y_train": y[:80], "X_test": X[80:] + rng.normal(scale=0.01, size=X[80:].shape)
                 .astype(np.float32)}
    exec(compile(snippet.replace("epochs=50", "epochs=2"), "README.md", "exec"), namespace)
    assert X.dtype == np.float32 and namespace["y_pred"].shape == (20, 1)
    assert list(namespace["history"].history) == ["loss", "mae", "val_loss", "val_mae"]
    assert (tmp_path / "model.npz").exists() and "Total params: 30,651" in capsys.readouterr().out
