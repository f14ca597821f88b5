/* cmd_devices.c: `twitchd list-devices`: what PortAudio sees, one line
 * per device, and (with -c / -o) the device the configuration selects. */
#define _GNU_SOURCE /* getopt_long */
#include <getopt.h>
#include <portaudio.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "source.h"
#include "config.h"


/* src_portaudio.c */

static const char usage[] =
    "usage: twitchd list-devices [-c FILE] [-o SECTION.KEY=VALUE]...\n"
    "\n"
    "List the audio devices PortAudio sees: index, host API, input and output\n"
    "channels, default sample rate, name. '*' marks the default input device.\n"
    "With -c or -o, also show which device input.device / input.hostapi select\n"
    "('>') and whether it can capture input.rate, input.channels, input.format.\n"
    "\n"
    "  -c, --config FILE     read this configuration file\n"
    "  -o SECTION.KEY=VALUE  override one setting, e.g. -o input.device=USB\n"
    "  -h, --help            this text\n";

int tw_cmd_list_devices(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    tw_cli_config cc = {0};
    int o, use_config = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
        switch (o) {
        case 'c':
            cc.config_path = optarg;
            use_config = 1;
            break;
        case 'o':
            if (tw_cli_add_override(&cc, optarg) != 0) {
                fprintf(stderr, "twitchd list-devices: too many -o options\n");
                return EX_USAGE;
            }
            use_config = 1;
            break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return EX_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "twitchd list-devices: unexpected argument '%s'\n%s", argv[optind], usage);
        return EX_USAGE;
    }
    tw_config cfg;
    if (tw_cli_load(&cc, &cfg, "twitchd list-devices") != 0)
        return EX_CONFIG;

    PaError e = Pa_Initialize();
    if (e != paNoError) {
        fprintf(stderr, "twitchd list-devices: PortAudio: cannot initialise: %s\n",
                Pa_GetErrorText(e));
        return EX_UNAVAILABLE;
    }
    int n = Pa_GetDeviceCount();
    if (n < 0) {
        fprintf(stderr, "twitchd list-devices: PortAudio: %s\n", Pa_GetErrorText(n));
        Pa_Terminate();
        return EX_UNAVAILABLE;
    }
    char why[512];
    int sel = use_config ? tw_pa_find_device(&cfg, why, sizeof why) : -1;
    int def = Pa_GetDefaultInputDevice();
    printf("  %5s  %-12s %4s %4s %8s  %s\n", "index", "host API", "in", "out", "rate", "name");
    for (int i = 0; i < n; i++) {
        const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
        if (!d)
            continue;
        const PaHostApiInfo *h = Pa_GetHostApiInfo(d->hostApi);
        printf("%c%c%5d  %-12s %4d %4d %8.0f  %s\n", i == sel ? '>' : ' ', i == def ? '*' : ' ',
               i, h && h->name ? h->name : "?", d->maxInputChannels, d->maxOutputChannels,
               d->defaultSampleRate, d->name);
    }
    if (n == 0)
        printf("  (no devices)\n");
    printf("%d device%s; * default input%s\n", n, n == 1 ? "" : "s",
           use_config ? "; > selected by input.device" : "");
    int rc = 0;
    if (use_config) {
        if (sel < 0) {
            printf("input.device '%s': %s\n", cfg.device, why);
            rc = EX_CONFIG;
        } else {
            /* open (not start) the stream the daemon would open: the
             * real check, cheaper than Pa_IsFormatSupported on ALSA */
            static const PaSampleFormat fmts[] = {paFloat32, paInt16, paInt24, paInt32};
            const PaDeviceInfo *d = Pa_GetDeviceInfo(sel);
            PaStreamParameters in = {sel, cfg.channels, fmts[cfg.format],
                                     d->defaultHighInputLatency, NULL};
            PaStream *st = NULL;
            e = d->maxInputChannels < cfg.channels
                    ? paInvalidChannelCount
                    : Pa_OpenStream(&st, &in, NULL, cfg.rate, (unsigned long)cfg.frames_per_buffer,
                                    paClipOff | paDitherOff, NULL, NULL);
            if (e == paNoError)
                Pa_CloseStream(st);
            printf("input.device '%s' selects %d '%s': %d Hz, %d ch, %s %s%s\n", cfg.device, sel,
                   d->name, cfg.rate, cfg.channels, tw_pa_format_name(cfg.format),
                   e == paNoError ? "supported" : "NOT supported: ",
                   e == paNoError ? "" : Pa_GetErrorText(e));
            if (e != paNoError)
                rc = EX_CONFIG;
        }
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "twitchd list-devices: cannot write to stdout\n");
        rc = EX_IOERR;
    }
    Pa_Terminate();
    return rc;
}
