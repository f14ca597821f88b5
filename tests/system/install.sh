#!/usr/bin/env bash
# make install honours PREFIX and DESTDIR; the installed binary runs from
# there; make uninstall removes what install put. $1: the build directory.
set -euo pipefail
build=${1:?usage: install.sh BUILD_DIR}
repo=$(cd "$(dirname "$0")/../.." && pwd)
san=0
case "$build" in *san*) san=1 ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest="$tmp/root"

echo "install: make install B=$build PREFIX=/opt/tw DESTDIR=$dest"
make -s -C "$repo" install B="$build" SAN=$san PREFIX=/opt/tw DESTDIR="$dest" >"$tmp/log" 2>&1 || {
    cat "$tmp/log"; echo "FAIL: make install failed"; exit 1; }
for f in bin/twitchd lib/libtwitchdsp.a include/twitchd/channel.h \
         share/doc/twitchd/README.md share/doc/twitchd/events.md share/doc/twitchd/twitchd.conf; do
    [ -e "$dest/opt/tw/$f" ] || { echo "FAIL: $f not installed under DESTDIR/PREFIX"; exit 1; }
done
if find "$dest" -path "$dest/opt" -prune -o -type f -print | grep -q .; then
    echo "FAIL: files installed outside PREFIX:"; find "$dest" -path "$dest/opt" -prune -o -type f -print; exit 1
fi
echo "install: running the installed binary"
"$dest/opt/tw/bin/twitchd" --version | grep -q '^twitchd ' || { echo "FAIL: installed twitchd --version"; exit 1; }
"$dest/opt/tw/bin/twitchd" check-config -c "$dest/opt/tw/share/doc/twitchd/twitchd.conf" | grep -qx 'configuration OK' || {
    echo "FAIL: installed twitchd rejects the installed configuration"; exit 1; }

echo "install: make uninstall"
make -s -C "$repo" uninstall B="$build" SAN=$san PREFIX=/opt/tw DESTDIR="$dest" >"$tmp/log" 2>&1 || {
    cat "$tmp/log"; echo "FAIL: make uninstall failed"; exit 1; }
left=$(find "$dest" -type f | wc -l)
[ "$left" -eq 0 ] || { echo "FAIL: $left files left after uninstall"; find "$dest" -type f; exit 1; }
echo "install: OK"
