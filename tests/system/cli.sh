#!/usr/bin/env bash
# cli.sh BUILD_DIR: twitchd's command line.
#
# Checks:
#  - `twitchd --help` and every subcommand's --help (replay, synth,
#    check-config, print-config) exit 0 with a "usage: twitchd ..." line
#    on stdout and nothing on stderr;
#  - `twitchd --version` names twitchd (the Makefile's VERSION), liquid-dsp,
#    libsndfile, jansson and inih with version numbers (the same as
#    pkg-config's where it knows the library);
#  - an unknown command, no command, and replay without a file, with two
#    files or with an unknown option exit 64 with nothing on stdout;
#  - `twitchd print-config` equals config/twitchd.conf byte for byte, and
#    check-config accepts its output;
#  - `twitchd check-config -c config/twitchd.conf` prints exactly
#    "configuration OK" and exits 0;
#  - tests/data/bad.conf gives exit 78 and one `file:line: ...` message
#    per error, all of them, in order, with check-config and with replay;
#    a bad -o and a cross-key error give 78 too;
#  - check-config applies every check run and web apply: an empty item of
#    publish.endpoint, a port out of 1 .. 65535 (99999 was bound as 34463),
#    web.listen without a port or with 99999, an inproc:// or udp://
#    control endpoint, an ephemeral first publish port (web cannot
#    connect), input.full_scale_uv=1e7 (an EDF header holds 9999999 at
#    most: every recording failed): 78 with a message naming key and value;
#    run and web refuse the same before starting;
#  - replay's progress never reaches stderr when stderr is not a terminal
#    (nor the summary with -q), and does appear when it is one (run under
#    script(1); skipped when script is not installed).
set -euo pipefail

B=${1:?usage: cli.sh BUILD_DIR}
TW="$B/twitchd"
MKWAV="$B/tools/mkwav"
for x in "$TW" "$MKWAV"; do
    [[ -x $x ]] || { echo "FAIL: $x is missing (build it first)" >&2; exit 1; }
done
TW=$(cd "$(dirname "$TW")" && pwd)/twitchd
MKWAV=$(cd "$(dirname "$MKWAV")" && pwd)/mkwav
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[[ -f $REPO/config/twitchd.conf ]] || { echo "FAIL: no config/twitchd.conf under $REPO" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "  ok${1:+: $1}"; }

# run ARGS...: runs twitchd, sets rc; stdout in $tmp/out, stderr in $tmp/err.
run() {
    rc=0
    "$TW" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
}

echo "cli: --help of twitchd and of every subcommand"
for cmd in "" replay synth check-config print-config; do
    # shellcheck disable=SC2086
    run $cmd --help
    ((rc == 0)) || fail "twitchd $cmd --help: exit $rc (stderr: $(cat "$tmp/err"))"
    grep -qE "^usage: twitchd${cmd:+ $cmd}( |\$)" "$tmp/out" ||
        fail "twitchd $cmd --help: no 'usage: twitchd $cmd' line on stdout: $(head -n 3 "$tmp/out")"
    [[ ! -s $tmp/err ]] || fail "twitchd $cmd --help wrote to stderr: $(cat "$tmp/err")"
    ok "twitchd $cmd --help: $(grep -m1 '^usage:' "$tmp/out")"
done

