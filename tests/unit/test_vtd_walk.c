// SPDX-License-Identifier: Apache-2.0
/*
 * The emulated VT-d's translation structures (src/iommu/vtd_walk.c): root
 * and context entries with every fault reason they can give; 3- and 4-level
 * walks with 4 KiB, 2 MiB and 1 GiB pages; permissions at every level;
 * pass-through; and hostile tables: reserved bits, tables outside RAM or in
 * the MMIO hole, tables that point at themselves. Range walks
 * (vtd_walk_range): every leaf over a range, whole and in IOVA order, with
 * the permission all levels grant; what would fault skipped; loops ended by
 * the budget; the callback's stop value.
 *
 * Guest RAM: 8 MiB from 0, in a buffer of its own; tables from 1 MiB.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "iommu/vtd.h"
#include "util.h"

#define RAM		(8 * MiB)
#define ROOT		0x100000ULL
#define CTXT		0x101000ULL	/* context table of bus 0 */
#define PT(n)		(0x102000ULL + (uint64_t)(n) * 0x1000)	/* page-table pages */
#define DEVFN		(3 << 3)
#define DID		42

static const struct vtd_features feat = {
	.haw_bits = 39, .sagaw = (1u << 1) | (1u << 2), .sp_2m = true, .sp_1g = true, .pt = true,
};

struct t {
	struct guest_mem mem;
	uint8_t *ram;
	struct vtd_ctx ctx;
	struct vtd_xlate x;
};

static uint64_t *q(struct t *t, uint64_t gpa)
{
	assert_true(gpa + 8 <= RAM);
	return (uint64_t *)(t->ram + gpa);
}

/* Root entry for bus 0 -> CTXT; context entry for DEVFN: tables at PT(0), AW, DID. */
static void ctx_set(struct t *t, unsigned int aw, unsigned int tt)
{
	*q(t, ROOT) = CTXT | VTD_ROOT_P;
	*q(t, CTXT + 16 * DEVFN) = PT(0) | (uint64_t)tt << 2 | VTD_CTX_P;
	*q(t, CTXT + 16 * DEVFN + 8) = (uint64_t)DID << 8 | aw;
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->ram = calloc(1, RAM);
	assert_non_null(t->ram);
	t->mem.nr = 1;
	t->mem.region[0] = (struct mem_region){ .gpa = 0, .size = RAM, .hva = t->ram };
	t->mem.ram_size = RAM;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	free(t->ram);
	free(t);
	return 0;
}

static int ctx(struct t *t)
{
	return vtd_context(&t->mem, ROOT, 0, DEVFN, &feat, &t->ctx);
}

static int walk(struct t *t, uint64_t iova, unsigned int dir)
{
	return vtd_walk(&t->mem, &t->ctx, iova, dir, &feat, &t->x);
}

