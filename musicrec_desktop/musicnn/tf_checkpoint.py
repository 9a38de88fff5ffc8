"""Reads TensorFlow checkpoints (the tensor-bundle format) without TensorFlow or protobuf.

A checkpoint ``PREFIX`` is two files:

- ``PREFIX.index``: an SSTable (the leveldb table format, uncompressed) mapping each variable name
  to a ``BundleEntryProto`` (dtype, shape, shard id, offset, size, masked CRC32C); the entry under
  the empty name is the ``BundleHeaderProto`` (number of shards, endianness).
- ``PREFIX.data-SSSSS-of-NNNNN``: the raw little-endian tensor bytes, one file per shard.

Only what plain variables need is read: dense tensors of numeric types. Sliced (partitioned)
variables and string tensors raise CheckpointError, as does any checksum that does not match.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicrec_desktop.errors import MusicrecError

TABLE_MAGIC = 0xDB4775248B80FB57  # leveldb's table footer magic number
FOOTER_BYTES = 48  # two block handles padded to 40 bytes, then the 8-byte magic
BLOCK_TRAILER_BYTES = 5  # compression type (1 byte) + masked CRC32C (4 bytes)

# TensorFlow DataType enum -> numpy dtype (little-endian), for the types a model's weights use.
DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"),  # DT_FLOAT
    2: np.dtype("<f8"),  # DT_DOUBLE
    3: np.dtype("<i4"),  # DT_INT32
    4: np.dtype("u1"),  # DT_UINT8
    5: np.dtype("<i2"),  # DT_INT16
    6: np.dtype("i1"),  # DT_INT8
    9: np.dtype("<i8"),  # DT_INT64
    10: np.dtype("?"),  # DT_BOOL
    19: np.dtype("<f2"),  # DT_HALF
}


class CheckpointError(MusicrecError):
    """A checkpoint that cannot be read: names the file and what is wrong with it."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class TensorEntry:
    """Where one variable lies in the data files (a decoded ``BundleEntryProto``)."""

    name: str
    dtype: int  # TensorFlow DataType number
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int  # bytes
    crc32c: int  # masked CRC32C of the tensor's bytes
    sliced: bool


class TFCheckpoint:
    """``ckpt = TFCheckpoint(prefix)``; ``ckpt.names()``; ``array = ckpt.read("dense/kernel")``."""

    def __init__(self, prefix: Path | str) -> None:
        self.prefix = str(prefix)
        self.index_path = Path(self.prefix + ".index")
        try:
            table = self.index_path.read_bytes()
        except OSError as exc:
            raise CheckpointError(self.index_path, f"cannot read the index ({exc.strerror})") from exc
        records = read_table(table, self.index_path)
        header = records.pop("", None)
        if header is None:
            raise CheckpointError(self.index_path, "no bundle header (not a TensorFlow V2 checkpoint)")
        fields = _message(header, self.index_path)
        self.shards = int(fields.get(1, [1])[0])
        if fields.get(2, [0])[0] != 0:
            raise CheckpointError(self.index_path, "big-endian checkpoint, only little-endian is read")
        self.entries = {name: _entry(name, value, self.index_path) for name, value in records.items()}

    def names(self) -> list[str]:
        return sorted(self.entries)

    def shape(self, name: str) -> tuple[int, ...]:
        return self._entry(name).shape

    def read(self, name: str) -> np.ndarray:
        """The variable as a numpy array of its dtype and shape; its checksum is verified."""
        entry = self._entry(name)
        dtype = DTYPES.get(entry.dtype)
        if dtype is None:
            raise CheckpointError(self.index_path, f"{name}: TensorFlow dtype {entry.dtype} is not read")
        if entry.sliced:
            raise CheckpointError(self.index_path, f"{name}: sliced variables are not read")
        path = Path(f"{self.prefix}.data-{entry.shard:05d}-of-{self.shards:05d}")
        try:
            with open(path, "rb") as f:
                f.seek(entry.offset)
                raw = f.read(entry.size)
        except OSError as exc:
            raise CheckpointError(path, f"cannot read {name} ({exc.strerror})") from exc
        if len(raw) != entry.size:
            raise CheckpointError(path, f"{name}: file ends {entry.size - len(raw)} bytes early")
        if masked_crc32c(raw) != entry.crc32c:
            raise CheckpointError(path, f"{name}: checksum does not match (damaged file)")
        expected = int(np.prod(entry.shape, dtype=np.int64)) * dtype.itemsize
        if expected != entry.size:
            raise CheckpointError(path, f"{name}: {entry.size} bytes for shape {entry.shape}")
        return np.frombuffer(raw, dtype=dtype).reshape(entry.shape).copy()

    def _entry(self, name: str) -> TensorEntry:
        try:
            return self.entries[name]
        except KeyError:
            raise CheckpointError(self.index_path, f"no variable named {name!r}") from None


