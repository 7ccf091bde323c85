"""minirnn/data.py: the real price files, malformed files, windows, splits, scalers, errors."""
import warnings

import numpy as np
import pandas as pd
import pytest

from minirnn import data

from conftest import IBM, KO, NIKKEI, needs_data


@needs_data
def test_djia_file_with_its_gap_filled_forward():
    with pytest.warns(UserWarning, match="2017-07-31"):
        ko = data.load_prices(KO, column="High")
    assert len(ko) == 3020 and ko.index.is_monotonic_increasing and ko.name == "High"
    assert ko["2017-07-31"] == ko["2017-07-28"]  # KO's High is empty that day
    assert ko.iloc[0] == pytest.approx(float(pd.read_csv(KO)["High"].iloc[0]))
    with pytest.raises(ValueError, match="2017-07-31"):
        data.load_prices(KO, column="High", missing="raise")
    with pytest.warns(UserWarning, match="dropped"):
        assert len(data.load_prices(KO, column="Open", missing="drop")) == 3019
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # IBM's High has no gap: no warning
        assert len(data.load_prices(IBM)) == 3020


@needs_data
def test_course_file():
    nikkei = data.load_prices(NIKKEI)
    assert len(nikkei) == 244 and nikkei.name == "closed_price"
    assert nikkei.iloc[0] == 29331.37 and nikkei.index[0] == pd.Timestamp("2021-05-06")
    assert nikkei.index[-1] == pd.Timestamp("2022-05-02")


@needs_data
def test_window_counts_of_the_tutorials():
    ibm = data.load_prices(IBM)
    train, test = data.split_by_date(ibm, "2017-01-01")
    X, y = data.sliding_windows(train.values, 60)
    assert X.shape == (2709, 60, 1) and len(test) == 251
    with pytest.warns(UserWarning):
        ko = data.load_prices(KO)
    train, test = data.split_by_date(ko, "2016-01-01", "2017-12-31")
    assert data.sliding_windows(train.values, 10)[0].shape == (2507, 10, 1)
    X_test, y_test = data.test_windows(train.values, test.values, 10)
    assert X_test.shape == (len(test), 10, 1)
    np.testing.assert_array_equal(X_test[0, :, 0], train.values[-10:])
    np.testing.assert_array_equal(y_test, test.values)
    nikkei = data.load_prices(NIKKEI)
    X, y = data.sliding_windows(nikkei.values, 5)
    X_train, X_rest = data.split_by_fraction(X, 0.75)
    assert len(X) == 239 and len(X_train) == 180


@pytest.mark.parametrize("content, error, match", [
    ("", ValueError, "empty"),
    ("Date,Open,High\n", ValueError, "no rows"),
    ("Date,Open,Low\n2017-01-03,1,2\n", ValueError, "no column .*'High'"),
    ("Date,Open,High\n2017-01-03,1,abc\n", ValueError, r"non-numeric value 'abc' on 2017-01-03"),
    ("Day,High\n2017-01-03,1\n", ValueError, "no 'Date'"),
    ("Date,High\nyesterday,1\n", ValueError, "not a date"),
    ("Date,High\n2017-01-03,\n2017-01-04,2\n", ValueError, "first day"),
])
def test_malformed_files(tmp_path, content, error, match):
    path = tmp_path / "prices.csv"
    path.write_text(content)
    with pytest.raises(error, match=match):
        data.load_prices(path)
    with pytest.raises(FileNotFoundError, match="not found"):
        data.load_prices(tmp_path / "nope.csv")


