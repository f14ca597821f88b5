/* ipcfile.c: see ipcfile.h. */
#include "ipcfile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int tw_tcp_loopback(const char *ep)
{
    if (strncmp(ep, "tcp://", 6) != 0)
        return 0;
    const char *h = ep + 6, *colon = strrchr(h, ':');
    if (!colon)
        return 0;
    size_t n = (size_t)(colon - h);
    if ((n == 9 && !strncmp(h, "localhost", 9)) || (n == 5 && !strncmp(h, "[::1]", 5)))
        return 1;
    char host[INET_ADDRSTRLEN];
    struct in_addr a;
    if (n == 0 || n >= sizeof host)
        return 0;
    memcpy(host, h, n);
    host[n] = '\0';
    return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/* 1: a process accepts connections on the unix socket at path; 0: nobody
 * does (a stale file); -1: cannot tell (errno says why). */
static int ipc_listening(const char *path)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    close(fd);
    if (rc == 0)
        return 1;
    if (e == ECONNREFUSED)
        return 0;
    errno = e;
    return -1;
}

/* Before binding ipc://path: remove a stale socket file, refuse anything
 * else that is there. 0 or -1 with why filled in. */
int tw_ipc_prepare(const char *path, char *why, size_t whylen)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(why, whylen, "cannot stat %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(why, whylen, "%s exists and is not a socket", path);
        return -1;
    }
    int live = ipc_listening(path);
    if (live == 1) {
        snprintf(why, whylen, "%s is in use (a process listens on it)", path);
        return -1;
    }
    if (live < 0) {
        snprintf(why, whylen, "cannot check whether %s is in use: %s", path,
                 strerror(errno));
        return -1;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(why, whylen, "cannot remove the stale socket file %s: %s",
                 path, strerror(errno));
        return -1;
    }
    return 0;
}

/* After close: remove path if it is still a socket file nobody listens on
 * (libzmq may have removed it already; another process may own it now). */
void tw_ipc_cleanup(const char *path)
{
    struct stat st;
    if (!*path || lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
        return;
    if (ipc_listening(path) == 0)
        unlink(path);
}

/* The file behind an ipc endpoint ("ipc://PATH"), or NULL for an
 * abstract socket ("ipc://@name") or a wildcard ("ipc://" followed by "*"). */
const char *tw_ipc_file(const char *ep)
{
    if (strncmp(ep, "ipc://", 6) != 0)
        return NULL;
    const char *p = ep + 6;
    return *p && *p != '@' && *p != '*' ? p : NULL;
}


int tw_endpoint_check(const char *ep, int any_port, char *why, size_t whylen)
{
    if (!strncmp(ep, "ipc://", 6)) {
        const char *path = ep + 6;
        if (!*path) {
            snprintf(why, whylen, "no path after ipc://");
            return -1;
        }
        if (strlen(path) >= sizeof ((struct sockaddr_un *)0)->sun_path) {
            snprintf(why, whylen, "the path is %zu bytes (a unix socket takes at most %zu)",
                     strlen(path), sizeof ((struct sockaddr_un *)0)->sun_path - 1);
            return -1;
        }
        return 0;
    }
    if (strncmp(ep, "tcp://", 6) != 0) {
        const char *sep = strstr(ep, "://");
        if (!sep)
            snprintf(why, whylen, "not an endpoint (expected tcp://HOST:PORT or ipc://PATH)");
        else
            snprintf(why, whylen, "unsupported transport '%.*s' (allowed tcp:// or ipc://)%s",
                     (int)(sep - ep + 3), ep,
                     !strncmp(ep, "inproc://", 9) ? ": inproc:// reaches this process only"
                                                  : "");
        return -1;
    }
    const char *host = ep + 6, *colon = strrchr(host, ':');
    if (!colon || colon == host || (host[0] == '[' && colon[-1] != ']')) {
        snprintf(why, whylen, "expected tcp://HOST:PORT");
        return -1;
    }
    const char *port = colon + 1;
    if (any_port && !strcmp(port, "*"))
        return 0;
    long v = 0;
    size_t n = strlen(port);
    for (size_t i = 0; i < n && v >= 0; i++)
        v = port[i] >= '0' && port[i] <= '9' && v <= 65535 ? v * 10 + (port[i] - '0') : -1;
    if (n == 0 || v < 1 || v > 65535) {
        snprintf(why, whylen, "port '%s' out of range (allowed 1 .. 65535%s)", port,
                 any_port ? ", or * for any free one" : "");
        return -1;
    }
    return 0;
}

const char *tw_list_item(const char *s, const char **item, size_t *len)
{
    const char *e = strchr(s, ',');
    const char *end = e ? e : s + strlen(s);
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    const char *t = end;
    while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
        t--;
    *item = s;
    *len = (size_t)(t - s);
    return e ? e + 1 : NULL;
}

int tw_endpoint_list_check(const char *list, int any_port, char *why, size_t whylen)
{
    const char *next = list;
    for (int item = 1;; item++) {
        const char *s;
        size_t n;
        next = tw_list_item(next, &s, &n);
        char ep[TW_ENDPOINT_LEN], r[200];
        if (n == 0) {
            snprintf(why, whylen, "item %d is empty", item);
            return -1;
        }
        if (item > TW_ENDPOINT_LIST_MAX) {
            snprintf(why, whylen, "more than %d endpoints", TW_ENDPOINT_LIST_MAX);
            return -1;
        }
        if (n >= sizeof ep) {
            snprintf(why, whylen, "item %d is longer than %zu bytes", item, sizeof ep - 1);
            return -1;
        }
        memcpy(ep, s, n);
        ep[n] = '\0';
        if (tw_endpoint_check(ep, any_port, r, sizeof r) != 0) {
            if (strchr(list, ','))
                snprintf(why, whylen, "item %d '%s': %s", item, ep, r);
            else
                snprintf(why, whylen, "%s", r);
            return -1;
        }
        if (!next)
            return 0;
    }
}
