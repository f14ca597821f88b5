/* main.c: twitchd's entry point: pick the subcommand. */
#include <jansson.h>
#include <liquid/liquid.h>
#include <portaudio.h>
#include <zmq.h>
#include <sndfile.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

#ifndef TW_VERSION
#define TW_VERSION "unknown"
#endif
#ifndef TW_INIH_VERSION
#define TW_INIH_VERSION "unknown"
#endif

static const char usage[] =
    "usage: twitchd COMMAND [OPTIONS]...\n"
    "\n"
    "Detects endplate noise (EPN) and local twitch responses (LTR) in needle\n"
    "EMG during dry needling.\n"
    "\n"
    "commands:\n"
    "  run              the daemon: acquire, detect, journal and publish events\n"
    "  sub [ENDPOINT] [TOPIC...]  print what a running daemon publishes\n"
    "  ctl COMMAND [KEY=VALUE...]  control a running daemon: sessions, marks, settings\n"
    "  list-devices     the audio input devices PortAudio sees\n"
    "  replay FILE      run the detectors over an audio or EDF+/BDF+ file, print events as JSON lines\n"
    "  report SUMMARY   write a session's HTML report (timelines, trains, EPN, tables)\n"
    "  analyze PATH...  re-analyse recordings and folders: events, summaries, CSV tables\n"
    "  synth OUT.wav    write a synthetic needle recording with its ground truth\n"
    "  check-config     check the configuration file\n"
    "  print-config     print a documented configuration file with every default\n"
    "  repair FILE...   finish EDF+/BDF+ recordings that a crash left unfinished\n"
    "  keygen NAME...   CURVE key pairs for the daemon and its clients\n"
    "  web              serve the live view of a running daemon to a browser\n"
    "\n"
    "  twitchd COMMAND --help    help on one command\n"
    "  twitchd --version         version of twitchd and of its libraries\n";

static void version(void)
{
    char sf[128];
    sf_command(NULL, SFC_GET_LIB_VERSION, sf, sizeof sf);
    printf("twitchd %s\n", TW_VERSION);
    printf("liquid-dsp %s\n", liquid_libversion());
    printf("%s\n", sf);
    printf("jansson %s\n", jansson_version_str());
    printf("inih %s\n", TW_INIH_VERSION);
    int zmaj, zmin, zpat;
    zmq_version(&zmaj, &zmin, &zpat);
    printf("libzmq %d.%d.%d\n", zmaj, zmin, zpat);
    printf("%s\n", Pa_GetVersionText());
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"run", tw_cmd_run},
        {"replay", tw_cmd_replay},
        {"sub", tw_cmd_sub},
        {"list-devices", tw_cmd_list_devices},
        {"synth", tw_cmd_synth},
        {"check-config", tw_cmd_check_config},
        {"print-config", tw_cmd_print_config},
        {"repair", tw_cmd_repair},
        {"ctl", tw_cmd_ctl},
        {"keygen", tw_cmd_keygen},
        {"web", tw_cmd_web},
        {"report", tw_cmd_report},
        {"analyze", tw_cmd_analyze},
    };
    if (argc < 2) {
        fputs(usage, stderr);
        return EX_USAGE;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        version();
        return 0;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs(usage, stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "twitchd: unknown command '%s'\n%s", argv[1], usage);
    return EX_USAGE;
}
