// SPDX-License-Identifier: Apache-2.0
/*
 * Split virtqueues, device side (virtio 1.2 section 2.7): validating the
 * rings at enable, walking descriptor chains (direct and indirect) into
 * iovecs over guest RAM, returning them through the used ring, and the
 * notification suppression of 2.7.7 and 2.7.10 (flags or EVENT_IDX).
 *
 * Every byte of the rings belongs to a guest that may be hostile and may
 * change it while we read (hostile-guest.md cases 1-11): each descriptor
 * and ring entry is read once into a local copy and checked there; every
 * address goes through the queue's DMA space (dma_translate), so nothing
 * outside RAM, or outside what an IOMMU maps for the device, is touched.
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "virtio/queue.h"

/* Modern virtio is little endian (1.2 section 1.4); so is every host we build for. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian host required");
_Static_assert(sizeof(struct vring_desc) == 16, "vring_desc layout");
_Static_assert(sizeof(struct vring_used_elem) == 8, "vring_used_elem layout");

/* Ring sizes (2.7: "Virtqueue Part", alignment and size table). */
#define DESC_ALIGN	16
#define AVAIL_ALIGN	2
#define USED_ALIGN	4

static uint64_t desc_bytes(uint16_t size)
{
	return 16ULL * size;
}

static uint64_t avail_bytes(uint16_t size, bool event_idx)
{
	return 4 + 2ULL * size + (event_idx ? 2 : 0);	/* flags, idx, ring[], used_event */
}

static uint64_t used_bytes(uint16_t size, bool event_idx)
{
	return 4 + 8ULL * size + (event_idx ? 2 : 0);	/* flags, idx, ring[], avail_event */
}

/*
 * The compiler must not re-read a guest-shared location after we checked a
 * copy of it (a double fetch would let the guest swap a checked value for an
 * unchecked one). Ring fields go through __atomic loads/stores; descriptors,
 * which may sit unaligned in an indirect table, are memcpy'd and then fenced
 * off from the source with this compiler barrier.
 */
#define compiler_barrier() __asm__ __volatile__("" ::: "memory")

static inline uint16_t load16(const void *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
}

static inline void store16(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED);
}

static inline uint16_t *used_event_ptr(const struct virtq *vq)
{
	return (uint16_t *)&vq->avail->ring[vq->size];
}

static inline uint16_t *avail_event_ptr(const struct virtq *vq)
{
	return (uint16_t *)&vq->used->ring[vq->size];
}

static inline bool inflight_test(const struct virtq *vq, uint16_t head)
{
	return vq->inflight_map[head >> 3] & (1u << (head & 7));
}

static inline void inflight_set(struct virtq *vq, uint16_t head)
{
	vq->inflight_map[head >> 3] |= (uint8_t)(1u << (head & 7));
}

static inline void inflight_clear(struct virtq *vq, uint16_t head)
{
	vq->inflight_map[head >> 3] &= (uint8_t)~(1u << (head & 7));
}

static int ring_broken(struct virtq *vq, const char *why)
{
	vq->broken = true;
	vq->error = why;
	return -EIO;
}

/*
 * Map the three rings through vq->as: each in one piece, the descriptor
 * table and driver area for reading, the device area for writing. NULL
 * and vq->error set when one is not.
 */
static const char *map_rings(struct virtq *vq)
{
	int err = 0;

	vq->as_gen = dma_as_gen(vq->as);
	vq->desc = dma_map_contig(vq->as, vq->desc_gpa, desc_bytes(vq->size), DMA_READ, &err);
	if (!vq->desc)
		return err == -E2BIG ? "descriptor table not contiguous in guest RAM"
				     : "descriptor table outside RAM or not mapped";
	vq->avail = dma_map_contig(vq->as, vq->avail_gpa, avail_bytes(vq->size, vq->event_idx),
				   DMA_READ, &err);
	if (!vq->avail)
		return err == -E2BIG ? "available ring not contiguous in guest RAM"
				     : "available ring outside RAM or not mapped";
	vq->used = dma_map_contig(vq->as, vq->used_gpa, used_bytes(vq->size, vq->event_idx),
				  DMA_WRITE, &err);
	if (!vq->used)
		return err == -E2BIG ? "used ring not contiguous in guest RAM"
				     : "used ring outside RAM or not mapped";
	return NULL;
}

