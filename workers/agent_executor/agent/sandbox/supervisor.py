"""The tool-script supervisor: one small process per script run, between the worker and it.

Run as `python -I -S supervisor.py <config JSON>` (standard library only; it must not import
the worker's packages). It

1. becomes a child subreaper (PR_SET_CHILD_SUBREAPER), so every process the script starts,
   even one that detaches with setsid or a double fork, is re-parented to it rather than to
   init and can be found and killed;
2. forks the script into a new session with its limits set (setrlimit), as another user when
   the worker is root (and then, if that user cannot reach the interpreter, in a private mount
   namespace that shows it the interpreter's directories only), with no_new_privs, and execs it;
3. relays the script's stdout (up to the cap) and the tail of its stderr through pipes only it
   holds, so nothing the script leaves behind can keep the worker's pipes open;
4. ends the run when the script exits, the wall-clock limit passes, the output cap is
   exceeded, or it is told to stop (SIGTERM; also sent by the kernel if the worker dies);
5. kills every process left in its subtree, and prints one JSON report on stdout.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import resource
import select
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, NoReturn

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
CLONE_NEWNS = 0x00020000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
READ_CHUNK = 65536

# The C library the interpreter is linked with (dlopen(NULL)): prctl, mount, unshare.
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _prctl(option: int, arg: int) -> None:
    _check(_libc.prctl(option, arg, 0, 0, 0), f"prctl({option})")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    def raw(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    _check(
        _libc.mount(raw(source), raw(target), raw(fstype), flags, raw(data or None)),
        f"mount {target}",
    )


# --- in the forked child, before exec --------------------------------------------------------


def _expose(exposures: dict[str, list[str]], scratch: str) -> None:
    """In a private mount namespace, cover each blocked directory with a tmpfs showing only
    the listed paths beneath it (moved there from a bind mount made before covering)."""
    if _libc.unshare(CLONE_NEWNS) < 0:
        errno = ctypes.get_errno()
        raise OSError(
            errno,
            f"the script's user cannot reach the interpreter under {', '.join(exposures)}, and "
            f"showing it needs a mount namespace (CAP_SYS_ADMIN): {os.strerror(errno)}; run "
            "the worker as a non-root user or install Python where other users can read it",
        )
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    for blocked, paths in exposures.items():
        stash = tempfile.mkdtemp(dir=scratch)
        slots: list[tuple[str, str]] = []
        for index, path in enumerate(paths):
            slot = os.path.join(stash, str(index))
            if os.path.isdir(path):
                os.mkdir(slot)
            else:
                open(slot, "x").close()  # an empty file to mount over
            _mount(path, slot, None, MS_BIND | MS_REC)
            slots.append((slot, path))
        _mount("tmpfs", blocked, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
        for slot, path in slots:
            if os.path.isdir(slot):
                os.makedirs(path, mode=0o755, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
                open(path, "a").close()  # an empty file to mount over
            _mount(slot, path, None, MS_MOVE)
            if os.path.isdir(slot):
                os.rmdir(slot)
            else:
                os.unlink(slot)
        os.rmdir(stash)


def _tasks_of(uid: int) -> int:
    """How many tasks (processes and threads) `uid` runs: what RLIMIT_NPROC counts."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue  # gone meanwhile
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            total += int(fields.get("Threads", "1"))
    return total


