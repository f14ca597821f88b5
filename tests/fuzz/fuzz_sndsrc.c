/* fuzz_sndsrc.c: the audio-file source (sndsrc.c over libsndfile, and
 * src_edf.c over EDFlib for a file that begins as EDF/BDF does): the
 * headers and bodies libsndfile accepts, the ones it rejects, and the
 * truncation checks of sndsrc itself.
 *
 * The input is written to a temporary file (sndsrc opens by path; it has
 * no virtual I/O entry) and read as `input.source = file` does: open,
 * describe, read every block, close. Invariants (abort() when broken):
 *   - open returns 0, -1 or -2, with a reason in err when it fails, and
 *     then holds no SNDFILE;
 *   - an open file has 1 .. TW_MAX_CHANNELS channels, a rate in
 *     [TW_MIN_RATE, TW_MAX_RATE] and frames > 0;
 *   - each read returns -1 (with a reason), 0, or 1 .. cap frames; the
 *     frames read never exceed what the header gave; a read that returns
 *     0 comes only after exactly info.frames frames;
 *   - close leaves the struct zeroed.
 * Reading stops after MAX_FRAMES frames: a few kilobytes of FLAC can
 * expand to hours of samples, which tests nothing more.
 *
 * libsndfile itself (and the FLAC, Vorbis, Opus and MPEG decoders under
 * it) are Debian's builds, not instrumented: the fuzzer is guided by
 * sndsrc's own branches only, and memory errors inside the library are
 * caught only when they crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "sndsrc.h"

#define BLOCK_FRAMES 1000       /* frames per read (the file source uses its block size) */
#define MAX_FRAMES (1L << 20)   /* frames read at most per input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    fz_temp_file(data, size, "snd", path, sizeof path);
    tw_sndsrc s;
    char err[512] = "";
    int rc = tw_sndsrc_open(&s, path, 10000.0, BLOCK_FRAMES, err, sizeof err);
    FZ_CHECK(rc == 0 || rc == -1 || rc == -2, "open returned %d", rc);
    if (rc != 0) {
        FZ_CHECK(err[0] != '\0', "open failed (%d) without a reason", rc);
        FZ_CHECK(s.sf == NULL && s.edf == NULL, "open failed (%d) but kept the SNDFILE/EDF", rc);
        tw_sndsrc_close(&s);
        unlink(path);
        return 0;
    }
    FZ_CHECK(s.info.channels >= 1 && s.info.channels <= TW_MAX_CHANNELS, "channels %d",
             s.info.channels);
    FZ_CHECK(s.info.samplerate >= TW_MIN_RATE && s.info.samplerate <= TW_MAX_RATE, "rate %d",
             s.info.samplerate);
    FZ_CHECK(s.info.frames > 0, "frames %lld", (long long)s.info.frames);
    /* an EDF/BDF file (src_edf.c) reads through EDFlib, not ibuf */
    FZ_CHECK(s.cap == BLOCK_FRAMES && (s.ibuf != NULL) != (s.edf != NULL), "cap %zu", s.cap);
    char desc[128];
    tw_sndsrc_describe(&s, desc, sizeof desc);
    FZ_CHECK(desc[0] != '\0', "empty description");

    float *out[TW_MAX_CHANNELS];
    for (int c = 0; c < TW_MAX_CHANNELS; c++) {
        out[c] = malloc(BLOCK_FRAMES * sizeof(float));
        if (!out[c])
            fz_die("malloc");
    }
    int64_t total = 0;
    volatile float sink = 0; /* touch every sample written */
    for (;;) {
        err[0] = '\0';
        long n = tw_sndsrc_read(&s, out, err, sizeof err);
        FZ_CHECK(n >= -1 && n <= (long)BLOCK_FRAMES, "read returned %ld", n);
        if (n < 0) {
            FZ_CHECK(err[0] != '\0', "read failed without a reason");
            break;
        }
        if (n == 0) {
            FZ_CHECK(total == s.info.frames, "end after %lld of %lld frames",
                     (long long)total, (long long)s.info.frames);
            break;
        }
        for (int c = 0; c < s.info.channels; c++)
            sink += out[c][0] + out[c][n - 1];
        total += n;
        FZ_CHECK(total <= s.info.frames, "read %lld frames of %lld", (long long)total,
                 (long long)s.info.frames);
        FZ_CHECK(s.read == total, "s.read %lld, returned %lld", (long long)s.read,
                 (long long)total);
        if (total >= MAX_FRAMES)
            break;
    }
    (void)sink;
    for (int c = 0; c < TW_MAX_CHANNELS; c++)
        free(out[c]);
    tw_sndsrc_close(&s);
    static const tw_sndsrc zero;
    FZ_CHECK(memcmp(&s, &zero, sizeof s) == 0, "close left state behind");
    unlink(path);
    return 0;
}
