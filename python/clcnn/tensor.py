# clcnn.Tensor: a float32 NCHW device buffer (clcnn_tensor), filled from and
# read back into numpy arrays.
import ctypes

import numpy as np

from . import _lib
from ._lib import lib


def _float32_4d(array, what="array"):
    a = np.ascontiguousarray(array, dtype=np.float32)
    if a.ndim != 4:
        raise ValueError(f"{what} must have 4 dimensions (N, C, H, W), not shape {a.shape}")
    return a


def _floats(a):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


class Tensor(_lib.Handle):
    """A float32 tensor of shape (N, C, H, W) on a Context's device.

    Tensor(ctx, shape) has undefined contents; Tensor.from_numpy(ctx, array)
    copies a 4-D array (converted to float32). t.numpy() copies it back,
    waiting for the work queued on the context. close() frees it at once;
    otherwise it is freed when no longer referenced or with its context.
    """

    def __init__(self, ctx, shape):
        shape = tuple(int(d) for d in shape)
        if len(shape) != 4:
            raise ValueError(f"a clcnn tensor has 4 dimensions (N, C, H, W), not {shape}")
        handle = ctypes.c_void_p()
        _lib.check(lib.clcnn_tensor_create(ctx.handle, *shape, ctypes.byref(handle)),
                   ctx.handle)
        self.context = ctx
        self._handle = handle.value
        self._destroy = lib.clcnn_tensor_destroy
        ctx._adopt(self)

    @classmethod
    def from_numpy(cls, ctx, array):
        a = _float32_4d(array)
        t = cls(ctx, a.shape)
        try:
            t.write(a)
        except BaseException:
            t.close()
            raise
        return t

    @property
    def handle(self):
        if not self._handle:
            raise ValueError("the clcnn.Tensor is closed")
        return self._handle

    @property
    def shape(self):
        s = (ctypes.c_int * 4)()
        lib.clcnn_tensor_shape(self.handle, s)
        return tuple(s)

    @property
    def size(self):
        n, c, h, w = self.shape
        return n * c * h * w

    def write(self, array):
        """Copies array (its shape must be the tensor's) into the tensor."""
        a = _float32_4d(array)
        if a.shape != self.shape:
            raise ValueError(f"array shape {a.shape} is not the tensor's {self.shape}")
        _lib.check(lib.clcnn_tensor_write(self.handle, _floats(a), a.size), self.context.handle)

    def numpy(self):
        """The tensor's values as a new float32 array of its shape."""
        a = np.empty(self.shape, dtype=np.float32)
        _lib.check(lib.clcnn_tensor_read(self.handle, _floats(a), a.size), self.context.handle)
        return a

    def fill(self, value):
        _lib.check(lib.clcnn_tensor_fill(self.handle, float(value)), self.context.handle)
        return self

    def close(self):
        if self._handle:
            self._destroy(self._handle)
            self._handle = None

    def __repr__(self):
        return f"<clcnn.Tensor {self.shape}>" if self._handle else "<clcnn.Tensor closed>"
