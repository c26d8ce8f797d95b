// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the AML emitter (src/boot/aml.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/aml.h"

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static uint8_t buf[1 << 16];

/* Emit with @fn into a fresh buffer and compare with the expected bytes. */
#define EXPECT(stmt, ...)						\
	do {								\
		struct aml a_;						\
		const uint8_t want_[] = { __VA_ARGS__ };		\
		aml_init(&a_, buf, sizeof(buf));			\
		{ struct aml *a = &a_; stmt; }				\
		assert_int_equal(aml_error(&a_), 0);			\
		assert_int_equal(a_.len, sizeof(want_));		\
		assert_memory_equal(buf, want_, sizeof(want_));	\
	} while (0)

#define EXPECT_ERR(err, stmt)						\
	do {								\
		struct aml a_;						\
		aml_init(&a_, buf, sizeof(buf));			\
		{ struct aml *a = &a_; stmt; }				\
		assert_int_equal(aml_error(&a_), err);			\
	} while (0)

static void check_pkglen(size_t body, const uint8_t *want, size_t n)
{
	uint8_t out[4] = { 0 };

	assert_int_equal(aml_pkglen_encode(out, body), n);
	assert_memory_equal(out, want, n);
}

/*
 * 20.2.4: the value counts its own bytes, so the total 0x40 is unreachable (a
 * 0x3F-byte body needs the 2-byte form: 0x41); the 1-byte form ends at 0x3F,
 * the 2-byte at 0xFFF, the 3-byte at 0xFFFFF, the 4-byte at 0xFFFFFFF.
 */
static void test_pkglen_boundaries(void **state)
{
	check_pkglen(0, BYTES(0x01));
	check_pkglen(0x3E, BYTES(0x3F));
	check_pkglen(0x3F, BYTES(0x41, 0x04));
	check_pkglen(0x40, BYTES(0x42, 0x04));
	check_pkglen(0xFFD, BYTES(0x4F, 0xFF));
	check_pkglen(0xFFE, BYTES(0x81, 0x00, 0x01));
	check_pkglen(0xFFFFC, BYTES(0x8F, 0xFF, 0xFF));
	check_pkglen(0xFFFFD, BYTES(0xC1, 0x00, 0x00, 0x01));
	check_pkglen(0xFFFFFFB, BYTES(0xCF, 0xFF, 0xFF, 0xFF));

	uint8_t out[4];
	assert_int_equal(aml_pkglen_encode(out, 0xFFFFFFC), 0);
}

/* Decode a PkgLength the way an AML parser does. */
static size_t decode_pkglen(const uint8_t *p, unsigned int *n)
{
	unsigned int follow = p[0] >> 6;
	size_t v;

	if (!follow) {
		*n = 1;
		return p[0] & 0x3F;
	}
	v = p[0] & 0x0F;
	for (unsigned int i = 0; i < follow; i++)
		v |= (size_t)p[1 + i] << (4 + 8 * i);
	*n = follow + 1;
	return v;
}

/* aml_end() inserts the PkgLength in front of contents of 5 + size bytes: 0x3E/0x3F and 0xFFD/0xFFE straddle the form changes. */
static void test_end_inserts_pkglen(void **state)
{
	static const size_t sizes[] = { 0, 0x39, 0x3A, 0xFF8, 0xFF9, 0xFFF0 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct aml a;
		unsigned int n;
		size_t mark;

		aml_init(&a, buf, sizeof(buf));
		mark = aml_scope(&a, "\\FOO");	/* 5 bytes of name */
		for (size_t j = 0; j < sizes[i]; j++)
			aml_byte(&a, 0xA3);	/* NoopOp */
		aml_end(&a, mark);
		assert_int_equal(aml_error(&a), 0);
		assert_int_equal(buf[0], 0x10);
		assert_int_equal(decode_pkglen(buf + 1, &n), a.len - 1);
		assert_memory_equal(buf + 1 + n, "\\FOO_", 5);
		assert_int_equal(buf[a.len - 1], sizes[i] ? 0xA3 : (uint8_t)'_');
	}
}

