// SPDX-License-Identifier: Apache-2.0
/*
 * DMA address spaces (dma.h): the translation loop a mapped space shares,
 * whatever its tables are. ops->lookup answers for one IOVA; this file
 * walks a range mapping by mapping, checks each one's permission and where
 * it lands, and turns the result into host pieces.
 */
#include <inttypes.h>
#include <string.h>

#include "iommu/dma.h"

void dma_as_init(struct dma_as *as, const struct guest_mem *mem, const char *name)
{
	memset(as, 0, sizeof(*as));
	as->mem = mem;
	as->name = name;
}

static const char *dir_name(unsigned int dir)
{
	switch (dir) {
	case DMA_READ: return "read";
	case DMA_WRITE: return "write";
	default: return "read/write";
	}
}

/*
 * A refused access: counted, handed to the implementation, and one log line
 * (rate-limited). @why, when given, replaces @m's reason (dma.c's own refusals).
 */
static int refuse(struct dma_as *as, uint64_t iova, unsigned int dir, int err,
		  struct dma_map *m, const char *why)
{
	if (why) {
		m->why = why;
		m->code = 0;
	}
	if (!m->why)
		m->why = "not mapped";
	__atomic_fetch_add(&as->faults, 1, __ATOMIC_RELAXED);
	if (as->ops->fault)
		as->ops->fault(as, iova, dir, err, m);
	if (ratelimit_ok(&as->fault_rl, 5))
		pr_warn("DMA fault: %s %s at IOVA 0x%" PRIx64 " refused: %s",
			as->name ? as->name : "device", dir_name(dir), iova, m->why);
	return err;
}

int dma_translate_mapped(struct dma_as *as, uint64_t iova, uint64_t len, unsigned int dir,
			 struct iovec *iov, unsigned int max)
{
	unsigned int n = 0;
	struct dma_map m;
	uint8_t *p;
	uint64_t take;

	m = (struct dma_map){ 0 };
	if (len == 0)
		return 0;
	if (iova + len - 1 < iova)
		return refuse(as, iova, dir, -EFAULT, &m, "range wraps the address space");
	while (len) {
		m = (struct dma_map){ 0 };
		if (as->ops->lookup(as, iova, dir, &m))
			return refuse(as, iova, dir, -EFAULT, &m, NULL);
		if (m.len == 0)
			return refuse(as, iova, dir, -EFAULT, &m, "empty mapping");
		if ((m.perm & dir) != dir)
			return refuse(as, iova, dir, -EACCES, &m, dir & DMA_WRITE && !(m.perm & DMA_WRITE) ?
				      "mapped without write permission" : "mapped without read permission");
		take = MIN(len, m.len);
		/* A mapping onto the MMIO hole (a BAR, the IOAPIC) is not RAM: no peer-to-peer. */
		p = guest_ptr(as->mem, m.gpa, take);
		if (!p)
			return refuse(as, iova, dir, -EFAULT, &m, "translated address outside RAM");
		if (n && (uint8_t *)iov[n - 1].iov_base + iov[n - 1].iov_len == p) {
			iov[n - 1].iov_len += take;
		} else {
			if (n == max)
				return -E2BIG;
			iov[n++] = (struct iovec){ p, take };
		}
		iova += take;
		len -= take;
	}
	return (int)n;
}

void *dma_map_contig(struct dma_as *as, uint64_t iova, uint64_t len, unsigned int dir, int *err)
{
	struct iovec v;
	int n = dma_translate(as, iova, len, dir, &v, 1);

	if (n == 1)
		return v.iov_base;
	*err = n == 0 ? -EINVAL : n;
	return NULL;
}

int dma_copy_from(struct dma_as *as, uint64_t iova, void *buf, uint64_t len)
{
	struct iovec v[64];
	uint8_t *dst = buf;
	int n = dma_translate(as, iova, len, DMA_READ, v, 64);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		memcpy(dst, v[i].iov_base, v[i].iov_len);
		dst += v[i].iov_len;
	}
	return 0;
}

int dma_replay_identity(const struct guest_mem *mem, uint64_t lo, uint64_t hi, dma_replay_fn fn,
			void *opaque)
{
	for (unsigned int i = 0; i < mem->nr; i++) {
		const struct mem_region *r = &mem->region[i];
		int ret;

		if (r->gpa > hi || r->gpa + r->size - 1 < lo)
			continue;
		ret = fn(opaque, r->gpa, r->gpa, r->size, DMA_READ | DMA_WRITE);
		if (ret)
			return ret;
	}
	return 0;
}

int dma_replay(struct dma_as *as, uint64_t lo, uint64_t hi, dma_replay_fn fn, void *opaque)
{
	if (!as->ops)
		return dma_replay_identity(as->mem, lo, hi, fn, opaque);
	if (!as->ops->replay)
		return -ENOTSUP;
	return as->ops->replay(as, lo, hi, fn, opaque);
}
