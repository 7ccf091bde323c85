"""The model file: how a ``Sequential`` is written to one file and read back.

``Sequential.save`` writes it through :func:`save_model`; :func:`minirnn.load_model`
reads it (:func:`read`), builds the model its config describes and fills it
(:func:`restore`). This module knows layers and optimizers, not the model class.
(``minirnn.saving.load_model``, the old home of ``minirnn.load_model``, still works:
the package points it there. Deprecated: use ``minirnn.load_model``.)

The file is a NumPy ``.npz`` archive holding ``config`` (the architecture,
dtype, input shape and compile settings as JSON) and every weight array under
``weights/<k>``; with ``include_optimizer=True`` also the optimizer's step
count and per-parameter state under ``optimizer/...``. Weights are stored
exactly, so a loaded model predicts bit-identically.

The write is atomic (:func:`minirnn.outputs.write_atomically`): the archive goes to a temporary
file in the same folder, which is then renamed over ``path``, so an interrupted save never leaves
a half-written model behind.

A model saved compiled loads compiled: its loss (a name, or one of :mod:`minirnn.losses`'
classes with its settings), its metrics (by name) and its optimizer with its state, so that
``evaluate`` answers the same before and after. What cannot be stored is said when saving: a
loss function of the user's (the model then loads uncompiled) or a metric function (left out).
"""
import io
import json
import os
import warnings

import numpy as np

from . import layers, losses, optim, outputs

FORMAT = "minirnn.Sequential"
VERSION = 1
FOREIGN_EXTENSIONS = {".keras": "Keras' format", ".h5": "HDF5 (Keras 2)", ".hdf5": "HDF5 (Keras 2)",
                      ".pt": "PyTorch's format", ".pth": "PyTorch's format"}
LAYERS = {cls.__name__: cls for cls in (layers.SimpleRNN, layers.LSTM, layers.GRU, layers.IndRNN, layers.Dense,
                                        layers.Dropout, layers.Masking)}


def layer_from_spec(spec):
    """A layer from ``{"class": name, "config": get_config()}``; Bidirectional nests its layer's spec."""
    config = dict(spec["config"])
    if spec["class"] == "Bidirectional":
        return layers.Bidirectional(layer_from_spec(config.pop("layer")), **config)
    return LAYERS[spec["class"]](**config)


def save_model(model, path, include_optimizer=True, overwrite=True):
    """Write ``model`` (a built :class:`~minirnn.Sequential`) to ``path``; see the module docstring.
    ``overwrite=False`` refuses a ``path`` that exists (Keras' ``save(..., overwrite=False)`` asks)."""
    extension = os.path.splitext(str(path))[1].lower()
    if extension in FOREIGN_EXTENSIONS:
        raise ValueError(f"{path}: minirnn saves its own format (a NumPy .npz archive), not "
                         f"{FOREIGN_EXTENSIONS[extension]}, so it will not take that name; save to a .npz "
                         "name, and use minirnn.interop to move the weights into a Keras or PyTorch model")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists already: save(..., overwrite=True) replaces it")
    compiled = model.optimizer is not None
    loss = losses.serialize(model.loss) if compiled else None
    if compiled and loss is None:
        warnings.warn("the model was compiled with a custom loss function, which cannot be saved: the file "
                      "holds the architecture and weights only; compile the loaded model again", stacklevel=3)
    unsaved = [m.name for m in model.metrics if not m.builtin]
    if compiled and loss is not None and unsaved:
        warnings.warn(f"the metric functions {unsaved} cannot be saved: the loaded model is compiled without "
                      "them", stacklevel=3)
    config = {
        "format": FORMAT, "version": VERSION, "name": model.name, "seed": model.seed,
        "dtype": str(model.dtype), "input_shape": list(model.input_shape),
        "layers": [{"class": type(layer).__name__, "config": _storable(layer.get_config())} for layer in model.layers],
        "loss": loss, "metrics": [m.name for m in model.metrics if m.builtin],
        "optimizer": None if not compiled else
        {"class": type(model.optimizer).__name__, "config": model.optimizer.get_config(),
         "iterations": model.optimizer.iterations},
    }
    arrays = {f"weights/{k}": w for k, w in enumerate(model.get_weights())}
    if include_optimizer and compiled:
        for (layer_index, param), slots in model.optimizer.state.items():
            for slot, value in slots.items():
                arrays[f"optimizer/{layer_index}/{param}/{slot}"] = value
    else:
        config["optimizer_state"] = False
    try:
        text = json.dumps(config, default=_plain_number)
    except TypeError as error:
        raise TypeError(f"cannot save this model: {error}") from None
    buffer = io.BytesIO()
    np.savez(buffer, config=np.array(text), **arrays)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path}: the folder {folder} does not exist")
    outputs.write_atomically(path, lambda f: f.write(buffer.getvalue()))


