// SPDX-License-Identifier: Apache-2.0
/*
 * An assigned device's regions past its BARs (src/vfio/regions.c) and its
 * expansion ROM (src/vfio/rom.c).
 *
 *  - vfio_region_caps_parse over hand-built VFIO_DEVICE_GET_REGION_INFO
 *    answers: each capability, a chain of them, and malformed chains
 *    (offsets inside the fixed part, past the buffer, unaligned, pointing
 *    backwards or to themselves, more areas than the buffer holds).
 *  - vfio_region_info through vd->get_region_info, played by fk_region_info
 *    as vfio-pci answers: caps that do not fit make it ask for a larger
 *    argsz, an absent region is EINVAL.
 *  - vfio_device_build of a small device on a fake VM (tests/unit/fake_vm.c)
 *    over a memfd laid out like a VFIO device fd (as test_vfio_dev.c does):
 *    vga=on's legacy VGA memory and ports forwarded to the VGA region, Intel
 *    IGD's OpRegion copied into guest RAM with ASLS pointing at it, the other
 *    device-specific regions left alone, and the ROM from a rom= file or
 *    from the device, with its size rules and its read-only slot.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/layout.h"
#include "fake_vfio_file.h"
#include "fake_vm.h"
#include "pci/msi.h"
#include "pci/pci.h"
#include "util.h"
#include "vfio/vfio.h"
#include "vm.h"

#define INFO_SZ		((uint32_t)sizeof(struct vfio_region_info))	/* 32 */
#define RW		(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)
/* VFIO_REGION_TYPE_PCI_VENDOR_TYPE is (1 << 31), which UBSan reports as an int overflow. */
#define PCI_VENDOR_TYPE	0x80000000u
#define IGD_TYPE	(PCI_VENDOR_TYPE | 0x8086u)
#define ASLS		0xFC
#define HOST_ASLS	0xdeadb000u	/* what the device's own ASLS holds */
#define HOST_ROM_REG	0xfeb00000u	/* the device's own ROM BAR register */

/* ---- an info buffer with its capability chain, as vfio-pci lays it out ---- */

struct chain {
	_Alignas(8) uint8_t b[4096];
	uint32_t len;		/* bytes used: the fixed part and the capabilities */
	uint32_t last;		/* offset of the last capability, 0: none */
};

static struct vfio_region_info *ch_info(struct chain *c)
{
	return (struct vfio_region_info *)c->b;
}

static void ch_init(struct chain *c, uint32_t flags, uint64_t size, uint64_t offset)
{
	memset(c, 0, sizeof(*c));
	c->len = INFO_SZ;
	*ch_info(c) = (struct vfio_region_info){ .argsz = INFO_SZ, .flags = flags, .size = size,
						 .offset = offset };
}

/* Append a capability of @size bytes (8-aligned as vfio_info_cap_add does), linked from the last. */
static struct vfio_info_cap_header *ch_add(struct chain *c, uint16_t id, uint32_t size)
{
	uint32_t off = c->len;
	struct vfio_info_cap_header *h = (void *)(c->b + off);

	assert_true(off + size <= sizeof(c->b));
	h->id = id;
	h->version = 1;
	h->next = 0;
	if (c->last)
		((struct vfio_info_cap_header *)(c->b + c->last))->next = off;
	else
		ch_info(c)->cap_offset = off;
	ch_info(c)->flags |= VFIO_REGION_INFO_FLAG_CAPS;
	c->last = off;
	c->len = off + ALIGN_UP(size, 8u);
	ch_info(c)->argsz = c->len;
	return h;
}

static struct vfio_region_info_cap_sparse_mmap *ch_sparse(struct chain *c, uint32_t n,
							   const uint64_t (*areas)[2])
{
	struct vfio_region_info_cap_sparse_mmap *sp =
		(void *)ch_add(c, VFIO_REGION_INFO_CAP_SPARSE_MMAP,
			       sizeof(*sp) + n * sizeof(sp->areas[0]));

	sp->nr_areas = n;
	for (uint32_t i = 0; i < n; i++) {
		sp->areas[i].offset = areas[i][0];
		sp->areas[i].size = areas[i][1];
	}
	return sp;
}

static struct vfio_region_info_cap_type *ch_type(struct chain *c, uint32_t type, uint32_t subtype)
{
	struct vfio_region_info_cap_type *t = (void *)ch_add(c, VFIO_REGION_INFO_CAP_TYPE,
							     sizeof(*t));

	t->type = type;
	t->subtype = subtype;
	return t;
}

static struct vfio_info_cap_header *ch_msix(struct chain *c)
{
	return ch_add(c, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, sizeof(struct vfio_info_cap_header));
}

static struct vfio_info_cap_header *ch_hdr(struct chain *c, uint32_t off)
{
	return (struct vfio_info_cap_header *)(c->b + off);
}

/* vfio_region_caps_parse of @c's first @len bytes, into an @out it must clear first. */
static int parse_len(const struct chain *c, size_t len, struct vfio_region_caps *out)
{
	memset(out, 0xa5, sizeof(*out));
	return vfio_region_caps_parse(c->b, len, out);
}

static int parse(const struct chain *c, struct vfio_region_caps *out)
{
	return parse_len(c, c->len, out);
}

static void assert_area(const struct vfio_area *a, uint64_t off, uint64_t size)
{
	assert_int_equal(a->off, off);
	assert_int_equal(a->size, size);
	assert_null(a->hva);
	assert_int_equal(a->slot, -1);
	assert_false(a->p2p);
}

static void assert_caps_empty(const struct vfio_region_caps *k)
{
	struct vfio_region_caps zero;

	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(k, &zero, sizeof(zero));
}

/* ---- 1. vfio_region_caps_parse ---- */

static void test_caps_none(void **state)
{
	struct vfio_region_caps k;
	struct chain c;

	/* A region without capabilities. */
	ch_init(&c, RW, 0x1000, 0);
	assert_int_equal(parse(&c, &k), 0);
	assert_caps_empty(&k);
	/* A chain is there, but the CAPS flag is not: it is not looked at. */
	ch_type(&c, 1, 2);
	ch_info(&c)->flags &= ~VFIO_REGION_INFO_FLAG_CAPS;
	assert_int_equal(parse(&c, &k), 0);
	assert_caps_empty(&k);
	/* CAPS with cap_offset 0 (the answer had no room for them): nothing either. */
	ch_info(&c)->flags |= VFIO_REGION_INFO_FLAG_CAPS;
	ch_info(&c)->cap_offset = 0;
	assert_int_equal(parse(&c, &k), 0);
	assert_caps_empty(&k);
}

static void test_caps_sparse(void **state)
{
	static const uint64_t areas[][2] = { { 0, 0x1000 }, { 0x2000, 0 }, { 0x3000, 0x2000 } };
	struct vfio_region_caps k;
	struct chain c;

	ch_init(&c, RW | VFIO_REGION_INFO_FLAG_MMAP, 0x10000, 0);
	ch_sparse(&c, 3, areas);
	assert_int_equal(parse(&c, &k), 0);
	assert_true(k.sparse);
	/* The zero-size area is no area. */
	assert_int_equal(k.nareas, 2);
	assert_area(&k.area[0], 0, 0x1000);
	assert_area(&k.area[1], 0x3000, 0x2000);
	assert_false(k.has_type);
	assert_false(k.msix_mappable);
}

/* Sparse with no areas: nothing may be mmap'd (not "all of it"). */
static void test_caps_sparse_empty(void **state)
{
	struct vfio_region_caps k;
	struct chain c;

	ch_init(&c, RW | VFIO_REGION_INFO_FLAG_MMAP, 0x10000, 0);
	ch_sparse(&c, 0, NULL);
	assert_int_equal(parse(&c, &k), 0);
	assert_true(k.sparse);
	assert_int_equal(k.nareas, 0);
}

/* More areas than VFIO_MAX_AREAS: the first ones, never past the array. */
static void test_caps_sparse_many(void **state)
{
	uint64_t areas[9][2];
	struct vfio_region_caps k;
	struct chain c;

	for (unsigned int i = 0; i < 9; i++) {
		areas[i][0] = (uint64_t)i * 0x2000;
		areas[i][1] = i == 1 ? 0 : 0x1000;
	}
	ch_init(&c, RW | VFIO_REGION_INFO_FLAG_MMAP, 0x20000, 0);
	ch_sparse(&c, 9, areas);
	assert_int_equal(parse(&c, &k), 0);
	assert_true(k.sparse);
	assert_int_equal(k.nareas, VFIO_MAX_AREAS);
	assert_area(&k.area[0], 0, 0x1000);
	for (unsigned int i = 1; i < VFIO_MAX_AREAS; i++)
		assert_area(&k.area[i], (uint64_t)(i + 1) * 0x2000, 0x1000);
}

