// SPDX-License-Identifier: Apache-2.0
/*
 * The emulated VT-d's translation structures in legacy mode (VT-d 3.x,
 * chapter 9): root table -> context entry -> second-level page tables. Pure
 * over guest RAM: every entry is one 8-byte load through guest_ptr(), so a
 * table outside RAM (in the MMIO hole, past the end) is a fault, never a
 * read elsewhere; a walk is at most four loads deep, so tables that loop or
 * point at themselves end like any other. Each failure is the fault reason
 * the spec names, for the fault recording registers.
 */
#include "iommu/vtd.h"

/* One 8-byte entry of a guest table; false if it is not in RAM. */
static bool load_entry(const struct guest_mem *mem, uint64_t gpa, uint64_t *v)
{
	const uint64_t *p = guest_ptr(mem, gpa, 8);

	if (!p)
		return false;
	/* The guest may change it meanwhile: one load, then only the copy is looked at. */
	*v = __atomic_load_n(p, __ATOMIC_RELAXED);
	return true;
}

int vtd_context(const struct guest_mem *mem, uint64_t rtaddr, uint8_t bus, uint8_t devfn,
		const struct vtd_features *f, struct vtd_ctx *ctx)
{
	uint64_t root_lo, ctx_lo, ctx_hi;
	uint64_t haw = VTD_HAW_MASK(f->haw_bits);
	unsigned int tt, aw;

	if (!load_entry(mem, rtaddr + 16ULL * bus, &root_lo))
		return VTD_FR_ROOT_TABLE_INV;
	if (!(root_lo & VTD_ROOT_P))
		return VTD_FR_ROOT_P;
	if (root_lo & VTD_ROOT_LO_RSVD(haw))
		return VTD_FR_ROOT_RSVD;
	if (!load_entry(mem, (root_lo & VTD_ADDR_MASK) + 16ULL * devfn, &ctx_lo) ||
	    !load_entry(mem, (root_lo & VTD_ADDR_MASK) + 16ULL * devfn + 8, &ctx_hi))
		return VTD_FR_CTX_TABLE_INV;
	if (!(ctx_lo & VTD_CTX_P))
		return VTD_FR_CTX_P;
	if ((ctx_lo & VTD_CTX_LO_RSVD(haw)) || (ctx_hi & VTD_CTX_HI_RSVD))
		return VTD_FR_CTX_RSVD;

	*ctx = (struct vtd_ctx){
		.did = (uint16_t)(ctx_hi >> 8),
		.fpd = ctx_lo & VTD_CTX_FPD,
	};
	tt = (ctx_lo >> 2) & 3;
	if (tt == VTD_TT_PASS_THROUGH && f->pt) {
		ctx->pass_through = true;
		return 0;
	}
	/* Device-TLB contexts need ECAP.DT, which kvmio does not offer; 3 is reserved. */
	if (tt != VTD_TT_UNTRANSLATED)
		return VTD_FR_CTX_TT;
	aw = ctx_hi & 7;
	if (aw >= 5 || !(f->sagaw & (1u << aw)))
		return VTD_FR_CTX_INV;
	ctx->levels = aw + 2;			/* AW 1: 39-bit, 3 levels; AW 2: 48-bit, 4 */
	ctx->slptptr = ctx_lo & VTD_ADDR_MASK;
	return 0;
}

