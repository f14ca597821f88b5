/* mq.c: see mq.h. A mutex-protected ring of pointers with a condition
 * variable for the consumer. */
#include "mq.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadline.h"

struct tw_mq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    tw_msg **slot;
    size_t cap, head, len;
    int closed;
    _Atomic uint64_t dropped;
};

tw_msg *tw_msg_new(const char *topic, const char *header, size_t header_len)
{
    tw_msg *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    size_t tl = strlen(topic);
    if (tl >= sizeof m->topic)
        tl = sizeof m->topic - 1;
    memcpy(m->topic, topic, tl);
    m->header = malloc(header_len + 1);
    if (!m->header) {
        free(m);
        return NULL;
    }
    memcpy(m->header, header, header_len);
    m->header[header_len] = '\0';
    m->header_len = header_len;
    return m;
}

void tw_msg_free(tw_msg *m)
{
    if (!m)
        return;
    free(m->header);
    free(m->payload);
    free(m);
}

tw_mq *tw_mq_create(size_t capacity)
{
    if (capacity == 0)
        return NULL;
    tw_mq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->slot = calloc(capacity, sizeof *q->slot);
    if (!q->slot) {
        free(q);
        return NULL;
    }
    q->cap = capacity;
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&q->dropped, 0);
    return q;
}

void tw_mq_destroy(tw_mq *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->len; i++)
        tw_msg_free(q->slot[(q->head + i) % q->cap]);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q->slot);
    free(q);
}

static int push(tw_mq *q, tw_msg *m, int wake)
{
    pthread_mutex_lock(&q->mu);
    if (q->closed || q->len == q->cap) {
        pthread_mutex_unlock(&q->mu);
        tw_msg_free(m);
        atomic_fetch_add(&q->dropped, 1);
        return -1;
    }
    q->slot[(q->head + q->len) % q->cap] = m;
    q->len++;
    if (wake)
        pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

int tw_mq_push(tw_mq *q, tw_msg *m) { return push(q, m, 1); }
int tw_mq_push_quiet(tw_mq *q, tw_msg *m) { return push(q, m, 0); }

void tw_mq_wake(tw_mq *q)
{
    pthread_mutex_lock(&q->mu);
    if (q->len > 0)
        pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

tw_msg *tw_mq_pop(tw_mq *q, int timeout_ms)
{
    struct timespec until = {0, 0};
    if (timeout_ms > 0)
        until = tw_deadline(CLOCK_MONOTONIC, timeout_ms);
    pthread_mutex_lock(&q->mu);
    while (q->len == 0 && !q->closed && timeout_ms != 0) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&q->cv, &q->mu);
        } else if (pthread_cond_timedwait(&q->cv, &q->mu, &until) == ETIMEDOUT) {
            break;
        }
    }
    tw_msg *m = NULL;
    if (q->len > 0) {
        m = q->slot[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
    pthread_mutex_unlock(&q->mu);
    return m;
}

void tw_mq_close(tw_mq *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

uint64_t tw_mq_get_dropped(const tw_mq *q)
{
    return atomic_load(&((tw_mq *)q)->dropped);
}

size_t tw_mq_get_length(const tw_mq *q)
{
    tw_mq *w = (tw_mq *)q;
    pthread_mutex_lock(&w->mu);
    size_t n = w->len;
    pthread_mutex_unlock(&w->mu);
    return n;
}

int tw_mq_is_done(const tw_mq *q)
{
    tw_mq *w = (tw_mq *)q;
    pthread_mutex_lock(&w->mu);
    int done = w->closed && w->len == 0;
    pthread_mutex_unlock(&w->mu);
    return done;
}
