// SPDX-License-Identifier: Apache-2.0
/*
 * vfio_cfg_layout (src/vfio/config.c), pure: from a device's config space,
 * the guest's view and the mask of bits kvmio owns. Capabilities hidden and
 * the lists relinked (first, middle, last, all), hostile lists from the
 * device (loops, 0xff and below-0x40 pointers, unaligned pointers, every
 * dword a capability), PCIe endpoints shown as root-complex integrated
 * endpoints, the extended list with a null header at 0x100, 256-byte
 * devices, and the MSI, MSI-X and PCIe capabilities kvmio owns: emulated for
 * exactly their length, hidden when kvmio cannot own them (a second one, or
 * one that does not fit in the header). hostile-guest.md case 20, from the
 * device's side.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"
#include "vfio/vfio.h"

static uint8_t hw[PCI_CFG_SIZE], cfg[PCI_CFG_SIZE];
static struct vfio_cfg_layout lay;

/* ---- building a device's config space ---- */

/* A function with a capability list (empty for now) and stale BAR values. */
static int hw_reset(void **state)
{
	memset(hw, 0, sizeof(hw));
	memset(cfg, 0xcc, sizeof(cfg));
	le_write(hw + PCI_VENDOR_ID, 2, 0x8086);
	le_write(hw + PCI_DEVICE_ID, 2, 0x10d3);
	le_write(hw + PCI_STATUS, 2, PCI_STATUS_CAP_LIST | PCI_STATUS_66MHZ);
	le_write(hw + PCI_CLASS_REVISION, 4, 0x02000003);
	hw[PCI_HEADER_TYPE] = 0x80;		/* multi-function */
	hw[PCI_BIST] = 0x80;			/* BIST capable */
	le_write(hw + PCI_BASE_ADDRESS_0, 4, 0xfebc0000);
	le_write(hw + PCI_SUBSYSTEM_VENDOR_ID, 2, 0x8086);
	le_write(hw + PCI_SUBSYSTEM_ID, 2, 0xa01f);
	hw[PCI_INTERRUPT_PIN] = 1;
	return 0;
}

static void cap(unsigned int off, uint8_t id, uint8_t next)
{
	if (off == PCI_CAPABILITY_LIST) {
		hw[off] = next;
		return;
	}
	hw[off] = id;
	hw[off + 1] = next;
	/* A body that is not zero, to tell it from what kvmio writes. */
	hw[off + 2] = (uint8_t)(0xa0 | (off >> 4));
	hw[off + 3] = 0x5a;
}

static void ext(unsigned int off, uint16_t id, uint8_t ver, unsigned int next)
{
	le_write(hw + off, 4, id | (uint32_t)ver << 16 | (uint32_t)next << 20);
	if (off + 8 <= PCI_CFG_SIZE)
		le_write(hw + off + 4, 4, 0xdead0000u | off);
}

static void pcie_cap(unsigned int off, uint8_t next, unsigned int type)
{
	cap(off, PCI_CAP_ID_EXP, next);
	le_write(hw + off + PCI_EXP_FLAGS, 2, type << 4 | 2);	/* version 2 */
	le_write(hw + off + PCI_EXP_DEVCTL, 2, 0x2810);
}

static void layout(unsigned int size)
{
	assert_int_equal(vfio_cfg_layout(hw, size, cfg, &lay), 0);
}

/* ---- the guest's walks, which must be well-formed whatever the device had ---- */

struct walk {
	unsigned int n;
	unsigned int off[1024];
	unsigned int id[1024];
};

static void walk_std(struct walk *w)
{
	bool seen[PCI_CFG_LEGACY_SIZE / 4] = { false };

	w->n = 0;
	if (!(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST)) {
		assert_int_equal(cfg[PCI_CAPABILITY_LIST], 0);
		return;
	}
	assert_int_not_equal(cfg[PCI_CAPABILITY_LIST], 0);
	for (unsigned int p = cfg[PCI_CAPABILITY_LIST]; p; p = cfg[p + PCI_CAP_LIST_NEXT]) {
		assert_true(p >= PCI_STD_HEADER_SIZEOF && p <= 0xfc && !(p & 3));
		assert_false(seen[p / 4]);	/* kvmio's list has no loop */
		seen[p / 4] = true;
		/* kvmio owns every byte it links. */
		assert_int_equal(lay.emu[p], 0xff);
		assert_int_equal(lay.emu[p + 1], 0xff);
		w->off[w->n] = p;
		w->id[w->n++] = cfg[p];
	}
}

