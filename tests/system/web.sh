#!/usr/bin/env bash
# web.sh BUILD_DIR: `twitchd web`, the live view, in a real browser.
#
# Starts the daemon on its synthetic source (2 channels, real-time pace,
# 30 LTRs and 6 EPN episodes a minute, seed printed) and `twitchd web` on a
# free port (web.listen=127.0.0.1:0; the URL is read from its log), then
# tests/web/check.py drives the page in headless Chromium (Selenium): HTTP
# checks, session controls through the page, the event list against the
# journal, the LTR counter against `twitchd ctl status` and the session
# summary, the insertion train, listening, a restart of the web server,
# "no data" within 3 s of a frozen and of a stopped daemon, the web server
# outliving the daemon and stopping on SIGTERM with status 0, the audio
# monitor's controls (its device missing) (see check.py); it saves a
# screenshot to BUILD_DIR/artifacts/web.png. Then: both exited 0, and no
# sanitizer report is in either log.
# Also: `twitchd web` with no page files in web.root, or a bad web.listen,
# exits 78 naming the problem.
#
# TW_WEB_LONG=N: also keep the page open N more minutes with a heavier
# load (4 channels, sig at 2 kHz, 60 LTRs a minute) and report its memory
# every minute (check.py --long-min). Default: off (the run takes ~40 s).
set -euo pipefail

B=${1:?usage: web.sh BUILD_DIR}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TW="$B/twitchd"
PY=/usr/bin/python3
LONG=${TW_WEB_LONG:-0}

fail() { echo "FAIL: $*" >&2; for f in "$T"/*.log; do [[ -f $f ]] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done; exit 1; }
ok() { echo "  ok${1:+: $1}"; }

[[ -x $PY ]] && "$PY" -c 'import selenium' 2>/dev/null || { echo "FAIL: $PY with selenium is missing (make deps: python3-selenium)" >&2; exit 1; }
for p in /usr/bin/chromium /usr/bin/chromedriver; do
    [[ -x $p ]] || { echo "FAIL: $p is missing (make deps: chromium chromium-driver)" >&2; exit 1; }
done

T=$(mktemp -d)
dpid= wpid=
cleanup() {
    [[ -f $T/web2.pid ]] && { kill -KILL "$(cat "$T/web2.pid")" 2>/dev/null || true; }
    for p in $dpid $wpid; do kill -CONT "$p" 2>/dev/null || true; kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT

echo "web: bad configurations"
rc=0; "$TW" web -o web.root="$T/none" -o publish.endpoint="ipc://$T/pub" >"$T/bad.out" 2>&1 || rc=$?
[[ $rc -eq 78 ]] && grep -q "no readable index.html" "$T/bad.out" || fail "web.root without index.html: exit $rc: $(cat "$T/bad.out")"
rc=0; "$TW" web -o web.root="$REPO/web" -o web.listen=localhost -o publish.endpoint="ipc://$T/pub" >"$T/bad.out" 2>&1 || rc=$?
[[ $rc -eq 78 ]] && grep -q "expected HOST:PORT" "$T/bad.out" || fail "web.listen=localhost: exit $rc: $(cat "$T/bad.out")"
ok "no page files: 78; web.listen without a port: 78"

seed=${TW_WEB_SEED:-4242}
chans=2 sig=1000 ltrs=30 epns=6
if (( LONG > 0 )); then chans=4 sig=2000 ltrs=60 epns=10; fi
echo "web: daemon on the synthetic source (seed $seed, $chans channels, $ltrs LTRs/min)"
# (its audio monitor on, its device missing: tests/data/alsa-tier1.conf has none such)
ALSA_CONFIG_PATH="$REPO/tests/data/alsa-tier1.conf" JACK_NO_START_SERVER=1 \
"$TW" run -o monitor.enabled=true -o monitor.device=nosuchdev -o input.source=synth -o input.pace=realtime -o input.channels=$chans \
    -o synth.seed="$seed" -o synth.ltr_per_min=$ltrs -o synth.epn_per_min=$epns \
    -o publish.sig_rate_hz=$sig -o journal.dir="$T/j" -o publish.endpoint="ipc://$T/pub" \
    -o control.endpoint="ipc://$T/ctl" -o record.mode=session -o record.dir="$T/rec" >"$T/daemon.log" 2>&1 &
dpid=$!
for _ in $(seq 100); do "$TW" ctl -e "ipc://$T/ctl" -t 200 status >/dev/null 2>&1 && break; sleep 0.1; done
"$TW" ctl -e "ipc://$T/ctl" -t 1000 status >/dev/null || fail "the daemon does not answer"

"$TW" web -o publish.endpoint="ipc://$T/pub" -o control.endpoint="ipc://$T/ctl" \
    -o web.root="$REPO/web" -o web.listen=127.0.0.1:0 -o web.max_clients=3 >"$T/web.log" 2>&1 &
wpid=$!
url=
for _ in $(seq 100); do
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$T/web.log" | head -n 1) && [[ -n $url ]] && break
    kill -0 "$wpid" 2>/dev/null || fail "twitchd web exited"
    sleep 0.1
done
[[ -n $url ]] || fail "twitchd web did not say where it listens"
ok "twitchd web on $url"

mkdir -p "$B/artifacts"
"$PY" "$REPO/tests/web/check.py" --url "$url" --twitchd "$TW" --ctl "ipc://$T/ctl" \
    --journal "$T/j" --rec-dir "$T/rec" --daemon-pid "$dpid" --web-pid "$wpid" --web-log "$T/web.log" \
    --web-pidfile "$T/web2.pid" --shot "$B/artifacts/web.png" \
    --long-min "$LONG" || fail "check.py"

rc=0; wait "$dpid" || rc=$?
dpid=
[[ $rc -eq 0 ]] || fail "the daemon exited $rc after SIGTERM"
rc=0; wait "$wpid" || rc=$?
wpid=
[[ $rc -eq 0 ]] || fail "the first twitchd web exited $rc after SIGTERM"
if grep -E "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$T/daemon.log" "$T/web.log"; then
    fail "sanitizer report"
fi
echo "web: PASS"
