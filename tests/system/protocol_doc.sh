#!/usr/bin/env bash
# protocol_doc.sh BUILD_DIR: docs/protocol.md documents every control
# error and every exit status of `twitchd ctl` that the code has.
#
# Checks:
#  - every error the control socket can answer: each format string of a
#    tw_control_error() call in daemon/*.c, its command prefix ("set: ",
#    "session.stop: " ...) taken off, has its literal text (the longest
#    piece between conversions, when it is at least 6 characters) in the
#    error table of docs/protocol.md ("### Errors");
#  - the "session.stop: the session is already stopping" and busy
#    errors, the reply of session.stop waiting for its events, and the
#    oversize behaviour (the 2 MiB bound, no reply beyond it) are there;
#  - the exit statuses of `twitchd ctl`: those its code returns
#    (daemon/cmd/cmd_ctl.c, from reply_status on: `return` and `rc =` with the
#    EX_* values of <sysexits.h>, daemon/base/tw_exit.h), those
#    its --help lists, and those of the table in docs/protocol.md are the
#    same set.
set -euo pipefail

B=${1:?usage: protocol_doc.sh BUILD_DIR}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
"$B/twitchd" ctl --help >/dev/null || { echo "FAIL: $B/twitchd ctl --help" >&2; exit 1; }

python3 - "$REPO" "$B/twitchd" ${TW_DOC_VERBOSE:+-v} <<'PY'
import glob, re, subprocess, sys

repo, tw = sys.argv[1], sys.argv[2]
doc = open(repo + "/docs/protocol.md").read()
fails = []

def section(text, title):
    i = text.find(title)
    if i < 0:
        fails.append("docs/protocol.md has no section %r" % title)
        return ""
    j = text.find("\n## ", i + len(title))
    return text[i:j if j >= 0 else len(text)]

errors_doc = section(doc, "### Errors")

# ---- every tw_control_error format ----
conv = re.compile(r"%[-+ #0]*[0-9*]*(?:\.[0-9*]+)?(?:hh|h|ll|l|z|j|t|L)?[diouxXeEfgGcsp%]")
n = 0
for path in sorted(glob.glob(repo + "/daemon/*/*.c")):
    src = open(path).read()
    for m in re.finditer(r"tw_control_error\(\s*((?:\"(?:[^\"\\]|\\.)*\"\s*)+)", src):
        fmt = "".join(re.findall(r"\"((?:[^\"\\]|\\.)*)\"", m.group(1)))
        fmt = fmt.encode().decode("unicode_escape")
        if fmt == "%s":
            continue
        body = re.sub(r"^[a-z.]+: ", "", fmt)           # the command prefix
        pieces = [p.strip(" ") for p in conv.split(body)]
        piece = max(pieces, key=len)
        if len(piece) < 6:
            continue                                     # "set: %s": a relayed reason
        n += 1
        if "-v" in sys.argv:
            print("    %r" % piece)
        if piece not in errors_doc:
            fails.append("%s: error %r: %r is not in the error table of docs/protocol.md"
                         % (path.split("/")[-1], fmt, piece))
print("  %d control error formats, each in docs/protocol.md" % n)

for must in ("session.stop: the session is already stopping",
             "the daemon is busy (no answer from the DSP thread)",
             "request of N bytes is too large (limit M)"):
    if must not in errors_doc:
        fails.append("error table lacks %r" % must)
stop_doc = section(doc, "### `session.stop`: when the reply comes")
for must in ("events that began before it", "control.timeout_ms", "already stopping"):
    if must not in stop_doc.lower():
        fails.append("session.stop section lacks %r" % must)
if "2 MiB" not in errors_doc or "no reply" not in errors_doc.lower():
    fails.append("the oversize behaviour (2 MiB, no reply beyond) is not documented")

# ---- twitchd ctl exit statuses ----
ctl = open(repo + "/daemon/cmd/cmd_ctl.c").read()
consts = {}
for name, val in re.findall(r"#define (EX_\w+)\s+(\d+)", open("/usr/include/sysexits.h").read()):
    consts[name] = int(val)
body = ctl[ctl.index("static int reply_status("):]  # the reply's status, then main
code = set()
for v in re.findall(r"(?:return|rc =)\s+([A-Za-z_0-9]+)\s*;", body):
    if v.isdigit():
        code.add(int(v))
    elif v in consts:
        code.add(consts[v])
for v in re.findall(r"rc = json_is_true\(.*\) \? (\d+) : (\d+);", body):
    code |= {int(x) for x in v}
helptext = subprocess.run([tw, "ctl", "--help"], capture_output=True, text=True).stdout
tail = helptext[helptext.index("Exit status:"):]
help_codes = {int(x) for x in re.findall(r"(?<![\w.-])(\d+) (?=[a-zA-Z(])", tail)}
ctl_doc = section(doc, "## `twitchd ctl`: the command-line client")
doc_codes = {int(x) for x in re.findall(r"^\| (\d+) \|", ctl_doc, re.M)}
print("  ctl exit statuses: code %s, --help %s, docs %s" % (sorted(code), sorted(help_codes), sorted(doc_codes)))
if not (code == help_codes == doc_codes):
    fails.append("ctl exit statuses differ: code %s, --help %s, docs/protocol.md %s"
                 % (sorted(code), sorted(help_codes), sorted(doc_codes)))

for f in fails:
    print("FAIL: " + f, file=sys.stderr)
sys.exit(1 if fails else 0)
PY
echo "protocol_doc: PASS"
