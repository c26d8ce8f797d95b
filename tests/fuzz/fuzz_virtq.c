// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the split virtqueue (src/virtio/queue.c) against a
 * hostile driver (hostile-guest.md cases 1-11). The input is a small header
 * of parameters followed by the contents of guest RAM, whose three regions
 * are separate heap blocks of exact size, so an access outside RAM by even
 * one byte lands in an ASan redzone:
 *
 *   R0 [0, 16 KiB)   R1 [20 KiB, 24 KiB) past a 4 KiB hole   R2 [2^64 - 4 KiB, 2^64)
 *
 * One queue is initialised (rings at a canonical spot or at gpas from the
 * input), started at an arbitrary 16-bit index, drained with pop/push for a
 * bounded number of steps, kicked again and drained again. After every pop
 * the chain's invariants are checked; nothing may be allocated while
 * popping or pushing. A violation aborts, and libFuzzer saves the input.
 *
 * With F_IOMMU the queue's addresses are IOVAs through a mapped DMA space
 * (iommu/dma.h): IOVA page i (of 16) maps to the guest page, permissions
 * and presence the header's H_PMAP byte i gives (pages anywhere, the hole
 * and R2 included), and every iovec must then lie in pages mapped with the
 * direction it is used in. With F_CHANGE the map is rotated between the
 * two drains and the space's generation bumped: the rings are mapped again.
 *
 * Built and run by tests/fuzz/fuzz.mk (`make fuzz-virtq`); links queue.o,
 * mem.o and util.o only.
 */
#include <errno.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_alloc.h"
#include "iommu/dma.h"
#include "util.h"
#include "virtio/queue.h"

#define FAIL(...)								\
	do {									\
		fprintf(stderr, "fuzz_virtq: " __VA_ARGS__);			\
		fputc('\n', stderr);						\
		abort();							\
	} while (0)

#define R0_SIZE		(16 * KiB)
#define R1_GPA		(20 * KiB)
#define R1_SIZE		(4 * KiB)
#define R2_GPA		(0ULL - 4 * KiB)
#define R2_SIZE		(4 * KiB)

#define PMAP_PAGES	16		/* IOVA pages of the F_IOMMU space, from IOVA 0 */

/* Header bytes, before RAM. */
enum {
	H_SIZE,		/* log2 of the queue size; with bit 7, a raw 16-bit size in H_RAW */
	H_FLAGS,
	H_START_LO,	/* last_avail / used_idx to start from: wraparound */
	H_START_HI,
	H_LAG,		/* avail->idx = start + lag (bit 7: leave RAM's value) */
	H_KICK,		/* second round: avail->idx moves on by this much */
	H_HOLD,		/* how many chains to keep in flight before pushing */
	H_OFF,		/* offset for the copy helpers */
	H_RAW,		/* 2 bytes */
	H_GPAS = H_RAW + 2,	/* 3 x 8 bytes, with F_GPAS */
	H_PMAP = H_GPAS + 24,	/* 16 bytes, with F_IOMMU: bit 7 present, 6 write, 5 read, 4-0 page */
	H_LEN = H_PMAP + PMAP_PAGES,
};

enum {
	F_EVENT_IDX = 1 << 0,
	F_INDIRECT = 1 << 1,
	F_GPAS = 1 << 2,	/* rings at the gpas from the header */
	F_TAME = 1 << 3,	/* fold descriptor addresses into R0, to get deeper */
	F_NOTIFY = 1 << 4,	/* toggle notifications around the drain */
	F_IOMMU = 1 << 5,	/* through a mapped DMA space (H_PMAP) */
	F_CHANGE = 1 << 6,	/* rotate that map between the drains */
};

/* The F_IOMMU space: IOVA page i -> pmap[i]. Page numbers 0..30 are GPA pages, 31 is R2. */
static uint8_t pmap[PMAP_PAGES];

static uint64_t pmap_gpa(uint8_t e)
{
	return (e & 31) == 31 ? R2_GPA : (uint64_t)(e & 31) * 4096;
}

static int pmap_lookup(struct dma_as *as, uint64_t iova, unsigned int dir, struct dma_map *m)
{
	uint8_t e;

	if (iova >= PMAP_PAGES * 4096ULL || !((e = pmap[iova / 4096]) & 0x80))
		return -EFAULT;
	m->gpa = pmap_gpa(e) + (iova & 4095);
	m->len = 4096 - (iova & 4095);
	m->perm = (e & 0x20 ? DMA_READ : 0) | (e & 0x40 ? DMA_WRITE : 0);
	return 0;
}

static const struct dma_as_ops pmap_ops = { .lookup = pmap_lookup };

/* Is guest page @gpa (page-aligned) reachable for @dir through some IOVA page? */
static bool pmap_allows(uint64_t gpa, unsigned int dir)
{
	for (unsigned int i = 0; i < PMAP_PAGES; i++) {
		uint8_t e = pmap[i];
		unsigned int perm = (e & 0x20 ? DMA_READ : 0) | (e & 0x40 ? DMA_WRITE : 0);

		if ((e & 0x80) && (perm & dir) == dir && gpa - pmap_gpa(e) < 4096)
			return true;
	}
	return false;
}

