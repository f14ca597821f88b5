/* tw_test_edf.h: reading back a recording with EDFlib's own reader, for
 * the unit tests that drive the recorder (test_recorder.c) and the
 * engine (test_session_control.c). Include after cmocka.h.
 *
 * A file is opened with tw_edflib_open_read (edfrec.h: EDFlib's table of
 * open files is shared with the writer threads), its header kept on the
 * heap (it is large). Everything here is static: each test file includes
 * it once. */
#ifndef TW_TEST_EDF_H
#define TW_TEST_EDF_H

#include <edflib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "edfrec.h"

static inline int te_exists(const char *p)
{
    struct stat sb;
    return lstat(p, &sb) == 0;
}

/* The header of path, or a test failure naming EDFlib's error. */
static inline struct edf_hdr_struct *te_open(const char *path)
{
    struct edf_hdr_struct *h = calloc(1, sizeof *h);
    assert_non_null(h);
    if (tw_edflib_open_read(path, h, EDFLIB_READ_ALL_ANNOTATIONS) != 0) {
        int e = h->filetype;
        free(h);
        fail_msg("EDFlib cannot open %s (error %d)", path, e);
    }
    return h;
}

static inline void te_close(struct edf_hdr_struct *h)
{
    tw_edflib_close(h->handle);
    free(h);
}

/* Every sample of signal s: the file's smp_in_file of them (*n), in uV. */
static inline double *te_read(struct edf_hdr_struct *h, int s, long long *n)
{
    long long total = h->signalparam[s].smp_in_file;
    double *b = malloc(sizeof *b * (size_t)(total ? total : 1));
    assert_non_null(b);
    edfrewind(h->handle, s);
    long long got = 0;
    while (got < total) {
        int chunk = total - got > 100000 ? 100000 : (int)(total - got);
        int r = edfread_physical_samples(h->handle, s, chunk, b + got);
        if (r <= 0)
            fail_msg("edfread_physical_samples: %d after %lld of %lld samples", r, got, total);
        got += r;
    }
    *n = total;
    return b;
}

/* The quantisation step (uV) of signal s. */
static inline double te_step(const struct edf_hdr_struct *h, int s)
{
    const struct edf_param_struct *p = &h->signalparam[s];
    return (p->phys_max - p->phys_min) / (double)(p->dig_max - p->dig_min);
}

/* The first annotation whose text begins with prefix: its index, onset
 * and duration in s (dur -1: none); -1 when there is none. */
static inline int te_find_annot(const struct edf_hdr_struct *h, const char *prefix, double *onset,
                                double *dur)
{
    for (long long i = 0; i < h->annotations_in_file; i++) {
        struct edf_annotation_struct a;
        if (edf_get_annotation(h->handle, (int)i, &a) != 0)
            continue;
        if (strncmp(a.annotation, prefix, strlen(prefix)) != 0)
            continue;
        if (onset)
            *onset = (double)a.onset / EDFLIB_TIME_DIMENSION;
        if (dur)
            *dur = a.duration_l == -EDFLIB_TIME_DIMENSION
                       ? -1.0
                       : (double)a.duration_l / EDFLIB_TIME_DIMENSION;
        return (int)i;
    }
    return -1;
}

/* The annotation beginning with prefix is there, at onset (s, within
 * 100 us), with duration dur (s, within 100 us; < 0: none). */
static inline void te_expect_annot(const struct edf_hdr_struct *h, const char *prefix,
                                   double onset, double dur)
{
    double on = 0.0, du = 0.0;
    if (te_find_annot(h, prefix, &on, &du) < 0) {
        fprintf(stderr, "annotations in the file:\n");
        for (long long i = 0; i < h->annotations_in_file; i++) {
            struct edf_annotation_struct a;
            if (edf_get_annotation(h->handle, (int)i, &a) == 0)
                fprintf(stderr, "  %.4f s '%s' (%s)\n", (double)a.onset / EDFLIB_TIME_DIMENSION,
                        a.annotation, a.duration);
        }
        fail_msg("no annotation '%s...'", prefix);
    }
    if (fabs(on - onset) > 100e-6 + 1e-9)
        fail_msg("annotation '%s': onset %.6f s, want %.6f s", prefix, on, onset);
    if (dur < 0 ? du >= 0 : fabs(du - dur) > 100e-6 + 1e-9)
        fail_msg("annotation '%s': duration %.6f s, want %.6f s", prefix, du, dur);
}

#endif
