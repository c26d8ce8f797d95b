// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-console over the fake transport: what it offers; guest output to a
 * file and through vm_console_write, intact and in order; the per-wakeup
 * bounds against a flood (hostile-guest.md case 18); a full FIFO
 * back-pressuring the guest instead of blocking the worker; host input into
 * the receive buffers, the serial_rx_fd retry contract, and input racing the
 * worker; F_SIZE from a terminal; reset, restart and teardown; and
 * descriptors of 4 GiB - 1 on both queues (case 5).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_virtio.h"
#include "fake_vm.h"
#include "util.h"
#include "virtio/console.h"
#include "vm.h"

#define RAM_SIZE	(2 * MiB)
#define RXQ		VIRTIO_CONSOLE_RXQ
#define TXQ		VIRTIO_CONSOLE_TXQ
#define EVENT_IDX	(1ULL << VIRTIO_RING_F_EVENT_IDX)
#define INDIRECT	(1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_SIZE		(1ULL << VIRTIO_CONSOLE_F_SIZE)

struct ctx {
	struct vm vm;
	struct fake_guest g;
	struct virtio_dev *vdev;
	char dir[64];
	char path[128];		/* dir/out */
	int rx_efd;		/* the fake VM's serial_rx_fd */
	int pipe[2];		/* serial_out_fd for VCON_STDIO */
	int ret;		/* what a call under with_stdout returned */
};

static int setup(void **state)
{
	static struct ctx c;

	memset(&c, 0, sizeof(c));
	fake_vm_init(&c.vm);
	fake_guest_init(&c.g, RAM_SIZE);
	fake_virtio_reset_counts();
	strcpy(c.dir, "/tmp/kvmio-vcon-XXXXXX");
	assert_non_null(mkdtemp(c.dir));
	snprintf(c.path, sizeof(c.path), "%s/out", c.dir);
	c.rx_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(c.rx_efd >= 0);
	c.vm.serial_rx_fd = c.rx_efd;
	c.pipe[0] = c.pipe[1] = -1;
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	char fifo[160];

	fake_virtio_destroy_all();
	fake_guest_free(&c->g);
	fake_vm_destroy(&c->vm);
	close(c->rx_efd);
	if (c->pipe[0] >= 0) {
		close(c->pipe[0]);
		close(c->pipe[1]);
	}
	snprintf(fifo, sizeof(fifo), "%s/fifo", c->dir);
	unlink(fifo);
	unlink(c->path);
	rmdir(c->dir);
	return 0;
}

static void create(struct ctx *c, enum vcon_mode mode)
{
	struct virtio_dev *vdev = (void *)1;

	assert_int_equal(virtio_console_create(&c->vm, mode, c->path, &vdev), 0);
	assert_non_null(vdev);
	assert_ptr_equal(vdev, fake_virtio_last());
	c->vdev = vdev;
}

static void start(struct ctx *c, uint64_t features)
{
	assert_int_equal(fake_virtio_start(c->vdev, &c->g, features), 0);
}

/* Guest RAM holding @len bytes of @data. */
static uint64_t guest_bytes(struct ctx *c, const void *data, size_t len)
{
	uint64_t gpa = fake_guest_alloc(&c->g, len);

	memcpy(fake_guest_ptr(&c->g, gpa), data, len);
	return gpa;
}

static uint16_t tx_str(struct ctx *c, const char *s)
{
	uint64_t gpa = guest_bytes(c, s, strlen(s));

	return fake_ring_add(&c->g, TXQ, (struct fake_seg[]){ { gpa, (uint32_t)strlen(s), false } },
			     1);
}

static void notify(struct ctx *c, unsigned int q)
{
	c->vdev->ops->notify(c->vdev, q);
}

static void expect_used(struct ctx *c, unsigned int q, uint16_t head, uint32_t len)
{
	uint16_t h;
	uint32_t l;

	assert_true(fake_ring_used(&c->g, q, &h, &l));
	assert_int_equal(h, head);
	assert_int_equal(l, len);
}

static void expect_no_used(struct ctx *c, unsigned int q)
{
	uint16_t h;
	uint32_t l;

	assert_false(fake_ring_used(&c->g, q, &h, &l));
}

static unsigned int count_used(struct ctx *c, unsigned int q)
{
	unsigned int n = 0;
	uint16_t h;
	uint32_t l;

	while (fake_ring_used(&c->g, q, &h, &l))
		n++;
	return n;
}

/* The whole output file. */
static size_t read_file(const char *path, void *buf, size_t max)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, max, f);
	fclose(f);
	return n;
}

/* Has the eventfd been signalled? Reads (and so clears) it. */
static uint64_t rx_signals(struct ctx *c)
{
	eventfd_t v = 0;

	if (eventfd_read(c->rx_efd, &v) < 0) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return v;
}

static uint32_t cfg32(struct ctx *c, uint32_t off, unsigned int len)
{
	uint8_t b[4] = { 0 };

	c->vdev->ops->config_read(c->vdev, off, b, len);
	return (uint32_t)le_read(b, len);
}

static void pattern(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + seed + (i >> 8));
}

/* ---- creation ------------------------------------------------------------ */

static void test_offers(void **state)
{
	struct ctx *c = *state;
	const struct virtio_dev_ops *ops;

	create(c, VCON_FILE);
	ops = c->vdev->ops;
	assert_int_equal(ops->device_id, VIRTIO_ID_CONSOLE);
	assert_int_equal(ops->nqueues, 2);
	assert_int_equal(ops->queue_max, 256);
	assert_int_equal(ops->config_size, 12);
	/* A file is no terminal: no F_SIZE, and no MULTIPORT ever. */
	assert_int_equal(c->vdev->host_features, EVENT_IDX | INDIRECT);
	assert_int_equal(cfg32(c, 0, 2), 0);			/* cols */
	assert_int_equal(cfg32(c, 2, 2), 0);			/* rows */
	assert_int_equal(cfg32(c, 4, 4), 1);			/* max_nr_ports */
	assert_int_equal(cfg32(c, 8, 4), 0);			/* emerg_wr */
}

