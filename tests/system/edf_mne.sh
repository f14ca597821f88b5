#!/usr/bin/env bash
# edf_mne.sh BUILD_DIR: the recorder's EDF+/BDF+ files, read by another
# program than the one that wrote them: MNE-Python (Debian python3-mne,
# run with /usr/bin/python3: the python3 on PATH may lack it). A missing
# MNE is a failure, not a skip: it is a declared dependency (make deps).
#
# BUILD_DIR/tools/edfmake writes a recording through the writer thread
# (seeded noise + sine, 2 channels, clipped samples, a 480-sample gap,
# UTF-8 annotations, one over 40 bytes) with what the file must hold.
#
# Checks, for EDF+ at 48000 Hz and BDF+ at 44100 Hz:
#  - MNE (read_raw_edf / read_raw_bdf) reads it without a warning; rate,
#    channel names, number of samples equal; every sample (MNE gives
#    volts) within half a quantisation step of what was fed (clamped,
#    zeros in the gap and the padding); the annotations (onset within
#    100 us, duration, description) equal, the gap's among them;
# and for a recording killed with SIGKILL (edfmake --hang), with a partial
# record appended as a kill inside a write leaves it:
#  - MNE reads it before repair with no annotations (unfinished);
#  - `twitchd repair FILE` exits 0 and prints "repaired"; MNE then reads
#    it without a warning, the whole records match, every annotation
#    within them is there; a second `twitchd repair` prints "nothing to
#    repair";
#  - `twitchd repair` exits 65 on a text file, 66 on a missing file, 64
#    without a file; --help exits 0.
set -euo pipefail

B=${1:?usage: edf_mne.sh BUILD_DIR}
TW=$B/twitchd
MAKE=$B/tools/edfmake
PY=/usr/bin/python3
for x in "$TW" "$MAKE"; do
    [[ -x $x ]] || { echo "FAIL: $x is missing (build it first)" >&2; exit 1; }
done
if ! "$PY" -c 'import mne' 2>/dev/null; then
    echo "FAIL: MNE-Python is missing for $PY (Debian package python3-mne, a declared" \
         "dependency: run 'make deps')" >&2
    exit 1
fi

tmp=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# check FILE [unfinished|repaired]: MNE against FILE.expect.*; with
# "unfinished", expect no annotations at all (the file as a crash left
# it); with "repaired", the whole records kept and the annotations within
# them (MNE leaves out those after the end; the unit test checks with
# EDFlib that repair wrote every one).
check() {
    "$PY" - "$1" "${2:-}" <<'PY'
import json, sys, warnings
import numpy as np
import mne

path, mode = sys.argv[1], sys.argv[2]
exp = json.load(open(path + ".expect.json"))
rate = exp["rate"]
want = np.fromfile(path + ".expect.f64", dtype="<f8").reshape(2, -1)
reader = mne.io.read_raw_bdf if path.endswith(".bdf") else mne.io.read_raw_edf
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    raw = reader(path, preload=True, verbose="warning")
msgs = [str(x.message) for x in w]
def fail(msg):
    sys.exit(f"{path}: {msg}")
if raw.info["sfreq"] != rate:
    fail(f"rate {raw.info['sfreq']}, want {rate}")
if raw.ch_names != exp["labels"]:
    fail(f"channels {raw.ch_names}, want {exp['labels']}")
got = raw.get_data() * 1e6  # MNE gives volts; the file holds uV
n = got.shape[1]
if mode == "" and n != exp["frames"]:
    fail(f"{n} samples per channel, want {exp['frames']}")
if n % int(rate) or n > want.shape[1] + int(rate):
    fail(f"{n} samples per channel: not whole records of what was written")
m = min(n, want.shape[1])
err = np.abs(got[:, :m] - want[:, :m]).max()
if err > 0.5 * exp["step"] * (1 + 1e-6) + 1e-9:
    i = np.unravel_index(np.argmax(np.abs(got[:, :m] - want[:, :m])), got[:, :m].shape)
    fail(f"sample {i}: {got[i]:.6f} uV, want {want[i]:.6f} (step {exp['step']:.3g} uV)")
a = raw.annotations
if mode == "unfinished":
    if len(a):
        fail(f"{len(a)} annotations in a file that was never finished")
    print(f"  ok: {path}: unfinished: MNE reads {n // int(rate)} records "
          f"(warned: {'yes' if msgs else 'no'}), no annotations")
    sys.exit(0)
got_a = sorted((float(o), float(d), s) for o, d, s in zip(a.onset, a.duration, a.description))
want_a = sorted((x["onset"], x["duration"] or 0.0, x["text"]) for x in exp["annotations"])
beyond = 0
if mode == "repaired":  # MNE leaves out annotations after the last record kept
    beyond = sum(1 for x in want_a if x[0] >= n / rate)
    want_a = [x for x in want_a if x[0] < n / rate]
    msgs = [x for x in msgs if x != f"Omitted {beyond} annotation(s) that were outside data range."]
if msgs:
    fail(f"MNE warned: {msgs}")
if len(got_a) != len(want_a):
    fail(f"{len(got_a)} annotations, want {len(want_a)}: {got_a} vs {want_a}")
for g, e in zip(got_a, want_a):
    if abs(g[0] - e[0]) > 1e-4 + 1e-9 or abs(g[1] - e[1]) > 1e-4 + 1e-9 or g[2] != e[2]:
        fail(f"annotation {g}, want {e}")
print(f"  ok: {path}: {n} samples x 2 at {rate:g} Hz, max error {err:.3g} uV "
      f"(step {exp['step']:.3g}), {len(got_a)} annotations equal"
      + (f" ({beyond} more after the end, as MNE leaves them out)" if beyond else ""))
PY
}

