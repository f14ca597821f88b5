/* cli.c: see cli.h. */
#include "cli.h"

#define _GNU_SOURCE /* getopt_long */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

int tw_cli_add_override(tw_cli_config *cc, const char *arg)
{
    if (cc->n_overrides >= (int)(sizeof cc->overrides / sizeof cc->overrides[0]))
        return -1;
    cc->overrides[cc->n_overrides++] = arg;
    return 0;
}

/* what: 0 plain, bit 1 run's checks, bit 2 web's checks. */
static int load(const tw_cli_config *cc, tw_config *c, const char *prog, int what)
{
    static tw_config_errors err; /* 32 KiB: keep it off the stack */
    err.n = err.total = 0;
    tw_config_defaults(c);
    if (cc->config_path)
        tw_config_load(c, cc->config_path, &err);
    for (int i = 0; i < cc->n_overrides; i++)
        tw_config_override(c, cc->overrides[i], &err);
    if (err.total == 0)
        tw_config_check(c, &err);
    if (err.total == 0 && (what & TW_CLI_CHECK_RUN))
        tw_config_check_run(c, &err);
    if (err.total == 0 && (what & TW_CLI_CHECK_WEB)) {
        /* the shared endpoint checks once: run's already named them */
        static tw_config_errors werr;
        werr.n = werr.total = 0;
        tw_config_check_web(c, &werr);
        for (int i = 0; i < werr.n; i++) {
            int seen = 0;
            for (int k = 0; k < err.n && !seen; k++)
                seen = !strcmp(err.msg[k], werr.msg[i]);
            if (!seen && err.n < TW_CONFIG_MAX_ERRORS) {
                memcpy(err.msg[err.n++], werr.msg[i], sizeof err.msg[0]);
                err.total++;
            }
        }
    }
    for (int i = 0; i < err.n; i++)
        fprintf(stderr, "%s: %s\n", prog, err.msg[i]);
    if (err.total > err.n)
        fprintf(stderr, "%s: ... and %d more errors\n", prog, err.total - err.n);
    return err.total;
}

int tw_cli_load(const tw_cli_config *cc, tw_config *c, const char *prog)
{
    return load(cc, c, prog, 0);
}

int tw_cli_load_run(const tw_cli_config *cc, tw_config *c, const char *prog)
{
    return load(cc, c, prog, TW_CLI_CHECK_RUN);
}

int tw_cli_load_web(const tw_cli_config *cc, tw_config *c, const char *prog)
{
    return load(cc, c, prog, TW_CLI_CHECK_WEB);
}

int tw_cli_load_all(const tw_cli_config *cc, tw_config *c, const char *prog)
{
    return load(cc, c, prog, TW_CLI_CHECK_RUN | TW_CLI_CHECK_WEB);
}

int tw_cli_parse(int argc, char **argv, tw_cli_config *cc, const char *usage,
                 const char *prog)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
        switch (o) {
        case 'c': cc->config_path = optarg; break;
        case 'o':
            if (tw_cli_add_override(cc, optarg) != 0) {
                fprintf(stderr, "%s: too many -o options\n", prog);
                return EX_USAGE;
            }
            break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return EX_USAGE;
        }
    }
    if (optind != argc) {
        fputs(usage, stderr);
        return EX_USAGE;
    }
    return -1;
}