echo "cli: --version"
run --version
((rc == 0)) || fail "--version: exit $rc"
cat "$tmp/out"
version=$(sed -n 's/^VERSION *:*= *//p' "$REPO/Makefile")
grep -qx "twitchd ${version:-[0-9][0-9.]*}" "$tmp/out" || fail "--version: no 'twitchd ${version}' line"
grep -qE '^liquid-dsp [0-9]+\.[0-9]+' "$tmp/out" || fail "--version: no liquid-dsp version"
grep -qE '^libsndfile-[0-9]+\.[0-9]+' "$tmp/out" || fail "--version: no libsndfile version"
grep -qE '^jansson [0-9]+\.[0-9]+' "$tmp/out" || fail "--version: no jansson version"
grep -qE '^inih [0-9]+' "$tmp/out" || fail "--version: no inih version"
if command -v pkg-config >/dev/null; then
    for lib in "sndfile libsndfile-" "jansson jansson " "inih inih "; do
        read -r pc prefix <<<"$lib"
        [[ $prefix == *- ]] || prefix="$prefix "
        v=$(pkg-config --modversion "$pc" 2>/dev/null) || continue
        grep -qxF "$prefix$v" "$tmp/out" ||
            fail "--version: want '$prefix$v' (pkg-config's $pc), got: $(grep -i "$pc" "$tmp/out")"
    done
fi
ok

echo "cli: usage errors exit 64 with nothing on stdout"
touch "$tmp/a.wav" "$tmp/b.wav"
for args in "bogus" "" "replay" "replay $tmp/a.wav $tmp/b.wav" "replay --no-such-option $tmp/a.wav" \
    "check-config extra-arg" "print-config extra-arg"; do
    # shellcheck disable=SC2086
    run $args
    ((rc == 64)) || fail "twitchd $args: exit $rc, want 64 (stderr: $(cat "$tmp/err"))"
    [[ ! -s $tmp/out ]] || fail "twitchd $args: wrote to stdout: $(head -n 2 "$tmp/out")"
    [[ -s $tmp/err ]] || fail "twitchd $args: says nothing on stderr"
    ok "twitchd $args -> 64: $(head -n 1 "$tmp/err")"
done
run bogus
grep -q "unknown command 'bogus'" "$tmp/err" || fail "unknown command: message does not name it: $(head -n 1 "$tmp/err")"

echo "cli: print-config equals config/twitchd.conf byte for byte"
run print-config
((rc == 0)) || fail "print-config: exit $rc"
if ! cmp -s "$tmp/out" "$REPO/config/twitchd.conf"; then
    diff -u "$REPO/config/twitchd.conf" "$tmp/out" | head -n 40 >&2 || true
    fail "print-config output differs from config/twitchd.conf (diff above)"
fi
cp "$tmp/out" "$tmp/printed.conf"
run check-config -c "$tmp/printed.conf"
((rc == 0)) || fail "check-config of print-config's output: exit $rc: $(cat "$tmp/err")"
ok

echo "cli: check-config -c config/twitchd.conf"
run check-config -c "$REPO/config/twitchd.conf"
((rc == 0)) || fail "check-config: exit $rc: $(cat "$tmp/err")"
[[ $(cat "$tmp/out") == "configuration OK" ]] || fail "check-config printed '$(cat "$tmp/out")', want 'configuration OK'"
[[ ! -s $tmp/err ]] || fail "check-config wrote to stderr: $(cat "$tmp/err")"
ok

echo "cli: tests/data/bad.conf: exit 78, every error as file:line, in order"
bad=tests/data/bad.conf
expect_bad() {
    local prog=$1
    cat >"$tmp/want" <<EOF
$prog: $bad:4: input.full_scale_uv '0': out of range (allowed 1 .. 9999999 uV)
$prog: $bad:5: input.pace 'slow': not one of the choices (allowed realtime|fast)
$prog: $bad:8: filter.dc_hz 'fast': not a number (allowed 0.01 .. 5 Hz)
$prog: $bad:11: detect.floor_history '2.5': not a whole number (allowed 5 .. 1000 windows)
$prog: $bad:13: unknown key 'nosuch.key'
$prog: $bad:15: channel.electrodes 'needle,wire': 'wire' is not an electrode (allowed needle|surface, comma-separated)
$prog: $bad:16: syntax error (expected [section] or key = value)
EOF
    if ! diff -u "$tmp/want" "$tmp/err" >&2; then
        fail "$prog -c $bad: stderr differs from the expected messages (diff above)"
    fi
}
(cd "$REPO" && "$TW" check-config -c "$bad" >"$tmp/out" 2>"$tmp/err") && rc=0 || rc=$?
((rc == 78)) || fail "check-config -c $bad: exit $rc, want 78"
[[ ! -s $tmp/out ]] || fail "check-config -c $bad: wrote to stdout: $(cat "$tmp/out")"
expect_bad "twitchd check-config"
ok "check-config"
"$MKWAV" "$tmp/short.wav" --rate 8000 --channels 1 --format int16 --seconds 1 >/dev/null 2>&1
(cd "$REPO" && "$TW" replay -c "$bad" "$tmp/short.wav" >"$tmp/out" 2>"$tmp/err") && rc=0 || rc=$?
((rc == 78)) || fail "replay -c $bad: exit $rc, want 78"
[[ ! -s $tmp/out ]] || fail "replay -c $bad: wrote to stdout: $(cat "$tmp/out")"
expect_bad "twitchd replay"
ok "replay"

