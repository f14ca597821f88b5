#!/usr/bin/env bash
# tw-test: exclusive (run alone by tests/run.sh: it measures the monitor's latency and timing)
# monitor_portaudio.sh BUILD_DIR: the audio monitor (daemon/monitor/) on
# the real PortAudio output path, without a sound card: PortAudio plays
# into pcm.emg_out, ALSA's file plugin, which writes every sample it is
# given to a file ($EMG_TEST_OUTFILE, raw float32 mono) and passes it on
# to the ALSA jack plugin, paced at real time by a JACK server with the
# dummy driver (256-frame periods) - the output twin of the capture tests'
# tier 2 (tests/data/alsa-tier2.conf).
#
# 1. A known input through the file source (real-time pace): 2 channels at
#    48 kHz; channel 0 a 611 Hz tone of 100 uV, channel 1 (the one played)
#    2 uV of noise throughout, 20 uV of white noise from 1.5 s to 6 s, a
#    437 Hz tone of 20 uV from 3.5 s to 6 s, and a 5 mV step at 6.5 s; the
#    monitor on channel 1 at +40 dB. tests/tools/condtap gives the
#    conditioned signal of channel 1 as the detectors see it (6 kHz);
#    upsampled to 48 kHz (band-limited, by FFT) and scaled by the gain
#    (10^(40/20) / 10 mV full scale) it is what the file must hold:
#    - the file holds it: over 1.8 .. 5.9 s, in windows of 100 ms, the
#      correlation at each window's best lag is at least 0.98 (in every
#      window but those a glitch counted in status spoilt: an underrun, an
#      overrun, a device underflow; on a busy machine there are some; at
#      least half of them), and from one good window to the next the lag
#      moves by less than one input block (256 samples) but where such a
#      glitch moved it: it is sample-aligned within a block;
#    - the amplitude: the 437 Hz tone in the file (least squares, median
#      of the windows of 3.8 .. 4.9 s, each at its own lag) is the
#      conditioned tone x gain within 0.5 dB, and the input's 20 uV x gain
#      within 1 dB (the mains canceller's comb lifts 437 Hz a little); the
#      RMS ratio file / conditioned x gain is within 0.5 dB (median of the
#      windows up to 4.9 s); channel 0's 611 Hz is at least 30 dB below
#      what channel 0 would give (it is channel 1's noise there);
#    - run-time gain: `monitor gain_db:=34` sent when 5.0 s of input are
#      processed: the tone over 5.3 .. 5.9 s is 6 dB lower (within 0.5
#      dB);
#    - the 5 mV step (25 x full scale at +34 dB) comes through (its peak
#      reaches 0.5) but nothing in the whole file exceeds the limiter's
#      ceiling (-1 dBFS), so nothing reaches full scale; status: clipped 0;
#    - mute: `monitor mute=on` sent at 7.6 s of input: exact zeros in the
#      file from 8.05 s of input to the end;
#    - status while playing: state "playing" (or "muted" at the end), the
#      device 'emg_out', rate 48000; latency_ms (source hand-over to
#      output buffer, PortAudio's output buffer and the input's block not
#      included) at most 20 ms on average over the run; the figures are
#      printed.
# 2. A missing output device (monitor.device = nosuchdev), synthetic input
#    with LTRs and EPN, a subscriber connected: status.monitor says
#    "error" with "no output device matches 'nosuchdev'" (the log too),
#    the daemon says "running", and events keep being journaled and
#    published (the subscriber gets evt.* and sts). The monitor command
#    works all the same: bad values are refused with their range (channel
#    5 of 2, gain 70 dB, mute "maybe"), good ones applied and shown by
#    status (mix, 12 dB, muted).
# Each daemon exits with status 0 and no sanitizer report.
set -euo pipefail
. "$(dirname "$0")/lib/common.bash" "$1" monitor_portaudio
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/jack.bash"
PY=/usr/bin/python3
CONDTAP="$B/tools/condtap"
[[ -x $CONDTAP ]] || fail "$CONDTAP is missing (make unit-bins)"
$PY -c 'import numpy' 2>/dev/null || fail "$PY has no numpy (make deps installs python3-numpy)"
tw_jack_need
pid= spid=
cleanup() {
    local p
    for p in "$pid" "$spid"; do
        [[ -n $p ]] || continue
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    tw_jack_stop
    rm -rf "$T"
}
trap cleanup EXIT

tw_jack_start "$T/jackd.log" twmon -d dummy -r 48000 -p 256 -C 2 -P 2 ||
    fail "jackd did not start: $(cat "$T/jackd.log")"
