/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_BOOT_AML_H
#define KVMIO_BOOT_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A small AML byte emitter (ACPI 6.4 chapter 20, "ACPI Machine Language
 * Specification") for building a DSDT at VM creation time, when its contents
 * depend on the VM's configuration.
 *
 * Everything appends to one caller-provided buffer; nothing allocates. The
 * first error (-ENOSPC: buffer full, -EINVAL: bad name or argument, -E2BIG:
 * object larger than a PkgLength can express) is sticky: later calls do
 * nothing, and aml_error() reports it once at the end, so callers write a
 * straight sequence of calls and check once.
 *
 * Objects with a PkgLength (Scope, Device, Method, Package, Buffer) are
 * opened by a call that returns a mark and closed by aml_end() with that
 * mark; their contents are whatever is appended in between. Closing inserts
 * the PkgLength in front of the contents, so opens must be closed innermost
 * first.
 *
 * Names are ASL-style paths: "_S5", "\\_SB.COM1", "^PCI0"; each segment is 1-4
 * of [A-Z0-9_] (not starting with a digit) and is padded with '_' to 4.
 */
struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;	/* first error, 0 if none */
};

/* aml_init - start emitting into [buf, buf+cap). */
void aml_init(struct aml *a, void *buf, size_t cap);

/* aml_error - the first error any call hit, or 0. */
int aml_error(const struct aml *a);

/* Raw bytes, for opcodes this file has no helper for. */
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/* NameString (20.2.2): root/parent prefixes, then NullName, NameSeg, Dual or MultiNamePath. */
void aml_namestring(struct aml *a, const char *path);

/*
 * aml_integer - ComputationalData in the shortest form: ZeroOp, OneOp,
 * OnesOp (all 64 bits set, so the table must be revision 2 or later),
 * else Byte/Word/DWord/QWordConst.
 */
void aml_integer(struct aml *a, uint64_t v);

/* aml_string - String (StringPrefix, ASCII 0x01-0x7F, NUL). */
void aml_string(struct aml *a, const char *s);

/* aml_eisaid - an EISA ID like "PNP0501" (3 capitals, 4 hex digits), compressed to an Integer. */
void aml_eisaid(struct aml *a, const char *id);

/* aml_name - Name(name, ...): the caller appends the one object that follows. */
void aml_name(struct aml *a, const char *name);

/* aml_return - Return(...): the caller appends the one term that follows. */
void aml_return(struct aml *a);

/* Openers; each returns a mark for aml_end(). */
size_t aml_scope(struct aml *a, const char *path);
size_t aml_device(struct aml *a, const char *name);
/* @nargs 0-7; @serialized sets the method's SerializeFlag (sync level 0). */
size_t aml_method(struct aml *a, const char *name, unsigned int nargs, bool serialized);
/* @nelems: how many objects the caller appends before aml_end() (at most 255). */
size_t aml_package(struct aml *a, unsigned int nelems);
void aml_end(struct aml *a, size_t mark);

/*
 * ResourceTemplate(): a Buffer of resource descriptors (6.4). Append
 * descriptors after aml_resource_template(); aml_resource_template_end()
 * adds the End Tag and the buffer size.
 */
size_t aml_resource_template(struct aml *a);
void aml_resource_template_end(struct aml *a, size_t mark);

/* IO(Decode16, min, max, align, len): I/O Port Descriptor (6.4.2.5). */
void aml_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);

/* IRQNoFlags(){irq}: 2-byte IRQ Descriptor (6.4.2.1), edge, active high; @irq 0-15. */
void aml_irq_noflags(struct aml *a, unsigned int irq);

/*
 * aml_pkglen_encode - encode the PkgLength (20.2.4) of an object whose
 * contents after the PkgLength are @body bytes; the PkgLength counts itself,
 * so the encoded value is @body plus 1-4. Returns the number of bytes written
 * to @out, or 0 if the value would exceed 2^28 - 1.
 */
unsigned int aml_pkglen_encode(uint8_t out[4], size_t body);

#endif