echo "cli: check-config with a bad -o, a missing file and a cross-key error: exit 78"
run check-config -c "$REPO/config/twitchd.conf" -o input.full_scale_uv=abc
((rc == 78)) || fail "check-config -o input.full_scale_uv=abc: exit $rc, want 78"
grep -qxF "twitchd check-config: -o input.full_scale_uv=abc: not a number (allowed 1 .. 9999999 uV)" "$tmp/err" ||
    fail "check-config -o: message: $(cat "$tmp/err")"
run check-config -c "$tmp/none.conf"
((rc == 78)) || fail "check-config -c missing: exit $rc, want 78"
grep -qxF "twitchd check-config: $tmp/none.conf: cannot open: No such file or directory" "$tmp/err" ||
    fail "check-config -c missing: message: $(cat "$tmp/err")"
run check-config -c "$REPO/config/twitchd.conf" -o filter.needle_low_hz=500 -o filter.needle_high_hz=400
((rc == 78)) || fail "check-config low >= high: exit $rc, want 78"
grep -qF "filter.needle_low_hz '500' must be below filter.needle_high_hz '400'" "$tmp/err" ||
    fail "check-config low >= high: message: $(cat "$tmp/err")"
[[ ! -s $tmp/out ]] || fail "check-config errors: 'configuration OK' or other text on stdout: $(cat "$tmp/out")"
ok

echo "cli: check-config applies every check of run and web (issue 13)"
# OVERRIDES | the message, as check-config, run or web print it
while IFS='|' read -r o want; do
    # shellcheck disable=SC2086
    run check-config -c "$REPO/config/twitchd.conf" -o $o
    ((rc == 78)) || fail "check-config -o $o: exit $rc, want 78 (stdout: $(cat "$tmp/out"))"
    grep -qF -- "twitchd check-config: $want" "$tmp/err" || fail "check-config -o $o: message: $(cat "$tmp/err")"
    ok "check-config -o $o -> 78: $(head -n 1 "$tmp/err")"