def _set_limits(limits: dict[str, int]) -> None:
    for name, value in (
        ("RLIMIT_CORE", 0),
        ("RLIMIT_AS", limits["memory_bytes"]),
        ("RLIMIT_FSIZE", limits["file_bytes"]),
        ("RLIMIT_NOFILE", limits["open_files"]),
    ):
        resource.setrlimit(getattr(resource, name), (value, value))
    # At the soft limit the kernel sends SIGXCPU, which names the cause; SIGKILL one second
    # later (the hard limit) for a script that ignores it.
    cpu = limits["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def _become_script(config: dict[str, Any], stdout: int, stderr: int, report: int) -> NoReturn:
    """The forked child: isolate, limit, drop privileges, exec. Failures go to `report`."""
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        # Python ignores these; the script's own interpreter decides again after exec.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        os.umask(0o022)
        cwd: str = config["cwd"]
        user = config.get("user")
        if config.get("expose"):
            _expose(config["expose"], cwd)
        if user is not None:
            os.chown(cwd, user[0], user[1])
        _set_limits(config["limits"])
        if user is not None:
            os.setgroups([])
            os.setgid(user[1])
            os.setuid(user[0])  # real, effective and saved: there is no way back
        # After the switch: RLIMIT_NPROC counts the tasks of the real uid we now have.
        nproc = _tasks_of(os.getuid()) + int(config["limits"]["processes"])
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        _prctl(PR_SET_NO_NEW_PRIVS, 1)  # no setuid binary or file capability lifts it back
        os.chdir(cwd)
        argv: list[str] = config["argv"]
        os.execve(argv[0], argv, config["env"])  # noqa: S606 - becoming the script
    except BaseException as exc:  # whatever it is, report it and end this child
        with contextlib.suppress(OSError):
            os.write(report, f"{type(exc).__name__}: {exc}".encode())
    os._exit(127)


# --- in the supervisor -----------------------------------------------------------------------


def _descendants(root: int) -> list[int]:
    """Every live process below `root`, from a snapshot of /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                data = stat.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; the fields after it do not.
        ppid = int(data[data.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    queue = list(children.get(root, []))
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(children.get(pid, []))
    return found


def kill_subtree() -> None:
    """SIGKILL everything below this (subreaper) process and reap it, until nothing is left.

    A process forked between the snapshot and the kill survives one round, loses its parent,
    is re-parented to us and is caught by the next round; RLIMIT_NPROC bounds the rounds.
    """
    me = os.getpid()
    while True:
        for pid in _descendants(me):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        try:
            os.waitpid(-1, 0)
            while os.waitpid(-1, os.WNOHANG)[0] != 0:
                pass
        except ChildProcessError:
            return


@dataclass
class _Run:
    """What the supervisor has seen of the script so far."""

    script_pid: int
    output_cap: int
    stderr_tail: int
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    exit_code: int | None = None
    overflowed: bool = False

    def reap(self) -> None:
        """Reap every exited child; remember the script's status when it is among them."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.script_pid:
                self.exit_code = os.waitstatus_to_exitcode(status)

    def take(self, fd: int, is_stdout: bool, *, last: bool = False) -> bool:
        """Read what `fd` has; False at end of file (or, when `last`, when it has nothing)."""
        try:
            chunk = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return not last
        if not chunk:
            return False
        if is_stdout:
            room = self.output_cap - len(self.stdout)
            self.stdout += chunk[:room]
            if len(chunk) > room:
                self.overflowed = True
        else:
            self.stderr += chunk
            del self.stderr[: -self.stderr_tail]
        return True


_stop_requested = False


def _request_stop(signum: int, frame: object) -> None:
    global _stop_requested  # a signal handler's only way to tell the loop
    _stop_requested = True


def _drain(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        while os.read(fd, 4096):
            pass


def _watch(run: _Run, pipes: dict[int, bool], wake: int, deadline: float) -> str:
    """Relay output until the script exits, the deadline passes, the cap or a stop; why."""
    while True:
        run.reap()
        if run.exit_code is not None:
            return "exited"
        if run.overflowed:
            return "output_limit"
        if _stop_requested:
            return "terminated"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "timeout"
        ready, _, _ = select.select([wake, *pipes], [], [], remaining)
        for fd in ready:
            if fd == wake:
                _drain(wake)
            elif not run.take(fd, pipes[fd]):
                del pipes[fd]


def supervise(config: dict[str, Any]) -> dict[str, Any]:
    """Run the script as `config` says; the report the worker reads."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    # If the worker dies, we hear SIGTERM and clean up (the signal follows the thread that
    # forked us; the worker starts scripts from its event-loop thread, which outlives them).
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # only to wake select
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, _request_stop)
    if os.getppid() != config["parent"]:
        return {"outcome": "terminated", "message": "the worker went away before the start"}

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    check_r, check_w = os.pipe()  # close-on-exec: end of file without data means exec worked
    deadline = time.monotonic() + float(config["time_limit"])
    pid = os.fork()
    if pid == 0:
        _become_script(config, out_w, err_w, check_w)
    for fd in (out_w, err_w, check_w):
        os.close(fd)
    run = _Run(pid, int(config["limits"]["output_bytes"]), int(config["stderr_tail_bytes"]))
    failure = b""
    while chunk := os.read(check_r, 4096):
        failure += chunk
    os.close(check_r)
    if failure:
        kill_subtree()
        return {"outcome": "setup_failed", "message": failure.decode(errors="replace")}
    for fd in (out_r, err_r):
        os.set_blocking(fd, False)
    pipes = {out_r: True, err_r: False}
    outcome = _watch(run, pipes, wake_r, deadline)
    kill_subtree()
    # Every writer is gone now: what is left in the pipes is finite.
    for fd, is_stdout in list(pipes.items()):
        while not run.overflowed and run.take(fd, is_stdout, last=True):
            pass
    if outcome == "exited" and run.overflowed:
        outcome = "output_limit"
    return {
        "outcome": outcome,
        "exit_code": run.exit_code,
        "stdout": base64.b64encode(run.stdout).decode(),
        "stderr": base64.b64encode(run.stderr).decode(),
    }


def main(argv: list[str]) -> int:
    """Entry point: argv[1] is the JSON config the worker wrote."""
    report = supervise(json.loads(argv[1]))
    sys.stdout.write(json.dumps(report))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
