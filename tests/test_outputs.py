"""minirnn/outputs.py: a run's files are claimed before it starts and written whole, never over an
earlier run's unless asked."""
import os
import time

import matplotlib.pyplot as plt
import pytest

from minirnn import outputs


def test_claim_refuses_an_earlier_runs_file_and_names_the_flag(tmp_path):
    first = outputs.claim(tmp_path / "new" / "folder", ["a_seed0.png", "a_seed0.csv"])
    assert [p.name for p in first] == ["a_seed0.png", "a_seed0.csv"] and first[0].parent.is_dir()
    first[1].write_text("results")
    with pytest.raises(FileExistsError, match="a_seed0.csv exists already, from an earlier run.*--overwrite"):
        outputs.claim(first[0].parent, ["a_seed0.png", "a_seed0.csv"])
    first[0].write_text("figure")
    with pytest.raises(FileExistsError, match=r"\(and 1 more of this run's files\)"):
        outputs.claim(first[0].parent, ["a_seed0.png", "a_seed0.csv"])
    assert outputs.claim(first[0].parent, ["a_seed0.png", "a_seed0.csv"], overwrite=True) == first
    assert first[1].read_text() == "results"  # claiming writes nothing
    assert outputs.claim(first[0].parent, ["a_seed1.png"])[0].name == "a_seed1.png"


@pytest.mark.parametrize("folder", ["/proc/minirnn-out", "/dev/null/out"])
def test_a_folder_that_cannot_be_written_is_an_oserror_naming_it(folder):
    with pytest.raises(OSError, match=f"cannot write to the folder '{folder}'"):
        outputs.claim(folder, ["x.png"])


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "table.csv"
    outputs.write_atomically(path, lambda f: f.write("old\n"), text=True)

    def killed(f):
        f.write("half of the new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        outputs.write_atomically(path, killed, text=True)
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["table.csv"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        outputs.write_atomically(tmp_path / "missing" / "t.csv", lambda f: None)


def test_a_figure_is_written_whole_and_closed(tmp_path, monkeypatch):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = outputs.save_figure(fig, tmp_path / "f.png", dpi=50)
    assert path.read_bytes().startswith(b"\x89PNG") and not plt.fignum_exists(fig.number)
    before = path.read_bytes()
    fig, _ = plt.subplots()
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        outputs.save_figure(fig, path)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["f.png"]
    assert not plt.fignum_exists(fig.number)


def test_a_killed_writes_temporary_is_removed_once_it_is_stale(tmp_path):
    stale, fresh = tmp_path / ".minirnn-killed.tmp", tmp_path / ".minirnn-writing.tmp"
    stale.write_text("x")
    fresh.write_text("y")
    old = time.time() - outputs.STALE_SECONDS - 60
    os.utime(stale, (old, old))
    outputs.write_atomically(tmp_path / "out.txt", lambda f: f.write("z"), text=True)
    assert sorted(os.listdir(tmp_path)) == [".minirnn-writing.tmp", "out.txt"]
