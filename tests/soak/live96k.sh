#!/usr/bin/env bash
# live96k.sh BUILD_DIR [MINUTES]: the live soak (issue 8, "Load"; `make
# soak`, not `make test`). 8 channels at 96 kHz for MINUTES (default 10)
# through the real capture path paced at real time: a JACK server with the
# dummy driver (jackd -r 96000 -C 8, a unique server name, real-time
# priority when allowed: it stands for the sound card's clock) clocks the
# ALSA jack plugin under the ALSA file plugin, which reads the fixture
# (tests/soak/alsa-tier2-8ch.conf; docs/testing-without-hardware.md,
# tier 2), and `twitchd run -o input.source=portaudio` captures it through
# PortAudio at normal priority, as the service does.
#
# The fixture: a seeded synthetic recording (`twitchd synth`, 8 channels
# at 96 kHz, float32) of 6 x 2^20 frames (65.5 s), repeated to cover the
# run. Channels 0-6 are needle EMG with LTRs and EPN; channel 7 is a
# sawtooth whose every sample names its own index, x[k] = (k mod 2^20) *
# 2^-21 (the segment is a whole number of periods, so it runs on across
# the repeats), so that the display stream sig.7 (each value the largest
# sample of its bin: the bin's last, or the last before the sawtooth
# wraps) shows which input sample each labelled index really is.
#
# Checks:
#  - no drop: no gap record in the journal; in every heartbeat (sts,
#    received by `twitchd sub` without a sequence gap) overflows,
#    ring_dropped_blocks, ring_dropped_frames, gaps, gap_samples,
#    journal_queue_dropped, publish_queue_dropped and publish.dropped are
#    0; the final heartbeat counts exactly MINUTES x 60 x 96000 samples;
#  - nothing lost silently: every value of every sig.7 message received
#    (from the subscriber's first on, contiguous) sits at the index of the
#    sample it shows;
#  - the daemon exits 0 by itself after the input (input.duration_s), then
#    jackd is stopped;
# and reports the pace (input seconds per wall second between the first
# and last heartbeats), jackd's own XRun reports (the dummy driver or a
# client of its graph late: PortAudio's JACK host API registers one in the
# daemon's process too; a busy or paused VM does that, and an input
# overflow may then come from the test's clock rather than from the
# daemon: printed with a failure, so that the two can be told apart),
# the daemon's CPU (utime + stime from
# /proc/PID/stat over wall time, % of one core, start-up excluded), RSS
# at start (1 s), after 1 min, largest and at the end, events.
# The last line is a one-line summary. TW_TEST_SEED=N sets the seed;
# TW_TEST_KEEP=1 keeps the temporary directory (fixture, journal, logs).
set -euo pipefail

