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
 * Memory32Fixed(ReadWrite or ReadOnly, base, len): 32-Bit Fixed Memory Range
 * Descriptor (6.4.3.4), e.g. to reserve a range in a motherboard device.
 */
void aml_memory32_fixed(struct aml *a, bool rw, uint32_t base, uint32_t len);

/*
 * Address Space Descriptors (6.4.3.5): what a bridge forwards (producer) or a
 * device uses (consumer), in the shape of ASL's Word/DWord/QWord macros.
 */
enum aml_space_type {
	AML_SPACE_MEM = 0,
	AML_SPACE_IO = 1,
	AML_SPACE_BUS = 2,
};

/* General flags (6.4.3.5.1): ResourceProducer, PosDecode, not fixed when 0. */
#define AML_SPACE_CONSUMER	(1u << 0)
#define AML_SPACE_SUB_DECODE	(1u << 1)
#define AML_SPACE_MIN_FIXED	(1u << 2)
#define AML_SPACE_MAX_FIXED	(1u << 3)

/* Type-specific flags, memory (6.4.3.5.5): _RW bit 0, _MEM bits 1-2; _MTP 0 is AddressRangeMemory. */
#define AML_MEM_RW		(1u << 0)
#define AML_MEM_NON_CACHEABLE	(0u << 1)
#define AML_MEM_CACHEABLE	(1u << 1)
#define AML_MEM_WRITE_COMBINING	(2u << 1)
#define AML_MEM_PREFETCHABLE	(3u << 1)
/* Type-specific flags, I/O (6.4.3.5.5): _RNG bits 0-1; TypeStatic, DenseTranslation are 0. */
#define AML_IO_ENTIRE_RANGE	3u

struct aml_addr_space {
	enum aml_space_type type;
	uint8_t flags;			/* AML_SPACE_* */
	uint8_t type_flags;		/* AML_MEM_* or AML_IO_*; 0 for bus numbers */
	uint64_t granularity;		/* _GRA: address decode bits mask, 0 for none */
	uint64_t min, max;		/* _MIN, _MAX */
	uint64_t translation;		/* _TRA: added to get the address on the secondary side */
	uint64_t length;		/* _LEN */
};

/*
 * aml_word_space, aml_dword_space, aml_qword_space - Word (6.4.3.5.3), DWord
 * (6.4.3.5.2) and QWord (6.4.3.5.1) Address Space Descriptors. No resource
 * source. A value that does not fit the descriptor's width fails with -EINVAL.
 */
void aml_word_space(struct aml *a, const struct aml_addr_space *s);
void aml_dword_space(struct aml *a, const struct aml_addr_space *s);
void aml_qword_space(struct aml *a, const struct aml_addr_space *s);

/* Terms for control methods (20.2.5, 20.2.6). */

/* aml_arg - ArgN, @n 0-6. */
void aml_arg(struct aml *a, unsigned int n);

/*
 * aml_if, aml_else - If (predicate) {...} and Else {...}: openers for
 * aml_end(). After aml_if() the caller appends the predicate, then the body;
 * aml_else() goes right after the If's aml_end().
 */
size_t aml_if(struct aml *a);
size_t aml_else(struct aml *a);

/* Operators whose operands the caller appends, in ASL order. */
void aml_lequal(struct aml *a);		/* LEqual(a, b) */
void aml_lnot(struct aml *a);		/* LNot(a) */
void aml_or(struct aml *a);		/* Or(a, b, target) */
void aml_store(struct aml *a);		/* Store(source, target) */
void aml_and(struct aml *a);		/* And(a, b, target) */
void aml_notify(struct aml *a);		/* Notify(object, value) */
void aml_local(struct aml *a, unsigned int n);	/* Local0..Local7 */

/* OperationRegion(name, space, offset, len): space 0 SystemMemory, 1 SystemIO. */
#define AML_REGION_IO		1
void aml_operation_region(struct aml *a, const char *name, uint8_t space, uint64_t offset,
			  uint64_t len);
/*
 * Field(region, flags) { units }: aml_field opens it, aml_field_unit adds a
 * named unit of @bits bits (a 4-character NameSeg), aml_end closes it.
 * Flags: access type in bits 0-3 (3: DWordAcc), lock rule bit 4, update
 * rule bits 5-6 (0 Preserve, 1 WriteAsOnes, 2 WriteAsZeros).
 */
#define AML_FIELD_DWORD_WRITE_ZEROS	0x43
size_t aml_field(struct aml *a, const char *region, uint8_t flags);
void aml_field_unit(struct aml *a, const char *name, unsigned int bits);

/*
 * aml_create_dword_field - CreateDWordField(Arg@arg, @byte_index, @name): a
 * field over a Buffer that was passed to the method, like _OSC's capabilities.
 */
void aml_create_dword_field(struct aml *a, unsigned int arg, uint64_t byte_index,
			    const char *name);

/*
 * aml_uuid - ToUUID("aabbccdd-eeff-gghh-iijj-kkllmmnnoopp"), upper-case hex:
 * the 16-byte Buffer, first three fields little-endian, the rest in order.
 */
void aml_uuid(struct aml *a, const char *uuid);

/*
 * aml_pkglen_encode - encode the PkgLength (20.2.4) of an object whose
 * contents after the PkgLength are @body bytes; the PkgLength counts itself,
 * so the encoded value is @body plus 1-4. Returns the number of bytes written
 * to @out, or 0 if the value would exceed 2^28 - 1.
 */
unsigned int aml_pkglen_encode(uint8_t out[4], size_t body);

#endif
