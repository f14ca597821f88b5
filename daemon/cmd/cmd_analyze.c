/* cmd_analyze.c: `twitchd analyze`: batch re-analysis of recordings
 * (analyze.h), one child process per recording, -j at a time. */
#define _GNU_SOURCE /* getopt_long */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analyze.h"
#include "cli.h"
#include "commands.h"
#include "log.h"

#define AN_MAX_FILES 100000 /* recordings per run */

static const char usage[] =
    "usage: twitchd analyze [-c FILE] [-o SECTION.KEY=VALUE]... [-j N] [--out DIR]\n"
    "                       [--channels LIST] [--meta FILE.csv] [--redo] PATH...\n"
    "\n"
    "Re-analyse recordings (WAV, FLAC, EDF+, BDF+; folders are searched\n"
    "recursively) with the detectors as `twitchd replay` runs them, and write\n"
    "into DIR per recording NAME.events.jsonl and NAME.summary.json, then the\n"
    "study's tables events.csv, sessions.csv and trains.csv (docs/events.md).\n"
    "A recording already analysed (its summary names the same file, size and\n"
    "mtime) is not redone: an interrupted run resumes.\n"
    "\n"
    "  -c, --config FILE     detector settings (default: built-in defaults)\n"
    "  -o SECTION.KEY=VALUE  override one setting\n"
    "  -j, --jobs N          recordings analysed at once (default: the CPUs)\n"
    "      --out DIR         output directory (default: analysis)\n"
    "      --channels LIST   EDF/BDF signals by label or index (replay --channels)\n"
    "      --meta FILE.csv   subject, muscle, side, notes per recording: a CSV\n"
    "                        with a header row naming file,subject,muscle,side,notes\n"
    "                        (file: the path as given or its base name)\n"
    "      --redo            analyse every recording again\n"
    "  -q, --quiet           no progress\n"
    "  -h, --help            this text\n";

typedef struct {
    char **v;
    int n, cap;
} strv;

