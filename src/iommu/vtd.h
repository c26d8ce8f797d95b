/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_IOMMU_VTD_H
#define KVMIO_IOMMU_VTD_H

#include <stdbool.h>
#include <stdint.h>

#include "iommu/dma.h"
#include "mem.h"

/*
 * The emulated Intel VT-d, legacy (not scalable) mode, DMA remapping only.
 * Section numbers are the VT-d specification's (3.x).
 *
 * vtd_walk.c  root and context entries, second-level page walks (chapter 9)
 * vtd_qi.c    the invalidation queue's descriptors (6.5.2)
 * vtd.c       the register file, fault recording, and the unit's state
 *
 * All three are pure over guest RAM (struct guest_mem) and the state
 * structs below: unit tests and fuzzers drive them without KVM.
 */

/* Permissions in second-level entries: bit 0 read, bit 1 write, as DMA_READ and DMA_WRITE. */
#define VTD_PERM_R		1u
#define VTD_PERM_W		2u
_Static_assert(VTD_PERM_R == DMA_READ && VTD_PERM_W == DMA_WRITE, "permission bits");

/* Non-recoverable fault reasons (appendix A), legacy mode. */
enum {
	VTD_FR_ROOT_P		= 0x1,	/* root entry not present */
	VTD_FR_CTX_P		= 0x2,	/* context entry not present */
	VTD_FR_CTX_INV		= 0x3,	/* invalid context programming (AW not in SAGAW) */
	VTD_FR_ADDR_BEYOND	= 0x4,	/* IOVA above the context's address width */
	VTD_FR_WRITE		= 0x5,	/* write, W clear */
	VTD_FR_READ		= 0x6,	/* read, R clear */
	VTD_FR_PT_INV		= 0x7,	/* a page-table address not in memory */
	VTD_FR_ROOT_TABLE_INV	= 0x8,	/* the root table not in memory */
	VTD_FR_CTX_TABLE_INV	= 0x9,	/* a context table not in memory */
	VTD_FR_ROOT_RSVD	= 0xA,	/* reserved bits set in a root entry */
	VTD_FR_CTX_RSVD		= 0xB,	/* ... in a context entry */
	VTD_FR_PT_RSVD		= 0xC,	/* ... in a second-level entry */
	VTD_FR_CTX_TT		= 0xD,	/* translation type not supported */
};

/* What the unit offers, as CAP/ECAP say it; the walker checks entries against it. */
struct vtd_features {
	unsigned int haw_bits;	/* host address width: bits of a GPA in an entry */
	unsigned int sagaw;	/* supported AWs: bit 1 39-bit (3 levels), bit 2 48-bit (4) */
	bool sp_2m, sp_1g;	/* second-level large pages (CAP.SLLPS) */
	bool pt;		/* pass-through contexts (ECAP.PT) */
};

#define VTD_ADDR_MASK		(~0xFFFULL)
#define VTD_HAW_MASK(bits)	((1ULL << (bits)) - 1)

/* Root entry (9.1), low 64 bits; the high half is reserved in legacy mode. */
#define VTD_ROOT_P		(1ULL << 0)
#define VTD_ROOT_LO_RSVD(haw)	(0xFFEULL | ~(haw))

/* Context entry (9.3). */
#define VTD_CTX_P		(1ULL << 0)
#define VTD_CTX_FPD		(1ULL << 1)	/* fault processing disable */
#define VTD_CTX_LO_RSVD(haw)	(0xFF0ULL | ~(haw))
#define VTD_CTX_HI_RSVD		0xFFFFFFFFFF000080ULL	/* 63:24, 7; 6:3 are ignored */
#define VTD_TT_UNTRANSLATED	0
#define VTD_TT_DEV_TLB		1
#define VTD_TT_PASS_THROUGH	2

/* Second-level paging entries (9.8). */
#define VTD_SL_PS		(1ULL << 7)
#define VTD_SL_SNP		(1ULL << 11)
#define VTD_SL_IGNORED		0xBFF0000000000000ULL	/* 63, 61:52 */

/*
 * Reserved bits of a second-level entry at @level (4..1), a leaf or not:
 * address bits above the host address width, SNP (kvmio has no snoop
 * control), bit 62 (TM, device TLBs only), PS where no page of that size
 * exists, and the low address bits of a large page.
 */
static inline uint64_t vtd_sl_rsvd(unsigned int level, bool leaf, uint64_t haw,
				   const struct vtd_features *f)
{
	uint64_t r = ~(haw | VTD_SL_IGNORED | 0xFFFULL) | VTD_SL_SNP;

	if (!leaf)
		return r;
	if (level == 2)
		return f->sp_2m ? r | 0x1FF000ULL : ~0ULL;
	if (level == 3)
		return f->sp_1g ? r | 0x3FFFF000ULL : ~0ULL;
	if (level == 4)
		return ~0ULL;	/* no 512 GiB pages */
	return r;
}

