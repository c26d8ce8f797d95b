// SPDX-License-Identifier: Apache-2.0
/*
 * The seccomp filters (src/sandbox.c), each case in a child process so that
 * a filter, or the death it causes, stays there:
 *   - a worker thread with its kind's filter makes a call outside it: the
 *     process dies with status 1 and one line naming the thread and the call;
 *   - the same with --seccomp=log: the call goes through, the process lives;
 *   - what each kind must be able to do still works under its filter;
 *   - a thread started by a filtered one carries both filters: the narrower
 *     decides (a hot-added device's worker under the main thread's filter);
 *   - off: no filter at all (Seccomp: 0 in /proc/self/status).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "sandbox.h"

struct job {
	enum sandbox_kind kind;
	const char *name;
	void (*work)(void);
};

static void *thread_main(void *arg)
{
	struct job *j = arg;

	if (sandbox_enter(j->kind, j->name))
		_exit(3);
	j->work();
	return NULL;
}

/*
 * In a child: sandbox_init(@mode), then @work on a thread with @kind's
 * filter; the child exits 0 when work returns. Returns the child's wait
 * status; its stderr is left in @err.
 */
static int in_child(enum sandbox_mode mode, enum sandbox_kind kind, const char *name,
		    void (*work)(void), char *err, size_t errlen)
{
	int p[2], status;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct job j = { kind, name, work };
		pthread_t t;

		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		if (sandbox_init(mode))
			_exit(4);
		if (pthread_create(&t, NULL, thread_main, &j))
			_exit(5);
		pthread_join(t, NULL);
		_exit(0);
	}
	close(p[1]);
	/* Until EOF: the child's line may come in pieces. */
	size_t len = 0;

	while (len < errlen - 1 && (n = read(p[0], err + len, errlen - 1 - len)) > 0)
		len += (size_t)n;
	err[len] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		print_message("child killed by signal %d; stderr: %s\n", WTERMSIG(status), err);
	return status;
}

static void open_a_file(void)
{
	int fd = open("/etc/hostname", O_RDONLY);

	if (fd >= 0)
		close(fd);
}

static void test_violation_kills(void **state)
{
	char err[512];
	int st = in_child(SANDBOX_ON, SANDBOX_RNG, "virtio-rng@07", open_a_file, err, sizeof(err));

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_non_null(strstr(err, "seccomp: thread virtio-rng@07 made system call openat"));
}

static void test_log_lets_it_through(void **state)
{
	char err[512];
	int st = in_child(SANDBOX_LOG, SANDBOX_RNG, "virtio-rng@07", open_a_file, err, sizeof(err));

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_null(strstr(err, "seccomp"));
}

/* What each kind does in kvmio, which its filter must allow. */
static void rng_work(void)
{
	char buf[16];

	if (getrandom(buf, sizeof(buf), 0) != sizeof(buf))
		_exit(6);
	free(malloc(1 << 20));	/* mmap/munmap */
}

/* timerfd_create is the main thread's: net only arms the timer it was given. */
static void net_creates_timer(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);

	if (fd >= 0)
		close(fd);
}

static void blk_work(void)
{
	char buf[64];

	if (pread(0, buf, 0, 0) < 0 && errno != ESPIPE && errno != EBADF)
		_exit(6);
	if (fdatasync(1) < 0 && errno != EINVAL && errno != EBADF)
		_exit(7);
}

/* The vCPU's VT-d invalidations sort (shadow.c): glibc's qsort asks sysinfo for the RAM size. */
static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void vcpu_work(void)
{
	static int v[65536];

	for (unsigned int i = 0; i < 65536; i++)
		v[i] = (int)((i * 2654435761u) >> 8);
	qsort(v, 65536, sizeof(v[0]), cmp_int);
}

static void main_work(void)
{
	open_a_file();
	if (timerfd_create(CLOCK_MONOTONIC, 0) < 0)
		_exit(6);
}

static void test_kinds_can_work(void **state)
{
	char err[512];
	int st;

	st = in_child(SANDBOX_ON, SANDBOX_RNG, "virtio-rng@01", rng_work, err, sizeof(err));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = in_child(SANDBOX_ON, SANDBOX_BLK, "virtio-blk@02", blk_work, err, sizeof(err));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = in_child(SANDBOX_ON, SANDBOX_VCPU, "vcpu0", vcpu_work, err, sizeof(err));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = in_child(SANDBOX_ON, SANDBOX_MAIN, "main", main_work, err, sizeof(err));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* net may not create timers: the main thread makes its fds. */
	st = in_child(SANDBOX_ON, SANDBOX_NET, "virtio-net@03", net_creates_timer, err, sizeof(err));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	assert_non_null(strstr(err, "virtio-net@03 made system call timerfd_create"));
}

/* A worker started by the filtered main thread: its own filter narrows main's. */
static void *late_worker(void *arg)
{
	if (sandbox_enter(SANDBOX_RNG, "virtio-rng@09"))
		_exit(3);
	open_a_file();		/* main allows it, rng does not */
	return NULL;
}

static void spawn_late_worker(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, late_worker, NULL))
		_exit(5);
	pthread_join(t, NULL);
}

static void test_late_worker(void **state)
{
	char err[512];
	int st = in_child(SANDBOX_ON, SANDBOX_MAIN, "main", spawn_late_worker, err, sizeof(err));

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_non_null(strstr(err, "virtio-rng@09 made system call openat"));
}

static void seccomp_mode_is_zero(void)
{
	char line[128];
	FILE *f = fopen("/proc/self/status", "r");
	bool seen = false;

	if (!f)
		_exit(6);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Seccomp:", 8))
			seen = strtol(line + 8, NULL, 10) == 0;
	fclose(f);
	if (!seen)
		_exit(7);
}

static void test_off(void **state)
{
	char err[512];
	int st = in_child(SANDBOX_OFF, SANDBOX_RNG, "virtio-rng@01", seccomp_mode_is_zero, err,
			  sizeof(err));

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(sandbox_kind_of("virtio-blk"), SANDBOX_BLK);
	assert_int_equal(sandbox_kind_of("virtio-net"), SANDBOX_NET);
	assert_int_equal(sandbox_kind_of("virtio-console"), SANDBOX_CONSOLE);
	assert_int_equal(sandbox_kind_of("virtio-unknown"), SANDBOX_RNG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_violation_kills),
		cmocka_unit_test(test_log_lets_it_through),
		cmocka_unit_test(test_kinds_can_work),
		cmocka_unit_test(test_late_worker),
		cmocka_unit_test(test_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
