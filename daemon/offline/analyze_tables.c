/* analyze_tables.c: tw_analyze_tables (analyze.h): tidy CSV tables for a
 * study (one row an observation, a header row, units in column names,
 * ISO 8601 UTC times, empty = unknown; RFC 4180 quoting). Columns:
 * docs/events.md "Batch analysis". */
#define _GNU_SOURCE /* getline, timegm */
#include "analyze.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DECREMENT_AT 3 /* the train's LTR (1-based) whose rel_amp gives its decrement */

static void csv_str(FILE *f, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* A JSON value as a CSV field: strings quoted as needed, numbers as they
 * are (%.10g), true/false, null/missing empty. */
static void csv_val(FILE *f, const json_t *v)
{
    if (json_is_string(v))
        csv_str(f, json_string_value(v));
    else if (json_is_integer(v))
        fprintf(f, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        fprintf(f, "%.10g", json_real_value(v));
    else if (json_is_boolean(v))
        fputs(json_is_true(v) ? "true" : "false", f);
}

/* "2026-12-07T10:15:00.1234Z" + s -> ISO time to ms into buf ("" when
 * start is not such a time). */
static void iso_plus(const char *start, double s, char *buf, size_t len)
{
    int Y, M, D, h, m;
    double sec;
    buf[0] = '\0';
    if (!start || sscanf(start, "%d-%d-%dT%d:%d:%lfZ", &Y, &M, &D, &h, &m, &sec) != 6)
        return;
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    double t = (double)timegm(&tm) + sec + s;
    time_t whole = (time_t)floor(t);
    int ms = (int)llround((t - (double)whole) * 1000);
    if (ms == 1000) {
        whole++;
        ms = 0;
    }
    struct tm u;
    gmtime_r(&whole, &u);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", u.tm_year + 1900, u.tm_mon + 1,
             u.tm_mday, u.tm_hour, u.tm_min, u.tm_sec, ms);
}

static const char *const ev_cols[] = {
    "onset_s", "onset_sample", "offset_s", "offset_sample", "duration_ms", "peak_uv", "p2p_uv",
    "rms_uv", "noise_uv", "snr_db", "latency_ms", "turns", "in_epn", "train", "train_index",
    "rel_amp", "insertion", "insertion_latency_ms", "mepp_rate_hz", "mepp_median_uv",
    "eps_count", "eps_rate_hz", "eps_median_uv", "eps_cv", "skewness"};

static void id_cols(FILE *f, const char *name, const json_t *s)
{
    csv_str(f, name);
    static const char *const k[] = {"subject", "muscle", "side"};
    for (int i = 0; i < 3; i++) {
        fputc(',', f);
        csv_val(f, json_object_get(s, k[i]));
    }
}

static double decrement(const json_t *train)
{
    const json_t *l = json_object_get(train, "ltrs");
    size_t n = json_array_size(l);
    if (n < 2)
        return NAN;
    size_t at = n < DECREMENT_AT ? n - 1 : DECREMENT_AT - 1;
    return 1.0 - json_number_value(json_object_get(json_array_get(l, at), "rel_amp"));
}

static void num(FILE *f, double v, int digits)
{
    if (!isnan(v))
        fprintf(f, "%.*f", digits, v);
}

static void part(FILE *f, const json_t *p)
{
    fputc(',', f);
    if (p && !json_is_null(p))
        num(f, json_number_value(json_object_get(p, "time_s")), 6);
    fputc(',', f);
    if (p && !json_is_null(p))
        csv_val(f, json_object_get(p, "p2p_uv"));
}

static FILE *open_table(const char *dir, const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s.tmp", dir, name);
    return fopen(path, "w");
}

int tw_analyze_tables(const char *out_dir, const char *const *names, int n, char *err,
                      size_t errlen)
{
    char pe[4200], ps[4200], pt[4200];
    FILE *fe = open_table(out_dir, "events.csv", pe, sizeof pe);
    FILE *fs = open_table(out_dir, "sessions.csv", ps, sizeof ps);
    FILE *ft = open_table(out_dir, "trains.csv", pt, sizeof pt);
    int rc = 0;
    if (!fe || !fs || !ft) {
        snprintf(err, errlen, "%s: %s", !fe ? pe : !fs ? ps : pt, strerror(errno));
        rc = -1;
        goto out;
    }
    fputs("recording,subject,muscle,side,channel,type,onset_utc", fe);
    for (size_t i = 0; i < sizeof ev_cols / sizeof ev_cols[0]; i++)
        fprintf(fe, ",%s", ev_cols[i]);
    fputc('\n', fe);
    fputs("recording,subject,muscle,side,notes,start_utc,duration_s,rate_hz,channels,"
          "ltr_count,trains,train_decrement_mean,epn_episodes,epn_time_s,epn_p2p_uv,"
          "epn_before_first_ltr_time_s,epn_before_first_ltr_p2p_uv,"
          "epn_after_last_ltr_time_s,epn_after_last_ltr_p2p_uv,marks,insertions,gap_samples,"
          "quality_bad_s,guard_flat_stretches,guard_nonfinite_samples,max_noise_uv,source_path,"
          "source_format\n", fs);
    fputs("recording,subject,muscle,side,channel,train_id,insertion,ltr_count,first_onset_s,"
          "first_onset_utc,first_p2p_uv,last_rel_amp,decrement\n", ft);
    char *line = NULL;
    size_t cap = 0;
    for (int r = 0; r < n; r++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s.summary.json", out_dir, names[r]);
        json_t *s = json_load_file(p, 0, NULL);
        if (!s)
            continue;
        const char *start = json_string_value(json_object_get(s, "start_utc"));
        char iso[80];
        /* sessions.csv */
        id_cols(fs, names[r], s);
        fputc(',', fs);
        csv_val(fs, json_object_get(s, "notes"));
        fputc(',', fs);
        csv_val(fs, json_object_get(s, "start_utc"));
        static const char *const k1[] = {"duration_s", "rate_hz", "channels"};
        for (int i = 0; i < 3; i++) {
            fputc(',', fs);
            csv_val(fs, json_object_get(s, k1[i]));
        }
        const json_t *trains = json_object_get(s, "trains"), *e = json_object_get(s, "epn");
        double dsum = 0;
        int dn = 0;
        size_t i;
        json_t *t;
        json_array_foreach(trains, i, t) {
            double d = decrement(t);
            if (!isnan(d)) {
                dsum += d;
                dn++;
            }
        }
        fprintf(fs, ",%lld,%zu,", (long long)json_integer_value(json_object_get(
                                      json_object_get(s, "ltr"), "count")), json_array_size(trains));
        num(fs, dn ? dsum / dn : NAN, 4);
        fputc(',', fs);
        csv_val(fs, json_object_get(e, "episodes"));
        part(fs, e);
        part(fs, json_object_get(e, "before_first_ltr"));
        part(fs, json_object_get(e, "after_last_ltr"));
        fprintf(fs, ",%zu,%zu,", json_array_size(json_object_get(s, "marks")),
                json_array_size(json_object_get(s, "insertions")));
        csv_val(fs, json_object_get(json_object_get(s, "gaps"), "samples"));
        fputc(',', fs);
        csv_val(fs, json_object_get(json_object_get(s, "quality"), "bad_s"));
        long long flat = 0, nonf = 0;
        double noise = 0;
        json_array_foreach(json_object_get(s, "guard"), i, t) {
            flat += json_integer_value(json_object_get(t, "flat"));
            nonf += json_integer_value(json_object_get(t, "nonfinite"));
            noise = fmax(noise, json_number_value(json_object_get(t, "noise_uv")));
        }
        fprintf(fs, ",%lld,%lld,%.3f,", flat, nonf, noise);
        csv_val(fs, json_object_get(json_object_get(s, "source"), "path"));
        fputc(',', fs);
        csv_val(fs, json_object_get(json_object_get(s, "source"), "format"));
        fputc('\n', fs);
        /* trains.csv */
        json_array_foreach(trains, i, t) {
            const json_t *l0 = json_array_get(json_object_get(t, "ltrs"), 0);
            const json_t *ll = json_array_get(json_object_get(t, "ltrs"),
                                              json_array_size(json_object_get(t, "ltrs")) - 1);
            id_cols(ft, names[r], s);
            static const char *const k2[] = {"channel", "train_id", "insertion", "count"};
            for (int k = 0; k < 4; k++) {
                fputc(',', ft);
                csv_val(ft, json_object_get(t, k2[k]));
            }
            double t0 = json_number_value(json_object_get(l0, "t_s"));
            fprintf(ft, ",%.6f,", t0);
            iso_plus(start, t0, iso, sizeof iso);
            fputs(iso, ft);
            fputc(',', ft);
            csv_val(ft, json_object_get(l0, "p2p_uv"));
            fputc(',', ft);
            csv_val(ft, json_object_get(ll, "rel_amp"));
            fputc(',', ft);
            num(ft, decrement(t), 4);
            fputc('\n', ft);
        }
        /* events.csv */
        snprintf(p, sizeof p, "%s/%s.events.jsonl", out_dir, names[r]);
        FILE *ev = fopen(p, "r");
        ssize_t len;
        while (ev && (len = getline(&line, &cap, ev)) > 0) {
            json_t *o = json_loadb(line, (size_t)len, 0, NULL);
            if (!o)
                continue;
            id_cols(fe, names[r], s);
            fputc(',', fe);
            csv_val(fe, json_object_get(o, "channel"));
            fputc(',', fe);
            csv_val(fe, json_object_get(o, "type"));
            iso_plus(start, json_number_value(json_object_get(o, "onset_s")), iso, sizeof iso);
            fprintf(fe, ",%s", iso);
            for (size_t k = 0; k < sizeof ev_cols / sizeof ev_cols[0]; k++) {
                fputc(',', fe);
                csv_val(fe, json_object_get(o, ev_cols[k]));
            }
            fputc('\n', fe);
            json_decref(o);
        }
        if (ev)
            fclose(ev);
        json_decref(s);
    }
    free(line);
out:;
    const char *fin[3] = {"events.csv", "sessions.csv", "trains.csv"};
    FILE *fp[3] = {fe, fs, ft};
    char *tmp[3] = {pe, ps, pt};
    for (int k = 0; k < 3; k++) {
        if (!fp[k])
            continue;
        int bad = fclose(fp[k]) != 0;
        char dst[4200];
        snprintf(dst, sizeof dst, "%s/%s", out_dir, fin[k]);
        if (rc == 0 && (bad || rename(tmp[k], dst) != 0)) {
            snprintf(err, errlen, "%s: %s", dst, strerror(errno));
            rc = -1;
        }
        if (rc != 0)
            unlink(tmp[k]);
    }
    return rc;
}
