"""The on-disk cache of compiled kernels: Numba's ``cache=True``, made to heal itself.

Where it is: a ``__pycache__`` folder beside each source file that has kernels (``minirnn/``,
``minirnn/cells/``), or under ``NUMBA_CACHE_DIR`` when that is set. Each kernel has an index
file (``.nbi``) naming its compiled versions, one per argument types and CPU target, and one
data file (``.nbc``) per version. ``minirnn cache`` shows what it holds; ``minirnn cache
--clear`` empties it.

Numba alone raises from deep inside its loader, on every run from then on, when an entry
cannot be read, and fails at import when the folder cannot be written. Here:

- An entry that cannot be read (empty, truncated, random bytes; index or data file) is a cache
  miss: minirnn warns once per process (:class:`KernelCacheWarning`), naming the file, compiles
  the kernel and writes the entry anew. Compiling is deterministic, so the results are the same
  bits as from a clean cache. Each data file carries a checksum of its contents and the key it
  was written for: damage that still unpickles, or a file another process is rewriting for
  other sources, is a miss too, never the wrong code.
- A folder that cannot be written (a read-only install, a full disk): what cannot be stored is
  compiled in every process, with one warning per process; entries already there are used.
- Stale entries: every kernel is keyed on the source of all the files kernels are compiled
  from (:data:`KERNEL_SOURCES`), not only on its own file as in Numba, so an edit of
  ``_math.py`` is never outlived by the kernels that inline it.

``MINIRNN_NUMBA_CACHE=0`` turns the cache off (read in :mod:`minirnn._jit`).
"""
import functools
import hashlib
import os
import pickle
import sys
import warnings
from pathlib import Path

import numba
from numba.core import caching, config

PACKAGE_DIR = Path(__file__).resolve().parent
# Every file jitted code is compiled from: the kernels' own files and what they call.
KERNEL_SOURCES = ("_jit.py", "checks.py", "optim.py", "cells/*.py")
MAGIC = b"minirnn kernel 1\n"  # starts every data file minirnn writes; then the checksum, then the pickle
DIGEST = hashlib.sha256().digest_size


class KernelCacheWarning(RuntimeWarning):
    """minirnn's compiled-kernel cache held a damaged entry (now replaced) or cannot be written."""


_said = set()  # the kinds of warning given in this process


def _warn_once(kind, message):
    """Warn, pointing at the caller's line that needed the kernel (not at Numba's or minirnn's insides)."""
    if kind in _said:
        return
    _said.add(kind)
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_INSIDE):
        frame = frame.f_back
    warnings.warn_explicit(message, KernelCacheWarning, frame.f_code.co_filename, frame.f_lineno,
                           module=frame.f_globals.get("__name__"))


_INSIDE = (str(PACKAGE_DIR), os.path.dirname(numba.__file__))


def _damaged(path, error):
    _warn_once("damaged", f"minirnn's compiled-kernel cache entry {path} is unreadable "
                          f"({type(error).__name__}: {error}); compiling the kernel again and replacing the "
                          "entry (other damaged entries are replaced without another warning; "
                          "`minirnn cache --clear` empties the cache)")


_unwritable_folders = set()


def _unwritable(folder, error):
    _unwritable_folders.add(folder)
    _warn_once("unwritable", f"cannot write minirnn's compiled-kernel cache in {folder} "
                             f"({type(error).__name__}: {error}): kernels that are not cached yet are compiled "
                             "in every process (tens of seconds). Set NUMBA_CACHE_DIR to a folder you can "
                             "write, or MINIRNN_NUMBA_CACHE=0 to run without a cache and without this warning")


@functools.lru_cache(maxsize=None)
def source_hash():
    """sha256 of every file of :data:`KERNEL_SOURCES`, in a fixed order."""
    digest = hashlib.sha256()
    for pattern in KERNEL_SOURCES:
        for path in sorted(PACKAGE_DIR.glob(pattern)):
            digest.update(path.read_bytes())
    return digest.digest()


def folders():
    """The folders the cache of this package lives in, one per folder of kernel sources."""
    sources = {path.parent for pattern in KERNEL_SOURCES for path in PACKAGE_DIR.glob(pattern)}
    return sorted(Path(_folder_for(str(folder / "_.py"))) for folder in sources)


def _folder_for(py_file):
    if config.CACHE_DIR:
        return os.path.join(config.CACHE_DIR, caching._CacheLocator.get_suitable_cache_subpath(py_file))
    return os.path.join(os.path.dirname(py_file), "__pycache__")


class Locator(caching.InTreeCacheLocator):
    """Where a kernel is cached (:func:`folders`) and its freshness (:func:`source_hash`).

    Unlike Numba's locators it does not require the folder to be writable: a cache that can be
    read is used, and a failed write is a warning (:meth:`KernelCache.save_overload`).
    """

    def __init__(self, py_func, py_file):
        super().__init__(py_func, py_file)
        self._cache_path = _folder_for(py_file)

    def get_source_stamp(self):
        return source_hash()

    @classmethod
    def from_function(cls, py_func, py_file):
        return cls(py_func, py_file)


class _Impl(caching.CompileResultCacheImpl):
    _locator_classes = [Locator]