static void walk_ext(struct walk *w)
{
	bool seen[(PCI_CFG_SIZE - 0x100) / 4] = { false };
	unsigned int p = 0x100;

	w->n = 0;
	while (p) {
		uint32_t hdr = (uint32_t)le_read(cfg + p, 4);

		assert_true(p >= 0x100 && p <= PCI_CFG_SIZE - 4 && !(p & 3));
		assert_false(seen[(p - 0x100) / 4]);
		seen[(p - 0x100) / 4] = true;
		assert_int_equal(le_read(lay.emu + p, 4), 0xffffffff);
		if (!hdr)
			break;
		w->off[w->n] = p;
		w->id[w->n++] = PCI_EXT_CAP_ID(hdr);
		p = PCI_EXT_CAP_NEXT(hdr);
	}
}

#define assert_walk(w, ...)							\
	do {									\
		const unsigned int want_[] = { __VA_ARGS__ };			\
		assert_int_equal((w)->n, ARRAY_SIZE(want_) / 2);		\
		for (unsigned int i_ = 0; i_ < (w)->n; i_++) {			\
			assert_int_equal((w)->off[i_], want_[2 * i_]);		\
			assert_int_equal((w)->id[i_], want_[2 * i_ + 1]);	\
		}								\
	} while (0)

