#!/usr/bin/env bash
# replay_formats.sh BUILD_DIR: `twitchd replay` over a cross-section of
# file formats (WAV int16/int24/int32/float, FLAC 16/24 bit), channel
# counts (1, 2, 8) and rates (250 Hz .. 192 kHz), files made by mkwav.
#
# For each case it checks that replay exits 0 and prints only JSON objects,
# one per line, on stdout, that the summary on stderr names the channel
# count, rate and sample format; that a burst file gives one LTR per burst,
# on the burst's channel, with its onset within +-10 ms of the burst's,
# and nothing else (no extra LTR, no EPN); that the same format with quiet
# noise only, and with digital silence, gives no event at all.
set -euo pipefail

B=${1:?usage: replay_formats.sh BUILD_DIR}
TW="$B/twitchd"
MKWAV="$B/tools/mkwav"
for x in "$TW" "$MKWAV"; do
    [[ -x $x ]] || { echo "FAIL: $x is missing (build it first)" >&2; exit 1; }
done
command -v python3 >/dev/null || { echo "FAIL: python3 is needed to check JSON" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# check_events EVENTS EXPECTED|none: EVENTS holds only JSON objects, one per
# line; with EXPECTED (mkwav's burst list) every burst has exactly one LTR
# on its channel with onset within 10 ms and there is no other event; with
# none there is no event at all.
check_events() {
    python3 - "$1" "$2" <<'PY'
import json, sys
events_path, expected_path = sys.argv[1], sys.argv[2]
events = []
with open(events_path) as f:
    for n, line in enumerate(f, 1):
        try:
            e = json.loads(line)
        except ValueError as err:
            sys.exit(f"stdout line {n} is not JSON ({err}): {line!r}")
        if not isinstance(e, dict) or "type" not in e:
            sys.exit(f"stdout line {n} is not an event object: {line!r}")
        events.append(e)
if expected_path == "none":
    if events:
        sys.exit(f"want no event, got {len(events)}: {events[0]}")
    sys.exit(0)
with open(expected_path) as f:
    want = [json.loads(l) for l in f if l.strip()]
if not want:
    sys.exit("mkwav placed no burst (fixture too short?)")
ltr = [e for e in events if e["type"] == "ltr"]
other = [e for e in events if e["type"] != "ltr"]
if other:
    sys.exit(f"unexpected non-LTR events, first: {other[0]}")
used = set()
worst = 0.0
for w in want:
    hits = [i for i, e in enumerate(ltr)
            if e["channel"] == w["channel"] and abs(e["onset_s"] - w["onset_s"]) <= 0.010]
    if len(hits) != 1:
        near = [(e["channel"], e["onset_s"]) for e in ltr]
        sys.exit(f"burst at {w['onset_s']:.4f} s on channel {w['channel']}: "
                 f"{len(hits)} LTRs within 10 ms (LTRs: {near})")
    used.add(hits[0])
    worst = max(worst, abs(ltr[hits[0]]["onset_s"] - w["onset_s"]))
extra = [ltr[i] for i in range(len(ltr)) if i not in used]
if extra:
    sys.exit(f"{len(extra)} LTRs where no burst was placed, first: {extra[0]}")
print(f"{len(want)} LTRs, worst onset error {worst * 1e3:.2f} ms")
PY
}

# format channels rate: a cross-section, every format, channel count and
# rate at least once, and the extremes combined (8 channels at 192 kHz).
cases=(
    "int16  1 48000"
    "int16  8 1000"
    "int24  2 44100"
    "int24  1 192000"
    "int32  8 96000"
    "int32  1 4000"
    "float  1 250"
    "float  2 1000"
    "float  8 4000"
    "flac16 2 48000"
    "flac16 1 4000"
    "flac24 8 192000"
    "flac24 1 250"
)

declare -A subtype=([int16]=int16 [int24]=int24 [int32]=int32 [float]=float32
                    [flac16]=int16 [flac24]=int24)

n=0
for c in "${cases[@]}"; do
    read -r fmt ch rate <<<"$c"
    ext=wav
    [[ $fmt == flac* ]] && ext=flac
    for signal in burst noise silence; do
        # Silence (a noise floor of exactly 0) on the mono files only.
        [[ $signal == silence && $ch != 1 ]] && continue
        f="$tmp/${fmt}_${ch}ch_${rate}_$signal.$ext"
        what="$fmt, $ch channel(s), $rate Hz, $signal"
        echo "replay_formats: $what"
        # 8 bursts 0.7 s apart, rotating over the channels.
        "$MKWAV" "$f" --rate "$rate" --channels "$ch" --format "$fmt" \
            --seconds 6.5 --seed $((1000 + n)) --signal "$signal" \
            --every 0.7 --amp 0.1 >"$tmp/expected" 2>"$tmp/mkwav.err" ||
            fail "$what: mkwav failed: $(cat "$tmp/mkwav.err")"
        rc=0
        "$TW" replay "$f" >"$tmp/out" 2>"$tmp/err" || rc=$?
        if ((rc != 0)); then
            cat "$tmp/err" >&2
            fail "$what: twitchd replay exited $rc (want 0)"
        fi
        s=""
        ((ch > 1)) && s=s
        grep -q "$ch channel$s at $rate Hz" "$tmp/err" ||
            fail "$what: stderr summary does not say '$ch channel$s at $rate Hz': $(cat "$tmp/err")"
        grep -q " ${subtype[$fmt]})" "$tmp/err" ||
            fail "$what: stderr summary does not name the sample format ${subtype[$fmt]}: $(cat "$tmp/err")"
        if [[ $signal == burst ]]; then
            msg=$(check_events "$tmp/out" "$tmp/expected" 2>&1) ||
                fail "$what: $msg"
        else
            msg=$(check_events "$tmp/out" none 2>&1) || fail "$what: $msg"
            msg="no events"
        fi
        echo "  ok: exit 0, only JSON lines, $msg"
        n=$((n + 1))
    done
done
echo "replay_formats: PASS ($n files)"