int virtq_init_as(struct virtq *vq, struct dma_as *as, uint16_t size,
		  uint64_t desc_iova, uint64_t avail_iova, uint64_t used_iova,
		  bool event_idx, bool indirect)
{
	const char *why = NULL;

	free(vq->inflight_map);
	free(vq->bounce);
	if (as == &vq->ident) {
		struct dma_as ident = vq->ident;

		memset(vq, 0, sizeof(*vq));
		vq->ident = ident;
	} else {
		memset(vq, 0, sizeof(*vq));
	}
	vq->as = as;
	vq->broken = true;	/* until every check below has passed */
	vq->size = size;
	vq->event_idx = event_idx;
	vq->desc_gpa = desc_iova;
	vq->avail_gpa = avail_iova;
	vq->used_gpa = used_iova;

	if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)))
		why = "queue size not a power of two in 1..32768";
	else if (desc_iova % DESC_ALIGN || avail_iova % AVAIL_ALIGN || used_iova % USED_ALIGN)
		why = "virtqueue ring misaligned";
	else
		why = map_rings(vq);
	if (why) {
		vq->size = 0;
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		vq->error = why;
		return -EINVAL;
	}

	vq->inflight_map = calloc((size + 7u) / 8, 1);
	if (as->ops && indirect)
		vq->bounce = malloc(VIRTQ_MAX_INDIRECT * 16);
	if (!vq->inflight_map || (as->ops && indirect && !vq->bounce)) {
		vq->error = "out of memory for the in-flight map or the indirect bounce buffer";
		return -ENOMEM;
	}
	vq->indirect = indirect;
	/* 2.7: both indices start at 0 when the queue is enabled. */
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used_valid = false;
	vq->broken = false;
	return 0;
}

int virtq_init(struct virtq *vq, const struct guest_mem *mem, uint16_t size,
	       uint64_t desc_gpa, uint64_t avail_gpa, uint64_t used_gpa,
	       bool event_idx, bool indirect)
{
	dma_as_init(&vq->ident, mem, NULL);
	return virtq_init_as(vq, &vq->ident, size, desc_gpa, avail_gpa, used_gpa, event_idx,
			     indirect);
}

/*
 * The space's mappings changed since the rings were mapped: map them again
 * (the driver may have moved nothing, only unmapped something else). A ring
 * that is no longer mapped breaks the queue. False when broken.
 */
static bool rings_current(struct virtq *vq)
{
	const char *why;

	if (__builtin_expect(dma_as_gen(vq->as) == vq->as_gen, 1))
		return true;
	why = map_rings(vq);
	if (why) {
		ring_broken(vq, why);
		return false;
	}
	return true;
}

/*
 * Not broken, rings mapped as they are now. A queue that was never
 * initialised, failed to, or was destroyed has no in-flight map.
 */
static inline bool usable(struct virtq *vq)
{
	return !vq->broken && vq->inflight_map && rings_current(vq);
}

/* Does [lo, hi] touch the @len bytes at @addr? */
static bool overlaps(uint64_t lo, uint64_t hi, uint64_t addr, uint64_t len)
{
	return addr <= hi && lo <= addr + len - 1;
}

bool virtq_rings_in(const struct virtq *vq, uint64_t lo, uint64_t hi)
{
	return vq->size && (overlaps(lo, hi, vq->desc_gpa, desc_bytes(vq->size)) ||
			    overlaps(lo, hi, vq->avail_gpa, avail_bytes(vq->size, vq->event_idx)) ||
			    overlaps(lo, hi, vq->used_gpa, used_bytes(vq->size, vq->event_idx)));
}

void virtq_destroy(struct virtq *vq)
{
	free(vq->inflight_map);
	vq->inflight_map = NULL;
	free(vq->bounce);
	vq->bounce = NULL;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->inflight = 0;
}

