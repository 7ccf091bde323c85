"""minirnn/cells/lnlstm.py and LSTM(layer_norm=True): the weights and their names, saving, bad input.
(The equations are minirnn/textbook/lnlstm.py, which the engine equals: tests/test_textbook.py;
finite-difference checks of every gradient, with peepholes and recurrent dropout, and of the step
Jacobians run for the layer-normalised variants in tests/test_gradcheck.py and
tests/test_diagnostics.py, as for every cell.)"""
import numpy as np
import pytest

import minirnn as mr
from minirnn import layers
from minirnn.cells import lnlstm


def test_weights_names_count_and_saving(tmp_path, rng):
    lstm = layers.LSTM(7, layer_norm=True, peephole=True)
    lstm.build(5)
    assert lstm.count_params() == 4 * 7 * (5 + 7 + 1) + 3 * 7 + 2 * (28 + 28 + 7)
    assert lstm.params["input_layer_norm_gamma"].shape == (28,) and lstm.params["cell_layer_norm_beta"].shape == (7,)
    assert (lstm.params["recurrent_layer_norm_gamma"] == 1).all() and not lstm.params["input_layer_norm_beta"].any()
    assert lstm.cell is lnlstm and layers.LSTM(3).cell is mr.cells.lstm
    model = mr.Sequential([layers.LSTM(4, layer_norm=True, input_shape=(6, 2)), layers.Dense(1)], seed=1)
    model.compile("adam", "mse")
    x = rng.normal(size=(3, 6, 2))
    model.fit(x, rng.normal(size=(3, 1)), epochs=2, verbose=0)
    model.save(tmp_path / "ln.npz")
    loaded = mr.load_model(tmp_path / "ln.npz")
    assert loaded.layers[0].layer_norm
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_bad_input_is_named(rng):
    with pytest.raises(TypeError, match="layer_norm"):
        layers.GRU(3, layer_norm=True)
    x, weights = rng.normal(size=(2, 3, 1)), {"kernel": rng.normal(size=(1, 8)),
                                              "recurrent_kernel": rng.normal(size=(2, 8)), "bias": np.zeros(8)}
    with pytest.raises(ValueError, match="weights has no 'input_layer_norm_gamma'"):
        lnlstm.forward(x, weights)
    norms = {f"{norm}_layer_norm_{part}": np.ones(8) for norm in lnlstm.NORMS for part in ("gamma", "beta")}
    with pytest.raises(ValueError, match="gammas \\(cell\\) must have shape \\(2,\\)"):
        lnlstm.forward(x, {**weights, **norms})