echo "edf_mne: MNE $("$PY" -c 'import mne; print(mne.__version__)') reads what the recorder wrote"
"$MAKE" "$tmp/rec.edf" --rate 48000 --seconds 3.3 --seed 11 2>"$tmp/err" || fail "edfmake: $(cat "$tmp/err")"
check "$tmp/rec.edf" || fail "EDF+ at 48000 Hz"
"$MAKE" "$tmp/rec.bdf" --rate 44100 --seconds 2.5 --seed 12 2>"$tmp/err" || fail "edfmake: $(cat "$tmp/err")"
check "$tmp/rec.bdf" || fail "BDF+ at 44100 Hz"

echo "edf_mne: a session recorded by the daemon, as other tools read it"
# The daemon on its synthetic source (2 needle channels, filter.mains=50,
# BDF+), session.start with a muscle and notes holding spaces, ~2.3 s,
# session.stop. Then:
#  - MNE read_raw_bdf(infer_types=True) without any warning: every
#    channel typed "emg" (labels "EMG ch0 needle", "EMG ch1 needle");
#    highpass 0 and lowpass rate/2 (the samples are raw: the prefilter
#    field must not read as "HP:"/"LP:" filters);
#  - EDFlib (tools/edfhdr): transducer "needle electrode", prefilter
#    "raw ADC, no digital filter; analysis HP 10Hz LP 10000Hz mains 50Hz
#    cancelled"; recording field subfields "upper_trapezius left
#    eco_test"; annotations: "session start" at 0, "session stop" and
#    "Recording ends" at the stop (the last record is padded after it),
#    none beginning or running past the stop.
dt=$tmp/daemon
"$TW" run -o input.source=synth -o input.pace=realtime -o input.channels=2 \
    -o synth.seed=4242 -o synth.epn_per_min=30 -o filter.mains=50 -o journal.dir="$dt/j" \
    -o publish.endpoint="ipc://$dt.pub" -o control.endpoint="ipc://$dt.ctl" \
    -o record.dir="$dt/rec" -o record.format=bdf 2>"$tmp/daemon.err" &
pid=$!
for _ in $(seq 1 100); do
    "$TW" ctl -t 200 -e "ipc://$dt.ctl" status >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || fail "daemon exited at start: $(tail -3 "$tmp/daemon.err")"
    sleep 0.1
done
"$TW" ctl -e "ipc://$dt.ctl" session.start subject=S01 "muscle=upper trapezius" side=left \
    "notes=eco test" >"$tmp/start.json" || fail "session.start"
sleep 2.3
"$TW" ctl -e "ipc://$dt.ctl" session.stop >"$tmp/stop.json" || fail "session.stop"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
pid=
((rc == 0)) || fail "daemon exit $rc"
rec=$(jq -r .summary.recording "$tmp/stop.json")
[[ -f $rec ]] || fail "no recording: $(cat "$tmp/stop.json")"
"$B/tools/edfhdr" "$rec" >"$tmp/hdr.json" || fail "edfhdr $rec"
"$PY" - "$rec" "$tmp/hdr.json" "$tmp/stop.json" <<'PY' || fail "the daemon's recording as MNE and EDFlib read it"
import json, sys, warnings
import mne
path, hdr, stop = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
s = stop["summary"]
dur = (s["stop_sample"] - s["start_sample"]) / s["rate_hz"]
def fail(m):
    sys.exit(f"{path}: {m}")
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    raw = mne.io.read_raw_bdf(path, infer_types=True, preload=True, verbose="warning")
if w:
    fail(f"MNE warned: {[str(x.message) for x in w]}")
if raw.get_channel_types() != ["emg", "emg"]:
    fail(f"channel types {raw.get_channel_types()} ({raw.ch_names}), want emg")
if raw.info["highpass"] != 0 or raw.info["lowpass"] != raw.info["sfreq"] / 2:
    fail(f"MNE read filters {raw.info['highpass']} .. {raw.info['lowpass']} Hz into raw samples")
