// SPDX-License-Identifier: Apache-2.0
/*
 * The emulated VT-d's register file (chapter 10), fault recording (7.3) and
 * invalidation (6.5): legacy mode, DMA remapping only, caching mode on. No
 * IOTLB is kept: every lookup walks the guest's tables (vtd_walk.c), so an
 * invalidation only has to tell the holders of longer-lived translations
 * (virtqueue ring pointers, through the devices' DMA spaces) to drop them.
 *
 * Pure over guest RAM and struct vtd: the machine is reached only through
 * struct vtd_effects (an MSI, "these translations changed"), so unit tests
 * and fuzzers drive all of it.
 */
#include <errno.h>
#include <string.h>

#include "iommu/vtd.h"
#include "util.h"

/* CAP (10.4.2) and ECAP (10.4.3) fields kvmio sets. */
#define CAP_ND_16BIT		6ULL		/* 65536 domains */
#define CAP_RWBF		(1ULL << 4)
#define CAP_CM			(1ULL << 7)
#define CAP_SAGAW_SHIFT		8
#define CAP_MGAW_SHIFT		16
#define CAP_ZLR			(1ULL << 22)
#define CAP_FRO_SHIFT		24
#define CAP_SLLPS_2M		(1ULL << 34)
#define CAP_SLLPS_1G		(1ULL << 35)
#define CAP_PSI			(1ULL << 39)
#define CAP_NFR_SHIFT		40
#define CAP_MAMV_SHIFT		48
#define ECAP_C			(1ULL << 0)	/* page walks snoop: no cache flushes needed */
#define ECAP_QI			(1ULL << 1)
#define ECAP_PT			(1ULL << 6)
#define ECAP_IRO_SHIFT		8

#define HAW_BITS		VTD_HAW_BITS

void vtd_init(struct vtd *v, const struct guest_mem *mem, const struct vtd_effects *fx, void *opaque)
{
	memset(v, 0, sizeof(*v));
	pthread_mutex_init(&v->lock, NULL);
	pthread_mutex_init(&v->pend_lock, NULL);
	v->mem = mem;
	v->fx = fx;
	v->fx_opaque = opaque;
	v->f = (struct vtd_features){
		.haw_bits = HAW_BITS, .sagaw = (1u << 1) | (1u << 2),
		.sp_2m = true, .sp_1g = true, .pt = true,
	};
	v->cap = CAP_ND_16BIT | CAP_CM | (uint64_t)v->f.sagaw << CAP_SAGAW_SHIFT |
		 (uint64_t)(HAW_BITS - 1) << CAP_MGAW_SHIFT | CAP_ZLR |
		 (uint64_t)(VTD_REG_FRR / 16) << CAP_FRO_SHIFT | CAP_SLLPS_2M | CAP_SLLPS_1G |
		 CAP_PSI | (uint64_t)(VTD_NFR - 1) << CAP_NFR_SHIFT |
		 (uint64_t)VTD_MAMV << CAP_MAMV_SHIFT;
	v->ecap = ECAP_C | ECAP_QI | ECAP_PT | (uint64_t)(VTD_REG_IVA / 16) << ECAP_IRO_SHIFT;
	v->fectl = VTD_ECTL_IM;
	v->iectl = VTD_ECTL_IM;
}

void vtd_set_caching_mode(struct vtd *v, bool on)
{
	v->cap = on ? v->cap | CAP_CM : v->cap & ~CAP_CM;
}

void vtd_destroy(struct vtd *v)
{
	pthread_mutex_destroy(&v->lock);
	pthread_mutex_destroy(&v->pend_lock);
}

/* ---- events -------------------------------------------------------------- */

static void send_msi(struct vtd *v, uint32_t addr_lo, uint32_t addr_hi, uint32_t data)
{
	if (v->fx && v->fx->msi)
		v->fx->msi(v->fx_opaque, (uint64_t)addr_hi << 32 | addr_lo, data);
}

/*
 * A fault condition arose (a record, an overflow, a queue error): one fault
 * event if none was outstanding before it (@pre: FSTS before), held as
 * FECTL.IP while masked (7.3.1).
 */
static void fault_event(struct vtd *v, uint32_t pre)
{
	if (pre & (VTD_FSTS_PPF | VTD_FSTS_PFO | VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE))
		return;
	if (v->fectl & VTD_ECTL_IM)
		v->fectl |= VTD_ECTL_IP;
	else
		send_msi(v, v->feaddr, v->feuaddr, v->fedata);
}

