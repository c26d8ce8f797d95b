// SPDX-License-Identifier: Apache-2.0
/* Size and number parsing, the console escape, CPUID topology fix-ups. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "term.h"
#include "util.h"
#include "vcpu.h"

static void test_parse_size(void **state)
{
	uint64_t v;

	assert_int_equal(parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("512M", &v), 0);
	assert_int_equal(v, 512 * MiB);
	assert_int_equal(parse_size("777m", &v), 0);
	assert_int_equal(v, 777 * MiB);
	assert_int_equal(parse_size("2G", &v), 0);
	assert_int_equal(v, 2 * GiB);
	assert_int_equal(parse_size("1536K", &v), 0);
	assert_int_equal(v, 1536 * KiB);
	assert_int_equal(parse_size("1T", &v), 0);
	assert_int_equal(v, TiB);
	assert_int_equal(parse_size("3GiB", &v), 0);
	assert_int_equal(v, 3 * GiB);
	assert_int_equal(parse_size("64MB", &v), 0);
	assert_int_equal(v, 64 * MiB);

	assert_int_equal(parse_size("", &v), -EINVAL);
	assert_int_equal(parse_size("M", &v), -EINVAL);
	assert_int_equal(parse_size("-1G", &v), -EINVAL);
	assert_int_equal(parse_size("1.5G", &v), -EINVAL);
	assert_int_equal(parse_size("12X", &v), -EINVAL);
	assert_int_equal(parse_size("1GG", &v), -EINVAL);
	assert_int_equal(parse_size(" 1G", &v), -EINVAL);
	assert_int_equal(parse_size("99999999999999999999", &v), -ERANGE);
	assert_int_equal(parse_size("17179869184G", &v), -ERANGE);	/* 2^34 G = 2^64 */
}

