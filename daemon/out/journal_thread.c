/* journal_thread.c: see journal_thread.h. */
#include "journal_thread.h"
#include "thread_name.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define TW_JT_WAIT_MS 200 /* longest wait for a message: fsync timing */

struct tw_journal_thread {
    tw_journal *j;
    tw_mq *in, *out;
    pthread_t th;
    atomic_int reopen;
    pthread_mutex_t mu; /* guards st */
    tw_journal_status st;
    int last_error;
    tw_journal_status seen; /* the counters last logged */
};

/* Say what happened to the day file behind our back since last time. */
static void log_file_events(tw_journal_thread *t, const tw_journal_status *st)
{
    const char *path = tw_journal_current_path(t->j);
    if (st->recreated != t->seen.recreated)
        tw_log(TW_LOG_WARNING, "journal: %s was deleted while open: made again, %llu line%s "
               "written since it was last seen copied into it from the deleted file",
               path, (unsigned long long)(st->lines_rescued - t->seen.lines_rescued),
               st->lines_rescued - t->seen.lines_rescued == 1 ? "" : "s");
    if (st->lines_lost != t->seen.lines_lost)
        tw_log(TW_LOG_ERR, "journal: %llu line%s lost with a deleted day file that could not "
               "be made again", (unsigned long long)(st->lines_lost - t->seen.lines_lost),
               st->lines_lost - t->seen.lines_lost == 1 ? "" : "s");
    if (st->moved != t->seen.moved)
        tw_log(TW_LOG_WARNING, "journal: the day file was moved away while open (its lines "
               "stay where it went); new lines go to %s", path);
    t->seen = *st;
}

static void snapshot(tw_journal_thread *t)
{
    tw_journal_status st;
    tw_journal_get_status(t->j, &st);
    log_file_events(t, &st);
    if (st.error != t->last_error) {
        if (st.error)
            tw_log(TW_LOG_ERR, "journal: %s (events still published; retrying)", st.msg);
        else
            tw_log(TW_LOG_INFO, "journal: writing again");
        t->last_error = st.error;
    }
    pthread_mutex_lock(&t->mu);
    t->st = st;
    pthread_mutex_unlock(&t->mu);
}

static void *run(void *arg)
{
    tw_thread_name("tw-journal");
    tw_journal_thread *t = arg;
    for (;;) {
        tw_msg *m = tw_mq_pop(t->in, TW_JT_WAIT_MS);
        struct timespec mono;
        clock_gettime(CLOCK_MONOTONIC, &mono);
        if (atomic_exchange(&t->reopen, 0)) {
            if (tw_journal_reopen(t->j) == 0)
                tw_log(TW_LOG_INFO, "journal: files reopened (SIGHUP)");
            snapshot(t);
        }
        if (!m) {
            tw_journal_sync(t->j, &mono);
            snapshot(t);
            if (tw_mq_is_done(t->in))
                break;
            continue;
        }
        if (m->journal) {
            struct timespec real;
            clock_gettime(CLOCK_REALTIME, &real);
            tw_journal_append(t->j, m->header, m->header_len, &real);
            tw_journal_sync(t->j, &mono);
            snapshot(t);
        }
        tw_mq_push(t->out, m); /* only now may it be published */
    }
    struct timespec mono = {0, 0};
    tw_journal_sync(t->j, &mono);
    snapshot(t);
    return NULL;
}

tw_journal_thread *tw_journal_thread_start(tw_journal *j, tw_mq *in, tw_mq *out,
                                           char *err, size_t errlen)
{
    tw_journal_thread *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->j = j;
    t->in = in;
    t->out = out;
    atomic_init(&t->reopen, 0);
    pthread_mutex_init(&t->mu, NULL);
    tw_journal_get_status(j, &t->st);
    t->seen = t->st;
    int rc = pthread_create(&t->th, NULL, run, t);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the journal thread: %s", strerror(rc));
        pthread_mutex_destroy(&t->mu);
        free(t);
        return NULL;
    }
    return t;
}

void tw_journal_thread_reopen(tw_journal_thread *t) { atomic_store(&t->reopen, 1); }

void tw_journal_thread_status(tw_journal_thread *t, tw_journal_status *st)
{
    pthread_mutex_lock(&t->mu);
    *st = t->st;
    pthread_mutex_unlock(&t->mu);
}

void tw_journal_thread_stop(tw_journal_thread *t)
{
    if (!t)
        return;
    pthread_join(t->th, NULL);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
