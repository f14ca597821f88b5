#!/usr/bin/env bash
# report.sh BUILD_DIR: `twitchd report` and record.report (issue 16).
#
# The daemon on its synthetic source (2 channels, seed 4242,
# synth.ltr_per_min=40, synth.epn_per_min=8, real-time pace, BDF+,
# record.report=true): a ~20 s session with two insertions (one
# labelled), two marks (one with <, & and quotes in its label),
# session.stop, SIGTERM. Checks:
#  - ID.report.html appears beside ID.summary.json (record.report), and
#    `twitchd report -j JOURNAL_DIR SUMMARY -o OUT` writes the same bytes;
#  - tests/web/report.py: self-contained (no external reference, no
#    script), renders in headless Chromium without a console message, the
#    screenshot is not blank, the plotted counts (LTR ticks per channel,
#    trains, EPN spans per channel, insertions, marks, bad stretches,
#    histogram) equal the summary's, it prints to PDF;
#  - the mark label is escaped (no raw "<b>" in the file);
#  - the session holds LTRs and EPN (else the test proves little);
#  - `twitchd analyze` of the session's BDF+ gives the live summary's
#    LTRs, trains, insertions, marks and EPN episode count (details at
#    the check);
#  - `twitchd report` exits 65 on a JSON file that is not a summary (and
#    names the key), 65 on a file that is not JSON (file:line), 66 on a
#    missing file, 64 without a file; --help exits 0.
set -euo pipefail
. "$(dirname "$0")/lib/common.bash" "$1" report.sh
REPO=$(cd "$(dirname "$0")/../.." && pwd)
d=
trap '[[ -n $d ]] && kill -KILL "$d" 2>/dev/null; rm -rf "$T"' EXIT

echo "report: a session with record.report=true"
"$TW" run -o input.source=synth -o input.pace=realtime -o input.channels=2 -o synth.seed=4242 \
    -o synth.ltr_per_min=40 -o synth.epn_per_min=8 -o journal.dir="$T/j" \
    -o publish.endpoint="ipc://$T/pub" -o control.endpoint="ipc://$T/ctl" \
    -o record.dir="$T/rec" -o record.format=bdf -o record.report=true 2>"$T/log" &
d=$!
for ((i = 0; i < 100; i++)); do
    "$TW" ctl -t 200 -e "ipc://$T/ctl" status >/dev/null 2>&1 && break
    kill -0 "$d" 2>/dev/null || fail "the daemon exited at start"
    sleep 0.1
