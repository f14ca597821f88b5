#!/usr/bin/env bash
# tests/fuzz/run.sh DIR SECONDS FLAGS NAME...: the fuzzing run of `make fuzz`.
#
# For each NAME, DIR/bin/fuzz_NAME (built by `make fuzz`) runs for SECONDS
# (-max_total_time) on a fresh copy of the seed corpus tests/fuzz/corpus/NAME
# (in DIR/corpus/NAME: the inputs it finds go there, never into the seeds),
# writing what it finds to DIR/crashes/NAME/ (crash-*, leak-*, timeout-*,
# oom-*) and its log to DIR/logs/NAME.log. FLAGS (one word list, may be
# empty) go to every run, e.g. "-use_value_profile=1" or "-jobs=2".
#
# Then one table: executions, executions per second, coverage (libFuzzer's
# cov: edges reached, of all the edges instrumented in what the harness
# links, and ft: features at the end), corpus (units/size), new finds
# in the crash directory. Exit status 1 when anything was found or a run
# failed, 0 otherwise. Each find is a reproducer: copy it to
# tests/fuzz/crashes/NAME/, named by what it found (tests/fuzz/README.md),
# so that `make test` replays it.
set -u

if [ "$#" -lt 4 ]; then
    echo "usage: $0 DIR SECONDS FLAGS NAME..." >&2
    exit 2
fi
dir=$1 secs=$2 flags=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir/logs" "$dir/corpus" "$dir/crashes"

# What libFuzzer prints on stderr is in the log; sanitizers report there too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

rows=()
bad=0
for name in "$@"; do
    bin="$dir/bin/fuzz_$name"
    seeds="$here/corpus/$name"
    work="$dir/corpus/$name"
    finds="$dir/crashes/$name"
    log="$dir/logs/$name.log"
    if [ ! -x "$bin" ]; then
        echo "fuzz: $bin is missing" >&2
        bad=1
        continue
    fi
    rm -rf "$work"
    mkdir -p "$work" "$finds"
    cp "$seeds"/* "$work"/
    nseeds=$(ls "$work" | wc -l)
    stamp=$(mktemp)
    echo "fuzz: $name for $secs s ($nseeds seeds), log $log"
    # shellcheck disable=SC2086 # FLAGS is a word list
    "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
        -artifact_prefix="$finds/" $flags "$work" >"$log" 2>&1
    rc=$?
    found=$(find "$finds" -type f -newer "$stamp")
    new=$(printf '%s' "$found" | grep -c . || true)
    rm -f "$stamp"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+.*cov: [0-9]+' "$log" | tail -1)
    cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
    # edges instrumented in what the harness links (libFuzzer's counters)
    edges=$(sed -n 's/.*(\([0-9]*\) inline 8-bit counters).*/\1/p' "$log" | head -1)
    [[ -n $cov && -n $edges ]] && cov="$cov/$edges"
    rows+=("$(printf '%-9s %12s %8s %10s %7s %12s %8s' "$name" "${execs:-?}" "${eps:-?}" \
        "${cov:-?}" "${ft:-?}" "${corp:-?}" "$new")")
    if [ "$new" -gt 0 ] || [ "$rc" -ne 0 ]; then
        bad=1
        echo "fuzz: $name: exit $rc, $new new file(s) in $finds:" >&2
        printf '%s\n' "$found" | head -5 | sed 's/^/  /' >&2
        grep -m1 -E 'ERROR: |invariant broken|runtime error|SUMMARY' "$log" >&2 || true
    fi
done

echo
printf '%-9s %12s %8s %10s %7s %12s %8s\n' harness executions exec/s edges ft: corpus crashes
for r in "${rows[@]}"; do echo "$r"; done
exit "$bad"
