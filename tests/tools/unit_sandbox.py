#!/usr/bin/env python3
"""unit_sandbox.py UNIT -- COMMAND [ARG]...: run COMMAND under the seccomp
part of a systemd service unit's sandbox, the way systemd 252 would apply
it, without systemd: so that a test can run the real daemon under the
unit's own system call filter on a machine where systemd is not PID 1.

What is applied, read from UNIT's [Service] section (systemd.exec(5);
each as its own seccomp filter, like src/shared/seccomp-util.c does):
  - SystemCallFilter= (every line, in order: the first one decides allow
    or deny list; an allow list implicitly holds @default; later lines add
    "name" or remove "~name" from the set), groups expanded with
    `systemd-analyze syscall-filter`; calls outside the set fail with
    SystemCallErrorNumber= (or kill the process when it is not set);
  - SystemCallArchitectures=native (libseccomp's default: other ABIs kill);
  - RestrictAddressFamilies= (socket() of another family fails with
    EAFNOSUPPORT);
  - MemoryDenyWriteExecute= (mmap W+X, mprotect/pkey_mprotect +X, shmat
    SHM_EXEC fail with EPERM);
  - RestrictRealtime= (sched_setscheduler to a real-time policy: EPERM);
  - RestrictNamespaces=yes (unshare/setns/clone with CLONE_NEW*: EPERM;
    clone3: ENOSYS, so that glibc falls back to clone);
  - LockPersonality= (personality() other than PER_LINUX: EPERM);
  - NoNewPrivileges (always: seccomp needs it) and UMask=.
Not applied: users, mounts, devices, IP address lists, namespaces
themselves (they need root or systemd).

Uses libseccomp (libseccomp.so.2, which systemd itself depends on) through
ctypes. Exit status: COMMAND's (exec), or 2 on a usage or setup error.
"""
import ctypes
import ctypes.util
import errno
import os
import socket
import subprocess
import sys

SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_NE, SCMP_CMP_EQ, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ = 1, 4, 6, 7


def SCMP_ACT_ERRNO(e):
    return 0x00050000 | (e & 0x0000FFFF)


class ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def die(msg):
    print("unit_sandbox.py: " + msg, file=sys.stderr)
    sys.exit(2)


def read_service(path):
    """[(key, value)] of the [Service] section, in order."""
    out, sec = [], None
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                sec = line
                continue
            if sec == "[Service]" and "=" in line:
                k, v = line.split("=", 1)
                out.append((k.strip(), v.strip()))
    return out


def groups():
    """{"@group": [names and @subgroups]} from systemd-analyze."""
    txt = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager"],
                         check=True, capture_output=True, text=True).stdout
    g, cur = {}, None
    for line in txt.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if not line[0].isspace() and s.startswith("@"):
            cur = g.setdefault(s, [])
        elif cur is not None:
            cur.append(s.split()[0])
    return g


def expand(name, g, seen=None):
    if not name.startswith("@"):
        return {name}
    if name not in g:
        die("unknown system call group " + name)
    seen = seen or set()
    out = set()
    for n in g[name]:
        if n not in seen:
            seen.add(n)
            out |= expand(n, g, seen)
    return out


def yes(v):
    return v.lower() in ("1", "yes", "true", "on")


