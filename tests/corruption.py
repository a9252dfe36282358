"""Corrupt a registered version's stored artifact on disk, the ways disks and hands corrupt files."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

#: garbage: scrambled bytes of the same length; truncated: the first half; flipped: one bit of ``needle`` (a weight
#: of an ONNX model, a value in a YAML file) changed, so the file still loads and answers wrong; missing: gone
MODES = ("garbage", "truncated", "flipped", "missing")


def stored_file(source: str, filename: str) -> Path:
    """The file ``filename`` of a version stored on a local artifact store (``file://`` source)."""
    parsed = urlparse(source)
    assert parsed.scheme == "file", f"not a local artifact store: {source}"
    found = sorted(Path(unquote(parsed.path)).rglob(filename))
    assert len(found) == 1, (source, filename, found)
    return found[0]


def corrupt(path: Path, mode: str, needle: bytes = b"") -> None:
    data = path.read_bytes()
    if mode == "garbage":
        path.write_bytes(bytes((b * 7 + 13) % 256 for b in data))
    elif mode == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif mode == "flipped":
        at = data.find(needle) + len(needle) - 1 if needle else len(data) // 2  # the needle's last byte
        assert not needle or needle in data, f"{needle!r} is not in {path}"
        path.write_bytes(data[:at] + bytes([data[at] ^ 0x04]) + data[at + 1 :])
    elif mode == "missing":
        path.unlink()
    else:
        raise ValueError(f"mode must be one of {MODES}. Got {mode!r} instead.")
