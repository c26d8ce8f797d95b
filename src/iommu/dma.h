/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_IOMMU_DMA_H
#define KVMIO_IOMMU_DMA_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mem.h"
#include "util.h"

/*
 * DMA address spaces: how the bus addresses a device puts on the wire (IOVAs)
 * reach guest RAM. Each PCI function has one; every access a device model
 * makes to guest memory on its own (virtqueue rings and buffers) is translated
 * through it, with the direction checked. Firmware loading (the kernel,
 * boot_params, ACPI tables) is not DMA and uses guest_ptr() directly.
 *
 * Two kinds:
 *   identity  ops == NULL: IOVA = guest-physical address, any RAM, both
 *             directions. No IOMMU, or one with translation off or in
 *             pass-through: what every device had before IOMMUs. Inline, as
 *             cheap as guest_ptr().
 *   mapped    ops->lookup gives, for one IOVA, the guest-physical address it
 *             maps to, how far that mapping runs and its permissions (the
 *             emulated VT-d walks the guest's page tables). dma_translate
 *             splits a range at mapping boundaries, merges pieces that are
 *             adjacent in host memory, and refuses what is not mapped, lacks
 *             the permission or lands outside RAM, reporting each refusal
 *             (ops->fault, and one rate-limited line).
 *
 * Holders of cached translations (a virtqueue's ring pointers) compare
 * dma_as_gen() with the generation they translated at: whoever changes or
 * removes mappings calls dma_as_changed() first.
 */

/* Directions, from the device's side. */
#define DMA_READ	1u	/* the device reads guest memory (a driver's request) */
#define DMA_WRITE	2u	/* the device writes it (data for the driver, used rings) */

struct dma_as;

/*
 * One mapping as a replay reports it: IOVAs [@iova, @iova + @len) are guest
 * physical [@gpa, @gpa + @len), with permissions @perm. Nonzero stops the replay.
 */
typedef int (*dma_replay_fn)(void *opaque, uint64_t iova, uint64_t gpa, uint64_t len,
			     unsigned int perm);

/* One mapping as ops->lookup reports it. */
struct dma_map {
	uint64_t gpa;		/* guest-physical address the looked-up IOVA maps to */
	uint64_t len;		/* bytes from there to the end of the mapping (its page), >= 1 */
	unsigned int perm;	/* DMA_READ | DMA_WRITE allowed */
	const char *why;	/* on a refusal: the reason, for the log line */
	unsigned int code;	/* on a refusal by lookup: its own code (VT-d's fault reason) */
};

struct dma_as_ops {
	/*
	 * The mapping that covers @iova, for an access in direction @dir:
	 * 0 with @m filled, or -EFAULT (nothing mapped there, or the tables
	 * are unusable) with m->why set. Permissions are checked by the
	 * caller. Called on device worker threads: it must not sleep for
	 * long, and takes what locks it needs itself.
	 */
	int (*lookup)(struct dma_as *as, uint64_t iova, unsigned int dir, struct dma_map *m);
	/*
	 * A refused access, for the implementation's fault records (VT-d's
	 * fault recording registers). @err is -EFAULT (lookup failed: @m->code
	 * and @m->why are its own; or a mapping outside RAM, or a range that
	 * wraps: code 0) or -EACCES (no permission for @dir: @m->perm says
	 * what the mapping allows). May be NULL.
	 */
	void (*fault)(struct dma_as *as, uint64_t iova, unsigned int dir, int err,
		      const struct dma_map *m);
	/*
	 * Every mapping that overlaps IOVAs [@lo, @hi], whole and in IOVA
	 * order, to @fn (see dma_replay). For holders that mirror the space
	 * elsewhere (an assigned device's host IOMMU domain). 0, -E2BIG when
	 * the tables were too large to walk, or what @fn returned.
	 */
	int (*replay)(struct dma_as *as, uint64_t lo, uint64_t hi, dma_replay_fn fn, void *opaque);
};

/*
 * Told when mappings of a space change (dma_as_notify): IOVAs [@lo, @hi]
 * may map differently now. Called on the thread that changed them, before
 * the change is reported complete to the guest (a VT-d invalidation).
 */
struct dma_listener {
	void (*changed)(struct dma_listener *l, uint64_t lo, uint64_t hi);
};

