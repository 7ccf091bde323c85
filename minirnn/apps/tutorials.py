"""The stock-price experiments of the Keras tutorials, shared by ``examples/`` and the ``minirnn`` command.

Each experiment loads a price series (or, without a file, a synthetic one, and
says so), scales it with a MinMaxScaler fitted on the training part, trains
its models on sliding windows, predicts the test period, and reports RMSE in
price units beside the naive persistence baseline (tomorrow = today), with
two figures: predictions against the real prices, and learning curves.
"""
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import callbacks, data, layers, optim, outputs
from . import plotting
from ..model import Sequential

CELLS = {"SimpleRNN": layers.SimpleRNN, "LSTM": layers.LSTM, "GRU": layers.GRU}


@dataclass
class Result:
    name: str
    params: int
    rmse: float
    seconds: float
    history: dict  # None for a result without training of its own (IBM's generated forecast)
    predictions: np.ndarray = field(repr=False)


def stacked(cell, units, depth, look_back, dropout=0.0, seed=0):
    """``depth`` recurrent layers of ``units`` (all but the last returning sequences), each followed
    by Dropout(``dropout``) if given, then Dense(1): the tutorials' models, in float32 like Keras."""
    stack = []
    for k in range(depth):
        stack.append(CELLS[cell](units, return_sequences=k < depth - 1))
        if dropout:
            stack.append(layers.Dropout(dropout))
    stack[0].input_shape = (look_back, 1)
    return Sequential([*stack, layers.Dense(1)], seed=seed, dtype="float32")


SYNTHETIC = "SYNTHETIC random walk, not real prices"


@dataclass
class Prices:
    """A price series and what to call it: the file's name (or the user's), or SYNTHETIC."""
    series: pd.Series
    label: str


def load(csv, column, default_columns, synthetic, name=None, echo=print):
    """The price series from ``csv`` (``column``, else the first of ``default_columns`` it has),
    or the synthetic stand-in (announced) when no file is given. ``name`` labels it."""
    if csv is None:
        echo("No --csv given: using a synthetic random-walk price series (numbers are not the tutorial's).")
        return Prices(synthetic, SYNTHETIC)
    series = data.load_prices(csv, column=column or default_columns)
    return Prices(series, name or Path(csv).name.split(".")[0].split("_")[0])


def title(prices, what, setup):
    """'IBM: next-day High, 2017 (IBM tutorial set-up)'."""
    return f"{prices.label}: next-day {prices.series.name}, {what} ({setup} tutorial set-up)"


def slug(prices, setup):
    """The figures' file-name stem: the set-up, and the series where it is not the set-up's own."""
    label = "synthetic" if prices.label == SYNTHETIC else prices.label
    label = "".join(c if c.isalnum() else "_" for c in label)
    return setup.lower() if label.lower() == setup.lower() else f"{setup.lower()}_{label}"


def train_and_predict(name, model, optimizer, X_train, y_train, X_test, scaler, epochs, batch_size, seed,
                      **fit_kwargs):
    model.compile(optimizer=optimizer, loss="mean_squared_error")
    start = time.perf_counter()
    history = model.fit(X_train.astype(np.float32), y_train.astype(np.float32), epochs=epochs,
                        batch_size=batch_size, verbose=0, seed=seed, **fit_kwargs)
    seconds = time.perf_counter() - start
    predicted = scaler.inverse_transform(model.predict(X_test.astype(np.float32)).astype(float).ravel())
    return model, history.history, seconds, predicted


def figures(out, stem, seed, overwrite=False):
    """The two figures' paths, ``<out>/<stem>_seed<seed>_predictions.png`` and ``_learning_curves.png``,
    claimed before training (:func:`minirnn.outputs.claim`: the folder writable, no earlier run's
    figures replaced unless ``overwrite``)."""
    return outputs.claim(out, [f"{stem}_seed{seed}_predictions.png", f"{stem}_seed{seed}_learning_curves.png"],
                         overwrite)


