#!/usr/bin/env bash
# make install honours PREFIX and DESTDIR; the installed binary runs from
# there; make uninstall removes what install put. $1: the build directory.
#
# Checks, with PREFIX=/opt/tw and DESTDIR:
#  - the binary, static library, headers and docs as before, and the
#    configuration in $PREFIX/etc/twitchd/twitchd.conf (SYSCONFDIR is /etc
#    only for PREFIX /usr and /usr/local), the unit in
#    lib/systemd/system, sysusers.d/twitchd.conf and tmpfiles.d/twitchd.conf
#    in lib/, the manuals in share/man/man8 and man5, the page of
#    `twitchd web` in share/twitchd/web; nothing outside PREFIX;
#  - the installed unit is systemd/twitchd.service with /usr/bin/twitchd
#    and /etc/twitchd/ replaced by the PREFIX's paths, nothing else; the
#    sysusers, tmpfiles and man files equal the tree's (twitchd.conf.5 is
#    generated at install time from the binary);
#  - the installed binary runs from DESTDIR (--version), accepts the
#    installed configuration, and its print-config equals it; its `twitchd
#    web`, with web.root at its default (empty), finds the installed page
#    beside it and serves it;
#  - installing again over the unchanged configuration leaves it alone and
#    adds no twitchd.conf.dist; over an edited one it keeps the edit byte
#    for byte, installs the new default as twitchd.conf.dist and says so;
#  - uninstall removes every file but the edited configuration (and says
#    it kept it);
# and with PREFIX=/usr: the configuration goes to DESTDIR/etc (not
# /usr/etc), the unit in usr/lib/systemd/system is the tree's file byte
# for byte, and uninstall leaves no file.
set -euo pipefail
build=${1:?usage: install.sh BUILD_DIR}
repo=$(cd "$(dirname "$0")/../.." && pwd)
san=0
case "$build" in *san*) san=1 ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest="$tmp/root"
fail() { echo "FAIL: $*"; exit 1; }
mk() { # mk TARGET PREFIX DESTDIR: make TARGET, output in $tmp/log
    make -s -C "$repo" "$1" B="$build" SAN=$san PREFIX="$2" DESTDIR="$3" >"$tmp/log" 2>&1 || {
        cat "$tmp/log"; fail "make $1 PREFIX=$2 failed"; }
}

echo "install: make install B=$build PREFIX=/opt/tw DESTDIR=$dest"
mk install /opt/tw "$dest"
p=$dest/opt/tw
for f in bin/twitchd lib/libtwitchdsp.a include/twitchd/channel.h \
         share/doc/twitchd/README.md share/doc/twitchd/events.md share/doc/twitchd/twitchd.conf \
         etc/twitchd/twitchd.conf lib/systemd/system/twitchd.service \
         lib/sysusers.d/twitchd.conf lib/tmpfiles.d/twitchd.conf \
         share/man/man8/twitchd.8 share/man/man5/twitchd.conf.5 \
         share/twitchd/web/index.html share/twitchd/web/app.js share/twitchd/web/style.css; do
    [ -e "$p/$f" ] || fail "$f not installed under DESTDIR/PREFIX"
done
if find "$dest" -path "$dest/opt" -prune -o -type f -print | grep -q .; then
    echo "FAIL: files installed outside PREFIX:"; find "$dest" -path "$dest/opt" -prune -o -type f -print; exit 1
fi
cmp -s "$p/etc/twitchd/twitchd.conf" "$repo/config/twitchd.conf" || fail "etc/twitchd/twitchd.conf is not config/twitchd.conf"
sed -e 's|/opt/tw/bin/twitchd|/usr/bin/twitchd|g' -e 's|/opt/tw/etc/twitchd/|/etc/twitchd/|g' \
    "$p/lib/systemd/system/twitchd.service" >"$tmp/unit.back"
cmp -s "$tmp/unit.back" "$repo/systemd/twitchd.service" || {
    diff -u "$repo/systemd/twitchd.service" "$p/lib/systemd/system/twitchd.service" || true
    fail "the installed unit differs from systemd/twitchd.service by more than its paths"; }
grep -qx 'ExecStart=/opt/tw/bin/twitchd run -c /opt/tw/etc/twitchd/twitchd.conf' "$p/lib/systemd/system/twitchd.service" ||
    fail "installed unit: ExecStart= does not name /opt/tw/bin/twitchd and /opt/tw/etc: $(grep ^ExecStart= "$p/lib/systemd/system/twitchd.service")"
for pair in "lib/sysusers.d/twitchd.conf systemd/twitchd.sysusers" "lib/tmpfiles.d/twitchd.conf systemd/twitchd.tmpfiles" \
            "share/man/man8/twitchd.8 docs/man/twitchd.8" "share/man/man5/twitchd.conf.5 docs/man/twitchd.conf.5" \
            "share/twitchd/web/index.html web/index.html" "share/twitchd/web/app.js web/app.js" \
            "share/twitchd/web/style.css web/style.css"; do
    read -r inst src <<<"$pair"
    cmp -s "$p/$inst" "$repo/$src" || fail "installed $inst differs from $src"