static void test_caps_type(void **state)
{
	struct vfio_region_caps k;
	struct chain c;

	ch_init(&c, VFIO_REGION_INFO_FLAG_READ, 0x2000, 0);
	ch_type(&c, IGD_TYPE, VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION);
	assert_int_equal(parse(&c, &k), 0);
	assert_true(k.has_type);
	assert_int_equal(k.type, IGD_TYPE);
	assert_int_equal(k.subtype, VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION);
	assert_false(k.sparse);
	assert_int_equal(k.nareas, 0);
	assert_false(k.msix_mappable);
}

static void test_caps_msix(void **state)
{
	struct vfio_region_caps k;
	struct chain c;

	ch_init(&c, RW | VFIO_REGION_INFO_FLAG_MMAP, 0x4000, 0);
	ch_msix(&c);
	assert_int_equal(parse(&c, &k), 0);
	assert_true(k.msix_mappable);
	assert_false(k.sparse);
	assert_false(k.has_type);
}

/* All three, with capabilities kvmio does not know between them (skipped, the chain followed). */
static void test_caps_chain(void **state)
{
	static const uint64_t areas[][2] = { { 0x1000, 0x3000 }, { 0x8000, 0x8000 } };
	struct vfio_region_caps k;
	struct chain c;

	ch_init(&c, RW | VFIO_REGION_INFO_FLAG_MMAP, 0x10000, 0);
	ch_add(&c, VFIO_REGION_INFO_CAP_NVLINK2_SSATGT, 16);
	ch_sparse(&c, 2, areas);
	ch_add(&c, 0x7777, 40);
	ch_type(&c, VFIO_REGION_TYPE_GFX, VFIO_REGION_SUBTYPE_GFX_EDID);
	ch_msix(&c);
	ch_add(&c, 0xffff, 8);
	assert_int_equal(parse(&c, &k), 0);
	assert_true(k.sparse);
	assert_int_equal(k.nareas, 2);
	assert_area(&k.area[0], 0x1000, 0x3000);
	assert_area(&k.area[1], 0x8000, 0x8000);
	assert_true(k.has_type);
	assert_int_equal(k.type, VFIO_REGION_TYPE_GFX);
	assert_int_equal(k.subtype, VFIO_REGION_SUBTYPE_GFX_EDID);
	assert_true(k.msix_mappable);

	/* An unknown capability alone: skipped, nothing found, no error. */
	ch_init(&c, RW, 0x1000, 0);
	ch_add(&c, 0x1234, 64);
	assert_int_equal(parse(&c, &k), 0);
	assert_caps_empty(&k);
}

/* Where the first capability may not be. */
static void test_caps_bad_offset(void **state)
{
	struct vfio_region_caps k;
	struct chain c;

	/* Inside the fixed part. */
	for (uint32_t off = 4; off < INFO_SZ; off += 4) {
		ch_init(&c, RW, 0x1000, 0);
		ch_type(&c, 1, 1);
		ch_info(&c)->cap_offset = off;
		assert_int_equal(parse(&c, &k), -EINVAL);
		assert_false(k.has_type);
	}
	/* Not 4-byte aligned: a whole type cap there all the same. */
	for (uint32_t off = INFO_SZ + 1; off < INFO_SZ + 4; off++) {
		ch_init(&c, RW, 0x1000, 0);
		ch_type(&c, 1, 1);
		ch_add(&c, 0x7777, 64);		/* room past the type cap */
		memmove(c.b + off, c.b + INFO_SZ, sizeof(struct vfio_region_info_cap_type));
		ch_info(&c)->cap_offset = off;
		assert_int_equal(parse(&c, &k), -EINVAL);
		assert_false(k.has_type);
	}
	/* At or past the end of the buffer, or a header only partly inside it. */
	ch_init(&c, RW, 0x1000, 0);
	ch_type(&c, 1, 1);
	{
		const uint32_t offs[] = { c.len, c.len + 8, c.len - 4, 0x80000000u, 0xfffffffcu };

		for (unsigned int i = 0; i < ARRAY_SIZE(offs); i++) {
			ch_info(&c)->cap_offset = offs[i];
			assert_int_equal(parse(&c, &k), -EINVAL);
			assert_false(k.has_type);
		}
	}
	/* The buffer is what @len says, not what argsz says: the type cap is cut off. */
	ch_init(&c, RW, 0x1000, 0);
	ch_type(&c, 1, 1);
	ch_info(&c)->cap_offset = INFO_SZ;
	assert_int_equal(parse_len(&c, INFO_SZ + 8, &k), -EINVAL);
	assert_false(k.has_type);
	assert_int_equal(parse_len(&c, INFO_SZ + 16, &k), 0);
	assert_true(k.has_type);
}

/* next pointing backwards, to itself, or out: -EINVAL, what came before kept. */
static void test_caps_bad_next(void **state)
{
	static const uint64_t areas[][2] = { { 0, 0x1000 } };
	struct vfio_region_caps k;
	struct chain c;
	uint32_t first, second;

	/* To itself. */
	ch_init(&c, RW, 0x1000, 0);
	first = c.len;
	ch_type(&c, 5, 6);
	ch_hdr(&c, first)->next = first;
	assert_int_equal(parse(&c, &k), -EINVAL);
	assert_true(k.has_type);
	assert_int_equal(k.type, 5);
	assert_int_equal(k.subtype, 6);

	/* A sparse cap pointing to itself: its areas taken once. */
	{
		static const uint64_t two[][2] = { { 0, 0x1000 }, { 0x4000, 0x1000 } };

		ch_init(&c, RW | VFIO_REGION_INFO_FLAG_MMAP, 0x10000, 0);
		first = c.len;
		ch_sparse(&c, 2, two);
		ch_hdr(&c, first)->next = first;
		assert_int_equal(parse(&c, &k), -EINVAL);
		assert_true(k.sparse);
		assert_int_equal(k.nareas, 2);
		assert_area(&k.area[0], 0, 0x1000);
		assert_area(&k.area[1], 0x4000, 0x1000);
	}

	/* Backwards: a loop of two. */
	ch_init(&c, RW | VFIO_REGION_INFO_FLAG_MMAP, 0x1000, 0);
	first = c.len;
	ch_sparse(&c, 1, areas);
	second = c.len;
	ch_msix(&c);
	ch_hdr(&c, second)->next = first;
	assert_int_equal(parse(&c, &k), -EINVAL);
	assert_true(k.sparse);
	assert_int_equal(k.nareas, 1);	/* read once, not once per lap */
	assert_area(&k.area[0], 0, 0x1000);
	assert_true(k.msix_mappable);

	/* Backwards into the fixed part. */
	ch_hdr(&c, second)->next = 8;
	assert_int_equal(parse(&c, &k), -EINVAL);
	assert_true(k.msix_mappable);

	/* Forwards out of the buffer, and unaligned. */
	ch_hdr(&c, second)->next = c.len;
	assert_int_equal(parse(&c, &k), -EINVAL);
	assert_true(k.sparse && k.msix_mappable);
	ch_hdr(&c, second)->next = second + 10;
	assert_int_equal(parse(&c, &k), -EINVAL);
	assert_true(k.sparse && k.msix_mappable);
}

/* A long chain, each one forwards: bounded all the same, and the first kept. */
static void test_caps_long_chain(void **state)
{
	struct vfio_region_caps k;
	struct chain c;

	ch_init(&c, RW, 0x1000, 0);
	ch_type(&c, 7, 8);
	for (unsigned int i = 0; i < 12; i++)
		ch_add(&c, 0x7000, 8);
	assert_int_equal(parse(&c, &k), 0);
	assert_true(k.has_type);

	ch_init(&c, RW, 0x1000, 0);
	ch_type(&c, 7, 8);
	for (unsigned int i = 0; i < 400; i++)
		ch_add(&c, 0x7000, 8);
	assert_int_equal(parse(&c, &k), -EINVAL);
	assert_true(k.has_type);
	assert_int_equal(k.type, 7);
}