struct dma_as {
	const struct guest_mem *mem;	/* where translations land */
	const struct dma_as_ops *ops;	/* NULL: identity */
	void *opaque;			/* the implementation's */
	const char *name;		/* the device, for fault lines ("virtio-blk@03.0") */
	uint16_t rid;			/* PCI requester id (bus << 8 | devfn), for mapped spaces */
	struct dma_listener *listener;	/* or NULL; set before the guest runs */
	uint32_t gen;			/* see dma_as_gen; atomic */
	uint64_t faults;		/* refusals so far; atomic */
	struct ratelimit fault_rl;
};

/* dma_as_init - @as as an identity space over @mem (ops NULL). */
void dma_as_init(struct dma_as *as, const struct guest_mem *mem, const char *name);

int dma_translate_mapped(struct dma_as *as, uint64_t iova, uint64_t len, unsigned int dir,
			 struct iovec *iov, unsigned int max);

/*
 * dma_translate - the IOVA range [@iova, @iova + @len) for an access in
 * direction @dir (DMA_READ and/or DMA_WRITE) as host pieces @iov[0 .. n),
 * in order, at most @max of them. Returns n (0 for @len 0), or:
 *   -EFAULT  part of the range is not mapped, is mapped outside RAM, or the
 *            range wraps 2^64;
 *   -EACCES  part of it is mapped without the permission for @dir;
 *   -E2BIG   it needs more than @max pieces (nothing is reported: the caller
 *            decides what that means).
 * -EFAULT and -EACCES are reported (ops->fault, a log line, as->faults).
 * Nothing outside what the space maps is ever returned. Lock-free for
 * identity; a mapped space's lookup locks what it needs.
 */
static inline int dma_translate(struct dma_as *as, uint64_t iova, uint64_t len, unsigned int dir,
				struct iovec *iov, unsigned int max)
{
	void *p;

	if (as->ops)
		return dma_translate_mapped(as, iova, len, dir, iov, max);
	if (len == 0)
		return 0;
	if (max == 0)
		return -E2BIG;
	p = guest_ptr(as->mem, iova, len);
	if (!p)
		return -EFAULT;
	iov[0] = (struct iovec){ p, len };
	return 1;
}

/*
 * dma_map_contig - one host pointer for the whole range, for structures
 * that are used in place (virtqueue rings): NULL when dma_translate fails
 * or gives more than one piece (with *@err set to its error, or -E2BIG).
 */
void *dma_map_contig(struct dma_as *as, uint64_t iova, uint64_t len, unsigned int dir, int *err);

/*
 * dma_copy_from - copy @len bytes at @iova (direction DMA_READ) into @buf,
 * however the range is split. 0, or dma_translate's error (-E2BIG when the
 * range is split into more than 64 pieces).
 */
int dma_copy_from(struct dma_as *as, uint64_t iova, void *buf, uint64_t len);

/*
 * dma_replay - every mapping of @as overlapping IOVAs [@lo, @hi], whole, in
 * IOVA order, to @fn. An identity space maps each RAM region at its own
 * address. Returns 0, -E2BIG (ops->replay gave up on tables too large), or
 * the first nonzero @fn returned.
 */
int dma_replay(struct dma_as *as, uint64_t lo, uint64_t hi, dma_replay_fn fn, void *opaque);

/* dma_replay_identity - @fn for each region of @mem overlapping [@lo, @hi], IOVA = GPA. */
int dma_replay_identity(const struct guest_mem *mem, uint64_t lo, uint64_t hi, dma_replay_fn fn,
			void *opaque);

/* Generation of the space's mappings: changes whenever a mapping is removed or changed. */
static inline uint32_t dma_as_gen(const struct dma_as *as)
{
	return __atomic_load_n(&as->gen, __ATOMIC_ACQUIRE);
}

/* dma_as_changed - mappings of @as were removed or changed: cached translations are stale. */
static inline void dma_as_changed(struct dma_as *as)
{
	__atomic_fetch_add(&as->gen, 1, __ATOMIC_RELEASE);
}

/*
 * dma_as_notify - IOVAs [@lo, @hi] of @as may map differently now: cached
 * translations are dropped (dma_as_changed) and the listener, if any, told.
 */
static inline void dma_as_notify(struct dma_as *as, uint64_t lo, uint64_t hi)
{
	dma_as_changed(as);
	if (as->listener)
		as->listener->changed(as->listener, lo, hi);
}

#endif
