#!/usr/bin/env bash
# web_quality.sh BUILD_DIR: the live view shows a banner on a channel whose
# signal quality is not ok, and removes it when the signal is ok again
# (issue 13).
#
# `twitchd web` (web.listen=127.0.0.1:0) serves the page; tests/web/quality.py
# opens it in headless Chromium, then starts the daemon on a 12 s synthetic
# file (seed 32) at real-time pace holding 3 s of exact zeros from 4 s on,
# and samples channel 0's banner: none before 4 s, "flat" within 1.5 s of
# the stretch, gone within 2.5 s after it ends (the state holds 1 s), none
# after (see quality.py). Screenshot: BUILD_DIR/artifacts/web_quality.png.
# Then: the web server stops on SIGTERM with 0, and no sanitizer report is
# in either log.
set -euo pipefail

. "$(dirname "$0")/lib/common.bash" "${1:-}" web_quality
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
[[ -x $PY ]] && "$PY" -c 'import selenium' 2>/dev/null || fail "$PY with selenium is missing (make deps: python3-selenium)"
for p in /usr/bin/chromium /usr/bin/chromedriver; do
    [[ -x $p ]] || fail "$p is missing (make deps: chromium chromium-driver)"
done
wpid=
cleanup() {
    local rc=$?
    [[ -n $wpid ]] && { kill -KILL "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null || true; }
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT

"$TW" synth --seed 32 --seconds 12 "$T/c.wav" 2>/dev/null || fail "synth"
"$PY" - "$T/c.wav" "$T/z.wav" <<'PY' || fail "zeros"
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
i = 12
while i < len(d):
    cid, n = bytes(d[i:i + 4]), struct.unpack("<I", d[i + 4:i + 8])[0]
    if cid == b"data":
        rate = struct.unpack("<I", d[24:28])[0]
        a = i + 8 + 4 * 4 * rate  # float32, mono: from 4 s, 3 s
        d[a:a + 4 * 3 * rate] = bytes(4 * 3 * rate)
        break
    i += 8 + n + (n & 1)
open(sys.argv[2], "wb").write(d)
PY

"$TW" web -o publish.endpoint="ipc://$T/pub" -o control.endpoint="ipc://$T/ctl" \
    -o web.root="$REPO/web" -o web.listen=127.0.0.1:0 >"$T/web.log" 2>&1 &
wpid=$!
url=
for _ in $(seq 100); do
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$T/web.log" | head -n 1) && [[ -n $url ]] && break
    kill -0 "$wpid" 2>/dev/null || fail "twitchd web exited: $(cat "$T/web.log")"
    sleep 0.1
done
[[ -n $url ]] || fail "twitchd web did not say where it listens"
echo "web_quality: twitchd web on $url; the daemon reads 12 s with zeros at 4-7 s"
mkdir -p "$B/artifacts"
"$PY" "$REPO/tests/web/quality.py" --url "$url" --shot "$B/artifacts/web_quality.png" -- \
    "$TW" run -o input.source=file -o input.path="$T/z.wav" -o input.pace=realtime \
    -o journal.dir="$T/j" -o publish.endpoint="ipc://$T/pub" -o control.endpoint="ipc://$T/ctl" \
    -o record.mode=off -o record.dir="$T/rec" -o log.level=info 2>"$T/log" ||
    fail "quality.py"
kill -TERM "$wpid"
rc=0; wait "$wpid" || rc=$?
wpid=
[[ $rc -eq 0 ]] || fail "twitchd web exited $rc after SIGTERM"
if grep -E "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$T/log" "$T/web.log"; then
    fail "sanitizer report"
fi
echo "web_quality: PASS"
