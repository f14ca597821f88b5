"""Minimal RIFF/WAVE writer and reader (numpy only).

Formats: "int16" and "int24" PCM (format tag 1, readable by Python's wave
module), "float" = 32-bit IEEE float (format tag 3, with a `fact` chunk).
Data are given as float arrays (frames x channels) in units of full scale
(+-1.0); integer formats are rounded and clipped to the code range.
"""
import struct
import numpy as np

FORMATS = {"int16": (1, 16), "int24": (1, 24), "float": (3, 32)}


def write_wav(path, data, rate, fmt):
    data = np.asarray(data, float)
    if data.ndim == 1:
        data = data[:, None]
    frames, ch = data.shape
    tag, bits = FORMATS[fmt]
    nbytes = bits // 8
    if fmt == "float":
        payload = data.astype("<f4").tobytes()
    elif fmt == "int16":
        q = np.clip(np.round(data * 32767.0), -32768, 32767).astype("<i2")
        payload = q.tobytes()
    else:
        q = np.clip(np.round(data * 8388607.0), -8388608, 8388607).astype("<i4")
        payload = q.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    block = ch * nbytes
    if tag == 3:
        fmt_chunk = struct.pack("<4sIHHIIHHH", b"fmt ", 18, tag, ch, rate,
                                rate * block, block, bits, 0)
        fact = struct.pack("<4sII", b"fact", 4, frames)
    else:
        fmt_chunk = struct.pack("<4sIHHIIHH", b"fmt ", 16, tag, ch, rate,
                                rate * block, block, bits)
        fact = b""
    pad = b"\x00" if len(payload) % 2 else b""
    data_hdr = struct.pack("<4sI", b"data", len(payload))
    riff_len = 4 + len(fmt_chunk) + len(fact) + len(data_hdr) + len(payload) + len(pad)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<4sI4s", b"RIFF", riff_len, b"WAVE"))
        fh.write(fmt_chunk)
        fh.write(fact)
        fh.write(data_hdr)
        fh.write(payload)
        fh.write(pad)


def read_wav(path):
    """Return (data in full-scale units, frames x channels; rate; fmt)."""
    with open(path, "rb") as fh:
        raw = fh.read()
    assert raw[:4] == b"RIFF" and raw[8:12] == b"WAVE", "not a WAVE file"
    pos, info, data = 12, None, None
    while pos + 8 <= len(raw):
        cid, size = struct.unpack("<4sI", raw[pos:pos + 8])
        body = raw[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            info = struct.unpack("<HHIIHH", body[:16])
        elif cid == b"data":
            data = body
        pos += 8 + size + (size & 1)
    tag, ch, rate, _, _, bits = info
    if tag == 3:
        x = np.frombuffer(data, "<f4").astype(float)
        fmt = "float"
    elif bits == 16:
        x = np.frombuffer(data, "<i2") / 32767.0
        fmt = "int16"
    else:
        b = np.frombuffer(data, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v / 8388607.0
        fmt = "int24"
    return x.reshape(-1, ch), rate, fmt
