// SPDX-License-Identifier: Apache-2.0
/*
 * The emulated VT-d's invalidation descriptors (src/iommu/vtd_qi.c): each
 * type and granularity Linux's intel-iommu driver sends, decoded; every
 * reserved bit, reserved granularity, unsupported type and bad mask refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "iommu/vtd.h"

static struct vtd_inv inv;

static void test_context_cache(void **state)
{
	/* Device granularity, as qi_flush_context sends it: DID 7, SID 00:03.0, FM 0. */
	assert_int_equal(vtd_qi_decode(0x1 | 3 << 4 | 7ULL << 16 | 0x18ULL << 32, 0, &inv), 0);
	assert_int_equal(inv.type, VTD_QI_CC);
	assert_int_equal(inv.gran, VTD_GRAN_DEVICE);
	assert_int_equal(inv.did, 7);
	assert_int_equal(inv.sid, 0x18);
	assert_int_equal(vtd_qi_decode(0x1 | 1 << 4, 0, &inv), 0);
	assert_int_equal(inv.gran, VTD_GRAN_GLOBAL);
	assert_int_equal(vtd_qi_decode(0x1 | 2 << 4 | 5ULL << 16 | 3ULL << 48, 0, &inv), 0);
	assert_int_equal(inv.gran, VTD_GRAN_DOMAIN);
	assert_int_equal(inv.fm, 3);
	/* Granularity 0, reserved bits low and high. */
	assert_int_equal(vtd_qi_decode(0x1, 0, &inv), -EINVAL);
	for (unsigned int b = 0; b < 64; b++) {
		if (!(VTD_QI_CC_RSVD_LO >> b & 1) || (b >= 9 && b <= 11))
			continue;
		assert_int_equal(vtd_qi_decode(0x1 | 1 << 4 | 1ULL << b, 0, &inv), -EINVAL);
	}
	assert_int_equal(vtd_qi_decode(0x1 | 1 << 4, 1ULL << 63, &inv), -EINVAL);
}

static void test_iotlb(void **state)
{
	/* Page-selective, 2^3 pages at 0x7000_8000 aligned, IH set; DR and DW allowed. */
	assert_int_equal(vtd_qi_decode(0x2 | 3 << 4 | 1 << 6 | 1 << 7 | 9ULL << 16,
				       0x70008000ULL | 1 << 6 | 3, &inv), 0);
	assert_int_equal(inv.type, VTD_QI_IOTLB);
	assert_int_equal(inv.gran, VTD_GRAN_PAGE);
	assert_int_equal(inv.did, 9);
	assert_int_equal(inv.addr, 0x70008000ULL);
	assert_int_equal(inv.am, 3);
	assert_true(inv.ih);
	assert_int_equal(vtd_qi_decode(0x2 | 2 << 4 | 9ULL << 16, 0, &inv), 0);
	assert_int_equal(inv.gran, VTD_GRAN_DOMAIN);
	assert_int_equal(vtd_qi_decode(0x2 | 1 << 4, 0, &inv), 0);
	assert_int_equal(inv.gran, VTD_GRAN_GLOBAL);
	/* Address not aligned to the mask, a mask above MAMV, granularity 0. */
	assert_int_equal(vtd_qi_decode(0x2 | 3 << 4, 0x70009000ULL | 3, &inv), -EINVAL);
	assert_int_equal(vtd_qi_decode(0x2 | 3 << 4, VTD_MAMV + 1, &inv), -EINVAL);
	assert_int_equal(vtd_qi_decode(0x2, 0, &inv), -EINVAL);
	assert_int_equal(vtd_qi_decode(0x2 | 3 << 4, VTD_MAMV, &inv), 0);
	for (unsigned int b = 12; b < 64; b++)
		if (VTD_QI_IOTLB_RSVD_LO >> b & 1)
			assert_int_equal(vtd_qi_decode(0x2 | 1 << 4 | 1ULL << b, 0, &inv), -EINVAL);
	for (unsigned int b = 7; b < 12; b++)
		assert_int_equal(vtd_qi_decode(0x2 | 1 << 4, 1ULL << b, &inv), -EINVAL);
	assert_int_equal(vtd_qi_decode(0x2 | 1 << 4 | 1 << 8, 0, &inv), -EINVAL);
}

static void test_wait(void **state)
{
	/* As Linux's qi_submit_sync: status write of QI_DONE (1), fence. */
	assert_int_equal(vtd_qi_decode(0x5 | 1 << 5 | 1 << 6 | 1ULL << 32, 0x12340, &inv), 0);
	assert_int_equal(inv.type, VTD_QI_WAIT);
	assert_true(inv.wait_sw);
	assert_true(inv.wait_fn);
	assert_false(inv.wait_if);
	assert_int_equal(inv.wait_data, 1);
	assert_int_equal(inv.wait_addr, 0x12340);
	assert_int_equal(vtd_qi_decode(0x5 | 1 << 4, 0, &inv), 0);
	assert_true(inv.wait_if);
	/* Status address bits 1:0, reserved bits 8:7 and 31:12. */
	assert_int_equal(vtd_qi_decode(0x5 | 1 << 5, 0x12342, &inv), -EINVAL);
	assert_int_equal(vtd_qi_decode(0x5 | 1 << 7, 0, &inv), -EINVAL);
	assert_int_equal(vtd_qi_decode(0x5 | 1 << 20, 0, &inv), -EINVAL);
}

static void test_unsupported_types(void **state)
{
	/* Device-TLB (3), interrupt entry cache (4), PASID-based (6, 7), 0, and types above 7. */
	const uint64_t types[] = { 0, 3, 4, 6, 7, 8, 0xF, 1ULL << 9 | 1, 1ULL << 11 | 5 };

	for (unsigned int i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		assert_int_equal(vtd_qi_decode(types[i] | 1 << 4, 0, &inv), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_context_cache),
		cmocka_unit_test(test_iotlb),
		cmocka_unit_test(test_wait),
		cmocka_unit_test(test_unsupported_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