static void test_context(void **state)
{
	struct t *t = *state;

	/* Root table outside RAM, root entry not present or with reserved bits. */
	assert_int_equal(vtd_context(&t->mem, RAM, 0, DEVFN, &feat, &t->ctx), VTD_FR_ROOT_TABLE_INV);
	assert_int_equal(vtd_context(&t->mem, 0xFED00000ULL, 0, DEVFN, &feat, &t->ctx),
			 VTD_FR_ROOT_TABLE_INV);
	assert_int_equal(ctx(t), VTD_FR_ROOT_P);
	*q(t, ROOT) = CTXT | VTD_ROOT_P | 0x10;
	assert_int_equal(ctx(t), VTD_FR_ROOT_RSVD);
	*q(t, ROOT) = (1ULL << 45) | VTD_ROOT_P;		/* above the 39-bit HAW */
	assert_int_equal(ctx(t), VTD_FR_ROOT_RSVD);
	*q(t, ROOT) = 0xC0000000ULL | VTD_ROOT_P;		/* context table in the hole */
	assert_int_equal(ctx(t), VTD_FR_CTX_TABLE_INV);
	/* Context entry not present, reserved bits low and high, bad TT, bad AW. */
	*q(t, ROOT) = CTXT | VTD_ROOT_P;
	assert_int_equal(ctx(t), VTD_FR_CTX_P);
	ctx_set(t, 2, 0);
	*q(t, CTXT + 16 * DEVFN) |= 0x100;
	assert_int_equal(ctx(t), VTD_FR_CTX_RSVD);
	ctx_set(t, 2, 0);
	*q(t, CTXT + 16 * DEVFN + 8) |= 1ULL << 40;
	assert_int_equal(ctx(t), VTD_FR_CTX_RSVD);
	ctx_set(t, 2, VTD_TT_DEV_TLB);
	assert_int_equal(ctx(t), VTD_FR_CTX_TT);
	ctx_set(t, 2, 3);
	assert_int_equal(ctx(t), VTD_FR_CTX_TT);
	ctx_set(t, 3, 0);					/* 57-bit: not in SAGAW */
	assert_int_equal(ctx(t), VTD_FR_CTX_INV);
	ctx_set(t, 0, 0);
	assert_int_equal(ctx(t), VTD_FR_CTX_INV);
	/* Good ones. */
	ctx_set(t, 2, 0);
	assert_int_equal(ctx(t), 0);
	assert_int_equal(t->ctx.levels, 4);
	assert_int_equal(t->ctx.did, DID);
	assert_int_equal(t->ctx.slptptr, PT(0));
	assert_false(t->ctx.pass_through);
	ctx_set(t, 1, 0);
	*q(t, CTXT + 16 * DEVFN) |= VTD_CTX_FPD;
	assert_int_equal(ctx(t), 0);
	assert_int_equal(t->ctx.levels, 3);
	assert_true(t->ctx.fpd);
	/* Another device on the same bus has no entry. */
	assert_int_equal(vtd_context(&t->mem, ROOT, 0, DEVFN + 1, &feat, &t->ctx), VTD_FR_CTX_P);
	/* Pass-through, and without ECAP.PT. */
	ctx_set(t, 2, VTD_TT_PASS_THROUGH);
	assert_int_equal(ctx(t), 0);
	assert_true(t->ctx.pass_through);
	assert_int_equal(walk(t, 0x123456, VTD_PERM_W), 0);
	assert_int_equal(t->x.gpa, 0x123456);
	assert_int_equal(t->x.len, 0x1000 - 0x456);
	struct vtd_features no_pt = feat;

	no_pt.pt = false;
	assert_int_equal(vtd_context(&t->mem, ROOT, 0, DEVFN, &no_pt, &t->ctx), VTD_FR_CTX_TT);
}

/* 4-level: IOVA 0x40201000 -> PML4[0] -> PDPT[1] -> PD[1] -> PT[1]. */
static void map4k(struct t *t, uint64_t gpa, unsigned int perm)
{
	*q(t, PT(0) + 8 * 0) = PT(1) | 3;
	*q(t, PT(1) + 8 * 1) = PT(2) | 3;
	*q(t, PT(2) + 8 * 1) = PT(3) | 3;
	*q(t, PT(3) + 8 * 1) = gpa | perm;
}

