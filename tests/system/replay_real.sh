#!/usr/bin/env bash
# replay_real.sh BUILD_DIR: `twitchd replay` over the real recordings in
# ${TWITCHD_REAL_DATA:-REPO/../shared/data/real} (not part of the
# repository: README.md, "Licence of the test recordings"; none of them
# holds endplate noise or an LTR). Skipped, with a message, when the
# directory is absent.
#
# Each *.wav is replayed at its native rate with its scale, from the unit
# in its name (_mV: input.full_scale_uv=1000; _rawunits and
# _adc12centered: 1) and its electrode (physionet: needle; the others are
# surface recordings: -o channel.electrodes=surface). Checks: exit 0;
# stdout holds only JSON event objects; the EPN episodes add up to less
# than 2 % of the recording. Each file's LTR count is printed, not
# asserted (LTR specificity on these files is tracked elsewhere).
set -euo pipefail

B=${1:?usage: replay_real.sh BUILD_DIR}
TW="$B/twitchd"
[[ -x $TW ]] || { echo "FAIL: $TW is missing (build it first)" >&2; exit 1; }
# beside the clone, else where the project's machines keep them
DATA=${TWITCHD_REAL_DATA:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/data/real}
[[ -n ${TWITCHD_REAL_DATA:-} || -d $DATA || ! -d /work/shared/data/real ]] || DATA=/work/shared/data/real
if [[ ! -d $DATA ]]; then
    echo "replay_real: SKIP: no real recordings at $DATA (set TWITCHD_REAL_DATA)"
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mapfile -t files < <(find "$DATA" -name '*.wav' -type f | sort)
((${#files[@]} > 0)) || fail "no *.wav under $DATA"

for f in "${files[@]}"; do
    name=${f#"$DATA"/}
    case $f in
    *_mV.wav) scale=1000 ;;
    *_rawunits.wav | *_adc12centered.wav) scale=1 ;;
    *) fail "$name: unit unknown (want a name ending _mV, _rawunits or _adc12centered .wav)" ;;
    esac
    case $name in
    *physionet*) electrode=needle ;;
    *) electrode=surface ;;
    esac
    echo "replay_real: $name (full_scale_uv=$scale, $electrode)"
    rc=0
    "$TW" replay -o "input.full_scale_uv=$scale" -o "channel.electrodes=$electrode" "$f" \
        >"$tmp/out" 2>"$tmp/err" || rc=$?
    ((rc == 0)) || fail "$name: exit $rc: $(cat "$tmp/err")"
    # The summary gives the length replay read: "...: 12.7 s, 1 channel at".
    seconds=$(sed -nE 's/.*: ([0-9]+(\.[0-9]+)?) s, [0-9]+ channels? at .*/\1/p' "$tmp/err" | tail -n 1)
    [[ -n $seconds ]] || fail "$name: no summary line on stderr: $(cat "$tmp/err")"
    python3 - "$tmp/out" "$seconds" "$name" <<'PY' || fail "$name: see above"
import json, sys
path, seconds, name = sys.argv[1], float(sys.argv[2]), sys.argv[3]
events = []
for n, line in enumerate(open(path), 1):
    try:
        e = json.loads(line)
        assert isinstance(e, dict) and e["type"] in ("ltr", "epn")
    except Exception:
        print(f"stdout line {n} is not an event object: {line!r}")
        sys.exit(1)
    events.append(e)
ltr = sum(e["type"] == "ltr" for e in events)
epn = [e for e in events if e["type"] == "epn"]
epn_s = sum(e["duration_ms"] for e in epn) / 1e3
share = 100.0 * epn_s / seconds
print(f"  {seconds:.1f} s: {ltr} LTR, {len(epn)} EPN episodes covering {epn_s:.2f} s ({share:.2f} %)")
if share >= 2.0:
    print(f"FAIL: {name}: EPN covers {share:.2f} % of the recording (want < 2 %): "
          f"{[(e['onset_s'], e['duration_ms']) for e in epn][:10]}")
    sys.exit(1)
PY
done
echo "replay_real: PASS (${#files[@]} files)"
