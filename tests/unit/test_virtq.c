// SPDX-License-Identifier: Apache-2.0
/*
 * Split virtqueue, device side (src/virtio/queue.c): normal and indirect
 * chains, notification suppression both ways, 16-bit index wraparound, and
 * the hostile-guest cases of hostile-guest.md 1-11 that the queue owns; and
 * over a mapped DMA space (a fake IOMMU), buffers it refuses: a bad chain,
 * or with keep_faulted a faulted one the device fails on its own; and, over
 * kvmio's real layout (mem_layout), buffers on MMIO (a BAR, the ECAM, the
 * IOAPIC, the LAPIC) or running off RAM's end, with and without an IOMMU.
 *
 * Guest RAM is three regions, each mmap'd between PROT_NONE guard pages so
 * that any access outside RAM faults the test instead of passing silently:
 *   R0  [0, 2 MiB)                     rings at 0x1000, buffers from 1 MiB
 *   R1  [2 MiB + 4 KiB, +64 KiB)       past a 4 KiB hole
 *   R2  [2^64 - 64 KiB, 2^64)          the top of the address space: wrap tests
 */
#include <errno.h>
#include <linux/virtio_ring.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "util.h"
#include "virtio/queue.h"
#include "vm.h"

#define R0_SIZE		(2 * MiB)
#define R1_GPA		(R0_SIZE + 4 * KiB)
#define R1_SIZE		(64 * KiB)
#define R2_GPA		(0ULL - 64 * KiB)
#define R2_SIZE		(64 * KiB)

#define DESC_GPA	0x1000ULL
#define BUF(n)		(1 * MiB + (uint64_t)(n) * 0x1000)	/* n < 256 */

#define F_NEXT		VRING_DESC_F_NEXT
#define F_WRITE		VRING_DESC_F_WRITE
#define F_INDIRECT	VRING_DESC_F_INDIRECT

/* The driver side, as a guest would run it. */
struct drv {
	struct guest_mem mem;
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t avail_idx, used_seen;
	struct virtq vq;
	struct virtq_chain c;
	/* start_mapped: a fake IOMMU, IOVA = GPA in 4 KiB pages but for those in deny[]. */
	struct dma_as as;
	struct {
		uint64_t page;
		unsigned int perm;	/* 0: not present */
	} deny[4];
	unsigned int ndeny;
	unsigned int nfaults;		/* refusals reported through ops->fault; the last: */
	uint64_t fault_iova;
	unsigned int fault_dir;
	int fault_err;
};

static uint8_t *map_guarded(size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, len + 2 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	assert_int_equal(mprotect(p + pg, len, PROT_READ | PROT_WRITE), 0);
	return p + pg;
}

static void unmap_guarded(uint8_t *p, size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	munmap(p - pg, len + 2 * pg);
}

static int setup(void **state)
{
	struct drv *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->mem.nr = 3;
	d->mem.region[0] = (struct mem_region){ .gpa = 0, .size = R0_SIZE };
	d->mem.region[1] = (struct mem_region){ .gpa = R1_GPA, .size = R1_SIZE };
	d->mem.region[2] = (struct mem_region){ .gpa = R2_GPA, .size = R2_SIZE };
	for (unsigned int i = 0; i < d->mem.nr; i++)
		d->mem.region[i].hva = map_guarded(d->mem.region[i].size);
	d->mem.ram_size = R0_SIZE + R1_SIZE + R2_SIZE;
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct drv *d = *state;

	virtq_destroy(&d->vq);
	for (unsigned int i = 0; i < d->mem.nr; i++)
		unmap_guarded(d->mem.region[i].hva, d->mem.region[i].size);
	free(d);
	return 0;
}

static void *gp(struct drv *d, uint64_t gpa)
{
	void *p = guest_ptr(&d->mem, gpa, 1);

	assert_non_null(p);
	return p;
}

static struct vring_avail *avail(struct drv *d) { return gp(d, d->avail); }
static struct vring_used *used(struct drv *d) { return gp(d, d->used); }
static uint16_t *used_event(struct drv *d) { return &avail(d)->ring[d->size]; }
static uint16_t *avail_event(struct drv *d) { return (uint16_t *)&used(d)->ring[d->size]; }

/* Lay out the rings at DESC_GPA, cleared. */
static void layout(struct drv *d, uint16_t size)
{
	d->size = size;
	d->desc = DESC_GPA;
	d->avail = d->desc + 16ULL * size;
	d->used = ALIGN_UP(d->avail + 6 + 2ULL * size, 4ULL);
	d->avail_idx = d->used_seen = 0;
	memset(gp(d, 0), 0, BUF(0));
}

/* Lay out the rings and enable the queue over the identity space. */
static void start(struct drv *d, uint16_t size, bool event_idx, bool indirect)
{
	layout(d, size);
	assert_int_equal(virtq_init(&d->vq, &d->mem, size, d->desc, d->avail, d->used,
				    event_idx, indirect), 0);
}

static int fake_lookup(struct dma_as *as, uint64_t iova, unsigned int dir, struct dma_map *m)
{
	struct drv *d = as->opaque;
	unsigned int perm = DMA_READ | DMA_WRITE;

	for (unsigned int i = 0; i < d->ndeny; i++) {
		if (d->deny[i].page != (iova & ~4095ULL))
			continue;
		if (!d->deny[i].perm) {
			m->why = "fake: not present";
			return -EFAULT;
		}
		perm = d->deny[i].perm;
	}
	/* Identity-shaped, so the driver helpers (desc, publish) work unchanged. */
	m->gpa = iova;
	m->len = 4096 - (iova & 4095);
	m->perm = perm;
	return 0;
}

static void fake_fault(struct dma_as *as, uint64_t iova, unsigned int dir, int err,
		       const struct dma_map *m)
{
	struct drv *d = as->opaque;

	d->nfaults++;
	d->fault_iova = iova;
	d->fault_dir = dir;
	d->fault_err = err;
}

static const struct dma_as_ops fake_ops = { .lookup = fake_lookup, .fault = fake_fault };

/* The fake IOMMU refuses page @gpa (not present, @perm 0) or allows it only @perm. */
static void deny(struct drv *d, uint64_t gpa, unsigned int perm)
{
	assert_true(d->ndeny < ARRAY_SIZE(d->deny));
	d->deny[d->ndeny].page = gpa & ~4095ULL;
	d->deny[d->ndeny++].perm = perm;
}

/* The queue over the fake IOMMU (no EVENT_IDX), with keep_faulted as a blk device sets it. */
static void start_mapped(struct drv *d, uint16_t size, bool indirect)
{
	layout(d, size);
	dma_as_init(&d->as, &d->mem, "test-virtq");
	d->as.ops = &fake_ops;
	d->as.opaque = d;
	assert_int_equal(virtq_init_as(&d->vq, &d->as, size, d->desc, d->avail, d->used, false,
				       indirect), 0);
	/* After init: virtq_init_as clears the whole queue. */
	d->vq.keep_faulted = true;
}