class Entries(caching.IndexDataCacheFile):
    """One kernel's index and data files: damage read as a miss, data written with a checksum."""

    def _load_index(self):
        try:
            overloads = super()._load_index()
        except Exception as error:  # noqa: BLE001 -- pickle fails in many ways on damaged bytes
            _damaged(self._index_path, error)
            return {}
        if not isinstance(overloads, dict):
            _damaged(self._index_path, TypeError(f"the index holds a {type(overloads).__name__}, not a dict"))
            return {}
        return overloads

    def save(self, key, data):
        super().save(key, (self._source_stamp, key, data))

    def load(self, key):
        """``(path, data)`` of the entry for ``key``, or None (a miss)."""
        name = self._load_index().get(key)
        if name is None:
            return None
        path = self._data_path(name)
        try:
            with open(path, "rb") as f:
                blob = f.read()
        except OSError:  # removed since the index was read
            return None
        try:
            stamp, stored_key, data = _unpack(blob)
        except Exception as error:  # noqa: BLE001
            _damaged(path, error)
            return None
        if stamp != self._source_stamp or stored_key != key:
            return None  # rewritten meanwhile, for other sources or another version: not ours
        return path, data

    def _save_data(self, name, data):
        payload = self._dump(data)
        with self._open_for_write(self._data_path(name)) as f:
            f.write(MAGIC + hashlib.sha256(payload).digest() + payload)


def _unpack(blob):
    """The object in a data file's bytes; ValueError if they are not what :meth:`Entries._dump` wrote."""
    if not blob:
        raise ValueError("the file is empty")
    if not blob.startswith(MAGIC):
        raise ValueError(f"{len(blob)} bytes that do not start as minirnn's data files do")
    digest, payload = blob[len(MAGIC):len(MAGIC) + DIGEST], blob[len(MAGIC) + DIGEST:]
    if hashlib.sha256(payload).digest() != digest:
        raise ValueError("the checksum does not match the contents")
    return pickle.loads(payload)


class KernelCache(caching.FunctionCache):
    """Numba's per-function cache with :class:`Locator` and :class:`Entries` (the module docstring)."""

    _impl_class = _Impl

    def __init__(self, py_func):
        super().__init__(py_func)
        self._cache_file = Entries(cache_path=self._cache_path, filename_base=self._impl.filename_base,
                                   source_stamp=self._impl.locator.get_source_stamp())

    def _load_overload(self, sig, target_context):
        if not self._enabled:
            return None
        found = self._cache_file.load(self._index_key(sig, target_context.codegen()))
        if found is None:
            return None
        path, data = found
        try:
            return self._impl.rebuild(target_context, data)
        except Exception as error:  # noqa: BLE001 -- object code that does not load: compile it again
            _damaged(path, error)
            return None

    def save_overload(self, sig, data):
        if self._cache_path in _unwritable_folders:
            return
        try:
            self._save_overload(sig, data)
        except OSError as error:
            _unwritable(self._cache_path, error)


def enable(dispatcher):
    """Give a Numba dispatcher minirnn's cache (what ``cache=True`` does with Numba's)."""
    dispatcher._cache = KernelCache(dispatcher.py_func)
    return dispatcher


# ------------------------------------------------------------------ what ``minirnn cache`` shows


def this_target():
    """The (triple, CPU name, features) this process compiles for: what an entry's key records."""
    from numba.core.registry import cpu_target
    return cpu_target.target_context.codegen().magic_tuple()


def contents():
    """What the cache holds: a dict with ``folders`` (path, files, bytes), ``targets`` ({(cpu name,
    features): [entries, bytes]} of the entries the current sources can use) and ``other``
    ([files, bytes] of the rest: other sources, another Numba, damaged or left over)."""
    targets, used, listed = {}, set(), []
    stamp = source_hash()
    for folder in folders():
        files = sorted(folder.glob("*.nb[ic]")) + sorted(folder.glob("*.nb[ic].tmp.*")) if folder.is_dir() else []
        listed.append((folder, files))
        for index in (f for f in files if f.suffix == ".nbi"):
            overloads = _read_index(index, stamp)
            if overloads is None:
                continue
            used.add(index)
            for key, name in overloads.items():
                data = folder / name
                if data.is_file():
                    target = key[1][1:]  # the key's (triple, cpu name, features), without the triple
                    entry = targets.setdefault(target, [0, 0])
                    entry[0] += 1
                    entry[1] += data.stat().st_size
                    used.add(data)
    sizes = {f: f.stat().st_size for _, files in listed for f in files if f.exists()}
    other = [f for f in sizes if f not in used]
    return {"folders": [(folder, len(files), sum(sizes.get(f, 0) for f in files)) for folder, files in listed],
            "targets": targets, "other": [len(other), sum(sizes[f] for f in other)]}


def _read_index(path, stamp):
    """The overloads of an index file written by this Numba for these sources, else None."""
    try:
        with open(path, "rb") as f:
            if pickle.load(f) != numba.__version__:
                return None
            found, overloads = pickle.loads(f.read())
    except Exception:  # noqa: BLE001 -- damaged: counted with the rest
        return None
    return overloads if found == stamp and isinstance(overloads, dict) else None


def clear():
    """Remove every cache file of this package; returns (files, bytes) removed."""
    count = size = 0
    for folder in folders():
        if not folder.is_dir():
            continue
        for path in list(folder.glob("*.nb[ic]")) + list(folder.glob("*.nb[ic].tmp.*")):
            try:
                bytes_ = path.stat().st_size
                path.unlink()
            except FileNotFoundError:
                continue
            count, size = count + 1, size + bytes_
    return count, size
