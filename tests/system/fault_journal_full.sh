#!/usr/bin/env bash
# fault_journal_full.sh BUILD_DIR: the journal's disk fills up, then space
# returns (issue 8, "Faults"). Two variants, each on a fresh daemon (synthetic
# source at real-time pace, a mark journaled every ~50 ms by a control
# client, one subscriber on sts and every journaled topic):
#
#  tmpfs:  the journal directory is on a 1 MiB tmpfs mounted for the test
#          (root only; skipped with a message where `mount -t tmpfs` fails);
#          a filler file takes every free page: writes fail with ENOSPC;
#          deleting the filler gives the space back;
#  fsize:  the daemon's soft RLIMIT_FSIZE is lowered (prlimit) to 4 KiB
#          above the journal file's size: writes fail with EFBIG (the
#          daemon ignores SIGXFSZ); raising it again gives the space back.
#
# Checks, per variant:
#  - `ctl status` and the sts heartbeat show the error ("journal": {"ok":
#    false, "error": "write ...: No space left on device" / "File too
#    large"}) within 5 s, and lines_failed grows;
#  - acquisition and publishing go on: samples grow, no ring drop, no gap,
#    no queue drop; sts keeps coming; marks are still published;
#  - when space returns, writing resumes within 5 s (ok again, no error,
#    lines_written grows, marks made then are in the journal);
#  - no line is lost silently: the journaled-topic lines the subscriber
#    received and the journal lacks are exactly lines_failed in number
#    (the lines lost while full), every journal line parses (a line cut by
#    the full disk was cut back), the seqs on disk have holes only there;
#  - SIGTERM ends it with status 0; no sanitizer report.
set -euo pipefail
B=${1:?usage: fault_journal_full.sh BUILD_DIR}
TW="$B/twitchd"
[[ -x $TW ]] || { echo "FAIL: $TW is missing (build it first)"; exit 1; }
T=$(mktemp -d)
daemon= subpid= markpid= mnt=
cleanup() {
    touch "$T/stop-marks" 2>/dev/null || true
    [[ -n $markpid ]] && { wait "$markpid" 2>/dev/null || true; }
    [[ -n $daemon ]] && { kill -KILL "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; }
    [[ -n $subpid ]] && { kill -TERM "$subpid" 2>/dev/null || true; wait "$subpid" 2>/dev/null || true; }
    [[ -n $mnt ]] && { umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true; }
    rm -rf "$T"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    for f in "$T"/*.err; do [[ -f $f ]] && { echo "--- $f"; tail -15 "$f"; }; done
    exit 1
}
PUB="ipc://$T/pub"
CTL="ipc://$T/ctl"
ctl() { "$TW" ctl -e "$CTL" -t 3000 "$@"; }
# jget JSON EXPR: evaluate EXPR on the parsed JSON d
jget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, {"d": d}))' "$1" "$2"; }

# until_status EXPR SECONDS: poll `ctl status` until EXPR holds; the last reply in $st
until_status() {
    local t=0
    while :; do
        st=$(ctl status) || fail "ctl status: $st"
        [[ $(jget "$st" "$1") == True ]] && return 0
        sleep 0.1
        t=$((t + 1))
        ((t < $2 * 10)) || return 1
    done
}

start() { # VARIANT JOURNAL_DIR
    rm -f "$T/stop-marks"
    "$TW" run -o input.source=synth -o input.pace=realtime -o synth.seed=808 \
        -o synth.ltr_per_min=60 -o synth.epn_per_min=10 -o synth.guard_s=0.5 \
        -o journal.dir="$2" -o journal.fsync_s=0.2 -o publish.endpoint="$PUB" \
        -o control.endpoint="$CTL" -o publish.heartbeat_s=0.25 -o record.mode=off \
        </dev/null >/dev/null 2>"$T/$1.err" &
    daemon=$!
    local t=0
    until grep -q "running:" "$T/$1.err"; do
        kill -0 "$daemon" 2>/dev/null || fail "$1: the daemon exited at start"
        sleep 0.02; t=$((t + 1)); ((t < 500)) || fail "$1: the daemon did not start"
    done
    "$TW" sub "$PUB" sts evt.ltr evt.epn evt.mark evt.insertion evt.session evt.quality gap \
        >"$T/$1.sub" 2>"$T/$1.sub.err" </dev/null &
    subpid=$!
    sleep 0.5
    (
        n=0
        while [[ ! -e $T/stop-marks ]]; do
            "$TW" ctl -e "$CTL" -t 1000 mark label="$1.$n" >/dev/null 2>&1 || true
            n=$((n + 1))
            sleep 0.05
        done
    ) &
    markpid=$!
    sleep 1
}

stop() { # VARIANT JOURNAL_DIR
    touch "$T/stop-marks"
    wait "$markpid" 2>/dev/null || true
    markpid=
    sleep 0.5
    kill -TERM "$daemon"
    local rc=0
    wait "$daemon" || rc=$?
    daemon=
    ((rc == 0)) || fail "$1: exit status $rc after SIGTERM"
    sleep 0.3
    kill -TERM "$subpid" 2>/dev/null || true
    wait "$subpid" 2>/dev/null || true
    subpid=
    grep -E "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$T/$1.err" && fail "$1: sanitizer report"
    python3 - "$1" "$2" "$T/$1.sub" <<'PY' || fail "$1: accounting"
import glob, json, os, sys
variant, jdir, sub = sys.argv[1:4]
JOURNALED = ("evt.ltr", "evt.epn", "evt.mark", "evt.insertion", "evt.session", "evt.quality", "gap")
lines = []
for f in sorted(glob.glob(os.path.join(jdir, "twitchd-*.jsonl"))):
    data = open(f, "rb").read()
    assert not data or data.endswith(b"\n"), "%s: does not end with a newline" % f
    for n, l in enumerate(data.split(b"\n")[:-1], 1):
        try:
            json.loads(l)
        except ValueError:
            sys.exit("%s:%d does not parse: %r" % (f, n, l[:100]))
        lines.append(l.decode())
on_disk = set(lines)
got = [l.rstrip("\n") for l in open(sub)]
msgs = [json.loads(l) for l in got]
sts = [m for m in msgs if m["topic"] == "sts"]
recs = [l for l, m in zip(got, msgs) if m["topic"] in JOURNALED]
lost = [l for l in recs if l not in on_disk]
last = sts[-1]
failed = last["journal"]["lines_failed"]
written = last["journal"]["lines_written"]
bad = [s for s in sts if not s["journal"]["ok"]]
c = last["counters"]
assert last["state"] == "stopping", "the last sts is not the stopping one"
assert bad, "no sts showed the journal error"
assert last["journal"]["ok"] and last["journal"]["error"] is None, last["journal"]
for k in ("ring_dropped_frames", "gaps", "journal_queue_dropped", "publish_queue_dropped"):
    assert c[k] == 0, "counter %s = %d" % (k, c[k])
# samples kept growing through the failure
during = [s["samples"] for s in bad]
assert during[-1] > during[0], "samples did not grow while the journal failed"
# the subscriber got every journaled-topic message of the stream (no seq hole)
seqs = {}
for m in msgs:
    if m["topic"] in JOURNALED:
        if m["topic"] in seqs:
            assert m["seq"] == seqs[m["topic"]] + 1, "subscriber: %s seq hole" % m["topic"]
        seqs[m["topic"]] = m["seq"]
assert len(lost) == failed, ("%d lines received and not on disk, lines_failed = %d"
                              % (len(lost), failed))
# holes in the journal's seqs are exactly the lost lines
lostkeys = {(json.loads(l)["topic"], json.loads(l)["seq"]) for l in lost}
per = {}
for l in lines:
    d = json.loads(l)
    per.setdefault(d["topic"], []).append(d["seq"])
for t, s in per.items():
    for a, b in zip(s, s[1:]):
        for q in range(a + 1, b):
            assert (t, q) in lostkeys, "journal: %s seq %d missing but not counted" % (t, q)
print("  %s: %d heartbeats showed the error (%s); %d lines lost while full = lines_failed %d; "
      "%d lines written, all parse; samples %d -> %d during the failure; no drop, no gap"
      % (variant, len(bad), bad[0]["journal"]["error"], len(lost), failed, written,
         during[0], during[-1]))
PY
}

# phase VARIANT ERRTEXT: the disk is full now: check, wait, check
full_phase() {
    until_status '"'"$2"'" in (d["journal"]["error"] or "") and not d["journal"]["ok"]' 5 ||
        fail "$1: the journal error did not show in ctl status: $st"
    local f0 s0
    f0=$(jget "$st" 'd["journal"]["lines_failed"]')
    s0=$(jget "$st" 'd["samples"]')
    echo "  $1: status shows the error: $(jget "$st" 'd["journal"]["error"]')"
    sleep 2
    st=$(ctl status) || fail "ctl status: $st"
    [[ $(jget "$st" 'd["journal"]["ok"]') == False ]] || fail "$1: the journal claims ok while full: $st"
    (($(jget "$st" 'd["journal"]["lines_failed"]') > f0)) || fail "$1: lines_failed did not grow: $st"
    (($(jget "$st" 'd["samples"]') > s0 + 48000)) || fail "$1: acquisition stalled: $st"
    [[ $(jget "$st" 'd["counters"]["ring_dropped_frames"] + d["counters"]["gaps"]') == 0 ]] ||
        fail "$1: acquisition dropped samples: $st"
    echo "  $1: 2 s later: lines_failed $f0 -> $(jget "$st" 'd["journal"]["lines_failed"]'), acquisition going on (samples $s0 -> $(jget "$st" 'd["samples"]')), no drop"
}

resume_phase() { # VARIANT
    until_status 'd["journal"]["ok"] and d["journal"]["error"] is None' 5 ||
        fail "$1: writing did not resume: $st"
    local w0
    w0=$(jget "$st" 'd["journal"]["lines_written"]')
    sleep 1.5
    st=$(ctl status) || fail "ctl status: $st"
    (($(jget "$st" 'd["journal"]["lines_written"]') > w0)) || fail "$1: no line written after the space came back: $st"
    echo "  $1: writing resumed: lines_written $w0 -> $(jget "$st" 'd["journal"]["lines_written"]')"
}

echo "fault_journal_full: variant tmpfs (ENOSPC)"
if [[ $(id -u) -ne 0 ]]; then
    echo "  SKIP tmpfs variant: not root (mount -t tmpfs needs root); the fsize variant still runs"
elif ! { mkdir -p "$T/mnt" && mount -t tmpfs -o size=1m,mode=0755 tmpfs "$T/mnt"; } 2>"$T/mount.err"; then
    echo "  SKIP tmpfs variant: mount -t tmpfs failed ($(head -1 "$T/mount.err")); the fsize variant still runs"
else
    mnt="$T/mnt"
    start tmpfs "$mnt/journal"
    # take every free page (dd stops with ENOSPC)
    dd if=/dev/zero of="$mnt/filler" bs=4k 2>/dev/null || true
    echo "  tmpfs: filled: $(df -k --output=avail "$mnt" | tail -1 | tr -d ' ') KiB free"
    full_phase tmpfs "No space left on device"
    rm -f "$mnt/filler"
    resume_phase tmpfs
    stop tmpfs "$mnt/journal"
    umount "$mnt" || umount -l "$mnt"
    mnt=
fi

echo "fault_journal_full: variant fsize (RLIMIT_FSIZE, EFBIG)"
command -v prlimit >/dev/null || fail "prlimit (util-linux) not found"
start fsize "$T/journal"
f=$(ls "$T"/journal/twitchd-*.jsonl | tail -1)
size=$(stat -c %s "$f")
lim=$((size + 4096))
prlimit --pid "$daemon" --fsize="$lim": || fail "prlimit --fsize=$lim"
echo "  fsize: soft RLIMIT_FSIZE lowered to $lim bytes (the journal file had $size)"
full_phase fsize "File too large"
prlimit --pid "$daemon" --fsize=unlimited: || fail "prlimit --fsize=unlimited"
resume_phase fsize
stop fsize "$T/journal"
echo "fault_journal_full: PASS"
