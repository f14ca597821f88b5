#!/usr/bin/env bash
# tw-test: exclusive (run alone by tests/run.sh: A loads the CPU at fast pace, B measures wall time)
# notice_resolve.sh BUILD_DIR: every onset notice on the wire is followed
# by exactly one record or one evt.cancel with the same id (issue 15),
# through detector settings changed at run time, a session, a
# recalibration and the daemon's stop.
#
# A. The live daemon on its synthetic source at fast pace (2 channels,
#    seed 1515: LTRs, EPN, voluntary bursts, flinches, insertion
#    activity, pops, fibrillation; about 15 min of input a channel),
#    journal.rejected = true, a `twitchd sub` of evt. and sts; while it
#    runs: `set ltr.min_turns`, a session started and stopped,
#    `recalibrate`, `set ltr.max_ms`; then SIGTERM. Checked:
#     - notice ids are unique; each notice (from the subscriber's first
#       on: it joins late) has exactly one evt.ltr / evt.epn / evt.cancel
#       of the same id, type and channel, after it; every cancel and
#       every record with a notice's id has that notice; record ids are
#       unique and no record takes a notice's id of another type;
#     - no sequence gap on any topic (the subscriber's stderr);
#     - every "reason" is one of the table of docs/protocol.md, and at
#       least 4 distinct reasons occur, "voluntary" among them;
#     - notices before and after each `set`, the session's start and
#       stop and the recalibration are all resolved (the test covers
#       each);
#     - bounds (docs/protocol.md): an LTR notice is resolved within
#       2 ltr.env_ms + ltr.max_ms + ltr.hang_ms + 2 ltr.post_ms (780 ms)
#       of input after its onset, an EPN notice within epn.release_ms +
#       (epn.win_bins + 1) x epn.bin_ms (650 ms) after its episode's
#       offset, or later while an LTR candidate held the EPN detector; a
#       record's onset_sample lies from one detector sample (8 input
#       samples) before its notice's to ltr.max_ms + ltr.hang_ms +
#       ltr.post_ms + ltr.env_ms (610 ms) after it; latency_ms of every
#       LTR lies in [0, detect.mv_max_ms];
#     - the journal holds every cancel the subscriber got, line for line
#       (journal.rejected), and no notice;
#    The notice-to-resolution times (input time) are printed: median,
#    p99, max, per type.
# B. The daemon on a 20 s synthetic file at real-time pace (seed 12:
#    cancels among its notices), a subscriber whose lines are stamped on
#    arrival: every notice resolved; the wall time from a notice's
#    arrival to its resolution's is printed per type and kind (median,
#    p99, max; records pass the journal first) and is, for an LTR, at
#    most the input-time bound + 0.5 s (EPN: its episode's input time +
#    0.5 s).
set -euo pipefail
. "$(dirname "$0")/lib/common.bash" "$1" notice_resolve
REPO=$(cd "$(dirname "$0")/../.." && pwd)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
EP="ipc://$T/ctl"
ctl() { "$TW" ctl -e "$EP" -t 5000 "$@" >>"$T/ctl.out" || fail "ctl $*"; }

echo "notice_resolve: A. synthetic source at fast pace, set / session / recalibrate / stop"
"$TW" sub "ipc://$T/pub" evt. sts >"$T/sub.out" 2>"$T/sub.err" &
sub=$!
pids+=("$sub")
"$TW" run -o input.source=synth -o input.pace=fast -o input.channels=2 -o synth.seed=1515 \
    -o synth.ltr_per_min=30 -o synth.epn_per_min=6 -o synth.voluntary_per_min=6 \
    -o synth.flinch_per_min=6 -o synth.insertion_per_min=4 -o synth.pop_per_min=4 \
    -o synth.fib_per_min=2 -o publish.sig_rate_hz=0 -o publish.heartbeat_s=0.2 \
    -o journal.dir="$T/j" -o journal.rejected=true -o record.mode=off -o record.dir="$T/rec" \
    -o "publish.endpoint=ipc://$T/pub" -o control.endpoint="$EP" 2>"$T/log" &
