/* report_worker.c: see report_worker.h. */
#define _GNU_SOURCE /* getline */
#include "report_worker.h"
#include "thread_name.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "report.h"

typedef struct {
    char *summary, *jdir, *id;
} job;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static job q[TW_REPORT_QUEUE_MAX];
static int qn, started, draining;
static pthread_t th;

/* 1 when a journal file of dir holds the evt.session stop record of id. */
static int stop_journaled(const char *dir, const char *id)
{
    DIR *d = opendir(dir);
    if (!d)
        return 1; /* no journal to wait for */
    int found = 0;
    char *line = NULL;
    size_t cap = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (strncmp(e->d_name, "twitchd-", 8))
            continue;
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        FILE *f = fopen(p, "r");
        if (!f)
            continue;
        while (!found && getline(&line, &cap, f) > 0)
            found = strstr(line, "\"evt.session\"") && strstr(line, id) &&
                    strstr(line, "\"state\":\"stop\"");
        fclose(f);
    }
    free(line);
    closedir(d);
    return found;
}

static void make(const job *j)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (stop_journaled(j->jdir, j->id))
            break;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec + (now.tv_nsec - t0.tv_nsec) * 1e-9 > TW_REPORT_WAIT_S) {
            tw_log(TW_LOG_WARNING, "report %s: the journal has no stop record after %g s: the "
                   "report may miss the last records", j->id, TW_REPORT_WAIT_S);
            break;
        }
        nanosleep(&(struct timespec){0, 100000000}, NULL);
    }
    char err[600], out[4096];
    if (tw_report_make(j->summary, j->jdir, NULL, out, sizeof out, err, sizeof err) == 0)
        tw_log(TW_LOG_INFO, "report: %s", out);
    else
        tw_log(TW_LOG_ERR, "report %s: %s", j->id, err);
}

static void *run(void *arg)
{
    tw_thread_name("tw-report");
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (qn == 0 && !draining)
            pthread_cond_wait(&cv, &mu);
        if (qn == 0)
            break;
        job j = q[0];
        memmove(q, q + 1, sizeof q[0] * (size_t)--qn);
        pthread_mutex_unlock(&mu);
        make(&j);
        free(j.summary);
        free(j.jdir);
        free(j.id);
        pthread_mutex_lock(&mu);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

int tw_report_worker_queue(const char *summary_path, const char *journal_dir, const char *id)
{
    job j = {strdup(summary_path), strdup(journal_dir), strdup(id)};
    pthread_mutex_lock(&mu);
    int rc = -1;
    if (!j.summary || !j.jdir || !j.id || qn == TW_REPORT_QUEUE_MAX || draining) {
        tw_log(TW_LOG_ERR, "report %s: not made (%s)", id,
               qn == TW_REPORT_QUEUE_MAX ? "too many waiting" : "out of memory or stopping");
    } else if (!started && pthread_create(&th, NULL, run, NULL) != 0) {
        tw_log(TW_LOG_ERR, "report %s: cannot start the report thread", id);
    } else {
        started = 1;
        q[qn++] = j;
        rc = 0;
        pthread_cond_signal(&cv);
    }
    pthread_mutex_unlock(&mu);
    if (rc != 0) {
        free(j.summary);
        free(j.jdir);
        free(j.id);
    }
    return rc;
}

void tw_report_worker_drain(void)
{
    pthread_mutex_lock(&mu);
    draining = 1;
    int was = started;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    if (was)
        pthread_join(th, NULL);
    pthread_mutex_lock(&mu);
    started = 0;
    draining = 0;
    pthread_mutex_unlock(&mu);
}