/* A context entry, decoded. */
struct vtd_ctx {
	uint64_t slptptr;	/* second-level page table */
	unsigned int levels;	/* 3 or 4 */
	uint16_t did;		/* domain id */
	bool pass_through;	/* TT 2: IOVA = GPA */
	bool fpd;		/* faults are not recorded */
};

/* One translation: the page (or large page) an IOVA falls in. */
struct vtd_xlate {
	uint64_t gpa;		/* of the IOVA */
	uint64_t len;		/* bytes to the end of its page */
	unsigned int perm;	/* VTD_PERM_R | VTD_PERM_W, as every level allows */
	uint64_t page_size;	/* 4 KiB, 2 MiB or 1 GiB; 0 for pass-through */
};

/*
 * vtd_context - the context entry for requester @bus:@devfn under the root
 * table at @rtaddr, checked against @f. 0 with @ctx filled, or a fault
 * reason: VTD_FR_ROOT_TABLE_INV, ROOT_P, ROOT_RSVD, CTX_TABLE_INV, CTX_P,
 * CTX_RSVD, CTX_TT, CTX_INV.
 */
int vtd_context(const struct guest_mem *mem, uint64_t rtaddr, uint8_t bus, uint8_t devfn,
		const struct vtd_features *f, struct vtd_ctx *ctx);

/*
 * vtd_walk - translate @iova for an access in direction @dir (VTD_PERM_R
 * and/or VTD_PERM_W) through @ctx's tables: 0 with @out filled, or a fault
 * reason: VTD_FR_ADDR_BEYOND, PT_INV (a table not in RAM), PT_RSVD,
 * WRITE or READ (the permission is clear at some level, or nothing is
 * mapped there).
 */
int vtd_walk(const struct guest_mem *mem, const struct vtd_ctx *ctx, uint64_t iova,
	     unsigned int dir, const struct vtd_features *f, struct vtd_xlate *out);

/*
 * A range walk (vtd_walk_range): every mapping of a translated context that
 * overlaps [lo, hi], for shadowing the guest's tables into a host IOMMU.
 * @fn gets each leaf whole, in IOVA order: its IOVA and guest-physical
 * address (both aligned to @len: 4 KiB, 2 MiB or 1 GiB) and the permission
 * every level grants; a nonzero return stops the walk with that value.
 */
struct vtd_range_walk {
	const struct guest_mem *mem;
	const struct vtd_features *f;
	uint64_t lo, hi;
	int (*fn)(void *opaque, uint64_t iova, uint64_t gpa, uint64_t len, unsigned int perm);
	void *opaque;
};

/*
 * vtd_walk_range - walk @w over @ctx's tables (not pass-through). Entries
 * that would fault (not present, reserved bits, outside RAM) map nothing.
 * Each entry read costs one of *@budget: tables that loop or fan out to the
 * same table over and over end with -E2BIG once it is spent. Returns 0,
 * -E2BIG, or what @fn returned.
 */
int vtd_walk_range(const struct vtd_range_walk *w, const struct vtd_ctx *ctx, unsigned int *budget);

/* Invalidation queue descriptors (6.5.2), 128-bit form. */
#define VTD_QI_CC		0x1	/* context-cache invalidate */
#define VTD_QI_IOTLB		0x2	/* IOTLB invalidate */
#define VTD_QI_WAIT		0x5	/* invalidation wait */
#define VTD_GRAN_GLOBAL		1
#define VTD_GRAN_DOMAIN		2
#define VTD_GRAN_DEVICE		3	/* context cache */
#define VTD_GRAN_PAGE		3	/* IOTLB */
#define VTD_QI_CC_RSVD_LO	0xFFFC00000000FFC0ULL	/* 63:50, 15:6 */
#define VTD_QI_IOTLB_RSVD_LO	0xFFFFFFFF0000FF00ULL	/* 63:32, 15:8 */
#define VTD_QI_IOTLB_RSVD_HI	0xF80ULL		/* 11:7 */
#define VTD_QI_WAIT_RSVD_LO	0xFFFFF180ULL		/* 31:12, 8:7 */
#define VTD_MAMV		18	/* largest address mask (CAP.MAMV): 2^18 pages */

