// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net (virtio 1.2 section 5.1) over a Linux tap.
 *
 * Host side. kvmio opens /dev/net/tun and attaches to tap NAME, creating it
 * when it does not exist; creating needs CAP_NET_ADMIN, and an unprivileged
 * user attaches to a tap made for them beforehand:
 *	ip tuntap add NAME mode tap user USER
 * kvmio never configures the host side of the link: bring it up and give it
 * an address, or put it in a bridge, yourself:
 *	ip link set NAME up && ip addr add 192.168.100.1/24 dev NAME
 * A tap kvmio created disappears when kvmio exits; a pre-created one stays.
 * The guest sees the link up for as long as the tap can be read; when it
 * goes away (the tap deleted under us), status drops LINK_UP and the driver
 * gets a config interrupt (5.1.4).
 *
 * Data path, all on the device's worker thread (virtio.h):
 *  - TX: a chain's readable iovecs go to the tap in one writev. The guest's
 *    virtio_net_hdr_v1 passes through untouched because the tap was told
 *    to speak the same 12-byte header (TUNSETVNETHDRSZ): zero copy. When
 *    the tap is full the chain is kept and retried on POLLOUT, not dropped.
 *  - tx-usecs (--net): TX moderation. After a kick the frames go out at
 *    once, but the device then stays unkicked and looks at the ring again
 *    every tx-usecs while frames keep coming, and gives the chains back at
 *    those ticks, a batch and one interrupt at a time; a tick that finds
 *    the ring empty turns kicks back on. Interrupt moderation, as a NIC's
 *    (ethtool -C tx-usecs), plus no kick per frame: a streaming sender's
 *    frames cost no exit each, and as its socket buffers come back later,
 *    Linux's TCP small queues gather its writes into fewer, larger frames.
 *    Where an exit is dear (a nested guest) that doubles a TCP sender's
 *    rate. The first frame after a quiet spell is never delayed; later
 *    ones wait for the tick at most. A number is a fixed tick, 0 is none.
 *  - tx-usecs=auto, the default, moderates only a one-way bulk stream, as a
 *    NIC's adaptive coalescing does: a pass that sent a GSO frame (larger
 *    than the MTU), which came within VIRTIO_NET_TX_AUTO_GAP_MAX of a kick
 *    that did the same, with nothing but pure-ACK-sized frames received in
 *    between; a kick within that time of a tick that found the ring empty
 *    continues the stream too (the guest was waiting for the completions
 *    the tick gave back). Once moderated (or kicked right after such a
 *    tick), a pass with any frame that carries data (more than an ACK)
 *    goes on with the stream: without moderation a sender's frames shrink,
 *    its completions coming back at once (TCP small queues), so a stream
 *    that had to show a GSO frame in every pass could drop out for good on
 *    one pass of small frames (bench/virtio: 645 such passes in a round
 *    whose frames averaged 30 KiB instead of 50). Request/response traffic,
 *    whose answers carry data, is never delayed, and small frames never
 *    start moderation. The tick is twice the kick-to-kick time the guest
 *    showed meanwhile (virtio_net_tx_auto_usecs): a frame never waits
 *    longer than two of the guest's own kick round trips, a few tens of
 *    microseconds on a plain host, and up to 2 ms in the nested rig.
 *  - RX: one readv per frame, with the header into a host buffer (it gets
 *    num_buffers and, maybe, cleared flags), the rest straight into the
 *    first RX chain, and what does not fit into a bounce buffer from which
 *    further chains are filled (mergeable buffers, 5.1.6.4). A frame that
 *    fits one chain, the common case, is not copied at all.
 *  - TUNSETOFFLOAD at start() tells the tap which offloads the driver can
 *    take on RX (GUEST_CSUM/TSO4/TSO6/ECN), so it segments or checksums
 *    everything else itself. The host offloads (CSUM, HOST_TSO*) need
 *    nothing: a tap always accepts partial checksums and GSO on write.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <net/if.h>
#include <poll.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util.h"
#include "virtio/net.h"
#include "virtio/virtio.h"
#include "vm.h"

_Static_assert(sizeof(struct virtio_net_hdr_v1) == VIRTIO_NET_HDR_LEN, "virtio_net_hdr_v1 layout");

#define NET_RXQ		0
#define NET_TXQ		1
#define NET_CONFIG_SIZE	12	/* mac, status, max_virtqueue_pairs, mtu (5.1.4) */
#define ETH_HDR_LEN	14
/* A pure TCP ACK's largest frame: Ethernet, IPv6 and TCP with timestamps (14 + 40 + 32). */
#define NET_ACK_MAX	86
/* readv's limit (UIO_MAXIOV); chains with more segments are read via the bounce buffer. */
#define NET_RX_IOV	1024
/*
 * One byte more than the largest frame: a SOCK_SEQPACKET "tap" truncates a
 * longer message to the buffer silently, and a frame cut short must be
 * dropped, not delivered.
 */
#define NET_BOUNCE	(VIRTIO_NET_MAX_PKT + 1)
#define BIT(n)		(1ULL << (n))

