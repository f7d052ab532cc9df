"""clcnn from Python: the convolutional-network engine on OpenCL, through
ctypes on libclcnn.so, with numpy arrays in and out (no compiled extension).

    import clcnn
    net = clcnn.Net.load("lenet5.clcnn")            # written by `clcnn train --out`
    images, labels = clcnn.load_idx("data/mnist", "t10k")
    probs = net.predict(images[:5])                 # uint8 pixels are normalised
    print(probs.argmax(axis=1), labels[:5])

    ctx = clcnn.Context()
    y = clcnn.conv2d_forward(ctx, x, w, padding=1)  # x (N,C,H,W), w (K,C,R,S)

The library is found through $CLCNN_LIBRARY (a path to libclcnn.so), else
where `meson install` put it, else ctypes.util.find_library("clcnn"). A
failed call raises clcnn.Error carrying the library's sentence.
"""
from ._lib import Error, lib as _lib_handle
from .context import Context
from .conv2d import (conv2d_backward_data, conv2d_backward_filter, conv2d_forward,
                     conv2d_output_shape)
from .data import load_idx
from .net import MNIST_MEAN, MNIST_STD, Net, normalize
from .tensor import Tensor

__version__ = _lib_handle.clcnn_version().decode()
__all__ = ["Context", "Error", "MNIST_MEAN", "MNIST_STD", "Net", "Tensor",
           "conv2d_backward_data", "conv2d_backward_filter", "conv2d_forward",
           "conv2d_output_shape", "load_idx", "normalize"]