/* One decoded descriptor. */
struct vtd_inv {
	unsigned int type;		/* VTD_QI_* */
	unsigned int gran;		/* VTD_GRAN_* */
	uint16_t did, sid;		/* domain; source id (bus << 8 | devfn) */
	unsigned int fm;		/* function mask (context cache, device granularity) */
	uint64_t addr;			/* IOTLB page granularity: first page */
	unsigned int am;		/* ... and 2^am pages */
	bool ih;			/* invalidation hint: leaf entries only */
	bool wait_if, wait_sw, wait_fn;	/* wait: interrupt, status write, fence */
	uint32_t wait_data;
	uint64_t wait_addr;
};

/*
 * vtd_qi_decode - the descriptor @lo, @hi: 0 with @inv filled, or -EINVAL
 * for a type kvmio does not offer, a reserved bit set or a reserved
 * granularity, or a page-selective IOTLB invalidation whose mask is above
 * VTD_MAMV or whose address is not aligned to it.
 */
int vtd_qi_decode(uint64_t lo, uint64_t hi, struct vtd_inv *inv);


/* ---- the register file (vtd.c) ------------------------------------------ */

#include <pthread.h>

/* Where kvmio puts the unit's one register page (as QEMU's q35 does), reserved in e820 and _CRS. */
#define VTD_MMIO_BASE		0xFED90000ULL
#define VTD_MMIO_SIZE		0x1000ULL
#define VTD_HAW_BITS		48	/* host address width: kvmio's guest RAM ends below 2^48 */

#define VTD_REG_VER		0x00	/* 32 */
#define VTD_REG_CAP		0x08	/* 64 */
#define VTD_REG_ECAP		0x10	/* 64 */
#define VTD_REG_GCMD		0x18	/* 32, write-only */
#define VTD_REG_GSTS		0x1C	/* 32 */
#define VTD_REG_RTADDR		0x20	/* 64 */
#define VTD_REG_CCMD		0x28	/* 64 */
#define VTD_REG_FSTS		0x34	/* 32 */
#define VTD_REG_FECTL		0x38	/* 32 */
#define VTD_REG_FEDATA		0x3C
#define VTD_REG_FEADDR		0x40
#define VTD_REG_FEUADDR		0x44
#define VTD_REG_IQH		0x80	/* 64 */
#define VTD_REG_IQT		0x88	/* 64 */
#define VTD_REG_IQA		0x90	/* 64 */
#define VTD_REG_ICS		0x9C	/* 32 */
#define VTD_REG_IECTL		0xA0	/* 32 */
#define VTD_REG_IEDATA		0xA4
#define VTD_REG_IEADDR		0xA8
#define VTD_REG_IEUADDR		0xAC
#define VTD_REG_IVA		0x100	/* 64; ECAP.IRO = 0x100 / 16 */
#define VTD_REG_IOTLB		0x108	/* 64 */
#define VTD_REG_FRR		0x200	/* 128 each; CAP.FRO = 0x200 / 16 */
#define VTD_NFR			8

/* GCMD / GSTS (10.4.4, 10.4.5). */
#define VTD_GCMD_TE		(1u << 31)
#define VTD_GCMD_SRTP		(1u << 30)
#define VTD_GCMD_SFL		(1u << 29)
#define VTD_GCMD_EAFL		(1u << 28)
#define VTD_GCMD_WBF		(1u << 27)
#define VTD_GCMD_QIE		(1u << 26)
#define VTD_GCMD_IRE		(1u << 25)
#define VTD_GCMD_SIRTP		(1u << 24)
#define VTD_GCMD_CFI		(1u << 23)

/* FSTS (10.4.9), FECTL / IECTL (10.4.10, 10.4.26), ICS (10.4.25). */
#define VTD_FSTS_PFO		(1u << 0)
#define VTD_FSTS_PPF		(1u << 1)
#define VTD_FSTS_IQE		(1u << 4)
#define VTD_FSTS_ICE		(1u << 5)
#define VTD_FSTS_ITE		(1u << 6)
#define VTD_FSTS_FRI_SHIFT	8
#define VTD_ECTL_IM		(1u << 31)
#define VTD_ECTL_IP		(1u << 30)
#define VTD_ICS_IWC		(1u << 0)

/* Context and IOTLB command registers: the "invalidate" bit and the granularity fields. */
#define VTD_CCMD_ICC		(1ULL << 63)
#define VTD_IOTLB_IVT		(1ULL << 63)

/* A fault the walk or the DMA space reported, not to be recorded (context FPD set). */
#define VTD_FAULT_NO_RECORD	0x100u

