// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-rng over the fake transport: what it offers, random bytes in the
 * writable buffers (and only there), the per-request cap against a buffer
 * longer than it (hostile-guest.md case 5), a descriptor the queue refuses,
 * the per-wakeup bounds with their self-kick (case 18), one interrupt per
 * batch, indirect tables, and reset followed by a new start.
 */
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_virtio.h"
#include "fake_vm.h"
#include "util.h"
#include "virtio/rng.h"
#include "vm.h"

#define RAM_SIZE	(1 * MiB)
#define SENTINEL	0xA5
#define EVENT_IDX	(1ULL << VIRTIO_RING_F_EVENT_IDX)
#define INDIRECT	(1ULL << VIRTIO_RING_F_INDIRECT_DESC)

struct ctx {
	struct vm vm;
	struct fake_guest g;
	struct virtio_dev *vdev;
};

static int setup(void **state)
{
	static struct ctx c;

	memset(&c, 0, sizeof(c));
	fake_vm_init(&c.vm);
	fake_guest_init(&c.g, RAM_SIZE);
	fake_virtio_reset_counts();
	assert_int_equal(virtio_rng_create(&c.vm), 0);
	c.vdev = fake_virtio_last();
	assert_non_null(c.vdev);
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	fake_virtio_destroy_all();
	fake_guest_free(&c->g);
	fake_vm_destroy(&c->vm);
	return 0;
}

/* A buffer of guest RAM filled with SENTINEL: what the device did not write stays so. */
static uint64_t sentinel_buf(struct ctx *c, uint64_t len)
{
	uint64_t gpa = fake_guest_alloc(&c->g, len);

	memset(fake_guest_ptr(&c->g, gpa), SENTINEL, len);
	return gpa;
}

static bool all_sentinel(struct ctx *c, uint64_t gpa, uint64_t len)
{
	const uint8_t *p = fake_guest_ptr(&c->g, gpa);

	for (uint64_t i = 0; i < len; i++)
		if (p[i] != SENTINEL)
			return false;
	return true;
}

/* Random bytes: a run of SENTINEL over all of them is a 2^-(8*len) chance. */
static bool looks_random(struct ctx *c, uint64_t gpa, uint64_t len)
{
	return len >= 16 && !all_sentinel(c, gpa, len);
}

static uint16_t add_one(struct ctx *c, uint64_t gpa, uint32_t len)
{
	return fake_ring_add(&c->g, 0, (struct fake_seg[]){ { gpa, len, true } }, 1);
}

static void expect_used(struct ctx *c, uint16_t head, uint32_t len)
{
	uint16_t h;
	uint32_t l;

	assert_true(fake_ring_used(&c->g, 0, &h, &l));
	assert_int_equal(h, head);
	assert_int_equal(l, len);
}

static void expect_no_used(struct ctx *c)
{
	uint16_t h;
	uint32_t l;

	assert_false(fake_ring_used(&c->g, 0, &h, &l));
}

static void test_offers(void **state)
{
	struct ctx *c = *state;
	const struct virtio_dev_ops *ops = c->vdev->ops;

	assert_int_equal(ops->device_id, VIRTIO_ID_RNG);
	assert_int_equal(ops->nqueues, 1);
	assert_int_equal(ops->queue_max, 256);
	assert_int_equal(ops->config_size, 0);
	assert_int_equal(c->vdev->host_features, EVENT_IDX | INDIRECT);
	assert_ptr_equal(c->vdev->vm, &c->vm);
}

static void test_fills_writable_buffers(void **state)
{
	struct ctx *c = *state;
	uint64_t a = sentinel_buf(c, 64), b = sentinel_buf(c, 64);
	uint16_t ha, hb;

	assert_int_equal(fake_virtio_start(c->vdev, &c->g, 0), 0);
	ha = add_one(c, a, 64);
	hb = add_one(c, b, 64);
	c->vdev->ops->notify(c->vdev, 0);

	expect_used(c, ha, 64);
	expect_used(c, hb, 64);
	expect_no_used(c);
	assert_true(looks_random(c, a, 64));
	assert_true(looks_random(c, b, 64));
	assert_memory_not_equal(fake_guest_ptr(&c->g, a), fake_guest_ptr(&c->g, b), 64);
	/* One interrupt for the batch, no self-kick: the ring is empty. */
	assert_int_equal(fake_virtio_irqs(0), 1);
	assert_int_equal(fake_virtio_self_kicks(0), 0);
	assert_false(fake_virtio_needs_reset());
}

/*
 * Case 5: a buffer longer than the cap, all of it inside RAM (so the queue
 * accepts it), gets exactly VIRTIO_RNG_REQ_MAX bytes, reported as the used
 * length, and the rest of it is not touched.
 */