/* Capabilities cut short by the end of the buffer. */
static void test_caps_truncated(void **state)
{
	static const uint64_t areas[][2] = { { 0, 0x1000 }, { 0x2000, 0x1000 } };
	struct vfio_region_caps k;
	struct vfio_region_info_cap_sparse_mmap *sp;
	struct chain c;

	/* nr_areas larger than what the buffer holds; a type cap before it is kept. */
	ch_init(&c, RW | VFIO_REGION_INFO_FLAG_MMAP, 0x10000, 0);
	ch_type(&c, 9, 10);
	sp = ch_sparse(&c, 2, areas);
	sp->nr_areas = 3;
	assert_int_equal(parse(&c, &k), -EINVAL);
	assert_true(k.has_type);
	assert_int_equal(k.type, 9);
	assert_false(k.sparse);
	assert_int_equal(k.nareas, 0);
	sp->nr_areas = 0xffffffffu;
	assert_int_equal(parse(&c, &k), -EINVAL);
	assert_false(k.sparse);
	sp->nr_areas = 0x10000001u;	/* * 16 wraps to 16 in 32 bits */
	assert_int_equal(parse(&c, &k), -EINVAL);
	assert_false(k.sparse);
	sp->nr_areas = 2;
	assert_int_equal(parse(&c, &k), 0);
	assert_int_equal(k.nareas, 2);
	/* The last area's last byte outside the buffer. */
	assert_int_equal(parse_len(&c, c.len - 1, &k), -EINVAL);
	assert_false(k.sparse);

	/* A sparse cap of which only the header fits. */
	ch_init(&c, RW | VFIO_REGION_INFO_FLAG_MMAP, 0x10000, 0);
	ch_sparse(&c, 0, NULL);
	assert_int_equal(parse_len(&c, c.len - 8, &k), -EINVAL);
	assert_false(k.sparse);

	/* A type cap of which only the header fits. */
	ch_init(&c, RW, 0x1000, 0);
	ch_type(&c, 1, 2);
	assert_int_equal(parse_len(&c, c.len - 4, &k), -EINVAL);
	assert_false(k.has_type);

	/* Shorter than the fixed part: nothing is read. */
	ch_init(&c, RW, 0x1000, 0);
	ch_type(&c, 1, 2);
	for (size_t len = 0; len < INFO_SZ; len++) {
		assert_int_equal(parse_len(&c, len, &k), -EINVAL);
		assert_caps_empty(&k);
	}
}

/* ---- 2. vfio_region_info, through a stand-in for VFIO_DEVICE_GET_REGION_INFO ---- */

#define FR_MAX		80

struct fr_region {
	bool present;
	uint32_t flags;
	uint64_t size, offset;
	struct chain caps;	/* its capabilities, caps.len > INFO_SZ: some */
};

static struct {
	struct fr_region r[FR_MAX];
	unsigned int calls;
	uint32_t argsz[16];	/* of the first calls */
	uint32_t index[16];
	uint32_t max_index;
	uint32_t grow;		/* every answer: argsz + grow (a kernel that never has room) */
	int err;		/* every answer: this errno (negative), 0: none */
	bool bad;		/* a call vfio-pci would refuse */
} fr;

/*
 * vfio-pci's vfio_pci_ioctl_get_region_info: EINVAL for a region it does not
 * have; capabilities that do not fit make argsz the size that does (CAPS set,
 * cap_offset 0); otherwise they follow the fixed part (cap_offset 32).
 */
static int fk_region_info(struct vfio_device *d, struct vfio_region_info *info)
{
	uint32_t idx = info->index, argsz = info->argsz, need;
	const struct fr_region *r;

	if (fr.calls < ARRAY_SIZE(fr.argsz)) {
		fr.argsz[fr.calls] = argsz;
		fr.index[fr.calls] = idx;
	}
	fr.calls++;
	if (idx > fr.max_index)
		fr.max_index = idx;
	if (argsz < INFO_SZ) {
		fr.bad = true;
		return -EINVAL;
	}
	if (fr.err)
		return fr.err;
	/* All of what we were given is ours to write: ASan sees a buffer shorter than argsz. */
	memset((uint8_t *)info + INFO_SZ, 0, argsz - INFO_SZ);
	if (fr.grow) {
		info->flags = VFIO_REGION_INFO_FLAG_CAPS;
		info->cap_offset = 0;
		info->argsz = argsz + fr.grow;
		return 0;
	}
	if (idx >= FR_MAX || !fr.r[idx].present)
		return -EINVAL;
	r = &fr.r[idx];
	info->flags = r->flags;
	info->size = r->size;
	info->offset = r->offset;
	info->cap_offset = 0;
	if (r->caps.len > INFO_SZ) {
		need = r->caps.len;
		info->flags |= VFIO_REGION_INFO_FLAG_CAPS;
		if (argsz < need) {
			info->argsz = need;
			return 0;
		}
		memcpy((uint8_t *)info + INFO_SZ, r->caps.b + INFO_SZ, need - INFO_SZ);
		info->cap_offset = INFO_SZ;
	}
	return 0;
}

/* Region @idx of the stand-in; its capabilities to be added to the returned chain. */
static struct chain *fr_set(unsigned int idx, uint64_t offset, uint64_t size, uint32_t flags)
{
	struct fr_region *r = &fr.r[idx];

	assert_true(idx < FR_MAX);
	r->present = true;
	r->flags = flags;
	r->size = size;
	r->offset = offset;
	ch_init(&r->caps, 0, 0, 0);
	return &r->caps;
}

/* A device for vfio_region_info alone: nothing but the hook and a name. */
static struct vfio_device *bare_dev(void)
{
	static struct vfio_device d;

	memset(&d, 0, sizeof(d));
	d.fd = -1;
	snprintf(d.name, sizeof(d.name), "vfio-bare");
	d.get_region_info = fk_region_info;
	return &d;
}

static void info_call(struct vfio_device *d, unsigned int idx, int want, struct vfio_region *r,
		      struct vfio_region_caps *k)
{
	memset(r, 0xa5, sizeof(*r));
	memset(k, 0xa5, sizeof(*k));
	fr.calls = 0;
	assert_int_equal(vfio_region_info(d, idx, r, k), want);
	assert_false(fr.bad);
}

static void test_info_grow(void **state)
{
	static const uint64_t areas[][2] = { { 0, 0x1000 }, { 0x3000, 0x1000 } };
	struct vfio_device *d = bare_dev();
	struct vfio_region r;
	struct vfio_region_caps k;
	struct chain *c;

	memset(&fr, 0, sizeof(fr));
	c = fr_set(9, 0x700000, 0x4000, RW | VFIO_REGION_INFO_FLAG_MMAP);
	ch_sparse(c, 2, areas);
	ch_type(c, IGD_TYPE, VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG);
	ch_add(c, 0x4444, 512);		/* a big one: the answer is well past the fixed part */
	info_call(d, 9, 0, &r, &k);
	/* Asked with the fixed part, then again with the size vfio-pci said. */
	assert_int_equal(fr.calls, 2);
	assert_int_equal(fr.argsz[0], INFO_SZ);
	assert_int_equal(fr.argsz[1], c->len);
	assert_int_equal(fr.index[0], 9);
	assert_int_equal(fr.index[1], 9);
	assert_int_equal(r.flags, RW | VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS);
	assert_int_equal(r.size, 0x4000);
	assert_int_equal(r.offset, 0x700000);
	assert_int_equal(r.nareas, 0);		/* the areas are the caller's to take */
	assert_true(k.sparse);
	assert_int_equal(k.nareas, 2);
	assert_area(&k.area[0], 0, 0x1000);
	assert_area(&k.area[1], 0x3000, 0x1000);
	assert_true(k.has_type);
	assert_int_equal(k.type, IGD_TYPE);
	assert_int_equal(k.subtype, VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG);

	/* Without capabilities: one call. */
	fr_set(2, 0x100000, 0x1000, RW);
	info_call(d, 2, 0, &r, &k);
	assert_int_equal(fr.calls, 1);
	assert_int_equal(r.size, 0x1000);
	assert_int_equal(r.offset, 0x100000);
	assert_int_equal(r.flags, RW);
	assert_int_equal(r.nareas, 0);
	assert_caps_empty(&k);
}

/* EINVAL: vfio-pci has no such region; it is absent, all zero, and not an error. */
static void test_info_absent(void **state)
{
	struct vfio_device *d = bare_dev();
	struct vfio_region r, rz;
	struct vfio_region_caps k;

	memset(&fr, 0, sizeof(fr));
	memset(&rz, 0, sizeof(rz));
	info_call(d, VFIO_PCI_VGA_REGION_INDEX, 0, &r, &k);
	assert_int_equal(fr.calls, 1);
	assert_memory_equal(&r, &rz, sizeof(r));
	assert_caps_empty(&k);

	/* Any other error is one. */
	fr.err = -EIO;
	info_call(d, 0, -EIO, &r, &k);
	assert_int_equal(r.size, 0);
	fr.err = -EFAULT;
	info_call(d, 0, -EFAULT, &r, &k);
}

