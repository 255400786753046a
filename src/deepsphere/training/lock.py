"""A lock on a run directory, so that two processes never train into the same ``out_dir``.

:func:`run_lock` creates ``<run_dir>/.lock`` with ``os.open(O_CREAT | O_EXCL)`` (atomic: one
process wins) and writes JSON ``{pid, host, started, argv, token}`` into it; the file is removed
when the ``with`` block ends, however it ends. A second process on the same directory gets one
:class:`RunDirectoryLocked` error naming the holder (pid, host, since when) and what to do.

- A lock left by a dead process of this host (pid gone, a zombie, or the pid now belongs to a
  process started later) is stale: it is taken over with a warning.
- A lock from another host is never taken over (its pid cannot be checked from here): the
  message says to delete the file if that host's run is dead. Except one case: a SLURM job
  that was requeued (preempted, or ``scontrol requeue``) keeps its job id, may restart on
  another node, and its earlier incarnation is dead by definition; a lock recorded by the same
  ``SLURM_JOB_ID`` with a lower ``SLURM_RESTART_COUNT`` is stale wherever it was taken.

No Keras, no third-party imports (planning code may import this).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["LOCK_NAME", "RunDirectoryLocked", "read_lock", "run_lock"]

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"
_READ_RETRIES = 20  # a lock file being written right now is empty for a moment: re-read
_GUARD_STALE_S = 30.0  # a takeover guard older than this was left by a killed process


class RunDirectoryLocked(RuntimeError):
    """Another (live, or unverifiable) process holds the run directory's lock."""


def _proc_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux ``/proc``), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None  # field 22 of stat: starttime


def _pid_alive(pid: int, pid_start: str | None) -> bool:
    """Whether ``pid`` is a live process of this host (and the same one, when known)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat[stat.rindex(")") + 2 :].split()[0] == "Z":
            return False  # exited, not yet reaped
    except (OSError, ValueError, IndexError):
        pass
    now = _proc_start(pid)
    return pid_start is None or now is None or now == pid_start


def read_lock(path: str | os.PathLike) -> dict | None:
    """The holder recorded in a lock file, or None if it does not exist.

    A file that stays unreadable (not JSON) is reported as ``{"unreadable": True}``."""
    path = Path(path)
    for _ in range(_READ_RETRIES):
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        try:
            holder = json.loads(text)
            if isinstance(holder, dict):
                return holder
        except ValueError:
            pass
        time.sleep(0.05)  # being written by its creator
    return {"unreadable": True}


def _describe(holder: dict) -> str:
    return (f"process {holder.get('pid', '?')} on host {holder.get('host', '?')!r} since "
            f"{holder.get('started', '?')} (command: {' '.join(holder.get('argv') or []) or '?'})")


def _slurm_incarnation() -> tuple[str | None, int]:
    """This process's SLURM job id (None outside SLURM) and how often the job was requeued."""
    job = os.environ.get("SLURM_JOB_ID") or None
    try:
        restarts = int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0)
    except ValueError:
        restarts = 0
    return job, restarts


def _record() -> dict:
    pid = os.getpid()
    job, restarts = _slurm_incarnation()
    return {
        "pid": pid,
        "host": socket.gethostname(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "argv": list(sys.argv),
        "pid_start": _proc_start(pid),
        "token": uuid.uuid4().hex,
        "slurm_job": job,
        "slurm_restart": restarts,
    }


def _earlier_incarnation(holder: dict, record: dict) -> bool:
    """Whether ``holder`` is this SLURM job before it was requeued (then it is dead)."""
    return (record["slurm_job"] is not None and holder.get("slurm_job") == record["slurm_job"]
            and int(holder.get("slurm_restart") or 0) < record["slurm_restart"])


def _try_create(path: Path, record: dict) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(record, indent=2, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return True


def _remove_if_same(path: Path, holder: dict) -> None:
    """Delete the stale lock ``holder`` under a short guard, unless it changed meanwhile
    (two processes taking over the same stale lock must not delete each other's new lock)."""
    guard = path.with_name(path.name + ".takeover")
    try:
        fd = os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        with contextlib.suppress(OSError):
            if time.time() - guard.stat().st_mtime > _GUARD_STALE_S:
                guard.unlink()
        return  # someone else is taking over: the caller retries
    os.close(fd)
    try:
        if read_lock(path) == holder:
            path.unlink(missing_ok=True)
    finally:
        guard.unlink(missing_ok=True)


def _refuse(path: Path, holder: dict, host: str):
    if holder.get("unreadable"):
        raise RunDirectoryLocked(
            f"{path.parent} is locked by {path}, which cannot be read; if no run uses this "
            f"directory, delete {path} and rerun."
        )
    if holder.get("host") != host:
        raise RunDirectoryLocked(
            f"{path.parent} is in use by {_describe(holder)}, another host than this one "
            f"({host!r}): its process cannot be checked from here. Wait for that run, or, if it "
            f"is dead, delete {path} and rerun."
        )
    if holder.get("pid") == os.getpid():
        raise RunDirectoryLocked(
            f"{path.parent} is already locked by this process ({_describe(holder)}): one run "
            "directory per run; give this run another out_dir."
        )
    raise RunDirectoryLocked(
        f"{path.parent} is in use by {_describe(holder)}: two runs must not write into one "
        f"directory. Wait for it to finish or stop it (kill {holder.get('pid')}), or give this "
        "run another out_dir."
    )


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold ``<run_dir>/.lock`` for the ``with`` block (the directory is created).

    Raises:
        RunDirectoryLocked: a live process of this host, or any process of another host, holds
            it. A stale lock of this host (its process is gone), or of this SLURM job before it
            was requeued, is taken over with a warning.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_NAME
    record = _record()
    for _ in range(100):  # each round either acquires, refuses, or removes a stale lock
        if _try_create(path, record):
            break
        holder = read_lock(path)
        if holder is None:
            continue  # released meanwhile
        requeued = not holder.get("unreadable") and _earlier_incarnation(holder, record)
        if not requeued and (
                holder.get("unreadable") or holder.get("host") != record["host"]
                or _pid_alive(int(holder.get("pid", -1)), holder.get("pid_start"))):
            _refuse(path, holder, record["host"])
        log.warning("taking over the stale lock %s: %s is no longer running%s", path,
                    _describe(holder), f" (SLURM job {record['slurm_job']} was requeued)"
                    if requeued else "")
        _remove_if_same(path, holder)
        time.sleep(0.01)
    else:
        raise RunDirectoryLocked(f"could not acquire {path}: other processes keep taking it over")
    try:
        yield path
    finally:
        if read_lock(path) == record:
            path.unlink(missing_ok=True)