static bool all_bytes(const uint8_t *p, unsigned int len, uint8_t v)
{
	for (unsigned int i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* ---- tests ---- */

static void test_header(void **state)
{
	layout(PCI_CFG_LEGACY_SIZE);
	/* Identity as the device has it. */
	assert_memory_equal(cfg, hw, 4);
	assert_memory_equal(cfg + PCI_CLASS_REVISION, hw + PCI_CLASS_REVISION, 4);
	assert_memory_equal(cfg + PCI_SUBSYSTEM_VENDOR_ID, hw + PCI_SUBSYSTEM_VENDOR_ID, 4);
	/* One function on kvmio's bus; no BIST behind vfio-pci's back. */
	assert_int_equal(cfg[PCI_HEADER_TYPE], 0x00);
	assert_int_equal(cfg[PCI_BIST], 0);
	/* The header is kvmio's but STATUS, of which only "has a list" is. */
	for (unsigned int i = 0; i < PCI_STD_HEADER_SIZEOF; i++)
		if (i != PCI_STATUS && i != PCI_STATUS + 1)
			assert_int_equal(lay.emu[i], 0xff);
	assert_int_equal(lay.emu[PCI_STATUS], PCI_STATUS_CAP_LIST);
	assert_int_equal(lay.emu[PCI_STATUS + 1], 0);
	/* No capabilities: the list bit goes, the device's other STATUS bits stay. */
	assert_int_equal(le_read(cfg + PCI_STATUS, 2), PCI_STATUS_66MHZ);
	assert_int_equal(cfg[PCI_CAPABILITY_LIST], 0);
	assert_int_equal(lay.msi_cap + lay.msix_cap + lay.pcie_cap + lay.nhidden, 0);
	assert_int_equal(lay.size, PCI_CFG_LEGACY_SIZE);
	/* Nothing else is ours. */
	for (unsigned int i = PCI_STD_HEADER_SIZEOF; i < PCI_CFG_LEGACY_SIZE; i++)
		assert_int_equal(lay.emu[i], 0);
}

static void test_bad_size(void **state)
{
	static const unsigned int bad[] = { 0, 64, 255, 257, 512, 4095, 4097, 8192 };

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(vfio_cfg_layout(hw, bad[i], cfg, &lay), -EINVAL);
}

static void test_hide_middle(void **state)
{
	struct walk w;

	cap(PCI_CAPABILITY_LIST, 0, 0x40);
	cap(0x40, PCI_CAP_ID_PM, 0x48);
	cap(0x48, PCI_CAP_ID_PCIX, 0x50);
	cap(0x50, PCI_CAP_ID_VNDR, 0);
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_walk(&w, 0x40, PCI_CAP_ID_PM, 0x50, PCI_CAP_ID_VNDR);
	assert_int_equal(lay.nhidden, 1);
	/* The hidden one's header reads zero and is ours; bodies stay the device's. */
	assert_int_equal(cfg[0x48], 0);
	assert_int_equal(cfg[0x49], 0);
	assert_int_equal(lay.emu[0x48], 0xff);
	assert_int_equal(lay.emu[0x49], 0xff);
	assert_int_equal(lay.emu[0x42], 0);
	assert_int_equal(lay.emu[0x4a], 0);
	assert_int_equal(lay.emu[0x52], 0);
	assert_int_equal(cfg[0x42], hw[0x42]);
	assert_true(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST);
}

static void test_hide_first(void **state)
{
	struct walk w;

	cap(PCI_CAPABILITY_LIST, 0, 0x40);
	cap(0x40, PCI_CAP_ID_PCIX, 0x60);
	cap(0x60, PCI_CAP_ID_PM, 0x50);
	cap(0x50, PCI_CAP_ID_VNDR, 0);
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_walk(&w, 0x60, PCI_CAP_ID_PM, 0x50, PCI_CAP_ID_VNDR);
	assert_int_equal(lay.nhidden, 1);
	assert_int_equal(cfg[0x40], 0);
}

static void test_hide_last(void **state)
{
	struct walk w;

	cap(PCI_CAPABILITY_LIST, 0, 0x40);
	cap(0x40, PCI_CAP_ID_PM, 0x50);
	cap(0x50, PCI_CAP_ID_VNDR, 0x60);
	cap(0x60, PCI_CAP_ID_HT, 0x70);
	cap(0x70, PCI_CAP_ID_AGP, 0);
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_walk(&w, 0x40, PCI_CAP_ID_PM, 0x50, PCI_CAP_ID_VNDR);
	assert_int_equal(cfg[0x51], 0);
	assert_int_equal(lay.nhidden, 2);
}

static void test_hide_all(void **state)
{
	struct walk w;

	cap(PCI_CAPABILITY_LIST, 0, 0x40);
	cap(0x40, PCI_CAP_ID_PCIX, 0x50);
	cap(0x50, PCI_CAP_ID_HT, 0x60);
	cap(0x60, PCI_CAP_ID_EA, 0);
	layout(PCI_CFG_LEGACY_SIZE);
	assert_int_equal(cfg[PCI_CAPABILITY_LIST], 0);
	assert_false(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST);
	assert_true(cfg[PCI_STATUS] & PCI_STATUS_66MHZ);
	walk_std(&w);
	assert_int_equal(w.n, 0);
	assert_int_equal(lay.nhidden, 3);
}

/* A pointer in 0x34 without STATUS saying there is a list: no list. */
static void test_no_list_bit(void **state)
{
	cap(PCI_CAPABILITY_LIST, 0, 0x40);
	cap(0x40, PCI_CAP_ID_MSIX, 0);
	le_write(hw + PCI_STATUS, 2, 0);
	layout(PCI_CFG_LEGACY_SIZE);
	assert_int_equal(cfg[PCI_CAPABILITY_LIST], 0);
	assert_false(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST);
	assert_int_equal(lay.msix_cap, 0);
	assert_int_equal(lay.emu[0x40], 0);
}

static void test_loops(void **state)
{
	struct walk w;

	/* Onto itself. */
	cap(PCI_CAPABILITY_LIST, 0, 0x40);
	cap(0x40, PCI_CAP_ID_PM, 0x40);
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_walk(&w, 0x40, PCI_CAP_ID_PM);

	/* Back into the middle. */
	cap(0x40, PCI_CAP_ID_PM, 0x50);
	cap(0x50, PCI_CAP_ID_VNDR, 0x60);
	cap(0x60, PCI_CAP_ID_VNDR, 0x50);
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_walk(&w, 0x40, PCI_CAP_ID_PM, 0x50, PCI_CAP_ID_VNDR, 0x60, PCI_CAP_ID_VNDR);

	/* Through hidden ones only. */
	cap(0x40, PCI_CAP_ID_PCIX, 0x50);
	cap(0x50, PCI_CAP_ID_HT, 0x40);
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_int_equal(w.n, 0);
	assert_int_equal(lay.nhidden, 2);

	/* A kept one after a loop through a hidden one is never reached twice. */
	cap(0x40, PCI_CAP_ID_VNDR, 0x50);
	cap(0x50, PCI_CAP_ID_HT, 0x40);
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_walk(&w, 0x40, PCI_CAP_ID_VNDR);
}

/* Every dword of the header a capability: all 48 kept, in the device's order. */
static void test_longest_list(void **state)
{
	struct walk w;

	cap(PCI_CAPABILITY_LIST, 0, 0xfc);
	for (unsigned int off = 0x40; off <= 0xfc; off += 4)
		cap(off, PCI_CAP_ID_VNDR, off == 0x40 ? 0 : (uint8_t)(off - 4));
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_int_equal(w.n, 48);
	assert_int_equal(w.off[0], 0xfc);
	assert_int_equal(w.off[47], 0x40);
}

static void test_bad_pointers(void **state)
{
	struct walk w;

	/* 0xff is 0xfc once the low bits go: a capability may sit there. */
	cap(PCI_CAPABILITY_LIST, 0, 0xff);
	hw[0xfc] = PCI_CAP_ID_VNDR;
	hw[0xfd] = 0xff;
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_walk(&w, 0xfc, PCI_CAP_ID_VNDR);

	/* Into the header: the list ends there. */
	cap(PCI_CAPABILITY_LIST, 0, 0x40);
	cap(0x40, PCI_CAP_ID_PM, 0x3c);
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_walk(&w, 0x40, PCI_CAP_ID_PM);
	assert_int_equal(cfg[0x41], 0);
	cap(PCI_CAPABILITY_LIST, 0, 0x20);
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_int_equal(w.n, 0);
	assert_int_equal(le_read(cfg + PCI_BASE_ADDRESS_0, 4), 0xfebc0000);	/* untouched */

	/* Unaligned pointers are read as the spec says: low two bits ignored. */
	cap(PCI_CAPABILITY_LIST, 0, 0x43);
	cap(0x40, PCI_CAP_ID_PM, 0x52);
	cap(0x50, PCI_CAP_ID_VNDR, 0);
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_walk(&w, 0x40, PCI_CAP_ID_PM, 0x50, PCI_CAP_ID_VNDR);
}

/* A device that fell off the bus reads all-ones: no list, nothing past 0xff. */
static void test_all_ones(void **state)
{
	struct walk w;

	memset(hw, 0xff, sizeof(hw));
	layout(PCI_CFG_SIZE);
	walk_std(&w);
	assert_int_equal(w.n, 0);
	assert_int_equal(lay.msi_cap + lay.msix_cap + lay.pcie_cap, 0);
	walk_ext(&w);
	assert_int_equal(w.n, 0);
	assert_true(all_bytes(cfg + 0x100, PCI_CFG_SIZE - 0x100, 0));
	assert_true(all_bytes(lay.emu + 0x100, PCI_CFG_SIZE - 0x100, 0xff));
}

static void test_pcie_type(void **state)
{
	static const struct { unsigned int type, shown; } t[] = {
		{ PCI_EXP_TYPE_ENDPOINT, PCI_EXP_TYPE_RC_END },
		{ PCI_EXP_TYPE_LEG_END, PCI_EXP_TYPE_RC_END },
		{ PCI_EXP_TYPE_RC_END, PCI_EXP_TYPE_RC_END },
		{ PCI_EXP_TYPE_ROOT_PORT, PCI_EXP_TYPE_ROOT_PORT },
		{ PCI_EXP_TYPE_UPSTREAM, PCI_EXP_TYPE_UPSTREAM },
		{ PCI_EXP_TYPE_RC_EC, PCI_EXP_TYPE_RC_EC },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(t); i++) {
		hw_reset(NULL);
		cap(PCI_CAPABILITY_LIST, 0, 0x80);
		pcie_cap(0x80, 0, t[i].type);
		hw[0x80 + PCI_EXP_FLAGS + 1] = 0x01;	/* slot implemented: the device's */
		layout(PCI_CFG_SIZE);
		assert_int_equal(lay.pcie_cap, 0x80);
		assert_int_equal((cfg[0x82] & PCI_EXP_FLAGS_TYPE) >> 4, t[i].shown);
		assert_int_equal(cfg[0x82] & PCI_EXP_FLAGS_VERS, 2);
		assert_int_equal(cfg[0x83], 0x01);
		/* Only the type is ours; device control and the rest are the device's. */
		assert_int_equal(lay.emu[0x82], PCI_EXP_FLAGS_TYPE);
		assert_int_equal(lay.emu[0x83], 0);
		for (unsigned int off = 0x84; off < 0x80 + PCI_CAP_EXP_ENDPOINT_SIZEOF_V2; off++)
			assert_int_equal(lay.emu[off], 0);
	}
}

static void test_ext_relink(void **state)
{
	struct walk w;

	cap(PCI_CAPABILITY_LIST, 0, 0x40);
	pcie_cap(0x40, 0, PCI_EXP_TYPE_ENDPOINT);
	ext(0x100, PCI_EXT_CAP_ID_ERR, 2, 0x140);
	ext(0x140, PCI_EXT_CAP_ID_SRIOV, 1, 0x180);
	ext(0x180, PCI_EXT_CAP_ID_DSN, 1, 0x1c0);
	ext(0x1c0, PCI_EXT_CAP_ID_ARI, 1, 0);
	layout(PCI_CFG_SIZE);
	walk_ext(&w);
	assert_walk(&w, 0x100, PCI_EXT_CAP_ID_ERR, 0x180, PCI_EXT_CAP_ID_DSN);
	assert_int_equal(PCI_EXT_CAP_VER(le_read(cfg + 0x100, 4)), 2);
	assert_int_equal(PCI_EXT_CAP_VER(le_read(cfg + 0x180, 4)), 1);
	assert_int_equal(lay.nhidden, 2);
	/* Hidden headers read zero and are ours; every body is the device's. */
	assert_int_equal(le_read(cfg + 0x140, 4), 0);
	assert_int_equal(le_read(cfg + 0x1c0, 4), 0);
	assert_int_equal(le_read(lay.emu + 0x140, 4), 0xffffffff);
	assert_int_equal(le_read(lay.emu + 0x1c0, 4), 0xffffffff);
	for (unsigned int off = 0x100; off < 0x200; off += 0x40)
		assert_int_equal(le_read(lay.emu + off + 4, 4), 0);
	assert_int_equal(le_read(cfg + 0x144, 4), 0xdead0140);
}

static void test_ext_first_hidden(void **state)
{
	struct walk w;

	cap(PCI_CAPABILITY_LIST, 0, 0x40);
	pcie_cap(0x40, 0, PCI_EXP_TYPE_ENDPOINT);
	ext(0x100, PCI_EXT_CAP_ID_SRIOV, 1, 0x150);
	ext(0x150, PCI_EXT_CAP_ID_ERR, 2, 0x200);
	ext(0x200, PCI_EXT_CAP_ID_ATS, 1, 0);
	layout(PCI_CFG_SIZE);
	walk_ext(&w);
	/* A null capability (ID 0, version 0) at 0x100 points on. */
	assert_walk(&w, 0x100, 0, 0x150, PCI_EXT_CAP_ID_ERR);
	assert_int_equal(le_read(cfg + 0x100, 4), 0x150u << 20);
	assert_int_equal(PCI_EXT_CAP_NEXT(le_read(cfg + 0x150, 4)), 0);
	assert_int_equal(le_read(cfg + 0x200, 4), 0);

	/* All hidden: 0x100 reads zero, which says "no extended capabilities". */
	ext(0x150, PCI_EXT_CAP_ID_PASID, 1, 0x200);
	layout(PCI_CFG_SIZE);
	assert_int_equal(le_read(cfg + 0x100, 4), 0);
	walk_ext(&w);
	assert_int_equal(w.n, 0);
	assert_int_equal(lay.nhidden, 3);
}

static void test_ext_loops(void **state)
{
	struct walk w;

	cap(PCI_CAPABILITY_LIST, 0, 0x40);
	pcie_cap(0x40, 0, PCI_EXP_TYPE_ENDPOINT);

	ext(0x100, PCI_EXT_CAP_ID_ERR, 2, 0x100);
	layout(PCI_CFG_SIZE);
	walk_ext(&w);
	assert_walk(&w, 0x100, PCI_EXT_CAP_ID_ERR);

	ext(0x100, PCI_EXT_CAP_ID_ERR, 2, 0x140);
	ext(0x140, PCI_EXT_CAP_ID_DSN, 1, 0x100);
	layout(PCI_CFG_SIZE);
	walk_ext(&w);
	assert_walk(&w, 0x100, PCI_EXT_CAP_ID_ERR, 0x140, PCI_EXT_CAP_ID_DSN);

	/* Into the standard header (below 0x100), unaligned, all-ones. */
	ext(0x140, PCI_EXT_CAP_ID_DSN, 1, 0x040);
	layout(PCI_CFG_SIZE);
	walk_ext(&w);
	assert_walk(&w, 0x100, PCI_EXT_CAP_ID_ERR, 0x140, PCI_EXT_CAP_ID_DSN);
	ext(0x140, PCI_EXT_CAP_ID_DSN, 1, 0x183);
	ext(0x180, PCI_EXT_CAP_ID_VNDR, 1, 0);
	layout(PCI_CFG_SIZE);
	walk_ext(&w);
	assert_walk(&w, 0x100, PCI_EXT_CAP_ID_ERR, 0x140, PCI_EXT_CAP_ID_DSN, 0x180,
		    PCI_EXT_CAP_ID_VNDR);
	le_write(hw + 0x100, 4, 0xffffffff);
	layout(PCI_CFG_SIZE);
	assert_int_equal(le_read(cfg + 0x100, 4), 0);

	/* Every dword past 0x100 a capability, last first: all 960 kept. */
	for (unsigned int off = 0x100; off < PCI_CFG_SIZE; off += 4)
		ext(off, PCI_EXT_CAP_ID_VNDR, 1, off == 0x100 ? 0xffc : off == 0x104 ? 0 : off - 4);
	layout(PCI_CFG_SIZE);
	walk_ext(&w);
	assert_int_equal(w.n, (PCI_CFG_SIZE - 0x100) / 4);
}

/* A conventional device: 0x100-0xfff read zero and are ours, whatever follows in the snapshot. */
static void test_256_bytes(void **state)
{
	cap(PCI_CAPABILITY_LIST, 0, 0x40);
	pcie_cap(0x40, 0, PCI_EXP_TYPE_ENDPOINT);
	ext(0x100, PCI_EXT_CAP_ID_SRIOV, 1, 0);
	memset(hw + 0x108, 0x77, PCI_CFG_SIZE - 0x108);
	layout(PCI_CFG_LEGACY_SIZE);
	assert_int_equal(lay.size, PCI_CFG_LEGACY_SIZE);
	assert_true(all_bytes(cfg + 0x100, PCI_CFG_SIZE - 0x100, 0));
	assert_true(all_bytes(lay.emu + 0x100, PCI_CFG_SIZE - 0x100, 0xff));
}

/*
 * 4 KiB of config space but no PCIe capability kvmio keeps (PCI-X mode 2,
 * or a PCIe capability it hides): no extended list is walked, so nothing
 * of the device's may show there, SR-IOV least of all.
 */
static void test_4k_without_pcie(void **state)
{
	cap(PCI_CAPABILITY_LIST, 0, 0x40);
	cap(0x40, PCI_CAP_ID_PCIX, 0);
	ext(0x100, PCI_EXT_CAP_ID_SRIOV, 1, 0x140);
	ext(0x140, PCI_EXT_CAP_ID_ERR, 1, 0);
	layout(PCI_CFG_SIZE);
	assert_int_equal(lay.pcie_cap, 0);
	assert_true(all_bytes(cfg + 0x100, PCI_CFG_SIZE - 0x100, 0));
	assert_true(all_bytes(lay.emu + 0x100, PCI_CFG_SIZE - 0x100, 0xff));
}

static void msi_case(uint16_t flags, unsigned int len)
{
	unsigned int next = 0x50 + ALIGN_UP(len, 4u);

	hw_reset(NULL);
	cap(PCI_CAPABILITY_LIST, 0, 0x50);
	cap(0x50, PCI_CAP_ID_MSI, (uint8_t)next);
	le_write(hw + 0x50 + PCI_MSI_FLAGS, 2, flags);
	for (unsigned int i = 4; i < len + 8; i++)
		hw[0x50 + i] = (uint8_t)(0x30 + i);
	cap(next, PCI_CAP_ID_VNDR, 0);
	layout(PCI_CFG_LEGACY_SIZE);
	assert_int_equal(lay.msi_cap, 0x50);
	for (unsigned int i = 0; i < len; i++)
		assert_int_equal(lay.emu[0x50 + i], 0xff);
	for (unsigned int i = 0x50 + len; i < next; i++)
		assert_int_equal(lay.emu[i], 0);	/* padding: the device's */
	assert_int_equal(lay.emu[next + 2], 0);		/* the next capability's body */
	assert_int_equal(lay.emu[next + 3], 0);
}

static void test_msi_length(void **state)
{
	msi_case(0, PCI_MSI_DATA_32 + 2);					/* 10 */
	msi_case(PCI_MSI_FLAGS_64BIT, PCI_MSI_DATA_64 + 2);			/* 14 */
	msi_case(PCI_MSI_FLAGS_MASKBIT, PCI_MSI_PENDING_32 + 4);		/* 20 */
	msi_case(PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT, PCI_MSI_PENDING_64 + 4);	/* 24 */
	/* Multiple Message Capable and reserved bits do not change the length. */
	msi_case(0x000e | PCI_MSI_FLAGS_64BIT, PCI_MSI_DATA_64 + 2);
}

static void test_msix_length(void **state)
{
	cap(PCI_CAPABILITY_LIST, 0, 0x70);
	cap(0x70, PCI_CAP_ID_MSIX, 0x7c);
	cap(0x7c, PCI_CAP_ID_VNDR, 0);
	layout(PCI_CFG_LEGACY_SIZE);
	assert_int_equal(lay.msix_cap, 0x70);
	for (unsigned int i = 0x70; i < 0x7c; i++)
		assert_int_equal(lay.emu[i], 0xff);
	assert_int_equal(lay.emu[0x7e], 0);
}

/*
 * MSI, MSI-X and PCIe are kvmio's to emulate, so a capability of those
 * kvmio cannot own (a second one, or one running past 0xff) must not be
 * left visible with its registers passed through to the device: hidden.
 */
static void test_unownable_caps_hidden(void **state)
{
	struct walk w;

	/* A second MSI, MSI-X and PCIe capability. */
	cap(PCI_CAPABILITY_LIST, 0, 0x40);
	cap(0x40, PCI_CAP_ID_MSI, 0x58);
	cap(0x58, PCI_CAP_ID_MSIX, 0x64);
	pcie_cap(0x64, 0xa0, PCI_EXP_TYPE_ENDPOINT);
	cap(0xa0, PCI_CAP_ID_MSI, 0xb8);
	cap(0xb8, PCI_CAP_ID_MSIX, 0xc4);
	pcie_cap(0xc4, 0, PCI_EXP_TYPE_ENDPOINT);
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_walk(&w, 0x40, PCI_CAP_ID_MSI, 0x58, PCI_CAP_ID_MSIX, 0x64, PCI_CAP_ID_EXP);
	assert_int_equal(lay.msi_cap, 0x40);
	assert_int_equal(lay.msix_cap, 0x58);
	assert_int_equal(lay.pcie_cap, 0x64);
	assert_int_equal(lay.nhidden, 3);

	/* MSI-X at 0xf8: its 12 bytes do not fit. */
	hw_reset(NULL);
	cap(PCI_CAPABILITY_LIST, 0, 0x40);
	cap(0x40, PCI_CAP_ID_PM, 0xf8);
	cap(0xf8, PCI_CAP_ID_MSIX, 0);
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_walk(&w, 0x40, PCI_CAP_ID_PM);
	assert_int_equal(lay.msix_cap, 0);

	/* A maskable 64-bit MSI (24 bytes) at 0xf0. */
	hw_reset(NULL);
	cap(PCI_CAPABILITY_LIST, 0, 0xf0);
	cap(0xf0, PCI_CAP_ID_MSI, 0x40);
	le_write(hw + 0xf0 + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT);
	cap(0x40, PCI_CAP_ID_PM, 0);
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_walk(&w, 0x40, PCI_CAP_ID_PM);
	assert_int_equal(lay.msi_cap, 0);
	/* A 32-bit one (10 bytes) at 0xf4 fits. */
	cap(PCI_CAPABILITY_LIST, 0, 0xf4);
	cap(0xf4, PCI_CAP_ID_MSI, 0);
	le_write(hw + 0xf4 + PCI_MSI_FLAGS, 2, 0);
	layout(PCI_CFG_LEGACY_SIZE);
	assert_int_equal(lay.msi_cap, 0xf4);
	for (unsigned int i = 0xf4; i < 0xfe; i++)
		assert_int_equal(lay.emu[i], 0xff);
}

/*
 * A device whose list runs into the registers of its own MSI or MSI-X
 * capability (a "capability" at the table offset register): those bytes
 * are the registers, which kvmio reads to find the table, never a header
 * kvmio relinks or zeroes, nor one the guest walks into.
 */
static void test_overlapping_caps(void **state)
{
	struct walk w;

	/* A hidden one (ID 0x02, the table BIR) inside MSI-X, after it. */
	cap(PCI_CAPABILITY_LIST, 0, 0x40);
	cap(0x40, PCI_CAP_ID_PM, 0x70);
	cap(0x70, PCI_CAP_ID_MSIX, 0x80);
	le_write(hw + 0x72, 2, 7);
	le_write(hw + 0x74, 4, 0x00001802);
	le_write(hw + 0x78, 4, 0x00003802);
	cap(0x80, PCI_CAP_ID_VNDR, 0x74);
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_walk(&w, 0x40, PCI_CAP_ID_PM, 0x70, PCI_CAP_ID_MSIX, 0x80, PCI_CAP_ID_VNDR);
	assert_int_equal(lay.msix_cap, 0x70);
	assert_memory_equal(cfg + 0x72, hw + 0x72, 10);

	/* A kept one (ID 0x09: table in BAR 1 at 0x8) inside MSI-X. */
	le_write(hw + 0x74, 4, 0x00000009);
	le_write(hw + 0x78, 4, 0x00000809);
	cap(0x80, PCI_CAP_ID_VNDR, 0);
	hw[0x71] = 0x74;
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_walk(&w, 0x40, PCI_CAP_ID_PM, 0x70, PCI_CAP_ID_MSIX);
	assert_memory_equal(cfg + 0x72, hw + 0x72, 10);

	/* MSI-X over a header met before it: the first one met stays, MSI-X is hidden. */
	cap(0x40, PCI_CAP_ID_PM, 0x78);
	le_write(hw + 0x78, 4, 0x00007009);	/* "VNDR, next 0x70" */
	hw[0x71] = 0x80;
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_walk(&w, 0x40, PCI_CAP_ID_PM, 0x78, PCI_CAP_ID_VNDR, 0x80, PCI_CAP_ID_VNDR);
	assert_int_equal(lay.msix_cap, 0);

	/* A header inside a maskable 64-bit MSI. */
	hw_reset(NULL);
	cap(PCI_CAPABILITY_LIST, 0, 0x50);
	cap(0x50, PCI_CAP_ID_MSI, 0x58);
	le_write(hw + 0x52, 2, PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT);
	cap(0x58, PCI_CAP_ID_VNDR, 0x70);
	cap(0x70, PCI_CAP_ID_PM, 0);
	layout(PCI_CFG_LEGACY_SIZE);
	walk_std(&w);
	assert_walk(&w, 0x50, PCI_CAP_ID_MSI, 0x70, PCI_CAP_ID_PM);
	assert_int_equal(lay.msi_cap, 0x50);
	for (unsigned int i = 0x50; i < 0x68; i++)
		assert_int_equal(lay.emu[i], 0xff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_header, hw_reset),
		cmocka_unit_test_setup(test_bad_size, hw_reset),
		cmocka_unit_test_setup(test_hide_middle, hw_reset),
		cmocka_unit_test_setup(test_hide_first, hw_reset),
		cmocka_unit_test_setup(test_hide_last, hw_reset),
		cmocka_unit_test_setup(test_hide_all, hw_reset),
		cmocka_unit_test_setup(test_no_list_bit, hw_reset),
		cmocka_unit_test_setup(test_loops, hw_reset),
		cmocka_unit_test_setup(test_longest_list, hw_reset),
		cmocka_unit_test_setup(test_bad_pointers, hw_reset),
		cmocka_unit_test_setup(test_all_ones, hw_reset),
		cmocka_unit_test_setup(test_pcie_type, hw_reset),
		cmocka_unit_test_setup(test_ext_relink, hw_reset),
		cmocka_unit_test_setup(test_ext_first_hidden, hw_reset),
		cmocka_unit_test_setup(test_ext_loops, hw_reset),
		cmocka_unit_test_setup(test_256_bytes, hw_reset),
		cmocka_unit_test_setup(test_4k_without_pcie, hw_reset),
		cmocka_unit_test_setup(test_msi_length, hw_reset),
		cmocka_unit_test_setup(test_msix_length, hw_reset),
		cmocka_unit_test_setup(test_unownable_caps_hidden, hw_reset),
		cmocka_unit_test_setup(test_overlapping_caps, hw_reset),
	};

	return cmocka_run_group_tests_name("vfio_cfg", tests, NULL, NULL);
}
