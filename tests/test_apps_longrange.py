"""minirnn/longrange.py and the ``minirnn task`` / ``reproduce arjovsky`` commands: short runs of
every task, what they report, and their errors before any training."""
import numpy as np
import pandas as pd
import pytest

from minirnn import tasks
from minirnn.apps import cli, longrange


def quiet(*args, **kwargs):
    pass


@pytest.mark.parametrize("task, length, classes", [("adding", 12, None), ("copy", 6, 9), ("temporal-order", 20, 4)])
def test_a_short_run_of_each_task_reports_loss_baseline_curve_and_gradient_flow(task, length, classes, tmp_path):
    result = longrange.run(task, length, "gru", units=6, steps=12, evaluations=3, n_test=64, seed=3, out=tmp_path,
                           echo=quiet)
    assert result["iterations"] == 12 and result["history"]["iteration"] == [4, 8, 12]
    assert len(result["history"]["loss"]) == len(result["history"]["val_loss"]) == 3
    assert np.isfinite(result["test_loss"]) and result["test_loss"] > 0
    assert result["baseline"] == pytest.approx({"adding": 1 / 6, "copy": tasks.baseline("copy", delay=length),
                                                "temporal-order": np.log(4)}[task])
    assert (result["test_accuracy"] is None) == (classes is None)
    # ||dC/dh_t|| at every step, at iteration 0 and after the run's last (here 12 < 100) iteration
    T = length + 20 if task == "copy" else length
    assert sorted(result["gradient_norms"]) == [0, 12]
    for t, norms in result["gradient_norms"].values():
        assert list(t) == list(range(T)) and (norms > 0).all()
    assert not np.allclose(result["gradient_norms"][0][1], result["gradient_norms"][12][1])  # training changed them
    assert result["figure"].exists() and result["figure"].parent == tmp_path


def test_runs_are_repeatable_by_seed():
    a, b, c = (longrange.run("adding", 10, "lstm", units=4, steps=6, evaluations=2, n_test=32, seed=s, echo=quiet)
               for s in (1, 1, 2))
    assert a["test_loss"] == b["test_loss"] != c["test_loss"]


def test_the_lstm_learns_a_short_adding_problem_and_the_report_says_so():
    lines = []
    result = longrange.run("adding", 10, "lstm", units=16, steps=400, lr=1e-2, evaluations=4, n_test=500,
                           echo=lines.append)
    assert result["test_loss"] < result["baseline"] / 10
    assert lines[-1].startswith("test MSE") and "x the no-memory baseline 0.1667" in lines[-1]
    assert sum(line.lstrip().startswith("iteration") for line in lines) == 4


def test_a_run_that_diverges_is_reported_not_raised(tmp_path):
    lines = []
    result = longrange.run("adding", 50, "irnn", units=16, steps=40, lr=0.5, clipnorm=None, evaluations=4, n_test=64,
                           out=tmp_path, echo=lines.append)
    assert result["diverged"].startswith("training diverged at epoch 1") and "10000 times" in result["diverged"]
    assert result["history"]["loss"] == [] and result["test_loss"] > result["baseline"]
    assert any("diverged" in line for line in lines) and result["figure"].exists()


def test_indrnn_gets_the_papers_bound_for_the_task_length():
    model = longrange.build_model(longrange.Task("adding", 16), "indrnn", units=4)
    assert model.layers[0].recurrent_clip == pytest.approx(2 ** (1 / 16))
    assert np.abs(model.layers[0].params["recurrent_kernel"]).max() <= 2 ** (1 / 16)


def test_irnn_starts_with_an_identity_recurrent_kernel_and_relu():
    model = longrange.build_model(longrange.Task("adding", 10), "irnn", units=5)
    rnn = model.layers[0]
    assert rnn.activation == "relu"
    np.testing.assert_array_equal(rnn.params["recurrent_kernel"], np.eye(5))


