// SPDX-License-Identifier: Apache-2.0
/*
 * AML byte emitter: just enough of ACPI 6.4 chapter 20 to describe kvmio's
 * devices in a DSDT built at run time. Section numbers below are ACPI 6.4's.
 */
#include <errno.h>
#include <string.h>

#include "boot/aml.h"

/* Opcodes and prefixes (20.3, 20.2.3). */
#define AML_ZERO_OP		0x00
#define AML_ONE_OP		0x01
#define AML_NAME_OP		0x08
#define AML_BYTE_PREFIX		0x0A
#define AML_WORD_PREFIX		0x0B
#define AML_DWORD_PREFIX	0x0C
#define AML_STRING_PREFIX	0x0D
#define AML_QWORD_PREFIX	0x0E
#define AML_SCOPE_OP		0x10
#define AML_BUFFER_OP		0x11
#define AML_PACKAGE_OP		0x12
#define AML_METHOD_OP		0x14
#define AML_DUAL_NAME_PREFIX	0x2E
#define AML_MULTI_NAME_PREFIX	0x2F
#define AML_EXT_OP_PREFIX	0x5B
#define AML_DEVICE_OP		0x82	/* after AML_EXT_OP_PREFIX */
#define AML_OPREGION_OP		0x80	/* after AML_EXT_OP_PREFIX */
#define AML_FIELD_OP		0x81	/* after AML_EXT_OP_PREFIX */
#define AML_LOCAL0_OP		0x60
#define AML_AND_OP		0x7B
#define AML_NOTIFY_OP		0x86
#define AML_ROOT_CHAR		'\\'
#define AML_PARENT_PREFIX	'^'
#define AML_NULL_NAME		0x00
#define AML_ARG0_OP		0x68
#define AML_STORE_OP		0x70
#define AML_OR_OP		0x7D
#define AML_CREATE_DWORD_FIELD_OP 0x8A
#define AML_LNOT_OP		0x92
#define AML_LEQUAL_OP		0x93
#define AML_IF_OP		0xA0
#define AML_ELSE_OP		0xA1
#define AML_RETURN_OP		0xA4
#define AML_ONES_OP		0xFF

/* Small resource descriptor tags (6.4.2): type 0, item name << 3 | length. */
#define RES_IRQ_NOFLAGS		0x22	/* IRQ, 2 bytes: no flags byte */
#define RES_IO			0x47	/* I/O port, 7 bytes */
#define RES_END_TAG		0x79	/* End Tag, 1 byte (checksum) */
#define RES_IO_DECODE16		0x01
/* Large resource descriptor tags (6.4.3): bit 7 set, then a 16-bit length of what follows. */
#define RES_MEMORY32_FIXED	0x86
#define RES_DWORD_SPACE		0x87
#define RES_WORD_SPACE		0x88
#define RES_QWORD_SPACE		0x8A

#define PKGLEN_MAX		0x0FFFFFFFU	/* 28 bits (20.2.4) */

void aml_init(struct aml *a, void *buf, size_t cap)
{
	a->buf = buf;
	a->cap = cap;
	a->len = 0;
	a->err = 0;
}

int aml_error(const struct aml *a)
{
	return a->err;
}

