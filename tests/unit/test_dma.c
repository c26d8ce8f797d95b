// SPDX-License-Identifier: Apache-2.0
/*
 * DMA address spaces (src/iommu/dma.c) and the virtqueue over them
 * (src/virtio/queue.c): identity as before; a mapped space (here a fake
 * IOMMU with one 4 KiB page table, the shape the emulated VT-d gives) that
 * splits ranges at page boundaries, merges pages adjacent in guest RAM,
 * refuses unmapped pages, missing permissions and mappings outside RAM,
 * and reports each refusal; a virtqueue whose rings and buffers live at
 * IOVAs, whose buffers come back as several iovecs, whose requests fail
 * when a buffer is not mapped, and whose rings are mapped again (or the
 * queue broken) when the mappings change.
 */
#include <errno.h>
#include <linux/virtio_ring.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "iommu/dma.h"
#include "util.h"
#include "virtio/queue.h"

#define RAM_SIZE	(1 * MiB)
#define PAGES		64			/* IOVA pages the fake IOMMU knows */
#define IOVA_BASE	0x40000000ULL		/* its window; IOVA 0 is never mapped */
#define IOVA(n)		(IOVA_BASE + (uint64_t)(n) * 4096)
#define GPA(n)		((uint64_t)(n) * 4096)

struct pte {
	bool present;
	uint64_t gpa;
	unsigned int perm;
};

struct fake {
	struct guest_mem mem;
	uint8_t *ram;
	struct pte pt[PAGES];
	struct dma_as as;
	/* The last refusal reported through ops->fault. */
	unsigned int nfaults;
	uint64_t fault_iova;
	unsigned int fault_dir;
	int fault_err;
	unsigned int fault_code;
	struct virtq vq;
	struct virtq_chain c;
};

static int fake_lookup(struct dma_as *as, uint64_t iova, unsigned int dir, struct dma_map *m)
{
	struct fake *f = as->opaque;
	uint64_t page = (iova - IOVA_BASE) / 4096;

	if (iova < IOVA_BASE || page >= PAGES || !f->pt[page].present) {
		m->why = "fake: not present";
		m->code = 42;
		return -EFAULT;
	}
	m->gpa = f->pt[page].gpa + (iova & 4095);
	m->len = 4096 - (iova & 4095);
	m->perm = f->pt[page].perm;
	return 0;
}

static void fake_fault(struct dma_as *as, uint64_t iova, unsigned int dir, int err,
		       const struct dma_map *m)
{
	struct fake *f = as->opaque;

	f->fault_code = m->code;
	assert_non_null(m->why);

	f->nfaults++;
	f->fault_iova = iova;
	f->fault_dir = dir;
	f->fault_err = err;
}

static const struct dma_as_ops fake_ops = { .lookup = fake_lookup, .fault = fake_fault };

static void map(struct fake *f, unsigned int page, unsigned int gpa_page, unsigned int perm)
{
	f->pt[page] = (struct pte){ true, GPA(gpa_page), perm };
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->ram = aligned_alloc(4096, RAM_SIZE);
	assert_non_null(f->ram);
	memset(f->ram, 0, RAM_SIZE);
	f->mem.nr = 1;
	f->mem.region[0] = (struct mem_region){ .gpa = 0, .size = RAM_SIZE, .hva = f->ram };
	f->mem.ram_size = RAM_SIZE;
	dma_as_init(&f->as, &f->mem, "test-dev");
	f->as.ops = &fake_ops;
	f->as.opaque = f;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	virtq_destroy(&f->vq);
	free(f->ram);
	free(f);
	return 0;
}