struct net {
	struct virtio_dev vdev;
	char name[IFNAMSIZ + 8];	/* for log lines */
	int fd;				/* the tap: reads, writes, the POLLIN watch */
	int fd_out;			/* a dup, for the POLLOUT watch: watches are keyed by fd */
	int fd_timer;			/* timerfd: the tx-usecs tick */
	unsigned int tx_usecs;		/* --net tx-usecs; 0: off; unused with tx_auto */
	bool tx_auto;			/* tx-usecs=auto */
	bool is_tap;			/* a real tap: TUNSETOFFLOAD applies */
	unsigned int nwatched;		/* of the three watches, how many are registered */
	uint8_t mac[6];
	uint16_t mtu;
	_Atomic uint16_t status;	/* read by vCPUs (config), written by the worker */

	/* From start to stop; the worker's alone in between. */
	bool running;
	bool broken;			/* a ring broke: wait for the reset */
	bool rx_on, tx_on;		/* the driver enabled the queue */
	bool mrg_rxbuf;
	unsigned int offloads;		/* TUN_F_* the driver takes on RX */

	struct {
		bool held;		/* chain popped but not yet written: the tap was full */
		bool waiting;		/* the POLLOUT watch is on */
		bool timer_on;		/* a tick is due: completions held, or the ring unkicked */
		bool moderated;		/* the last pass armed the tick: kicks are off */
		/* tx-usecs=auto: is this a one-way bulk stream, and how fast does it kick? */
		bool bulk;		/* the last pass sent a GSO frame (moderated, resumed: any data) */
		bool stream;		/* this kick came soon after a bulk pass's kick */
		bool resumed;		/* ... and right after a tick: a moderated stream goes on */
		bool rx_data;		/* since the last pass, a frame came in with data, not an ACK */
		uint64_t last_kick_ns;	/* the last kick, or tick (after_tick), 0: none yet */
		bool after_tick;	/* last_kick_ns is a tick's: the gap is no kick-to-kick time */
		unsigned int gap_us;	/* kick-to-kick time while streaming, averaged */
		unsigned int ndone;	/* chains sent (or dropped) whose completion is held */
		uint16_t done[VIRTIO_NET_QUEUE_MAX];
		struct virtq_chain chain;
	} tx;

	struct {
		bool watching;		/* the POLLIN watch is on */
		bool held;		/* first is popped and holds no frame yet */
		bool partial;		/* a frame is read, waiting for buffers to finish it */
		size_t len;		/* the frame's bytes, header included */
		size_t placed;		/* how many of them are in guest buffers */
		size_t bounce_base;	/* frame offset of bounce[0] */
		unsigned int nbufs;	/* chains the frame uses so far */
		uint16_t heads[VIRTIO_NET_QUEUE_MAX];
		uint32_t lens[VIRTIO_NET_QUEUE_MAX];
		struct virtio_net_hdr_v1 hdr;	/* the frame's header, patched before it goes in */
		struct virtq_chain first;	/* carries the header */
		struct virtq_chain more;	/* scratch for the frame's other chains */
		struct iovec iov[NET_RX_IOV];
		uint8_t bounce[NET_BOUNCE];
	} rx;

	struct virtio_net_stats stats;
	struct ratelimit rl;		/* log lines the guest or the network can provoke */
};

static void rx_watch(struct net *n, bool on)
{
	if (n->rx.watching != on) {
		virtio_watch_enable(&n->vdev, n->fd, on);
		n->rx.watching = on;
	}
}

static void tx_wait(struct net *n, bool on)
{
	if (n->tx.waiting != on) {
		virtio_watch_enable(&n->vdev, n->fd_out, on);
		n->tx.waiting = on;
	}
}

static bool link_up(const struct net *n)
{
	return atomic_load(&n->status) & VIRTIO_NET_S_LINK_UP;
}

/*
 * The tap is gone (deleted, or a test's peer closed): link down for good.
 * TX keeps draining the ring (frames dropped) so the driver never waits on us.
 */
static void net_link_down(struct net *n, int err)
{
	int idle;

	if (!link_up(n))
		return;
	atomic_store(&n->status, 0);
	pr_warn("virtio-net %s: tap %s; link down", n->name, err ? strerror(err) : "closed");
	rx_watch(n, false);
	tx_wait(n, false);
	/*
	 * Let go of the dead file too: it polls POLLERR (a socket POLLHUP)
	 * for ever, and epoll reports those even for a watch with no events
	 * enabled, which would spin the worker. The kernel drops the epoll
	 * registrations with the last reference to the file; an idle eventfd
	 * keeps both fd numbers, which the watches are keyed by, valid.
	 */
	idle = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (idle >= 0) {
		dup3(idle, n->fd, O_CLOEXEC);
		dup3(idle, n->fd_out, O_CLOEXEC);
		close(idle);
	}
	if (n->tx.held)		/* nobody else will resume it: drain it (dropped) */
		virtio_kick_self(&n->vdev, NET_TXQ);
	virtio_config_interrupt(&n->vdev);
}

/* A ring broke (hostile-guest.md cases 9, 10): nothing more until the driver resets. */
static void net_broken(struct net *n, struct virtq *vq)
{
	n->broken = true;
	n->tx.ndone = 0;	/* the ring takes nothing more */
	rx_watch(n, false);
	tx_wait(n, false);
	virtio_set_needs_reset(&n->vdev, vq->error ? vq->error : "virtqueue broken");
}

/* ---- TX ---- */

/*
 * Is popped chain @c (virtq_pop returned @r) a frame we can send? 5.1.6.2:
 * device-readable only, a header and at most one 64 KiB GSO frame
 * (hostile-guest.md case 17). Anything else is dropped, never trimmed.
 */