static bool any_frr_pending(const struct vtd *v)
{
	for (unsigned int i = 0; i < VTD_NFR; i++)
		if (v->frr[i][1] >> 63)
			return true;
	return false;
}

/* FSTS.PPF follows the F bits; once nothing is left to report, IP goes (7.3.1). */
static void fsts_update(struct vtd *v)
{
	if (any_frr_pending(v))
		v->fsts |= VTD_FSTS_PPF;
	else
		v->fsts &= ~VTD_FSTS_PPF;
	if (!(v->fsts & (VTD_FSTS_PPF | VTD_FSTS_PFO | VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE)))
		v->fectl &= ~VTD_ECTL_IP;
}

/*
 * 7.3.1: records go round the registers in turn (fr_next); FSTS.FRI names
 * the first one pending, set when PPF goes from 0 to 1, so a driver that
 * drains from FRI while F is set (Linux's dmar_fault) finds them in order.
 */
static void fault_locked(struct vtd *v, uint16_t sid, uint64_t iova, unsigned int dir,
			 unsigned int fr)
{
	unsigned int fri = v->fr_next;
	uint32_t pre = v->fsts;

	if (fr & VTD_FAULT_NO_RECORD)
		return;
	/* 7.3.1: overflow sticks until cleared; a record not yet read is never overwritten. */
	if ((v->fsts & VTD_FSTS_PFO) || (v->frr[fri][1] >> 63)) {
		v->faults_dropped++;
		if (!(v->fsts & VTD_FSTS_PFO)) {
			v->fsts |= VTD_FSTS_PFO;
			fault_event(v, pre);
		}
		return;
	}
	/* FI: the page; SID 79:64, FR 103:96, T 126 (1: read), F 127. */
	v->frr[fri][0] = iova & VTD_ADDR_MASK;
	v->frr[fri][1] = sid | (uint64_t)(fr & 0xFF) << 32 |
			 (uint64_t)!(dir & VTD_PERM_W) << 62 | 1ULL << 63;
	if (!(pre & VTD_FSTS_PPF))
		v->fsts = (v->fsts & ~(0xFFu << VTD_FSTS_FRI_SHIFT)) | fri << VTD_FSTS_FRI_SHIFT;
	v->fr_next = (fri + 1) % VTD_NFR;
	fsts_update(v);
	fault_event(v, pre);
}

/* With the lock held: record what was queued while it was taken, in order. */
static void drain_pending(struct vtd *v)
{
	/* Nothing queued (a drop only happens with the list full): no lock taken per register access. */
	if (!__atomic_load_n(&v->npend, __ATOMIC_SEQ_CST))
		return;
	pthread_mutex_lock(&v->pend_lock);
	for (unsigned int i = 0; i < v->npend; i++)
		fault_locked(v, v->pend[i].sid, v->pend[i].iova, v->pend[i].dir, v->pend[i].fr);
	__atomic_store_n(&v->npend, 0, __ATOMIC_SEQ_CST);
	if (v->pend_dropped) {
		/* Lost for want of room: what an overflow of the records is. */
		uint32_t pre = v->fsts;

		v->faults_dropped += v->pend_dropped;
		v->pend_dropped = 0;
		if (!(v->fsts & VTD_FSTS_PFO)) {
			v->fsts |= VTD_FSTS_PFO;
			fault_event(v, pre);
		}
	}
	pthread_mutex_unlock(&v->pend_lock);
}

/*
 * Release the lock, leaving no fault queued behind: a fault queued just
 * before the release is drained here; one queued just after finds the lock
 * free in vtd_fault's second try.
 */
static void unlock(struct vtd *v)
{
	for (;;) {
		drain_pending(v);
		pthread_mutex_unlock(&v->lock);
		if (!__atomic_load_n(&v->npend, __ATOMIC_SEQ_CST) || pthread_mutex_trylock(&v->lock))
			return;
	}
}

void vtd_lock(struct vtd *v)
{
	pthread_mutex_lock(&v->lock);
}

void vtd_unlock(struct vtd *v)
{
	unlock(v);
}

