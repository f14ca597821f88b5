#!/usr/bin/env bash
# record_full.sh BUILD_DIR: the disk fills up under a recording. The
# daemon runs with a 1 MiB file-size limit (ulimit -f: writes beyond it
# fail with EFBIG, as on a full disk); a BDF+ recording at 48 kHz (144 kB/s)
# reaches it in about 7 s.
#
# Checks:
#  - the recording stops with an error that `ctl status` and the sts
#    heartbeat show ("record": {"recording": false, "error": ...});
#  - acquisition, journal and publishing go on: marks made after the
#    error are journaled, sts keeps coming, samples keep growing;
#  - session.stop still writes the summary (it is small) with the error
#    noted, and the truncated recording is a readable BDF+ file (EDFlib's
#    own reader through `twitchd repair`: "nothing to repair").
set -euo pipefail

B=${1:?usage: record_full.sh BUILD_DIR}
TW="$B/twitchd"
T=$(mktemp -d)
pid=
cleanup() {
    [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $T/log ]] && sed 's/^/  daemon: /' "$T/log" >&2; exit 1; }
ok() { echo "  ok${1:+: $1}"; }
EP="ipc://$T/ctl"
ctl() { "$TW" ctl -e "$EP" -t 5000 "$@"; }
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, {"d": d}))' "$1" "$2"; }

(
    ulimit -f 1024
    exec "$TW" run -o input.source=synth -o input.pace=realtime -o journal.dir="$T/j" \
        -o publish.endpoint="ipc://$T/pub" -o control.endpoint="$EP" -o record.dir="$T/rec" \
        -o record.format=bdf -o publish.heartbeat_s=0.5
) >"$T/log" 2>&1 &
pid=$!
for _ in $(seq 100); do ctl -t 200 status >/dev/null 2>&1 && break; sleep 0.1; done
r=$(ctl session.start subject=FULL) || fail "session.start: $r"
rec=$(field "$r" 'd["recording"]')
[[ $rec == "$T/rec/"*.bdf ]] || fail "no recording: $r"
# wait for the limit (1 MiB at 144 kB/s: ~7 s)
for _ in $(seq 200); do
    st=$(ctl status) || fail "status: $st"
    [[ $(field "$st" '"error" in d["record"]') == True ]] && break
    sleep 0.1
done
[[ $(field "$st" 'd["record"]["recording"] is False and "File too large" in d["record"]["error"]') == True ]] \
    || fail "status after the limit: $st"
ok "the recording stopped: $(field "$st" 'd["record"]["error"]')"
s1=$(field "$st" 'd["samples"]')
m=$(ctl mark label="after the disk filled") || fail "mark after the error: $m"
"$TW" sub --count 2 --timeout 3 "ipc://$T/pub" sts >"$T/sts" || fail "no sts after the error"
python3 - "$T/sts" <<'EOF' || fail "sts lacks the recording error"
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    assert d["record"]["recording"] is False and "File too large" in d["record"]["error"], d["record"]
EOF
sleep 0.5
st=$(ctl status)
(( $(field "$st" 'd["samples"]') > s1 )) || fail "acquisition stopped"
ok "acquisition, publishing (sts) and control go on; sts shows the error"
r=$(ctl session.stop) || fail "session.stop: $r"
sp=$(field "$r" 'd["summary_path"]')
[[ -f $sp ]] || fail "no summary: $r"
[[ $(field "$r" '"File too large" in d["summary"].get("recording_error", "")') == True ]] || fail "summary lacks the recording error: $r"
kill -TERM "$pid"; wait "$pid" || true
pid=
grep -q '"label":"after the disk filled"' "$T"/j/*.jsonl || fail "the mark after the error is not in the journal"
out=$("$TW" repair "$rec") || fail "repair: $out"
[[ $out == *"nothing to repair"* ]] || fail "the stopped recording is not a complete file: $out"
ok "summary written with the error; journal has the later mark; $(basename "$rec") is complete ($out)"
grep -E "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$T/log" && fail "sanitizer report"
echo "record_full: PASS"
