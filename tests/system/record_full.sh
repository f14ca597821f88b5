#!/usr/bin/env bash
# record_full.sh BUILD_DIR: the disk fills up under a recording, then space
# returns (issues 6 and 8), in record.mode=session and record.mode=always.
#
# The disk is simulated with the daemon's soft RLIMIT_FSIZE (the daemon
# ignores SIGXFSZ: writes past the limit fail with EFBIG, as on a full
# disk): 1 MiB at the start, which a BDF+ recording at 48 kHz (144 kB/s)
# reaches after 7 records; once the error shows, the limit is lowered
# (prlimit on the daemon's pid) to 100 kB, below one record, so that every
# new file the daemon tries fails as on a disk that stays full (the
# journal, a few kB, stays below it); after ~5 s it is raised to unlimited:
# space returns. Synthetic source at real-time pace (seeded), a subscriber
# on sts and evt.mark all along.
#
# A third run has the disk full when the session starts (the limit below
# one record from the start): the error shows, no file is kept; when
# space returns the session's file (SESSION_ID.bdf) is made, starting with
# "resumed: N samples lost", N counted from the session start and equal
# to the summary's recording_lost_samples; its samples are the WAV's from
# start_sample + N.
#
# Checks, for each mode:
#  - while the disk is full: `ctl status` and every sts heartbeat show
#    "record": {"error": "... File too large ..."} (recording false, or
#    true while a new file is being tried), "errors": 1, "lost_samples"
#    growing; acquisition goes on (samples grow; no ring drop, no gap),
#    the journal stays ok, a mark made then is journaled and published;
#    no second file is kept;
#  - when space returns: writing resumes within 10 s (recording true, no
#    error, "files": 2, the new path: SESSION_ID-2.bdf in session mode, a
#    new YYYYMMDDTHHMMSSZ-twitchd.bdf in always mode), and the sts
#    heartbeats show the error clear;
#  - the file the full disk cut is complete (`twitchd repair`: "nothing
#    to repair");
#  - the files: exactly two, no sidecar left; MNE (read_raw_bdf) and
#    EDFlib (tools/edfhdr) read both without a warning; the first holds
#    whole records and ends where the disk filled; the second's first
#    annotation is "resumed: N samples lost" at 0 s, N = the status'
#    lost_samples (and, in session mode, the summary's
#    recording_lost_samples); every sample of both files equals the
#    `twitchd synth` WAV of the same seed at its sample index, the second
#    file starting exactly N samples after the end of the first: the loss
#    is accounted to the sample; the headers' start times differ by the
#    first file's length + N samples (within 0.1 s: clock anchors); patient code, muscle,
#    side and notes in the header (session mode) as session.start sent
#    them; the marks made after the resumption are annotations of the
#    second file;
#  - session mode: session.stop's summary (and ID.summary.json) lists
#    "recording_files" [ID.bdf, ID-2.bdf], "recording_errors" 1,
#    "recording_lost_samples" N, no "recording_error";
#  - SIGTERM ends the daemon with status 0; no sanitizer report.
# Figures printed: seconds lost, time from "space returns" to the error
# clearing.
set -euo pipefail

B=${1:?usage: record_full.sh BUILD_DIR}
TW="$B/twitchd"
EDFHDR="$B/tools/edfhdr"
PY=/usr/bin/python3
SEED=5150
SYNTH=(-o synth.seed=$SEED -o synth.ltr_per_min=30 -o synth.epn_per_min=6)
LOW=100000 # bytes: below one BDF+ record at 48 kHz (144456 bytes + header)
for x in "$TW" "$EDFHDR"; do
    [[ -x $x ]] || { echo "FAIL: $x is missing (build it first)" >&2; exit 1; }
done
"$PY" -c 'import mne, numpy' 2>/dev/null ||
    { echo "FAIL: MNE-Python or numpy missing for $PY (make deps)" >&2; exit 1; }
