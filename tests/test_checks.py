"""minirnn/checks.py: the NaN/inf scan every forward and backward pass runs on its arrays."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minirnn import checks

LAYOUTS = {
    "contiguous": lambda a: a,
    "fortran": np.asfortranarray,
    "batch_major_view": lambda a: a.transpose(1, 0, 2),   # what a stacked layer hands the next one
    "reversed": lambda a: a[:, ::-1],                      # go_backwards
    "strided": lambda a: a[::2],
}


@settings(max_examples=60, deadline=None)
@given(dtype=st.sampled_from([np.float32, np.float64]), layout=st.sampled_from(sorted(LAYOUTS)),
       shape=st.tuples(st.integers(1, 7), st.integers(1, 9), st.integers(1, 5)),
       bad=st.sampled_from([np.nan, np.inf, -np.inf, None]), position=st.floats(0, 1, exclude_max=True),
       seed=st.integers(0, 2**16))
def test_finite_scan_finds_every_nan_and_inf_in_any_layout(dtype, layout, shape, bad, position, seed):
    base = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    base.flat[0] = np.finfo(dtype).max  # huge but finite: not an error
    a = LAYOUTS[layout](base)
    if bad is not None and a.size:
        index = np.unravel_index(int(position * a.size), a.shape)
        a[index] = bad
    expected_finite = bool(np.isfinite(a).all())  # NumPy is the oracle
    if expected_finite:
        assert checks.check_finite("a", a) is None
    else:
        first = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        with pytest.raises(ValueError, match=rf"a contains NaN or inf: the first at index \({first[0]}, "):
            checks.check_finite("a", a)


def test_finite_scan_leaves_other_dtypes_to_numpy():
    assert checks.check_finite("a", np.array([1, 2], dtype=np.int64)) is None
    with pytest.raises(ValueError, match="contains NaN or inf"):
        checks.check_finite("a", np.array([1.0, np.inf], dtype=np.float16))


def test_a_nan_hidden_under_a_mask_is_found_with_its_index():
    a = np.ma.masked_array(np.ones((2, 3)), mask=[[False, True, False], [False, False, False]])
    a.data[0, 1] = np.nan
    with pytest.raises(ValueError, match="contains NaN or inf: the first at index \\(0, 1\\) is nan"):
        checks.check_finite("x", a)
    with pytest.raises(TypeError, match="masked array"):
        checks.check_array("x", a, 2)


def test_the_one_rule_for_a_dtype():
    f32, f64 = np.dtype(np.float32), np.dtype(np.float64)
    assert checks.dtype_of([("Sequential(dtype=...)", None), ("layer 'lstm'", "float32")], data=np.ones(2)) == f32
    assert checks.dtype_of([("layer 'lstm'", None)], data=np.ones(2, np.float32)) == f32  # nothing declared: the data's
    assert checks.dtype_of([], data=np.ones(2, np.int64)) == f64 and checks.dtype_of() == f64
    with pytest.raises(ValueError, match="disagree on the dtype \\(layer 'a' is float32, Input is float64\\)"):
        checks.dtype_of([("layer 'a'", "float32"), ("Input", "float64")])
    with pytest.raises(TypeError, match="dtype must be 'float32' or 'float64'"):
        checks.dtype_of([("layer 'a'", "int32")])
