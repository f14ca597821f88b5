/* cmd_repair.c: `twitchd repair FILE...`: finish EDF+/BDF+ recordings a
 * crash left unfinished (edfrepair.h). */
#define _GNU_SOURCE /* getopt_long */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "edfrepair.h"


static const char usage[] =
    "usage: twitchd repair FILE...\n"
    "\n"
    "Finish EDF+/BDF+ recordings that a crash left unfinished: cut a partial\n"
    "last record, set the header's record count, write the annotations kept\n"
    "in FILE.annot into the file and remove FILE.annot. A complete file is\n"
    "left as it is. One line per file on stdout (what was done); errors on\n"
    "stderr.\n"
    "\n"
    "  -h, --help   this text\n"
    "\n"
    "Exit status: 0 every file repaired or complete; otherwise that of the first\n"
    "file that was not: 65 not an EDF+/BDF+ file (or no whole record in it),\n"
    "66 cannot be opened, 74 I/O error, 75 a recorder is writing it.\n";

static int exit_status(int rc)
{
    switch (rc) {
    case TW_EDF_REPAIR_DONE:
    case TW_EDF_REPAIR_NOTHING: return 0;
    case TW_EDF_REPAIR_EFORMAT: return EX_DATAERR;
    case TW_EDF_REPAIR_EOPEN: return EX_NOINPUT;
    case TW_EDF_REPAIR_EBUSY: return EX_TEMPFAIL;
    default: return EX_IOERR;
    }
}

int tw_cmd_repair(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return EX_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "twitchd repair: expected at least one file\n%s", usage);
        return EX_USAGE;
    }
    int status = 0;
    for (int i = optind; i < argc; i++) {
        char report[4608], err[4608];
        int rc = tw_edf_repair(argv[i], report, sizeof report, err, sizeof err);
        if (rc >= 0) {
            puts(report);
        } else {
            fprintf(stderr, "twitchd repair: %s\n", err);
            if (status == 0)
                status = exit_status(rc);
        }
    }
    if (fflush(stdout) != 0) {
        perror("twitchd repair: stdout");
        return EX_IOERR;
    }
    return status;
}
