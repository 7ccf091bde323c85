"""minirnn/sweep.py and minirnn/experiments.py on a real Dask LocalCluster (worker processes, not a
mock): rows equal to in-process runs, a worker killed mid-task, a raising task, an interrupted
sweep resumed from its file, bad grids refused before anything runs; the seed-study statistics."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pytest
import threadpoolctl

import minirnn
from minirnn import sweep
from minirnn.apps import experiments

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers get this file's functions by value

TINY = {"task": ["adding"], "length": [10], "cell": ["rnn", "lstm"], "units": [4], "steps": [20], "seed": [0, 1]}


def square(seed, scale=1.0):
    return {"value": scale * seed ** 2}


def fails_on_three(seed):
    if seed == 3:
        raise RuntimeError("seed 3 is cursed")
    return {"value": float(seed)}


def dies_once(seed, marker_dir):
    """The first call for seed 1 kills its own worker process (SIGKILL, no clean-up); later calls work."""
    marker = Path(marker_dir) / f"died-{seed}"
    if seed == 1 and not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return {"value": float(seed), "pid": os.getpid()}


def test_rows_equal_the_same_runs_in_this_process_bit_for_bit(client):
    df = sweep.run("task", TINY, scheduler=client, progress=False)
    assert list(df.columns[:6]) == list(TINY) and (df.status == "ok").all() and len(df) == 4
    assert df.worker.str.startswith("tcp://").all()
    minirnn.set_num_threads(1)
    try:
        with threadpoolctl.threadpool_limits(1):
            here = [experiments.task(**point) for point in sweep.grid_points(TINY)]
    finally:
        minirnn.set_num_threads(None)
    for row, expected in zip(df.to_dict("records"), here):
        for name in ("test_loss", "baseline", "loss_ratio", "diverged"):
            assert row[name] == expected[name], name  # the same bits, not merely close


def test_a_raising_task_is_recorded_and_the_rest_complete(client, tmp_path):
    df = sweep.run(fails_on_three, {"seed": range(6)}, scheduler=client, out=tmp_path / "r.csv", progress=False)
    assert list(df.seed) == list(range(6))
    failed = df[df.status == "failed"]
    assert list(failed.seed) == [3] and failed.error.iloc[0] == "RuntimeError: seed 3 is cursed"
    assert list(df[df.status == "ok"].value) == [0.0, 1.0, 2.0, 4.0, 5.0]
    # the file holds the same rows; a rerun computes only the failed point again
    on_disk = pd.read_csv(tmp_path / "r.csv")
    assert sorted(on_disk.seed) == list(range(6))
    again = sweep.run(fails_on_three, {"seed": range(6)}, scheduler=client, out=tmp_path / "r.csv", progress=False)
    assert len(pd.read_csv(tmp_path / "r.csv")) == 7 and list(again.status) == ["ok"] * 3 + ["failed"] + ["ok"] * 2


def test_parquet_results_resume_as_csv_ones_do(client, tmp_path):
    pytest.importorskip("pyarrow", reason="pyarrow not installed: .parquet results not checked")
    out = tmp_path / "r.parquet"
    first = sweep.run(fails_on_three, {"seed": range(3, 5)}, scheduler=client, out=out, progress=False)
    assert list(first.status) == ["failed", "ok"]
    df = sweep.run(fails_on_three, {"seed": range(6)}, scheduler=client, out=out, progress=False)
    on_disk = pd.read_parquet(out)
    assert len(on_disk) == 2 + 5  # seeds 3, 4 first; then 3 again (it failed) and 0, 1, 2, 5
    assert list(df.seed) == list(range(6)) and df.set_index("seed").loc[4, "value"] == 4.0
    assert list(on_disk.columns[-4:]) == list(sweep.STATUS)


def test_a_result_column_that_appears_later_extends_the_file(client, tmp_path):
    out = tmp_path / "grow.csv"
    sweep.run(fails_on_three, {"seed": [3]}, scheduler=client, out=out, progress=False)  # a failure: no "value"
    sweep.run(fails_on_three, {"seed": [3, 4]}, scheduler=client, out=out, progress=False)
    table = pd.read_csv(out)
    assert "value" in table.columns and list(table.columns[-4:]) == list(sweep.STATUS)
    assert table.set_index("seed").loc[4, "value"] == 4.0


def test_a_killed_worker_has_its_task_run_again_elsewhere(tmp_path):
    df = sweep.run(dies_once, {"seed": range(4), "marker_dir": [str(tmp_path)]}, workers=2, retries=1,
                   progress=False)
    assert (df.status == "ok").all() and list(df.value) == [0.0, 1.0, 2.0, 3.0]
    killed = int((tmp_path / "died-1").read_text())
    assert df.set_index("seed").loc[1, "pid"] != killed  # finished by another process
    # with no retries the point is recorded as failed, and the others still finish
    (tmp_path / "died-1").unlink()
    df = sweep.run(dies_once, {"seed": range(4), "marker_dir": [str(tmp_path)]}, workers=2, retries=0,
                   progress=False)
    assert list(df.status) == ["ok", "failed", "ok", "ok"] and "worker died" in df.error.iloc[1]


DRIVER = textwrap.dedent("""
    import signal, sys, time
    from pathlib import Path
    from minirnn import sweep

    def slow(seed, log):
        with open(log, "a") as f:
            f.write(f"{seed}\\n")
        time.sleep(1.0)
        return {"value": float(seed)}

    if __name__ == "__main__":
        # Ctrl-C raises KeyboardInterrupt, even when this test runs from a background job, whose
        # children inherit SIGINT ignored (Python then installs no handler of its own)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sweep.run(slow, {"seed": range(int(sys.argv[3])), "log": [sys.argv[2]]}, out=sys.argv[1], workers=2,
                  progress=False)
