"""minirnn/_cache.py: the compiled-kernel cache heals itself.

Each test runs a small training in a subprocess on a fresh copy of the package, whose cache is
its own (``__pycache__`` inside the copy): damaged entries of every kind are a miss, warned
about once and replaced, with results bit-identical to a clean cache's; concurrent cold
compiles, another CPU target and a folder the user cannot write all work; ``minirnn cache``
shows and clears it.
"""
import hashlib
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minirnn

FIT = r"""
import sys
import numpy as np
import minirnn as mr
assert mr.__file__.startswith(sys.argv[2]), mr.__file__  # the copy, not the installed package
rng = np.random.default_rng(0)
x, y = rng.normal(size=(8, 5, 2)), rng.normal(size=(8, 1))
model = mr.Sequential([mr.layers.SimpleRNN(3, input_shape=(5, 2)), mr.layers.Dense(1)], seed=0)
model.compile("adam", "mse")
model.fit(x, y, epochs=2, batch_size=4, verbose=0)
np.save(sys.argv[1], np.concatenate([w.ravel() for w in model.get_weights()]))
"""
WARNING = "KernelCacheWarning"
AVX2 = ("haswell", "+avx,+avx2,+fma,+f16c,+bmi,+bmi2,+lzcnt,+popcnt,+sse4.2,-avx512f")


def fresh_copy(root):
    """A copy of the package's sources, without any cache, under ``root``."""
    shutil.copytree(Path(minirnn.__file__).parent, root / "minirnn",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root


def environment(root, **extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MINIRNN_NUMBA_CACHE", "NUMBA_CACHE_DIR", "NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES",
                        "NUMBA_DISABLE_JIT")}
    return dict(env, PYTHONPATH=str(root), **extra)


def train(root, name="weights", prefix=(), **extra):
    """Run FIT on the copy at ``root``: (its weights, its stderr)."""
    out = root / f"{name}.npy"
    done = subprocess.run([*prefix, sys.executable, "-c", FIT, str(out), str(root)], cwd=root,
                          env=environment(root, **extra), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return np.load(out), done.stderr


def cache_files(root):
    """{path: (size, mtime)} of every cache file of the copy."""
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in root.glob("minirnn/**/__pycache__/*.nb?")}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """A copy whose cache holds what FIT needs, and FIT's weights from a clean (cold) cache."""
    root = fresh_copy(tmp_path_factory.mktemp("compiled"))
    weights, stderr = train(root)
    assert WARNING not in stderr, stderr
    assert len(cache_files(root)) > 20
    return root, weights


def copy_of(compiled, tmp_path):
    root, weights = compiled
    shutil.copytree(root / "minirnn", tmp_path / "minirnn")
    return tmp_path, weights


def test_a_warm_run_reads_the_cache_and_writes_nothing(compiled, tmp_path):
    root, clean = copy_of(compiled, tmp_path)
    before = cache_files(root)
    weights, stderr = train(root)
    assert cache_files(root) == before
    assert WARNING not in stderr
    assert np.array_equal(weights, clean)


def empty(path):
    path.write_bytes(b"")


def truncate(path):
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


def random_bytes(path):
    path.write_bytes(np.random.default_rng(1).bytes(100))


def overwrite_middle(path):
    """100 random bytes in the middle, the size unchanged: the file still unpickles in most places."""
    blob = bytearray(path.read_bytes())
    middle = len(blob) // 2
    blob[middle:middle + 100] = np.random.default_rng(2).bytes(100)
    path.write_bytes(bytes(blob))


# (folder, which files, how): every .nbc of the cells emptied, as a full disk leaves them; one data
# or index file of minirnn/__pycache__ (the input check's and the optimizers' kernels) damaged.
DAMAGE = {
    "every cell data file empty": ("cells", "*.nbc", empty, None),
    "data truncated": (".", "optim._adam-*.nbc", truncate, 1),
    "data replaced by random bytes": (".", "checks._count_non_finite-*.nbc", random_bytes, 1),
    "random bytes inside data": ("cells", "rnn.backward_sequence-*.nbc", overwrite_middle, None),
    "index empty": (".", "checks._count_non_finite-*.nbi", empty, 1),
    "index replaced by random bytes": ("cells", "rnn.forward_sequence-*.nbi", random_bytes, 1),
    "index truncated": (".", "optim._adam-*.nbi", truncate, 1),
}


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_entry_is_compiled_again_and_replaced(compiled, tmp_path, kind):
    root, clean = copy_of(compiled, tmp_path)
    folder, pattern, damage, count = DAMAGE[kind]
    damaged = sorted((root / "minirnn" / folder / "__pycache__").glob(pattern))[:count]
    assert damaged
    for path in damaged:
        damage(path)
    weights, stderr = train(root)
    assert stderr.count(WARNING) == 1, stderr
    assert "is unreadable" in stderr and "compiling the kernel again" in stderr
    assert any(str(path) in stderr for path in damaged), stderr
    assert np.array_equal(weights, clean)
    healed = cache_files(root)
    weights, stderr = train(root, "again")  # healed: no warning, nothing rewritten
    assert WARNING not in stderr, stderr
    assert cache_files(root) == healed
    assert np.array_equal(weights, clean)