/* Descriptor @i of the table at @table (the ring's own table or an indirect one). */
static void desc_at(struct drv *d, uint64_t table, unsigned int i, uint64_t addr, uint32_t len,
		    uint16_t flags, uint16_t next)
{
	struct vring_desc *v = guest_ptr(&d->mem, table + 16ULL * i, 16);

	assert_non_null(v);
	*v = (struct vring_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

static void desc(struct drv *d, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	desc_at(d, d->desc, i, addr, len, flags, next);
}

static void publish(struct drv *d, uint16_t head)
{
	avail(d)->ring[d->avail_idx % d->size] = head;
	d->avail_idx++;
	__atomic_store_n(&avail(d)->idx, d->avail_idx, __ATOMIC_RELEASE);
}

static bool reap(struct drv *d, uint32_t *id, uint32_t *len)
{
	struct vring_used *u = used(d);

	if (__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE) == d->used_seen)
		return false;
	*id = u->ring[d->used_seen % d->size].id;
	*len = u->ring[d->used_seen % d->size].len;
	d->used_seen++;
	return true;
}

static void expect_used(struct drv *d, uint32_t head, uint32_t len)
{
	uint32_t id, l;

	assert_true(reap(d, &id, &l));
	assert_int_equal(id, head);
	assert_int_equal(l, len);
}

/* One good single-buffer chain at descriptor @i: proves the queue still works. */
static void expect_usable(struct drv *d, uint16_t i)
{
	desc(d, i, BUF(200), 8, F_WRITE, 0);
	publish(d, i);
	assert_int_equal(virtq_pop(&d->vq, &d->c), 1);
	assert_int_equal(d->c.head, i);
	assert_int_equal(d->c.n_in, 1);
	virtq_push(&d->vq, i, 8);
	expect_used(d, i, 8);
}

/* Publish @head, expect -EINVAL with the head set, hand it back with len 0. */
static void expect_bad_chain(struct drv *d, uint16_t head, const char *why)
{
	unsigned int inflight = d->vq.inflight;

	publish(d, head);
	assert_int_equal(virtq_pop(&d->vq, &d->c), -EINVAL);
	assert_int_equal(d->c.head, head);
	assert_int_equal(d->c.n_out + d->c.n_in, 0);
	assert_false(d->vq.broken);
	assert_non_null(d->vq.error);
	assert_non_null(strstr(d->vq.error, why));
	assert_int_equal(d->vq.inflight, inflight + 1);
	virtq_push(&d->vq, head, 0);
	expect_used(d, head, 0);
	assert_int_equal(d->vq.inflight, inflight);
}

static void expect_broken(struct drv *d, const char *why)
{
	assert_int_equal(virtq_pop(&d->vq, &d->c), -EIO);
	assert_true(d->vq.broken);
	assert_non_null(strstr(d->vq.error, why));
	/* Sticky, and quiet. */
	assert_int_equal(virtq_pop(&d->vq, &d->c), -EIO);
	assert_false(virtq_has_work(&d->vq));
}

static void test_init_rejects(void **state)
{
	struct drv *d = *state;
	struct virtq *vq = &d->vq;
	const struct guest_mem *m = &d->mem;

	/* Size: 0, not a power of two, larger than 32768 (a u16 cannot hold 65536). */
	assert_int_equal(virtq_init(vq, m, 0, 0x1000, 0x2000, 0x3000, false, false), -EINVAL);
	assert_non_null(vq->error);
	assert_int_equal(virtq_init(vq, m, 3, 0x1000, 0x2000, 0x3000, false, false), -EINVAL);
	assert_int_equal(virtq_init(vq, m, 0xC000, 0x1000, 0x2000, 0x3000, false, false), -EINVAL);
	assert_int_equal(virtq_init(vq, m, 0xFFFF, 0x1000, 0x2000, 0x3000, false, false), -EINVAL);
	/* Alignment: desc 16, avail 2, used 4. */
	assert_int_equal(virtq_init(vq, m, 8, 0x1008, 0x2000, 0x3000, false, false), -EINVAL);
	assert_int_equal(virtq_init(vq, m, 8, 0x1000, 0x2001, 0x3000, false, false), -EINVAL);
	assert_int_equal(virtq_init(vq, m, 8, 0x1000, 0x2000, 0x3002, false, false), -EINVAL);
	/* Outside RAM, partly outside, in the hole, spanning the hole, wrapping 2^64. */
	assert_int_equal(virtq_init(vq, m, 8, 1ULL << 40, 0x2000, 0x3000, false, false), -EINVAL);
	assert_int_equal(virtq_init(vq, m, 8, R0_SIZE - 64, 0x2000, 0x3000, false, false), -EINVAL);
	assert_int_equal(virtq_init(vq, m, 8, 0x1000, R0_SIZE + 16, 0x3000, false, false), -EINVAL);
	assert_int_equal(virtq_init(vq, m, 8, 0x1000, 0x2000, R0_SIZE - 32, false, false), -EINVAL);
	assert_int_equal(virtq_init(vq, m, 8, 0x1000, 0x2000, R2_GPA + R2_SIZE - 32, false, false),
			 -EINVAL);
	assert_int_equal(virtq_init(vq, m, 4096, R0_SIZE - 4 * KiB, 0x2000, 0x3000, false, false),
			 -EINVAL);
	/* A failed queue does nothing, and destroy is safe on it, twice. */
	assert_int_equal(virtq_pop(vq, &d->c), -EIO);
	assert_false(virtq_has_work(vq));
	assert_false(virtq_should_notify(vq));
	virtq_set_notify(vq, true);
	virtq_push(vq, 0, 0);
	virtq_destroy(vq);
	virtq_destroy(vq);
	assert_int_equal(virtq_pop(vq, &d->c), -EIO);
}

static void test_init_edges(void **state)
{
	struct drv *d = *state;
	struct virtq *vq = &d->vq;
	const struct guest_mem *m = &d->mem;
	uint64_t end = R0_SIZE;

	/* Rings ending exactly at the end of RAM: avail 4 + 2*8, used 4 + 8*8. */
	assert_int_equal(virtq_init(vq, m, 8, end - 128, end - 20, end - 68 - 20 - 4, false, false), 0);
	/* The same with EVENT_IDX needs 2 more bytes for used_event / avail_event. */
	assert_int_equal(virtq_init(vq, m, 8, 0x1000, end - 20, 0x3000, true, false), -EINVAL);
	assert_int_equal(virtq_init(vq, m, 8, 0x1000, end - 22, 0x3000, true, false), 0);
	assert_int_equal(virtq_init(vq, m, 8, 0x1000, 0x2000, end - 68, true, false), -EINVAL);
	assert_int_equal(virtq_init(vq, m, 8, 0x1000, 0x2000, end - 72, true, false), 0);
	/* Rings in the second region, and in the top one, up to the last byte. */
	assert_int_equal(virtq_init(vq, m, 16, R1_GPA, R1_GPA + 256, R1_GPA + 512, true, true), 0);
	assert_int_equal(virtq_init(vq, m, 1, R2_GPA, R2_GPA + R2_SIZE - 6,
				    R2_GPA + R2_SIZE - 20, false, false), 0);
	assert_int_equal(vq->size, 1);
	/* Largest and smallest sizes. */
	start(d, 32768, true, true);
	assert_int_equal(vq->size, 32768);
	assert_int_equal(vq->last_avail, 0);
	assert_int_equal(vq->inflight, 0);
	assert_false(vq->broken);
	expect_usable(d, 32767);
	start(d, 1, false, false);
	expect_usable(d, 0);
	expect_usable(d, 0);
}

static void test_chain_out_in(void **state)
{
	struct drv *d = *state;
	struct virtq_chain *c = &d->c;

	start(d, 16, false, false);
	assert_false(virtq_has_work(&d->vq));
	assert_int_equal(virtq_pop(&d->vq, c), 0);
	/* A blk-like request: header out, data out, status in; non-contiguous descriptors. */
	desc(d, 5, BUF(1), 16, F_NEXT, 9);
	desc(d, 9, BUF(2), 512, F_NEXT, 2);
	desc(d, 2, BUF(3), 1, F_WRITE, 0);
	publish(d, 5);
	assert_true(virtq_has_work(&d->vq));
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_int_equal(c->head, 5);
	assert_int_equal(c->n_out, 2);
	assert_int_equal(c->n_in, 1);
	assert_int_equal(c->out_len, 528);
	assert_int_equal(c->in_len, 1);
	assert_ptr_equal(c->iov[0].iov_base, gp(d, BUF(1)));
	assert_int_equal(c->iov[0].iov_len, 16);
	assert_ptr_equal(c->iov[1].iov_base, gp(d, BUF(2)));
	assert_int_equal(c->iov[1].iov_len, 512);
	assert_ptr_equal(c->iov[2].iov_base, gp(d, BUF(3)));
	assert_int_equal(c->iov[2].iov_len, 1);
	assert_int_equal(d->vq.inflight, 1);
	assert_false(virtq_has_work(&d->vq));
	assert_int_equal(virtq_pop(&d->vq, c), 0);
	assert_int_equal(used(d)->idx, 0);	/* nothing used before the push */
	virtq_push(&d->vq, 5, 1);
	assert_int_equal(d->vq.inflight, 0);
	assert_int_equal(used(d)->idx, 1);
	expect_used(d, 5, 1);

	/* Out only, in only; several queued, completed out of order. */
	desc(d, 0, BUF(4), 100, 0, 0);
	desc(d, 1, BUF(5), 200, F_WRITE | F_NEXT, 3);
	desc(d, 3, BUF(6), 300, F_WRITE, 0);
	publish(d, 0);
	publish(d, 1);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_int_equal(c->head, 0);
	assert_int_equal(c->n_out, 1);
	assert_int_equal(c->n_in, 0);
	assert_int_equal(c->out_len, 100);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_int_equal(c->head, 1);
	assert_int_equal(c->n_out, 0);
	assert_int_equal(c->n_in, 2);
	assert_int_equal(c->in_len, 500);
	assert_ptr_equal(c->iov[1].iov_base, gp(d, BUF(6)));
	assert_int_equal(d->vq.inflight, 2);
	virtq_push(&d->vq, 1, 500);
	virtq_push(&d->vq, 0, 0);
	expect_used(d, 1, 500);
	expect_used(d, 0, 0);
	assert_int_equal(d->vq.inflight, 0);

	/* Buffers may point at the rings themselves: that is RAM too (case 4). */
	desc(d, 4, d->desc, 16, F_NEXT, 6);
	desc(d, 6, d->used, 4, F_WRITE, 0);
	publish(d, 4);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_ptr_equal(c->iov[0].iov_base, gp(d, d->desc));
	assert_ptr_equal(c->iov[1].iov_base, gp(d, d->used));
	virtq_push(&d->vq, 4, 0);
	expect_used(d, 4, 0);
}

static void test_indirect(void **state)
{
	struct drv *d = *state;
	struct virtq_chain *c = &d->c;
	uint64_t t = BUF(10) + 8;	/* an indirect table need not be aligned */

	start(d, 8, false, true);
	desc_at(d, t, 0, BUF(1), 16, F_NEXT, 2);
	desc_at(d, t, 2, BUF(2), 4096, F_NEXT, 1);
	desc_at(d, t, 1, BUF(3), 1, F_WRITE, 0);
	/* WRITE on the descriptor naming the table is ignored (2.7.5.3.2). */
	desc(d, 3, t, 3 * 16, F_INDIRECT | F_WRITE, 0);
	publish(d, 3);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_int_equal(c->head, 3);
	assert_int_equal(c->n_out, 2);
	assert_int_equal(c->n_in, 1);
	assert_int_equal(c->out_len, 16 + 4096);
	assert_int_equal(c->in_len, 1);
	assert_ptr_equal(c->iov[1].iov_base, gp(d, BUF(2)));
	assert_ptr_equal(c->iov[2].iov_base, gp(d, BUF(3)));
	virtq_push(&d->vq, 3, 1);
	expect_used(d, 3, 1);

	/* Direct descriptors, then an indirect one ending the chain. */
	desc(d, 0, BUF(4), 10, F_NEXT, 1);
	desc(d, 1, t + 16, 16, F_INDIRECT, 0);
	desc_at(d, t, 1, BUF(5), 20, F_WRITE, 0);
	publish(d, 0);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_int_equal(c->n_out, 1);
	assert_int_equal(c->n_in, 1);
	assert_int_equal(c->out_len, 10);
	assert_int_equal(c->in_len, 20);
	virtq_push(&d->vq, 0, 20);
	expect_used(d, 0, 20);

	/* A table in the second region and one ending at the very top of the address space. */
	desc_at(d, R1_GPA, 0, BUF(6), 7, 0, 0);
	desc(d, 2, R1_GPA, 16, F_INDIRECT, 0);
	publish(d, 2);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_int_equal(c->out_len, 7);
	virtq_push(&d->vq, 2, 0);
	expect_used(d, 2, 0);
	desc_at(d, R2_GPA + R2_SIZE - 16, 0, R2_GPA, 16, F_WRITE, 0);
	desc(d, 2, R2_GPA + R2_SIZE - 16, 16, F_INDIRECT, 0);
	publish(d, 2);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_int_equal(c->in_len, 16);
	assert_ptr_equal(c->iov[0].iov_base, d->mem.region[2].hva);
	virtq_push(&d->vq, 2, 0);
	expect_used(d, 2, 0);
}

static void test_iov_helpers(void **state)
{
	struct drv *d = *state;
	struct virtq_chain *c = &d->c;
	uint8_t buf[64], *b1 = gp(d, BUF(1)), *b2 = gp(d, BUF(2));

	start(d, 8, false, false);
	memcpy(b1, "abcd", 4);
	memcpy(b2, "efghij", 6);
	desc(d, 0, BUF(1), 4, F_NEXT, 1);
	desc(d, 1, BUF(2), 6, F_NEXT, 2);
	desc(d, 2, BUF(3), 3, F_WRITE | F_NEXT, 3);
	desc(d, 3, BUF(4), 5, F_WRITE, 0);
	publish(d, 0);
	assert_int_equal(virtq_pop(&d->vq, c), 1);

	memset(buf, 0, sizeof(buf));
	assert_int_equal(virtq_iov_to_buf(c, 0, buf, sizeof(buf)), 10);
	assert_memory_equal(buf, "abcdefghij", 10);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(virtq_iov_to_buf(c, 3, buf, 4), 4);	/* across the segment boundary */
	assert_memory_equal(buf, "defg", 4);
	assert_int_equal(virtq_iov_to_buf(c, 9, buf, 4), 1);
	assert_int_equal(buf[0], 'j');
	assert_int_equal(virtq_iov_to_buf(c, 10, buf, 4), 0);
	assert_int_equal(virtq_iov_to_buf(c, UINT64_MAX, buf, 4), 0);

	assert_int_equal(virtq_buf_to_iov(c, 0, "0123456789", 10), 8);	/* short: 3 + 5 */
	assert_memory_equal(gp(d, BUF(3)), "012", 3);
	assert_memory_equal(gp(d, BUF(4)), "34567", 5);
	assert_int_equal(virtq_buf_to_iov(c, 2, "XY", 2), 2);
	assert_memory_equal(gp(d, BUF(3)), "01X", 3);
	assert_memory_equal(gp(d, BUF(4)), "Y4567", 5);
	assert_int_equal(virtq_buf_to_iov(c, 8, "Z", 1), 0);
	/* The readable part was never written. */
	assert_memory_equal(b1, "abcd", 4);
	assert_memory_equal(b2, "efghij", 6);
	virtq_push(&d->vq, 0, 8);
	expect_used(d, 0, 8);
}

static void test_zero_length(void **state)
{
	struct drv *d = *state;
	struct virtq_chain *c = &d->c;

	start(d, 8, false, true);
	/* Zero-length segments give no iov (and need no address); the rest is intact. */
	desc(d, 0, BUF(1), 0, F_NEXT, 1);
	desc(d, 1, BUF(2), 4, F_NEXT, 2);
	desc(d, 2, 1ULL << 50, 0, F_NEXT, 3);
	desc(d, 3, BUF(3), 0, F_WRITE | F_NEXT, 4);
	desc(d, 4, BUF(4), 2, F_WRITE, 0);
	publish(d, 0);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_int_equal(c->n_out, 1);
	assert_int_equal(c->n_in, 1);
	assert_int_equal(c->out_len, 4);
	assert_int_equal(c->in_len, 2);
	assert_ptr_equal(c->iov[0].iov_base, gp(d, BUF(2)));
	assert_ptr_equal(c->iov[1].iov_base, gp(d, BUF(4)));
	virtq_push(&d->vq, 0, 2);
	expect_used(d, 0, 2);
	/* A chain of nothing: popped, empty, completes. */
	desc(d, 5, 0, 0, 0, 0);
	publish(d, 5);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_int_equal(c->n_out + c->n_in, 0);
	assert_int_equal(c->out_len + c->in_len, 0);
	virtq_push(&d->vq, 5, 0);
	expect_used(d, 5, 0);
	/* Zero-length still counts against the loop bound (case 6: no spin). */
	desc(d, 6, BUF(1), 0, F_NEXT, 6);
	expect_bad_chain(d, 6, "loop");
	/* Still ordered: a zero-length readable after a writable fails the chain. */
	desc(d, 0, BUF(1), 4, F_WRITE | F_NEXT, 1);
	desc(d, 1, BUF(2), 0, 0, 0);
	expect_bad_chain(d, 0, "readable");
	expect_usable(d, 7);
}

static void test_loops(void **state)
{
	struct drv *d = *state;
	uint64_t t = BUF(20);

	start(d, 8, false, true);
	desc(d, 0, BUF(1), 4, F_NEXT, 0);	/* self */
	expect_bad_chain(d, 0, "loop");
	desc(d, 1, BUF(1), 4, F_NEXT, 2);	/* 1 -> 2 -> 1 */
	desc(d, 2, BUF(2), 4, F_NEXT, 1);
	expect_bad_chain(d, 1, "loop");
	for (unsigned int i = 0; i < 8; i++)	/* 3 -> 4 -> ... -> 7 -> 3 */
		desc(d, i, BUF(i), 4, F_NEXT, (uint16_t)(i == 7 ? 3 : i + 1));
	expect_bad_chain(d, 3, "loop");
	/* Exactly the queue size long, every descriptor once: fine. */
	for (unsigned int i = 0; i < 8; i++)
		desc(d, i, BUF(i), 4, (uint16_t)(i < 7 ? F_NEXT : 0), (uint16_t)(i + 1));
	publish(d, 0);
	assert_int_equal(virtq_pop(&d->vq, &d->c), 1);
	assert_int_equal(d->c.n_out, 8);
	virtq_push(&d->vq, 0, 0);
	expect_used(d, 0, 0);

	/* Indirect: a loop inside a 4-entry table, bounded by the table's length. */
	desc_at(d, t, 0, BUF(1), 4, F_NEXT, 1);
	desc_at(d, t, 1, BUF(2), 4, F_NEXT, 2);
	desc_at(d, t, 2, BUF(3), 4, F_NEXT, 3);
	desc_at(d, t, 3, BUF(4), 4, F_NEXT, 1);
	desc(d, 5, t, 64, F_INDIRECT, 0);
	expect_bad_chain(d, 5, "loop");
	desc_at(d, t, 0, BUF(1), 4, F_NEXT, 0);
	desc(d, 5, t, 16, F_INDIRECT, 0);
	expect_bad_chain(d, 5, "loop");
	expect_usable(d, 6);
}

static void test_next_out_of_range(void **state)
{
	struct drv *d = *state;
	uint64_t t = BUF(20);

	start(d, 8, false, true);
	desc(d, 0, BUF(1), 4, F_NEXT, 8);
	expect_bad_chain(d, 0, "range");
	desc(d, 0, BUF(1), 4, F_NEXT, 0xFFFF);
	expect_bad_chain(d, 0, "range");
	/* In a table, the bound is the table's length, not the queue's. */
	desc_at(d, t, 0, BUF(1), 4, F_NEXT, 2);
	desc_at(d, t, 1, BUF(1), 4, 0, 0);
	desc_at(d, t, 2, BUF(1), 4, 0, 0);	/* exists in memory, but past the table */
	desc(d, 1, t, 32, F_INDIRECT, 0);
	expect_bad_chain(d, 1, "range");
	desc_at(d, t, 0, BUF(1), 4, F_NEXT, 1);
	publish(d, 1);
	assert_int_equal(virtq_pop(&d->vq, &d->c), 1);
	assert_int_equal(d->c.n_out, 2);
	virtq_push(&d->vq, 1, 0);
	expect_used(d, 1, 0);
}

static void test_max_iov(void **state)
{
	struct drv *d = *state;
	uint64_t t = BUF(100);	/* 1025 * 16 bytes: BUF(100) .. BUF(105) */

	start(d, 2048, false, true);
	/* Direct: VIRTQ_MAX_IOV segments fine, one more fails (never truncated). */
	for (unsigned int i = 0; i < VIRTQ_MAX_IOV + 1; i++)
		desc(d, i, BUF(1) + i, 1, F_NEXT, (uint16_t)(i + 1));
	desc(d, VIRTQ_MAX_IOV - 1, BUF(1), 1, 0, 0);
	publish(d, 0);
	assert_int_equal(virtq_pop(&d->vq, &d->c), 1);
	assert_int_equal(d->c.n_out, VIRTQ_MAX_IOV);
	assert_int_equal(d->c.out_len, VIRTQ_MAX_IOV);
	virtq_push(&d->vq, 0, 0);
	expect_used(d, 0, 0);
	desc(d, VIRTQ_MAX_IOV - 1, BUF(1), 1, F_NEXT, VIRTQ_MAX_IOV);
	desc(d, VIRTQ_MAX_IOV, BUF(1), 1, 0, 0);
	expect_bad_chain(d, 0, "VIRTQ_MAX_IOV");
	/* ... but zero-length padding does not count against the limit. */
	desc(d, VIRTQ_MAX_IOV, BUF(1), 0, 0, 0);
	publish(d, 0);
	assert_int_equal(virtq_pop(&d->vq, &d->c), 1);
	virtq_push(&d->vq, 0, 0);
	expect_used(d, 0, 0);

	/* Indirect: a full VIRTQ_MAX_INDIRECT table fine; one more entry refused. */
	for (unsigned int i = 0; i < VIRTQ_MAX_INDIRECT + 1; i++)
		desc_at(d, t, i, BUF(1) + i, 1, F_WRITE | F_NEXT, (uint16_t)(i + 1));
	desc_at(d, t, VIRTQ_MAX_INDIRECT - 1, BUF(1), 1, F_WRITE, 0);
	desc(d, 2000, t, VIRTQ_MAX_INDIRECT * 16, F_INDIRECT, 0);
	publish(d, 2000);
	assert_int_equal(virtq_pop(&d->vq, &d->c), 1);
	assert_int_equal(d->c.n_in, VIRTQ_MAX_INDIRECT);
	virtq_push(&d->vq, 2000, 0);
	expect_used(d, 2000, 0);
	desc(d, 2000, t, (VIRTQ_MAX_INDIRECT + 1) * 16, F_INDIRECT, 0);
	expect_bad_chain(d, 2000, "indirect table length");
	/* Direct and indirect together: 1 + VIRTQ_MAX_INDIRECT is one too many. */
	desc(d, 1999, BUF(1), 1, F_NEXT, 2000);
	desc(d, 2000, t, VIRTQ_MAX_INDIRECT * 16, F_INDIRECT, 0);
	expect_bad_chain(d, 1999, "VIRTQ_MAX_IOV");
	expect_usable(d, 5);
}

static void test_indirect_rejects(void **state)
{
	struct drv *d = *state;
	uint64_t t = BUF(20);

	start(d, 8, false, false);
	desc_at(d, t, 0, BUF(1), 4, 0, 0);
	desc(d, 0, t, 16, F_INDIRECT, 0);
	expect_bad_chain(d, 0, "VIRTIO_F_INDIRECT_DESC");	/* not negotiated */

	start(d, 8, false, true);
	desc_at(d, t, 0, BUF(1), 4, 0, 0);
	desc(d, 0, t, 16, F_INDIRECT, 0);
	publish(d, 0);
	assert_int_equal(virtq_pop(&d->vq, &d->c), 1);	/* the same, negotiated: fine */
	virtq_push(&d->vq, 0, 0);
	expect_used(d, 0, 0);

	desc_at(d, t, 0, BUF(1), 4, F_NEXT, 1);	/* nested */
	desc_at(d, t, 1, t, 32, F_INDIRECT, 0);
	desc(d, 0, t, 32, F_INDIRECT, 0);
	expect_bad_chain(d, 0, "nested");
	desc_at(d, t, 0, BUF(1), 4, 0, 0);	/* INDIRECT with NEXT */
	desc(d, 0, t, 16, F_INDIRECT | F_NEXT, 1);
	desc(d, 1, BUF(2), 4, 0, 0);
	expect_bad_chain(d, 0, "NEXT");
	desc(d, 0, t, 0, F_INDIRECT, 0);	/* lengths: 0, not a multiple of 16, too long */
	expect_bad_chain(d, 0, "indirect table length");
	desc(d, 0, t, 24, F_INDIRECT, 0);
	expect_bad_chain(d, 0, "indirect table length");
	desc(d, 0, t, 15, F_INDIRECT, 0);
	expect_bad_chain(d, 0, "indirect table length");
	desc(d, 0, t, 0xFFFFFFF0u, F_INDIRECT, 0);
	expect_bad_chain(d, 0, "indirect table length");
	/* Table outside RAM, in the hole, spanning the hole, past the end, wrapping 2^64. */
	desc(d, 0, 1ULL << 45, 16, F_INDIRECT, 0);
	expect_bad_chain(d, 0, "outside RAM");
	desc(d, 0, R0_SIZE, 16, F_INDIRECT, 0);
	expect_bad_chain(d, 0, "outside RAM");
	desc(d, 0, R0_SIZE - 16, 32, F_INDIRECT, 0);
	expect_bad_chain(d, 0, "outside RAM");
	desc(d, 0, R1_GPA + R1_SIZE - 16, 32, F_INDIRECT, 0);
	expect_bad_chain(d, 0, "outside RAM");
	desc(d, 0, R2_GPA + R2_SIZE - 16, 32, F_INDIRECT, 0);
	expect_bad_chain(d, 0, "outside RAM");
	/* A bad buffer inside a good table. */
	desc_at(d, t, 0, R0_SIZE - 1, 2, F_WRITE, 0);
	desc(d, 0, t, 16, F_INDIRECT, 0);
	expect_bad_chain(d, 0, "outside RAM");
	expect_usable(d, 3);
}

static void test_readable_after_writable(void **state)
{
	struct drv *d = *state;
	uint64_t t = BUF(20);

	start(d, 8, false, true);
	desc(d, 0, BUF(1), 4, F_NEXT, 1);
	desc(d, 1, BUF(2), 4, F_WRITE | F_NEXT, 2);
	desc(d, 2, BUF(3), 4, 0, 0);
	expect_bad_chain(d, 0, "readable");
	desc_at(d, t, 0, BUF(1), 4, F_WRITE | F_NEXT, 1);
	desc_at(d, t, 1, BUF(2), 4, 0, 0);
	desc(d, 3, t, 32, F_INDIRECT, 0);
	expect_bad_chain(d, 3, "readable");
	/* Writable direct part, then a table starting readable. */
	desc_at(d, t, 0, BUF(1), 4, 0, 0);
	desc(d, 4, BUF(1), 4, F_WRITE | F_NEXT, 5);
	desc(d, 5, t, 16, F_INDIRECT, 0);
	expect_bad_chain(d, 4, "readable");
	expect_usable(d, 6);
}

static void test_addresses(void **state)
{
	struct drv *d = *state;
	struct virtq_chain *c = &d->c;

	start(d, 8, false, false);
	/* The last byte of RAM: len 1 fine (and writable without faulting), len 2 not. */
	desc(d, 0, R0_SIZE - 1, 1, F_WRITE, 0);
	publish(d, 0);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_ptr_equal(c->iov[0].iov_base, d->mem.region[0].hva + R0_SIZE - 1);
	assert_int_equal(virtq_buf_to_iov(c, 0, "!", 1), 1);
	virtq_push(&d->vq, 0, 1);
	expect_used(d, 0, 1);
	desc(d, 0, R0_SIZE - 1, 2, F_WRITE, 0);
	expect_bad_chain(d, 0, "outside RAM");
	desc(d, 1, R1_GPA + R1_SIZE - 1, 2, 0, 0);
	expect_bad_chain(d, 1, "outside RAM");
	/* addr + len wrapping 2^64 (would land in R0 if the check wrapped). */
	desc(d, 0, R2_GPA + R2_SIZE - 8, 16, 0, 0);
	expect_bad_chain(d, 0, "outside RAM");
	desc(d, 0, UINT64_MAX, 0xFFFFFFFFu, F_WRITE, 0);
	expect_bad_chain(d, 0, "outside RAM");
	/* Spanning the 4 KiB hole into R1; inside the hole; far outside. */
	desc(d, 0, R0_SIZE - 8, 8 * KiB, 0, 0);
	expect_bad_chain(d, 0, "outside RAM");
	desc(d, 0, R0_SIZE + 16, 16, 0, 0);
	expect_bad_chain(d, 0, "outside RAM");
	desc(d, 0, 1ULL << 40, 4, F_WRITE, 0);
	expect_bad_chain(d, 0, "outside RAM");
	/* A 4 GiB - 1 length (case 5): refused without touching anything. */
	desc(d, 0, 0, 0xFFFFFFFFu, F_WRITE, 0);
	expect_bad_chain(d, 0, "outside RAM");
	/* A bad later segment fails the chain, too. */
	desc(d, 2, BUF(1), 4, F_NEXT, 3);
	desc(d, 3, R0_SIZE, 1, F_WRITE, 0);
	expect_bad_chain(d, 2, "outside RAM");
	/* Top of the address space, exact: fine. */
	desc(d, 4, R2_GPA + R2_SIZE - 8, 8, 0, 0);
	publish(d, 4);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_ptr_equal(c->iov[0].iov_base, d->mem.region[2].hva + R2_SIZE - 8);
	virtq_push(&d->vq, 4, 0);
	expect_used(d, 4, 0);
	expect_usable(d, 5);
}

static void test_avail_idx_jump(void **state)
{
	struct drv *d = *state;

	/* Exactly size ahead: fine, all of them pop. */
	start(d, 4, false, false);
	for (uint16_t i = 0; i < 4; i++) {
		desc(d, i, BUF(i), 4, 0, 0);
		publish(d, i);
	}
	for (uint16_t i = 0; i < 4; i++) {
		assert_int_equal(virtq_pop(&d->vq, &d->c), 1);
		assert_int_equal(d->c.head, i);
	}
	assert_int_equal(d->vq.inflight, 4);
	assert_int_equal(virtq_pop(&d->vq, &d->c), 0);

	/* size + 1 ahead. */
	start(d, 4, false, false);
	avail(d)->idx = 5;
	assert_true(virtq_has_work(&d->vq));
	expect_broken(d, "avail idx");
	assert_int_equal(d->vq.inflight, 0);

	/* Going backwards, after some progress. */
	start(d, 4, false, false);
	expect_usable(d, 0);
	expect_usable(d, 1);
	avail(d)->idx = 1;
	expect_broken(d, "avail idx");
	assert_int_equal(used(d)->idx, 2);
}

static void test_head_out_of_range(void **state)
{
	struct drv *d = *state;

	start(d, 8, false, false);
	publish(d, 8);
	expect_broken(d, "head out of range");
	start(d, 8, false, false);
	publish(d, 0xFFFF);
	expect_broken(d, "head out of range");
}

static void test_head_twice(void **state)
{
	struct drv *d = *state;

	start(d, 8, false, false);
	desc(d, 3, BUF(1), 4, 0, 0);
	publish(d, 3);
	publish(d, 3);
	assert_int_equal(virtq_pop(&d->vq, &d->c), 1);
	assert_int_equal(d->c.head, 3);
	expect_broken(d, "already in flight");
	assert_int_equal(d->vq.inflight, 1);

	/* Once pushed, the same head may come back: that is normal reuse. */
	start(d, 8, false, false);
	desc(d, 3, BUF(1), 4, 0, 0);
	for (int i = 0; i < 3; i++) {
		publish(d, 3);
		assert_int_equal(virtq_pop(&d->vq, &d->c), 1);
		virtq_push(&d->vq, 3, 0);
		expect_used(d, 3, 0);
	}
	/* A failed chain is in flight too until pushed back. */
	desc(d, 4, BUF(1), 4, F_NEXT, 4);
	publish(d, 4);
	publish(d, 4);
	assert_int_equal(virtq_pop(&d->vq, &d->c), -EINVAL);
	expect_broken(d, "already in flight");
}

static void test_inflight_bound(void **state)
{
	struct drv *d = *state;

	start(d, 8, false, false);
	for (uint16_t i = 0; i < 8; i++) {
		desc(d, i, BUF(i), 4, 0, 0);
		publish(d, i);
		assert_int_equal(virtq_pop(&d->vq, &d->c), 1);
	}
	assert_int_equal(d->vq.inflight, 8);
	/* A ninth: every head is in flight, so any head the guest names is refused. */
	publish(d, 5);
	expect_broken(d, "already in flight");
	assert_int_equal(d->vq.inflight, 8);
}

static void test_push_not_inflight(void **state)
{
	struct drv *d = *state;

	start(d, 8, false, false);
	virtq_push(&d->vq, 2, 100);	/* never popped */
	virtq_push(&d->vq, 8, 100);	/* out of range */
	virtq_push(&d->vq, 0xFFFF, 100);
	assert_int_equal(used(d)->idx, 0);
	assert_int_equal(d->vq.inflight, 0);
	desc(d, 2, BUF(1), 4, 0, 0);
	publish(d, 2);
	assert_int_equal(virtq_pop(&d->vq, &d->c), 1);
	virtq_push(&d->vq, 2, 0);
	virtq_push(&d->vq, 2, 0);	/* twice */
	assert_int_equal(used(d)->idx, 1);
	assert_int_equal(d->vq.inflight, 0);
	assert_int_equal(d->vq.used_idx, 1);
}

static void test_push_n(void **state)
{
	struct drv *d = *state;
	uint16_t heads[] = { 2, 0, 7, 2, 3, 9 };	/* 7 never popped, 2 twice, 9 out of range */
	uint32_t lens[] = { 20, 0, 70, 21, 30, 90 };
	uint16_t one = 1, all[8];
	uint32_t alllen[8];

	start(d, 8, false, false);
	for (uint16_t i = 0; i < 4; i++) {
		desc(d, i, BUF(i), 64, F_WRITE, 0);
		publish(d, i);
		assert_int_equal(virtq_pop(&d->vq, &d->c), 1);
	}
	virtq_push_n(&d->vq, heads, lens, 6);
	assert_int_equal(used(d)->idx, 3);
	assert_int_equal(d->vq.inflight, 1);
	expect_used(d, 2, 20);
	expect_used(d, 0, 0);
	expect_used(d, 3, 30);
	assert_true(virtq_should_notify(&d->vq));
	/* Nothing to publish: used->idx is not even stored. */
	used(d)->idx = 0x4242;
	virtq_push_n(&d->vq, heads, lens, 6);
	virtq_push_n(&d->vq, heads, lens, 0);
	assert_int_equal(used(d)->idx, 0x4242);
	assert_false(virtq_should_notify(&d->vq));
	used(d)->idx = 3;
	virtq_push_n(&d->vq, &one, NULL, 1);	/* NULL lens: 0 */
	expect_used(d, 1, 0);
	assert_int_equal(d->vq.inflight, 0);
	/* A whole ring's worth in one batch, across the 16-bit wrap. */
	d->vq.used_idx = d->used_seen = 65533;
	used(d)->idx = 65533;
	for (uint16_t i = 0; i < 8; i++) {
		desc(d, i, BUF(i), 64, F_WRITE, 0);
		publish(d, (uint16_t)(7 - i));
		assert_int_equal(virtq_pop(&d->vq, &d->c), 1);
	}
	for (uint16_t i = 0; i < 8; i++) {
		all[i] = i;
		alllen[i] = 100u + i;
	}
	virtq_push_n(&d->vq, all, alllen, 8);
	assert_int_equal(used(d)->idx, 5);
	for (uint16_t i = 0; i < 8; i++)
		expect_used(d, i, 100u + i);
	assert_int_equal(d->vq.inflight, 0);
}

static void test_wraparound(void **state)
{
	struct drv *d = *state;
	uint16_t h;

	start(d, 4, false, false);
	for (uint16_t i = 0; i < 4; i++)
		desc(d, i, BUF(i), 4, F_WRITE, 0);
	/* One at a time up to just below the wrap... */
	for (unsigned int i = 0; i < 65533; i++) {
		publish(d, (uint16_t)(i & 3));
		assert_int_equal(virtq_pop(&d->vq, &d->c), 1);
		assert_int_equal(d->c.head, i & 3);
		virtq_push(&d->vq, d->c.head, 4);
		expect_used(d, i & 3, 4);
	}
	assert_int_equal(d->vq.last_avail, 65533);
	assert_int_equal(used(d)->idx, 65533);
	/* ...then four in flight across 65535 -> 0, completed in reverse. */
	for (h = 0; h < 4; h++)
		publish(d, h);
	assert_int_equal(avail(d)->idx, 1);
	for (h = 0; h < 4; h++) {
		assert_int_equal(virtq_pop(&d->vq, &d->c), 1);
		assert_int_equal(d->c.head, h);
	}
	assert_int_equal(d->vq.last_avail, 1);
	assert_int_equal(virtq_pop(&d->vq, &d->c), 0);
	for (h = 4; h-- > 0;)
		virtq_push(&d->vq, h, h);
	assert_int_equal(used(d)->idx, 1);
	for (h = 4; h-- > 0;)
		expect_used(d, h, h);
	/* And on, well past the wrap; the jump check still works at any offset. */
	for (unsigned int i = 0; i < 1000; i++)
		expect_usable(d, (uint16_t)(i & 3));
	avail(d)->idx = (uint16_t)(d->avail_idx + 5);
	expect_broken(d, "avail idx");
}

static void test_notify_flags(void **state)
{
	struct drv *d = *state;

	start(d, 8, false, false);
	expect_usable(d, 0);
	assert_true(virtq_should_notify(&d->vq));
	assert_false(virtq_should_notify(&d->vq));	/* nothing new */
	avail(d)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	expect_usable(d, 1);
	assert_false(virtq_should_notify(&d->vq));
	avail(d)->flags = 0;
	assert_false(virtq_should_notify(&d->vq));	/* the driver re-checks the ring itself */
	expect_usable(d, 2);
	assert_true(virtq_should_notify(&d->vq));
	/* used_event is ignored without EVENT_IDX. */
	*used_event(d) = 1000;
	expect_usable(d, 3);
	assert_true(virtq_should_notify(&d->vq));
}

static void test_notify_event_idx(void **state)
{
	struct drv *d = *state;

	start(d, 8, true, false);
	*used_event(d) = 100;
	expect_usable(d, 0);			/* used idx 1 */
	assert_true(virtq_should_notify(&d->vq));	/* the first always notifies */
	*used_event(d) = 1;			/* "interrupt me once entry 1 is used" */
	expect_usable(d, 1);			/* used idx 2 */
	assert_true(virtq_should_notify(&d->vq));
	expect_usable(d, 2);			/* used idx 3: event 1 already passed */
	assert_false(virtq_should_notify(&d->vq));
	*used_event(d) = 5;
	expect_usable(d, 3);
	expect_usable(d, 4);			/* used idx 5 */
	assert_false(virtq_should_notify(&d->vq));
	expect_usable(d, 5);			/* 6: crossed 5 */
	assert_true(virtq_should_notify(&d->vq));
	/* A batch crossing the event notifies once. */
	*used_event(d) = 7;
	expect_usable(d, 6);
	expect_usable(d, 7);
	expect_usable(d, 0);			/* 9 */
	assert_true(virtq_should_notify(&d->vq));
	assert_false(virtq_should_notify(&d->vq));
	/* NO_INTERRUPT is ignored with EVENT_IDX (2.7.10). */
	avail(d)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	*used_event(d) = 9;
	expect_usable(d, 1);
	assert_true(virtq_should_notify(&d->vq));
	/* Across the 16-bit wrap of used idx. */
	d->vq.used_idx = d->used_seen = 65535;
	d->vq.signalled_used = 65535;
	d->vq.last_avail = d->avail_idx = 65535;
	avail(d)->idx = 65535;
	*used_event(d) = 0;
	expect_usable(d, 2);			/* 65535 -> 0: event 65535 not crossed */
	assert_false(virtq_should_notify(&d->vq));
	expect_usable(d, 3);			/* 0 -> 1: crossed 0 */
	assert_true(virtq_should_notify(&d->vq));
	/*
	 * 65536 pushes without a check bring used idx back to signalled_used:
	 * [old, new) is then empty though the driver has seen nothing, so the
	 * next check must notify regardless of used_event.
	 */
	*used_event(d) = 0;
	for (unsigned int i = 0; i < 65536; i++)
		expect_usable(d, (uint16_t)(i & 7));
	assert_int_equal(d->vq.used_idx, d->vq.signalled_used);
	assert_true(virtq_should_notify(&d->vq));
}

static void test_set_notify(void **state)
{
	struct drv *d = *state;

	start(d, 8, false, false);
	virtq_set_notify(&d->vq, false);
	assert_int_equal(used(d)->flags, VRING_USED_F_NO_NOTIFY);
	virtq_set_notify(&d->vq, true);
	assert_int_equal(used(d)->flags, 0);
	assert_int_equal(*avail_event(d), 0);	/* untouched without EVENT_IDX */

	start(d, 8, true, false);
	assert_int_equal(used(d)->flags, 0);
	expect_usable(d, 0);
	expect_usable(d, 1);
	expect_usable(d, 2);			/* last_avail 3 */
	virtq_set_notify(&d->vq, true);
	assert_int_equal(*avail_event(d), 3);
	assert_int_equal(used(d)->flags, 0);	/* flags unused with EVENT_IDX */
	/* The driver's side: its next buffer (3 -> 4) kicks. */
	assert_true(vring_need_event(*avail_event(d), 4, 3));
	virtq_set_notify(&d->vq, false);
	assert_int_equal(*avail_event(d), 2);
	/* No buffer the driver may still add (up to size ahead) crosses it. */
	for (uint16_t k = 1; k <= 8; k++)
		assert_false(vring_need_event(*avail_event(d), (uint16_t)(3 + k), (uint16_t)(3 + k - 1)));
	/* Also at the wrap. */
	d->vq.last_avail = 0;
	virtq_set_notify(&d->vq, false);
	assert_int_equal(*avail_event(d), 0xFFFF);
	assert_false(vring_need_event(*avail_event(d), 1, 0));
	virtq_set_notify(&d->vq, true);
	assert_true(vring_need_event(*avail_event(d), 1, 0));
}

static void test_pop_empty_publishes(void **state)
{
	struct drv *d = *state;

	/* A device that never calls virtq_set_notify still gets every kick. */
	start(d, 8, true, false);
	*avail_event(d) = 0xBEEF;
	assert_int_equal(virtq_pop(&d->vq, &d->c), 0);
	assert_int_equal(*avail_event(d), 0);
	expect_usable(d, 0);
	expect_usable(d, 1);
	/* Popping does not move it (no kicks wanted while busy)... */
	assert_int_equal(*avail_event(d), 0);
	/* ...finding the ring empty does. */
	assert_int_equal(virtq_pop(&d->vq, &d->c), 0);
	assert_int_equal(*avail_event(d), 2);
	assert_true(vring_need_event(*avail_event(d), 3, 2));
	/* Without EVENT_IDX nothing is written. */
	start(d, 8, false, false);
	*avail_event(d) = 0xBEEF;
	used(d)->flags = VRING_USED_F_NO_NOTIFY;
	assert_int_equal(virtq_pop(&d->vq, &d->c), 0);
	assert_int_equal(*avail_event(d), 0xBEEF);
	assert_int_equal(used(d)->flags, VRING_USED_F_NO_NOTIFY);
}

static void test_broken_is_quiet(void **state)
{
	struct drv *d = *state;

	start(d, 8, true, false);
	desc(d, 0, BUF(1), 4, 0, 0);
	publish(d, 0);
	assert_int_equal(virtq_pop(&d->vq, &d->c), 1);
	publish(d, 9);
	expect_broken(d, "head out of range");
	*avail_event(d) = 0x1234;
	/* No more guest writes: the in-flight chain completes into nothing. */
	virtq_push(&d->vq, 0, 4);
	assert_int_equal(d->vq.inflight, 0);
	assert_int_equal(used(d)->idx, 0);
	assert_false(virtq_should_notify(&d->vq));
	virtq_set_notify(&d->vq, true);
	virtq_set_notify(&d->vq, false);
	assert_int_equal(*avail_event(d), 0x1234);
	assert_int_equal(used(d)->flags, 0);
	/* virtq_init starts it afresh. */
	start(d, 8, true, false);
	expect_usable(d, 0);
}

/* ---- buffers a mapped DMA space refuses (keep_faulted) ---- */

/*
 * A refused middle buffer: the chain is faulted, not bad; that buffer has no
 * iovec (not even the page of it that was mapped), the others do.
 */
static void test_faulted_middle(void **state)
{
	struct drv *d = *state;
	struct virtq_chain *c = &d->c;

	start_mapped(d, 8, false);
	deny(d, BUF(3), 0);
	/* Header; 512 data bytes over BUF(2)'s last 256 (mapped) and BUF(3)'s first; status. */
	desc(d, 0, BUF(1), 16, F_NEXT, 1);
	desc(d, 1, BUF(3) - 256, 512, F_NEXT, 2);
	desc(d, 2, BUF(4), 1, F_WRITE, 0);
	publish(d, 0);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_int_equal(c->head, 0);
	assert_true(c->faulted);
	assert_false(c->last_faulted);
	assert_int_equal(c->n_out, 1);
	assert_int_equal(c->n_in, 1);
	assert_ptr_equal(c->iov[0].iov_base, gp(d, BUF(1)));
	assert_int_equal(c->iov[0].iov_len, 16);
	/* The status, not the mapped half of the refused buffer. */
	assert_ptr_equal(c->iov[1].iov_base, gp(d, BUF(4)));
	assert_int_equal(c->iov[1].iov_len, 1);
	/* The totals are what the descriptors offered, the refused one included. */
	assert_int_equal(c->out_len, 16 + 512);
	assert_int_equal(c->in_len, 1);
	/* Reported once, at the first refused byte; the queue goes on. */
	assert_int_equal(d->nfaults, 1);
	assert_int_equal(d->fault_iova, BUF(3));
	assert_int_equal(d->fault_err, -EFAULT);
	assert_int_equal(d->fault_dir, DMA_READ);
	assert_false(d->vq.broken);
	assert_int_equal(d->vq.inflight, 1);
	virtq_push(&d->vq, 0, 1);
	expect_used(d, 0, 1);

	/* The next chain, in the same struct, starts unfaulted. */
	desc(d, 3, BUF(5), 8, F_WRITE, 0);
	publish(d, 3);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_false(c->faulted);
	assert_false(c->last_faulted);
	assert_int_equal(c->n_in, 1);
	assert_ptr_equal(c->iov[0].iov_base, gp(d, BUF(5)));
	virtq_push(&d->vq, 3, 8);
	expect_used(d, 3, 8);
}

/* last_faulted: the last non-empty buffer (blk's status byte) was the refused one. */
static void test_faulted_last(void **state)
{
	struct drv *d = *state;
	struct virtq_chain *c = &d->c;

	start_mapped(d, 8, false);
	deny(d, BUF(4), 0);
	desc(d, 0, BUF(1), 16, F_NEXT, 1);
	desc(d, 1, BUF(2), 512, F_WRITE | F_NEXT, 2);
	desc(d, 2, BUF(4), 1, F_WRITE | F_NEXT, 3);
	desc(d, 3, BUF(5), 0, F_WRITE, 0);	/* empty: does not count as last */
	publish(d, 0);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_true(c->faulted);
	assert_true(c->last_faulted);
	assert_int_equal(c->n_out, 1);
	assert_int_equal(c->n_in, 1);
	assert_ptr_equal(c->iov[1].iov_base, gp(d, BUF(2)));
	assert_int_equal(c->iov[1].iov_len, 512);
	assert_int_equal(c->out_len, 16);
	assert_int_equal(c->in_len, 513);
	assert_int_equal(d->fault_dir, DMA_WRITE);
	virtq_push(&d->vq, 0, 0);
	expect_used(d, 0, 0);

	/* Refused first and last, the middle fine: still last_faulted. */
	deny(d, BUF(6), 0);
	desc(d, 4, BUF(6), 16, F_NEXT, 5);
	desc(d, 5, BUF(2), 8, F_WRITE | F_NEXT, 6);
	desc(d, 6, BUF(4), 1, F_WRITE, 0);
	publish(d, 4);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_true(c->faulted);
	assert_true(c->last_faulted);
	assert_int_equal(c->n_out, 0);
	assert_int_equal(c->n_in, 1);
	assert_ptr_equal(c->iov[0].iov_base, gp(d, BUF(2)));
	virtq_push(&d->vq, 4, 0);
	expect_used(d, 4, 0);

	/* Every buffer refused: popped with no iovec at all. */
	desc(d, 7, BUF(4), 4, F_WRITE, 0);
	publish(d, 7);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_true(c->faulted);
	assert_true(c->last_faulted);
	assert_int_equal(c->n_out + c->n_in, 0);
	assert_int_equal(c->in_len, 4);
	virtq_push(&d->vq, 7, 0);
	expect_used(d, 7, 0);
	assert_int_equal(d->nfaults, 4);
	expect_usable(d, 0);
}

/* Without keep_faulted a refused buffer fails the chain, as before. */
static void test_faulted_not_kept(void **state)
{
	struct drv *d = *state;

	start_mapped(d, 8, false);
	d->vq.keep_faulted = false;
	deny(d, BUF(3), 0);
	deny(d, BUF(5), DMA_READ);
	desc(d, 0, BUF(1), 16, F_NEXT, 1);
	desc(d, 1, BUF(3), 512, F_NEXT, 2);
	desc(d, 2, BUF(4), 1, F_WRITE, 0);
	expect_bad_chain(d, 0, "not mapped");
	assert_false(d->c.faulted);
	/* The same for a refused permission. */
	desc(d, 1, BUF(5), 512, F_WRITE | F_NEXT, 2);
	expect_bad_chain(d, 0, "not mapped");
	assert_false(d->c.faulted);
	assert_int_equal(d->fault_err, -EACCES);
	assert_int_equal(d->nfaults, 2);
	expect_usable(d, 3);
}

/* A refused buffer does not excuse another defect: the chain is still bad. */
static void test_faulted_and_bad(void **state)
{
	struct drv *d = *state;

	start_mapped(d, 8, false);
	deny(d, BUF(3), 0);
	desc(d, 0, BUF(3), 16, F_NEXT, 1);
	desc(d, 1, BUF(1), 4, F_NEXT, 1);
	expect_bad_chain(d, 0, "loop");
	desc(d, 0, BUF(3), 16, F_WRITE | F_NEXT, 1);
	desc(d, 1, BUF(1), 4, 0, 0);
	expect_bad_chain(d, 0, "readable");
	expect_usable(d, 2);
}

/* -EACCES: a mapping without the permission the buffer's direction needs. */
static void test_faulted_eacces(void **state)
{
	struct drv *d = *state;
	struct virtq_chain *c = &d->c;

	start_mapped(d, 8, false);
	deny(d, BUF(2), DMA_READ);	/* read-only */
	deny(d, BUF(6), DMA_WRITE);	/* write-only */
	/* Reading the read-only page is fine; writing it (a device-writable buffer) is not. */
	desc(d, 0, BUF(2), 16, F_NEXT, 1);
	desc(d, 1, BUF(2) + 512, 64, F_WRITE | F_NEXT, 2);
	desc(d, 2, BUF(3), 1, F_WRITE, 0);
	publish(d, 0);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_true(c->faulted);
	assert_false(c->last_faulted);
	assert_int_equal(c->n_out, 1);
	assert_int_equal(c->n_in, 1);
	assert_ptr_equal(c->iov[0].iov_base, gp(d, BUF(2)));
	assert_ptr_equal(c->iov[1].iov_base, gp(d, BUF(3)));
	assert_int_equal(c->in_len, 65);
	assert_int_equal(d->nfaults, 1);
	assert_int_equal(d->fault_err, -EACCES);
	assert_int_equal(d->fault_dir, DMA_WRITE);
	assert_int_equal(d->fault_iova, BUF(2) + 512);
	virtq_push(&d->vq, 0, 1);
	expect_used(d, 0, 1);
	/* And the other way: the device reading a write-only page. */
	desc(d, 3, BUF(6), 16, F_NEXT, 4);
	desc(d, 4, BUF(6) + 64, 1, F_WRITE, 0);
	publish(d, 3);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_true(c->faulted);
	assert_false(c->last_faulted);
	assert_int_equal(c->n_out, 0);
	assert_int_equal(c->n_in, 1);
	assert_ptr_equal(c->iov[0].iov_base, gp(d, BUF(6) + 64));
	assert_int_equal(d->fault_err, -EACCES);
	assert_int_equal(d->fault_dir, DMA_READ);
	virtq_push(&d->vq, 3, 1);
	expect_used(d, 3, 1);
	expect_usable(d, 5);
}

/* A refused buffer named by an indirect table is faulted the same way. */
static void test_faulted_indirect(void **state)
{
	struct drv *d = *state;
	struct virtq_chain *c = &d->c;
	uint64_t t = BUF(10);

	start_mapped(d, 8, true);
	deny(d, BUF(7), 0);
	desc_at(d, t, 0, BUF(1), 16, F_NEXT, 1);
	desc_at(d, t, 1, BUF(7), 64, F_WRITE | F_NEXT, 2);
	desc_at(d, t, 2, BUF(8), 1, F_WRITE, 0);
	desc(d, 0, t, 3 * 16, F_INDIRECT, 0);
	publish(d, 0);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_true(c->faulted);
	assert_false(c->last_faulted);
	assert_int_equal(c->n_out, 1);
	assert_int_equal(c->n_in, 1);
	assert_ptr_equal(c->iov[1].iov_base, gp(d, BUF(8)));
	virtq_push(&d->vq, 0, 1);
	expect_used(d, 0, 1);
}

/*
 * Outside RAM: through the identity space always a bad chain, keep_faulted
 * or not; through a mapped space an IOVA mapped onto no RAM is refused by
 * the IOMMU (-EFAULT), so a faulted chain.
 */
static void test_faulted_outside_ram(void **state)
{
	struct drv *d = *state;
	struct virtq_chain *c = &d->c;

	start(d, 8, false, false);
	d->vq.keep_faulted = true;
	desc(d, 0, BUF(1), 16, F_NEXT, 1);
	desc(d, 1, R0_SIZE + 16, 16, F_WRITE | F_NEXT, 2);	/* the hole */
	desc(d, 2, BUF(2), 1, F_WRITE, 0);
	expect_bad_chain(d, 0, "outside RAM");
	assert_false(c->faulted);
	desc(d, 1, 1ULL << 40, 16, F_WRITE | F_NEXT, 2);
	expect_bad_chain(d, 0, "outside RAM");
	assert_false(c->faulted);
	desc(d, 1, R0_SIZE - 8, 16, F_WRITE | F_NEXT, 2);	/* runs off the end of R0 */
	expect_bad_chain(d, 0, "outside RAM");
	assert_false(c->faulted);
	expect_usable(d, 3);

	start_mapped(d, 8, false);
	desc(d, 0, BUF(1), 16, F_NEXT, 1);
	desc(d, 1, R0_SIZE + 16, 16, F_WRITE | F_NEXT, 2);
	desc(d, 2, BUF(2), 1, F_WRITE, 0);
	publish(d, 0);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_true(c->faulted);
	assert_false(c->last_faulted);
	assert_int_equal(c->n_out + c->n_in, 2);
	assert_int_equal(d->fault_err, -EFAULT);
	virtq_push(&d->vq, 0, 1);
	expect_used(d, 0, 1);
}

/* ---- MMIO instead of RAM (hostile-guest.md cases 3 and 4) ------------------ */

#define HIGH_SIZE	(1 * MiB)
/* An IOVA in low RAM that the remapping IOMMU below sends into the hole. */
#define REMAP_IOVA	0x40000000ULL

/* What the guest finds in the 32-bit hole (vm.h), and ranges running into or out of it. */
static const struct {
	uint64_t gpa;
	uint32_t len;
} mmio[] = {
	{ PCI_MMIO32_BASE, 64 },			/* the first BAR (virtio's common config) */
	{ PCI_MMIO32_BASE + 0x3000, 4 },		/* a BAR's notify area */
	{ PCI_MMIO32_BASE + PCI_MMIO32_SIZE - 16, 16 },	/* the MMIO32 window's last bytes */
	{ PCI_ECAM_BASE, 4096 },			/* the ECAM */
	{ IOAPIC_ADDR, 0x20 },				/* the IOAPIC */
	{ LAPIC_ADDR, 0x400 },				/* the LAPIC */
	{ LAPIC_ADDR + 0x300, 8 },			/* the LAPIC's ICR */
	{ MEM_HOLE_START - 8, 16 },			/* low RAM's end into the BAR window */
	{ MEM_HOLE_START - 4096, 2 * 4096 },		/* low RAM's last page, the first BAR page */
	{ MEM_4G - 8, 16 },				/* the hole's top into high RAM */
	{ MEM_4G + HIGH_SIZE - 8, 16 },			/* high RAM's end */
};

static uint8_t *map_guarded_noreserve(size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, len + 2 * pg, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	assert_true(p != MAP_FAILED);
	assert_int_equal(mprotect(p + pg, len, PROT_READ | PROT_WRITE), 0);
	return p + pg;
}

/*
 * Swap setup()'s regions for kvmio's own layout (mem_layout) of a guest
 * with 3 GiB + 1 MiB: RAM [0, 3 GiB) up to the 32-bit hole and [4 GiB,
 * 4 GiB + 1 MiB) above it, each between guard pages (MAP_NORESERVE: only
 * what is touched costs). The hole in between is where the BARs, the ECAM,
 * the IOAPIC and the LAPIC live; guest_ptr knows nothing there.
 */
static void real_layout(struct drv *d)
{
	virtq_destroy(&d->vq);
	for (unsigned int i = 0; i < d->mem.nr; i++)
		unmap_guarded(d->mem.region[i].hva, d->mem.region[i].size);
	assert_int_equal(mem_layout(&d->mem, MEM_HOLE_START + HIGH_SIZE), 0);
	assert_int_equal(d->mem.nr, 2);
	assert_int_equal(d->mem.region[0].size, MEM_HOLE_START);
	assert_int_equal(d->mem.region[1].gpa, MEM_4G);
	for (unsigned int i = 0; i < d->mem.nr; i++)
		d->mem.region[i].hva = map_guarded_noreserve(d->mem.region[i].size);
	/* The translation kvmio uses finds none of the MMIO ranges. */
	for (unsigned int i = 0; i < ARRAY_SIZE(mmio); i++)
		assert_null(guest_ptr(&d->mem, mmio[i].gpa, mmio[i].len));
}

/* Does [p, p + len) lie inside one region of @m's RAM? */
static bool in_ram(const struct guest_mem *m, const void *p, size_t len)
{
	for (unsigned int i = 0; i < m->nr; i++) {
		const uint8_t *b = m->region[i].hva;

		if ((const uint8_t *)p >= b && len <= m->region[i].size &&
		    (size_t)((const uint8_t *)p - b) <= m->region[i].size - len)
			return true;
	}
	return false;
}

/* A byte of mmio[@i] that is not RAM (its first, or for a range that starts in RAM its last). */
static uint64_t outside(struct drv *d, unsigned int i)
{
	uint64_t b = guest_ptr(&d->mem, mmio[i].gpa, 1) ? mmio[i].gpa + mmio[i].len - 1 : mmio[i].gpa;

	assert_null(guest_ptr(&d->mem, b, 1));
	return b;
}

static void expect_iovs_in_ram(struct drv *d)
{
	for (unsigned int i = 0; i < d->c.n_out + d->c.n_in; i++)
		assert_true(in_ram(&d->mem, d->c.iov[i].iov_base, d->c.iov[i].iov_len));
}

/*
 * Cases 3 and 4 over the identity space (no IOMMU), with kvmio's real
 * layout: a buffer on a BAR, the ECAM, the IOAPIC or the LAPIC page, or
 * running off the end of a RAM region into the hole (or from the hole into
 * RAM), is refused by virtq_pop: the chain is bad (-EINVAL, no iovec at all,
 * not even for its good buffers), given back with len 0, and the queue goes
 * on. Readable or writable, first buffer or last, or inside an indirect
 * table, and the indirect table itself. Rings there are refused at enable.
 * Buffers that end exactly at a region's end are fine (guard pages behind
 * them: any access past them would fault the test).
 */
static void test_mmio_buffers(void **state)
{
	struct drv *d = *state;
	struct virtq_chain *c = &d->c;
	uint8_t *p;

	real_layout(d);
	/* Rings in the hole: enable refused (case 11). */
	assert_int_equal(virtq_init(&d->vq, &d->mem, 8, PCI_MMIO32_BASE, 0x2000, 0x3000, false,
				    false), -EINVAL);
	assert_int_equal(virtq_init(&d->vq, &d->mem, 8, 0x1000, IOAPIC_ADDR, 0x3000, false, false),
			 -EINVAL);
	assert_int_equal(virtq_init(&d->vq, &d->mem, 8, 0x1000, 0x2000, LAPIC_ADDR, false, false),
			 -EINVAL);
	assert_int_equal(virtq_init(&d->vq, &d->mem, 8, 0x1000, 0x2000, MEM_HOLE_START - 8, false,
				    false), -EINVAL);

	start(d, 8, false, true);
	for (unsigned int i = 0; i < ARRAY_SIZE(mmio); i++) {
		/* Alone, device-writable (where a read's data would go) and device-readable. */
		desc(d, 0, mmio[i].gpa, mmio[i].len, F_WRITE, 0);
		expect_bad_chain(d, 0, "outside RAM");
		desc(d, 0, mmio[i].gpa, mmio[i].len, 0, 0);
		expect_bad_chain(d, 0, "outside RAM");
		/* After a good header, before a good status byte: none of it handed over. */
		desc(d, 1, BUF(1), 16, F_NEXT, 2);
		desc(d, 2, mmio[i].gpa, mmio[i].len, F_WRITE | F_NEXT, 3);
		desc(d, 3, BUF(2), 1, F_WRITE, 0);
		expect_bad_chain(d, 1, "outside RAM");
		/* As the status byte, last. */
		desc(d, 1, BUF(1), 16, F_NEXT, 2);
		desc(d, 2, BUF(3), 512, F_WRITE | F_NEXT, 3);
		desc(d, 3, outside(d, i), 1, F_WRITE, 0);
		expect_bad_chain(d, 1, "outside RAM");
		/* Inside an indirect table. */
		desc_at(d, BUF(10), 0, BUF(4), 16, F_NEXT, 1);
		desc_at(d, BUF(10), 1, mmio[i].gpa, mmio[i].len, F_WRITE, 0);
		desc(d, 4, BUF(10), 32, F_INDIRECT, 0);
		expect_bad_chain(d, 4, "outside RAM");
	}
	/* The indirect table itself on the LAPIC, the ECAM, a BAR, or off low RAM's end. */
	desc(d, 0, LAPIC_ADDR, 32, F_INDIRECT, 0);
	expect_bad_chain(d, 0, "indirect table");
	desc(d, 0, PCI_ECAM_BASE, 16 * 16, F_INDIRECT, 0);
	expect_bad_chain(d, 0, "indirect table");
	desc(d, 0, PCI_MMIO32_BASE, 16, F_INDIRECT, 0);
	expect_bad_chain(d, 0, "indirect table");
	desc(d, 0, MEM_HOLE_START - 16, 32, F_INDIRECT, 0);
	expect_bad_chain(d, 0, "indirect table");
	/* 4 GiB - 1 from the start of high RAM (1 MiB of it): refused too (case 5). */
	desc(d, 0, MEM_4G, 0xFFFFFFFFu, F_WRITE, 0);
	expect_bad_chain(d, 0, "outside RAM");

	/* Exactly up to each region's end: RAM, handed over, and writable. */
	desc(d, 5, MEM_HOLE_START - 16, 16, F_WRITE | F_NEXT, 6);
	desc(d, 6, MEM_4G + HIGH_SIZE - 16, 16, F_WRITE, 0);
	publish(d, 5);
	assert_int_equal(virtq_pop(&d->vq, c), 1);
	assert_int_equal(c->n_in, 2);
	assert_ptr_equal(c->iov[0].iov_base, d->mem.region[0].hva + MEM_HOLE_START - 16);
	assert_ptr_equal(c->iov[1].iov_base, d->mem.region[1].hva + HIGH_SIZE - 16);
	expect_iovs_in_ram(d);
	p = malloc(32);
	assert_non_null(p);
	memset(p, 0xA5, 32);
	assert_int_equal(virtq_buf_to_iov(c, 0, p, 32), 32);
	free(p);
	virtq_push(&d->vq, 5, 32);
	expect_used(d, 5, 32);
	expect_usable(d, 7);
	assert_false(d->vq.broken);
}

/*
 * A remapping IOMMU for test_mmio_buffers_mapped: IOVA = GPA, but for four
 * pages from REMAP_IOVA, which it maps onto the first BAR, the ECAM, the
 * IOAPIC and the LAPIC (a guest's page tables can say anything).
 */
static const uint64_t remap_to[] = { PCI_MMIO32_BASE, PCI_ECAM_BASE, IOAPIC_ADDR, LAPIC_ADDR };

static int remap_lookup(struct dma_as *as, uint64_t iova, unsigned int dir, struct dma_map *m)
{
	uint64_t page = iova & ~4095ULL;

	m->gpa = iova;
	if (page >= REMAP_IOVA && page < REMAP_IOVA + ARRAY_SIZE(remap_to) * 4096)
		m->gpa = remap_to[(page - REMAP_IOVA) / 4096] + (iova & 4095);
	m->len = 4096 - (iova & 4095);
	m->perm = DMA_READ | DMA_WRITE;
	return 0;
}

static const struct dma_as_ops remap_ops = { .lookup = remap_lookup, .fault = fake_fault };

/*
 * The same behind an IOMMU, where the translated address is what must be
 * RAM (dma.c: no peer-to-peer): an IOVA that is MMIO itself, an IOVA in RAM
 * that the IOMMU maps onto MMIO, or a buffer whose pages translate to RAM
 * and then to the hole. With keep_faulted (virtio-blk) the buffer is
 * refused alone (-EFAULT, reported once): the chain is faulted, no iovec
 * for it or for its RAM part, the others intact; without, the chain is bad.
 * An indirect table translated onto MMIO is refused either way.
 */
static void test_mmio_buffers_mapped(void **state)
{
	struct drv *d = *state;
	struct virtq_chain *c = &d->c;
	struct bad_buf {
		uint64_t iova;
		uint32_t len;
		uint64_t out;	/* an IOVA in it that does not translate to RAM */
	} bad[ARRAY_SIZE(mmio) + ARRAY_SIZE(remap_to) + 1];
	unsigned int nbad = 0, faults;

	real_layout(d);
	for (unsigned int i = 0; i < ARRAY_SIZE(mmio); i++)
		bad[nbad++] = (struct bad_buf){ mmio[i].gpa, mmio[i].len, outside(d, i) };
	for (unsigned int i = 0; i < ARRAY_SIZE(remap_to); i++)
		bad[nbad++] = (struct bad_buf){ REMAP_IOVA + i * 4096ULL, 64, REMAP_IOVA + i * 4096ULL };
	/* A page of RAM, then (in IOVA space) the page the IOMMU maps onto the BAR. */
	bad[nbad++] = (struct bad_buf){ REMAP_IOVA - 8, 16, REMAP_IOVA };

	layout(d, 8);
	dma_as_init(&d->as, &d->mem, "test-virtq-remap");
	d->as.ops = &remap_ops;
	d->as.opaque = d;
	assert_int_equal(virtq_init_as(&d->vq, &d->as, 8, d->desc, d->avail, d->used, false, true),
			 0);
	d->vq.keep_faulted = true;
	for (unsigned int i = 0; i < nbad; i++) {
		faults = d->nfaults;
		desc(d, 0, BUF(1), 16, F_NEXT, 1);
		desc(d, 1, bad[i].iova, bad[i].len, F_WRITE | F_NEXT, 2);
		desc(d, 2, BUF(2), 1, F_WRITE, 0);
		publish(d, 0);
		assert_int_equal(virtq_pop(&d->vq, c), 1);
		assert_true(c->faulted);
		assert_false(c->last_faulted);
		assert_int_equal(c->n_out, 1);
		assert_int_equal(c->n_in, 1);		/* the status byte only */
		assert_ptr_equal(c->iov[1].iov_base, gp(d, BUF(2)));
		expect_iovs_in_ram(d);
		assert_int_equal(d->nfaults, faults + 1);
		assert_int_equal(d->fault_err, -EFAULT);
		assert_int_equal(d->fault_dir, DMA_WRITE);
		virtq_push(&d->vq, 0, 1);
		expect_used(d, 0, 1);

		/* As the last buffer: last_faulted, so a device writes no status. */
		desc(d, 1, BUF(3), 512, F_WRITE | F_NEXT, 2);
		desc(d, 2, bad[i].out, 1, F_WRITE, 0);
		publish(d, 0);
		assert_int_equal(virtq_pop(&d->vq, c), 1);
		assert_true(c->faulted);
		assert_true(c->last_faulted);
		assert_int_equal(c->n_out + c->n_in, 2);	/* header, data: no status */
		expect_iovs_in_ram(d);
		assert_int_equal(d->fault_iova, bad[i].out);
		virtq_push(&d->vq, 0, 0);
		expect_used(d, 0, 0);
	}
	/* An indirect table the IOMMU maps onto the LAPIC. */
	desc(d, 3, REMAP_IOVA + 3 * 4096, 32, F_INDIRECT, 0);
	expect_bad_chain(d, 3, "indirect table");
	/* Without keep_faulted: the chain is bad, as over the identity space. */
	d->vq.keep_faulted = false;
	for (unsigned int i = 0; i < nbad; i++) {
		desc(d, 0, BUF(1), 16, F_NEXT, 1);
		desc(d, 1, bad[i].iova, bad[i].len, F_WRITE | F_NEXT, 2);
		desc(d, 2, BUF(2), 1, F_WRITE, 0);
		expect_bad_chain(d, 0, "outside RAM or not mapped");
	}
	expect_usable(d, 5);
	assert_false(d->vq.broken);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_out_in, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iov_helpers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_iov, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readable_after_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_avail_idx_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inflight_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_not_inflight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_n, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wraparound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop_empty_publishes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_is_quiet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faulted_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faulted_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faulted_not_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faulted_and_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faulted_eacces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faulted_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faulted_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_buffers_mapped, setup, teardown),
	};

	log_level = 0;	/* the push-of-a-stray-head warning is expected here */
	return cmocka_run_group_tests_name("virtq", tests, NULL, NULL);
}
