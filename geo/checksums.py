"""Checksums of files, read in 1 MiB blocks (graphs, extracts and lodging are keyed by them)."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["sha256_of"]

BLOCK_BYTES = 1 << 20


def sha256_of(path: Path) -> str:
    """SHA-256 of a file's contents (hex)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(BLOCK_BYTES), b""):
            h.update(block)
    return h.hexdigest()