static void test_walk_levels(void **state)
{
	struct t *t = *state;
	const uint64_t iova = 0x40201000ULL;

	ctx_set(t, 2, 0);
	assert_int_equal(ctx(t), 0);
	map4k(t, 0x345000, 3);
	assert_int_equal(walk(t, iova + 0x10, VTD_PERM_R), 0);
	assert_int_equal(t->x.gpa, 0x345010);
	assert_int_equal(t->x.len, 0x1000 - 0x10);
	assert_int_equal(t->x.perm, 3);
	assert_int_equal(t->x.page_size, 4096);
	/* The next page is not mapped: a read fault for a read, a write fault for a write. */
	assert_int_equal(walk(t, iova + 0x1000, VTD_PERM_R), VTD_FR_READ);
	assert_int_equal(walk(t, iova + 0x1000, VTD_PERM_W), VTD_FR_WRITE);
	/* Above 48 bits. */
	assert_int_equal(walk(t, 1ULL << 48, VTD_PERM_R), VTD_FR_ADDR_BEYOND);

	/* 3-level (39-bit): the same tables from the PDPT down. */
	ctx_set(t, 1, 0);
	*q(t, CTXT + 16 * DEVFN) = PT(1) | VTD_CTX_P;
	assert_int_equal(ctx(t), 0);
	assert_int_equal(walk(t, iova, VTD_PERM_W), 0);
	assert_int_equal(t->x.gpa, 0x345000);
	assert_int_equal(walk(t, 1ULL << 39, VTD_PERM_R), VTD_FR_ADDR_BEYOND);
}

static void test_walk_large_pages(void **state)
{
	struct t *t = *state;

	ctx_set(t, 2, 0);
	assert_int_equal(ctx(t), 0);
	*q(t, PT(0)) = PT(1) | 3;
	/* PDPT[1]: a 1 GiB page at GPA 0 (read-only); PDPT[2] -> PD with a 2 MiB page. */
	*q(t, PT(1) + 8) = 0 | VTD_SL_PS | VTD_PERM_R;
	*q(t, PT(1) + 16) = PT(2) | 3;
	*q(t, PT(2) + 8 * 3) = 0x400000ULL | VTD_SL_PS | 3;
	assert_int_equal(walk(t, (1ULL << 30) + 0x123456, VTD_PERM_R), 0);
	assert_int_equal(t->x.gpa, 0x123456);
	assert_int_equal(t->x.page_size, 1ULL << 30);
	assert_int_equal(t->x.len, (1ULL << 30) - 0x123456);
	assert_int_equal(walk(t, (1ULL << 30) + 0x123456, VTD_PERM_W), VTD_FR_WRITE);
	assert_int_equal(walk(t, (2ULL << 30) + 3 * (2 * MiB) + 0x1234, VTD_PERM_W), 0);
	assert_int_equal(t->x.gpa, 0x401234);
	assert_int_equal(t->x.page_size, 2 * MiB);
	/* Large pages with their low address bits set, or where the unit has none. */
	*q(t, PT(2) + 8 * 3) = 0x401000ULL | VTD_SL_PS | 3;
	assert_int_equal(walk(t, (2ULL << 30) + 3 * (2 * MiB), VTD_PERM_R), VTD_FR_PT_RSVD);
	struct vtd_features small = feat;

	small.sp_1g = small.sp_2m = false;
	*q(t, PT(2) + 8 * 3) = 0x400000ULL | VTD_SL_PS | 3;
	assert_int_equal(vtd_walk(&t->mem, &t->ctx, (2ULL << 30) + 3 * (2 * MiB), VTD_PERM_R, &small,
				  &t->x), VTD_FR_PT_RSVD);
	assert_int_equal(vtd_walk(&t->mem, &t->ctx, 1ULL << 30, VTD_PERM_R, &small, &t->x),
			 VTD_FR_PT_RSVD);
	/* PS at the top level: no 512 GiB pages. */
	*q(t, PT(0)) = PT(1) | VTD_SL_PS | 3;
	assert_int_equal(walk(t, 0x1000, VTD_PERM_R), VTD_FR_PT_RSVD);
}

