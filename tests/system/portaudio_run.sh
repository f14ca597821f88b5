#!/usr/bin/env bash
# portaudio_run.sh BUILD_DIR: `twitchd run` with input.source = portaudio
# through the real PortAudio -> ALSA path (tests/data/alsa-tier1.conf:
# the ALSA file plugin, no sound card; it runs about 1000x faster than
# real time, so the ring overflows and gaps are logged: expected here).
#
# Gaps longer than 1 s restart the pipeline at the new index instead of
# being filled (daemon/dsp_thread.c gap()), so the DSP thread keeps up.
#
# Checks:
#  - the daemon starts on emg_test ("input: ALSA: emg_test (index 0),
#    48000 Hz, 1 ch, float32" on stderr), runs 1.5 s without a device
#    error, and SIGTERM ends it with status 0;
#  - a device that goes away and comes back: tests/data/enodev_shim.c,
#    compiled here (skipped without cc) and preloaded, makes ALSA return
#    -ENODEV from 0.3 s to 1.2 s after capture started. The source reports
#    "the stream stopped by itself (device lost?)" at least once, the
#    daemon restarts it, and once the device is back the failures stop
#    (the count of those lines no longer grows over 1.5 s); SIGTERM ->
#    status 0.
set -euo pipefail

B=${1:?usage: portaudio_run.sh BUILD_DIR}
TW="$B/twitchd"
here=$(cd "$(dirname "$0")" && pwd)
CONF="$here/../data/alsa-tier1.conf"
SHIM_SRC="$here/../data/enodev_shim.c"
[[ -x $TW ]] || { echo "FAIL: $TW is missing (build it first)" >&2; exit 1; }

tmp=$(mktemp -d)
pid=
cleanup() {
    if [[ -n $pid ]]; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
export ALSA_CONFIG_PATH="$CONF" JACK_NO_START_SERVER=1
# 10 s of silence, float32 mono (the last buffer repeats after its end)
head -c $((48000 * 4 * 10)) /dev/zero >"$tmp/fixture.raw"
export EMG_TEST_INFILE="$tmp/fixture.raw"

fail() {
    echo "FAIL: $*" >&2
    [[ -s $tmp/err ]] && { echo "--- stderr (without libjack noise):" >&2; real_err | tail -40 >&2; }
    exit 1
}
ok() { echo "  ok${1:+: $1}"; }
real_err() {
    grep -vE 'Cannot connect to server|jack server is not running|JackShmReadWritePtr' \
        "$tmp/err" || true
}
lost_count() { grep -c 'the stream stopped by itself (device lost?)' "$tmp/err" || true; }

# wait_for PATTERN SECONDS: until a line of stderr matches PATTERN (ERE).
wait_for() {
    local t=0
    until grep -qE "$1" "$tmp/err" 2>/dev/null; do
        sleep 0.05
        t=$((t + 1))
        ((t < $2 * 20)) || return 1
    done
}

start_daemon() {
    rm -rf "$tmp/journal"
    "$TW" run -o input.source=portaudio -o input.device=emg_test -o input.channels=1 \
        -o "journal.dir=$tmp/journal" -o "publish.endpoint=ipc://$tmp/pub" \
        >"$tmp/out" 2>"$tmp/err" </dev/null &
    pid=$!
}

stop_daemon() {
    kill -TERM "$pid"
    local t=0
    while kill -0 "$pid" 2>/dev/null; do
        sleep 0.05
        t=$((t + 1))
        ((t < 200)) || fail "the daemon did not stop within 10 s of SIGTERM"
    done
    rc=0
    wait "$pid" || rc=$?
    pid=
}

echo "run on emg_test, SIGTERM"
start_daemon
wait_for 'input: ALSA: emg_test \(index 0\), 48000 Hz, 1 ch, float32' 10 ||
    fail "no 'input: ALSA: emg_test ...' line"
sleep 1.5
kill -0 "$pid" 2>/dev/null || fail "the daemon exited by itself"
(($(lost_count) == 0)) || fail "a device error without a reason"
stop_daemon
((rc == 0)) || fail "exit $rc after SIGTERM, want 0"
ok

echo "run with the device lost from 0.3 s to 1.2 s"
if ! command -v cc >/dev/null 2>&1; then
    echo "  SKIP: cc not found: cannot build the device-loss shim"
else
    cc -shared -fPIC -O1 -o "$tmp/enodev_shim.so" "$SHIM_SRC" -ldl ||
        fail "cannot compile $SHIM_SRC"
    LD_PRELOAD="$tmp/enodev_shim.so" TW_SHIM_AFTER_MS=300 TW_SHIM_BACK_MS=1200 \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" start_daemon
    wait_for 'the stream stopped by itself \(device lost\?\)' 10 ||
        fail "the lost device was not reported"
    sleep 2.5
    n1=$(lost_count)
    sleep 1.5
    n2=$(lost_count)
    kill -0 "$pid" 2>/dev/null || fail "the daemon exited by itself"
    ((n1 >= 1 && n1 == n2)) ||
        fail "device errors kept coming after the device came back ($n1, then $n2)"
    grep -q 'input: back after' "$tmp/err" || fail "no 'input: back after' line after the device came back"
    stop_daemon
    ((rc == 0)) || fail "exit $rc after SIGTERM, want 0"
    # the outage is in the journal as a gap record (the sample index stays true)
    # (no pipe into grep -q here: with pipefail its early exit can fail the pipe)
    grep -qh '"topic":"gap".*"cause":"device restart"' "$tmp"/journal/*.jsonl ||
        fail "no 'device restart' gap record in the journal"
    ok "$n1 device error(s), then none; resumed with a gap record"
fi
echo "portaudio_run: all passed"
