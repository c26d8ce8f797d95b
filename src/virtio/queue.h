/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_VIRTIO_QUEUE_H
#define KVMIO_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "iommu/dma.h"
#include "mem.h"

/*
 * Split virtqueues (virtio 1.2 section 2.7), device side.
 *
 * Everything here is pure over a DMA address space (iommu/dma.h) over struct
 * guest_mem: no KVM, no threads, no globals, so unit tests and fuzzers drive
 * it with a plain buffer as "guest RAM". Every ring and buffer address is an
 * IOVA translated through the space, for the direction the device uses it
 * in. Every guest-supplied index, address and length is checked; a guest
 * that breaks the ring's rules, or whose rings stop being mapped, marks the
 * queue broken (the transport then sets DEVICE_NEEDS_RESET) and the queue
 * does nothing more until virtq_init again.
 *
 * One thread at a time uses a given queue (the device's worker); the rings
 * are shared with the guest, so loads and stores on them are ordered with the
 * barriers the spec asks for (2.7.13).
 */

#define VIRTQ_MAX_SIZE	32768	/* split-ring limit (2.7) */
/*
 * Most buffers one chain may have, direct and indirect together: a chain
 * with more is failed, never truncated. Linux's largest is about
 * MAX_SKB_FRAGS + 2 for net and seg_max + 2 for blk.
 */
#define VIRTQ_MAX_IOV	1024
/*
 * Longest indirect table accepted, in descriptors. Its length comes from
 * the guest, so it is bounded before anything is read.
 */
#define VIRTQ_MAX_INDIRECT	VIRTQ_MAX_IOV

struct virtq {
	/* Set by virtq_init from the transport's registers. */
	struct dma_as *as;		/* the device's DMA space (&ident for virtq_init) */
	struct dma_as ident;		/* identity space over the guest_mem of virtq_init */
	uint32_t as_gen;		/* dma_as_gen(as) the ring pointers were translated at */
	uint8_t *bounce;		/* mapped spaces: an indirect table split in host memory */
	uint16_t size;			/* entries, a power of two, 1..VIRTQ_MAX_SIZE */
	bool event_idx;			/* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;			/* VIRTIO_F_INDIRECT_DESC negotiated */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;	/* host views of the three rings, in RAM */
	struct vring_avail *avail;
	struct vring_used *used;

	/* Device-side state. */
	uint16_t last_avail;		/* next avail ring entry to take */
	uint16_t used_idx;		/* our copy of used->idx */
	uint16_t signalled_used;	/* used_idx at the last interrupt sent */
	bool signalled_used_valid;
	unsigned int inflight;		/* popped, not yet pushed */
	uint8_t *inflight_map;		/* one bit per head: popped and not pushed */
	bool broken;			/* the guest broke the rules: see virtq_error */
	/*
	 * Set by a device that can fail one request on its own (virtio-blk,
	 * with IOERR), after virtq_init_as (which clears it): a buffer a
	 * mapped DMA space refuses then marks the chain faulted (virtq_chain)
	 * rather than bad. Without it, or on an identity space (a buffer
	 * outside RAM), the chain is bad as before.
	 */
	bool keep_faulted;
	const char *error;		/* why, for one log line */
};

/*
 * One buffer chain taken from the avail ring: @n_out device-readable
 * segments first (iov[0 .. n_out)), then @n_in device-writable ones
 * (iov[n_out .. n_out + n_in)), as the spec requires (a readable
 * descriptor after a writable one fails the chain). Every iov lies wholly
 * inside one RAM region. A descriptor gives one iov, or several when the
 * DMA space maps its pages apart; all count against VIRTQ_MAX_IOV.
 * Zero-length descriptors are allowed and get no
 * iov, so a chain may come back with n_out == n_in == 0. @out_len and
 * @in_len are the byte totals (at most VIRTQ_MAX_IOV * 4 GiB, no overflow).
 * The iovs stay valid until the chain is pushed; the guest may still
 * change the bytes behind them at any time.
 */
struct virtq_chain {
	uint16_t head;
	unsigned int n_out, n_in;
	uint64_t out_len, in_len;
	/*
	 * With vq->keep_faulted: some buffer was refused by the IOMMU (no
	 * iovec for it, its bytes still in out_len/in_len); last_faulted: the
	 * chain's last non-empty one was.
	 */
	bool faulted, last_faulted;
	struct iovec iov[VIRTQ_MAX_IOV];
};

/*
 * virtq_init_as - validate and attach a queue the driver has enabled: @size a
 * power of two no larger than VIRTQ_MAX_SIZE, each ring aligned as 2.7
 * requires (desc 16, avail 2, used 4) and each mapped by @as in one piece
 * of guest RAM (including the event fields when @event_idx): the descriptor
 * table and the driver area for reading, the device area for writing.
 * Resets the device-side state to the start of the rings. Allocates the
 * in-flight bitmap (size bits), and for a mapped space a bounce buffer for
 * indirect tables; @vq must be zeroed or previously passed to virtq_init
 * (a former allocation is freed). Writes nothing to guest memory.
 * Returns 0, or -EINVAL (-ENOMEM) with vq->error set; the queue is not
 * usable then (pop returns -EIO, the rest do nothing).
 * When @as's mappings change (dma_as_gen), the next pop or has_work maps
 * the rings again, and a ring no longer mapped breaks the queue.
 */