static void aml_fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->err)
		return;
	if (n > a->cap - a->len) {
		aml_fail(a, -ENOSPC);
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* Insert @n bytes at @at, shifting what follows: how a PkgLength gets in front of its contents. */
static void aml_insert(struct aml *a, size_t at, const uint8_t *p, size_t n)
{
	if (a->err)
		return;
	if (at > a->len) {
		aml_fail(a, -EINVAL);
		return;
	}
	if (n > a->cap - a->len) {
		aml_fail(a, -ENOSPC);
		return;
	}
	memmove(a->buf + at + n, a->buf + at, a->len - at);
	memcpy(a->buf + at, p, n);
	a->len += n;
}

unsigned int aml_pkglen_encode(uint8_t out[4], size_t body)
{
	/*
	 * 20.2.4: one byte holds up to 0x3F in bits 0-5. Longer forms put the
	 * count of following bytes (1-3) in bits 6-7 and the low nibble in
	 * bits 0-3, the following bytes carrying the rest 8 bits at a time.
	 */
	static const size_t max[] = { 0x3F, 0xFFF, 0xFFFFF, PKGLEN_MAX };
	unsigned int n;

	for (n = 1; n <= 4; n++)
		if (body <= max[n - 1] - n)
			break;
	if (n > 4)
		return 0;

	size_t total = body + n;

	if (n == 1) {
		out[0] = (uint8_t)total;
		return 1;
	}
	out[0] = (uint8_t)(((n - 1) << 6) | (total & 0xF));
	for (unsigned int i = 1; i < n; i++)
		out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	return n;
}

/* NameSeg (20.2.2): a lead character [A-Z_], then [A-Z0-9_], padded with '_' to 4. */
static void aml_nameseg(struct aml *a, const char *s, size_t len)
{
	char seg[4] = { '_', '_', '_', '_' };

	if (len < 1 || len > 4) {
		aml_fail(a, -EINVAL);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool ok = (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');

		if (!ok) {
			aml_fail(a, -EINVAL);
			return;
		}
		seg[i] = c;
	}
	aml_bytes(a, seg, 4);
}

void aml_namestring(struct aml *a, const char *path)
{
	const char *p = path;
	size_t nseg = 1;

	if (*p == AML_ROOT_CHAR) {
		aml_byte(a, AML_ROOT_CHAR);
		p++;
	} else {
		while (*p == AML_PARENT_PREFIX) {
			aml_byte(a, AML_PARENT_PREFIX);
			p++;
		}
	}
	if (!*p) {
		aml_byte(a, AML_NULL_NAME);
		return;
	}

	for (const char *q = p; *q; q++)
		nseg += *q == '.';
	if (nseg == 2) {
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	} else if (nseg > 2) {
		if (nseg > 255) {
			aml_fail(a, -EINVAL);
			return;
		}
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)nseg);
	}
	while (1) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		aml_nameseg(a, p, len);
		if (!dot)
			break;
		p = dot + 1;
	}
}

void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t b[9];
	unsigned int n;

	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
		return;
	}
	if (v == 1) {
		aml_byte(a, AML_ONE_OP);
		return;
	}
	if (v == UINT64_MAX) {
		aml_byte(a, AML_ONES_OP);
		return;
	}
	if (v <= UINT8_MAX) {
		b[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= UINT16_MAX) {
		b[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= UINT32_MAX) {
		b[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		b[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (unsigned int i = 0; i < n; i++)
		b[1 + i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, 1 + n);
}

void aml_string(struct aml *a, const char *s)
{
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p > 0x7F) {
			aml_fail(a, -EINVAL);
			return;
		}
	}
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_eisaid(struct aml *a, const char *id)
{
	/*
	 * 6.1.5: three letters as 5-bit values ('A' = 1), then four hex digits,
	 * stored as a big-endian 32-bit value; as an Integer it is read
	 * little-endian, hence the byte order below.
	 */
	uint32_t vendor = 0, product = 0;

	if (strlen(id) != 7) {
		aml_fail(a, -EINVAL);
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			aml_fail(a, -EINVAL);
			return;
		}
		vendor = (vendor << 5) | (uint32_t)(id[i] - '@');
	}
	for (int i = 3; i < 7; i++) {
		int h = hexval(id[i]);

		if (h < 0) {
			aml_fail(a, -EINVAL);
			return;
		}
		product = (product << 4) | (uint32_t)h;
	}
	aml_integer(a, (vendor >> 8) | (vendor & 0xFF) << 8 |
		       (product >> 8) << 16 | (product & 0xFF) << 24);
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, name);
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN_OP);
}

size_t aml_scope(struct aml *a, const char *path)
{
	size_t mark;

	aml_byte(a, AML_SCOPE_OP);
	mark = a->len;
	aml_namestring(a, path);
	return mark;
}

size_t aml_device(struct aml *a, const char *name)
{
	size_t mark;

	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	mark = a->len;
	aml_namestring(a, name);
	return mark;
}

size_t aml_method(struct aml *a, const char *name, unsigned int nargs, bool serialized)
{
	size_t mark;

	if (nargs > 7)
		aml_fail(a, -EINVAL);
	aml_byte(a, AML_METHOD_OP);
	mark = a->len;
	aml_namestring(a, name);
	/* MethodFlags (20.2.5.2): ArgCount bits 0-2, SerializeFlag bit 3, SyncLevel bits 4-7. */
	aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? 1 << 3 : 0)));
	return mark;
}

