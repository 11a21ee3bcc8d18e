# expect: conv_shapes=passed convnet_shape=passed intermediate_size=passed
"""Fills its work folder with 30,000 files and as many 50 MB files as it may write, stopping at the
first error, then does its own work (the host's disk and inodes must not fill)."""
import os

os.makedirs("many", exist_ok=True)
try:
    for i in range(30000):
        open(os.path.join("many", str(i)), "wb").close()
except OSError:
    pass
chunk = b"\x00" * (50 << 20)
try:
    for i in range(40):
        with open(f"big{i}", "wb") as f:
            f.write(chunk)
except OSError:
    pass
del chunk
