// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the emulated VT-d (src/iommu/vtd.c, vtd_walk.c,
 * vtd_qi.c) against a hostile guest. The input is a list of operations
 * followed by the contents of guest RAM, which the operations' tables,
 * queue and status writes live in:
 *
 *   RAM  [0, 64 KiB) as one exactly-sized heap block (an access outside it
 *        by one byte lands in an ASan redzone); the rest of the address
 *        space is not RAM, the MMIO hole included.
 *
 * Each operation is 12 bytes: kind, then its arguments. Kinds: a register
 * write (offset, size 4 or 8, value: any offset and size, aligned or not),
 * a register read, a translation (requester id, IOVA, direction), a fault
 * report (requester id, IOVA, reason), a replay (requester id, range): the
 * range walk that shadows an assigned device's mappings. A short program at the start of RAM
 * helps the fuzzer reach translation: with F_SETUP the root table pointer
 * and TE are set before the operations run.
 *
 * After every operation the unit's invariants are checked: FSTS.PPF is the
 * OR of the records' F bits, FRI and the next record are in range, IQH is
 * inside the queue, and a translation that succeeds with translation on
 * lands where an independent re-walk of the same tables says; a replay
 * reports whole leaves in IOVA order, apart, overlapping the range, each
 * one a translation vtd_lookup agrees with, within its budget. Nothing may
 * be allocated. A violation aborts, and libFuzzer saves the input.
 *
 * Built and run by tests/fuzz/fuzz.mk (`make fuzz-vtd`).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_alloc.h"
#include "iommu/vtd.h"
#include "util.h"

#define FAIL(...)								\
	do {									\
		fprintf(stderr, "fuzz_vtd: " __VA_ARGS__);			\
		fputc('\n', stderr);						\
		abort();							\
	} while (0)

#define RAM_SIZE	(64 * KiB)
#define OP_LEN		12
#define MAX_OPS		64

enum { OP_WRITE, OP_READ, OP_LOOKUP, OP_FAULT, OP_REPLAY, OP_KINDS };
#define REPLAY_BUDGET	4096
enum { F_SETUP = 1 << 0 };

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned int nmsi;

static void fx_msi(void *opaque, uint64_t addr, uint32_t data)
{
	nmsi++;
}

static void fx_invalidate(void *opaque, const struct vtd_inv *inv)
{
	/* Only what the decoder lets through reaches the machine. */
	if (inv && inv->type != VTD_QI_CC && inv->type != VTD_QI_IOTLB)
		FAIL("invalidation of type %u reached the machine", inv->type);
}

static const struct vtd_effects fx = { .msi = fx_msi, .invalidate = fx_invalidate };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup(true);
	return 0;
}

static void check_state(struct vtd *v)
{
	bool any = false;
	uint64_t n = 256ULL << (v->iqa & 7);

	for (unsigned int i = 0; i < VTD_NFR; i++)
		any |= v->frr[i][1] >> 63;
	if (any != !!(v->fsts & VTD_FSTS_PPF))
		FAIL("PPF %d but records pending %d", !!(v->fsts & VTD_FSTS_PPF), any);
	if (((v->fsts >> VTD_FSTS_FRI_SHIFT) & 0xFF) >= VTD_NFR || v->fr_next >= VTD_NFR)
		FAIL("FRI %u, next record %u", (v->fsts >> VTD_FSTS_FRI_SHIFT) & 0xFF, v->fr_next);
	if ((v->iqh >> 4) >= n || (v->iqh & 0xF))
		FAIL("IQH 0x%llx outside a queue of %llu", (unsigned long long)v->iqh,
		     (unsigned long long)n);
}

