#!/usr/bin/env bash
# quality_report.sh BUILD_DIR: bad signal quality is said where the results
# are (issue 13).
#
#  1. events: the daemon reads a 14 s synthetic file (seed 41, 8 LTRs) at
#     real-time pace in which 3 samples at the peak of the LTR at
#     3.90-3.96 s are at digital full scale and 6.5-8.2 s is exact zeros. The LTR over
#     the clipping carries "quality": ["clipping"] in the journal and on
#     the wire (a subscriber), the LTRs far from both stretches (0.27, 1.99,
#     9.72 s and later) carry no "quality" field, none carries "flat"
#     (detection is off while flat, and an event is closed where the
#     signal stopped);
#  2. the session summary (a session open from the start, closed when the
#     file ends): channel 0 has the clipping stretch (from 3.89-3.97 s,
#     ["clipping"], held 1 s) and the flat one (from 6.5-6.6 s, ["flat"],
#     until 1 s after 8.2 s), with the samples of the journal's
#     evt.quality records; bad_s is the sum of the stretches' durations,
#     the total the same;
#  1b. replay and analyze of the same file: their LTRs carry the same
#     "quality" as live (the one over the clipping ["clipping"]), and
#     replay's summary gives the bad time;
#  3. a signal 1000 times too small (a 20 s synthetic file with EPN, seed
#     31, its samples / 1000; the EPN records read peak_uv 0.0 before):
#     replay prints EPN records and no amplitude 0.0 (peak_uv, p2p_uv, rms_uv, noise_uv
#     all > 0), and its summary says "signal low" and to check
#     input.full_scale_uv; the daemon journals an evt.quality
#     "signal low", logs the floor and the scale, and its sts heartbeats
#     say "signal low"; with quality.noise_min_uv=0 nothing is said.
set -euo pipefail

