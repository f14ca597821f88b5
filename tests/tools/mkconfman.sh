#!/bin/sh
# mkconfman.sh TWITCHD: write the manual page twitchd.conf(5) on stdout,
# generated from `TWITCHD print-config` (the key table in daemon/conf/config.c
# and daemon/synth/synth_keys.c), so that the page lists every key with its
# default, allowed range and meaning, and cannot drift from the program.
#
# `make install` runs it on the binary it installs; docs/man/twitchd.conf.5
# is its output for the binary of the tree, and tests/system/manpages.sh
# keeps the two equal (regenerate after changing a key:
# tests/tools/mkconfman.sh build/twitchd > docs/man/twitchd.conf.5).
#
# The output depends only on print-config's text: no date, no version, no
# locale (LC_ALL=C), so it is the same on every machine.
#
# print-config's layout, which this relies on: a header of comment lines,
# a blank line, then per section optional comment lines (the section's
# introduction), "[section]", and per key "# meaning", "# allowed: RANGE",
# "key = default". Exit status: 0, or 1 if TWITCHD fails or prints no key.
set -eu
LC_ALL=C
export LC_ALL

tw=${1:?usage: mkconfman.sh TWITCHD_BINARY}
cfg=$("$tw" print-config) || { echo "mkconfman.sh: $tw print-config failed" >&2; exit 1; }
printf '%s\n' "$cfg" | grep -q '^[a-z_0-9]* = ' || {
    echo "mkconfman.sh: no key in the output of $tw print-config" >&2; exit 1; }

cat <<'EOF'
.\" twitchd.conf(5): GENERATED from `twitchd print-config` by
.\" tests/tools/mkconfman.sh. Do not edit: change the key table in
.\" daemon/conf/config.c (or daemon/synth/synth_keys.c) and regenerate with
.\"   tests/tools/mkconfman.sh build/twitchd > docs/man/twitchd.conf.5
.TH TWITCHD.CONF 5 "" "twitchd" "File Formats Manual"
.nh
.ad l
.SH NAME
twitchd.conf \- configuration of twitchd, the EPN and LTR detector
.SH SYNOPSIS
.I /etc/twitchd/twitchd.conf
.SH DESCRIPTION
.BR twitchd (8)
reads one INI file:
.B twitchd run
and
.B twitchd check\-config
read
.I /etc/twitchd/twitchd.conf
(run: if it exists) unless
.BI \-c " FILE"
names another
.RB ( "twitchd replay"
and
.B twitchd list\-devices
read a file only when given
.BR \-c ).
.PP
The file has
.BI [ section ]
lines and
.IB key " = " value
lines below them.
Lines starting with
.B #
or
.B ;
are comments; blank lines and blanks around
.B =
are ignored.
A key that is left out keeps its default.
Every value is checked against its allowed range: an unknown section or
key, a value out of range and a line that is not
.BI [ section ]
or
.IB key " = " value
are errors, all reported at once, each as
.IP
.I file:line: section.key 'value': reason (allowed range)
.PP
and then
.B twitchd run
and
.B twitchd check\-config
exit with status 78.
.PP
Any key can also be set on the command line with
.BI \-o " section.key=value"
(after the file is read), e.g.\&
.BR "\-o input.device=USB" .
.B twitchd print\-config
prints a file with every key at its default, the key's meaning and its
allowed range; the installed
.I /etc/twitchd/twitchd.conf
is that output.
After editing the file, check it with
.BR "twitchd check\-config" ;
the service reads it when it (re)starts:
.BR "systemctl restart twitchd" .
.PP
Units: uV are microvolts at the electrode (see
.BR input.full_scale_uv ),
Hz, s and ms are hertz, seconds and milliseconds; "x noise" is a multiple
of the channel's noise floor.
Numbers may be written as integers, decimals or with an exponent (1e4 is
10000); a list of choices (a|b) means exactly one of them.
.SH KEYS
Each key is shown with its default value, then its meaning and allowed
values.
EOF

