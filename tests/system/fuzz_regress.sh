#!/usr/bin/env bash
# fuzz_regress.sh BUILD_DIR: the fuzzing harnesses as regression tests.
#
# Each harness tests/fuzz/fuzz_NAME.c is linked with tests/fuzz/regress.c
# into BUILD_DIR/fuzz/regress_NAME (make unit-bins; no libFuzzer needed)
# and run over its seed corpus tests/fuzz/corpus/NAME/ and over every
# reproducer kept in tests/fuzz/crashes/NAME/ (what `make fuzz` found).
# An input passes when the harness returns: no crash, no invariant
# broken (abort), and in the sanitizer build no memory error, leak or
# undefined behaviour. The first failing input is named in the output.
set -euo pipefail

B=${1:?usage: fuzz_regress.sh BUILD_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
names="config override control sndsrc journal dsp"

fail() { echo "FAIL: $*" >&2; exit 1; }

for name in $names; do
    bin="$B/fuzz/regress_$name"
    [[ -x $bin ]] || fail "$bin is missing (build it with make unit-bins)"
    seeds="$here/fuzz/corpus/$name"
    [[ -d $seeds ]] || fail "no seed corpus $seeds"
    n=$(find "$seeds" -maxdepth 1 -type f ! -name '.*' | wc -l)
    [[ $n -gt 0 ]] || fail "seed corpus $seeds is empty"
    dirs=("$seeds")
    [[ -d $here/fuzz/crashes/$name ]] && dirs+=("$here/fuzz/crashes/$name")
    log=$(mktemp)
    if ! "$bin" "${dirs[@]}" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        last=$(grep '^regress: ' "$log" | tail -1 || true)
        rm -f "$log"
        fail "regress_$name failed on the last input named above: ${last#regress: }"
    fi
    tail -n 1 "$log"
    rm -f "$log"
done
echo "PASS: fuzz regression inputs of $names"