def _storable(config):
    """A layer's config without the initialiser functions of the user's, which cannot be stored (the
    weights they made are stored; a loaded layer is built with the default and then given those)."""
    stored = {}
    for key, value in config.items():
        if key.endswith("_initializer") and callable(value):
            continue
        if key == "layer" and isinstance(value, dict):  # Bidirectional's: the layer it wraps
            value = {**value, "config": _storable(value["config"])}
        stored[key] = value
    return stored


def _plain_number(value):
    """JSON for the NumPy numbers a config may hold (e.g. ``seed=np.int64(3)``)."""
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    raise TypeError(f"a setting of type {type(value).__name__} ({value!r}) cannot be stored; "
                    "use plain numbers (an int seed, not a SeedSequence or Generator)")


def read(path):
    """The ``(config, arrays)`` of a model file: its JSON description and its arrays by name.
    A ValueError naming the file for anything that is not a minirnn model file of this version."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        config = json.loads(str(arrays.pop("config")))
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as error:  # a damaged archive fails in many ways (zip, npy header parsing, JSON)
        detail = ("it holds Python objects, which minirnn never loads" if "pickle" in str(error)
                  else f"{type(error).__name__}: {error}")
        raise ValueError(f"{path} is not a minirnn model file (or it is truncated or corrupted): {detail}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"{path} is not a minirnn model file: it has no {FORMAT!r} config")
    if config.get("version") != VERSION:
        raise ValueError(f"{path} was written by format version {config.get('version')}; this minirnn "
                         f"reads version {VERSION}")
    return config, arrays


def restore(model, config, arrays, path):
    """Put the file's weights, and its compile settings and optimizer state if it has them, into
    ``model``, a model built from the same ``config`` (see :func:`minirnn.model.load_model`)."""
    n = len(model.get_weights())
    try:
        weights = [arrays[f"weights/{k}"] for k in range(n)]
    except KeyError as error:
        raise ValueError(f"{path}: the model description does not match its contents ({error!r})") from None
    if any(key.startswith("weights/") and int(key.split("/")[1]) >= n for key in arrays):
        raise ValueError(f"{path} holds more weight arrays than its {n}-array architecture")
    for k, w in enumerate(weights):
        if w.dtype != model.dtype:
            raise ValueError(f"{path}: weights/{k} is {w.dtype} but the model is {model.dtype}")
    model.set_weights(weights)
    spec = config.get("optimizer")
    if spec is not None and config.get("loss") is None:
        warnings.warn(f"{path}: the model was compiled with a custom loss when saved; it is loaded uncompiled "
                      "and without its optimizer state: compile it again before training", stacklevel=3)
    if spec is not None and config.get("loss") is not None:
        if spec.get("class") not in {cls.__name__ for cls in optim.OPTIMIZERS.values()}:
            raise ValueError(f"{path} was saved with the optimizer {spec.get('class')!r}, which this minirnn "
                             f"does not have (it has {', '.join(c.__name__ for c in optim.OPTIMIZERS.values())})")
        optimizer = getattr(optim, spec["class"])(**spec["config"])
        try:
            model.compile(optimizer=optimizer, loss=losses.get(config["loss"]), metrics=config.get("metrics") or None)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: its compile settings are not ones this minirnn has ({error})") from None
        if config.get("optimizer_state", True):
            optimizer.iterations = spec["iterations"]
        for key, value in arrays.items():
            if key.startswith("optimizer/"):
                _, layer_index, param, slot = key.split("/")
                optimizer.state.setdefault((int(layer_index), param), {})[slot] = value

