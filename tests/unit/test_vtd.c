// SPDX-License-Identifier: Apache-2.0
/*
 * The emulated VT-d's register file (src/iommu/vtd.c): every register's
 * reset value and which bits a write may change; GCMD as Linux drives it
 * (TE, SRTP, QIE); register-based and queued invalidation of each kind,
 * with the effects they must have; invalidation wait with status write and
 * interrupt; fault recording, overflow, clearing and the fault event
 * interrupt, masked and not; faults a device thread reports while a vCPU
 * holds the unit's lock (deferred, never waited for); and hostile input:
 * bad descriptors, a tail beyond the queue, a queue or status address
 * outside RAM, odd accesses.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "iommu/vtd.h"
#include "util.h"

#define RAM		(4 * MiB)
#define IQ		0x10000ULL	/* the invalidation queue, 256 entries */
#define STATUS		0x20000ULL	/* where wait descriptors write */

struct t {
	struct guest_mem mem;
	uint8_t *ram;
	struct vtd v;
	/* What the unit did to the machine. */
	unsigned int nmsi;
	uint64_t msi_addr;
	uint32_t msi_data;
	unsigned int ninv, nall;
	struct vtd_inv inv[16];
	/* Run by the next invalidation, with the unit's lock held; then cleared. */
	void (*on_inv)(struct t *t);
	/* Faults a "device thread" reports from inside that invalidation. */
	struct { uint16_t sid; uint64_t iova; unsigned int dir, fr; } flt[VTD_NFR + 4];
	unsigned int nflt;
	pthread_t thr;
	bool thr_up, joined;
	int join_err;
	/* The unit as the callback saw it once the thread had returned. */
	uint32_t in_fsts, in_fectl;
	unsigned int in_nmsi, in_npend, in_nf;
	uint64_t in_pend_dropped;
	bool race_done;
	/* Run by the next MSI (the unit's lock held); then cleared. */
	void (*on_msi)(struct t *t);
	pthread_t late;
	bool late_up, late_started;
	int late_cpu;			/* the late thread's only CPU, or -1 */
};

static void fx_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct t *t = opaque;
	void (*hook)(struct t *t) = t->on_msi;

	t->on_msi = NULL;
	if (hook)
		hook(t);
	t->nmsi++;
	t->msi_addr = addr;
	t->msi_data = data;
}

static void fx_invalidate(void *opaque, const struct vtd_inv *inv)
{
	struct t *t = opaque;
	void (*hook)(struct t *t) = t->on_inv;

	t->on_inv = NULL;
	if (hook)
		hook(t);
	if (!inv) {
		t->nall++;
		return;
	}
	assert_true(t->ninv < 16);
	t->inv[t->ninv++] = *inv;
}

static const struct vtd_effects fx = { .msi = fx_msi, .invalidate = fx_invalidate };

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->ram = calloc(1, RAM);
	assert_non_null(t->ram);
	t->mem.nr = 1;
	t->mem.region[0] = (struct mem_region){ .gpa = 0, .size = RAM, .hva = t->ram };
	t->mem.ram_size = RAM;
	vtd_init(&t->v, &t->mem, &fx, t);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	vtd_destroy(&t->v);
	free(t->ram);
	free(t);
	return 0;
}

static uint64_t rd(struct t *t, uint64_t off, unsigned int len)
{
	uint8_t b[8];

	vtd_mmio(&t->v, off, b, len, false);
	return le_read(b, len);
}

static void wr(struct t *t, uint64_t off, unsigned int len, uint64_t val)
{
	uint8_t b[8];

	le_write(b, len, val);
	vtd_mmio(&t->v, off, b, len, true);
}

/* Linux's way: the persistent command bits it keeps, plus the one it wants now. */
static void gcmd(struct t *t, uint32_t bits)
{
	uint32_t keep = (uint32_t)rd(t, VTD_REG_GSTS, 4) & (VTD_GCMD_TE | VTD_GCMD_QIE);

	wr(t, VTD_REG_GCMD, 4, keep | bits);
}