done
echo "install: running the installed binary"
"$p/bin/twitchd" --version | grep -q '^twitchd ' || fail "installed twitchd --version"
"$p/bin/twitchd" check-config -c "$p/share/doc/twitchd/twitchd.conf" | grep -qx 'configuration OK' ||
    fail "installed twitchd rejects the installed configuration (doc)"
"$p/bin/twitchd" check-config -c "$p/etc/twitchd/twitchd.conf" | grep -qx 'configuration OK' ||
    fail "installed twitchd rejects etc/twitchd/twitchd.conf"
"$p/bin/twitchd" print-config | cmp -s - "$p/etc/twitchd/twitchd.conf" ||
    fail "installed twitchd print-config differs from etc/twitchd/twitchd.conf"

echo "install: the installed twitchd web serves the installed page"
"$p/bin/twitchd" web -o web.listen=127.0.0.1:0 -o publish.endpoint="ipc://$tmp/pub" \
    -o control.endpoint= >"$tmp/web.log" 2>&1 &
wpid=$!
url=
for _ in $(seq 100); do
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$tmp/web.log" | head -n 1) && [ -n "$url" ] && break
    kill -0 "$wpid" 2>/dev/null || break
    sleep 0.1
done
[ -n "$url" ] || { kill "$wpid" 2>/dev/null; cat "$tmp/web.log"; fail "installed twitchd web did not start"; }
grep -q "serving $p/share/twitchd/web " "$tmp/web.log" || { kill "$wpid"; cat "$tmp/web.log"; fail "twitchd web does not serve $p/share/twitchd/web"; }
python3 -c 'import sys, urllib.request; sys.exit(0 if b"app.js" in urllib.request.urlopen(sys.argv[1], timeout=5).read() else 1)' "$url" ||
    { kill "$wpid"; fail "GET $url: not the page"; }
kill "$wpid"; wait "$wpid" || fail "twitchd web exited $? on SIGTERM"

echo "install: again over the unchanged configuration"
mk install /opt/tw "$dest"
[ ! -e "$p/etc/twitchd/twitchd.conf.dist" ] || fail "twitchd.conf.dist installed although the configuration was not edited"
cmp -s "$p/etc/twitchd/twitchd.conf" "$repo/config/twitchd.conf" || fail "the unchanged configuration was changed"

echo "install: again over an edited configuration"
sed -i 's/^level = info$/level = debug/' "$p/etc/twitchd/twitchd.conf"
cp "$p/etc/twitchd/twitchd.conf" "$tmp/edited"
! cmp -s "$tmp/edited" "$repo/config/twitchd.conf" || fail "could not edit the configuration (no 'level = info' line)"
mk install /opt/tw "$dest"
cmp -s "$p/etc/twitchd/twitchd.conf" "$tmp/edited" || fail "make install overwrote an edited configuration"
cmp -s "$p/etc/twitchd/twitchd.conf.dist" "$repo/config/twitchd.conf" ||
    fail "the new default was not installed as twitchd.conf.dist"
grep -q 'twitchd.conf.dist' "$tmp/log" || { cat "$tmp/log"; fail "make install did not say where the new default went"; }
echo "  make install said: $(grep 'twitchd.conf.dist' "$tmp/log")"

echo "install: make uninstall (keeps the edited configuration only)"
mk uninstall /opt/tw "$dest"
left=$(find "$dest" -type f)
[ "$left" = "$p/etc/twitchd/twitchd.conf" ] || { echo "FAIL: after uninstall, expected only the edited configuration, found:"; echo "$left"; exit 1; }
cmp -s "$p/etc/twitchd/twitchd.conf" "$tmp/edited" || fail "uninstall changed the edited configuration"
grep -q 'kept' "$tmp/log" || { cat "$tmp/log"; fail "make uninstall did not say it kept the edited configuration"; }

echo "install: PREFIX=/usr puts the configuration in /etc and the unit as it is in the tree"
dest2=$tmp/root2
mk install /usr "$dest2"
[ -f "$dest2/etc/twitchd/twitchd.conf" ] || fail "PREFIX=/usr: no DESTDIR/etc/twitchd/twitchd.conf"
[ ! -e "$dest2/usr/etc" ] || fail "PREFIX=/usr: something went to /usr/etc"
cmp -s "$dest2/usr/lib/systemd/system/twitchd.service" "$repo/systemd/twitchd.service" ||
    fail "PREFIX=/usr: the installed unit is not systemd/twitchd.service"
for f in usr/bin/twitchd usr/lib/sysusers.d/twitchd.conf usr/lib/tmpfiles.d/twitchd.conf \
         usr/share/man/man8/twitchd.8 usr/share/man/man5/twitchd.conf.5; do
    [ -f "$dest2/$f" ] || fail "PREFIX=/usr: $f not installed"
done
mk uninstall /usr "$dest2"
left=$(find "$dest2" -type f | wc -l)
[ "$left" -eq 0 ] || { echo "FAIL: $left files left after uninstall"; find "$dest2" -type f; exit 1; }
echo "install: OK"
