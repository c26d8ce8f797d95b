/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvmio's emulated VT-d (--iommu) as a guest programs it: the registers
 * (VT-d 3.x, chapter 10) and the few commands the tiny guests use. The
 * register page is where kvmio's DMAR table puts it.
 */
#ifndef GUESTS_VTD_LIB_H
#define GUESTS_VTD_LIB_H

#include "guest.h"

#define VTD			0xFED90000ul	/* the DMAR table's register base in kvmio */
#define VTD_CAP			0x08
#define VTD_ECAP		0x10
#define VTD_GCMD		0x18
#define VTD_GSTS		0x1C
#define VTD_RTADDR		0x20
#define VTD_FSTS		0x34
#define VTD_FECTL		0x38
#define VTD_FEDATA		0x3C
#define VTD_FEADDR		0x40
#define VTD_FEUADDR		0x44
#define VTD_IQH			0x80
#define VTD_IQT			0x88
#define VTD_IQA			0x90
#define VTD_ICS			0x9C
#define VTD_IECTL		0xA0
#define VTD_IEDATA		0xA4
#define VTD_IEADDR		0xA8
#define GCMD_QIE		(1u << 26)
#define FSTS_IQE		(1u << 4)
#define GCMD_TE			(1u << 31)
#define GCMD_SRTP		(1u << 30)
#define FSTS_PPF		(1u << 1)
#define FR_WRITE		5

static inline uint32_t vtd_r32(unsigned int off) { return mmio_read32(VTD + off); }
static inline void vtd_w32(unsigned int off, uint32_t v) { mmio_write32(VTD + off, v); }
static inline uint64_t vtd_r64(unsigned int off) { return *(volatile uint64_t *)(VTD + off); }
static inline void vtd_w64(unsigned int off, uint64_t v) { *(volatile uint64_t *)(VTD + off) = v; }

/* Is there a VT-d at all (kvmio run with --iommu)? */
static inline bool vtd_present(void) { return vtd_r64(VTD_CAP) != ~0ull; }

/* Where CAP and ECAP put the fault recording and IOTLB registers. */
static inline unsigned int vtd_frr(void) { return ((vtd_r64(VTD_CAP) >> 24) & 0x3FF) * 16; }
static inline unsigned int vtd_iva(void) { return ((vtd_r64(VTD_ECAP) >> 8) & 0x3FF) * 16; }
static inline unsigned int vtd_iotlb(void) { return vtd_iva() + 8; }

/* GCMD as the spec asks: the persistent status bits with one command set or cleared; wait for it. */
static inline void vtd_gcmd(uint32_t bit, bool on)
{
	uint32_t st = vtd_r32(VTD_GSTS) & 0x96FFFFFFu;

	vtd_w32(VTD_GCMD, on ? st | bit : st & ~bit);
	for (unsigned int i = 0; i < 1000000 && !(vtd_r32(VTD_GSTS) & bit) != !on; i++)
		pause();
	GUEST_ASSERT_MSG(!(vtd_r32(VTD_GSTS) & bit) == !on, "GSTS 0x%x: command 0x%x %s never took",
			 vtd_r32(VTD_GSTS), bit, on ? "on" : "off");
}
static inline void vtd_cmd(uint32_t bit) { vtd_gcmd(bit, true); }

/*
 * IOTLB invalidation through the IOTLB register, waiting for IVT to clear:
 * global (@pages 0), or page-selective for domain @did, 2^@am pages at @iova.
 */
static inline void vtd_flush_iotlb(uint16_t did, uint64_t iova, unsigned int am, bool global)
{
	if (global) {
		vtd_w64(vtd_iotlb(), 1ull << 63 | 1ull << 60);
	} else {
		vtd_w64(vtd_iva(), iova | am);
		vtd_w64(vtd_iotlb(), 1ull << 63 | 3ull << 60 | (uint64_t)did << 32);
	}
	for (unsigned int i = 0; i < 1000000 && (vtd_r64(vtd_iotlb()) >> 63); i++)
		pause();
	GUEST_ASSERT_MSG(!(vtd_r64(vtd_iotlb()) >> 63), "IOTLB invalidation never completed");
	GUEST_ASSERT_MSG((vtd_r64(vtd_iotlb()) >> 57 & 3) != 0, "IOTLB invalidation not done (IAIG 0)");
}

#endif