static bool tx_chain_ok(struct net *n, const struct virtq_chain *c, int r)
{
	const char *why = NULL;

	if (r != 1)
		why = "bad descriptor chain";
	else if (c->n_in)
		why = "device-writable buffer in a TX chain";
	else if (c->out_len < VIRTIO_NET_HDR_LEN)
		why = "TX chain shorter than the virtio-net header";
	else if (c->out_len > VIRTIO_NET_MAX_PKT)
		why = "TX frame over 64 KiB";
	if (!why)
		return true;
	n->stats.tx_dropped++;
	if (ratelimit_ok(&n->rl, 2))
		pr_warn("virtio-net %s: %s; dropped", n->name, why);
	return false;
}

unsigned int virtio_net_tx_auto_usecs(unsigned int gap_us)
{
	return MIN(MAX(2 * MIN(gap_us, (unsigned int)VIRTIO_NET_TX_AUTO_MAX),
		       (unsigned int)VIRTIO_NET_TX_AUTO_MIN), (unsigned int)VIRTIO_NET_TX_AUTO_MAX);
}

static unsigned int tx_tick_us(const struct net *n)
{
	return n->tx_auto ? virtio_net_tx_auto_usecs(n->tx.gap_us) : n->tx_usecs;
}

static void tx_timer(struct net *n, bool on)
{
	struct itimerspec its = { .it_value.tv_nsec = on ? (long)tx_tick_us(n) * 1000 : 0 };

	if (n->tx.timer_on == on)
		return;
	if (timerfd_settime(n->fd_timer, 0, &its, NULL) == 0) {
		n->tx.timer_on = on;
	} else if (on) {
		/* Not with a valid fd; if ever, moderation is off from now on. */
		n->tx_usecs = 0;
		n->tx_auto = false;
	}
}

/*
 * After a pass that sent frames (@bulk: a GSO one among them): stay
 * unkicked and wait for the tick? Always with a fixed tx-usecs; with auto,
 * while the guest streams bulk data one way (top of the file).
 */
static bool tx_moderate(const struct net *n, bool bulk)
{
	if (!n->tx_auto)
		return n->tx_usecs != 0;
	return bulk && !n->tx.rx_data && (n->tx.moderated || n->tx.stream);
}

/* Why tx_moderate said no to a pass that sent frames (tx-usecs=auto; counted for -v). */
static void tx_count_unmoderated(struct net *n, bool bulk)
{
	if (!bulk)
		n->stats.tx_unmod_small++;
	else if (n->tx.rx_data)
		n->stats.tx_unmod_rx++;
	else
		n->stats.tx_unmod_gap++;
}

/* Give every held TX chain back in one used->idx store, and interrupt once. */
static void tx_flush(struct net *n)
{
	tx_timer(n, false);
	if (!n->tx.ndone)
		return;
	virtq_push_n(&n->vdev.vq[NET_TXQ], n->tx.done, NULL, n->tx.ndone);
	n->tx.ndone = 0;
	if (virtio_queue_interrupt(&n->vdev, NET_TXQ))
		n->stats.tx_irqs++;
}

/*
 * A chain is done with (sent or dropped): back to the driver at the end of
 * this pass, or when moderated at the next tick. Half the ring held goes
 * back at once: the driver stops its queue when it runs short of
 * descriptors.
 */
static void tx_done(struct net *n, uint16_t head)
{
	struct virtq *vq = &n->vdev.vq[NET_TXQ];

	n->tx.done[n->tx.ndone++] = head;	/* each head is in flight once: fits */
	if (n->tx.ndone >= MAX((unsigned int)vq->size / 2, 1u))
		tx_flush(n);
}

/*
 * TX queue kicked, ticked, or the tap writable again. Sends chains until the
 * ring is empty, the tap is full (the chain is kept for POLLOUT) or the
 * budget is spent (a self-kick brings us back after the other work); the
 * chains go back together, with one interrupt, at the end or at the tick.
 */