daemon=$!
pids+=("$daemon")
for _ in $(seq 100); do grep -q "publishing on" "$T/log" && break; sleep 0.05; done
grep -q "publishing on" "$T/log" || fail "the daemon did not start"
sleep 0.5
ctl set ltr.min_turns:=9
sleep 0.4
ctl session.start subject=S15
sleep 0.4
ctl session.stop
sleep 0.3
ctl recalibrate
sleep 0.3
ctl set ltr.max_ms:=300
sleep 0.4
kill -TERM "$daemon"
rc=0
wait "$daemon" || rc=$?
((rc == 0)) || fail "the daemon exited $rc after SIGTERM"
sleep 0.5
kill -TERM "$sub"
wait "$sub" || true
pids=()

python3 - "$REPO" "$T" <<'PY' || fail "notices and their resolutions (above)"
import glob, json, re, sys
repo, tmp = sys.argv[1], sys.argv[2]
proto = open(repo + "/docs/protocol.md").read()
i = proto.index("### `evt.cancel`")
reasons_doc = set(re.findall(r"^\| `([a-z ]+)` \|", proto[i:proto.index("\n### ", i + 10)], re.M))
assert {"voluntary", "flinch", "too long", "restart", "stopped"} <= reasons_doc, reasons_doc

RATE = 48000.0
ms = RATE / 1000
ENV, MAX, HANG, POST = 20, 400, 40, 150          # ltr.* defaults (max_ms: the larger, before set)
REL, WIN, BIN, MV_MAX = 400, 4, 50, 60           # epn.*, detect.mv_max_ms
LTR_BOUND = (2 * ENV + MAX + HANG + 2 * POST) * ms + 64
EPN_BOUND = (REL + (WIN + 1) * BIN) * ms + 64
ONSET_LATE, ONSET_EARLY = (MAX + HANG + POST + ENV) * ms, 8

msgs = [json.loads(l) for l in open(tmp + "/sub.out")]
err = open(tmp + "/sub.err").read()
assert "missing" not in err and "out of order" not in err, err
notices, res = {}, {}
first = None
bad = []
for k, m in enumerate(msgs):
    t = m["topic"]
    if t.startswith("evt.start."):
        if m["id"] in notices:
            bad.append("notice id %d twice" % m["id"])
        notices[m["id"]] = (k, m)
        first = m["id"] if first is None else first
    elif t in ("evt.ltr", "evt.epn", "evt.cancel"):
        res.setdefault(m["id"], []).append((k, m))
assert first is not None and len(notices) >= 100, "too few notices: %d" % len(notices)
reasons = {}
t_ltr, t_epn, shift = [], [], []
held = 0
for nid, (k, n) in notices.items():
    r = res.get(nid, [])
    if len(r) != 1:
        bad.append("notice %d (%s ch %d at %d): %d resolutions" % (nid, n["type"], n["channel"],
                                                                    n["onset_sample"], len(r)))
        continue
    kr, m = r[0]
    if kr < k or m["type"] != n["type"] or m["channel"] != n["channel"]:
        bad.append("notice %d resolved by %s" % (nid, m))
    if m["topic"] == "evt.cancel":
        reasons[m["reason"]] = reasons.get(m["reason"], 0) + 1
        if m["onset_sample"] != n["onset_sample"]:
            bad.append("cancel %d: onset %d, its notice's %d" % (nid, m["onset_sample"], n["onset_sample"]))
    emitted = m["emitted_s"] * RATE
    if n["type"] == "ltr":
        dt = emitted - n["onset_sample"]
        t_ltr.append(dt / ms)
        if dt > LTR_BOUND:
            bad.append("LTR notice %d resolved %.0f ms after its onset" % (nid, dt / ms))
        if m["topic"] == "evt.ltr":
            d = m["onset_sample"] - n["onset_sample"]
            shift.append(d / ms)
            if not -ONSET_EARLY <= d <= ONSET_LATE:
                bad.append("LTR %d: onset %+d samples from its notice's" % (nid, d))
    else:
        off = m["offset_sample"] if m["topic"] == "evt.epn" else (m.get("features") or {}).get("offset_sample")
        if off is None:      # not judged: a restart (none here)
            continue
        dt = emitted - off
        t_epn.append(dt / ms)
        if dt > EPN_BOUND:
            h = [x for x in notices.values() if x[1]["type"] == "ltr" and x[1]["channel"] == n["channel"]
                 and off - ONSET_LATE <= x[1]["onset_sample"] <= emitted]
            # a MUAP-scale burst holds the EPN detector with or without an
            # LTR notice (voluntary firing, a pop: no notice): one such
            # burst holds it at most ltr.max_ms + ltr.hang_ms
            if not h and dt > EPN_BOUND + (MAX + HANG) * ms:
                bad.append("EPN notice %d resolved %.0f ms after its offset, beyond what one burst "
                           "can hold" % (nid, dt / ms))
            held += 1
