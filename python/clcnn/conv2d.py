# 2-D convolution and its two backward passes (clcnn_conv2d_*) on numpy
# arrays or clcnn.Tensors. numpy inputs are copied to the device and the
# result comes back as a numpy array; Tensor inputs stay on the device.
import ctypes

import numpy as np

from . import _lib
from ._lib import lib
from .tensor import Tensor, _float32_4d

ALGORITHMS = {"auto": 0, "direct": 1, "gemm": 2, "winograd": 3, "gemm_1x1": 4}


def _pair(value, what):
    v = (value, value) if np.isscalar(value) else tuple(value)
    if len(v) != 2:
        raise ValueError(f"{what} must be an int or a pair (height, width), not {value!r}")
    return tuple(int(x) for x in v)


def conv2d_params(padding=0, stride=1, dilation=1, algo="auto"):
    """The C geometry struct. padding: an int, (pad_h, pad_w) or
    (top, bottom, left, right); stride, dilation: an int or (h, w)."""
    if np.isscalar(padding):
        pad = (int(padding),) * 4
    else:
        pad = tuple(int(x) for x in padding)
        if len(pad) == 2:
            pad = (pad[0], pad[0], pad[1], pad[1])
        if len(pad) != 4:
            raise ValueError(f"padding must be an int, (pad_h, pad_w) or (top, bottom, left, "
                             f"right), not {padding!r}")
    if algo not in ALGORITHMS:
        raise ValueError(f"algo must be one of {', '.join(ALGORITHMS)}, not {algo!r}")
    return _lib.Conv2dParams(*pad, *_pair(stride, "stride"), *_pair(dilation, "dilation"),
                             ALGORITHMS[algo])


def conv2d_output_shape(x_shape, w_shape, **geometry):
    """(N, K, P, Q) of conv2d_forward for these shapes; clcnn.Error if they do
    not fit. geometry: padding, stride, dilation as conv2d_forward."""
    p = conv2d_params(**geometry)
    xs, ws, ys = (ctypes.c_int * 4)(*x_shape), (ctypes.c_int * 4)(*w_shape), (ctypes.c_int * 4)()
    message = ctypes.create_string_buffer(512)
    _lib.check_message(lib.clcnn_conv2d_output_shape(xs, ws, ctypes.byref(p), ys, message,
                                                     len(message)), message)
    return tuple(ys)


class _Operands:
    """Device tensors for a call: Tensors as given, arrays copied in (and freed
    on the way out)."""

    def __init__(self, ctx):
        self.ctx, self.temporary = ctx, []

    def tensor(self, value, what):
        if value is None:
            return None
        if isinstance(value, Tensor):
            return value
        t = Tensor.from_numpy(self.ctx, _float32_4d(value, what))
        self.temporary.append(t)
        return t

    def new(self, shape, zero=False):
        t = Tensor(self.ctx, shape)
        self.temporary.append(t)
        return t.fill(0.0) if zero else t

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for t in self.temporary:
            t.close()


def _handle(t):
    return t.handle if t is not None else None


def conv2d_forward(ctx, x, w, b=None, *, padding=0, stride=1, dilation=1, algo="auto",
                   out=None):
    """y = conv(x, w) + b: x (N,C,H,W), w (K,C,R,S), b (K,) or (K,1,1,1) or
    None -> y (N,K,P,Q). A cross-correlation, as in PyTorch and cuDNN.
    Returns a numpy array, or out (a Tensor of the output shape) when given."""
    with _Operands(ctx) as ops:
        tx, tw = ops.tensor(x, "x"), ops.tensor(w, "w")
        if b is not None and not isinstance(b, Tensor):
            b = np.reshape(np.asarray(b, dtype=np.float32), (-1, 1, 1, 1))
        tb = ops.tensor(b, "b")
        p = conv2d_params(padding, stride, dilation, algo)
        ty = out if out is not None else ops.new(
            conv2d_output_shape(tx.shape, tw.shape, padding=padding, stride=stride,
                                dilation=dilation))
        _lib.check(lib.clcnn_conv2d_forward(ctx.handle, tx.handle, tw.handle, _handle(tb),
                                            ty.handle, ctypes.byref(p)), ctx.handle)
        return out if out is not None else ty.numpy()


def conv2d_backward_data(ctx, dy, w, x_shape=None, *, padding=0, stride=1, dilation=1,
                         out=None):
    """dx = d(loss)/dx (N,C,H,W) from dy (N,K,P,Q) and w (K,C,R,S). x_shape is
    the forward input's shape (a stride leaves it ambiguous); out (a Tensor)
    instead receives dx, overwritten."""
    if out is None and x_shape is None:
        raise ValueError("conv2d_backward_data needs x_shape (N, C, H, W) or out")
    with _Operands(ctx) as ops:
        tdy, tw = ops.tensor(dy, "dy"), ops.tensor(w, "w")
        p = conv2d_params(padding, stride, dilation)
        tdx = out if out is not None else ops.new(x_shape)
        _lib.check(lib.clcnn_conv2d_backward_data(ctx.handle, tdy.handle, tw.handle, tdx.handle,
                                                  ctypes.byref(p)), ctx.handle)
        return out if out is not None else tdx.numpy()


def conv2d_backward_filter(ctx, x, dy, w_shape=None, *, bias=False, padding=0, stride=1,
                           dilation=1, out=None, out_bias=None):
    """dw = d(loss)/dw (K,C,R,S) from x (N,C,H,W) and dy (N,K,P,Q); with
    bias=True also db (K,), returned as (dw, db). With out (and out_bias,
    Tensors) the gradients are added to them, as the C API does; otherwise
    they start from zero."""
    if out is None and w_shape is None:
        raise ValueError("conv2d_backward_filter needs w_shape (K, C, R, S) or out")
    with _Operands(ctx) as ops:
        tx, tdy = ops.tensor(x, "x"), ops.tensor(dy, "dy")
        p = conv2d_params(padding, stride, dilation)
        tdw = out if out is not None else ops.new(w_shape, zero=True)
        tdb = out_bias
        if bias and tdb is None:
            tdb = ops.new((tdw.shape[0], 1, 1, 1), zero=True)
        _lib.check(lib.clcnn_conv2d_backward_filter(ctx.handle, tx.handle, tdy.handle,
                                                    tdw.handle, _handle(tdb), ctypes.byref(p)),
                   ctx.handle)
        dw = out if out is not None else tdw.numpy()
        if tdb is None:
            return dw
        return dw, (out_bias if out_bias is not None else tdb.numpy().reshape(-1))
