#!/usr/bin/env bash
# record_dir.sh BUILD_DIR: no recording is ever missing without a word
# (issue 13).
#
#  - record.dir missing with its parents: `twitchd run` makes it at start
#    (as journal.dir) and logs where recordings go; session.start records
#    there and `twitchd ctl` exits 0 (with input.full_scale_uv at its
#    largest, 9999999, which an EDF header holds: 1e7 was accepted and
#    failed every recording);
#  - record.dir removed with its parents while running: the next
#    session.start makes it again and records;
#  - record.dir replaced by a file while running: session.start answers
#    ok with recording_error, and `twitchd ctl` exits 73 saying "NOT
#    RECORDING" and why on stderr; the session is open (status);
#  - record.dir unusable at start (a file in its place): record.mode=session
#    exits 73 naming the directory; record.mode=off starts (only summaries
#    would go there) and says so.
# The daemon reads a 60 s WAV at real-time pace with input.full_scale_uv
# at its largest. (The live view shows the failure in red:
# tests/web/check.py.)
set -euo pipefail

. "$(dirname "$0")/lib/common.bash" "${1:-}" record_dir
pid=
cleanup() {
    local rc=$?
    [[ -n $pid ]] && { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT
EP="ipc://$T/ctl"
ctl() { "$TW" ctl -e "$EP" -t 5000 "$@"; }
REC="$T/a/b/recordings"
"$B/tools/mkwav" "$T/in.wav" --rate 48000 --channels 1 --format int16 --seconds 60 >/dev/null 2>&1 ||
    fail "mkwav"

# run_daemon MODE [LOG]: start the daemon on the synthetic source
run_daemon() {
    "$TW" run -o input.source=file -o input.path="$T/in.wav" -o input.pace=realtime \
        -o journal.dir="$T/j" -o publish.endpoint="ipc://$T/pub" -o control.endpoint="$EP" \
        -o record.dir="$REC" -o record.mode="$1" -o input.full_scale_uv=9999999 \
        >"$T/log" 2>&1 </dev/null &
    pid=$!
}
wait_ctl() {
    local i
    for i in $(seq 100); do ctl -t 300 status >/dev/null 2>&1 && return 0; sleep 0.1; done
    fail "the daemon does not answer"
}
stop_daemon() {
    kill -TERM "$pid"
    local rc=0
    wait "$pid" || rc=$?
    pid=
    [[ $rc -eq 0 ]] || fail "the daemon exited $rc"
}

# 1. missing with its parents: made at start, said in the log
run_daemon session
wait_ctl
[[ -d $REC ]] || fail "$REC was not made at start"
grep -q "record: recordings (one file per session, BDF+) and session summaries go to $REC" "$T/log" ||
    fail "the log does not say where recordings go"
rc=0
r=$(ctl session.start subject=S01 2>"$T/err") || rc=$?
[[ $rc -eq 0 && $(jq -r .recording <<<"$r") == "$REC/"*-S01.bdf ]] ||
    fail "session.start: exit $rc, reply $r, stderr $(cat "$T/err")"
ctl session.stop >/dev/null || fail "session.stop"
ok "record.dir missing with its parents: made at start, logged, recorded (ctl exit 0)"

# 2. removed with its parents while running: made again
rm -rf "$T/a"
rc=0
r=$(ctl session.start subject=S02 2>"$T/err") || rc=$?
[[ $rc -eq 0 && $(jq -r .recording <<<"$r") == "$REC/"*-S02.bdf && -f $(jq -r .recording <<<"$r") ]] ||
    fail "session.start after rm -rf: exit $rc, reply $r, stderr $(cat "$T/err")"
ctl session.stop >/dev/null || fail "session.stop"
ok "record.dir removed with its parents while running: made again at session.start"

# 3. a file in its place: ok with recording_error, ctl exits 73
rm -rf "$REC"
echo "not a directory" >"$REC"
rc=0
r=$(ctl session.start subject=S03 2>"$T/err") || rc=$?
[[ $rc -eq 73 ]] || fail "session.start without a recording: ctl exit $rc, want 73 (reply $r)"
[[ $(jq -r .ok <<<"$r") == true && $(jq -r .recording <<<"$r") == null ]] || fail "reply: $r"
grep -q "NOT RECORDING: recording directory '$REC': not a directory" "$T/err" ||
    fail "ctl stderr: $(cat "$T/err")"
[[ $(ctl status | jq -r .session.id) == $(jq -r .session <<<"$r") ]] || fail "the session is not open"
echo "  ctl: $(cat "$T/err")"
ctl session.stop >/dev/null || fail "session.stop"
ok "record.dir unusable: session.start ok with recording_error, ctl exit 73, stderr says why"
stop_daemon

# 4. unusable at start
rc=0
timeout 20 "$TW" run -o input.source=synth -o input.pace=realtime -o journal.dir="$T/j" \
    -o publish.endpoint="ipc://$T/pub" -o control.endpoint="$EP" -o record.dir="$REC" \
    -o record.mode=session >"$T/log" 2>&1 </dev/null || rc=$?
[[ $rc -eq 73 ]] || fail "record.mode=session with record.dir unusable: exit $rc, want 73"
grep -q "recording directory '$REC': not a directory (record.mode=session needs it)" "$T/log" ||
    fail "no reason naming the directory: $(cat "$T/log")"
run_daemon off
wait_ctl
grep -q "record: off (record.mode=off); session summaries go to $REC" "$T/log" ||
    fail "record.mode=off: the log does not say so"
stop_daemon
ok "record.dir unusable at start: record.mode=session exits 73 naming it; record.mode=off starts"
echo "record_dir: PASS"
