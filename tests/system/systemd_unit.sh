#!/usr/bin/env bash
# systemd_unit.sh BUILD_DIR: the service unit (systemd/twitchd.service)
# and its sysusers.d and tmpfiles.d companions, checked with systemd's own
# tools (no systemd as PID 1 needed), and the daemon run under the unit's
# seccomp sandbox.
#
# Checks:
#  - the unit says what the service is: Type=notify with NotifyAccess=main
#    and WatchdogSec=; ExecStart= is exactly `/usr/bin/twitchd run -c
#    /etc/twitchd/twitchd.conf` and ExecStartPre= runs check-config with
#    the same -c; ExecReload= sends SIGHUP to $MAINPID; Restart=on-failure
#    with RestartPreventExitStatus=78; user twitchd with group audio;
#    StateDirectory=/RuntimeDirectory= twitchd; DevicePolicy=closed with
#    DeviceAllow=char-alsa rw; IPAddressDeny=any with IPAddressAllow=localhost;
#  - `systemd-analyze security --offline=true` rates it 1.5 or lower
#    (the figure and every open item are printed);
#  - `make install PREFIX=TMP` (a real prefix: the installed unit's
#    ExecStart= names the installed binary, its man: pages are under
#    MANPATH) writes a unit that names TMP/bin/twitchd and
#    TMP/etc/twitchd/twitchd.conf, and `systemd-analyze verify` of it
#    exits 0 and prints nothing (verify exits 0 on warnings);
#  - sysusers.d and tmpfiles.d, installed with DESTDIR and PREFIX=/usr:
#    as root, `systemd-sysusers --root` creates the system user twitchd
#    (home /var/lib/twitchd, no login shell), a member of group audio,
#    and `systemd-tmpfiles --root --create` makes /var/lib/twitchd,
#    /var/lib/twitchd/journal and /run/twitchd, mode 0750, owned by it;
#    as another user only `systemd-sysusers --dry-run` (said so);
#  - the daemon under the unit's seccomp filters (tests/tools/unit_sandbox.py:
#    SystemCallFilter=, RestrictAddressFamilies=, MemoryDenyWriteExecute=,
#    RestrictRealtime=, RestrictNamespaces=, LockPersonality=, as systemd
#    applies them), with a NOTIFY_SOCKET of this test's own: check-config
#    passes; `run` on the synthetic source, publishing on tcp:// and ipc://,
#    sends READY=1 and WATCHDOG=1, a subscriber receives its heartbeats
#    over ipc://, SIGHUP reopens the journal, SIGTERM brings STOPPING=1 and
#    exit 0; `run` on PortAudio through ALSA's file plugin sends READY=1 and
#    stops with 0. Controls: the same unit without AF_NETLINK, and without
#    the sched_setscheduler exception, must make the daemon die (libzmq
#    aborts): the emulation bites, and those two lines are needed.
#    Skipped for sanitizer builds (their runtime needs ptrace and
#    personality, which no service gets) and without python3/libseccomp.
# Skips everything, with a message, when systemd-analyze is missing.
set -euo pipefail

B=${1:?usage: systemd_unit.sh BUILD_DIR}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
UNIT=$REPO/systemd/twitchd.service
[[ -x $B/twitchd ]] || { echo "FAIL: $B/twitchd is missing (build it first)" >&2; exit 1; }
TW=$(cd "$B" && pwd)/twitchd
san=0
case "$B" in *san*) san=1 ;; esac

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP: systemd-analyze not found (Debian package systemd): unit not checked"
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "  ok${1:+: $1}"; }

# key KEY: the values of KEY= in the unit's [Service] section, one a line.
key() { sed -n '/^\[Service\]/,/^\[/p' "$UNIT" | sed -n "s/^$1=//p"; }
want() { # want KEY VALUE: KEY= has exactly VALUE (one line)
    local got
    got=$(key "$1")
    [[ $got == "$2" ]] || fail "unit: $1= is '${got//$'\n'/' | '}', expected '$2'"
}

echo "systemd_unit: what the unit says"
want Type notify
want NotifyAccess main
[[ $(key WatchdogSec) =~ ^[0-9]+s$ ]] || fail "unit: WatchdogSec= missing or not in seconds"
want ExecStart "/usr/bin/twitchd run -c /etc/twitchd/twitchd.conf"
want ExecStartPre "-/usr/bin/twitchd check-config -c /etc/twitchd/twitchd.conf"
# shellcheck disable=SC2016 # $MAINPID is systemd's, not the shell's
want ExecReload '/bin/kill -HUP $MAINPID'
want Restart on-failure
want RestartPreventExitStatus 78
want User twitchd
want SupplementaryGroups audio
want StateDirectory twitchd
want RuntimeDirectory twitchd
want DevicePolicy closed
want DeviceAllow "char-alsa rw"
want IPAddressDeny any
want IPAddressAllow localhost
want PrivateUsers "" # off: it would unmap group audio
ok "Type=notify, WatchdogSec=$(key WatchdogSec), ExecStart/ExecStartPre with the same -c, restart but not on 78"

