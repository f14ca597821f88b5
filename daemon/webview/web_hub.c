/* web_hub.c: see web_hub.h. Each client has a ring of item pointers (one
 * reference each), the item it is copying out (with an offset) and a
 * small "note" buffer for its hello and its drop notices. */
#include "web_hub.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadline.h"

#define HUB_MAX_CLIENTS 1024
#define HUB_MAX_QUEUE 1000000

struct tw_web_item {
    atomic_uint refs;
    size_t len;
    char text[];
};

tw_web_item *tw_web_item_new(const char *text, size_t len)
{
    if (!text || len == 0)
        return NULL;
    tw_web_item *it = malloc(sizeof *it + len);
    if (!it)
        return NULL;
    atomic_init(&it->refs, 1);
    it->len = len;
    memcpy(it->text, text, len);
    return it;
}

static void item_ref(tw_web_item *it)
{
    atomic_fetch_add(&it->refs, 1);
}

void tw_web_item_unref(tw_web_item *it)
{
    if (it && atomic_fetch_sub(&it->refs, 1) == 1)
        free(it);
}

struct tw_web_client {
    tw_web_hub *hub;
    tw_web_client *prev, *next;
    pthread_cond_t cond;      /* signalled when something is queued, or at close */
    tw_web_item **q;          /* ring of hub->queue_len */
    size_t q_head, q_len;
    tw_web_item *cur;         /* being copied out, from cur_off */
    size_t cur_off;
    char note[TW_WEB_HELLO_MAX];
    size_t note_len, note_off;
    uint64_t dropped, dropped_told;
};

struct tw_web_hub {
    pthread_mutex_t mu;
    size_t max_clients, queue_len;
    tw_web_client *clients;   /* doubly linked */
    int closed;
    tw_web_hub_stats st;
};

tw_web_hub *tw_web_hub_create(size_t max_clients, size_t queue_len)
{
    if (max_clients < 1 || max_clients > HUB_MAX_CLIENTS || queue_len < 1 ||
        queue_len > HUB_MAX_QUEUE)
        return NULL;
    tw_web_hub *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    if (pthread_mutex_init(&h->mu, NULL) != 0) {
        free(h);
        return NULL;
    }
    h->max_clients = max_clients;
    h->queue_len = queue_len;
    return h;
}

void tw_web_hub_destroy(tw_web_hub *h)
{
    if (!h)
        return;
    pthread_mutex_destroy(&h->mu);
    free(h);
}

size_t tw_web_hub_publish(tw_web_hub *h, tw_web_item *it)
{
    if (!it)
        return 0;
    size_t n = 0;
    pthread_mutex_lock(&h->mu);
    h->st.published++;
    if (!h->closed) {
        for (tw_web_client *c = h->clients; c; c = c->next) {
            if (c->q_len == h->queue_len) {
                c->dropped++;
                h->st.dropped++;
                continue;
            }
            item_ref(it);
            c->q[(c->q_head + c->q_len) % h->queue_len] = it;
            c->q_len++;
            h->st.queued++;
            n++;
            pthread_cond_signal(&c->cond);
        }
    }
    pthread_mutex_unlock(&h->mu);
    tw_web_item_unref(it);
    return n;
}

tw_web_client *tw_web_hub_join(tw_web_hub *h, const char *hello, size_t hello_len)
{
    if (hello_len > TW_WEB_HELLO_MAX || (hello_len && !hello))
        return NULL;
    tw_web_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->q = calloc(h->queue_len, sizeof *c->q);
    pthread_condattr_t ca;
    int cond_ok = 0;
    if (c->q && pthread_condattr_init(&ca) == 0) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        cond_ok = pthread_cond_init(&c->cond, &ca) == 0;
        pthread_condattr_destroy(&ca);
    }
    if (!cond_ok) {
        free(c->q);
        free(c);
        return NULL;
    }
    c->hub = h;
    if (hello_len)
        memcpy(c->note, hello, hello_len);
    c->note_len = hello_len;
    pthread_mutex_lock(&h->mu);
    if (h->closed || h->st.clients >= h->max_clients) {
        if (!h->closed)
            h->st.refused++;
        pthread_mutex_unlock(&h->mu);
        pthread_cond_destroy(&c->cond);
        free(c->q);
        free(c);
        return NULL;
    }
    c->next = h->clients;
    if (h->clients)
        h->clients->prev = c;
    h->clients = c;
    h->st.clients++;
    h->st.joined++;
    pthread_mutex_unlock(&h->mu);
    return c;
}