class Filter:
    def __init__(self, lib, default):
        self.lib = lib
        self.ctx = lib.seccomp_init(ctypes.c_uint32(default))
        if not self.ctx:
            die("seccomp_init failed")

    def nr(self, name):
        return self.lib.seccomp_syscall_resolve_name(name.encode())

    def rule(self, action, name, *cmps):
        n = self.nr(name)
        if n < 0:
            return  # not a system call of this architecture
        arr = (ArgCmp * max(1, len(cmps)))(*[ArgCmp(*c) for c in cmps])
        r = self.lib.seccomp_rule_add_array(self.ctx, ctypes.c_uint32(action), n,
                                            len(cmps), arr)
        if r < 0 and r != -errno.EEXIST:
            die("seccomp_rule_add(%s): %s" % (name, os.strerror(-r)))

    def load(self):
        r = self.lib.seccomp_load(self.ctx)
        if r < 0:
            die("seccomp_load: " + os.strerror(-r))
        self.lib.seccomp_release(self.ctx)


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        die("usage: unit_sandbox.py UNIT -- COMMAND [ARG]...")
    unit, cmd = sys.argv[1], sys.argv[3:]
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2",
                      use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.c_void_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]

    svc = read_service(unit)
    opt = {}
    for k, v in svc:
        opt[k] = v
    g = groups()
    filters = []

    # SystemCallFilter= and SystemCallErrorNumber=
    allow, mode = set(), None
    for k, v in svc:
        if k != "SystemCallFilter" or not v:
            continue
        deny = v.startswith("~")
        names = set()
        for n in v.lstrip("~").split():
            names |= expand(n, g)
        if mode is None:
            mode = "deny" if deny else "allow"
            if mode == "allow":
                allow |= expand("@default", g)
        if (mode == "allow") != deny:
            allow |= names
        else:
            allow -= names
    if mode == "deny":
        die("deny-list SystemCallFilter= is not emulated")
    if mode == "allow":
        en = opt.get("SystemCallErrorNumber")
        if en:
            if not hasattr(errno, en):
                die("unknown SystemCallErrorNumber=" + en)
            default = SCMP_ACT_ERRNO(getattr(errno, en))
        else:
            default = SCMP_ACT_KILL_PROCESS
        f = Filter(lib, default)
        for n in sorted(allow):
            f.rule(SCMP_ACT_ALLOW, n)
        filters.append(f)
    if opt.get("SystemCallArchitectures", "native") != "native":
        die("only SystemCallArchitectures=native is emulated")

    # RestrictAddressFamilies= (an allow list)
    fam = opt.get("RestrictAddressFamilies")
    if fam:
        if fam.startswith("~"):
            die("deny-list RestrictAddressFamilies= is not emulated")
        ok = set()
        for n in fam.split():
            if n != "none":
                ok.add(int(getattr(socket, n)))
        f = Filter(lib, SCMP_ACT_ALLOW)
        for af in range(64):
            if af not in ok:
                f.rule(SCMP_ACT_ERRNO(errno.EAFNOSUPPORT), "socket", (0, SCMP_CMP_EQ, af, 0))
        f.rule(SCMP_ACT_ERRNO(errno.EAFNOSUPPORT), "socket", (0, SCMP_CMP_GT, 63, 0))
        filters.append(f)

    if yes(opt.get("MemoryDenyWriteExecute", "no")):
        PROT_WRITE, PROT_EXEC, SHM_EXEC = 0x2, 0x4, 0o100000
        f = Filter(lib, SCMP_ACT_ALLOW)
        wx = PROT_WRITE | PROT_EXEC
        for n in ("mmap", "mmap2"):
            f.rule(SCMP_ACT_ERRNO(errno.EPERM), n, (2, SCMP_CMP_MASKED_EQ, wx, wx))
        for n in ("mprotect", "pkey_mprotect"):
            f.rule(SCMP_ACT_ERRNO(errno.EPERM), n, (2, SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC))
        f.rule(SCMP_ACT_ERRNO(errno.EPERM), "shmat", (2, SCMP_CMP_MASKED_EQ, SHM_EXEC, SHM_EXEC))
        filters.append(f)

    if yes(opt.get("RestrictRealtime", "no")):
        f = Filter(lib, SCMP_ACT_ALLOW)
        for pol in (1, 2, 4, 6):  # FIFO, RR, (ISO), DEADLINE
            f.rule(SCMP_ACT_ERRNO(errno.EPERM), "sched_setscheduler", (1, SCMP_CMP_EQ, pol, 0))
        f.rule(SCMP_ACT_ERRNO(errno.EPERM), "sched_setscheduler", (1, SCMP_CMP_GT, 6, 0))
        filters.append(f)

    if yes(opt.get("RestrictNamespaces", "no")):
        CLONE_NEW = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 \
            | 0x20000000 | 0x40000000 | 0x00000080  # NS CGROUP UTS IPC USER PID NET TIME
        f = Filter(lib, SCMP_ACT_ALLOW)
        for bit in range(32):
            m = 1 << bit
            if CLONE_NEW & m:
                f.rule(SCMP_ACT_ERRNO(errno.EPERM), "clone", (0, SCMP_CMP_MASKED_EQ, m, m))
                f.rule(SCMP_ACT_ERRNO(errno.EPERM), "unshare", (0, SCMP_CMP_MASKED_EQ, m, m))
        f.rule(SCMP_ACT_ERRNO(errno.EPERM), "setns")
        f.rule(SCMP_ACT_ERRNO(errno.ENOSYS), "clone3")
        filters.append(f)

    if yes(opt.get("LockPersonality", "no")):
        f = Filter(lib, SCMP_ACT_ALLOW)
        f.rule(SCMP_ACT_ERRNO(errno.EPERM), "personality", (0, SCMP_CMP_NE, 0, 0))
        filters.append(f)

    if "UMask" in opt:
        os.umask(int(opt["UMask"], 8))
    # the system call filter last: it may refuse seccomp(2) itself
    for f in filters[1:] + filters[:1] if mode == "allow" else filters:
        f.load()
    try:
        os.execvp(cmd[0], cmd)
    except OSError as e:
        print("unit_sandbox.py: %s: %s" % (cmd[0], e), file=sys.stderr)
        os._exit(127)


if __name__ == "__main__":
    main()
