#!/usr/bin/env bash
# tests/fuzz/mkcorpus.sh BUILD_DIR: (re)writes the seed corpus
# tests/fuzz/corpus/NAME/ of every fuzzing harness. Deterministic: the same
# build gives the same files. Needs BUILD_DIR/twitchd and BUILD_DIR/tools/mkwav
# (make unit-bins), cc and libsndfile (for the audio formats mkwav does not
# write). The seeds are kept in git; run this only to change them.
#
# Seeds (every file < 20 kB, all < 1 MB):
#   config    config/twitchd.conf, small valid files, and files with each
#             kind of error (unknown key, bad values, syntax, long lines,
#             CRLF, BOM, NUL bytes, more errors than are kept);
#   override  one assignment per key of both key tables, with its default;
#             malformed ones; a few multi-line lists;
#   control   every command, valid, and malformed requests of each kind;
#   sndsrc    tiny files of every format libsndfile writes here (WAV in
#             each encoding, AIFF, AU, CAF, W64, RF64, FLAC, Ogg
#             Vorbis/Opus, MP3, ...), ones sndsrc must refuse (9
#             channels, rates out of range, no samples) and truncated ones;
#             EDF+/BDF+ files (another system's, twitchd's) and cut ones;
#   journal   day files with and without a partial last line (NUL bytes,
#             a partial line longer than the 4 kB read-back block, ...),
#             at lengths that reach all six scenarios of fuzz_journal.c.
set -euo pipefail