static void test_integers(void **state)
{
	EXPECT(aml_integer(a, 0), 0x00);
	EXPECT(aml_integer(a, 1), 0x01);
	EXPECT(aml_integer(a, 2), 0x0A, 0x02);
	EXPECT(aml_integer(a, 0xFF), 0x0A, 0xFF);
	EXPECT(aml_integer(a, 0x100), 0x0B, 0x00, 0x01);
	EXPECT(aml_integer(a, 0xFFFF), 0x0B, 0xFF, 0xFF);
	EXPECT(aml_integer(a, 0x10000), 0x0C, 0x00, 0x00, 0x01, 0x00);
	EXPECT(aml_integer(a, 0xFFFFFFFF), 0x0C, 0xFF, 0xFF, 0xFF, 0xFF);
	EXPECT(aml_integer(a, 0x100000000ULL), 0x0E, 0, 0, 0, 0, 1, 0, 0, 0);
	EXPECT(aml_integer(a, 0xFFFFFFFFFFFFFFFEULL), 0x0E, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF);
	EXPECT(aml_integer(a, UINT64_MAX), 0xFF);
}

static void test_names(void **state)
{
	EXPECT(aml_namestring(a, "_S5"), '_', 'S', '5', '_');
	EXPECT(aml_namestring(a, "\\_SB"), '\\', '_', 'S', 'B', '_');
	EXPECT(aml_namestring(a, "\\_SB.PCI0"), '\\', 0x2E, '_', 'S', 'B', '_', 'P', 'C', 'I', '0');
	EXPECT(aml_namestring(a, "\\_SB.PCI0.S08"), '\\', 0x2F, 3,
	       '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'S', '0', '8', '_');
	EXPECT(aml_namestring(a, "^^A"), '^', '^', 'A', '_', '_', '_');
	EXPECT(aml_namestring(a, "\\"), '\\', 0x00);
	EXPECT(aml_name(a, "_UID"), 0x08, '_', 'U', 'I', 'D');

	EXPECT_ERR(-EINVAL, aml_namestring(a, "1ABC"));
	EXPECT_ERR(-EINVAL, aml_namestring(a, "ABCDE"));
	EXPECT_ERR(-EINVAL, aml_namestring(a, "abc"));
	EXPECT_ERR(-EINVAL, aml_namestring(a, "\\_SB..A"));
	EXPECT_ERR(-EINVAL, aml_namestring(a, "\\_SB."));
}

static void test_strings_and_eisaid(void **state)
{
	EXPECT(aml_string(a, "ABC"), 0x0D, 'A', 'B', 'C', 0x00);
	EXPECT(aml_string(a, ""), 0x0D, 0x00);
	EXPECT(aml_eisaid(a, "PNP0501"), 0x0C, 0x41, 0xD0, 0x05, 0x01);
	EXPECT(aml_eisaid(a, "PNP0B00"), 0x0C, 0x41, 0xD0, 0x0B, 0x00);
	EXPECT(aml_eisaid(a, "PNP0A03"), 0x0C, 0x41, 0xD0, 0x0A, 0x03);
	EXPECT_ERR(-EINVAL, aml_eisaid(a, "pnp0501"));
	EXPECT_ERR(-EINVAL, aml_eisaid(a, "PNP050"));
	EXPECT_ERR(-EINVAL, aml_eisaid(a, "PNP050G"));
	EXPECT_ERR(-EINVAL, aml_string(a, "\x80"));
}

static void test_resources(void **state)
{
	size_t rt;

	EXPECT(aml_io(a, 0x3F8, 0x3F8, 1, 8), 0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08);
	EXPECT(aml_irq_noflags(a, 12), 0x22, 0x00, 0x10);
	EXPECT_ERR(-EINVAL, aml_irq_noflags(a, 16));
	/* An empty template is a 2-byte buffer holding just the End Tag. */
	EXPECT((rt = aml_resource_template(a), aml_resource_template_end(a, rt)),
	       0x11, 0x05, 0x0A, 0x02, 0x79, 0x00);
	EXPECT_ERR(-EINVAL, aml_method(a, "FOO", 8, false));
	EXPECT_ERR(-EINVAL, aml_package(a, 256));
}

/*
 * Byte-for-byte what iasl 20200925 compiles (the SSDT body after its header)
 * from:
 *
 *   Scope (\_SB) {
 *       Device (DEV0) {
 *           Name (_HID, "ACPI0007")
 *           Name (_UID, 0x1234)
 *           Method (_STA, 0, NotSerialized) { Return (0x0F) }
 *           Method (FOO, 2, Serialized) { Return (Ones) }
 *           Name (PKG, Package (0x03) { One, 0x00010000, "X" })
 *           Name (_CRS, ResourceTemplate () {
 *               IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08)
 *               IRQNoFlags () {4}
 *           })
 *       }
 *   }
 */
static const uint8_t iasl_golden[] = {
	0x10, 0x40, 0x06, 0x5c, 0x5f, 0x53, 0x42, 0x5f, 0x5b, 0x82, 0x47, 0x05,
	0x44, 0x45, 0x56, 0x30, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0d, 0x41, 0x43,
	0x50, 0x49, 0x30, 0x30, 0x30, 0x37, 0x00, 0x08, 0x5f, 0x55, 0x49, 0x44,
	0x0b, 0x34, 0x12, 0x14, 0x09, 0x5f, 0x53, 0x54, 0x41, 0x00, 0xa4, 0x0a,
	0x0f, 0x14, 0x08, 0x46, 0x4f, 0x4f, 0x5f, 0x0a, 0xa4, 0xff, 0x08, 0x50,
	0x4b, 0x47, 0x5f, 0x12, 0x0b, 0x03, 0x01, 0x0c, 0x00, 0x00, 0x01, 0x00,
	0x0d, 0x58, 0x00, 0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x10, 0x0a, 0x0d,
	0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00, 0x79,
	0x00
};

static void test_matches_iasl(void **state)
{
	struct aml a;
	size_t sb, dev, m, pkg, crs;

	aml_init(&a, buf, sizeof(buf));
	sb = aml_scope(&a, "\\_SB");
	dev = aml_device(&a, "DEV0");
	aml_name(&a, "_HID");
	aml_string(&a, "ACPI0007");
	aml_name(&a, "_UID");
	aml_integer(&a, 0x1234);
	m = aml_method(&a, "_STA", 0, false);
	aml_return(&a);
	aml_integer(&a, 0x0F);
	aml_end(&a, m);
	m = aml_method(&a, "FOO", 2, true);
	aml_return(&a);
	aml_integer(&a, UINT64_MAX);
	aml_end(&a, m);
	aml_name(&a, "PKG");
	pkg = aml_package(&a, 3);
	aml_integer(&a, 1);
	aml_integer(&a, 0x10000);
	aml_string(&a, "X");
	aml_end(&a, pkg);
	aml_name(&a, "_CRS");
	crs = aml_resource_template(&a);
	aml_io(&a, 0x3F8, 0x3F8, 1, 8);
	aml_irq_noflags(&a, 4);
	aml_resource_template_end(&a, crs);
	aml_end(&a, dev);
	aml_end(&a, sb);

	assert_int_equal(aml_error(&a), 0);
	assert_int_equal(a.len, sizeof(iasl_golden));
	assert_memory_equal(buf, iasl_golden, sizeof(iasl_golden));
}

static void emit_com1(struct aml *a)
{
	size_t sb, dev, crs;

	sb = aml_scope(a, "\\_SB");
	dev = aml_device(a, "COM1");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name(a, "_CRS");
	crs = aml_resource_template(a);
	aml_io(a, 0x3F8, 0x3F8, 1, 8);
	aml_resource_template_end(a, crs);
	aml_end(a, dev);
	aml_end(a, sb);
}

/* Running out of room at any point fails cleanly: -ENOSPC, never a write past the end. */
static void test_enospc(void **state)
{
	struct aml a;
	size_t need;

	aml_init(&a, buf, sizeof(buf));
	emit_com1(&a);
	assert_int_equal(aml_error(&a), 0);
	need = a.len;

	for (size_t cap = 0; cap <= need; cap++) {
		memset(buf, 0xEE, sizeof(buf));
		aml_init(&a, buf, cap);
		emit_com1(&a);
		assert_int_equal(aml_error(&a), cap < need ? -ENOSPC : 0);
		assert_true(a.len <= cap);
		assert_int_equal(buf[cap], 0xEE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkglen_boundaries),
		cmocka_unit_test(test_end_inserts_pkglen),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_strings_and_eisaid),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_matches_iasl),
		cmocka_unit_test(test_enospc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
