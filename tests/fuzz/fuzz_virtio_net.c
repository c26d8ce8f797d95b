// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the virtio-net device model (src/virtio/net.c) between a
 * hostile driver and a hostile network (hostile-guest.md cases 1-11 through
 * the queue, 14, 17, 18). Each input is a stream of operations on one
 * device over a SOCK_SEQPACKET socketpair, with tests/unit/fake_virtio.c as
 * the transport:
 *
 *   chain      raw descriptors (any addr, len, flags, next) on RX or TX
 *   frame      the peer sends a frame: any 12-byte header, 0..70000 bytes
 *   notify     kick RX or TX;  poll  run the ready watches once
 *   drain      the peer reads what the device sent
 *   restart    stop, then start with features from the input
 *   avail      write avail->idx of a queue (jumps, going backwards)
 *   hangup     the peer closes: the link goes down
 *
 * Checked after every step: nothing allocated while the device works; each
 * used element names a head in range, with len 0 on TX and at most
 * VIRTIO_NET_MAX_PKT on RX; every frame reaching the peer is a header plus at
 * most a 64 KiB frame. ASan catches any access outside guest RAM, libFuzzer's
 * -timeout any spin. A violation aborts, and libFuzzer saves the input.
 *
 * Built by tests/fuzz/fuzz.mk (`make fuzz-virtio-net`): net.o, queue.o,
 * mem.o, util.o and fake_virtio.o only.
 */
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_alloc.h"
#include "../unit/fake_virtio.h"
#include "util.h"
#include "virtio/net.h"
#include "vm.h"

#define FAIL(...)								\
	do {									\
		fprintf(stderr, "fuzz_virtio_net: " __VA_ARGS__);		\
		fputc('\n', stderr);						\
		abort();							\
	} while (0)

#define RAM_SIZE	(1 * MiB)
#define DATA_SIZE	(192 * KiB)
#define MAX_OPS		256
#define MAX_RESTARTS	8
#define F(b)		(1ULL << (b))

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup(true);
	return 0;
}

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t u16(struct in *in)
{
	return (uint16_t)(u8(in) | u8(in) << 8);
}

struct world {
	struct fake_guest g;
	struct vm vm;
	struct virtio_dev *vdev;
	int peer;
	uint64_t data;		/* gpa of the buffer area descriptors usually point into */
	/*
	 * A descriptor pointed outside the data area or at an indirect table:
	 * the device may then legitimately write frame bytes over the rings
	 * (they are RAM, case 4), so the used ring is no longer checked.
	 */
	bool wild;
};

/* One descriptor chain, raw: whatever the input says, at the next free slots. */
static void op_chain(struct world *w, struct in *in)
{
	unsigned int q = u8(in) & 1, n = 1 + (u8(in) & 3);
	struct vring_desc *desc = fake_guest_ptr(&w->g, w->g.q[q].desc);
	struct vring_avail *avail = fake_guest_ptr(&w->g, w->g.q[q].avail);
	uint16_t head = w->g.q[q].next_desc % FAKE_QSIZE;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((head + i) % FAKE_QSIZE), a = u16(in), len = u16(in);
		uint8_t fl = u8(in), next = u8(in);

		/* bit 7: a wild address; else 16-byte steps inside the data area */
		desc[d].addr = fl & 0x80 ? (uint64_t)a << 20 | next :
			       w->data + (uint64_t)a * 16 % DATA_SIZE;
		desc[d].len = fl & 0x40 ? (uint32_t)len * 4 : len;
		desc[d].flags = fl & 7;		/* NEXT, WRITE, INDIRECT as given */
		if (i + 1 < n && !(fl & 0x20))
			desc[d].flags |= VRING_DESC_F_NEXT;
		desc[d].next = fl & 0x10 ? next : (uint16_t)((d + 1) % FAKE_QSIZE);
		if (desc[d].addr < w->data || desc[d].addr + desc[d].len > w->data + DATA_SIZE ||
		    (desc[d].flags & VRING_DESC_F_INDIRECT))
			w->wild = true;
	}
	w->g.q[q].next_desc = (uint16_t)(w->g.q[q].next_desc + n);
	avail->ring[w->g.q[q].avail_idx % FAKE_QSIZE] = head;
	__atomic_store_n(&avail->idx, ++w->g.q[q].avail_idx, __ATOMIC_RELEASE);
}

static void op_frame(struct world *w, struct in *in)
{
	static uint8_t buf[70000];
	size_t len = (size_t)u16(in) * (u8(in) & 1 ? 2 : 1);

	len = MIN(len, sizeof(buf));
	for (size_t i = 0; i < MIN(len, (size_t)VIRTIO_NET_HDR_LEN); i++)
		buf[i] = u8(in);
	memset(buf + MIN(len, (size_t)VIRTIO_NET_HDR_LEN), 0x5a, len - MIN(len, (size_t)VIRTIO_NET_HDR_LEN));
	if (w->peer >= 0)
		(void)send(w->peer, buf, len, MSG_DONTWAIT);	/* a full socket is fine */
}

