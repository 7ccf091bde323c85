"""Time-series data: price files, train/test splits, sliding windows, scalers, error measures.

The stock tutorials this library grew from all do the same five things, which
live here so that the examples read like the notebooks:

    prices = load_prices("IBM_2006-01-01_to_2018-01-01.csv", column="High")
    train, test = split_by_date(prices, "2017-01-01")          # train: before, test: from
    scaler = MinMaxScaler().fit(train.values)                    # fit on the training part only
    X_train, y_train = sliding_windows(scaler.transform(train.values), look_back=60)
    X_test, y_test = test_windows(scaler.transform(train.values), scaler.transform(test.values), 60)
    ...
    rmse(test.values, scaler.inverse_transform(model.predict(X_test)))
    naive_rmse(train.values, test.values)                        # tomorrow = today
    drift_rmse(train.values, test.values)                        # ... plus the mean daily change
"""
import numbers
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .metrics import mae, rmse, series  # noqa: F401 -- the error measures, kept where the tutorials find them

# ---------------------------------------------------------------- loading


PRICE_FILE = ("a CSV file with a header row, a 'Date' column and a price column, e.g. "
              "'Date,Open,High,Low,Close,Adj Close,Volume' (DJIA or Yahoo style) or 'date,closed_price'")
# thousands separators only: "29,331.37"; a decimal comma ("1,5") is not read as 15
_THOUSANDS = r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$"