/* A second walk, written plainly, to hold vtd_lookup's answer against. */
static void recheck(struct vtd *v, uint16_t sid, uint64_t iova, unsigned int dir,
		    const struct vtd_xlate *x)
{
	const struct guest_mem *m = v->mem;
	const uint64_t *root = guest_ptr(m, v->rtaddr + 16ULL * (sid >> 8), 8), *ctx;
	uint64_t table, e = 0;
	unsigned int levels;

	if (!root || !(*root & 1))
		FAIL("lookup succeeded without a present root entry");
	ctx = guest_ptr(m, (*root & VTD_ADDR_MASK) + 16ULL * (sid & 0xFF), 16);
	if (!ctx || !(ctx[0] & 1))
		FAIL("lookup succeeded without a present context entry");
	if (((ctx[0] >> 2) & 3) == VTD_TT_PASS_THROUGH) {
		if (x->gpa != iova)
			FAIL("pass-through moved 0x%llx", (unsigned long long)iova);
		return;
	}
	levels = (unsigned int)(ctx[1] & 7) + 2;
	table = ctx[0] & VTD_ADDR_MASK;
	for (unsigned int l = levels; l >= 1; l--) {
		unsigned int shift = 12 + 9 * (l - 1);
		const uint64_t *p = guest_ptr(m, table + 8 * ((iova >> shift) & 511), 8);

		if (!p)
			FAIL("lookup succeeded through a table outside RAM");
		e = *p;
		if ((e & dir) != dir)
			FAIL("lookup succeeded without permission %u at level %u", dir, l);
		if (l == 1 || (e & VTD_SL_PS)) {
			uint64_t size = 1ULL << shift;
			uint64_t want = (e & VTD_HAW_MASK(VTD_HAW_BITS) & VTD_ADDR_MASK & ~(size - 1)) |
					(iova & (size - 1));

			if (x->gpa != want || x->len != size - (iova & (size - 1)))
				FAIL("lookup 0x%llx -> 0x%llx+%llu, tables say 0x%llx",
				     (unsigned long long)iova, (unsigned long long)x->gpa,
				     (unsigned long long)x->len, (unsigned long long)want);
			return;
		}
		table = e & VTD_HAW_MASK(VTD_HAW_BITS) & VTD_ADDR_MASK;
	}
}

/* What one replay reported so far, and where it must stay. */
struct replay_check {
	struct vtd *v;
	uint16_t sid;
	uint64_t lo, hi, next;	/* next: the lowest IOVA the next leaf may start at */
	bool any;
};