for rid, r in res.items():
    for kr, m in r:
        if m["topic"] == "evt.cancel" and rid not in notices and rid >= first:
            bad.append("cancel %d without a notice" % rid)
        if m["topic"] == "evt.cancel" and m["reason"] not in reasons_doc:
            bad.append("cancel %d: reason %r not in docs/protocol.md" % (rid, m["reason"]))
    recs = [m for kr, m in r if m["topic"] != "evt.cancel"]
    if len(recs) > 1:
        bad.append("record id %d twice" % rid)
for m in msgs:
    if m["topic"] == "evt.ltr" and m["latency_ms"] is not None and not 0 <= m["latency_ms"] <= MV_MAX:
        bad.append("LTR %d: latency_ms %s" % (m["id"], m["latency_ms"]))
# the journal: cancels line for line, no notice; the control requests
journal = [json.loads(l) for f in sorted(glob.glob(tmp + "/j/*.jsonl")) for l in open(f)]
jc = {(m["seq"]): m for m in journal if m["topic"] == "evt.cancel"}
wc = [m for m in msgs if m["topic"] == "evt.cancel"]
for m in wc:
    if jc.get(m["seq"]) != m:
        bad.append("cancel seq %d: not in the journal as sent" % m["seq"])
if any(m["topic"].startswith("evt.start.") for m in journal):
    bad.append("a notice was journaled")
marks = [m for m in journal if m["topic"] in ("evt.mark", "evt.session")]
at = [("set", m["sample"]) for m in marks if m.get("type") == "set"] + \
     [("recalibrate", m["sample"]) for m in marks if m.get("type") == "recalibrate"] + \
     [("session " + m["state"], m["sample"]) for m in marks if m["topic"] == "evt.session"]
if len(at) != 5:
    bad.append("control requests in the journal: %s" % at)
for what, s in at:
    before = [n for k, n in notices.values() if n["onset_sample"] < s]
    after = [n for k, n in notices.values() if n["onset_sample"] >= s]
    if not before or not after:
        bad.append("no notice on both sides of %s at %d" % (what, s))
for b in bad[:20]:
    print("  " + b)
assert not bad, "%d problems" % len(bad)
if len([x for x in reasons if x != "stopped"]) < 4 or "voluntary" not in reasons:
    raise SystemExit("too few reasons: %s" % reasons)