def load_prices(path, column=None, missing="ffill"):
    """Read a daily price file into a ``pandas.Series`` with a sorted ``DatetimeIndex``.

    Layouts are recognised by their header:

    - DJIA or Yahoo style ``Date,Open,High,Low,Close[,Adj Close],Volume[,Name]`` with ISO
      dates; ``column`` defaults to ``"High"``;
    - course style ``date,closed_price`` with dates like ``2021/5/6`` and prices with
      thousands separators (``"29,331.37"``); ``column`` defaults to ``"closed_price"``.

    ``column`` may also be a list of names: the first one the file has. The file may be
    gzip-compressed and UTF-8 or Latin-1 encoded.

    ``missing``: what to do with empty fields in ``column``: ``"ffill"`` (default) carries the
    previous day's price forward and warns, naming the dates; ``"drop"`` drops those days (and
    warns); ``"raise"`` raises ``ValueError`` naming them. A missing file, an empty or unreadable
    file, a missing column, a non-numeric, infinite or decimal-comma value and a repeated date
    raise an error naming the file (and the column and the date).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (str or pathlib.Path), got {type(path).__name__}")
    path = Path(path)
    if missing not in ("ffill", "drop", "raise"):
        raise ValueError(f"missing must be 'ffill', 'drop' or 'raise', got {missing!r}")
    frame = _read_table(path)
    date_column = next((c for c in frame.columns if c.strip().lower() == "date"), None)
    if date_column is None:
        raise ValueError(f"{path} has no 'Date' or 'date' column; columns: {list(frame.columns)}. "
                         f"A price file is {PRICE_FILE}")
    candidates = [column] if isinstance(column, str) else list(column or ("closed_price", "High"))
    column = next((c for c in candidates if c in frame.columns), None)
    if column is None:
        raise ValueError(f"{path} has no column {' or '.join(map(repr, candidates))}; columns: "
                         f"{list(frame.columns)} (choose one with --column)")
    try:
        dates = pd.to_datetime(frame[date_column], format="mixed")
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path}: column {date_column!r} has a value that is not a date ({error})") from None
    repeated = dates[dates.duplicated()]
    if len(repeated):
        raise ValueError(f"{path}: the date {repeated.iloc[0].date()} appears more than once "
                         f"({len(repeated)} repeated dates in all); one row per day is expected")
    raw = frame[column].str.strip()
    text = raw.where(~raw.str.match(_THOUSANDS), raw.str.replace(",", "", regex=False))
    values = pd.to_numeric(text.replace("", np.nan), errors="coerce")
    bad = (values.isna() & (text != "")) | np.isinf(values)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        why = ("a decimal comma is not read; write 1.5, not 1,5" if "," in text.iloc[row]
               else "not a finite number" if np.isinf(values.iloc[row]) else "")
        raise ValueError(f"{path}: column {column!r} has a non-numeric value {frame[column].iloc[row]!r} "
                         f"on {dates.iloc[row].date()}" + (f" ({why})" if why else ""))
    series = pd.Series(values.to_numpy(dtype=float), index=pd.DatetimeIndex(dates), name=column).sort_index()
    gaps = series.index[series.isna()]
    if len(gaps):
        listed = ", ".join(str(d.date()) for d in gaps[:10]) + (" ..." if len(gaps) > 10 else "")
        if missing == "raise":
            raise ValueError(f"{path}: column {column!r} is empty on {listed}")
        if missing == "drop":
            warnings.warn(f"{path}: column {column!r} is empty on {listed}; those days are dropped", stacklevel=2)
            series = series.dropna()
        else:
            if np.isnan(series.iloc[0]):
                raise ValueError(f"{path}: column {column!r} is empty on the first day, {listed}: nothing to "
                                 "carry forward; use missing='drop'")
            warnings.warn(f"{path}: column {column!r} is empty on {listed}; the previous day's value is "
                          "carried forward", stacklevel=2)
            series = series.ffill()
    return series


def _read_table(path):
    """The file's rows as strings (parsed by load_prices itself: "29,331.37", ""), read as
    gzip if it starts like one and as Latin-1 if it is not UTF-8."""
    if not path.exists():
        raise FileNotFoundError(f"price file not found: {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a price file")
    with open(path, "rb") as f:
        compression = "gzip" if f.read(2) == b"\x1f\x8b" else None
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, compression=compression,
                                encoding=encoding)
            break
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise ValueError(f"{path} is empty") from None
        except (pd.errors.ParserError, OSError, EOFError) as error:
            detail = str(error).strip().splitlines()[-1]
            raise ValueError(f"{path} cannot be read as a price file ({detail}); a price file is "
                             f"{PRICE_FILE}") from None
    if frame.empty:
        raise ValueError(f"{path} has a header but no rows")
    return frame


# ---------------------------------------------------------------- splitting and windows


def split_by_date(series, test_start, test_end=None):
    """``train`` = values before ``test_start``; ``test`` = from ``test_start`` (up to ``test_end``, inclusive)."""
    test_start = pd.Timestamp(test_start)
    train = series[series.index < test_start]
    test = series[series.index >= test_start]
    if test_end is not None:
        test = test[test.index <= pd.Timestamp(test_end)]
    if len(train) == 0 or len(test) == 0:
        raise ValueError(f"splitting at {test_start.date()} leaves {len(train)} training and {len(test)} test "
                         f"values (the series runs {series.index[0].date()} .. {series.index[-1].date()})")
    return train, test


def split_by_fraction(values, fraction):
    """The first ``ceil(fraction * n)`` items for training, the rest for testing."""
    if not (isinstance(fraction, numbers.Real) and 0 < fraction < 1):
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    n_train = int(np.ceil(fraction * len(values)))
    if n_train >= len(values):
        raise ValueError(f"fraction {fraction} of {len(values)} items leaves none for testing")
    return values[:n_train], values[n_train:]


def sliding_windows(series, look_back, horizon=1):
    """Inputs of ``look_back`` consecutive values and the value ``horizon`` steps after each.

    ``series``: 1-D (n,) or 2-D (n, features). Returns ``X`` (m, look_back, features) and
    ``y`` (m,) for a 1-D series or (m, features), with m = n - look_back - horizon + 1:
    ``X[i] = series[i : i + look_back]``, ``y[i] = series[i + look_back + horizon - 1]``.
    """
    values = np.asarray(series, dtype=float)
    if values.ndim not in (1, 2):
        raise ValueError(f"series must be 1-D or 2-D, got shape {values.shape}")
    for name, value in (("look_back", look_back), ("horizon", horizon)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    n = len(values) - look_back - horizon + 1
    if n < 1:
        raise ValueError(f"a series of {len(values)} values is too short for look_back={look_back} plus "
                         f"horizon={horizon}: it needs at least {look_back + horizon}")
    table = values if values.ndim == 2 else values[:, None]
    X = np.stack([table[i:i + look_back] for i in range(n)])
    y = values[look_back + horizon - 1:look_back + horizon - 1 + n]
    return X, y


def test_windows(train, test, look_back):
    """Windows to predict every test value, as the tutorials build them: the last ``look_back``
    training values followed by the test values. Returns ``X`` (len(test), look_back, features)
    and ``y`` = the test values."""
    train, test = np.asarray(train, dtype=float), np.asarray(test, dtype=float)
    if len(train) < look_back:
        raise ValueError(f"test_windows needs at least look_back={look_back} training values, got {len(train)}")
    return sliding_windows(np.concatenate([train[len(train) - look_back:], test]), look_back)


test_windows.__test__ = False  # not a pytest test, whatever its name


# ---------------------------------------------------------------- scalers


class _Scaler:
    """scikit-learn's interface: fit, transform, fit_transform, inverse_transform (1-D or 2-D)."""

    def fit(self, values):
        table = self._table(values, fitting=True)
        self._fit(table)
        self.n_features_ = table.shape[1]
        return self

    def transform(self, values):
        table = self._table(values)
        return self._restore(values, (table - self.offset_) * self.scale_)

    def inverse_transform(self, values):
        table = self._table(values)
        return self._restore(values, table / self.scale_ + self.offset_)

    def fit_transform(self, values):
        return self.fit(values).transform(values)

    def _table(self, values, fitting=False):
        array = np.asarray(values, dtype=float)
        if array.ndim not in (1, 2):
            raise ValueError(f"{type(self).__name__} takes 1-D or 2-D values, got shape {array.shape}")
        table = array.reshape(len(array), -1)
        if fitting:
            if len(table) == 0:
                raise ValueError(f"{type(self).__name__}.fit needs at least one value")
        elif not hasattr(self, "scale_"):
            raise ValueError(f"{type(self).__name__} is not fitted yet: call fit on the training values first")
        elif table.shape[1] != self.n_features_:
            raise ValueError(f"{type(self).__name__} was fitted on {self.n_features_} features, got {table.shape[1]}")
        if not np.isfinite(table).all():
            raise ValueError(f"{type(self).__name__}: the values contain NaN or inf")
        return table

    @staticmethod
    def _restore(values, table):
        return table.reshape(np.shape(values))