void tw_web_hub_leave(tw_web_client *c)
{
    if (!c)
        return;
    tw_web_hub *h = c->hub;
    pthread_mutex_lock(&h->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        h->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->st.clients--;
    pthread_mutex_unlock(&h->mu);
    for (size_t i = 0; i < c->q_len; i++)
        tw_web_item_unref(c->q[(c->q_head + i) % h->queue_len]);
    tw_web_item_unref(c->cur);
    pthread_cond_destroy(&c->cond);
    free(c->q);
    free(c);
}

/* Something to read? (hub mutex held) */
static int has_data(const tw_web_client *c)
{
    return c->note_off < c->note_len || c->cur || c->dropped > c->dropped_told ||
           c->q_len > 0;
}

static size_t copy_out(char *dst, size_t room, const char *src, size_t avail)
{
    size_t n = avail < room ? avail : room;
    memcpy(dst, src, n);
    return n;
}

ssize_t tw_web_client_read(tw_web_client *c, char *buf, size_t max, int timeout_ms)
{
    tw_web_hub *h = c->hub;
    struct timespec until = tw_deadline(CLOCK_MONOTONIC, timeout_ms);
    pthread_mutex_lock(&h->mu);
    while (!h->closed && !has_data(c))
        if (pthread_cond_timedwait(&c->cond, &h->mu, &until) == ETIMEDOUT)
            break;
    if (h->closed) {
        pthread_mutex_unlock(&h->mu);
        return -1;
    }
    size_t n = 0;
    while (n < max) {
        if (c->note_off < c->note_len) {
            size_t k = copy_out(buf + n, max - n, c->note + c->note_off,
                                c->note_len - c->note_off);
            c->note_off += k;
            n += k;
            if (c->note_off == c->note_len)
                c->note_off = c->note_len = 0;
            continue;
        }
        if (c->cur) {
            size_t k = copy_out(buf + n, max - n, c->cur->text + c->cur_off,
                                c->cur->len - c->cur_off);
            c->cur_off += k;
            n += k;
            if (c->cur_off == c->cur->len) {
                tw_web_item_unref(c->cur);
                c->cur = NULL;
            }
            continue;
        }
        if (c->dropped > c->dropped_told) {
            int k = snprintf(c->note, sizeof c->note,
                             "data: {\"topic\":\"web.dropped\",\"dropped\":%llu}\n\n",
                             (unsigned long long)c->dropped);
            c->note_len = k > 0 ? (size_t)k : 0;
            c->note_off = 0;
            c->dropped_told = c->dropped;
            continue;
        }
        if (c->q_len) {
            c->cur = c->q[c->q_head];
            c->cur_off = 0;
            c->q_head = (c->q_head + 1) % h->queue_len;
            c->q_len--;
            continue;
        }
        break;
    }
    pthread_mutex_unlock(&h->mu);
    return (ssize_t)n;
}

uint64_t tw_web_client_get_dropped(tw_web_client *c)
{
    pthread_mutex_lock(&c->hub->mu);
    uint64_t d = c->dropped;
    pthread_mutex_unlock(&c->hub->mu);
    return d;
}

void tw_web_hub_close(tw_web_hub *h)
{
    pthread_mutex_lock(&h->mu);
    h->closed = 1;
    for (tw_web_client *c = h->clients; c; c = c->next)
        pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&h->mu);
}

void tw_web_hub_get_stats(tw_web_hub *h, tw_web_hub_stats *s)
{
    pthread_mutex_lock(&h->mu);
    *s = h->st;
    pthread_mutex_unlock(&h->mu);
}