echo "systemd_unit: systemd-analyze security --offline=true"
rc=0
systemd-analyze security --offline=true --no-pager "$UNIT" >"$tmp/sec" 2>&1 || rc=$?
grep '✗' "$tmp/sec" | sed 's/^/    /' || true
score=$(sed -n 's/.*Overall exposure level for twitchd.service: \([0-9.]*\).*/\1/p' "$tmp/sec")
[[ -n $score ]] || { cat "$tmp/sec" >&2; fail "no exposure level in the output (exit $rc)"; }
awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }' || fail "exposure $score, expected 1.5 or lower"
systemd-analyze security --offline=true --threshold=15 --no-pager "$UNIT" >/dev/null 2>&1 ||
    fail "systemd-analyze security --threshold=15 fails (exposure $score)"
ok "exposure $score (at most 1.5)"

echo "systemd_unit: make install PREFIX=\$tmp/prefix; systemd-analyze verify of the installed unit"
prefix=$tmp/prefix
make -s -C "$REPO" install B="$B" SAN=$san PREFIX="$prefix" >"$tmp/log" 2>&1 || {
    cat "$tmp/log" >&2; fail "make install PREFIX=$prefix failed"; }
iunit=$prefix/lib/systemd/system/twitchd.service
[[ -f $iunit ]] || fail "no unit at $iunit"
grep -qx "ExecStart=$prefix/bin/twitchd run -c $prefix/etc/twitchd/twitchd.conf" "$iunit" ||
    fail "installed unit: ExecStart= does not name $prefix/bin/twitchd and $prefix/etc: $(grep '^Exec' "$iunit")"
grep -qx "ExecStartPre=-$prefix/bin/twitchd check-config -c $prefix/etc/twitchd/twitchd.conf" "$iunit" ||
    fail "installed unit: ExecStartPre= does not name the installed paths"
stale='(^|[ =-])(/usr/bin/twitchd|/etc/twitchd)'
! grep -qE "$stale" "$iunit" || fail "installed unit still names /usr/bin or /etc: $(grep -nE "$stale" "$iunit")"
rc=0
if command -v man >/dev/null 2>&1; then
    MANPATH=$prefix/share/man systemd-analyze verify "$iunit" >"$tmp/verify" 2>&1 || rc=$?
else
    echo "  (man not installed: verify --man=no)"
    systemd-analyze verify --man=no "$iunit" >"$tmp/verify" 2>&1 || rc=$?
fi
if ((rc != 0)) || [[ -s $tmp/verify ]]; then
    cat "$tmp/verify" >&2
    fail "systemd-analyze verify: exit $rc, $(wc -l <"$tmp/verify") lines of output (expected 0 and none)"
fi
ok "verify: exit 0, no output (binary $prefix/bin/twitchd, man pages found)"

echo "systemd_unit: sysusers.d and tmpfiles.d"
root=$tmp/root
make -s -C "$REPO" install B="$B" SAN=$san PREFIX=/usr DESTDIR="$root" >"$tmp/log" 2>&1 || {
    cat "$tmp/log" >&2; fail "make install PREFIX=/usr DESTDIR=$root failed"; }
[[ -f $root/usr/lib/sysusers.d/twitchd.conf && -f $root/usr/lib/tmpfiles.d/twitchd.conf ]] ||
    fail "sysusers.d/twitchd.conf or tmpfiles.d/twitchd.conf not installed under /usr/lib"
grep -qE '^m[[:space:]]+twitchd[[:space:]]+audio$' "$root/usr/lib/sysusers.d/twitchd.conf" ||
    fail "sysusers.d: no 'm twitchd audio' line"