static void test_walk_permissions(void **state)
{
	struct t *t = *state;
	const uint64_t iova = 0x40201000ULL;

	ctx_set(t, 2, 0);
	assert_int_equal(ctx(t), 0);
	/* Write-only leaf, read-only leaf. */
	map4k(t, 0x345000, VTD_PERM_W);
	assert_int_equal(walk(t, iova, VTD_PERM_W), 0);
	assert_int_equal(walk(t, iova, VTD_PERM_R), VTD_FR_READ);
	map4k(t, 0x345000, VTD_PERM_R);
	assert_int_equal(walk(t, iova, VTD_PERM_W), VTD_FR_WRITE);
	assert_int_equal(walk(t, iova, VTD_PERM_R | VTD_PERM_W), VTD_FR_WRITE);
	/* W clear at a middle level clears it for the page below. */
	map4k(t, 0x345000, 3);
	*q(t, PT(1) + 8) = PT(2) | VTD_PERM_R;
	assert_int_equal(walk(t, iova, VTD_PERM_R), 0);
	assert_int_equal(t->x.perm, VTD_PERM_R);
	assert_int_equal(walk(t, iova, VTD_PERM_W), VTD_FR_WRITE);
}

static void test_walk_hostile(void **state)
{
	struct t *t = *state;
	const uint64_t iova = 0x40201000ULL;

	ctx_set(t, 2, 0);
	assert_int_equal(ctx(t), 0);
	/* Reserved bits: SNP, bit 62, address bits above the HAW. */
	map4k(t, 0x345000 | VTD_SL_SNP, 3);
	assert_int_equal(walk(t, iova, VTD_PERM_R), VTD_FR_PT_RSVD);
	map4k(t, 0x345000 | (1ULL << 62), 3);
	assert_int_equal(walk(t, iova, VTD_PERM_R), VTD_FR_PT_RSVD);
	map4k(t, 0x345000 | (1ULL << 40), 3);
	assert_int_equal(walk(t, iova, VTD_PERM_R), VTD_FR_PT_RSVD);
	/* Ignored bits are ignored. */
	map4k(t, 0x345000 | (1ULL << 63) | (1ULL << 55), 3);
	assert_int_equal(walk(t, iova, VTD_PERM_R), 0);
	assert_int_equal(t->x.gpa, 0x345000);
	/* A table in the MMIO hole and one past RAM. */
	map4k(t, 0x345000, 3);
	*q(t, PT(1) + 8) = 0xFEC00000ULL | 3;
	assert_int_equal(walk(t, iova, VTD_PERM_R), VTD_FR_PT_INV);
	*q(t, PT(1) + 8) = (RAM + 0x1000) | 3;
	assert_int_equal(walk(t, iova, VTD_PERM_R), VTD_FR_PT_INV);
	/* A top-level table whose entry points back at itself: four loads, then a leaf of it. */
	*q(t, PT(0)) = PT(0) | 3;
	assert_int_equal(walk(t, 0, VTD_PERM_R), 0);
	assert_int_equal(t->x.gpa, PT(0));
	/* The leaf may name any page: a device can then read the tables themselves. That is the
	 * guest's choice; what it cannot do is name memory outside RAM (dma.c checks). */
	*q(t, PT(0)) = 0;
	assert_int_equal(walk(t, 0, VTD_PERM_R), VTD_FR_READ);
}

/* What a range walk reported: each leaf, in order. */
struct leaf {
	uint64_t iova, gpa, len;
	unsigned int perm;
};

struct rec {
	struct leaf l[64];
	unsigned int n;		/* leaves reported (may exceed the array: only counted) */
	unsigned int stop_at;	/* return @stop_ret from the stop_at'th call; 0 never */
	int stop_ret;
};

static int rec_fn(void *opaque, uint64_t iova, uint64_t gpa, uint64_t len, unsigned int perm)
{
	struct rec *r = opaque;

	if (r->n < 64)
		r->l[r->n] = (struct leaf){ iova, gpa, len, perm };
	r->n++;
	return r->stop_at && r->n == r->stop_at ? r->stop_ret : 0;
}

/* Walk [@lo, @hi] of t->ctx into @r (emptied first) with @budget entries: the walk's result. */
static int range(struct t *t, uint64_t lo, uint64_t hi, struct rec *r, unsigned int *budget)
{
	struct vtd_range_walk w = {
		.mem = &t->mem, .f = &feat, .lo = lo, .hi = hi, .fn = rec_fn, .opaque = r,
	};

	r->n = 0;
	memset(r->l, 0, sizeof(r->l));
	return vtd_walk_range(&w, &t->ctx, budget);
}