static void test_identity(void **state)
{
	struct fake *f = *state;
	struct dma_as id;
	struct iovec v[2];

	dma_as_init(&id, &f->mem, "id");
	assert_int_equal(dma_translate(&id, 0x1000, 0x3000, DMA_READ, v, 2), 1);
	assert_ptr_equal(v[0].iov_base, f->ram + 0x1000);
	assert_int_equal(v[0].iov_len, 0x3000);
	assert_int_equal(dma_translate(&id, 0x1000, 0, DMA_WRITE, v, 2), 0);
	assert_int_equal(dma_translate(&id, 0x1000, 1, DMA_WRITE, v, 0), -E2BIG);
	assert_int_equal(dma_translate(&id, RAM_SIZE - 1, 2, DMA_READ, v, 2), -EFAULT);
	assert_int_equal(dma_translate(&id, ~0ULL, 2, DMA_READ, v, 2), -EFAULT);
	/* Identity refusals are the caller's business: nothing counted. */
	assert_int_equal(id.faults, 0);
	assert_int_equal(dma_as_gen(&id), 0);
}

static void test_split_and_merge(void **state)
{
	struct fake *f = *state;
	struct iovec v[4];

	/* IOVA pages 0,1 -> GPA pages 10,11 (adjacent: one piece); page 2 -> GPA 5. */
	map(f, 0, 10, DMA_READ | DMA_WRITE);
	map(f, 1, 11, DMA_READ | DMA_WRITE);
	map(f, 2, 5, DMA_READ | DMA_WRITE);
	assert_int_equal(dma_translate(&f->as, IOVA(0) + 100, 2 * 4096, DMA_READ, v, 4), 2);
	assert_ptr_equal(v[0].iov_base, f->ram + GPA(10) + 100);
	assert_int_equal(v[0].iov_len, 2 * 4096 - 100);
	assert_ptr_equal(v[1].iov_base, f->ram + GPA(5));
	assert_int_equal(v[1].iov_len, 100);
	/* One piece too few: -E2BIG, and it is not a fault. */
	assert_int_equal(dma_translate(&f->as, IOVA(0), 3 * 4096, DMA_WRITE, v, 1), -E2BIG);
	assert_int_equal(f->nfaults, 0);
	/* Within one page. */
	assert_int_equal(dma_translate(&f->as, IOVA(2) + 8, 16, DMA_WRITE, v, 4), 1);
	assert_ptr_equal(v[0].iov_base, f->ram + GPA(5) + 8);
	/* dma_map_contig takes one piece only. */
	int err = 0;

	assert_ptr_equal(dma_map_contig(&f->as, IOVA(0), 8192, DMA_READ, &err), f->ram + GPA(10));
	assert_null(dma_map_contig(&f->as, IOVA(1), 8192, DMA_READ, &err));
	assert_int_equal(err, -E2BIG);
	/* dma_copy_from gathers the pieces. */
	char buf[8];

	memcpy(f->ram + GPA(11) + 4092, "abcd", 4);
	memcpy(f->ram + GPA(5), "efgh", 4);
	assert_int_equal(dma_copy_from(&f->as, IOVA(1) + 4092, buf, 8), 0);
	assert_memory_equal(buf, "abcdefgh", 8);
}

static void test_refusals(void **state)
{
	struct fake *f = *state;
	struct iovec v[4];

	map(f, 0, 10, DMA_READ | DMA_WRITE);
	map(f, 2, 12, DMA_READ);
	map(f, 3, 13, DMA_WRITE);
	/* Page 1 is not present: the fault names its first byte. */
	assert_int_equal(dma_translate(&f->as, IOVA(0) + 4000, 200, DMA_READ, v, 4), -EFAULT);
	assert_int_equal(f->nfaults, 1);
	assert_int_equal(f->fault_iova, IOVA(1));
	assert_int_equal(f->fault_err, -EFAULT);
	assert_int_equal(f->fault_code, 42);	/* the lookup's own code reaches the records */
	assert_int_equal(f->fault_dir, DMA_READ);
	/* Permissions, each way. */
	assert_int_equal(dma_translate(&f->as, IOVA(2), 16, DMA_WRITE, v, 4), -EACCES);
	assert_int_equal(f->fault_err, -EACCES);
	assert_int_equal(f->fault_dir, DMA_WRITE);
	assert_int_equal(dma_translate(&f->as, IOVA(3), 16, DMA_READ, v, 4), -EACCES);
	assert_int_equal(dma_translate(&f->as, IOVA(2), 16, DMA_READ | DMA_WRITE, v, 4), -EACCES);
	assert_int_equal(dma_translate(&f->as, IOVA(2), 16, DMA_READ, v, 4), 1);
	assert_int_equal(dma_translate(&f->as, IOVA(3), 16, DMA_WRITE, v, 4), 1);
	/* A mapping onto something that is not RAM (the MMIO hole, past RAM). */
	f->pt[4] = (struct pte){ true, 0xFEE00000ULL, DMA_READ | DMA_WRITE };
	assert_int_equal(dma_translate(&f->as, IOVA(4), 4, DMA_WRITE, v, 4), -EFAULT);
	assert_int_equal(f->fault_code, 0);
	/* A range that wraps 2^64, and one below the window. */
	assert_int_equal(dma_translate(&f->as, ~0ULL - 8, 16, DMA_READ, v, 4), -EFAULT);
	assert_int_equal(dma_translate(&f->as, 0, 16, DMA_READ, v, 4), -EFAULT);
	assert_int_equal(f->nfaults, 7);
	assert_int_equal(f->as.faults, 7);
}

