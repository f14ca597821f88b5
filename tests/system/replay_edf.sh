#!/usr/bin/env bash
# replay_edf.sh BUILD_DIR: `twitchd replay` on EDF+/BDF+ files (issue 16).
#
#  1. Live vs replay: the daemon on its synthetic source (seed 4242,
#     synth.ltr_per_min=30, synth.epn_per_min=6, real-time pace,
#     record.mode=always, BDF+) for ~17 s with three insertion marks
#     (`twitchd ctl insertion`), then SIGTERM. `twitchd replay` of the
#     BDF+ with the same (default) detector settings must give the live
#     journal's LTR and EPN events: same count, and per event the same
#     type, channel, onset_sample, offset_sample, train, train_index and
#     insertion, to the sample; p2p_uv within 0.02 uV (the file holds
#     24-bit steps of 2 x 10000 / 16777215 uV); insertion_latency_ms
#     within 0.06 ms: EDF+ stores an annotation's onset to 100 us, so the
#     insertion's sample comes back within +-0.5e-4 x 48000 = 2.4 samples
#     (0.05 ms), plus the 0.01 ms of the printed value. The recording ends
#     in a partial record: replay stops at its "Recording ends"
#     annotation, not in the zero padding (the EPN going on at the stop
#     ends on the same sample as live).
#  1b. 3 min of synth WAV through `twitchd run` (file source, fast pace,
#     record.mode=always): replaying the WAV gives the live events
#     exactly; replaying the BDF+ the same events, LTR onsets equal, EPN
#     onsets up to the decision window (4 bins) and at most 2% of EPN
#     offsets up to epn.release_ms away, in whole 50 ms bins (24-bit steps;
#     see below).
#  2. Another system's EDF+ (tools/edfwrite: EDFlib directly; signals
#     "Resp" in %, "EMG trapezius" in mV, "ECG" at 500 Hz; two
#     "insertion" annotations) made from `twitchd synth` WAV: replay
#     --channels "EMG trapezius" (and the same by index 1) gives the
#     WAV's events (replayed with full_scale_uv 10000) at the same
#     samples; an LTR after an insertion annotation carries it.
#  3. Refusals, exit 65 with the reason on stderr: every signal (a "%"
#     signal is not a voltage), mixed rates, an unknown label, an index
#     out of range, a truncated file, a file with an EDF magic and
#     garbage after it; --channels on a WAV (65); a missing file (66).
set -euo pipefail
. "$(dirname "$0")/lib/common.bash" "$1" replay_edf.sh
EDFW=$B/tools/edfwrite
[[ -x $EDFW ]] || fail "$EDFW is missing (make unit-bins)"
d=
trap '[[ -n $d ]] && kill -KILL "$d" 2>/dev/null; rm -rf "$T"' EXIT

echo "replay_edf: live daemon (BDF+, record.mode=always) vs replay of its recording"
"$TW" run -o input.source=synth -o input.pace=realtime -o synth.seed=4242 \
    -o synth.ltr_per_min=30 -o synth.epn_per_min=6 -o journal.dir="$T/j" \
    -o publish.endpoint="ipc://$T/pub" -o control.endpoint="ipc://$T/ctl" \
    -o record.dir="$T/rec" -o record.format=bdf -o record.mode=always 2>"$T/log" &
d=$!
for ((i = 0; i < 100; i++)); do
    "$TW" ctl -t 200 -e "ipc://$T/ctl" status >/dev/null 2>&1 && break
    kill -0 "$d" 2>/dev/null || fail "the daemon exited at start"
    sleep 0.1
done
for i in 1 2 3; do
    sleep 4
    "$TW" ctl -e "ipc://$T/ctl" insertion "label=locus $i" >/dev/null || fail "ctl insertion $i"
