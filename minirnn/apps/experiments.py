"""Built-in experiments for :mod:`minirnn.sweep`: functions of keyword arguments that return a dict
of numbers, so that a sweep names them (``sweep.run("task", grid)``) and any worker can run them.

- :func:`task`: one cell on a long-range memory task (:func:`minirnn.apps.longrange.run`).
- :func:`ibm`: the IBM tutorial's 4 stacked LSTM(50) (or GRU(50)) and its test RMSE.
- :func:`changes`: the daily-changes GRU of ``minirnn reproduce ko-changes`` on any price file,
  with Diebold-Mariano tests of its errors against persistence and drift on the same days.

A price file's path must be readable where the task runs (on a cluster: on every worker's host).
"""
import numpy as np

from .. import data, optim
from . import longrange, tutorials


def _quiet(*args, **kwargs):
    pass


def task(task="adding", length=100, cell="lstm", units=32, steps=2000, batch_size=32, optimizer="adam", lr=1e-3,
         clipnorm=1.0, seed=0):
    """:func:`minirnn.apps.longrange.run` without output: test loss, baseline, their ratio, accuracy (NaN
    for the adding problem), training seconds, and 1 if training diverged."""
    result = longrange.run(task, length, cell, units, steps, batch_size, optimizer, lr, clipnorm or None, seed,
                           echo=_quiet)
    accuracy = result["test_accuracy"]
    return {"test_loss": result["test_loss"], "baseline": result["baseline"],
            "loss_ratio": result["test_loss"] / result["baseline"],
            "test_accuracy": np.nan if accuracy is None else accuracy,
            "train_seconds": result["seconds"], "diverged": int(result["diverged"] is not None)}


def ibm(csv, seed=0, epochs=50, cell="lstm", column="High"):
    """The IBM tutorial's model alone (``minirnn reproduce ibm`` trains both and generates 2017):
    4 x (LSTM(50) + Dropout(0.2)) + Dense(1) with rmsprop and batch 32, or the GRU variant with
    SGD(0.01, momentum 0.9) and batch 150; test RMSE on 2017 beside persistence and drift."""
    if cell not in ("lstm", "gru"):
        raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
    train, test, scaler, X_train, y_train, X_test = tutorials.ibm_windows(data.load_prices(csv, column=column))
    layer, optimizer, batch_size = {"lstm": ("LSTM", "rmsprop", 32),
                                    "gru": ("GRU", optim.SGD(0.01, momentum=0.9), 150)}[cell]
    model = tutorials.stacked(layer, 50, 4, 60, 0.2, seed)
    _, history, seconds, predicted = tutorials.train_and_predict(layer, model, optimizer, X_train, y_train, X_test,
                                                                 scaler, epochs, batch_size, seed)
    naive, drift = tutorials.baselines(train.values, test.values)
    return {"rmse": data.rmse(test.values, predicted), "naive_rmse": naive, "drift_rmse": drift,
            "final_loss": history["loss"][-1], "train_seconds": seconds}


def changes(csv, split="ko", seed=0, epochs=50, column="High"):
    """The GRU(16) on daily changes (:func:`minirnn.apps.tutorials.forecast_changes`) on ``csv`` with the
    test period of ``split`` ("ko": 2016-2017, "ibm": 2017): its RMSE, persistence's and drift's,
    and the Diebold-Mariano statistic and p-value of its squared errors against each of them
    (``dm_naive < 0``: smaller errors than persistence)."""
    train, test, result = tutorials.forecast_changes(data.load_prices(csv, column=column), split, epochs, seed)
    naive = data.naive_forecast(train.values, test.values)
    drift = data.drift_forecast(train.values, test.values)
    dm_naive, p_naive = data.diebold_mariano(test.values, result.predictions, naive)
    dm_drift, p_drift = data.diebold_mariano(test.values, result.predictions, drift)
    return {"rmse": result.rmse, "naive_rmse": data.rmse(test.values, naive),
            "drift_rmse": data.rmse(test.values, drift), "dm_naive": dm_naive, "p_naive": p_naive,
            "dm_drift": dm_drift, "p_drift": p_drift, "train_seconds": result.seconds}


EXPERIMENTS = {"task": task, "ibm": ibm, "changes": changes}