# --- the leveldb table (SSTable) ---------------------------------------------------------------

def read_table(data: bytes, path: Path) -> dict[str, bytes]:
    """Every key -> value of an uncompressed leveldb table held in ``data``."""
    if len(data) < FOOTER_BYTES:
        raise CheckpointError(path, f"{len(data)} bytes, too short for a table")
    footer = data[-FOOTER_BYTES:]
    if struct.unpack("<Q", footer[-8:])[0] != TABLE_MAGIC:
        raise CheckpointError(path, "not an SSTable (bad magic number)")
    _, pos = _handle(footer, 0, path)  # the metaindex block: TensorFlow leaves it empty
    index_handle, _ = _handle(footer, pos, path)
    records: dict[str, bytes] = {}
    for _, handle_bytes in _block(data, index_handle, path):
        block_handle, _ = _handle(handle_bytes, 0, path)
        for key, value in _block(data, block_handle, path):
            records[key.decode("utf-8")] = value
    return records


def _handle(buf: bytes, pos: int, path: Path) -> tuple[tuple[int, int], int]:
    offset, pos = _varint(buf, pos, path)
    size, pos = _varint(buf, pos, path)
    return (offset, size), pos


def _block(data: bytes, handle: tuple[int, int], path: Path) -> list[tuple[bytes, bytes]]:
    """The (key, value) entries of one block; keys are prefix-compressed against the previous."""
    offset, size = handle
    end = offset + size
    if end + BLOCK_TRAILER_BYTES > len(data):
        raise CheckpointError(path, f"block at {offset} runs past the end of the file")
    block = data[offset:end]
    kind = data[end]
    if kind != 0:
        raise CheckpointError(path, f"block at {offset} is compressed (type {kind}), not supported")
    (stored_crc,) = struct.unpack("<I", data[end + 1:end + BLOCK_TRAILER_BYTES])
    if masked_crc32c(block + bytes([kind])) != stored_crc:
        raise CheckpointError(path, f"block at {offset}: checksum does not match (damaged file)")
    (restarts,) = struct.unpack("<I", block[-4:])
    entries_end = len(block) - 4 - 4 * restarts
    entries, pos, key = [], 0, b""
    while pos < entries_end:
        shared, pos = _varint(block, pos, path)
        unshared, pos = _varint(block, pos, path)
        value_size, pos = _varint(block, pos, path)
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        entries.append((key, block[pos:pos + value_size]))
        pos += value_size
    return entries


# --- protobuf wire format (just what the bundle messages use) -----------------------------------

def _varint(buf: bytes, pos: int, path: Path) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise CheckpointError(path, "truncated number")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _message(buf: bytes, path: Path) -> dict[int, list]:
    """field number -> values: ints for varint/fixed fields, bytes for length-delimited ones."""
    fields: dict[int, list] = {}
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos, path)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos, path)
        elif wire == 1:
            (value,) = struct.unpack("<Q", buf[pos:pos + 8])
            pos += 8
        elif wire == 2:
            size, pos = _varint(buf, pos, path)
            value = buf[pos:pos + size]
            pos += size
        elif wire == 5:
            (value,) = struct.unpack("<I", buf[pos:pos + 4])
            pos += 4
        else:
            raise CheckpointError(path, f"protobuf wire type {wire} is not read")
        fields.setdefault(number, []).append(value)
    return fields


def _entry(name: str, value: bytes, path: Path) -> TensorEntry:
    """A ``BundleEntryProto``: dtype=1, shape=2, shard_id=3, offset=4, size=5, crc32c=6, slices=7."""
    fields = _message(value, path)
    shape_fields = _message(fields.get(2, [b""])[0], path)  # TensorShapeProto: dim=2
    dims = tuple(int(_message(d, path).get(1, [0])[0]) for d in shape_fields.get(2, []))
    return TensorEntry(name=name, dtype=int(fields.get(1, [0])[0]), shape=dims,
                       shard=int(fields.get(3, [0])[0]), offset=int(fields.get(4, [0])[0]),
                       size=int(fields.get(5, [0])[0]), crc32c=int(fields.get(6, [0])[0]),
                       sliced=7 in fields)


# --- CRC32C (Castagnoli), masked as leveldb and TensorFlow store it ------------------------------

def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """The stored form: a CRC of data that itself holds CRCs must not look like one."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