static void net_tx(struct net *n)
{
	struct virtq *vq = &n->vdev.vq[NET_TXQ];
	struct virtq_chain *c = &n->tx.chain;
	unsigned int budget = VIRTIO_NET_TX_BUDGET;
	unsigned int taken = 0;
	bool bulk = false, moderate = false;

	virtq_set_notify(vq, false);
	for (;;) {
		ssize_t w;

		if (!n->tx.held) {
			int r;

			if (budget-- == 0) {
				virtio_kick_self(&n->vdev, NET_TXQ);
				break;
			}
			r = virtq_pop(vq, c);
			if (r == 0 && taken && tx_moderate(n, bulk)) {
				/*
				 * No kicks while frames keep coming; the tick looks
				 * again. (An empty pop re-enabled them under
				 * EVENT_IDX: take that back.)
				 */
				virtq_set_notify(vq, false);
				tx_timer(n, true);
				moderate = n->tx.timer_on;
				if (moderate)
					break;
			}
			if (r == 0) {
				/* Re-arm, then look again: a kick the driver skipped (2.7.10). */
				virtq_set_notify(vq, true);
				if (!virtq_has_work(vq))
					break;
				virtq_set_notify(vq, false);
				continue;
			}
			if (r == -EIO) {
				net_broken(n, vq);
				break;
			}
			taken++;
			if (!tx_chain_ok(n, c, r)) {
				tx_done(n, c->head);
				continue;
			}
			n->tx.held = true;
		}
		errno = ENOTCONN;
		w = link_up(n) ? writev(n->fd, c->iov, (int)c->n_out) : -1;
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* Keep the chain; the POLLOUT watch resumes us. */
			n->stats.tx_eagain++;
			tx_wait(n, true);
			break;
		}
		if (w < 0) {
			/* A tap that is not up says EIO: count it, the link may come up later. */
			int err = errno;

			n->stats.tx_errors++;
			if (err != ENOTCONN && ratelimit_ok(&n->rl, 2))
				pr_warn("virtio-net %s: tap write: %s", n->name, strerror(err));
			if (err == EBADFD || err == EPIPE || err == ENXIO)
				net_link_down(n, err);
		} else {
			n->stats.tx_frames++;
			n->stats.tx_bytes += c->out_len - VIRTIO_NET_HDR_LEN;
			/* A GSO frame; or, moderated or resumed, any frame with data (top of file). */
			if (c->out_len > (uint64_t)VIRTIO_NET_HDR_LEN + ETH_HDR_LEN + n->mtu ||
			    ((n->tx.moderated || n->tx.resumed) &&
			     c->out_len > (uint64_t)VIRTIO_NET_HDR_LEN + NET_ACK_MAX))
				bulk = true;
		}
		n->tx.held = false;
		tx_done(n, c->head);
	}
	/* Completions wait for the tick only when it also looks at the ring. */
	if (!moderate && n->tx.ndone && tx_moderate(n, bulk)) {
		tx_timer(n, true);
		moderate = n->tx.timer_on;
	}
	if (!moderate) {
		if (n->tx_auto && taken)
			tx_count_unmoderated(n, bulk);
		tx_flush(n);
	}
	n->tx.moderated = moderate;
	/*
	 * A pass that found the ring empty (a tick's, when the guest was
	 * waiting for the completions the tick just gave back) says nothing
	 * about the stream: the next kick may continue it.
	 */
	if (taken)
		n->tx.bulk = bulk;
	n->tx.stream = n->tx.resumed = n->tx.rx_data = false;
}

/* ---- RX ---- */

/*
 * The next usable RX chain into @c: device-writable only (5.1.6.3) and at
 * least a header long (5.1.6.3.1 asks that of every mergeable buffer; a
 * smaller one cannot hold anything without it). Others go back unused.
 * Returns 1; 0 when the ring is empty (the tap watch is then off, and kicks
 * on, until the driver adds buffers) or after too many bad chains in a row
 * (the watch stays on: we come back on the next wakeup); -EIO when broken.
 */
static int rx_pop(struct net *n, struct virtq_chain *c, bool *pushed)
{
	struct virtq *vq = &n->vdev.vq[NET_RXQ];

	for (unsigned int tries = 0; tries < VIRTIO_NET_RX_BUDGET; tries++) {
		int r = virtq_pop(vq, c);

		if (r == 1 && c->n_out == 0 && c->in_len >= VIRTIO_NET_HDR_LEN)
			return 1;
		if (r == 0) {
			virtq_set_notify(vq, true);
			if (virtq_has_work(vq))
				continue;
			rx_watch(n, false);
			return 0;
		}
		if (r == -EIO) {
			net_broken(n, vq);
			return -EIO;
		}
		virtq_push(vq, c->head, 0);
		*pushed = true;
		n->stats.rx_bad_chains++;
		if (ratelimit_ok(&n->rl, 2))
			pr_warn("virtio-net %s: RX chain %s; returned unused", n->name,
				r != 1 ? "bad" : c->n_out ? "with a device-readable buffer" :
				"shorter than the virtio-net header");
	}
	/* Bounded work per wakeup (case 18); the self-kick resumes RX after the rest. */
	virtio_kick_self(&n->vdev, NET_RXQ);
	return 0;
}

/*
 * Can the driver take the frame whose header the tap wrote? Only the
 * offloads it negotiated (5.1.6.4.1): a real tap keeps to TUNSETOFFLOAD,
 * but frames queued before a reset, or from a test's peer, may not.
 */
static bool rx_hdr_ok(const struct net *n, const struct virtio_net_hdr_v1 *h)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !(n->offloads & TUN_F_CSUM))
		return false;
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !(n->offloads & TUN_F_TSO_ECN))
		return false;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return n->offloads & TUN_F_TSO4;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return n->offloads & TUN_F_TSO6;
	default:
		return false;	/* UDP, UDP_L4: never offered */
	}
}

static void rx_drop(struct net *n, const char *why)
{
	n->stats.rx_dropped++;
	if (why && ratelimit_ok(&n->rl, 2))
		pr_warn("virtio-net %s: RX frame %s; dropped", n->name, why);
}

/*
 * The iovecs for reading a frame into rx.first: the header into rx.hdr, the
 * rest after the chain's first 12 bytes, the overflow into the bounce
 * buffer. Returns the count, or 0 when the chain has too many segments for
 * one readv (then everything is read into the bounce buffer and copied).
 */