/* A stand-in that always wants more: -E2BIG after a few tries, not a loop. */
static void test_info_e2big(void **state)
{
	struct vfio_device *d = bare_dev();
	struct vfio_region r;
	struct vfio_region_caps k;

	memset(&fr, 0, sizeof(fr));
	fr.grow = 8;
	info_call(d, 1, -E2BIG, &r, &k);
	assert_true(fr.calls >= 2 && fr.calls <= 8);
	for (unsigned int i = 1; i < fr.calls && i < ARRAY_SIZE(fr.argsz); i++)
		assert_int_equal(fr.argsz[i], fr.argsz[i - 1] + 8);
	assert_int_equal(r.size, 0);
	assert_caps_empty(&k);

	/* A size no answer needs: refused at once rather than allocated. */
	fr.grow = 0x7fff0000u;
	info_call(d, 1, -E2BIG, &r, &k);
	assert_true(fr.calls <= 2);
}

/* The answer's chain is broken: the region is still there, with what came before the break. */
static void test_info_malformed(void **state)
{
	struct vfio_device *d = bare_dev();
	struct vfio_region r;
	struct vfio_region_caps k;
	struct chain *c;
	uint32_t first;

	memset(&fr, 0, sizeof(fr));
	c = fr_set(10, 0x800000, 0x2000, VFIO_REGION_INFO_FLAG_READ);
	first = c->len;
	ch_type(c, IGD_TYPE, VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION);
	ch_hdr(c, first)->next = first;		/* a loop */
	info_call(d, 10, 0, &r, &k);
	assert_int_equal(r.size, 0x2000);
	assert_int_equal(r.offset, 0x800000);
	assert_true(k.has_type);
	assert_int_equal(k.subtype, VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION);
}

/* ---- the device: a memfd laid out like a VFIO device fd, on a fake VM ---- */

#define RAM_SIZE	(2 * MiB)

#define CFG_OFF		0x000000ULL	/* 256 bytes: conventional PCI */
#define ROM_OFF		0x010000ULL	/* up to 64 KiB */
#define VGA_OFF		0x100000ULL
#define VGA_SIZE	0x0C0000ULL	/* 0x00000-0xBFFFF: memory and ports at their addresses */
#define OPR_OFF		0x200000ULL	/* up to 128 KiB */
#define OPR_SIZE	0x2000ULL
#define X_OFF		0x230000ULL	/* other device-specific regions */
#define X_SIZE		0x1000ULL
#define FILE_SIZE	0x240000ULL

static struct vm vm;
static struct pci_host host;
static struct vfio_device *vd;
static uint8_t *ram;
static unsigned int base_mmio, base_pio;
static unsigned int ndev;
static char tmp_path[64];

/* Config space as the hardware has it: an Intel display controller, no capabilities. */
static void hw_build(uint8_t *c)
{
	memset(c, 0, PCI_CFG_LEGACY_SIZE);
	for (unsigned int i = 0x40; i < PCI_CFG_LEGACY_SIZE; i++)
		c[i] = pat(i);
	le_write(c + PCI_VENDOR_ID, 2, 0x8086);
	le_write(c + PCI_DEVICE_ID, 2, 0x3e92);
	le_write(c + PCI_CLASS_REVISION, 4, 0x03000002);
	le_write(c + PCI_SUBSYSTEM_VENDOR_ID, 2, 0x8086);
	le_write(c + PCI_SUBSYSTEM_ID, 2, 0x2212);
	le_write(c + PCI_ROM_ADDRESS, 4, HOST_ROM_REG);
	le_write(c + ASLS, 4, HOST_ASLS);
}

static int fk_set_irqs(struct vfio_device *d, struct vfio_irq_set *s)
{
	return 0;	/* the device has no interrupts; nothing to enable */
}

static int setup(void **state)
{
	static uint8_t buf[FILE_SIZE];
	uint8_t hw[PCI_CFG_LEGACY_SIZE];

	memset(&fr, 0, sizeof(fr));
	ndev = 0;
	tmp_path[0] = 0;
	fake_vm_init(&vm);
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(ram != MAP_FAILED);
	vm.mem.nr = 1;
	vm.mem.ram_size = RAM_SIZE;
	vm.mem.region[0] = (struct mem_region){ .gpa = 0, .size = RAM_SIZE, .hva = ram };
	assert_int_equal(irq_routes_init(&vm), 0);
	assert_int_equal(pci_host_init(&host, &vm, 4 * GiB, 4 * GiB), 0);
	vm.pci = &host;

	memfd = memfd_create("vfio-regions", MFD_CLOEXEC);
	assert_true(memfd >= 0);
	for (uint64_t i = 0; i < FILE_SIZE; i++)
		buf[i] = pat(i);
	memcpy(buf + OPR_OFF, "IntelGraphicsMem", 16);
	hw_build(hw);
	memcpy(buf + CFG_OFF, hw, sizeof(hw));
	assert_int_equal(pwrite(memfd, buf, FILE_SIZE, 0), (ssize_t)FILE_SIZE);
	base_mmio = fake_bus_nranges(BUS_MMIO);
	base_pio = fake_bus_nranges(BUS_PIO);
	return 0;
}

static int teardown(void **state)
{
	struct stat st;

	vfio_devices_exit(&vm);
	vd = NULL;
	/* Nothing of any device is left: no slot, no range on the bus, no OpRegion. */
	assert_int_equal(fake_mmio_nslots(), 0);
	assert_int_equal(fake_bus_nranges(BUS_MMIO), base_mmio);
	assert_int_equal(fake_bus_nranges(BUS_PIO), base_pio);
	assert_false(vm.igd_opregion);
	/* Nothing kvmio wrote made the device file grow. */
	assert_int_equal(fstat(memfd, &st), 0);
	assert_int_equal(st.st_size, FILE_SIZE);
	pci_host_exit(&host);
	irq_routes_exit(&vm);
	fake_vm_destroy(&vm);
	munmap(ram, RAM_SIZE);
	close(memfd);
	memfd = -1;
	if (tmp_path[0])
		unlink(tmp_path);
	return 0;
}

static void region(struct vfio_device *d, unsigned int index, uint64_t off, uint64_t size,
		   uint32_t flags)
{
	struct vfio_region *r = &d->region[index];

	memset(r, 0, sizeof(*r));
	r->offset = off;
	r->size = size;
	r->flags = flags;
}

/* A new device, registered: config space only; the caller adds what the test needs. */
static struct vfio_device *dev_new(void)
{
	struct vfio_device *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->vm = &vm;
	d->fd = dup(memfd);
	assert_true(d->fd >= 0);
	snprintf(d->name, sizeof(d->name), "vfio-regions-%u", ndev++);
	d->intx_fd = d->intx_resample_fd = -1;
	pthread_mutex_init(&d->irq_lock, NULL);
	d->set_irqs = fk_set_irqs;
	d->get_region_info = fk_region_info;
	d->num_regions = VFIO_PCI_NUM_REGIONS;
	region(d, VFIO_PCI_CONFIG_REGION_INDEX, CFG_OFF, PCI_CFG_LEGACY_SIZE, RW);
	assert_int_equal(vfio_device_register(d, NULL), 0);
	return d;
}

/* A device whose build failed: off the registry, freed. */
static void dev_drop(struct vfio_device *d)
{
	assert_int_equal(dev_remove(&vm.devs, &d->dev), 0);
}

/* ---- the guest's accessors ---- */

static uint64_t cfg_rd_of(struct vfio_device *d, unsigned int reg, unsigned int len)
{
	uint8_t b[8];

	memset(b, 0x5a, sizeof(b));
	pci_cfg_read(&host, d->pci.devfn, reg, b, len);
	return le_read(b, len);
}

static void cfg_wr_of(struct vfio_device *d, unsigned int reg, unsigned int len, uint64_t v)
{
	uint8_t b[8];

	le_write(b, len, v);
	pci_cfg_write(&host, d->pci.devfn, reg, b, len);
}

static uint64_t cfg_rd(unsigned int reg, unsigned int len)
{
	return cfg_rd_of(vd, reg, len);
}

static void cfg_wr(unsigned int reg, unsigned int len, uint64_t v)
{
	cfg_wr_of(vd, reg, len, v);
}

static int bus_try(enum bus_space sp, uint64_t addr, uint8_t *b, unsigned int len, bool wr)
{
	return bus_dispatch(&vm.bus, NULL, sp, addr, b, len, wr);
}

static uint64_t bus_rd(enum bus_space sp, uint64_t addr, unsigned int len)
{
	uint8_t b[8];

	memset(b, 0x5a, sizeof(b));
	assert_int_equal(bus_try(sp, addr, b, len, false), 0);
	return le_read(b, len);
}

static void bus_wr(enum bus_space sp, uint64_t addr, unsigned int len, uint64_t v)
{
	uint8_t b[8];

	le_write(b, len, v);
	assert_int_equal(bus_try(sp, addr, b, len, true), 0);
}

static bool unclaimed(enum bus_space sp, uint64_t addr)
{
	uint8_t b[4];

	return bus_try(sp, addr, b, 1, false) == -ENOENT;
}

