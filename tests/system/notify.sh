#!/usr/bin/env bash
# sd_notify with a real NOTIFY_SOCKET (a datagram socket this test owns):
# READY=1 once audio flows, WATCHDOG=1 from the DSP loop while it runs,
# no more WATCHDOG=1 once the DSP thread is stalled on purpose (test-only
# fault switch TWITCHD_TEST_STALL_DSP_S), STOPPING=1 on SIGTERM.
# $1: the build directory.
set -euo pipefail
build=${1:?usage: notify.sh BUILD_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$build/twitchd" "$tmp" <<'PY'
import os, signal, socket, subprocess, sys, time
tw, tmp = sys.argv[1], sys.argv[2]
path = os.path.join(tmp, "notify.sock")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.1)
env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000", TWITCHD_TEST_STALL_DSP_S="4")
t0 = time.monotonic()
p = subprocess.Popen([tw, "run", "-o", "input.source=synth", "-o", "journal.dir=" + os.path.join(tmp, "j"),
                      "-o", "publish.endpoint=tcp://127.0.0.1:*"], env=env, stderr=open(os.path.join(tmp, "err"), "w"))
msgs = []
def pump(until):
    while time.monotonic() < until:
        try:
            d = s.recv(4096).decode()
        except socket.timeout:
            continue
        msgs.append((time.monotonic() - t0, d))
pump(t0 + 7.0)
p.send_signal(signal.SIGTERM)
pump(time.monotonic() + 2.0)
rc = p.wait(timeout=5)
def fail(why):
    for t, m in msgs: print("  %.2f s %r" % (t, m))
    print(open(os.path.join(tmp, "err")).read())
    sys.exit("FAIL: " + why)
ready = [t for t, m in msgs if "READY=1" in m]
wd = [t for t, m in msgs if m.strip() == "WATCHDOG=1"]
stop = [t for t, m in msgs if "STOPPING=1" in m]
if rc != 0: fail("exit status %d" % rc)
if len(ready) != 1: fail("READY=1 sent %d times" % len(ready))
rmsg = [m for t, m in msgs if "READY=1" in m][0]
if "running" not in rmsg: fail("READY=1 without a running STATUS: %r" % rmsg)
before = [t for t in wd if t < 3.5]
if len(before) < 4: fail("only %d WATCHDOG=1 in the first 3.5 s (want one per 0.5 s)" % len(before))
gaps = [b - a for a, b in zip(before, before[1:])]
if max(gaps) > 0.9: fail("a WATCHDOG=1 gap of %.2f s while running (period 1 s)" % max(gaps))
after = [t for t in wd if t > 4.6]
if after: fail("WATCHDOG=1 went on after the DSP thread stalled (at %s)" % after[:3])
if not stop: fail("no STOPPING=1 after SIGTERM")
print("  READY=1 at %.2f s: %s" % (ready[0], rmsg.replace("\n", " | ")))
print("  %d WATCHDOG=1 before the stall (largest gap %.2f s), none after it; STOPPING=1 at %.2f s" % (len(before), max(gaps), stop[0]))
PY
echo "notify: OK"