cat >"$T/alsa.conf" <<'EOF'
pcm.emg_out {
    type file
    slave.pcm {
        type jack
        playback_ports { 0 system:playback_1 }
    }
    file {
        @func getenv
        vars [ EMG_TEST_OUTFILE ]
        default "/dev/null"
    }
    format "raw"
}
pcm.default {
    type plug
    slave.pcm "emg_out"
}
EOF
export ALSA_CONFIG_PATH="$T/alsa.conf" JACK_NO_START_SERVER=1 JACK_DEFAULT_SERVER="$TW_JACK_NAME"
export EMG_TEST_OUTFILE="$T/out.raw"
CTL="ipc://$T/ctl"

# ---- 1. a known input, played on channel 1 at +40 dB -----------------------
$PY - "$T/in.wav" <<'PY'
import math, random, struct, sys
rate, secs, full = 48000, 8.5, 10000.0
rng = random.Random(15)
frames = []
for i in range(int(rate * secs)):
    t = i / rate
    a = rng.gauss(0, 2.0) + 100.0 * math.sin(2 * math.pi * 611.0 * t)
    b = rng.gauss(0, 2.0)
    if 1.5 <= t < 6.0:
        b += rng.gauss(0, 20.0)
    if 3.5 <= t < 6.0:
        b += 20.0 * math.sin(2 * math.pi * 437.0 * t)
    if t >= 6.5:
        b += 5000.0
    frames.append(struct.pack('<ff', a / full, b / full))
data = b''.join(frames)
fmt = struct.pack('<HHIIHH', 3, 2, rate, rate * 8, 8, 32)   # IEEE float, 2 ch
body = b'WAVE' + b'fmt ' + struct.pack('<I', len(fmt)) + fmt + b'data' + struct.pack('<I', len(data)) + data
open(sys.argv[1], 'wb').write(b'RIFF' + struct.pack('<I', len(body)) + body)
PY
"$CONDTAP" "$T/in.wav" 1 "$T/expected.raw" >"$T/condtap.out" || fail "condtap"
grep -q '^rate 6000 ' "$T/condtap.out" || fail "condtap: $(cat "$T/condtap.out") (want the 6 kHz detector rate)"

echo "monitor: file input, channel 1 at +40 dB on emg_out (ALSA file plugin -> jack, 48 kHz)"
"$TW" run -o input.source=file -o "input.path=$T/in.wav" -o "journal.dir=$T/journal" \
    -o record.mode=off -o "publish.endpoint=ipc://$T/pub" -o "control.endpoint=$CTL" \
    -o monitor.enabled=true -o monitor.device=emg_out -o monitor.channel=1 \
    -o monitor.gain_db=40 >"$T/out" 2>"$T/log" </dev/null &
pid=$!
: >"$T/sts.jsonl"
sent_gain=0 sent_mute=0
while kill -0 "$pid" 2>/dev/null; do
    st=$("$TW" ctl -e "$CTL" -t 1000 status 2>/dev/null) || { sleep 0.05; continue; }
    echo "$st" | jq -c '{samples, monitor}' >>"$T/sts.jsonl"
    samples=$(echo "$st" | jq '.samples')
    if ((!sent_gain && samples >= 5 * 48000)); then
        "$TW" ctl -e "$CTL" monitor gain_db:=34 >"$T/gain.reply" || fail "monitor gain_db:=34: $(cat "$T/gain.reply")"
        echo "gain $samples" >>"$T/events"
        sent_gain=1
    fi
    if ((!sent_mute && samples >= 76 * 4800)); then
        "$TW" ctl -e "$CTL" monitor mute=on >"$T/mute.reply" || fail "monitor mute=on: $(cat "$T/mute.reply")"
        echo "mute $samples" >>"$T/events"
        sent_mute=1
    fi
    sleep 0.1
done
rc=0
wait "$pid" || rc=$?
pid=
((rc == 0)) || fail "twitchd run exited $rc"
san_check() {
    if grep -E "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$T/log"; then
        fail "sanitizer report"
    fi
}
san_check
((sent_gain && sent_mute)) || fail "the run ended before the gain and mute commands were sent"
grep -q "monitor: playing channel 1 on ALSA: emg_out" "$T/log" || fail "no 'monitor: playing channel 1 on ALSA: emg_out' line"
jq -e '.monitor.gain_db == 34' "$T/gain.reply" >/dev/null || fail "gain reply: $(cat "$T/gain.reply")"
jq -e '.monitor.mute == true' "$T/mute.reply" >/dev/null || fail "mute reply: $(cat "$T/mute.reply")"
[[ -s $T/out.raw ]] || fail "the output file is empty"