def test_unsorted_dates_are_sorted(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text('date,closed_price\n2021/5/7,"2,000.5"\n2021/5/6,"1,000"\n')
    series = data.load_prices(path)
    assert list(series.values) == [1000.0, 2000.5]


def test_sliding_windows_by_hand():
    X, y = data.sliding_windows(np.arange(6.0), look_back=3)
    np.testing.assert_array_equal(X[:, :, 0], [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(y, [3, 4, 5])
    X, y = data.sliding_windows(np.arange(6.0), look_back=2, horizon=3)
    np.testing.assert_array_equal(X[:, :, 0], [[0, 1], [1, 2]])
    np.testing.assert_array_equal(y, [4, 5])
    X, y = data.sliding_windows(np.arange(12.0).reshape(6, 2), look_back=4)
    assert X.shape == (2, 4, 2) and y.shape == (2, 2)
    with pytest.raises(ValueError, match="too short"):
        data.sliding_windows(np.arange(3.0), look_back=3)
    with pytest.raises(ValueError, match="look_back"):
        data.sliding_windows(np.arange(3.0), look_back=0)


@pytest.mark.parametrize("scaler", [data.MinMaxScaler(), data.MinMaxScaler((-1, 1)), data.StandardScaler()])
def test_scalers_round_trip(scaler, rng):
    train, test = rng.normal(5, 3, size=(50, 2)), rng.normal(5, 3, size=(10, 2))
    scaled = scaler.fit_transform(train)
    if isinstance(scaler, data.MinMaxScaler):
        np.testing.assert_allclose(scaled.min(axis=0), scaler.feature_range[0])
        np.testing.assert_allclose(scaled.max(axis=0), scaler.feature_range[1])
    else:
        np.testing.assert_allclose(scaled.mean(axis=0), 0, atol=1e-12)
        np.testing.assert_allclose(scaled.std(axis=0), 1)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(test)), test)
    one_d = type(scaler)().fit(train[:, 0])
    assert one_d.transform(test[:, 0]).shape == (10,)


def test_scaler_misuse():
    with pytest.raises(ValueError, match="not fitted"):
        data.MinMaxScaler().transform(np.ones(3))
    with pytest.raises(ValueError, match="2 features"):
        data.StandardScaler().fit(np.ones((3, 2))).transform(np.ones((3, 3)))
    with pytest.raises(ValueError, match="feature_range"):
        data.MinMaxScaler((1, 0))
    np.testing.assert_array_equal(data.MinMaxScaler().fit_transform(np.full(4, 7.0)), 0)  # constant: no 0/0


def test_errors_and_baseline():
    assert data.rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(np.sqrt(4 / 3))
    assert data.mae([1, 2, 3], [1, 2, 5]) == pytest.approx(2 / 3)
    np.testing.assert_array_equal(data.naive_forecast([1, 2], [3, 4, 6]), [2, 3, 4])
    assert data.naive_rmse([1, 2], [3, 4, 6]) == pytest.approx(np.sqrt((1 + 1 + 4) / 3))
    # drift: the training period [1, 2, 4] rose 1.5 a day on average
    np.testing.assert_allclose(data.drift_forecast([1, 2, 4], [5, 7]), [5.5, 6.5])
    assert data.drift_rmse([1, 2, 4], [5, 7]) == pytest.approx(np.sqrt((0.25 + 0.25) / 2))
    with pytest.raises(ValueError, match="3 values but y_pred has 2"):
        data.rmse([1, 2, 3], [1, 2])
    series = pd.Series(np.arange(5.0), index=pd.date_range("2020-01-01", periods=5))
    with pytest.raises(ValueError, match="leaves"):
        data.split_by_date(series, "2021-01-01")
    with pytest.raises(ValueError, match="fraction"):
        data.split_by_fraction(np.arange(4), 1.5)


@pytest.mark.parametrize("content, match", [
    ("Date,High\n2017-01-03,1\n2017-01-04,2\n2017-01-03,3\n", r"2017-01-03 appears more than once"),
    ('Date,High\n2017-01-03,"1,5"\n', r"'1,5' on 2017-01-03 \(a decimal comma"),
    ("Date,High\n2017-01-03,1\n2017-01-04,inf\n", r"'inf' on 2017-01-04 \(not a finite number"),
    ("Date,High\n2017-01-03,1e999\n", r"'1e999' on 2017-01-03"),
    ("# minirnn\n\nRecurrent networks, from scratch, in NumPy.\n", r"(?i)a price file is a CSV file with a header row"),
])
def test_suspicious_values_and_files_are_named(tmp_path, content, match):
    path = tmp_path / "prices.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=match) as error:
        data.load_prices(path)
    assert str(path) in str(error.value)


def test_thousands_separators_still_read(tmp_path):
    path = tmp_path / "index.csv"
    path.write_text('date,closed_price\n2021/5/6,"29,331.37"\n2021/5/7,"1,000"\n2021/5/10,-2.5\n')
    assert list(data.load_prices(path)) == [29331.37, 1000.0, -2.5]


def test_gzip_latin1_and_yahoo_layouts(tmp_path):
    import gzip
    text = "Date,Open,High,Low,Close,Adj Close,Volume,Name\n2017-01-03,1,2,0.5,1.5,1.4,100,Nestlé\n" \
           "2017-01-04,1,3,0.5,2.5,2.4,100,Nestlé\n"
    expected = [1.5, 2.5]
    for name, payload in [("a.csv.gz", gzip.compress(text.encode())), ("b.csv", gzip.compress(text.encode())),
                          ("c.csv", text.encode("latin-1")), ("d.csv", text.encode("utf-8"))]:
        (tmp_path / name).write_bytes(payload)
        series = data.load_prices(tmp_path / name, column=["closed_price", "Close"])
        assert list(series) == expected and series.name == "Close", name
    with pytest.raises(ValueError, match="a folder"):
        data.load_prices(tmp_path)


def test_diebold_mariano_by_hand_and_on_clear_cases():
    from scipy import stats
    # d = pred^2 - base^2 = [1, 0, 3, -1]: mean 0.75, population variance 2.1875, n = 4, h = 1
    statistic, p = data.diebold_mariano([0, 0, 0, 0], [1, 0, 2, 0], [0, 0, 1, 1])
    expected = np.sqrt((4 + 1 - 2) / 4) * 0.75 / np.sqrt(2.1875 / 4)
    assert statistic == pytest.approx(expected, rel=1e-12) and p == pytest.approx(2 * stats.t.sf(expected, 3))
    rng = np.random.default_rng(0)
    truth = rng.normal(size=500)
    better, worse = truth + 0.5 * rng.normal(size=500), truth + rng.normal(size=500)
    statistic, p = data.diebold_mariano(truth, better, worse)
    assert statistic < -5 and p < 1e-6
    assert data.diebold_mariano(truth, worse, better)[0] > 5
    same = data.diebold_mariano(truth, truth + rng.normal(size=500), truth + rng.normal(size=500), horizon=2)
    assert abs(same[0]) < 3 and same[1] > 0.001
    assert data.diebold_mariano(truth, better, better) == (0.0, 1.0)
    with pytest.raises(ValueError, match="horizon"):
        data.diebold_mariano(truth, better, worse, horizon=0)


def test_diebold_mariano_on_bad_and_degenerate_series(rng):
    truth = rng.normal(size=50)
    baseline = truth + rng.normal(size=50)
    with pytest.raises(ValueError, match="y_pred contains NaN or inf: the first at position 7 is nan"):
        data.diebold_mariano(truth, np.where(np.arange(50) == 7, np.nan, truth), baseline)
    with pytest.raises(ValueError, match="y_baseline contains NaN or inf"):
        data.diebold_mariano(truth, truth, np.where(np.arange(50) == 3, np.inf, baseline))
    with pytest.raises(ValueError, match="y_true has 50 values but y_baseline has 49"):
        data.diebold_mariano(truth, baseline, baseline[:49])
    with pytest.raises(ValueError, match="needs more than 50 days, got 50"):
        data.diebold_mariano(truth, baseline, truth + rng.normal(size=50), horizon=25)
    with pytest.raises(ValueError, match="y_true is empty"):
        data.diebold_mariano([], [], [])
    # a difference that is the same every day is certain; none at all is none
    assert data.diebold_mariano(np.zeros(30), np.ones(30), np.zeros(30)) == (np.inf, 0.0)
    assert data.diebold_mariano(np.zeros(30), np.zeros(30), np.ones(30)) == (-np.inf, 0.0)
    assert data.diebold_mariano(truth, baseline, baseline) == (0.0, 1.0)


def test_rmse_of_a_series_with_nan_is_an_error_not_nan():
    with pytest.raises(ValueError, match="y_pred contains NaN or inf"):
        data.rmse([1.0, 2.0], [1.0, np.nan])