B=${1:?usage: mkcorpus.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
TW="$B/twitchd"
MKWAV="$B/tools/mkwav"
for x in "$TW" "$MKWAV"; do
    [[ -x $x ]] || { echo "mkcorpus: $x is missing (make unit-bins)" >&2; exit 1; }
done
C="$here/corpus"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- config ------------------------------------------------------------------
d="$C/config"
rm -rf "$d" && mkdir -p "$d"
cp "$top/config/twitchd.conf" "$d/twitchd.conf"
printf '' >"$d/empty.conf"
printf '# only a comment\n; and another\n\n' >"$d/comments.conf"
cat >"$d/minimal.conf" <<'X'
[input]
source = synth
rate = 8000
channels = 2
[channel]
electrodes = needle, surface
[journal]
dir = /tmp/twitchd-journal
X
cat >"$d/synth.conf" <<'X'
[input]
source = synth
pace = fast
duration_s = 0.5
[synth]
seed = 7
noise_uv = 8
mains_hz = 60
ltr_per_min = 6
X
cat >"$d/file-source.conf" <<'X'
[input]
source = file
path = /tmp/x.wav
full_scale_uv = 5000
[filter]
mains = off
needle_low_hz = 20
needle_high_hz = 5000
[record]
mode = always
format = edf
[log]
level = DEBUG
X
cat >"$d/errors.conf" <<'X'
[input]
rate = fast
channels = 9
bogus = 1
source = usb
full_scale_uv = 1e400
[filter]
needle_low_hz = 500
needle_high_hz = 100
[channel]
electrodes = needle,,surface
[nosuch]
key = value
X
cat >"$d/cross-check.conf" <<'X'
[filter]
surface_low_hz = 400
surface_high_hz = 300
[detect]
mv_max_ms = 500
flinch_max_ms = 100
[ltr]
min_ms = 500
max_ms = 100
X
printf '[input\nrate 48000\n= 5\n[]\nkey\n' >"$d/syntax.conf"
printf '[input]\r\nrate = 44100\r\nchannels = 1\r\n' >"$d/crlf.conf"
printf '\xef\xbb\xbf[input]\nrate = 22050\n' >"$d/bom.conf"
printf '[input]\nrate = 8000 ; inline comment\n  channels = 2\n\tpace = fast\n' >"$d/indent.conf"
printf '[input]\nrate = 80\x0000\ndevice = a\x00b\n' >"$d/nul.conf"
printf '[input]\nrate =   \nchannels = 0x10\nfull_scale_uv = -0\nduration_s = nan\nretry_max_s = inf\n' \
    >"$d/numbers.conf"
{
    echo "[input]"
    printf 'path = %s\n' "$(printf 'p%.0s' $(seq 1 190))"
    printf 'device = %s\n' "$(printf 'd%.0s' $(seq 1 260))"
    printf '# %s\n' "$(printf 'c%.0s' $(seq 1 300))"
} >"$d/long-lines.conf"
{
    echo "[input]"
    for i in $(seq 1 70); do echo "bad$i = $i"; done
} >"$d/many-errors.conf"
printf '[web]\nlisten = [::1]:8080\nmax_clients = 4\n[publish]\nendpoint = tcp://127.0.0.1:1,ipc:///tmp/x\n' \
    >"$d/web-publish.conf"
printf '[input]\nrate = 250\nchannels = 8\n[detect]\ndet_rate_hz = 20000\n[epn]\nwin_bins = 50\n' \
    >"$d/edges.conf"

# ---- override ------------------------------------------------------------------
d="$C/override"
rm -rf "$d" && mkdir -p "$d"
# every key of the configuration with its default, as print-config shows it
"$TW" print-config | awk -v d="$d" '
    /^\[/ { sec = substr($0, 2, length($0) - 2); next }
    /^[a-z_0-9]+ = / { k = $1; v = substr($0, length(k) + 4);
                       f = d "/" sec "." k; printf "%s.%s=%s", sec, k, v > f; close(f) }'
# the synth keys (twitchd synth --help lists them with their defaults)
"$TW" synth --help 2>&1 | awk -v d="$d" '
    /^  [a-z_0-9]+ +[^ ]/ { k = $1; v = $2; f = d "/synth." k;
                            printf "synth.%s=%s", k, v > f; close(f) }'
w() { printf '%b' "$2" >"$d/$1"; }
w bad-empty ''
w bad-noeq 'input.rate'
w bad-nodot 'rate=48000'
w bad-dotlast 'input.=5'
w bad-dotfirst '.rate=5'
w bad-eqfirst '=input.rate'
w bad-dot-after-eq 'input=a.b'
w bad-unknown 'input.nosuch=1'
w bad-section 'nosuch.rate=1'
w bad-synth-unknown 'synth.nosuch=1'
w bad-range 'input.rate=1'
w bad-notnumber 'input.full_scale_uv=abc'
w bad-fraction 'input.channels=1.5'
w bad-enum 'input.source=usb'
w bad-electrodes 'channel.electrodes=needle,'
w bad-long "input.path=$(printf 'x%.0s' $(seq 1 300))"
w bad-huge 'detect.det_rate_hz=1e999'
w enum-case 'input.source=SYNTH'
w spaces 'input.rate=48000  '
w value-with-eq 'input.device=a=b'
w value-with-dot 'input.path=/tmp/a.b.wav'
w electrodes-mixed 'channel.electrodes= needle , surface,needle'
w list 'input.source=synth\ninput.rate=8000\ninput.channels=4\nsynth.channels=4\nfilter.mains=60\n'
w list-errors 'filter.needle_low_hz=900\nfilter.needle_high_hz=100\nltr.min_ms=400\nltr.max_ms=100\n'
w list-file 'input.source=file\ninput.path=\n'

# ---- control -------------------------------------------------------------------
d="$C/control"
rm -rf "$d" && mkdir -p "$d"
w() { printf '%s' "$2" >"$d/$1"; }
w status '{"cmd":"status"}'
w session-start '{"cmd":"session.start","subject":"S01","muscle":"trapezius","side":"left","notes":"first visit"}'
w session-start-min '{"cmd":"session.start","subject":"a"}'
w session-stop '{"cmd":"session.stop"}'
w mark '{"cmd":"mark","label":"needle in"}'
w insertion '{"cmd":"insertion"}'
w insertion-label '{"cmd":"insertion","label":"deep"}'
w recalibrate '{"cmd":"recalibrate"}'
w set '{"cmd":"set","ltr.min_turns":8,"epn.peak_k":3.5,"log.level":"debug","x.y":true}'
w snapshot '{"cmd":"snapshot","events":20}'
w snapshot-string '{"cmd":"snapshot","events":"20"}'
w bad-empty ''
w bad-notjson 'status'
w bad-array '["status"]'
w bad-nocmd '{"subject":"S01"}'
w bad-cmd-type '{"cmd":7}'
w bad-cmd-unknown '{"cmd":"reboot"}'
w bad-dup '{"cmd":"mark","label":"a","label":"b"}'
w bad-label-type '{"cmd":"mark","label":5}'
w bad-label-missing '{"cmd":"mark"}'
w bad-subject-chars '{"cmd":"session.start","subject":"S 01/x"}'
w bad-subject-empty '{"cmd":"session.start","subject":""}'
w bad-control-char '{"cmd":"mark","label":"a\u0001b"}'
w bad-nul '{"cmd":"mark","label":"a\u0000b"}'
w bad-unknown-key '{"cmd":"status","verbose":1}'
w bad-events-range '{"cmd":"snapshot","events":100000}'
w bad-events-float '{"cmd":"snapshot","events":2.5}'
w bad-set-empty '{"cmd":"set"}'
w bad-set-object '{"cmd":"set","ltr.min_turns":{"a":1}}'
w bad-truncated '{"cmd":"session.start","subject":"S0'
w bad-utf8 $'{"cmd":"mark","label":"\xff\xfe"}'
w unicode '{"cmd":"mark","label":"\u00e9l\u00e8ve \u2014 ok"}'
w bad-deep "$(printf '[%.0s' $(seq 1 300))"
w bad-trailing '{"cmd":"status"} {"cmd":"status"}'
w notes-long "{\"cmd\":\"session.start\",\"subject\":\"S1\",\"notes\":\"$(printf 'n%.0s' $(seq 1 2100))\"}"

# ---- sndsrc --------------------------------------------------------------------
d="$C/sndsrc"
rm -rf "$d" && mkdir -p "$d"
mk() { "$MKWAV" "$d/$1" "${@:2}" --seed 1 >/dev/null 2>&1; }
mk wav-int16-1ch.wav --rate 8000 --channels 1 --format int16 --seconds 0.02
mk wav-int24-2ch.wav --rate 8000 --channels 2 --format int24 --seconds 0.02
mk wav-int32-1ch.wav --rate 4000 --channels 1 --format int32 --seconds 0.02
mk wav-float-8ch.wav --rate 2000 --channels 8 --format float --seconds 0.02
mk flac16-1ch.flac --rate 8000 --channels 1 --format flac16 --seconds 0.05
mk flac24-2ch.flac --rate 48000 --channels 2 --format flac24 --seconds 0.02
"$TW" synth -o rate=8000 --seed 3 --seconds 0.05 "$d/synth-8k.wav" >/dev/null 2>&1
# formats mkwav does not write, through libsndfile
cat >"$tmp/mksnd.c" <<'X'
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* mksnd OUT FORMAT_HEX RATE CHANNELS FRAMES: a sine in each channel. */
int main(int argc, char **argv)
{
    if (argc != 6)
        return 64;
    SF_INFO info = {0};
    info.format = (int)strtol(argv[2], NULL, 16);
    info.samplerate = atoi(argv[3]);
    info.channels = atoi(argv[4]);
    long frames = atol(argv[5]);
    SNDFILE *f = sf_open(argv[1], SFM_WRITE, &info);
    if (!f) {
        fprintf(stderr, "mksnd %s: %s\n", argv[1], sf_strerror(NULL));
        return 1;
    }
    float *x = calloc((size_t)(frames * info.channels), sizeof *x);
    for (long i = 0; i < frames; i++)
        for (int c = 0; c < info.channels; c++)
            x[i * info.channels + c] = 0.5f * (float)sin(0.05 * (double)i * (c + 1));
    sf_writef_float(f, x, frames);
    sf_close(f);
    free(x);
    return 0;
}
X
cc -O1 -o "$tmp/mksnd" "$tmp/mksnd.c" $(pkg-config --cflags --libs sndfile) -lm
snd() { "$tmp/mksnd" "$d/$1" "$2" "${3:-8000}" "${4:-1}" "${5:-64}" || rm -f "$d/$1"; }
# major formats (sndfile.h)
WAV=0x010000 AIFF=0x020000 AU=0x030000 RAW=0x040000 PAF=0x050000 SVX=0x060000
NIST=0x070000 VOC=0x080000 IRCAM=0x0A0000 W64=0x0B0000 MAT4=0x0C0000
MAT5=0x0D0000 PVF=0x0E0000 XI=0x0F0000 HTK=0x100000 SDS=0x110000 AVR=0x120000
WAVEX=0x130000 SD2=0x160000 FLAC=0x170000 CAF=0x180000 WVE=0x190000
OGG=0x200000 MPC2K=0x210000 RF64=0x220000 MPEG=0x230000
# subtypes
S8=0x0001 S16=0x0002 S24=0x0003 S32=0x0004 U8=0x0005 F32=0x0006 F64=0x0007
ULAW=0x0010 ALAW=0x0011 IMA=0x0012 MSADPCM=0x0013 GSM=0x0020 G721=0x0030
DWVW12=0x0040 DPCM8=0x0050 VORBIS=0x0060 OPUS=0x0064 ALAC16=0x0070
MP3=0x0082
hex() { printf '0x%x' $(($1 | $2)); }
snd wav-u8.wav "$(hex $WAV $U8)"
snd wav-f64.wav "$(hex $WAV $F64)" 8000 2
snd wav-ulaw.wav "$(hex $WAV $ULAW)"
snd wav-alaw.wav "$(hex $WAV $ALAW)"
snd wav-ima-adpcm.wav "$(hex $WAV $IMA)" 8000 1 1017
snd wav-ms-adpcm.wav "$(hex $WAV $MSADPCM)" 8000 2 500
snd wav-gsm.wav "$(hex $WAV $GSM)" 8000 1 320
snd wav-g721.wav "$(hex $WAV $G721)" 8000 1 128
snd wavex-s24-3ch.wav "$(hex $WAVEX $S24)" 16000 3
snd aiff-s16.aiff "$(hex $AIFF $S16)"
snd aiff-f32-2ch.aiff "$(hex $AIFF $F32)" 8000 2
snd aiff-ulaw.aiff "$(hex $AIFF $ULAW)"
snd aiff-dwvw12.aiff "$(hex $AIFF $DWVW12)"
snd au-s16.au "$(hex $AU $S16)"
snd au-g721.au "$(hex $AU $G721)" 8000 1 128
snd caf-s24.caf "$(hex $CAF $S24)" 44100 2
snd caf-alac16.caf "$(hex $CAF $ALAC16)" 44100 1 512
snd w64-f32.w64 "$(hex $W64 $F32)"
snd rf64-s16.rf64 "$(hex $RF64 $S16)" 96000 1
snd paf-s16.paf "$(hex $PAF $S16)"
snd svx-s8.svx "$(hex $SVX $S8)"
snd nist-s16.nist "$(hex $NIST $S16)"
snd voc-u8.voc "$(hex $VOC $U8)"
snd ircam-f32.ircam "$(hex $IRCAM $F32)"
snd mat4-f64.mat "$(hex $MAT4 $F64)"
snd mat5-s16.mat "$(hex $MAT5 $S16)"
snd pvf-s16.pvf "$(hex $PVF $S16)"
snd xi-dpcm8.xi "$(hex $XI $DPCM8)" 44100 1
snd htk-s16.htk "$(hex $HTK $S16)"
snd sds-s16.sds "$(hex $SDS $S16)"
snd avr-s16.avr "$(hex $AVR $S16)"
snd wve-alaw.wve "$(hex $WVE $ALAW)" 8000 1
snd mpc2k-s16.mpc "$(hex $MPC2K $S16)" 44100 1
snd flac-s8.flac "$(hex $FLAC $S8)" 8000 1 200
snd ogg-vorbis.ogg "$(hex $OGG $VORBIS)" 8000 1 800
snd ogg-opus.opus "$(hex $OGG $OPUS)" 8000 1 800
snd mpeg-mp3.mp3 "$(hex $MPEG $MP3)" 8000 1 1152
# refused by sndsrc: 9 channels, rates out of range, no samples
snd refuse-9ch.wav "$(hex $WAV $S16)" 8000 9 8
snd refuse-rate-100.wav "$(hex $WAV $S16)" 100 1 16
snd refuse-rate-200k.wav "$(hex $WAV $S16)" 200000 1 16
snd refuse-empty.wav "$(hex $WAV $S16)" 8000 1 0
# truncated: cut in the data (sndsrc refuses at open or at the last read),
# in the header, and a data chunk that claims more than the file has
head -c 100 "$d/wav-int16-1ch.wav" >"$d/trunc-data.wav"
head -c 30 "$d/wav-int16-1ch.wav" >"$d/trunc-header.wav"
head -c 300 "$d/flac16-1ch.flac" >"$d/trunc-data.flac"
head -c 60 "$d/aiff-s16.aiff" >"$d/trunc-data.aiff"
head -c 120 "$d/caf-s24.caf" >"$d/trunc-data.caf"
python3 - "$d/wav-int16-1ch.wav" "$d/trunc-claims-more.wav" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.find(b"data")
n = struct.unpack_from("<I", b, i + 4)[0]
struct.pack_into("<I", b, i + 4, n * 4)  # the header claims 4x the data
open(sys.argv[2], "wb").write(b)
PY
printf 'RIFF\x24\x00\x00\x00WAVEfmt ' >"$d/garbage-riff.wav"
printf 'not audio at all\n' >"$d/garbage-text"
# EDF+ (src_edf.c through sndsrc): another system's file (tools/edfwrite:
# "Resp" in %, "EMG trapezius" in mV, "ECG" at 500 Hz: refused as a whole,
# as replay would without --channels), cut inside its records and inside
# its header
"$TW" synth -o rate=250 --seed 5 --seconds 2 "$d/t.wav" >/dev/null 2>&1
"$B/tools/edfwrite" "$d/t.wav" "$d/edfplus-other.edf" 10000 0.5 >/dev/null 2>&1
# and a BDF+ from twitchd's recorder (opens: one "EMG ch0 needle" signal)
r=$(mktemp -d)
"$TW" run -o input.source=file -o input.path="$d/t.wav" -o input.pace=fast \
    -o journal.dir="$r/j" -o publish.endpoint="ipc://$r/p" -o control.endpoint="ipc://$r/c" \
    -o record.dir="$r/rec" -o record.mode=always -o record.format=bdf >/dev/null 2>&1
mv "$r"/rec/*.bdf "$d/bdfplus-twitchd.bdf"
rm -rf "$r" "$d/t.wav"
head -c 3000 "$d/edfplus-other.edf" >"$d/trunc-data.edf"
head -c 200 "$d/edfplus-other.edf" >"$d/trunc-header.edf"

# ---- journal -------------------------------------------------------------------
d="$C/journal"
rm -rf "$d" && mkdir -p "$d"
python3 - "$d" <<'PY'
import os, sys
d = sys.argv[1]
ev = b'{"type":"ltr","channel":0,"onset":48000,"peak_uv":812.5}'
gap = b'{"type":"gap","lost":256}'
def put(name, b):
    with open(os.path.join(d, name), "wb") as f:
        f.write(b)
# Each content six times, padded by 0..5 spaces at the end of its first
# complete line (or at its start when it has none), so that n % 6 takes
# every value: every scenario of fuzz_journal.c.
def six(name, b):
    for pad in range(6):
        i = b.find(b"\n")
        put(f"{name}-{pad}", b[:i] + b" " * pad + b[i:] if i >= 0 else b" " * pad + b)
put("empty", b"")
six("whole", ev + b"\n" + gap + b"\n" + ev + b"\n")
six("partial", ev + b"\n" + gap + b'\n{"type":"ltr","chan')
six("only-partial", b'{"type":"epn","onset":12')
six("newline-only", b"\n")
six("blank-lines", b"\n\n\n")
six("crlf", ev + b"\r\n" + gap + b'\r\n{"ty\r')
six("zeros", ev + b"\n" + b"\0" * 8)             # a power cut
six("nul-inside", ev[:10] + b"\0" + ev[10:] + b"\n" + gap)
put("long-partial", ev + b"\n" + b"p" * 5000)      # longer than the 4 kB read-back block
put("long-file-partial", (ev + b"\n") * 100 + b'{"type":"gap"')
put("long-file-whole", (gap + b"\n") * 80)
put("boundary", b"q" * 4095 + b"\n" + b"r" * 10)  # the last newline at a block edge
PY

# ---- dsp -----------------------------------------------------------------------
# Programs for fuzz_dsp.c: byte 0 the rate (and electrode), then steps of
# (op, 16-bit length, float32 value); see the harness.
d="$C/dsp"
rm -rf "$d" && mkdir -p "$d"
python3 - "$d" <<'PY'
import struct, sys
d = sys.argv[1]
def step(op, n, v):
    return bytes([op]) + struct.pack("<Hf", n, v)
noise = lambda n, a: step(0, n, a)
const = lambda n, v: step(1, n, v)
seeds = {
    "clean48k": bytes([6]) + b"".join(noise(4000, 5.0) for _ in range(12)),
    "nan44k": bytes([5]) + noise(4000, 5.0) + const(1, float("nan")) + noise(4000, 5.0),
    "inf96k": bytes([7]) + noise(4000, 5.0) + const(3, float("inf")) + const(2, float("-inf")) + noise(4000, 5.0),
    "huge": bytes([6]) + noise(2000, 5.0) + const(1, 3e38) + noise(2000, 5.0),
    "denormal": bytes([6]) + const(4000, 1e-42) + noise(3000, 5.0),
    "silence_start": bytes([6]) + const(4095, 0.0) + const(4095, 0.0) + noise(4000, 5.0) + noise(4000, 5.0),
    "saturation_mid": bytes([5]) + noise(4000, 5.0) + const(4095, 10000.0) + const(4095, 10000.0) + noise(4000, 5.0),
    "steps": bytes([6]) + b"".join(step(3, 3000, a) for a in (500.0, -2000.0, 5000.0)) + noise(3000, 5.0),
    "blocks": bytes([6]) + step(6, 0, 0.0) + noise(4000, 5.0) + step(6, 96, 0.0) + noise(4000, 5.0),
    "sine60_4k": bytes([2]) + step(4, 4000, 60.0) + step(4, 4000, 60.0),
    "surface192k": bytes([0x18]) + noise(4000, 20.0) + step(5, 2000, 1e6),
    "raw": bytes([6]) + step(2, 8, 0.0) + struct.pack("<8f", 1.0, float("nan"), -0.0, 1e-40, -3e38, 2.5, float("inf"), 7.0),
}
for name, b in seeds.items():
    open("%s/%s" % (d, name), "wb").write(b)
PY

echo "total $(du -sb --apparent-size "$C" | cut -f1) bytes"
for n in config override control sndsrc journal dsp; do
    printf '%-9s %4d files\n' "$n" "$(ls "$C/$n" | wc -l)"
done
find "$C" -type f -size +20k -printf 'too large: %p %s\n'
