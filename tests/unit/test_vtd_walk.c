// SPDX-License-Identifier: Apache-2.0
/*
 * The emulated VT-d's translation structures (src/iommu/vtd_walk.c): root
 * and context entries with every fault reason they can give; 3- and 4-level
 * walks with 4 KiB, 2 MiB and 1 GiB pages; permissions at every level;
 * pass-through; and hostile tables: reserved bits, tables outside RAM or in
 * the MMIO hole, tables that point at themselves.
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_context, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_large_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_hostile, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