def test_damage_that_still_unpickles_is_refused():
    """Bytes changed inside a data file need not break its pickle: the checksum catches them."""
    from minirnn import _cache
    payload = pickle.dumps(("stamp", "key", b"object code"))
    good = _cache.MAGIC + hashlib.sha256(payload).digest() + payload
    assert _cache._unpack(good) == ("stamp", "key", b"object code")
    changed = good.replace(b"object code", b"object_code")
    assert pickle.loads(changed[len(good) - len(payload):]) == ("stamp", "key", b"object_code")
    with pytest.raises(ValueError, match="checksum"):
        _cache._unpack(changed)


def test_a_data_file_of_another_kernel_is_never_run(compiled, tmp_path):
    """A data file holding another kernel's entry (files mixed up by a copy, or rewritten by another
    process meanwhile) is sound but not this kernel's: a miss, compiled again and replaced."""
    root, clean = copy_of(compiled, tmp_path)
    folder = root / "minirnn" / "cells" / "__pycache__"
    forward, backward = (sorted(folder.glob(f"rnn.{loop}_sequence-*.nbc"))[0] for loop in ("forward", "backward"))
    shutil.copyfile(backward, forward)
    weights, _ = train(root)
    assert np.array_equal(weights, clean)
    assert forward.read_bytes() != backward.read_bytes()  # replaced by its own kernel


def test_four_cold_compiles_at_once_into_one_cache(compiled, tmp_path):
    root = fresh_copy(tmp_path)
    out = [root / f"w{k}.npy" for k in range(4)]
    runs = [subprocess.Popen([sys.executable, "-c", FIT, str(path), str(root)], cwd=root, env=environment(root),
                             stderr=subprocess.PIPE, text=True) for path in out]
    for run in runs:
        stderr = run.communicate(timeout=300)[1]
        assert run.returncode == 0 and WARNING not in stderr, stderr
    clean = compiled[1]
    assert all(np.array_equal(np.load(path), clean) for path in out)
    assert not list(root.glob("minirnn/**/__pycache__/*.tmp.*"))  # every write finished or was cleaned up
    weights, stderr = train(root)
    assert WARNING not in stderr and np.array_equal(weights, clean)


def test_another_cpu_target_is_compiled_beside_the_native_entries(compiled, tmp_path):
    root, clean = copy_of(compiled, tmp_path)
    native = cache_files(root)
    weights, stderr = train(root, "avx2", NUMBA_CPU_NAME=AVX2[0], NUMBA_CPU_FEATURES=AVX2[1])
    assert WARNING not in stderr
    np.testing.assert_allclose(weights, clean, rtol=1e-12, atol=1e-14)
    grown = cache_files(root)
    assert set(native) < set(grown)  # new data files beside the old ones
    assert all(grown[path][0] >= native[path][0] for path in native if path.suffix == ".nbc")
    report = subprocess.run([sys.executable, "-m", "minirnn.apps.cli", "cache"], cwd=root, env=environment(root),
                            capture_output=True, text=True, check=True).stdout
    assert AVX2[0] in report and "this CPU" in report
    weights, _ = train(root, "native-again")  # the native entries are still there and still used
    assert np.array_equal(weights, clean)
    assert cache_files(root) == grown


def cannot_write():
    """A command prefix under which the process obeys the folders' mode bits: as root, who may write
    anywhere, setpriv drops every capability (uid 0 still owns the files, and r-x forbids writing)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root without setpriv (util-linux): cannot test an unwritable cache as a user")
    return [setpriv, "--inh-caps=-all", "--bounding-set=-all", "--"]


def read_only(root):
    for folder in [root / "minirnn", *root.glob("minirnn/**/")]:
        folder.chmod(0o555)


def writable(root):
    for folder in [root / "minirnn", *root.glob("minirnn/**/")]:
        folder.chmod(0o755)


def test_an_unwritable_cache_folder_runs_uncached_with_one_warning(compiled, tmp_path):
    root = fresh_copy(tmp_path)
    read_only(root)
    try:
        weights, stderr = train(root, prefix=cannot_write())
        assert stderr.count(WARNING) == 1, stderr
        assert "cannot write minirnn's compiled-kernel cache" in stderr and "NUMBA_CACHE_DIR" in stderr
        assert np.array_equal(weights, compiled[1])
        assert not cache_files(root)
        weights, stderr = train(root, "uncached", prefix=cannot_write(), MINIRNN_NUMBA_CACHE="0")
        assert WARNING not in stderr and np.array_equal(weights, compiled[1])
    finally:
        writable(root)


def test_a_read_only_cache_that_holds_the_kernels_is_used(compiled, tmp_path):
    root, clean = copy_of(compiled, tmp_path)
    before = cache_files(root)
    read_only(root)
    try:
        weights, stderr = train(root, prefix=cannot_write())
    finally:
        writable(root)
    assert WARNING not in stderr and np.array_equal(weights, clean)
    assert cache_files(root) == before


def test_the_cache_command_shows_and_clears_it(compiled, tmp_path):
    root, _ = copy_of(compiled, tmp_path)

    def command(*args):
        return subprocess.run([sys.executable, "-m", "minirnn.apps.cli", "cache", *args], cwd=root,
                              env=environment(root), capture_output=True, text=True, check=True).stdout

    report = command()
    assert str(root / "minirnn" / "cells" / "__pycache__") in report
    assert "this CPU" in report and " kernels " in report and "MB" in report
    files = len(cache_files(root))
    assert f"removed {files} files" in command("--clear")
    assert not cache_files(root)
    assert "no kernels compiled from the current sources" in command()
