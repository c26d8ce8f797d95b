/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_VIRTIO_NET_H
#define KVMIO_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct vm;
struct net_opts;
struct virtio_dev;

/*
 * virtio-net (virtio 1.2 section 5.1) over a Linux tap: one RX and one TX
 * queue, mergeable RX buffers, checksum and TSO offloads both ways. See the
 * top of net.c for the host-side setup.
 */

/* The only header with VERSION_1: struct virtio_net_hdr_v1, num_buffers included. */
#define VIRTIO_NET_HDR_LEN	12
/* Largest frame, header included: a 64 KiB GSO packet plus its Ethernet header. */
#define VIRTIO_NET_MAX_PKT	(VIRTIO_NET_HDR_LEN + 64 * KiB + 14)
#define VIRTIO_NET_QUEUE_MAX	256
/* Frames, or TX chains, one wakeup handles before it lets the worker go on. */
#define VIRTIO_NET_RX_BUDGET	64
#define VIRTIO_NET_TX_BUDGET	128
/*
 * TX moderation, --net tx-usecs= (net.c, top): a fixed tick of 1 to MAX
 * microseconds, 0 for none, or AUTO (the default): only for a one-way bulk
 * stream, with a tick of twice the time the guest takes from one kick to
 * the next, AUTO_MIN to AUTO_MAX; kick gaps over AUTO_GAP_MAX are not a stream.
 */
#define VIRTIO_NET_TX_USECS_AUTO	(~0u)
#define VIRTIO_NET_TX_USECS_DEFAULT	VIRTIO_NET_TX_USECS_AUTO
#define VIRTIO_NET_TX_USECS_MAX		10000
#define VIRTIO_NET_TX_AUTO_MIN		50
#define VIRTIO_NET_TX_AUTO_MAX		2000
#define VIRTIO_NET_TX_AUTO_GAP_MAX	10000

/*
 * virtio_net_create - open or create tap @o->tap (IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR, non-blocking) and give @vm a virtio-net device on it through
 * virtio_pci_add. MAC: @o->mac when @o->mac_given, else
 * virtio_net_mac_from_name of the tap's name. @index is the --net position,
 * for log lines. Does not bring the link up nor assign addresses. Returns 0,
 * or a negative errno after one pr_err line that says what to do. Setup only.
 */
int virtio_net_create(struct vm *vm, const struct net_opts *o, unsigned int index);

/*
 * virtio_net_create_fd - the same device over @fd, which must behave like a
 * tap with IFF_VNET_HDR and a 12-byte header: one frame per read and per
 * write, each prefixed by struct virtio_net_hdr_v1 (tests and fuzzers pass
 * one end of a SOCK_SEQPACKET socketpair); a read of 0 bytes is taken as
 * EOF, the link going down. @fd should be non-blocking. The
 * device owns @fd from this call on, and closes it on failure too. No
 * TUNSETOFFLOAD is issued on it. @name is for log lines. @tx_usecs moderates
 * TX as --net tx-usecs= does (0: none; VIRTIO_NET_TX_USECS_AUTO: adaptive).
 * Returns 0 or a negative errno. Setup only.
 */
int virtio_net_create_fd(struct vm *vm, int fd, const uint8_t mac[6], const char *name,
			 unsigned int tx_usecs);

/*
 * virtio_net_mac_from_name - a stable MAC for tap @name: 52:54:00 followed
 * by three bytes of a hash of the name (locally administered, unicast).
 */
void virtio_net_mac_from_name(const char *name, uint8_t mac[6]);

/*
 * virtio_net_tun_offloads - the TUN_F_* flags for TUNSETOFFLOAD that match
 * negotiated virtio-net @features: what the guest can take on RX. Pure.
 */
unsigned int virtio_net_tun_offloads(uint64_t features);

/*
 * virtio_net_tx_auto_usecs - tx-usecs=auto's tick for a guest whose kicks
 * come @gap_us apart while it streams: twice that, within
 * VIRTIO_NET_TX_AUTO_MIN..VIRTIO_NET_TX_AUTO_MAX. Pure.
 */
unsigned int virtio_net_tx_auto_usecs(unsigned int gap_us);

/* Counters, for tests and log lines. Plain loads: exact only while the worker is idle. */
struct virtio_net_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t rx_dropped;		/* read from the tap, not delivered (too big, too short, reset) */
	uint64_t rx_bad_chains;		/* RX chains returned unused: readable, or under 12 bytes */
	uint64_t tx_frames, tx_bytes;
	uint64_t tx_dropped;		/* bad chains, shorter than the header, over VIRTIO_NET_MAX_PKT */
	uint64_t tx_errors;		/* the tap refused the frame */
	uint64_t tx_eagain;		/* times the tap was full and TX waited for POLLOUT */
	uint64_t tx_kicks, tx_irqs;	/* TX queue notifications served, interrupts sent */
	uint64_t tx_ticks;		/* tx-usecs ticks that found frames */
	uint64_t rx_wakeups, rx_irqs;	/* tap-readable wakeups, RX interrupts sent */
	/*
	 * tx-usecs=auto: passes that sent frames and gave them back at once, by
	 * the first reason tx_moderate said no: no GSO frame among them, data
	 * received since the last pass, not a stream (no moderated pass or
	 * streaming kick before it: a kick gap over AUTO_GAP_MAX, or after
	 * one of the other two).
	 */
	uint64_t tx_unmod_small, tx_unmod_rx, tx_unmod_gap;
};

/* virtio_net_get_stats - copy @vdev's counters (a device of this file) into @s. */
void virtio_net_get_stats(struct virtio_dev *vdev, struct virtio_net_stats *s);

#endif