def report(heading, paths, results, actual, dates, baselines, echo=print, units="scaled prices"):
    """Print the table and draw the predictions and the learning curves into ``paths`` (from :func:`figures`).

    ``baselines``: (naive RMSE, drift RMSE); ``units``: what the models were trained on."""
    naive, drift = baselines
    echo(f"\n{heading}")
    echo(f"{'model':<28}{'params':>8}{'RMSE':>10}{'naive RMSE':>12}{'drift RMSE':>12}{'train s':>9}")
    for r in results:
        echo(f"{r.name:<28}{r.params:>8}{r.rmse:>10.3f}{naive:>12.3f}{drift:>12.3f}{r.seconds:>9.1f}")
    echo("RMSE in price units. The naive baseline predicts each day by the day before; the drift baseline adds "
         "the mean\ndaily change of the training period. A model that does not beat them has learnt little more "
         "than to copy\nyesterday's price.")
    paths = [plotting.plot_predictions(dates, actual, {r.name: r.predictions for r in results}, paths[0], heading),
             plotting.plot_learning_curves({r.name: r.history for r in results if r.history}, paths[1], heading,
                                           units=units)]
    echo("figures: " + ", ".join(str(p) for p in paths))
    return paths


def baselines(train, test):
    """(naive RMSE, drift RMSE) of the test prices."""
    return data.naive_rmse(train, test), data.drift_rmse(train, test)


def _one_step_models(heading, paths, series, test_start, test_end, look_back, specs, epochs, seed, echo):
    """Shared by KO and the demo: one model per spec, one-day-ahead predictions on the test period."""
    train, test = data.split_by_date(series, test_start, test_end)
    scaler = data.MinMaxScaler().fit(train.values)
    X_train, y_train = data.sliding_windows(scaler.transform(train.values), look_back)
    X_test, _ = data.test_windows(scaler.transform(train.values), scaler.transform(test.values), look_back)
    results = []
    for name, model, optimizer, batch_size, fit_kwargs in specs:
        model, history, seconds, predicted = train_and_predict(name, model, optimizer, X_train, y_train, X_test,
                                                               scaler, epochs, batch_size, seed, **fit_kwargs)
        results.append(Result(name, model.count_params(), data.rmse(test.values, predicted), seconds, history,
                              predicted))
    report(heading, paths, results, test.values, test.index, baselines(train.values, test.values), echo)
    return results


def ko(csv=None, epochs=50, seed=0, out="minirnn-output", echo=print, column=None, name=None, overwrite=False):
    """Coca-Cola, column High: train before 2016, test 2016-2017, 10-day windows;
    SimpleRNN(50), LSTM(50), GRU(50), each + Dropout(0.2) + Dense(1); rmsprop, mse, batch 32."""
    prices = load(csv, column, ("High",), data.synthetic_prices(seed=seed), name, echo)
    paths = figures(out, slug(prices, "ko"), seed, overwrite)
    specs = [(f"{cell}(50)", stacked(cell, 50, 1, 10, dropout=0.2, seed=seed), "rmsprop", 32, {})
             for cell in ("SimpleRNN", "LSTM", "GRU")]
    return _one_step_models(title(prices, "2016-2017", "KO"), paths, prices.series, "2016-01-01",
                            "2017-12-31", 10, specs, epochs, seed, echo)


def demo(epochs=50, seed=0, out="minirnn-output", echo=print, overwrite=False):
    """GOOG daily High 2004-2008 (ships with matplotlib): train before 2008, test 2008, 10-day windows;
    SimpleRNN(32), LSTM(32), GRU(32), each + Dense(1); adam."""
    import matplotlib.cbook
    paths = figures(out, "goog", seed, overwrite)
    prices = matplotlib.cbook.get_sample_data("goog.npz")["price_data"]
    series = pd.Series(prices["high"], index=pd.DatetimeIndex(prices["date"]), name="high")
    specs = [(f"{cell}(32)", stacked(cell, 32, 1, 10, seed=seed), optim.Adam(0.005), 32, {})
             for cell in ("SimpleRNN", "LSTM", "GRU")]
    return _one_step_models("GOOG: next-day high, 2008", paths, series, "2008-01-01", None, 10, specs, epochs,
                            seed, echo)


