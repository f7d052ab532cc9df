# IDX data sets (MNIST and Fashion-MNIST format) read by clcnn's own parser
# (clcnn_dataset_load_dir), returned as raw uint8 pixels and labels.
import ctypes
import os

import numpy as np

from . import _lib
from ._lib import lib


def load_idx(folder, which="t10k", limit=None):
    """(images uint8 (N, H, W), labels uint8 (N,)) from folder's
    WHICH-images-idx3-ubyte[.gz] and WHICH-labels-idx1-ubyte[.gz]; which is
    "train" or "t10k". limit keeps the first limit images."""
    handle = ctypes.c_void_p()
    error = ctypes.create_string_buffer(1024)
    _lib.check_message(lib.clcnn_dataset_load_dir(os.fsencode(folder), os.fsencode(which),
                                                  ctypes.byref(handle), error, len(error)),
                       error)
    try:
        n = lib.clcnn_dataset_count(handle)
        if limit is not None:
            n = min(n, int(limit))
        c, h, w = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        lib.clcnn_dataset_shape(handle, ctypes.byref(c), ctypes.byref(h), ctypes.byref(w))
        index = np.arange(n, dtype=np.uintp)
        x = np.empty((n, h.value, w.value), dtype=np.float32)
        y = np.empty(n, dtype=np.float32)
        fp = ctypes.POINTER(ctypes.c_float)
        # mean 0, std 1 gives p / 255 exactly rounded, so p comes back exactly
        st = lib.clcnn_dataset_batch(handle, index.ctypes.data_as(ctypes.POINTER(ctypes.c_size_t)),
                                     n, 0.0, 1.0, x.ctypes.data_as(fp), y.ctypes.data_as(fp))
        if st != 0:
            raise _lib.Error(st, "clcnn_dataset_batch failed")
    finally:
        lib.clcnn_dataset_destroy(handle)
    return np.rint(x * 255.0).astype(np.uint8), y.astype(np.uint8)