int vtd_walk(const struct guest_mem *mem, const struct vtd_ctx *ctx, uint64_t iova,
	     unsigned int dir, const struct vtd_features *f, struct vtd_xlate *out)
{
	uint64_t haw = VTD_HAW_MASK(f->haw_bits);
	uint64_t table = ctx->slptptr, e = 0;
	unsigned int perm = VTD_PERM_R | VTD_PERM_W;

	if (ctx->pass_through) {
		*out = (struct vtd_xlate){ .gpa = iova, .len = 4096 - (iova & 4095), .perm = perm };
		return 0;
	}
	/* 12 + 9 bits per level: an IOVA above the context's guest address width. */
	if (iova >> (12 + 9 * ctx->levels))
		return VTD_FR_ADDR_BEYOND;
	for (unsigned int level = ctx->levels; level >= 1; level--) {
		unsigned int shift = 12 + 9 * (level - 1);
		bool leaf;

		if (!load_entry(mem, table + 8 * ((iova >> shift) & 511), &e))
			return VTD_FR_PT_INV;
		/* R and W gate every level (9.8): clear at any level, clear for the walk. */
		perm &= (unsigned int)(e & (VTD_PERM_R | VTD_PERM_W));
		if ((dir & VTD_PERM_W) && !(perm & VTD_PERM_W))
			return VTD_FR_WRITE;
		if ((dir & VTD_PERM_R) && !(perm & VTD_PERM_R))
			return VTD_FR_READ;
		if (!perm)
			return dir & VTD_PERM_W ? VTD_FR_WRITE : VTD_FR_READ;
		leaf = level == 1 || (e & VTD_SL_PS);
		if (e & vtd_sl_rsvd(level, leaf, haw, f))
			return VTD_FR_PT_RSVD;
		if (leaf) {
			uint64_t size = 1ULL << shift;
			uint64_t base = e & haw & ~(size - 1) & VTD_ADDR_MASK;

			*out = (struct vtd_xlate){
				.gpa = base | (iova & (size - 1)),
				.len = size - (iova & (size - 1)),
				.perm = perm,
				.page_size = size,
			};
			return 0;
		}
		table = e & haw & VTD_ADDR_MASK;
	}
	return VTD_FR_PT_INV;	/* not reached: level 1 is always a leaf */
}

/*
 * One table of a range walk: every entry of the table at @table (level
 * @level) that overlaps [@lo, @hi], in IOVA order, @base being the IOVA the
 * table starts at and @perm what the levels above allow. An entry that is
 * not present, has reserved bits set, or points outside RAM maps nothing:
 * a DMA there would fault, so there is nothing to shadow.
 */
static int walk_table(const struct vtd_range_walk *w, uint64_t table, unsigned int level,
		      uint64_t base, unsigned int perm, unsigned int *budget)
{
	unsigned int shift = 12 + 9 * (level - 1);
	uint64_t haw = VTD_HAW_MASK(w->f->haw_bits);
	uint64_t span = 1ULL << shift;
	unsigned int first = w->lo > base ? (unsigned int)((w->lo - base) >> shift) : 0;
	unsigned int last = w->hi - base < 512 * span - 1 ? (unsigned int)((w->hi - base) >> shift) : 511;

	for (unsigned int i = first; i <= last; i++) {
		uint64_t iova = base + (uint64_t)i * span, e;
		unsigned int p;
		bool leaf;
		int ret;

		if (*budget == 0)
			return -E2BIG;
		(*budget)--;
		if (!load_entry(w->mem, table + 8ULL * i, &e))
			return 0;	/* the whole table is outside RAM */
		p = perm & (unsigned int)(e & (VTD_PERM_R | VTD_PERM_W));
		if (!p)
			continue;
		leaf = level == 1 || (e & VTD_SL_PS);
		if (e & vtd_sl_rsvd(level, leaf, haw, w->f))
			continue;
		if (leaf)
			ret = w->fn(w->opaque, iova, e & haw & ~(span - 1) & VTD_ADDR_MASK, span, p);
		else
			ret = walk_table(w, e & haw & VTD_ADDR_MASK, level - 1, iova, p, budget);
		if (ret)
			return ret;
	}
	return 0;
}

int vtd_walk_range(const struct vtd_range_walk *w, const struct vtd_ctx *ctx, unsigned int *budget)
{
	uint64_t top = (1ULL << (12 + 9 * ctx->levels)) - 1;

	if (w->lo > w->hi || w->lo > top)
		return 0;
	if (w->hi > top) {
		struct vtd_range_walk clipped = *w;

		clipped.hi = top;
		return walk_table(&clipped, ctx->slptptr, ctx->levels, 0, VTD_PERM_R | VTD_PERM_W,
				  budget);
	}
	return walk_table(w, ctx->slptptr, ctx->levels, 0, VTD_PERM_R | VTD_PERM_W, budget);
}