static unsigned int rx_build_iov(struct net *n)
{
	const struct virtq_chain *c = &n->rx.first;
	struct iovec *iov = n->rx.iov;
	size_t skip = VIRTIO_NET_HDR_LEN;
	unsigned int k = 0;

	iov[k++] = (struct iovec){ &n->rx.hdr, VIRTIO_NET_HDR_LEN };
	for (unsigned int i = 0; i < c->n_in; i++) {	/* n_out is 0: see rx_pop */
		size_t len = c->iov[i].iov_len;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		if (k == NET_RX_IOV - 1)
			return 0;
		iov[k++] = (struct iovec){ (uint8_t *)c->iov[i].iov_base + skip, len - skip };
		skip = 0;
	}
	iov[k++] = (struct iovec){ n->rx.bounce, NET_BOUNCE };
	return k;
}

static void rx_push_all(struct net *n, bool data)
{
	struct virtq *vq = &n->vdev.vq[NET_RXQ];

	/*
	 * One used->idx store for the whole frame: a driver polling between
	 * separate pushes would see the frame's first buffer before the others
	 * and drop it ("rx error: N buffers out of M missing").
	 */
	virtq_push_n(vq, n->rx.heads, data ? n->rx.lens : NULL, n->rx.nbufs);
	n->rx.nbufs = 0;
	n->rx.partial = false;
}

/*
 * Finish the frame being delivered: more chains for what is still in the
 * bounce buffer (mergeable only: otherwise it all fit in the first), then
 * the header, then every chain to the used ring in order. Returns 1 when
 * the frame is done (delivered or dropped), 0 when waiting for buffers,
 * -EIO when the ring broke.
 */
static int rx_finish(struct net *n, bool *pushed)
{
	struct virtq *vq = &n->vdev.vq[NET_RXQ];
	unsigned int max_bufs = MIN(vq->size, VIRTIO_NET_QUEUE_MAX);
	struct virtio_net_hdr_v1 *h = &n->rx.hdr;

	while (n->rx.placed < n->rx.len) {
		size_t want, got;
		int r;

		if (n->rx.nbufs >= max_bufs) {
			/*
			 * Every buffer the ring can hold is ours and the frame
			 * still does not fit: no driver kick can ever come, so
			 * give them all back empty.
			 */
			rx_push_all(n, false);
			*pushed = true;
			rx_drop(n, "larger than the whole RX ring");
			return 1;
		}
		r = rx_pop(n, &n->rx.more, pushed);
		if (r <= 0)
			return r;
		want = MIN(n->rx.len - n->rx.placed, n->rx.more.in_len);
		got = virtq_buf_to_iov(&n->rx.more, 0, n->rx.bounce + (n->rx.placed - n->rx.bounce_base),
				       want);
		n->rx.heads[n->rx.nbufs] = n->rx.more.head;
		n->rx.lens[n->rx.nbufs++] = (uint32_t)got;
		n->rx.placed += got;
	}
	/* 5.1.6.4: num_buffers is the chain count, 1 without MRG_RXBUF; flags 0 without GUEST_CSUM. */
	h->num_buffers = (uint16_t)n->rx.nbufs;
	if (!(n->offloads & TUN_F_CSUM))
		h->flags = 0;
	virtq_buf_to_iov(&n->rx.first, 0, h, VIRTIO_NET_HDR_LEN);
	n->stats.rx_frames++;
	n->stats.rx_bytes += n->rx.len - VIRTIO_NET_HDR_LEN;
	rx_push_all(n, true);
	*pushed = true;
	return 1;
}

/*
 * One frame from the tap into the RX ring. Returns 1 when there may be
 * more to do, 0 when not (the tap is empty, or no buffers), -EIO.
 */
static int rx_one(struct net *n, bool *pushed)
{
	struct virtq_chain *c = &n->rx.first;
	unsigned int niov;
	size_t len, in_first;
	ssize_t got;
	int r;

	if (n->rx.partial)
		return rx_finish(n, pushed);
	if (!n->rx.held) {
		/* The chain is taken before the read: no frame is read without a place to go. */
		r = rx_pop(n, c, pushed);
		if (r <= 0)
			return r;
		n->rx.held = true;
	}
	niov = rx_build_iov(n);
	if (niov == 0) {
		n->rx.iov[0] = (struct iovec){ &n->rx.hdr, VIRTIO_NET_HDR_LEN };
		n->rx.iov[1] = (struct iovec){ n->rx.bounce, NET_BOUNCE };
	}
	got = readv(n->fd, n->rx.iov, niov ? (int)niov : 2);
	if (got < 0) {
		if (errno == EINTR)
			return 1;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			net_link_down(n, errno);
		return 0;
	}
	if (got == 0) {		/* EOF: a socket whose peer closed; a tap never reads 0 */
		net_link_down(n, 0);
		return 0;
	}
	len = (size_t)got;
	/* In all these cases the chain stays held for the next frame. */
	if (len < VIRTIO_NET_HDR_LEN + ETH_HDR_LEN) {
		rx_drop(n, "shorter than an Ethernet header");
		return 1;
	}
	if (len > VIRTIO_NET_MAX_PKT) {
		rx_drop(n, "over 64 KiB");
		return 1;
	}
	if (!rx_hdr_ok(n, &n->rx.hdr)) {
		rx_drop(n, "with an offload the driver did not negotiate");
		return 1;
	}
	in_first = (size_t)MIN((uint64_t)len, c->in_len);
	if (!n->mrg_rxbuf && in_first < len) {
		/* 5.1.6.3.2: without MRG_RXBUF one chain holds the frame; never truncate. */
		rx_drop(n, "larger than the RX buffer (no MRG_RXBUF)");
		return 1;
	}
	if (niov) {
		n->rx.bounce_base = (size_t)c->in_len;
	} else {
		n->rx.bounce_base = VIRTIO_NET_HDR_LEN;
		virtq_buf_to_iov(c, VIRTIO_NET_HDR_LEN, n->rx.bounce, in_first - VIRTIO_NET_HDR_LEN);
	}
	n->rx.len = len;
	if (len > VIRTIO_NET_HDR_LEN + NET_ACK_MAX)
		n->tx.rx_data = true;	/* a conversation, not a one-way stream (auto) */
	n->rx.placed = in_first;
	n->rx.heads[0] = c->head;
	n->rx.lens[0] = (uint32_t)in_first;
	n->rx.nbufs = 1;
	n->rx.held = false;
	n->rx.partial = true;
	return rx_finish(n, pushed);
}

