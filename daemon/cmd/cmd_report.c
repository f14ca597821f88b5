/* cmd_report.c: `twitchd report`: a session's HTML report (report.h). */
#define _GNU_SOURCE /* getopt_long */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "report.h"

static const char usage[] =
    "usage: twitchd report [-j DIR] [-o OUT.html] SUMMARY.json\n"
    "\n"
    "Write one self-contained HTML file (inline SVG, no external asset; prints\n"
    "to PDF from a browser) for a session: per channel a timeline (EPN,\n"
    "LTRs sized by amplitude, insertions, marks, gaps, bad signal quality),\n"
    "each insertion train's amplitude decrement, LTR amplitude and latency\n"
    "distributions, EPN before vs after the first LTR, the session's table.\n"
    "SUMMARY.json is a session summary (ID.summary.json beside the\n"
    "recording, docs/session-summary.md); the session's EPN episodes, gaps\n"
    "and LTR latencies come from the journal files in DIR.\n"
    "\n"
    "  -j, --journal DIR   journal.dir of the daemon that ran the session\n"
    "                      (twitchd-*.jsonl; default: none, the summary only)\n"
    "  -o, --output FILE   the report (default: ID.report.html beside SUMMARY)\n"
    "  -h, --help          this text\n";

int tw_cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"journal", required_argument, NULL, 'j'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *jdir = NULL, *out = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "j:o:h", opts, NULL)) != -1) {
        switch (o) {
        case 'j': jdir = optarg; break;
        case 'o': out = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return EX_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "twitchd report: expected one summary file\n%s", usage);
        return EX_USAGE;
    }
    char err[512], used[4096];
    int rc = tw_report_make(argv[optind], jdir, out, used, sizeof used, err, sizeof err);
    if (rc == 0) {
        printf("%s\n", used);
        return 0;
    }
    fprintf(stderr, "twitchd report: %s\n", err);
    return rc == -2 ? EX_DATAERR : rc == -3 ? EX_IOERR : EX_NOINPUT;
}
