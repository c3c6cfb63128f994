"""Progress of the OpenStreetMap pipeline (plan, download, verify, clip, build, lodging) and the
disk errors its steps share.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from geo.errors import GraphBuildError

__all__ = ["CHUNK_BYTES", "ProgressCallback", "ProgressEvent", "disk_error", "emit"]

CHUNK_BYTES = 1 << 20
"""Block size for reading and writing extracts (1 MiB)."""


@dataclass(frozen=True)
class ProgressEvent:
    """A step of :func:`build_graph_for_sites`.

    ``stage`` is ``plan``, ``download``, ``verify``, ``clip``, ``build``, ``lodging`` or ``done``;
    ``done`` and
    ``total`` count bytes for download/verify and road ways for clip (``total`` is None when not
    known); ``message`` is a line a person can read.
    """

    stage: str
    label: str
    done: int = 0
    total: int | None = None
    message: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


def emit(progress: ProgressCallback | None, event: ProgressEvent) -> None:
    if progress is not None:
        progress(event)


def disk_error(exc: OSError, where: Path, need_bytes: int | None = None) -> GraphBuildError:
    if exc.errno == errno.ENOSPC or need_bytes is not None:
        need = f" (about {need_bytes / 1e6:,.0f} MB more are needed)" if need_bytes else ""
        return GraphBuildError(
            f"the disk is full in {where}{need}. Free some space, or point the cache at a "
            "bigger disk with TRIALREACH_CACHE_DIR, then run the command again (downloads "
            "resume where they stopped)."
        )
    return GraphBuildError(f"cannot write to {where}: {exc}")