/* ---- the virtqueue over the fake IOMMU ----------------------------------- */

#define QSIZE	8
/* Rings: descriptor table at IOVA page 0, avail at page 1, used at page 2. */
#define DESC	IOVA(0)
#define AVAIL	IOVA(1)
#define USED	IOVA(2)

/* The driver's view of an IOVA: its CPU reaches the page directly, not through the IOMMU. */
static void *at(struct fake *f, uint64_t iova)
{
	uint64_t page = (iova - IOVA_BASE) / 4096;

	assert_true(iova >= IOVA_BASE && page < PAGES && f->pt[page].present);
	return f->ram + f->pt[page].gpa + (iova & 4095);
}

static void start(struct fake *f, bool indirect)
{
	/* Rings on GPA pages 20, 21, 22; buffers from GPA page 40. */
	map(f, 0, 20, DMA_READ);
	map(f, 1, 21, DMA_READ);
	map(f, 2, 22, DMA_WRITE | DMA_READ);
	assert_int_equal(virtq_init_as(&f->vq, &f->as, QSIZE, DESC, AVAIL, USED, false, indirect), 0);
}

static void set_desc(struct fake *f, uint64_t table, unsigned int i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct vring_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	memcpy(at(f, table + 16ULL * i), &d, sizeof(d));
}

static void publish(struct fake *f, uint16_t head)
{
	struct vring_avail *a = at(f, AVAIL);

	a->ring[a->idx % QSIZE] = head;
	a->idx++;
}

static struct vring_used *used_ring(struct fake *f)
{
	return at(f, USED);
}

static void test_virtq_split_buffers(void **state)
{
	struct fake *f = *state;

	start(f, false);
	/* A 6000-byte writable buffer over IOVA pages 10, 11 -> GPA pages 41, 40 (apart). */
	map(f, 10, 41, DMA_WRITE);
	map(f, 11, 40, DMA_WRITE);
	map(f, 12, 42, DMA_READ);
	set_desc(f, DESC, 0, IOVA(12), 64, VRING_DESC_F_NEXT, 1);
	set_desc(f, DESC, 1, IOVA(10) + 96, 6000, VRING_DESC_F_WRITE, 0);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.n_out, 1);
	assert_int_equal(f->c.n_in, 2);
	assert_int_equal(f->c.in_len, 6000);
	assert_ptr_equal(f->c.iov[1].iov_base, f->ram + GPA(41) + 96);
	assert_int_equal(f->c.iov[1].iov_len, 4096 - 96);
	assert_ptr_equal(f->c.iov[2].iov_base, f->ram + GPA(40));
	assert_int_equal(f->c.iov[2].iov_len, 6000 - (4096 - 96));
	/* The copy helper writes across the split where the guest expects it. */
	char data[6000];

	memset(data, 'x', sizeof(data));
	data[4096 - 96] = 'Y';
	assert_int_equal(virtq_buf_to_iov(&f->c, 0, data, sizeof(data)), 6000);
	assert_int_equal(f->ram[GPA(40)], 'Y');
	virtq_push(&f->vq, 0, 6000);
	assert_int_equal(used_ring(f)->idx, 1);
	assert_int_equal(used_ring(f)->ring[0].len, 6000);
	assert_int_equal(f->nfaults, 0);
}

