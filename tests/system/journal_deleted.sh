#!/usr/bin/env bash
# journal_deleted.sh BUILD_DIR: the journal's day file, then its whole
# directory, deleted under the running daemon (a clean-up script, a
# rotation done wrong; issue 13).
#
# The daemon runs on its synthetic source at real-time pace with a high
# event rate while a control client journals a mark every ~50 ms and a
# subscriber records every journaled topic. Then:
#  1. `rm` of the day file: within 2 s the file is there again, `ctl
#     status` says journal ok with recreated 1, and the log warns;
#  2. `rm -rf` of the journal directory: within 2 s directory and file are
#     there again, recreated 2;
# and after SIGTERM (exit 0):
#  - every line the subscriber received from 0.5 s after each deletion
#    on is in the day file that is left, byte for byte (lines published
#    earlier went with the deleted file, as the deleter wanted; those
#    written since the daemon last saw the file in place are copied into
#    the new one);
#  - the lines of that file run without a hole per topic from its first
#    line on; every line parses;
#  - lines_lost = lines_failed = 0 in the last status; lines_rescued is
#    printed (the figure).
set -euo pipefail

. "$(dirname "$0")/lib/common.bash" "${1:-}" journal_deleted
J="$T/journal"
CTL="ipc://$T/ctl"
daemon= subpid= markpid=
cleanup() {
    local rc=$?
    touch "$T/stop-marks" 2>/dev/null || true
    [[ -n $markpid ]] && { wait "$markpid" 2>/dev/null || true; }
    [[ -n $daemon ]] && { kill -KILL "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null || true; }
    [[ -n $subpid ]] && { kill -TERM "$subpid" 2>/dev/null; wait "$subpid" 2>/dev/null || true; }
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT
ctl() { "$TW" ctl -e "$CTL" -t 5000 "$@"; }

"$TW" run -o input.source=synth -o input.pace=realtime -o synth.ltr_per_min=60 \
    -o synth.epn_per_min=10 -o journal.dir="$J" -o journal.fsync_s=1 \
    -o publish.endpoint="ipc://$T/pub" -o control.endpoint="$CTL" -o record.mode=off \
    -o record.dir="$T/rec" >"$T/log" 2>&1 </dev/null &
daemon=$!
for _ in $(seq 100); do ctl -t 300 status >/dev/null 2>&1 && break; sleep 0.1; done
"$TW" sub "ipc://$T/pub" evt.ltr evt.epn evt.mark evt.insertion evt.session gap \
    >"$T/sub.jsonl" 2>"$T/sub.err" </dev/null &
subpid=$!
sleep 0.5
(
    n=0
    while [[ ! -e $T/stop-marks ]]; do
        "$TW" ctl -e "$CTL" -t 500 mark label="m$n" >/dev/null 2>&1 || true
        n=$((n + 1))
        sleep 0.05
    done
) &
markpid=$!
sleep 2

day() { ls "$J"/twitchd-*.jsonl 2>/dev/null | head -1; }
f=$(day)
[[ -n $f ]] || fail "no day file in $J after 2.5 s"

# wait_back N WHAT: the day file is back and status says recreated N
wait_back() {
    local i st
    for i in $(seq 40); do
        sleep 0.1
        [[ -f $f ]] || continue
        st=$(ctl status) || fail "status: $st"
        if [[ $(jq -r '.journal.recreated' <<<"$st") == "$1" ]]; then
            [[ $(jq -r '.journal.ok' <<<"$st") == true ]] || fail "$2: status not ok: $(jq -c .journal <<<"$st")"
            echo "  $2: back after $(awk -v i="$i" 'BEGIN { printf "%.1f", i / 10 }') s: $(jq -c .journal <<<"$st")"
            return 0
        fi
    done
    fail "$2: the day file is not back within 4 s (exists: $([[ -f $f ]] && echo yes || echo no)); status journal: $(ctl status | jq -c .journal)"
}

rm -f "$f"
sleep 0.5
from1=$(wc -l <"$T/sub.jsonl")
wait_back 1 "day file deleted"
grep -q "was deleted while open: made again" "$T/log" || fail "no warning in the log"
sleep 2
to1=$(wc -l <"$T/sub.jsonl")
sleep 0.2
cp "$f" "$T/after1.jsonl"

rm -rf "$J"
sleep 0.5
from2=$(wc -l <"$T/sub.jsonl")
wait_back 2 "directory deleted (rm -rf)"
sleep 2

st=$(ctl status) || fail "status: $st"
touch "$T/stop-marks"
wait "$markpid" || true
markpid=
sleep 0.5
kill -TERM "$daemon"
rc=0
wait "$daemon" || rc=$?
daemon=
[[ $rc -eq 0 ]] || fail "the daemon exited $rc"
kill -TERM "$subpid"
wait "$subpid" 2>/dev/null || true
subpid=

[[ $(jq -r '.journal.lines_lost' <<<"$st") == 0 && $(jq -r '.journal.lines_failed' <<<"$st") == 0 ]] ||
    fail "lines lost or failed: $(jq -c .journal <<<"$st")"
/usr/bin/python3 - "$T/after1.jsonl" "$f" "$T/sub.jsonl" "$from1" "$to1" "$from2" <<'PY' ||
import json, sys
after1, path, sub = sys.argv[1:4]
from1, to1, from2 = (int(a) for a in sys.argv[4:7])
got = [l.rstrip("\n") for l in open(sub)]

def day_file(path):
    """The lines of a day file: whole, parsed, no hole per topic."""
    data = open(path, "rb").read()
    if data and not data.endswith(b"\n"):
        sys.exit(f"{path} does not end at a line end")
    lines = data.decode().splitlines()
    seen = {}
    for n, l in enumerate(lines, 1):
        d = json.loads(l)
        k = (d["stream"], d["topic"])
        if k in seen and d["seq"] != seen[k] + 1:
            sys.exit(f"{path}:{n}: {k[1]} seq {d['seq']} after {seen[k]}: a hole")
        seen[k] = d["seq"]
    return lines

for what, f, a, b in (("the file was deleted", after1, from1, to1),
                      ("the directory was deleted", path, from2, len(got))):
    lines = day_file(f)
    have = set(lines)
    missing = [l for l in got[a:b] if l not in have]
    if missing:
        sys.exit(f"{len(missing)} of the {b - a} lines received after {what} are not in the "
                 f"file made again, e.g. {missing[0][:150]}")
    print(f"  after {what}: {b - a} lines received, all in the file made again "
          f"({len(lines)} lines, no hole)")
PY
    fail "journal check (above)"
echo "  lines rescued (written while deleted, copied into the new file): $(jq -r .journal.lines_rescued <<<"$st")"
ok "file and directory deleted: made again, nothing lost, counted"
echo "journal_deleted: PASS"
