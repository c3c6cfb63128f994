"""Where graphs live in the cache, their names, their cross-process locks, atomic writes."""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from geo.errors import GraphBuildError, ValidationError
from geo.settings import Settings, get_settings

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def graphs_dir(settings: Settings | None = None) -> Path:
    """Where local graphs are kept: ``<cache_dir>/graphs``."""
    return (settings or get_settings()).cache_dir / "graphs"


def _check_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise ValidationError(
            f"graph name {name!r} is not usable: use lower-case letters, digits, '-', '_' or '.'"
        )
    return name


_LOCKS: dict[str, Any] = {}
_LOCKS_GUARD = threading.Lock()


@contextmanager
def graph_lock(folder: Path, timeout_s: float = 1800.0) -> Iterator[None]:
    """Hold the cross-process lock of the graph in ``folder`` (re-entrant in one thread).

    Builds, removals and the checks of a graph on opening take it, so concurrent first uses of a
    graph build it once and never see a half-moved folder.
    """
    from filelock import FileLock, Timeout

    key = str(folder.parent / f".{folder.name}.lock")
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = FileLock(key)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=timeout_s)
    except Timeout as exc:
        raise GraphBuildError(
            f"road graph {folder.name!r} stayed locked by another process for {timeout_s:.0f} s; "
            f"if no build is running, delete {key}"
        ) from exc
    except OSError:
        # A read-only cache (shared, or on a read-only mount) cannot hold a lock file; nothing
        # can be built there either, so reading without the lock is safe.
        yield
        return
    try:
        yield
    finally:
        lock.release()


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
