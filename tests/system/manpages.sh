#!/usr/bin/env bash
# manpages.sh BUILD_DIR: the manual pages docs/man/twitchd.8 (written by
# hand) and docs/man/twitchd.conf.5 (generated from `twitchd
# print-config` by tests/tools/mkconfman.sh) cannot drift from the program.
#
# Checks:
#  - docs/man/twitchd.conf.5 equals a fresh `mkconfman.sh BUILD/twitchd`
#    byte for byte (the diff and the command to regenerate are printed);
#  - every key that `twitchd print-config` prints, [synth] included, is an
#    entry (.TP, \fBkey\fR = default) under its own .SS [section] of
#    twitchd.conf.5, and the page has no entry print-config does not print;
#  - every command in `twitchd --help` has a SYNOPSIS line and an entry
#    under COMMANDS in twitchd.8; every exit status the code uses
#    (the EX_* constants of <sysexits.h> in daemon/*.c) and 0 has an entry
#    under EXIT STATUS; SIGTERM, SIGINT and SIGHUP are under SIGNALS; the
#    pages name each other under SEE ALSO;
#  - both render without a single warning: `groff -man -Tutf8 -ww -z`
#    (skipped without groff) and `man --warnings -l` (skipped without man).
set -euo pipefail

B=${1:?usage: manpages.sh BUILD_DIR}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TW=$B/twitchd
[[ -x $TW ]] || { echo "FAIL: $TW is missing (build it first)" >&2; exit 1; }
M8=$REPO/docs/man/twitchd.8
M5=$REPO/docs/man/twitchd.conf.5
for f in "$M8" "$M5"; do [[ -f $f ]] || { echo "FAIL: $f is missing" >&2; exit 1; }; done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "  ok${1:+: $1}"; }

# section NAME FILE: the lines of .SH NAME up to the next .SH
section() { awk -v s=".SH $1" '$0 == s { on = 1; next } /^\.SH / { on = 0 } on' "$2"; }

echo "manpages: twitchd.conf.5 is mkconfman.sh's output for this twitchd"
sh "$REPO/tests/tools/mkconfman.sh" "$TW" >"$tmp/conf.5" 2>"$tmp/err" ||
    fail "mkconfman.sh failed: $(cat "$tmp/err")"
if ! cmp -s "$tmp/conf.5" "$M5"; then
    diff -u "$M5" "$tmp/conf.5" | head -n 40 >&2 || true
    fail "docs/man/twitchd.conf.5 differs from the generated page (diff above); regenerate it:
      tests/tools/mkconfman.sh build/twitchd > docs/man/twitchd.conf.5"
fi
ok "equal ($(wc -l <"$M5") lines)"

echo "manpages: every key of print-config is documented in twitchd.conf.5"
"$TW" print-config | awk '
    /^\[[a-z_0-9]+\]$/ { sec = substr($0, 2, length($0) - 2); next }
    /^[a-z_0-9]+ = / { sub(/ = .*/, ""); print sec "." $0 }' | sort >"$tmp/keys"
[[ -s $tmp/keys ]] || fail "print-config printed no key"
awk '
    /^\.SS \[[a-z_0-9]+\]$/ { sec = substr($0, 6, length($0) - 6); next }
    /^\.SH / { sec = "" }
    prev == ".TP" && /^\\fB[a-z_0-9]+\\fR = / {
        k = $0; sub(/^\\fB/, "", k); sub(/\\fR = .*/, "", k)
        if (sec != "") print sec "." k
    }
    { prev = $0 }' "$M5" | sort >"$tmp/documented"
missing=$(comm -23 "$tmp/keys" "$tmp/documented")
extra=$(comm -13 "$tmp/keys" "$tmp/documented")
[[ -z $missing ]] || fail "keys missing from twitchd.conf.5: $(tr '\n' ' ' <<<"$missing")"
[[ -z $extra ]] || fail "twitchd.conf.5 documents keys print-config does not print: $(tr '\n' ' ' <<<"$extra")"
ok "$(wc -l <"$tmp/keys") keys in $(cut -d. -f1 "$tmp/keys" | sort -u | wc -l) sections, each under its section"