$PY - "$T" <<'PY' || fail "the output file does not hold what the monitor should play"
import json, sys
import numpy as np
T = sys.argv[1]
fs, up, full = 48000, 8, 10000.0
g40, g34 = 10 ** (40 / 20) / full, 10 ** (34 / 20) / full
out = np.fromfile(T + "/out.raw", dtype="<f4").astype(np.float64)
e6 = np.fromfile(T + "/expected.raw", dtype="<f4").astype(np.float64)
n = len(e6)
Y = np.zeros(n * up // 2 + 1, dtype=complex)
X = np.fft.rfft(e6)
Y[:len(X)] = X
exp = np.fft.irfft(Y, n * up) * up           # the conditioned signal at 48 kHz, uV
sts = [json.loads(l) for l in open(T + "/sts.jsonl")]
mon = [s["monitor"] for s in sts]
events = dict(l.split() for l in open(T + "/events"))
fails = []

# the lag (output index = input index + lag) over 1.8 .. 2.8 s
a, b = int(1.8 * fs), int(2.8 * fs)
seg = exp[a:b] * g40
N = 1 << int(np.ceil(np.log2(len(out) + len(seg))))
c = np.fft.irfft(np.fft.rfft(out, N) * np.conj(np.fft.rfft(seg, N)), N)[:len(out)]
lag = int(np.argmax(c)) - a
print("  the input's sample i is the file's sample i %+d (%.1f ms: the device opening, "
      "priming and buffers)" % (lag, lag / fs * 1e3))
# windows of 100 ms from 1.8 s to 5.9 s (the noise ends at 6 s): each
# window's own lag, the best within 100 ms of the previous one (the
# normalised correlation is blind to the gain)
BLOCK, W = 256, 4800
track = []  # (input s, lag, correlation)
prev = lag
for s in range(int(1.8 * fs), int(5.9 * fs) - W + 1, W):
    e = exp[s:s + W]
    lo = max(0, s + prev - W)
    o = out[lo:s + prev + 2 * W]
    if len(o) < W:
        break
    cc = np.correlate(o, e, mode="valid")
    en = np.sqrt(np.convolve(o * o, np.ones(W), mode="valid"))
    v = cc / (en * np.linalg.norm(e) + 1e-30)
    k = int(np.argmax(v))
    d = lo + k - s
    track.append((s, d, float(v[k])))
    if v[k] >= 0.98:
        prev = d
good = [(s, d) for s, d, v in track if v >= 0.98]
jumps = [(s1, d1 - d0) for (s0, d0), (s1, d1) in zip(good, good[1:]) if abs(d1 - d0) > BLOCK]
glitches = mon[-1]["underruns"] + mon[-1]["overruns"] + mon[-1]["device_underflows"]
ratios = []
for s, d in good:
    if s < 4.9 * fs:
        e = exp[s:s + W] * g40
        ratios.append(20 * np.log10(np.std(out[s + d:s + d + W]) / np.std(e)))
print("  %d of %d windows of 100 ms hold the conditioned signal (correlation >= 0.98); "
      "RMS file / expected x gain: median %+.3f dB; the lag moved by more than a block %s "
      "(glitches counted in status: %d)"
      % (len(good), len(track), float(np.median(ratios)) if ratios else float("nan"),
         ", ".join("at %.1f s by %+d" % (s / fs, j) for s, j in jumps) or "never", glitches))
if len(track) - len(good) > glitches or len(good) < 0.5 * len(track):
    fails.append("only %d of %d windows hold the conditioned signal (%d glitches counted)"
                 % (len(good), len(track), glitches))
if len(jumps) > glitches:
    fails.append("the alignment moved %d times, but %d glitches were counted" % (len(jumps), glitches))
if not ratios or abs(np.median(ratios)) > 0.5:
    fails.append("RMS ratio file / expected off by more than 0.5 dB")

FREQS = (437.0, 611.0)  # the two tones, fitted together (no leakage of one into the other)

def amp(x, f):
    t = np.arange(len(x)) / fs
    A = np.stack([g(2 * np.pi * q * t) for q in FREQS for g in (np.sin, np.cos)], axis=1)
    coef = np.linalg.lstsq(A, x, rcond=None)[0]
    i = FREQS.index(f)
    return float(np.hypot(coef[2 * i], coef[2 * i + 1]))

def tone(t0, t1, f, src=None):
    """median over the good windows in [t0, t1) of f's amplitude in the
    file (src None) at each window's lag, or in src (input time)"""
    v = [amp(out[s + d:s + d + W] if src is None else src[s:s + W], f)
         for s, d in good if t0 * fs <= s and s + W <= t1 * fs]
    return float(np.median(v)) if v else float("nan")

t40 = tone(3.8, 4.9, 437.0)
e40 = tone(3.8, 4.9, 437.0, exp) * g40
d_exp, d_in = 20 * np.log10(t40 / e40), 20 * np.log10(t40 / (20.0 * g40))
print("  437 Hz at +40 dB: %.5f in the file, conditioned x gain %.5f (%+.3f dB), "
      "input x gain %.5f (%+.3f dB)" % (t40, e40, d_exp, 20.0 * g40, d_in))
if not abs(d_exp) <= 0.5:
    fails.append("the tone is %+.3f dB off the conditioned signal x gain" % d_exp)
if not abs(d_in) <= 1.0:
    fails.append("the tone is %+.3f dB off the input x gain" % d_in)
other = tone(3.8, 4.9, 611.0)   # channel 0's tone would give 100 uV x gain = 1.0
below = 20 * np.log10(100.0 * g40 / max(other, 1e-12))
print("  611 Hz (channel 0's tone): %.5f, %.1f dB below what channel 0 would give (the noise "
      "of channel 1 there: %.5f)" % (other, below, tone(3.8, 4.9, 611.0, exp) * g40))
if not below >= 30.0:
    fails.append("channel 0 leaks into the output (611 Hz at %.5f)" % other)
gain_at = int(events["gain"]) / fs
t34 = tone(5.3, 5.9, 437.0)
d_gain = 20 * np.log10(t34 / t40)
print("  gain_db 40 -> 34 at %.2f s of input: the tone %+.3f dB" % (gain_at, d_gain))
if gain_at > 5.25 or not abs(d_gain + 6.0) <= 0.5:
    fails.append("run-time gain: %+.3f dB (want -6), sent at %.2f s" % (d_gain, gain_at))
lag = good[-1][1] if good else lag  # from here on: the latest lag

# the step at 6.5 s: 5 mV x 10^(34/20) / 10 mV = 25 x full scale before
# the limiter; nothing in the whole file ever exceeds the ceiling
pk_all = float(np.max(np.abs(out)))
pk = float(np.max(np.abs(out[int(6.3 * fs) + lag:int(7.6 * fs) + lag])))
print("  the 5 mV step at +34 dB: peak %.6f, in the whole file %.6f (ceiling -1 dBFS = "
      "0.891251)" % (pk, pk_all))
if pk_all >= 1.0 or pk_all > 0.891251 * 1.0001:
    fails.append("the file reached %.6f: above the limiter's ceiling" % pk_all)
if pk < 0.5:
    fails.append("the step did not come through (peak %.3f)" % pk)

# mute at 7.6 s: zeros from 8.05 s of input to the end of its signal
mute_at = int(events["mute"]) / fs
tail = out[int(8.05 * fs) + lag:int(8.45 * fs) + lag]
print("  mute at %.2f s of input: %d samples after 8.05 s, largest |x| %.3g"
      % (mute_at, len(tail), float(np.max(np.abs(tail))) if len(tail) else -1))
if mute_at > 7.95 or not len(tail) or np.any(tail != 0.0):
    fails.append("not silent after mute")
pre = out[int(7.0 * fs) + lag:int(7.5 * fs) + lag]
if float(np.std(pre)) == 0.0:
    fails.append("silent before mute")

# status while playing
playing = [m for m in mon if m["state"] in ("playing", "muted")]
if not playing:
    fails.append("status never said playing")
else:
    m = playing[-1]
    if "emg_out" not in m["device"] or m["rate"] != 48000 or m["channel"] != 1:
        fails.append("status: device %s, rate %s, channel %s" % (m["device"], m["rate"], m["channel"]))
    if m["clipped"] != 0:
        fails.append("the clip guard cut %d samples" % m["clipped"])
lat = [m["latency_ms"] for m in playing if m.get("latency_ms") is not None]
latmax = [m["latency_max_ms"] for m in playing if m.get("latency_max_ms") is not None]
last = mon[-1]
print("  latency (source hand-over -> output buffer): mean %.2f ms (windows %.2f .. %.2f), "
      "largest %.2f ms; buffer %s ms; output device %s ms (PortAudio), dac %s ms"
      % (float(np.mean(lat)), min(lat), max(lat), max(latmax), last["buffer_ms"],
         last["output_latency_ms"], last["dac_ms"]))
print("  underruns %d, overruns %d (%d samples), device underflows %d, engine drops %d"
      % (last["underruns"], last["overruns"], last["dropped_samples"],
         last["device_underflows"], last["engine_dropped"]))
def when(key):
    return ["%.1f" % (s["samples"] / fs) for p, s in zip(sts, sts[1:])
            if s["monitor"][key] > p["monitor"][key]]
print("  (seen by status at s of input: underruns %s, overruns %s)" % (when("underruns"), when("overruns")))
if float(np.mean(lat)) > 20.0:
    fails.append("mean latency %.2f ms > 20 ms" % float(np.mean(lat)))
for f in fails:
    print("FAIL: " + f)
sys.exit(1 if fails else 0)
PY
ok "the file holds channel 1's conditioned signal x gain; gain, limiter, mute and latency as asked"

# ---- 2. a missing output device ---------------------------------------------
echo "monitor: monitor.device = nosuchdev, synthetic input with events, a subscriber"
rm -rf "$T/journal"
"$TW" run -o input.source=synth -o input.channels=2 -o synth.seed=5 -o synth.ltr_per_min=60 \
    -o synth.epn_per_min=10 -o synth.guard_s=0.5 -o "journal.dir=$T/journal" -o record.mode=off \
    -o "publish.endpoint=ipc://$T/pub" -o "control.endpoint=$CTL" -o publish.heartbeat_s=0.5 \
    -o monitor.enabled=true -o monitor.device=nosuchdev >"$T/out" 2>"$T/log" </dev/null &
pid=$!
for _ in $(seq 100); do grep -q 'running: 2 channels' "$T/log" && break; sleep 0.1; done
"$TW" sub "ipc://$T/pub" evt. sts >"$T/sub.out" 2>"$T/sub.err" </dev/null &
spid=$!
sleep 8
st=$("$TW" ctl -e "$CTL" status) || fail "status: $st"
echo "$st" | jq -e '.monitor.state == "error" and (.monitor.error | test("no output device matches .nosuchdev."))' \
    >/dev/null || fail "status.monitor: $(echo "$st" | jq -c .monitor)"
echo "$st" | jq -e '.state == "running"' >/dev/null || fail "state: $(echo "$st" | jq -c .state)"
grep -q "monitor: monitor.device 'nosuchdev': no output device matches 'nosuchdev'" "$T/log" ||
    fail "the log does not say the device is missing"
ok "status and the log say: $(echo "$st" | jq -r .monitor.error | cut -c1-90)..."
# the command all the same
expect_err() {
    local want=$1
    shift
    local r
    if r=$("$TW" ctl -e "$CTL" monitor "$@" 2>/dev/null); then
        fail "monitor $*: accepted ($r)"
    fi
    [[ $r == *"$want"* ]] || fail "monitor $*: $r (want '$want')"
}
expect_err "monitor: 'channel' = 5: the input has 2 channels (allowed 0 .. 1|mix)" channel=5
expect_err "monitor: 'channel' must be a channel number or \\\"mix\\\" (allowed 0 .. 1|mix)" channel=left
expect_err "monitor: 'gain_db' = 70 (allowed -40 .. 60 dB)" gain_db:=70
expect_err "monitor: 'mute' must be true or false (on or off)" mute=maybe
r=$("$TW" ctl -e "$CTL" monitor channel=mix gain_db:=12 mute=on) || fail "monitor channel=mix ...: $r"
echo "$r" | jq -e '.monitor.channel == "mix" and .monitor.gain_db == 12 and .monitor.mute == true' \
    >/dev/null || fail "monitor reply: $r"
"$TW" ctl -e "$CTL" status | jq -e '.monitor.channel == "mix" and .monitor.gain_db == 12' \
    >/dev/null || fail "status after the monitor command"
ok "the monitor command: bad values refused with their range, good ones applied"
sleep 1
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
((rc == 0)) || fail "twitchd run exited $rc after SIGTERM"
san_check
kill -TERM "$spid" 2>/dev/null || true
wait "$spid" 2>/dev/null || true
spid=
nj=$(cat "$T"/journal/*.jsonl | grep -c '"topic":"evt\.\(ltr\|epn\)"' || true)
ns=$(grep -c '"topic":"evt\.\(ltr\|epn\)"' "$T/sub.out" || true)
nh=$(grep -c '"topic":"sts"' "$T/sub.out" || true)
((nj > 0 && ns > 0 && nh > 0)) ||
    fail "events journaled $nj, published to the subscriber $ns, heartbeats $nh (want all > 0)"
ok "capture, journal and publishing went on: $nj events journaled, $ns received, $nh heartbeats"
echo "monitor_portaudio: all passed"
