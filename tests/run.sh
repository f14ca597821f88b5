#!/usr/bin/env bash
# tests/run.sh BUILD_DIR...: run every test of each build directory.
#
# For each BUILD_DIR (e.g. `build build/san`), in order:
#   1. every executable BUILD_DIR/tests/test_* (the cmocka unit tests);
#   2. every executable tests/system/*.sh, with BUILD_DIR as $1.
# Each binary or script is one test: it passes if it exits 0. One line per
# test (PASS/FAIL, name, seconds) as each finishes, the output of failures
# in full, then exactly one closing line "N passed, N failed". Exit status
# 1 if anything failed, 2 on usage errors.
#
# TW_TEST_JOBS tests run at once (default 2: most system tests wait on
# real time, not on the CPU). A script whose first 40 lines hold the line
# starting "# tw-test: exclusive" (one that loads the CPU on purpose, or measures
# time) runs alone: after the running ones finish, before the next start.
#
# The sanitizer options are set for every run (they are inert for
# binaries built without sanitizers): leaks are reported, UBSan stops at
# the first error with a stack trace. CMOCKA_MESSAGE_OUTPUT=stdout keeps a
# test's messages in order with what it prints.
#
# Environment: TW_TEST_TIMEOUT (seconds per test, default 300; 0 = none),
# TW_TEST_JOBS (tests at once, default 2), TW_TEST_SEED (passed through:
# replays the unit tests' random seeds).
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

jobs=${TW_TEST_JOBS:-2}
case $jobs in '' | *[!0-9]* | 0) echo "$0: TW_TEST_JOBS must be a positive integer" >&2; exit 2 ;; esac

passed=0
failed=0
work=$(mktemp -d "${TMPDIR:-/tmp}/tw-run.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N 2>/dev/null || date +%s; }

# run_one ID LABEL CMD... (in the background): run and time one test;
# leaves $work/ID.out (its output), $work/ID.res ("RC SECONDS LABEL").
run_one() {
    id=$1 label=$2
    shift 2
    t0=$(now)
    if [ "$timeout_s" != 0 ] && command -v timeout >/dev/null 2>&1; then
        timeout --kill-after=10 "$timeout_s" "$@" >"$work/$id.out" 2>&1 </dev/null
    else
        "$@" >"$work/$id.out" 2>&1 </dev/null
    fi
    rc=$?
    t1=$(now)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    echo "$rc $secs $label" >"$work/$id.tmp" && mv "$work/$id.tmp" "$work/$id.res"
}

# report ID: the line (and output of a failure) of a finished test.
report() {
    read -r rc secs label <"$work/$1.res"
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS $label ($secs s)"
    else
        failed=$((failed + 1))
        why="exit $rc"
        [ "$rc" -eq 124 ] && why="timed out after ${timeout_s} s"
        [ "$rc" -gt 128 ] && [ "$rc" -ne 124 ] && why="exit $rc (signal $((rc - 128)))"
        echo "FAIL $label ($secs s, $why)"
        sed 's/^/    | /' "$work/$1.out"
        echo "    '-- end of output of $label"
    fi
    rm -f "$work/$1.res" "$work/$1.out"
}

running=() # ids of tests started and not yet reported
# reap: report the running tests that finished; 0 if any did.
reap() {
    local still=() id any=1
    for id in "${running[@]}"; do
        if [ -f "$work/$id.res" ]; then
            wait "$(cat "$work/$id.pid")" 2>/dev/null
            report "$id"
            any=0
        else
            still+=("$id")
        fi
    done
    running=("${still[@]}")
    return $any
}
# settle N: wait until fewer than N tests run.
settle() {
    while [ "${#running[@]}" -ge "$1" ]; do
        reap || sleep 0.2
    done
}

next=0
# start LABEL CMD...: run one test when a slot is free.
start() {
    settle "$jobs"
    next=$((next + 1))
    run_one "$next" "$@" &
    echo $! >"$work/$next.pid"
    running+=("$next")
}
# alone LABEL CMD...: run one test with nothing else running.
alone() {
    settle 1
    next=$((next + 1))
    run_one "$next" "$@"
    echo 0 >"$work/$next.pid"
    report "$next"
}

exclusive() { head -n 40 "$1" | grep -q '^# tw-test: exclusive\b'; }

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
        start "$t" "$t"
    done
    if [ "$n" -eq 0 ]; then
        failed=$((failed + 1))
        echo "FAIL $b/tests (no test binaries: build them with make unit-bins)"
    fi
    for s in "$sysdir"/*.sh; do
        [ -f "$s" ] && [ -x "$s" ] || continue
        rel=${s#"$here"/}
        if exclusive "$s"; then
            alone "tests/$rel $b" "$s" "$b"
        else
            start "tests/$rel $b" "$s" "$b"
        fi
    done
done
settle 1

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