B=${1:?usage: live96k.sh BUILD_DIR [MINUTES]}
MINUTES=${2:-10}
[[ $MINUTES =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "usage: live96k.sh BUILD_DIR [MINUTES]" >&2; exit 2; }
TW="$B/twitchd"
here=$(cd "$(dirname "$0")" && pwd)
CONF="$here/alsa-tier2-8ch.conf"
[[ -x $TW ]] || { echo "FAIL: $TW is missing (build it first)" >&2; exit 1; }
. "$here/../system/lib/jack.bash"
tw_jack_need
command -v python3 >/dev/null 2>&1 || { echo "FAIL: python3 not found" >&2; exit 1; }
RATE=96000
SECS=$(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 60 + 0.5 }')
((SECS >= 20)) || { echo "FAIL: at least 20 s (MINUTES >= 0.34)" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/twitchd-soak96k.XXXXXX")
pid='' sub_pid='' sampler=''
cleanup() {
    [[ -n $sampler ]] && { kill "$sampler" 2>/dev/null || true; }
    [[ -n $sub_pid ]] && { kill -KILL "$sub_pid" 2>/dev/null || true; }
    [[ -n $pid ]] && { kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
    tw_jack_stop # after the daemon
    wait 2>/dev/null || true
    if [[ -n ${TW_TEST_KEEP:-} ]]; then echo "kept $tmp"; else rm -rf "$tmp" || true; fi
}
trap cleanup EXIT
real_err() {
    grep -vE "$TW_JACK_NOISE" "$tmp/err" 2>/dev/null || true
}
fail() {
    echo "FAIL: $*"
    echo "--- daemon stderr (without libjack noise):"
    real_err | tail -30
    [[ -s $tmp/sub.err ]] && { echo "--- sub stderr:"; tail -5 "$tmp/sub.err"; }
    [[ -s $tmp/jackd.log ]] && { echo "--- jackd:"; tail -5 "$tmp/jackd.log"; }
    exit 1
}

seed=${TW_TEST_SEED:-$((10#$(date +%s%N | cut -c10-15) % 100000 + 1))}
echo "live96k: seed $seed (TW_TEST_SEED=$seed reproduces the fixture), $MINUTES min, 8 ch at $RATE Hz"

# --- the fixture: a 6 x 2^20-frame segment, repeated to cover the run + 10 s
"$TW" synth --seed "$seed" --seconds 66 -o channels=8 -o rate=$RATE -o format=float \
    -o ltr_per_min=20 -o epn_per_min=4 "$tmp/seg.wav" 2>"$tmp/synth.err" ||
    { cat "$tmp/synth.err"; fail "twitchd synth"; }
python3 - "$tmp/seg.wav" "$tmp/fixture.raw" "$SECS" "$RATE" <<'PY'
import array, struct, sys
wav, out, secs, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
d = open(wav, "rb").read()
assert d[:4] == b"RIFF" and d[8:12] == b"WAVE"
i, data = 12, None
while i < len(d):
    cid, n = d[i:i + 4], struct.unpack("<I", d[i + 4:i + 8])[0]
    if cid == b"data":
        data = d[i + 8:i + 8 + n]
        break
    i += 8 + n + (n & 1)
M, CH = 1 << 20, 8
frames = 6 * M
a = array.array("f")
a.frombytes(data[:frames * CH * 4])
assert len(a) == frames * CH and sys.byteorder == "little", "short synth output"
a[7::8] = array.array("f", (float(k % M) * 2.0 ** -21 for k in range(frames)))
reps = -(-(secs + 10) * rate // frames)
seg = a.tobytes()
with open(out, "wb") as f:
    for _ in range(reps):
        f.write(seg)
print("  fixture: %d x %d frames (%.1f s, %.2f GB), channel 7 labelled" %
      (reps, frames, reps * frames / rate, reps * len(seg) / 1e9))
PY
rm -f "$tmp/seg.wav"

# --- JACK dummy server, then the daemon
tw_jack_start "$tmp/jackd.log" twsoak -R -P 10 -d dummy -r $RATE -p 1024 -C 8 -P 2 ||
    fail "jackd -n $TW_JACK_NAME did not start"
echo "  jackd -n $TW_JACK_NAME: dummy driver, $RATE Hz, 1024-frame periods, 8 capture ports"

: >"$tmp/empty.conf" # not /etc/twitchd/twitchd.conf
JACK_DEFAULT_SERVER="$TW_JACK_NAME" JACK_NO_START_SERVER=1 ALSA_CONFIG_PATH="$CONF" \
EMG_TEST_INFILE="$tmp/fixture.raw" "$TW" run -c "$tmp/empty.conf" \
    -o input.source=portaudio -o input.device=emg_test -o input.channels=8 -o input.rate=$RATE \
    -o input.format=float32 -o input.frames_per_buffer=512 -o input.duration_s="$SECS" \
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
t0=$(date +%s.%N)
grep -q "input: ALSA: emg_test (index 0), $RATE Hz, 8 ch, float32" "$tmp/err" ||
    fail "not the emg_test device at $RATE Hz, 8 ch"
"$TW" sub --samples "ipc://$tmp/pub" sts gap evt. sig.7 >"$tmp/sub.out" 2>"$tmp/sub.err" </dev/null &
sub_pid=$!

# RSS (KiB) and CPU ticks every second
(
    while [[ -r /proc/$pid/status ]]; do
        rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || break
        ticks=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat" 2>/dev/null) || break
        [[ -n $rss ]] || break
        echo "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') $rss $ticks"
        sleep 1
    done
) >"$tmp/rss" &
sampler=$!

# progress every minute, until the daemon stops by itself
next=60
while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    el=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", b - a }')
    if ((el >= next)); then
        last=$(tail -n 1 "$tmp/rss" 2>/dev/null || true)
        ev=$(grep '"topic":"sts"' "$tmp/sub.out" 2>/dev/null | tail -n 1 | grep -o '"events":[0-9]*' || true)
        echo "  $((el / 60)) min: RSS $(awk '{ printf "%.1f", $2 / 1024 }' <<<"$last") MiB, ${ev:-no heartbeat yet}"
        next=$((next + 60))
    fi
    ((el < SECS + 60)) || fail "the daemon still runs 60 s after its $SECS s of input"
done
rc=0
wait "$pid" || rc=$?
pid=''
t1=$(date +%s.%N)
((rc == 0)) || fail "the daemon exited $rc"
sleep 0.5
kill -TERM "$sub_pid" 2>/dev/null || true
wait "$sub_pid" 2>/dev/null || true
sub_pid=''
wait "$sampler" 2>/dev/null || true
sampler=''
tw_jack_stop 25 # the daemon is gone: now jackd
grep -E "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$tmp/err" && fail "sanitizer report"
grep -E "missing|out of order" "$tmp/sub.err" && fail "the subscriber saw a sequence gap"

xruns=$(grep -c 'XRun' "$tmp/jackd.log" || true)
python3 - "$tmp" "$SECS" "$RATE" "$(getconf CLK_TCK)" "$t0" "$t1" "$seed" "$MINUTES" "${xruns:-0}" <<'PY' || fail "see above"
import glob, json, os, sys
tmp, secs, rate, tck, t0, t1, seed, minutes, xruns = sys.argv[1:10]
secs, rate, tck, wall = int(secs), int(rate), int(tck), float(t1) - float(t0)
errors = []

journal = []
for f in sorted(glob.glob(os.path.join(tmp, "journal", "twitchd-*.jsonl"))):
    journal += [json.loads(l) for l in open(f)]
kinds = {}
per_ch = {}
for j in journal:
    kinds[j["topic"]] = kinds.get(j["topic"], 0) + 1
    if j["topic"] in ("evt.ltr", "evt.epn"):
        per_ch[j["channel"]] = per_ch.get(j["channel"], 0) + 1
gaps = [j for j in journal if j["topic"] == "gap"]
if gaps:
    errors.append("%d gap record(s), first: %s" % (len(gaps), gaps[0]))
nev = kinds.get("evt.ltr", 0) + kinds.get("evt.epn", 0)
if nev == 0:
    errors.append("no event in %d s of EMG" % secs)

got = [json.loads(l) for l in open(os.path.join(tmp, "sub.out"))]
sts = [g for g in got if g["topic"] == "sts"]
if len(sts) < secs * 0.9:
    errors.append("only %d heartbeats in %d s" % (len(sts), secs))
for s in sts:
    c = s["counters"]
    bad = {k: c[k] for k in ("overflows", "ring_dropped_blocks", "ring_dropped_frames", "gaps",
                             "gap_samples", "journal_queue_dropped", "publish_queue_dropped") if c[k]}
    if s["publish"]["dropped"]:
        bad["publish.dropped"] = s["publish"]["dropped"]
    if bad:
        errors.append("heartbeat seq %d (%.0f s): %s" % (s["seq"], s["uptime_s"], bad))
        break
final = sts[-1] if sts else {}
if final.get("state") != "stopping":
    errors.append("no final heartbeat")
if final.get("samples") != secs * rate:
    errors.append("the final heartbeat counts %s samples, want %d" % (final.get("samples"), secs * rate))
run = [s for s in sts if s.get("state") == "running"]
pace = ((run[-1]["samples"] - run[0]["samples"]) / rate / (run[-1]["uptime_s"] - run[0]["uptime_s"])
        if len(run) > 2 else 0)

# the labelled channel: every display value at the index it shows
M, fs = 1 << 20, 10000.0
step = fs * 2.0 ** -21
sig = [g for g in got if g["topic"] == "sig.7"]
nval = bad = disc = 0
prev_end = None
first_bad = None
for m in sig:
    s0, d, vals = m["sample"], m["decim"], m["samples"]
    if prev_end is not None and s0 != prev_end:
        disc += 1
    prev_end = s0 + len(vals) * d
    for k, v in enumerate(vals):
        a = s0 + k * d
        want = M - 1 if (a % M) + d - 1 >= M else (a + d - 1) % M
        nval += 1
        if v is None or round(v / step) != want:
            bad += 1
            if first_bad is None:
                first_bad = "sample %d: value %r shows index %s, want %d" % (
                    a, v, None if v is None else round(v / step), want)
covered = nval * sig[0]["decim"] / rate if sig else 0
if not sig or covered < secs - 10:
    errors.append("sig.7 covers only %.0f s" % covered)
if bad or disc:
    errors.append("sig.7: %d of %d values at the wrong index, %d discontinuities; first: %s"
                  % (bad, nval, disc, first_bad))

samples = [tuple(map(float, l.split())) for l in open(os.path.join(tmp, "rss")) if len(l.split()) == 3]
at = lambda t: min(samples, key=lambda s: abs(s[0] - t))
s_start, s_1min, s_end = at(1.0), at(60.0), samples[-1]
peak = max(samples, key=lambda s: s[1])
c0 = at(5.0)
cpu = 100.0 * (s_end[2] - c0[2]) / tck / (s_end[0] - c0[0])
print("  journal: %s; events per channel %s" % (kinds, dict(sorted(per_ch.items()))))
print("  heartbeats: %d, final: %d samples, counters %s" % (len(sts), final.get("samples", -1), final.get("counters")))
print("  sig.7: %d display values (%.1f s of input) each at the index it shows, %d discontinuities" % (nval, covered, disc))
print("  pace %.5fx real time; wall %.1f s; jackd reported %s XRun(s) of its own graph" % (pace, wall, xruns))
print("  RSS: start %.1f MiB (%.0f s), 1 min %.1f MiB, largest %.1f MiB (%.0f s), end %.1f MiB (%.0f s)"
      % (s_start[1] / 1024, s_start[0], s_1min[1] / 1024, peak[1] / 1024, peak[0], s_end[1] / 1024, s_end[0]))
print("  CPU: %.2f %% of one core (utime+stime over %.0f s of wall time, from 5 s)" % (cpu, s_end[0] - c0[0]))
if errors:
    for e in errors:
        print("  " + e)
    if int(xruns) and (gaps or final.get("counters", {}).get("overflows")):
        print("  (jackd itself reported %s XRun(s): its dummy driver or a client of its graph in the\n"
              "   daemon's process was late, so the test's clock may have caused the overflows:\n"
              "   see its log below; a busy or paused VM does that)" % xruns)
    sys.exit(1)
print("live96k: PASS: %s min, 8 ch x %d Hz, seed %s: %d events, 0 gaps, 0 drops, %d display values "
      "at their index, pace %.4fx, CPU %.2f %%, RSS start %.1f MiB, end %.1f MiB (largest %.1f MiB), "
      "jackd XRuns %s" % (minutes, rate, seed, nev, nval, pace, cpu, s_start[1] / 1024, s_end[1] / 1024,
                          peak[1] / 1024, xruns))
PY