mkdir -p "$root/etc"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\naudio:x:29:\n' >"$root/etc/group" # as on Debian
if [[ $(id -u) -eq 0 ]]; then
    systemd-sysusers --root="$root" >"$tmp/su" 2>&1 || { cat "$tmp/su" >&2; fail "systemd-sysusers failed"; }
    IFS=: read -r name _ uid gid _ home shell < <(grep '^twitchd:' "$root/etc/passwd") ||
        fail "no user twitchd in /etc/passwd: $(cat "$tmp/su")"
    ((uid > 0 && uid < 1000)) || fail "user twitchd has uid $uid, not a system uid"
    [[ $home == /var/lib/twitchd ]] || fail "home of twitchd is $home"
    [[ $shell == */nologin ]] || fail "shell of twitchd is $shell"
    grep -qE '^audio:x:29:(.*,)?twitchd(,.*)?$' "$root/etc/group" || fail "twitchd not in group audio: $(grep ^audio: "$root/etc/group")"
    grep -qE "^twitchd:x:$gid:" "$root/etc/group" || fail "no group twitchd with gid $gid"
    ok "user $name uid $uid gid $gid, home $home, shell $shell, in group audio"
    systemd-tmpfiles --root="$root" --create >"$tmp/tf" 2>&1 || { cat "$tmp/tf" >&2; fail "systemd-tmpfiles --create failed"; }
    for d in /var/lib/twitchd /var/lib/twitchd/journal /run/twitchd; do
        [[ -d $root$d ]] || fail "tmpfiles: $d not created"
        got=$(stat -c '%a %u %g' "$root$d")
        [[ $got == "750 $uid $gid" ]] || fail "tmpfiles: $d is '$got' (mode uid gid), expected '750 $uid $gid'"
    done
    ok "tmpfiles: /var/lib/twitchd, /var/lib/twitchd/journal, /run/twitchd: 0750 twitchd:twitchd"
else
    systemd-sysusers --root="$root" --dry-run >"$tmp/su" 2>&1 || { cat "$tmp/su" >&2; fail "systemd-sysusers --dry-run failed"; }
    grep -q "Creating user 'twitchd'" "$tmp/su" || { cat "$tmp/su" >&2; fail "sysusers --dry-run would not create user twitchd"; }
    echo "  (not root: sysusers checked with --dry-run only; tmpfiles not applied)"
fi

echo "systemd_unit: the daemon under the unit's seccomp sandbox"
if ((san)); then
    echo "  skipped for the sanitizer build (ASan/LSan need ptrace and personality)"
    echo "systemd_unit: OK"
    exit 0
fi
if ! command -v python3 >/dev/null 2>&1 ||
    ! python3 -c 'import ctypes, ctypes.util, sys; ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2")' 2>/dev/null; then
    echo "  skipped: python3 or libseccomp missing"
    echo "systemd_unit: OK"
    exit 0
fi
sed 's/ AF_NETLINK//' "$UNIT" >"$tmp/no-netlink.service"
sed '/^SystemCallFilter=sched_setscheduler$/d' "$UNIT" >"$tmp/no-sched.service"
! cmp -s "$UNIT" "$tmp/no-netlink.service" || fail "control: no AF_NETLINK in the unit to take out"
! cmp -s "$UNIT" "$tmp/no-sched.service" || fail "control: no SystemCallFilter=sched_setscheduler to take out"
head -c $((48000 * 4 * 10)) /dev/zero >"$tmp/fixture.raw"

python3 - "$TW" "$REPO/tests/tools/unit_sandbox.py" "$UNIT" "$tmp" "$REPO/tests/data/alsa-tier1.conf" \
    "$REPO/config/twitchd.conf" <<'PY'
import os, signal, socket, subprocess, sys, time
tw, sandbox, unit, tmp, alsa_conf, conf = sys.argv[1:7]

def fail(msg, err=None):
    print("FAIL: " + msg, file=sys.stderr)
    if err and os.path.exists(err):
        lines = [l for l in open(err, errors="replace") if "jack" not in l.lower()
                 and "server" not in l.lower()]
        sys.stderr.write("--- stderr of the daemon:\n" + "".join(lines[-20:]))
    sys.exit(1)