/* Linux's sizing of the ROM BAR: all-ones but enable, read, restore. */
static uint32_t size_rom(void)
{
	uint32_t old = (uint32_t)cfg_rd(PCI_ROM_ADDRESS, 4), sz;

	cfg_wr(PCI_ROM_ADDRESS, 4, ~(uint32_t)PCI_ROM_ADDRESS_ENABLE);
	sz = (uint32_t)cfg_rd(PCI_ROM_ADDRESS, 4);
	cfg_wr(PCI_ROM_ADDRESS, 4, old);
	assert_int_equal(cfg_rd(PCI_ROM_ADDRESS, 4), old);
	return sz;
}

/* The device's own ROM BAR register and ASLS: never written by kvmio or the guest. */
static void assert_hw_header_intact(void)
{
	assert_int_equal(file_rd(CFG_OFF + PCI_ROM_ADDRESS, 4), HOST_ROM_REG);
	assert_int_equal(file_rd(CFG_OFF + ASLS, 4), HOST_ASLS);
}

/* ---- 3. vga=on ---- */

static void vga_region(uint64_t size, uint32_t flags)
{
	fr_set(VFIO_PCI_VGA_REGION_INDEX, VGA_OFF, size, flags);
}

static struct vfio_device *vga_dev(void)
{
	struct vfio_device *d = dev_new();

	d->vga = true;
	return d;
}

static void assert_vga_forwarded(void)
{
	static const uint64_t mem[] = { 0xA0000, 0xA0001, 0xA1234, 0xB8000, 0xBFFF8 };

	/* Memory, every size, both ways. */
	for (unsigned int i = 0; i < ARRAY_SIZE(mem); i++) {
		for (unsigned int len = 1; len <= 8; len *= 2) {
			uint64_t a = mem[i], v = 0x0123456789abcdefULL ^ (a << 8) ^ len;

			assert_int_equal(bus_rd(BUS_MMIO, a, len), file_rd(VGA_OFF + a, len));
			bus_wr(BUS_MMIO, a, len, v);
			assert_int_equal(file_rd(VGA_OFF + a, len), v & (~0ULL >> (64 - 8 * len)));
			file_wr(VGA_OFF + a, len, ~v);
			assert_int_equal(bus_rd(BUS_MMIO, a, len), ~v & (~0ULL >> (64 - 8 * len)));
		}
	}
	assert_int_equal(bus_rd(BUS_MMIO, 0xBFFFF, 1), file_rd(VGA_OFF + 0xBFFFF, 1));
	/* Every port of both ranges, both ways. */
	for (uint16_t p = 0x3B0; p < 0x3E0; p++) {
		if (p >= 0x3BC && p < 0x3C0)
			continue;
		assert_int_equal(bus_rd(BUS_PIO, p, 1), file_rd(VGA_OFF + p, 1));
		bus_wr(BUS_PIO, p, 1, (uint8_t)(p ^ 0x5a));
		assert_int_equal(file_rd(VGA_OFF + p, 1), (uint8_t)(p ^ 0x5a));
		file_wr(VGA_OFF + p, 1, (uint8_t)~p);
		assert_int_equal(bus_rd(BUS_PIO, p, 1), (uint8_t)~p);
	}
	/* Word accesses, as the CRTC index/data pair takes them. */
	bus_wr(BUS_PIO, 0x3D4, 2, 0x550e);
	assert_int_equal(file_rd(VGA_OFF + 0x3D4, 2), 0x550e);
	file_wr(VGA_OFF + 0x3C4, 2, 0x0302);
	assert_int_equal(bus_rd(BUS_PIO, 0x3C4, 2), 0x0302);
}

static void assert_vga_bounds(void)
{
	uint64_t past = file_rd(VGA_OFF + 0x3BC, 1);

	assert_true(unclaimed(BUS_MMIO, 0x9FFFF));
	assert_true(unclaimed(BUS_MMIO, 0xC0000));
	assert_true(unclaimed(BUS_PIO, 0x3AF));
	assert_true(unclaimed(BUS_PIO, 0x3BC));
	assert_true(unclaimed(BUS_PIO, 0x3BF));
	assert_true(unclaimed(BUS_PIO, 0x3E0));
	/* A word at the last mono port: the bus gives the device its one byte only. */
	bus_wr(BUS_PIO, 0x3BB, 2, 0xeeaa);
	assert_int_equal(file_rd(VGA_OFF + 0x3BB, 1), 0xaa);
	assert_int_equal(file_rd(VGA_OFF + 0x3BC, 1), past);
}

static void test_vga(void **state)
{
	vm.vga_hole = true;
	vga_region(VGA_SIZE, RW);
	vd = vga_dev();
	assert_int_equal(vfio_device_build(vd), 0);
	assert_true(vd->vga_claimed);
	assert_int_equal(fake_bus_nranges(BUS_MMIO), base_mmio + 1);
	assert_int_equal(fake_bus_nranges(BUS_PIO), base_pio + 2);
	assert_int_equal(fake_pio_range(0x3B0), 12);
	assert_int_equal(fake_pio_range(0x3C0), 32);
	assert_vga_forwarded();
	assert_vga_bounds();
	/* Config space is the device's as ever. */
	assert_int_equal(cfg_rd(PCI_VENDOR_ID, 4), 0x3e928086);
	/* The VGA region came from the device, as asked. */
	assert_int_equal(vd->region[VFIO_PCI_VGA_REGION_INDEX].offset, VGA_OFF);
	assert_int_equal(vd->region[VFIO_PCI_VGA_REGION_INDEX].size, VGA_SIZE);
}

/* Without vga=on: the VGA region is not even asked for, nothing is claimed. */
static void test_vga_off(void **state)
{
	vm.vga_hole = true;
	vga_region(VGA_SIZE, RW);
	vd = dev_new();
	assert_int_equal(vfio_device_build(vd), 0);
	assert_false(vd->vga_claimed);
	assert_true(unclaimed(BUS_MMIO, 0xA0000));
	assert_true(unclaimed(BUS_PIO, 0x3C0));
	for (unsigned int i = 0; i < fr.calls && i < ARRAY_SIZE(fr.index); i++)
		assert_int_not_equal(fr.index[i], VFIO_PCI_VGA_REGION_INDEX);
}

/* A VM started without the hole (a hot-add): refused, nothing claimed. */
static void test_vga_no_hole(void **state)
{
	vga_region(VGA_SIZE, RW);
	vd = vga_dev();
	assert_int_equal(vfio_device_build(vd), -EINVAL);
	assert_int_equal(fake_bus_nranges(BUS_MMIO), base_mmio);
	assert_int_equal(fake_bus_nranges(BUS_PIO), base_pio);
	assert_null(vd->pci.host);		/* not on the PCI bus either */
	dev_drop(vd);
	vd = NULL;
}

/* No usable VGA region: too small, read-only, write-only, or none. */
static void test_vga_bad_region(void **state)
{
	static const struct { uint64_t size; uint32_t flags; bool absent; } bad[] = {
		{ VGA_SIZE - 1, RW, false },
		{ 0x20000, RW, false },
		{ VGA_SIZE, VFIO_REGION_INFO_FLAG_READ, false },
		{ VGA_SIZE, VFIO_REGION_INFO_FLAG_WRITE, false },
		{ 0, 0, true },
	};

	vm.vga_hole = true;
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&fr, 0, sizeof(fr));
		if (!bad[i].absent)
			vga_region(bad[i].size, bad[i].flags);
		vd = vga_dev();
		assert_int_equal(vfio_device_build(vd), -ENODEV);
		assert_false(vd->vga_claimed);
		assert_int_equal(fake_bus_nranges(BUS_MMIO), base_mmio);
		assert_int_equal(fake_bus_nranges(BUS_PIO), base_pio);
		dev_drop(vd);
		vd = NULL;
	}
	/* The VGA region of a VGA device is larger than needed: fine. */
	memset(&fr, 0, sizeof(fr));
	vga_region(VGA_SIZE + 0x1000, RW | VFIO_REGION_INFO_FLAG_MMAP);
	vd = vga_dev();
	assert_int_equal(vfio_device_build(vd), 0);
	assert_int_equal(bus_rd(BUS_PIO, 0x3CC, 1), file_rd(VGA_OFF + 0x3CC, 1));
}

