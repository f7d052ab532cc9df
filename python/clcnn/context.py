# clcnn.Context: one OpenCL device with its queue and kernels (clcnn_context).
# It closes the tensors and networks made on it before itself, because the C
# library needs every tensor of a context destroyed before the context.
import ctypes
import weakref

from . import _lib
from ._lib import lib


class Context(_lib.Handle):
    """An OpenCL device for clcnn (clcnn_context_create).

    device: a selector as CLCNN_DEVICE takes ("P:D" or part of the device
    name); None reads CLCNN_DEVICE, else the first GPU, else the first CPU.
    cache_dir, kernel_dir: as clcnn_context_options ("" disables the cache).
    Use it from one thread at a time. close() (or a with block) frees it and
    everything made on it; it is also freed when no longer referenced.
    """

    def __init__(self, device=None, cache_dir=None, kernel_dir=None):
        options = _lib.ContextOptions(_lib.text(device), _lib.text(cache_dir),
                                      _lib.text(kernel_dir))
        handle = ctypes.c_void_p()
        error = ctypes.create_string_buffer(1024)
        _lib.check_message(lib.clcnn_context_create(ctypes.byref(options), ctypes.byref(handle),
                                                    error, len(error)), error)
        self._handle = handle.value
        self._children = weakref.WeakSet()
        # kept on the object: at interpreter exit module globals may be gone first
        self._destroy = lib.clcnn_context_destroy

    @property
    def handle(self):
        if not self._handle:
            raise ValueError("the clcnn.Context is closed")
        return self._handle

    def _adopt(self, child):
        self._children.add(child)

    def device_info(self):
        """The device as a dict of clcnn_device_info's fields."""
        info = _lib.DeviceInfo()
        _lib.check(lib.clcnn_context_device(self.handle, ctypes.byref(info)), self.handle)
        return {name: (v.decode(errors="replace") if isinstance(v, bytes) else v)
                for name, v in ((f, getattr(info, f)) for f, _ in info._fields_)}

    @property
    def device_name(self):
        return self.device_info()["device_name"]

    def finish(self):
        """Waits until every queued operation has completed."""
        _lib.check(lib.clcnn_context_finish(self.handle), self.handle)

    def close(self):
        """Frees the context and the tensors and networks still open on it."""
        handle, self._handle = self._handle, None
        if handle:
            # a Net that owns this context closes it again: a no-op by now
            for child in list(self._children):
                child.close()
            self._destroy(handle)

    def __repr__(self):
        if not self._handle:
            return "<clcnn.Context closed>"
        return f"<clcnn.Context on {self.device_name!r}>"