def sandboxed(unit_file, args, name, env_extra=None):
    sock = os.path.join(tmp, name + ".notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock)
    s.settimeout(0.05)
    env = dict(os.environ, NOTIFY_SOCKET=sock, WATCHDOG_USEC="2000000", **(env_extra or {}))
    err = os.path.join(tmp, name + ".err")
    p = subprocess.Popen([sys.executable, sandbox, unit_file, "--", tw] + args, env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=open(err, "w"))
    return p, s, err

def pump(s, msgs, until, stop=None):
    while time.monotonic() < until:
        try:
            msgs.append(s.recv(4096).decode())
        except socket.timeout:
            pass
        if stop and stop():
            return True
    return bool(stop and stop())

def has(msgs, line):
    return any(line in m.split("\n") for m in msgs)

def stop(p, s, msgs, err, what):
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        fail(what + ": still running 10 s after SIGTERM", err)
    pump(s, msgs, time.monotonic() + 0.2)
    if rc != 0:
        fail("%s: exit status %d after SIGTERM" % (what, rc), err)
    if not has(msgs, "STOPPING=1"):
        fail(what + ": no STOPPING=1", err)

# check-config
r = subprocess.run([sys.executable, sandbox, unit, "--", tw, "check-config", "-c", conf],
                   capture_output=True, text=True)
if r.returncode != 0 or r.stdout.strip() != "configuration OK":
    fail("check-config under the sandbox: exit %d: %s%s" % (r.returncode, r.stdout, r.stderr))
print("  ok: check-config under the sandbox: configuration OK")

# run, synthetic source, tcp:// and ipc://
ipc = "ipc://" + os.path.join(tmp, "pub")
p, s, err = sandboxed(unit, ["run", "-o", "input.source=synth", "-o", "journal.dir=" + os.path.join(tmp, "journal"),
                             "-o", "publish.endpoint=tcp://127.0.0.1:*," + ipc], "synth")
msgs = []
if not pump(s, msgs, time.monotonic() + 10, lambda: has(msgs, "READY=1") or p.poll() is not None) \
        or not has(msgs, "READY=1"):
    fail("run (synth) under the sandbox: no READY=1 within 10 s (exit %s)" % p.poll(), err)
sub = subprocess.run([tw, "sub", "--count", "2", "--timeout", "10", ipc, "sts"],
                     capture_output=True, text=True, timeout=30)
if sub.returncode != 0 or len(sub.stdout.splitlines()) != 2:
    fail("a subscriber over %s got %d heartbeats (exit %d): %s" % (ipc, len(sub.stdout.splitlines()),
         sub.returncode, sub.stderr), err)
if not pump(s, msgs, time.monotonic() + 3, lambda: has(msgs, "WATCHDOG=1")):
    fail("run (synth) under the sandbox: no WATCHDOG=1", err)
p.send_signal(signal.SIGHUP)
t_end = time.monotonic() + 5
while "journal: files reopened" not in open(err).read():
    if time.monotonic() > t_end:
        fail("run (synth): SIGHUP did not reopen the journal", err)
    time.sleep(0.05)
stop(p, s, msgs, err, "run (synth)")
print("  ok: run (synth, tcp + ipc) under the sandbox: READY=1, WATCHDOG=1, 2 heartbeats over ipc,"
      " SIGHUP reopened the journal, SIGTERM: STOPPING=1, exit 0")

# run, PortAudio through ALSA's file plugin (no sound card)
if os.path.exists(alsa_conf):
    p, s, err = sandboxed(unit, ["run", "-o", "input.source=portaudio", "-o", "input.device=emg_test",
                                 "-o", "journal.dir=" + os.path.join(tmp, "journal-pa"),
                                 "-o", "publish.endpoint=tcp://127.0.0.1:*"], "portaudio",
                          {"ALSA_CONFIG_PATH": alsa_conf, "JACK_NO_START_SERVER": "1",
                           "EMG_TEST_INFILE": os.path.join(tmp, "fixture.raw")})
    msgs = []
    if not pump(s, msgs, time.monotonic() + 10, lambda: has(msgs, "READY=1") or p.poll() is not None) \
            or not has(msgs, "READY=1"):
        fail("run (portaudio) under the sandbox: no READY=1 within 10 s (exit %s)" % p.poll(), err)
    if "input: ALSA: emg_test" not in open(err).read():
        fail("run (portaudio): not capturing from emg_test", err)
    time.sleep(0.5)
    stop(p, s, msgs, err, "run (portaudio)")
    print("  ok: run (PortAudio, ALSA emg_test) under the sandbox: READY=1, SIGTERM: exit 0")

# controls: each line taken out must break the daemon
for name, why in (("no-netlink", "RestrictAddressFamilies= without AF_NETLINK"),
                  ("no-sched", "SystemCallFilter= without the sched_setscheduler exception")):
    p, s, err = sandboxed(os.path.join(tmp, name + ".service"),
                          ["run", "-o", "input.source=synth", "-o", "journal.dir=" + os.path.join(tmp, "j-" + name),
                           "-o", "publish.endpoint=tcp://127.0.0.1:*"], name)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        fail("control %s: the daemon survived 10 s: the sandbox emulation does not bite" % why, err)
    if rc == 0:
        fail("control %s: exit 0, expected a failure" % why, err)
    last = [l.strip() for l in open(err, errors="replace") if l.strip()][-1:]
    print("  ok: control, %s: the daemon died (%s): %s" % (why, "signal %d" % -rc if rc < 0 else "exit %d" % rc,
                                                         last[0] if last else ""))
PY
echo "systemd_unit: OK"