command -v prlimit >/dev/null || { echo "FAIL: prlimit (util-linux) not found" >&2; exit 1; }
T=$(mktemp -d)
pid= subpid=
cleanup() {
    local rc=$?
    [[ -n $pid ]] && { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
    [[ -n $subpid ]] && { kill -TERM "$subpid" 2>/dev/null; wait "$subpid" 2>/dev/null; }
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT
MODE=
fail() {
    echo "FAIL${MODE:+ ($MODE)}: $*" >&2
    [[ -n $MODE && -f $T/$MODE.log ]] && tail -30 "$T/$MODE.log" | sed 's/^/  daemon: /' >&2
    exit 1
}
ok() { echo "  ok: $*"; }
now() { date +%s.%N; }
ctl() { "$TW" ctl -e "ipc://$T/$MODE.ctl" -t 5000 "$@"; }
# j JSON FILTER: jq -r on a reply
j() { jq -r "$2" <<<"$1"; }
SECONDS=0

# until_status FILTER SECONDS: poll `ctl status` until FILTER is true; the
# last reply in $st
until_status() {
    local t0=$SECONDS
    while :; do
        st=$(ctl status) || fail "ctl status: $st"
        [[ $(j "$st" "$1") == true ]] && return 0
        ((SECONDS - t0 < $2)) || return 1
        sleep 0.2
    done
}

run_mode() {
    MODE=$1
    local dir=$T/$MODE
    mkdir -p "$dir"
    echo "record_full: record.mode=$MODE"
    (
        ulimit -S -f 1024 # 1 MiB (soft: prlimit may raise it again)
        exec "$TW" run -o input.source=synth -o input.pace=realtime "${SYNTH[@]}" \
            -o journal.dir="$dir/j" -o publish.endpoint="ipc://$T/$MODE.pub" \
            -o control.endpoint="ipc://$T/$MODE.ctl" -o record.dir="$dir/rec" \
            -o record.mode="$MODE" -o record.format=bdf -o publish.heartbeat_s=0.5
    ) >"$T/$MODE.log" 2>&1 </dev/null &
    pid=$!
    local i
    for i in $(seq 100); do ctl -t 200 status >/dev/null 2>&1 && break; sleep 0.1; done
    "$TW" sub "ipc://$T/$MODE.pub" sts evt.mark >"$dir/sub.jsonl" 2>"$dir/sub.err" </dev/null &
    subpid=$!
    sleep 0.3
    local r first
    if [[ $MODE == session ]]; then
        r=$(ctl session.start subject=FULL muscle=trapezius side=left "notes=disk full test") ||
            fail "session.start: $r"
        printf '%s\n' "$r" >"$dir/start.json"
        first=$(j "$r" .recording)
        [[ $first == "$dir/rec/"*-FULL.bdf ]] || fail "session.start: no recording: $r"
    else
        until_status '.record.recording' 5 || fail "record.mode=always: not recording: $st"
        first=$(j "$st" .record.path)
        [[ $(basename "$first") =~ ^[0-9]{8}T[0-9]{6}Z-twitchd\.bdf$ ]] ||
            fail "record.mode=always: no recording at start: $st"
    fi
    ok "recording to $(basename "$first")"

    # the limit is reached (1 MiB: ~7 s)
    until_status '.record.error // "" | contains("File too large")' 20 ||
        fail "the storage error did not show in ctl status: $st"
    local t_err s0
    t_err=$(now)
    s0=$(j "$st" .samples)
    [[ $(j "$st" '.record.recording == false and .record.errors == 1 and .record.files == 1') == true ]] ||
        fail "status after the limit: $st"
    ok "the recording stopped: $(j "$st" .record.error)"
    local jsize
    jsize=$(cat "$dir"/j/*.jsonl | wc -c)
    ((jsize < LOW - 30000)) || fail "the journal ($jsize bytes) is too large for a $LOW-byte limit"
    prlimit --pid "$pid" --fsize="$LOW": || fail "prlimit --fsize=$LOW"
    r=$(ctl mark "label=while full") || fail "mark while full: $r"
    # ~5 s of a full disk: every new file fails; the error stays
    local polls=0 trying=0 t0=${EPOCHREALTIME/./}
    while ((${EPOCHREALTIME/./} - t0 < 5000000)); do
        st=$(ctl status) || fail "status while full: $st"
        [[ $(j "$st" '(.record.error // "" | contains("File too large")) and .record.errors == 1 and .record.files <= 2 and .journal.ok') == true ]] ||
            fail "status while full: $st"
        [[ $(j "$st" .record.recording) == true ]] && trying=$((trying + 1))
        polls=$((polls + 1))
        sleep 0.25
    done
    (($(j "$st" .samples) > s0 + 3 * 48000)) || fail "acquisition stalled: $st"
    [[ $(j "$st" '.counters.ring_dropped_frames + .counters.gaps') == 0 ]] ||
        fail "acquisition dropped samples: $st"
    local lost_full
    lost_full=$(j "$st" .record.lost_samples)
    ((lost_full > 4 * 48000)) || fail "lost_samples $lost_full after 5 s of a full disk: $st"
    grep -q "unfinished recording" "$T/$MODE.log" &&
        fail "the start-up repair of record.dir found this recording's own file"
    ok "disk full for 5 s: error in all $polls polls ($trying saw a new file being tried)," \
        "errors 1, samples $s0 -> $(j "$st" .samples), lost_samples $lost_full, journal ok"

    # space returns
    prlimit --pid "$pid" --fsize=unlimited: || fail "prlimit --fsize=unlimited"
    local t_up t_ok
    t_up=$(now)
    until_status '.record.recording and (.record | has("error") | not) and .record.files == 2' 10 ||
        fail "writing did not resume within 10 s: $st"
    t_ok=$(now)
    local second lost
    second=$(j "$st" .record.path)
    lost=$(j "$st" .record.lost_samples)
    if [[ $MODE == session ]]; then
        [[ $second == "${first%.bdf}-2.bdf" ]] || fail "the new file is $second, want ${first%.bdf}-2.bdf"
    else
        [[ $(basename "$second") =~ ^[0-9]{8}T[0-9]{6}Z-twitchd\.bdf$ && $second != "$first" ]] ||
            fail "the new file is $second"
    fi
    printf '%s\n' "$st" >"$dir/resumed.json"
    ok "resumed in $(basename "$second") $(printf %.1f "$(bc -l <<<"$t_ok - $t_up")") s after" \
        "space returned; $lost samples ($(j "$st" .record.lost_s) s) lost"
    r=$(ctl mark "label=after resume") || fail "mark after the resumption: $r"
    printf '%s\n' "$r" >"$dir/mark.json"
    sleep 2
    st=$(ctl status) || fail "status: $st"
    [[ $(j "$st" ".record.lost_samples == $lost and (.record | has(\"error\") | not)") == true ]] ||
        fail "status 2 s after the resumption: $st"
    if [[ $MODE == session ]]; then
        r=$(ctl session.stop) || fail "session.stop: $r"
        printf '%s\n' "$r" >"$dir/stop.json"
    fi
    kill -TERM "$pid"
    local rc=0
    wait "$pid" || rc=$?
    pid=
    ((rc == 0)) || fail "exit status $rc after SIGTERM"
    sleep 0.3
    kill -TERM "$subpid" 2>/dev/null || true
    wait "$subpid" 2>/dev/null || true
    subpid=
    grep -E "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$T/$MODE.log" "$dir/sub.err" &&
        fail "sanitizer report"
    local out
    out=$("$TW" repair "$first") || fail "repair $first: $out"
    [[ $out == *"nothing to repair"* ]] || fail "the file cut by the full disk is not complete: $out"
    ok "$(basename "$first") was finished cleanly: $out"
    printf '%s %s %s %s %s\n' "$first" "$second" "$lost" "$t_err" "$t_up" >"$dir/files"
    MODE=
}

# The disk is full already when the session starts (limit below one
# record from the start): the session's first file never gets a record
# and is removed; once space returns SESSION_ID.bdf is made again and
# starts with "resumed: N samples lost", N counted from the session start.
run_late() {
    MODE=late
    local dir=$T/late
    mkdir -p "$dir"
    echo "record_full: the disk is full when the session starts (record.mode=session)"
    (
        ulimit -S -f $((LOW / 1024))
        exec "$TW" run -o input.source=synth -o input.pace=realtime "${SYNTH[@]}" \
            -o journal.dir="$dir/j" -o publish.endpoint="ipc://$T/late.pub" \
            -o control.endpoint="ipc://$T/late.ctl" -o record.dir="$dir/rec" \
            -o record.mode=session -o record.format=bdf -o publish.heartbeat_s=0.5
    ) >"$T/late.log" 2>&1 </dev/null &
    pid=$!
    local i r
    for i in $(seq 100); do ctl -t 200 status >/dev/null 2>&1 && break; sleep 0.1; done
    r=$(ctl session.start subject=LATE muscle=deltoid side=right) || fail "session.start: $r"
    local path
    path=$(j "$r" .recording)
    until_status '.record.error // "" | contains("File too large")' 10 ||
        fail "the storage error did not show: $st"
    sleep 3
    st=$(ctl status) || fail "status: $st"
    [[ $(j "$st" '(.record.error // "" | contains("File too large")) and .record.errors == 1 and .record.files <= 1') == true ]] ||
        fail "status while full: $st"
    [[ -z $(find "$dir/rec" -name '*.bdf' -size +1k) ]] || fail "a file was kept while full: $(ls -l "$dir/rec")"
    ok "full from the start: $(j "$st" .record.error), no file kept"
    prlimit --pid "$pid" --fsize=unlimited: || fail "prlimit --fsize=unlimited"
    until_status '.record.recording and (.record | has("error") | not) and .record.files == 1' 10 ||
        fail "writing did not resume within 10 s: $st"
    [[ $(j "$st" .record.path) == "$path" ]] || fail "resumed in $(j "$st" .record.path), want $path"
    local lost
    lost=$(j "$st" .record.lost_samples)
    ok "resumed in $(basename "$path"): $lost samples ($(j "$st" .record.lost_s) s) of the session lost"
    sleep 1.5
    r=$(ctl session.stop) || fail "session.stop: $r"
    printf '%s\n' "$r" >"$dir/stop.json"
    kill -TERM "$pid"
    local rc=0
    wait "$pid" || rc=$?
    pid=
    ((rc == 0)) || fail "exit status $rc after SIGTERM"
    grep -E "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$T/late.log" && fail "sanitizer report"
    printf '%s %s\n' "$path" "$lost" >"$dir/files"
    MODE=
}

run_mode session
run_mode always
run_late

echo "record_full: the files (synth WAV of seed $SEED, MNE, EDFlib)"
"$TW" synth --seed $SEED -o ltr_per_min=30 -o epn_per_min=6 -o format=float \
    --seconds $((SECONDS + 5)) "$T/synth.wav" >"$T/synth.out" 2>"$T/synth.err" ||
    fail "twitchd synth: $(cat "$T/synth.err")"
"$PY" - "$T" "$EDFHDR" <<'PY' || fail "file checks"
import json, os, re, subprocess, sys, warnings
import numpy as np
import mne

T, EDFHDR = sys.argv[1], sys.argv[2]
RATE, FS_UV = 48000, 10000.0
STEP = 2 * FS_UV / 16777215
errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)
    return cond


def load_wav(path):
    b = open(path, "rb").read()
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(b):
        cid, size = b[pos:pos + 4], int.from_bytes(b[pos + 4:pos + 8], "little")
        if cid == b"fmt ":
            fmt = b[pos + 8:pos + 8 + size]
        elif cid == b"data":
            data = b[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)
    assert int.from_bytes(fmt[14:16], "little") == 32, "not a float WAV"
    return np.frombuffer(data, dtype="<f4").astype(np.float64) * FS_UV


wav = load_wav(os.path.join(T, "synth.wav"))


def read(path):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        raw = mne.io.read_raw_bdf(path, preload=True, verbose="error")
    check(not w, f"{path}: MNE warned: {[str(x.message) for x in w]}")
    hdr = json.loads(subprocess.run([EDFHDR, path], check=True, capture_output=True,
                                    text=True).stdout)
    return raw, hdr


def same_samples(tag, got, start, n):
    want = wav[start:start + n]
    if not check(len(want) == n, f"{tag}: the WAV is too short"):
        return
    err = np.abs(got[:n] - want)
    bad = np.nonzero(err > STEP * (1 + 1e-6) + 2e-7 * np.abs(want))[0]
    check(len(bad) == 0, f"{tag}: {len(bad)} samples differ from the WAV from sample {start}, "
          f"the first at file sample {bad[0] if len(bad) else 0}")


def start_s(hdr):
    import calendar, time
    t = calendar.timegm(time.strptime(hdr["start"], "%Y-%m-%dT%H:%M:%S"))
    return t + hdr["start_subsecond"]


for mode in ("session", "always"):
    d = os.path.join(T, mode)
    first, second, lost, t_err, t_up = open(os.path.join(d, "files")).read().split()
    lost = int(lost)
    names = sorted(os.listdir(os.path.join(d, "rec")))
    bdfs = sorted(n for n in names if n.endswith(".bdf"))
    check(bdfs == sorted([os.path.basename(first), os.path.basename(second)]),
          f"{mode}: files {names}")
    check(not [n for n in names if n.endswith(".annot")], f"{mode}: sidecar left: {names}")
    r1, h1 = read(first)
    r2, h2 = read(second)
    n1, n2 = r1.n_times, r2.n_times
    for tag, r, h in (("first", r1, h1), ("second", r2, h2)):
        check(r.info["sfreq"] == RATE and r.ch_names == ["EMG ch0 needle"],
              f"{mode} {tag}: {r.info['sfreq']} Hz, {r.ch_names}")
        check(h["filetype"] == "BDF+" and h["records"] * RATE == r.n_times and
              h["signals"][0]["unit"] == "uV", f"{mode} {tag}: EDFlib: {h}")
        check(h["equipment"] == "twitchd", f"{mode} {tag}: equipment {h['equipment']!r}")
    # where each file starts in the stream
    if mode == "session":
        start = json.load(open(os.path.join(d, "stop.json")))["summary"]["start_sample"]
    else:
        start = 0  # record.mode=always: from the first sample
    o2 = start + n1 + lost
    a2 = list(zip(r2.annotations.onset, r2.annotations.description))
    check(a2 and a2[0] == (0.0, f"resumed: {lost} samples lost"),
          f"{mode}: the second file's first annotation: {a2[:3]}, want 'resumed: {lost} samples lost'")
    check(not any(t.startswith("resumed") for _, t in zip(r1.annotations.onset,
                                                            r1.annotations.description)),
          f"{mode}: the first file says resumed")
    mk = json.load(open(os.path.join(d, "mark.json")))
    check(any(t == "mark: after resume" and abs(o - (mk["sample"] - o2) / RATE) <= 1e-3
              for o, t in a2), f"{mode}: the mark after the resumption is not in the second "
          f"file at {(mk['sample'] - o2) / RATE:.4f} s: {a2[:8]}")
    g1 = r1.get_data()[0] * 1e6
    g2 = r2.get_data()[0] * 1e6
    same_samples(f"{mode} first", g1, start, n1)
    if mode == "session":
        stop = json.load(open(os.path.join(d, "stop.json")))["summary"]["stop_sample"]
        m2 = stop - o2
        check(0 <= n2 - m2 < RATE, f"{mode}: second file {n2} samples for {m2}")
        check(np.abs(g2[m2:]).max(initial=0) <= STEP, f"{mode}: padding not zero")
    else:
        m2 = n2 - RATE  # the last record may end in padding
    same_samples(f"{mode} second", g2, o2, m2)
    dt = start_s(h2) - start_s(h1)
    check(abs(dt - (n1 + lost) / RATE) < 0.1,
          f"{mode}: the headers' start times differ by {dt:.4f} s, want {(n1 + lost) / RATE:.4f}")
    if mode == "session":
        stopr = json.load(open(os.path.join(d, "stop.json")))
        summ = stopr["summary"]
        fsum = json.load(open(stopr["summary_path"]))
        for tag, s in (("reply", summ), ("file", fsum)):
            check(s["recording"] == first and s["recording_files"] == [first, second] and
                  s["recording_errors"] == 1 and s["recording_lost_samples"] == lost and
                  "recording_error" not in s,
                  f"session summary ({tag}): {({k: v for k, v in s.items() if k.startswith('rec')})}")
        for tag, h in (("first", h1), ("second", h2)):
            check(h["patientcode"] == "FULL" and h["recording_additional"] ==
                  "trapezius left disk_full_test", f"session {tag}: header {h}")  # EDF+ subfields
        check(r2._raw_extras[0]["subject_info"].get("id") == "FULL", "session: MNE subject id")
    # sts: the error while full, cleared after; never a journal error
    sts = [json.loads(l) for l in open(os.path.join(d, "sub.jsonl"))]
    beats = [s for s in sts if s["topic"] == "sts"]
    full = [s for s in beats if "File too large" in s["record"].get("error", "")]
    after = [s for s in beats if s["record"].get("files") == 2 and "error" not in s["record"]]
    check(len(full) >= 8, f"{mode}: {len(full)} sts heartbeats showed the error (want >= 8 "
          f"at 0.5 s over ~5 s)")
    check(after and beats[-1]["state"] == "stopping" and "error" not in beats[-1]["record"],
          f"{mode}: no sts with the error cleared: {beats[-1]['record'] if beats else None}")
    check(all(s["journal"]["ok"] for s in beats), f"{mode}: the journal failed")
    seqs = [s["seq"] for s in beats]
    check(seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"{mode}: sts seq holes")
    c = beats[-1]["counters"]
    check(c["ring_dropped_frames"] == 0 and c["gaps"] == 0, f"{mode}: counters {c}")
    marks = [s.get("label") for s in sts if s["topic"] == "evt.mark"]
    check("while full" in marks and "after resume" in marks, f"{mode}: published marks {marks}")
    jl = []
    for f in sorted(os.listdir(os.path.join(d, "j"))):
        jl += [json.loads(l) for l in open(os.path.join(d, "j", f))]
    check({"while full", "after resume"} <= {x.get("label") for x in jl},
          f"{mode}: the marks are not in the journal")
    print(f"  ok: {mode}: {os.path.basename(first)} ({n1 // RATE} s, whole records) + "
          f"{os.path.basename(second)} ({n2 / RATE:.0f} s): {lost} samples ({lost / RATE:.2f} s) "
          f"lost between them, annotated, every sample in place; {len(full)} sts showed the "
          f"error, {len(after)} after it cleared; marks journaled and published")
# the disk full from the session start
d = os.path.join(T, "late")
path, lost = open(os.path.join(d, "files")).read().split()
lost = int(lost)
names = sorted(os.listdir(os.path.join(d, "rec")))
check(names == sorted([os.path.basename(path), os.path.basename(path)[:-4] + ".summary.json"]),
      f"late: files {names}")
r, h = read(path)
summ = json.load(open(os.path.join(d, "stop.json")))["summary"]
o = summ["start_sample"] + lost
a = list(zip(r.annotations.onset, r.annotations.description))
check(a and a[0] == (0.0, f"resumed: {lost} samples lost"), f"late: first annotation {a[:3]}")
m = summ["stop_sample"] - o
check(0 <= r.n_times - m < RATE, f"late: {r.n_times} samples for {m}")
same_samples("late", r.get_data()[0] * 1e6, o, m)
check(summ["recording"] == path and summ["recording_files"] == [path] and
      summ["recording_errors"] == 1 and summ["recording_lost_samples"] == lost and
      "recording_error" not in summ,
      f"late: summary {({k: v for k, v in summ.items() if k.startswith('rec')})}")
check(h["patientcode"] == "LATE" and h["recording_additional"] == "deltoid right",
      f"late: header {h}")
print(f"  ok: late: {os.path.basename(path)} starts {lost} samples ({lost / RATE:.2f} s) after "
      f"the session start, annotated and counted, every sample in place")
if errors:
    for e in errors:
        print("  FAIL:", e, file=sys.stderr)
    sys.exit(1)
PY
echo "record_full: PASS (${SECONDS} s)"
