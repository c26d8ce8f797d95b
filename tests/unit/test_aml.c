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

/*
 * Address Space Descriptors, field by field (6.4.3.5.1-3): tag, length of
 * what follows (16 bits), resource type, general flags (0x0C: producer,
 * PosDecode, MinFixed, MaxFixed), type-specific flags, then _GRA, _MIN,
 * _MAX, _TRA, _LEN.
 */
static void test_address_space(void **state)
{
	const struct aml_addr_space bus = {
		.type = AML_SPACE_BUS,
		.flags = AML_SPACE_MIN_FIXED | AML_SPACE_MAX_FIXED,
		.min = 0, .max = 0xFF, .length = 0x100,
	};
	const struct aml_addr_space io = {
		.type = AML_SPACE_IO,
		.flags = AML_SPACE_MIN_FIXED | AML_SPACE_MAX_FIXED,
		.type_flags = AML_IO_ENTIRE_RANGE,
		.min = 0xC000, .max = 0xFFFF, .length = 0x4000,
	};
	const struct aml_addr_space mem32 = {
		.type = AML_SPACE_MEM,
		.flags = AML_SPACE_MIN_FIXED | AML_SPACE_MAX_FIXED,
		.type_flags = AML_MEM_RW | AML_MEM_NON_CACHEABLE,
		.granularity = 0xFFF, .min = 0xC0000000, .max = 0xDFFFFFFF,
		.translation = 0x12345678, .length = 0x20000000,
	};
	const struct aml_addr_space mem64 = {
		.type = AML_SPACE_MEM,
		.flags = AML_SPACE_CONSUMER | AML_SPACE_SUB_DECODE,
		.type_flags = AML_MEM_PREFETCHABLE,
		.min = 0x8000000000ULL, .max = 0xFFFFFFFFFFULL,
		.translation = 0x0102030405060708ULL, .length = 0x8000000000ULL,
	};
	struct aml_addr_space bad;

	EXPECT(aml_word_space(a, &bus),
	       0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00,
	       0x00, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x01);
	EXPECT(aml_word_space(a, &io),
	       0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03,
	       0x00, 0x00, 0x00, 0xC0, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x40);
	EXPECT(aml_dword_space(a, &mem32),
	       0x87, 0x17, 0x00, 0x00, 0x0C, 0x01,
	       0xFF, 0x0F, 0x00, 0x00,		/* _GRA */
	       0x00, 0x00, 0x00, 0xC0,		/* _MIN */
	       0xFF, 0xFF, 0xFF, 0xDF,		/* _MAX */
	       0x78, 0x56, 0x34, 0x12,		/* _TRA */
	       0x00, 0x00, 0x00, 0x20);		/* _LEN */
	/* Consumer (bit 0) and SubDecode (bit 1), not fixed; read-only, prefetchable (_MEM 3). */
	EXPECT(aml_qword_space(a, &mem64),
	       0x8A, 0x2B, 0x00, 0x00, 0x03, 0x06,
	       0, 0, 0, 0, 0, 0, 0, 0,
	       0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
	       0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00,
	       0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
	       0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00);
	EXPECT(aml_memory32_fixed(a, true, 0xE0000000, 0x100000),
	       0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xE0, 0x00, 0x00, 0x10, 0x00);
	EXPECT(aml_memory32_fixed(a, false, 0x12345678, 0x1000),
	       0x86, 0x09, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12, 0x00, 0x10, 0x00, 0x00);

	/* Values must fit the descriptor: a 64 KiB length is not a Word. */
	bad = io;
	bad.length = 0x10000;
	EXPECT_ERR(-EINVAL, aml_word_space(a, &bad));
	EXPECT_ERR(-EINVAL, aml_dword_space(a, &mem64));
	bad = bus;
	bad.type = 3;
	EXPECT_ERR(-EINVAL, aml_qword_space(a, &bad));
	bad = bus;
	bad.flags = 0x10;
	EXPECT_ERR(-EINVAL, aml_word_space(a, &bad));
}