static int push(strv *s, const char *a)
{
    if (s->n == AN_MAX_FILES)
        return -1;
    if (s->n == s->cap) {
        int c = s->cap ? 2 * s->cap : 64;
        char **g = realloc(s->v, sizeof *g * (size_t)c);
        if (!g)
            return -1;
        s->v = g;
        s->cap = c;
    }
    return (s->v[s->n++] = strdup(a)) ? 0 : -1;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The recordings under dir (recursively), appended to files/rels. */
static void walk(const char *dir, const char *rel, strv *files, strv *rels)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    strv names = {0};
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            push(&names, e->d_name);
    closedir(d);
    if (names.n)
        qsort(names.v, (size_t)names.n, sizeof *names.v, cmp);
    for (int i = 0; i < names.n; i++) {
        char p[4096], r[4096];
        snprintf(p, sizeof p, "%s/%s", dir, names.v[i]);
        snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", names.v[i]);
        struct stat st;
        if (stat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            walk(p, r, files, rels);
        else if (S_ISREG(st.st_mode) && tw_analyze_is_recording(p) && push(files, p) == 0)
            push(rels, r);
        free(names.v[i]);
    }
    free(names.v);
}

/* The sidecar CSV: {file -> {subject, muscle, side, notes}}. Simple CSV:
 * a header row, comma-separated, fields optionally in double quotes. */
static json_t *read_meta(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    json_t *out = json_object();
    char line[8192], cols[16][64];
    int ncol = 0, ln = 0, fcol = -1;
    while (fgets(line, sizeof line, f)) {
        ln++;
        line[strcspn(line, "\r\n")] = '\0';
        char fld[16][1024];
        int nf = 0;
        const char *p = line;
        while (nf < 16) {
            size_t k = 0;
            if (*p == '"') {
                for (p++; *p && !(*p == '"' && p[1] != '"'); p++) {
                    if (*p == '"')
                        p++;
                    if (k + 1 < sizeof fld[0])
                        fld[nf][k++] = *p;
                }
                if (*p == '"')
                    p++;
            } else
                for (; *p && *p != ','; p++)
                    if (k + 1 < sizeof fld[0])
                        fld[nf][k++] = *p;
            fld[nf++][k] = '\0';
            if (*p != ',')
                break;
            p++;
        }
        if (ln == 1) {
            for (int i = 0; i < nf; i++) {
                snprintf(cols[i], sizeof cols[i], "%.63s", fld[i]);
                if (!strcmp(fld[i], "file"))
                    fcol = i;
            }
            ncol = nf;
            if (fcol < 0) {
                snprintf(err, errlen, "%s:1: no column \"file\" in the header row", path);
                fclose(f);
                json_decref(out);
                return NULL;
            }
            continue;
        }
        if (nf <= fcol || !fld[fcol][0])
            continue;
        json_t *row = json_object();
        for (int i = 0; i < nf && i < ncol; i++)
            if (i != fcol && (!strcmp(cols[i], "subject") || !strcmp(cols[i], "muscle") ||
                              !strcmp(cols[i], "side") || !strcmp(cols[i], "notes")))
                json_object_set_new(row, cols[i], json_string(fld[i]));
        json_object_set_new(out, fld[fcol], row);
    }
    fclose(f);
    return out;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

int tw_cmd_analyze(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"jobs", required_argument, NULL, 'j'},
        {"out", required_argument, NULL, 'O'},    {"channels", required_argument, NULL, 'C'},
        {"meta", required_argument, NULL, 'm'},   {"redo", no_argument, NULL, 'r'},
        {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    tw_cli_config cc = {0};
    const char *out = "analysis", *channels = NULL, *meta_path = NULL;
    long jobs = sysconf(_SC_NPROCESSORS_ONLN);
    int redo = 0, quiet = 0, o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "c:o:j:qh", opts, NULL)) != -1) {
        switch (o) {
        case 'c': cc.config_path = optarg; break;
        case 'o':
            if (tw_cli_add_override(&cc, optarg) != 0) {
                fprintf(stderr, "twitchd analyze: too many -o options\n");
                return EX_USAGE;
            }
            break;
        case 'j': {
            char *end;
            jobs = strtol(optarg, &end, 10);
            if (*end || jobs < 1 || jobs > 256) {
                fprintf(stderr, "twitchd analyze: -j %s: want 1 .. 256\n", optarg);
                return EX_USAGE;
            }
            break;
        }
        case 'O': out = optarg; break;
        case 'C': channels = optarg; break;
        case 'm': meta_path = optarg; break;
        case 'r': redo = 1; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return EX_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "twitchd analyze: expected files or folders\n%s", usage);
        return EX_USAGE;
    }
    if (jobs < 1)
        jobs = 1;
    tw_config cfg;
    if (tw_cli_load(&cc, &cfg, "twitchd analyze") != 0)
        return EX_CONFIG;
    tw_log_set_level(cfg.log_level);
    char err[1024];
    json_t *meta = NULL;
    if (meta_path && !(meta = read_meta(meta_path, err, sizeof err))) {
        fprintf(stderr, "twitchd analyze: %s\n", err);
        return EX_NOINPUT;
    }
    strv files = {0}, rels = {0};
    int rc = 0;
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "twitchd analyze: %s: %s\n", argv[i], strerror(errno));
            rc = EX_NOINPUT;
        } else if (S_ISDIR(st.st_mode))
            walk(argv[i], "", &files, &rels);
        else if (push(&files, argv[i]) == 0) {
            const char *b = strrchr(argv[i], '/');
            push(&rels, b ? b + 1 : argv[i]);
        }
    }
    if (files.n == 0) {
        fprintf(stderr, "twitchd analyze: no recording (.wav .flac .edf .bdf) found\n");
        json_decref(meta);
        return rc ? rc : EX_NOINPUT;
    }
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "twitchd analyze: %s: %s\n", out, strerror(errno));
        json_decref(meta);
        return EX_IOERR;
    }
    char **names = calloc((size_t)files.n, sizeof *names);
    pid_t *pids = calloc((size_t)jobs, sizeof *pids);
    int *slot_file = calloc((size_t)jobs, sizeof *slot_file);
    char *was_done = calloc((size_t)files.n, 1);
    if (!names || !pids || !slot_file || !was_done) {
        fprintf(stderr, "twitchd analyze: out of memory\n");
        return EX_SOFTWARE;
    }
    for (int i = 0; i < files.n; i++) {
        char nm[1024];
        tw_analyze_name(rels.v[i], nm, sizeof nm);
        names[i] = strdup(nm);
    }
    int progress = !quiet && isatty(STDERR_FILENO);
    double t0 = now_s();
    int next = 0, running = 0, done = 0, skipped = 0, failed = 0;
    fflush(NULL);
    while (next < files.n || running > 0) {
        while (running < jobs && next < files.n) {
            int i = next++;
            if (!redo && tw_analyze_done(out, names[i], files.v[i])) {
                skipped++;
                done++;
                was_done[i] = 1;
                continue;
            }
            const json_t *m = NULL;
            if (meta) {
                const char *b = strrchr(files.v[i], '/');
                m = json_object_get(meta, files.v[i]);
                if (!m)
                    m = json_object_get(meta, rels.v[i]);
                if (!m)
                    m = json_object_get(meta, b ? b + 1 : files.v[i]);
            }
            pid_t p = fork();
            if (p == 0) {
                char e[1024];
                int r = tw_analyze_one(&cfg, files.v[i], channels, m, out, names[i], e,
                                       sizeof e);
                if (r != 0)
                    fprintf(stderr, "%stwitchd analyze: %s\n", progress ? "\r\033[K" : "", e);
                fflush(NULL);
                _exit(r);
            }
            if (p < 0) {
                fprintf(stderr, "twitchd analyze: fork: %s\n", strerror(errno));
                failed++;
                done++;
                continue;
            }
            for (int s = 0; s < jobs; s++)
                if (!pids[s]) {
                    pids[s] = p;
                    slot_file[s] = i;
                    break;
                }
            running++;
        }
        if (running == 0)
            break;
        int status;
        pid_t p = wait(&status);
        if (p < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int s = 0; s < jobs; s++)
            if (pids[s] == p) {
                pids[s] = 0;
                running--;
                done++;
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                    failed++;
                    int code = WIFEXITED(status) ? WEXITSTATUS(status) : EX_SOFTWARE;
                    if (rc == 0 || code == EX_IOERR)
                        rc = code;
                }
            }
        if (progress) {
            int w = 30, f = files.n ? w * done / files.n : w;
            fprintf(stderr, "\rtwitchd analyze: [%.*s%*s] %d/%d, %.0f s", f,
                    "##############################", w - f, "", done, files.n, now_s() - t0);
        }
    }
    if (progress)
        fputs("\r\033[K", stderr);
    double secs = now_s() - t0, rec_s = 0; /* recording time analysed in this run */
    for (int i = 0; i < files.n; i++) {
        if (was_done[i])
            continue;
        char p[4200];
        snprintf(p, sizeof p, "%s/%s.summary.json", out, names[i]);
        json_t *s = json_load_file(p, 0, NULL);
        rec_s += json_number_value(json_object_get(s, "duration_s"));
        json_decref(s);
    }
    double total_s = 0;
    for (int i = 0; i < files.n; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s.summary.json", out, names[i]);
        json_t *s = json_load_file(p, 0, NULL);
        total_s += json_number_value(json_object_get(s, "duration_s"));
        json_decref(s);
    }
    if (tw_analyze_tables(out, (const char *const *)names, files.n, err, sizeof err) != 0) {
        fprintf(stderr, "twitchd analyze: %s\n", err);
        rc = EX_IOERR;
    }
    if (!quiet)
        fprintf(stderr, "twitchd analyze: %d recording%s (%.2f h): %d analysed, %d already done, "
                "%d failed; %.2f h analysed in %.1f s with %ld process%s (%.1f s per hour of "
                "recording); tables in %s/\n", files.n, files.n == 1 ? "" : "s", total_s / 3600,
                done - skipped - failed,
                skipped, failed, rec_s / 3600, secs, jobs, jobs == 1 ? "" : "es",
                rec_s > 0 ? secs / (rec_s / 3600) : 0.0, out);
    for (int i = 0; i < files.n; i++) {
        free(names[i]);
        free(files.v[i]);
        free(rels.v[i]);
    }
    free(names);
    free(files.v);
    free(rels.v);
    free(pids);
    free(slot_file);
    free(was_done);
    json_decref(meta);
    return rc;
}