sig = hdr["signals"]
if [x["label"] for x in sig] != ["EMG ch0 needle", "EMG ch1 needle"]:
    fail(f"labels {[x['label'] for x in sig]}")
for x in sig:
    if x.get("transducer") != "needle electrode":
        fail(f"transducer {x.get('transducer')!r}")
    want = "raw ADC, no digital filter; analysis HP 10Hz LP 10000Hz mains 50Hz cancelled"
    if x.get("prefilter") != want:
        fail(f"prefilter {x.get('prefilter')!r}, want {want!r}")
if hdr["recording_additional"] != "upper_trapezius left eco_test":
    fail(f"recording field {hdr['recording_additional']!r}")
a = hdr["annotations"]
texts = [x["text"] for x in a]
if texts[0] != "session start" or a[0]["onset"] != 0:
    fail(f"first annotation {a[0]}")
for t in ("session stop", "Recording ends"):
    m = [x for x in a if x["text"] == t]
    if len(m) != 1 or abs(m[0]["onset"] - dur) > 1e-4 + 1e-9:
        fail(f"{t!r}: {m}, want one at {dur:.4f} s")
for x in a:
    if x["onset"] > dur + 1e-4 or x["onset"] + (x["duration"] or 0) > dur + 2e-4:
        fail(f"annotation {x} runs past the stop at {dur:.4f} s")
print(f"  ok: {path.split('/')[-1]}: MNE: emg x2, no warning; EDFlib: labels, transducer, "
      f"prefilter, recording subfields; {len(a)} annotations within {dur:.4f} s, "
      f"session stop and Recording ends there")
PY

echo "edf_mne: a recording killed with SIGKILL, then twitchd repair"
for f in killed.edf killed.bdf; do
    rate=48000; [[ $f == *.bdf ]] && rate=44100
    "$MAKE" "$tmp/$f" --rate $rate --seconds 4.5 --seed 13 --hang >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    for _ in $(seq 1 300); do
        grep -q '^ready$' "$tmp/out" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || fail "edfmake --hang died: $(cat "$tmp/err")"
        sleep 0.05
    done
    grep -q '^ready$' "$tmp/out" || fail "edfmake --hang never got ready"
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
    [[ -f $tmp/$f.annot ]] || fail "$f: no annotation sidecar after the kill"
    # a partial record, as a kill inside a write leaves it
    head -c 5000 /dev/zero | tr '\0' '\1' >>"$tmp/$f"
    check "$tmp/$f" unfinished || fail "$f: MNE on the unfinished file"
    rc=0
    "$TW" repair "$tmp/$f" >"$tmp/out" 2>"$tmp/err" || rc=$?
    ((rc == 0)) || fail "twitchd repair $f: exit $rc: $(cat "$tmp/err")"
    grep -q "repaired" "$tmp/out" || fail "twitchd repair $f printed: $(cat "$tmp/out")"
    echo "  ok: $(cat "$tmp/out")"
    [[ ! -e $tmp/$f.annot ]] || fail "$f: the sidecar is still there after repair"
    check "$tmp/$f" repaired || fail "$f after repair"
    "$TW" repair "$tmp/$f" >"$tmp/out" 2>"$tmp/err" || fail "second repair of $f failed: $(cat "$tmp/err")"
    grep -q "nothing to repair" "$tmp/out" || fail "second repair of $f printed: $(cat "$tmp/out")"
    echo "  ok: again: $(cat "$tmp/out")"
done

echo "edf_mne: twitchd repair refuses what it cannot repair"
echo "not an EDF file at all, just a line of text that is long enough" >"$tmp/text.edf"
for i in 1 2 3 4 5; do cat "$tmp/text.edf" "$tmp/text.edf" >"$tmp/t2" && mv "$tmp/t2" "$tmp/text.edf"; done
rc=0; "$TW" repair "$tmp/text.edf" >"$tmp/out" 2>"$tmp/err" || rc=$?
((rc == 65)) || fail "repair of a text file: exit $rc, want 65"
grep -q "text.edf" "$tmp/err" || fail "repair of a text file: '$(cat "$tmp/err")' does not name it"
rc=0; "$TW" repair "$tmp/missing.edf" >"$tmp/out" 2>"$tmp/err" || rc=$?
((rc == 66)) || fail "repair of a missing file: exit $rc, want 66"
rc=0; "$TW" repair >"$tmp/out" 2>"$tmp/err" || rc=$?
((rc == 64)) || fail "repair without a file: exit $rc, want 64"
"$TW" repair --help | grep -q "usage: twitchd repair" || fail "repair --help"
echo "  ok: 65 (text), 66 (missing), 64 (no file), --help"
echo "edf_mne: OK"