def ibm(csv=None, epochs=50, seed=0, out="minirnn-output", echo=print, column=None, name=None, overwrite=False):
    """IBM, column High: train through 2016, test 2017 (251 days), 60-day windows.
    4 x (LSTM(50) + Dropout(0.2)) + Dense(1), rmsprop, batch 32; and 4 x (GRU(50) + Dropout(0.2)) +
    Dense(1), SGD(0.01, momentum 0.9), batch 150. Then the LSTM generates 2017 on its own: from the
    last 60 training days, each prediction is fed back as the next input, 251 times."""
    prices = load(csv, column, ("High",), data.synthetic_prices(seed=seed), name, echo)
    paths = figures(out, slug(prices, "ibm"), seed, overwrite)
    look_back = 60
    train, test, scaler, X_train, y_train, X_test = ibm_windows(prices.series, look_back)
    specs = [("4 x LSTM(50)", stacked("LSTM", 50, 4, look_back, 0.2, seed), "rmsprop", 32),
             ("4 x GRU(50)", stacked("GRU", 50, 4, look_back, 0.2, seed), optim.SGD(0.01, momentum=0.9), 150)]
    results, lstm = [], None
    for name, model, optimizer, batch_size in specs:
        model, history, seconds, predicted = train_and_predict(name, model, optimizer, X_train, y_train, X_test,
                                                               scaler, epochs, batch_size, seed)
        results.append(Result(name, model.count_params(), data.rmse(test.values, predicted), seconds, history,
                              predicted))
        lstm = lstm or model
    generated = generate(lstm, X_test[0, :, 0], len(test))  # X_test[0]: the last 60 training days
    generated = scaler.inverse_transform(generated)
    results.append(Result("4 x LSTM(50), generated", results[0].params, data.rmse(test.values, generated), 0.0,
                          None, generated))  # the LSTM above, no training of its own
    report(title(prices, "2017", "IBM"), paths, results, test.values, test.index,
           baselines(train.values, test.values), echo)
    return results


def ibm_windows(series, look_back=60):
    """The IBM tutorial's data: train through 2016, test 2017, MinMax-scaled on the training part.

    Returns ``train, test`` (price Series), the fitted ``scaler`` and the scaled windows
    ``X_train (n, look_back, 1), y_train (n,), X_test (len(test), look_back, 1)``; the test windows
    start with the last ``look_back`` training days.
    """
    train, test = data.split_by_date(series, "2017-01-01", "2017-12-31")
    scaler = data.MinMaxScaler().fit(train.values)
    scaled_train = scaler.transform(train.values)
    X_train, y_train = data.sliding_windows(scaled_train, look_back)
    X_test, _ = data.test_windows(scaled_train, scaler.transform(test.values), look_back)
    return train, test, scaler, X_train, y_train, X_test


def generate(model, window, steps):
    """Autoregressive forecast: predict the next value from ``window``, append it, drop the oldest, repeat.
    Errors compound: after a few weeks this is the model's own idea of the series, not a forecast."""
    window = np.asarray(window, dtype=np.float32).reshape(1, -1, 1).copy()
    out = np.empty(steps)
    for k in range(steps):
        out[k] = model.predict(window)[0, 0]
        window = np.concatenate([window[:, 1:], [[[out[k]]]]], axis=1).astype(np.float32)
    return out


def nikkei(csv=None, epochs=200, seed=0, out="minirnn-output", echo=print, column=None, name=None, overwrite=False):
    """Nikkei 225 close (a date,closed_price file, or a Date,...,Close,... one): 5-day windows, the
    first 75% of windows train; 4 stacked SimpleRNN(32) / LSTM(32) / GRU(32) + Dense(1), adam,
    validation_split 0.1, EarlyStopping(val_loss, patience 40), up to ``epochs`` epochs."""
    synthetic = data.synthetic_prices("2021-05-06", "2022-05-02", seed=seed, start_price=29000.0,
                                      name="closed_price")
    prices = load(csv, column, ("closed_price", "Close"), synthetic, name, echo)
    paths = figures(out, slug(prices, "nikkei"), seed, overwrite)
    series = prices.series
    look_back = 5
    X, y = data.sliding_windows(series.values, look_back)
    X_train, X_test = data.split_by_fraction(X, 0.75)
    y_train, y_test = data.split_by_fraction(y, 0.75)
    scaler = data.MinMaxScaler().fit(series.values[:len(y_train) + look_back])
    scale = lambda a: scaler.transform(a.reshape(-1)).reshape(a.shape)  # noqa: E731
    results = []
    for cell in ("SimpleRNN", "LSTM", "GRU"):
        stopper = callbacks.EarlyStopping(monitor="val_loss", patience=40)
        model, history, seconds, predicted = train_and_predict(
            f"4 x {cell}(32)", stacked(cell, 32, 4, look_back, seed=seed), "adam", scale(X_train), scale(y_train),
            scale(X_test), scaler, epochs, 32, seed, validation_split=0.1, callbacks=[stopper])
        results.append(Result(f"4 x {cell}(32)", model.count_params(), data.rmse(y_test, predicted), seconds,
                              history, predicted))
    dates = series.index[look_back + len(y_train):]
    yesterday = X_test[:, -1, 0]
    mean_change = np.mean(np.diff(series.values[:len(y_train) + look_back]))
    report(title(prices, "last 25% of windows", "Nikkei"), paths, results, y_test, dates,
           (data.rmse(y_test, yesterday), data.rmse(y_test, yesterday + mean_change)), echo)
    return results


