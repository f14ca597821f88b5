/* tw_test_child.h: checks in a forked child, for the unit tests that run
 * part of a test as another user or under a resource limit (journal, EDF
 * recorder, recorder). Include after <cmocka.h>.
 *
 * CHILD_CHECK(cond) in the child: when cond is false, print the line and
 * the condition and _exit(1). wait_child_ok(pid) in the parent: wait for
 * the child and fail the test unless it exited 0. */
#ifndef TW_TEST_CHILD_H
#define TW_TEST_CHILD_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILD_CHECK(cond)                                                             \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "child: check failed at line %d: %s\n", __LINE__, #cond); \
            _exit(1);                                                                 \
        }                                                                             \
    } while (0)

static inline void wait_child_ok(pid_t pid)
{
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            fail_msg("waitpid: %s", strerror(errno));
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        fail_msg("the child failed (status 0x%x)", ws);
}

#endif