static void assert_leaves(const struct rec *r, const struct leaf *want, unsigned int n)
{
	assert_int_equal(r->n, n);
	for (unsigned int i = 0; i < n; i++) {
		assert_int_equal(r->l[i].iova, want[i].iova);
		assert_int_equal(r->l[i].gpa, want[i].gpa);
		assert_int_equal(r->l[i].len, want[i].len);
		assert_int_equal(r->l[i].perm, want[i].perm);
	}
}

#define R	VTD_PERM_R
#define W	VTD_PERM_W
#define RW	(VTD_PERM_R | VTD_PERM_W)

/*
 * Tables for the range walks, below a PDPT at PT(1) (PML4 PT(0)[0] -> PT(1)
 * for 4 levels; the PDPT is the top for 3):
 *   PDPT[0] -> PD PT(2)
 *     PD[1]  2 MiB at 0x600000, RW
 *     PD[2]  -> PT PT(3): [0] 4K at 0x345000 RW, [5] 4K at 0x7000 R, [511] 4K at 0x1000 RW
 *     PD[3]  2 MiB at 0x400000, W only
 *   PDPT[1]  1 GiB at 1 GiB, RW
 *   PDPT[2]  1 GiB at 2 GiB, R
 * The leaves' GPAs need not be RAM: only the tables are read.
 */
static void range_tables(struct t *t)
{
	*q(t, PT(0)) = PT(1) | RW;
	*q(t, PT(1) + 8 * 0) = PT(2) | RW;
	*q(t, PT(1) + 8 * 1) = (1ULL << 30) | VTD_SL_PS | RW;
	*q(t, PT(1) + 8 * 2) = (2ULL << 30) | VTD_SL_PS | R;
	*q(t, PT(2) + 8 * 1) = 0x600000ULL | VTD_SL_PS | RW;
	*q(t, PT(2) + 8 * 2) = PT(3) | RW;
	*q(t, PT(2) + 8 * 3) = 0x400000ULL | VTD_SL_PS | W;
	*q(t, PT(3) + 8 * 0) = 0x345000ULL | RW;
	*q(t, PT(3) + 8 * 5) = 0x7000ULL | R;
	*q(t, PT(3) + 8 * 511) = 0x1000ULL | RW;
}

/* Every leaf of range_tables, in IOVA order. */
static const struct leaf all_leaves[] = {
	{ 0x200000, 0x600000, 2 * MiB, RW },
	{ 0x400000, 0x345000, 4096, RW },
	{ 0x405000, 0x7000, 4096, R },
	{ 0x5FF000, 0x1000, 4096, RW },
	{ 0x600000, 0x400000, 2 * MiB, W },
	{ 1ULL << 30, 1ULL << 30, GiB, RW },
	{ 2ULL << 30, 2ULL << 30, GiB, R },
};

