// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net device model through tests/unit/fake_virtio: one end of a
 * SOCK_SEQPACKET socketpair plays the tap (virtio_net_create_fd), the test
 * holds the other. TX frames reach the peer intact with their header; RX
 * frames land in guest buffers with num_buffers set, merged over small
 * buffers or dropped (never truncated) without MRG_RXBUF; hostile chains
 * (case 17) are dropped and returned; the tap watch follows the RX buffers;
 * a full tap holds TX back instead of dropping; reset, link loss, a broken
 * ring; config space and the generated MAC. One test runs on a real tap
 * and skips where tap creation is not allowed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <net/if.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_virtio.h"
#include "virtio/net.h"
#include "vm.h"

#define RXQ	0
#define TXQ	1
#define F(b)	(1ULL << (b))
#define HDR	VIRTIO_NET_HDR_LEN

/* Everything but EVENT_IDX, so that "one interrupt per batch" is countable. */
#define FEAT_ALL (F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MRG_RXBUF) |	\
		  F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) |	\
		  F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_HOST_ECN) |				\
		  F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |				\
		  F(VIRTIO_NET_F_GUEST_ECN) | F(VIRTIO_RING_F_INDIRECT_DESC))
#define FEAT_NO_MRG	(FEAT_ALL & ~F(VIRTIO_NET_F_MRG_RXBUF))

static const uint8_t test_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

struct ctx {
	struct fake_guest g;
	struct vm vm;
	int dev_fd;		/* the device's end (it owns it) */
	int peer;		/* the "network" */
	struct virtio_dev *vdev;
};

static struct ctx c;

/* @state: NULL, or the tx_usecs to create the device with (prestate). */
static int setup(void **state)
{
	unsigned int tx_usecs = *state ? *(const unsigned int *)*state : 0;
	int sv[2];

	memset(&c, 0, sizeof(c));
	fake_guest_init(&c.g, 16 * MiB);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return -1;
	c.dev_fd = sv[0];
	c.peer = sv[1];
	if (virtio_net_create_fd(&c.vm, sv[0], test_mac, "test", tx_usecs))
		return -1;
	c.vdev = fake_virtio_last();
	fake_virtio_reset_counts();
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	fake_virtio_destroy_all();
	close(c.peer);
	fake_guest_free(&c.g);
	return 0;
}

static struct virtio_net_stats stats(void)
{
	struct virtio_net_stats s;

	virtio_net_get_stats(c.vdev, &s);
	return s;
}

static void start(uint64_t features)
{
	assert_int_equal(fake_virtio_start(c.vdev, &c.g, features), 0);
}

/* A frame of @len bytes after the header: byte i is (seed + i) & 0xff. */
static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i);
}

static void peer_send(const struct virtio_net_hdr_v1 *h, size_t len, unsigned int seed)
{
	uint8_t *buf = malloc(HDR + len);

	assert_non_null(buf);
	memcpy(buf, h, HDR);
	fill(buf + HDR, len, seed);
	assert_int_equal(send(c.peer, buf, HDR + len, 0), (ssize_t)(HDR + len));
	free(buf);
}

static void peer_send_plain(size_t len, unsigned int seed)
{
	struct virtio_net_hdr_v1 h = { .num_buffers = 0xabcd };	/* garbage the device overwrites */

	peer_send(&h, len, seed);
}

static unsigned int poll_dev(void)
{
	return fake_virtio_poll_watches(c.vdev, 100);
}

/* An RX chain of one writable buffer of @len bytes; returns the buffer's gpa. */
static uint64_t rx_add(uint32_t len, uint16_t *head)
{
	uint64_t gpa = fake_guest_alloc(&c.g, len);
	uint16_t h = fake_ring_add(&c.g, RXQ, (struct fake_seg[]){ { gpa, len, true } }, 1);

	if (head)
		*head = h;
	return gpa;
}

/* A TX chain: header, then @len frame bytes split into two descriptors. */
static uint16_t tx_add(size_t len, unsigned int seed, uint8_t hdr_flags)
{
	uint64_t h = fake_guest_alloc(&c.g, HDR), d = fake_guest_alloc(&c.g, len);
	struct virtio_net_hdr_v1 *hp = fake_guest_ptr(&c.g, h);
	uint32_t first = (uint32_t)(len / 3);

	hp->flags = hdr_flags;
	hp->csum_start = 34;
	hp->csum_offset = 16;
	fill(fake_guest_ptr(&c.g, d), len, seed);
	return fake_ring_add(&c.g, TXQ, (struct fake_seg[]){ { h, HDR, false },
		{ d, first, false }, { d + first, (uint32_t)(len - first), false } }, 3);
}

static void assert_frame(const uint8_t *p, size_t len, unsigned int seed)
{
	uint8_t *want = malloc(len);

	assert_non_null(want);
	fill(want, len, seed);
	assert_memory_equal(p, want, len);
	free(want);
}

static struct vring_used *used_ring(unsigned int q)
{
	return fake_guest_ptr(&c.g, c.g.q[q].used);
}

/* ---- config, features, helpers ---- */

static void test_config(void **state)
{
	const struct virtio_dev_ops *ops = c.vdev->ops;
	uint8_t b[12], w[4];
	uint64_t f = c.vdev->host_features;

	assert_int_equal(ops->device_id, 1);
	assert_int_equal(ops->nqueues, 2);
	assert_int_equal(ops->queue_max, 256);
	assert_int_equal(ops->config_size, 12);
	assert_null(ops->config_write);
	for (unsigned int off = 0; off < sizeof(b); off++)
		ops->config_read(c.vdev, off, &b[off], 1);
	assert_memory_equal(b, test_mac, 6);
	assert_int_equal(b[6] | b[7] << 8, VIRTIO_NET_S_LINK_UP);
	assert_int_equal(b[8] | b[9] << 8, 1);		/* max_virtqueue_pairs */
	assert_int_equal(b[10] | b[11] << 8, 1500);	/* mtu */
	ops->config_read(c.vdev, 8, w, 4);
	assert_int_equal(w[0] | w[1] << 8 | w[2] << 16 | w[3] << 24, 1 | 1500 << 16);

	for (unsigned int bit = 0; bit < 64; bit++) {
		bool want = F(bit) & (FEAT_ALL | F(VIRTIO_RING_F_EVENT_IDX));

		if ((f & F(bit)) != (want ? F(bit) : 0))
			fail_msg("feature bit %u: offered %d, expected %d", bit, !!(f & F(bit)), want);
	}
}

