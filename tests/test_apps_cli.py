"""minirnn/cli.py and minirnn/tutorials.py: a short run of every experiment, the command's errors."""
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from minirnn.apps import cli, tutorials

from conftest import IBM, KO, NIKKEI, needs_data

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def table(out):
    """{model: (params, rmse, naive, drift)} from a printed results table."""
    rows = {}
    for line in out.splitlines():
        parts = line.rsplit(None, 5)
        if len(parts) == 6 and parts[1].isdigit():
            rows[parts[0].strip()] = (int(parts[1]), float(parts[2]), float(parts[3]), float(parts[4]))
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
    assert {name: row[0] for name, row in rows.items()} == models
    assert all(r[2] == pytest.approx(naive, abs=1e-3) and r[1] > 0 and r[3] > 0 for r in rows.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{experiment}_seed0_learning_curves.png",
                                                          f"{experiment}_seed0_predictions.png"]


@needs_data
def test_changes_variant_is_close_to_persistence(tmp_path, capsys):
    """Predicting daily changes: the model can only add to 'tomorrow = today', so it lands near it."""
    assert cli.main(["reproduce", "ko-changes", "--csv", str(KO), "--epochs", "3", "--out", str(tmp_path)]) == 0
    (params, rmse, naive, _), = table(capsys.readouterr().out).values()
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
    with pytest.raises(SystemExit) as stop:
        cli.main(["demo", "--epochs", "0"])
    assert stop.value.code == 2
    with pytest.raises(SystemExit):
        cli.main(["reproduce", "msft"])


