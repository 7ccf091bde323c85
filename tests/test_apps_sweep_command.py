"""minirnn/sweep_command.py: ``minirnn sweep`` runs on a real cluster, prints the spread per group,
plots it, and refuses bad options before any worker starts."""
import pandas as pd
import pytest

from minirnn import sweep
from minirnn.apps import cli, sweep_command

from conftest import IBM, KO, needs_data


def test_sweep_task_on_a_cluster_summary_and_figure(client, tmp_path, capsys):
    out = tmp_path / "adding.csv"
    argv = ["sweep", "task", "adding", "--length", "10", "--cell", "rnn,lstm", "--units", "3", "--steps", "5",
            "--seeds", "0-1", "--out", str(out), "--scheduler", client.scheduler.address]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    rows = pd.read_csv(out)
    assert len(rows) == 4 and set(rows.cell) == {"rnn", "lstm"} and (rows.status == "ok").all()
    summary = {line.split()[0]: line.split() for line in printed.splitlines()
               if line.split()[:1] in (["rnn"], ["lstm"])}
    for cell in ("rnn", "lstm"):
        assert summary[cell][1] == "2"  # n
        assert float(summary[cell][2]) == pytest.approx(rows[rows.cell == cell].loss_ratio.mean(), rel=1e-3)
    assert out.with_suffix(".png").exists()
    assert cli.main(argv) == 0  # a rerun finds every point in the file
    assert len(pd.read_csv(out)) == 4


@needs_data
def test_sweep_changes_reports_diebold_mariano_per_price_file(client, tmp_path, capsys):
    out = tmp_path / "changes.csv"
    assert cli.main(["sweep", "reproduce", "ko-changes", "--csv", f"{KO},{IBM}", "--seeds", "0", "--epochs", "1",
                     "--out", str(out), "--scheduler", client.scheduler.address]) == 0
    printed = capsys.readouterr().out
    rows = pd.read_csv(out)
    assert sorted(rows.csv) == sorted([str(KO), str(IBM)]) and {"dm_naive", "p_naive"} <= set(rows.columns)
    assert "KO: better in" in printed and "IBM: better in" in printed


@pytest.mark.parametrize("argv, message", [
    (["sweep", "task", "adding", "--seeds", "a-b"], "--seeds must look like 0-29"),
    (["sweep", "task", "adding", "--length", "1"], "adding needs --length >= 2"),
    (["sweep", "task", "adding", "--cell", "lstm,tcn"], "cell must be one of"),
    (["sweep", "task", "adding", "--lr", "fast"], "--lr must be one or more float values"),
    (["sweep", "task", "adding", "--out", "results.txt"], "--out must be a .csv (or, with pyarrow, .parquet) file"),
    (["sweep", "reproduce", "ibm", "--csv", "missing.csv"], "price file not found: missing.csv"),
    (["sweep", "reproduce", "ibm", "--csv", "{prices}", "--cell", "rnn"], "--cell must be lstm, gru"),
])
def test_bad_options_are_one_line_before_any_worker_starts(argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(sweep, "_connect", lambda *a: pytest.fail("a cluster was started"))
    (tmp_path / "prices.csv").write_text("Date,High\n2017-01-03,1.0\n")  # a file that exists: the option is wrong
    assert cli.main([a.format(prices=tmp_path / "prices.csv") for a in argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("minirnn: ") and message in err and len(err.strip().splitlines()) == 1


def test_seed_lists():
    assert sweep_command.seeds("0-3") == [0, 1, 2, 3] and sweep_command.seeds("5,1,7") == [5, 1, 7]
    for bad in ("", "3-", "-1", "x"):
        with pytest.raises(ValueError, match="--seeds"):
            sweep_command.seeds(bad)