done <<'EOF'
publish.endpoint=,|publish.endpoint ',': item 1 is empty
publish.endpoint=tcp://127.0.0.1:5556,,ipc://x|publish.endpoint 'tcp://127.0.0.1:5556,,ipc://x': item 2 is empty
web.listen=[::1]:99999|web.listen '[::1]:99999': the port must be a number 0 .. 65535
web.listen=localhost|web.listen 'localhost': expected HOST:PORT
control.endpoint=inproc://x|control.endpoint 'inproc://x': unsupported transport 'inproc://' (allowed tcp:// or ipc://): inproc:// reaches this process only
publish.endpoint=tcp://127.0.0.1:99999|publish.endpoint 'tcp://127.0.0.1:99999': port '99999' out of range (allowed 1 .. 65535
publish.endpoint=tcp://127.0.0.1:5556,tcp://127.0.0.1:0|publish.endpoint 'tcp://127.0.0.1:5556,tcp://127.0.0.1:0': item 2 'tcp://127.0.0.1:0': port '0' out of range
publish.endpoint=tcp://127.0.0.1:*|publish.endpoint 'tcp://127.0.0.1:*': an ephemeral port cannot be connected to
control.endpoint=udp://x:1|control.endpoint 'udp://x:1': unsupported transport 'udp://'
input.full_scale_uv=1e7|-o input.full_scale_uv=1e7: out of range (allowed 1 .. 9999999 uV)
input.full_scale_uv=2e6 -o input.source=synth|input.source = synth: full_scale_uv 2e+06: out of range (allowed 100 .. 1e+06 uV)
EOF
# run refuses what it cannot bind, with the same words (and 78), before starting
run run -c "$REPO/config/twitchd.conf" -o publish.endpoint=tcp://127.0.0.1:99999 -o journal.dir="$tmp/j"
((rc == 78)) && grep -qF "twitchd run: publish.endpoint 'tcp://127.0.0.1:99999': port '99999' out of range" "$tmp/err" ||
    fail "run with port 99999: exit $rc: $(cat "$tmp/err")"
[[ ! -e $tmp/j ]] || fail "run with port 99999 started (made its journal)"
run web -c "$REPO/config/twitchd.conf" -o control.endpoint=inproc://x
((rc == 78)) && grep -qF "twitchd web: control.endpoint 'inproc://x': unsupported transport" "$tmp/err" ||
    fail "web with control.endpoint=inproc://x: exit $rc: $(cat "$tmp/err")"
run check-config -c "$REPO/config/twitchd.conf" -o "publish.endpoint=tcp://127.0.0.1:5556, ipc://$tmp/p" \
    -o control.endpoint=ipc://@twitchd-test -o web.listen=[::1]:8080
((rc == 0)) || fail "check-config with good endpoints: exit $rc: $(cat "$tmp/err")"
ok "run and web refuse the same; good endpoints pass"

echo "cli: replay progress: never on a non-terminal stderr"
# 1.6 s paced at real time: progress would be due at 0.5, 1.0 and 1.5 s.
"$MKWAV" "$tmp/paced.wav" --rate 8000 --channels 1 --format int16 --seconds 1.6 >/dev/null 2>&1
run replay --realtime "$tmp/paced.wav"
((rc == 0)) || fail "replay --realtime: exit $rc: $(cat "$tmp/err")"
if grep -q $'\r' "$tmp/err" || grep -q '%' "$tmp/err"; then
    fail "progress written to a non-terminal stderr: $(od -c "$tmp/err" | head -n 5)"
fi
grep -q "paced.wav: 1.6 s, 1 channel at 8000 Hz" "$tmp/err" || fail "no summary line on stderr: $(cat "$tmp/err")"
run replay -q --realtime "$tmp/paced.wav"
grep -v 'warning' "$tmp/err" | grep -q . && fail "replay -q: stderr holds more than warnings: $(cat "$tmp/err")"
ok

if command -v script >/dev/null; then
    echo "cli: replay progress: shown when stderr is a terminal (script -qec)"
    rc=0
    script -qec "'$TW' replay --realtime '$tmp/paced.wav' >'$tmp/events'" "$tmp/typescript" \
        </dev/null >"$tmp/term" 2>&1 || rc=$?
    ((rc == 0)) || fail "replay under script: exit $rc: $(cat "$tmp/term")"
    grep -qE $'\rtwitchd replay: +[0-9]+% \\(' "$tmp/term" ||
        fail "no progress on a terminal: $(od -c "$tmp/term" | head -n 8)"
    ok "$(grep -oE '[0-9]+% \([0-9.]+ of [0-9.]+ s\)' "$tmp/term" | tr '\n' ' ')"
else
    echo "cli: SKIP progress on a terminal: script(1) is not installed"
fi
echo "cli: PASS"