/*
 * Device threads report faults here while a vCPU may hold the lock and wait
 * for them (an invalidation quiescing the devices): so this only ever
 * tries the lock, and queues the fault when it is taken.
 */
void vtd_fault(struct vtd *v, uint16_t sid, uint64_t iova, unsigned int dir, unsigned int fr)
{
	if (fr & VTD_FAULT_NO_RECORD)
		return;		/* FPD: nothing to record, nothing to queue */
	if (pthread_mutex_trylock(&v->lock) == 0) {
		fault_locked(v, sid, iova, dir, fr);
		unlock(v);
		return;
	}
	pthread_mutex_lock(&v->pend_lock);
	if (v->npend < ARRAY_SIZE(v->pend)) {
		v->pend[v->npend].sid = sid;
		v->pend[v->npend].iova = iova;
		v->pend[v->npend].dir = (uint8_t)dir;
		v->pend[v->npend].fr = (uint16_t)fr;
		__atomic_store_n(&v->npend, v->npend + 1, __ATOMIC_SEQ_CST);
	} else {
		v->pend_dropped++;
	}
	pthread_mutex_unlock(&v->pend_lock);
	if (pthread_mutex_trylock(&v->lock) == 0)
		unlock(v);
}

/* ---- translation --------------------------------------------------------- */

bool vtd_enabled(struct vtd *v)
{
	return __atomic_load_n(&v->gsts, __ATOMIC_ACQUIRE) & VTD_GCMD_TE;
}

/*
 * The context requester @sid translates through now: translation off counts
 * as pass-through (IOVA = GPA). 0 with @ctx filled, or vtd_context's fault.
 * Lock-free, as device workers look up every descriptor: GSTS and the
 * latched root pointer are written under the lock with atomic stores, read
 * here with atomic loads; the tables themselves are guest RAM.
 */
static int current_context(struct vtd *v, uint16_t sid, struct vtd_ctx *ctx)
{
	uint32_t gsts = __atomic_load_n(&v->gsts, __ATOMIC_ACQUIRE);
	uint64_t rtaddr = __atomic_load_n(&v->rtaddr, __ATOMIC_ACQUIRE);

	if (!(gsts & VTD_GCMD_TE)) {
		*ctx = (struct vtd_ctx){ .pass_through = true };
		return 0;
	}
	return vtd_context(v->mem, rtaddr, (uint8_t)(sid >> 8), (uint8_t)sid, &v->f, ctx);
}

int vtd_lookup(struct vtd *v, uint16_t sid, uint64_t iova, unsigned int dir, struct vtd_xlate *x)
{
	struct vtd_ctx ctx;
	int fr;

	fr = current_context(v, sid, &ctx);
	if (fr)
		return fr;
	fr = vtd_walk(v->mem, &ctx, iova, dir, &v->f, x);
	if (fr)
		return fr | (ctx.fpd ? VTD_FAULT_NO_RECORD : 0);
	if (ctx.pass_through)
		x->len = iova ? 0 - iova : ~0ULL;	/* up to the end of RAM: dma.c checks */
	return 0;
}

int vtd_replay(struct vtd *v, uint16_t sid, uint64_t lo, uint64_t hi, unsigned int *budget,
	       int (*fn)(void *opaque, uint64_t iova, uint64_t gpa, uint64_t len, unsigned int perm),
	       void *opaque)
{
	struct vtd_range_walk w = { .mem = v->mem, .f = &v->f, .lo = lo, .hi = hi,
				    .fn = fn, .opaque = opaque };
	struct vtd_ctx ctx;

	/* No usable context: every DMA of the device faults, so nothing is mapped. */
	if (current_context(v, sid, &ctx))
		return 0;
	if (ctx.pass_through)
		return dma_replay_identity(v->mem, lo, hi, fn, opaque);
	return vtd_walk_range(&w, &ctx, budget);
}

/* ---- invalidation -------------------------------------------------------- */

static void invalidate(struct vtd *v, const struct vtd_inv *inv)
{
	if (v->fx && v->fx->invalidate)
		v->fx->invalidate(v->fx_opaque, inv);
}

/* The invalidation-completion event (6.5.2.11): IWC, then an interrupt unless masked. */
static void wait_done(struct vtd *v)
{
	if (v->ics & VTD_ICS_IWC)
		return;
	v->ics |= VTD_ICS_IWC;
	if (v->iectl & VTD_ECTL_IM)
		v->iectl |= VTD_ECTL_IP;
	else
		send_msi(v, v->ieaddr, v->ieuaddr, v->iedata);
}