static uint64_t hva_to_gpa(const struct guest_mem *m, const uint8_t *p)
{
	for (unsigned int i = 0; i < m->nr; i++)
		if (p >= m->region[i].hva && p < m->region[i].hva + m->region[i].size)
			return m->region[i].gpa + (uint64_t)(p - m->region[i].hva);
	FAIL("hva %p outside RAM", (const void *)p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup(true);
	return 0;
}

static bool in_ram(const struct guest_mem *m, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (unsigned int i = 0; i < m->nr; i++) {
		const struct mem_region *r = &m->region[i];

		if (b >= r->hva && b < r->hva + r->size && len <= (size_t)(r->hva + r->size - b))
			return true;
	}
	return false;
}

static void check_chain(const struct virtq *vq, const struct virtq_chain *c, uint64_t off)
{
	static uint8_t buf[8192];
	uint64_t out = 0, in = 0;
	size_t n;

	if (c->head >= vq->size)
		FAIL("head %u >= size %u", c->head, vq->size);
	if (c->n_out + c->n_in > VIRTQ_MAX_IOV)
		FAIL("%u + %u iovs", c->n_out, c->n_in);
	for (unsigned int i = 0; i < c->n_out + c->n_in; i++) {
		if (!c->iov[i].iov_len)
			FAIL("empty iov %u", i);
		if (!in_ram(vq->as->mem, c->iov[i].iov_base, c->iov[i].iov_len))
			FAIL("iov %u outside RAM", i);
		/* Through an IOMMU: only pages mapped for the direction it is used in. */
		if (vq->as->ops) {
			uint64_t g = hva_to_gpa(vq->as->mem, c->iov[i].iov_base);
			uint64_t last = (g + c->iov[i].iov_len - 1) & ~4095ULL;

			for (uint64_t pg = g & ~4095ULL;; pg += 4096) {
				if (!pmap_allows(pg, i < c->n_out ? DMA_READ : DMA_WRITE))
					FAIL("iov %u: gpa page 0x%lx not mapped for its direction", i,
					     (unsigned long)pg);
				if (pg == last)
					break;
			}
		}
		*(i < c->n_out ? &out : &in) += c->iov[i].iov_len;
	}
	if (out != c->out_len || in != c->in_len)
		FAIL("lengths %lu/%lu, iovs say %lu/%lu", (unsigned long)c->out_len,
		     (unsigned long)c->in_len, (unsigned long)out, (unsigned long)in);
	/* The device's view: read every readable byte, write into the writable part. */
	n = virtq_iov_to_buf(c, off, buf, sizeof(buf));
	if (n != MIN(sizeof(buf), off < out ? out - off : 0))
		FAIL("iov_to_buf copied %zu", n);
	n = virtq_buf_to_iov(c, off, buf, MIN(sizeof(buf), 64));
	if (n != MIN(64, off < in ? in - off : 0))
		FAIL("buf_to_iov copied %zu", n);
}

static void check_queue(const struct virtq *vq)
{
	unsigned int bits = 0;

	for (unsigned int i = 0; i < vq->size; i++)
		bits += (vq->inflight_map[i / 8] >> (i % 8)) & 1;
	if (bits != vq->inflight || vq->inflight > vq->size)
		FAIL("in flight %u, map %u, size %u", vq->inflight, bits, vq->size);
}

/* Pop until empty or broken, keeping up to @hold chains in flight. Bounded. */
static void drain(struct virtq *vq, struct virtq_chain *c, const uint8_t *h, bool notify)
{
	static uint16_t held[VIRTQ_MAX_SIZE + 1];
	unsigned int nheld = 0, hold = h[H_HOLD] % (vq->size + 1u);
	unsigned int steps = 2u * vq->size + 4;

	if (notify)
		virtq_set_notify(vq, false);
	while (steps--) {
		uint16_t before = vq->used_idx;
		int r;

		fuzz_in_io = true;
		r = virtq_pop(vq, c);
		fuzz_in_io = false;
		check_queue(vq);
		if (r == 0 || r == -EIO) {
			if (r == -EIO && !vq->broken)
				FAIL("-EIO on a queue not marked broken");
			if (r == 0 && notify) {
				virtq_set_notify(vq, true);
				if (virtq_has_work(vq))
					continue;
			}
			break;
		}
		if (r == -EINVAL) {
			if (!vq->error || c->n_out || c->n_in)
				FAIL("-EINVAL without a reason, or with segments");
			virtq_push(vq, c->head, 0);
		} else if (r == 1) {
			check_chain(vq, c, h[H_OFF]);
			if (nheld < hold) {
				held[nheld++] = c->head;
				continue;
			}
			fuzz_in_io = true;
			virtq_push(vq, c->head, (uint32_t)MIN(c->in_len, 64));
			fuzz_in_io = false;
		} else {
			FAIL("pop returned %d", r);
		}
		if (vq->used_idx != (uint16_t)(before + 1))
			FAIL("push did not advance used_idx");
	}
	/* Complete the held ones last, in one batch, the first of them twice. */
	if (nheld) {
		uint16_t before = vq->used_idx;

		held[nheld] = held[0];
		fuzz_in_io = true;
		virtq_push_n(vq, held, NULL, nheld + 1);
		fuzz_in_io = false;
		if (!vq->broken && vq->used_idx != (uint16_t)(before + nheld))
			FAIL("batch of %u advanced used_idx by %u", nheld, (uint16_t)(vq->used_idx - before));
	}
	check_queue(vq);
	if (vq->inflight)
		FAIL("%u still in flight after pushing everything", vq->inflight);
	(void)virtq_should_notify(vq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const uint64_t rsize[3] = { R0_SIZE, R1_SIZE, R2_SIZE };
	static struct virtq_chain chain;
	uint8_t h[H_LEN] = { 0 };
	struct guest_mem mem = { .nr = 3 };
	struct dma_as as;
	struct virtq vq = { 0 };
	uint16_t qsize, start;
	uint64_t desc, avail, used;
	static uint8_t *hva[3];
	size_t n;

	n = MIN(len, sizeof(h));
	memcpy(h, data, n);
	data += n, len -= n;
	/*
	 * Exactly-sized heap blocks, allocated once: ASan redzones sit right
	 * before the first and after the last byte of each region.
	 */
	for (unsigned int i = 0; i < 3; i++) {
		if (!hva[i] && !(hva[i] = malloc(rsize[i])))
			abort();
		n = MIN(len, rsize[i]);
		memcpy(hva[i], data, n);
		memset(hva[i] + n, 0, rsize[i] - n);
		data += n, len -= n;
	}
	mem.region[0] = (struct mem_region){ .gpa = 0, .size = R0_SIZE, .hva = hva[0] };
	mem.region[1] = (struct mem_region){ .gpa = R1_GPA, .size = R1_SIZE, .hva = hva[1] };
	mem.region[2] = (struct mem_region){ .gpa = R2_GPA, .size = R2_SIZE, .hva = hva[2] };

	qsize = (h[H_SIZE] & 0x80) ? (uint16_t)le_read(&h[H_RAW], 2) : (uint16_t)(1u << (h[H_SIZE] % 9));
	if (h[H_FLAGS] & F_GPAS) {
		desc = le_read(&h[H_GPAS], 8);
		avail = le_read(&h[H_GPAS + 8], 8);
		used = le_read(&h[H_GPAS + 16], 8);
	} else {
		desc = 0;
		avail = 16ULL * qsize;
		used = ALIGN_UP(avail + 6 + 2ULL * qsize, 4ULL);
	}
	if ((h[H_FLAGS] & F_TAME) && !(h[H_FLAGS] & F_GPAS) && 16ULL * qsize <= R0_SIZE) {
		for (unsigned int i = 0; i < qsize; i++)
			((struct vring_desc *)hva[0])[i].addr %= R0_SIZE;
	}

	memcpy(pmap, &h[H_PMAP], PMAP_PAGES);
	dma_as_init(&as, &mem, "fuzz");
	as.ops = (h[H_FLAGS] & F_IOMMU) ? &pmap_ops : NULL;
	if (virtq_init_as(&vq, &as, qsize, desc, avail, used, h[H_FLAGS] & F_EVENT_IDX,
			  h[H_FLAGS] & F_INDIRECT)) {
		if (!vq.error || vq.inflight_map)
			FAIL("failed init without a reason, or with a map");
		if (virtq_pop(&vq, &chain) != -EIO)
			FAIL("pop on a failed queue");
		goto out;
	}
	/* Start as if 'start' chains had already gone round. */
	start = (uint16_t)(h[H_START_LO] | h[H_START_HI] << 8);
	vq.last_avail = vq.used_idx = vq.signalled_used = start;
	if (!(h[H_LAG] & 0x80))
		vq.avail->idx = (uint16_t)(start + h[H_LAG]);

	drain(&vq, &chain, h, h[H_FLAGS] & F_NOTIFY);
	/* The driver adds more: the rings, used entries included, are re-read. */
	if (!vq.broken)
		vq.avail->idx = (uint16_t)(vq.avail->idx + h[H_KICK]);
	if (h[H_FLAGS] & F_CHANGE) {
		uint8_t first = pmap[0];

		memmove(pmap, pmap + 1, PMAP_PAGES - 1);
		pmap[PMAP_PAGES - 1] = first;
		dma_as_changed(&as);
	}
	drain(&vq, &chain, h, h[H_FLAGS] & F_NOTIFY);
	if (vq.broken && virtq_pop(&vq, &chain) != -EIO)
		FAIL("broken queue came back");
	if (fuzz_io_allocs)
		FAIL("%lu allocations while popping or pushing", fuzz_io_allocs);
out:
	virtq_destroy(&vq);
	return 0;
}
