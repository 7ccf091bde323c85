"""minirnn/initializers.py: classes taken uncalled as Keras takes them, settings checked, shapes an
initialiser cannot make named with the layer's argument; stored and rebuilt by serialize/get.
(The draws themselves are tested with the layers: tests/test_layers.py.)"""
import numpy as np
import pytest

from minirnn import initializers, layers


@pytest.mark.parametrize("make, argument, message", [
    (lambda: layers.IndRNN(4, recurrent_initializer="orthogonal"), "recurrent_initializer",
     "orthogonal makes matrices, not an array of shape \\(4,\\)"),
    (lambda: layers.SimpleRNN(4, bias_initializer="orthogonal"), "bias_initializer", "orthogonal makes matrices"),
    (lambda: layers.IndRNN(4, recurrent_initializer=initializers.Identity), "recurrent_initializer",
     "Identity makes matrices"),
    (lambda: layers.Dense(2, bias_initializer="identity"), "bias_initializer", "identity makes matrices"),
    (lambda: layers.LSTM(3, kernel_initializer=lambda shape, rng, dtype: np.ones(3)), "kernel_initializer",
     "must make an array of shape \\(2, 12\\), made shape \\(3,\\)"),
    (lambda: layers.GRU(3, recurrent_initializer=lambda shape, rng, dtype: np.full(shape, np.nan)),
     "recurrent_initializer", "made NaN or infinite values"),
])
def test_a_shape_an_initializer_cannot_make_is_named_with_the_argument(make, argument, message):
    layer = make()
    with pytest.raises(ValueError, match=f"{argument}.*{message}|{message}"):
        layer.build(2)
    with pytest.raises(ValueError, match=argument):
        make().build(2)


@pytest.mark.parametrize("cls, expected", [(initializers.Identity, 1.0), (initializers.Orthogonal, 1.0),
                                           (initializers.RandomNormal, 0.05), (initializers.RandomUniform, 0.05)])
def test_classes_given_uncalled_get_their_defaults(cls, expected):
    made = initializers.get(cls, "recurrent_initializer")
    assert isinstance(made, cls) and expected in made.get_config().values()
    layer = layers.SimpleRNN(3, recurrent_initializer=cls, seed=0)
    layer.build(2)
    reference = layers.SimpleRNN(3, recurrent_initializer=cls(), seed=0)
    reference.build(2)
    np.testing.assert_array_equal(layer.params["recurrent_kernel"], reference.params["recurrent_kernel"])


@pytest.mark.parametrize("call, error, message", [
    (lambda: initializers.get(initializers.Chrono, "bias_initializer"), TypeError,
     "bias_initializer: Chrono has no default for its settings: give Chrono\\(t_max=...\\)"),
    (lambda: initializers.Chrono(t_max=float("inf")), ValueError, "t_max .* must be a finite number > 2"),
    (lambda: initializers.Chrono(t_max="100"), ValueError, "must be a finite number"),
    (lambda: initializers.Identity(gain=float("nan")), ValueError, "gain must be a finite number"),
    (lambda: initializers.RandomUniform(1.0, 0.0), ValueError, "maxval must be a finite number >= 1"),
    (lambda: initializers.RandomNormal(stddev=-1), ValueError, "stddev must be a finite number >= 0"),
    (lambda: initializers.get(dict, "kernel_initializer"), TypeError, "got the class dict"),
    (lambda: initializers.get("glorot_normal", "kernel_initializer"), ValueError, "kernel_initializer must be one of"),
    (lambda: initializers.get({"class": "HeNormal", "config": {}}, "kernel_initializer"), ValueError,
     "a stored initializer is"),
])
def test_bad_initializers_are_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_chrono_as_a_kernel_or_a_simple_rnn_bias_says_where_it_belongs():
    with pytest.raises(TypeError, match="kernel_initializer: Chrono needs to know the gates"):
        layers.LSTM(3, kernel_initializer=initializers.Chrono(10)).build(1)
    with pytest.raises(ValueError, match="bias_initializer: Chrono initialises gates"):
        layers.SimpleRNN(3, bias_initializer=initializers.Chrono(10)).build(1)


@pytest.mark.parametrize("initializer", ["glorot_uniform", "orthogonal", "zeros", "identity",
                                         initializers.Identity(0.5), initializers.Orthogonal(2.0),
                                         initializers.RandomNormal(0.1, 0.2), initializers.RandomUniform(0, 1),
                                         initializers.Chrono(40.0)])
def test_serialize_and_get_rebuild_an_equal_initializer(initializer):
    stored = initializers.serialize(initializers.get(initializer, "x"))
    assert stored == initializer if isinstance(initializer, str) else stored["class"] == type(initializer).__name__
    assert initializers.get(stored, "x") == initializers.get(initializer, "x")