/* Two vga=on devices: the second is refused, the first keeps working. */
static void test_vga_second(void **state)
{
	struct vfio_device *d2;

	vm.vga_hole = true;
	vga_region(VGA_SIZE, RW);
	vd = vga_dev();
	assert_int_equal(vfio_device_build(vd), 0);
	d2 = vga_dev();
	assert_int_equal(vfio_device_build(d2), -EEXIST);
	assert_false(d2->vga_claimed);
	assert_int_equal(fake_bus_nranges(BUS_MMIO), base_mmio + 1);
	assert_int_equal(fake_bus_nranges(BUS_PIO), base_pio + 2);
	dev_drop(d2);
	/* Its removal took nothing of the first's. */
	assert_int_equal(fake_bus_nranges(BUS_MMIO), base_mmio + 1);
	assert_int_equal(fake_bus_nranges(BUS_PIO), base_pio + 2);
	assert_vga_forwarded();
	assert_vga_bounds();
	/* A device without vga=on beside it is fine. */
	d2 = dev_new();
	assert_int_equal(vfio_device_build(d2), 0);
	assert_int_equal(fake_bus_nranges(BUS_PIO), base_pio + 2);
}

static void dummy_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len, bool is_write)
{
	if (!is_write)
		memset(data, 0x77, len);
}

/* The colour ports are another device's: refused, and what was claimed before them given back. */
static void test_vga_ports_taken(void **state)
{
	uint8_t b[1];

	assert_int_equal(bus_register(&vm.bus, BUS_PIO, 0x3D4, 2, dummy_io, NULL, "crtc"), 0);
	vm.vga_hole = true;
	vga_region(VGA_SIZE, RW);
	vd = vga_dev();
	assert_int_equal(vfio_device_build(vd), -EEXIST);
	assert_false(vd->vga_claimed);
	assert_int_equal(fake_bus_nranges(BUS_MMIO), base_mmio);
	assert_int_equal(fake_bus_nranges(BUS_PIO), base_pio + 1);
	assert_true(unclaimed(BUS_MMIO, 0xA0000));
	assert_true(unclaimed(BUS_PIO, 0x3B0));
	assert_int_equal(bus_try(BUS_PIO, 0x3D4, b, 1, false), 0);
	assert_int_equal(b[0], 0x77);
	dev_drop(vd);
	vd = NULL;
	assert_int_equal(bus_unregister(&vm.bus, BUS_PIO, 0x3D4), 0);
}

/* A failure after the VGA ranges are claimed gives them back. */
static void test_vga_then_fail(void **state)
{
	struct chain *c;

	vm.vga_hole = true;
	vga_region(VGA_SIZE, RW);
	c = fr_set(9, OPR_OFF, BOOT_OPREGION_MAX + 0x1000, VFIO_REGION_INFO_FLAG_READ);
	ch_type(c, IGD_TYPE, VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION);
	vd = vga_dev();
	vd->num_regions = 10;
	assert_int_not_equal(vfio_device_build(vd), 0);
	assert_false(vd->vga_claimed);
	assert_int_equal(fake_bus_nranges(BUS_MMIO), base_mmio);
	assert_int_equal(fake_bus_nranges(BUS_PIO), base_pio);
	dev_drop(vd);
	vd = NULL;
	/* And another may have them now. */
	memset(&fr, 0, sizeof(fr));
	vga_region(VGA_SIZE, RW);
	vd = vga_dev();
	assert_int_equal(vfio_device_build(vd), 0);
	assert_vga_forwarded();
}

/* After removal nothing is left on the bus, and a new vga=on device can have the ranges. */
static void test_vga_teardown(void **state)
{
	vm.vga_hole = true;
	vga_region(VGA_SIZE, RW);
	vd = vga_dev();
	assert_int_equal(vfio_device_build(vd), 0);
	vfio_devices_exit(&vm);
	vd = NULL;
	assert_int_equal(fake_bus_nranges(BUS_MMIO), base_mmio);
	assert_int_equal(fake_bus_nranges(BUS_PIO), base_pio);
	assert_true(unclaimed(BUS_MMIO, 0xA0000));
	assert_true(unclaimed(BUS_PIO, 0x3B0));
	assert_true(unclaimed(BUS_PIO, 0x3C0));
	vd = vga_dev();
	assert_int_equal(vfio_device_build(vd), 0);
	assert_vga_forwarded();
}

/* ---- 4. Intel IGD OpRegion and the other device-specific regions ---- */

static void opregion_region(unsigned int idx, uint64_t off, uint64_t size)
{
	struct chain *c = fr_set(idx, off, size, VFIO_REGION_INFO_FLAG_READ);

	ch_type(c, IGD_TYPE, VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION);
}

static struct vfio_device *igd_dev(unsigned int num_regions)
{
	struct vfio_device *d = dev_new();

	d->num_regions = num_regions;
	return d;
}

/* Guest RAM at [gpa, gpa+len) is the device file's [off, off+len). */
static bool ram_is_file(uint64_t gpa, uint64_t off, uint64_t len)
{
	uint8_t *want = malloc(len);
	bool same;

	assert_non_null(want);
	assert_int_equal(pread(memfd, want, len, (off_t)off), (ssize_t)len);
	same = !memcmp(ram + gpa, want, len);
	free(want);
	return same;
}

static bool ram_zero(uint64_t gpa, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		if (ram[gpa + i])
			return false;
	return true;
}

static void test_opregion(void **state)
{
	opregion_region(9, OPR_OFF, OPR_SIZE);
	vd = igd_dev(10);
	assert_int_equal(vfio_device_build(vd), 0);
	/* The 8 KiB are in guest RAM, and nothing past them. */
	assert_memory_equal(ram + BOOT_OPREGION_ADDR, "IntelGraphicsMem", 16);
	assert_true(ram_is_file(BOOT_OPREGION_ADDR, OPR_OFF, OPR_SIZE));
	assert_true(ram_zero(BOOT_OPREGION_ADDR + OPR_SIZE, 0x100));
	assert_true(ram_zero(BOOT_OPREGION_ADDR - 0x100, 0x100));
	assert_true(vm.igd_opregion);
	assert_true(vd->igd_opregion);
	/* ASLS points at the copy. */
	assert_int_equal(cfg_rd(ASLS, 4), BOOT_OPREGION_ADDR);
	assert_int_equal(cfg_rd(ASLS, 2), BOOT_OPREGION_ADDR & 0xffff);
	assert_int_equal(cfg_rd(ASLS + 2, 1), (BOOT_OPREGION_ADDR >> 16) & 0xff);
	/* The guest may move it: its own register, never the device's. */
	cfg_wr(ASLS, 4, 0x7ff00000);
	assert_int_equal(cfg_rd(ASLS, 4), 0x7ff00000);
	cfg_wr(ASLS + 1, 1, 0x12);
	assert_int_equal(cfg_rd(ASLS, 4), 0x7ff01200);
	assert_hw_header_intact();
	/* Its neighbours are still the device's. */
	assert_int_equal(cfg_rd(0xF8, 4), file_rd(CFG_OFF + 0xF8, 4));
	file_wr(CFG_OFF + 0xF8, 4, 0x600df00d);
	assert_int_equal(cfg_rd(0xF8, 4), 0x600df00d);
	/* The copy is the guest's: the device's region is not written back. */
	ram[BOOT_OPREGION_ADDR + 0x100] ^= 0xff;
	assert_int_equal(file_rd(OPR_OFF + 0x100, 1), pat(OPR_OFF + 0x100));
	/* Removal gives the VM's OpRegion back. */
	vfio_devices_exit(&vm);
	vd = NULL;
	assert_false(vm.igd_opregion);
	/* So a later IGD may have it. */
	memset(ram + BOOT_OPREGION_ADDR, 0, OPR_SIZE);
	vd = igd_dev(10);
	assert_int_equal(vfio_device_build(vd), 0);
	assert_true(vm.igd_opregion);
	assert_true(ram_is_file(BOOT_OPREGION_ADDR, OPR_OFF, OPR_SIZE));
}

/* One IGD OpRegion per VM: a second device is refused, the first keeps it. */
static void test_opregion_second(void **state)
{
	struct vfio_device *d2;

	opregion_region(9, OPR_OFF, OPR_SIZE);
	vd = igd_dev(10);
	assert_int_equal(vfio_device_build(vd), 0);
	/* The second one's region has other bytes: they must not land in RAM. */
	memset(&fr.r[9], 0, sizeof(fr.r[9]));
	opregion_region(9, X_OFF, X_SIZE);
	d2 = igd_dev(10);
	assert_int_equal(vfio_device_build(d2), -EBUSY);
	assert_false(d2->igd_opregion);
	dev_drop(d2);
	assert_true(vm.igd_opregion);
	assert_true(vd->igd_opregion);
	assert_true(ram_is_file(BOOT_OPREGION_ADDR, OPR_OFF, OPR_SIZE));
	assert_int_equal(cfg_rd(ASLS, 4), BOOT_OPREGION_ADDR);
}