static void test_reset_and_read_only(void **state)
{
	struct t *t = *state;
	uint64_t cap = rd(t, VTD_REG_CAP, 8), ecap = rd(t, VTD_REG_ECAP, 8);

	assert_int_equal(rd(t, VTD_REG_VER, 4), 0x10);
	assert_true(cap & (1ULL << 7));				/* caching mode */
	assert_int_equal((cap >> 8) & 0x1F, 0x6);		/* SAGAW: 39 and 48 bits */
	assert_int_equal((cap >> 16) & 0x3F, 47);		/* MGAW */
	assert_int_equal(((cap >> 24) & 0x3FF) * 16, VTD_REG_FRR);
	assert_int_equal(((cap >> 40) & 0xFF) + 1, VTD_NFR);
	assert_int_equal((cap >> 34) & 3, 3);			/* 2 MiB and 1 GiB pages */
	assert_true(cap & (1ULL << 39));			/* PSI */
	assert_int_equal((cap >> 48) & 0x3F, VTD_MAMV);
	assert_true(ecap & 2);					/* QI */
	assert_true(ecap & (1 << 6));				/* PT */
	assert_false(ecap & (1 << 3));				/* no interrupt remapping */
	assert_int_equal(((ecap >> 8) & 0x3FF) * 16, VTD_REG_IVA);
	/* --iommu=caching-mode=off clears CM and nothing else. */
	vtd_set_caching_mode(&t->v, false);
	assert_int_equal(rd(t, VTD_REG_CAP, 8), cap & ~(1ULL << 7));
	vtd_set_caching_mode(&t->v, true);
	assert_int_equal(rd(t, VTD_REG_GSTS, 4), 0);
	assert_int_equal(rd(t, VTD_REG_FECTL, 4), VTD_ECTL_IM);
	assert_int_equal(rd(t, VTD_REG_IECTL, 4), VTD_ECTL_IM);
	/* Writes to read-only registers change nothing. */
	wr(t, VTD_REG_CAP, 8, 0);
	wr(t, VTD_REG_ECAP, 8, 0);
	wr(t, VTD_REG_VER, 4, 0);
	wr(t, VTD_REG_GSTS, 4, ~0u);
	wr(t, VTD_REG_IQH, 8, 0x100);
	assert_int_equal(rd(t, VTD_REG_CAP, 8), cap);
	assert_int_equal(rd(t, VTD_REG_ECAP, 8), ecap);
	assert_int_equal(rd(t, VTD_REG_VER, 4), 0x10);
	assert_int_equal(rd(t, VTD_REG_GSTS, 4), 0);
	assert_int_equal(rd(t, VTD_REG_IQH, 8), 0);
	/* Write-only GCMD reads 0; RTADDR keeps its address bits only (TTM legacy). */
	assert_int_equal(rd(t, VTD_REG_GCMD, 4), 0);
	wr(t, VTD_REG_RTADDR, 8, 0x123456C00ULL | 0xFFF);
	assert_int_equal(rd(t, VTD_REG_RTADDR, 8), 0x123456000ULL);
	/* Odd accesses: 2 bytes, misaligned, past the page. */
	assert_int_equal(rd(t, VTD_REG_CAP, 2), 0xFFFF);
	assert_int_equal(rd(t, VTD_REG_CAP + 2, 4), 0xFFFFFFFFULL);
	uint8_t b[8];

	vtd_mmio(&t->v, VTD_MMIO_SIZE - 4, b, 8, false);
	assert_int_equal(le_read(b, 8), ~0ULL);
	/* 32-bit halves of a 64-bit register. */
	wr(t, VTD_REG_IQA, 4, 0x5000 | 2);
	wr(t, VTD_REG_IQA + 4, 4, 0x1);
	assert_int_equal(rd(t, VTD_REG_IQA, 8), 0x100005002ULL);
	assert_int_equal(rd(t, VTD_REG_IQA + 4, 4), 1);
}

static void test_gcmd(void **state)
{
	struct t *t = *state;

	wr(t, VTD_REG_RTADDR, 8, 0x3000);
	gcmd(t, VTD_GCMD_SRTP);
	assert_true(rd(t, VTD_REG_GSTS, 4) & VTD_GCMD_SRTP);	/* RTPS */
	assert_int_equal(t->v.rtaddr, 0x3000);
	assert_int_equal(t->nall, 1);
	/* RTADDR written again is not used until the next SRTP. */
	wr(t, VTD_REG_RTADDR, 8, 0x4000);
	assert_int_equal(t->v.rtaddr, 0x3000);
	gcmd(t, VTD_GCMD_TE);
	assert_true(rd(t, VTD_REG_GSTS, 4) & VTD_GCMD_TE);
	assert_true(vtd_enabled(&t->v));
	assert_int_equal(t->nall, 2);
	/* Writing TE again (with another command) changes nothing. */
	gcmd(t, VTD_GCMD_WBF);
	assert_int_equal(t->nall, 2);
	assert_false(rd(t, VTD_REG_GSTS, 4) & VTD_GCMD_WBF);
	/* Unsupported commands do nothing: no interrupt remapping, no advanced fault log. */
	gcmd(t, VTD_GCMD_IRE | VTD_GCMD_SIRTP | VTD_GCMD_SFL);
	assert_int_equal(rd(t, VTD_REG_GSTS, 4) & (VTD_GCMD_IRE | VTD_GCMD_SIRTP | VTD_GCMD_SFL), 0);
	/* QIE resets the head. */
	t->v.iqh = 0x50;
	gcmd(t, VTD_GCMD_QIE);
	assert_true(rd(t, VTD_REG_GSTS, 4) & VTD_GCMD_QIE);
	assert_int_equal(rd(t, VTD_REG_IQH, 8), 0);
	/* TE off: GSTS follows, translations are dropped. */
	wr(t, VTD_REG_GCMD, 4, VTD_GCMD_QIE);
	assert_false(vtd_enabled(&t->v));
	assert_true(rd(t, VTD_REG_GSTS, 4) & VTD_GCMD_QIE);
	assert_int_equal(t->nall, 3);
}

