"""Read a `.safetensors` file into numpy arrays, without the safetensors or torch packages.

The format: 8 bytes (little-endian unsigned length n), n bytes of JSON naming each tensor's
dtype, shape and [start, end) byte range, then the raw little-endian data. The file is mapped
read-only, so each array is a view of the page cache: only the pages that are read (e.g. the
rows of an embedding table that prompts use) take memory.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

DTYPES: dict[str, str] = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}
MAX_HEADER = 100_000_000


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of the file by name, as read-only arrays (ValueError if malformed)."""
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) != 8:
            raise ValueError(f"{path}: too short for a safetensors file")
        (size,) = struct.unpack("<Q", head)
        if size > MAX_HEADER:
            raise ValueError(f"{path}: header of {size} bytes")
        header = json.loads(fh.read(size))
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    base = 8 + size
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = np.dtype(DTYPES[info["dtype"]])
        start, end = (base + int(o) for o in info["data_offsets"])
        shape = tuple(int(d) for d in info["shape"])
        if end > raw.size or end - start != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"{path}: tensor {name} does not fit its byte range")
        out[name] = raw[start:end].view(dtype).reshape(shape)
    return out