int virtq_init_as(struct virtq *vq, struct dma_as *as, uint16_t size,
		  uint64_t desc_iova, uint64_t avail_iova, uint64_t used_iova,
		  bool event_idx, bool indirect);

/* virtq_init - virtq_init_as over the identity space of @mem (no IOMMU). */
int virtq_init(struct virtq *vq, const struct guest_mem *mem, uint16_t size,
	       uint64_t desc_gpa, uint64_t avail_gpa, uint64_t used_gpa,
	       bool event_idx, bool indirect);

/*
 * virtq_rings_in - does the IOVA range [@lo, @hi] touch one of @vq's rings?
 * False for a queue that did not initialise (it has none).
 */
bool virtq_rings_in(const struct virtq *vq, uint64_t lo, uint64_t hi);

/*
 * virtq_destroy - free what virtq_init allocated; safe on a zeroed or failed
 * queue, and twice. The queue is unusable afterwards, as after a failed init.
 */
void virtq_destroy(struct virtq *vq);

/*
 * virtq_pop - take the next available chain into @c.
 * Returns 1 with @c filled, 0 when the ring is empty, or -EIO when the
 * guest broke the ring (avail->idx more than size ahead or moved back, a
 * head out of range or already in flight): the queue is then broken and
 * every later call returns -EIO.
 * A chain that is bad on its own (a loop, too long, an address outside RAM
 * or wrapping, a bad indirect table, readable after writable) returns
 * -EINVAL with @c->head set and n_out == n_in == 0: the request is failed,
 * the chain must still be pushed back with virtq_push(vq, c->head, 0) so
 * the guest gets its buffers back, and the queue stays usable.
 * vq->error says why, for either error.
 * With EVENT_IDX, finding the ring empty also publishes avail_event (and
 * re-checks behind a full barrier), so a device that simply pops until 0
 * on every kick never misses one. Allocates nothing, takes no lock.
 */
int virtq_pop(struct virtq *vq, struct virtq_chain *c);

/*
 * virtq_push - return chain @head to the driver with @written bytes
 * written into its writable part (the caller keeps @written <= in_len).
 * A head not in flight is ignored (and logged once), so a device bug cannot
 * corrupt the used ring. On a broken queue the head leaves the in-flight
 * set but nothing is written to the used ring.
 */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t written);

/*
 * virtq_push_n - return @n chains at once, @heads[i] with @lens[i] bytes
 * written (@lens NULL: 0 for all): every used element is written first and
 * used->idx published with one store, so a polling driver sees all of them
 * or none (virtio-net mergeable RX: Linux drops a frame whose later buffers
 * are not yet used). Heads not in flight are skipped, as by virtq_push.
 */
void virtq_push_n(struct virtq *vq, const uint16_t *heads, const uint32_t *lens, unsigned int n);

/*
 * virtq_should_notify - after pushes: does the driver want an interrupt
 * now? Honours VRING_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX
 * (interrupt iff the pushes since the previous call crossed it, 2.7.7).
 * Each call consumes the pushes before it: call it once per batch and send
 * the interrupt when it returns true. False when nothing was pushed since
 * the previous call (without EVENT_IDX) and on a broken queue.
 */
bool virtq_should_notify(struct virtq *vq);

/*
 * virtq_set_notify - ask the driver for kicks (@enable) or not: the used
 * ring's NO_NOTIFY flag, or avail_event with EVENT_IDX (last_avail to
 * enable, last_avail - 1, which the driver can never cross, to disable).
 * After enabling (a full barrier follows the store), callers re-check
 * virtq_has_work to close the race with a kick the driver skipped:
 *
 *	for (;;) {
 *		virtq_set_notify(vq, false);
 *		while ((r = virtq_pop(vq, &c)) != 0) {
 *			if (r == -EIO) {
 *				virtio_set_needs_reset(vdev, vq->error);
 *				return;
 *			}
 *			... serve it (r == 1) or fail it (-EINVAL), then
 *			virtq_push(vq, c.head, written);
 *		}
 *		if (virtq_should_notify(vq)) ... interrupt
 *		virtq_set_notify(vq, true);
 *		if (!virtq_has_work(vq))
 *			break;
 *	}
 *
 * Suppression is a hint: the driver may kick anyway.
 */
void virtq_set_notify(struct virtq *vq, bool enable);

/* virtq_has_work - is there a chain to pop (avail->idx != last_avail)? False when broken. */
bool virtq_has_work(struct virtq *vq);

/*
 * Copy helpers over a chain's segments. virtq_iov_to_buf copies up to
 * @len bytes of the readable part starting at byte @off into @buf;
 * virtq_buf_to_iov copies @len bytes into the writable part starting at
 * byte @off. Both return the bytes copied (short at the chain's end).
 */
size_t virtq_iov_to_buf(const struct virtq_chain *c, uint64_t off, void *buf, size_t len);
size_t virtq_buf_to_iov(const struct virtq_chain *c, uint64_t off, const void *buf, size_t len);

#endif