""")


def test_an_interrupted_sweep_resumes_from_its_file(tmp_path):
    script, out, log = tmp_path / "driver.py", tmp_path / "seeds.csv", tmp_path / "calls.log"
    script.write_text(DRIVER)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))  # the workers import `slow` from the driver script's folder
    first = subprocess.Popen([sys.executable, str(script), str(out), str(log), "12"], env=env, cwd=tmp_path)
    deadline = time.time() + 300  # the workers warm up first: on a cold Numba cache they compile
    # rows in the file so far, read as lines: the driver may have created it and not yet written its
    # header (pandas would raise on that) or be half-way through a row
    while time.time() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 4):
        time.sleep(0.05)
    first.send_signal(signal.SIGINT)  # Ctrl-C of the driver
    first.wait(timeout=120)  # it closes its cluster first: slow on a busy machine
    kept = sorted(pd.read_csv(out).seed)
    assert 3 <= len(kept) < 12
    log.write_text("")
    second = subprocess.run([sys.executable, str(script), str(out), str(log), "12"], env=env, cwd=tmp_path,
                            timeout=300)
    assert second.returncode == 0
    computed = {int(line) for line in log.read_text().split()}
    # only what the file did not have (as a set: a task of the first run still dying when the log
    # was emptied may add its line late; it was not in the file either)
    assert computed == set(range(12)) - set(kept)
    assert sorted(pd.read_csv(out).seed) == list(range(12))


@pytest.mark.parametrize("fn, grid, error, message", [
    (square, {"seed": []}, ValueError, "grid\\['seed'\\] is an empty list"),
    (square, {}, ValueError, "the grid is empty"),
    (square, [], ValueError, "empty list of points"),
    (square, {"seed": [1], "sigma": [2]}, ValueError, "square\\(\\) has no parameter 'sigma'"),
    (square, {"scale": [1.0]}, ValueError, "square\\(\\) needs 'seed'"),
    (square, {"seed": 5}, TypeError, "grid\\['seed'\\] must be a list"),
    (square, "seed=1", TypeError, "grid must be a dict of lists or a list of dicts"),
    (42, {"seed": [1]}, TypeError, "fn must be a function"),
    ("adding", {"seed": [1]}, ValueError, "built-in experiments task, ibm, changes"),
    ("task", {"seed": [1], "hidden": [8]}, ValueError, "task\\(\\) has no parameter 'hidden'"),
])
def test_a_bad_sweep_is_refused_before_anything_is_submitted(fn, grid, error, message, monkeypatch):
    monkeypatch.setattr(sweep, "_connect", lambda *a: pytest.fail("a cluster was started"))
    with pytest.raises(error, match=message):
        sweep.run(fn, grid)


def test_bad_options_and_files_are_refused_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep, "_connect", lambda *a: pytest.fail("a cluster was started"))
    with pytest.raises(ValueError, match="out must be a .csv \\(or, with pyarrow, .parquet\\) file"):
        sweep.run(square, {"seed": [1]}, out=tmp_path / "r.json")
    with pytest.raises(FileNotFoundError, match="folder of out"):
        sweep.run(square, {"seed": [1]}, out=tmp_path / "missing" / "r.csv")
    (tmp_path / "other.csv").write_text("alpha,status\n1,ok\n")
    with pytest.raises(ValueError, match="another sweep's results: it has no column 'seed'"):
        sweep.run(square, {"seed": [1]}, out=tmp_path / "other.csv")
    with pytest.raises(ValueError, match="retries"):
        sweep.run(square, {"seed": [1]}, retries=-1)
    with pytest.raises(TypeError, match="scheduler must be"):
        sweep.run(square, {"seed": [1]}, scheduler=8786)  # not patched away: checked before connecting


def test_summarize_and_compare():
    rng = np.random.default_rng(0)
    a, b = rng.normal(2.0, 0.3, 30), rng.normal(1.0, 0.3, 20)
    df = pd.DataFrame({"cell": ["lstm"] * 30 + ["gru"] * 20 + ["gru"], "rmse": [*a, *b, 99.0],
                       "status": ["ok"] * 50 + ["failed"]})
    table = sweep.summarize(df, by="cell", metric="rmse").set_index("cell")
    assert table.loc["gru", "n"] == 20  # the failed row is left out
    assert table.loc["lstm", "mean"] == pytest.approx(a.mean())
    assert table.loc["lstm", "sd"] == pytest.approx(a.std(ddof=1))
    assert table.loc["gru", "median"] == pytest.approx(np.median(b)) and table.loc["gru", "max"] == b.max()
    se = a.std(ddof=1) / np.sqrt(30)  # the bootstrap interval of the mean is close to mean +- 1.96 se here
    assert table.loc["lstm", "mean_low"] == pytest.approx(a.mean() - 1.96 * se, abs=0.4 * se)
    assert table.loc["lstm", "mean_high"] == pytest.approx(a.mean() + 1.96 * se, abs=0.4 * se)
    result = sweep.compare(df, "rmse", a={"cell": "lstm"}, b={"cell": "gru"})
    assert result["ratio"] == pytest.approx(a.mean() / b.mean()) and result["n_b"] == 20
    assert result["ratio_low"] < a.mean() / b.mean() < result["ratio_high"] and result["ratio_low"] > 1.5
    assert result["mann_whitney_p"] < 1e-6
    same = sweep.compare(pd.DataFrame({"g": [0] * 25 + [1] * 25, "m": rng.normal(size=50)}), "m", {"g": 0}, {"g": 1})
    assert same["mann_whitney_p"] > 0.01
    with pytest.raises(ValueError, match="has 0 finished rows"):
        sweep.compare(df, "rmse", a={"cell": "lstm"}, b={"cell": "rnn"})
    with pytest.raises(ValueError, match="no column 'loss'"):
        sweep.summarize(df, by="cell", metric="loss")


def returns_text(seed):
    return {"value": float(seed), "label": "good" if seed else ["a", "list"]}


def counted(seed, clip, log):
    """Records every call, so that a test can see which points were computed."""
    with open(log, "a") as f:
        f.write(f"{seed}\n")
    return {"value": float(seed), "clipped": float(clip is not None), "numpy": np.float32(seed), "flag": np.bool_(1)}


def test_a_result_that_is_not_numbers_is_a_failed_row(client):
    df = sweep.run(returns_text, {"seed": [0, 1]}, scheduler=client, progress=False)
    assert list(df.status) == ["failed", "failed"]
    assert "returned values that are not numbers: {'label': 'list'}" in df.error.iloc[0]
    assert "{'label': 'str'}" in df.error.iloc[1]


def test_a_grid_holding_none_resumes_without_running_again(client, tmp_path):
    out, log = tmp_path / "r.csv", tmp_path / "calls.log"
    grid = {"seed": [0, 1], "clip": [None, 1.0], "log": [str(log)]}
    first = sweep.run(counted, grid, scheduler=client, out=out, progress=False)
    assert (first.status == "ok").all() and len(log.read_text().split()) == 4
    assert list(first.numpy) == [0.0, 0.0, 1.0, 1.0] and first.flag.all()  # NumPy scalars are numbers
    log.write_text("")
    again = sweep.run(counted, grid, scheduler=client, out=out, progress=False)
    assert log.read_text() == "" and len(pd.read_csv(out)) == 4 and (again.status == "ok").all()


def torn_file(tmp_path, tail):
    """A results file for square() whose last row was cut off: ``tail`` after three whole rows."""
    out = tmp_path / "r.csv"
    rows = "".join(f"{seed},{seed ** 2}.0,0.1,local,ok,\n" for seed in range(3))
    out.write_text("seed,value,seconds,worker,status,error\n" + rows + tail)
    return out


@pytest.mark.parametrize("tail", ["3,9.", '3,9.0,0.1,local,failed,"RuntimeError: a message\nover two lin'],
                         ids=["mid-row", "inside a quoted field"])
def test_a_torn_last_row_is_dropped_reported_and_run_again(client, tmp_path, tail):
    out = torn_file(tmp_path, tail)
    with pytest.warns(UserWarning, match="its last row was cut off .* and is dropped"):
        df = sweep.run(square, {"seed": range(5)}, scheduler=client, out=out, progress=False)
    assert list(df.value) == [0.0, 1.0, 4.0, 9.0, 16.0]
    on_disk = pd.read_csv(out)
    assert sorted(on_disk.seed) == list(range(5)) and (on_disk.status == "ok").all()  # the file parses again
    # and so on every later resume, with nothing more to do
    again = sweep.run(square, {"seed": range(5)}, scheduler=client, out=out, progress=False)
    assert len(pd.read_csv(out)) == 5 and list(again.value) == list(df.value)


def test_a_damaged_results_file_is_named_before_anything_runs(tmp_path, monkeypatch, capsys):
    from minirnn.apps import cli
    monkeypatch.setattr(sweep, "_connect", lambda *a: pytest.fail("a cluster was started"))
    out = tmp_path / "r.csv"
    out.write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(ValueError, match=f"{out}.* is not a file of sweep results"):
        sweep.run(square, {"seed": [1]}, out=out)
    middle = torn_file(tmp_path, "")
    middle.write_text(middle.read_text().replace("1,1.0,0.1,local,ok,", "1,1.0,0.1"))
    with pytest.raises(ValueError, match="line 3 has 3 fields, the header 6"):
        sweep.run(square, {"seed": [1]}, out=middle)
    assert cli.main(["sweep", "task", "adding", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert str(out) in err and "not a file of sweep results" in err and len(err.strip().splitlines()) == 1


def test_an_unwritable_out_is_refused_before_any_point_is_computed(monkeypatch):
    monkeypatch.setattr(sweep, "_connect", lambda *a: pytest.fail("a cluster was started"))
    with pytest.raises(OSError, match="cannot write to the folder '/proc'"):
        sweep.run(square, {"seed": [1]}, out="/proc/results.csv")
