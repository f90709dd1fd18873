"""One gateway-sync run per Gateway shop at a time, on this machine.

Two runs of one shop at once would both see a variant as new and both create it, and would
race on ``state.json``. So a run holds two ``flock`` locks while it works:

* ``<state dir>/.gateway-sync.lock``: one run per state directory (checked before anything
  is asked, so a second run stops at once);
* ``<lock dir>/shop-<guid>.lock``: one run per Gateway shop guid on this machine, whatever
  state directory it uses. The lock dir is ``$GATEWAY_SYNC_LOCK_DIR`` (a directory shared by
  every run that must exclude each other, e.g. a host directory mounted into the
  containers), else ``$XDG_RUNTIME_DIR/gateway-sync``, else ``/tmp/gateway-sync-locks-<uid>``.

``flock`` belongs to the open file: the kernel releases it when the process dies, even by
SIGKILL, so a crashed run never blocks the next one and no stale-lock cleanup is needed. The
lock files are never deleted (deleting a lock file while another process opens it is the
classic race that lets two holders in). Across machines or containers without a shared lock
dir, the scheduler must keep to one run per shop (docs/scaling.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Mapping
from pathlib import Path

STATE_LOCK_NAME = ".gateway-sync.lock"


class LockedError(Exception):
    """Another live gateway-sync holds the lock."""


class RunLock:
    """An exclusive, non-blocking ``flock`` on one file, held until :meth:`release`."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.what = what  # "this state directory", "Gateway shop <guid>"
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`LockedError` naming the holder's pid."""
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise LockedError(
                f"another gateway-sync{who} is already running for {self.what} "
                f"(lock {self.path}); one run per shop at a time. Wait for it to finish, "
                "or stop it; a run that died holds no lock.") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Let the next run in (closing the file drops the flock)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def lock_dir(env: Mapping[str, str]) -> Path:
    """The machine-wide directory of per-shop locks, created private to this user."""
    explicit = env.get("GATEWAY_SYNC_LOCK_DIR")
    if explicit:
        path = Path(explicit)
    elif env.get("XDG_RUNTIME_DIR") and Path(env["XDG_RUNTIME_DIR"]).is_dir():
        path = Path(env["XDG_RUNTIME_DIR"]) / "gateway-sync"
    else:
        # machine-wide on purpose (not $TMPDIR, which may differ per run); owner-checked below
        path = Path("/tmp") / f"gateway-sync-locks-{os.getuid()}"  # noqa: S108
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if not explicit and (stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid()):
        # someone else's directory in /tmp: it could hold our locks hostage
        raise LockedError(f"the lock directory {path} is not this user's own; set "
                          "GATEWAY_SYNC_LOCK_DIR to a directory of yours")
    return path


def shop_lock(env: Mapping[str, str], shop_guid: str) -> RunLock:
    """The lock of one Gateway shop on this machine."""
    return RunLock(lock_dir(env) / f"shop-{shop_guid}.lock", f"Gateway shop {shop_guid}")


def state_dir_lock(state_dir: Path) -> RunLock:
    """The lock of one state directory."""
    return RunLock(state_dir / STATE_LOCK_NAME, f"the state directory {state_dir}")
