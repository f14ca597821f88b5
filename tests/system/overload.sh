#!/usr/bin/env bash
# tw-test: exclusive (run alone by tests/run.sh: it loads the CPU on purpose)
# overload.sh BUILD_DIR: an overloaded CPU makes the acquisition ring
# overflow visibly, never silently (issue 8, faults).
#
# The daemon captures through the real PortAudio -> ALSA path paced at real
# time (docs/testing-without-hardware.md, tier 2): a JACK server with the
# dummy driver (unique name, real-time priority when allowed: it stands
# for the sound card's hardware clock, which a busy CPU does not slow)
# clocks the ALSA jack plugin, under the ALSA file plugin that reads the
# fixture (tests/data/alsa-tier2.conf). The fixture is raw float32 mono
# whose every sample names its own index: x[k] = (k mod 2^20) * 2^-21, so
# the display stream (sig.0: each value is the largest sample of its bin
# of `decim` input samples: here the bin's last one, or the last before
# the sawtooth wraps) shows which delivered sample each labelled index
# really is. (That caught a bug: values after a gap that shared a sig
# message with values before it were labelled as if no sample had been
# lost; daemon/engine/engine.c gap() now ends the message at a gap.)
#
# Load: four busy loops per core, and the DSP thread (found by its name,
# tw-engine) moved to SCHED_IDLE, so that on a 2-core machine it
# really starves (a SCHED_IDLE thread still gets a weight of 3 against
# each busy loop's 1024: with four loops a core, about 0.07 % of a core,
# while this 1-channel 48 kHz input now needs about 0.06 %: with two loops
# a core the DSP thread sometimes kept up); the ring is small
# (input.ring_blocks=128: 0.68 s). The
# card side stays real time as a card's clock and DMA are: jackd and
# libjack's threads are SCHED_FIFO, and so is made PortAudio's callback
# thread (the newest thread), else it would starve too and lose samples
# as input overflows, whose number nobody knows. The load lasts until
# ring-full gaps have come for 3 s (at most 20 s); then the loops stop and
# the DSP thread gets SCHED_OTHER back.
#
# Checks:
#  - visible: ring-full gap records with the samples lost (> 0) in the
#    journal, the same records (same seq, same bytes) on the PUB socket
#    (every one from the subscriber's first sts on), an sts heartbeat on
#    the PUB socket with ring_dropped_frames > 0 while running, the same
#    counters in `twitchd ctl status`, and a "gap: ... (ring full)" log
#    line per record;
#  - exact: the samples of the ring-full records add up to the final sts's
#    ring_dropped_frames (256 per ring_dropped_block) and gap_samples, and
#    their count (a merged record counts its "N gaps merged") to its gaps
#    counter; input overflows (at start-up, before the callback thread is
#    real time) are allowed, each with its record, counted in `overflows`;
#  - never silent: every value of every sig.0 message received, before,
#    between and after the gaps, sits at the index of the sample it shows:
#    index = samples the device delivered before it = samples processed +
#    samples reported lost. A daemon that dropped blocks without counting
#    them (or miscounted) would label later samples with smaller indices;
#  - after the load: once two heartbeats have passed, 5 s more of capture
#    (the index advances by >= 4 s of samples) with no gap record and no
#    counter moving, and SIGTERM -> exit status 0.
# TW_TEST_KEEP=1 keeps the temporary directory (journal, stderr, sub.out).
set -euo pipefail

B=${1:?usage: overload.sh BUILD_DIR}
TW="$B/twitchd"
here=$(cd "$(dirname "$0")" && pwd)
CONF="$here/../data/alsa-tier2.conf"
[[ -x $TW ]] || { echo "FAIL: $TW is missing (build it first)" >&2; exit 1; }
. "$here/lib/jack.bash"
tw_jack_need
for c in chrt python3; do
    command -v "$c" >/dev/null 2>&1 || { echo "FAIL: $c not found" >&2; exit 1; }
done

