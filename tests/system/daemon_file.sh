#!/usr/bin/env bash
# The live daemon end to end, with real sockets and real files:
#  - on a synthetic recording replayed as a file source at real-time pace,
#    two subscribers (TCP and IPC) receive every event and gap in order
#    with no sequence gap, and the journal holds exactly the same records;
#    a third subscriber that never reads changes nothing;
#  - SIGTERM stops it within 2 s with a complete journal;
#  - SIGKILL mid-stream leaves a journal whose lines all parse, and the
#    next start recovers cleanly.
# $1: the build directory.
set -euo pipefail
build=${1:?usage: daemon_file.sh BUILD_DIR}
tw="$build/twitchd"
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/*.err; do echo "--- $f"; tail -20 "$f"; done; exit 1; }

wait_for() { # FILE PATTERN SECONDS
    local i
    for ((i = 0; i < $3 * 20; i++)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

echo "daemon: synthetic input (seed 23, 14 s, LTRs and EPN)"
"$tw" synth --seed 23 --seconds 14 -o ltr_per_min=30 -o epn_per_min=6 -o guard_s=0.5 \
    --truth "$tmp/truth.json" "$tmp/in.wav" 2>"$tmp/synth.err"

echo "daemon: file source at real-time pace, TCP + IPC"
"$tw" run -o input.source=file -o input.path="$tmp/in.wav" -o input.pace=realtime \
    -o journal.dir="$tmp/journal" -o record.mode=off -o "publish.endpoint=tcp://127.0.0.1:*,ipc://$tmp/pub.ipc" \
    -o publish.heartbeat_s=0.2 2>"$tmp/run.err" &
daemon=$!
pids+=("$daemon")
wait_for "$tmp/run.err" "publishing on" 5 || fail "the daemon did not start"
tcp=$(grep -o 'tcp://127\.0\.0\.1:[0-9]*' "$tmp/run.err" | head -1)
[ -n "$tcp" ] || fail "no TCP endpoint in the log"
"$tw" sub --timeout 3 "$tcp" evt. gap sts >"$tmp/s1.out" 2>"$tmp/s1.err" &
s1=$!
pids+=("$s1")
"$tw" sub --timeout 3 "ipc://$tmp/pub.ipc" evt. gap sts >"$tmp/s2.out" 2>"$tmp/s2.err" &
s2=$!
pids+=("$s2")
"$tw" sub "$tcp" >/dev/null 2>"$tmp/s3.err" &
s3=$!
pids+=("$s3")
sleep 0.5
kill -STOP "$s3" # subscribed to everything (sig.* included), never reads again

rc=0
wait "$daemon" || rc=$?
[ "$rc" -eq 0 ] || fail "the daemon exited $rc at the end of the file"
grep -q "end of file" "$tmp/run.err" || fail "no end-of-file message"
wait "$s1" || true
wait "$s2" || true

python3 - "$tmp" <<'PY' || fail "subscribers and journal disagree"
import json, os, sys, glob
tmp = sys.argv[1]
journal = []
for f in sorted(glob.glob(os.path.join(tmp, "journal", "twitchd-*.jsonl"))):
    for n, line in enumerate(open(f), 1):
        journal.append(json.loads(line))  # every line parses
assert journal, "the journal is empty"
kinds = {}
for j in journal:
    kinds[j["topic"]] = kinds.get(j["topic"], 0) + 1
print("  journal:", len(journal), "records", kinds)
assert kinds.get("evt.ltr", 0) >= 2, "too few LTRs to test anything"
for name in ("s1", "s2"):
    got = [json.loads(l) for l in open(os.path.join(tmp, name + ".out"))]
    recs = [g for g in got if g["topic"] in ("evt.ltr", "evt.epn", "gap")]
    sts = [g for g in got if g["topic"] == "sts"]
    assert sts, name + ": no heartbeat received"
    # per-topic sequence numbers: contiguous from the first one received
    seqs = {}
    for g in got:
        t = g["topic"]
        if t in seqs:
            assert g["seq"] == seqs[t] + 1, "%s: %s seq %d after %d" % (name, t, g["seq"], seqs[t])
        seqs[t] = g["seq"]
    # every journaled record from the subscriber's first message on
    first_real = got[0]["clock"]["realtime"]
    first = {t: min(g["seq"] for g in got if g["topic"] == t) for t in set(g["topic"] for g in recs)}
    want = [j for j in journal if j["topic"] in first and j["seq"] >= first[j["topic"]]]
    missed = [j for j in journal if j["topic"] not in first and j["clock"]["realtime"] > first_real + 0.5]
    assert not missed, "%s: missed %s" % (name, missed[:1])
    assert recs == want, "%s: %d records, journal has %d from the same point" % (name, len(recs), len(want))
    print("  %s: %d records identical to the journal, %d heartbeats, no sequence gap" % (name, len(recs), len(sts)))
last = [json.loads(l) for l in open(os.path.join(tmp, "s1.out")) if '"sts"' in l][-1]
c = last["counters"]
assert c["ring_dropped_frames"] == 0 and c["publish_queue_dropped"] == 0 and c["journal_queue_dropped"] == 0, c
print("  no drops with a subscriber that never reads:", c)
PY
grep -Eq "missing|out of order" "$tmp/s1.err" "$tmp/s2.err" && fail "a subscriber reported a sequence gap"
kill -CONT "$s3"; kill "$s3" 2>/dev/null || true

echo "daemon: SIGTERM stops it within 2 s, journal complete"
rm -rf "$tmp/journal"
"$tw" run -o input.source=synth -o synth.ltr_per_min=30 -o synth.seed=99 \
    -o journal.dir="$tmp/journal" -o record.mode=off -o "publish.endpoint=tcp://127.0.0.1:*" 2>"$tmp/term.err" &
daemon=$!
pids+=("$daemon")
wait_for "$tmp/term.err" "publishing on" 5 || fail "the daemon did not start"
sleep 3
t0=$(date +%s.%N)
kill -TERM "$daemon"
rc=0
wait "$daemon" || rc=$?
t1=$(date +%s.%N)
[ "$rc" -eq 0 ] || fail "exit status $rc after SIGTERM"
python3 -c "import sys; d=$t1-$t0; print('  stopped in %.2f s' % d); sys.exit(0 if d < 2 else 1)" || fail "took 2 s or more to stop"
python3 -c "
import json,glob,sys
n=0
for f in glob.glob('$tmp/journal/twitchd-*.jsonl'):
    data=open(f,'rb').read()
    assert data.endswith(b'\n') or not data, 'journal does not end with a newline'
    for l in data.splitlines(): json.loads(l); n+=1
print('  journal: %d lines, all parse' % n)" || fail "journal after SIGTERM"

echo "daemon: SIGKILL mid-stream, then a clean restart"
rm -rf "$tmp/journal"
"$tw" run -o input.source=synth -o input.pace=fast -o synth.ltr_per_min=60 -o synth.epn_per_min=10 \
    -o journal.dir="$tmp/journal" -o record.mode=off -o journal.fsync_s=0 -o "publish.endpoint=tcp://127.0.0.1:*" 2>"$tmp/kill.err" &
daemon=$!
pids+=("$daemon")
wait_for "$tmp/kill.err" "publishing on" 5 || fail "the daemon did not start"
sleep 0.7
echo "daemon: SIGHUP reopens the journal (log rotation)"
for f in "$tmp"/journal/twitchd-*.jsonl; do mv "$f" "$f.1"; done
kill -HUP "$daemon"
sleep 0.8
ls "$tmp"/journal/twitchd-*.jsonl >/dev/null 2>&1 || fail "no new journal file after SIGHUP"
python3 -c "
import glob
new = sum(1 for f in glob.glob('$tmp/journal/twitchd-*.jsonl') for l in open(f))
old = sum(1 for f in glob.glob('$tmp/journal/twitchd-*.jsonl.1') for l in open(f))
print('  rotated file kept %d lines, the reopened one has %d' % (old, new))
assert old > 0 and new > 0" || fail "SIGHUP rotation"
kill -KILL "$daemon"
wait "$daemon" 2>/dev/null || true
python3 -c "
import json,glob
n=0
for f in glob.glob('$tmp/journal/twitchd-*.jsonl*'):
    if '.partial' in f: continue
    for l in open(f,'rb').read().split(b'\n'):
        if l: json.loads(l); n+=1
print('  after SIGKILL: %d complete lines, all parse (a cut last line, if any, is set aside at the next start)' % n)
assert n > 0" || fail "journal after SIGKILL"
timeout 10 "$tw" run -o input.source=synth -o journal.dir="$tmp/journal" -o record.mode=off \
    -o "publish.endpoint=tcp://127.0.0.1:*" 2>"$tmp/restart.err" &
daemon=$!
pids+=("$daemon")
wait_for "$tmp/restart.err" "publishing on" 5 || fail "the daemon did not restart on the journal"
kill -TERM "$daemon"
wait "$daemon" || fail "restart: bad exit"
python3 -c "
import json,glob
for f in glob.glob('$tmp/journal/twitchd-*.jsonl'):
    data=open(f,'rb').read()
    assert data.endswith(b'\n')
    for l in data.splitlines(): json.loads(l)
print('  restarted: journal clean')" || fail "journal after restart"
echo "daemon: OK"
