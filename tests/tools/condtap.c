/* condtap.c: the conditioned signal of one channel of an audio file, as
 * the live daemon's detectors see it and the audio monitor plays it
 * (dsp/channel.h, tw_channel_execute_block_tap), for
 * tests/system/monitor_portaudio.sh.
 *
 *   condtap IN CHANNEL OUT.raw [SECTION.KEY=VALUE]...
 *
 * IN is read with libsndfile (values in digital full scale, as the file
 * source reads them), scaled to uV by input.full_scale_uv as the engine
 * does, and fed through a channel built from the configuration (the
 * defaults and the assignments given, as -o would). OUT.raw gets the
 * conditioned samples of CHANNEL (float32, native order, uV at the
 * detector rate); stdout gets one line, "rate DETECTOR_HZ samples N".
 * Exit status: 0, 64 usage or configuration error, 66 IN unreadable, 73
 * OUT not written.
 */
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "config.h"

#define BLOCK 256 /* frames per call, as the daemon's default input block */

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: condtap IN CHANNEL OUT.raw [SECTION.KEY=VALUE]...\n");
        return 64;
    }
    static tw_config c;
    tw_config_defaults(&c);
    tw_config_errors err;
    memset(&err, 0, sizeof err);
    for (int i = 4; i < argc; i++)
        tw_config_override(&c, argv[i], &err);
    if (err.total) {
        fprintf(stderr, "condtap: %s\n", err.msg[0]);
        return 64;
    }
    SF_INFO si;
    memset(&si, 0, sizeof si);
    SNDFILE *sf = sf_open(argv[1], SFM_READ, &si);
    if (!sf) {
        fprintf(stderr, "condtap: %s: %s\n", argv[1], sf_strerror(NULL));
        return 66;
    }
    int ch = atoi(argv[2]);
    if (ch < 0 || ch >= si.channels) {
        fprintf(stderr, "condtap: channel %d: the file has %d\n", ch, si.channels);
        return 64;
    }
    tw_channel_params p;
    tw_config_channel_params(&c, ch, si.samplerate, &p);
    tw_channel *q = tw_channel_create(&p, NULL);
    FILE *out = fopen(argv[3], "wb");
    float *frames = malloc((size_t)BLOCK * (size_t)si.channels * sizeof *frames);
    float x[BLOCK];
    size_t ycap = tw_channel_max_conditioned(q, BLOCK);
    float *y = malloc(ycap * sizeof *y);
    size_t evcap = tw_channel_max_events(q, BLOCK);
    tw_event *ev = malloc(evcap * sizeof *ev);
    if (!q || !out || !frames || !y || !ev) {
        fprintf(stderr, "condtap: cannot set up (channel or %s)\n", argv[3]);
        return 73;
    }
    long total = 0;
    sf_count_t got;
    while ((got = sf_readf_float(sf, frames, BLOCK)) > 0) {
        for (sf_count_t i = 0; i < got; i++)
            x[i] = (float)(frames[i * si.channels + ch] * c.full_scale_uv);
        size_t nev, ny;
        tw_channel_execute_block_tap(q, x, (size_t)got, ev, evcap, &nev, y, ycap, &ny);
        if (fwrite(y, sizeof *y, ny, out) != ny) {
            fprintf(stderr, "condtap: %s: write error\n", argv[3]);
            return 73;
        }
        total += (long)ny;
    }
    if (fclose(out) != 0) {
        fprintf(stderr, "condtap: %s: write error\n", argv[3]);
        return 73;
    }
    printf("rate %.17g samples %ld\n", tw_channel_get_detector_rate(q), total);
    sf_close(sf);
    tw_channel_destroy(q);
    free(frames);
    free(y);
    free(ev);
    return 0;
}
