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
 * Built and run by tests/fuzz/fuzz.mk (`make fuzz-virtq`); links queue.o,
 * mem.o and util.o only.
 */
#include <errno.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_alloc.h"
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
	H_LEN = H_GPAS + 24,
};

enum {
	F_EVENT_IDX = 1 << 0,
	F_INDIRECT = 1 << 1,
	F_GPAS = 1 << 2,	/* rings at the gpas from the header */
	F_TAME = 1 << 3,	/* fold descriptor addresses into R0, to get deeper */
	F_NOTIFY = 1 << 4,	/* toggle notifications around the drain */
};

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
		if (!in_ram(vq->mem, c->iov[i].iov_base, c->iov[i].iov_len))
			FAIL("iov %u outside RAM", i);
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

	if (virtq_init(&vq, &mem, qsize, desc, avail, used, h[H_FLAGS] & F_EVENT_IDX,
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
	drain(&vq, &chain, h, h[H_FLAGS] & F_NOTIFY);
	if (vq.broken && virtq_pop(&vq, &chain) != -EIO)
		FAIL("broken queue came back");
	if (fuzz_io_allocs)
		FAIL("%lu allocations while popping or pushing", fuzz_io_allocs);
out:
	virtq_destroy(&vq);
	return 0;
}