static void test_register_invalidation(void **state)
{
	struct t *t = *state;

	/* Context cache, device granularity: CIRG 3, FM 1, SID 0x18, DID 5. */
	wr(t, VTD_REG_CCMD, 8, VTD_CCMD_ICC | 3ULL << 61 | 1ULL << 32 | 0x18ULL << 16 | 5);
	assert_int_equal(t->ninv, 1);
	assert_int_equal(t->inv[0].type, VTD_QI_CC);
	assert_int_equal(t->inv[0].gran, VTD_GRAN_DEVICE);
	assert_int_equal(t->inv[0].sid, 0x18);
	assert_int_equal(t->inv[0].did, 5);
	assert_int_equal(t->inv[0].fm, 1);
	assert_false(rd(t, VTD_REG_CCMD, 8) & VTD_CCMD_ICC);		/* done */
	assert_int_equal((rd(t, VTD_REG_CCMD, 8) >> 59) & 3, 3);	/* CAIG */
	/* Written as two halves, the high one last with ICC, as a 32-bit driver would. */
	wr(t, VTD_REG_CCMD, 4, 0);
	wr(t, VTD_REG_CCMD + 4, 4, (uint32_t)((VTD_CCMD_ICC | 1ULL << 61) >> 32));
	assert_int_equal(t->ninv, 2);
	assert_int_equal(t->inv[1].gran, VTD_GRAN_GLOBAL);
	/* IOTLB, page-selective through IVA: 2^2 pages at 0x80000, DID 7. */
	wr(t, VTD_REG_IVA, 8, 0x80000 | 1 << 6 | 2);
	wr(t, VTD_REG_IOTLB, 8, VTD_IOTLB_IVT | 3ULL << 60 | 7ULL << 32);
	assert_int_equal(t->ninv, 3);
	assert_int_equal(t->inv[2].type, VTD_QI_IOTLB);
	assert_int_equal(t->inv[2].gran, VTD_GRAN_PAGE);
	assert_int_equal(t->inv[2].did, 7);
	assert_int_equal(t->inv[2].addr, 0x80000);
	assert_int_equal(t->inv[2].am, 2);
	assert_true(t->inv[2].ih);
	assert_false(rd(t, VTD_REG_IOTLB, 8) & VTD_IOTLB_IVT);
	assert_int_equal((rd(t, VTD_REG_IOTLB, 8) >> 57) & 3, 3);	/* IAIG */
	/* A mask above MAMV is done domain-wide, and IAIG says so. */
	wr(t, VTD_REG_IVA, 8, VTD_MAMV + 1);
	wr(t, VTD_REG_IOTLB, 8, VTD_IOTLB_IVT | 3ULL << 60 | 7ULL << 32);
	assert_int_equal(t->inv[3].gran, VTD_GRAN_DOMAIN);
	assert_int_equal((rd(t, VTD_REG_IOTLB, 8) >> 57) & 3, VTD_GRAN_DOMAIN);
	/* Granularity 0 is reserved: nothing done, IAIG 0. */
	wr(t, VTD_REG_IOTLB, 8, VTD_IOTLB_IVT);
	assert_int_equal(t->ninv, 4);
	assert_int_equal((rd(t, VTD_REG_IOTLB, 8) >> 57) & 3, 0);
}

/* Descriptor @i of the queue at IQ. */
static void desc(struct t *t, unsigned int i, uint64_t lo, uint64_t hi)
{
	uint64_t *d = (uint64_t *)(t->ram + IQ + 16ULL * i);

	d[0] = lo;
	d[1] = hi;
}

static void qi_start(struct t *t)
{
	wr(t, VTD_REG_IQA, 8, IQ);		/* QS 0: 256 entries */
	wr(t, VTD_REG_IQT, 8, 0);
	gcmd(t, VTD_GCMD_QIE);
}

static void test_queued_invalidation(void **state)
{
	struct t *t = *state;
	uint32_t *status = (uint32_t *)(t->ram + STATUS);

	qi_start(t);
	desc(t, 0, 0x2 | 2 << 4 | 4ULL << 16, 0);			/* IOTLB, domain 4 */
	desc(t, 1, 0x1 | 1 << 4, 0);					/* context cache, global */
	desc(t, 2, 0x5 | 1 << 5 | 0xD0DEULL << 32, STATUS);		/* wait, status write */
	wr(t, VTD_REG_IQT, 8, 3 << 4);
	assert_int_equal(rd(t, VTD_REG_IQH, 8), 3 << 4);
	assert_int_equal(t->ninv, 2);
	assert_int_equal(t->inv[0].type, VTD_QI_IOTLB);
	assert_int_equal(t->inv[0].did, 4);
	assert_int_equal(t->inv[1].type, VTD_QI_CC);
	assert_int_equal(*status, 0xD0DE);
	assert_int_equal(t->nmsi, 0);
	/* Wait with IF, masked: IWC and IP; unmasking sends the interrupt once. */
	wr(t, VTD_REG_IEDATA, 4, 0x45);
	wr(t, VTD_REG_IEADDR, 4, 0xFEE00000);
	desc(t, 3, 0x5 | 1 << 4, 0);
	wr(t, VTD_REG_IQT, 8, 4 << 4);
	assert_int_equal(rd(t, VTD_REG_ICS, 4), VTD_ICS_IWC);
	assert_int_equal(rd(t, VTD_REG_IECTL, 4), VTD_ECTL_IM | VTD_ECTL_IP);
	assert_int_equal(t->nmsi, 0);
	wr(t, VTD_REG_IECTL, 4, 0);
	assert_int_equal(t->nmsi, 1);
	assert_int_equal(t->msi_addr, 0xFEE00000);
	assert_int_equal(t->msi_data, 0x45);
	assert_int_equal(rd(t, VTD_REG_IECTL, 4), 0);
	/* IWC still set: another wait with IF sends nothing until it is cleared. */
	desc(t, 4, 0x5 | 1 << 4, 0);
	wr(t, VTD_REG_IQT, 8, 5 << 4);
	assert_int_equal(t->nmsi, 1);
	wr(t, VTD_REG_ICS, 4, VTD_ICS_IWC);
	assert_int_equal(rd(t, VTD_REG_ICS, 4), 0);
	desc(t, 5, 0x5 | 1 << 4, 0);
	wr(t, VTD_REG_IQT, 8, 6 << 4);
	assert_int_equal(t->nmsi, 2);
	/* The queue wraps: 256 entries, the tail back at 1. */
	t->v.iqh = 255 << 4;
	desc(t, 255, 0x2 | 1 << 4, 0);
	desc(t, 0, 0x2 | 1 << 4, 0);
	wr(t, VTD_REG_IQT, 8, 1 << 4);
	assert_int_equal(rd(t, VTD_REG_IQH, 8), 1 << 4);
	assert_int_equal(t->ninv, 4);
}

