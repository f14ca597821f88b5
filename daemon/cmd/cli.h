/* cli.h: what the subcommands share on their command lines: -c FILE and
 * -o SECTION.KEY=VALUE, applied in that order (file first, then every
 * override), with all errors reported at once. */
#ifndef TW_CLI_H
#define TW_CLI_H

#include "config.h"
#include "tw_exit.h"


typedef struct {
    const char *config_path;   /* NULL: built-in defaults only */
    const char *overrides[128];
    int n_overrides;
} tw_cli_config;

/* Record -c / -o options (call from a getopt loop). Returns 0, or -1 when
 * there are too many -o. */
int tw_cli_add_override(tw_cli_config *cc, const char *arg);

/* The whole command line of a subcommand that takes only -c FILE,
 * -o SECTION.KEY=VALUE and -h/--help (run, check-config): fills cc.
 * Returns -1 to go on, or the exit status to return now (0 after --help,
 * EX_USAGE on a usage error, with usage printed). */
int tw_cli_parse(int argc, char **argv, tw_cli_config *cc, const char *usage,
                 const char *prog);

/* Defaults, then the file, then the overrides, then the cross-key checks.
 * Prints every error to stderr prefixed with prog. Returns the number of
 * errors. */
int tw_cli_load(const tw_cli_config *cc, tw_config *c, const char *prog);

#define TW_CLI_CHECK_RUN 1
#define TW_CLI_CHECK_WEB 2

/* tw_cli_load plus the checks of `run` (tw_config_check_run). */
int tw_cli_load_run(const tw_cli_config *cc, tw_config *c, const char *prog);

/* tw_cli_load plus the checks of `web` (tw_config_check_web). */
int tw_cli_load_web(const tw_cli_config *cc, tw_config *c, const char *prog);

/* Both: for check-config, which applies every check run and web apply. */
int tw_cli_load_all(const tw_cli_config *cc, tw_config *c, const char *prog);

#endif