static void test_method_terms(void **state)
{
	size_t i, e;

	EXPECT(aml_arg(a, 0), 0x68);
	EXPECT(aml_arg(a, 6), 0x6E);
	EXPECT_ERR(-EINVAL, aml_arg(a, 7));
	EXPECT(aml_create_dword_field(a, 3, 8, "CDW3"), 0x8A, 0x6B, 0x0A, 0x08, 'C', 'D', 'W', '3');
	/* ToUUID: the first three fields byte-swapped, the last two as written. */
	EXPECT(aml_uuid(a, "00112233-4455-6677-8899-AABBCCDDEEFF"),
	       0x11, 0x13, 0x0A, 0x10,
	       0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66,
	       0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF);
	EXPECT_ERR(-EINVAL, aml_uuid(a, "00112233-4455-6677-8899-AABBCCDDEEF"));
	EXPECT_ERR(-EINVAL, aml_uuid(a, "00112233-4455-6677-8899-AABBCCDDEEFG"));
	EXPECT_ERR(-EINVAL, aml_uuid(a, "00112233-4455-6677-8899+AABBCCDDEEFF"));
	EXPECT_ERR(-EINVAL, aml_uuid(a, "0011223-34455-6677-8899-AABBCCDDEEFF"));
	/* If (LNot (LEqual (Arg1, One))) { Store (Zero, Arg2) } Else { } */
	EXPECT((i = aml_if(a), aml_lnot(a), aml_lequal(a), aml_arg(a, 1), aml_integer(a, 1),
		aml_store(a), aml_integer(a, 0), aml_arg(a, 2), aml_end(a, i),
		e = aml_else(a), aml_end(a, e)),
	       0xA0, 0x08, 0x92, 0x93, 0x69, 0x01, 0x70, 0x00, 0x6A, 0xA1, 0x01);
	EXPECT(aml_or(a), 0x7D);
}

/*
 * Byte-for-byte what iasl 20200925 compiles (the SSDT body after its header)
 * from:
 *
 *   Device (\_SB.PCI0) {
 *       Name (_HID, EisaId ("PNP0A08"))
 *       Name (_CRS, ResourceTemplate () {
 *           WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
 *               0x0000, 0x0000, 0x00FF, 0x0000, 0x0100,,,)
 *           WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
 *               0x0000, 0xC000, 0xFFFF, 0x0000, 0x4000,,, , TypeStatic, DenseTranslation)
 *           DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable,
 *               ReadWrite, 0, 0xC0000000, 0xDFFFFFFF, 0, 0x20000000,,, , AddressRangeMemory, TypeStatic)
 *           QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable,
 *               ReadWrite, 0, 0x8000000000, 0xFFFFFFFFFF, 0, 0x8000000000,,, , AddressRangeMemory, TypeStatic)
 *           Memory32Fixed (ReadWrite, 0xE0000000, 0x00100000, )
 *       })
 *       Method (_OSC, 4, Serialized) {
 *           CreateDWordField (Arg3, Zero, CDW1)
 *           If ((Arg0 == ToUUID ("33db4d5b-1ff7-401c-9657-7441c03dd766"))) {
 *               If ((Arg1 != One)) { CDW1 |= 0x08 }
 *               CDW1 = Zero
 *           } Else { CDW1 |= 0x04 }
 *           Return (Arg3)
 *       }
 *   }
 */