static void test_request_capped(void **state)
{
	struct ctx *c = *state;
	uint64_t len = 16 * VIRTIO_RNG_REQ_MAX;
	uint64_t buf = sentinel_buf(c, len);
	uint16_t head;

	assert_int_equal(fake_virtio_start(c->vdev, &c->g, 0), 0);
	head = add_one(c, buf, (uint32_t)len);
	c->vdev->ops->notify(c->vdev, 0);

	expect_used(c, head, VIRTIO_RNG_REQ_MAX);
	assert_true(looks_random(c, buf, VIRTIO_RNG_REQ_MAX));
	assert_true(all_sentinel(c, buf + VIRTIO_RNG_REQ_MAX, len - VIRTIO_RNG_REQ_MAX));
}

/* The cap is per chain, over all of its writable segments. */
static void test_cap_spans_segments(void **state)
{
	struct ctx *c = *state;
	uint64_t a = sentinel_buf(c, 3000), b = sentinel_buf(c, 3000);
	uint16_t head;

	assert_int_equal(fake_virtio_start(c->vdev, &c->g, 0), 0);
	head = fake_ring_add(&c->g, 0, (struct fake_seg[]){ { a, 3000, true }, { b, 3000, true } },
			     2);
	c->vdev->ops->notify(c->vdev, 0);

	expect_used(c, head, VIRTIO_RNG_REQ_MAX);
	assert_true(looks_random(c, a + 3000 - 64, 64));	/* first segment to its end */
	assert_true(looks_random(c, b, VIRTIO_RNG_REQ_MAX - 3000));
	assert_true(all_sentinel(c, b + VIRTIO_RNG_REQ_MAX - 3000, 6000 - VIRTIO_RNG_REQ_MAX));
}

/*
 * A 4 GiB - 1 descriptor in 1 MiB of RAM: the queue refuses it, so the
 * request comes back with nothing written and nothing is allocated for it;
 * the queue and the device go on working.
 */
static void test_huge_descriptor(void **state)
{
	struct ctx *c = *state;
	uint64_t buf = sentinel_buf(c, 4096), ok = sentinel_buf(c, 32);
	uint16_t bad, good;

	assert_int_equal(fake_virtio_start(c->vdev, &c->g, 0), 0);
	bad = add_one(c, buf, 0xFFFFFFFF);
	good = add_one(c, ok, 32);
	c->vdev->ops->notify(c->vdev, 0);

	expect_used(c, bad, 0);
	expect_used(c, good, 32);
	assert_true(all_sentinel(c, buf, 4096));
	assert_true(looks_random(c, ok, 32));
	assert_false(fake_virtio_needs_reset());
}

/* 5.4.6.1: no driver-readable buffers; such a chain is returned unused. */
static void test_readable_buffer_refused(void **state)
{
	struct ctx *c = *state;
	uint64_t out = sentinel_buf(c, 16), in = sentinel_buf(c, 64);
	uint16_t head;

	assert_int_equal(fake_virtio_start(c->vdev, &c->g, 0), 0);
	head = fake_ring_add(&c->g, 0, (struct fake_seg[]){ { out, 16, false }, { in, 64, true } },
			     2);
	c->vdev->ops->notify(c->vdev, 0);

	expect_used(c, head, 0);
	assert_true(all_sentinel(c, out, 16));
	assert_true(all_sentinel(c, in, 64));
}

/*
 * Case 18: 32 requests of the cap are twice one wakeup's byte budget. The
 * first notify serves half, interrupts once and kicks itself; the second
 * serves the rest and, the ring being empty, does not kick again.
 */
static void test_wakeup_byte_budget(void **state)
{
	struct ctx *c = *state;
	unsigned int n = 2 * VIRTIO_RNG_WAKEUP_MAX / VIRTIO_RNG_REQ_MAX, per = n / 2;
	uint16_t heads[64];

	assert_true(n <= ARRAY_SIZE(heads));
	assert_int_equal(fake_virtio_start(c->vdev, &c->g, 0), 0);
	for (unsigned int i = 0; i < n; i++)
		heads[i] = add_one(c, sentinel_buf(c, VIRTIO_RNG_REQ_MAX), VIRTIO_RNG_REQ_MAX);

	c->vdev->ops->notify(c->vdev, 0);
	for (unsigned int i = 0; i < per; i++)
		expect_used(c, heads[i], VIRTIO_RNG_REQ_MAX);
	expect_no_used(c);
	assert_int_equal(fake_virtio_self_kicks(0), 1);
	assert_int_equal(fake_virtio_irqs(0), 1);

	c->vdev->ops->notify(c->vdev, 0);		/* the self-kick arriving */
	for (unsigned int i = per; i < n; i++)
		expect_used(c, heads[i], VIRTIO_RNG_REQ_MAX);
	expect_no_used(c);
	assert_int_equal(fake_virtio_self_kicks(0), 1);
	assert_int_equal(fake_virtio_irqs(0), 2);
}

