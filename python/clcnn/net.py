# clcnn.Net: a trained model file or ONNX model loaded for inference
# (clcnn_net_load, clcnn_net_load_onnx, clcnn_net_predict), with the input
# normalisation that clcnn train uses.
import ctypes
import os

import numpy as np

from . import _lib
from ._lib import lib
from .context import Context

MNIST_MEAN, MNIST_STD = _lib.MNIST_MEAN, _lib.MNIST_STD


def normalize(images, mean=MNIST_MEAN, std=MNIST_STD):
    """Pixels 0..255 -> float32 (p / 255 - mean) / std, computed as
    clcnn_dataset_batch does for training and evaluation (in float64, then
    rounded). clcnn train always uses MNIST's mean and standard deviation."""
    p = np.asarray(images, dtype=np.float64)
    return ((p / 255.0 - float(mean)) / float(std)).astype(np.float32)


class Net(_lib.Handle):
    """A sequential network loaded from a model file or checkpoint written
    by `clcnn train` (or clcnn_net_save). Use Net.load(path)."""

    def __init__(self):
        raise TypeError("use clcnn.Net.load(path)")

    @classmethod
    def load(cls, path, batch=0, context=None, device=None):
        """Loads path (validated, checksum included) for batches of up to
        batch images (0: the batch size it was saved with). A path ending in
        .onnx is read as an ONNX model (clcnn_net_load_onnx; batch 0: the
        model's batch size when fixed, else 1). context: the Context to run
        on; None makes one (on device, a selector as CLCNN_DEVICE takes) that
        this Net owns and closes."""
        own = context is None
        ctx = Context(device) if own else context
        handle = ctypes.c_void_p()
        try:
            if os.fspath(path).endswith(".onnx"):
                st = lib.clcnn_net_load_onnx(ctx.handle, os.fsencode(path), int(batch),
                                             ctypes.byref(handle))
            else:
                st = lib.clcnn_net_load(ctx.handle, os.fsencode(path), int(batch),
                                        ctypes.byref(handle), None, None)
            _lib.check(st, ctx.handle)
        except BaseException:
            if own:
                ctx.close()
            raise
        self = object.__new__(cls)
        self.context, self._own_context = ctx, own
        self._handle = handle.value
        self._destroy = lib.clcnn_net_destroy
        ctx._adopt(self)
        shape = (ctypes.c_int * 4)()
        lib.clcnn_net_input_shape(self._handle, shape)
        self.batch, self.input_shape = shape[0], tuple(shape[1:])
        self.classes = lib.clcnn_net_classes(self._handle)
        self.spec = lib.clcnn_net_spec(self._handle).decode()
        return self

    @property
    def handle(self):
        if not self._handle:
            raise ValueError("the clcnn.Net is closed")
        return self._handle

    @property
    def param_count(self):
        return lib.clcnn_net_param_count(self.handle)

    @property
    def layers(self):
        """[(text, output shape (C, H, W), parameter count)] per layer."""
        out = []
        for i in range(lib.clcnn_net_layer_count(self.handle)):
            info = _lib.LayerInfo()
            _lib.check(lib.clcnn_net_layer(self.handle, i, ctypes.byref(info)),
                       self.context.handle)
            out.append((info.text.decode(), tuple(info.out_shape[1:]), info.param_count))
        return out

    def _input(self, images):
        c, h, w = self.input_shape
        a = np.asarray(images)
        raw = a.dtype == np.uint8
        if a.ndim == 2 and c == 1:
            a = a[None, None]
        elif a.ndim == 3 and c == 1:
            a = a[:, None]
        if a.ndim != 4 or a.shape[1:] != (c, h, w):
            raise ValueError(f"images of shape {np.shape(images)} do not fit the network's "
                             f"input (N, {c}, {h}, {w})"
                             + (f", (N, {h}, {w}) or ({h}, {w})" if c == 1 else ""))
        return np.ascontiguousarray(normalize(a) if raw else a, dtype=np.float32)

    def predict(self, images):
        """Class probabilities (N, classes) float32 for images: (N, C, H, W),
        or (N, H, W) and (H, W) for one-channel networks. uint8 images are
        raw pixels and are normalised as in training (normalize()); float
        images are taken as already normalised network input."""
        x = self._input(images)
        n = x.shape[0]
        probs = np.empty((n, self.classes), dtype=np.float32)
        fp = ctypes.POINTER(ctypes.c_float)
        for start in range(0, n, self.batch):
            count = min(self.batch, n - start)
            _lib.check(lib.clcnn_net_predict(self.handle, x[start:].ctypes.data_as(fp), count,
                                             probs[start:].ctypes.data_as(fp)),
                       self.context.handle)
        return probs

    def save_onnx(self, path):
        """Writes the network as an ONNX model (clcnn_net_save_onnx): input
        "input" (N, C, H, W), output "output" (N, classes), opset 13."""
        _lib.check(lib.clcnn_net_save_onnx(self.handle, os.fsencode(path)), self.context.handle)

    def close(self):
        if self._handle:
            self._destroy(self._handle)
            self._handle = None
            if self._own_context:
                self.context.close()

    def __repr__(self):
        return f"<clcnn.Net {self.spec!r}>" if self._handle else "<clcnn.Net closed>"
