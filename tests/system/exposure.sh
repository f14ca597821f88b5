#!/usr/bin/env bash
# exposure.sh BUILD_DIR: the defaults expose nothing beyond the machine,
# and the daemon says so when a configuration does (issue 8, Security).
#
# Checks:
#  - the shipped defaults, both `twitchd print-config` and
#    config/twitchd.conf: every publish.endpoint is tcp:// on a loopback
#    address (127.x, localhost, [::1]) or ipc://; control.endpoint is
#    ipc:// (or empty: no control socket); web.listen is on loopback;
#  - a run with loopback tcp:// publishing and an ipc:// control socket
#    logs no exposure warning;
#  - a tcp:// publish endpoint that is not loopback (0.0.0.0, *) logs a
#    warning naming it (and only it: the loopback one beside it is not
#    named);
#  - a tcp:// control endpoint without CURVE logs a warning: on loopback
#    (every local user may send requests; an ipc:// socket admits its
#    group only) and, worded for the network, off loopback;
#  - an abstract ipc://@name control endpoint without CURVE logs a warning
#    (no socket file, hence no permissions: every local user);
#  - `twitchd web` on a loopback web.listen logs no warning, on 0.0.0.0 one
#    (its page shows the signal and starts and stops sessions, no login).
# Each run is the synthetic source, as fast as possible, for 1 s of input.
set -euo pipefail

B=${1:?usage: exposure.sh BUILD_DIR}
TW="$B/twitchd"
here=$(cd "$(dirname "$0")" && pwd)
CONF="$here/../../config/twitchd.conf"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "  ok${1:+: $1}"; }

"$TW" print-config >"$T/printed.conf" || fail "print-config"
for f in "$T/printed.conf" "$CONF"; do
    python3 - "$f" <<'PY' || fail "$f exposes something beyond the machine"
import configparser, re, sys
c = configparser.ConfigParser(interpolation=None, comment_prefixes=("#",), inline_comment_prefixes=None)
c.read(sys.argv[1])
loop = re.compile(r"^(127\.[0-9.]+|localhost|\[::1\]):")
pub = [e.strip() for e in c["publish"]["endpoint"].split(",")]
assert pub, "no publish endpoint"
for e in pub:
    assert e.startswith("ipc://") or (e.startswith("tcp://") and loop.match(e[6:])), \
        "publish.endpoint %r is not loopback or ipc" % e
ctl = c["control"]["endpoint"].strip()
assert ctl == "" or ctl.startswith("ipc://"), "control.endpoint %r is not ipc://" % ctl
web = c["web"]["listen"].strip()
assert loop.match(web), "web.listen %r is not loopback" % web
assert c["curve"]["enable"].strip() == "false"
print("  %s: publish %s, control %s, web %s" % (sys.argv[1].split("/")[-1], pub, ctl, web))
PY
done
ok "shipped defaults: publish on loopback, control on ipc://, web on loopback"

# run NAME -o ...: 1 s of synthetic input, as fast as it goes; log in $T/NAME.log
run() {
    local name=$1
    shift
    timeout 60 "$TW" run -o input.source=synth -o input.pace=fast -o input.duration_s=1 \
        -o journal.dir="$T/j-$name" -o record.mode=off "$@" >"$T/$name.log" 2>&1 ||
        fail "$name: exit $?: $(cat "$T/$name.log")"
}
warned() { grep -E "warning: $1" "$T/$2.log"; }

run quiet -o publish.endpoint="tcp://127.0.0.1:*" -o control.endpoint="ipc://$T/ctl"
warned "(publish|control):" quiet && fail "loopback publishing and an ipc control socket: exposure warning"
ok "loopback tcp:// publishing, ipc:// control: no warning"

run pub -o publish.endpoint="tcp://127.0.0.1:*, tcp://0.0.0.0:*,tcp://*:*" -o control.endpoint="ipc://$T/ctl"
warned "publish: endpoint 'tcp://0\.0\.0\.0:\*' is not loopback" pub >/dev/null ||
    fail "no warning for publishing on 0.0.0.0: $(cat "$T/pub.log")"
warned "publish: endpoint 'tcp://\*:\*' is not loopback" pub >/dev/null ||
    fail "no warning for publishing on *: $(cat "$T/pub.log")"
warned "publish: endpoint 'tcp://127" pub && fail "a loopback publish endpoint was warned about"
ok "non-loopback tcp:// publish endpoints: a warning each"

run ctl-lo -o publish.endpoint="ipc://$T/pub" -o control.endpoint="tcp://127.0.0.1:*"
warned "control: endpoint 'tcp://127\.0\.0\.1:\*' is TCP without CURVE: every local user" ctl-lo >/dev/null ||
    fail "no warning for a loopback tcp:// control endpoint: $(cat "$T/ctl-lo.log")"
run ctl-net -o publish.endpoint="ipc://$T/pub" -o control.endpoint="tcp://0.0.0.0:*"
warned "control: endpoint 'tcp://0\.0\.0\.0:\*' is TCP without CURVE and not loopback: anyone on the network" ctl-net >/dev/null ||
    fail "no warning for a network tcp:// control endpoint: $(cat "$T/ctl-net.log")"
ok "tcp:// control endpoints without CURVE: a warning (loopback: local users; otherwise: the network)"

# a Linux abstract socket has no file permissions (issue 13)
run ctl-abs -o publish.endpoint="ipc://$T/pub" -o control.endpoint="ipc://@twitchd-exposure-$$"
warned "control: endpoint 'ipc://@twitchd-exposure-$$' is an abstract socket without CURVE: it has no file permissions, so every local user" ctl-abs >/dev/null ||
    fail "no warning for an abstract ipc:// control endpoint: $(cat "$T/ctl-abs.log")"
ok "an abstract ipc://@ control endpoint without CURVE: a warning (no file permissions)"

# web WEB_LISTEN NAME: `twitchd web` started, up (it says where it serves), stopped
web() {
    local listen=$1 name=$2 pid
    "$TW" web -o web.root="$here/../../web" -o web.listen="$listen" -o publish.endpoint="ipc://$T/pub" \
        -o control.endpoint="ipc://$T/ctl" >"$T/$name.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do grep -q "web: serving" "$T/$name.log" && break; sleep 0.1; done
    grep -q "web: serving" "$T/$name.log" || { kill "$pid" 2>/dev/null || true; fail "$name: twitchd web did not start: $(cat "$T/$name.log")"; }
    kill "$pid"
    wait "$pid" || fail "$name: twitchd web exited $? on SIGTERM"
}
web 127.0.0.1:0 web-lo
warned "web:" web-lo && fail "twitchd web on loopback: exposure warning"
web 0.0.0.0:0 web-net
warned "web: web.listen '0\.0\.0\.0:0' is not loopback: anyone who reaches it" web-net >/dev/null ||
    fail "no warning for twitchd web on 0.0.0.0: $(cat "$T/web-net.log")"
ok "twitchd web: no warning on loopback, a warning on 0.0.0.0"

for f in "$T"/*.log; do
    grep -E "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$f" && fail "sanitizer report in $f"
done
echo "exposure: PASS"
