"""Every validation of the array-level numerics raises WorkloadError naming the argument and value."""

from __future__ import annotations

import numpy as np
import pytest

from smaug_fast import WorkloadError, numerics

F32 = np.float32


def a(*shape, dtype=F32):
    return np.ones(shape, dtype=dtype)


CASES = [
    # conv2d
    (lambda: numerics.conv2d([[1.0]], a(1, 1, 1, 1)), r"conv2d: x = 'list': must be a NumPy array"),
    (lambda: numerics.conv2d(a(1, 4, 4, 2, dtype=np.float64), a(1, 1, 1, 2)),
     r"conv2d: x.dtype = 'float64': must be one of float32, float16"),
    (lambda: numerics.conv2d(a(4, 4, 2), a(1, 1, 1, 2)),
     r"conv2d: x.shape = \(4, 4, 2\): must have 4 dimensions"),
    (lambda: numerics.conv2d(a(1, 4, 4, 2), a(1, 1, 1, 2, dtype=np.float16)),
     r"conv2d: w.dtype = 'float16': must match x.dtype float32"),
    (lambda: numerics.conv2d(a(1, 4, 4, 2), a(1, 1, 1, 3)),
     r"conv2d: w.shape = \(1, 1, 1, 3\): needs 2 channels per group"),
    (lambda: numerics.conv2d(a(1, 4, 4, 3), a(2, 1, 1, 1), groups=2),
     r"conv2d: groups = 2: must divide the 3 input channels"),
    (lambda: numerics.conv2d(a(1, 4, 4, 4), a(3, 1, 1, 2), groups=2),
     r"conv2d: groups = 2: must divide the 3 output channels"),
    (lambda: numerics.conv2d(a(1, 4, 4, 2), a(1, 1, 1, 2), groups=0), r"conv2d: groups = 0: must be >= 1"),
    (lambda: numerics.conv2d(a(1, 4, 4, 2), a(1, 1, 1, 2), stride=0), r"conv2d: stride = 0: must be >= 1"),
    (lambda: numerics.conv2d(a(1, 4, 4, 2), a(1, 1, 1, 2), stride=(1, 2, 3)),
     r"conv2d: stride = \(1, 2, 3\): must be an integer or a pair"),
    (lambda: numerics.conv2d(a(1, 4, 4, 2), a(1, 1, 1, 2), pads=(1, -1)),
     r"conv2d: pads\[1\] = -1: must be >= 0"),
    (lambda: numerics.conv2d(a(1, 4, 4, 2), a(1, 1, 1, 2), pads=(1, 1, 1)),
     r"conv2d: pads = \(1, 1, 1\): must be an integer"),
    (lambda: numerics.conv2d(a(1, 4, 4, 2), a(1, 6, 1, 2)),
     r"conv2d: w.shape = \(1, 6, 1, 2\): window 6 is larger than the padded row extent 4"),
    (lambda: numerics.conv2d(a(1, 4, 4, 2), a(1, 1, 1, 2), layout="HWCN"),
     r"conv2d: layout = 'HWCN': must be one of NHWC, NCHW"),
    (lambda: numerics.conv2d(a(1, 4, 4, 2), a(1, 1, 1, 2), activation="gelu"),
     r"conv2d: activation = 'gelu': unknown; valid: relu"),
    (lambda: numerics.conv2d(a(1, 4, 4, 2), a(1, 1, 1, 2), activation="elu", activation_params=(1, 2)),
     r"conv2d: activation_params = \(1, 2\): elu takes 1"),
    (lambda: numerics.conv2d(a(1, 4, 4, 2), a(1, 1, 1, 2), activation_params=(1.0,)),
     r"conv2d: activation_params = \(1.0,\): given without an activation"),
    (lambda: numerics.conv2d(a(1, 4, 4, 2), a(1, 1, 1, 2), activation="lrelu", activation_params=(float("nan"),)),
     r"activation_params\[0\] = nan: must be a finite number"),
    (lambda: numerics.conv2d(a(1, 0, 4, 2), a(1, 1, 1, 2)),
     r"conv2d: x.shape = \(1, 0, 4, 2\): must not be empty"),
    # inner product
    (lambda: numerics.inner_product(a(2, 3), a(4, 5)),
     r"inner_product: w.shape = \(4, 5\): needs 3 columns to match x.shape \(2, 3\)"),
    (lambda: numerics.inner_product(a(2, 3, 1), a(4, 3)),
     r"inner_product: x.shape = \(2, 3, 1\): must have 2 dimensions"),
    # pooling
    (lambda: numerics.max_pool(a(1, 4, 4, 1), 2, pads=2),
     r"max_pool: pads = \(2, 2, 2, 2\): each pad must be smaller than the pool window"),
    (lambda: numerics.max_pool(a(1, 4, 4, 1), 5),
     r"max_pool: pool_size = 5: window 5 is larger than the padded row extent 4"),
    (lambda: numerics.avg_pool(a(1, 4, 4, 1), (2, 0)), r"avg_pool: pool_size\[1\] = 0: must be >= 1"),
    (lambda: numerics.avg_pool(a(1, 4, 4, 1), 2, count_include_pad="yes"),
     r"avg_pool: count_include_pad = 'yes': must be True or False"),
    # batch norm
    (lambda: numerics.batch_norm(a(1, 2, 2, 3), a(1, 3), a(1, 2), a(3), a(3)),
     r"batch_norm: inv_std.shape = \(1, 2\): needs 3 elements"),
    (lambda: numerics.batch_norm(a(2, 3), a(3), a(3), a(3), a(3), layout="NHWC"),
     r"batch_norm: x.shape = \(2, 3\): must have 4 dimensions"),
    (lambda: numerics.batch_norm(a(2, 3), a(3), a(3), a(3), a(3, dtype=np.float16), layout="NC"),
     r"batch_norm: beta.dtype = 'float16': must match x.dtype"),
    # activations and element-wise
    (lambda: numerics.activation(a(3), "swish"), r"activation: activation = 'swish': unknown"),
    (lambda: numerics.activation(a(3), "hard_tanh", 1.0, -1.0),
     r"activation: activation_params = \(1.0, -1.0\): hard_tanh needs min <= max"),
    (lambda: numerics.activation(a(), "relu"), r"activation: x.shape = \(\): must have at least 1 dimension"),
    (lambda: numerics.eltwise(a(2, 3), a(3, 2), "add"),
     r"eltwise: shapes = \(\(2, 3\), \(3, 2\)\): do not broadcast"),
    (lambda: numerics.eltwise(a(2), a(2), "sub"), r"eltwise: function = 'sub': unknown; valid: add, mul"),
    (lambda: numerics.eltwise(a(2), a(2, dtype=np.float16), "less"),
     r"eltwise: b.dtype = 'float16': must match a.dtype float32"),
    # data movement
    (lambda: numerics.concat([], 0), r"concat: arrays = 'list': must be a non-empty list"),
    (lambda: numerics.concat([a(2, 3), a(3, 3)], 1),
     r"concat: arrays\[1\].shape = \(3, 3\): does not match arrays\[0\].shape \(2, 3\) off axis 1"),
    (lambda: numerics.concat([a(2, 3), a(2, 3)], 2), r"concat: axis = 2: must be an integer in \[-2, 2\)"),
    (lambda: numerics.concat([a(2), a(2, dtype=np.float16)], 0),
     r"concat: arrays\[1\].dtype = 'float16': must match"),
    (lambda: numerics.split(a(5, 2), [2, 2], 0),
     r"split: sizes = \(2, 2\): add up to 4, not the 5 of axis 0"),
    (lambda: numerics.split(a(5, 2), [5, 0], 0), r"split: sizes\[1\] = 0: must be >= 1"),
    (lambda: numerics.reorder(a(2, 3, 4), "NCHW", "NHWC"),
     r"reorder: x.shape = \(2, 3, 4\): must have 4 dimensions"),
    (lambda: numerics.reorder(a(2, 3), "NC", "NHWC"),
     r"reorder: \(source, target\) = \('NC', 'NHWC'\): unsupported"),
    (lambda: numerics.padding(a(2, 3), [1, 1]), r"padding: pads = \[1, 1\]: needs 2 x 2 = 4 integers"),
    (lambda: numerics.padding(a(2, 3), [0, 0, 1.5, 0]), r"padding: pads\[2\] = 1.5: must be an integer"),
    (lambda: numerics.repeat(a(2, 3), [2]), r"repeat: multiples = \[2\]: needs 2 integers"),
    (lambda: numerics.repeat(a(), []), r"repeat: x.shape = \(\): must have at least 1 dimension"),
    (lambda: numerics.padding(a(), []), r"padding: x.shape = \(\): must have at least 1 dimension"),
    (lambda: numerics.concat([a()], 0), r"concat: axis = 0: must be an integer in \[-0, 0\)"),
    (lambda: numerics.split(a(4), [4], 0.0), r"split: axis = 0.0: must be an integer"),
    (lambda: numerics.padding(a(2, dtype=np.complex64), [1, 1]),
     r"padding: x.dtype = 'complex64': must be bool"),
    (lambda: numerics.reshape(a(2, 3), (4, 2)),
     r"reshape: shape = \(4, 2\): has 8 elements, x.shape \(2, 3\) has 6"),
    (lambda: numerics.flatten(np.array(["a", "b"])),
     r"flatten: x.dtype = 'str\d*': must be bool, an integer type or float16/32/64"),
]


@pytest.mark.parametrize("call, message", CASES, ids=[m[:40] for _, m in CASES])
def test_bad_arguments_raise_workload_error(call, message):
    with pytest.raises(WorkloadError, match=message):
        call()


def test_workload_error_is_a_value_error():
    with pytest.raises(ValueError):
        numerics.conv2d(a(1, 2, 2, 1), a(1, 3, 3, 1))
