/*
 * test_filebody.c - unit tests for filebody.c (glue, but small enough to drive directly)
 * on a temporary file and a plain evbuffer: a stream never reads more than
 * FILEBODY_AHEAD_BYTES (plus one chunk) ahead of what was taken, delivers the file
 * byte-exact over many refills and lets go of the fd when done; a file truncated
 * mid-stream ends it with FILEBODY_SHORT, not with a read past its end; empty files,
 * by-reference segments and resets close the fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>

#include "check_main.h"
#include "filebody.h"

#define TEST_FILE_BYTES (1024 * 1024 + 12345) /* not a whole number of chunks */
#define TEST_CHUNK_MAX (64 * 1024)            /* filebody.c reads at most this at once */

static unsigned char test_filebody_byte(size_t i)
{
    return (unsigned char)((i * 2654435761u) >> 13);
}

/* A new unlinked temporary file of <size> test bytes, open for reading and writing. */
static int test_filebody_file(size_t size)
{
    char name[] = "/tmp/test_filebody.XXXXXX";
    unsigned char buf[4096];
    int fd = mkstemp(name);
    size_t done = 0;

    ck_assert_int_ge(fd, 0);
    unlink(name);
    while (done < size) {
        size_t n = size - done < sizeof(buf) ? size - done : sizeof(buf);

        for (size_t i = 0; i < n; i++)
            buf[i] = test_filebody_byte(done + i);
        ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
        done += n;
    }
    return fd;
}

static bool test_filebody_fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

/* Removes up to <max> bytes from <out>, checking them against the file from <*pos>. */
static void test_filebody_take(struct evbuffer *out, size_t *pos, size_t max)
{
    unsigned char buf[16384];

    while (max > 0 && evbuffer_get_length(out) > 0) {
        int n = evbuffer_remove(out, buf, max < sizeof(buf) ? max : sizeof(buf));

        ck_assert_int_gt(n, 0);
        for (int i = 0; i < n; i++)
            ck_assert_uint_eq(buf[i], test_filebody_byte(*pos + (size_t)i));
        *pos += (size_t)n;
        max -= (size_t)n;
    }
}

START_TEST(test_filebody_stream_bounded)
{
    struct evbuffer *out = evbuffer_new();
    struct filebody b;
    enum filebody_result r;
    int fd = test_filebody_file(TEST_FILE_BYTES);
    size_t pos = 0, refills = 0;

    filebody_init(&b);
    ck_assert(!filebody_is_active(&b));
    evbuffer_add(out, "HEAD", 4); /* a head before the body counts against the read-ahead */
    r = filebody_start(&b, fd, TEST_FILE_BYTES, out, false);
    ck_assert_int_eq(r, FILEBODY_MORE);
    ck_assert(filebody_is_active(&b));
    ck_assert_uint_ge(evbuffer_get_length(out), FILEBODY_AHEAD_BYTES);
    ck_assert_uint_lt(evbuffer_get_length(out), FILEBODY_AHEAD_BYTES + TEST_CHUNK_MAX);
    evbuffer_drain(out, 4);
    /* The client takes a little at a time; refills come at the refill level. */
    while (r == FILEBODY_MORE) {
        size_t len = evbuffer_get_length(out);

        test_filebody_take(out, &pos,
                           len > FILEBODY_REFILL_BYTES ? len - FILEBODY_REFILL_BYTES : 1000);
        r = filebody_fill(&b, out);
        ck_assert_uint_lt(evbuffer_get_length(out), FILEBODY_AHEAD_BYTES + TEST_CHUNK_MAX);
        refills++;
    }
    ck_assert_int_eq(r, FILEBODY_DONE);
    ck_assert(!filebody_is_active(&b));
    ck_assert(!test_filebody_fd_is_open(fd));
    test_filebody_take(out, &pos, SIZE_MAX);
    ck_assert_uint_eq(pos, TEST_FILE_BYTES);
    ck_assert_uint_gt(refills, 4);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_filebody_truncated)
{
    struct evbuffer *out = evbuffer_new();
    struct filebody b;
    enum filebody_result r;
    int fd = test_filebody_file(TEST_FILE_BYTES), writer = dup(fd);
    size_t pos = 0;

    filebody_init(&b);
    r = filebody_start(&b, fd, TEST_FILE_BYTES, out, false);
    ck_assert_int_eq(r, FILEBODY_MORE);
    test_filebody_take(out, &pos, SIZE_MAX);
    /* In place, as logrotate's copytruncate does: the next read finds the end. */
    ck_assert_int_eq(ftruncate(writer, 4096), 0);
    r = filebody_fill(&b, out);
    ck_assert_int_eq(r, FILEBODY_SHORT);
    ck_assert(!filebody_is_active(&b));
    ck_assert(!test_filebody_fd_is_open(fd));
    ck_assert_uint_eq(evbuffer_get_length(out), 0); /* nothing made up */
    ck_assert_int_lt(b.offset, b.size);
    close(writer);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_filebody_empty_and_reset)
{
    struct evbuffer *out = evbuffer_new();
    struct filebody b;
    int fd = test_filebody_file(100);

    filebody_init(&b);
    ck_assert_int_eq(filebody_start(&b, fd, 0, out, false), FILEBODY_DONE);
    ck_assert(!test_filebody_fd_is_open(fd));
    ck_assert_uint_eq(evbuffer_get_length(out), 0);

    fd = test_filebody_file(TEST_FILE_BYTES);
    ck_assert_int_eq(filebody_start(&b, fd, TEST_FILE_BYTES, out, false), FILEBODY_MORE);
    filebody_reset(&b);
    ck_assert(!filebody_is_active(&b));
    ck_assert(!test_filebody_fd_is_open(fd));
    filebody_reset(&b); /* twice is fine */
    evbuffer_free(out);
}
END_TEST

START_TEST(test_filebody_small_file_done_at_once)
{
    struct evbuffer *out = evbuffer_new();
    struct filebody b;
    int fd = test_filebody_file(4096);
    size_t pos = 0;

    filebody_init(&b);
    ck_assert_int_eq(filebody_start(&b, fd, 4096, out, false), FILEBODY_DONE);
    ck_assert(
        !test_filebody_fd_is_open(fd)); /* one open file per answer, for no longer than a read */
    test_filebody_take(out, &pos, SIZE_MAX);
    ck_assert_uint_eq(pos, 4096);
    evbuffer_free(out);
}
END_TEST

/* By reference, the buffer owns the fd until the segment leaves it. */
START_TEST(test_filebody_by_reference)
{
    struct evbuffer *out = evbuffer_new();
    struct filebody b;
    int fd = test_filebody_file(TEST_FILE_BYTES);

    filebody_init(&b);
    ck_assert_int_eq(filebody_start(&b, fd, TEST_FILE_BYTES, out, true), FILEBODY_DONE);
    ck_assert(!filebody_is_active(&b));
    ck_assert_uint_eq(evbuffer_get_length(out), TEST_FILE_BYTES);
    ck_assert(test_filebody_fd_is_open(fd));
    evbuffer_free(out);
    ck_assert(!test_filebody_fd_is_open(fd));
}
END_TEST

static Suite *test_filebody_suite(void)
{
    Suite *s = suite_create("filebody");
    TCase *tc = tcase_create("filebody");

    tcase_add_test(tc, test_filebody_stream_bounded);
    tcase_add_test(tc, test_filebody_truncated);
    tcase_add_test(tc, test_filebody_empty_and_reset);
    tcase_add_test(tc, test_filebody_small_file_done_at_once);
    tcase_add_test(tc, test_filebody_by_reference);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_filebody_suite)