def differences(stock="ko", csv=None, epochs=50, seed=0, out="minirnn-output", echo=print, column=None, name=None,
                overwrite=False):
    """Beyond the tutorials: predict tomorrow's *change* instead of tomorrow's price.

    A price model's error is dominated by the level it has to reproduce; the day-to-day
    change is what is actually unknown, and for a liquid stock it is close to unpredictable.
    Here a GRU(16) + Dense(1) reads the last 10 daily changes (standardised on the training
    period) and predicts the next one; the price forecast is today's price plus that change.
    The naive baseline is the special case "change = 0", so this model can match it by
    learning to say ~0, and beats it only if there is something to learn.
    Split and column as the ``ko`` (test 2016-2017) or ``ibm`` (test 2017) tutorial.
    """
    prices = load(csv, column, ("High",), data.synthetic_prices(seed=seed), name, echo)
    paths = figures(out, slug(prices, f"{stock}-changes"), seed, overwrite)
    train, test, result = forecast_changes(prices.series, stock, epochs, seed)
    period = "2016-2017" if stock == "ko" else "2017"
    report(title(prices, f"{period}, from the last 10 daily changes", f"{stock.upper()} changes"),
           paths, [result], test.values, test.index,
           baselines(train.values, test.values), echo, units="standardised daily changes")
    return [result]


CHANGES_SPLITS = {"ko": ("2016-01-01", "2017-12-31"), "ibm": ("2017-01-01", "2017-12-31")}  # test periods


def forecast_changes(series, split="ko", epochs=50, seed=0):
    """The model of :func:`differences` on a price ``series``, trained and run on the test period
    of ``split`` ("ko" or "ibm"). Returns ``(train, test, result)``: the price Series and the
    :class:`Result` whose ``predictions`` are the test days' prices."""
    if split not in CHANGES_SPLITS:
        raise ValueError(f"split must be one of {', '.join(CHANGES_SPLITS)}, got {split!r}")
    test_start, test_end = CHANGES_SPLITS[split]
    train, test = data.split_by_date(series, test_start, test_end)
    look_back = 10
    changes = np.diff(np.concatenate([train.values, test.values]))  # changes[i] = price[i + 1] - price[i]
    train_changes = changes[:len(train) - 1]
    scaler = data.StandardScaler().fit(train_changes)
    X_train, y_train = data.sliding_windows(scaler.transform(train_changes), look_back)
    # the change into test day k is changes[len(train) - 1 + k]; its inputs are the 10 changes before it
    X_test, _ = data.test_windows(scaler.transform(train_changes), scaler.transform(changes[len(train) - 1:]),
                                  look_back)
    model = Sequential([layers.GRU(16, input_shape=(look_back, 1)), layers.Dense(1)], seed=seed, dtype="float32")
    model, history, seconds, predicted_change = train_and_predict(
        "GRU(16) on daily changes", model, optim.Adam(0.001), X_train, y_train, X_test, scaler, epochs, 32, seed,
        validation_split=0.1, callbacks=[callbacks.EarlyStopping("val_loss", patience=10, restore_best_weights=True)])
    yesterday = np.concatenate([train.values[-1:], test.values[:-1]])
    predicted = yesterday + predicted_change
    result = Result("GRU(16) on daily changes", model.count_params(), data.rmse(test.values, predicted), seconds,
                    history, predicted)
    return train, test, result
