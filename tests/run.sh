#!/usr/bin/env bash
# tests/run.sh BUILD_DIR...: run every test of each build directory.
#
# For each BUILD_DIR (e.g. `build build/san`), in order:
#   1. every executable BUILD_DIR/tests/test_* (the cmocka unit tests);
#   2. every executable tests/system/*.sh, with BUILD_DIR as $1.
# Each binary or script is one test: it passes if it exits 0. One line per
# test (PASS/FAIL, name, seconds), the output of failures in full, then
# exactly one closing line "N passed, N failed". Exit status 1 if anything
# failed, 2 on usage errors.
#
# The sanitizer options are set for every run (they are inert for
# binaries built without sanitizers): leaks are reported, UBSan stops at
# the first error with a stack trace. CMOCKA_MESSAGE_OUTPUT=stdout keeps a
# test's messages in order with what it prints.
#
# Environment: TW_TEST_TIMEOUT (seconds per test, default 300; 0 = none),
# TW_TEST_SEED (passed through: replays the unit tests' random seeds).
set -u

if [ "$#" -eq 0 ]; then
    echo "usage: $0 BUILD_DIR..." >&2
    exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
sysdir="$here/system"
timeout_s=${TW_TEST_TIMEOUT:-300}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export CMOCKA_MESSAGE_OUTPUT=stdout

passed=0
failed=0
out=$(mktemp "${TMPDIR:-/tmp}/tw-run.XXXXXX") || exit 2
trap 'rm -f "$out"' EXIT

now() { date +%s.%N 2>/dev/null || date +%s; }

# run_one LABEL CMD...: run, time, report.
run_one() {
    label=$1
    shift
    t0=$(now)
    if [ "$timeout_s" != 0 ] && command -v timeout >/dev/null 2>&1; then
        timeout --kill-after=10 "$timeout_s" "$@" >"$out" 2>&1 </dev/null
    else
        "$@" >"$out" 2>&1 </dev/null
    fi
    rc=$?
    t1=$(now)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS $label ($secs s)"
    else
        failed=$((failed + 1))
        why="exit $rc"
        [ "$rc" -eq 124 ] && why="timed out after ${timeout_s} s"
        [ "$rc" -gt 128 ] && [ "$rc" -ne 124 ] && why="exit $rc (signal $((rc - 128)))"
        echo "FAIL $label ($secs s, $why)"
        sed 's/^/    | /' "$out"
        echo "    '-- end of output of $label"
    fi
}

for b in "$@"; do
    b=${b%/}
    if [ ! -d "$b" ]; then
        failed=$((failed + 1))
        echo "FAIL $b (no such build directory)"
        continue
    fi
    n=0
    for t in "$b"/tests/test_*; do
        [ -f "$t" ] && [ -x "$t" ] || continue
        n=$((n + 1))
        run_one "$t" "$t"
    done
    if [ "$n" -eq 0 ]; then
        failed=$((failed + 1))
        echo "FAIL $b/tests (no test binaries: build them with make unit-bins)"
    fi
    for s in "$sysdir"/*.sh; do
        [ -f "$s" ] && [ -x "$s" ] || continue
        rel=${s#"$here"/}
        run_one "tests/$rel $b" "$s" "$b"
    done
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