echo "manpages: twitchd.8 has every command, exit status and signal"
"$TW" --help | awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on && /^  [a-z]/ { print $1 }' >"$tmp/cmds"
[[ -s $tmp/cmds ]] || fail "no commands in twitchd --help"
section SYNOPSIS "$M8" >"$tmp/synopsis"
section COMMANDS "$M8" >"$tmp/commands"
while read -r c; do
    r=${c//-/\\\\-}
    grep -qE "^\.B twitchd $r( |$)" "$tmp/synopsis" || fail "twitchd.8: no SYNOPSIS line for '$c'"
    awk -v want=".B $c" 'prev == ".TP" { g = $0; gsub(/\\-/, "-", g); if (g == want) f = 1 } { prev = $0 } END { exit !f }' \
        "$tmp/commands" || fail "twitchd.8: no entry for command '$c' under COMMANDS"
done <"$tmp/cmds"
ok "commands: $(tr '\n' ' ' <"$tmp/cmds")"
# exit statuses: 0 and every EX_ constant of <sysexits.h> that daemon/
# uses (daemon/base/tw_exit.h), as its value
codes=$( (echo 0; grep -hoE '\bEX_[A-Z]+\b' "$REPO"/daemon/*/*.c | sort -u |
    while read -r n; do awk -v n="$n" '$1 == "#define" && $2 == n { print $3 }' /usr/include/sysexits.h; done) |
    sort -un)
section "EXIT STATUS" "$M8" | awk 'prev == ".TP" && /^\.B [0-9]+$/ { print $2 } { prev = $0 }' | sort -un >"$tmp/codes"
for c in $codes; do
    grep -qx "$c" "$tmp/codes" || fail "twitchd.8: exit status $c (defined in daemon/) is not under EXIT STATUS"
done
ok "exit statuses: $(tr '\n' ' ' <<<"$codes")(documented: $(tr '\n' ' ' <"$tmp/codes"))"
for sig in SIGTERM SIGINT SIGHUP; do
    section SIGNALS "$M8" | grep -q "$sig" || fail "twitchd.8: $sig is not under SIGNALS"
done
section "SEE ALSO" "$M8" | grep -q '^\.BR twitchd\.conf (5)' || fail "twitchd.8: SEE ALSO lacks twitchd.conf(5)"
section "SEE ALSO" "$M5" | grep -q '^\.BR twitchd (8)' || fail "twitchd.conf.5: SEE ALSO lacks twitchd(8)"
ok "signals SIGTERM SIGINT SIGHUP; SEE ALSO both ways"

echo "manpages: both render without warnings"
if command -v groff >/dev/null 2>&1; then
    for f in "$M8" "$M5"; do
        out=$(groff -man -Tutf8 -ww -z "$f" 2>&1) || fail "groff failed on $f: $out"
        [[ -z $out ]] || fail "groff warnings for $(basename "$f"):
$out"
    done
    ok "groff -man -Tutf8 -ww -z: no warnings"
else
    echo "  (groff not installed: not rendered with groff)"
fi
if command -v man >/dev/null 2>&1; then
    for f in "$M8" "$M5"; do
        LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" >"$tmp/render" 2>"$tmp/err" ||
            fail "man -l $f failed: $(cat "$tmp/err")"
        [[ ! -s $tmp/err ]] || fail "man --warnings -l $(basename "$f"): $(cat "$tmp/err")"
        [[ -s $tmp/render ]] || fail "man -l $(basename "$f") rendered nothing"
    done
    ok "man --warnings -l: no warnings ($(wc -l <"$tmp/render") lines for twitchd.conf(5))"
else
    echo "  (man not installed: not rendered with man)"
fi
echo "manpages: OK"
