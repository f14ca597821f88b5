/* edfwrite.c: an EDF+ file as another acquisition system would write it,
 * with EDFlib directly (not twitchd's recorder), for tests of `twitchd
 * replay` on other systems' files.
 *
 *   edfwrite IN.wav OUT.edf FULL_SCALE_UV [INSERTION_S]...
 *
 * IN.wav's first channel (digital full scale = FULL_SCALE_UV) becomes the
 * signal "EMG trapezius" in mV (physical range +-FULL_SCALE_UV / 1000
 * mV, 16 bits), between a "Resp" signal in "%" (a slow sine, same rate)
 * and an "ECG" signal in mV at 500 Hz, in 1 s records (the WAV's last
 * partial second is left out). Annotations: "Recording starts" at 0 and
 * "insertion" at each INSERTION_S. Exit 0, 64 usage, 65 bad input, 73
 * cannot write. */
#include <edflib.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>

#include "edfrec.h"

#define ECG_HZ 500 /* Hz */

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: edfwrite IN.wav OUT.edf FULL_SCALE_UV [INSERTION_S]...\n");
        return 64;
    }
    double fs_uv = atof(argv[3]);
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(argv[1], SFM_READ, &info);
    if (!sf || fs_uv <= 0) {
        fprintf(stderr, "edfwrite: %s: %s\n", argv[1], sf_strerror(sf));
        return 65;
    }
    int rate = info.samplerate, nch = info.channels;
    long long records = info.frames / rate;
    int h = edfopen_file_writeonly(argv[2], EDFLIB_FILETYPE_EDFPLUS, 3);
    if (h < 0) {
        fprintf(stderr, "edfwrite: %s: EDFlib error %d\n", argv[2], h);
        return 73;
    }
    const char *labels[3] = {"Resp", "EMG trapezius", "ECG"};
    const char *dims[3] = {"%", "mV", "mV"};
    double pmax[3] = {100, fs_uv / 1000.0, 5};
    int rates[3] = {rate, rate, ECG_HZ};
    for (int s = 0; s < 3; s++) {
        edf_set_samplefrequency(h, s, rates[s]);
        edf_set_physical_maximum(h, s, pmax[s]);
        edf_set_physical_minimum(h, s, -pmax[s]);
        edf_set_digital_maximum(h, s, 32767);
        edf_set_digital_minimum(h, s, -32768);
        edf_set_physical_dimension(h, s, dims[s]);
        edf_set_label(h, s, labels[s]);
    }
    edf_set_transducer(h, 1, "concentric needle");
    edf_set_prefilter(h, 1, "HP:5Hz LP:10kHz");
    edf_set_patientcode(h, "P07");
    edf_set_equipment(h, "OtherAmp_3000");
    float *in = malloc(sizeof *in * (size_t)rate * (size_t)nch);
    double *x = malloc(sizeof *x * (size_t)(rate > ECG_HZ ? rate : ECG_HZ)); /* either signal */
    if (!in || !x)
        return 70;
    for (long long r = 0; r < records; r++) {
        if (sf_readf_float(sf, in, rate) != rate) {
            fprintf(stderr, "edfwrite: %s: short read\n", argv[1]);
            return 65;
        }
        for (int i = 0; i < rate; i++)
            x[i] = 50.0 * sin(2 * M_PI * 0.25 * ((double)r + (double)i / rate));
        int bad = edfwrite_physical_samples(h, x) != 0;
        for (int i = 0; i < rate; i++)
            x[i] = in[(size_t)i * (size_t)nch] * fs_uv / 1000.0;
        bad |= edfwrite_physical_samples(h, x) != 0;
        for (int i = 0; i < ECG_HZ; i++)
            x[i] = 0.5 * sin(2 * M_PI * 1.2 * ((double)r + (double)i / ECG_HZ));
        bad |= edfwrite_physical_samples(h, x) != 0;
        if (bad) {
            fprintf(stderr, "edfwrite: %s: write error\n", argv[2]);
            return 73;
        }
    }
    edfwrite_annotation_utf8(h, 0, -1, "Recording starts");
    for (int k = 4; k < argc; k++)
        edfwrite_annotation_utf8(h, llround(atof(argv[k]) * 1e4), -1, "insertion");
    sf_close(sf);
    free(in);
    free(x);
    return edfclose_file(h) == 0 ? 0 : 73;
}
