#!/usr/bin/env bash
# study.sh BUILD_DIR: the acceptance test of issue 6: a scripted needling
# study run through `twitchd ctl` against the live daemon on its synthetic
# source (seed 4242, synth.ltr_per_min=30, synth.epn_per_min=6: the
# sessions below then hold LTRs, insertion trains and EPN; the checks are
# generic, not tuned to the seed, but they do require some LTRs and EPN).
# Everything lives in a temporary directory (journal, recordings, ipc://
# sockets); about 60 s of real time.
#
# Runs:
#  A  record.format=bdf: session 1 (S01, ~20 s) and session 2 (S02,
#     ~15 s), marks (one UTF-8 label) and insertions (one without label)
#     in both, a mark between the sessions, `ctl status` before, during and
#     after each session; SIGTERM.
#  B  record.format=edf: session 3 (S03, ~12 s) with marks and insertions;
#     SIGTERM.
#  C  record.format=bdf: session 4 (S04), a mark and an insertion, ~3 s,
#     then SIGKILL (crash).
#  D  the daemon again on C's record.dir: it repairs the recording at
#     start; SIGTERM.
#
# Checks:
#  - every ctl request of the script exits 0 with "ok": true; a refused
#    request (session.stop without a session, mark without label) exits 1;
#  - status: before a session "session" null and record.recording false;
#    during one the session id and "record": {"recording": true, "path":
#    the path session.start replied}; after session.stop none again;
#  - journal (every line of every twitchd-*.jsonl parses): per run one
#    evt.session "start" and one "stop" line per session, with the ids the
#    replies gave; the "session" field is on exactly the lines journaled
#    between them (journal order; wire.c attaches the id to whatever is
#    journaled while the session is open) and on no other line; marks,
#    insertions and gaps (header "sample" = the moment they were made)
#    carry it iff their sample is in [start_sample, stop_sample); an LTR
#    iff its onset is, an EPN episode iff it reaches into the session
#    (offset >= start, onset < stop), with no exception: session.stop
#    waits until the events begun before the stop are final; every
#    mark/insertion reply's sample and label are in an evt.mark /
#    evt.insertion line;
#  - LTR trains in the journal: rel_amp = p2p_uv / p2p_uv of the train's
#    first LTR (same channel + train); an insertion mark starts a new train
#    at the next LTR with onset at or after it, which carries the
#    insertion's number (= its evt.insertion seq) and insertion_latency_ms;
#  - summaries: RECDIR/ID.summary.json equals the "summary" of the
#    session.stop reply and the fields of the evt.session stop line (plus
#    "state": "stop" and the header fields); meta (subject, muscle, side,
#    notes), rate, channels, start/stop samples (= the start and stop
#    lines' samples), duration_s, start_utc/stop_utc, recording path;
#    nothing truncated or dropped; ltr.count and per_channel = the evt.ltr
#    lines of the session with onset_sample >= start_sample (session.h);
#    trains (channel, train_id, insertion, count, each LTR's onset, t_s,
#    train_index, p2p_uv, rel_amp) as the evt.ltr lines give them; EPN
#    (whole session, before_first_ltr, after_last_ltr, per channel:
#    span_s, episodes, time_s clipped to the session within one sample,
#    duration-weighted p2p_uv and rms_uv) from the session's evt.epn lines;
#    marks and insertions = what was sent (labels, samples of the replies,
#    t_s); gaps = the session's gap lines;
#  - the sessions together hold LTRs and EPN (else the study proves
#    nothing);
#  - recordings (MNE read_raw_bdf / read_raw_edf, /usr/bin/python3): no
#    sidecar left; the summary's recording_files is [the file],
#    recording_errors and recording_lost_samples 0; the EDF+ header read
#    back with EDFlib (tools/edfhdr) and MNE: patient code = the subject
#    sent, recording field "X X twitchd MUSCLE SIDE NOTES" (subfields:
#    "_" for spaces inside each; the start of
#    "MUSCLE SIDE NOTES", at least muscle and side, as much as EDFlib
#    keeps), start date, time and subsecond = the summary's start_utc
#    (MNE's meas_date and subject id too; for the crash the start line's
#    clock); sfreq 48000; channel "EMG ch0 needle"; whole 1 s records
#    covering the session (padding < 1 s, zeros); annotations exactly
#    "session start", "session stop" at the stop, "Recording ends" there
#    when the last record is padded, every mark ("mark: LABEL"), insertion ("insertion"
#    or "insertion: LABEL"), "LTR ch0 NuVpp" and "EPN ch0" per event
#    journaled in the session (and "gap N samples" per gap), at onset
#    (sample - start_sample) / 48000 within 1 ms (an event's onset before
#    the start counts as 0), durations of events within 1 ms (the part
#    of the event within the session: nothing runs past the data);
#  - samples: `twitchd synth --seed 4242` with the same [synth] keys
#    writes a float WAV; every recorded sample from start_sample on equals
#    WAV value x full_scale_uv (10000) within one quantisation step (BDF
#    2*10000/16777215 uV, EDF 2*10000/65535 uV) plus the float32 rounding
#    of the live path (2e-7 relative);
#  - crash: after SIGKILL the .bdf and its .bdf.annot sidecar exist; the
#    restarted daemon logs "record: 1 unfinished recording in DIR: 1
#    repaired, 0 not", the sidecar is gone, MNE reads the file (whole
#    records, samples = the WAV from the start line's sample), its
#    annotations hold "session start" and the mark and insertion made
#    before the kill; `twitchd repair FILE` then says "nothing to repair"
#    and exits 0;
#  - SIGTERM stops runs A, B, D with status 0; no daemon, ctl, synth or
#    repair stderr holds a sanitizer report (AddressSanitizer, runtime
#    error, LeakSanitizer).
set -euo pipefail