/* Sizes: 1 KiB to 128 KiB (the reserved room below the ACPI tables). */
static void test_opregion_size(void **state)
{
	/* Over 128 KiB: refused, nothing copied, ASLS not taken. */
	opregion_region(9, OPR_OFF, BOOT_OPREGION_MAX + 1);
	vd = igd_dev(10);
	assert_int_equal(vfio_device_build(vd), -EINVAL);
	assert_false(vm.igd_opregion);
	assert_true(ram_zero(BOOT_OPREGION_ADDR, BOOT_OPREGION_MAX));
	dev_drop(vd);
	/* Under 1 KiB: refused. */
	opregion_region(9, OPR_OFF, 0x3ff);
	vd = igd_dev(10);
	assert_int_equal(vfio_device_build(vd), -EINVAL);
	assert_false(vm.igd_opregion);
	dev_drop(vd);
	/* Exactly 128 KiB: all of it, up to the ACPI tables. */
	opregion_region(9, OPR_OFF, BOOT_OPREGION_MAX);
	vd = igd_dev(10);
	assert_int_equal(vfio_device_build(vd), 0);
	assert_true(ram_is_file(BOOT_OPREGION_ADDR, OPR_OFF, BOOT_OPREGION_MAX));
	assert_true(ram_zero(BOOT_ACPI_START, 0x100));
}

/* No "IntelGraphicsMem" signature: given as it is. */
static void test_opregion_unsigned(void **state)
{
	opregion_region(12, X_OFF, X_SIZE);
	vd = igd_dev(13);
	assert_int_equal(vfio_device_build(vd), 0);
	assert_true(vm.igd_opregion);
	assert_true(ram_is_file(BOOT_OPREGION_ADDR, X_OFF, X_SIZE));
	assert_int_equal(cfg_rd(ASLS, 4), BOOT_OPREGION_ADDR);
}

/* Regions kvmio does not use: the build goes on without them, nothing taken. */
static void test_extra_unused(void **state)
{
	struct chain *c;

	ch_type(fr_set(9, X_OFF, X_SIZE, VFIO_REGION_INFO_FLAG_READ), IGD_TYPE,
		VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG);
	ch_type(fr_set(10, X_OFF, X_SIZE, VFIO_REGION_INFO_FLAG_READ), IGD_TYPE,
		VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG);
	ch_type(fr_set(11, X_OFF, X_SIZE, RW), VFIO_REGION_TYPE_GFX, VFIO_REGION_SUBTYPE_GFX_EDID);
	/* 12: absent (vfio-pci answers EINVAL) */
	ch_type(fr_set(13, X_OFF, X_SIZE, RW), PCI_VENDOR_TYPE | 0x10de,
		VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM);
	ch_type(fr_set(14, X_OFF, X_SIZE, RW), 0x1234, 0x5678);
	/* An Intel vendor region of a subtype kvmio does not know. */
	ch_type(fr_set(15, X_OFF, X_SIZE, RW), IGD_TYPE, 0x77);
	/* The OpRegion subtype under another vendor, or without the PCI vendor bit. */
	ch_type(fr_set(16, X_OFF, X_SIZE, RW), PCI_VENDOR_TYPE | 0x1002,
		VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION);
	ch_type(fr_set(17, X_OFF, X_SIZE, RW), 0x8086, VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION);
	ch_type(fr_set(18, X_OFF, X_SIZE, RW), VFIO_REGION_TYPE_MIGRATION_DEPRECATED,
		VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED);
	/* No type at all. */
	fr_set(19, X_OFF, X_SIZE, RW);
	/* A type but size 0. */
	c = fr_set(20, X_OFF, 0, RW);
	ch_type(c, IGD_TYPE, VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION);
	/* A broken chain: what came before the break (nothing) is used. */
	c = fr_set(21, X_OFF, X_SIZE, RW);
	ch_add(c, 0x7777, 8)->next = 4;
	vd = igd_dev(22);
	assert_int_equal(vfio_device_build(vd), 0);
	/* Each was asked about. */
	assert_int_equal(fr.max_index, 21);
	assert_false(vm.igd_opregion);
	assert_false(vd->igd_opregion);
	assert_true(ram_zero(BOOT_OPREGION_ADDR, BOOT_OPREGION_MAX));
	/* ASLS is the device's own, passed through. */
	assert_int_equal(cfg_rd(ASLS, 4), HOST_ASLS);
}

/* A device fd claiming many regions: a bounded number asked about. */
static void test_extra_many(void **state)
{
	vd = igd_dev(100000);
	assert_int_equal(vfio_device_build(vd), 0);
	assert_true(fr.calls < 1000);
	assert_false(vm.igd_opregion);
}

/* An OpRegion with the VGA ranges on: both, side by side (0xA0000-0xBFFFF, then 0xC0000). */
static void test_opregion_vga(void **state)
{
	vm.vga_hole = true;
	vga_region(VGA_SIZE, RW);
	opregion_region(9, OPR_OFF, OPR_SIZE);
	vd = vga_dev();
	vd->num_regions = 10;
	assert_int_equal(vfio_device_build(vd), 0);
	assert_true(vm.igd_opregion);
	assert_true(ram_is_file(BOOT_OPREGION_ADDR, OPR_OFF, OPR_SIZE));
	assert_vga_forwarded();
	assert_true(unclaimed(BUS_MMIO, BOOT_OPREGION_ADDR));
}

/* ---- 5. the expansion ROM ---- */

static uint8_t rom_pat(uint64_t i)
{
	return (uint8_t)(i * 31 + 7 + (i >> 9));
}

/* A rom= file of @size bytes (rom_pat), or sparse (holes) when @sparse. */
static const char *rom_file(uint64_t size, bool sparse)
{
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/kvmio-test-rom-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	if (sparse) {
		assert_int_equal(ftruncate(fd, (off_t)size), 0);
	} else {
		uint8_t *b = malloc(size ? size : 1);

		assert_non_null(b);
		for (uint64_t i = 0; i < size; i++)
			b[i] = rom_pat(i);
		assert_int_equal(write(fd, b, size), (ssize_t)size);
		free(b);
	}
	close(fd);
	return tmp_path;
}

static uint64_t rom_addr(void)
{
	return cfg_rd(PCI_ROM_ADDRESS, 4) & PCI_ROM_ADDRESS_MASK;
}

/* A device ROM region of @size bytes at ROM_OFF. */
static struct vfio_device *rom_dev(uint64_t size)
{
	struct vfio_device *d = dev_new();

	region(d, VFIO_PCI_ROM_REGION_INDEX, ROM_OFF, size, VFIO_REGION_INFO_FLAG_READ);
	return d;
}

/* The device is built without a ROM: no BAR, no copy, nothing at any address. */
static void assert_no_rom(void)
{
	assert_null(vd->rom);
	assert_int_equal(vd->rom_size, 0);
	assert_int_equal(cfg_rd(PCI_ROM_ADDRESS, 4), 0);
	assert_int_equal(size_rom(), 0);
	cfg_wr(PCI_ROM_ADDRESS, 4, 0xC8000000u | PCI_ROM_ADDRESS_ENABLE);
	assert_int_equal(cfg_rd(PCI_ROM_ADDRESS, 4), 0);
	assert_int_equal(fake_mmio_nslots(), 0);
	assert_true(unclaimed(BUS_MMIO, 0xC8000000u));
	assert_hw_header_intact();
}

static void test_rom_file(void **state)
{
	struct fake_mmio_slot sl;
	uint64_t a;
	int zero;

	/* The device's own ROM (another size, other bytes) is not used. */
	vd = rom_dev(0x8000);
	vd->rom_path = rom_file(5000, false);
	assert_int_equal(vfio_device_build(vd), 0);
	vd->rom_path = NULL;
	assert_non_null(vd->rom);
	assert_int_equal(vd->rom_size, 8192);
	assert_int_equal(size_rom(), (uint32_t)~(8192u - 1) & PCI_ROM_ADDRESS_MASK);
	a = rom_addr();
	assert_true(a != 0 && a % 8192 == 0);
	/* Not decoded: no slot, nothing there. */
	assert_int_equal(fake_mmio_nslots(), 0);
	assert_true(unclaimed(BUS_MMIO, a));
	/* Decoded: a read-only slot of the whole BAR over the copy: the file, then all-ones. */
	cfg_wr(PCI_ROM_ADDRESS, 4, a | PCI_ROM_ADDRESS_ENABLE);
	assert_int_equal(cfg_rd(PCI_ROM_ADDRESS, 4), a | PCI_ROM_ADDRESS_ENABLE);
	assert_int_equal(fake_mmio_nslots(), 1);
	assert_true(fake_mmio_slot_at(a, &sl));
	assert_int_equal(sl.gpa, a);
	assert_int_equal(sl.size, 8192);
	assert_true(sl.readonly);
	assert_ptr_equal(sl.hva, vd->rom);
	for (unsigned int i = 0; i < 8192; i++)
		if (((uint8_t *)sl.hva)[i] != (i < 5000 ? rom_pat(i) : 0xff))
			fail_msg("ROM copy byte %u: 0x%02x", i, ((uint8_t *)sl.hva)[i]);
	/* The copy itself is read-only memory: a read(2) into it faults. */
	zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	assert_true(zero >= 0);
	errno = 0;
	assert_int_equal(read(zero, sl.hva, 1), -1);
	assert_int_equal(errno, EFAULT);
	close(zero);
	/* Trapped accesses (a vCPU racing the slot) read the same bytes. */
	assert_int_equal(bus_rd(BUS_MMIO, a + 4996, 8),
			 le_read((const uint8_t[]){ rom_pat(4996), rom_pat(4997), rom_pat(4998),
						    rom_pat(4999), 0xff, 0xff, 0xff, 0xff }, 8));
	/* Off again: the slot goes. */
	cfg_wr(PCI_ROM_ADDRESS, 4, a);
	assert_int_equal(fake_mmio_nslots(), 0);
	assert_hw_header_intact();
}

