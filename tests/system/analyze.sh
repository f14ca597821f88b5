#!/usr/bin/env bash
# analyze.sh BUILD_DIR: `twitchd analyze` over files and folders (issue 16).
#
# A study folder: study/S01/trap.bdf (a twitchd BDF+ recorded by `twitchd
# run` on a file source at fast pace, record.mode=always, from a `twitchd
# synth` WAV), study/S02/a.wav and b.flac (synth), study/S03/other.edf
# (another system's EDF+, tools/edfwrite: "Resp" in %, "EMG trapezius"
# in mV, an insertion annotation), study/broken.edf (an EDF magic and
# garbage), study/notes.txt (not a recording). Checks:
#  - `analyze -j 2 --meta meta.csv study` exits 65 (the broken file,
#    named on stderr) and still analyses the 4 others (the EDF+ by its
#    voltage signals of one rate: "EMG trapezius");
#  - per recording NAME.events.jsonl has exactly the lines `twitchd
#    replay` prints for the file (same settings; the EDF+ with --channels
#    "EMG trapezius"), and NAME.summary.json's ltr.count = its LTR lines;
#    subject/muscle/side come from meta.csv (WAV) or the EDF+ header;
#  - events.csv, sessions.csv, trains.csv read with Python's csv module
#    (pandas' conventions): a header row; one row per event / recording /
#    train; every column holding numbers is named with a unit suffix
#    (_s, _ms, _uv, _hz, _db, _sample) or is a count or index listed in
#    docs/events.md; *_utc columns are ISO 8601 (datetime.fromisoformat);
#    every column is documented in docs/events.md;
#  - resumable: a second run analyses nothing ("4 already done") and
#    leaves the summaries untouched; after `touch` of one source only that
#    one is redone;
#  - -j 1 gives the same tables as -j 2;
#  - on a terminal (script(1), when installed) a progress bar redrawn in
#    place with \r;
#  - signal quality: a WAV with 3 s of exact zeros gets a "flat" stretch
#    from within 60 ms of their start (flat is known after 50 ms) to
#    their end in its summary, and 3 .. 6 s of quality_bad_s;
#  - exit 64 without a path, 66 for a missing path.
set -euo pipefail
. "$(dirname "$0")/lib/common.bash" "$1" analyze.sh
REPO=$(cd "$(dirname "$0")/../.." && pwd)
trap 'rm -rf "$T"' EXIT
B=$(cd "$B" && pwd); TW=$B/twitchd
cd "$T"
mkdir -p study/S01 study/S02 study/S03
"$TW" synth --seed 31 -o ltr_per_min=30 -o epn_per_min=6 --seconds 20 s1.wav 2>/dev/null
"$TW" synth --seed 32 -o ltr_per_min=30 -o epn_per_min=6 --seconds 15 study/S02/a.wav 2>/dev/null
"$TW" synth --seed 33 -o ltr_per_min=30 -o format=int24 --seconds 12 study/S02/b.flac 2>/dev/null
"$TW" synth --seed 34 -o ltr_per_min=30 -o epn_per_min=6 --seconds 20 s3.wav 2>/dev/null
"$B/tools/edfwrite" s3.wav study/S03/other.edf 10000 6.5 || fail "edfwrite"
"$TW" run -o input.source=file -o input.path=s1.wav -o input.pace=fast -o journal.dir=j \
    -o publish.endpoint="ipc://$T/pub" -o control.endpoint="ipc://$T/ctl" \
    -o record.dir=rec -o record.mode=always -o record.format=bdf 2>log || fail "twitchd run on s1.wav"