/* Snapshot one descriptor: see compiler_barrier. */
static inline void read_desc(struct vring_desc *d, const void *p)
{
	memcpy(d, p, sizeof(*d));
	compiler_barrier();
}

static int chain_bad(struct virtq *vq, struct virtq_chain *c, const char *why)
{
	vq->error = why;
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;
	c->faulted = c->last_faulted = false;
	return -EINVAL;
}

/*
 * An indirect table of @len bytes at @iova, to read descriptors from: in
 * place when the space maps it in one piece (always, for identity), else
 * copied into the queue's bounce buffer, a snapshot like read_desc's.
 */
static const uint8_t *map_indirect(struct virtq *vq, uint64_t iova, uint32_t len)
{
	int err = 0;
	const uint8_t *p = dma_map_contig(vq->as, iova, len, DMA_READ, &err);

	if (p || err != -E2BIG || !vq->bounce)
		return p;
	if (dma_copy_from(vq->as, iova, vq->bounce, len))
		return NULL;
	compiler_barrier();
	return vq->bounce;
}

/*
 * Walk the chain starting at @c->head into @c (2.7.5, 2.7.5.3). Bounds:
 * at most vq->size descriptors in the direct table and at most the table's
 * length in an indirect one, so a loop ends after that many hops; at most
 * VIRTQ_MAX_IOV non-empty segments in all. Direct descriptors may be
 * followed by one indirect descriptor (2.7.5.3.2), which ends the chain
 * (INDIRECT together with NEXT is refused, 2.7.5.3.1), so at most one
 * table is followed and it cannot nest.
 */
static int walk_chain(struct virtq *vq, struct virtq_chain *c)
{
	const uint8_t *table = (const uint8_t *)vq->desc;
	/* The identity space's RAM, looked up once per chain; NULL for a mapped space. */
	const struct guest_mem *mem = vq->as->ops ? NULL : vq->as->mem;
	uint32_t table_len = vq->size, hops = 0, idx = c->head;
	bool in_table = false, writable, seen_writable = false;
	struct vring_desc d;

	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;
	c->faulted = c->last_faulted = false;
	for (;;) {
		read_desc(&d, table + 16 * (size_t)idx);
		hops++;

		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!vq->indirect)
				return chain_bad(vq, c, "indirect descriptor, VIRTIO_F_INDIRECT_DESC off");
			if (in_table)
				return chain_bad(vq, c, "nested indirect descriptor");
			if (d.flags & VRING_DESC_F_NEXT)
				return chain_bad(vq, c, "indirect descriptor with NEXT");
			/* 0, not whole descriptors, or longer than we accept. */
			if (d.len == 0 || d.len % 16 || d.len > VIRTQ_MAX_INDIRECT * 16)
				return chain_bad(vq, c, "bad indirect table length");
			/* The WRITE flag of this descriptor is ignored (2.7.5.3.2). */
			table = map_indirect(vq, d.addr, d.len);
			if (!table)
				return chain_bad(vq, c, "indirect table outside RAM or not mapped");
			table_len = d.len / 16;
			in_table = true;
			hops = 0;
			idx = 0;
			continue;
		}

		writable = d.flags & VRING_DESC_F_WRITE;
		/* 2.7.4.2: all device-readable descriptors come before writable ones. */
		if (!writable && seen_writable)
			return chain_bad(vq, c, "device-readable descriptor after a writable one");
		seen_writable |= writable;
		/*
		 * A zero-length segment touches no memory, so it needs no
		 * address check and gets no iovec; it still costs a hop.
		 */
		if (d.len) {
			unsigned int used = c->n_out + c->n_in;
			int n;

			/* Identity: one piece or none, as dma_translate would say, without the call. */
			if (mem) {
				void *p = guest_ptr(mem, d.addr, d.len);

				n = used == VIRTQ_MAX_IOV ? -E2BIG : !p ? -EFAULT : 1;
				if (n == 1)
					c->iov[used] = (struct iovec){ p, d.len };
			} else {
				n = dma_translate(vq->as, d.addr, d.len, writable ? DMA_WRITE : DMA_READ,
						  &c->iov[used], VIRTQ_MAX_IOV - used);
			}
			if (n == -E2BIG)
				return chain_bad(vq, c, "descriptor chain longer than VIRTQ_MAX_IOV");
			/* Refused by the IOMMU (reported already): the device fails this request. */
			if ((n == -EFAULT || n == -EACCES) && !mem && vq->keep_faulted) {
				c->faulted = c->last_faulted = true;
				n = 0;
			} else if (n < 0) {
				return chain_bad(vq, c, "descriptor buffer outside RAM or not mapped");
			} else {
				c->last_faulted = false;
			}
			/* <= VIRTQ_MAX_IOV * (2^32 - 1) bytes: the sums cannot overflow. */
			if (writable) {
				c->n_in += (unsigned int)n;
				c->in_len += d.len;
			} else {
				c->n_out += (unsigned int)n;
				c->out_len += d.len;
			}
		}

		if (!(d.flags & VRING_DESC_F_NEXT))
			return 1;
		if (hops >= table_len)
			return chain_bad(vq, c, in_table ? "indirect descriptor loop" : "descriptor loop");
		idx = d.next;
		if (idx >= table_len)
			return chain_bad(vq, c, "descriptor next out of range");
	}
}