static uint64_t iq_entries(const struct vtd *v)
{
	return 256ULL << (v->iqa & 7);
}

/* A descriptor kvmio cannot carry out: the queue stops at it, FSTS.IQE (6.5.2.10). */
static void iq_error(struct vtd *v)
{
	uint32_t pre = v->fsts;

	v->fsts |= VTD_FSTS_IQE;
	fault_event(v, pre);
}

static bool do_wait(struct vtd *v, const struct vtd_inv *inv)
{
	if (inv->wait_sw) {
		uint32_t *p = guest_ptr(v->mem, inv->wait_addr, 4);

		if (!p)
			return false;
		__atomic_store_n(p, inv->wait_data, __ATOMIC_RELEASE);
	}
	if (inv->wait_if)
		wait_done(v);
	return true;
}

/* Run the queue from IQH to IQT while it is enabled and not stopped by an error. */
static void iq_run(struct vtd *v)
{
	uint64_t n = iq_entries(v), base = v->iqa & VTD_ADDR_MASK;
	uint64_t tail = v->iqt >> 4;

	if (!(v->gsts & VTD_GCMD_QIE) || (v->fsts & VTD_FSTS_IQE))
		return;
	if (tail >= n) {		/* a tail beyond the queue */
		iq_error(v);
		return;
	}
	while ((v->iqh >> 4) != tail) {
		uint64_t head = v->iqh >> 4;
		const uint64_t *d = guest_ptr(v->mem, base + 16 * head, 16);
		struct vtd_inv inv;
		uint64_t lo, hi;

		if (!d) {
			iq_error(v);
			return;
		}
		lo = __atomic_load_n(&d[0], __ATOMIC_RELAXED);
		hi = __atomic_load_n(&d[1], __ATOMIC_RELAXED);
		if (vtd_qi_decode(lo, hi, &inv)) {
			iq_error(v);
			return;
		}
		if (inv.type == VTD_QI_WAIT) {
			if (!do_wait(v, &inv)) {
				iq_error(v);
				return;
			}
		} else {
			invalidate(v, &inv);
		}
		v->iqh = ((head + 1) % n) << 4;
	}
}

/* Register-based invalidation (6.5.1): CCMD.ICC and IOTLB.IVT, done at once. */
static void ccmd_write(struct vtd *v)
{
	struct vtd_inv inv = { .type = VTD_QI_CC };
	unsigned int g = (unsigned int)(v->ccmd >> 61) & 3;

	if (!(v->ccmd & VTD_CCMD_ICC))
		return;
	v->ccmd &= ~(VTD_CCMD_ICC | 3ULL << 59);
	if (!g)
		return;		/* reserved granularity: CAIG 0 says it was not done */
	inv.gran = g;
	inv.did = (uint16_t)v->ccmd;
	inv.sid = (uint16_t)(v->ccmd >> 16);
	inv.fm = (unsigned int)(v->ccmd >> 32) & 3;
	invalidate(v, &inv);
	v->ccmd |= (uint64_t)g << 59;	/* CAIG: done at the granularity asked */
}

static void iotlb_write(struct vtd *v)
{
	struct vtd_inv inv = { .type = VTD_QI_IOTLB };
	unsigned int g = (unsigned int)(v->iotlb >> 60) & 3;

	if (!(v->iotlb & VTD_IOTLB_IVT))
		return;
	v->iotlb &= ~(VTD_IOTLB_IVT | 3ULL << 57);
	if (!g)
		return;
	inv.gran = g;
	inv.did = (uint16_t)(v->iotlb >> 32);
	inv.addr = v->iva & VTD_ADDR_MASK;
	inv.am = (unsigned int)v->iva & 0x3F;
	inv.ih = (v->iva >> 6) & 1;
	if (g == VTD_GRAN_PAGE && inv.am > VTD_MAMV)
		g = VTD_GRAN_DOMAIN;	/* done wider than asked, as IAIG then says */
	inv.gran = g;
	invalidate(v, &inv);
	v->iotlb |= (uint64_t)g << 57;
}

