"""Save a ``Sequential`` to one file and load it back.

The file is a NumPy ``.npz`` archive holding ``config`` (the architecture,
dtype, input shape and compile settings as JSON) and every weight array under
``weights/<k>``; with ``include_optimizer=True`` also the optimizer's step
count and per-parameter state under ``optimizer/...``. Weights are stored
exactly, so a loaded model predicts bit-identically.

The write is atomic: the archive goes to a temporary file in the same folder,
which is then renamed over ``path``, so an interrupted save never leaves a
half-written model behind.
"""
import io
import json
import os
import tempfile

import numpy as np

from . import layers, optim

FORMAT = "minirnn.Sequential"
VERSION = 1
LAYERS = {cls.__name__: cls for cls in (layers.SimpleRNN, layers.LSTM, layers.GRU, layers.Dense, layers.Dropout)}


def layer_from_spec(spec):
    """A layer from ``{"class": name, "config": get_config()}``; Bidirectional nests its layer's spec."""
    config = dict(spec["config"])
    if spec["class"] == "Bidirectional":
        return layers.Bidirectional(layer_from_spec(config.pop("layer")), **config)
    return LAYERS[spec["class"]](**config)


def save_model(model, path, include_optimizer=True):
    """Write ``model`` (a built :class:`~minirnn.Sequential`) to ``path``; see the module docstring."""
    model._require_built("save")
    config = {
        "format": FORMAT, "version": VERSION, "name": model.name, "seed": model.seed,
        "dtype": str(model.dtype), "input_shape": list(model.input_shape),
        "layers": [{"class": type(layer).__name__, "config": layer.get_config()} for layer in model.layers],
        "loss": model.loss_name,
        "optimizer": None if model.optimizer is None else
        {"class": type(model.optimizer).__name__, "config": model.optimizer.get_config(),
         "iterations": model.optimizer.iterations},
    }
    arrays = {f"weights/{k}": w for k, w in enumerate(model.get_weights())}
    if include_optimizer and model.optimizer is not None:
        for (layer_index, param), slots in model.optimizer.state.items():
            for slot, value in slots.items():
                arrays[f"optimizer/{layer_index}/{param}/{slot}"] = value
    else:
        config["optimizer_state"] = False
    buffer = io.BytesIO()
    np.savez(buffer, config=np.array(json.dumps(config)), **arrays)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".minirnn-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buffer.getvalue())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_model(path):
    """Rebuild the model saved at ``path``; compiled (with optimizer state) if it was when saved."""
    from .model import Sequential
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        config = json.loads(str(arrays.pop("config")))
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as error:  # a damaged archive fails in many ways (zip, npy header parsing, JSON)
        raise ValueError(f"{path} is not a minirnn model file (or it is truncated or corrupted): "
                         f"{type(error).__name__}: {error}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"{path} is not a minirnn model file: it has no {FORMAT!r} config")
    if config.get("version") != VERSION:
        raise ValueError(f"{path} was written by format version {config.get('version')}; this minirnn "
                         f"reads version {VERSION}")
    try:
        model = Sequential([layer_from_spec(spec) for spec in config["layers"]],
                           seed=config["seed"], dtype=config["dtype"], name=config["name"])
        model.build(tuple(config["input_shape"]))
        n = len(model.get_weights())
        weights = [arrays[f"weights/{k}"] for k in range(n)]
    except (KeyError, TypeError) as error:
        raise ValueError(f"{path}: the model description does not match its contents ({error!r})") from None
    if any(key.startswith("weights/") and int(key.split("/")[1]) >= n for key in arrays):
        raise ValueError(f"{path} holds more weight arrays than its {n}-array architecture")
    for k, w in enumerate(weights):
        if w.dtype != model.dtype:
            raise ValueError(f"{path}: weights/{k} is {w.dtype} but the model is {model.dtype}")
    model.set_weights(weights)
    spec = config.get("optimizer")
    if spec is not None and config.get("loss") is not None:
        optimizer = getattr(optim, spec["class"])(**spec["config"])
        model.compile(optimizer=optimizer, loss=config["loss"])
        if config.get("optimizer_state", True):
            optimizer.iterations = spec["iterations"]
        for key, value in arrays.items():
            if key.startswith("optimizer/"):
                _, layer_index, param, slot = key.split("/")
                optimizer.state.setdefault((int(layer_index), param), {})[slot] = value
    return model
