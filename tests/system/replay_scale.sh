#!/usr/bin/env bash
# replay_scale.sh BUILD_DIR: input.full_scale_uv scales every amplitude.
#
# One burst file (bursts at 0.1 of full scale: 1000 uV at the default
# 10000 uV, 500 uV at 5000 and 2000 uV at 20000, all well above
# ltr.min_peak_uv = 200, so the same events are found) is replayed with the
# default scale, with -o input.full_scale_uv=5000 and with 20000. Checks:
#  - the same events (type, channel, onset and offset samples) each time,
#    and at least one LTR per channel;
#  - peak_uv, p2p_uv, rms_uv and noise_uv scale by 0.5 (and 2) within 1 %,
#    snr_db is unchanged (within 0.05 dB);
#  - a bad -o (not a number, out of range, unknown key, no '=') gives exit
#    78, the exact message on stderr and nothing on stdout.
set -euo pipefail

B=${1:?usage: replay_scale.sh BUILD_DIR}
TW="$B/twitchd"
MKWAV="$B/tools/mkwav"
for x in "$TW" "$MKWAV"; do
    [[ -x $x ]] || { echo "FAIL: $x is missing (build it first)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

f="$tmp/bursts.wav"
"$MKWAV" "$f" --rate 48000 --channels 2 --format int24 --seconds 6 --seed 7 \
    --signal burst --every 0.8 --amp 0.1 >/dev/null 2>"$tmp/mkwav.err" ||
    fail "mkwav: $(cat "$tmp/mkwav.err")"

for fs in 10000 5000 20000; do
    echo "replay_scale: replay with input.full_scale_uv=$fs"
    rc=0
    "$TW" replay -q -o "input.full_scale_uv=$fs" "$f" >"$tmp/ev_$fs" 2>"$tmp/err" || rc=$?
    ((rc == 0)) || fail "replay with full_scale_uv=$fs exited $rc: $(cat "$tmp/err")"
done

for fs in 5000 20000; do
    echo "replay_scale: amplitudes at $fs uV against 10000 uV: same events, ratio $fs/10000 +- 1 %"
    python3 - "$tmp/ev_10000" "$tmp/ev_$fs" "$fs" <<'PY' || fail "full_scale_uv=$fs: see above"
import json, sys
ref = [json.loads(l) for l in open(sys.argv[1])]
got = [json.loads(l) for l in open(sys.argv[2])]
ratio = float(sys.argv[3]) / 10000.0
key = lambda e: (e["type"], e["channel"], e["onset_sample"], e["offset_sample"])
if [key(e) for e in ref] != [key(e) for e in got]:
    print(f"the events differ:\n  10000 uV: {[key(e) for e in ref]}\n  {sys.argv[3]} uV: {[key(e) for e in got]}")
    sys.exit(1)
chans = {e["channel"] for e in ref if e["type"] == "ltr"}
if chans != {0, 1}:
    print(f"want LTRs on both channels, got them on {sorted(chans)} ({len(ref)} events)")
    sys.exit(1)
worst = 0.0
for a, b in zip(ref, got):
    for f in ("peak_uv", "p2p_uv", "rms_uv", "noise_uv"):
        r = b[f] / a[f]
        worst = max(worst, abs(r / ratio - 1))
        if abs(r / ratio - 1) > 0.01:
            print(f"{a['type']} at {a['onset_s']} s ch {a['channel']}: {f} {a[f]} -> {b[f]}, ratio {r:.4f}, want {ratio}")
            sys.exit(1)
    if abs(a["snr_db"] - b["snr_db"]) > 0.05:
        print(f"snr_db changed: {a['snr_db']} -> {b['snr_db']}")
        sys.exit(1)
print(f"  ok: {len(ref)} events, amplitude ratios within {worst * 100:.3f} % of {ratio}")
PY
done

# Bad overrides: exit 78 (EX_CONFIG), the message, nothing on stdout.
check_bad() {
    local arg=$1 want=$2
    echo "replay_scale: -o $arg: want exit 78 and '$want'"
    local rc=0
    "$TW" replay -o "$arg" "$f" >"$tmp/out" 2>"$tmp/err" || rc=$?
    ((rc == 78)) || fail "-o $arg: exit $rc, want 78 (stderr: $(cat "$tmp/err"))"
    grep -qxF -- "$want" "$tmp/err" || fail "-o $arg: stderr lacks the line '$want': $(cat "$tmp/err")"
    [[ ! -s $tmp/out ]] || fail "-o $arg: stdout is not empty"
    echo "  ok"
}
check_bad "input.full_scale_uv=abc" \
    "twitchd replay: -o input.full_scale_uv=abc: not a number (allowed 1 .. 9999999 uV)"
check_bad "input.full_scale_uv=0" \
    "twitchd replay: -o input.full_scale_uv=0: out of range (allowed 1 .. 9999999 uV)"
check_bad "input.full_scale=5000" \
    "twitchd replay: -o input.full_scale=5000: unknown key 'input.full_scale'"
check_bad "input.full_scale_uv" \
    "twitchd replay: -o input.full_scale_uv: expected SECTION.KEY=VALUE"
echo "replay_scale: PASS"
