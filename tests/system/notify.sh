#!/usr/bin/env bash
# sd_notify with a real NOTIFY_SOCKET (a datagram socket this test owns):
# READY=1 once audio flows, WATCHDOG=1 from the DSP loop while it runs,
# no more WATCHDOG=1 once the DSP thread is stalled on purpose (test-only
# fault switch TWITCHD_TEST_STALL_DSP_S), STOPPING=1 on SIGTERM.
# Every message carries the daemon's own PID in its credentials (the unit's
# NotifyAccess=main: systemd drops messages from any other PID, so pings
# sent by the DSP thread must count as the main process's).
# Then the watchdog trips as under systemd: a second daemon stalls its DSP
# thread, this test plays the service manager (WATCHDOG_USEC = 1 s: no
# WATCHDOG=1 for that long -> SIGABRT, systemd's default WatchdogSignal=)
# and the daemon must die of that SIGABRT, which systemd/twitchd.service
# (Type=notify, WatchdogSec=, Restart=on-failure, checked here) turns into
# a restart.
# $1: the build directory.
set -euo pipefail
build=${1:?usage: notify.sh BUILD_DIR}
repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$build/twitchd" "$tmp" "$repo/systemd/twitchd.service" <<'PY'
import os, re, resource, signal, socket, struct, subprocess, sys, time
tw, tmp, unit = sys.argv[1], sys.argv[2], sys.argv[3]
path = os.path.join(tmp, "notify.sock")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.settimeout(0.1)
def recv():
    """(text, sender pid) of one datagram, as systemd sees it"""
    d, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = None
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("3i", data[:12])[0]
    return d.decode(), pid
def no_core():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000", TWITCHD_TEST_STALL_DSP_S="4")
t0 = time.monotonic()
p = subprocess.Popen([tw, "run", "-o", "input.source=synth", "-o", "record.mode=off", "-o", "journal.dir=" + os.path.join(tmp, "j"),
                      "-o", "publish.endpoint=tcp://127.0.0.1:*"], env=env, stderr=open(os.path.join(tmp, "err"), "w"))
msgs = []
def pump(until):
    while time.monotonic() < until:
        try:
            d, pid = recv()
        except socket.timeout:
            continue
        msgs.append((time.monotonic() - t0, d, pid))
pump(t0 + 7.0)
p.send_signal(signal.SIGTERM)
pump(time.monotonic() + 2.0)
rc = p.wait(timeout=5)
def fail(why):
    for t, m, pid in msgs: print("  %.2f s %r (pid %s)" % (t, m, pid))
    print(open(os.path.join(tmp, "err")).read())
    sys.exit("FAIL: " + why)
ready = [t for t, m, _ in msgs if "READY=1" in m]
wd = [t for t, m, _ in msgs if m.strip() == "WATCHDOG=1"]
stop = [t for t, m, _ in msgs if "STOPPING=1" in m]
if rc != 0: fail("exit status %d" % rc)
if len(ready) != 1: fail("READY=1 sent %d times" % len(ready))
rmsg = [m for t, m, _ in msgs if "READY=1" in m][0]
if "running" not in rmsg: fail("READY=1 without a running STATUS: %r" % rmsg)
before = [t for t in wd if t < 3.5]
if len(before) < 4: fail("only %d WATCHDOG=1 in the first 3.5 s (want one per 0.5 s)" % len(before))
gaps = [b - a for a, b in zip(before, before[1:])]
if max(gaps) > 0.9: fail("a WATCHDOG=1 gap of %.2f s while running (period 1 s)" % max(gaps))
after = [t for t in wd if t > 4.6]
if after: fail("WATCHDOG=1 went on after the DSP thread stalled (at %s)" % after[:3])
if not stop: fail("no STOPPING=1 after SIGTERM")
others = sorted({pid for _, _, pid in msgs if pid != p.pid}, key=str)
if others: fail("messages from PID %s, not the main PID %d (NotifyAccess=main drops them)" % (others, p.pid))
print("  READY=1 at %.2f s: %s" % (ready[0], rmsg.replace("\n", " | ")))
print("  %d WATCHDOG=1 before the stall (largest gap %.2f s), none after it; STOPPING=1 at %.2f s" % (len(before), max(gaps), stop[0]))
print("  all %d messages from the main PID %d" % (len(msgs), p.pid))

# The watchdog trips: the unit restarts the service after a watchdog timeout
text = open(unit).read()
def key(k):
    v = re.findall(r"^%s=(.*)$" % k, text, re.M)
    return v[-1].strip() if v else None
if key("Type") != "notify": sys.exit("FAIL: %s: Type=%s, want notify" % (unit, key("Type")))
if key("NotifyAccess") not in ("main", "all"): sys.exit("FAIL: %s: NotifyAccess=%s" % (unit, key("NotifyAccess")))
wsec = key("WatchdogSec")
if not wsec or wsec in ("0", "infinity"): sys.exit("FAIL: %s: no WatchdogSec=" % unit)
if key("Restart") not in ("on-failure", "on-watchdog", "on-abnormal", "always"):
    sys.exit("FAIL: %s: Restart=%s does not restart after a watchdog timeout" % (unit, key("Restart")))
if key("WatchdogSignal") not in (None, "SIGABRT"):
    sys.exit("FAIL: %s: WatchdogSignal=%s (this test sends SIGABRT)" % (unit, key("WatchdogSignal")))
if "SIGABRT" in (key("SuccessExitStatus") or "") + (key("RestartPreventExitStatus") or ""):
    sys.exit("FAIL: %s: SIGABRT would not count as a failure" % unit)

msgs = []
env["TWITCHD_TEST_STALL_DSP_S"] = "1.5"
t0 = time.monotonic()
p = subprocess.Popen([tw, "run", "-o", "input.source=synth", "-o", "record.mode=off", "-o", "journal.dir=" + os.path.join(tmp, "j2"),
                      "-o", "publish.endpoint=tcp://127.0.0.1:*"], env=env, preexec_fn=no_core,
                     stderr=open(os.path.join(tmp, "err"), "w"))
last = tripped = None
while time.monotonic() < t0 + 10.0 and p.poll() is None:
    try:
        d, pid = recv()
        msgs.append((time.monotonic() - t0, d, pid))
        if d.strip() == "WATCHDOG=1" and pid == p.pid:
            last = time.monotonic()
    except socket.timeout:
        pass
    if last is not None and time.monotonic() - last > 1.0:     # WATCHDOG_USEC
        tripped = time.monotonic() - t0
        p.send_signal(signal.SIGABRT)                          # systemd's WatchdogSignal=
        break
if tripped is None:
    p.kill()
    p.wait()
    fail("the watchdog never tripped (WATCHDOG=1 kept coming, or none came)")
try:
    rc = p.wait(timeout=5)
except subprocess.TimeoutExpired:
    p.kill()
    p.wait()
    fail("SIGABRT did not end the daemon within 5 s (systemd would need SIGKILL)")
if rc != -signal.SIGABRT: fail("after SIGABRT: status %d, want death by SIGABRT" % rc)
if tripped < 1.5: fail("the watchdog tripped at %.2f s, before the stall" % tripped)
print("  stalled at 1.5 s: the watchdog (1 s) tripped at %.2f s, SIGABRT ended the daemon;"
      " %s: WatchdogSec=%s, Restart=%s restarts it" % (tripped, os.path.basename(unit), wsec, key("Restart")))
PY
echo "notify: OK"