static const uint8_t iasl_golden_pci[] = {
	0x5b, 0x82, 0x43, 0x0e, 0x5c, 0x2e, 0x5f, 0x53, 0x42, 0x5f, 0x50, 0x43,
	0x49, 0x30, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0c, 0x41, 0xd0, 0x0a, 0x08,
	0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x4a, 0x07, 0x0a, 0x76, 0x88, 0x0d,
	0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0xc0,
	0xff, 0xff, 0x00, 0x00, 0x00, 0x40, 0x87, 0x17, 0x00, 0x00, 0x0c, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xff, 0xdf,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x8a, 0x2b, 0x00, 0x00,
	0x0c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x86, 0x09, 0x00, 0x01, 0x00, 0x00,
	0x00, 0xe0, 0x00, 0x00, 0x10, 0x00, 0x79, 0x00, 0x14, 0x4c, 0x04, 0x5f,
	0x4f, 0x53, 0x43, 0x0c, 0x8a, 0x6b, 0x00, 0x43, 0x44, 0x57, 0x31, 0xa0,
	0x2e, 0x93, 0x68, 0x11, 0x13, 0x0a, 0x10, 0x5b, 0x4d, 0xdb, 0x33, 0xf7,
	0x1f, 0x1c, 0x40, 0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66, 0xa0,
	0x10, 0x92, 0x93, 0x69, 0x01, 0x7d, 0x43, 0x44, 0x57, 0x31, 0x0a, 0x08,
	0x43, 0x44, 0x57, 0x31, 0x70, 0x00, 0x43, 0x44, 0x57, 0x31, 0xa1, 0x0c,
	0x7d, 0x43, 0x44, 0x57, 0x31, 0x0a, 0x04, 0x43, 0x44, 0x57, 0x31, 0xa4,
	0x6b
};

static void test_matches_iasl_pci(void **state)
{
	const uint8_t window = AML_SPACE_MIN_FIXED | AML_SPACE_MAX_FIXED;
	struct aml_addr_space r;
	struct aml a;
	size_t dev, crs, m, i, e;

	aml_init(&a, buf, sizeof(buf));
	dev = aml_device(&a, "\\_SB.PCI0");
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0A08");
	aml_name(&a, "_CRS");
	crs = aml_resource_template(&a);
	r = (struct aml_addr_space){ AML_SPACE_BUS, window, 0, 0, 0, 0xFF, 0, 0x100 };
	aml_word_space(&a, &r);
	r = (struct aml_addr_space){ AML_SPACE_IO, window, AML_IO_ENTIRE_RANGE, 0, 0xC000, 0xFFFF, 0, 0x4000 };
	aml_word_space(&a, &r);
	r = (struct aml_addr_space){ AML_SPACE_MEM, window, AML_MEM_RW | AML_MEM_NON_CACHEABLE,
				     0, 0xC0000000, 0xDFFFFFFF, 0, 0x20000000 };
	aml_dword_space(&a, &r);
	r = (struct aml_addr_space){ AML_SPACE_MEM, window, AML_MEM_RW | AML_MEM_CACHEABLE,
				     0, 0x8000000000ULL, 0xFFFFFFFFFFULL, 0, 0x8000000000ULL };
	aml_qword_space(&a, &r);
	aml_memory32_fixed(&a, true, 0xE0000000, 0x100000);
	aml_resource_template_end(&a, crs);

	m = aml_method(&a, "_OSC", 4, true);
	aml_create_dword_field(&a, 3, 0, "CDW1");
	i = aml_if(&a);
	aml_lequal(&a);
	aml_arg(&a, 0);
	aml_uuid(&a, "33DB4D5B-1FF7-401C-9657-7441C03DD766");
	{
		size_t rev = aml_if(&a);

		aml_lnot(&a);
		aml_lequal(&a);
		aml_arg(&a, 1);
		aml_integer(&a, 1);
		aml_or(&a);
		aml_namestring(&a, "CDW1");
		aml_integer(&a, 8);
		aml_namestring(&a, "CDW1");
		aml_end(&a, rev);
	}
	aml_store(&a);
	aml_integer(&a, 0);
	aml_namestring(&a, "CDW1");
	aml_end(&a, i);
	e = aml_else(&a);
	aml_or(&a);
	aml_namestring(&a, "CDW1");
	aml_integer(&a, 4);
	aml_namestring(&a, "CDW1");
	aml_end(&a, e);
	aml_return(&a);
	aml_arg(&a, 3);
	aml_end(&a, m);
	aml_end(&a, dev);

	assert_int_equal(aml_error(&a), 0);
	assert_int_equal(a.len, sizeof(iasl_golden_pci));
	assert_memory_equal(buf, iasl_golden_pci, sizeof(iasl_golden_pci));
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
		cmocka_unit_test(test_address_space),
		cmocka_unit_test(test_method_terms),
		cmocka_unit_test(test_matches_iasl_pci),
		cmocka_unit_test(test_enospc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