static void test_queue_errors(void **state)
{
	struct t *t = *state;

	wr(t, VTD_REG_FEDATA, 4, 0x33);
	wr(t, VTD_REG_FEADDR, 4, 0xFEE01000);
	wr(t, VTD_REG_FECTL, 4, 0);
	qi_start(t);
	/* A device-TLB descriptor (not offered) stops the queue at it: IQE, a fault event. */
	desc(t, 0, 0x2 | 1 << 4, 0);
	desc(t, 1, 0x3, 0);
	desc(t, 2, 0x2 | 1 << 4, 0);
	wr(t, VTD_REG_IQT, 8, 3 << 4);
	assert_int_equal(rd(t, VTD_REG_IQH, 8), 1 << 4);
	assert_int_equal(rd(t, VTD_REG_FSTS, 4) & VTD_FSTS_IQE, VTD_FSTS_IQE);
	assert_int_equal(t->ninv, 1);
	assert_int_equal(t->nmsi, 1);
	assert_int_equal(t->msi_data, 0x33);
	/* More tail moves do nothing while IQE is set. */
	wr(t, VTD_REG_IQT, 8, 3 << 4);
	assert_int_equal(t->ninv, 1);
	/* Fixed and IQE cleared: it goes on from the head. */
	desc(t, 1, 0x1 | 1 << 4, 0);
	wr(t, VTD_REG_FSTS, 4, VTD_FSTS_IQE);
	assert_int_equal(rd(t, VTD_REG_FSTS, 4) & VTD_FSTS_IQE, 0);
	assert_int_equal(rd(t, VTD_REG_IQH, 8), 3 << 4);
	assert_int_equal(t->ninv, 3);
	/* Reserved bits in a descriptor. */
	desc(t, 3, 0x2 | 1 << 4 | 1ULL << 40, 0);
	wr(t, VTD_REG_IQT, 8, 4 << 4);
	assert_true(rd(t, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
	wr(t, VTD_REG_FSTS, 4, VTD_FSTS_IQE);		/* still bad: stops again */
	assert_true(rd(t, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
	assert_int_equal(rd(t, VTD_REG_IQH, 8), 3 << 4);
	/* A wait whose status address is not RAM. */
	desc(t, 3, 0x5 | 1 << 5, 0xFEC00000ULL);
	wr(t, VTD_REG_FSTS, 4, VTD_FSTS_IQE);
	assert_true(rd(t, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
	desc(t, 3, 0x5 | 1 << 5, STATUS);
	wr(t, VTD_REG_FSTS, 4, VTD_FSTS_IQE);
	assert_false(rd(t, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
	/* A tail beyond the queue (QS 0: 256 entries). */
	wr(t, VTD_REG_IQT, 8, 300 << 4);
	assert_true(rd(t, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
	wr(t, VTD_REG_IQT, 8, 4 << 4);
	wr(t, VTD_REG_FSTS, 4, VTD_FSTS_IQE);
	assert_false(rd(t, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
	/* The queue itself in the MMIO hole. */
	wr(t, VTD_REG_GCMD, 4, 0);
	wr(t, VTD_REG_IQA, 8, 0xFEC00000ULL);
	gcmd(t, VTD_GCMD_QIE);
	wr(t, VTD_REG_IQT, 8, 1 << 4);
	assert_true(rd(t, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
	assert_int_equal(rd(t, VTD_REG_IQH, 8), 0);
	/* Cleared with the queue still enabled and still bad: it stops again at once. */
	wr(t, VTD_REG_FSTS, 4, VTD_FSTS_IQE);
	assert_true(rd(t, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
	/* Without QIE a tail write does nothing. */
	wr(t, VTD_REG_GCMD, 4, 0);
	wr(t, VTD_REG_FSTS, 4, VTD_FSTS_IQE);
	wr(t, VTD_REG_IQT, 8, 2 << 4);
	assert_false(rd(t, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
}

static void test_fault_recording(void **state)
{
	struct t *t = *state;
	uint64_t lo, hi;

	wr(t, VTD_REG_FEDATA, 4, 0x41);
	wr(t, VTD_REG_FEADDR, 4, 0xFEE00000);
	/* Masked: recorded, IP set, no interrupt; unmasking sends it. */
	vtd_fault(&t->v, 0x18, 0x12345678, VTD_PERM_W, VTD_FR_WRITE);
	lo = rd(t, VTD_REG_FRR, 8);
	hi = rd(t, VTD_REG_FRR + 8, 8);
	assert_int_equal(lo, 0x12345000);
	assert_int_equal(hi & 0xFFFF, 0x18);
	assert_int_equal((hi >> 32) & 0xFF, VTD_FR_WRITE);
	assert_false(hi & (1ULL << 62));			/* T: a write */
	assert_true(hi >> 63);					/* F */
	assert_int_equal(rd(t, VTD_REG_FSTS, 4), VTD_FSTS_PPF | 0 << VTD_FSTS_FRI_SHIFT);
	assert_int_equal(rd(t, VTD_REG_FECTL, 4), VTD_ECTL_IM | VTD_ECTL_IP);
	assert_int_equal(t->nmsi, 0);
	wr(t, VTD_REG_FECTL, 4, 0);
	assert_int_equal(t->nmsi, 1);
	assert_int_equal(t->msi_data, 0x41);
	/* A second fault while PPF is set: recorded in the next register, no new event, FRI
	 * still naming the first pending record. */
	vtd_fault(&t->v, 0x20, 0x1000, VTD_PERM_R, VTD_FR_READ);
	assert_true(rd(t, VTD_REG_FRR + 24, 8) & (1ULL << 62));	/* T: a read */
	assert_int_equal(t->nmsi, 1);
	assert_int_equal((rd(t, VTD_REG_FSTS, 4) >> 8) & 0xFF, 0);
	/* Faults of a context with FPD are not recorded at all. */
	vtd_fault(&t->v, 0x20, 0x2000, VTD_PERM_R, VTD_FR_READ | VTD_FAULT_NO_RECORD);
	assert_int_equal(t->v.fr_next, 2);
	/* Fill the rest; the ninth finds FRR 0 still set: overflow, and the fault is lost. */
	for (unsigned int i = 2; i < VTD_NFR; i++)
		vtd_fault(&t->v, 0x18, 0x1000 * i, VTD_PERM_R, VTD_FR_READ);
	assert_int_equal(rd(t, VTD_REG_FSTS, 4) & VTD_FSTS_PFO, 0);
	vtd_fault(&t->v, 0x18, 0x9000, VTD_PERM_R, VTD_FR_READ);
	assert_true(rd(t, VTD_REG_FSTS, 4) & VTD_FSTS_PFO);
	assert_int_equal(rd(t, VTD_REG_FRR, 8), 0x12345000);		/* not overwritten */
	assert_int_equal(t->v.faults_dropped, 1);
	/* Clear every F (one through a 32-bit write of the top dword), then PFO. */
	for (unsigned int i = 0; i < VTD_NFR; i++) {
		if (i == 3)
			wr(t, VTD_REG_FRR + 16 * i + 12, 4, 1u << 31);
		else
			wr(t, VTD_REG_FRR + 16 * i + 8, 8, 1ULL << 63);
	}
	assert_int_equal(rd(t, VTD_REG_FSTS, 4) & VTD_FSTS_PPF, 0);
	wr(t, VTD_REG_FSTS, 4, VTD_FSTS_PFO);
	assert_int_equal(rd(t, VTD_REG_FSTS, 4) & (VTD_FSTS_PFO | VTD_FSTS_PPF), 0);
	/* Writes to the rest of a record change nothing. */
	wr(t, VTD_REG_FRR, 8, 0);
	assert_int_equal(rd(t, VTD_REG_FRR, 8), 0x12345000);
	/* A new fault now raises a new event, in record 0 again (it wrapped), and FRI says so. */
	vtd_fault(&t->v, 0x18, 0xA000, VTD_PERM_R, VTD_FR_READ);
	assert_int_equal(t->nmsi, 2);
	assert_int_equal(rd(t, VTD_REG_FRR, 8), 0xA000);
	assert_int_equal((rd(t, VTD_REG_FSTS, 4) >> 8) & 0xFF, 0);
	/* Drained (F cleared), the next fault lands in record 1, and FRI names it. */
	wr(t, VTD_REG_FRR + 12, 4, 1u << 31);
	vtd_fault(&t->v, 0x18, 0xB000, VTD_PERM_R, VTD_FR_READ);
	assert_int_equal((rd(t, VTD_REG_FSTS, 4) >> 8) & 0xFF, 1);
	assert_int_equal(rd(t, VTD_REG_FRR + 16, 8), 0xB000);
	assert_int_equal(t->nmsi, 3);
}

/* ---- faults reported while the lock is held -------------------------------- */

static unsigned int nf_set(const struct vtd *v)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < VTD_NFR; i++)
		n += (unsigned int)(v->frr[i][1] >> 63);
	return n;
}

static void *device_thread(void *arg)
{
	struct t *t = arg;

	for (unsigned int i = 0; i < t->nflt; i++)
		vtd_fault(&t->v, t->flt[i].sid, t->flt[i].iova, t->flt[i].dir, t->flt[i].fr);
	return NULL;
}

/*
 * An invalidation that waits for a device thread (as quiescing the devices
 * does) while that thread reports faults. A vtd_fault that waited for the
 * lock would never return: the join times out instead of hanging the test,
 * and the thread finishes once vtd_mmio lets the lock go (finish()).
 * Nothing is asserted here: a failed assert would leave the lock held.
 */
static void fault_from_thread(struct t *t)
{
	struct timespec ts;

	if (pthread_create(&t->thr, NULL, device_thread, t))
		return;
	t->thr_up = true;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	t->join_err = pthread_timedjoin_np(t->thr, NULL, &ts);
	t->joined = t->join_err == 0;
	t->in_fsts = t->v.fsts;
	t->in_fectl = t->v.fectl;
	t->in_nmsi = t->nmsi;
	t->in_npend = __atomic_load_n(&t->v.npend, __ATOMIC_SEQ_CST);
	t->in_pend_dropped = t->v.pend_dropped;
	t->in_nf = nf_set(&t->v);
}

static void add_fault(struct t *t, uint16_t sid, uint64_t iova, unsigned int dir, unsigned int fr)
{
	assert_true(t->nflt < ARRAY_SIZE(t->flt));
	t->flt[t->nflt].sid = sid;
	t->flt[t->nflt].iova = iova;
	t->flt[t->nflt].dir = dir;
	t->flt[t->nflt].fr = fr;
	t->nflt++;
}

/* After the invalidating write: the callback ran, and its thread returned while the lock was held. */
static void finish(struct t *t)
{
	assert_true(t->thr_up);
	if (!t->joined)
		pthread_join(t->thr, NULL);
	t->thr_up = false;
	if (t->join_err)
		fail_msg("vtd_fault waited for the lock an invalidation held (join: %s)",
			 strerror(t->join_err));
	/* Queued: every fault but those never to be recorded (FPD), up to the list's size. */
	unsigned int want = 0;

	for (unsigned int i = 0; i < t->nflt; i++)
		want += !(t->flt[i].fr & VTD_FAULT_NO_RECORD);
	assert_int_equal(t->in_npend, want > VTD_NFR ? VTD_NFR : want);
}

/* Record @i (F set), read from the struct: not through vtd_mmio, which drains the queue itself. */
static void assert_record(struct t *t, unsigned int i, uint16_t sid, uint64_t iova,
			  unsigned int dir, unsigned int fr)
{
	uint64_t hi = t->v.frr[i][1];

	assert_int_equal(t->v.frr[i][0], iova & ~0xFFFULL);
	assert_int_equal(hi & 0xFFFF, sid);
	assert_int_equal((hi >> 32) & 0xFF, fr);
	assert_int_equal((hi >> 62) & 1, !(dir & VTD_PERM_W));	/* T: 1 for a read */
	assert_true(hi >> 63);
}

/*
 * A global IOTLB invalidation whose callback waits for a device thread that
 * faults: the fault is queued, not recorded, while the vCPU holds the lock,
 * and recorded (with the fault event) as vtd_mmio returns.
 */
static void test_fault_during_invalidation(void **state)
{
	struct t *t = *state;

	wr(t, VTD_REG_FEDATA, 4, 0x41);
	wr(t, VTD_REG_FEADDR, 4, 0xFEE00000);
	wr(t, VTD_REG_FECTL, 4, 0);
	add_fault(t, 0x18, 0x12345678, VTD_PERM_W, VTD_FR_WRITE);
	t->on_inv = fault_from_thread;
	wr(t, VTD_REG_IOTLB, 8, VTD_IOTLB_IVT | 1ULL << 60);
	finish(t);
	assert_int_equal(t->ninv, 1);
	assert_int_equal(t->inv[0].gran, VTD_GRAN_GLOBAL);
	/* Inside the callback: queued, not yet visible to the guest. */
	assert_int_equal(t->in_nf, 0);
	assert_int_equal(t->in_fsts, 0);
	assert_int_equal(t->in_nmsi, 0);
	/* Once the write returned: recorded, PPF, FRI 0, one fault event. */
	assert_int_equal(t->v.npend, 0);
	assert_record(t, 0, 0x18, 0x12345678, VTD_PERM_W, VTD_FR_WRITE);
	assert_int_equal(nf_set(&t->v), 1);
	assert_int_equal(t->v.fsts, VTD_FSTS_PPF | 0 << VTD_FSTS_FRI_SHIFT);
	assert_int_equal(t->nmsi, 1);
	assert_int_equal(t->msi_addr, 0xFEE00000);
	assert_int_equal(t->msi_data, 0x41);
	assert_int_equal(t->v.faults_dropped, 0);
	/* The register reads the same. */
	assert_int_equal(rd(t, VTD_REG_FRR, 8), 0x12345000);
	assert_int_equal(rd(t, VTD_REG_FSTS, 4), VTD_FSTS_PPF);
	/* With the lock free a fault is recorded at once, as before: record 1, no new event. */
	vtd_fault(&t->v, 0x20, 0x7000, VTD_PERM_R, VTD_FR_READ);
	assert_int_equal(t->v.npend, 0);
	assert_record(t, 1, 0x20, 0x7000, VTD_PERM_R, VTD_FR_READ);
	assert_int_equal(t->nmsi, 1);
}

/*
 * Translation switched on (GCMD.TE, an invalidation of everything): several
 * faults queued meanwhile are recorded in the order they came; one that is
 * not to be recorded (FPD) is not even queued; masked, the event is held
 * as IP.
 */
static void test_faults_deferred_in_order(void **state)
{
	struct t *t = *state;

	wr(t, VTD_REG_FEDATA, 4, 0x42);
	wr(t, VTD_REG_FEADDR, 4, 0xFEE00000);
	add_fault(t, 0x18, 0x1000, VTD_PERM_R, VTD_FR_READ);
	add_fault(t, 0x20, 0x2000, VTD_PERM_W, VTD_FR_WRITE | VTD_FAULT_NO_RECORD);
	add_fault(t, 0x28, 0x3000, VTD_PERM_W, VTD_FR_WRITE);
	add_fault(t, 0x30, 0x4000, VTD_PERM_R, VTD_FR_CTX_P);
	t->on_inv = fault_from_thread;
	gcmd(t, VTD_GCMD_TE);
	finish(t);
	assert_int_equal(t->nall, 1);
	assert_true(vtd_enabled(&t->v));
	assert_int_equal(t->in_nf, 0);
	assert_int_equal(t->in_fsts, 0);
	assert_int_equal(t->in_fectl, VTD_ECTL_IM);
	assert_int_equal(t->v.npend, 0);
	assert_record(t, 0, 0x18, 0x1000, VTD_PERM_R, VTD_FR_READ);
	assert_record(t, 1, 0x28, 0x3000, VTD_PERM_W, VTD_FR_WRITE);
	assert_record(t, 2, 0x30, 0x4000, VTD_PERM_R, VTD_FR_CTX_P);
	assert_int_equal(nf_set(&t->v), 3);
	assert_int_equal(t->v.fr_next, 3);
	assert_int_equal(t->v.fsts, VTD_FSTS_PPF | 0 << VTD_FSTS_FRI_SHIFT);
	assert_int_equal(t->v.fectl, VTD_ECTL_IM | VTD_ECTL_IP);
	assert_int_equal(t->nmsi, 0);
	wr(t, VTD_REG_FECTL, 4, 0);
	assert_int_equal(t->nmsi, 1);
	assert_int_equal(t->msi_data, 0x42);
}

/*
 * More faults than there are records, queued during one invalidation: the
 * first VTD_NFR fill the records in order, the rest are lost as an
 * overflow (PFO, counted), with a single fault event.
 */
static void test_faults_deferred_overflow(void **state)
{
	struct t *t = *state;

	wr(t, VTD_REG_FEDATA, 4, 0x43);
	wr(t, VTD_REG_FEADDR, 4, 0xFEE00000);
	wr(t, VTD_REG_FECTL, 4, 0);
	for (unsigned int i = 0; i < VTD_NFR + 3; i++)
		add_fault(t, (uint16_t)(0x100 + i), 0x1000ULL * (i + 1), VTD_PERM_R, VTD_FR_READ);
	t->on_inv = fault_from_thread;
	wr(t, VTD_REG_IOTLB, 8, VTD_IOTLB_IVT | 1ULL << 60);
	finish(t);
	assert_int_equal(t->in_pend_dropped, 3);
	assert_int_equal(t->in_nf, 0);
	assert_int_equal(t->in_fsts, 0);
	assert_int_equal(t->in_nmsi, 0);
	assert_int_equal(t->v.npend, 0);
	assert_int_equal(t->v.pend_dropped, 0);
	for (unsigned int i = 0; i < VTD_NFR; i++)
		assert_record(t, i, (uint16_t)(0x100 + i), 0x1000ULL * (i + 1), VTD_PERM_R,
			      VTD_FR_READ);
	assert_int_equal(t->v.fsts, VTD_FSTS_PPF | VTD_FSTS_PFO | 0 << VTD_FSTS_FRI_SHIFT);
	assert_int_equal(t->v.faults_dropped, 3);
	assert_int_equal(t->nmsi, 1);
	assert_int_equal(t->msi_data, 0x43);
	/* Records are never overwritten: a later fault is lost too while PFO is set. */
	vtd_fault(&t->v, 0x18, 0xF000, VTD_PERM_R, VTD_FR_READ);
	assert_int_equal(t->v.faults_dropped, 4);
	assert_int_equal(t->v.frr[0][0], 0x1000);
}

static void *late_thread(void *arg)
{
	struct t *t = arg;

	__atomic_store_n(&t->late_started, true, __ATOMIC_RELEASE);
	vtd_fault(&t->v, 0x40, 0x9000, VTD_PERM_R, VTD_FR_READ);
	return NULL;
}

/*
 * The fault event of a deferred fault, sent while the queue is drained
 * (both locks held): a thread that faults now finds the unit's lock taken
 * and waits for the queue's, which it gets only as the holder is about to
 * let the unit go. The short sleep lets it get that far.
 */
static void fault_late(struct t *t)
{
	pthread_attr_t a;

	pthread_attr_init(&a);
	if (t->late_cpu >= 0) {
		cpu_set_t cpus;

		CPU_ZERO(&cpus);
		CPU_SET(t->late_cpu, &cpus);
		pthread_attr_setaffinity_np(&a, sizeof(cpus), &cpus);
	}
	t->late_up = pthread_create(&t->late, &a, late_thread, t) == 0;
	pthread_attr_destroy(&a);
	while (t->late_up && !__atomic_load_n(&t->late_started, __ATOMIC_ACQUIRE))
		sched_yield();
	nanosleep(&(struct timespec){ 0, 2 * 1000000 }, NULL);
}

/*
 * A fault reported just as the holder releases the lock (fault_late): it
 * is queued after the holder's drain, and whichever of the two then runs
 * first must record it, by the time both returned and with no further
 * access to the unit. Repeated for the orders that depend on timing.
 */
static void test_fault_as_the_lock_goes(void **state)
{
	struct t *t = *state;
	struct timespec ts;
	cpu_set_t all, one;

	assert_int_equal(pthread_getaffinity_np(pthread_self(), sizeof(all), &all), 0);
	for (unsigned int i = 0; i < 50; i++) {
		/*
		 * Every other time both on one CPU: the late thread, woken as
		 * the drain ends, then tends to run before the holder unlocks.
		 */
		t->late_cpu = -1;
		if (i % 2 == 0 && CPU_COUNT(&all) > 1 && (t->late_cpu = sched_getcpu()) >= 0) {
			CPU_ZERO(&one);
			CPU_SET(t->late_cpu, &one);
			if (pthread_setaffinity_np(pthread_self(), sizeof(one), &one))
				t->late_cpu = -1;
		}
		vtd_destroy(&t->v);
		vtd_init(&t->v, &t->mem, &fx, t);
		t->nflt = t->ninv = 0;
		t->late_started = false;
		wr(t, VTD_REG_FECTL, 4, 0);
		add_fault(t, 0x18, 0x1000, VTD_PERM_W, VTD_FR_WRITE);
		t->on_inv = fault_from_thread;
		t->on_msi = fault_late;
		wr(t, VTD_REG_IOTLB, 8, VTD_IOTLB_IVT | 1ULL << 60);
		finish(t);
		assert_true(t->late_up);
		t->late_up = false;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 2;
		if (pthread_timedjoin_np(t->late, NULL, &ts)) {
			pthread_join(t->late, NULL);	/* it cannot finish here: fail after it did */
			fail_msg("iteration %u: vtd_fault did not return", i);
		}
		if (__atomic_load_n(&t->v.npend, __ATOMIC_SEQ_CST) || nf_set(&t->v) != 2)
			fail_msg("iteration %u: a fault reported as the lock was released is "
				 "still queued (%u queued, %u recorded)", i, t->v.npend,
				 nf_set(&t->v));
		assert_record(t, 0, 0x18, 0x1000, VTD_PERM_W, VTD_FR_WRITE);
		assert_record(t, 1, 0x40, 0x9000, VTD_PERM_R, VTD_FR_READ);
		if (t->late_cpu >= 0)
			pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
	}
}

/*
 * A device thread faulting flat out while a vCPU keeps taking the lock
 * (reading and clearing the records): every fault is recorded or counted
 * as dropped, and none is left queued once both have stopped (unlock's
 * second look, vtd_fault's second try).
 */
#define RACE_FAULTS	20000

static void *race_thread(void *arg)
{
	struct t *t = arg;

	for (unsigned int i = 0; i < RACE_FAULTS; i++)
		vtd_fault(&t->v, 0x18, 0x1000ULL * (i % 512), VTD_PERM_R, VTD_FR_READ);
	__atomic_store_n(&t->race_done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Read and clear every pending record and PFO, as Linux's dmar_fault does: how many were set. */
static unsigned int drain_records(struct t *t)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < VTD_NFR; i++) {
		if (rd(t, VTD_REG_FRR + 16 * i + 8, 8) >> 63) {
			n++;
			wr(t, VTD_REG_FRR + 16 * i + 12, 4, 1u << 31);
		}
	}
	if (rd(t, VTD_REG_FSTS, 4) & VTD_FSTS_PFO)
		wr(t, VTD_REG_FSTS, 4, VTD_FSTS_PFO);
	return n;
}

static void test_faults_racing_the_lock(void **state)
{
	struct t *t = *state;
	uint64_t recorded = 0;

	assert_int_equal(pthread_create(&t->thr, NULL, race_thread, t), 0);
	while (!__atomic_load_n(&t->race_done, __ATOMIC_ACQUIRE))
		recorded += drain_records(t);
	assert_int_equal(pthread_join(t->thr, NULL), 0);
	/* Both stopped: nothing may wait for a next holder of the lock that might never come. */
	assert_int_equal(__atomic_load_n(&t->v.npend, __ATOMIC_SEQ_CST), 0);
	assert_int_equal(t->v.pend_dropped, 0);
	recorded += drain_records(t);
	assert_int_equal(recorded + t->v.faults_dropped, RACE_FAULTS);
	assert_true(recorded > 0);
}

static void test_lookup(void **state)
{
	struct t *t = *state;
	struct vtd_xlate x;
	uint64_t *q = (uint64_t *)t->ram;

	/* Translation off: identity. */
	assert_int_equal(vtd_lookup(&t->v, 0x18, 0x123456, VTD_PERM_W, &x), 0);
	assert_int_equal(x.gpa, 0x123456);
	/* Root at 0x1000, context table at 0x2000, 00:03.0 -> 3-level tables at 0x3000. */
	q[0x1000 / 8] = 0x2000 | 1;
	q[(0x2000 + 16 * 0x18) / 8] = 0x3000 | 1;
	q[(0x2000 + 16 * 0x18 + 8) / 8] = 9 << 8 | 1;
	q[0x3000 / 8] = 0x4000 | 3;
	q[0x4000 / 8] = 0x5000 | 3;
	q[0x5000 / 8 + 1] = 0x300000 | 1;		/* IOVA 0x1000 -> 0x300000, read-only */
	wr(t, VTD_REG_RTADDR, 8, 0x1000);
	gcmd(t, VTD_GCMD_SRTP);
	gcmd(t, VTD_GCMD_TE);
	assert_int_equal(vtd_lookup(&t->v, 0x18, 0x1010, VTD_PERM_R, &x), 0);
	assert_int_equal(x.gpa, 0x300010);
	assert_int_equal(vtd_lookup(&t->v, 0x18, 0x1010, VTD_PERM_W, &x), VTD_FR_WRITE);
	assert_int_equal(vtd_lookup(&t->v, 0x20, 0x1010, VTD_PERM_R, &x), VTD_FR_CTX_P);
	assert_int_equal(vtd_lookup(&t->v, 0x118, 0x1010, VTD_PERM_R, &x), VTD_FR_ROOT_P);
	/* FPD: the fault is reported not to be recorded. */
	q[(0x2000 + 16 * 0x18) / 8] |= 2;
	assert_int_equal(vtd_lookup(&t->v, 0x18, 0x1010, VTD_PERM_W, &x),
			 VTD_FR_WRITE | VTD_FAULT_NO_RECORD);
	/* Pass-through: IOVA = GPA, as far as the caller needs. */
	q[(0x2000 + 16 * 0x18) / 8] = 2 << 2 | 1;
	assert_int_equal(vtd_lookup(&t->v, 0x18, 0x5000, VTD_PERM_W, &x), 0);
	assert_int_equal(x.gpa, 0x5000);
	assert_true(x.len >= RAM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_and_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gcmd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_invalidation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queued_invalidation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_recording, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_during_invalidation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faults_deferred_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faults_deferred_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_as_the_lock_goes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faults_racing_the_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
