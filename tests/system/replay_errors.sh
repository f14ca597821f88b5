#!/usr/bin/env bash
# replay_errors.sh BUILD_DIR: `twitchd replay` on inputs it must refuse.
#
# Checks, each on its own (all are run; the script fails if any failed):
#  - a missing file: exit 66, one line on stderr naming the file;
#  - an empty file, and a text file named .wav: exit 65, one line naming
#    the file with a reason;
#  - a directory: exit 65, one line naming it ("directory");
#  - a WAV cut in half with head -c: non-zero exit, the message names the
#    file and says "truncated" (a file that ends before the length its
#    header gives must not pass as a shorter recording);
#  - a FLAC cut in half: non-zero exit, a message naming the file;
#  - an AIFF whose COMM chunk claims 2^31 frames and whose SSND chunk holds
#    1000: exit 65, one line naming the file, "the header and the data
#    disagree" with both counts (the same file with 1000 claimed passes);
#  - 9 channels, 100 Hz and 200 kHz: exit 65, one line naming the file and
#    the allowed range ("allowed 1 .. 8", "allowed 250 .. 192000 Hz");
#  - in every case stdout holds nothing but JSON lines (nothing at all when
#    the file is refused before reading).
set -euo pipefail

B=${1:?usage: replay_errors.sh BUILD_DIR}
TW="$B/twitchd"
MKWAV="$B/tools/mkwav"
for x in "$TW" "$MKWAV"; do
    [[ -x $x ]] || { echo "FAIL: $x is missing (build it first)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

failures=0
bad() {
    echo "  FAIL: $*" >&2
    failures=$((failures + 1))
}

# stdout_is_json FILE: every line of FILE is a JSON object.
stdout_is_json() {
    python3 - "$1" <<'PY'
import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    try:
        assert isinstance(json.loads(line), dict)
    except Exception:
        sys.exit(f"stdout line {n} is not a JSON object: {line!r}")
PY
}

# refuse WHAT FILE WANT_RC PATTERN [any-stdout]: replay FILE must exit
# WANT_RC ("nonzero": any non-zero) with exactly one stderr line that names
# FILE and matches PATTERN (grep -E); stdout must be empty, or with
# any-stdout only JSON lines.
refuse() {
    local what=$1 file=$2 want=$3 pattern=$4 any=${5:-}
    echo "replay_errors: $what: want exit $want and one line naming the file matching /$pattern/"
    local rc=0
    "$TW" replay "$file" >"$tmp/out" 2>"$tmp/err" || rc=$?
    local lines
    lines=$(wc -l <"$tmp/err")
    if [[ $want == nonzero ]]; then
        ((rc != 0)) || bad "$what: exit 0, want non-zero (stderr: $(cat "$tmp/err"))"
    else
        ((rc == want)) || bad "$what: exit $rc, want $want (stderr: $(cat "$tmp/err"))"
    fi
    ((lines == 1)) || bad "$what: $lines lines on stderr, want 1: $(cat "$tmp/err")"
    grep -qF -- "$file" "$tmp/err" || bad "$what: stderr does not name $file: $(cat "$tmp/err")"
    grep -qE -- "$pattern" "$tmp/err" || bad "$what: stderr does not match /$pattern/: $(cat "$tmp/err")"
    if [[ -z $any ]]; then
        [[ ! -s $tmp/out ]] || bad "$what: stdout is not empty: $(head -c 300 "$tmp/out")"
    else
        local msg
        msg=$(stdout_is_json "$tmp/out" 2>&1) || bad "$what: $msg"
    fi
    echo "  got exit $rc: $(head -n 3 "$tmp/err")"
}

mk() { "$MKWAV" "$@" >/dev/null 2>"$tmp/mkwav.err" || { cat "$tmp/mkwav.err" >&2; exit 1; }; }

# Missing file.
refuse "missing file" "$tmp/no-such-file.wav" 66 "No such file"

# Empty file and text in a .wav.
: >"$tmp/empty.wav"
refuse "empty file" "$tmp/empty.wav" 65 "not a readable audio file|no samples"
printf 'this is not audio\n%.0s' {1..50} >"$tmp/text.wav"
refuse "text file named .wav" "$tmp/text.wav" 65 "not a readable audio file"

# A directory.
mkdir "$tmp/dir.wav"
refuse "directory" "$tmp/dir.wav" 65 "directory"

# Truncated WAV: 4 s of bursts, cut in half (mid-sample on purpose: odd
# byte count).
mk "$tmp/whole.wav" --rate 48000 --channels 2 --format int16 --seconds 4 --signal burst --every 1
size=$(stat -c %s "$tmp/whole.wav")
head -c $((size / 2 + 1)) "$tmp/whole.wav" >"$tmp/cut.wav"
refuse "WAV cut to $((size / 2 + 1)) of $size bytes" "$tmp/cut.wav" nonzero "truncated" any-stdout

# Truncated FLAC.
mk "$tmp/whole.flac" --rate 48000 --channels 2 --format flac24 --seconds 4 --signal burst --every 1
size=$(stat -c %s "$tmp/whole.flac")
head -c $((size / 2)) "$tmp/whole.flac" >"$tmp/cut.flac"
refuse "FLAC cut to $((size / 2)) of $size bytes" "$tmp/cut.flac" nonzero "." any-stdout

# An AIFF whose header (COMM) claims 2^31 frames while its body (SSND)
# holds 1000: libsndfile reads the 1000 and only notes the mismatch in its
# log; it once passed as a 0.0 s file with exit 0 (issue 13). The same
# file with the honest count is accepted.
mkaiff() { # OUT FRAMES_CLAIMED: 1000 frames of int16 mono at 48 kHz
    python3 - "$1" "$2" <<'PY'
import struct, sys
out, claimed = sys.argv[1], int(sys.argv[2])
data = b"".join(struct.pack(">h", (i * 37) % 2000 - 1000) for i in range(1000))
rate80 = bytes.fromhex("400ebb80000000000000")  # 48000 as an 80-bit extended
comm = b"COMM" + struct.pack(">IhIh", 18, 1, claimed, 16) + rate80
ssnd = b"SSND" + struct.pack(">III", 8 + len(data), 0, 0) + data
body = b"AIFF" + comm + ssnd
open(out, "wb").write(b"FORM" + struct.pack(">I", len(body)) + body)
PY
}
mkaiff "$tmp/honest.aiff" 1000
rc=0
"$TW" replay "$tmp/honest.aiff" >/dev/null 2>"$tmp/err" || rc=$?
((rc == 0)) || bad "an honest 1000-frame AIFF: exit $rc: $(cat "$tmp/err")"
mkaiff "$tmp/liar.aiff" 2147483648
refuse "AIFF claiming 2^31 frames, holding 1000" "$tmp/liar.aiff" 65 "header and the data disagree.*2147483648.*1000"

# Channel count and rate outside what replay takes.
mk "$tmp/nine.wav" --rate 8000 --channels 9 --format int16 --seconds 1
refuse "9 channels" "$tmp/nine.wav" 65 "9 channels.*allowed 1 \.\. 8"
mk "$tmp/r100.wav" --rate 100 --channels 1 --format int16 --seconds 3
refuse "100 Hz" "$tmp/r100.wav" 65 "100 Hz.*allowed 250 \.\. 192000 Hz"
mk "$tmp/r200k.wav" --rate 200000 --channels 1 --format float --seconds 0.5
refuse "200 kHz" "$tmp/r200k.wav" 65 "200000 Hz.*allowed 250 \.\. 192000 Hz"

if ((failures)); then
    echo "replay_errors: FAIL ($failures check(s) failed, see above)" >&2
    exit 1
fi
echo "replay_errors: PASS"