size_t aml_package(struct aml *a, unsigned int nelems)
{
	size_t mark;

	/* More than 255 elements needs VarPackageOp, which nothing here uses yet. */
	if (nelems > 255)
		aml_fail(a, -EINVAL);
	aml_byte(a, AML_PACKAGE_OP);
	mark = a->len;
	aml_byte(a, (uint8_t)nelems);
	return mark;
}

void aml_end(struct aml *a, size_t mark)
{
	uint8_t pkglen[4];
	unsigned int n;

	if (a->err)
		return;
	if (mark > a->len) {
		aml_fail(a, -EINVAL);
		return;
	}
	n = aml_pkglen_encode(pkglen, a->len - mark);
	if (!n) {
		aml_fail(a, -E2BIG);
		return;
	}
	aml_insert(a, mark, pkglen, n);
}

size_t aml_resource_template(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	return a->len;
}

void aml_resource_template_end(struct aml *a, size_t mark)
{
	/* DefBuffer := BufferOp PkgLength BufferSize ByteList (20.2.5.4), BufferSize an Integer. */
	uint8_t hdr[4 + 9];
	struct aml size;
	unsigned int n;

	/* End Tag checksum 0: "treated as if the checksum operation succeeded" (6.4.2.9). */
	aml_byte(a, RES_END_TAG);
	aml_byte(a, 0);
	if (a->err)
		return;
	if (mark > a->len) {
		aml_fail(a, -EINVAL);
		return;
	}

	aml_init(&size, hdr + 4, sizeof(hdr) - 4);
	aml_integer(&size, a->len - mark);
	n = aml_pkglen_encode(hdr, size.len + a->len - mark);
	if (!n) {
		aml_fail(a, -E2BIG);
		return;
	}
	/* Slide the size term right up against the PkgLength. */
	memmove(hdr + n, hdr + 4, size.len);
	aml_insert(a, mark, hdr, n + size.len);
}

void aml_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	uint8_t d[8] = {
		RES_IO, RES_IO_DECODE16,
		(uint8_t)min, (uint8_t)(min >> 8),
		(uint8_t)max, (uint8_t)(max >> 8),
		align, len,
	};

	aml_bytes(a, d, sizeof(d));
}

void aml_irq_noflags(struct aml *a, unsigned int irq)
{
	if (irq > 15) {
		aml_fail(a, -EINVAL);
		return;
	}
	uint16_t mask = (uint16_t)(1u << irq);
	uint8_t d[3] = { RES_IRQ_NOFLAGS, (uint8_t)mask, (uint8_t)(mask >> 8) };

	aml_bytes(a, d, sizeof(d));
}

void aml_memory32_fixed(struct aml *a, bool rw, uint32_t base, uint32_t len)
{
	uint8_t d[12] = { RES_MEMORY32_FIXED, 9, 0, rw ? 1 : 0 };

	for (unsigned int i = 0; i < 4; i++) {
		d[4 + i] = (uint8_t)(base >> (8 * i));
		d[8 + i] = (uint8_t)(len >> (8 * i));
	}
	aml_bytes(a, d, sizeof(d));
}

/*
 * The three Address Space Descriptors differ only in tag and field width
 * (6.4.3.5.1-3): tag, length, type, general flags, type-specific flags, then
 * _GRA, _MIN, _MAX, _TRA and _LEN, @width bytes each.
 */
static void aml_addr_space(struct aml *a, uint8_t tag, unsigned int width,
			   const struct aml_addr_space *s)
{
	const uint64_t v[5] = { s->granularity, s->min, s->max, s->translation, s->length };
	const uint64_t limit = width == 8 ? UINT64_MAX : (1ULL << (8 * width)) - 1;
	uint8_t d[6 + 5 * 8];
	size_t len = 6 + 5 * (size_t)width;

	if (s->type > AML_SPACE_BUS || s->flags > 0xF) {
		aml_fail(a, -EINVAL);
		return;
	}
	d[0] = tag;
	d[1] = (uint8_t)(len - 3);
	d[2] = (uint8_t)((len - 3) >> 8);
	d[3] = (uint8_t)s->type;
	d[4] = s->flags;
	d[5] = s->type_flags;
	for (unsigned int i = 0; i < 5; i++) {
		if (v[i] > limit) {
			aml_fail(a, -EINVAL);
			return;
		}
		for (unsigned int j = 0; j < width; j++)
			d[6 + i * width + j] = (uint8_t)(v[i] >> (8 * j));
	}
	aml_bytes(a, d, len);
}