class MinMaxScaler(_Scaler):
    """x -> lo + (x - min) (hi - lo) / (max - min), per feature; a constant feature maps to lo."""

    def __init__(self, feature_range=(0, 1)):
        lo, hi = feature_range
        if not lo < hi:
            raise ValueError(f"feature_range must be (min, max) with min < max, got {feature_range!r}")
        self.feature_range = (float(lo), float(hi))

    def _fit(self, table):
        lo, hi = self.feature_range
        self.data_min_, self.data_max_ = table.min(axis=0), table.max(axis=0)
        span = self.data_max_ - self.data_min_
        span[span == 0] = 1.0  # as scikit-learn: a constant feature is not divided by zero
        self.scale_ = (hi - lo) / span
        self.offset_ = self.data_min_ - lo / self.scale_


class StandardScaler(_Scaler):
    """x -> (x - mean) / std per feature (population std); a constant feature is only centred."""

    def _fit(self, table):
        self.mean_, std = table.mean(axis=0), table.std(axis=0)
        std[std == 0] = 1.0
        self.scale_, self.offset_ = 1.0 / std, self.mean_


# ---------------------------------------------------------------- errors


def naive_forecast(train, test):
    """Persistence: each test day predicted by the day before (the last training value first)."""
    train, test = np.asarray(train, dtype=float).ravel(), np.asarray(test, dtype=float).ravel()
    return np.concatenate([train[-1:], test[:-1]])