/* The same leaves from 3 and 4 levels; partial overlap at both ends gives the end leaves whole. */
static void test_range_levels(void **state)
{
	struct t *t = *state;
	unsigned int budget;
	struct rec r = { 0 };

	range_tables(t);
	for (unsigned int aw = 1; aw <= 2; aw++) {
		ctx_set(t, aw, 0);
		if (aw == 1)	/* 3 levels: the PDPT is the top table */
			*q(t, CTXT + 16 * DEVFN) = PT(1) | VTD_CTX_P;
		assert_int_equal(ctx(t), 0);
		assert_int_equal(t->ctx.levels, aw + 2);

		/* Everything. */
		budget = 100000;
		assert_int_equal(range(t, 0, (1ULL << 39) - 1, &r, &budget), 0);
		assert_leaves(&r, all_leaves, 7);

		/*
		 * lo inside the first 2 MiB page, hi inside the first 1 GiB page:
		 * both reported whole, from their own starts; the 1 GiB page at
		 * 2 GiB is past hi and not reported.
		 */
		budget = 100000;
		assert_int_equal(range(t, 0x201234, (1ULL << 30) + 0x5000, &r, &budget), 0);
		assert_leaves(&r, all_leaves, 6);

		/* Inside the 4 KiB table: the pages overlapping, none around them. */
		budget = 100000;
		assert_int_equal(range(t, 0x401000, 0x405FFF, &r, &budget), 0);
		assert_leaves(&r, &all_leaves[2], 1);
		budget = 100000;
		assert_int_equal(range(t, 0x405FFF, 0x600000, &r, &budget), 0);
		assert_leaves(&r, &all_leaves[2], 3);

		/* One byte: one leaf, one entry read per level (only what overlaps is read). */
		budget = 100;
		assert_int_equal(range(t, 0x405800, 0x405800, &r, &budget), 0);
		assert_leaves(&r, &all_leaves[2], 1);
		assert_int_equal(budget, 100 - t->ctx.levels);

		/* A hole: nothing, and an empty range (lo > hi): nothing. */
		budget = 100000;
		assert_int_equal(range(t, 0x406000, 0x5FEFFF, &r, &budget), 0);
		assert_int_equal(r.n, 0);
		assert_int_equal(range(t, 0x600000, 0x5FFFFF, &r, &budget), 0);
		assert_int_equal(r.n, 0);
	}
}

