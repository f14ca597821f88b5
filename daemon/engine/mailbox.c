/* mailbox.c: see mailbox.h. */
#include "mailbox.h"

#include <time.h>

#include "deadline.h"

void tw_mailbox_init(tw_mailbox *m)
{
    m->req = NULL;
    m->reply = NULL;
    m->id = m->done = m->taken = m->abandoned = 0;
    atomic_init(&m->pending, 0);
    pthread_mutex_init(&m->mx, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
}

void tw_mailbox_fini(tw_mailbox *m)
{
    pthread_mutex_destroy(&m->mx);
    pthread_cond_destroy(&m->cv);
}

json_t *tw_mailbox_call(tw_mailbox *m, const json_t *req, int timeout_ms)
{
    struct timespec until = tw_deadline(CLOCK_MONOTONIC, timeout_ms);
    pthread_mutex_lock(&m->mx);
    uint64_t id = ++m->id;
    m->req = req;
    m->reply = NULL;
    atomic_store(&m->pending, 1);
    while (m->done != id) {
        if (pthread_cond_timedwait(&m->cv, &m->mx, &until) != 0 && m->done != id) {
            if (m->taken == id)
                m->abandoned = id; /* in progress: its reply is dropped */
            else
                m->req = NULL;     /* not taken: withdrawn */
            pthread_mutex_unlock(&m->mx);
            return NULL;
        }
    }
    json_t *r = m->reply;
    m->reply = NULL;
    pthread_mutex_unlock(&m->mx);
    return r;
}

int tw_mailbox_pending(tw_mailbox *m) { return atomic_load(&m->pending); }

/* Hand a reply back (mx held); an abandoned call's is dropped. */
static void reply(tw_mailbox *m, json_t *r)
{
    if (m->abandoned == m->taken) {
        json_decref(r);
        return;
    }
    m->reply = r;
    m->done = m->taken;
    pthread_cond_broadcast(&m->cv);
}

void tw_mailbox_serve(tw_mailbox *m, json_t *(*fn)(void *user, const json_t *req), void *user)
{
    pthread_mutex_lock(&m->mx);
    if (m->req) {
        m->taken = m->id;
        json_t *r = fn(user, m->req);
        m->req = NULL;
        if (r)
            reply(m, r);
    }
    atomic_store(&m->pending, 0);
    pthread_mutex_unlock(&m->mx);
}

uint64_t tw_mailbox_taken(const tw_mailbox *m) { return m->taken; }

void tw_mailbox_reply_late(tw_mailbox *m, uint64_t ticket, json_t *r)
{
    pthread_mutex_lock(&m->mx);
    /* The request may have been given up (answered "busy" after the
     * caller's timeout) and later ones taken since: its reply is then
     * nobody's, and handed back it would stand in for a later request's. */
    if (m->taken == ticket)
        reply(m, r); /* (which drops it when the request was given up) */
    else
        json_decref(r);
    pthread_mutex_unlock(&m->mx);
}
