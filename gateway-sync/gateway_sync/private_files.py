"""How secrets reach the children without outliving the run, and children that die with us.

A SIGKILL (the OOM killer, ``docker kill``, a scheduler's timeout) gives the runner no chance
to clean up. So nothing the run leaves behind may depend on cleanup:

* **Configs** (the signing key, the shop's password) go to the children as ``/dev/fd/N`` of
  an anonymous in-memory file (``memfd_create``) the child inherits: singer-sdk's
  ``--config`` reads a path (``Path(path).exists()`` then ``read_text()``), and on Linux
  opening ``/dev/fd/N`` of a memfd opens it afresh, so it can be read more than once. It is
  never on a disk and disappears with the last process holding it. Where memfd or
  ``/dev/fd`` is missing, the config is a 0600 file in the private directory instead.
* **The private directory** (logging config, the target's report and mapping template, the
  fallback configs) is ``$TMPDIR/gateway-sync-*``, holding a ``flock`` on its ``.lock`` for
  as long as the run lives. It is removed at exit, and every later start removes the ones
  whose lock is free (their runner died).
* **Children** get ``PR_SET_PDEATHSIG`` (Linux ``prctl``, through ctypes in the child before
  ``exec``): when the runner dies, even by SIGKILL, the kernel sends them SIGKILL, so no tap
  keeps reading a shop and no target keeps writing into the Gateway with nobody to keep its
  STATE. They also run in a process group of their own, which the runner kills when it
  leaves by any path it controls.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import shutil
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

PRIVATE_PREFIX = "gateway-sync-"
PRIVATE_LOCK = ".lock"
PR_SET_PDEATHSIG = 1
#: a private directory without a lock file (an older runner's) this old is stale
UNLOCKED_STALE_SECONDS = 60.0


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking the kernel to SIGKILL the child when the runner dies.

    None off Linux (the process group is then the only tie). Built in the parent: after
    ``fork`` the child only calls the already loaded ``prctl``.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the runner died between fork and prctl
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def memfd_supported() -> bool:
    """Whether configs can be handed over as ``/dev/fd/N`` of a memfd."""
    return hasattr(os, "memfd_create") and Path("/dev/fd").is_dir()


class PrivateDir:
    """The run's private directory and the configs handed to the children."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=PRIVATE_PREFIX))  # 0700
        # locked before it gets its name: a starting run never sees it free (and removes it)
        partial = self.path / (PRIVATE_LOCK + ".new")
        self._lock = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        partial.rename(self.path / PRIVATE_LOCK)
        self.fds: list[int] = []

    def config(self, name: str, data: Mapping[str, Any]) -> str:
        """Hand ``data`` over as a config; the path to give ``--config``."""
        text = json.dumps(data, ensure_ascii=False).encode("utf-8")
        if memfd_supported():
            fd = os.memfd_create(f"gateway-sync-{name}",
                                 os.MFD_CLOEXEC | getattr(os, "MFD_ALLOW_SEALING", 0))
            view = memoryview(text)
            while view:
                view = view[os.write(fd, view):]
            with contextlib.suppress(AttributeError, OSError):  # read-only from now on
                fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW
                            | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL)
            self.fds.append(fd)
            return f"/dev/fd/{fd}"
        path = self.path / f"{name}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(text)
        return str(path)

    def close(self) -> None:
        """Drop the configs and remove the directory."""
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds.clear()
        shutil.rmtree(self.path, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.close(self._lock)

    def __enter__(self) -> PrivateDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def remove_stale_private_dirs(tmp: Path | None = None) -> list[Path]:
    """Remove private directories of runs that died (their ``.lock`` is free); the removed."""
    removed = []
    base = tmp or Path(tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for path in base.glob(PRIVATE_PREFIX + "*"):
            try:
                info = path.lstat()
            except OSError:
                continue
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                continue
            if _is_abandoned(path, info.st_mtime):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


def _is_abandoned(path: Path, mtime: float) -> bool:
    try:
        fd = os.open(path / PRIVATE_LOCK, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        # an older runner's, or one being created this instant: only when clearly old
        return time.time() - mtime > UNLOCKED_STALE_SECONDS
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True