/* A range past the context's address width is clipped to it; one wholly past it maps nothing. */
static void test_range_width(void **state)
{
	struct t *t = *state;
	unsigned int budget;
	struct rec r = { 0 };

	range_tables(t);
	/* 4 levels: PML4[511] holds the same PDPT, at the top of the 48-bit space. */
	*q(t, PT(0) + 8 * 511) = PT(1) | RW;
	ctx_set(t, 2, 0);
	assert_int_equal(ctx(t), 0);
	budget = 100000;
	struct leaf both[14];

	for (unsigned int i = 0; i < 7; i++) {
		both[i] = all_leaves[i];
		both[7 + i] = all_leaves[i];
		both[7 + i].iova += 511ULL << 39;
	}
	assert_int_equal(range(t, 0, UINT64_MAX, &r, &budget), 0);
	assert_leaves(&r, both, 14);
	/* From inside the last PML4 entry to 2^64 - 1: the last 1 GiB page, whole. */
	budget = 100000;
	assert_int_equal(range(t, (511ULL << 39) + (2ULL << 30) + 5, UINT64_MAX, &r, &budget), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.l[0].iova, (511ULL << 39) + (2ULL << 30));
	/* At or above 2^48: nothing, and no entry read. */
	budget = 100;
	assert_int_equal(range(t, 1ULL << 48, UINT64_MAX, &r, &budget), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(budget, 100);

	/* 3 levels: 2^39 is the top; the same tables' leaves, nothing beyond. */
	ctx_set(t, 1, 0);
	*q(t, CTXT + 16 * DEVFN) = PT(1) | VTD_CTX_P;
	assert_int_equal(ctx(t), 0);
	budget = 100000;
	assert_int_equal(range(t, 0x1000, UINT64_MAX, &r, &budget), 0);
	assert_leaves(&r, all_leaves, 7);
	budget = 100;
	assert_int_equal(range(t, 1ULL << 39, (1ULL << 40) - 1, &r, &budget), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(budget, 100);
}

/* R and W gate every level: what a leaf reports is what all levels above it allow. */
static void test_range_permissions(void **state)
{
	struct t *t = *state;
	unsigned int budget = 100000;
	struct rec r = { 0 };

	range_tables(t);
	ctx_set(t, 2, 0);
	assert_int_equal(ctx(t), 0);
	/* PDPT[0] read-only: the leaves under it lose W; the W-only 2 MiB page maps nothing. */
	*q(t, PT(1)) = PT(2) | R;
	assert_int_equal(range(t, 0, (1ULL << 39) - 1, &r, &budget), 0);
	const struct leaf ro[] = {
		{ 0x200000, 0x600000, 2 * MiB, R },
		{ 0x400000, 0x345000, 4096, R },
		{ 0x405000, 0x7000, 4096, R },
		{ 0x5FF000, 0x1000, 4096, R },
		{ 1ULL << 30, 1ULL << 30, GiB, RW },
		{ 2ULL << 30, 2ULL << 30, GiB, R },
	};
	assert_leaves(&r, ro, 6);
	/* PML4[0] write-only: only the W-only page is left, as W. */
	*q(t, PT(1)) = PT(2) | RW;
	*q(t, PT(0)) = PT(1) | W;
	budget = 100000;
	assert_int_equal(range(t, 0, (1ULL << 39) - 1, &r, &budget), 0);
	const struct leaf wo[] = {
		{ 0x200000, 0x600000, 2 * MiB, W },
		{ 0x400000, 0x345000, 4096, W },
		{ 0x5FF000, 0x1000, 4096, W },
		{ 0x600000, 0x400000, 2 * MiB, W },
		{ 1ULL << 30, 1ULL << 30, GiB, W },
	};
	assert_leaves(&r, wo, 5);
}

/* Entries that would fault map nothing; the walk goes on past them. */
static void test_range_skips(void **state)
{
	struct t *t = *state;
	unsigned int budget = 100000;
	struct rec r = { 0 };

	range_tables(t);
	ctx_set(t, 2, 0);
	assert_int_equal(ctx(t), 0);
	/* Not present: an address with R = W = 0 (at a leaf, and at a table pointer). */
	*q(t, PT(3) + 8 * 1) = 0x9000ULL;
	*q(t, PT(2) + 8 * 4) = PT(3);
	/* Reserved bits: SNP at a 4K leaf; bit 62; above the HAW; low bits of a 2 MiB page;
	 * PS on a PML4 entry (no 512 GiB pages); SNP on a table pointer. */
	*q(t, PT(3) + 8 * 2) = 0xA000ULL | VTD_SL_SNP | RW;
	*q(t, PT(3) + 8 * 3) = 0xB000ULL | (1ULL << 62) | RW;
	*q(t, PT(3) + 8 * 4) = 0xC000ULL | (1ULL << 40) | RW;
	*q(t, PT(2) + 8 * 5) = 0x801000ULL | VTD_SL_PS | RW;
	*q(t, PT(0) + 8 * 1) = PT(1) | VTD_SL_PS | RW;
	*q(t, PT(2) + 8 * 6) = PT(3) | VTD_SL_SNP | RW;
	/* Tables outside RAM: in the MMIO hole, past the end. */
	*q(t, PT(2) + 8 * 7) = 0xFEC00000ULL | RW;
	*q(t, PT(2) + 8 * 8) = RAM | RW;
	/* ... and a good one after them all: still found. */
	*q(t, PT(2) + 8 * 9) = 0xE00000ULL | VTD_SL_PS | RW;
	/* Ignored bits (63, 61:52) are no reason to skip. */
	*q(t, PT(3) + 8 * 6) = 0xD000ULL | (1ULL << 63) | (1ULL << 55) | RW;

	assert_int_equal(range(t, 0, (1ULL << 48) - 1, &r, &budget), 0);
	const struct leaf want[] = {
		{ 0x200000, 0x600000, 2 * MiB, RW },
		{ 0x400000, 0x345000, 4096, RW },
		{ 0x405000, 0x7000, 4096, R },
		{ 0x406000, 0xD000, 4096, RW },
		{ 0x5FF000, 0x1000, 4096, RW },
		{ 0x600000, 0x400000, 2 * MiB, W },
		{ 0x1200000, 0xE00000, 2 * MiB, RW },
		{ 1ULL << 30, 1ULL << 30, GiB, RW },
		{ 2ULL << 30, 2ULL << 30, GiB, R },
	};
	assert_leaves(&r, want, 9);
	/* A table outside RAM costs one read, not one per entry: its first entry is not there,
	 * nor are the rest. Over the 2 MiB its entry covers: one read at each of four levels. */
	budget = 100;
	assert_int_equal(range(t, 0xE00000, 0xFFFFFF, &r, &budget), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(budget, 100 - 4);
	/* Large pages where the unit has none are reserved: the 2 MiB and 1 GiB pages go. */
	struct vtd_features small = feat;
	struct vtd_range_walk w = {
		.mem = &t->mem, .f = &small, .lo = 0, .hi = (1ULL << 48) - 1,
		.fn = rec_fn, .opaque = &r,
	};

	small.sp_2m = small.sp_1g = false;
	r.n = 0;
	budget = 100000;
	assert_int_equal(vtd_walk_range(&w, &t->ctx, &budget), 0);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.l[0].iova, 0x400000);
	assert_int_equal(r.l[3].iova, 0x5FF000);
}

/* Tables that point at themselves: the budget ends what the depth does not. */
static void test_range_loops(void **state)
{
	struct t *t = *state;
	unsigned int budget;
	struct rec r = { 0 };

	ctx_set(t, 2, 0);
	assert_int_equal(ctx(t), 0);
	/*
	 * One entry pointing back at its own table: four levels deep, then a
	 * leaf of it. Over the whole space that reads 512 entries per level.
	 */
	*q(t, PT(0)) = PT(0) | RW;
	budget = 2048;
	assert_int_equal(range(t, 0, (1ULL << 48) - 1, &r, &budget), 0);
	assert_int_equal(budget, 0);
	const struct leaf self[] = { { 0, PT(0), 4096, RW } };

	assert_leaves(&r, self, 1);
	/* One entry fewer and it does not finish. */
	budget = 2047;
	assert_int_equal(range(t, 0, (1ULL << 48) - 1, &r, &budget), -E2BIG);
	assert_int_equal(budget, 0);

	/* Every entry pointing back: 512^4 entries. The budget runs out, the walk says so. */
	for (unsigned int i = 0; i < 512; i++)
		*q(t, PT(0) + 8 * i) = PT(0) | RW;
	budget = 10000;
	assert_int_equal(range(t, 0, (1ULL << 48) - 1, &r, &budget), -E2BIG);
	assert_int_equal(budget, 0);
	/* What it saw before then was reported, in order: the first table's worth of 4K leaves. */
	assert_true(r.n >= 512);
	for (unsigned int i = 0; i < 64; i++) {
		assert_int_equal(r.l[i].iova, (uint64_t)i * 4096);
		assert_int_equal(r.l[i].gpa, PT(0));
		assert_int_equal(r.l[i].len, 4096);
	}
	/* A budget of 0 reads nothing. */
	budget = 0;
	assert_int_equal(range(t, 0, 0, &r, &budget), -E2BIG);
	assert_int_equal(r.n, 0);
}

/* The callback's nonzero return stops the walk there, and is what the walk returns. */
static void test_range_stop(void **state)
{
	struct t *t = *state;
	unsigned int budget = 100000;
	struct rec r = { .stop_at = 3, .stop_ret = 77 };

	range_tables(t);
	ctx_set(t, 2, 0);
	assert_int_equal(ctx(t), 0);
	/* Stops in the 4 KiB table, two levels below the top: the value comes all the way up. */
	assert_int_equal(range(t, 0, (1ULL << 48) - 1, &r, &budget), 77);
	assert_leaves(&r, all_leaves, 3);
	/* Negative values too (a caller's -ENOMEM), at the first leaf. */
	r.stop_at = 1;
	r.stop_ret = -ENOMEM;
	budget = 100000;
	assert_int_equal(range(t, 0, (1ULL << 48) - 1, &r, &budget), -ENOMEM);
	assert_int_equal(r.n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_context, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_large_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_width, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_skips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_loops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_stop, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