done
sleep 4.3
kill -TERM "$d"
rc=0; wait "$d" || rc=$?
d=
((rc == 0)) || fail "daemon exit $rc after SIGTERM"
bdf=$(ls "$T"/rec/*.bdf)
"$TW" replay "$bdf" >"$T/replay.jsonl" 2>"$T/replay.err" || fail "replay: $(cat "$T/replay.err")"
grep -q "(BDF+ 24-bit)" "$T/replay.err" || fail "replay summary: $(cat "$T/replay.err")"
/usr/bin/python3 - "$T" <<'PY' || fail "live and replay differ"
import glob, json, sys
T = sys.argv[1]
live = []
for f in glob.glob(T + "/j/*.jsonl"):
    for line in open(f):
        m = json.loads(line)
        if m.get("topic") in ("evt.ltr", "evt.epn"):
            live.append(m)
rep = [json.loads(l) for l in open(T + "/replay.jsonl")]
key = lambda e: (e["onset_sample"], e["type"], e["channel"])
live.sort(key=key); rep.sort(key=key)
ltr = sum(e["type"] == "ltr" for e in live); epn = len(live) - ltr
if ltr < 3 or epn < 1:
    sys.exit(f"live gave {ltr} LTR, {epn} EPN: too few to prove anything")
if len(live) != len(rep):
    sys.exit(f"{len(live)} live events, {len(rep)} replayed")
worst_lat = worst_p2p = 0.0
for a, b in zip(live, rep):
    for k in ("type", "channel", "onset_sample", "offset_sample", "train", "train_index", "insertion"):
        if a.get(k) != b.get(k):
            sys.exit(f"{k}: live {a.get(k)}, replay {b.get(k)}\n live {a}\n replay {b}")
    worst_p2p = max(worst_p2p, abs(a["p2p_uv"] - b["p2p_uv"]))
    if a.get("insertion_latency_ms") is not None:
        worst_lat = max(worst_lat, abs(a["insertion_latency_ms"] - b["insertion_latency_ms"]))
if worst_p2p > 0.02:
    sys.exit(f"p2p_uv differs by {worst_p2p} uV")
if worst_lat > 0.06:
    sys.exit(f"insertion_latency_ms differs by {worst_lat} ms")
ins = sum(1 for e in live if e.get("insertion") is not None)
print(f"  ok: {len(live)} events ({ltr} LTR, {epn} EPN, {ins} after an insertion) equal to the "
      f"sample; p2p within {worst_p2p:.3g} uV, insertion latency within {worst_lat:.3g} ms")
PY

echo "replay_edf: 3 min at fast pace: live (file source) vs replay of its BDF+"
# A longer record of the same equivalence, without insertions: `twitchd
# run` on a 3 min int16 synth WAV (input.source=file, fast pace,
# record.mode=always; input.ring_blocks=65536 holds the whole file, so
# that a loaded machine cannot make a ring-full gap: the journal must
# have none). Replaying the WAV gives the live journal's events
# exactly (the pipeline does not depend on block sizes). The BDF+ holds
# each sample to its 24-bit step (2 x 10000 / 16777215 uV, so within
# 0.0006 uV of what live saw, not equal: an int16 value is not a BDF+
# step); that can move a decision taken at a threshold. Asserted: the
# same events in number, type, channel and onset; every LTR's offset
# equal; an EPN's offset equal or one epn.bin_ms (50 ms = 2400 samples)
# away, for at most 2% of the events (seed 101: 1 of 62 events, at
# 108 s; over 10 min 1 of 181; seed 106: none of 186 in 10 min).
"$TW" synth --seed 101 -o ltr_per_min=20 -o epn_per_min=4 -o format=int16 --seconds 180 \
    "$T/long.wav" 2>/dev/null || fail "synth"
"$TW" run -o input.source=file -o input.path="$T/long.wav" -o input.pace=fast -o input.ring_blocks=65536 \
    -o journal.dir="$T/lj" -o publish.endpoint="ipc://$T/lpub" -o control.endpoint="ipc://$T/lctl" \
    -o record.dir="$T/lrec" -o record.mode=always -o record.format=bdf \
    -o input.frames_per_buffer=8192 -o record.queue_blocks=1024 2>>"$T/log" ||
    fail "twitchd run on the WAV"
# (at fast pace the recorder's queue, 1024 blocks of 8192 frames, holds
# almost the whole run: a busy machine's disk writer drops no frame, else
# the BDF+ would lack what live saw)
grep -q "lrec/.*closed: 180 s, 0 frames dropped" "$T/log" ||
    fail "the 3 min recording dropped frames: $(grep 'lrec/.*closed' "$T/log")"
"$TW" replay -q "$T/long.wav" >"$T/long.wav.jsonl" || fail "replay of the WAV"
"$TW" replay -q "$T"/lrec/*.bdf >"$T/long.bdf.jsonl" || fail "replay of the BDF+"
/usr/bin/python3 - "$T" <<'PY' || fail "3 min: live and replay differ beyond the bound"
import glob, json, sys
T = sys.argv[1]
k = lambda e: (e["type"], e["channel"], e["onset_sample"], e["offset_sample"])
live = sorted(k(json.loads(l)) for f in glob.glob(T + "/lj/*.jsonl") for l in open(f)
              if json.loads(l).get("topic") in ("evt.ltr", "evt.epn"))
wav = sorted(k(json.loads(l)) for l in open(T + "/long.wav.jsonl"))
bdf = sorted(k(json.loads(l)) for l in open(T + "/long.bdf.jsonl"))
if any(json.loads(l).get("topic") == "gap" for f in glob.glob(T + "/lj/*.jsonl") for l in open(f)):
    sys.exit("the live run had a gap (ring full?): no comparison possible")
if len(live) < 30:
    sys.exit(f"only {len(live)} live events")
if live != wav:
    sys.exit(f"replay of the WAV differs from live: {set(live) ^ set(wav)}")
# an EPN onset is the first leaning bin within the decision window
# (epn.win_bins, 4 bins): a flipped window moves it by whole bins, at most that
def same_start(a, b):
    if a[:2] != b[:2]:
        return False
    d = abs(a[2] - b[2])
    return d == 0 or (a[0] == "epn" and d % 2400 == 0 and d <= 4 * 2400)
if len(live) != len(bdf) or not all(same_start(a, b) for a, b in zip(live, bdf)):
    sys.exit(f"BDF+ replay: other events: {set(x[:3] for x in live) ^ set(x[:3] for x in bdf)}")
# The BDF+ holds the samples to 24 bits (steps of 0.0006 uV here): a
# decision window right at a threshold can go the other way. An EPN
# episode ends after epn.release_ms (400 ms, 8 bins of 2400 samples) of
# windows that do not lean towards EPN, so a window flipped near its end
# moves its offset by whole bins, at most that far.
off = [(a, b) for a, b in zip(live, bdf) if a[3] != b[3]]
for a, b in off:
    d = abs(a[3] - b[3])
    if a[0] != "epn" or d % 2400 != 0 or d > 8 * 2400:
        sys.exit(f"offset {a} live, {b} from the BDF+: beyond epn.release_ms in whole bins")
if len(off) > 0.02 * len(live):
    sys.exit(f"{len(off)} of {len(live)} offsets differ")
print(f"  ok: {len(live)} events: the WAV's replay = live exactly; the BDF+'s: every type, "
      f"channel and LTR onset equal, {sum(a[2] != b[2] for a, b in zip(live, bdf))} EPN onset(s) "
      f"moved by whole bins, {len(off)} EPN offset(s) moved by "
      f"{[abs(a[3] - b[3]) // 2400 for a, b in off]} bins of 50 ms")
PY

echo "replay_edf: another system's EDF+ (EDFlib, mV, mixed signals)"
"$TW" synth --seed 77 -o ltr_per_min=30 -o epn_per_min=6 -o fib_per_min=0 -o pop_per_min=0 \
    -o flinch_per_min=0 -o voluntary_per_min=0 -o insertion_per_min=0 --seconds 20 "$T/s.wav" 2>/dev/null
"$TW" replay -q "$T/s.wav" >"$T/wav.jsonl" || fail "replay of the WAV"
# the insertion annotation goes 0.3 s before the first LTR after 5 s
ins=$(jq -s '[.[] | select(.type == "ltr" and .onset_s > 5.3)][0] | if . == null then null else .onset_s - 0.3 end' "$T/wav.jsonl")
[[ $ins != null ]] || fail "no LTR after 5.3 s in the synthetic file"
"$EDFW" "$T/s.wav" "$T/o.edf" 10000 5 "$ins" || fail "edfwrite"
"$TW" replay -q --channels "EMG trapezius" "$T/o.edf" >"$T/edf.jsonl" 2>"$T/err" ||
    fail "replay --channels 'EMG trapezius': $(cat "$T/err")"
"$TW" replay -q --channels 1 "$T/o.edf" >"$T/edf1.jsonl" || fail "replay --channels 1"
cmp -s "$T/edf.jsonl" "$T/edf1.jsonl" || fail "by label and by index differ"
/usr/bin/python3 - "$T" "$ins" <<'PY' || fail "the EDF+ and the WAV give other events"
import json, sys
T = sys.argv[1]
w = [json.loads(l) for l in open(T + "/wav.jsonl")]
e = [json.loads(l) for l in open(T + "/edf.jsonl")]
if len(w) < 2 or len(w) != len(e):
    sys.exit(f"{len(w)} events from the WAV, {len(e)} from the EDF+")
for a, b in zip(w, e):
    for k in ("type", "onset_sample", "offset_sample"):
        if a[k] != b[k]:
            sys.exit(f"{k}: WAV {a}, EDF+ {b}")
ins = float(sys.argv[2])
after = [x for x in e if x["type"] == "ltr" and x["onset_s"] > ins]
if not after or any(x.get("insertion") != 1 for x in after[:1]):
    sys.exit(f"the LTR after the insertion at {ins:.3f} s: {after[:1]}")
print(f"  ok: {len(e)} events at the WAV's samples; the LTR after the insertion at {ins:.3f} s "
      "carries insertion 1")
PY

echo "replay_edf: refused files and choices"
refuse() { # WANT_RC PATTERN ARGS...
    local want=$1 pat=$2 rc=0
    shift 2
    "$TW" replay -q "$@" >/dev/null 2>"$T/err" || rc=$?
    ((rc == want)) || fail "replay $*: exit $rc, want $want ($(cat "$T/err"))"
    grep -q -- "$pat" "$T/err" || fail "replay $*: '$(cat "$T/err")' lacks '$pat'"
    ok "replay ${*: -3}: $want: $(sed 's/^twitchd replay: [^:]*: //' "$T/err")"
}
refuse 65 'is not a voltage' "$T/o.edf"
refuse 65 'choose channels of one rate' --channels 1,ECG "$T/o.edf"
refuse 65 'no signal labelled "nope"' --channels nope "$T/o.edf"
refuse 65 'signals 0 .. 2' --channels 7 "$T/o.edf"
head -c 3000 "$T/o.edf" >"$T/trunc.edf"
refuse 65 'not a valid EDF/BDF file' --channels 1 "$T/trunc.edf"
printf '0       garbage' >"$T/garbage.edf"
refuse 65 'garbage.edf' "$T/garbage.edf"
refuse 65 'needs an EDF/BDF file' --channels 0 "$T/s.wav"
refuse 66 'cannot open' "$T/missing.edf"
grep -qi 'sanitizer\|runtime error' "$T/log" "$T"/*.err && fail "sanitizer report"
echo "replay_edf: OK"