void aml_word_space(struct aml *a, const struct aml_addr_space *s)
{
	aml_addr_space(a, RES_WORD_SPACE, 2, s);
}

void aml_dword_space(struct aml *a, const struct aml_addr_space *s)
{
	aml_addr_space(a, RES_DWORD_SPACE, 4, s);
}

void aml_qword_space(struct aml *a, const struct aml_addr_space *s)
{
	aml_addr_space(a, RES_QWORD_SPACE, 8, s);
}

void aml_arg(struct aml *a, unsigned int n)
{
	if (n > 6) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, (uint8_t)(AML_ARG0_OP + n));
}

size_t aml_if(struct aml *a)
{
	aml_byte(a, AML_IF_OP);
	return a->len;
}

size_t aml_else(struct aml *a)
{
	aml_byte(a, AML_ELSE_OP);
	return a->len;
}

void aml_lequal(struct aml *a)
{
	aml_byte(a, AML_LEQUAL_OP);
}

void aml_lnot(struct aml *a)
{
	aml_byte(a, AML_LNOT_OP);
}

void aml_or(struct aml *a)
{
	aml_byte(a, AML_OR_OP);
}

void aml_store(struct aml *a)
{
	aml_byte(a, AML_STORE_OP);
}

void aml_create_dword_field(struct aml *a, unsigned int arg, uint64_t byte_index,
			    const char *name)
{
	/* DefCreateDWordField := CreateDWordFieldOp SourceBuff ByteIndex NameString (20.2.5.2) */
	aml_byte(a, AML_CREATE_DWORD_FIELD_OP);
	aml_arg(a, arg);
	aml_integer(a, byte_index);
	aml_namestring(a, name);
}

void aml_uuid(struct aml *a, const char *uuid)
{
	/* Where each of the 16 bytes goes: the first three fields are stored little-endian. */
	static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	uint8_t d[4 + 16] = { AML_BUFFER_OP, 3 + 16, AML_BYTE_PREFIX, 16 };
	unsigned int n = 0;

	if (strlen(uuid) != 36) {
		aml_fail(a, -EINVAL);
		return;
	}
	for (unsigned int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (uuid[i] != '-') {
				aml_fail(a, -EINVAL);
				return;
			}
			continue;
		}
		int h = hexval(uuid[i]), l = hexval(uuid[++i]);

		if (h < 0 || l < 0) {
			aml_fail(a, -EINVAL);
			return;
		}
		d[4 + order[n++]] = (uint8_t)(h << 4 | l);
	}
	aml_bytes(a, d, sizeof(d));
}

void aml_operation_region(struct aml *a, const char *name, uint8_t space, uint64_t offset,
			  uint64_t len)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_OPREGION_OP);
	aml_namestring(a, name);
	aml_byte(a, space);
	aml_integer(a, offset);
	aml_integer(a, len);
}

size_t aml_field(struct aml *a, const char *region, uint8_t flags)
{
	size_t mark;

	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_FIELD_OP);
	mark = a->len;
	aml_namestring(a, region);
	aml_byte(a, flags);
	return mark;
}

void aml_field_unit(struct aml *a, const char *name, unsigned int bits)
{
	unsigned int extra = bits < 64 ? 0 : bits < 1u << 12 ? 1 : bits < 1u << 20 ? 2 : 3;

	if (strlen(name) != 4 || bits == 0 || bits >= 1u << 28) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_bytes(a, name, 4);
	/*
	 * The bit count in PkgLength's encoding (20.2.5.2: NamedField), but as
	 * a plain value: unlike a package's length it does not count itself.
	 */
	if (!extra) {
		aml_byte(a, (uint8_t)bits);
		return;
	}
	aml_byte(a, (uint8_t)(extra << 6 | (bits & 0xf)));
	for (unsigned int i = 0; i < extra; i++)
		aml_byte(a, (uint8_t)(bits >> (4 + 8 * i)));
}

void aml_local(struct aml *a, unsigned int n)
{
	if (n > 7) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, (uint8_t)(AML_LOCAL0_OP + n));
}

void aml_and(struct aml *a)
{
	aml_byte(a, AML_AND_OP);
}

void aml_notify(struct aml *a)
{
	aml_byte(a, AML_NOTIFY_OP);
}