static int replay_leaf(void *opaque, uint64_t iova, uint64_t gpa, uint64_t len, unsigned int perm)
{
	struct replay_check *rc = opaque;
	struct vtd_xlate x;
	int fr;

	if (!len || (len & (len - 1)) || (iova & (len - 1)) || (gpa & (len - 1)))
		FAIL("replay leaf 0x%llx -> 0x%llx +0x%llx: not one aligned page",
		     (unsigned long long)iova, (unsigned long long)gpa, (unsigned long long)len);
	if ((rc->any && iova < rc->next) || iova > rc->hi || iova + len - 1 < rc->lo)
		FAIL("replay leaf 0x%llx +0x%llx out of order or outside 0x%llx-0x%llx",
		     (unsigned long long)iova, (unsigned long long)len, (unsigned long long)rc->lo,
		     (unsigned long long)rc->hi);
	if (!perm || (perm & ~(VTD_PERM_R | VTD_PERM_W)))
		FAIL("replay leaf 0x%llx with permission %u", (unsigned long long)iova, perm);
	rc->any = true;
	rc->next = iova + len;
	/* Identity over RAM (translation off, pass-through) is a whole region, not a page walk. */
	if (!vtd_enabled(rc->v) || len > (1ULL << 30))
		return 0;
	fr = vtd_lookup(rc->v, rc->sid, iova, perm, &x);
	if (fr == 0 && x.page_size == 0)
		return 0;	/* pass-through */
	if (fr || x.gpa != gpa || x.page_size != len || (x.perm & perm) != perm)
		FAIL("replay leaf 0x%llx -> 0x%llx +0x%llx perm %u; lookup says %d, 0x%llx +0x%llx perm %u",
		     (unsigned long long)iova, (unsigned long long)gpa, (unsigned long long)len, perm, fr,
		     (unsigned long long)x.gpa, (unsigned long long)x.page_size, x.perm);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static uint8_t *ram;
	struct guest_mem mem = { .nr = 1 };
	static struct vtd v;
	unsigned int nops, flags;
	const uint8_t *ops;
	size_t n;

	if (len < 2)
		return 0;
	flags = data[0];
	nops = MIN((unsigned int)data[1], MAX_OPS);
	data += 2, len -= 2;
	nops = (unsigned int)MIN((size_t)nops, len / OP_LEN);
	ops = data;
	data += (size_t)nops * OP_LEN, len -= (size_t)nops * OP_LEN;

	if (!ram && !(ram = malloc(RAM_SIZE)))
		abort();
	n = MIN(len, (size_t)RAM_SIZE);
	memcpy(ram, data, n);
	memset(ram + n, 0, RAM_SIZE - n);
	mem.region[0] = (struct mem_region){ .gpa = 0, .size = RAM_SIZE, .hva = ram };
	mem.ram_size = RAM_SIZE;
	vtd_init(&v, &mem, &fx, NULL);

	if (flags & F_SETUP) {
		/* Root table at 0 (RAM's first page), translation on. */
		uint8_t b[8] = { 0 };

		vtd_mmio(&v, VTD_REG_RTADDR, b, 8, true);
		le_write(b, 4, VTD_GCMD_SRTP);
		vtd_mmio(&v, VTD_REG_GCMD, b, 4, true);
		le_write(b, 4, VTD_GCMD_TE | VTD_GCMD_QIE);
		vtd_mmio(&v, VTD_REG_GCMD, b, 4, true);
	}

	for (unsigned int i = 0; i < nops; i++) {
		const uint8_t *op = ops + (size_t)i * OP_LEN;
		uint64_t arg = le_read(op + 4, 8);
		uint16_t off = (uint16_t)le_read(op + 1, 2);
		unsigned int size = op[3];
		struct vtd_xlate x;
		uint8_t b[8];
		int fr;

		fuzz_in_io = true;
		switch (op[0] % OP_KINDS) {
		case OP_WRITE:
			le_write(b, 8, arg);
			vtd_mmio(&v, off % 0x1100, b, 1 + size % 8, true);
			break;
		case OP_READ:
			vtd_mmio(&v, off % 0x1100, b, 1 + size % 8, false);
			break;
		case OP_LOOKUP:
			/* IOVAs both small (inside the tables' reach) and anywhere. */
			if (!(size & 0x80))
				arg &= 0xFFFFFFFFULL;
			fr = vtd_lookup(&v, off, arg, 1 + size % 3, &x);
			if (fr == 0 && vtd_enabled(&v))
				recheck(&v, off, arg, 1 + size % 3, &x);
			if (fr < 0 || (fr & ~(VTD_FAULT_NO_RECORD | 0xFF)))
				FAIL("lookup returned %d", fr);
			if (fr)
				vtd_fault(&v, off, arg, 1 + size % 3, (unsigned int)fr);
			break;
		case OP_FAULT:
			vtd_fault(&v, off, arg, 1 + size % 3, size);
			break;
		case OP_REPLAY: {
			/* From a small or any IOVA, over 2^size % 49 bytes: a page up to everything. */
			uint64_t lo = size & 0x80 ? arg : arg & 0xFFFFFFFFULL;
			unsigned int bits = 12 + size % 53;
			uint64_t hi = bits >= 64 || lo + (1ULL << bits) - 1 < lo ? ~0ULL : lo + (1ULL << bits) - 1;
			struct replay_check rc = { .v = &v, .sid = off, .lo = lo, .hi = hi };
			unsigned int budget = REPLAY_BUDGET;

			fr = vtd_replay(&v, off, lo, hi, &budget, replay_leaf, &rc);
			if (fr != 0 && fr != -E2BIG)
				FAIL("replay returned %d", fr);
			if (budget > REPLAY_BUDGET)
				FAIL("replay budget grew to %u", budget);
			break;
		}
		}
		fuzz_in_io = false;
		check_state(&v);
	}
	if (fuzz_io_allocs)
		FAIL("%lu allocations in the unit's paths", fuzz_io_allocs);
	vtd_destroy(&v);
	return 0;
}