def naive_rmse(train, test):
    """RMSE of :func:`naive_forecast`: the bar any price model has to clear."""
    return rmse(test, naive_forecast(train, test))


def drift_forecast(train, test):
    """Persistence plus drift: each test day predicted by the day before plus the mean daily
    change of the training period (a random walk with drift's best guess)."""
    train = np.asarray(train, dtype=float).ravel()
    return naive_forecast(train, test) + np.mean(np.diff(train))


def drift_rmse(train, test):
    """RMSE of :func:`drift_forecast`: a second bar, which a trend alone clears."""
    return rmse(test, drift_forecast(train, test))


def diebold_mariano(y_true, y_pred, y_baseline, horizon=1):
    """Is ``y_pred`` more accurate than ``y_baseline`` on the same days? Diebold & Mariano (1995)
    on squared errors, with Harvey, Leybourne & Newbold's (1997) small-sample correction.

    d_t = (y_pred - y_true)^2 - (y_baseline - y_true)^2; the statistic is mean(d) over its standard
    error (autocovariances up to lag horizon - 1), times the correction, compared with Student's t
    with n - 1 degrees of freedom. Returns ``(statistic, p)``: a negative statistic means the
    forecast's errors are smaller; p is two-sided (is there any difference at all).

    The degenerate cases, by definition: the same difference d on every day has no noise to test
    against, so identical errors (d = 0) give (0.0, 1.0) and any other constant d gives
    (-inf or +inf, 0.0), a certain difference. The test needs n >= 3 days and more than
    2 * horizon of them (else the autocovariances would be estimated from a handful of pairs);
    an estimated variance that is not positive for a non-constant d (long horizons on a short
    series) is a ValueError: the test cannot be done on these numbers.
    """
    from scipy import stats

    y_true, y_pred = series(y_true, y_pred)
    _, y_baseline = series(y_true, y_baseline, ("y_true", "y_baseline"))
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon must be an int >= 1, got {horizon!r}")
    d = (y_pred - y_true) ** 2 - (y_baseline - y_true) ** 2
    n = len(d)
    if n < 3:
        raise ValueError(f"the Diebold-Mariano test needs at least 3 days, got {n}")
    if n <= 2 * horizon:
        raise ValueError(f"the Diebold-Mariano test with horizon={horizon} needs more than {2 * horizon} days, "
                         f"got {n}")
    if np.all(d == d[0]):
        return (0.0, 1.0) if d[0] == 0 else (float(np.copysign(np.inf, d[0])), 0.0)
    centred = d - d.mean()
    variance = np.dot(centred, centred) / n
    for lag in range(1, horizon):
        variance += 2 * np.dot(centred[lag:], centred[:-lag]) / n
    if variance <= 0:
        raise ValueError(f"the Diebold-Mariano variance estimate is {variance:.3g} (not positive) with "
                         f"horizon={horizon} on {n} days: too long a horizon for this series")
    correction = np.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    statistic = correction * d.mean() / np.sqrt(variance / n)
    return float(statistic), float(2 * stats.t.sf(abs(statistic), df=n - 1))


def synthetic_prices(start="2006-01-03", end="2017-12-29", seed=0, start_price=50.0, name="High"):
    """A reproducible stand-in for a daily price file: a geometric random walk on business days
    (0.03% drift and 1.2% volatility a day, a typical large-cap stock). For examples run without
    ``--csv``; they say so in their output."""
    dates = pd.bdate_range(start, end)
    steps = np.random.default_rng(seed).normal(0.0003, 0.012, size=len(dates))
    return pd.Series(start_price * np.exp(np.cumsum(steps)), index=dates, name=name)
