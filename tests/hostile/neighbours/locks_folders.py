# expect: conv_shapes=passed convnet_shape=passed intermediate_size=passed
"""Leaves 100 MB files under folders set to mode 000 in /tmp, /dev/shm and its work folder, so
that a wipe run as its uid without care leaves them (and their memory) behind."""
import os

for root in ("/tmp", "/dev/shm", "."):
    try:
        inner = os.path.join(root, "locked", "inner")
        os.makedirs(inner)
        with open(os.path.join(inner, "blob"), "wb") as f:
            f.write(b"\x01" * (100 << 20 if root != "." else 20 << 20))
        os.chmod(inner, 0)
        os.chmod(os.path.join(root, "locked"), 0)
    except OSError:
        pass