static void test_virtq_denied_buffer(void **state)
{
	struct fake *f = *state;

	start(f, false);
	map(f, 10, 41, DMA_READ);	/* read-only: a device write must be refused */
	set_desc(f, DESC, 0, IOVA(10), 512, VRING_DESC_F_WRITE, 0);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EINVAL);
	assert_non_null(strstr(f->vq.error, "not mapped"));
	assert_int_equal(f->c.n_in, 0);
	assert_int_equal(f->nfaults, 1);
	assert_int_equal(f->fault_err, -EACCES);
	assert_int_equal(f->fault_iova, IOVA(10));
	/* The request fails alone: the queue goes on. */
	virtq_push(&f->vq, f->c.head, 0);
	set_desc(f, DESC, 1, IOVA(13), 512, VRING_DESC_F_WRITE, 0);	/* not present */
	publish(f, 1);
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EINVAL);
	assert_int_equal(f->fault_err, -EFAULT);
	virtq_push(&f->vq, f->c.head, 0);
	map(f, 13, 43, DMA_WRITE);
	publish(f, 1);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	assert_false(f->vq.broken);
	assert_int_equal(used_ring(f)->idx, 2);
}

/* A descriptor whose pages lie apart costs one iovec each, counted against VIRTQ_MAX_IOV. */
static void test_virtq_iov_limit(void **state)
{
	struct fake *f = *state;
	const uint64_t table = IOVA(30);	/* up to 513 descriptors: pages 30..32 */

	start(f, true);
	map(f, 30, 50, DMA_READ);
	map(f, 31, 51, DMA_READ);
	map(f, 32, 52, DMA_READ);
	map(f, 40, 45, DMA_WRITE);
	map(f, 41, 47, DMA_WRITE);
	/* Each descriptor: 12 bytes across the end of page 40 and the start of 41: two iovecs. */
	for (unsigned int i = 0; i < 513; i++)
		set_desc(f, table, i, IOVA(41) - 6, 12, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
			 (uint16_t)(i + 1));
	/* 512 descriptors: exactly VIRTQ_MAX_IOV iovecs. */
	set_desc(f, table, 511, IOVA(41) - 6, 12, VRING_DESC_F_WRITE, 0);
	set_desc(f, DESC, 0, table, 16 * 512, VRING_DESC_F_INDIRECT, 0);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.n_in, VIRTQ_MAX_IOV);
	assert_int_equal(f->c.in_len, 12 * 512);
	assert_ptr_equal(f->c.iov[1].iov_base, f->ram + GPA(47));
	virtq_push(&f->vq, 0, 0);
	/* 513: one iovec too many; the request fails, never truncated. */
	set_desc(f, table, 511, IOVA(41) - 6, 12, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 512);
	set_desc(f, table, 512, IOVA(41) - 6, 12, VRING_DESC_F_WRITE, 0);
	set_desc(f, DESC, 0, table, 16 * 513, VRING_DESC_F_INDIRECT, 0);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EINVAL);
	assert_non_null(strstr(f->vq.error, "VIRTQ_MAX_IOV"));
	assert_false(f->vq.broken);
	assert_int_equal(f->nfaults, 0);
}