done
c() { "$TW" ctl -e "ipc://$T/ctl" "$@" >/dev/null || fail "ctl $*"; }
c session.start subject=R01 "muscle=upper trapezius" side=left "notes=report test"
sleep 2
c insertion "label=locus 1"
sleep 5
c mark "label=<b>pain</b> & \"referred\""
sleep 5
c insertion
sleep 4
c mark "label=needle out"
sleep 4
"$TW" ctl -e "ipc://$T/ctl" session.stop >"$T/stop.json" || fail "session.stop"
sum=$(ls "$T"/rec/*.summary.json)
rep=${sum%.summary.json}.report.html
for ((i = 0; i < 100; i++)); do [[ -s $rep ]] && break; sleep 0.1; done
[[ -s $rep ]] || fail "no $rep 10 s after session.stop"
kill -TERM "$d"
rc=0; wait "$d" || rc=$?
d=
((rc == 0)) || fail "daemon exit $rc"
grep -q "report: $rep" "$T/log" || fail "the daemon did not log the report"
ok "record.report wrote $(basename "$rep") ($(stat -c %s "$rep") bytes)"
read -r nltr nepn < <(jq -r '"\(.ltr.count) \(.epn.episodes)"' "$sum")
((nltr >= 3 && nepn >= 1)) || fail "the session holds $nltr LTRs and $nepn EPN episodes: too few"

t0=$(date +%s%N)
"$TW" report -j "$T/j" -o "$T/again.html" "$sum" >"$T/out" || fail "twitchd report"
t1=$(date +%s%N)
cmp -s "$rep" "$T/again.html" || fail "twitchd report and record.report differ"
ok "twitchd report -j: the same file, made in $(((t1 - t0) / 1000000)) ms"
grep -q '<b>pain' "$rep" && fail "the mark's label is not escaped"
grep -q '&lt;b&gt;pain&lt;/b&gt; &amp; &quot;referred&quot;' "$rep" || fail "the escaped label is missing"
ok "labels escaped"

/usr/bin/python3 "$REPO/tests/web/report.py" "$rep" "$sum" "$T/shot.png" || fail "report.py"
[[ -n ${TW_REPORT_SHOT:-} ]] && cp "$T/shot.png" "$TW_REPORT_SHOT"

echo "report: twitchd analyze of the session's BDF+ gives its summary"
# The recording replayed cold (from the session's start, not the daemon's)
# with its annotations: LTRs, trains (channel, insertion, onsets within
# 1 ms, positions; rel_amp within 0.002: 24-bit steps), insertions and marks
# (labels; samples within 3: EDF+ keeps onsets to 100 us = 4.8 samples)
# and EPN episodes as the live summary has them; the duration within 3
# samples ("Recording ends" is stored to 100 us too). A train the live
# session found begun before its start is left out (its numbering began
# before the file).
"$TW" analyze -q --out "$T/an" "$(jq -r .summary.recording "$T/stop.json")" || fail "analyze"
/usr/bin/python3 - "$T/stop.json" "$T"/an/*.summary.json <<'PY' || fail "analyze and live differ"
import json, sys
live = json.load(open(sys.argv[1]))["summary"]; s0 = live["start_sample"]
an = json.load(open(sys.argv[2]))
def fail(m): sys.exit("FAIL: " + m)
if live["ltr"]["count"] != an["ltr"]["count"]:
    fail(f"LTRs: live {live['ltr']['count']}, analyze {an['ltr']['count']}")
key = lambda t: (t["channel"], t["insertion"], [(l["onset_sample"], l["train_index"]) for l in t["ltrs"]])
lt = [t for t in live["trains"] if t["ltrs"][0]["train_index"] == 0]
for t in lt:
    for l in t["ltrs"]:
        l["onset_sample"] -= s0
# onsets within 1 ms: replayed cold, the file's detectors start with
# their own noise floor, and the onset walk's threshold is a multiple of it
def same(a, b):
    ka, kb = key(a), key(b)
    return (ka[:2] == kb[:2] and len(ka[2]) == len(kb[2]) and
            all(i == j and abs(x - y) <= 48 for (x, i), (y, j) in zip(ka[2], kb[2])))
for t in lt:
    m = next((a for a in an["trains"] if same(t, a)), None)
    if not m:
        fail(f"live train {key(t)} not in analyze's {[key(a) for a in an['trains']]}")
    for a, b in zip(t["ltrs"], m["ltrs"]):
        if abs(a["rel_amp"] - b["rel_amp"]) > 0.002:
            fail(f"rel_amp {a} vs {b}")
for k in ("insertions", "marks"):
    if [x["label"] for x in live[k]] != [x["label"] for x in an[k]] or any(
            abs(x["sample"] - s0 - y["sample"]) > 3 for x, y in zip(live[k], an[k])):
        fail(f"{k}: live {live[k]}, analyze {an[k]}")
if live["epn"]["episodes"] != an["epn"]["episodes"]:
    fail(f"EPN episodes: live {live['epn']['episodes']}, analyze {an['epn']['episodes']}")
if abs(live["stop_sample"] - s0 - an["stop_sample"]) > 3:
    fail(f"duration: live {live['stop_sample'] - s0}, analyze {an['stop_sample']} samples")
print(f"  ok: {an['ltr']['count']} LTRs, {len(lt)} of {len(live['trains'])} trains compared equal, "
      f"{len(an['insertions'])} insertions, {len(an['marks'])} marks, "
      f"{an['epn']['episodes']} EPN episodes; EPN time {live['epn']['time_s']:.2f} s live, "
      f"{an['epn']['time_s']:.2f} s from the file")
PY

echo "report: refusals"
echo '{"type":"session"}' >"$T/notsum.json"
echo '{"type":' >"$T/bad.json"
refuse() { # WANT PATTERN ARGS...
    local want=$1 pat=$2 rc=0
    shift 2
    "$TW" report "$@" >/dev/null 2>"$T/err" || rc=$?
    ((rc == want)) || fail "report $*: exit $rc, want $want ($(cat "$T/err"))"
    grep -q -- "$pat" "$T/err" || fail "report $*: '$(cat "$T/err")' lacks '$pat'"
    ok "exit $want: $(cat "$T/err")"
}
refuse 65 'no key "id"' "$T/notsum.json"
refuse 65 'bad.json:2' "$T/bad.json"
refuse 66 'No such file' "$T/missing.json"
refuse 64 'expected one summary file'
"$TW" report --help | grep -q "usage: twitchd report" || fail "report --help"
grep -qi 'sanitizer\|runtime error' "$T/log" && fail "sanitizer report in the daemon log"
echo "report: OK"
