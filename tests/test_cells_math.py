"""minirnn/cells/_math.py: exp, expm1, sigmoid and tanh within a few ulp of an extended-precision reference.

The reference is NumPy in long double (80-bit on x86) for float64 and in float64 for
float32; errors are counted in units in the last place of the result's own type.
"""
import numba
import numpy as np
import pytest

from minirnn.cells import _math

FUNCTIONS = {"exp": _math.exp, "expm1": _math.expm1, "sigmoid": _math.sigmoid, "tanh": _math.tanh}


def reference(name, x):
    return {"exp": np.exp, "expm1": np.expm1, "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh}[name](x)


def apply(name, x):
    function = FUNCTIONS[name]

    @numba.njit
    def loop(x, out):  # a loop like the cells' gate loops, where LLVM vectorises the function
        ftype = x.dtype.type
        for i in range(x.shape[0]):
            out[i] = function(x[i], ftype)
    out = np.empty_like(x)
    loop(x, out)
    return out


def ulps(got, exact, dtype):
    """|got - exact| in units of the last place of ``dtype`` at ``exact``."""
    exact_rounded = exact.astype(dtype)
    spacing = np.spacing(np.abs(exact_rounded)).astype(exact.dtype)
    return np.abs(got.astype(exact.dtype) - exact) / spacing


def points(dtype, limit):
    rng = np.random.default_rng(0)
    tiny = rng.uniform(-1e-3, 1e-3, 2000)  # where expm1 and tanh lose digits if done naively
    return np.concatenate([rng.uniform(-limit, limit, 20000), tiny, 10.0 ** rng.uniform(-12, 0, 2000),
                           [0.0, 1e-300, -1e-300]]).astype(dtype)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("dtype, wide, limit", [(np.float64, np.longdouble, 700.0), (np.float32, np.float64, 80.0)])
def test_within_a_few_ulp(name, dtype, wide, limit):
    if dtype == np.float64 and np.finfo(np.longdouble).nmant <= np.finfo(np.float64).nmant:
        pytest.skip("long double is no wider than float64 on this platform: no exact reference")
    x = points(dtype, limit if name in ("exp", "expm1") else 40.0)
    if dtype == np.float32:
        x = x[np.abs(x) >= np.finfo(np.float32).tiny]  # float32 subnormals are flushed differently
    got = apply(name, x)
    exact = reference(name, x.astype(wide))
    assert got.dtype == dtype
    errors = ulps(got, exact, dtype)
    assert np.max(errors) <= 3, f"{name} {dtype.__name__}: {np.max(errors):.2f} ulp at x = {x[np.argmax(errors)]!r}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_saturates_without_overflow(dtype):
    x = np.array([-1e4, -800.0, 800.0, 1e4, np.finfo(dtype).max, -np.finfo(dtype).max], dtype=dtype)
    for name in ("sigmoid", "tanh"):
        got = apply(name, x)
        assert np.all(np.isfinite(got)), name
        expected = np.sign(x) if name == "tanh" else (x > 0).astype(dtype)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-30)
    assert np.all(np.isfinite(apply("exp", x)))
