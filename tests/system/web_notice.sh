#!/usr/bin/env bash
# web_notice.sh BUILD_DIR: the live view resolves onset notices by their
# id (issue 15): a notice is replaced by its record, or dimmed by its
# evt.cancel with the reason on hover.
#
# `twitchd web` (web.listen=127.0.0.1:0) serves the page and a `twitchd
# sub` records the event topics; tests/web/notice.py opens the page in
# headless Chromium, then starts the daemon on a 20 s synthetic file (seed
# 12: LTRs, voluntary bursts and flinches; the daemon turns down 5 of its
# notices) at real-time pace, and checks the page against the
# subscriber's record (see notice.py). Screenshot:
# BUILD_DIR/artifacts/web_notice.png. Then: the web server stops on
# SIGTERM with 0, and no sanitizer report is in either log.
set -euo pipefail

. "$(dirname "$0")/lib/common.bash" "${1:-}" web_notice
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
[[ -x $PY ]] && "$PY" -c 'import selenium' 2>/dev/null || fail "$PY with selenium is missing (make deps: python3-selenium)"
for p in /usr/bin/chromium /usr/bin/chromedriver; do
    [[ -x $p ]] || fail "$p is missing (make deps: chromium chromium-driver)"
done
wpid= spid=
cleanup() {
    local rc=$?
    for p in $wpid $spid; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT

"$TW" synth --seed 12 --seconds 20 -o guard_s=1.5 -o ltr_per_min=20 -o voluntary_per_min=8 \
    -o flinch_per_min=8 -o epn_per_min=4 "$T/in.wav" 2>/dev/null || fail "synth"

"$TW" web -o publish.endpoint="ipc://$T/pub" -o control.endpoint="ipc://$T/ctl" \
    -o web.root="$REPO/web" -o web.listen=127.0.0.1:0 >"$T/web.log" 2>&1 &
wpid=$!
"$TW" sub "ipc://$T/pub" evt. >"$T/sub.out" 2>"$T/sub.err" &
spid=$!
url=
for _ in $(seq 100); do
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$T/web.log" | head -n 1) && [[ -n $url ]] && break
    kill -0 "$wpid" 2>/dev/null || fail "twitchd web exited: $(cat "$T/web.log")"
    sleep 0.1
done
[[ -n $url ]] || fail "twitchd web did not say where it listens"
echo "web_notice: twitchd web on $url; the daemon reads 20 s of LTRs, voluntary bursts and flinches"
mkdir -p "$B/artifacts"
"$PY" "$REPO/tests/web/notice.py" --url "$url" --shot "$B/artifacts/web_notice.png" --sub "$T/sub.out" -- \
    "$TW" run -o input.source=file -o input.path="$T/in.wav" -o input.pace=realtime \
    -o journal.dir="$T/j" -o publish.endpoint="ipc://$T/pub" -o control.endpoint="ipc://$T/ctl" \
    -o record.mode=off -o record.dir="$T/rec" -o log.level=info 2>"$T/log" ||
    fail "notice.py"
kill -TERM "$wpid"
rc=0; wait "$wpid" || rc=$?
wpid=
[[ $rc -eq 0 ]] || fail "twitchd web exited $rc after SIGTERM"
kill -TERM "$spid"; wait "$spid" || true; spid=
if grep -E "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$T/log" "$T/web.log"; then
    fail "sanitizer report"
fi
echo "web_notice: PASS"
