// SPDX-License-Identifier: Apache-2.0
/* Console output ring: a stalled reader never blocks the writer; order is kept. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "outbuf.h"
#include "util.h"

#define RING (256 * KiB)

static size_t read_all(int fd, uint8_t *buf, size_t max)
{
	size_t got = 0;
	ssize_t n;

	while (got < max && (n = read(fd, buf + got, max - got)) > 0)
		got += (size_t)n;
	return got;
}

static void test_stalled_reader(void **state)
{
	static uint8_t in[2 * RING], out[4 * RING];
	struct outbuf o;
	int p[2];
	size_t got = 0, expect;
	uint64_t t0;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 31 + (i >> 8));
	assert_int_equal(pipe(p), 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	assert_int_equal(outbuf_init(&o, p[1], RING), 0);
	assert_true(o.own_fd);			/* reopened non-blocking through /proc */
	assert_false(fcntl(p[1], F_GETFL) & O_NONBLOCK);	/* caller's fd untouched */

	/* Nobody reads: twice the ring goes in without blocking, half is dropped. */
	t0 = time_ns();
	for (size_t i = 0; i < sizeof(in); i += 1000)
		outbuf_put(&o, in + i, MIN((size_t)1000, sizeof(in) - i));
	assert_true(time_ns() - t0 < 1000000000ULL);
	assert_int_equal(o.len, RING);
	assert_int_equal(o.dropped, sizeof(in) - RING);

	/* The pipe takes only its capacity: flush returns with bytes still pending. */
	assert_true(outbuf_flush(&o));
	assert_true(o.len > 0 && o.len < RING);

	/* The reader catches up: everything kept comes out, in order. */
	while (true) {
		bool more = outbuf_flush(&o);

		got += read_all(p[0], out + got, sizeof(out) - got);
		if (!more)
			break;
	}
	expect = RING;
	assert_int_equal(got, expect);
	assert_memory_equal(out, in, expect);

	/* The ring wraps cleanly. */
	outbuf_put(&o, in + 7, 1000);
	assert_false(outbuf_flush(&o));
	assert_int_equal(read_all(p[0], out, sizeof(out)), 1000);
	assert_memory_equal(out, in + 7, 1000);

	outbuf_destroy(&o);
	close(p[0]);
	close(p[1]);
}

static void test_broken_destination(void **state)
{
	struct outbuf o;
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(outbuf_init(&o, p[1], 4096), 0);
	close(p[0]);				/* reader gone: EPIPE */
	signal(SIGPIPE, SIG_IGN);
	outbuf_put(&o, (const uint8_t *)"hello", 5);
	assert_false(outbuf_flush(&o));		/* dropped, not retried forever */
	assert_int_equal(o.len, 0);
	assert_int_equal(o.dropped, 5);
	outbuf_destroy(&o);
	close(p[1]);
}

static void test_discard(void **state)
{
	struct outbuf o;

	assert_int_equal(outbuf_init(&o, -1, 4096), 0);	/* --serial none */
	outbuf_put(&o, (const uint8_t *)"x", 1);
	assert_int_equal(o.len, 0);
	assert_false(outbuf_flush(&o));
	outbuf_destroy(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stalled_reader),
		cmocka_unit_test(test_broken_destination),
		cmocka_unit_test(test_discard),
	};
	return cmocka_run_group_tests_name("outbuf", tests, NULL, NULL);
}
