/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_IOMMU_SHADOW_H
#define KVMIO_IOMMU_SHADOW_H

#include <stddef.h>
#include <stdint.h>

#include "iommu/dma.h"
#include "util.h"

/*
 * Shadow mappings: a DMA address space (the guest's view of one device's
 * IOMMU domain) mirrored into a backend that maps IOVAs to host memory (a
 * VFIO container: the host IOMMU domain the real device DMAs through).
 *
 * The shadow holds the entries exactly as the backend has them: each a run
 * of mappings the space reported (VT-d leaves of 4 KiB, 2 MiB or 1 GiB; a
 * whole RAM region for identity) that were new in one sync and go on in
 * IOVA and host memory alike. shadow_sync(lo, hi) replays the space over
 * [lo, hi] and makes the backend agree: entries that no longer match leaf
 * for leaf are unmapped first, then new runs mapped; unchanged entries are
 * left alone, so DMA in flight to them never sees a gap. Nothing the space
 * does not map, or that is not guest RAM, is ever mapped. Not thread-safe:
 * the caller serializes syncs (the VT-d unit's lock does).
 */

struct shadow_ops {
	/* Map host [@hva, @hva + @len) at @iova with @perm (DMA_READ | DMA_WRITE): 0 or -errno. */
	int (*map)(void *opaque, uint64_t iova, void *hva, uint64_t len, unsigned int perm);
	/* Unmap exactly what one map call mapped at @iova: 0 or -errno. */
	int (*unmap)(void *opaque, uint64_t iova, uint64_t len);
};

struct shadow_entry {
	uint64_t iova, gpa, len;
	unsigned int perm;
};

struct shadow {
	struct dma_listener listener;	/* on the source space: syncs what changed */
	struct dma_as *src;
	const struct shadow_ops *ops;
	void *opaque;
	const char *name;		/* for log lines */
	struct shadow_entry *e;		/* sorted by IOVA, never overlapping */
	size_t n, cap;
	size_t max;			/* mappings one sync looks at, at most */
	uint64_t maps, unmaps, errors;	/* so far, for the exit line and tests */
	uint64_t truncated;		/* syncs that could not see the whole range */
	struct ratelimit rl;
};

/*
 * shadow_init - an empty shadow of @src into @ops; it becomes @src's
 * listener. Nothing is mapped until the first shadow_sync. A sync looks at
 * @max mappings at most (the backend's capacity; should the backend hold
 * fewer, that shows as its map failing).
 */
void shadow_init(struct shadow *s, struct dma_as *src, const struct shadow_ops *ops, void *opaque,
		 const char *name, size_t max);

/*
 * shadow_sync - make the backend agree with @src over IOVAs [@lo, @hi]
 * (and over the whole of any mapping that overlaps it). Returns 0, or the
 * first error: -E2BIG (the space's tables were too large to walk, or held
 * more than @max mappings: what was seen is mirrored, the rest stays
 * unmapped), -ENOMEM, or a backend error (that entry stays as it was:
 * mapped if its unmap failed, unmapped if its map failed).
 */
int shadow_sync(struct shadow *s, uint64_t lo, uint64_t hi);

/*
 * shadow_destroy - forget every entry without unmapping (the backend goes
 * with it), unhook, and leave src NULL: a shadow of nothing.
 */
void shadow_destroy(struct shadow *s);

#endif
