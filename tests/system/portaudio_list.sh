#!/usr/bin/env bash
# portaudio_list.sh BUILD_DIR: `twitchd list-devices`, and `twitchd run`
# refusing a device that does not exist, through the real PortAudio ->
# ALSA path with tests/data/alsa-tier1.conf (no sound card needed: see
# docs/testing-without-hardware.md).
#
# Checks:
#  - `list-devices --help`: exit 0, "usage: twitchd list-devices" on
#    stdout, nothing on stderr;
#  - `list-devices`: exit 0, a line "0 ALSA 128 <out> <rate> emg_test",
#    the default input ('default', index 1) marked '*', a closing count;
#    nothing on stderr but libjack's "cannot connect" noise;
#  - with -o input.device=EMG -o input.channels=2 -o input.format=int16:
#    emg_test marked '>' and "selects 0 'emg_test': 48000 Hz, 2 ch, int16
#    supported", exit 0;
#  - -o input.device=xyz: exit 78, the reason lists the devices;
#    -o input.rate=250 (refused by the ALSA plugins): exit 78, "NOT
#    supported: Invalid sample rate"; an extra argument: exit 64;
#  - `twitchd run -o input.source=portaudio -o input.device=xyz`: exit 69
#    with exactly one line on stderr (besides libjack's noise) naming 'xyz'
#    and the devices that exist.
set -euo pipefail

B=${1:?usage: portaudio_list.sh BUILD_DIR}
TW="$B/twitchd"
here=$(cd "$(dirname "$0")" && pwd)
CONF="$here/../data/alsa-tier1.conf"
[[ -x $TW ]] || { echo "FAIL: $TW is missing (build it first)" >&2; exit 1; }
[[ -f $CONF ]] || { echo "FAIL: $CONF is missing" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ALSA_CONFIG_PATH="$CONF" JACK_NO_START_SERVER=1 EMG_TEST_INFILE=/dev/zero

fail() {
    echo "FAIL: $*" >&2
    for f in out err; do
        [[ -s $tmp/$f ]] && { echo "--- $f:" >&2; cat "$tmp/$f" >&2; }
    done
    exit 1
}
ok() { echo "  ok"; }

# stderr without libjack's noise (PortAudio probes for a JACK server)
real_err() {
    grep -vE 'Cannot connect to server|jack server is not running|JackShmReadWritePtr' \
        "$tmp/err" || true
}

# tw ARGS...: run twitchd, stdout/stderr into $tmp/out, $tmp/err; sets rc
tw() {
    rc=0
    timeout 20 "$TW" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
}

echo "list-devices --help"
tw list-devices --help
((rc == 0)) || fail "exit $rc"
grep -q '^usage: twitchd list-devices' "$tmp/out" || fail "no usage line"
[[ ! -s $tmp/err ]] || fail "stderr not empty"
ok

echo "list-devices"
tw list-devices
((rc == 0)) || fail "exit $rc"
grep -qE '^ +0 +ALSA +128 +[0-9]+ +[0-9]+ +emg_test$' "$tmp/out" || fail "no emg_test line"
grep -qE '^ \* +1 +ALSA +128 +[0-9]+ +[0-9]+ +default$' "$tmp/out" ||
    fail "the default input is not marked"
grep -qE '^[0-9]+ devices?; \* default input$' "$tmp/out" || fail "no closing count"
[[ -z $(real_err) ]] || fail "stderr: $(real_err)"
ok

echo "list-devices -o input.device=EMG (substring), 2 ch, int16"
tw list-devices -o input.device=EMG -o input.channels=2 -o input.format=int16
((rc == 0)) || fail "exit $rc"
grep -qE '^> +0 +ALSA .* emg_test$' "$tmp/out" || fail "emg_test not marked as selected"
grep -qF "input.device 'EMG' selects 0 'emg_test': 48000 Hz, 2 ch, int16 supported" "$tmp/out" ||
    fail "no 'selects ... supported' line"
[[ -z $(real_err) ]] || fail "stderr: $(real_err)"
ok

echo "list-devices -o input.device=xyz"
tw list-devices -o input.device=xyz
((rc == 78)) || fail "exit $rc, want 78"
grep -qF "input.device 'xyz': no input device matches 'xyz'; input devices: 0 'emg_test' (ALSA), 1 'default' (ALSA)" \
    "$tmp/out" || fail "no reason listing the devices"
ok

echo "list-devices -o input.device=emg_test -o input.rate=250"
tw list-devices -o input.device=emg_test -o input.rate=250
((rc == 78)) || fail "exit $rc, want 78"
grep -qF "250 Hz, 1 ch, float32 NOT supported: Invalid sample rate" "$tmp/out" ||
    fail "no 'NOT supported' line"
ok

echo "list-devices with an extra argument"
tw list-devices extra
((rc == 64)) || fail "exit $rc, want 64"
[[ ! -s $tmp/out ]] || fail "stdout not empty"
ok

if "$TW" run --help >/dev/null 2>&1; then
    echo "run -o input.source=portaudio -o input.device=xyz"
    tw run -o input.source=portaudio -o input.device=xyz -o "journal.dir=$tmp/journal" \
        -o "publish.endpoint=ipc://$tmp/pub"
    ((rc == 69)) || fail "exit $rc, want 69"
    n=$(real_err | wc -l)
    ((n == 1)) || fail "$n lines on stderr, want 1: $(real_err)"
    real_err | grep -qF "no input device matches 'xyz'; input devices: 0 'emg_test' (ALSA)" ||
        fail "the error does not name 'xyz' and the devices: $(real_err)"
    ok
else
    echo "  SKIP: twitchd run is not wired into main.c"
fi
echo "portaudio_list: all passed"
