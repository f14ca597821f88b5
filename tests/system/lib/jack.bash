# tests/system/lib/jack.bash: a JACK server with the dummy driver, for the
# tests that feed PortAudio through ALSA's jack plugin (the card's clock
# for the ALSA file plugin): tests/system/overload.sh,
# tests/system/portaudio_run.sh, tests/soak/live96k.sh. Source it; not
# executable (tests/run.sh runs only tests/system/*.sh).

# What libjack prints on stderr that is not an error (a grep -E pattern).
TW_JACK_NOISE='Cannot connect to server|jack server is not running|JackShmReadWritePtr|define the playback_ports'

# tw_jack_need: FAIL (exit 1) unless jackd and jack_wait are installed.
tw_jack_need() {
    local c
    for c in jackd jack_wait; do
        command -v "$c" >/dev/null 2>&1 || { echo "FAIL: $c not found (make deps installs jackd2)" >&2; exit 1; }
    done
}

# tw_jack_start LOG PREFIX JACKD_ARGS...: start `jackd -n NAME JACKD_ARGS...`
# in the background, its output in LOG, and wait up to 10 s until it
# serves. NAME is PREFIX, the shell's pid and the time in ns: unique
# across runs, since a name left registered in /dev/shm by a killed jackd
# makes the next one with that name refuse to start. Sets TW_JACK_NAME
# and TW_JACK_PID; returns 1 when the server did not come up.
tw_jack_start() {
    local log=$1 prefix=$2
    shift 2
    TW_JACK_NAME="$prefix$$-$(date +%s%N)"
    jackd -n "$TW_JACK_NAME" "$@" >"$log" 2>&1 </dev/null &
    TW_JACK_PID=$!
    jack_wait -s "$TW_JACK_NAME" -w -t 10 >/dev/null 2>&1
}

# tw_jack_stop [TRIES]: stop the server tw_jack_start started: TERM first
# (a killed jackd leaves its server registered in /dev/shm), up to TRIES
# x 0.2 s (default 10) for it to exit, then KILL; reaps it. Does nothing
# when none runs.
tw_jack_stop() {
    [[ -n ${TW_JACK_PID:-} ]] || return 0
    local _
    kill -TERM "$TW_JACK_PID" 2>/dev/null || true
    for _ in $(seq 1 "${1:-10}"); do kill -0 "$TW_JACK_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$TW_JACK_PID" 2>/dev/null || true
    wait "$TW_JACK_PID" 2>/dev/null || true
    TW_JACK_PID=
}