/* A 1-byte file: the smallest ROM BAR, 2 KiB, trapped (less than a page). */
static void test_rom_file_small(void **state)
{
	uint64_t a;

	vd = dev_new();
	vd->rom_path = rom_file(1, false);
	assert_int_equal(vfio_device_build(vd), 0);
	assert_int_equal(vd->rom_size, 2048);
	assert_int_equal(size_rom(), (uint32_t)~(2048u - 1) & PCI_ROM_ADDRESS_MASK);
	a = rom_addr();
	cfg_wr(PCI_ROM_ADDRESS, 4, a | PCI_ROM_ADDRESS_ENABLE);
	assert_int_equal(fake_mmio_nslots(), 0);
	assert_int_equal(bus_rd(BUS_MMIO, a, 4), 0xffffff00u | rom_pat(0));
	assert_int_equal(bus_rd(BUS_MMIO, a + 2044, 4), 0xffffffffu);
}

/* Files the ROM BAR cannot hold, or no file: the build fails with the file's error. */
static void test_rom_file_bad(void **state)
{
	/* Over 16 MiB (sparse: no 16 MiB written). */
	vd = dev_new();
	vd->rom_path = rom_file(16 * MiB + 1, true);
	assert_int_equal(vfio_device_build(vd), -EINVAL);
	assert_null(vd->rom);
	dev_drop(vd);
	unlink(tmp_path);
	/* Empty. */
	vd = dev_new();
	vd->rom_path = rom_file(0, false);
	assert_int_equal(vfio_device_build(vd), -EINVAL);
	assert_null(vd->rom);
	dev_drop(vd);
	unlink(tmp_path);
	/* Not a regular file. */
	vd = dev_new();
	vd->rom_path = "/tmp";
	assert_int_equal(vfio_device_build(vd), -EINVAL);
	dev_drop(vd);
	/* Missing. */
	vd = dev_new();
	vd->rom_path = "/nonexistent/kvmio-test/rom.bin";
	assert_int_equal(vfio_device_build(vd), -ENOENT);
	assert_null(vd->rom);
	dev_drop(vd);
	vd = NULL;
	assert_int_equal(fake_mmio_nslots(), 0);
}

/* Exactly 16 MiB: the largest ROM BAR. */
static void test_rom_file_16m(void **state)
{
	vd = dev_new();
	vd->rom_path = rom_file(16 * MiB, true);
	assert_int_equal(vfio_device_build(vd), 0);
	assert_int_equal(vd->rom_size, 16 * MiB);
	assert_int_equal(size_rom(), (uint32_t)~(16u * MiB - 1) & PCI_ROM_ADDRESS_MASK);
	assert_int_equal(vd->rom[0], 0);
	assert_int_equal(vd->rom[16 * MiB - 1], 0);
}

/* Device ROMs of sizes no ROM BAR has: built without a ROM, nothing allocated. */
static void test_rom_dev_bad_size(void **state)
{
	static const uint64_t sizes[] = { 32 * MiB, 16 * MiB + 2048, 3000, 0x6000, 1024, 1 };

	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
		vd = rom_dev(sizes[i]);
		assert_int_equal(vfio_device_build(vd), 0);
		assert_no_rom();
		vfio_devices_exit(&vm);
		vd = NULL;
	}
}

/* No ROM region at all. */
static void test_rom_none(void **state)
{
	vd = dev_new();
	assert_int_equal(vfio_device_build(vd), 0);
	assert_no_rom();
}

/* A 2 KiB device ROM: copied, trapped (no slot for less than a page), reads from the copy. */
static void test_rom_dev_2k(void **state)
{
	uint64_t a;

	vd = rom_dev(2048);
	assert_int_equal(vfio_device_build(vd), 0);
	assert_non_null(vd->rom);
	assert_int_equal(vd->rom_size, 2048);
	assert_int_equal(size_rom(), (uint32_t)~(2048u - 1) & PCI_ROM_ADDRESS_MASK);
	a = rom_addr();
	cfg_wr(PCI_ROM_ADDRESS, 4, a | PCI_ROM_ADDRESS_ENABLE);
	assert_int_equal(fake_mmio_nslots(), 0);
	for (unsigned int len = 1; len <= 8; len *= 2)
		for (uint64_t off = 0; off + len <= 2048; off += 0x101)
			assert_int_equal(bus_rd(BUS_MMIO, a + off, len), file_rd(ROM_OFF + off, len));
	assert_int_equal(bus_rd(BUS_MMIO, a + 2040, 8), file_rd(ROM_OFF + 2040, 8));
	/* Read once: the device's region changing later is not seen. */
	file_wr(ROM_OFF + 0x10, 4, 0xcafef00d);
	assert_int_equal(bus_rd(BUS_MMIO, a + 0x10, 4), le_read(vd->rom + 0x10, 4));
	assert_int_not_equal(bus_rd(BUS_MMIO, a + 0x10, 4), 0xcafef00d);
	/* Writes go nowhere. */
	bus_wr(BUS_MMIO, a + 0x20, 4, 0x11223344);
	assert_int_equal(bus_rd(BUS_MMIO, a + 0x20, 4), file_rd(ROM_OFF + 0x20, 4));
	assert_int_not_equal(file_rd(ROM_OFF + 0x20, 4), 0x11223344);
	assert_int_equal(fake_mmio_nslots(), 0);
}

/* A device ROM of which nothing is readable: the BAR stays, read per access, all-ones. */
static void test_rom_dev_unreadable(void **state)
{
	uint64_t a;

	vd = dev_new();
	region(vd, VFIO_PCI_ROM_REGION_INDEX, FILE_SIZE, 0x8000, VFIO_REGION_INFO_FLAG_READ);
	assert_int_equal(vfio_device_build(vd), 0);
	assert_null(vd->rom);
	assert_int_equal(size_rom(), (uint32_t)~(0x8000u - 1) & PCI_ROM_ADDRESS_MASK);
	a = rom_addr();
	cfg_wr(PCI_ROM_ADDRESS, 4, a | PCI_ROM_ADDRESS_ENABLE);
	assert_int_equal(fake_mmio_nslots(), 0);
	assert_int_equal(bus_rd(BUS_MMIO, a, 4), 0xffffffffu);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps_none),
		cmocka_unit_test(test_caps_sparse),
		cmocka_unit_test(test_caps_sparse_empty),
		cmocka_unit_test(test_caps_sparse_many),
		cmocka_unit_test(test_caps_type),
		cmocka_unit_test(test_caps_msix),
		cmocka_unit_test(test_caps_chain),
		cmocka_unit_test(test_caps_bad_offset),
		cmocka_unit_test(test_caps_bad_next),
		cmocka_unit_test(test_caps_long_chain),
		cmocka_unit_test(test_caps_truncated),
		cmocka_unit_test(test_info_grow),
		cmocka_unit_test(test_info_absent),
		cmocka_unit_test(test_info_e2big),
		cmocka_unit_test(test_info_malformed),
		T(test_vga),
		T(test_vga_off),
		T(test_vga_no_hole),
		T(test_vga_bad_region),
		T(test_vga_second),
		T(test_vga_ports_taken),
		T(test_vga_then_fail),
		T(test_vga_teardown),
		T(test_opregion),
		T(test_opregion_second),
		T(test_opregion_size),
		T(test_opregion_unsigned),
		T(test_extra_unused),
		T(test_extra_many),
		T(test_opregion_vga),
		T(test_rom_file),
		T(test_rom_file_small),
		T(test_rom_file_bad),
		T(test_rom_file_16m),
		T(test_rom_dev_bad_size),
		T(test_rom_none),
		T(test_rom_dev_2k),
		T(test_rom_dev_unreadable),
	};

	return cmocka_run_group_tests_name("vfio_regions", tests, NULL, NULL);
}