B=${1:?usage: study.sh BUILD_DIR}
TW=$B/twitchd
EDFHDR=$B/tools/edfhdr
PY=/usr/bin/python3
SEED=4242
SYNTH=(-o synth.seed=$SEED -o synth.ltr_per_min=30 -o synth.epn_per_min=6)
for x in "$TW" "$EDFHDR"; do
    [[ -x $x ]] || { echo "FAIL: $x is missing (build it first)" >&2; exit 1; }
done
"$PY" -c 'import mne, numpy' 2>/dev/null ||
    { echo "FAIL: MNE-Python or numpy missing for $PY (make deps)" >&2; exit 1; }

T=$(mktemp -d)
daemon=
cleanup() {
    [[ -n $daemon ]] && kill -KILL "$daemon" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for f in "$T"/*.err; do
        [[ -s $f ]] && { echo "--- $f" >&2; tail -20 "$f" >&2; }
    done
    exit 1
}
ok() { echo "  ok: $*"; }
SECONDS=0

# start_daemon NAME FORMAT JOURNAL_DIR RECORD_DIR: the daemon on the synth
# source, stderr in $T/NAME.err, control on ipc://$T/NAME.ctl; returns
# once `ctl status` answers.
start_daemon() {
    local name=$1 fmt=$2 jdir=$3 rdir=$4 i
    "$TW" run -o input.source=synth -o input.pace=realtime "${SYNTH[@]}" \
        -o journal.dir="$jdir" -o publish.endpoint="ipc://$T/$name.pub" \
        -o control.endpoint="ipc://$T/$name.ctl" -o record.dir="$rdir" \
        -o record.format="$fmt" 2>"$T/$name.err" &
    daemon=$!
    for ((i = 0; i < 100; i++)); do
        "$TW" ctl -t 200 -e "ipc://$T/$name.ctl" status >/dev/null 2>>"$T/ctl.err" && return 0
        kill -0 "$daemon" 2>/dev/null || fail "daemon $name exited at start"
        sleep 0.1
    done
    fail "daemon $name: no answer to ctl status within 10 s"
}

# stop_daemon NAME: SIGTERM, wait, status 0.
stop_daemon() {
    local rc=0
    kill -TERM "$daemon"
    wait "$daemon" || rc=$?
    daemon=
    ((rc == 0)) || fail "daemon $1 exited $rc after SIGTERM"
}

# call RUN COMMAND [KEY=VALUE]...: the request through `twitchd ctl`, which
# must succeed; request and reply appended to $T/calls.jsonl for the checks.
call() {
    local run=$1 cmd=$2 out rc=0
    shift 2
    out=$("$TW" ctl -e "ipc://$T/$run.ctl" "$cmd" "$@" 2>>"$T/ctl.err") || rc=$?
    ((rc == 0)) || fail "ctl $cmd $*: exit $rc: $out"
    local args
    args=$(jq -cn '$ARGS.positional' --args "$@")
    jq -cn --arg run "$run" --arg cmd "$cmd" --argjson args "$args" --argjson reply "$out" \
        '{run: $run, cmd: $cmd, args: $args, reply: $reply}' >>"$T/calls.jsonl" ||
        fail "ctl $cmd: the reply is not JSON: $out"
}

mkdir -p "$T/A" "$T/B" "$T/C" "$T/D"

echo "study: run A (BDF+): session 1 (S01, ~20 s), session 2 (S02, ~15 s)"
start_daemon A bdf "$T/A/j" "$T/A/rec"
call A status
call A session.start subject=S01 muscle=trapezius side=left \
    "notes=upper trapezius, 3 loci; patient supine"
sleep 1
call A status
call A mark "label=needle in"
sleep 3
call A insertion "label=locus 1"
sleep 4
call A mark "label=référé pain, shoulder"
sleep 3
call A insertion
sleep 4
call A mark "label=twitch felt"
call A insertion "label=locus 2"
sleep 4.5
call A session.stop
call A status
# refused requests: exit status 1
rc=0; "$TW" ctl -e "ipc://$T/A.ctl" session.stop >/dev/null 2>>"$T/ctl.err" || rc=$?
((rc == 1)) || fail "session.stop without a session: exit $rc, want 1"
rc=0; "$TW" ctl -e "ipc://$T/A.ctl" mark >/dev/null 2>>"$T/ctl.err" || rc=$?
((rc == 1)) || fail "mark without a label: exit $rc, want 1"
ok "refused requests exit 1"
call A mark "label=between sessions"
sleep 1
call A session.start subject=S02 muscle=infraspinatus side=right
call A insertion "label=first pass"
sleep 4
call A status
call A mark "label=EPN heard"
sleep 5
call A insertion
sleep 5.5
call A session.stop
call A status
sleep 0.3
stop_daemon A
ok "run A done (${SECONDS} s)"

echo "study: run B (EDF+): session 3 (S03, ~12 s)"
start_daemon B edf "$T/B/j" "$T/B/rec"
call B session.start subject=S03 muscle=gluteus_medius side=left notes=EDF
call B status
call B insertion "label=deep"
sleep 4
call B mark "label=LTR seen"
sleep 4
call B insertion
sleep 4
call B session.stop
call B status
stop_daemon B
ok "run B done (${SECONDS} s)"

echo "study: run C (BDF+): session 4 (S04), SIGKILL after ~3 s"
start_daemon C bdf "$T/C/j" "$T/C/rec"
call C session.start subject=S04 muscle=trapezius
call C mark "label=before the kill"
sleep 1
call C insertion "label=killed locus"
sleep 2
call C status
kill -KILL "$daemon"
wait "$daemon" 2>/dev/null || true
daemon=
crash=$(jq -r 'select(.run == "C" and .cmd == "session.start") | .reply.recording' "$T/calls.jsonl")
[[ -f $crash ]] || fail "no recording $crash after the kill"
[[ -f $crash.annot ]] || fail "no sidecar $crash.annot after the kill"
ok "killed: $(basename "$crash") and its .annot sidecar are there"

echo "study: run D: the daemon again on the same record.dir repairs it"
start_daemon D bdf "$T/D/j" "$T/C/rec"
stop_daemon D
grep -qF "record: 1 unfinished recording in $T/C/rec: 1 repaired, 0 not" "$T/D.err" ||
    fail "run D did not log the repair of $crash"
[[ ! -e $crash.annot ]] || fail "the sidecar $crash.annot is still there after the restart"
ok "repaired at start (logged), sidecar gone"
rc=0
"$TW" repair "$crash" >"$T/repair.out" 2>"$T/repair.err" || rc=$?
((rc == 0)) || fail "twitchd repair on the repaired file: exit $rc"
grep -q "nothing to repair" "$T/repair.out" ||
    fail "twitchd repair on the repaired file printed: $(cat "$T/repair.out")"
ok "twitchd repair: $(cat "$T/repair.out")"

echo "study: the same signal from twitchd synth (seed $SEED)"
secs=$((SECONDS + 5)) # longer than any run
"$TW" synth --seed $SEED -o ltr_per_min=30 -o epn_per_min=6 -o format=float \
    --seconds "$secs" "$T/synth.wav" >"$T/synth.out" 2>"$T/synth.err" ||
    fail "twitchd synth failed: $(cat "$T/synth.err")"

echo "study: journal, summaries, recordings"
"$PY" - "$T" "$crash" "$EDFHDR" <<'PY' || fail "study checks"
import calendar, glob, json, math, os, re, subprocess, sys, time, warnings
import numpy as np
import mne

T, crash, EDFHDR = sys.argv[1], sys.argv[2], sys.argv[3]
RATE = 48000
FS_UV = 10000.0
STEP = {"bdf": 2 * FS_UV / 16777215, "edf": 2 * FS_UV / 65535}
errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)
    return cond


def bail():
    if errors:
        for e in errors[:40]:
            print("  FAIL:", e, file=sys.stderr)
        if len(errors) > 40:
            print(f"  ... {len(errors) - 40} more", file=sys.stderr)
        sys.exit(1)


def same(a, b, path="", rel=1e-9):
    """JSON values equal, numbers within rel (the summary file is written
    with 10 significant digits, replies and journal with 15)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f"{path}: keys {sorted(set(a) ^ set(b))} differ"
        for k in a:
            r = same(a[k], b[k], f"{path}.{k}", rel)
            if r:
                return r
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            r = same(x, y, f"{path}[{i}]", rel)
            if r:
                return r
        return None
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None or \
            isinstance(a, str) or isinstance(b, str):
        return None if a == b else f"{path}: {a!r} vs {b!r}"
    if math.isclose(a, b, rel_tol=rel, abs_tol=1e-12):
        return None
    return f"{path}: {a!r} vs {b!r}"


calls = [json.loads(l) for l in open(os.path.join(T, "calls.jsonl"))]
for c in calls:
    check(c["reply"].get("ok") is True, f"{c['run']} {c['cmd']}: reply {c['reply']}")


def argmap(c):
    return dict(a.split("=", 1) for a in c["args"])


def journal(run):
    lines = []
    files = sorted(glob.glob(os.path.join(T, run, "j", "twitchd-*.jsonl")))
    check(files, f"run {run}: no journal file")
    for f in files:
        for n, l in enumerate(open(f, encoding="utf-8"), 1):
            try:
                lines.append(json.loads(l))
            except ValueError as e:
                errors.append(f"{f}:{n}: does not parse: {e}")
    return lines


def load_wav(path):
    """float32 WAV by hand (RIFF chunks): the samples x full scale, uV."""
    b = open(path, "rb").read()
    assert b[:4] == b"RIFF" and b[8:12] == b"WAVE", "not a WAV file"
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(b):
        cid, size = b[pos:pos + 4], int.from_bytes(b[pos + 4:pos + 8], "little")
        body = b[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            fmt = body
        elif cid == b"data":
            data = body
        pos += 8 + size + (size & 1)
    tag = int.from_bytes(fmt[0:2], "little")
    if tag == 0xFFFE:
        tag = int.from_bytes(fmt[24:26], "little")
    ch, rate, bits = (int.from_bytes(fmt[2:4], "little"), int.from_bytes(fmt[4:8], "little"),
                      int.from_bytes(fmt[14:16], "little"))
    assert tag == 3 and bits == 32 and ch == 1 and rate == RATE, (tag, bits, ch, rate)
    return np.frombuffer(data, dtype="<f4").astype(np.float64) * FS_UV


wav = load_wav(os.path.join(T, "synth.wav"))


def read_raw(path):
    reader = mne.io.read_raw_bdf if path.endswith(".bdf") else mne.io.read_raw_edf
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        raw = reader(path, preload=True, verbose="error")
    return raw, [str(x.message) for x in w]


def check_samples(tag, raw, start, nsess, fmt):
    """The recording from sample start on against the WAV, and zeros in the padding."""
    got = raw.get_data()[0] * 1e6
    n = min(nsess, len(got))
    want = wav[start:start + n]
    if not check(len(want) == n, f"{tag}: the WAV is too short ({len(wav)} samples)"):
        return
    err = np.abs(got[:n] - want)
    tol = STEP[fmt] * (1 + 1e-6) + 2e-7 * np.abs(want)
    bad = np.nonzero(err > tol)[0]
    check(len(bad) == 0, f"{tag}: {len(bad)} samples differ from the synth WAV, the first at "
          f"file sample {bad[0] if len(bad) else 0}: {got[bad[0]] if len(bad) else 0:.6f} uV, "
          f"want {want[bad[0]] if len(bad) else 0:.6f} (step {STEP[fmt]:.3g})")
    pad = np.abs(got[n:]).max() if len(got) > n else 0.0
    check(pad <= STEP[fmt], f"{tag}: padding after the session is not zero ({pad:.3g} uV)")
    return float((err / STEP[fmt]).max())


def annots(raw):
    a = raw.annotations
    return sorted((str(d), float(o), float(du)) for o, du, d in
                  zip(a.onset, a.duration, a.description))


def match_annots(tag, got, want, exact=True):
    """want: (text, onset, duration or None); every one in got within 1 ms;
    exact: nothing else in got."""
    left = list(got)
    for text, on, du in sorted(want, key=lambda x: (x[0], x[1])):
        hit = None
        for i, (gt, go, gd) in enumerate(left):
            if gt == text and abs(go - on) <= 1e-3 and (du is None or abs(gd - du) <= 1e-3):
                hit = i
                break
        if check(hit is not None, f"{tag}: annotation {text!r} at {on:.5f} s"
                 f"{'' if du is None else f' ({du:.4f} s)'} missing; MNE has "
                 f"{[g for g in got if g[0] == text][:6]}"):
            left.pop(hit)
    if exact:
        check(not left, f"{tag}: unexpected annotations {left[:6]}")


def ascii_clean(v):
    """edfrec.c: every character outside printable ASCII becomes one '?'."""
    return "".join(c if " " <= c < "\x7f" else "?" for c in v)


def utc_seconds(iso):
    """ "2026-03-14T09:26:53.589Z" -> seconds since 1970 (ms kept)."""
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z", iso or "")
    if not m:
        return None
    return calendar.timegm(tuple(int(x) for x in m.groups()[:6])) + int(m.group(7)) / 1e3


def check_header(tag, path, raw, meta, start_utc):
    """The EDF+ header fields the daemon wrote from session.start, read back
    with EDFlib (tools/edfhdr) and MNE: patient code = subject; recording
    field "X X twitchd MUSCLE SIDE NOTES", each an EDF+ subfield with
    "_" for its spaces (EDFlib leaves about 32
    characters to the last part: what it keeps is the start of it, and at
    least muscle and side here); start date, time and subsecond = the
    summary's start_utc."""
    h = json.loads(subprocess.run([EDFHDR, path], check=True, capture_output=True,
                                  text=True).stdout)
    subj = ascii_clean(meta.get("subject") or "").replace(" ", "_")
    check(h["patientcode"] == subj, f"{tag}: header patient code {h['patientcode']!r}, "
          f"session.start sent subject {meta.get('subject')!r}")
    check(h["equipment"] == "twitchd" and h["admincode"] == "" and h["technician"] == "",
          f"{tag}: header equipment/admin/technician {h['equipment']!r} {h['admincode']!r} "
          f"{h['technician']!r}")
    # EDF+ subfields: spaces inside a value become "_"
    sub = lambda k: ascii_clean(meta.get(k) or "X").replace(" ", "_")
    keys = ["muscle", "side", "notes"]
    while keys and not meta.get(keys[-1]):  # no trailing "X" subfields
        keys.pop()
    want = " ".join(sub(k) for k in keys)
    got = h["recording_additional"]
    must = " ".join(sub(k) for k in keys[:2])
    check(want.startswith(got) and got.startswith(must) and len(got) >= min(len(want), 30),
          f"{tag}: header recording field ends {got!r}, session.start sent {want!r}")
    t = utc_seconds(start_utc)
    if check(t is not None, f"{tag}: start_utc {start_utc!r}"):
        hs = calendar.timegm(time.strptime(h["start"], "%Y-%m-%dT%H:%M:%S"))
        check(hs == math.floor(t) and abs(hs + h["start_subsecond"] - t) < 1.1e-3,
              f"{tag}: header start {h['start']} + {h['start_subsecond']} s, summary "
              f"start_utc {start_utc}")
        md = raw.info["meas_date"]
        check(md is not None and md.timestamp() == math.floor(t),
              f"{tag}: MNE meas_date {md}, start_utc {start_utc}")
    check(raw._raw_extras[0]["subject_info"].get("id") == subj,
          f"{tag}: MNE subject id {raw._raw_extras[0]['subject_info']}")
    return got


ctx = {"ltrs": 0, "epn": 0, "trains": 0, "sessions": 0}


def check_journal_lines(run, J):
    """Session tagging by journal order and by sample; LTR train rules."""
    starts = [j for j in J if j["topic"] == "evt.session" and j.get("state") == "start"]
    stops = {j["id"]: j for j in J if j["topic"] == "evt.session" and j.get("state") == "stop"}
    spans = {}
    for s in starts:
        sid = s["id"]
        spans[sid] = (s["sample"], stops[sid]["sample"] if sid in stops else None)
    # membership: every line journaled while a session is open or stopping
    # carries its id iff it belongs to it (session.h, engine_cmds.c
    # tw_dsp_in_session): an LTR by its onset in [start, stop); an EPN
    # episode when it reaches into the session (offset >= start, onset <
    # stop); marks, insertions and gaps by their sample in [start, stop).
    # session.stop waits until the events begun before the stop are final,
    # so there is no exception.
    cur = None
    for j in J:
        if j["topic"] == "evt.session" and j.get("state") == "start":
            check(cur is None, f"{run}: session {j['id']} starts inside {cur}")
            cur = j["id"]
        if j["topic"] == "evt.session":
            check(j.get("session") == cur, f"{run}: session line {j['id']}: tag {j.get('session')!r}")
        if j["topic"] == "evt.session" and j.get("state") == "stop":
            check(cur == j["id"], f"{run}: stop of {j['id']} while {cur} is open")
            cur = None
        if j["topic"] in ("evt.ltr", "evt.epn", "evt.mark", "evt.insertion", "gap"):
            def belongs(a, b):
                b = float("inf") if b is None else b
                if j["topic"] == "evt.ltr":
                    return a <= j["onset_sample"] < b
                if j["topic"] == "evt.epn":
                    return j["offset_sample"] >= a and j["onset_sample"] < b
                return a <= j["sample"] < b
            inside = [sid for sid, (a, b) in spans.items() if belongs(a, b)]
            want = inside[0] if inside else None
            check(j.get("session") == want, f"{run}: line seq {j['seq']} {j['topic']} sample "
                  f"{j['sample']}: session {j.get('session')!r}, want {want!r}")
            check(want is None or want == cur, f"{run}: {j['topic']} seq {j['seq']} of {want} "
                  f"journaled while {cur} is open")
    # LTR trains: rel_amp, insertion marks start trains
    first_p2p, pending = {}, None
    ins_by_seq = {j["seq"]: j for j in J if j["topic"] == "evt.insertion"}
    for j in J:
        if j["topic"] == "evt.insertion":
            pending = j
        if j["topic"] != "evt.ltr":
            continue
        key = (j["channel"], j["train"])
        if j["train_index"] == 0:
            first_p2p[key] = j["p2p_uv"]
        if check(key in first_p2p, f"{run}: LTR {j['onset_sample']}: no first LTR of its train"):
            check(abs(j["rel_amp"] - j["p2p_uv"] / first_p2p[key]) <= 0.0051,
                  f"{run}: LTR {j['onset_sample']}: rel_amp {j['rel_amp']}, p2p "
                  f"{j['p2p_uv']} / {first_p2p[key]}")
        if pending is not None and j["onset_sample"] >= pending["sample"]:
            check(j["train_index"] == 0 and j.get("insertion") == pending["seq"],
                  f"{run}: LTR {j['onset_sample']} after insertion {pending['seq']} at "
                  f"{pending['sample']}: train_index {j['train_index']}, insertion "
                  f"{j.get('insertion')}")
            pending = None
        if "insertion" in j:
            m = ins_by_seq.get(j["insertion"])
            if check(m is not None and m["sample"] <= j["onset_sample"],
                     f"{run}: LTR {j['onset_sample']}: insertion {j['insertion']} unknown or later"):
                if "insertion_latency_ms" in j:
                    lat = (j["onset_sample"] - m["sample"]) * 1e3 / RATE
                    check(abs(j["insertion_latency_ms"] - lat) <= 0.006,
                          f"{run}: LTR {j['onset_sample']}: insertion_latency_ms "
                          f"{j['insertion_latency_ms']}, want {lat:.3f}")
    return spans, stops


def epn_part(eps, ch, a, e):
    e = max(e, a)
    n, t, wp, wr = 0, 0, 0.0, 0.0
    for x in eps:
        if ch >= 0 and x["channel"] != ch:
            continue
        lo, hi = max(x["onset_sample"], a), min(x["offset_sample"] + 1, e)
        if hi <= lo:
            continue
        n, t = n + 1, t + hi - lo
        wp += (hi - lo) * x["p2p_uv"]
        wr += (hi - lo) * x["rms_uv"]
    return {"span_s": (e - a) / RATE, "episodes": n, "time_s": t / RATE,
            "p2p_uv": wp / t if t else None, "rms_uv": wr / t if t else None}


def cmp_part(tag, got, want):
    for k in ("span_s", "episodes", "time_s"):
        tol = 1.0 / RATE if k == "time_s" else 1e-9
        check(abs(got[k] - want[k]) <= tol + 1e-9, f"{tag}.{k}: {got[k]}, want {want[k]}")
    for k in ("p2p_uv", "rms_uv"):  # journal amplitudes are rounded to 0.01
        if want[k] is None:
            check(got[k] is None, f"{tag}.{k}: {got[k]}, want null")
        else:
            check(got[k] is not None and abs(got[k] - want[k]) <= 0.011,
                  f"{tag}.{k}: {got[k]}, want {want[k]:.3f}")


def check_session(run, J, spans, stops, start_call, stop_call, marks_sent, statuses, fmt):
    sid = start_call["reply"]["session"]
    args = argmap(start_call)
    tag = f"{run}/{sid}"
    if not check(sid in spans and sid in stops, f"{tag}: no evt.session start/stop lines"):
        return
    start, stop = spans[sid]
    stop_line = stops[sid]
    start_line = next(j for j in J if j["topic"] == "evt.session" and j.get("id") == sid)
    rec = start_call["reply"]["recording"]
    check(rec == os.path.join(T, run, "rec", f"{sid}.{fmt}"), f"{tag}: recording {rec}")
    check(start_line.get("recording") == rec, f"{tag}: start line recording")
    for k in ("subject", "muscle", "side", "notes"):
        check(start_line.get(k) == args.get(k), f"{tag}: start line {k}")
    rep = stop_call["reply"]
    check(rep["session"] == sid, f"{tag}: session.stop replied {rep['session']}")
    summ = rep["summary"]
    spath = os.path.join(T, run, "rec", f"{sid}.summary.json")
    check(rep.get("summary_path") == spath, f"{tag}: summary_path {rep.get('summary_path')}")
    fsum = json.load(open(spath))
    d = same(fsum, summ, "summary file vs reply")
    check(d is None, f"{tag}: {d}")
    hdr = {"v", "topic", "stream", "seq", "sample", "rate", "clock", "session", "state"}
    body = {k: v for k, v in stop_line.items() if k not in hdr}
    d = same(body, summ, "stop line vs reply")
    check(d is None, f"{tag}: {d}")
    check(stop_line.get("state") == "stop", f"{tag}: stop line state")
    # meta and times
    for k in ("subject", "muscle", "side", "notes"):
        check(summ[k] == args.get(k), f"{tag}: summary {k} {summ[k]!r}, sent {args.get(k)!r}")
    check(summ["type"] == "session" and summ["id"] == sid, f"{tag}: type/id")
    check(summ["rate_hz"] == RATE and summ["channels"] == 1, f"{tag}: rate/channels")
    check(summ["start_sample"] == start and summ["stop_sample"] == stop,
          f"{tag}: samples {summ['start_sample']}..{summ['stop_sample']}, lines {start}..{stop}")
    check(abs(summ["duration_s"] - (stop - start) / RATE) < 1e-9, f"{tag}: duration_s")
    for k, line in (("start_utc", start_line), ("stop_utc", stop_line)):
        m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z", summ[k] or "")
        if check(m, f"{tag}: {k} {summ[k]!r}"):
            import calendar
            t = calendar.timegm(tuple(int(x) for x in m.groups()[:6])) + int(m.group(7)) / 1e3
            # the line's clock anchor, carried to its sample (session.stop
            # is journaled when the events begun before the stop are final)
            at = line["clock"]["realtime"] + (line["sample"] - line["clock"]["sample"]) / RATE
            check(abs(t - at) < 0.05, f"{tag}: {k} {summ[k]} vs clock "
                  f"{line['clock']['realtime']}")
    check(summ["truncated"] is False and not any(summ["dropped"].values()), f"{tag}: dropped")
    check(summ["recording"] == rec, f"{tag}: summary recording {summ['recording']}")
    # marks and insertions: what was sent
    for kind, key in (("mark", "marks"), ("insertion", "insertions")):
        sent = sorted(((c["reply"]["sample"], argmap(c).get("label")) for c in marks_sent
                       if c["cmd"] == kind), key=lambda x: x[0])
        want = [{"sample": s, "t_s": (s - start) / RATE, "label": l} for s, l in sent]
        d = same(summ[key], want, key)
        check(d is None, f"{tag}: {d}")
        for c in marks_sent:
            if c["cmd"] == kind:
                check(c["reply"].get("session") == sid and start <= c["reply"]["sample"] < stop,
                      f"{tag}: {kind} reply {c['reply']}")
    # the session's events: journaled while it was open
    mine = [j for j in J if j.get("session") == sid]
    ltrs = [j for j in mine if j["topic"] == "evt.ltr" and j["onset_sample"] >= start]
    eps = [j for j in mine if j["topic"] == "evt.epn" and j["offset_sample"] >= start]
    gaps = [j for j in mine if j["topic"] == "gap"]
    check(summ["ltr"]["count"] == len(ltrs) and summ["ltr"]["per_channel"] == [len(ltrs)],
          f"{tag}: ltr {summ['ltr']}, journal has {len(ltrs)}")
    # trains: consecutive LTRs of a channel with the same train
    trains = []
    for l in ltrs:
        if not trains or trains[-1]["train_id"] != l["train"] or trains[-1]["channel"] != l["channel"]:
            trains.append({"channel": l["channel"], "train_id": l["train"], "ltrs": []})
        trains[-1]["ltrs"].append(l)
    trains.sort(key=lambda t: (t["ltrs"][0]["onset_sample"], t["channel"]))
    ins_samples = sorted(x["sample"] for x in summ["insertions"])
    st = summ["trains"]
    if check(len(st) == len(trains), f"{tag}: {len(st)} trains, journal gives {len(trains)}"):
        for g, w in zip(st, trains):
            first = w["ltrs"][0]["onset_sample"]
            ii = max([i for i, s in enumerate(ins_samples) if s <= first], default=None)
            check(g["channel"] == w["channel"] and g["train_id"] == w["train_id"] and
                  g["count"] == len(w["ltrs"]) and g["insertion"] == ii,
                  f"{tag}: train {g['train_id']}: {g['channel']} {g['count']} {g['insertion']}, "
                  f"want {w['channel']} {w['train_id']} {len(w['ltrs'])} {ii}")
            for gl, wl in zip(g["ltrs"], w["ltrs"]):
                check(gl["onset_sample"] == wl["onset_sample"] and
                      gl["train_index"] == wl["train_index"] and
                      abs(gl["t_s"] - (wl["onset_sample"] - start) / RATE) < 1e-9 and
                      abs(gl["p2p_uv"] - wl["p2p_uv"]) <= 0.011 and
                      abs(gl["rel_amp"] - wl["rel_amp"]) <= 0.0051,
                      f"{tag}: train LTR {gl} vs journal {wl['onset_sample']} "
                      f"{wl['train_index']} {wl['p2p_uv']} {wl['rel_amp']}")
            check(len(g["ltrs"]) == len(w["ltrs"]), f"{tag}: train ltrs")
    # EPN: clipped to the session, before the first LTR, after the last
    epn = summ["epn"]
    first_on = min((l["onset_sample"] for l in ltrs), default=None)
    last_off = max((l["offset_sample"] for l in ltrs), default=None)
    for ch, part in ((-1, epn), (0, epn["per_channel"][0])):
        cmp_part(f"{tag}: epn[{ch}]", part, epn_part(eps, ch, start, stop))
        if first_on is None:
            cmp_part(f"{tag}: epn[{ch}].before_first_ltr", part["before_first_ltr"],
                     epn_part(eps, ch, start, stop))
            check(part["after_last_ltr"] is None, f"{tag}: after_last_ltr without LTR")
        else:
            cmp_part(f"{tag}: epn[{ch}].before_first_ltr", part["before_first_ltr"],
                     epn_part(eps, ch, start, min(first_on, stop)))
            cmp_part(f"{tag}: epn[{ch}].after_last_ltr", part["after_last_ltr"],
                     epn_part(eps, ch, min(last_off + 1, stop), stop))
    # an explicit form of the issue's rule: time_s = the clipped sum of durations
    clipped = sum(max(0, min(x["offset_sample"] + 1, stop) - max(x["onset_sample"], start))
                  for x in eps) / RATE
    check(abs(epn["time_s"] - clipped) <= 1.0 / RATE, f"{tag}: epn time_s {epn['time_s']}, "
          f"journal gives {clipped}")
    gsum = sum(max(0, g["first_sample"] + (g["samples"] or 0) - max(g["first_sample"], start))
               for g in gaps)
    check(summ["gaps"]["count"] == len(gaps) and summ["gaps"]["samples"] == gsum,
          f"{tag}: gaps {summ['gaps']}, journal {len(gaps)} / {gsum}")
    # status during and after
    for s in statuses:
        r = s["reply"]
        if s["phase"] == "during":
            check(r["session"] and r["session"]["id"] == sid and
                  r["record"]["recording"] is True and r["record"]["path"] == rec,
                  f"{tag}: status during the session: {r['session']} {r['record']}")
        else:
            check(r["session"] is None and r["record"]["recording"] is False and
                  "path" not in r["record"], f"{tag}: status after: {r['session']} {r['record']}")
    # the recording
    check(not os.path.exists(rec + ".annot"), f"{tag}: sidecar {rec}.annot left")
    raw, msgs = read_raw(rec)
    check(not msgs, f"{tag}: MNE warned: {msgs}")
    hdr_text = check_header(tag, rec, raw, args, summ["start_utc"])
    check(summ["recording_files"] == [rec] and summ["recording_errors"] == 0 and
          summ["recording_lost_samples"] == 0 and "recording_error" not in summ,
          f"{tag}: summary recording fields {[(k, v) for k, v in summ.items() if k.startswith('rec')]}")
    n = raw.n_times
    check(raw.info["sfreq"] == RATE, f"{tag}: sfreq {raw.info['sfreq']}")
    check(raw.ch_names == ["EMG ch0 needle"], f"{tag}: channels {raw.ch_names}")
    check(n % RATE == 0 and stop - start <= n < stop - start + RATE,
          f"{tag}: {n} samples for a session of {stop - start}")
    maxerr = check_samples(tag, raw, start, stop - start, fmt)
    want = [("session start", 0.0, None), ("session stop", (stop - start) / RATE, None)]
    if (stop - start) % RATE:  # the padded last record: where the data end
        want.append(("Recording ends", (stop - start) / RATE, None))
    for c in marks_sent:
        l = argmap(c).get("label")
        want.append((c["cmd"] + (": " + l if l else ""), (c["reply"]["sample"] - start) / RATE, None))
    for j in mine:
        on = max(j.get("onset_sample", 0) - start, 0) / RATE
        if j["topic"] == "evt.ltr":
            # cut at the stop too: no annotation runs past the data
            du = (min(j["offset_sample"] + 1, stop) - j["onset_sample"]) / RATE
            want.append((f"LTR ch{j['channel']} {j['p2p_uv']:.0f}uVpp", on, du))
        elif j["topic"] == "evt.epn":
            # the part of the episode within the session (the file's data)
            du = (min(j["offset_sample"] + 1, stop) - max(j["onset_sample"], start)) / RATE
            want.append((f"EPN ch{j['channel']}", on, du))
        elif j["topic"] == "gap" and j["samples"] is not None:
            want.append((f"gap {j['samples']} samples", (j["sample"] - start) / RATE, None))
    # "%.0f" of the unrounded p2p may differ by 1 from that of the journal's
    got = annots(raw)
    fixed = []
    for g in got:
        m = re.fullmatch(r"LTR ch(\d+) (\d+)uVpp", g[0])
        if m:
            for w in want:
                wm = re.fullmatch(r"LTR ch(\d+) (\d+)uVpp", w[0])
                if wm and wm.group(1) == m.group(1) and abs(int(wm.group(2)) - int(m.group(2))) <= 1 \
                        and abs(w[1] - g[1]) <= 1e-3:
                    g = (w[0], g[1], g[2])
                    break
        fixed.append(g)
    match_annots(tag, fixed, want)
    nl = sum(1 for j in mine if j["topic"] == "evt.ltr")
    ne = sum(1 for j in mine if j["topic"] == "evt.epn")
    ctx["ltrs"] += len(ltrs)
    ctx["epn"] += len(eps)
    ctx["trains"] += len(trains)
    ctx["sessions"] += 1
    print(f"  ok: {tag}: {(stop - start) / RATE:.2f} s, {len(ltrs)} LTRs in {len(trains)} "
          f"train(s), {len(eps)} EPN episode(s) ({epn['time_s']:.2f} s), "
          f"{len(summ['marks'])} marks, {len(summ['insertions'])} insertions; summary = reply "
          f"= journal; {os.path.basename(rec)}: {n} samples, {len(got)} annotations "
          f"({nl} LTR, {ne} EPN), samples within {maxerr:.2f} step of the synth; header: "
          f"subject, {hdr_text!r}, start time")


for run, fmt in (("A", "bdf"), ("B", "edf")):
    J = journal(run)
    bail()
    spans, stops = check_journal_lines(run, J)
    rc = [c for c in calls if c["run"] == run]
    # phases: which session each call belongs to
    sess, cur = [], None
    for c in rc:
        if c["cmd"] == "session.start":
            cur = {"start": c, "stop": None, "marks": [], "status": []}
            sess.append(cur)
        elif c["cmd"] == "session.stop":
            cur["stop"] = c
            cur = None
        elif c["cmd"] in ("mark", "insertion"):
            if cur:
                cur["marks"].append(c)
            else:  # outside any session: no session in the reply nor in the journal
                check("session" not in c["reply"], f"{run}: {c['cmd']} outside: {c['reply']}")
                line = [j for j in J if j["topic"] == "evt." + c["cmd"] and
                        j["sample"] == c["reply"]["sample"]]
                check(len(line) == 1 and "session" not in line[0], f"{run}: outside mark {line}")
        elif c["cmd"] == "status":
            phase = "during" if cur else "after"
            if phase == "after" and sess:
                sess[-1]["status"].append(dict(c, phase=phase))
            elif cur:
                cur["status"].append(dict(c, phase=phase))
            else:
                check(c["reply"]["session"] is None and c["reply"]["record"]["recording"] is False,
                      f"{run}: status before any session: {c['reply']}")
    # every mark / insertion is journaled with its label
    for c in rc:
        if c["cmd"] in ("mark", "insertion"):
            line = [j for j in J if j["topic"] == "evt." + c["cmd"] and
                    j["sample"] == c["reply"]["sample"]]
            check(len(line) == 1 and line[0]["label"] == argmap(c).get("label") and
                  line[0]["type"] == c["cmd"], f"{run}: {c['cmd']} {c['args']}: journal {line}")
    check(len(sess) == len(spans), f"{run}: {len(spans)} sessions journaled, {len(sess)} started")
    for s in sess:
        check_session(run, J, spans, stops, s["start"], s["stop"], s["marks"], s["status"], fmt)
    bail()

check(ctx["ltrs"] > 0 and ctx["epn"] > 0,
      f"the sessions hold {ctx['ltrs']} LTRs and {ctx['epn']} EPN episodes: pick another seed")
print(f"  ok: {ctx['sessions']} sessions, {ctx['ltrs']} LTRs in {ctx['trains']} trains, "
      f"{ctx['epn']} EPN episodes")

# the crash case
J = journal("C")
st = [j for j in J if j["topic"] == "evt.session"]
bail()
if check(len(st) == 1 and st[0]["state"] == "start", f"C: session lines {st}"):
    start = st[0]["sample"]
    raw, msgs = read_raw(crash)
    check(not msgs, f"crash: MNE warned: {msgs}")
    cstart = next(c for c in calls if c["run"] == "C" and c["cmd"] == "session.start")
    t0 = st[0]["clock"]["realtime"] + (start - st[0]["clock"]["sample"]) / RATE
    t0s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0)) + ".%03dZ" % int((t0 % 1) * 1000)
    check_header("crash", crash, raw, argmap(cstart), t0s)
    n = raw.n_times
    check(raw.info["sfreq"] == RATE and raw.ch_names == ["EMG ch0 needle"], "crash: rate/channels")
    check(n % RATE == 0 and n >= 2 * RATE, f"crash: {n} samples: want whole records, >= 2 s")
    maxerr = check_samples("crash", raw, start, n, "bdf")
    cc = [c for c in calls if c["run"] == "C" and c["cmd"] in ("mark", "insertion")]
    want = [("session start", 0.0, None)] + [
        (c["cmd"] + (": " + argmap(c)["label"] if "label" in argmap(c) else ""),
         (c["reply"]["sample"] - start) / RATE, None) for c in cc]
    got = annots(raw)
    match_annots("crash", got, want, exact=False)
    print(f"  ok: crash: {os.path.basename(crash)} repaired: {n // RATE} records, "
          f"{len(got)} annotations incl. the marks made before the kill, samples within "
          f"{maxerr:.2f} step")
bail()
PY

for f in "$T"/*.err; do
    if grep -q "ERROR: AddressSanitizer\|runtime error\|LeakSanitizer" "$f"; then
        fail "sanitizer report in $f"
    fi
done
ok "no sanitizer report in any stderr"
echo "study: OK (${SECONDS} s)"
