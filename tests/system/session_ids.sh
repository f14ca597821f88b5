#!/usr/bin/env bash
# session_ids.sh BUILD_DIR: session ids are never given twice, and no
# recording or summary file is ever replaced (issue 13).
#
# The live daemon on its synthetic source at full speed (input.pace=fast),
# record.mode=session, BDF+:
#  - N (default 200, TW_SESSION_CYCLES) session.start / session.stop
#    cycles with the same subject, as fast as `twitchd ctl` goes (many
#    within one second): N distinct session ids, N distinct summary files
#    (each the summary its stop returned), N distinct recordings, each
#    file on disk and named by its session; every id in the journal's
#    evt.session records once as start and once as stop;
#  - two subjects of 64 characters that differ only in their last one
#    get two ids (a 64-character subject is kept whole);
#  - across a restart: files named by the ids the next 10 seconds would
#    give to subject RESTART (as an earlier run would have left them) are
#    not reused: the new session gets the ".2" suffix and the files are
#    byte for byte as they were.
# Figures printed: cycles, seconds, ids, files.
set -euo pipefail

. "$(dirname "$0")/lib/common.bash" "${1:-}" session_ids
N=${TW_SESSION_CYCLES:-200}
pid=
cleanup() {
    local rc=$?
    [[ -n $pid ]] && { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT
EP="ipc://$T/ctl"
ctl() { "$TW" ctl -e "$EP" -t 10000 "$@"; }

start_daemon() {
    "$TW" run -o input.source=synth -o input.pace=fast -o journal.dir="$T/j" \
        -o publish.endpoint="ipc://$T/pub" -o control.endpoint="$EP" \
        -o record.dir="$T/rec" -o record.mode=session -o record.format=bdf \
        >>"$T/log" 2>&1 </dev/null &
    pid=$!
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

start_daemon
t0=$(date +%s.%N)
for i in $(seq "$N"); do
    ctl session.start subject=S01 >>"$T/starts" || fail "session.start $i: $(tail -1 "$T/starts")"
    ctl session.stop >>"$T/stops" || fail "session.stop $i: $(tail -1 "$T/stops")"
done
t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
# every reply, and every file: one id, one recording and one summary each
/usr/bin/python3 - "$T" "$N" "$secs" <<'PY' || fail "sessions and files disagree (above)"
import json, os, sys
T, N, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rec = os.path.join(T, "rec")
starts = [json.loads(l) for l in open(os.path.join(T, "starts"))]
stops = [json.loads(l) for l in open(os.path.join(T, "stops"))]
bad = []
def check(cond, what):
    if not cond:
        bad.append(what)
ids = [s["session"] for s in starts]
check(len(starts) == N and len(stops) == N, f"{len(starts)} starts, {len(stops)} stops")
files = []
for s, e in zip(starts, stops):
    sid = s["session"]
    check(s["recording"] == f"{rec}/{sid}.bdf", f"{sid}: recording {s['recording']}")
    check(e["session"] == sid, f"{sid}: stopped {e['session']}")
    check(e["summary_path"] == f"{rec}/{sid}.summary.json", f"{sid}: summary_path {e['summary_path']}")
    on_disk = json.load(open(e["summary_path"])) if e["summary_path"] else None
    # (numbers are written to 10 digits in the file: compare the rest)
    same = on_disk and all(on_disk.get(k) == e["summary"].get(k) for k in ("id", "recording_files", "marks"))
    check(same and set(on_disk) == set(e["summary"]),
          f"{sid}: {e['summary_path']} is not the summary its stop returned")
    files += e["summary"]["recording_files"]
names = sorted(os.listdir(rec))
bdfs = [n for n in names if n.endswith(".bdf")]
sums = [n for n in names if n.endswith(".summary.json")]
others = [n for n in names if n not in bdfs and n not in sums]
seconds = len({i[:16] for i in ids})
print(f"  {N} cycles in {secs} s ({seconds} distinct seconds): {len(set(ids))} ids, "
      f"{len(sums)} summaries, {len(bdfs)} recordings ({len(files)} listed in the summaries)")
check(len(set(ids)) == N, f"{N} sessions got {len(set(ids))} distinct ids")
check(len(sums) == N, f"{N} sessions left {len(sums)} summary files")
check(len(set(files)) == len(files) >= N, f"the summaries list {len(files)} files, {len(set(files))} distinct")
check(sorted(os.path.join(rec, b) for b in bdfs) == sorted(files), "the recordings on disk are not the files listed")
check(not others, f"other files left: {others}")
if seconds >= N:
    print("  (note: no two sessions shared a second: the test checked less than it could)")
for b in bad[:10]:
    print("  " + b)
if len(bad) > 10:
    print(f"  ... and {len(bad) - 10} more")
sys.exit(1 if bad else 0)
PY
ok "$N fast cycles: $N ids, $N summaries, $N recordings, none replaced"

long=$(printf 'L%.0s' $(seq 63))
r1=$(ctl session.start subject="${long}a") || fail "session.start: $r1"
ctl session.stop >/dev/null || fail "session.stop"
r2=$(ctl session.start subject="${long}b") || fail "session.start: $r2"
ctl session.stop >/dev/null || fail "session.stop"
id1=$(jq -r .session <<<"$r1") id2=$(jq -r .session <<<"$r2")
[[ $id1 == *"${long}a" && $id2 == *"${long}b" ]] || fail "64-character subjects cut: $id1, $id2"
ok "64-character subjects kept whole: ${#id1} and ${#id2} characters"
stop_daemon

# the journal: every id starts and stops once
jn=$(cat "$T"/j/*.jsonl | jq -r 'select(.topic == "evt.session") | .id + " " + .state' | sort | uniq -c |
    awk '$1 != 1' | wc -l)
[[ $jn -eq 0 ]] || fail "the journal has an id started or stopped more than once"

# a restart: ids an earlier run used (files in record.dir) are not reused
now=$(date +%s)
for s in $(seq "$now" $((now + 10))); do
    stem="$(date -u -d "@$s" +%Y%m%dT%H%M%SZ)-RESTART"
    echo "earlier run $s" >"$T/rec/$stem.summary.json"
done
start_daemon
r=$(ctl session.start subject=RESTART) || fail "session.start: $r"
id=$(jq -r .session <<<"$r")
[[ $id == *-RESTART.2 ]] || fail "after a restart: id $id reuses the files of an earlier run"
r=$(ctl session.stop) || fail "session.stop: $r"
[[ $(jq -r .summary_path <<<"$r") == "$T/rec/$id.summary.json" ]] || fail "summary_path: $r"
n=0
for s in $(seq "$now" $((now + 10))); do
    f="$T/rec/$(date -u -d "@$s" +%Y%m%dT%H%M%SZ)-RESTART.summary.json"
    [[ $(cat "$f") == "earlier run $s" ]] || fail "$f was replaced"
    n=$((n + 1))
done
ok "after a restart: id $id; the $n files of an earlier run kept"
stop_daemon
echo "session_ids: PASS"