/* GSTS and the latched root pointer are read without the lock (vtd_lookup): stored atomically. */
static void set_gsts(struct vtd *v, uint32_t bits, bool on)
{
	__atomic_store_n(&v->gsts, on ? v->gsts | bits : v->gsts & ~bits, __ATOMIC_RELEASE);
}

/* GCMD (10.4.4): persistent bits are compared with GSTS; SRTP and WBF act once. */
static void gcmd_write(struct vtd *v, uint32_t cmd)
{
	uint32_t old = v->gsts;

	if (cmd & VTD_GCMD_SRTP) {
		__atomic_store_n(&v->rtaddr, v->rtaddr_reg, __ATOMIC_RELEASE);
		set_gsts(v, VTD_GCMD_SRTP, true);	/* RTPS */
		invalidate(v, NULL);
	}
	/* WBF completes at once (WBFS never reads 1); SFL, EAFL, IRE, SIRTP, CFI: not offered. */
	if ((cmd ^ old) & VTD_GCMD_QIE) {
		set_gsts(v, VTD_GCMD_QIE, cmd & VTD_GCMD_QIE);
		if (cmd & VTD_GCMD_QIE)
			v->iqh = 0;
	}
	if ((cmd ^ old) & VTD_GCMD_TE) {
		set_gsts(v, VTD_GCMD_TE, cmd & VTD_GCMD_TE);
		invalidate(v, NULL);
	}
}

/* ---- the register page --------------------------------------------------- */

/* The 64-bit register at @off (8-aligned), or NULL; reg32: the 32-bit one at @off. */
static uint64_t *reg64(struct vtd *v, uint64_t off)
{
	switch (off) {
	case VTD_REG_RTADDR: return &v->rtaddr_reg;
	case VTD_REG_CCMD: return &v->ccmd;
	case VTD_REG_IQH: return &v->iqh;
	case VTD_REG_IQT: return &v->iqt;
	case VTD_REG_IQA: return &v->iqa;
	case VTD_REG_IVA: return &v->iva;
	case VTD_REG_IOTLB: return &v->iotlb;
	}
	if (off >= VTD_REG_FRR && off < VTD_REG_FRR + 16 * VTD_NFR)
		return &v->frr[(off - VTD_REG_FRR) / 16][(off / 8) & 1];
	return NULL;
}

static uint32_t *reg32(struct vtd *v, uint64_t off)
{
	switch (off) {
	case VTD_REG_GSTS: return &v->gsts;
	case VTD_REG_FSTS: return &v->fsts;
	case VTD_REG_FECTL: return &v->fectl;
	case VTD_REG_FEDATA: return &v->fedata;
	case VTD_REG_FEADDR: return &v->feaddr;
	case VTD_REG_FEUADDR: return &v->feuaddr;
	case VTD_REG_ICS: return &v->ics;
	case VTD_REG_IECTL: return &v->iectl;
	case VTD_REG_IEDATA: return &v->iedata;
	case VTD_REG_IEADDR: return &v->ieaddr;
	case VTD_REG_IEUADDR: return &v->ieuaddr;
	}
	return NULL;
}

static uint64_t reg_read(struct vtd *v, uint64_t off8)
{
	uint64_t *r64;
	uint32_t *lo, *hi;

	switch (off8) {
	case VTD_REG_VER: return 0x10;			/* 1.0 */
	case VTD_REG_CAP: return v->cap;
	case VTD_REG_ECAP: return v->ecap;
	}
	r64 = reg64(v, off8);
	if (r64)
		return *r64;
	lo = reg32(v, off8);
	hi = reg32(v, off8 + 4);
	return (lo ? *lo : 0) | (uint64_t)(hi ? *hi : 0) << 32;
}

