// SPDX-License-Identifier: Apache-2.0
/*
 * The event loop: callbacks run with their opaque, fd and events when the fd
 * is ready and not otherwise; loop_mod turns an fd off and on; an entry
 * deleted from a callback is not called again, in the same turn included;
 * regular files count as always ready and never block the wait; timers fire
 * once; loop_defer wakes a blocked loop from another thread and runs its
 * calls in order on the loop's thread; loop_destroy runs what is queued.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "loop.h"
#include "util.h"

/* Every callback run, in order. */
struct rec {
	void *opaque;
	int fd;
	uint32_t events;
	pthread_t thread;
};

static struct rec log_[64];
static int nlog;

static void log_reset(void)
{
	memset(log_, 0, sizeof(log_));
	nlog = 0;
}

static void record(void *opaque, int fd, uint32_t events)
{
	assert_true(nlog < (int)ARRAY_SIZE(log_));
	log_[nlog++] = (struct rec){ opaque, fd, events, pthread_self() };
}

/* A callback that records and leaves the fd readable (level-triggered). */
static void on_ready(void *opaque, int fd, uint32_t events)
{
	record(opaque, fd, events);
}

/* A non-blocking pipe, and an eventfd. */
static void make_pipe(int p[2])
{
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

static void fill(int fd)
{
	assert_int_equal(write(fd, "x", 1), 1);
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* A blocking wait that never returns must fail the test, not hang it. */
static void on_alarm(int sig)
{
	static const char msg[] = "test_loop: loop_run_once blocked (no wake-up)\n";

	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

static void guard(unsigned int s)
{
	signal(SIGALRM, on_alarm);
	alarm(s);
}

static void test_ready(void **state)
{
	struct loop l;
	int token, efd, p[2];

	log_reset();
	assert_int_equal(loop_init(&l), 0);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(efd >= 0);
	assert_int_equal(loop_add(&l, efd, EPOLLIN, on_ready, &token), 0);

	/* Nothing written: nothing runs, and a zero timeout does not wait. */
	assert_int_equal(loop_run_once(&l, 0), 0);
	assert_int_equal(nlog, 0);

	assert_int_equal(eventfd_write(efd, 1), 0);
	assert_int_equal(loop_run_once(&l, 0), 1);
	assert_int_equal(nlog, 1);
	assert_ptr_equal(log_[0].opaque, &token);
	assert_int_equal(log_[0].fd, efd);
	assert_int_equal(log_[0].events, EPOLLIN);
	assert_true(pthread_equal(log_[0].thread, pthread_self()));

	/* Drained: quiet again. */
	eventfd_t v;
	assert_int_equal(eventfd_read(efd, &v), 0);
	assert_int_equal(loop_run_once(&l, 0), 0);
	assert_int_equal(nlog, 1);

	/*
	 * A pipe's empty write end asked for both: ready at once, and the
	 * callback gets what is ready (EPOLLOUT), not what was asked for.
	 */
	make_pipe(p);
	assert_int_equal(loop_add(&l, p[1], EPOLLIN | EPOLLOUT, on_ready, &p[1]), 0);
	assert_int_equal(loop_run_once(&l, 0), 1);
	assert_int_equal(nlog, 2);
	assert_ptr_equal(log_[1].opaque, &p[1]);
	assert_int_equal(log_[1].fd, p[1]);
	assert_int_equal(log_[1].events, EPOLLOUT);

	loop_destroy(&l);
	/* The loop closes none of its clients' fds. */
	assert_true(fd_open(efd) && fd_open(p[0]) && fd_open(p[1]));
	close(efd);
	close(p[0]);
	close(p[1]);
}

static void test_mod(void **state)
{
	struct loop l;
	int p[2];

	log_reset();
	assert_int_equal(loop_init(&l), 0);
	make_pipe(p);
	assert_int_equal(loop_add(&l, p[0], EPOLLIN, on_ready, NULL), 0);
	fill(p[1]);
	assert_int_equal(loop_run_once(&l, 0), 1);

	/* Off: readable, but no callback; the wait takes its whole timeout. */
	assert_int_equal(loop_mod(&l, p[0], 0), 0);
	uint64_t t0 = time_ns();
	assert_int_equal(loop_run_once(&l, 30), 0);
	assert_true(time_ns() - t0 >= 20 * 1000000ULL);
	assert_int_equal(loop_run_once(&l, 0), 0);
	assert_int_equal(nlog, 1);

	/* Same value twice is fine. */
	assert_int_equal(loop_mod(&l, p[0], 0), 0);
	assert_int_equal(loop_run_once(&l, 0), 0);

	/* On again: still readable, so it runs, and again (level-triggered). */
	assert_int_equal(loop_mod(&l, p[0], EPOLLIN), 0);
	assert_int_equal(loop_run_once(&l, 0), 1);
	assert_int_equal(loop_run_once(&l, 0), 1);
	assert_int_equal(nlog, 3);
	assert_int_equal(log_[2].fd, p[0]);
	assert_int_equal(log_[2].events, EPOLLIN);

	/* Registered off from the start: nothing until turned on. */
	int q[2];
	make_pipe(q);
	fill(q[1]);
	assert_int_equal(loop_add(&l, q[0], 0, on_ready, &q), 0);
	assert_int_equal(loop_mod(&l, p[0], 0), 0);
	assert_int_equal(loop_run_once(&l, 0), 0);
	assert_int_equal(loop_mod(&l, q[0], EPOLLIN), 0);
	assert_int_equal(loop_run_once(&l, 0), 1);
	assert_ptr_equal(log_[3].opaque, &q);
	assert_int_equal(log_[3].fd, q[0]);

	loop_destroy(&l);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

static void test_errors(void **state)
{
	struct loop l;
	int p[2], q[2], badfd;

	log_reset();
	assert_int_equal(loop_init(&l), 0);
	make_pipe(p);
	make_pipe(q);

	assert_int_equal(loop_add(&l, p[0], EPOLLIN, on_ready, NULL), 0);
	assert_int_equal(loop_add(&l, p[0], EPOLLIN, on_ready, NULL), -EEXIST);
	assert_int_equal(loop_add(&l, p[0], EPOLLOUT, on_ready, &p), -EEXIST);
	assert_int_equal(loop_add(&l, -1, EPOLLIN, on_ready, NULL), -EINVAL);
	assert_int_equal(loop_add(&l, q[0], EPOLLIN, NULL, NULL), -EINVAL);
	badfd = dup(q[0]);
	close(badfd);
	assert_int_equal(loop_add(&l, badfd, EPOLLIN, on_ready, NULL), -EBADF);

	/* Unknown fds: mod fails, del is harmless. */
	assert_int_equal(loop_mod(&l, q[0], EPOLLIN), -ENOENT);
	assert_int_equal(loop_mod(&l, 9999, EPOLLIN), -ENOENT);
	loop_del(&l, q[0]);
	loop_del(&l, 9999);

	/* The first registration is intact: it runs once, with its own opaque. */
	fill(p[1]);
	assert_int_equal(loop_run_once(&l, 0), 1);
	assert_int_equal(nlog, 1);
	assert_null(log_[0].opaque);

	/* Deleted: not called although readable; mod fails; del again is harmless. */
	loop_del(&l, p[0]);
	assert_int_equal(loop_run_once(&l, 0), 0);
	assert_int_equal(loop_mod(&l, p[0], EPOLLIN), -ENOENT);
	loop_del(&l, p[0]);
	assert_int_equal(nlog, 1);
	assert_true(fd_open(p[0]));		/* not closed */

	/* It can come back, with a new opaque. */
	assert_int_equal(loop_add(&l, p[0], EPOLLIN, on_ready, &p), 0);
	assert_int_equal(loop_run_once(&l, 0), 1);
	assert_ptr_equal(log_[1].opaque, &p);

	loop_destroy(&l);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/* Deleting from a callback. */
struct del_ctx {
	struct loop *l;
	int fds[3];
	int nfds;
	int runs;
	int readd_fd;			/* >= 0: add this fd back, with opaque = &readd_token */
};

static int readd_token;

static void on_del(void *opaque, int fd, uint32_t events)
{
	struct del_ctx *c = opaque;

	record(opaque, fd, events);
	c->runs++;
	for (int i = 0; i < c->nfds; i++)
		loop_del(c->l, c->fds[i]);
	if (c->readd_fd >= 0)
		assert_int_equal(loop_add(c->l, c->readd_fd, EPOLLIN, on_ready, &readd_token), 0);
}

static void test_del_in_callback(void **state)
{
	struct loop l;
	int a[2], b[2];
	struct del_ctx c = { .l = &l, .readd_fd = -1 };

	log_reset();
	assert_int_equal(loop_init(&l), 0);
	make_pipe(a);
	make_pipe(b);

	/* Both ready; whichever runs first deletes both: the other never runs. */
	c.fds[0] = a[0];
	c.fds[1] = b[0];
	c.nfds = 2;
	assert_int_equal(loop_add(&l, a[0], EPOLLIN, on_del, &c), 0);
	assert_int_equal(loop_add(&l, b[0], EPOLLIN, on_del, &c), 0);
	fill(a[1]);
	fill(b[1]);
	assert_int_equal(loop_run_once(&l, 0), 1);
	assert_int_equal(c.runs, 1);
	assert_int_equal(loop_run_once(&l, 0), 0);
	assert_int_equal(c.runs, 1);
	assert_int_equal(loop_mod(&l, a[0], EPOLLIN), -ENOENT);
	assert_int_equal(loop_mod(&l, b[0], EPOLLIN), -ENOENT);
	assert_true(fd_open(a[0]) && fd_open(b[0]));

	/* Each deletes only itself: both run this turn, neither after. */
	struct del_ctx ca = { .l = &l, .fds = { a[0] }, .nfds = 1, .readd_fd = -1 };
	struct del_ctx cb = { .l = &l, .fds = { b[0] }, .nfds = 1, .readd_fd = -1 };
	assert_int_equal(loop_add(&l, a[0], EPOLLIN, on_del, &ca), 0);
	assert_int_equal(loop_add(&l, b[0], EPOLLIN, on_del, &cb), 0);
	assert_int_equal(loop_run_once(&l, 0), 2);
	assert_int_equal(ca.runs, 1);
	assert_int_equal(cb.runs, 1);
	assert_int_equal(loop_run_once(&l, 0), 0);

	/*
	 * The first to run deletes the other and registers the same fd again
	 * with another callback: the old entry's pending event is not delivered
	 * to anyone this turn; the new one runs from the next turn.
	 */
	log_reset();
	/* Make a[0]'s callback delete b[0] and re-add it, and vice versa. */
	struct del_ctx xa = { .l = &l, .fds = { b[0] }, .nfds = 1, .readd_fd = b[0] };
	struct del_ctx xb = { .l = &l, .fds = { a[0] }, .nfds = 1, .readd_fd = a[0] };
	assert_int_equal(loop_add(&l, a[0], EPOLLIN, on_del, &xa), 0);
	assert_int_equal(loop_add(&l, b[0], EPOLLIN, on_del, &xb), 0);
	assert_int_equal(loop_run_once(&l, 0), 1);
	assert_int_equal(xa.runs + xb.runs, 1);
	assert_int_equal(nlog, 1);
	/* Next turn: the first (still registered) and the re-added one run. */
	struct del_ctx *first = xa.runs ? &xa : &xb;
	first->nfds = 0;
	first->readd_fd = -1;
	assert_int_equal(loop_run_once(&l, 0), 2);
	assert_int_equal(first->runs, 2);
	assert_int_equal(xa.runs + xb.runs, 2);	/* the deleted entry never again */
	assert_int_equal(nlog, 3);
	bool saw_new = false;
	for (int i = 1; i < nlog; i++)
		if (log_[i].opaque == &readd_token) {
			saw_new = true;
			assert_int_equal(log_[i].fd, first == &xa ? b[0] : a[0]);
		}
	assert_true(saw_new);

	/* A deleted regular-file entry (always ready) is not run in that turn. */
	char path[] = "/tmp/kvmio-test-loop-XXXXXX";
	int ffd = mkstemp(path);
	assert_true(ffd >= 0);
	unlink(path);
	loop_del(&l, a[0]);
	loop_del(&l, b[0]);
	struct del_ctx cf = { .l = &l, .fds = { ffd }, .nfds = 1, .readd_fd = -1 };
	int ffd_runs_before = nlog;
	assert_int_equal(loop_add(&l, ffd, EPOLLIN, on_ready, NULL), 0);
	assert_int_equal(loop_add(&l, a[0], EPOLLIN, on_del, &cf), 0);
	assert_int_equal(loop_run_once(&l, 0), 1);	/* a[0] ran, deleted ffd */
	assert_int_equal(nlog, ffd_runs_before + 1);
	assert_ptr_equal(log_[nlog - 1].opaque, &cf);
	cf.nfds = 0;
	assert_int_equal(loop_run_once(&l, 0), 1);	/* only a[0] again */
	assert_ptr_equal(log_[nlog - 1].opaque, &cf);

	loop_destroy(&l);
	close(ffd);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

static void test_regular_file(void **state)
{
	struct loop l;
	char path[] = "/tmp/kvmio-test-loop-XXXXXX";
	int fd, token, nfd;
	uint64_t t0;

	log_reset();
	assert_int_equal(loop_init(&l), 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);

	/* epoll refuses it; the loop accepts it. */
	assert_int_equal(loop_add(&l, fd, EPOLLIN, on_ready, &token), 0);
	assert_int_equal(loop_add(&l, fd, EPOLLIN, on_ready, &token), -EEXIST);

	/* Always ready: runs every turn, and an infinite timeout does not block. */
	guard(10);
	t0 = time_ns();
	for (int i = 0; i < 3; i++) {
		assert_int_equal(loop_run_once(&l, -1), 1);
		assert_int_equal(nlog, i + 1);
		assert_ptr_equal(log_[i].opaque, &token);
		assert_int_equal(log_[i].fd, fd);
		assert_int_equal(log_[i].events, EPOLLIN);
	}
	assert_int_equal(loop_run_once(&l, 1000), 1);
	assert_true(time_ns() - t0 < 500 * 1000000ULL);
	guard(0);

	/* Its events are what is asked for. */
	assert_int_equal(loop_mod(&l, fd, EPOLLOUT), 0);
	assert_int_equal(loop_run_once(&l, 0), 1);
	assert_int_equal(log_[nlog - 1].events, EPOLLOUT);
	assert_int_equal(loop_mod(&l, fd, EPOLLIN | EPOLLOUT), 0);
	assert_int_equal(loop_run_once(&l, 0), 1);
	assert_int_equal(log_[nlog - 1].events, EPOLLIN | EPOLLOUT);

	/* Off: no callback, and the wait is a real wait again. */
	int before = nlog;
	assert_int_equal(loop_mod(&l, fd, 0), 0);
	assert_int_equal(loop_run_once(&l, 0), 0);
	t0 = time_ns();
	assert_int_equal(loop_run_once(&l, 30), 0);
	assert_true(time_ns() - t0 >= 20 * 1000000ULL);
	assert_int_equal(nlog, before);

	/* On again, then deleted: nothing, and not closed. */
	assert_int_equal(loop_mod(&l, fd, EPOLLIN), 0);
	assert_int_equal(loop_run_once(&l, 0), 1);
	loop_del(&l, fd);
	assert_int_equal(loop_run_once(&l, 0), 0);
	assert_int_equal(loop_mod(&l, fd, EPOLLIN), -ENOENT);
	assert_true(fd_open(fd));

	/* /dev/null, also refused by epoll, the same way. */
	nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(nfd >= 0);
	assert_int_equal(loop_add(&l, nfd, EPOLLIN, on_ready, &nfd), 0);
	guard(10);
	assert_int_equal(loop_run_once(&l, -1), 1);
	guard(0);
	assert_ptr_equal(log_[nlog - 1].opaque, &nfd);

	/* Registered off from the start: not always ready. */
	loop_del(&l, nfd);
	assert_int_equal(loop_add(&l, fd, 0, on_ready, &token), 0);
	before = nlog;
	assert_int_equal(loop_run_once(&l, 0), 0);
	assert_int_equal(nlog, before);

	loop_destroy(&l);
	close(nfd);
	close(fd);
}

/* A timer callback: counts, and drains the timerfd. */
static int timer_fired;

static void on_timer(void *opaque, int fd, uint32_t events)
{
	uint64_t n;

	record(opaque, fd, events);
	timer_fired++;
	assert_int_equal(read(fd, &n, sizeof(n)), sizeof(n));
	assert_true(n >= 1);
}

static void test_timer(void **state)
{
	struct loop l;
	int tfd, token;
	uint64_t t0, dt;

	log_reset();
	timer_fired = 0;
	assert_int_equal(loop_init(&l), 0);
	tfd = loop_timer_new(&l, on_timer, &token);
	assert_true(tfd >= 0);

	/* Not armed: nothing. */
	assert_int_equal(loop_run_once(&l, 0), 0);

	t0 = time_ns();
	assert_int_equal(loop_timer_arm(tfd, 20), 0);
	assert_int_equal(loop_run_once(&l, 0), 0);	/* not at once */
	assert_int_equal(timer_fired, 0);
	guard(10);
	for (int i = 0; i < 5 && !timer_fired; i++)
		assert_true(loop_run_once(&l, 1000) >= 0);
	guard(0);
	dt = time_ns() - t0;
	assert_int_equal(timer_fired, 1);
	assert_true(dt >= 19 * 1000000ULL);
	assert_true(dt < 1000 * 1000000ULL);
	assert_ptr_equal(log_[0].opaque, &token);
	assert_int_equal(log_[0].fd, tfd);
	assert_int_equal(log_[0].events, EPOLLIN);

	/* Once: not again. */
	assert_int_equal(loop_run_once(&l, 50), 0);
	assert_int_equal(timer_fired, 1);

	/* Disarmed before it expires: never fires. */
	assert_int_equal(loop_timer_arm(tfd, 30), 0);
	assert_int_equal(loop_timer_arm(tfd, 0), 0);
	assert_int_equal(loop_run_once(&l, 100), 0);
	assert_int_equal(timer_fired, 1);

	/* Re-armed: fires again. */
	assert_int_equal(loop_timer_arm(tfd, 1), 0);
	guard(10);
	for (int i = 0; i < 5 && timer_fired < 2; i++)
		assert_true(loop_run_once(&l, 1000) >= 0);
	guard(0);
	assert_int_equal(timer_fired, 2);

	/* Freed while armed: deleted and closed, never fires. */
	assert_int_equal(loop_timer_arm(tfd, 10), 0);
	loop_timer_free(&l, tfd);
	assert_false(fd_open(tfd));
	assert_int_equal(loop_run_once(&l, 50), 0);
	assert_int_equal(timer_fired, 2);
	loop_timer_free(&l, -1);		/* harmless */

	/* Two timers: the shorter fires first. */
	int t1 = loop_timer_new(&l, on_timer, &t1);
	int t2 = loop_timer_new(&l, on_timer, &t2);
	assert_true(t1 >= 0 && t2 >= 0 && t1 != t2);
	log_reset();
	assert_int_equal(loop_timer_arm(t1, 60), 0);
	assert_int_equal(loop_timer_arm(t2, 10), 0);
	guard(10);
	while (nlog < 2)
		assert_true(loop_run_once(&l, 1000) >= 0);
	guard(0);
	assert_int_equal(log_[0].fd, t2);
	assert_ptr_equal(log_[0].opaque, &t2);
	assert_int_equal(log_[1].fd, t1);
	loop_timer_free(&l, t1);
	loop_timer_free(&l, t2);

	loop_destroy(&l);
}

/* loop_defer. */
#define NCALLS 200

static int calls[NCALLS + 8];
static pthread_t call_thread[NCALLS + 8];
static int ncalls;

static void on_call(void *opaque)
{
	assert_true(ncalls < (int)ARRAY_SIZE(calls));
	call_thread[ncalls] = pthread_self();
	calls[ncalls++] = (int)(intptr_t)opaque;
}

struct poster {
	struct loop *l;
	pthread_t self;
	int first, n;
	unsigned int delay_ms;
};

static void *post(void *arg)
{
	struct poster *p = arg;

	p->self = pthread_self();
	usleep(p->delay_ms * 1000);
	for (int i = 0; i < p->n; i++)
		if (loop_defer(p->l, on_call, (void *)(intptr_t)(p->first + i)) != 0)
			return (void *)1;
	return NULL;
}

static void test_defer_thread(void **state)
{
	struct loop l;
	struct poster p;
	pthread_t th;
	void *ret;
	uint64_t t0;

	ncalls = 0;
	assert_int_equal(loop_init(&l), 0);

	/* The loop is blocked with no timeout; only the post can wake it. */
	p = (struct poster){ .l = &l, .first = 1, .n = 1, .delay_ms = 50 };
	assert_int_equal(pthread_create(&th, NULL, post, &p), 0);
	guard(10);
	t0 = time_ns();
	while (ncalls < 1)
		assert_true(loop_run_once(&l, -1) >= 0);
	guard(0);
	assert_true(time_ns() - t0 >= 40 * 1000000ULL);	/* it did wait */
	assert_int_equal(pthread_join(th, &ret), 0);
	assert_null(ret);
	assert_int_equal(calls[0], 1);
	assert_true(pthread_equal(call_thread[0], pthread_self()));
	assert_false(pthread_equal(call_thread[0], p.self));

	/* Many posts at once: all run, in the order posted, on the loop's thread. */
	ncalls = 0;
	p = (struct poster){ .l = &l, .first = 1000, .n = NCALLS, .delay_ms = 10 };
	assert_int_equal(pthread_create(&th, NULL, post, &p), 0);
	guard(10);
	while (ncalls < NCALLS)
		assert_true(loop_run_once(&l, -1) >= 0);
	guard(0);
	assert_int_equal(pthread_join(th, &ret), 0);
	assert_null(ret);
	assert_int_equal(ncalls, NCALLS);
	for (int i = 0; i < NCALLS; i++) {
		assert_int_equal(calls[i], 1000 + i);
		assert_true(pthread_equal(call_thread[i], pthread_self()));
	}

	/* Posted from the loop's own thread: runs at the next turn, not before. */
	ncalls = 0;
	assert_int_equal(loop_defer(&l, on_call, (void *)7), 0);
	assert_int_equal(ncalls, 0);
	guard(10);
	assert_true(loop_run_once(&l, -1) >= 0);
	guard(0);
	assert_int_equal(ncalls, 1);
	assert_int_equal(calls[0], 7);
	/* Nothing left: the wake-up was consumed. */
	assert_int_equal(loop_run_once(&l, 0), 0);
	assert_int_equal(ncalls, 1);

	loop_destroy(&l);
}

static void test_destroy_runs_queued(void **state)
{
	struct loop l;
	int p[2];

	ncalls = 0;
	log_reset();
	assert_int_equal(loop_init(&l), 0);
	make_pipe(p);
	assert_int_equal(loop_add(&l, p[0], EPOLLIN, on_ready, NULL), 0);
	assert_int_equal(loop_defer(&l, on_call, (void *)1), 0);
	assert_int_equal(loop_defer(&l, on_call, (void *)2), 0);
	assert_int_equal(loop_defer(&l, on_call, (void *)3), 0);
	assert_int_equal(ncalls, 0);
	loop_destroy(&l);
	assert_int_equal(ncalls, 3);
	assert_int_equal(calls[0], 1);
	assert_int_equal(calls[1], 2);
	assert_int_equal(calls[2], 3);
	assert_int_equal(nlog, 0);		/* callbacks are not run by destroy */
	assert_true(fd_open(p[0]));
	close(p[0]);
	close(p[1]);
}

/* An fd turned off must not wake the loop even when epoll would report HUP on it. */
static void test_off_hup(void **state)
{
	struct loop l;
	struct timespec a, b;
	int p[2];

	log_reset();
	assert_int_equal(loop_init(&l), 0);
	make_pipe(p);
	assert_int_equal(loop_add(&l, p[0], 0, on_ready, NULL), 0);
	close(p[1]);		/* the read end now has HUP */
	guard(10);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(loop_run_once(&l, 30), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	alarm(0);
	assert_int_equal(nlog, 0);
	assert_true((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 >= 25);
	/* On again: the HUP is reported. */
	assert_int_equal(loop_mod(&l, p[0], EPOLLIN), 0);
	assert_int_equal(loop_run_once(&l, 0), 1);
	assert_int_equal(nlog, 1);
	assert_true(log_[0].events & EPOLLHUP);
	loop_destroy(&l);
	close(p[0]);
}

/* A call that destroy runs may defer another: that one runs too. */
static struct loop *nested_loop;

static void on_call_defers(void *opaque)
{
	on_call(opaque);
	assert_int_equal(loop_defer(nested_loop, on_call, (void *)2), 0);
}

static void test_destroy_runs_nested(void **state)
{
	struct loop l;

	ncalls = 0;
	assert_int_equal(loop_init(&l), 0);
	nested_loop = &l;
	assert_int_equal(loop_defer(&l, on_call_defers, (void *)1), 0);
	loop_destroy(&l);
	assert_int_equal(ncalls, 2);
	assert_int_equal(calls[0], 1);
	assert_int_equal(calls[1], 2);
}

/* The poll time's steps, QEMU's rule: keep when caught, double when near, drop when far. */
static void test_poll_adjust(void **state)
{
	(void)state;
	assert_int_equal(poll_adjust(0, 10000, 32000), POLL_START_NS);
	assert_int_equal(poll_adjust(4000, 10000, 32000), 8000);
	assert_int_equal(poll_adjust(16000, 20000, 32000), 32000);
	assert_int_equal(poll_adjust(24000, 30000, 32000), 32000);	/* capped at max */
	assert_int_equal(poll_adjust(32000, 20000, 32000), 32000);	/* polling caught it */
	assert_int_equal(poll_adjust(8000, 8000, 32000), 8000);
	assert_int_equal(poll_adjust(32000, 32001, 32000), 0);		/* too late to poll for */
	assert_int_equal(poll_adjust(0, 5000000, 32000), 0);
	assert_int_equal(poll_adjust(0, 1000, 0), 0);
}

static int late_fd;
static unsigned int late_ms;

static void *write_late(void *arg)
{
	(void)arg;
	usleep(late_ms * 1000);
	eventfd_write(late_fd, 1);
	return NULL;
}

/* One wait with a writer @ms milliseconds later; returns what poll_epoll_wait returned. */
static int wait_for_late(struct poll_adapt *ap, int ep, unsigned int ms)
{
	struct epoll_event ev[2];
	eventfd_t v;
	pthread_t th;
	int n;

	late_ms = ms;
	assert_int_equal(pthread_create(&th, NULL, write_late, NULL), 0);
	n = poll_epoll_wait(ap, ep, ev, 2);
	pthread_join(th, NULL);
	assert_int_equal(eventfd_read(late_fd, &v), 0);
	return n;
}

/* poll_epoll_wait against a real eventfd: it returns events and adapts poll_ns as it waits. */
static void test_poll_wait(void **state)
{
	struct poll_adapt ap = { .max_ns = 1000000000ULL };	/* 1 s: any short wait is "near" */
	struct epoll_event ev[2];
	int ep;

	(void)state;
	ep = epoll_create1(EPOLL_CLOEXEC);
	late_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(ep >= 0 && late_fd >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, late_fd,
				   &(struct epoll_event){ .events = EPOLLIN, .data.u32 = 7 }), 0);

	/* An event after a short sleep: polling starts. */
	assert_int_equal(wait_for_late(&ap, ep, 1), 1);
	assert_int_equal(ap.poll_ns, POLL_START_NS);
	assert_int_equal(wait_for_late(&ap, ep, 1), 1);
	assert_int_equal(ap.poll_ns, 2 * POLL_START_NS);

	/* An event already there is found by the first poll; poll_ns stays. */
	eventfd_write(late_fd, 1);
	assert_int_equal(poll_epoll_wait(&ap, ep, ev, 2), 1);
	assert_int_equal(ev[0].data.u32, 7);
	assert_int_equal(ap.poll_ns, 2 * POLL_START_NS);
	assert_int_equal(eventfd_read(late_fd, &(eventfd_t){ 0 }), 0);

	/* A wait longer than max_ns: polling stops. */
	ap.max_ns = 1000000;					/* 1 ms */
	assert_int_equal(wait_for_late(&ap, ep, 30), 1);
	assert_int_equal(ap.poll_ns, 0);

	/* max_ns 0: never polls, still waits. */
	ap.max_ns = 0;
	assert_int_equal(wait_for_late(&ap, ep, 1), 1);
	assert_int_equal(ap.poll_ns, 0);
	close(late_fd);
	close(ep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ready),
		cmocka_unit_test(test_mod),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_del_in_callback),
		cmocka_unit_test(test_regular_file),
		cmocka_unit_test(test_timer),
		cmocka_unit_test(test_defer_thread),
		cmocka_unit_test(test_destroy_runs_queued),
		cmocka_unit_test(test_off_hup),
		cmocka_unit_test(test_destroy_runs_nested),
		cmocka_unit_test(test_poll_adjust),
		cmocka_unit_test(test_poll_wait),
	};
	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
