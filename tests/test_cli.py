"""minirnn/cli.py and minirnn/tutorials.py: a short run of every experiment, the command's errors."""
import subprocess
import sys
from pathlib import Path

import pytest

from minirnn import cli

from conftest import IBM, KO, NIKKEI, needs_data

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def table(out):
    """{model: (params, rmse, naive)} from a printed results table."""
    rows = {}
    for line in out.splitlines():
        parts = line.rsplit(None, 4)
        if len(parts) == 5 and parts[1].isdigit():
            rows[parts[0].strip()] = (int(parts[1]), float(parts[2]), float(parts[3]))
    return rows


@needs_data
@pytest.mark.parametrize("experiment, csv, models, naive", [
    ("ko", KO, {"SimpleRNN(50)": 2651, "LSTM(50)": 10451, "GRU(50)": 8001}, 0.281),
    ("ibm", IBM, {"4 x LSTM(50)": 71051, "4 x GRU(50)": 53901, "4 x LSTM(50), generated": 71051}, 1.539),
    ("nikkei", NIKKEI, {"4 x SimpleRNN(32)": 7361, "4 x LSTM(32)": 29345, "4 x GRU(32)": 22401}, 385.754),
])
def test_reproduce_smoke(experiment, csv, models, naive, tmp_path, capsys):
    assert cli.main(["reproduce", experiment, "--csv", str(csv), "--epochs", "1", "--out", str(tmp_path)]) == 0
    rows = table(capsys.readouterr().out)
    assert {name: params for name, (params, _, _) in rows.items()} == models
    assert all(r[2] == pytest.approx(naive, abs=1e-3) and r[1] > 0 for r in rows.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{experiment}_learning_curves.png",
                                                          f"{experiment}_predictions.png"]


@needs_data
def test_changes_variant_is_close_to_persistence(tmp_path, capsys):
    """Predicting daily changes: the model can only add to 'tomorrow = today', so it lands near it."""
    assert cli.main(["reproduce", "ko-changes", "--csv", str(KO), "--epochs", "3", "--out", str(tmp_path)]) == 0
    (params, rmse, naive), = table(capsys.readouterr().out).values()
    assert params == 3 * 16 * (1 + 16 + 2) + 17 and abs(rmse - naive) < 0.1 * naive


def test_demo_and_synthetic_fallback(tmp_path, capsys):
    assert cli.main(["demo", "--epochs", "1", "--out", str(tmp_path)]) == 0
    assert set(table(capsys.readouterr().out)) == {"SimpleRNN(32)", "LSTM(32)", "GRU(32)"}
    assert cli.main(["reproduce", "ko", "--epochs", "1", "--out", str(tmp_path)]) == 0
    assert "synthetic" in capsys.readouterr().out


def test_errors(tmp_path, capsys):
    assert cli.main(["reproduce", "ko", "--csv", str(tmp_path / "missing.csv")]) == 1
    assert "not found" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,High\n2017-01-03,abc\n")
    assert cli.main(["reproduce", "ko", "--csv", str(bad)]) == 1
    assert "non-numeric value 'abc'" in capsys.readouterr().err
    assert cli.main(["demo", "--epochs", "0"]) == 2
    with pytest.raises(SystemExit):
        cli.main(["reproduce", "msft"])


def test_example_scripts_and_help():
    for script in ("ko_stock.py", "ibm_stock.py", "nikkei.py"):
        done = subprocess.run([sys.executable, str(EXAMPLES / script), "--help"], capture_output=True, text=True)
        assert done.returncode == 0 and "--csv" in done.stdout
    done = subprocess.run([sys.executable, "-m", "minirnn.cli", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "reproduce" in done.stdout


def test_probe(tmp_path, capsys):
    assert cli.main(["probe", "--length", "12", "--units", "4", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rates = {line.split()[0]: float(line.split()[1]) for line in out.splitlines()
             if line.split() and line.split()[0] in ("rnn", "rnn-relu", "lstm", "gru")}
    assert set(rates) == {"rnn", "rnn-relu", "lstm", "gru"} and all(0 < r < 2 for r in rates.values())
    assert (tmp_path / "gradient_flow.png").exists()
    assert cli.main(["probe", "--length", "1"]) == 1