/* Frames from the tap while there are buffers, at most a budget per wakeup; one interrupt. */
static void net_rx(struct net *n)
{
	bool pushed = false;

	/* A level-triggered watch brings us back if the budget ran out with frames left. */
	for (unsigned int i = 0; i < VIRTIO_NET_RX_BUDGET; i++)
		if (rx_one(n, &pushed) <= 0)
			break;
	if (pushed && virtio_queue_interrupt(&n->vdev, NET_RXQ))
		n->stats.rx_irqs++;
}

/* ---- worker callbacks ---- */

static void net_tap_readable(struct virtio_dev *vdev, int fd, short revents)
{
	struct net *n = vdev->priv;

	if (!n->running || n->broken || !n->rx_on)
		return;
	if (revents & POLLIN) {
		n->stats.rx_wakeups++;
		net_rx(n);	/* a dead tap shows up as an error or EOF there */
	} else if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
		net_link_down(n, revents & POLLHUP ? 0 : EIO);
	}
}

static void net_tap_writable(struct virtio_dev *vdev, int fd, short revents)
{
	struct net *n = vdev->priv;

	tx_wait(n, false);
	if (n->running && !n->broken && n->tx_on)
		net_tx(n);
}

static void net_tx_timer(struct virtio_dev *vdev, int fd, short revents)
{
	struct net *n = vdev->priv;
	uint64_t expirations;

	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	n->tx.timer_on = false;
	if (!n->running || n->broken)
		return;
	n->stats.tx_ticks++;
	/*
	 * A streaming guest whose frames wait on completions kicks right
	 * after the tick gives them back: that kick continues the stream, as
	 * if kicks had stayed off (they were turned on only because the ring
	 * was empty at the tick). Its gap is not the guest's kick rate.
	 */
	n->tx.last_kick_ns = time_ns();
	n->tx.after_tick = true;
	tx_flush(n);
	/* Frames that came without a kick meanwhile; none: kicks back on. */
	if (n->tx_on)
		net_tx(n);
}

/* tx-usecs=auto: does this kick continue a bulk stream, and how fast is it kicking? */
static void tx_auto_kick(struct net *n)
{
	uint64_t now = time_ns(), gap = now - n->tx.last_kick_ns;

	n->tx.stream = n->tx.bulk && n->tx.last_kick_ns &&
		       gap < VIRTIO_NET_TX_AUTO_GAP_MAX * 1000ULL;
	if (n->tx.stream && !n->tx.after_tick) {
		unsigned int us = (unsigned int)(gap / 1000);

		n->tx.gap_us = n->tx.gap_us ? (3 * n->tx.gap_us + us) / 4 : us;
	}
	n->tx.resumed = n->tx.stream && n->tx.after_tick;
	n->tx.last_kick_ns = now;
	n->tx.after_tick = false;
}

static void net_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct net *n = vdev->priv;

	if (!n->running || n->broken)
		return;
	if (q == NET_TXQ && n->tx_on) {
		n->stats.tx_kicks++;
		if (n->tx_auto)
			tx_auto_kick(n);
		net_tx(n);
	} else if (q == NET_RXQ && n->rx_on && link_up(n)) {
		/* New buffers: read the tap again; no kicks needed until they run out. */
		virtq_set_notify(&vdev->vq[NET_RXQ], false);
		rx_watch(n, true);
		net_rx(n);
	}
}

/* ---- lifecycle ---- */

