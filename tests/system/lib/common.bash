# tests/system/lib/common.bash: the opening every daemon test shares.
# Source it after `set -euo pipefail` with the build directory as $1:
#   . "$(dirname "$0")/lib/common.bash" "$1" NAME.sh
# It sets B (build directory), TW (its twitchd) and T (a fresh temporary
# directory, which the caller's cleanup removes), checks that twitchd is
# built and jq is there, and defines fail (message, then the daemon log
# $T/log's tail, exit 1) and ok. Not executable: tests/run.sh runs only
# tests/system/*.sh.
B=${1:?usage: ${2:-test}.sh BUILD_DIR}
TW="$B/twitchd"
[[ -x $TW ]] || { echo "FAIL: $TW is missing (build it first)" >&2; exit 1; }
command -v jq >/dev/null || { echo "FAIL: jq not found (make deps installs it)" >&2; exit 1; }
T=$(mktemp -d)
fail() { echo "FAIL: $*" >&2; [[ -f $T/log ]] && tail -20 "$T/log" | sed 's/^/  daemon: /' >&2; exit 1; }
ok() { echo "  ok: $*"; }
