# Finds libclcnn.so, declares the C functions the package calls with their
# ctypes signatures, and turns a failed clcnn_status into clcnn.Error.
# Only this file knows the C structs; the others speak Python and numpy.
import ctypes
import ctypes.util
import os

c_int, c_float, c_size_t, c_char_p, c_void_p = (
    ctypes.c_int, ctypes.c_float, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p)
P = ctypes.POINTER


class Error(Exception):
    """A clcnn call failed: str(error) is the library's sentence
    (clcnn_last_error), .status the clcnn_status value and .name its name
    ("CLCNN_ERR_SHAPE")."""

    def __init__(self, status, message):
        self.status = int(status)
        self.name = status_name(status)
        self.message = message
        super().__init__(f"{message} ({self.name})" if message else self.name)


class Handle:
    """A library handle closed by close(), a with-block or the collector."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None):
            self.close()


class ContextOptions(ctypes.Structure):
    _fields_ = [("device", c_char_p), ("cache_dir", c_char_p), ("kernel_dir", c_char_p),
                ("kernels", c_int)]  # clcnn_kernel_family; 0: AUTO


class DeviceInfo(ctypes.Structure):
    _fields_ = [("platform_index", c_int), ("device_index", c_int),
                ("platform_name", ctypes.c_char * 128), ("device_name", ctypes.c_char * 128),
                ("device_version", ctypes.c_char * 128), ("driver_version", ctypes.c_char * 128),
                ("is_gpu", c_int), ("compute_units", ctypes.c_uint),
                ("max_clock_mhz", ctypes.c_uint), ("global_mem_bytes", ctypes.c_ulonglong)]


class Conv2dParams(ctypes.Structure):
    _fields_ = [("pad_top", c_int), ("pad_bottom", c_int), ("pad_left", c_int),
                ("pad_right", c_int), ("stride_h", c_int), ("stride_w", c_int),
                ("dilation_h", c_int), ("dilation_w", c_int), ("algo", c_int),
                ("groups", c_int)]


class LayerInfo(ctypes.Structure):
    _fields_ = [("text", ctypes.c_char * 96), ("out_shape", c_int * 4),
                ("param_count", c_size_t)]


def _candidates():
    """Where to look for the library, in order, with a word on each."""
    env = os.environ.get("CLCNN_LIBRARY")
    if env:
        # set on purpose: nothing else is tried, so a wrong path is not hidden
        return [(env, "CLCNN_LIBRARY")]
    found = []
    try:
        from . import _paths  # written by meson install
        found.append((os.path.join(_paths.LIBDIR, "libclcnn.so." + _paths.SOVERSION),
                      "the installed library"))
    except ImportError:
        pass
    name = ctypes.util.find_library("clcnn")
    if name:
        found.append((name, "ctypes.util.find_library"))
    return found


def _load():
    tried = []
    for path, where in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({where}): {e}")
    raise ImportError("clcnn: libclcnn.so was not found"
                      + (": tried " + "; ".join(tried) if tried else "")
                      + ". Set CLCNN_LIBRARY to its path (e.g. build/libclcnn.so) "
                      "or install clcnn with 'meson install'.")


lib = _load()

# name: (restype, argtypes)
_SIGNATURES = {
    "clcnn_status_name": (c_char_p, [c_int]),
    "clcnn_version": (c_char_p, []),
    "clcnn_last_error": (c_char_p, [c_void_p]),
    "clcnn_context_create": (c_int, [P(ContextOptions), P(c_void_p), c_char_p, c_size_t]),
    "clcnn_context_destroy": (None, [c_void_p]),
    "clcnn_context_device": (c_int, [c_void_p, P(DeviceInfo)]),
    "clcnn_context_finish": (c_int, [c_void_p]),
    "clcnn_tensor_create": (c_int, [c_void_p, c_int, c_int, c_int, c_int, P(c_void_p)]),
    "clcnn_tensor_destroy": (None, [c_void_p]),
    "clcnn_tensor_shape": (None, [c_void_p, P(c_int)]),
    "clcnn_tensor_write": (c_int, [c_void_p, P(c_float), c_size_t]),
    "clcnn_tensor_read": (c_int, [c_void_p, P(c_float), c_size_t]),
    "clcnn_tensor_fill": (c_int, [c_void_p, c_float]),
    "clcnn_conv2d_output_shape": (c_int, [P(c_int), P(c_int), P(Conv2dParams), P(c_int),
                                          c_char_p, c_size_t]),
    "clcnn_conv2d_forward": (c_int, [c_void_p, c_void_p, c_void_p, c_void_p, c_void_p,
                                     P(Conv2dParams)]),
    "clcnn_conv2d_backward_data": (c_int, [c_void_p, c_void_p, c_void_p, c_void_p,
                                           P(Conv2dParams)]),
    "clcnn_conv2d_backward_filter": (c_int, [c_void_p, c_void_p, c_void_p, c_void_p, c_void_p,
                                             P(Conv2dParams)]),
    "clcnn_net_load": (c_int, [c_void_p, c_char_p, c_int, P(c_void_p), c_void_p, c_void_p]),
    "clcnn_net_load_onnx": (c_int, [c_void_p, c_char_p, c_int, P(c_void_p)]),
    "clcnn_net_save_onnx": (c_int, [c_void_p, c_char_p]),
    "clcnn_net_destroy": (None, [c_void_p]),
    "clcnn_net_spec": (c_char_p, [c_void_p]),
    "clcnn_net_input_shape": (None, [c_void_p, P(c_int)]),
    "clcnn_net_classes": (c_int, [c_void_p]),
    "clcnn_net_param_count": (c_size_t, [c_void_p]),
    "clcnn_net_layer_count": (c_int, [c_void_p]),
    "clcnn_net_layer": (c_int, [c_void_p, c_int, P(LayerInfo)]),
    "clcnn_net_predict": (c_int, [c_void_p, P(c_float), c_int, P(c_float)]),
    "clcnn_dataset_load_dir": (c_int, [c_char_p, c_char_p, P(c_void_p), c_char_p, c_size_t]),
    "clcnn_dataset_destroy": (None, [c_void_p]),
    "clcnn_dataset_count": (c_size_t, [c_void_p]),
    "clcnn_dataset_shape": (None, [c_void_p, P(c_int), P(c_int), P(c_int)]),
    "clcnn_dataset_batch": (c_int, [c_void_p, P(c_size_t), c_size_t, c_float, c_float,
                                    P(c_float), P(c_float)]),
}
for _name, (_res, _args) in _SIGNATURES.items():
    _f = getattr(lib, _name)
    _f.restype, _f.argtypes = _res, _args

ERR_NO_DEVICE = 3
# clcnn_dataset_batch's normalisation with the float constants of clcnn.h
# (CLCNN_MNIST_MEAN 0.1307f, CLCNN_MNIST_STD 0.3081f), as training uses them
MNIST_MEAN = ctypes.c_float(0.1307).value
MNIST_STD = ctypes.c_float(0.3081).value


def status_name(status):
    return lib.clcnn_status_name(int(status)).decode()


def check(status, ctx_handle):
    """Raises Error with the context's last message unless status is 0."""
    if status != 0:
        raise Error(status, lib.clcnn_last_error(ctx_handle).decode(errors="replace"))


def check_message(status, buffer):
    """As check, for the calls that report into a caller's buffer."""
    if status != 0:
        raise Error(status, buffer.value.decode(errors="replace"))


def text(s):
    return None if s is None else os.fsencode(s)
