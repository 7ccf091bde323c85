"""The files minirnn writes: checked before a run starts, written whole, never over an earlier run's.

A run (a tutorial, a long-range task, a paper's comparison, a probe) names its files first:
:func:`claim` creates the folder, proves that a file can be written there and refuses files
that exist already, an earlier run's results, unless ``overwrite=True`` (``--overwrite`` on the
command line), all before any training starts. Their names carry the seed, so runs with other
seeds never meet.

Every file is then written by :func:`write_atomically` (figures by :func:`save_figure`): to a
temporary file in the same folder, flushed to the disk, then renamed over the name. A killed
run leaves the old file or none, never half of one; its temporary file (``.minirnn-*.tmp``) is
removed by a later write to that folder once it is :data:`STALE_SECONDS` old. Model files
(:mod:`minirnn.saving`) and the plots are written this way; sweep results, which grow row by
row, are appended and synced instead (:class:`minirnn.sweep.Results` repairs a torn last row).
"""
import glob
import os
import tempfile
import time
from pathlib import Path

STALE_SECONDS = 15 * 60  # a temporary file this old is no write in progress, but one that was killed


def check_folder(folder):
    """Create ``folder`` if needed and prove a file can be written there; an OSError naming it if not."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".minirnn-check-"):
            pass
    except OSError as error:
        raise OSError(f"cannot write to the folder {str(folder)!r}: {error.strerror or error}") from None
    return folder


def claim(folder, names, overwrite=False):
    """The paths of the files ``names`` a run will write in ``folder``, checked before it starts:
    the folder is writable (:func:`check_folder`), and none of them exists unless ``overwrite``."""
    folder = check_folder(folder)
    paths = [folder / name for name in names]
    existing = [path for path in paths if path.exists()]
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more of this run's files)" if len(existing) > 1 else ""
        raise FileExistsError(f"{existing[0]}{more} exists already, from an earlier run: give another output "
                              "folder, or overwrite=True (--overwrite on the command line) to replace it")
    return paths


def write_atomically(path, write, text=False):
    """``write(f)`` into a temporary file beside ``path``, synced, then renamed to ``path``."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist")
    remove_stale_temporaries(folder)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".minirnn-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w" if text else "wb", **({"newline": ""} if text else {})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def save_figure(fig, path, **savefig_options):
    """A matplotlib figure to ``path`` (its format from the suffix), atomically; closes the figure."""
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        write_atomically(path, lambda f: fig.savefig(f, format=path.suffix[1:] or "png", **savefig_options))
    finally:
        plt.close(fig)
    return path


def remove_stale_temporaries(folder):
    """Remove the temporary files of writes that were killed (older than STALE_SECONDS)."""
    for tmp in glob.glob(os.path.join(glob.escape(str(folder)), ".minirnn-*.tmp")):
        try:
            if time.time() - os.path.getmtime(tmp) > STALE_SECONDS:
                os.unlink(tmp)
        except OSError:  # gone already, or not ours to remove: leave it
            pass