static void op_drain(struct world *w)
{
	static uint8_t buf[VIRTIO_NET_MAX_PKT + 64];
	ssize_t r;

	if (w->peer < 0)
		return;
	/* 0 is EOF: the device let go of its end after the link went down. */
	while ((r = recv(w->peer, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if (r < VIRTIO_NET_HDR_LEN || (size_t)r > VIRTIO_NET_MAX_PKT)
			FAIL("the peer got a frame of %zd bytes", r);
	}
}

static void check_used(struct world *w)
{
	uint16_t head;
	uint32_t len;

	for (unsigned int q = 0; q < 2; q++) {
		while (fake_ring_used(&w->g, q, &head, &len)) {
			if (head >= FAKE_QSIZE)
				FAIL("queue %u: used head %u", q, head);
			if (q == 1 && len)
				FAIL("TX used len %u", len);
			if (q == 0 && len > VIRTIO_NET_MAX_PKT)
				FAIL("RX used len %u", len);
		}
	}
}

static void start(struct world *w, uint64_t features)
{
	if (fake_virtio_start(w->vdev, &w->g, features))
		FAIL("start failed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 1, 2, 3 };
	static const uint64_t feature_bits[] = {
		F(VIRTIO_NET_F_MRG_RXBUF), F(VIRTIO_NET_F_GUEST_CSUM), F(VIRTIO_NET_F_GUEST_TSO4),
		F(VIRTIO_NET_F_GUEST_TSO6), F(VIRTIO_NET_F_GUEST_ECN), F(VIRTIO_NET_F_CSUM),
		F(VIRTIO_RING_F_EVENT_IDX), F(VIRTIO_RING_F_INDIRECT_DESC),
	};
	struct in in = { data, size };
	struct world w;
	unsigned int restarts = 0;
	int sv[2];

	memset(&w, 0, sizeof(w));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		FAIL("socketpair");
	w.peer = sv[1];
	fake_guest_init(&w.g, RAM_SIZE);
	w.data = fake_guest_alloc(&w.g, DATA_SIZE);
	/* TX completions at once, held (1 us: a poll of the watches finds them due), or auto. */
	static const unsigned int tx_usecs[] = { 0, 1, VIRTIO_NET_TX_USECS_AUTO };
	if (virtio_net_create_fd(&w.vm, sv[0], mac, "fuzz", tx_usecs[u8(&in) % 3]))
		FAIL("create");
	w.vdev = fake_virtio_last();
	fake_virtio_reset_counts();

	uint64_t features = 0;
	uint8_t fb = u8(&in);
	for (unsigned int i = 0; i < ARRAY_SIZE(feature_bits); i++)
		if (fb & (1u << i))
			features |= feature_bits[i];
	start(&w, features);

	for (unsigned int ops = 0; ops < MAX_OPS && in.n; ops++) {
		uint8_t op = u8(&in);

		switch (op % 9) {
		case 0:
		case 1:
			op_chain(&w, &in);
			break;
		case 2:
			op_frame(&w, &in);
			break;
		case 3:
			fuzz_in_io = true;
			w.vdev->ops->notify(w.vdev, op >> 7);
			fuzz_in_io = false;
			break;
		case 4:
			fuzz_in_io = true;
			fake_virtio_poll_watches(w.vdev, 0);
			fuzz_in_io = false;
			break;
		case 5:
			op_drain(&w);
			break;
		case 6:
			if (restarts++ >= MAX_RESTARTS)
				break;
			fake_virtio_stop(w.vdev);
			features = 0;
			fb = u8(&in);
			for (unsigned int i = 0; i < ARRAY_SIZE(feature_bits); i++)
				if (fb & (1u << i))
					features |= feature_bits[i];
			start(&w, features);
			break;
		case 7: {
			unsigned int q = op >> 7;
			struct vring_avail *avail = fake_guest_ptr(&w.g, w.g.q[q].avail);

			w.g.q[q].avail_idx = u16(&in);
			__atomic_store_n(&avail->idx, w.g.q[q].avail_idx, __ATOMIC_RELEASE);
			break;
		}
		case 8:
			if (w.peer >= 0 && (op >> 4) == 0xf) {
				close(w.peer);
				w.peer = -1;
			}
			break;
		}
		if (fuzz_io_allocs)
			FAIL("%lu allocations while the device worked", fuzz_io_allocs);
		if (!w.wild)
			check_used(&w);
	}
	fake_virtio_destroy_all();
	if (w.peer >= 0)
		close(w.peer);
	fake_guest_free(&w.g);
	return 0;
}