printf '%s\n' "$cfg" | awk '
# roff-safe text: backslashes escaped, no control character at the start
function esc(s) {
    gsub(/\\/, "\\e", s)
    if (s ~ /^[.\047]/)
        s = "\\&" s
    return s
}
# values and ranges: also real minus signs
function val(s) {
    s = esc(s)
    gsub(/-/, "\\-", s)
    return s
}
BEGIN {
    intro["input"]   = "Where the samples come from: a sound card through PortAudio, an audio file, or the synthetic source; the amplitude scale; what to do when the device is lost."
    intro["channel"] = "The electrode on each input channel."
    intro["filter"]  = "Signal conditioning: DC removal, band\\-pass, and cancellation of the mains hum and its harmonics."
    intro["detect"]  = "The detectors'"'"' common parts: the decimated detection rate, the noise floor, needle movements and insertion trains."
    intro["ltr"]     = "Local twitch responses: the MUAP\\-band burst detector and the criteria that tell an LTR from voluntary firing and artefacts."
    intro["epn"]     = "Endplate noise: the statistics of miniature endplate potentials and endplate spikes, and when an episode starts and ends."
    intro["publish"] = "The ZeroMQ PUB socket that events, the display stream and the heartbeat go out on (see the wire protocol in /usr/share/doc/twitchd/protocol.md)."
    intro["journal"] = "The event journal on disk, written before anything is published."
    intro["web"]     = "The live view in a browser, twitchd web: where it listens, where its page files are, how many browsers it serves. It finds the daemon through publish.endpoint and control.endpoint."
    intro["log"]     = "What goes to the log (stderr, or the systemd journal under the service)."
    seen_blank = 0; n = 0; nkeys = 0
}
/^#/ {
    line = $0; sub(/^# ?/, "", line)
    pend[n++] = line
    next
}
/^$/ {
    if (!seen_blank) n = 0   # the file header: not part of any section
    seen_blank = 1
    next
}
/^\[[a-z_0-9]+\]$/ {
    sec = substr($0, 2, length($0) - 2)
    printf ".SS [%s]\n", sec
    text = ""
    for (i = 0; i < n; i++) text = text (i ? " " : "") pend[i]
    if (text != "") printf "%s\n", esc(text)
    else if (sec in intro) printf "%s\n", intro[sec]
    n = 0
    next
}
/^[a-z_0-9]+ = / {
    key = $0; sub(/ = .*/, "", key)
    def = $0; sub(/^[a-z_0-9]+ = /, "", def)
    doc = ""; allowed = ""
    for (i = 0; i < n; i++) {
        if (pend[i] ~ /^allowed: /) { a = pend[i]; sub(/^allowed: /, "", a); allowed = a }
        else doc = doc (doc != "" ? " " : "") pend[i]
    }
    n = 0
    printf ".TP\n\\fB%s\\fR = ", key
    if (def == "") printf "(empty)\n"
    else printf "\\fI%s\\fR\n", val(def)
    if (doc != "") {
        doc = toupper(substr(doc, 1, 1)) substr(doc, 2)
        if (doc !~ /[.]$/) doc = doc "."
        printf "%s\n", esc(doc)
    }
    if (allowed != "") {
        if (allowed ~ /\|/) printf ".br\nOne of: %s.\n", val(allowed)
        else printf ".br\nAllowed: %s.\n", val(allowed)
    }
    nkeys++
    next
}
{ printf "mkconfman.sh: line not understood: %s\n", $0 > "/dev/stderr"; bad = 1 }
END { if (bad || nkeys == 0) exit 1 }
'

cat <<'EOF'
.SH EXAMPLE
A two\-channel amplifier on a USB sound card, needle on channel 0 and a
surface electrode on channel 1, 5 mV at the electrode for digital full
scale, 60 Hz mains:
.PP
.nf
.RS
[input]
source = portaudio
device = USB
channels = 2
full_scale_uv = 5000

[channel]
electrodes = needle,surface

[filter]
mains = 60
.RE
.fi
.PP
Publishing also on a local socket for subscribers in group twitchd:
.PP
.nf
.RS
[publish]
endpoint = tcp://127.0.0.1:5556,ipc:///run/twitchd/pub
.RE
.fi
.SH FILES
.TP
.I /etc/twitchd/twitchd.conf
The configuration read by the service.
.TP
.I /usr/share/doc/twitchd/twitchd.conf
The default configuration, as printed by
.BR "twitchd print\-config" .
.SH SEE ALSO
.BR twitchd (8)
EOF