def test_example_scripts_and_help():
    for script in ("ko_stock.py", "ibm_stock.py", "nikkei.py"):
        done = subprocess.run([sys.executable, str(EXAMPLES / script), "--help"], capture_output=True, text=True)
        assert done.returncode == 0 and "--csv" in done.stdout
    done = subprocess.run([sys.executable, "-m", "minirnn.apps.cli", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "reproduce" in done.stdout


def test_probe(tmp_path, capsys):
    assert cli.main(["probe", "--length", "12", "--units", "4", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rates = {line.split()[0]: float(line.split()[1]) for line in out.splitlines()
             if line.split() and line.split()[0] in ("rnn", "rnn-relu", "lstm", "gru")}
    assert set(rates) == {"rnn", "rnn-relu", "lstm", "gru"} and all(0 < r < 2 for r in rates.values())
    assert (tmp_path / "gradient_flow_seed0.png").exists()
    with pytest.raises(SystemExit):
        cli.main(["probe", "--length", "1"])


def _never_train(monkeypatch):
    def train(*args, **kwargs):
        raise AssertionError("training started before the paths were checked")
    monkeypatch.setattr(tutorials, "train_and_predict", train)


@pytest.mark.parametrize("argv", [["demo", "--epochs", "1", "--out", "/dev/null/x"],
                                  ["reproduce", "ko", "--out", "/proc/forbidden"],
                                  ["reproduce", "nikkei", "--out", "{file}"],
                                  ["reproduce", "ko", "--csv", "{missing}"],
                                  ["reproduce", "ko", "--csv", "{folder}"]])
def test_paths_are_checked_before_any_training(argv, tmp_path, capsys, monkeypatch):
    _never_train(monkeypatch)
    (tmp_path / "file").write_text("")
    argv = [a.format(file=tmp_path / "file", missing=tmp_path / "missing.csv", folder=tmp_path) for a in argv]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("minirnn: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_file_that_is_not_a_price_file(capsys, monkeypatch):
    _never_train(monkeypatch)
    readme = Path(__file__).resolve().parents[1] / "README.md"
    assert cli.main(["reproduce", "ko", "--csv", str(readme), "--out", "/tmp"]) == 1
    err = capsys.readouterr().err
    assert "README.md" in err and "a price file is a CSV file" in err


def test_synthetic_runs_are_marked_in_the_table_and_the_figures(tmp_path, capsys, monkeypatch):
    titles = []
    real_report = tutorials.report

    def report(heading, stem, *args, **kwargs):
        titles.append((heading, kwargs.get("units")))
        return real_report(heading, stem, *args, **kwargs)

    monkeypatch.setattr(tutorials, "report", report)
    assert cli.main(["reproduce", "ko-changes", "--epochs", "1", "--out", str(tmp_path)]) == 0
    (heading, units), = titles
    assert heading.startswith("SYNTHETIC") and heading in capsys.readouterr().out
    assert units == "standardised daily changes"  # the learning curve's units: what this model is trained on
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ko-changes_synthetic_seed0_learning_curves.png",
                                                          "ko-changes_synthetic_seed0_predictions.png"]


@needs_data
def test_another_file_is_named_after_itself(tmp_path, capsys):
    assert cli.main(["reproduce", "ko", "--csv", str(IBM), "--epochs", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "IBM: next-day High, 2016-2017 (KO tutorial set-up)" in out and "KO:" not in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ko_IBM_seed0_learning_curves.png",
                                                          "ko_IBM_seed0_predictions.png"]
    assert cli.main(["reproduce", "ko", "--csv", str(IBM), "--epochs", "1", "--out", str(tmp_path),
                     "--name", "Big Blue", "--column", "Low"]) == 0
    assert "Big Blue: next-day Low" in capsys.readouterr().out
    assert (tmp_path / "ko_Big_Blue_seed0_predictions.png").exists()


@needs_data
def test_nikkei_on_an_index_file_in_the_yahoo_layout(tmp_path, capsys):
    """Date,Open,High,Low,Close,Adj Close,Volume, as index files come: the Close column is found."""
    course = pd.read_csv(NIKKEI, thousands=",")
    dates = pd.to_datetime(course["date"], format="mixed").dt.strftime("%Y-%m-%d")
    close = course["closed_price"]
    yahoo = pd.DataFrame({"Date": dates, "Open": close, "High": close + 10, "Low": close - 10, "Close": close,
                          "Adj Close": close, "Volume": 0})
    path = tmp_path / "N225.csv"
    yahoo.to_csv(path, index=False)
    assert cli.main(["reproduce", "nikkei", "--csv", str(path), "--epochs", "1", "--out", str(tmp_path)]) == 0
    rows = table(capsys.readouterr().out)
    assert all(r[2] == pytest.approx(385.754, abs=1e-3) for r in rows.values())  # the course file's naive RMSE


def test_help_names_each_experiment_its_defaults_and_the_probe_cells():
    help_text = cli.build_parser()._subparsers._group_actions[0].choices
    reproduce, probe = help_text["reproduce"].format_help(), help_text["probe"].format_help()
    assert "(default None)" not in reproduce and "(default 200 epochs)" in reproduce
    assert all(name in reproduce for name in cli.EXPERIMENTS)
    assert "which cell" in probe


def test_the_first_run_says_it_is_compiling(capsys, monkeypatch):
    from minirnn import cells
    monkeypatch.setattr(cells, "compiled", lambda: False)
    cli._announce_compiling()
    assert "Compiling minirnn's kernels" in capsys.readouterr().out
    monkeypatch.setattr(cells, "compiled", lambda: True)
    cli._announce_compiling()
    assert capsys.readouterr().out == ""


def test_compiled_kernels_are_found_in_the_cache(rng):
    from minirnn import _jit, cells, layers
    for layer in (layers.SimpleRNN(2), layers.LSTM(2), layers.GRU(2)):
        layer.forward(rng.normal(size=(1, 2, 1)))  # compiled (and cached) by now, if not before
    assert cells.compiled() == _jit.CACHE


def test_training_that_diverges_is_one_line(tmp_path, capsys, monkeypatch):
    import minirnn as mr

    def diverge(*args, **kwargs):
        raise mr.NonFiniteLossError("training diverged at epoch 1, batch 3: the loss is NaN or infinite")

    monkeypatch.setattr(tutorials, "train_and_predict", diverge)
    assert cli.main(["reproduce", "ko", "--epochs", "1", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err == "minirnn: training diverged at epoch 1, batch 3: the loss is NaN or infinite\n"


def test_a_second_run_with_the_same_seed_refuses_before_training_unless_asked(tmp_path, capsys, monkeypatch):
    assert cli.main(["reproduce", "ko", "--epochs", "1", "--out", str(tmp_path)]) == 0
    figures = sorted(tmp_path.iterdir())
    first = [path.read_bytes() for path in figures]
    capsys.readouterr()
    with monkeypatch.context() as patched:
        _never_train(patched)
        assert cli.main(["reproduce", "ko", "--epochs", "1", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "ko_synthetic_seed0_predictions.png" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert [path.read_bytes() for path in figures] == first
    assert cli.main(["reproduce", "ko", "--epochs", "1", "--seed", "1", "--out", str(tmp_path)]) == 0
    assert len(list(tmp_path.iterdir())) == 4  # seed 1 beside seed 0
    assert cli.main(["reproduce", "ko", "--epochs", "2", "--out", str(tmp_path), "--overwrite"]) == 0
    assert len(list(tmp_path.iterdir())) == 4


def test_an_unexpected_error_is_still_one_line(capsys, monkeypatch, tmp_path):
    def broken(**kwargs):
        raise RuntimeError("a bug")
    monkeypatch.setattr(tutorials, "demo", broken)
    assert cli.main(["demo", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == "minirnn: internal error, please report it (RuntimeError: a bug); MINIRNN_DEBUG=1 shows where\n"
    monkeypatch.setenv("MINIRNN_DEBUG", "1")
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["demo", "--out", str(tmp_path)])


def test_an_interrupted_run_says_so_and_leaves_no_half_files(capsys, monkeypatch, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(tutorials, "train_and_predict", interrupted)
    assert cli.main(["demo", "--epochs", "1", "--out", str(tmp_path)]) == 130
    assert capsys.readouterr().err == "minirnn: interrupted\n" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["demo", "--seed", "-3"], ["demo", "--epochs", "x"], ["probe", "--units", "0"],
                                  ["task", "copy", "--batch-size", "0"], ["reproduce", "ko", "--epochs", "1.5"]])
def test_usage_errors_are_one_line(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and len(err.strip().splitlines()) == 1 and "--help lists the options" in err