. "$(dirname "$0")/lib/common.bash" "${1:-}" quality_report
PY=/usr/bin/python3
pid= spid=
cleanup() {
    local rc=$?
    for p in $pid $spid; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT
EP="ipc://$T/ctl"
ctl() { "$TW" ctl -e "$EP" -t 5000 "$@"; }

"$TW" synth --seed 41 --seconds 14 -o ltr_per_min=20 -o epn_per_min=3 "$T/clean.wav" 2>/dev/null ||
    fail "synth"
# edit a float WAV: edit.py IN OUT MODE (faults: clipping + zeros; small: / 1000)
cat >"$T/edit.py" <<'PY'
import struct, sys
src, dst, mode = sys.argv[1:4]
d = bytearray(open(src, "rb").read())
rate = struct.unpack("<I", d[24:28])[0]
i = 12
while i < len(d):
    cid, n = bytes(d[i:i + 4]), struct.unpack("<I", d[i + 4:i + 8])[0]
    if cid == b"data":
        a = i + 8
        x = list(struct.unpack("<%df" % (n // 4), d[a:a + n]))
        if mode == "faults":  # 3 samples at full scale at the LTR's own peak
            w0, w1 = int(3.897 * rate), int(3.962 * rate)
            k = max(range(w0, w1), key=lambda j: abs(x[j]))
            x[k - 1:k + 2] = [1.0 if x[k] > 0 else -1.0] * 3
            z0, z1 = int(6.5 * rate), int(8.2 * rate)
            x[z0:z1] = [0.0] * (z1 - z0)
        else:
            x = [v / 1000.0 for v in x]
        d[a:a + n] = struct.pack("<%df" % len(x), *x)
        break
    i += 8 + n + (n & 1)
open(dst, "wb").write(d)
PY
$PY "$T/edit.py" "$T/clean.wav" "$T/faults.wav" faults || fail "edit faults"
"$TW" synth --seed 31 --seconds 20 -o ltr_per_min=12 -o epn_per_min=6 "$T/epn.wav" 2>/dev/null ||
    fail "synth"
$PY "$T/edit.py" "$T/epn.wav" "$T/small.wav" small || fail "edit small"

# ---- 1 and 2: events and the session summary ----
echo "quality_report: 3 samples clipped inside an LTR, 1.7 s of zeros, a session over the file"
"$TW" sub "ipc://$T/pub" evt.ltr >"$T/sub.out" 2>"$T/sub.err" &
spid=$!
"$TW" run -o input.source=file -o input.path="$T/faults.wav" -o input.pace=realtime \
    -o journal.dir="$T/j" -o publish.endpoint="ipc://$T/pub" -o control.endpoint="$EP" \
    -o record.mode=off -o record.dir="$T/rec" >"$T/log" 2>&1 </dev/null &
pid=$!
for i in $(seq 100); do ctl -t 300 status >/dev/null 2>&1 && break; sleep 0.05; done
ctl session.start subject=Q >/dev/null || fail "session.start"
rc=0; wait "$pid" || rc=$?; pid=
[[ $rc -eq 0 ]] || fail "the daemon exited $rc"
sleep 0.3
kill -TERM "$spid" 2>/dev/null; wait "$spid" 2>/dev/null || true; spid=
sum=$(ls "$T/rec"/*.summary.json 2>/dev/null | head -1)
[[ -f $sum ]] || fail "no session summary in $T/rec"
$PY - "$T/j" "$T/sub.out" "$sum" <<'PY' || fail "events or summary (above)"
import glob, json, sys
jdir, subout, sumf = sys.argv[1:4]
recs = [json.loads(l) for f in sorted(glob.glob(jdir + "/*.jsonl")) for l in open(f)]
ltr = [r for r in recs if r.get("topic") == "evt.ltr"]
wire = {}
for l in open(subout):
    l = l.strip()
    if l.startswith("{"):
        m = json.loads(l); wire[m["seq"]] = m
bad = []
for r in ltr:
    print("  LTR %.3f-%.3f s: quality %s" % (r["onset_s"], r["offset_s"], r.get("quality", "(none)")))
    w = wire.get(r["seq"])
    if w is None or w.get("quality") != r.get("quality"):
        bad.append("LTR at %.2f s: on the wire %s, journal %s" % (r["onset_s"], w and w.get("quality"), r.get("quality")))
over = [r for r in ltr if r["onset_s"] <= 3.93 <= r["offset_s"]]
if len(over) != 1 or over[0].get("quality") != ["clipping"]:
    bad.append("the LTR over the clipping: %s" % over)
far = [r for r in ltr if r["offset_s"] < 3.8 or 5.0 < r["onset_s"] < 6.4 or r["onset_s"] > 9.3]
if len(far) < 5 or any("quality" in r for r in far):
    bad.append("LTRs far from the bad stretches: %s" % [(r["onset_s"], r.get("quality")) for r in far])
if any("flat" in r.get("quality", []) for r in ltr):
    bad.append("an LTR carries flat")
s = json.load(open(sumf))
q = s["quality"]
ch = q["per_channel"][0]
st = ch["stretches"]
print("  summary: bad_s %.3f; %s" % (q["bad_s"], "; ".join(
    "%s %.3f-%.3f s (samples %d-%d)" % (",".join(x["quality"]), x["start_s"], x["stop_s"], x["start_sample"], x["stop_sample"]) for x in st)))
rate, t0 = s["rate_hz"], s["start_sample"]
abs_s = lambda x: x / rate
clip = [x for x in st if x["quality"] == ["clipping"]]
flat = [x for x in st if x["quality"] == ["flat"]]
if len(clip) != 1 or not 3.89 <= abs_s(clip[0]["start_sample"]) <= 3.97 or not 4.8 <= abs_s(clip[0]["stop_sample"]) <= 5.0:
    bad.append("clipping stretch: %s" % clip)
if len(flat) != 1 or not 6.5 <= abs_s(flat[0]["start_sample"]) <= 6.6 or not 9.1 <= abs_s(flat[0]["stop_sample"]) <= 9.3:
    bad.append("flat stretch: %s" % flat)
dur = sum(x["duration_s"] for x in st)
if abs(ch["bad_s"] - dur) > 1e-9 or abs(q["bad_s"] - dur) > 1e-9 or ch["bad_samples"] != sum(x["stop_sample"] - x["start_sample"] for x in st):
    bad.append("bad_s %s / %s, stretches %s" % (ch["bad_s"], q["bad_s"], dur))
for x in st:
    if abs(x["start_s"] - (x["start_sample"] - t0) / rate) > 1e-9 or abs(x["duration_s"] - (x["stop_sample"] - x["start_sample"]) / rate) > 1e-9:
        bad.append("stretch seconds: %s" % x)
qr = [r for r in recs if r.get("topic") == "evt.quality"]
starts = {r["sample"]: r["quality"] for r in qr}
for x in st:
    if starts.get(x["start_sample"]) != x["quality"]:
        bad.append("no evt.quality %s at sample %d" % (x["quality"], x["start_sample"]))
jsum = [r for r in recs if r.get("topic") == "evt.session" and r.get("state") == "stop"]
key = lambda qq: [(c["bad_samples"], [(x["start_sample"], x["stop_sample"], x["quality"]) for x in c["stretches"]]) for c in qq["per_channel"]]
if not jsum or key(jsum[-1].get("quality", {"per_channel": []})) != key(q):
    bad.append("the journaled summary's quality differs: %s" % (jsum and jsum[-1].get("quality")))
for b in bad:
    print("  " + b)
sys.exit(1 if bad else 0)
PY
ok "the LTR over the clipping carries [\"clipping\"] (journal and wire), clean ones nothing; the summary has both stretches and their time"

# ---- 1b: replay and analyze judge quality as the daemon does ----
echo "quality_report: replay and analyze of the same file"
"$TW" replay "$T/faults.wav" >"$T/replay.jsonl" 2>"$T/replay.err" || fail "replay: $(cat "$T/replay.err")"
grep -q "signal quality: .* s bad (.*clipping" "$T/replay.err" || fail "replay's summary: $(cat "$T/replay.err")"
"$TW" analyze --out "$T/an" "$T/faults.wav" >/dev/null 2>"$T/an.err" || fail "analyze: $(cat "$T/an.err")"
$PY - "$T/j" "$T/replay.jsonl" "$T/an" <<'PY' || fail "replay/analyze quality differs from live (above)"
import glob, json, sys
jdir, rep, an = sys.argv[1:4]
live = {r["onset_sample"]: r.get("quality") for f in sorted(glob.glob(jdir + "/*.jsonl"))
        for r in map(json.loads, open(f)) if r.get("topic") == "evt.ltr"}
offline = {"replay": [json.loads(l) for l in open(rep)],
           "analyze": [json.loads(l) for f in glob.glob(an + "/*.events.jsonl") for l in open(f)]}
bad = []
for name, evs in offline.items():
    ltr = {e["onset_sample"]: e.get("quality") for e in evs if e["type"] == "ltr"}
    if not any(q == ["clipping"] for q in ltr.values()):
        bad.append("%s: no LTR carries clipping: %s" % (name, ltr))
    for k, q in live.items():
        if k in ltr and ltr[k] != q:
            bad.append("%s: LTR at sample %d carries %s, live %s" % (name, k, ltr[k], q))
for b in bad:
    print("  " + b)
assert not bad
PY
ok "replay's and analyze's LTRs carry the live quality (the clipping one [\"clipping\"]), and replay's summary gives the bad time"

# ---- 3: a signal 1000 times too small ----
echo "quality_report: a file's samples / 1000 (input.full_scale_uv 1000 times off)"
"$TW" replay "$T/small.wav" >"$T/small.jsonl" 2>"$T/small.err" || fail "replay: $(cat "$T/small.err")"
cat "$T/small.err" | sed 's/^/  /'
grep -q "signal quality: signal low: noise floor 0.00[0-9]* uV below quality.noise_min_uv 0.1 uV .*check input.full_scale_uv" "$T/small.err" ||
    fail "replay says nothing of the low signal"
"$TW" replay -q "$T/epn.wav" >"$T/epn.jsonl" || fail "replay of the file at its scale"
n_epn=$(jq -s 'map(select(.type == "epn")) | length' "$T/epn.jsonl")
n_small=$(jq -s 'map(select(.type == "epn")) | length' "$T/small.jsonl")
[[ $n_epn -ge 1 && $n_small -eq $n_epn ]] ||
    fail "EPN records: $n_small from the small file, $n_epn at the file's own scale (EPN is judged against the noise floor: the same)"
jq -e -s 'all(.[]; .peak_uv > 0 and .p2p_uv > 0 and .rms_uv > 0 and .noise_uv > 0)' "$T/small.jsonl" >/dev/null ||
    fail "an amplitude reads 0: $(jq -c '[.type, .peak_uv, .p2p_uv, .rms_uv, .noise_uv]' "$T/small.jsonl" | head -3)"
echo "  e.g. $(jq -c '{type, peak_uv, p2p_uv, noise_uv}' "$T/small.jsonl" | head -1)"
"$TW" replay -o quality.noise_min_uv=0 "$T/small.wav" >/dev/null 2>"$T/small0.err" || fail "replay noise_min_uv=0"
! grep -q "signal low" "$T/small0.err" || fail "quality.noise_min_uv=0 still says signal low"

"$TW" sub "ipc://$T/pub2" sts >"$T/sts.out" 2>"$T/sts.err" &
spid=$!
"$TW" run -o input.source=file -o input.path="$T/small.wav" -o input.pace=realtime -o input.duration_s=4 \
    -o journal.dir="$T/j2" -o publish.endpoint="ipc://$T/pub2" -o control.endpoint="ipc://$T/ctl2" \
    -o record.mode=off -o record.dir="$T/rec" >"$T/log" 2>&1 </dev/null || fail "run on the small file"
sleep 0.3
kill -TERM "$spid" 2>/dev/null; wait "$spid" 2>/dev/null || true; spid=
grep -q "channel 0: noise floor 0.00[0-9]* uV below quality.noise_min_uv 0.1 uV (no amplifier is that quiet): check input.full_scale_uv (10000 uV)" "$T/log" ||
    fail "the log does not say the signal is low"
cat "$T"/j2/*.jsonl | jq -e -s 'map(select(.topic == "evt.quality" and (.quality | index("signal low")))) | length >= 1' >/dev/null ||
    fail "no evt.quality signal low journaled"
grep '^{' "$T/sts.out" | jq -e -s 'map(select(.channels[0].quality | index("signal low"))) | length >= 1' >/dev/null ||
    fail "no sts heartbeat says signal low"
ok "1000 times too small: amplitudes keep their digits; replay, the log, evt.quality and sts say signal low"
echo "quality_report: PASS"