static void test_mac_from_name(void **state)
{
	uint8_t a[6], b[6];
	static const uint8_t tap0[6] = { 0x52, 0x54, 0x00, 0x4a, 0x63, 0xd6 };

	virtio_net_mac_from_name("tap0", a);
	virtio_net_mac_from_name("tap0", b);
	assert_memory_equal(a, b, 6);
	/* Pinned: a user's guest keeps its MAC (and DHCP lease) across kvmio versions. */
	assert_memory_equal(a, tap0, 6);
	assert_int_equal(a[0] & 1, 0);		/* unicast */
	assert_int_equal(a[0] & 2, 2);		/* locally administered */
	virtio_net_mac_from_name("tap1", b);
	assert_memory_not_equal(a, b, 6);
}

static void test_offloads(void **state)
{
	const uint64_t csum = F(VIRTIO_NET_F_GUEST_CSUM), t4 = F(VIRTIO_NET_F_GUEST_TSO4),
		       t6 = F(VIRTIO_NET_F_GUEST_TSO6), ecn = F(VIRTIO_NET_F_GUEST_ECN);

	assert_int_equal(virtio_net_tun_offloads(0), 0);
	assert_int_equal(virtio_net_tun_offloads(t4 | t6 | ecn), 0);	/* TSO needs CSUM */
	assert_int_equal(virtio_net_tun_offloads(csum), TUN_F_CSUM);
	assert_int_equal(virtio_net_tun_offloads(csum | ecn), TUN_F_CSUM);
	assert_int_equal(virtio_net_tun_offloads(csum | t4), TUN_F_CSUM | TUN_F_TSO4);
	assert_int_equal(virtio_net_tun_offloads(csum | t6 | ecn),
			 TUN_F_CSUM | TUN_F_TSO6 | TUN_F_TSO_ECN);
	assert_int_equal(virtio_net_tun_offloads(FEAT_ALL),
			 TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN);
}

static void test_bad_tap_name(void **state)
{
	struct net_opts o = { .tap = "a-name-longer-than-15" };

	assert_int_equal(virtio_net_create(&c.vm, &o, 0), -EINVAL);
	o.tap = "";
	assert_int_equal(virtio_net_create(&c.vm, &o, 0), -EINVAL);
}

/* ---- TX ---- */

