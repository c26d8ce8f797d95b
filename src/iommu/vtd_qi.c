// SPDX-License-Identifier: Apache-2.0
/*
 * The emulated VT-d's invalidation queue descriptors (6.5.2), 128-bit
 * (legacy) form: decoding only, pure. A descriptor of a type the unit does
 * not offer (device-TLB and interrupt-entry-cache invalidation need ECAP.DT
 * and ECAP.IR, the PASID-based ones scalable mode) or with a reserved bit
 * set is invalid: the queue stops there with FSTS.IQE (vtd.c).
 */
#include <errno.h>

#include "iommu/vtd.h"

/* Type: bits 3:0, and 11:9 above them. */
static unsigned int desc_type(uint64_t lo)
{
	return (unsigned int)((lo & 0xF) | ((lo >> 9) & 7) << 4);
}

int vtd_qi_decode(uint64_t lo, uint64_t hi, struct vtd_inv *inv)
{
	*inv = (struct vtd_inv){ .type = desc_type(lo) };
	switch (inv->type) {
	case VTD_QI_CC:
		if ((lo & VTD_QI_CC_RSVD_LO) || hi)
			return -EINVAL;
		inv->gran = (unsigned int)(lo >> 4) & 3;
		inv->did = (uint16_t)(lo >> 16);
		inv->sid = (uint16_t)(lo >> 32);
		inv->fm = (unsigned int)(lo >> 48) & 3;
		return inv->gran ? 0 : -EINVAL;		/* 0 is reserved */
	case VTD_QI_IOTLB:
		if ((lo & VTD_QI_IOTLB_RSVD_LO) || (hi & VTD_QI_IOTLB_RSVD_HI))
			return -EINVAL;
		inv->gran = (unsigned int)(lo >> 4) & 3;
		inv->did = (uint16_t)(lo >> 16);
		inv->am = (unsigned int)hi & 0x3F;
		inv->ih = (hi >> 6) & 1;
		inv->addr = hi & VTD_ADDR_MASK;
		if (!inv->gran)
			return -EINVAL;
		/* Page-selective: AM beyond what CAP.MAMV offers, or an address not aligned to it. */
		if (inv->gran == VTD_GRAN_PAGE &&
		    (inv->am > VTD_MAMV || (inv->addr & ((1ULL << (12 + inv->am)) - 1))))
			return -EINVAL;
		return 0;
	case VTD_QI_WAIT:
		if ((lo & VTD_QI_WAIT_RSVD_LO) || (hi & 3))
			return -EINVAL;
		inv->wait_if = (lo >> 4) & 1;
		inv->wait_sw = (lo >> 5) & 1;
		inv->wait_fn = (lo >> 6) & 1;
		inv->wait_data = (uint32_t)(lo >> 32);
		inv->wait_addr = hi & ~3ULL;
		return 0;
	default:
		return -EINVAL;
	}
}
