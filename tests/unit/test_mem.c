// SPDX-License-Identifier: Apache-2.0
/* Guest memory layout and the bounds-checked gpa -> host translation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mem.h"
#include "util.h"

static void test_layout_small(void **state)
{
	struct guest_mem m;

	assert_int_equal(mem_layout(&m, 512 * MiB), 0);
	assert_int_equal(m.nr, 1);
	assert_int_equal(m.region[0].gpa, 0);
	assert_int_equal(m.region[0].size, 512 * MiB);
	assert_int_equal(mem_low_end(&m), 512 * MiB);
}

static void test_layout_split_around_hole(void **state)
{
	struct guest_mem m;

	assert_int_equal(mem_layout(&m, 5 * GiB), 0);
	assert_int_equal(m.nr, 2);
	assert_int_equal(m.region[0].size, MEM_HOLE_START);
	assert_int_equal(m.region[1].gpa, MEM_4G);
	assert_int_equal(m.region[1].size, 5 * GiB - MEM_HOLE_START);
	/* Exactly the hole start: no high region. */
	assert_int_equal(mem_layout(&m, MEM_HOLE_START), 0);
	assert_int_equal(m.nr, 1);
	assert_int_equal(mem_layout(&m, 0), -EINVAL);
	assert_int_equal(mem_layout(&m, 1 * MiB + 1), -EINVAL);
}

static void test_guest_ptr_bounds(void **state)
{
	static uint8_t lo[64 * 1024], hi[64 * 1024];
	struct guest_mem m = {
		.nr = 2,
		.region = {
			{ .gpa = 0, .size = sizeof(lo), .hva = lo },
			{ .gpa = MEM_4G, .size = sizeof(hi), .hva = hi },
		},
	};

	assert_ptr_equal(guest_ptr(&m, 0, sizeof(lo)), lo);
	assert_ptr_equal(guest_ptr(&m, 100, 4), lo + 100);
	assert_ptr_equal(guest_ptr(&m, MEM_4G + 8, 8), hi + 8);
	assert_ptr_equal(guest_ptr(&m, sizeof(lo) - 1, 1), lo + sizeof(lo) - 1);
	assert_ptr_equal(guest_ptr(&m, sizeof(lo) - 1, 0), lo + sizeof(lo) - 1);
	/* Past the end, spanning the hole, wrapping 2^64, in the hole. */
	assert_null(guest_ptr(&m, sizeof(lo) - 1, 2));
	assert_null(guest_ptr(&m, sizeof(lo), 1));
	assert_null(guest_ptr(&m, 0x1000, MEM_4G));
	assert_null(guest_ptr(&m, 0x1000, UINT64_MAX));
	assert_null(guest_ptr(&m, MEM_4G + 8, UINT64_MAX - 4));
	assert_null(guest_ptr(&m, MEM_HOLE_START, 4));
	assert_null(guest_ptr(&m, UINT64_MAX, 1));
}

static void test_alloc(void **state)
{
	struct guest_mem m;
	uint8_t *p;

	assert_int_equal(mem_alloc(&m, 64 * MiB), 0);
	p = guest_ptr(&m, 64 * MiB - 4096, 4096);
	assert_non_null(p);
	p[4095] = 0x5A;	/* mapped and writable */
	assert_int_equal(*(uint8_t *)guest_ptr(&m, 64 * MiB - 1, 1), 0x5A);
	/* Host and guest addresses agree modulo 2 MiB, so KVM can use large pages. */
	for (int i = 0; i < 4; i++) {
		struct guest_mem big;

		assert_int_equal(mem_alloc(&big, 4 * GiB + 6 * MiB), 0);
		for (unsigned int r = 0; r < big.nr; r++)
			assert_int_equal(((uintptr_t)big.region[r].hva - big.region[r].gpa) % (2 * MiB), 0);
		mem_free(&big);
	}
	mem_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_small),
		cmocka_unit_test(test_layout_split_around_hole),
		cmocka_unit_test(test_guest_ptr_bounds),
		cmocka_unit_test(test_alloc),
	};
	return cmocka_run_group_tests_name("mem", tests, NULL, NULL);
}
