/* commands.h: the twitchd subcommands. Each takes the argv after the
 * subcommand name (argv[0] is the subcommand) and returns the process exit
 * status (0 success, 64 usage, 65 bad input data, 66 cannot open input,
 * 70 internal error, 74 I/O error, 78 configuration error: sysexits.h). */
#ifndef TW_COMMANDS_H
#define TW_COMMANDS_H

int tw_cmd_replay(int argc, char **argv);
int tw_cmd_synth(int argc, char **argv);
int tw_cmd_check_config(int argc, char **argv);
int tw_cmd_print_config(int argc, char **argv);
int tw_cmd_run(int argc, char **argv);
int tw_cmd_sub(int argc, char **argv);
int tw_cmd_list_devices(int argc, char **argv);
int tw_cmd_repair(int argc, char **argv);
int tw_cmd_ctl(int argc, char **argv);
int tw_cmd_keygen(int argc, char **argv);
int tw_cmd_web(int argc, char **argv);
int tw_cmd_report(int argc, char **argv);
int tw_cmd_analyze(int argc, char **argv);

#endif
