/* cmd_keygen.c: `twitchd keygen NAME...`: CURVE key pairs for the daemon
 * and its clients (curve.h). For each NAME writes NAME.key (the pair,
 * mode 0600; an existing one is never overwritten) and NAME.pub (the
 * public key), and prints the public key.
 *
 * Exit status: 0, 64 usage, 73 a file cannot be created (or exists). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "curve.h"


static const char usage[] =
    "usage: twitchd keygen NAME...\n"
    "\n"
    "Write a CURVE key pair for each NAME: NAME.key (public and secret key,\n"
    "mode 0600, never overwritten) and NAME.pub (the public key), and print the\n"
    "public key.\n"
    "\n"
    "The daemon's pair goes to curve.key_file (e.g. /etc/twitchd/curve/server);\n"
    "each client's .pub line goes into curve.allowlist; a client gives the\n"
    "daemon's .pub to --curve-server and its own .key to --curve-key.\n"
    "\n"
    "Exit status: 0 written, 64 usage error, 73 a file cannot be created or\n"
    "already exists.\n";

int tw_cmd_keygen(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return EX_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' || !argv[i][0]) {
            fprintf(stderr, "twitchd keygen: '%s': not a NAME (see twitchd keygen --help)\n",
                    argv[i]);
            return EX_USAGE;
        }
    }
    for (int i = 1; i < argc; i++) {
        char err[512], path[4200], pub[TW_CURVE_KEYLEN + 1];
        if (tw_curve_keygen(argv[i], err, sizeof err) != 0) {
            fprintf(stderr, "twitchd keygen: %s\n", err);
            return EX_CANTCREAT;
        }
        snprintf(path, sizeof path, "%s.pub", argv[i]);
        if (tw_curve_read_keyfile(path, pub, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "twitchd keygen: %s\n", err);
            return EX_CANTCREAT;
        }
        printf("%s.key %s.pub public = %s\n", argv[i], argv[i], pub);
    }
    return 0;
}
