#!/usr/bin/env bash
# The real PortAudio capture path, end to end, without a sound card: a
# synthetic recording is fed as raw float32 through ALSA's file plugin
# (docs/testing-without-hardware.md, tier 1) into `twitchd run`, and the
# journal must hold exactly the events `twitchd replay` finds in the same
# file (same samples, same pipeline, other block sizes). $1: build dir.
set -euo pipefail
build=${1:?usage: daemon_portaudio.sh BUILD_DIR}
tw="$build/twitchd"
repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "portaudio: synthetic input (seed 23, 14 s)"
"$tw" synth --seed 23 --seconds 14 -o ltr_per_min=30 -o epn_per_min=6 -o guard_s=0.5 \
    "$tmp/in.wav" 2>/dev/null
# the fixture: the WAV's data chunk, raw float32 little-endian
python3 - "$tmp/in.wav" "$tmp/in.raw" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
assert d[:4] == b'RIFF' and d[8:12] == b'WAVE'
i = 12
while i < len(d):
    cid, n = d[i:i + 4], struct.unpack('<I', d[i + 4:i + 8])[0]
    if cid == b'data':
        open(sys.argv[2], 'wb').write(d[i + 8:i + 8 + n])
        break
    i += 8 + n + (n & 1)
PY
"$tw" replay -q "$tmp/in.wav" >"$tmp/replay.jsonl"

echo "portaudio: twitchd run -o input.source=portaudio -o input.device=emg_test"
ALSA_CONFIG_PATH="$repo/tests/data/alsa-tier1.conf" EMG_TEST_INFILE="$tmp/in.raw" \
JACK_NO_START_SERVER=1 timeout 60 "$tw" run -o input.source=portaudio -o input.device=emg_test \
    -o input.format=float32 -o input.frames_per_buffer=256 -o input.ring_blocks=65536 \
    -o input.duration_s=14 -o journal.dir="$tmp/journal" -o record.mode=off \
    -o "publish.endpoint=tcp://127.0.0.1:*" 2>"$tmp/run.err" || {
    grep -v "Cannot connect" "$tmp/run.err"; echo "FAIL: twitchd run exited $?"; exit 1; }
grep -q "ALSA: emg_test" "$tmp/run.err" || { cat "$tmp/run.err"; echo "FAIL: not the emg_test device"; exit 1; }

python3 - "$tmp" <<'PY'
import glob, json, os, sys
tmp = sys.argv[1]
replay = [json.loads(l) for l in open(os.path.join(tmp, "replay.jsonl"))]
journal = []
for f in sorted(glob.glob(os.path.join(tmp, "journal", "*.jsonl"))):
    journal += [json.loads(l) for l in open(f)]
wire = ("v", "topic", "stream", "seq", "sample", "rate", "clock", "emitted_s", "id")
live = [{k: v for k, v in e.items() if k not in wire} for e in journal if e["topic"].startswith("evt.")]
gaps = [e for e in journal if e["topic"] == "gap"]
ref = [{k: v for k, v in e.items() if k != "emitted_s"} for e in replay]
if gaps:
    sys.exit("FAIL: %d gaps on the capture path: %s" % (len(gaps), gaps[0]))
if live != ref or not ref:
    print("replay :", len(ref), "events"); print("live   :", len(live), "events")
    for a, b in zip(ref, live):
        if a != b:
            print(" first difference:\n  ", a, "\n  ", b); break
    sys.exit("FAIL: the events through PortAudio differ from replay")
print("  %d events through PortAudio, identical to replay (no gap)" % len(live))
PY
echo "portaudio: OK"