static inline uint16_t avail_idx_acquire(const struct virtq *vq)
{
	/* 2.7.13.3: read avail->idx before the ring entries it covers. */
	return __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
}

int virtq_pop(struct virtq *vq, struct virtq_chain *c)
{
	uint16_t avail, pending, head;

	if (!usable(vq))
		return -EIO;
	avail = avail_idx_acquire(vq);
	if (avail == vq->last_avail && vq->event_idx) {
		/*
		 * Empty. With EVENT_IDX the driver only kicks when it moves
		 * avail->idx past avail_event, so publish where we stand before
		 * reporting empty, or a device that never calls virtq_set_notify
		 * would miss every kick after the first. The full barrier orders
		 * that store before the re-read of avail->idx (2.7.10; a store
		 * followed by a load needs more than release/acquire), closing
		 * the race with a driver that added a buffer meanwhile.
		 */
		store16(avail_event_ptr(vq), vq->last_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail = avail_idx_acquire(vq);
	}
	pending = (uint16_t)(avail - vq->last_avail);
	if (pending == 0)
		return 0;
	/* Also catches avail->idx going backwards: that wraps to a huge count. */
	if (pending > vq->size)
		return ring_broken(vq, "avail idx moved more than the queue size ahead");

	head = load16(&vq->avail->ring[vq->last_avail & (vq->size - 1)]);
	if (head >= vq->size)
		return ring_broken(vq, "avail ring head out of range");
	/* Each head is in flight at most once, so at most size are in flight (case 10). */
	if (inflight_test(vq, head))
		return ring_broken(vq, "avail ring head already in flight");
	inflight_set(vq, head);
	vq->inflight++;
	vq->last_avail++;

	c->head = head;
	return walk_chain(vq, c);
}

/* Take @head out of the in-flight set; false (and one log line ever) if it was not in it. */
static bool inflight_take(struct virtq *vq, uint16_t head)
{
	static bool warned;

	if (!vq->inflight_map || head >= vq->size || !inflight_test(vq, head)) {
		if (!__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED))
			pr_warn("virtq: push of head %u, which is not in flight (device bug)", head);
		return false;
	}
	inflight_clear(vq, head);
	vq->inflight--;
	return true;
}