t_start=$(date +%s.%N)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tw-overload.XXXXXX")
pid= sub_pid=
loops=()
cleanup() {
    for l in "${loops[@]}"; do kill -KILL "$l" 2>/dev/null || true; done
    if [[ -n $sub_pid ]]; then kill -KILL "$sub_pid" 2>/dev/null || true; fi
    if [[ -n $pid ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
    tw_jack_stop
    wait 2>/dev/null || true
    if [[ -n ${TW_TEST_KEEP:-} ]]; then echo "kept $tmp"; else rm -rf "$tmp" || true; fi
}
trap cleanup EXIT

real_err() {
    grep -vE "$TW_JACK_NOISE" "$tmp/err" 2>/dev/null || true
}
fail() {
    echo "FAIL: $*" >&2
    echo "--- daemon stderr (without libjack noise):" >&2
    real_err | tail -40 >&2
    [[ -s $tmp/jackd.log ]] && { echo "--- jackd:" >&2; tail -5 "$tmp/jackd.log" >&2; }
    exit 1
}
ok() { echo "  ok${1:+: $1}"; }
n_sts() {
    local n
    n=$(grep -c '"topic":"sts"' "$tmp/sub.out" 2>/dev/null) || true
    echo "${n:-0}"
}
# wait_sts N SECONDS: until the subscriber has printed N sts messages
wait_sts() {
    local t=0
    until (($(n_sts) >= $1)); do
        sleep 0.1
        t=$((t + 1))
        ((t < $2 * 10)) || return 1
    done
}
ring_full_records() {
    local n
    n=$(cat "$tmp"/journal/*.jsonl 2>/dev/null | grep -c '"cause":"ring full') || true
    echo "${n:-0}"
}

# 45 s of fixture (the run reads about 25 s; zeros would follow its end)
python3 - "$tmp/fixture.raw" <<'PY'
import array, sys
M = 1 << 20
a = array.array('f', (float(k % M) * 2.0 ** -21 for k in range(48000 * 45)))
assert a.itemsize == 4 and sys.byteorder == 'little'
open(sys.argv[1], 'wb').write(a.tobytes())
PY

echo "JACK dummy server (48 kHz, 480-frame periods), daemon on emg_test"
tw_jack_start "$tmp/jackd.log" twov -R -P 10 -d dummy -r 48000 -p 480 -C 2 -P 2 ||
    fail "jackd -n $TW_JACK_NAME did not start"

: >"$tmp/empty.conf" # not /etc/twitchd/twitchd.conf
JACK_DEFAULT_SERVER="$TW_JACK_NAME" JACK_NO_START_SERVER=1 ALSA_CONFIG_PATH="$CONF" \
EMG_TEST_INFILE="$tmp/fixture.raw" "$TW" run -c "$tmp/empty.conf" \
    -o input.source=portaudio -o input.device=emg_test -o input.channels=1 \
    -o input.format=float32 -o input.frames_per_buffer=256 -o input.ring_blocks=128 \
    -o "journal.dir=$tmp/journal" -o "publish.endpoint=ipc://$tmp/pub" \
    -o "control.endpoint=ipc://$tmp/ctl" -o record.mode=off >"$tmp/out" 2>"$tmp/err" </dev/null &
pid=$!
t=0
until grep -q 'twitchd: running:' "$tmp/err" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || fail "the daemon exited"
    sleep 0.05
    t=$((t + 1))
    ((t < 300)) || fail "the daemon did not start capturing within 15 s"
done
grep -q 'input: ALSA: emg_test (index 0), 48000 Hz, 1 ch, float32' "$tmp/err" ||
    fail "not the emg_test device"

# Two threads of the daemon get a scheduling class for the test. The DSP
# thread: the one named tw-engine. The PortAudio callback thread: the
# newest thread, created by Pa_StartStream after all others, waiting in
# poll on the ALSA device.
declare -A seen=()
for _ in $(seq 1 60); do
    for t in /proc/"$pid"/task/*; do
        [[ $(cat "$t/comm" 2>/dev/null) == tw-engine ]] && seen[${t##*/}]=1
    done
    ((${#seen[@]} > 0)) && break
    sleep 0.05
done
cand="${!seen[*]}"
((${#seen[@]} == 1)) || fail "cannot tell the DSP thread (candidates: ${cand:-none})"
dsp_tid=$cand
cb_tid=$(for t in /proc/"$pid"/task/*; do
    echo "$(awk '{ print $22 }' "$t/stat" 2>/dev/null) ${t##*/}"
done | sort -n -k1,1 -k2,2 | tail -1 | cut -d' ' -f2)
cb_poll=0
for _ in $(seq 1 40); do
    [[ $(cat "/proc/$pid/task/$cb_tid/wchan" 2>/dev/null) == *poll* ]] && { cb_poll=1; break; }
    sleep 0.05
done
((cb_poll && cb_tid != dsp_tid)) || fail "cannot tell the PortAudio callback thread (newest: $cb_tid)"
# The card side (jackd, libjack's threads here, the callback thread) is
# real time as a card's clock and DMA are: what the load starves is the
# DSP thread, so what overflows is the ring (a starved callback thread
# would make input overflows instead, which count no samples).
chrt --fifo -p 5 "$cb_tid" ||
    echo "  note: the callback thread could not get SCHED_FIFO (input overflows may follow)"
ok "daemon $pid, DSP thread $dsp_tid, callback thread $cb_tid"
"$TW" sub --samples "ipc://$tmp/pub" sts gap sig.0 >"$tmp/sub.out" 2>"$tmp/sub.err" </dev/null &
sub_pid=$!
wait_sts 2 15 || fail "no sts heartbeat on the PUB socket within 15 s"

echo "overload: $((4 * $(nproc))) busy loops, DSP thread at SCHED_IDLE"
chrt --idle -p 0 "$dsp_tid" || fail "chrt --idle -p 0 $dsp_tid failed"
for _ in $(seq 1 $((4 * $(nproc)))); do
    bash -c 'while :; do :; done' </dev/null >/dev/null 2>&1 &
    loops+=($!)
done
t_load=$(date +%s.%N)
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
load0=$(now_ms)
first_gap=
while (($(now_ms) - load0 < 20000)); do # at most 20 s
    sleep 0.1
    if [[ -z $first_gap ]] && (($(ring_full_records) > 0)); then first_gap=$(now_ms); fi
    if [[ -n $first_gap ]] && (($(now_ms) - first_gap >= 3000)); then break; fi
done
kill -KILL "${loops[@]}" 2>/dev/null || true
wait "${loops[@]}" 2>/dev/null || true
loops=()
chrt --other -p 0 "$dsp_tid" 2>/dev/null || true # gone if the daemon died
load_s=$(awk -v a="$t_load" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
kill -0 "$pid" 2>/dev/null || fail "the daemon died under load"
if [[ -n $first_gap ]]; then
    ok "load for $load_s s, ring-full gaps from $(((first_gap - load0) / 1000)).$((((first_gap - load0) % 1000) / 100)) s into it"
else
    # A DSP thread starved so hard that it processed no block after the
    # first drop (a sanitizer build on a busy machine) records the gap as
    # soon as it runs again: the overflow must be on record then.
    for _ in $(seq 1 150); do
        (($(ring_full_records) > 0)) && break
        sleep 0.1
    done
    (($(ring_full_records) > 0)) ||
        fail "no ring-full gap in ${load_s} s of load nor 15 s after it (the ring never overflowed)"
    ok "load for $load_s s; the DSP thread ran too little to record the overflow until the load ended, then did"
fi

echo "after the load: 5 s more"
n0=$(n_sts)
wait_sts $((n0 + 2)) 10 || fail "no heartbeat after the load"
n1=$(n_sts) # the last heartbeat so far is the reference
wait_sts $((n1 + 5)) 15 || fail "heartbeats stopped after the load"
"$TW" ctl -e "ipc://$tmp/ctl" status >"$tmp/status.json" || fail "twitchd ctl status failed"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
((rc == 0)) || fail "exit status $rc after SIGTERM, want 0"
sleep 0.5 # the last (stopping) heartbeat reaches the subscriber
kill -TERM "$sub_pid" 2>/dev/null || true
wait "$sub_pid" 2>/dev/null || true
sub_pid=

real_err >"$tmp/err.real"
python3 - "$tmp" "$n1" <<'PY' || fail "see above"
import glob, json, os, re, sys
tmp, n1 = sys.argv[1], int(sys.argv[2])
M, FS = 1 << 20, 10000.0       # fixture period; input.full_scale_uv (default)

def die(msg):
    print("FAIL: " + msg)
    sys.exit(1)

lines = []
for f in sorted(glob.glob(os.path.join(tmp, "journal", "*.jsonl"))):
    lines += [l.rstrip("\n") for l in open(f)]
jgaps = [json.loads(l) for l in lines if json.loads(l)["topic"] == "gap"]
jgap_lines = {json.loads(l)["seq"]: l for l in lines if json.loads(l)["topic"] == "gap"}
sub = [l.rstrip("\n") for l in open(os.path.join(tmp, "sub.out"))]
msgs = [json.loads(l) for l in sub]
sts = [m for m in msgs if m["topic"] == "sts"]
pgap_lines = {json.loads(l)["seq"]: l for l in sub if json.loads(l)["topic"] == "gap"}
ring = [g for g in jgaps if g["cause"].startswith("ring full")]
ovf = [g for g in jgaps if g["cause"] == "input overflow"]
other = [g for g in jgaps if g not in ring and g not in ovf]

# visible: gap records with counts, in the journal and on the PUB socket
if not ring:
    die("no ring-full gap record in the journal")
if other:
    die("gap records of another cause: %s" % other[:3])
if any(not isinstance(g["samples"], int) or g["samples"] <= 0 for g in ring):
    die("a ring-full gap without a sample count: %s" % [g for g in ring if not g["samples"]][:1])
if any(g["samples"] is not None for g in ovf):
    die("an input overflow record with a count")
lost = sum(g["samples"] for g in ring)
merged = [int(re.search(r"\((\d+) gaps merged\)", g["cause"]).group(1))
          for g in ring if "merged" in g["cause"]]
n_gap_calls = len(ring) - len(merged) + sum(merged)
# the subscriber joined after the start: from its first sts on, every gap
# record (seq >= that sts's seqs.gap) must reach it
if not sts:
    die("no sts on the PUB socket")
since = sts[0]["seqs"]["gap"]
if not [g for g in ring if g["seq"] >= since]:
    die("every ring-full gap came before the subscriber joined")
missing = sorted(q for q in set(jgap_lines) - set(pgap_lines) if q >= since)
if missing:
    die("gap records journaled but not received on the PUB socket: seq %s" % missing[:10])
diff = [q for q in pgap_lines if jgap_lines.get(q) != pgap_lines[q]]
if diff:
    die("gap record seq %d differs between the journal and the PUB socket:\n  %s\n  %s"
        % (diff[0], jgap_lines.get(diff[0]), pgap_lines[diff[0]]))
if [l for l in open(os.path.join(tmp, "sub.err")) if "topic gap:" in l]:
    die("the subscriber saw gap records missing: " + open(os.path.join(tmp, "sub.err")).read())

# counters: live on the PUB socket, exact at the end, same in ctl status
live = [m for m in sts if m["counters"]["ring_dropped_frames"] > 0 and m["state"] == "running"]
if not live:
    die("no sts heartbeat with ring_dropped_frames > 0 on the PUB socket")
fin = sts[-1]
if fin["state"] != "stopping":
    die("the last heartbeat is not the stopping one (%s)" % fin["state"])
c = fin["counters"]
want = {"ring_dropped_frames": lost, "gap_samples": lost, "gaps": n_gap_calls,
        "overflows": len(ovf)}
bad = {k: (c[k], v) for k, v in want.items() if c[k] != v}
if bad:
    die("final sts counters (have, want from the journal): %s" % bad)
if c["ring_dropped_blocks"] < n_gap_calls or c["ring_dropped_blocks"] * 256 != lost:
    die("ring_dropped_blocks %d for %d frames (256 per block), %d gaps"
        % (c["ring_dropped_blocks"], lost, n_gap_calls))
st = json.load(open(os.path.join(tmp, "status.json")))
sc = st.get("counters", {})
for k in ("ring_dropped_blocks", "ring_dropped_frames", "gaps", "gap_samples", "overflows"):
    if sc.get(k) != c[k]:
        die("ctl status %s = %s, the final sts says %s" % (k, sc.get(k), c[k]))

# log lines: one per record, the same counts
err = open(os.path.join(tmp, "err.real")).read()
logged = [int(x) for x in re.findall(r"gap: (\d+) samples lost at sample \d+ \(ring full\)", err)]
logged += [int(x) for x in re.findall(r"gap: (\d+) samples lost in \d+ gaps from sample \d+ \(ring full\)", err)]
if len(logged) != len(ring) or sum(logged) != lost:
    die("log: %d ring-full gap lines, %d samples; journal: %d records, %d samples"
        % (len(logged), sum(logged), len(ring), lost))

# never silent: every display value sits at the index of the sample it shows
checked = after_gap = 0
last_gap = max(g["first_sample"] for g in ring)
for m in msgs:
    if m["topic"] != "sig.0":
        continue
    s, d = m["sample"], m["decim"]
    if m["count"] != len(m["samples"]):
        die("sig.0 count %d with %d samples" % (m["count"], len(m["samples"])))
    for j, v in enumerate(m["samples"]):
        a = s + j * d                                 # the bin: samples a .. idx
        idx = a + d - 1
        # its largest sample: the last, or the last before the sawtooth wraps
        want = idx if a // M == idx // M else idx // M * M - 1
        k = round(v / FS * 2 ** 21)                   # the sample it is (mod M)
        if (k - want) % M:
            off = (k - want) % M
            off = off - M if off > M // 2 else off
            die("sig.0 seq %d value %d (samples %d .. %d) shows delivered sample %d, not %d "
                "(%+d): the index is not true" % (m["seq"], j, a, idx, want + off, want, off))
        checked += 1
        after_gap += idx > last_gap
        last_idx = idx
if checked < 1000 or after_gap < 500:
    die("too few display values checked (%d, %d after the last gap)" % (checked, after_gap))

# after the load: no gap, no counter moving, capture going on
ref = sts[n1 - 1]
later = [g for g in jgaps if g["first_sample"] >= ref["samples"]]
if later:
    die("gaps after the load stopped: %s" % later[:3])
for m in sts[n1:]:
    mc = m["counters"]
    for k in ("ring_dropped_blocks", "ring_dropped_frames", "gaps", "gap_samples", "overflows"):
        if mc[k] != ref["counters"][k]:
            die("%s went from %d to %d after the load stopped" % (k, ref["counters"][k], mc[k]))
ran = fin["samples"] - ref["samples"]
if ran < 4 * 48000:
    die("only %d samples processed in the 5 s after the load" % ran)
span = fin["clock"]["monotonic"] - ref["clock"]["monotonic"]
print("  ok: %d ring-full gap records (%d gaps, %d merged into %d), %d samples lost "
      "(%.2f s), %d ring blocks dropped; %d input overflows (samples unknown)"
      % (len(ring), n_gap_calls, sum(merged), len(merged), lost, lost / 48000.0,
         c["ring_dropped_blocks"], len(ovf)))
print("  ok: same records on the PUB socket, counters in sts (live and final) and ctl status, "
      "%d log lines" % len(logged))
print("  ok: %d display values (%d after the last gap) each at the index of the sample it shows: "
      "up to the last, %d samples delivered = %d processed + %d reported lost"
      % (checked, after_gap, last_idx + 1, last_idx + 1 - lost, lost))
print("  ok: after the load %d samples in %.1f s (%.0f /s), no gap" % (ran, span, ran / span if span else 0))
beat = max(b["uptime_s"] - a["uptime_s"] for a, b in zip(sts, sts[1:]))
print("  (longest time between two heartbeats, which the DSP loop sends like WATCHDOG=1: "
      "%.1f s)" % beat)
PY
echo "overload: all passed in $(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