unsigned int virtio_net_tun_offloads(uint64_t f)
{
	unsigned int off = TUN_F_CSUM;

	/*
	 * 5.1.3.1: GUEST_TSO* need GUEST_CSUM, GUEST_ECN needs a TSO; the tap
	 * agrees (TSO without CSUM is EINVAL). A driver that asks for one
	 * without the other gets the lesser set.
	 */
	if (!(f & BIT(VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	if (f & BIT(VIRTIO_NET_F_GUEST_TSO4))
		off |= TUN_F_TSO4;
	if (f & BIT(VIRTIO_NET_F_GUEST_TSO6))
		off |= TUN_F_TSO6;
	if ((off & (TUN_F_TSO4 | TUN_F_TSO6)) && (f & BIT(VIRTIO_NET_F_GUEST_ECN)))
		off |= TUN_F_TSO_ECN;
	return off;
}

static int net_start(struct virtio_dev *vdev)
{
	struct net *n = vdev->priv;

	/* From the first start, not before virtio_pci_add: pci.c needs vdev->transport. */
	while (n->nwatched < 3) {
		int ret = n->nwatched == 0 ? virtio_watch(vdev, n->fd, POLLIN, net_tap_readable) :
			  n->nwatched == 1 ? virtio_watch(vdev, n->fd_out, POLLOUT, net_tap_writable) :
			  virtio_watch(vdev, n->fd_timer, POLLIN, net_tx_timer);

		if (ret) {
			pr_err("virtio-net %s: cannot watch the tap: %s", n->name, strerror(-ret));
			return ret;
		}
		n->nwatched++;
	}
	n->mrg_rxbuf = vdev->features & BIT(VIRTIO_NET_F_MRG_RXBUF);
	n->offloads = virtio_net_tun_offloads(vdev->features);
	/* Failing leaves the tap's offloads off (create) or as before: rx_hdr_ok still guards. */
	if (n->is_tap && link_up(n) && ioctl(n->fd, TUNSETOFFLOAD, (unsigned long)n->offloads) < 0)
		pr_warn("virtio-net %s: TUNSETOFFLOAD 0x%x: %s", n->name, n->offloads, strerror(errno));
	n->rx_on = vdev->vq_enabled[NET_RXQ];
	n->tx_on = vdev->vq_enabled[NET_TXQ];
	n->broken = false;
	/* Set both watches explicitly: whatever state a previous run left them in. */
	n->rx.watching = n->rx_on && link_up(n);
	virtio_watch_enable(vdev, n->fd, n->rx.watching);
	n->tx.waiting = false;
	virtio_watch_enable(vdev, n->fd_out, false);
	if (n->rx_on)
		virtq_set_notify(&vdev->vq[NET_RXQ], false);	/* the tap watch drives RX */
	n->running = true;
	return 0;
}

static void net_stop(struct virtio_dev *vdev)
{
	struct net *n = vdev->priv;

	n->running = false;
	/*
	 * The rings go with the reset: every chain we hold is forgotten (its
	 * iovecs are never used again) and a half-delivered frame is lost.
	 */
	if (n->rx.partial)
		n->stats.rx_dropped++;
	n->tx.held = n->rx.held = n->rx.partial = false;
	n->rx.nbufs = 0;
	n->tx.ndone = 0;	/* sent; the ring they belonged to is gone */
	tx_timer(n, false);
	n->tx.moderated = n->tx.bulk = n->tx.stream = n->tx.resumed = n->tx.rx_data = false;
	n->tx.last_kick_ns = 0;		/* gap_us stays: the guest's pace, not the rings' */
	n->tx.after_tick = false;
}

static void net_destroy(struct virtio_dev *vdev)
{
	struct net *n = vdev->priv;
	const struct virtio_net_stats *s = &n->stats;

	/* With -v: how the traffic moved, to compare runs and VMMs. */
	pr_info("virtio-net %s: rx %llu frames %llu bytes, %llu wakeups, %llu interrupts; "
		"tx %llu frames %llu bytes, %llu kicks, %llu interrupts, %llu ticks "
		"(tx-usecs %s%u); dropped rx %llu tx %llu; not moderated: %llu small, %llu rx data, "
		"%llu no stream", n->name,
		(unsigned long long)s->rx_frames, (unsigned long long)s->rx_bytes,
		(unsigned long long)s->rx_wakeups, (unsigned long long)s->rx_irqs,
		(unsigned long long)s->tx_frames, (unsigned long long)s->tx_bytes,
		(unsigned long long)s->tx_kicks, (unsigned long long)s->tx_irqs,
		(unsigned long long)s->tx_ticks, n->tx_auto ? "auto, last tick " : "", tx_tick_us(n),
		(unsigned long long)s->rx_dropped, (unsigned long long)s->tx_dropped,
		(unsigned long long)s->tx_unmod_small, (unsigned long long)s->tx_unmod_rx,
		(unsigned long long)s->tx_unmod_gap);

	close(n->fd_timer);
	close(n->fd_out);
	close(n->fd);
	free(n);
}

static void net_config_read(struct virtio_dev *vdev, uint32_t off, uint8_t *data, unsigned int len)
{
	struct net *n = vdev->priv;
	uint8_t cfg[NET_CONFIG_SIZE];

	memcpy(cfg, n->mac, 6);
	le_write(cfg + 6, 2, atomic_load(&n->status));
	le_write(cfg + 8, 2, 1);		/* max_virtqueue_pairs: no MQ */
	le_write(cfg + 10, 2, n->mtu);
	memset(data, 0, len);
	if (off < NET_CONFIG_SIZE)
		memcpy(data, cfg + off, MIN((size_t)len, (size_t)(NET_CONFIG_SIZE - off)));
}

static const struct virtio_dev_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.pci_class = 0x020000,			/* network controller, Ethernet */
	.nqueues = 2,				/* receiveq1, transmitq1; no controlq */
	.queue_max = VIRTIO_NET_QUEUE_MAX,
	.config_size = NET_CONFIG_SIZE,
	.config_read = net_config_read,
	.config_write = NULL,			/* all read-only with VERSION_1 (5.1.4) */
	.start = net_start,
	.notify = net_notify,
	.stop = net_stop,
	.destroy = net_destroy,
};

void virtio_net_mac_from_name(const char *name, uint8_t mac[6])
{
	uint32_t h = 2166136261u;	/* FNV-1a: stable across runs, builds and hosts */

	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	/* 0x52: locally administered (bit 1), unicast (bit 0 clear); QEMU's prefix. */
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

void virtio_net_get_stats(struct virtio_dev *vdev, struct virtio_net_stats *s)
{
	*s = ((struct net *)vdev->priv)->stats;
}

/* Takes @fd whatever happens. */
static int net_new(struct vm *vm, int fd, const uint8_t mac[6], const char *name, bool is_tap,
		   uint16_t mtu, unsigned int tx_usecs, const char *id)
{
	struct net *n = calloc(1, sizeof(*n));
	int ret = -ENOMEM;

	if (!n) {
		pr_err("virtio-net %s: out of memory", name);
		close(fd);
		return ret;
	}
	n->fd = fd;
	n->fd_timer = -1;
	n->fd_out = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (n->fd_out < 0) {
		ret = -errno;
		pr_err("virtio-net %s: dup: %s", name, strerror(errno));
		goto fail;
	}
	n->fd_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (n->fd_timer < 0) {
		ret = -errno;
		pr_err("virtio-net %s: timerfd: %s", name, strerror(errno));
		goto fail;
	}
	n->tx_auto = tx_usecs == VIRTIO_NET_TX_USECS_AUTO;
	n->tx_usecs = n->tx_auto ? 0 : MIN(tx_usecs, (unsigned int)VIRTIO_NET_TX_USECS_MAX);
	snprintf(n->name, sizeof(n->name), "%s", name);
	memcpy(n->mac, mac, 6);
	n->mtu = mtu;
	atomic_store(&n->status, VIRTIO_NET_S_LINK_UP);
	n->is_tap = is_tap;
	n->vdev.ops = &net_ops;
	n->vdev.priv = n;
	n->vdev.vm = vm;
	n->vdev.host_features =
		BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
		BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) |
		BIT(VIRTIO_NET_F_HOST_ECN) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
		BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) |
		BIT(VIRTIO_NET_F_GUEST_ECN) |
		BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC);
	/*
	 * MTU only when someone set the tap's: the driver then takes it as its
	 * maximum (5.1.4.2), and a fresh tap's 1500 would forbid what a later
	 * `ip link set NAME mtu 9000` allows.
	 */
	if (mtu != 1500)
		n->vdev.host_features |= BIT(VIRTIO_NET_F_MTU);
	n->vdev.id = id;
	n->vdev.id_prefix = "net";
	ret = virtio_pci_add(vm, &n->vdev);
	if (ret)
		goto fail;
	return 0;
fail:
	if (n->fd_timer >= 0)
		close(n->fd_timer);
	if (n->fd_out >= 0)
		close(n->fd_out);
	close(fd);
	free(n);
	return ret;
}