static void tx_frames(uint64_t features)
{
	uint16_t heads[3], head;
	uint32_t len;
	uint8_t buf[2048];

	start(features);
	for (unsigned int i = 0; i < 3; i++)
		heads[i] = tx_add(1000 + i, 7 * i, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	c.vdev->ops->notify(c.vdev, TXQ);

	for (unsigned int i = 0; i < 3; i++) {
		const struct virtio_net_hdr_v1 *h = (const void *)buf;

		assert_int_equal(recv(c.peer, buf, sizeof(buf), 0), HDR + 1000 + i);
		assert_int_equal(h->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);	/* header passed as is */
		assert_int_equal(h->csum_start, 34);
		assert_int_equal(h->csum_offset, 16);
		assert_frame(buf + HDR, 1000 + i, 7 * i);
		assert_true(fake_ring_used(&c.g, TXQ, &head, &len));
		assert_int_equal(head, heads[i]);
		assert_int_equal(len, 0);
	}
	assert_false(fake_ring_used(&c.g, TXQ, &head, &len));
	assert_int_equal(recv(c.peer, buf, sizeof(buf), 0), -1);
	assert_int_equal(stats().tx_frames, 3);
	assert_int_equal(stats().tx_bytes, 3003);
}

static void test_tx_frame(void **state)
{
	tx_frames(FEAT_ALL);
	assert_int_equal(fake_virtio_irqs(TXQ), 1);	/* one interrupt for the batch */
}

static void test_tx_frame_event_idx(void **state)
{
	tx_frames(FEAT_ALL | F(VIRTIO_RING_F_EVENT_IDX));
	assert_int_equal(fake_virtio_irqs(TXQ), 1);
}

static void test_tx_bad_chains(void **state)
{
	uint64_t big = fake_guest_alloc(&c.g, VIRTIO_NET_MAX_PKT + 1);
	uint64_t small = fake_guest_alloc(&c.g, 64);
	static uint8_t buf[VIRTIO_NET_MAX_PKT + 100];
	uint16_t head, bad[3], good[2];
	uint32_t len;

	start(FEAT_ALL);
	/* Shorter than the header, over 64 KiB + header, a writable buffer. */
	bad[0] = fake_ring_add(&c.g, TXQ, (struct fake_seg[]){ { small, HDR - 1, false } }, 1);
	good[0] = fake_ring_add(&c.g, TXQ, (struct fake_seg[]){ { big, VIRTIO_NET_MAX_PKT, false } }, 1);
	bad[1] = fake_ring_add(&c.g, TXQ, (struct fake_seg[]){ { big, VIRTIO_NET_MAX_PKT + 1, false } }, 1);
	bad[2] = fake_ring_add(&c.g, TXQ, (struct fake_seg[]){ { small, HDR, false },
							     { small + HDR, 40, true } }, 2);
	good[1] = fake_ring_add(&c.g, TXQ, (struct fake_seg[]){ { small, HDR + 20, false } }, 1);
	c.vdev->ops->notify(c.vdev, TXQ);

	/* Every chain comes back, in order, with nothing written. */
	uint16_t order[5] = { bad[0], good[0], bad[1], bad[2], good[1] };
	for (unsigned int i = 0; i < 5; i++) {
		assert_true(fake_ring_used(&c.g, TXQ, &head, &len));
		assert_int_equal(head, order[i]);
		assert_int_equal(len, 0);
	}
	/* Only the two good ones went out, whole. */
	assert_int_equal(recv(c.peer, buf, sizeof(buf), 0), VIRTIO_NET_MAX_PKT);
	assert_int_equal(recv(c.peer, buf, sizeof(buf), 0), HDR + 20);
	assert_int_equal(recv(c.peer, buf, sizeof(buf), 0), -1);
	assert_int_equal(stats().tx_dropped, 3);
	assert_int_equal(stats().tx_frames, 2);
	assert_false(fake_virtio_needs_reset());
}

static void test_tx_tap_full(void **state)
{
	const unsigned int n = 30;
	int sndbuf = 4096;
	unsigned int got = 0, used = 0;
	uint8_t buf[2048];
	uint16_t head;
	uint32_t len;

	/* A small send buffer on the device's end: the "tap" is full after a few frames. */
	assert_int_equal(setsockopt(c.dev_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	start(FEAT_ALL);
	for (unsigned int i = 0; i < n; i++)
		tx_add(1000, i, 0);
	c.vdev->ops->notify(c.vdev, TXQ);
	assert_true(stats().tx_eagain >= 1);
	while (fake_ring_used(&c.g, TXQ, &head, &len))
		used++;
	assert_true(used < n);		/* the rest wait, none dropped */

	for (unsigned int rounds = 0; got < n && rounds < 200; rounds++) {
		ssize_t r;

		while ((r = recv(c.peer, buf, sizeof(buf), 0)) > 0) {
			assert_int_equal(r, HDR + 1000);
			assert_frame(buf + HDR, 1000, got);	/* in order */
			got++;
		}
		poll_dev();	/* POLLOUT resumes TX */
	}
	while (fake_ring_used(&c.g, TXQ, &head, &len))
		used++;
	assert_int_equal(got, n);
	assert_int_equal(used, n);
	assert_int_equal(stats().tx_dropped, 0);
	assert_int_equal(stats().tx_frames, n);
}

/* TX completion hold (tx-usecs), 10 ms here: long enough to look before it ends. */
static const unsigned int hold_10ms = 10000;

static unsigned int used_count(unsigned int q, uint16_t *heads)
{
	unsigned int n = 0;
	uint32_t len;
	uint16_t head;

	while (fake_ring_used(&c.g, q, &head, &len)) {
		assert_int_equal(len, 0);
		heads[n++] = head;
	}
	return n;
}

/* EVENT_IDX: does the device ask for a kick on the TX queue's next buffer (2.7.10)? */
static bool tx_kicks_wanted(void)
{
	const uint8_t *used = fake_guest_ptr(&c.g, c.g.q[TXQ].used);
	uint16_t avail_event;

	memcpy(&avail_event, used + 4 + 8 * FAKE_QSIZE, 2);
	return avail_event == c.g.q[TXQ].avail_idx;
}

/*
 * tx-usecs: frames go out at once, then the device stays unkicked and takes
 * what comes at the next tick; the chains come back at the tick, one
 * interrupt each time; a tick with nothing new turns kicks back on.
 */
static void test_tx_hold(void **state)
{
	uint16_t heads[4], used[FAKE_QSIZE];
	uint8_t buf[2048];
	unsigned int n = 0;

	start(FEAT_ALL | F(VIRTIO_RING_F_EVENT_IDX));
	assert_true(tx_kicks_wanted());
	for (unsigned int i = 0; i < 3; i++)
		heads[i] = tx_add(500 + i, i, 0);
	c.vdev->ops->notify(c.vdev, TXQ);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(recv(c.peer, buf, sizeof(buf), 0), HDR + 500 + i);
		assert_frame(buf + HDR, 500 + i, i);
	}
	assert_int_equal(used_count(TXQ, used), 0);
	assert_int_equal(fake_virtio_irqs(TXQ), 0);
	assert_false(tx_kicks_wanted());
	/* A frame added without a kick goes out at the tick, with the others' completions. */
	heads[3] = tx_add(600, 9, 0);
	for (unsigned int tries = 0; n == 0 && tries < 50; tries++) {
		poll_dev();
		n = used_count(TXQ, used);
	}
	assert_int_equal(n, 3);
	assert_memory_equal(used, heads, 3 * sizeof(heads[0]));
	assert_int_equal(fake_virtio_irqs(TXQ), 1);
	assert_int_equal(recv(c.peer, buf, sizeof(buf), 0), HDR + 600);
	assert_frame(buf + HDR, 600, 9);
	assert_false(tx_kicks_wanted());
	/* As a driver that took those 3 and wants an interrupt for the next (used_event). */
	uint8_t *avail = fake_guest_ptr(&c.g, c.g.q[TXQ].avail);
	uint16_t used_event = 3;

	memcpy(avail + 4 + 2 * FAKE_QSIZE, &used_event, 2);
	/* The next tick gives it back, finds nothing new and turns kicks back on. */
	n = 0;
	for (unsigned int tries = 0; n == 0 && tries < 50; tries++) {
		poll_dev();
		n = used_count(TXQ, used);
	}
	assert_int_equal(n, 1);
	assert_int_equal(used[0], heads[3]);
	assert_int_equal(fake_virtio_irqs(TXQ), 2);
	assert_true(tx_kicks_wanted());
	assert_int_equal(stats().tx_frames, 4);
	/* Nothing more comes, nor another interrupt. */
	poll_dev();
	assert_int_equal(used_count(TXQ, used), 0);
	assert_int_equal(fake_virtio_irqs(TXQ), 2);
	assert_true(tx_kicks_wanted());
}

/* A one-descriptor TX chain: header and @len frame bytes. */
static void tx_add1(size_t len)
{
	uint64_t b = fake_guest_alloc(&c.g, HDR + len);

	fake_ring_add(&c.g, TXQ, (struct fake_seg[]){ { b, (uint32_t)(HDR + len), false } }, 1);
}

/* Half the ring held goes back at once: the driver must not run out of descriptors. */
static void test_tx_hold_half_ring(void **state)
{
	uint16_t used[FAKE_QSIZE];
	uint8_t buf[256];

	start(FEAT_ALL);
	for (unsigned int i = 0; i < FAKE_QSIZE / 2 - 1; i++)
		tx_add1(60);
	c.vdev->ops->notify(c.vdev, TXQ);
	assert_int_equal(used_count(TXQ, used), 0);
	tx_add1(60);
	c.vdev->ops->notify(c.vdev, TXQ);
	assert_int_equal(used_count(TXQ, used), FAKE_QSIZE / 2);
	assert_int_equal(fake_virtio_irqs(TXQ), 1);
	for (unsigned int i = 0; i < FAKE_QSIZE / 2; i++)
		assert_int_equal(recv(c.peer, buf, sizeof(buf), 0), HDR + 60);
}

/* A reset with completions held: they belong to the old rings; nothing comes back later. */
static void test_tx_hold_reset(void **state)
{
	uint16_t used[FAKE_QSIZE];
	uint8_t buf[256];

	start(FEAT_ALL);
	tx_add(60, 1, 0);
	c.vdev->ops->notify(c.vdev, TXQ);
	assert_int_equal(recv(c.peer, buf, sizeof(buf), 0), HDR + 60);
	fake_virtio_stop(c.vdev);
	start(FEAT_ALL);
	nanosleep(&(struct timespec){ 0, 20 * 1000000 }, NULL);	/* twice the hold */
	poll_dev();
	assert_int_equal(used_count(TXQ, used), 0);
	assert_int_equal(fake_virtio_irqs(TXQ), 0);
	/* The new rings work, with the hold. */
	tx_add(70, 2, 0);
	c.vdev->ops->notify(c.vdev, TXQ);
	assert_int_equal(recv(c.peer, buf, sizeof(buf), 0), HDR + 70);
	for (unsigned int tries = 0; tries < 50 && !used_count(TXQ, used); tries++)
		poll_dev();
	assert_int_equal(fake_virtio_irqs(TXQ), 1);
}

/* ---- tx-usecs=auto ---- */

static const unsigned int tx_auto = VIRTIO_NET_TX_USECS_AUTO;

/* One TX frame of @len bytes, kicked: it reaches the peer at once, moderated or not. */
static uint16_t tx_kick(size_t len, unsigned int seed)
{
	static uint8_t buf[HDR + 4096];
	uint16_t head = tx_add(len, seed, 0);

	c.vdev->ops->notify(c.vdev, TXQ);
	assert_int_equal(recv(c.peer, buf, sizeof(buf), 0), (ssize_t)(HDR + len));
	assert_frame(buf + HDR, len, seed);
	return head;
}

/* Not moderated: the kick's chain is back at once, and kicks stay on. */
static void assert_tx_immediate(uint16_t head)
{
	uint16_t used[FAKE_QSIZE];

	assert_int_equal(used_count(TXQ, used), 1);
	assert_int_equal(used[0], head);
	assert_true(tx_kicks_wanted());
}

/* Moderated: the chain is held for the tick, and the ring is not kicked meanwhile. */
static void assert_tx_moderated(void)
{
	uint16_t used[FAKE_QSIZE];

	assert_int_equal(used_count(TXQ, used), 0);
	assert_false(tx_kicks_wanted());
}

/* TX frames larger than the MTU: GSO frames, as a TCP sender's. */
#define BULK	3000

static void test_tx_auto_usecs(void **state)
{
	assert_int_equal(virtio_net_tx_auto_usecs(0), VIRTIO_NET_TX_AUTO_MIN);
	assert_int_equal(virtio_net_tx_auto_usecs(VIRTIO_NET_TX_AUTO_MIN / 2 - 1), VIRTIO_NET_TX_AUTO_MIN);
	assert_int_equal(virtio_net_tx_auto_usecs(100), 200);
	assert_int_equal(virtio_net_tx_auto_usecs(VIRTIO_NET_TX_AUTO_MAX / 2), VIRTIO_NET_TX_AUTO_MAX);
	assert_int_equal(virtio_net_tx_auto_usecs(VIRTIO_NET_TX_AUTO_MAX / 2 + 1), VIRTIO_NET_TX_AUTO_MAX);
	assert_int_equal(virtio_net_tx_auto_usecs(~0u), VIRTIO_NET_TX_AUTO_MAX);
}

/* Frames up to the MTU are never moderated, however fast they come, even after a bulk one. */
static void test_tx_auto_small(void **state)
{
	start(FEAT_ALL | F(VIRTIO_RING_F_EVENT_IDX));
	assert_tx_immediate(tx_kick(BULK, 9));
	for (unsigned int i = 0; i < 4; i++)
		assert_tx_immediate(tx_kick(1500 + 14, i));
	poll_dev();
	assert_int_equal(stats().tx_ticks, 0);
}

/* Two bulk kicks back to back start a moderated stream; returns the second frame's head. */
static uint16_t stream_start(void)
{
	uint16_t second;

	start(FEAT_ALL | F(VIRTIO_RING_F_EVENT_IDX));
	assert_tx_immediate(tx_kick(BULK, 1));
	second = tx_kick(BULK, 2);
	assert_tx_moderated();
	return second;
}

/* Run the device until a tick gives chains back; their heads into @used. */
static unsigned int wait_tick(uint16_t *used)
{
	unsigned int n = 0;

	for (unsigned int tries = 0; n == 0 && tries < 50; tries++) {
		poll_dev();
		n = used_count(TXQ, used);
	}
	return n;
}

/* Run the device until it wants kicks again; the heads given back meanwhile into @used. */
static unsigned int wait_kicks_on(uint16_t *used)
{
	unsigned int n = 0;

	for (unsigned int tries = 0; !tx_kicks_wanted() && tries < 50; tries++) {
		poll_dev();
		n += used_count(TXQ, used + n);
	}
	return n;
}

/*
 * A bulk stream: the first kick is not one yet; the second, right after, is.
 * Its frame goes at once and comes back at the tick with the frames that
 * came meanwhile, unkicked; a tick that finds nothing turns kicks back on,
 * and a kick right after it (the guest had waited for those completions)
 * continues the stream; one after a quiet spell starts over.
 */
static void test_tx_auto_bulk(void **state)
{
	uint16_t used[FAKE_QSIZE], second, third;
	uint8_t buf[HDR + BULK];

	second = stream_start();
	third = tx_add(BULK, 3, 0);
	assert_int_equal(wait_tick(used), 1);
	assert_int_equal(used[0], second);
	assert_int_equal(recv(c.peer, buf, sizeof(buf), 0), HDR + BULK);
	assert_frame(buf + HDR, BULK, 3);
	assert_false(tx_kicks_wanted());
	assert_int_equal(wait_kicks_on(used), 1);
	assert_int_equal(used[0], third);
	assert_true(tx_kicks_wanted());
	assert_true(stats().tx_ticks >= 2);
	tx_kick(BULK, 4);
	assert_tx_moderated();
	assert_int_equal(wait_kicks_on(used), 1);
	/* Quiet for longer than a stream's kicks are apart: the next kick starts over. */
	nanosleep(&(struct timespec){ 0, (VIRTIO_NET_TX_AUTO_GAP_MAX + 1000) * 1000L }, NULL);
	assert_tx_immediate(tx_kick(BULK, 5));
	assert_int_equal(stats().tx_frames, 5);
}

/*
 * In a stream, a pass of frames under the MTU that carry data keeps it
 * moderated, a tick's as well as a kick's right after a tick (a sender's
 * frames shrink when its completions come back at once); a pass of
 * ACK-sized frames only ends it.
 */
static void test_tx_auto_small_in_stream(void **state)
{
	uint16_t used[FAKE_QSIZE], second, small, ack;
	uint8_t buf[HDR + BULK];

	second = stream_start();
	small = tx_add(600, 3, 0);
	assert_int_equal(wait_tick(used), 1);		/* the second frame, at the tick */
	assert_int_equal(used[0], second);
	assert_int_equal(recv(c.peer, buf, sizeof(buf), 0), HDR + 600);
	assert_frame(buf + HDR, 600, 3);
	assert_false(tx_kicks_wanted());		/* still moderated */
	assert_int_equal(wait_kicks_on(used), 1);	/* a tick found the ring empty */
	assert_int_equal(used[0], small);
	/* A small data frame kicked right after that tick: the stream goes on. */
	small = tx_kick(700, 4);
	assert_tx_moderated();
	ack = tx_add(66, 5, 0);
	assert_int_equal(wait_kicks_on(used), 2);	/* the ACK-sized pass ended it */
	assert_int_equal(recv(c.peer, buf, sizeof(buf), 0), HDR + 66);
	assert_int_equal(used[0], small);
	assert_int_equal(used[1], ack);
	assert_int_equal(stats().tx_unmod_gap, 1);	/* the first kick: no stream yet */
	assert_int_equal(stats().tx_unmod_small, 1);	/* the ACK's pass */
}

/* Data coming back between two bulk kicks: request/response, never delayed; pure ACKs are not. */
static void test_tx_auto_conversation(void **state)
{
	start(FEAT_ALL | F(VIRTIO_RING_F_EVENT_IDX));
	rx_add(2048, NULL);
	rx_add(2048, NULL);
	assert_tx_immediate(tx_kick(BULK, 1));
	peer_send_plain(100, 5);
	assert_int_equal(poll_dev(), 1);
	assert_tx_immediate(tx_kick(BULK, 2));
	peer_send_plain(66, 6);		/* Ethernet, IPv4, TCP with timestamps, no data */
	assert_int_equal(poll_dev(), 1);
	tx_kick(BULK, 3);
	assert_tx_moderated();
	assert_int_equal(stats().rx_frames, 2);
}

/* Kicks further apart than VIRTIO_NET_TX_AUTO_GAP_MAX are not a stream. */
static void test_tx_auto_gap(void **state)
{
	start(FEAT_ALL | F(VIRTIO_RING_F_EVENT_IDX));
	assert_tx_immediate(tx_kick(BULK, 1));
	nanosleep(&(struct timespec){ 0, (VIRTIO_NET_TX_AUTO_GAP_MAX + 1000) * 1000L }, NULL);
	assert_tx_immediate(tx_kick(BULK, 2));
	tx_kick(BULK, 3);
	assert_tx_moderated();
}

/* ---- RX ---- */

static void test_rx_one_buffer(void **state)
{
	struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_DATA_VALID, .num_buffers = 77 };
	uint16_t head, want;
	uint32_t len;
	uint64_t gpa;
	const struct virtio_net_hdr_v1 *gh;

	start(FEAT_ALL);
	gpa = rx_add(2048, &want);
	peer_send(&h, 1000, 3);
	assert_int_equal(poll_dev(), 1);
	assert_true(fake_ring_used(&c.g, RXQ, &head, &len));
	assert_int_equal(head, want);
	assert_int_equal(len, HDR + 1000);
	gh = fake_guest_ptr(&c.g, gpa);
	assert_int_equal(gh->num_buffers, 1);
	assert_int_equal(gh->flags, VIRTIO_NET_HDR_F_DATA_VALID);	/* GUEST_CSUM: kept */
	assert_frame(fake_guest_ptr(&c.g, gpa + HDR), 1000, 3);
	assert_int_equal(fake_virtio_irqs(RXQ), 1);
	assert_int_equal(stats().rx_frames, 1);
	assert_int_equal(stats().rx_bytes, 1000);
}

static void test_rx_mergeable(void **state)
{
	uint64_t a = fake_guest_alloc(&c.g, 600), b, d, e;
	uint16_t heads[4], head;
	uint32_t len;
	uint8_t got[HDR + 1700];
	const struct virtio_net_hdr_v1 *gh = fake_guest_ptr(&c.g, a);

	start(FEAT_ALL);
	/* The first chain in two descriptors, so the header's 12 bytes straddle nothing special. */
	heads[0] = fake_ring_add(&c.g, RXQ, (struct fake_seg[]){ { a, 5, true }, { a + 5, 595, true } }, 2);
	b = rx_add(600, &heads[1]);
	d = rx_add(600, &heads[2]);
	e = rx_add(600, &heads[3]);
	peer_send_plain(1700, 9);
	assert_int_equal(poll_dev(), 1);

	static const uint32_t lens[3] = { 600, 600, HDR + 1700 - 1200 };
	for (unsigned int i = 0; i < 3; i++) {
		assert_true(fake_ring_used(&c.g, RXQ, &head, &len));
		assert_int_equal(head, heads[i]);
		assert_int_equal(len, lens[i]);
	}
	assert_false(fake_ring_used(&c.g, RXQ, &head, &len));
	assert_int_equal(gh->num_buffers, 3);
	memcpy(got, fake_guest_ptr(&c.g, a), 600);
	memcpy(got + 600, fake_guest_ptr(&c.g, b), 600);
	memcpy(got + 1200, fake_guest_ptr(&c.g, d), lens[2]);
	assert_frame(got + HDR, 1700, 9);
	assert_int_equal(fake_virtio_irqs(RXQ), 1);

	/* The fourth buffer takes the next frame alone. */
	peer_send_plain(100, 1);
	assert_int_equal(poll_dev(), 1);
	assert_true(fake_ring_used(&c.g, RXQ, &head, &len));
	assert_int_equal(head, heads[3]);
	assert_int_equal(len, HDR + 100);
	assert_int_equal(((const struct virtio_net_hdr_v1 *)fake_guest_ptr(&c.g, e))->num_buffers, 1);
	assert_frame(fake_guest_ptr(&c.g, e + HDR), 100, 1);
}

static void test_rx_no_mrg_too_small(void **state)
{
	uint16_t want, head;
	uint32_t len;
	uint64_t gpa;

	start(FEAT_NO_MRG);
	gpa = rx_add(200, &want);
	peer_send_plain(1000, 0);
	poll_dev();
	assert_false(fake_ring_used(&c.g, RXQ, &head, &len));	/* dropped, not truncated */
	assert_int_equal(stats().rx_dropped, 1);
	assert_int_equal(fake_virtio_irqs(RXQ), 0);

	/* The same buffer takes the next frame that fits. */
	peer_send_plain(100, 5);
	assert_int_equal(poll_dev(), 1);
	assert_true(fake_ring_used(&c.g, RXQ, &head, &len));
	assert_int_equal(head, want);
	assert_int_equal(len, HDR + 100);
	assert_int_equal(((const struct virtio_net_hdr_v1 *)fake_guest_ptr(&c.g, gpa))->num_buffers, 1);
	assert_frame(fake_guest_ptr(&c.g, gpa + HDR), 100, 5);
	assert_int_equal(stats().rx_frames, 1);
}

static void test_rx_no_buffers(void **state)
{
	uint16_t head, h1;
	uint32_t len;
	uint64_t gpa;

	start(FEAT_ALL);
	assert_int_equal(used_ring(RXQ)->flags, VRING_USED_F_NO_NOTIFY);	/* the tap drives RX */
	peer_send_plain(100, 1);
	assert_int_equal(poll_dev(), 1);	/* readable, but nowhere to put it */
	assert_int_equal(poll_dev(), 0);	/* the watch is off: no spinning on it */
	assert_int_equal(used_ring(RXQ)->flags, 0);	/* and the driver is asked to kick */

	/* The driver adds buffers and kicks: the frame was kept, and the watch is back. */
	gpa = rx_add(2048, &h1);
	rx_add(2048, NULL);
	c.vdev->ops->notify(c.vdev, RXQ);
	assert_true(fake_ring_used(&c.g, RXQ, &head, &len));
	assert_int_equal(head, h1);
	assert_int_equal(len, HDR + 100);
	assert_frame(fake_guest_ptr(&c.g, gpa + HDR), 100, 1);
	assert_int_equal(used_ring(RXQ)->flags, VRING_USED_F_NO_NOTIFY);
	peer_send_plain(200, 2);
	assert_int_equal(poll_dev(), 1);
	assert_true(fake_ring_used(&c.g, RXQ, &head, &len));
	assert_int_equal(len, HDR + 200);
	assert_int_equal(stats().rx_dropped, 0);
}

static void test_rx_mergeable_waits_for_buffers(void **state)
{
	uint16_t h1, h2, head;
	uint32_t len;
	uint64_t a, b;
	uint8_t got[HDR + 1000];

	start(FEAT_ALL);
	a = rx_add(600, &h1);
	peer_send_plain(1000, 4);
	poll_dev();
	assert_false(fake_ring_used(&c.g, RXQ, &head, &len));	/* half a frame is not published */
	assert_int_equal(poll_dev(), 0);

	b = rx_add(600, &h2);
	c.vdev->ops->notify(c.vdev, RXQ);
	assert_true(fake_ring_used(&c.g, RXQ, &head, &len));
	assert_int_equal(head, h1);
	assert_int_equal(len, 600);
	assert_true(fake_ring_used(&c.g, RXQ, &head, &len));
	assert_int_equal(head, h2);
	assert_int_equal(len, HDR + 1000 - 600);
	assert_int_equal(((const struct virtio_net_hdr_v1 *)fake_guest_ptr(&c.g, a))->num_buffers, 2);
	memcpy(got, fake_guest_ptr(&c.g, a), 600);
	memcpy(got + 600, fake_guest_ptr(&c.g, b), HDR + 1000 - 600);
	assert_frame(got + HDR, 1000, 4);
	assert_int_equal(fake_virtio_irqs(RXQ), 1);
}

static void test_rx_sizes(void **state)
{
	uint16_t head;
	uint32_t len, total = 0;
	unsigned int nbufs = 0;
	uint64_t first = 0;
	static uint8_t buf[VIRTIO_NET_MAX_PKT + 1];

	start(FEAT_ALL);
	for (unsigned int i = 0; i < 40; i++) {
		uint64_t gpa = rx_add(2048, NULL);

		if (i == 0)
			first = gpa;
	}
	/* One byte too long, and shorter than an Ethernet header: dropped whole. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(send(c.peer, buf, VIRTIO_NET_MAX_PKT + 1, 0), VIRTIO_NET_MAX_PKT + 1);
	assert_int_equal(send(c.peer, buf, HDR + 13, 0), HDR + 13);
	/* The largest frame: 64 KiB of IP packet, its Ethernet header, the vnet header. */
	peer_send_plain(VIRTIO_NET_MAX_PKT - HDR, 11);
	poll_dev();
	while (fake_ring_used(&c.g, RXQ, &head, &len)) {
		assert_int_equal(head, nbufs);	/* in ring order: fake heads are sequential */
		nbufs++;
		total += len;
	}
	assert_int_equal(stats().rx_dropped, 2);
	assert_int_equal(total, VIRTIO_NET_MAX_PKT);
	assert_int_equal(nbufs, (VIRTIO_NET_MAX_PKT + 2047) / 2048);
	assert_int_equal(((const struct virtio_net_hdr_v1 *)fake_guest_ptr(&c.g, first))->num_buffers,
			 nbufs);
	assert_frame(fake_guest_ptr(&c.g, first + HDR), 2048 - HDR, 11);
}

static void test_rx_offloads_negotiated(void **state)
{
	struct virtio_net_hdr_v1 valid = { .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	struct virtio_net_hdr_v1 partial = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					     .csum_start = 34, .csum_offset = 16 };
	struct virtio_net_hdr_v1 tso = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					 .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448 };
	uint16_t head;
	uint32_t len;
	uint64_t gpa;

	/* No GUEST_CSUM: flags cleared (5.1.6.4.1), partial checksums and TSO dropped. */
	start(FEAT_ALL & ~F(VIRTIO_NET_F_GUEST_CSUM));
	gpa = rx_add(4096, NULL);
	rx_add(4096, NULL);
	peer_send(&partial, 100, 0);
	peer_send(&tso, 3000, 0);
	peer_send(&valid, 100, 0);
	poll_dev();
	assert_true(fake_ring_used(&c.g, RXQ, &head, &len));
	assert_int_equal(len, HDR + 100);
	assert_int_equal(((const struct virtio_net_hdr_v1 *)fake_guest_ptr(&c.g, gpa))->flags, 0);
	assert_false(fake_ring_used(&c.g, RXQ, &head, &len));
	assert_int_equal(stats().rx_dropped, 2);

	/* After a reset with GUEST_CSUM and GUEST_TSO4 the same frames go through as they are. */
	fake_virtio_stop(c.vdev);
	start(FEAT_ALL);
	gpa = rx_add(4096, NULL);
	peer_send(&tso, 3000, 6);
	poll_dev();
	assert_true(fake_ring_used(&c.g, RXQ, &head, &len));
	assert_int_equal(len, HDR + 3000);
	const struct virtio_net_hdr_v1 *gh = fake_guest_ptr(&c.g, gpa);
	assert_int_equal(gh->gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(gh->gso_size, 1448);
	assert_int_equal(gh->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_frame(fake_guest_ptr(&c.g, gpa + HDR), 3000, 6);
}

static void test_rx_bad_chains(void **state)
{
	uint64_t ro = fake_guest_alloc(&c.g, 100), tiny = fake_guest_alloc(&c.g, 8);
	uint16_t bad1, bad2, good, head;
	uint32_t len;

	start(FEAT_ALL);
	bad1 = fake_ring_add(&c.g, RXQ, (struct fake_seg[]){ { ro, 100, false },
							     { ro, 100, true } }, 2);
	bad2 = fake_ring_add(&c.g, RXQ, (struct fake_seg[]){ { tiny, 8, true } }, 1);
	rx_add(2048, &good);
	peer_send_plain(500, 0);
	poll_dev();
	assert_true(fake_ring_used(&c.g, RXQ, &head, &len));
	assert_int_equal(head, bad1);
	assert_int_equal(len, 0);
	assert_true(fake_ring_used(&c.g, RXQ, &head, &len));
	assert_int_equal(head, bad2);
	assert_int_equal(len, 0);
	assert_true(fake_ring_used(&c.g, RXQ, &head, &len));
	assert_int_equal(head, good);
	assert_int_equal(len, HDR + 500);
	assert_int_equal(stats().rx_bad_chains, 2);
	/* The device never wrote the device-readable buffer. */
	for (unsigned int i = 0; i < 100; i++)
		assert_int_equal(((uint8_t *)fake_guest_ptr(&c.g, ro))[i], 0);
	assert_false(fake_virtio_needs_reset());
}

static void test_rx_budget(void **state)
{
	uint16_t head;
	uint32_t len;
	unsigned int n = 0;

	start(FEAT_ALL);
	for (unsigned int i = 0; i < 100; i++)
		rx_add(256, NULL);
	for (unsigned int i = 0; i < 100; i++)
		peer_send_plain(50, i);
	assert_int_equal(poll_dev(), 1);
	while (fake_ring_used(&c.g, RXQ, &head, &len))
		n++;
	assert_int_equal(n, VIRTIO_NET_RX_BUDGET);	/* bounded work per wakeup */
	assert_int_equal(fake_virtio_irqs(RXQ), 1);
	while (poll_dev())
		;
	while (fake_ring_used(&c.g, RXQ, &head, &len))
		n++;
	assert_int_equal(n, 100);
	assert_int_equal(stats().rx_frames, 100);
}

static void test_rx_frame_larger_than_ring(void **state)
{
	uint64_t bufs = fake_guest_alloc(&c.g, FAKE_QSIZE * 16);
	uint16_t head;
	uint32_t len;
	unsigned int n = 0;

	/* Every buffer of the ring holds 16 bytes: all 256 of them cannot take 5000. */
	start(FEAT_ALL);
	for (unsigned int i = 0; i < FAKE_QSIZE; i++)
		fake_ring_add(&c.g, RXQ, (struct fake_seg[]){ { bufs + 16 * i, 16, true } }, 1);
	peer_send_plain(5000, 0);
	poll_dev();
	/* Dropped, and every buffer given back: the driver can go on (no deadlock). */
	while (fake_ring_used(&c.g, RXQ, &head, &len)) {
		assert_int_equal(len, 0);
		n++;
	}
	assert_int_equal(n, FAKE_QSIZE);
	assert_int_equal(stats().rx_dropped, 1);
	assert_false(fake_virtio_needs_reset());
}

static void test_rx_many_segments(void **state)
{
	/* An indirect table of VIRTQ_MAX_IOV writable descriptors: more than one readv takes. */
	uint64_t table = fake_guest_alloc(&c.g, 16 * VIRTQ_MAX_IOV);
	uint64_t buf = fake_guest_alloc(&c.g, 4 * VIRTQ_MAX_IOV);
	struct vring_desc *t = fake_guest_ptr(&c.g, table), *desc;
	uint16_t head, h;
	uint32_t len;

	for (unsigned int i = 0; i < VIRTQ_MAX_IOV; i++) {
		t[i].addr = buf + 4 * i;
		t[i].len = i == 0 ? 16 : 4;	/* the header leaves 4 bytes of the first */
		t[i].flags = VRING_DESC_F_WRITE | (i + 1 < VIRTQ_MAX_IOV ? VRING_DESC_F_NEXT : 0);
		t[i].next = (uint16_t)(i + 1);
	}
	for (unsigned int i = 1; i < VIRTQ_MAX_IOV; i++)
		t[i].addr = buf + 12 + 4 * i;
	start(FEAT_ALL);
	h = fake_ring_add(&c.g, RXQ, (struct fake_seg[]){ { table, 16 * VIRTQ_MAX_IOV, false } }, 1);
	desc = fake_guest_ptr(&c.g, c.g.q[RXQ].desc);
	desc[h].flags = VRING_DESC_F_INDIRECT;
	peer_send_plain(3000, 2);
	assert_int_equal(poll_dev(), 1);
	assert_true(fake_ring_used(&c.g, RXQ, &head, &len));
	assert_int_equal(head, h);
	assert_int_equal(len, HDR + 3000);
	assert_int_equal(((const struct virtio_net_hdr_v1 *)fake_guest_ptr(&c.g, buf))->num_buffers, 1);
	assert_frame(fake_guest_ptr(&c.g, buf + HDR), 3000, 2);
}

/* ---- lifecycle and failures ---- */

static void test_stop_start(void **state)
{
	uint16_t head;
	uint32_t len;
	uint64_t old_used;
	uint8_t buf[256];

	start(FEAT_ALL);
	rx_add(600, NULL);
	tx_add(100, 0, 0);
	peer_send_plain(1000, 0);	/* half-delivered when the reset comes */
	poll_dev();
	old_used = c.g.q[RXQ].used;
	fake_virtio_stop(c.vdev);
	assert_int_equal(stats().rx_dropped, 1);

	start(FEAT_ALL);
	c.vdev->ops->notify(c.vdev, TXQ);	/* the old TX chain is gone with the old rings */
	assert_int_equal(recv(c.peer, buf, sizeof(buf), 0), -1);
	tx_add(100, 3, 0);
	c.vdev->ops->notify(c.vdev, TXQ);
	assert_int_equal(recv(c.peer, buf, sizeof(buf), 0), HDR + 100);
	assert_frame(buf + HDR, 100, 3);
	rx_add(2048, NULL);
	peer_send_plain(100, 8);
	assert_int_equal(poll_dev(), 1);
	assert_true(fake_ring_used(&c.g, RXQ, &head, &len));
	assert_int_equal(len, HDR + 100);
	/* Nothing was written to the old used ring. */
	assert_int_equal(((struct vring_used *)fake_guest_ptr(&c.g, old_used))->idx, 0);
}

static void test_link_down(void **state)
{
	uint8_t st[2];
	uint16_t head;
	uint32_t len;

	start(FEAT_ALL);
	rx_add(2048, NULL);
	close(c.peer);
	c.peer = -1;
	poll_dev();
	c.vdev->ops->config_read(c.vdev, 6, st, 2);
	assert_int_equal(st[0] | st[1] << 8, 0);
	assert_int_equal(fake_virtio_config_irqs(), 1);
	assert_int_equal(poll_dev(), 0);	/* a dead fd is not polled */
	/* The dead file itself is let go: its fd number no longer polls HUP for ever. */
	struct pollfd p = { .fd = c.dev_fd, .events = 0 };
	assert_int_equal(poll(&p, 1, 0), 0);
	/* TX is still drained, so the driver never waits on a dead link. */
	tx_add(100, 0, 0);
	c.vdev->ops->notify(c.vdev, TXQ);
	assert_true(fake_ring_used(&c.g, TXQ, &head, &len));
	assert_int_equal(stats().tx_errors, 1);
	assert_false(fake_virtio_needs_reset());
}

static void test_broken_ring(void **state)
{
	struct vring_avail *avail;

	start(FEAT_ALL);
	avail = fake_guest_ptr(&c.g, c.g.q[RXQ].avail);
	avail->idx = 1000;	/* more than the queue size ahead: case 9 */
	peer_send_plain(100, 0);
	poll_dev();
	assert_true(fake_virtio_needs_reset());
	assert_int_equal(poll_dev(), 0);	/* no spinning on the tap until the reset */
	c.vdev->ops->notify(c.vdev, TXQ);	/* nor work on the other queue */
	assert_int_equal(stats().tx_frames, 0);

	fake_virtio_stop(c.vdev);
	fake_virtio_reset_counts();
	start(FEAT_ALL);
	rx_add(2048, NULL);
	assert_int_equal(poll_dev(), 1);	/* the frame waited in the tap */
	assert_int_equal(stats().rx_frames, 1);
}

/* ---- a real tap ---- */

static int if_set_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (s < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	r = ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (!r)
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	close(s);
	return r;
}

#define ETH_P_TEST	0x88b5	/* IEEE 802 local experimental */

static void test_real_tap(void **state)
{
	char name[IFNAMSIZ];
	struct net_opts o = { 0 };
	struct virtio_dev *vdev;
	uint8_t mac[6], cfg[6], frame[60], got[2048];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_TEST) };
	struct pollfd pfd;
	uint16_t head;
	uint32_t len;
	int ps, ret;
	bool seen = false;

	snprintf(name, sizeof(name), "kvmiot%d", (int)(getpid() % 100000));
	o.tap = name;
	ret = virtio_net_create(&c.vm, &o, 0);
	if (ret == -EPERM || ret == -EACCES || ret == -ENOENT || ret == -ENODEV)
		skip();
	assert_int_equal(ret, 0);
	vdev = fake_virtio_last();
	assert_true(if_nametoindex(name) > 0);
	/* Attaching a second time to a single-queue tap: EBUSY. */
	assert_int_equal(virtio_net_create(&c.vm, &o, 1), -EBUSY);
	vdev->ops->config_read(vdev, 0, cfg, 6);
	virtio_net_mac_from_name(name, mac);
	assert_memory_equal(cfg, mac, 6);
	assert_int_equal(fake_virtio_start(vdev, &c.g, FEAT_ALL), 0);	/* TUNSETOFFLOAD */

	ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_TEST));
	if (ps < 0 || if_set_up(name))
		skip();
	sll.sll_ifindex = (int)if_nametoindex(name);
	assert_int_equal(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);

	/* Guest TX: the frame appears on the host interface. */
	uint64_t h = fake_guest_alloc(&c.g, HDR + sizeof(frame));
	uint8_t *p = fake_guest_ptr(&c.g, h + HDR);
	memset(p, 0xff, 6);
	memcpy(p + 6, mac, 6);
	p[12] = ETH_P_TEST >> 8;
	p[13] = ETH_P_TEST & 0xff;
	memcpy(p + 14, "kvmio-tx", 8);
	fake_ring_add(&c.g, TXQ, (struct fake_seg[]){ { h, HDR + sizeof(frame), false } }, 1);
	vdev->ops->notify(vdev, TXQ);
	pfd = (struct pollfd){ .fd = ps, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_int_equal(recv(ps, got, sizeof(got), 0), sizeof(frame));
	assert_memory_equal(got, p, sizeof(frame));

	/* Host TX to the guest's MAC: it lands in a guest buffer (among IPv6 chatter, maybe). */
	for (unsigned int i = 0; i < 16; i++)
		rx_add(2048, NULL);
	memcpy(frame, mac, 6);
	memcpy(frame + 6, "\x02\x00\x00\x00\x00\x01", 6);
	frame[12] = ETH_P_TEST >> 8;
	frame[13] = ETH_P_TEST & 0xff;
	memset(frame + 14, 0, sizeof(frame) - 14);
	memcpy(frame + 14, "kvmio-rx", 8);
	assert_int_equal(sendto(ps, frame, sizeof(frame), 0, (struct sockaddr *)&sll, sizeof(sll)),
			 sizeof(frame));
	for (unsigned int tries = 0; !seen && tries < 20; tries++) {
		fake_virtio_poll_watches(vdev, 100);
		while (fake_ring_used(&c.g, RXQ, &head, &len)) {
			/* fake heads are sequential, buffers 4 KiB-aligned in allocation order */
			const struct vring_desc *d = fake_guest_ptr(&c.g, c.g.q[RXQ].desc);
			const uint8_t *b = fake_guest_ptr(&c.g, d[head].addr);

			if (len >= HDR + sizeof(frame) && !memcmp(b + HDR, frame, sizeof(frame)))
				seen = true;
		}
	}
	assert_true(seen);
	close(ps);

	/* kvmio created it, so it goes away with the device. */
	fake_virtio_destroy_all();
	assert_int_equal(if_nametoindex(name), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mac_from_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offloads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_tap_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_frame_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_bad_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_tap_full, setup, teardown),
		cmocka_unit_test_prestate_setup_teardown(test_tx_hold, setup, teardown, (void *)&hold_10ms),
		cmocka_unit_test_prestate_setup_teardown(test_tx_hold_half_ring, setup, teardown,
							 (void *)&hold_10ms),
		cmocka_unit_test_prestate_setup_teardown(test_tx_hold_reset, setup, teardown,
							 (void *)&hold_10ms),
		cmocka_unit_test(test_tx_auto_usecs),
		cmocka_unit_test_prestate_setup_teardown(test_tx_auto_small, setup, teardown, (void *)&tx_auto),
		cmocka_unit_test_prestate_setup_teardown(test_tx_auto_bulk, setup, teardown, (void *)&tx_auto),
		cmocka_unit_test_prestate_setup_teardown(test_tx_auto_small_in_stream, setup, teardown,
							 (void *)&tx_auto),
		cmocka_unit_test_prestate_setup_teardown(test_tx_auto_conversation, setup, teardown,
							 (void *)&tx_auto),
		cmocka_unit_test_prestate_setup_teardown(test_tx_auto_gap, setup, teardown, (void *)&tx_auto),
		cmocka_unit_test_setup_teardown(test_rx_one_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_no_mrg_too_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_no_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable_waits_for_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_offloads_negotiated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_bad_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_frame_larger_than_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_many_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_tap, setup, teardown),
	};

	/* As kvmio does (vm.c): a write to a closed peer is an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("virtio-net", tests, NULL, NULL);
}