mv rec/*.bdf study/S01/trap.bdf
printf '0       this is not an EDF header at all' >study/broken.edf
echo "not a recording" >study/notes.txt
printf 'file,subject,muscle,side,notes\na.wav,S02,"upper trapezius",left,"first, pass"\nb.flac,S02,infraspinatus,right,\n' >meta.csv

echo "analyze: a study folder, -j 2"
rc=0
"$TW" analyze -j 2 --out out --meta meta.csv study 2>err || rc=$?
((rc == 65)) || fail "exit $rc, want 65 (one broken file): $(cat err)"
grep -q "broken.edf" err || fail "the broken file is not named: $(cat err)"
grep -q "5 recordings .*: 4 analysed, 0 already done, 1 failed" err || fail "summary line: $(cat err)"
ok "$(grep -v broken err)"
ok "$(grep broken err)"
for f in S01/trap.bdf S02/a.wav S02/b.flac S03/other.edf; do
    name=${f//\//__}
    args=()
    [[ $f == *.edf ]] && args=(--channels "EMG trapezius")
    "$TW" replay -q "${args[@]}" "study/$f" >"want.$name" || fail "replay $f"
    cmp -s "want.$name" "out/$name.events.jsonl" || fail "$f: events differ from replay's"
    n=$(grep -c '"type":"ltr"' "want.$name" || true)
    [[ $(jq .ltr.count "out/$name.summary.json") == "$n" ]] || fail "$f: summary ltr.count != $n"
done
ok "events = replay's, per recording; summaries' LTR counts match"
jq -e '.subject == "S02" and .muscle == "upper trapezius" and .side == "left" and .notes == "first, pass"' \
    out/S02__a.wav.summary.json >/dev/null || fail "meta.csv not applied: $(jq -c '{subject,muscle,side,notes}' out/S02__a.wav.summary.json)"
jq -e '.subject == "P07" and .insertions == [{"sample": 312000, "t_s": 6.5, "label": null}]' \
    out/S03__other.edf.summary.json >/dev/null ||
    fail "EDF+ header/insertion: $(jq -c '{subject,insertions}' out/S03__other.edf.summary.json)"
ok "subject/muscle/side from meta.csv and the EDF+ header; the insertion annotation"

/usr/bin/python3 - out "$REPO/docs/events.md" <<'PY' || fail "the tables"
import csv, datetime, json, re, sys, glob, os
out, doc = sys.argv[1], open(sys.argv[2], encoding="utf-8").read()
def rows(name):
    with open(os.path.join(out, name), newline="", encoding="utf-8") as f:
        r = list(csv.DictReader(f))
    return r
ev, se, tr = rows("events.csv"), rows("sessions.csv"), rows("trains.csv")
sums = {os.path.basename(p)[:-len(".summary.json")]: json.load(open(p))
        for p in glob.glob(out + "/*.summary.json")}
nev = sum(sum(1 for _ in open(out + f"/{k}.events.jsonl")) for k in sums)
assert len(ev) == nev, f"events.csv {len(ev)} rows, {nev} events"
assert len(se) == len(sums) == 4, f"sessions.csv {len(se)} rows"
assert len(tr) == sum(len(s["trains"]) for s in sums.values()), "trains.csv rows"
unit = re.compile(r".*_(s|ms|uv|hz|db|sample|utc|pct)$")
counts = {"recording", "subject", "muscle", "side", "notes", "channel", "type", "turns",
          "in_epn", "train", "train_index", "rel_amp", "insertion", "eps_count", "eps_cv",
          "skewness", "channels", "ltr_count", "trains", "train_decrement_mean", "epn_episodes",
          "marks", "insertions", "guard_flat_stretches", "guard_nonfinite_samples",
          "source_path", "source_format", "train_id", "ltr_count", "last_rel_amp", "decrement",
          "gap_samples"}
for name, table in (("events.csv", ev), ("sessions.csv", se), ("trains.csv", tr)):
    cols = table[0].keys()
    for c in cols:
        assert unit.match(c) or c in counts, f"{name}: column {c} has no unit suffix"
        assert f"`{c}`" in doc, f"{name}: column {c} is not documented in docs/events.md"
        if c.endswith("_utc"):
            for r in table:
                if r[c]:
                    datetime.datetime.fromisoformat(r[c].replace("Z", "+00:00"))
    for r in table:
        for c in cols:
            if unit.match(c) and not c.endswith("_utc") and r[c] != "":
                float(r[c])
assert any(r["onset_utc"] for r in ev), "no onset_utc (the EDF/BDF files have a start time)"
print(f"  ok: events.csv {len(ev)} rows, sessions.csv {len(se)}, trains.csv {len(tr)}: header "
      f"rows, units in names, ISO times, every column documented")
PY

echo "analyze: resumable"
sleep 1.1
stamp=$(stat -c %Y out/S02__a.wav.summary.json)
rc=0; "$TW" analyze -j 2 --out out --meta meta.csv study 2>err || rc=$?
grep -q "0 analysed, 4 already done, 1 failed" err || fail "second run: $(cat err)"
[[ $(stat -c %Y out/S02__a.wav.summary.json) == "$stamp" ]] || fail "a done summary was rewritten"
touch study/S02/b.flac
rc=0; "$TW" analyze -j 2 --out out --meta meta.csv study 2>err || rc=$?
grep -q "1 analysed, 3 already done, 1 failed" err || fail "after touch: $(cat err)"
ok "a second run redoes nothing; a touched source is redone"

echo "analyze: -j 1 gives the same tables"
rm study/broken.edf
"$TW" analyze -q -j 1 --out out1 --meta meta.csv study || fail "-j 1"
"$TW" analyze -q -j 2 --out out2 --meta meta.csv study || fail "-j 2"
for t in events sessions trains; do cmp -s "out1/$t.csv" "out2/$t.csv" || fail "$t.csv differs"; done
ok "the same events.csv, sessions.csv, trains.csv; exit 0 without the broken file"
if command -v script >/dev/null; then # a terminal (util-linux script): the progress bar
    script -qec "$TW analyze -j 2 --redo --out opty study/S02" /dev/null >pty.out 2>&1 || true
    tr '\r' '\n' <pty.out | grep -q '^twitchd analyze: \[#*  *\] 1/2' ||
        fail "no progress bar on a terminal: $(tr '\r' '\n' <pty.out | head -3)"
    grep -q $'\r' <(tr -d '\n' <pty.out) || fail "the progress bar does not redraw in place"
    ok "a progress bar on a terminal (script(1))"
fi

echo "analyze: signal quality"
/usr/bin/python3 - study/S02/a.wav flat.wav <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
i = d.find(b"data")
for k in range(5 * 48000, 8 * 48000):  # 3 s of exact zeros from 5 s
    struct.pack_into("<f", d, i + 8 + 4 * k, 0.0)
open(sys.argv[2], "wb").write(d)
PY
"$TW" analyze -q --out oq flat.wav || fail "analyze flat.wav"
jq -e '[.quality.per_channel[0].stretches[] | select(.quality == ["flat"] and .start_s <= 5.06
        and .stop_s >= 8)] | length == 1' oq/flat.wav.summary.json >/dev/null ||
    fail "no flat stretch over 5 .. 8 s: $(jq -c .quality oq/flat.wav.summary.json)"
bad=$(/usr/bin/python3 -c 'import csv,sys; print(next(csv.DictReader(open(sys.argv[1])))["quality_bad_s"])' oq/sessions.csv)
/usr/bin/python3 -c "import sys; sys.exit(not 3 <= float('$bad') <= 6)" || fail "quality_bad_s $bad"
ok "3 s of zeros: a flat stretch in the summary, quality_bad_s $bad s in sessions.csv"
rc=0; "$TW" analyze >/dev/null 2>&1 || rc=$?; ((rc == 64)) || fail "no path: exit $rc"
rc=0; "$TW" analyze --out o3 nothing-here >/dev/null 2>&1 || rc=$?; ((rc == 66)) || fail "missing: exit $rc"
ok "exit 64 (no path), 66 (missing path)"
echo "analyze: OK"