void virtq_push_n(struct virtq *vq, const uint16_t *heads, const uint32_t *lens, unsigned int n)
{
	uint16_t old = vq->used_idx, new = old;

	usable(vq);	/* a used ring no longer mapped breaks the queue first */
	for (unsigned int i = 0; i < n; i++) {
		struct vring_used_elem *e;

		/* Broken: the driver must reset; write nothing more into its rings. */
		if (!inflight_take(vq, heads[i]) || vq->broken)
			continue;
		/* At most size heads are in flight, so this never laps an unpublished element. */
		e = &vq->used->ring[new & (vq->size - 1)];
		__atomic_store_n(&e->id, heads[i], __ATOMIC_RELAXED);
		__atomic_store_n(&e->len, lens ? lens[i] : 0, __ATOMIC_RELAXED);
		new++;
	}
	if (new == old)
		return;
	/* 2.7.8.2: the elements are visible before the index that publishes them. */
	__atomic_store_n(&vq->used->idx, new, __ATOMIC_RELEASE);
	vq->used_idx = new;
	/*
	 * If used_idx has come all the way round to signalled_used, the
	 * 16-bit window vring_need_event compares is ambiguous: force the
	 * next interrupt (as vhost does).
	 */
	if ((uint16_t)(new - vq->signalled_used) < (uint16_t)(new - old))
		vq->signalled_used_valid = false;
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t written)
{
	virtq_push_n(vq, &head, &written, 1);
}

bool virtq_should_notify(struct virtq *vq)
{
	uint16_t old, new, event;
	bool valid;

	if (!usable(vq))
		return false;
	/*
	 * The device's side of 2.7.13.4: used->idx (stored by virtq_push)
	 * must be visible before we read the driver's flags or used_event,
	 * else the driver may see the old idx, re-enable interrupts, and we
	 * read its stale "don't" (store then load: a full barrier).
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	new = vq->used_idx;
	vq->signalled_used = new;
	vq->signalled_used_valid = true;

	if (!vq->event_idx) {
		/* Nothing pushed since the last check: no news to interrupt for. */
		if (valid && old == new)
			return false;
		return !(load16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	}
	if (!valid)
		return true;
	event = load16(used_event_ptr(vq));
	/* 2.7.7.2: interrupt iff used_event lies in [old, new). */
	return vring_need_event(event, new, old);
}

void virtq_set_notify(struct virtq *vq, bool enable)
{
	if (!usable(vq))
		return;
	if (vq->event_idx) {
		/*
		 * The driver kicks when avail->idx moves past avail_event
		 * (2.7.10). last_avail asks for a kick on the next buffer;
		 * last_avail - 1 lies behind anything the driver can still
		 * publish (it is never more than size ahead), so never kicks.
		 */
		store16(avail_event_ptr(vq), enable ? vq->last_avail : (uint16_t)(vq->last_avail - 1));
	} else {
		/* NO_NOTIFY is the only used->flags bit (2.7.8). */
		store16(&vq->used->flags, enable ? 0 : VRING_USED_F_NO_NOTIFY);
	}
	/*
	 * The caller re-reads avail->idx next (virtq_has_work): that load must
	 * not pass the store above, or a kick the driver skipped is lost.
	 */
	if (enable)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

bool virtq_has_work(struct virtq *vq)
{
	if (!usable(vq))
		return false;
	return avail_idx_acquire(vq) != vq->last_avail;
}

size_t virtq_iov_to_buf(const struct virtq_chain *c, uint64_t off, void *buf, size_t len)
{
	uint8_t *dst = buf;
	size_t done = 0;

	for (unsigned int i = 0; i < c->n_out && done < len; i++) {
		size_t seg = c->iov[i].iov_len, n;

		if (off >= seg) {
			off -= seg;
			continue;
		}
		n = MIN(seg - off, len - done);
		memcpy(dst + done, (const uint8_t *)c->iov[i].iov_base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t virtq_buf_to_iov(const struct virtq_chain *c, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *src = buf;
	size_t done = 0;

	for (unsigned int i = c->n_out; i < c->n_out + c->n_in && done < len; i++) {
		size_t seg = c->iov[i].iov_len, n;

		if (off >= seg) {
			off -= seg;
			continue;
		}
		n = MIN(seg - off, len - done);
		memcpy((uint8_t *)c->iov[i].iov_base + off, src + done, n);
		done += n;
		off = 0;
	}
	return done;
}
