# Prints where the clcnn package should go for an install under PREFIX: the
# first entry of this interpreter's sys.path below PREFIX/lib that is a
# site-packages or dist-packages folder, else FALLBACK (meson's choice).
# Usage: site_dir.py PREFIX FALLBACK
import os
import sys

prefix, fallback = os.path.normpath(sys.argv[1]), sys.argv[2]
lib = os.path.join(prefix, "lib") + os.sep
for entry in sys.path:
    if entry.startswith(lib) and os.path.basename(entry) in ("site-packages", "dist-packages"):
        print(entry)
        break
else:
    print(fallback)