static void test_create_none_and_bad_path(void **state)
{
	struct ctx *c = *state;
	struct virtio_dev *vdev = (void *)1;
	char bad[160];

	assert_int_equal(virtio_console_create(&c->vm, VCON_NONE, NULL, &vdev), 0);
	assert_null(vdev);
	assert_null(fake_virtio_last());

	vdev = (void *)1;
	snprintf(bad, sizeof(bad), "%s/no/such/dir", c->dir);
	assert_int_equal(virtio_console_create(&c->vm, VCON_FILE, bad, &vdev), -ENOENT);
	assert_null(vdev);
	assert_null(fake_virtio_last());
}

static unsigned int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* destroy() closes the output file (and leaks nothing else with an fd). */
static void test_destroy_closes_file(void **state)
{
	struct ctx *c = *state;
	unsigned int before = count_fds();

	create(c, VCON_FILE);
	assert_int_equal(count_fds(), before + 1);
	start(c, 0);
	fake_virtio_destroy_all();
	assert_int_equal(count_fds(), before);
}

/* ---- transmitq ---------------------------------------------------------- */

static void test_tx_file_in_order(void **state)
{
	struct ctx *c = *state;
	uint64_t a = guest_bytes(c, "wor", 3), b = guest_bytes(c, "ld", 2);
	uint64_t junk = fake_guest_alloc(&c->g, 8);
	uint16_t h1, h2, h3;
	char out[64];

	create(c, VCON_FILE);
	start(c, 0);
	h1 = tx_str(c, "hello, ");
	h2 = fake_ring_add(&c->g, TXQ,
			   (struct fake_seg[]){ { a, 3, false }, { b, 2, false }, { junk, 8, true } }, 3);
	h3 = tx_str(c, "!\n");
	notify(c, TXQ);

	assert_int_equal(read_file(c->path, out, sizeof(out)), 14);
	assert_memory_equal(out, "hello, world!\n", 14);
	/* Used length 0: a transmit buffer's writable part is never written. */
	expect_used(c, TXQ, h1, 0);
	expect_used(c, TXQ, h2, 0);
	expect_used(c, TXQ, h3, 0);
	expect_no_used(c, TXQ);
	assert_int_equal(fake_virtio_irqs(TXQ), 1);
	assert_int_equal(fake_virtio_self_kicks(TXQ), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(((uint8_t *)fake_guest_ptr(&c->g, junk))[i], 0);
}

/* VCON_STDIO output reaches vm_console_write (the fake VM writes it to serial_out_fd). */
static void test_tx_stdio(void **state)
{
	struct ctx *c = *state;
	char out[64];
	uint16_t h;

	assert_int_equal(pipe2(c->pipe, O_NONBLOCK | O_CLOEXEC), 0);
	c->vm.serial_out_fd = c->pipe[1];
	create(c, VCON_STDIO);
	start(c, EVENT_IDX | INDIRECT);
	h = tx_str(c, "login: ");
	tx_str(c, "root\n");
	notify(c, TXQ);

	assert_int_equal(read(c->pipe[0], out, sizeof(out)), 12);
	assert_memory_equal(out, "login: root\n", 12);
	expect_used(c, TXQ, h, 0);
	assert_int_equal(count_used(c, TXQ), 1);
}

/* A bad chain (readable after writable) comes back unused; the next one is written. */
static void test_tx_bad_chain(void **state)
{
	struct ctx *c = *state;
	uint64_t w = fake_guest_alloc(&c->g, 8), r = guest_bytes(c, "BAD", 3);
	uint16_t bad, good;
	char out[16];

	create(c, VCON_FILE);
	start(c, 0);
	bad = fake_ring_add(&c->g, TXQ, (struct fake_seg[]){ { w, 8, true }, { r, 3, false } }, 2);
	good = tx_str(c, "ok");
	notify(c, TXQ);

	assert_int_equal(read_file(c->path, out, sizeof(out)), 2);
	assert_memory_equal(out, "ok", 2);
	expect_used(c, TXQ, bad, 0);
	expect_used(c, TXQ, good, 0);
	assert_false(fake_virtio_needs_reset());
}

/*
 * Case 18: one 256 KiB chain is written 64 KiB per wakeup, each wakeup
 * ending in a self-kick, and returned once, complete, after the fourth.
 */
static void test_tx_flood_long_chain(void **state)
{
	struct ctx *c = *state;
	size_t len = 4 * VIRTIO_CONSOLE_TX_WAKEUP_MAX;
	uint8_t *data = malloc(len), *out = malloc(len + 1);
	uint64_t gpa;
	uint16_t h;

	assert_non_null(data);
	assert_non_null(out);
	pattern(data, len, 7);
	create(c, VCON_FILE);
	start(c, 0);
	gpa = guest_bytes(c, data, len);
	h = fake_ring_add(&c->g, TXQ, (struct fake_seg[]){ { gpa, (uint32_t)len, false } }, 1);

	for (unsigned int i = 1; i <= 3; i++) {
		notify(c, TXQ);
		assert_int_equal(read_file(c->path, out, len + 1), i * VIRTIO_CONSOLE_TX_WAKEUP_MAX);
		assert_int_equal(fake_virtio_self_kicks(TXQ), i);
		expect_no_used(c, TXQ);
	}
	notify(c, TXQ);
	assert_int_equal(read_file(c->path, out, len + 1), len);
	assert_memory_equal(out, data, len);
	expect_used(c, TXQ, h, 0);
	assert_int_equal(fake_virtio_self_kicks(TXQ), 3);	/* ring empty: no fourth */
	assert_int_equal(fake_virtio_irqs(TXQ), 1);
	free(data);
	free(out);
}

/* Case 18 with tiny chains: a wakeup takes at most VIRTIO_CONSOLE_TX_WAKEUP_CHAINS. */
static void test_tx_flood_many_chains(void **state)
{
	struct ctx *c = *state;
	unsigned int n = VIRTIO_CONSOLE_TX_WAKEUP_CHAINS + 50;
	char out[512], want[512];

	assert_true(n <= FAKE_QSIZE && n <= sizeof(want));
	create(c, VCON_FILE);
	start(c, 0);
	for (unsigned int i = 0; i < n; i++) {
		char s[2] = { (char)('a' + i % 26), 0 };

		want[i] = s[0];
		tx_str(c, s);
	}
	notify(c, TXQ);
	assert_int_equal(count_used(c, TXQ), VIRTIO_CONSOLE_TX_WAKEUP_CHAINS);
	assert_int_equal(fake_virtio_self_kicks(TXQ), 1);
	notify(c, TXQ);
	assert_int_equal(count_used(c, TXQ), n - VIRTIO_CONSOLE_TX_WAKEUP_CHAINS);
	assert_int_equal(fake_virtio_self_kicks(TXQ), 1);
	assert_int_equal(read_file(c->path, out, sizeof(out)), n);
	assert_memory_equal(out, want, n);
}

/*
 * Case 18, the two bounds together: a chain cut by the byte budget and
 * finished in the next wakeup counts against that wakeup's chains. A first
 * chain one byte over VIRTIO_CONSOLE_TX_WAKEUP_MAX with many one-byte
 * chains behind it: the first wakeup returns nothing, the second at most
 * VIRTIO_CONSOLE_TX_WAKEUP_CHAINS (the long chain and 127 more), the third
 * the rest; the output is complete and in order.
 */
static void test_tx_flood_carried_chain_budget(void **state)
{
	struct ctx *c = *state;
	size_t len = VIRTIO_CONSOLE_TX_WAKEUP_MAX + 1;
	unsigned int n = VIRTIO_CONSOLE_TX_WAKEUP_CHAINS + 50;	/* small chains */
	uint8_t *data = malloc(len), *want = malloc(len + n), *out = malloc(len + n + 1);
	uint16_t h, head;
	uint32_t l;

	assert_non_null(data);
	assert_non_null(want);
	assert_non_null(out);
	assert_true(n + 1 <= FAKE_QSIZE);
	pattern(data, len, 5);
	memcpy(want, data, len);
	create(c, VCON_FILE);
	start(c, 0);
	h = fake_ring_add(&c->g, TXQ,
			  (struct fake_seg[]){ { guest_bytes(c, data, len), (uint32_t)len, false } }, 1);
	for (unsigned int i = 0; i < n; i++) {
		char s[2] = { (char)('a' + i % 26), 0 };

		want[len + i] = (uint8_t)s[0];
		tx_str(c, s);
	}

	notify(c, TXQ);				/* the budget runs out inside the long chain */
	expect_no_used(c, TXQ);
	assert_int_equal(read_file(c->path, out, len + n + 1), VIRTIO_CONSOLE_TX_WAKEUP_MAX);
	assert_int_equal(fake_virtio_self_kicks(TXQ), 1);

	notify(c, TXQ);				/* that self-kick: the long chain's last byte first */
	assert_true(fake_ring_used(&c->g, TXQ, &head, &l));
	assert_int_equal(head, h);
	assert_int_equal(count_used(c, TXQ) + 1, VIRTIO_CONSOLE_TX_WAKEUP_CHAINS);
	assert_int_equal(fake_virtio_self_kicks(TXQ), 2);	/* more waiting: yield */

	notify(c, TXQ);
	assert_int_equal(count_used(c, TXQ), n + 1 - VIRTIO_CONSOLE_TX_WAKEUP_CHAINS);
	assert_int_equal(fake_virtio_self_kicks(TXQ), 2);	/* ring empty: no more */
	assert_int_equal(read_file(c->path, out, len + n + 1), len + n);
	assert_memory_equal(out, want, len + n);
	free(data);
	free(want);
	free(out);
}

/*
 * The same bound for a chain carried over a wait for POLLOUT: a FIFO takes
 * part of a first chain, then is full; when the reader drains it, the watch's
 * wakeup finishes that chain and counts it, so it returns at most
 * VIRTIO_CONSOLE_TX_WAKEUP_CHAINS, and self-kicks for the rest.
 */
static void test_tx_flood_carried_chain_pollout(void **state)
{
	struct ctx *c = *state;
	unsigned int n = VIRTIO_CONSOLE_TX_WAKEUP_CHAINS + 50;	/* small chains */
	size_t len, got = 0, total;
	uint8_t *data, *want, *out;
	char fifo[160];
	int rfd, psz;
	uint16_t h, head;
	uint32_t l;

	snprintf(fifo, sizeof(fifo), "%s/fifo", c->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	rfd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(rfd >= 0);
	psz = fcntl(rfd, F_SETPIPE_SZ, 4096);
	/*
	 * The first chain fills the FIFO with 100 bytes to spare, well within
	 * one wakeup's budget; all the rest fits once the FIFO is drained.
	 */
	assert_true(psz > 0 && (size_t)psz < VIRTIO_CONSOLE_TX_WAKEUP_MAX / 2);
	len = (size_t)psz + 100;
	total = len + n;
	assert_true(100 + n < (size_t)psz);
	data = malloc(len);
	want = malloc(total);
	out = malloc(total);
	assert_non_null(data);
	assert_non_null(want);
	assert_non_null(out);
	pattern(data, len, 9);
	memcpy(want, data, len);
	strcpy(c->path, fifo);
	create(c, VCON_FILE);
	start(c, 0);
	h = fake_ring_add(&c->g, TXQ,
			  (struct fake_seg[]){ { guest_bytes(c, data, len), (uint32_t)len, false } }, 1);
	for (unsigned int i = 0; i < n; i++) {
		char s[2] = { (char)('A' + i % 26), 0 };

		want[len + i] = (uint8_t)s[0];
		tx_str(c, s);
	}

	notify(c, TXQ);				/* the FIFO fills inside the first chain */
	expect_no_used(c, TXQ);
	assert_int_equal(fake_virtio_self_kicks(TXQ), 0);
	while (got < (size_t)psz) {		/* drain what it took */
		ssize_t r = read(rfd, out + got, total - got);

		assert_true(r > 0);
		got += (size_t)r;
	}
	assert_int_equal(got, psz);

	assert_int_equal(fake_virtio_poll_watches(c->vdev, 1000), 1);	/* POLLOUT */
	assert_true(fake_ring_used(&c->g, TXQ, &head, &l));
	assert_int_equal(head, h);
	assert_int_equal(count_used(c, TXQ) + 1, VIRTIO_CONSOLE_TX_WAKEUP_CHAINS);
	assert_int_equal(fake_virtio_self_kicks(TXQ), 1);

	notify(c, TXQ);				/* that self-kick */
	assert_int_equal(count_used(c, TXQ), n + 1 - VIRTIO_CONSOLE_TX_WAKEUP_CHAINS);
	assert_int_equal(fake_virtio_self_kicks(TXQ), 1);
	for (unsigned int i = 0; got < total && i < 1000; i++) {
		ssize_t r = read(rfd, out + got, total - got);

		if (r > 0)
			got += (size_t)r;
	}
	assert_int_equal(got, total);
	assert_memory_equal(out, want, total);
	close(rfd);
	free(data);
	free(want);
	free(out);
}

/*
 * A FIFO whose reader lags: the worker never blocks. It writes what fits,
 * then waits on the fd's POLLOUT watch holding the chain (no self-kick, no
 * used buffer); reading the FIFO lets the watch finish the chain, in order.
 */
static void test_tx_fifo_backpressure(void **state)
{
	struct ctx *c = *state;
	size_t len = 64 * KiB, got = 0;
	uint8_t *data = malloc(len), *out = malloc(len);
	char fifo[160];
	int rfd, psz;
	uint16_t h;

	assert_non_null(data);
	assert_non_null(out);
	pattern(data, len, 3);
	snprintf(fifo, sizeof(fifo), "%s/fifo", c->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	rfd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(rfd >= 0);
	psz = fcntl(rfd, F_SETPIPE_SZ, 4096);
	assert_true(psz > 0 && (size_t)psz < len / 2);
	strcpy(c->path, fifo);
	create(c, VCON_FILE);
	start(c, 0);
	h = fake_ring_add(&c->g, TXQ,
			  (struct fake_seg[]){ { guest_bytes(c, data, len), (uint32_t)len, false } }, 1);

	notify(c, TXQ);
	expect_no_used(c, TXQ);
	assert_int_equal(fake_virtio_self_kicks(TXQ), 0);
	assert_int_equal(fake_virtio_poll_watches(c->vdev, 0), 0);	/* still full */
	notify(c, TXQ);			/* a kick while waiting changes nothing */
	for (unsigned int i = 0; got < len && i < 10000; i++) {
		ssize_t r = read(rfd, out + got, len - got);

		if (r > 0)
			got += (size_t)r;
		fake_virtio_poll_watches(c->vdev, 100);
	}
	assert_int_equal(got, len);
	assert_memory_equal(out, data, len);
	expect_used(c, TXQ, h, 0);
	assert_int_equal(fake_virtio_self_kicks(TXQ), 0);
	close(rfd);
	free(data);
	free(out);
}

/*
 * The FIFO's reader leaves while the worker waits for it: the watch fires
 * with POLLERR, the rest of the chain is dropped and the chain returned, and
 * later output is discarded without a write error per chain or a busy loop.
 */
static void test_tx_fifo_reader_gone(void **state)
{
	struct ctx *c = *state;
	size_t len = 64 * KiB;
	uint8_t *data = calloc(1, len);
	char fifo[160];
	int rfd;
	uint16_t h1, h2;

	assert_non_null(data);
	signal(SIGPIPE, SIG_IGN);	/* as main does */
	snprintf(fifo, sizeof(fifo), "%s/fifo", c->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	rfd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(rfd >= 0);
	assert_true(fcntl(rfd, F_SETPIPE_SZ, 4096) > 0);
	strcpy(c->path, fifo);
	create(c, VCON_FILE);
	start(c, 0);
	h1 = fake_ring_add(&c->g, TXQ,
			   (struct fake_seg[]){ { guest_bytes(c, data, len), (uint32_t)len, false } }, 1);
	notify(c, TXQ);
	expect_no_used(c, TXQ);

	close(rfd);
	assert_int_equal(fake_virtio_poll_watches(c->vdev, 1000), 1);
	expect_used(c, TXQ, h1, 0);
	assert_int_equal(fake_virtio_poll_watches(c->vdev, 0), 0);	/* no watch left */

	h2 = tx_str(c, "into the void");
	notify(c, TXQ);
	expect_used(c, TXQ, h2, 0);
	assert_false(fake_virtio_needs_reset());
	free(data);
}

/*
 * Reset in the middle of a long chain: it is never returned (no write to
 * guest memory after reset), and output works again after a new start.
 */
static void test_tx_stop_mid_chain(void **state)
{
	struct ctx *c = *state;
	size_t len = 2 * VIRTIO_CONSOLE_TX_WAKEUP_MAX;
	uint8_t *data = calloc(1, len), *out = malloc(len + 16);
	uint64_t gpa;
	uint16_t h;

	assert_non_null(data);
	assert_non_null(out);
	memset(data, 'x', len);
	create(c, VCON_FILE);
	start(c, 0);
	gpa = guest_bytes(c, data, len);
	fake_ring_add(&c->g, TXQ, (struct fake_seg[]){ { gpa, (uint32_t)len, false } }, 1);
	notify(c, TXQ);
	fake_virtio_stop(c->vdev);
	notify(c, TXQ);			/* the self-kick arriving after the reset */
	assert_int_equal(read_file(c->path, out, len + 16), VIRTIO_CONSOLE_TX_WAKEUP_MAX);

	start(c, 0);
	h = tx_str(c, "again");
	notify(c, TXQ);
	expect_used(c, TXQ, h, 0);
	expect_no_used(c, TXQ);
	assert_int_equal(read_file(c->path, out, len + 16), VIRTIO_CONSOLE_TX_WAKEUP_MAX + 5);
	assert_memory_equal(out + VIRTIO_CONSOLE_TX_WAKEUP_MAX, "again", 5);
	free(data);
	free(out);
}

/* ---- receiveq ----------------------------------------------------------- */

static uint16_t rx_buf(struct ctx *c, uint64_t *gpa, uint32_t len)
{
	*gpa = fake_guest_alloc(&c->g, len);
	return fake_ring_add(&c->g, RXQ, (struct fake_seg[]){ { *gpa, len, true } }, 1);
}

/* The serial_rx_fd contract, step by step. */
static void test_rx_contract(void **state)
{
	struct ctx *c = *state;
	const uint8_t in[] = "abcdefghij";
	uint64_t small, big1, big2;
	uint16_t h0, h1;

	create(c, VCON_STDIO);
	/* Before DRIVER_OK: nothing accepted. */
	assert_int_equal(virtio_console_input(c->vdev, in, 10), 0);
	start(c, 0);
	assert_int_equal(rx_signals(c), 0);		/* no buffers posted yet */

	/* No buffers: nothing accepted, nothing signalled yet. */
	assert_int_equal(virtio_console_input(c->vdev, in, 10), 0);
	assert_int_equal(rx_signals(c), 0);
	assert_int_equal(fake_virtio_self_kicks(RXQ), 0);

	/* The guest posts a 4-byte buffer and kicks: input is told to retry. */
	h0 = rx_buf(c, &small, 4);
	notify(c, RXQ);
	assert_int_equal(rx_signals(c), 1);
	assert_int_equal(fake_virtio_irqs(RXQ), 0);

	/* Partial: 4 of 10, in one used buffer; the interrupt comes from the worker. */
	assert_int_equal(virtio_console_input(c->vdev, in, 10), 4);
	expect_used(c, RXQ, h0, 4);
	assert_memory_equal(fake_guest_ptr(&c->g, small), "abcd", 4);
	assert_int_equal(fake_virtio_self_kicks(RXQ), 1);
	assert_int_equal(fake_virtio_irqs(RXQ), 0);
	notify(c, RXQ);				/* that self-kick */
	assert_int_equal(fake_virtio_irqs(RXQ), 1);
	assert_int_equal(rx_signals(c), 0);	/* no new buffers: no retry yet */

	/* More buffers and a kick: signalled once; the rest goes in. */
	h1 = rx_buf(c, &big1, 8);
	rx_buf(c, &big2, 8);
	notify(c, RXQ);
	assert_int_equal(rx_signals(c), 1);
	assert_int_equal(virtio_console_input(c->vdev, in + 4, 6), 6);
	expect_used(c, RXQ, h1, 6);
	expect_no_used(c, RXQ);
	assert_memory_equal(fake_guest_ptr(&c->g, big1), "efghij", 6);

	/* Everything accepted: nothing owed, even when buffers come. */
	notify(c, RXQ);
	rx_buf(c, &small, 4);
	notify(c, RXQ);
	assert_int_equal(rx_signals(c), 0);
	assert_int_equal(fake_virtio_irqs(RXQ), 2);
}

/* One call fills several buffers, in order, when the input needs them. */
static void test_rx_spans_buffers(void **state)
{
	struct ctx *c = *state;
	uint64_t a, b, d;
	uint16_t ha, hb;

	create(c, VCON_STDIO);
	start(c, EVENT_IDX);
	ha = rx_buf(c, &a, 3);
	hb = rx_buf(c, &b, 3);
	rx_buf(c, &d, 3);
	assert_int_equal(virtio_console_input(c->vdev, (const uint8_t *)"12345", 5), 5);
	expect_used(c, RXQ, ha, 3);
	expect_used(c, RXQ, hb, 2);
	expect_no_used(c, RXQ);
	assert_memory_equal(fake_guest_ptr(&c->g, a), "123", 3);
	assert_memory_equal(fake_guest_ptr(&c->g, b), "45", 2);
	notify(c, RXQ);
	assert_int_equal(fake_virtio_irqs(RXQ), 1);
}

/* A receive chain without a writable part goes back empty; input moves on. */
static void test_rx_bad_buffer(void **state)
{
	struct ctx *c = *state;
	uint64_t ro = guest_bytes(c, "RO", 2), w;
	uint16_t hro, hw;

	create(c, VCON_STDIO);
	start(c, 0);
	hro = fake_ring_add(&c->g, RXQ, (struct fake_seg[]){ { ro, 2, false } }, 1);
	hw = rx_buf(c, &w, 4);
	assert_int_equal(virtio_console_input(c->vdev, (const uint8_t *)"xy", 2), 2);
	expect_used(c, RXQ, hro, 0);
	expect_used(c, RXQ, hw, 2);
	assert_memory_equal(fake_guest_ptr(&c->g, ro), "RO", 2);
	assert_memory_equal(fake_guest_ptr(&c->g, w), "xy", 2);
}

/*
 * After a reset nothing is accepted and nothing written, even into buffers
 * posted before it; a new start with buffers posted pays the retry owed.
 */
static void test_rx_stop_and_restart(void **state)
{
	struct ctx *c = *state;
	uint64_t old, fresh;
	uint16_t h;

	create(c, VCON_STDIO);
	start(c, 0);
	rx_buf(c, &old, 4);
	fake_virtio_stop(c->vdev);
	assert_int_equal(virtio_console_input(c->vdev, (const uint8_t *)"zz", 2), 0);
	notify(c, RXQ);
	assert_int_equal(((uint8_t *)fake_guest_ptr(&c->g, old))[0], 0);
	assert_int_equal(rx_signals(c), 0);

	start(c, 0);
	assert_int_equal(rx_signals(c), 0);	/* nothing posted on the new rings */
	h = rx_buf(c, &fresh, 4);
	notify(c, RXQ);
	assert_int_equal(rx_signals(c), 1);
	assert_int_equal(virtio_console_input(c->vdev, (const uint8_t *)"zz", 2), 2);
	expect_used(c, RXQ, h, 2);
	assert_memory_equal(fake_guest_ptr(&c->g, fresh), "zz", 2);
}

/* Buffers already posted when the driver starts: start itself pays the retry owed. */
static void test_rx_buffers_at_start(void **state)
{
	struct ctx *c = *state;
	struct fake_guest *g = &c->g;
	uint64_t buf;

	create(c, VCON_STDIO);
	assert_int_equal(virtio_console_input(c->vdev, (const uint8_t *)"q", 1), 0);
	/* As fake_virtio_start, with a buffer posted between queue setup and start(). */
	c->vdev->features = 1ULL << 32;	/* VERSION_1 */
	for (unsigned int q = 0; q < 2; q++) {
		g->q[q].desc = fake_guest_alloc(g, 16 * FAKE_QSIZE);
		g->q[q].avail = fake_guest_alloc(g, 6 + 2 * FAKE_QSIZE);
		g->q[q].used = fake_guest_alloc(g, 6 + 8 * FAKE_QSIZE);
		assert_int_equal(virtq_init(&c->vdev->vq[q], &g->mem, FAKE_QSIZE, g->q[q].desc,
					    g->q[q].avail, g->q[q].used, false, false), 0);
		c->vdev->vq_enabled[q] = true;
	}
	rx_buf(c, &buf, 4);
	assert_int_equal(c->vdev->ops->start(c->vdev), 0);
	assert_int_equal(rx_signals(c), 1);
	assert_int_equal(virtio_console_input(c->vdev, (const uint8_t *)"q", 1), 1);
}

/*
 * vm.c's side of the contract on another thread, racing the worker's
 * notify(0): every byte arrives once and in order, and every refusal is
 * followed by a signal (a lost wakeup stalls the feeder and fails).
 */
struct feeder {
	struct virtio_dev *vdev;
	int efd;
	const uint8_t *data;
	size_t n;
	atomic_bool stalled;
	atomic_bool done;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	size_t off = 0;

	while (off < f->n) {
		size_t k = MIN((size_t)64, f->n - off), got;

		got = virtio_console_input(f->vdev, f->data + off, k);
		off += got;
		if (got < k) {
			struct pollfd p = { .fd = f->efd, .events = POLLIN };
			eventfd_t v;

			if (poll(&p, 1, 5000) <= 0) {
				atomic_store(&f->stalled, true);
				break;
			}
			eventfd_read(f->efd, &v);
		}
	}
	atomic_store(&f->done, true);
	return NULL;
}

static void test_rx_threads(void **state)
{
	struct ctx *c = *state;
	enum { N = 20000, SLOTS = 8, BUFLEN = 16, OUTSTANDING = 4 };
	uint8_t *data = malloc(N), *got = malloc(N);
	uint64_t slot[SLOTS];
	struct feeder f = { 0 };
	unsigned int outstanding = 0;
	size_t recv = 0;
	uint64_t deadline;
	pthread_t t;

	assert_non_null(data);
	assert_non_null(got);
	pattern(data, N, 11);
	create(c, VCON_STDIO);
	start(c, EVENT_IDX);
	for (unsigned int i = 0; i < SLOTS; i++)
		slot[i] = fake_guest_alloc(&c->g, BUFLEN);
	f.vdev = c->vdev;
	f.efd = c->rx_efd;
	f.data = data;
	f.n = N;
	assert_int_equal(pthread_create(&t, NULL, feed, &f), 0);

	deadline = time_ns() + 20ULL * 1000000000ULL;
	while (recv < N && !atomic_load(&f.stalled) && time_ns() < deadline) {
		uint16_t h;
		uint32_t l;

		/* Heads go round-robin, so head % SLOTS is unique among OUTSTANDING. */
		while (outstanding < OUTSTANDING) {
			uint16_t head = c->g.q[RXQ].next_desc % FAKE_QSIZE;

			fake_ring_add(&c->g, RXQ,
				      (struct fake_seg[]){ { slot[head % SLOTS], BUFLEN, true } }, 1);
			outstanding++;
		}
		notify(c, RXQ);		/* the guest's kick, or input's self-kick */
		while (fake_ring_used(&c->g, RXQ, &h, &l)) {
			assert_true(l <= BUFLEN && recv + l <= N);
			memcpy(got + recv, fake_guest_ptr(&c->g, slot[h % SLOTS]), l);
			recv += l;
			outstanding--;
		}
	}
	pthread_join(t, NULL);
	assert_false(atomic_load(&f.stalled));
	assert_int_equal(recv, N);
	assert_memory_equal(got, data, N);
	free(data);
	free(got);
}

/* ---- F_SIZE ------------------------------------------------------------- */

/*
 * Run @fn with stdout on the pty slave @s: the console reads the size from
 * stdout. @fn asserts nothing, so stdout is always put back before cmocka
 * prints again.
 */
static void with_stdout(int s, void (*fn)(struct ctx *c), struct ctx *c)
{
	int saved, moved;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	moved = dup2(s, STDOUT_FILENO);
	if (moved >= 0)
		fn(c);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	assert_true(moved >= 0);
}

static void do_create_stdio(struct ctx *c)
{
	c->vdev = NULL;
	c->ret = virtio_console_create(&c->vm, VCON_STDIO, NULL, &c->vdev);
}

static void do_resize(struct ctx *c)
{
	virtio_console_resize(c->vdev);
}

static void set_size(int fd, unsigned short cols, unsigned short rows)
{
	struct winsize w = { .ws_row = rows, .ws_col = cols };

	assert_int_equal(ioctl(fd, TIOCSWINSZ, &w), 0);
}

static void test_size_from_terminal(void **state)
{
	struct ctx *c = *state;
	int m, s;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		skip();
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(s >= 0);
	set_size(s, 120, 40);

	with_stdout(s, do_create_stdio, c);
	assert_int_equal(c->ret, 0);
	assert_non_null(c->vdev);
	assert_true(c->vdev->host_features & F_SIZE);
	assert_int_equal(cfg32(c, 0, 2), 120);
	assert_int_equal(cfg32(c, 2, 2), 40);
	assert_int_equal(cfg32(c, 0, 4), 120 | 40 << 16);

	/* Linux reads the size on a config change only: start announces it. */
	start(c, F_SIZE);
	assert_int_equal(fake_virtio_self_kicks(TXQ), 1);
	notify(c, TXQ);
	assert_int_equal(fake_virtio_config_irqs(), 1);

	set_size(s, 100, 50);
	with_stdout(s, do_resize, c);
	assert_int_equal(fake_virtio_self_kicks(TXQ), 2);
	notify(c, TXQ);
	assert_int_equal(fake_virtio_config_irqs(), 2);
	assert_int_equal(cfg32(c, 0, 2), 100);
	assert_int_equal(cfg32(c, 2, 2), 50);

	/* Same size again: no news, no interrupt. */
	with_stdout(s, do_resize, c);
	assert_int_equal(fake_virtio_self_kicks(TXQ), 2);
	notify(c, TXQ);
	assert_int_equal(fake_virtio_config_irqs(), 2);
	close(s);
	close(m);
}

/* Not negotiated: a resize sends nothing. */
static void test_size_not_negotiated(void **state)
{
	struct ctx *c = *state;
	int m, s;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		skip();
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(s >= 0);
	set_size(s, 80, 24);
	with_stdout(s, do_create_stdio, c);
	assert_int_equal(c->ret, 0);
	assert_non_null(c->vdev);
	assert_true(c->vdev->host_features & F_SIZE);
	start(c, 0);
	set_size(s, 81, 25);
	with_stdout(s, do_resize, c);
	notify(c, TXQ);
	assert_int_equal(fake_virtio_config_irqs(), 0);
	close(s);
	close(m);
}

/* ---- a 4 GiB descriptor (hostile-guest.md case 5) ------------------------- */

#define HUGE_LEN	0xFFFFFFFFu	/* the longest a descriptor can say */
#define HIGH_GPA	MEM_4G		/* RAM above the 32-bit hole, as mem.h lays it out */
#define HIGH_SIZE	(4 * GiB)

/*
 * Give the fake guest a second region of 4 GiB at 4 GiB, so that a buffer
 * of 4 GiB - 1 there is all RAM: MAP_NORESERVE, so only what the device
 * touches costs, between guard pages, so that a byte read or written past
 * it faults the test. The rings stay in the first 2 MiB.
 */
static uint8_t *add_high_ram(struct ctx *c)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, HIGH_SIZE + 2 * pg, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	assert_true(p != MAP_FAILED);
	assert_int_equal(mprotect(p + pg, HIGH_SIZE, PROT_READ | PROT_WRITE), 0);
	assert_int_equal(c->g.mem.nr, 1);
	c->g.mem.region[1] = (struct mem_region){ .gpa = HIGH_GPA, .size = HIGH_SIZE, .hva = p + pg };
	c->g.mem.nr = 2;
	assert_non_null(guest_ptr(&c->g.mem, HIGH_GPA, HUGE_LEN));
	return p + pg;
}

/* Before teardown's fake_guest_free, which knows region 0 only. */
static void drop_high_ram(struct ctx *c)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	fake_virtio_destroy_all();
	munmap(c->g.mem.region[1].hva - pg, HIGH_SIZE + 2 * pg);
	c->g.mem.nr = 1;
}

/*
 * The peak resident set (VmHWM), in bytes; @reset first sets it back to the
 * current one where the kernel allows (clear_refs 5), so a copy made and
 * freed in between still shows.
 */
static uint64_t rss_peak(bool reset)
{
	unsigned long long kb = 0;
	char line[128];
	FILE *f;

	if (reset && (f = fopen("/proc/self/clear_refs", "w"))) {
		fputs("5", f);
		fclose(f);
	}
	f = fopen("/proc/self/status", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			break;
	fclose(f);
	assert_true(kb > 0);
	return kb * 1024;
}

/*
 * Case 5 on transmitq0, a guest with too little RAM for it: a 4 GiB - 1
 * descriptor cannot lie in RAM, so the queue refuses the chain; it comes
 * back with used len 0, nothing is written, no self-kick, no reset, and the
 * next chain goes out.
 */
static void test_tx_4gib_outside_ram(void **state)
{
	struct ctx *c = *state;
	char out[16];
	uint16_t bad, bad2, good;

	create(c, VCON_FILE);
	start(c, EVENT_IDX | INDIRECT);
	bad = fake_ring_add(&c->g, TXQ, (struct fake_seg[]){ { 0x1000, HUGE_LEN, false } }, 1);
	bad2 = fake_ring_add(&c->g, TXQ, (struct fake_seg[]){ { UINT64_MAX - 16, HUGE_LEN, false } },
			     1);
	good = tx_str(c, "ok");
	notify(c, TXQ);
	assert_int_equal(read_file(c->path, out, sizeof(out)), 2);
	assert_memory_equal(out, "ok", 2);
	expect_used(c, TXQ, bad, 0);
	expect_used(c, TXQ, bad2, 0);
	expect_used(c, TXQ, good, 0);
	assert_int_equal(fake_virtio_self_kicks(TXQ), 0);
	assert_false(fake_virtio_needs_reset());
}

/*
 * Case 5 with the RAM for it: a 4 GiB - 1 buffer is guest output like any
 * other, written VIRTIO_CONSOLE_TX_WAKEUP_MAX bytes per wakeup, each wakeup
 * ending in a self-kick, from the buffer's start and in order, without a
 * copy or an allocation the guest sized; a reset in the middle drops it
 * unreturned and the console works after a new start.
 */
static void test_tx_4gib_bounded(void **state)
{
	struct ctx *c = *state;
	const size_t w = VIRTIO_CONSOLE_TX_WAKEUP_MAX;
	uint8_t *high, *out = malloc(3 * w + 16);
	uint16_t h;

	assert_non_null(out);
	high = add_high_ram(c);
	pattern(high, 3 * w, 13);
	create(c, VCON_FILE);
	start(c, 0);
	fake_ring_add(&c->g, TXQ, (struct fake_seg[]){ { HIGH_GPA, HUGE_LEN, false } }, 1);
	for (unsigned int i = 1; i <= 3; i++) {
		notify(c, TXQ);
		assert_int_equal(read_file(c->path, out, 3 * w + 16), i * w);
		assert_int_equal(fake_virtio_self_kicks(TXQ), i);
		expect_no_used(c, TXQ);
	}
	assert_memory_equal(out, high, 3 * w);
	assert_false(fake_virtio_needs_reset());

	/* Reset mid-chain: not returned, nothing more written. */
	fake_virtio_stop(c->vdev);
	notify(c, TXQ);				/* the self-kick, after the reset */
	assert_int_equal(read_file(c->path, out, 3 * w + 16), 3 * w);
	start(c, 0);
	h = tx_str(c, "after");
	notify(c, TXQ);
	expect_used(c, TXQ, h, 0);
	expect_no_used(c, TXQ);
	assert_int_equal(read_file(c->path, out, 3 * w + 16), 3 * w + 5);
	assert_memory_equal(out + 3 * w, "after", 5);
	free(out);
	drop_high_ram(c);
}

/*
 * The same buffer written out to its end (to an output that reads none of
 * it): the chain comes back, once, with used len 0 and one interrupt, after
 * exactly ceil((2^32 - 1) / VIRTIO_CONSOLE_TX_WAKEUP_MAX) wakeups, each
 * ending in one self-kick (counted after every wakeup: no wakeup loops or
 * gives up); the next chain follows. Nothing on the way costs memory in
 * proportion to the length (a copy of the buffer, even one freed again,
 * would add 4 GiB to the peak resident set).
 */
static void test_tx_4gib_to_the_end(void **state)
{
	struct ctx *c = *state;
	const unsigned long wakeups =
		(unsigned long)(((uint64_t)HUGE_LEN + VIRTIO_CONSOLE_TX_WAKEUP_MAX - 1) /
				VIRTIO_CONSOLE_TX_WAKEUP_MAX);
	uint64_t rss0;
	uint16_t h, h2;

	add_high_ram(c);
	/*
	 * VCON_STDIO with no serial_out_fd: the fake vm_console_write drops
	 * the output without reading it, so no byte of the 4 GiB is touched
	 * but by the device (no write(2), whose sanitizer interceptors would
	 * scan the range).
	 */
	assert_int_equal(c->vm.serial_out_fd, -1);
	create(c, VCON_STDIO);
	start(c, 0);
	h = fake_ring_add(&c->g, TXQ, (struct fake_seg[]){ { HIGH_GPA, HUGE_LEN, false } }, 1);
	h2 = tx_str(c, "next");
	rss0 = rss_peak(true);
	for (unsigned long i = 1; i < wakeups; i++) {
		notify(c, TXQ);
		if (fake_virtio_self_kicks(TXQ) != i)
			fail_msg("wakeup %lu: %lu self-kicks", i, fake_virtio_self_kicks(TXQ));
	}
	expect_no_used(c, TXQ);
	assert_int_equal(fake_virtio_irqs(TXQ), 0);
	/*
	 * The last 64 KiB - 1: the chain comes back; the budget's one byte
	 * left goes to the next chain's first, so one more self-kick.
	 */
	notify(c, TXQ);
	expect_used(c, TXQ, h, 0);
	expect_no_used(c, TXQ);
	assert_int_equal(fake_virtio_irqs(TXQ), 1);
	assert_int_equal(fake_virtio_self_kicks(TXQ), wakeups);
	notify(c, TXQ);
	expect_used(c, TXQ, h2, 0);
	assert_int_equal(fake_virtio_irqs(TXQ), 2);
	notify(c, TXQ);				/* nothing left: no more self-kicks */
	assert_int_equal(fake_virtio_self_kicks(TXQ), wakeups);
	expect_no_used(c, TXQ);
	if (rss_peak(false) > rss0 + 64 * MiB)
		fail_msg("peak resident set grew by %llu MiB",
			 (unsigned long long)((rss_peak(false) - rss0) / MiB));
	assert_false(fake_virtio_needs_reset());
	drop_high_ram(c);
}

/*
 * Case 5 on receiveq0: a 4 GiB - 1 receive buffer in RAM takes what input
 * has and no more (used len = the input's length, not a byte written past
 * it, the rest of the buffer untouched); one the guest's RAM cannot hold is
 * refused and given back empty, and input goes on into the next buffer.
 */
static void test_rx_4gib(void **state)
{
	struct ctx *c = *state;
	const size_t n = 3 * KiB + 7;
	uint8_t *high, *in = malloc(n);
	uint64_t small, low;
	uint16_t hbad, hhuge, hsmall;

	assert_non_null(in);
	pattern(in, n, 17);
	high = add_high_ram(c);
	create(c, VCON_STDIO);
	start(c, EVENT_IDX);
	/* In the 2 MiB of low RAM: its first 4 KiB are RAM, the rest of 4 GiB is not. */
	low = fake_guest_alloc(&c->g, 4096);
	memset(fake_guest_ptr(&c->g, low), 0xEE, 4096);
	hbad = fake_ring_add(&c->g, RXQ, (struct fake_seg[]){ { low, HUGE_LEN, true } }, 1);
	hhuge = fake_ring_add(&c->g, RXQ, (struct fake_seg[]){ { HIGH_GPA, HUGE_LEN, true } }, 1);
	hsmall = rx_buf(c, &small, 8);
	assert_int_equal(virtio_console_input(c->vdev, in, n), n);
	expect_used(c, RXQ, hbad, 0);
	expect_used(c, RXQ, hhuge, n);
	expect_no_used(c, RXQ);
	assert_memory_equal(high, in, n);
	for (size_t i = n; i < 2 * n; i++)
		assert_int_equal(high[i], 0);
	assert_int_equal(high[HUGE_LEN - 1], 0);
	for (unsigned int i = 0; i < 4096; i++)
		assert_int_equal(((uint8_t *)fake_guest_ptr(&c->g, low))[i], 0xEE);
	assert_false(fake_virtio_needs_reset());
	/* The next input goes to the next buffer; the huge one is not reused. */
	assert_int_equal(virtio_console_input(c->vdev, (const uint8_t *)"xy", 2), 2);
	expect_used(c, RXQ, hsmall, 2);
	assert_memory_equal(fake_guest_ptr(&c->g, small), "xy", 2);
	assert_int_equal(high[n], 0);
	notify(c, RXQ);
	assert_int_equal(fake_virtio_irqs(RXQ), 1);
	free(in);
	drop_high_ram(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_offers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_none_and_bad_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_closes_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_file_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_stdio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_bad_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_flood_long_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_flood_many_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_flood_carried_chain_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_flood_carried_chain_pollout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_fifo_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_fifo_reader_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_stop_mid_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_contract, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_spans_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_bad_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_stop_and_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_buffers_at_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_from_terminal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_not_negotiated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_4gib_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_4gib_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_4gib_to_the_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_4gib, setup, teardown),
	};

	return cmocka_run_group_tests_name("virtio_console", tests, NULL, NULL);
}