int virtio_net_create_fd(struct vm *vm, int fd, const uint8_t mac[6], const char *name,
			 unsigned int tx_usecs)
{
	return net_new(vm, fd, mac, name ? name : "fd", false, 1500, tx_usecs, NULL);
}

/* The tap's MTU, which the user may have set before starting kvmio; 1500 if unknown. */
static uint16_t tap_mtu(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint16_t mtu = 1500;

	if (s < 0)
		return mtu;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu >= 68 && ifr.ifr_mtu <= 65535)
		mtu = (uint16_t)ifr.ifr_mtu;
	close(s);
	return mtu;
}

int virtio_net_create(struct vm *vm, const struct net_opts *o, unsigned int index)
{
	struct ifreq ifr = { 0 };
	int fd, err, hdr_len = VIRTIO_NET_HDR_LEN;
	uint8_t mac[6];

	if (!o->tap || !o->tap[0] || strlen(o->tap) >= IFNAMSIZ) {
		pr_err("--net %u: tap name must be 1 to %d characters", index, IFNAMSIZ - 1);
		return -EINVAL;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		pr_err("--net tap=%s: /dev/net/tun: %s%s", o->tap, strerror(err),
		       err == ENOENT ? " (load the tun module: modprobe tun)" :
		       err == EACCES ? " (it must be readable and writable by you)" : "");
		return -err;
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, o->tap, strlen(o->tap));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = errno;
		close(fd);
		if (err == EPERM)
			pr_err("--net tap=%s: not allowed to create the tap or attach to it: that needs "
			       "CAP_NET_ADMIN, or a tap made for you beforehand: "
			       "ip tuntap add %s mode tap user %s", o->tap, o->tap,
			       getenv("USER") ? getenv("USER") : "USER");
		else
			pr_err("--net tap=%s: TUNSETIFF: %s%s", o->tap, strerror(err),
			       err == EBUSY ? " (another process has this tap open)" :
			       err == EINVAL ? " (an interface of that name exists and is not a tap)" : "");
		return -err;
	}
	/* The 12-byte header of VERSION_1 both ways; offloads off until a driver asks. */
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0 || ioctl(fd, TUNSETOFFLOAD, 0UL) < 0) {
		err = errno;
		pr_err("--net tap=%s: setting up the vnet header: %s", o->tap, strerror(err));
		close(fd);
		return -err;
	}
	if (o->mac_given)
		memcpy(mac, o->mac, 6);
	else
		virtio_net_mac_from_name(ifr.ifr_name, mac);
	return net_new(vm, fd, mac, ifr.ifr_name, true, tap_mtu(ifr.ifr_name), o->tx_usecs,
		       o->id);
}