/* Writable bits of each register, and what a write sets off. */
static void reg_write32(struct vtd *v, uint64_t off, uint32_t val)
{
	uint32_t pre = v->fsts;

	switch (off) {
	case VTD_REG_GCMD:
		gcmd_write(v, val);
		break;
	case VTD_REG_FSTS:
		v->fsts &= ~(val & (VTD_FSTS_PFO | VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE));
		fsts_update(v);
		/* A queue stopped by an error goes on once IQE is cleared (from IQH, rewritten). */
		if ((pre & VTD_FSTS_IQE) && !(v->fsts & VTD_FSTS_IQE))
			iq_run(v);
		break;
	case VTD_REG_FECTL:
		v->fectl = (v->fectl & ~VTD_ECTL_IM) | (val & VTD_ECTL_IM);
		if (!(v->fectl & VTD_ECTL_IM) && (v->fectl & VTD_ECTL_IP)) {
			v->fectl &= ~VTD_ECTL_IP;
			send_msi(v, v->feaddr, v->feuaddr, v->fedata);
		}
		break;
	case VTD_REG_IECTL:
		v->iectl = (v->iectl & ~VTD_ECTL_IM) | (val & VTD_ECTL_IM);
		if (!(v->iectl & VTD_ECTL_IM) && (v->iectl & VTD_ECTL_IP)) {
			v->iectl &= ~VTD_ECTL_IP;
			send_msi(v, v->ieaddr, v->ieuaddr, v->iedata);
		}
		break;
	case VTD_REG_ICS:
		if (val & VTD_ICS_IWC) {
			v->ics &= ~VTD_ICS_IWC;
			v->iectl &= ~VTD_ECTL_IP;
		}
		break;
	case VTD_REG_FEDATA:
	case VTD_REG_IEDATA:
		*reg32(v, off) = val & 0xFFFF;
		break;
	case VTD_REG_FEADDR:
	case VTD_REG_IEADDR:
		*reg32(v, off) = val & ~3u;
		break;
	case VTD_REG_FEUADDR:
	case VTD_REG_IEUADDR:
		*reg32(v, off) = val;
		break;
	}
}

static void reg_write64(struct vtd *v, uint64_t off, uint64_t val)
{
	if (off >= VTD_REG_FRR && off < VTD_REG_FRR + 16 * VTD_NFR) {
		/* Only F (bit 127) is writable, and it clears. */
		if ((off & 8) && (val >> 63)) {
			v->frr[(off - VTD_REG_FRR) / 16][1] &= ~(1ULL << 63);
			fsts_update(v);
		}
		return;
	}
	switch (off) {
	case VTD_REG_RTADDR:
		v->rtaddr_reg = val & VTD_ADDR_MASK & VTD_HAW_MASK(HAW_BITS);	/* TTM 0: legacy */
		break;
	case VTD_REG_CCMD:
		v->ccmd = val & ~(3ULL << 59);
		ccmd_write(v);
		break;
	case VTD_REG_IVA:
		v->iva = val & (VTD_ADDR_MASK | 0x7F);
		break;
	case VTD_REG_IOTLB:
		v->iotlb = val & ~(3ULL << 57);
		iotlb_write(v);
		break;
	case VTD_REG_IQT:
		v->iqt = val & 0x7FFF0ULL;
		iq_run(v);
		break;
	case VTD_REG_IQA:
		v->iqa = val & ((VTD_ADDR_MASK & VTD_HAW_MASK(HAW_BITS)) | 7);	/* DW 0: 128-bit */
		break;
	}
}

void vtd_mmio(struct vtd *v, uint64_t off, uint8_t *data, unsigned int len, bool is_write)
{
	uint64_t off8 = off & ~7ULL, val;
	unsigned int shift = (unsigned int)(off & 4) * 8;

	if ((len != 4 && len != 8) || (off & (len - 1)) || off + len > VTD_MMIO_SIZE) {
		if (!is_write)
			memset(data, 0xFF, len);
		return;
	}
	pthread_mutex_lock(&v->lock);
	if (!is_write) {
		val = reg_read(v, off8) >> shift;
		le_write(data, len, val);
	} else if (len == 8) {
		val = le_read(data, 8);
		if (reg64(v, off8))
			reg_write64(v, off8, val);
		else {
			reg_write32(v, off8, (uint32_t)val);
			reg_write32(v, off8 + 4, (uint32_t)(val >> 32));
		}
	} else {
		val = le_read(data, 4);
		if (reg64(v, off8)) {
			/* Half of a 64-bit register: the other half as it is. */
			uint64_t cur = *reg64(v, off8);

			if (off8 >= VTD_REG_FRR)	/* FRRs: F is W1C, keep the rest out of it */
				cur = 0;
			cur = shift ? (cur & 0xFFFFFFFFULL) | val << 32 : (cur & ~0xFFFFFFFFULL) | val;
			reg_write64(v, off8, cur);
		} else {
			reg_write32(v, off, (uint32_t)val);
		}
	}
	unlock(v);
}
