import numpy as np
from ._jit import jit
from .cells import _common, _gemm, lstm

@jit
def forward_sequence_fused(x_tm, kernel_packed, bias, h0, c0, recurrent_kernel, peepholes, gates, h, c, tanh_c):
    T, B = gates.shape[0], gates.shape[1]
    recurrent_kernel_packed = _gemm.pack(recurrent_kernel, B)
    _common.copy_into(h0, h[0])
    _common.copy_into(c0, c[0])
    for t in range(T):
        g = gates[t]
        for b in range(B):
            row = g[b]
            for j in range(row.shape[0]):
                row[j] = bias[j]
        _gemm.matmul(x_tm[t], kernel_packed, g, _gemm.ACCUMULATE)
        lstm.step_forward(g, h[t], c[t], recurrent_kernel_packed, peepholes, c[t + 1], tanh_c[t], h[t + 1])

def forward_fused(x, kernel, recurrent_kernel, bias):
    B, T, I = x.shape
    H = recurrent_kernel.shape[0]
    x_tm = _common.time_major(x)
    gates = np.empty((T, B, 4 * H), dtype=x.dtype)
    h, c = _common.sequence_buffer(T + 1, B, H, x.dtype), _common.sequence_buffer(T + 1, B, H, x.dtype)
    tanh_c = _common.sequence_buffer(T, B, H, x.dtype)
    z = np.zeros((B, H), dtype=x.dtype)
    forward_sequence_fused(x_tm, _gemm.pack(kernel, B), bias, z, z, recurrent_kernel, _common.absent((H,), x.dtype), gates, h, c, tanh_c)
    return h, gates
