"""The file and process work of `runwrap -n t -- true`, written flat: a measuring stick.

bench_runwrap.py times this beside the installed command, to tell what the work
itself costs (the interpreter, the C modules it needs, the syscalls) from what
runwrap's code adds to it. The same syscalls in the same order as an strace of
runwrap shows: the task's lock, the run number, the open marker, the run's
directory born with its manifest, the disk reserve, the two logs, the
subreaper, the job spawned in its own session and waited for, the final
manifest fsynced, the task's state, the retention listing. None of runwrap's
checks, messages or options: never use it to run anything.

Usage: python benchmarks/flat_run.py ROOT
"""

import _ctypes
import _json
import fcntl
import os
import pwd
import sys
import time

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
_encode = _json.make_encoder(
    None, None, _json.encode_basestring_ascii, None, ": ", ", ", True, False, False
)


def write(path: str, value: object, durable: bool = False) -> None:
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(tmp, _FLAGS | os.O_TRUNC, 0o644)
    os.write(fd, "".join(_encode(value, 0)).encode())
    if durable:
        os.fsync(fd)
    os.close(fd)
    os.replace(tmp, path)


def locked(path: str) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def main(root: str) -> int:
    task = os.path.join(root, "tasks", "t")
    runs, marks = os.path.join(task, "runs"), os.path.join(task, "open")
    os.makedirs(runs, exist_ok=True)
    os.makedirs(marks, exist_ok=True)
    guard = os.open(os.path.join(task, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    fcntl.flock(guard, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.listdir(marks)
    state_lock = locked(os.path.join(task, "state.lock"))
    try:
        with open(os.path.join(task, "seq"), "rb") as f:
            seq = int(f.read()) + 1
    except FileNotFoundError:
        seq = 1
    write(os.path.join(task, "seq"), seq)
    os.close(state_lock)
    host, user = os.uname().nodename, pwd.getpwuid(os.getuid()).pw_name
    with open("/proc/sys/kernel/random/boot_id") as f, open(f"/proc/{os.getpid()}/stat") as g:
        owner = {"boot_id": f.read().strip(), "pid": os.getpid(), "start": g.read().split()[21]}
    prctl = _ctypes.dlsym(_ctypes.dlopen(None, 2), "prctl")
    _ctypes.call_function(prctl, (36, 1, 0, 0, 0))  # PR_SET_CHILD_SUBREAPER
    started = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(started))
    run_id = f"{stamp}.{int(started * 1000) % 1000:03d}Z-{os.urandom(2).hex()}"
    manifest = {"task": "t", "seq": seq, "run_id": run_id, "status": "running", "host": host}
    manifest.update(user=user, command=["true"], owner=owner, labels={}, artifacts=[])
    fd = os.open(os.path.join(marks, run_id), _FLAGS | os.O_EXCL, 0o644)
    os.write(fd, b'{"owner": {}}')
    os.close(fd)
    born = os.path.join(runs, ".new-" + run_id)
    os.mkdir(born)
    write(os.path.join(born, "manifest.json"), manifest)
    run = os.path.join(runs, run_id)
    os.rename(born, run)
    reserve = os.path.join(run, ".runwrap-reserve")
    fd = os.open(reserve, _FLAGS, 0o600)
    os.posix_fallocate(fd, 0, 256 * 1024)
    os.close(fd)
    logs = [
        os.open(os.path.join(run, n), _FLAGS | os.O_APPEND, 0o644)
        for n in ("stdout.log", "stderr.log")
    ]
    dup = [(os.POSIX_SPAWN_DUP2, fd, n) for n, fd in enumerate(logs, 1)]
    pid = os.posix_spawnp("true", ["true"], os.environ, file_actions=dup, setsid=True)
    manifest.update(pid=pid)
    write(os.path.join(run, "manifest.json"), manifest)
    _, status = os.waitpid(pid, 0)
    for fd in logs:
        os.close(fd)
    os.unlink(reserve)
    manifest.update(status="success", exit_code=os.waitstatus_to_exitcode(status))
    write(os.path.join(run, "manifest.json"), manifest, durable=True)
    state_lock = locked(os.path.join(task, "state.lock"))
    write(os.path.join(task, "state.json"), {"last": manifest})
    os.close(state_lock)
    os.unlink(os.path.join(marks, run_id))
    old = sorted(name for name in os.listdir(runs) if not name.startswith("."))[:-500]
    if old:  # runwrap's default keep: 500 runs
        import shutil

        for name in old:
            shutil.rmtree(os.path.join(runs, name))
    return manifest["exit_code"]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