/* An indirect table split across pages apart in RAM is read whole, through the bounce buffer. */
static void test_virtq_indirect_split(void **state)
{
	struct fake *f = *state;
	const unsigned int n = 32;			/* 512 bytes of descriptors */
	const uint64_t table = IOVA(31) - 256;		/* half on page 30, half on 31 */

	start(f, true);
	map(f, 30, 50, DMA_READ);
	map(f, 31, 60, DMA_READ);
	map(f, 40, 45, DMA_READ | DMA_WRITE);
	for (unsigned int i = 0; i < n; i++)
		set_desc(f, table, i, IOVA(40) + 8 * i, 8, VRING_DESC_F_WRITE |
			 (i < n - 1 ? VRING_DESC_F_NEXT : 0), (uint16_t)(i + 1));
	set_desc(f, DESC, 0, table, 16 * n, VRING_DESC_F_INDIRECT, 0);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	/* 32 pieces of 8 bytes, adjacent in RAM, but each its own descriptor: 32 iovecs. */
	assert_int_equal(f->c.n_in, n);
	assert_int_equal(f->c.in_len, 8 * n);
	assert_ptr_equal(f->c.iov[n - 1].iov_base, f->ram + GPA(45) + 8 * (n - 1));
	virtq_push(&f->vq, 0, 8 * n);
	/* The same table with one of its pages unmapped: the chain fails, the queue stays. */
	f->pt[31].present = false;
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EINVAL);
	assert_non_null(strstr(f->vq.error, "indirect table"));
	assert_false(f->vq.broken);
}

/* Mappings change: the rings are mapped again; a ring no longer mapped breaks the queue. */
static void test_virtq_remap(void **state)
{
	struct fake *f = *state;

	start(f, false);
	map(f, 10, 41, DMA_READ);
	set_desc(f, DESC, 0, IOVA(10), 16, 0, 0);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	virtq_push(&f->vq, 0, 0);
	assert_int_equal(((struct vring_used *)(f->ram + GPA(22)))->idx, 1);

	/* The driver moves its used ring's page elsewhere (copying it) and invalidates. */
	memcpy(f->ram + GPA(23), f->ram + GPA(22), 4096);
	map(f, 2, 23, DMA_WRITE | DMA_READ);
	dma_as_changed(&f->as);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 1);
	virtq_push(&f->vq, 0, 0);
	assert_int_equal(((struct vring_used *)(f->ram + GPA(23)))->idx, 2);
	assert_int_equal(((struct vring_used *)(f->ram + GPA(22)))->idx, 1);	/* untouched */

	/* Unmapped without a change of generation nothing is re-read; with one, the queue breaks. */
	f->pt[2].present = false;
	dma_as_changed(&f->as);
	assert_false(virtq_has_work(&f->vq));
	assert_true(f->vq.broken);
	assert_non_null(strstr(f->vq.error, "used ring"));
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EIO);
	assert_int_equal(((struct vring_used *)(f->ram + GPA(23)))->idx, 2);
}

/* A ring mapped in two pieces apart, or not for the direction the device uses it in. */
static void test_virtq_ring_checks(void **state)
{
	struct fake *f = *state;

	map(f, 0, 20, DMA_READ);
	map(f, 1, 21, DMA_READ);
	map(f, 2, 22, DMA_READ);	/* used ring: the device must write it */
	assert_int_equal(virtq_init_as(&f->vq, &f->as, QSIZE, DESC, AVAIL, USED, false, false), -EINVAL);
	assert_non_null(strstr(f->vq.error, "used ring"));
	assert_int_equal(f->fault_err, -EACCES);
	/* A 512-entry descriptor table (8 KiB) over two pages apart. */
	map(f, 2, 22, DMA_WRITE);
	map(f, 5, 30, DMA_READ);
	map(f, 6, 32, DMA_READ);
	assert_int_equal(virtq_init_as(&f->vq, &f->as, 512, IOVA(5), AVAIL, USED, false, false), -EINVAL);
	assert_non_null(strstr(f->vq.error, "not contiguous"));
	map(f, 6, 31, DMA_READ);
	map(f, 1, 21, DMA_READ);
	map(f, 7, 33, DMA_WRITE);
	map(f, 8, 34, DMA_WRITE);
	map(f, 3, 24, DMA_READ);
	assert_int_equal(virtq_init_as(&f->vq, &f->as, 512, IOVA(5), IOVA(3), IOVA(7), false, false), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_and_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtq_split_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtq_denied_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtq_iov_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtq_indirect_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtq_remap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtq_ring_checks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
