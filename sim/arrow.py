"""Arrow arrays over numpy memory, built from buffers.

``pyarrow.array`` imports pandas the first time it is called (to check whether it was handed
pandas objects), and a worker that only simulates and writes Parquet has no other use for
pandas: importing it cost a third of a worker's start-up. These builders make the same
arrays from the columns' buffers directly, without copying numeric data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

_NUMPY = {pa.int64(): np.int64, pa.int32(): np.int32, pa.float64(): np.float64}


def _bits(mask: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(mask.astype(bool), bitorder="little"))


def from_numpy(values: np.ndarray, kind: pa.DataType) -> pa.Array:
    """``values`` as an Arrow array of type ``kind`` (int64, int32, float64, bool or
    timestamp); NaT and NaN become null (the data buffer keeps the NaN under it)."""
    n = len(values)
    if kind == pa.bool_():
        return pa.Array.from_buffers(kind, n, [None, _bits(values)])
    if pa.types.is_timestamp(kind):
        ticks = np.ascontiguousarray(values.astype(f"datetime64[{kind.unit}]").view(np.int64))
        missing = np.isnat(values)
        validity = _bits(~missing) if missing.any() else None
        return pa.Array.from_buffers(
            kind, n, [validity, pa.py_buffer(ticks)], null_count=int(missing.sum())
        )
    data = np.ascontiguousarray(values, dtype=_NUMPY[kind])
    missing = np.isnan(data) if kind == pa.float64() else None
    if missing is not None and missing.any():  # NaN is "no value": null, which every reader
        validity = _bits(~missing)  # skips (DuckDB's avg, count), not a number that poisons
        return pa.Array.from_buffers(
            kind, n, [validity, pa.py_buffer(data)], null_count=int(missing.sum())
        )
    return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(data)])


def strings(values: Sequence[str]) -> pa.Array:
    """A string array of ``values`` (offsets and UTF-8 bytes)."""
    encoded = [value.encode("utf-8") for value in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), len(encoded), buffers)


def dictionary(codes: np.ndarray, names: Sequence[str], ordered: bool = False) -> pa.Array:
    """The strings ``names[codes]`` as a dictionary array (int32 codes) whose dictionary is
    every name of ``names``, in that order, used or not; Parquet keeps it as written."""
    indices = from_numpy(codes.astype(np.int32), pa.int32())
    return pa.DictionaryArray.from_arrays(indices, strings(names), ordered=ordered)


def decoded(codes: np.ndarray, names: Sequence[str]) -> pa.Array:
    """The strings ``names[codes]`` as a plain string array."""
    return dictionary(codes, names).dictionary_decode()
