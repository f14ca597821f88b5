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