/* Case 18 with tiny requests: the chain count bounds a wakeup too. */
static void test_wakeup_chain_budget(void **state)
{
	struct ctx *c = *state;
	unsigned int n = VIRTIO_RNG_WAKEUP_CHAINS + 40, used = 0;
	uint64_t buf = sentinel_buf(c, n);
	uint16_t h;
	uint32_t l;

	assert_true(n <= FAKE_QSIZE);
	assert_int_equal(fake_virtio_start(c->vdev, &c->g, 0), 0);
	for (unsigned int i = 0; i < n; i++)
		add_one(c, buf + i, 1);

	c->vdev->ops->notify(c->vdev, 0);
	while (fake_ring_used(&c->g, 0, &h, &l))
		used++;
	assert_int_equal(used, VIRTIO_RNG_WAKEUP_CHAINS);
	assert_int_equal(fake_virtio_self_kicks(0), 1);

	c->vdev->ops->notify(c->vdev, 0);
	while (fake_ring_used(&c->g, 0, &h, &l))
		used++;
	assert_int_equal(used, n);
	assert_int_equal(fake_virtio_self_kicks(0), 1);
}

/* A kick on an empty ring: nothing pushed, no interrupt, no self-kick. */
static void test_empty_kick(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(fake_virtio_start(c->vdev, &c->g, 0), 0);
	for (int i = 0; i < 3; i++)
		c->vdev->ops->notify(c->vdev, 0);
	expect_no_used(c);
	assert_int_equal(fake_virtio_irqs(0), 0);
	assert_int_equal(fake_virtio_self_kicks(0), 0);
}

/* Put a chain made of one INDIRECT descriptor pointing at @n entries at @table. */
static uint16_t add_indirect(struct ctx *c, uint64_t table, unsigned int n)
{
	struct fake_guest *g = &c->g;
	struct vring_desc *desc = fake_guest_ptr(g, g->q[0].desc);
	struct vring_avail *avail = fake_guest_ptr(g, g->q[0].avail);
	uint16_t head = g->q[0].next_desc % FAKE_QSIZE;

	desc[head] = (struct vring_desc){ .addr = table, .len = 16 * n,
					  .flags = VRING_DESC_F_INDIRECT };
	g->q[0].next_desc++;
	avail->ring[g->q[0].avail_idx % FAKE_QSIZE] = head;
	__atomic_store_n(&avail->idx, ++g->q[0].avail_idx, __ATOMIC_RELEASE);
	return head;
}

/* EVENT_IDX and INDIRECT_DESC negotiated: an indirect request is served. */
static void test_indirect_event_idx(void **state)
{
	struct ctx *c = *state;
	uint64_t a = sentinel_buf(c, 100), b = sentinel_buf(c, 100);
	uint64_t table = fake_guest_alloc(&c->g, 32);
	struct vring_desc *t = fake_guest_ptr(&c->g, table);
	uint16_t head;

	assert_int_equal(fake_virtio_start(c->vdev, &c->g, EVENT_IDX | INDIRECT), 0);
	assert_true(c->vdev->vq[0].event_idx);
	assert_true(c->vdev->vq[0].indirect);
	t[0] = (struct vring_desc){ a, 100, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ b, 100, VRING_DESC_F_WRITE, 0 };
	head = add_indirect(c, table, 2);
	c->vdev->ops->notify(c->vdev, 0);

	expect_used(c, head, 200);
	assert_true(looks_random(c, a, 100));
	assert_true(looks_random(c, b, 100));
	/* The first used buffer always interrupts (nothing signalled yet). */
	assert_int_equal(fake_virtio_irqs(0), 1);
}

/*
 * Reset with a request posted: after stop nothing is written, a notify that
 * still arrives is ignored, and a new start serves new rings.
 */
static void test_stop_then_start_again(void **state)
{
	struct ctx *c = *state;
	uint64_t buf = sentinel_buf(c, 64), buf2 = sentinel_buf(c, 64);
	uint16_t head;

	assert_int_equal(fake_virtio_start(c->vdev, &c->g, 0), 0);
	add_one(c, buf, 64);
	fake_virtio_stop(c->vdev);
	c->vdev->ops->notify(c->vdev, 0);
	assert_true(all_sentinel(c, buf, 64));
	assert_int_equal(fake_virtio_irqs(0), 0);

	assert_int_equal(fake_virtio_start(c->vdev, &c->g, 0), 0);
	head = add_one(c, buf2, 64);
	c->vdev->ops->notify(c->vdev, 0);
	expect_used(c, head, 64);
	assert_true(looks_random(c, buf2, 64));
	assert_true(all_sentinel(c, buf, 64));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_offers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fills_writable_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_spans_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_descriptor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readable_buffer_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wakeup_byte_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wakeup_chain_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_kick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_then_start_again, setup, teardown),
	};

	return cmocka_run_group_tests_name("virtio_rng", tests, NULL, NULL);
}