static void test_parse_uint(void **state)
{
	unsigned long v;

	assert_int_equal(parse_uint("3", 1, 254, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(parse_uint("0", 1, 254, &v), -ERANGE);
	assert_int_equal(parse_uint("255", 1, 254, &v), -ERANGE);
	assert_int_equal(parse_uint("4x", 1, 254, &v), -EINVAL);
	assert_int_equal(parse_uint("-2", 1, 254, &v), -EINVAL);
	assert_int_equal(parse_uint("", 1, 254, &v), -EINVAL);
}

static void test_term_filter(void **state)
{
	struct term_escape st = { 0 };
	bool quit = false;
	uint8_t buf[16];
	size_t n;

	memcpy(buf, "ab\x01\x01" "c", 5);
	n = term_filter(&st, buf, 5, &quit);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "ab\x01" "c", 4);
	assert_false(quit);

	/* Escape split across two reads, then quit; bytes after x are dropped. */
	memcpy(buf, "z\x01", 2);
	n = term_filter(&st, buf, 2, &quit);
	assert_int_equal(n, 1);
	memcpy(buf, "xyz", 3);
	n = term_filter(&st, buf, 3, &quit);
	assert_int_equal(n, 0);
	assert_true(quit);

	/* An unknown key after Ctrl-A is swallowed; Ctrl-A a sends Ctrl-A. */
	quit = false;
	memcpy(buf, "\x01q\x01" "a!", 5);
	n = term_filter(&st, buf, 5, &quit);
	assert_int_equal(n, 2);
	assert_memory_equal(buf, "\x01!", 2);
	assert_false(quit);
}

#define TEMPLATE_ROOM 8	/* spare entries for the subleaves the fixup appends */

/* Shaped like KVM_GET_SUPPORTED_CPUID: leaf 0xB has only a zeroed subleaf 0. */
static struct kvm_cpuid2 *cpuid_template(unsigned int *max_nent)
{
	static const struct { uint32_t fn, idx; } leaves[] = {
		{ 1, 0 }, { 4, 0 }, { 4, 1 }, { 4, 2 }, { 4, 3 }, { 0xB, 0 },
		{ 0x80000008, 0 }, { 0x8000001D, 0 }, { 0x8000001D, 1 }, { 0x8000001E, 0 },
	};
	struct kvm_cpuid2 *c;

	*max_nent = ARRAY_SIZE(leaves) + TEMPLATE_ROOM;
	c = calloc(1, sizeof(*c) + *max_nent * sizeof(c->entries[0]));
	c->nent = ARRAY_SIZE(leaves);
	for (unsigned int i = 0; i < c->nent; i++) {
		c->entries[i].function = leaves[i].fn;
		c->entries[i].index = leaves[i].idx;
	}
	c->entries[0].ebx = 0xFF00FF08;		/* stale APIC ID and count from the host */
	c->entries[1].eax = (1 << 5) | 1;	/* L1 data */
	c->entries[2].eax = (1 << 5) | 2;	/* L1 instruction */
	c->entries[3].eax = (3 << 5) | 3;	/* L3 unified */
	c->entries[4].eax = 0;			/* terminator */
	c->entries[7].eax = (1 << 5) | 1 | (1 << 14);	/* AMD L1, host: shared by 2 */
	c->entries[8].eax = (3 << 5) | 3 | (15 << 14);	/* AMD L3, host: shared by 16 */
	return c;
}

static struct kvm_cpuid_entry2 *leaf(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (unsigned int i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	fail_msg("no CPUID leaf 0x%x.%u", fn, idx);
	return NULL;
}

static void test_cpuid_fixup(void **state)
{
	unsigned int max;
	struct kvm_cpuid2 *c = cpuid_template(&max);

	assert_int_equal(vcpu_cpuid_fixup(c, max, 2, 3), 0);
	assert_int_equal(leaf(c, 1, 0)->ebx >> 24, 2);			/* initial APIC ID */
	assert_int_equal((leaf(c, 1, 0)->ebx >> 16) & 0xFF, 4);		/* addressable IDs: 2^2 */
	assert_int_equal(leaf(c, 1, 0)->ebx & 0xFFFF, 0xFF08);		/* rest untouched */
	assert_true(leaf(c, 1, 0)->edx & (1U << 28));
	assert_true(leaf(c, 1, 0)->ecx & (1U << 31));
	assert_int_equal(leaf(c, 4, 0)->eax >> 26, 3);			/* addressable cores - 1 */
	assert_int_equal((leaf(c, 4, 0)->eax >> 14) & 0xFFF, 0);		/* L1 per core */
	assert_int_equal((leaf(c, 4, 2)->eax >> 14) & 0xFFF, 3);		/* L3 per package */
	assert_int_equal(leaf(c, 4, 3)->eax, 0);			/* terminator kept */
	/* 0xB: SMT level, core level and a terminator, though KVM gave only index 0. */
	assert_int_equal(leaf(c, 0xB, 0)->edx, 2);
	assert_int_equal(leaf(c, 0xB, 0)->ebx, 1);
	assert_int_equal((leaf(c, 0xB, 0)->ecx >> 8) & 0xFF, 1);
	assert_int_equal(leaf(c, 0xB, 1)->eax, 2);			/* 3 cores need 2 bits */
	assert_int_equal(leaf(c, 0xB, 1)->ebx, 3);
	assert_int_equal(leaf(c, 0xB, 1)->ecx, (2 << 8) | 1);		/* core level, index 1 */
	assert_int_equal(leaf(c, 0xB, 1)->edx, 2);
	assert_true(leaf(c, 0xB, 1)->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	assert_int_equal(leaf(c, 0xB, 2)->ebx, 0);			/* end of levels */
	assert_int_equal(leaf(c, 0xB, 2)->ecx, 2);
	/* No leaf 0x1F from KVM: none invented. */
	for (unsigned int i = 0; i < c->nent; i++)
		assert_int_not_equal(c->entries[i].function, 0x1F);
	/* AMD: cache sharing follows the VM's topology, not the host's. */
	assert_int_equal((leaf(c, 0x8000001D, 0)->eax >> 14) & 0xFFF, 0);
	assert_int_equal((leaf(c, 0x8000001D, 1)->eax >> 14) & 0xFFF, 3);
	assert_int_equal(leaf(c, 0x8000001D, 1)->eax & 0x3FFF, (3 << 5) | 3);
	assert_int_equal(leaf(c, 0x80000008, 0)->ecx & 0xFF, 2);
	assert_int_equal((leaf(c, 0x80000008, 0)->ecx >> 12) & 0xF, 2);
	assert_int_equal(leaf(c, 0x8000001E, 0)->eax, 2);
	free(c);

	c = cpuid_template(&max);
	assert_int_equal(vcpu_cpuid_fixup(c, max, 0, 1), 0);
	assert_int_equal(leaf(c, 1, 0)->ebx >> 24, 0);
	assert_false(leaf(c, 1, 0)->edx & (1U << 28));
	assert_int_equal(leaf(c, 0xB, 1)->eax, 0);
	assert_int_equal(leaf(c, 0xB, 1)->ebx, 1);
	free(c);

	/* Leaf 0x1F, when KVM reports it, gets the same levels. */
	c = cpuid_template(&max);
	c->entries[c->nent++] = (struct kvm_cpuid_entry2){ .function = 0x1F };
	assert_int_equal(vcpu_cpuid_fixup(c, max, 5, 8), 0);
	assert_int_equal(leaf(c, 0x1F, 1)->eax, 3);
	assert_int_equal(leaf(c, 0x1F, 1)->ebx, 8);
	assert_int_equal(leaf(c, 0x1F, 2)->edx, 5);
	free(c);

	/* No room for the subleaves: an error, not an overflow. */
	c = cpuid_template(&max);
	assert_int_equal(vcpu_cpuid_fixup(c, c->nent, 0, 2), -ENOSPC);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_term_filter),
		cmocka_unit_test(test_cpuid_fixup),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