@pytest.mark.parametrize("kwargs, message", [
    ({"task": "adding", "length": 1}, "length >= 2"),
    ({"task": "temporal-order", "length": 10}, "length >= 20"),
    ({"task": "parity"}, "task must be one of"),
    ({"cell": "transformer"}, "cell must be one of"),
    ({"units": 0}, "units must be an int >= 1"),
    ({"optimizer": "lbfgs"}, "optimizer must be one of"),
    ({"lr": -1.0}, "lr must be a finite number > 0"),
    ({"clipnorm": float("nan")}, "clipnorm must be"),
])
def test_bad_settings_are_named(kwargs, message):
    settings = {"task": "adding", "length": 10, "steps": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        longrange.run(echo=quiet, **settings)


def test_arjovsky_table_and_figure(tmp_path):
    table = longrange.arjovsky(steps=4, cells=("rnn", "lstm"), grid=(("adding", 8), ("copy", 4)), units=4,
                               out=tmp_path, echo=quiet)
    assert list(table.cell) == ["rnn", "lstm", "rnn", "lstm"] and list(table.task) == ["adding"] * 2 + ["copy"] * 2
    np.testing.assert_allclose(table["loss / baseline"], table.test_loss / table.baseline)
    assert (tmp_path / "arjovsky_seed0.csv").exists() and (tmp_path / "arjovsky_seed0.png").exists()


def test_task_command(tmp_path, capsys):
    argv = ["task", "copy", "--length", "5", "--cell", "rnn", "--units", "4", "--steps", "6", "--lr", "0.01",
            "--clipnorm", "0", "--optimizer", "rmsprop", "--batch-size", "8", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "copy task, delay 5 (T = 25): rnn with 4 units" in out and "rmsprop lr 0.01, seed 0" in out
    assert "clipnorm" not in out and "test cross-entropy" in out
    assert (tmp_path / "task_copy_5_rnn_seed0.png").exists()


@pytest.mark.parametrize("argv, status, message", [
    (["task", "adding", "--length", "1"], 1, "adding needs --length >= 2"),
    (["task", "adding", "--units", "0"], 2, "argument --units: must be an int >= 1, got '0'"),
    (["task", "adding", "--steps", "0"], 2, "argument --steps: must be an int >= 1"),
    (["task", "adding", "--lr", "0"], 2, "argument --lr: must be a finite number > 0"),
    (["task", "adding", "--lr", "nan"], 2, "argument --lr: must be a finite number > 0"),
    (["task", "adding", "--clipnorm", "-1"], 2, "argument --clipnorm: must be a finite number >= 0"),
    (["task", "adding", "--seed", "-1"], 2, "argument --seed: must be an int >= 0, got '-1'"),
    (["task", "adding", "--seed", "x"], 2, "argument --seed: must be an int >= 0"),
    (["task", "adding", "--out", "/proc/forbidden"], 1, "cannot write to the folder '/proc/forbidden'"),
    (["reproduce", "arjovsky", "--seed", "-1"], 2, "argument --seed: must be an int >= 0"),
    (["reproduce", "arjovsky", "--csv", "x.csv"], 1, "--csv does not apply to reproduce arjovsky"),
    (["reproduce", "arjovsky", "--steps", "0"], 2, "argument --steps: must be an int >= 1"),
    (["reproduce", "ko", "--steps", "5"], 1, "--steps does not apply to reproduce ko"),
    (["probe", "--epochs", "-1"], 2, "argument --epochs: must be an int >= 0"),
    (["sweep", "task", "adding", "--workers", "0"], 2, "argument --workers: must be an int >= 1"),
    (["sweep", "task", "adding", "--retries", "-1"], 2, "argument --retries: must be an int >= 0"),
])
def test_task_and_arjovsky_errors_come_before_training(argv, status, message, capsys, monkeypatch):
    """A bad option is one line on stderr: argparse's type errors exit 2, what is checked after 1."""
    def never(*args, **kwargs):
        raise AssertionError("training started before the options were checked")
    monkeypatch.setattr(longrange, "run", never)
    monkeypatch.setattr(longrange, "arjovsky", never)
    if status == 2:
        with pytest.raises(SystemExit) as stop:
            cli.main(argv)
        assert stop.value.code == 2
    else:
        assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("minirnn") and message in err and len(err.strip().splitlines()) == 1, err


def test_reproduce_arjovsky_runs_from_the_command_line(tmp_path, capsys, monkeypatch):
    seen = {}
    original = longrange.arjovsky

    def small(**kwargs):
        seen.update(kwargs)
        return original(**kwargs, cells=("rnn",), grid=(("adding", 6),), units=3)
    monkeypatch.setattr(longrange, "arjovsky", small)
    assert cli.main(["reproduce", "arjovsky", "--steps", "3", "--out", str(tmp_path)]) == 0
    assert seen == {"steps": 3, "seed": 0, "out": str(tmp_path), "overwrite": False}
    assert "held-out loss / no-memory baseline" in capsys.readouterr().out and (tmp_path / "arjovsky_seed0.png").exists()
    first = (tmp_path / "arjovsky_seed0.csv").read_bytes()
    # another seed writes files of its own; the same seed again refuses before training, unless asked
    assert cli.main(["reproduce", "arjovsky", "--steps", "3", "--seed", "1", "--out", str(tmp_path)]) == 0
    assert pd.read_csv(tmp_path / "arjovsky_seed1.csv").seed.tolist() == [1]
    assert (tmp_path / "arjovsky_seed0.csv").read_bytes() == first
    capsys.readouterr()
    monkeypatch.setattr(longrange, "run", lambda *a, **k: pytest.fail("trained before refusing"))
    assert cli.main(["reproduce", "arjovsky", "--steps", "3", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "arjovsky_seed0.csv" in err and "exists already" in err and "--overwrite" in err
    assert len(err.strip().splitlines()) == 1
    monkeypatch.undo()
    monkeypatch.setattr(longrange, "arjovsky", small)
    assert cli.main(["reproduce", "arjovsky", "--steps", "3", "--out", str(tmp_path), "--overwrite"]) == 0
    assert seen["overwrite"] is True


@pytest.mark.slow
@pytest.mark.parametrize("task, length, below", [("copy", 10, 0.95), ("temporal-order", 30, 0.1)])
def test_an_lstm_learns_each_classification_task_at_small_scale(task, length, below):
    result = longrange.run(task, length, "lstm", units=32, steps=1500, lr=5e-3, evaluations=5, n_test=500, echo=quiet)
    assert result["test_loss"] < below * result["baseline"]


@pytest.mark.slow
def test_the_speed_record_set_up_reaches_its_target_mse():
    """benchmarks/bench_adding.py's minirnn side, one seed: LSTM(8) on the signed adding problem at
    T = 100, Adam(5e-3) halved every 1500 iterations, clipnorm 1, 8000 batches of 32."""
    import minirnn as mr

    model = mr.Sequential([mr.layers.LSTM(8, input_shape=(100, 2)), mr.layers.Dense(1)], seed=0)
    model.compile(mr.optim.Adam(5e-3, clipnorm=1.0), "mse")
    rng = np.random.default_rng([0, 1])
    model.fit(lambda step: tasks.adding_problem(32, 100, variant="signed", seed=rng), steps_per_epoch=500, epochs=16,
              verbose=0, callbacks=[mr.callbacks.LearningRateScheduler(lambda epoch: 5e-3 * 0.5 ** (epoch // 3))])
    x_test, y_test = tasks.adding_problem(2000, 100, variant="signed", seed=[0, 2])
    assert model.evaluate(x_test, y_test, batch_size=500) <= 0.002  # predicting 0 scores 2/3