def stats(v):
    v = sorted(v)
    return "median %.0f, p99 %.0f, max %.0f ms" % (v[len(v) // 2], v[min(len(v) - 1, len(v) * 99 // 100)], v[-1])
nrec = sum(1 for r in res.values() for kr, m in r if m["topic"] != "evt.cancel" and m["id"] in notices)
print("  ok: %d notices (ids %d ..), each resolved once: %d by a record, %d by evt.cancel; "
      "%d distinct ids, records without notice %d" % (len(notices), first, nrec, sum(reasons.values()),
      len(res), sum(1 for rid in res if rid not in notices and rid >= first)))
print("  ok: reasons: " + ", ".join("%s %d" % kv for kv in sorted(reasons.items())))
print("  ok: across %s" % ", ".join("%s at %d" % a for a in at))
print("  ok: LTR notice onset -> resolution (input time): %s (bound %.0f)" % (stats(t_ltr), LTR_BOUND / ms))
print("  ok: EPN episode offset -> resolution (input time): %s (bound %.0f; %d later, held by an LTR candidate)"
      % (stats(t_epn), EPN_BOUND / ms, held))
print("  ok: record onset - notice onset: min %+.2f, median %+.2f, max %+.2f ms" %
      (min(shift), sorted(shift)[len(shift) // 2], max(shift)))
print("  ok: latency_ms in [0, %d] for all %d LTRs; %d cancels journaled as sent" %
      (MV_MAX, sum(1 for m in msgs if m["topic"] == "evt.ltr"), len(wc)))
PY

echo "notice_resolve: B. a 20 s file at real-time pace: wall time from notice to resolution"
"$TW" synth --seed 12 --seconds 20 -o guard_s=1.5 -o ltr_per_min=20 -o voluntary_per_min=8 \
    -o flinch_per_min=8 -o epn_per_min=4 "$T/in.wav" 2>/dev/null || fail "synth"
python3 - "$TW" "$T" <<'PY' || fail "real-time run (above)"
import json, subprocess, sys, threading, time
tw, tmp = sys.argv[1], sys.argv[2]
sub = subprocess.Popen([tw, "sub", "ipc://%s/pub2" % tmp, "evt."], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True, bufsize=1)
lines = []
def read():
    for l in sub.stdout:
        lines.append((time.monotonic(), json.loads(l)))
th = threading.Thread(target=read, daemon=True)
th.start()
rc = subprocess.call([tw, "run", "-o", "input.source=file", "-o", "input.path=%s/in.wav" % tmp,
                      "-o", "input.pace=realtime", "-o", "journal.dir=%s/j2" % tmp, "-o", "record.mode=off",
                      "-o", "publish.endpoint=ipc://%s/pub2" % tmp, "-o", "control.endpoint="],
                     stderr=subprocess.DEVNULL)
time.sleep(0.5)
sub.terminate()
th.join(2)
assert rc == 0, "daemon exit %d" % rc
notices = {m["id"]: (t, m) for t, m in lines if m["topic"].startswith("evt.start.")}
res = {}
for t, m in lines:
    if m["topic"] in ("evt.ltr", "evt.epn", "evt.cancel"):
        res.setdefault(m["id"], []).append((t, m))
assert len(notices) >= 8, len(notices)
wall = {}
for nid, (t, n) in notices.items():
    r = res.get(nid, [])
    assert len(r) == 1, "notice %d: %d resolutions" % (nid, len(r))
    tr, m = r[0]
    kind = "%s %s" % (n["type"].upper(), "cancel" if m["topic"] == "evt.cancel" else "record")
    wall.setdefault(kind, []).append((tr - t) * 1000)
    bound = 780 + 500 if n["type"] == "ltr" else (m["emitted_s"] - n["onset_s"]) * 1000 + 500
    assert (tr - t) * 1000 <= bound, "notice %d: resolved %.0f ms after it arrived" % (nid, (tr - t) * 1000)
assert wall.get("LTR cancel") and wall.get("LTR record"), "no LTR cancel or record: %s" % wall
def stats(v):
    v = sorted(v)
    return "%d, median %.0f, p99 %.0f, max %.0f ms" % (len(v), v[len(v) // 2], v[min(len(v) - 1, len(v) * 99 // 100)], v[-1])
for k in sorted(wall):
    print("  ok: wall time from a notice's arrival to its %s's: %s%s" %
          (k.split()[1], stats(wall[k]), " (an episode: its length)" if k.startswith("EPN") else " (" + k.split()[0] + ")"))
PY
echo "notice_resolve: PASS"