/*
 * What the unit does to the machine: @msi sends a fault or invalidation
 * event interrupt; @invalidate tells the holders of translations (devices'
 * DMA spaces) that @inv's range changed, or everything when @inv is NULL
 * (translation switched on or off, a new root table). Both are called with
 * the unit's lock held and must not take it. @invalidate may wait for
 * device threads: those never wait for the lock (vtd_fault defers).
 */
struct vtd_effects {
	void (*msi)(void *opaque, uint64_t addr, uint32_t data);
	void (*invalidate)(void *opaque, const struct vtd_inv *inv);
};

struct vtd {
	pthread_mutex_t lock;		/* everything below; gsts and rtaddr also read without it */
	const struct guest_mem *mem;
	struct vtd_features f;
	uint64_t cap, ecap;
	uint32_t gsts;
	uint64_t rtaddr_reg;		/* as written */
	uint64_t rtaddr;		/* latched by SRTP: what translation uses */
	uint64_t ccmd, iva, iotlb;
	uint32_t fsts, fectl, fedata, feaddr, feuaddr;
	uint64_t iqh, iqt, iqa;
	uint32_t ics, iectl, iedata, ieaddr, ieuaddr;
	uint64_t frr[VTD_NFR][2];
	unsigned int fr_next;		/* the record the next fault goes to */
	const struct vtd_effects *fx;
	void *fx_opaque;
	uint64_t faults_dropped;	/* not recorded: overflow, or a record still pending */
	/*
	 * Faults reported while the lock was taken (a device thread while a
	 * vCPU invalidates): recorded, in order, by whoever releases the lock
	 * next. Under pend_lock, which is held for nothing else; npend also
	 * read atomically without it.
	 */
	pthread_mutex_t pend_lock;
	struct {
		uint64_t iova;
		uint16_t sid;
		uint8_t dir;
		uint16_t fr;
	} pend[VTD_NFR];
	unsigned int npend;
	uint64_t pend_dropped;		/* the pending list was full: as an overflow */
};

/* vtd_init - the unit after reset: translation off, nothing queued, interrupts masked. */
void vtd_init(struct vtd *v, const struct guest_mem *mem, const struct vtd_effects *fx, void *opaque);

/*
 * vtd_set_caching_mode - CAP.CM, on after vtd_init. Off, the guest need not
 * invalidate after making an entry present, and Linux then batches its
 * invalidations; kvmio keeps no IOTLB, so its translations stay exact
 * either way. Shadowing an assigned device's mappings will need it on.
 */
void vtd_set_caching_mode(struct vtd *v, bool on);
void vtd_destroy(struct vtd *v);

/*
 * vtd_mmio - a guest access to the register page: @len 4 or 8 at an
 * offset aligned to it (anything else reads all-ones and writes nothing).
 * Takes the lock.
 */
void vtd_mmio(struct vtd *v, uint64_t off, uint8_t *data, unsigned int len, bool is_write);

/*
 * vtd_lock/vtd_unlock - the lock register accesses, and so invalidations
 * and the listeners they call, run under: taken by whoever attaches or
 * detaches a listener while the VM runs. Never held while waiting for a
 * device thread.
 */
void vtd_lock(struct vtd *v);
void vtd_unlock(struct vtd *v);

/*
 * vtd_lookup - translate @iova for requester @sid (bus << 8 | devfn) for
 * @dir: 0 with @x filled (pass-through and translation off give IOVA =
 * GPA), or a fault reason, with VTD_FAULT_NO_RECORD added when the
 * context has FPD set. Records nothing itself. Takes no lock.
 */
int vtd_lookup(struct vtd *v, uint16_t sid, uint64_t iova, unsigned int dir, struct vtd_xlate *x);

/*
 * vtd_replay - every mapping requester @sid has in IOVAs [@lo, @hi], to @fn
 * as vtd_walk_range gives them: RAM at its own address while translation
 * is off or the context is pass-through; nothing when the context is
 * missing or unusable (the device's DMA would fault). Takes no lock.
 */
int vtd_replay(struct vtd *v, uint16_t sid, uint64_t lo, uint64_t hi, unsigned int *budget,
	       int (*fn)(void *opaque, uint64_t iova, uint64_t gpa, uint64_t len, unsigned int perm),
	       void *opaque);

/*
 * vtd_fault - record a fault (reason @fr, or nothing if it carries
 * VTD_FAULT_NO_RECORD) in the next fault recording register, and raise the
 * fault event as 7.3 says. Never waits for the lock: when another thread
 * holds it, the fault is queued and recorded as that thread releases it.
 */
void vtd_fault(struct vtd *v, uint16_t sid, uint64_t iova, unsigned int dir, unsigned int fr);

/* Is translation on (GSTS.TES)? */
bool vtd_enabled(struct vtd *v);

#endif
