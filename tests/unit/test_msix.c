// SPDX-License-Identifier: Apache-2.0
/*
 * MSI-X (src/pci/msi.c) on a fake VM without KVM: the capability and its
 * enable and function-mask bits through config space, table reads and
 * writes of every size and alignment (hostile-guest.md case 13), reserved
 * bits, pending bits through the PBA, msix_notify's return values, lazy
 * route setup and re-routing after the guest rewrites an entry, and the GSI
 * allocator behind msi_irq_setup.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_vm.h"
#include "pci/msi.h"
#include "util.h"
#include "pci/pci.h"
#include "util.h"
#include "vm.h"

#define NVEC		5
#define BAR_SIZE	0x2000
#define TABLE_OFF	0x0000
#define PBA_OFF		0x1000
#define SLOT		1
#define BDF		(SLOT << 3)

static struct vm vm;
static struct pci_host host;
static struct pci_device dev;
static struct msix m;
static uint64_t bar_addr;

static void tdev_bar_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len, bool is_write)
{
	if (off >= PBA_OFF)
		msix_pba_io(&m, off - PBA_OFF, data, len, is_write);
	else
		msix_table_io(&m, off - TABLE_OFF, data, len, is_write);
}

static void tdev_cfg_write(struct pci_device *d, unsigned int off, unsigned int len)
{
	msix_cfg_write(&m, off, len);
}

static const struct pci_device_ops tdev_ops = { .cfg_write = tdev_cfg_write };

static int setup(void **state)
{
	fake_vm_init(&vm);
	assert_int_equal(irq_routes_init(&vm), 0);
	assert_int_equal(pci_host_init(&host, &vm, 4 * GiB, 4 * GiB), 0);
	vm.pci = &host;
	pci_device_init(&dev, "msix-test", 0x1234, 0x11, 0xff0000, 0, 0, 0);
	dev.ops = &tdev_ops;
	assert_int_equal(pci_bar_init(&dev, 0, PCI_BAR_MEM32, false, BAR_SIZE, tdev_bar_io, NULL), 0);
	assert_int_equal(msix_init(&m, &vm, &dev, NVEC, 0, TABLE_OFF, PBA_OFF), 0);
	assert_int_equal(pci_device_add(&host, &dev, SLOT, 1), SLOT);
	bar_addr = pci_cfg32(&dev, PCI_BASE_ADDRESS_0) & PCI_BASE_ADDRESS_MEM_MASK;
	assert_int_equal(bar_addr, PCI_MMIO32_BASE);
	return 0;
}

static int teardown(void **state)
{
	pci_device_remove(&dev);
	msix_exit(&m);
	pci_host_exit(&host);
	irq_routes_exit(&vm);
	fake_vm_destroy(&vm);
	return 0;
}

/* ---- helpers ---- */

static uint16_t flags_rd(void)
{
	uint8_t b[2];

	pci_cfg_read(&host, BDF, m.cap + PCI_MSIX_FLAGS, b, 2);
	return (uint16_t)le_read(b, 2);
}

static void flags_wr(uint16_t v)
{
	uint8_t b[2];

	le_write(b, 2, v);
	pci_cfg_write(&host, BDF, m.cap + PCI_MSIX_FLAGS, b, 2);
}

/* A table read: the value, and a check that nothing past @len was written. */
static uint64_t tbl_rd(uint64_t off, unsigned int len)
{
	uint8_t b[16];

	memset(b, 0x5a, sizeof(b));
	msix_table_io(&m, off, b, len, false);
	for (unsigned int i = len; i < sizeof(b); i++)
		assert_int_equal(b[i], 0x5a);
	return le_read(b, len);
}

static void tbl_wr(uint64_t off, unsigned int len, uint64_t v)
{
	uint8_t b[8];

	le_write(b, len, v);
	msix_table_io(&m, off, b, len, true);
}

static uint64_t pba_rd(uint64_t off, unsigned int len)
{
	uint8_t b[16];

	memset(b, 0x5a, sizeof(b));
	msix_pba_io(&m, off, b, len, false);
	for (unsigned int i = len; i < sizeof(b); i++)
		assert_int_equal(b[i], 0x5a);
	return le_read(b, len);
}

#define ENT(v, field)	((uint64_t)(v) * MSIX_ENTRY_SIZE + (field))

/* Program vector @v with a message and unmask it (or not). */
static void program(unsigned int v, uint64_t addr, uint32_t data, bool masked)
{
	tbl_wr(ENT(v, PCI_MSIX_ENTRY_LOWER_ADDR), 4, (uint32_t)addr);
	tbl_wr(ENT(v, PCI_MSIX_ENTRY_UPPER_ADDR), 4, addr >> 32);
	tbl_wr(ENT(v, PCI_MSIX_ENTRY_DATA), 4, data);
	tbl_wr(ENT(v, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, masked ? PCI_MSIX_ENTRY_CTRL_MASKBIT : 0);
}

/* A snapshot of the table's guest-visible state. */
static void table_snapshot(uint32_t *out)
{
	for (unsigned int v = 0; v < NVEC; v++)
		for (unsigned int f = 0; f < 4; f++)
			out[v * 4 + f] = (uint32_t)tbl_rd(ENT(v, 4 * f), 4);
}

/* ---- tests ---- */

static void test_capability(void **state)
{
	uint8_t b[4];

	assert_int_equal(m.cap, 0x40);
	assert_int_equal(pci_cap_find(dev.cfg, PCI_CAP_ID_MSIX), m.cap);
	assert_int_equal(flags_rd(), NVEC - 1);
	pci_cfg_read(&host, BDF, m.cap + PCI_MSIX_TABLE, b, 4);
	assert_int_equal(le_read(b, 4), TABLE_OFF | 0);
	pci_cfg_read(&host, BDF, m.cap + PCI_MSIX_PBA, b, 4);
	assert_int_equal(le_read(b, 4), PBA_OFF | 0);
	assert_false(msix_enabled(&m));
	/* Only ENABLE and MASKALL are writable; the table size is not. */
	flags_wr(0xffff);
	assert_int_equal(flags_rd(), PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL | (NVEC - 1));
	assert_true(msix_enabled(&m));
	assert_true(m.fmask);
	flags_wr(0);
	assert_int_equal(flags_rd(), NVEC - 1);
	assert_false(msix_enabled(&m));
	assert_false(m.fmask);
	/* Table and PBA offset/BIR are read-only. */
	le_write(b, 4, 0xfffffff0);
	pci_cfg_write(&host, BDF, m.cap + PCI_MSIX_TABLE, b, 4);
	pci_cfg_write(&host, BDF, m.cap + PCI_MSIX_PBA, b, 4);
	pci_cfg_read(&host, BDF, m.cap + PCI_MSIX_TABLE, b, 4);
	assert_int_equal(le_read(b, 4), TABLE_OFF);
	pci_cfg_read(&host, BDF, m.cap + PCI_MSIX_PBA, b, 4);
	assert_int_equal(le_read(b, 4), PBA_OFF);
	/* A byte write to the high byte of the flags is enough (Linux does 16-bit, others 8). */
	b[0] = PCI_MSIX_FLAGS_ENABLE >> 8;
	pci_cfg_write(&host, BDF, m.cap + PCI_MSIX_FLAGS + 1, b, 1);
	assert_true(msix_enabled(&m));
	/* A 4-byte write at the capability's start covers the flags too. */
	le_write(b, 4, 0x0000ffff);
	pci_cfg_write(&host, BDF, m.cap, b, 4);
	assert_false(msix_enabled(&m));
	assert_int_equal(dev.cfg[m.cap], PCI_CAP_ID_MSIX);	/* ID and next: read-only */
	assert_int_equal(dev.cfg[m.cap + 1], 0);
}

static void test_init_errors(void **state)
{
	struct pci_device *d = test_malloc(sizeof(*d));
	struct msix m2;

	pci_device_init(d, "bad", 1, 2, 0, 0, 0, 0);
	assert_int_equal(msix_init(&m2, &vm, d, 0, 0, 0, 0x800), -EINVAL);
	assert_int_equal(msix_init(&m2, &vm, d, 2049, 0, 0, 0x8000), -EINVAL);
	assert_int_equal(msix_init(&m2, &vm, d, 4, 6, 0, 0x800), -EINVAL);
	assert_int_equal(msix_init(&m2, &vm, d, 4, 0, 4, 0x800), -EINVAL);
	assert_int_equal(msix_init(&m2, &vm, d, 4, 0, 0, 0x801), -EINVAL);
	assert_int_equal(d->cfg[PCI_CAPABILITY_LIST], 0);	/* nothing added */
	assert_int_equal(msix_init(&m2, &vm, d, 2048, 2, 0x1000, 0x9000), 0);
	assert_int_equal(pci_cfg16(d, m2.cap + PCI_MSIX_FLAGS), 2047);
	assert_int_equal(pci_cfg32(d, m2.cap + PCI_MSIX_TABLE), 0x1000 | 2);
	assert_int_equal(pci_cfg32(d, m2.cap + PCI_MSIX_PBA), 0x9000 | 2);
	msix_exit(&m2);
	msix_exit(&m2);		/* twice is harmless */
	test_free(d);
}

static void test_table_rw(void **state)
{
	/* After reset: every vector masked, address and data 0. */
	for (unsigned int v = 0; v < NVEC; v++) {
		assert_int_equal(tbl_rd(ENT(v, PCI_MSIX_ENTRY_LOWER_ADDR), 4), 0);
		assert_int_equal(tbl_rd(ENT(v, PCI_MSIX_ENTRY_UPPER_ADDR), 4), 0);
		assert_int_equal(tbl_rd(ENT(v, PCI_MSIX_ENTRY_DATA), 4), 0);
		assert_int_equal(tbl_rd(ENT(v, PCI_MSIX_ENTRY_VECTOR_CTRL), 4),
				 PCI_MSIX_ENTRY_CTRL_MASKBIT);
	}
	/* 4-byte accesses to each field of vector 2. */
	tbl_wr(ENT(2, PCI_MSIX_ENTRY_LOWER_ADDR), 4, 0xfee01000);
	tbl_wr(ENT(2, PCI_MSIX_ENTRY_UPPER_ADDR), 4, 0x12345678);
	tbl_wr(ENT(2, PCI_MSIX_ENTRY_DATA), 4, 0x4041);
	tbl_wr(ENT(2, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	assert_int_equal(tbl_rd(ENT(2, PCI_MSIX_ENTRY_LOWER_ADDR), 4), 0xfee01000);
	assert_int_equal(tbl_rd(ENT(2, PCI_MSIX_ENTRY_UPPER_ADDR), 4), 0x12345678);
	assert_int_equal(tbl_rd(ENT(2, PCI_MSIX_ENTRY_DATA), 4), 0x4041);
	assert_int_equal(tbl_rd(ENT(2, PCI_MSIX_ENTRY_VECTOR_CTRL), 4), 0);
	assert_int_equal(m.vec[2].addr_lo, 0xfee01000);
	assert_int_equal(m.vec[2].addr_hi, 0x12345678);
	/* 8-byte accesses: address as one qword, data + control as another. */
	tbl_wr(ENT(3, PCI_MSIX_ENTRY_LOWER_ADDR), 8, 0x00000001fee02000ULL);
	tbl_wr(ENT(3, PCI_MSIX_ENTRY_DATA), 8, 0x00000000000000a5ULL);
	assert_int_equal(tbl_rd(ENT(3, 0), 8), 0x00000001fee02000ULL);
	assert_int_equal(tbl_rd(ENT(3, 8), 8), 0x00000000000000a5ULL);
	assert_int_equal(m.vec[3].ctrl, 0);
	tbl_wr(ENT(3, PCI_MSIX_ENTRY_DATA), 8, 0x00000001000000a6ULL);	/* masks it again */
	assert_int_equal(tbl_rd(ENT(3, 8), 8), 0x00000001000000a6ULL);
	assert_int_equal(tbl_rd(ENT(3, PCI_MSIX_ENTRY_VECTOR_CTRL), 4), 1);
	/* Address bits 1:0 are reserved: they read 0. */
	tbl_wr(ENT(4, PCI_MSIX_ENTRY_LOWER_ADDR), 4, 0xfee00003);
	assert_int_equal(tbl_rd(ENT(4, PCI_MSIX_ENTRY_LOWER_ADDR), 4), 0xfee00000);
	/* The other vectors did not move. */
	assert_int_equal(tbl_rd(ENT(1, 0), 8), 0);
	assert_int_equal(tbl_rd(ENT(1, 8), 8), 0x0000000100000000ULL);
	/* Through the BAR, as the guest sees it. */
	{
		uint8_t b[8];

		assert_int_equal(bus_dispatch(&vm.bus, NULL, BUS_MMIO, bar_addr + ENT(2, 8), b, 4,
					      false), 0);
		assert_int_equal(le_read(b, 4), 0x4041);
		le_write(b, 4, 0x4242);
		assert_int_equal(bus_dispatch(&vm.bus, NULL, BUS_MMIO, bar_addr + ENT(2, 8), b, 4,
					      true), 0);
		assert_int_equal(m.vec[2].data, 0x4242);
		assert_int_equal(bus_dispatch(&vm.bus, NULL, BUS_MMIO, bar_addr + ENT(2, 8), b, 2,
					      false), 0);
		assert_int_equal(le_read(b, 2), 0xffff);
	}
}

/* 1/2/3-byte and misaligned accesses and vectors past the table: all-ones, ignored. */
static void test_table_bad_accesses(void **state)
{
	uint32_t before[NVEC * 4], after[NVEC * 4];

	program(0, 0xfee00000, 0x31, false);
	program(1, 0xfee01000, 0x32, true);
	table_snapshot(before);
	for (unsigned int v = 0; v < 2; v++) {
		for (unsigned int off = 0; off < MSIX_ENTRY_SIZE; off++) {
			for (unsigned int len = 1; len <= 8; len++) {
				bool ok = (len == 4 || len == 8) && off % len == 0;

				if (ok)
					continue;
				assert_int_equal(tbl_rd(ENT(v, off), len),
						 len == 8 ? ~0ULL : (1ULL << (8 * len)) - 1);
				tbl_wr(ENT(v, off), len, 0);	/* would unmask or clear */
			}
		}
	}
	table_snapshot(after);
	assert_memory_equal(before, after, sizeof(before));
	/* Entries past the table. */
	for (uint64_t off = ENT(NVEC, 0); off < ENT(NVEC + 2, 0); off += 4) {
		assert_int_equal(tbl_rd(off, 4), 0xffffffffu);
		tbl_wr(off, 4, 0);
		if (off % 8 == 0) {
			assert_int_equal(tbl_rd(off, 8), ~0ULL);
			tbl_wr(off, 8, 0);
		}
	}
	assert_int_equal(tbl_rd(1ULL << 40, 4), 0xffffffffu);
	assert_int_equal(tbl_rd(~0ULL - 7, 8), ~0ULL);
	tbl_wr(~0ULL - 3, 4, 0);
	table_snapshot(after);
	assert_memory_equal(before, after, sizeof(before));
}

/* Vector control: only the mask bit exists; the reserved bits read 0. */
static void test_ctrl_reserved(void **state)
{
	tbl_wr(ENT(0, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0xfffffffe);
	assert_int_equal(tbl_rd(ENT(0, PCI_MSIX_ENTRY_VECTOR_CTRL), 4), 0);
	tbl_wr(ENT(0, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0xffffffff);
	assert_int_equal(tbl_rd(ENT(0, PCI_MSIX_ENTRY_VECTOR_CTRL), 4), 1);
	tbl_wr(ENT(0, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0x80000000);
	assert_int_equal(tbl_rd(ENT(0, PCI_MSIX_ENTRY_VECTOR_CTRL), 4), 0);
	tbl_wr(ENT(0, PCI_MSIX_ENTRY_DATA), 8, 0xffffffff12345678ULL);
	assert_int_equal(tbl_rd(ENT(0, PCI_MSIX_ENTRY_DATA), 8), 0x0000000112345678ULL);
}

static void test_notify_and_pba(void **state)
{
	program(0, 0xfee00000, 0x41, false);
	program(1, 0xfee00000, 0x42, true);
	/* Disabled: the caller falls back to INTx, nothing is latched. */
	assert_int_equal(msix_notify(&m, 0), -ENOENT);
	assert_int_equal(msix_notify(&m, 1), -ENOENT);
	assert_int_equal(pba_rd(0, 8), 0);
	assert_int_equal(m.vec[0].irq.gsi, 0);
	flags_wr(PCI_MSIX_FLAGS_ENABLE);
	/* Vectors the table does not have, and NO_VECTOR. */
	assert_int_equal(msix_notify(&m, NVEC), -EINVAL);
	assert_int_equal(msix_notify(&m, 0xffff), -EINVAL);
	assert_int_equal(msix_notify(&m, ~0u), -EINVAL);
	assert_int_equal(pba_rd(0, 8), 0);
	/* Unmasked: sent now, through a route set up on first use. */
	assert_int_equal(msix_notify(&m, 0), 0);
	assert_false(m.vec[0].pending);
	assert_true(m.vec[0].irq.gsi >= IRQ_ROUTES_FIRST_MSI);
	assert_int_equal(m.vec[0].irq.msg.addr, 0xfee00000);
	assert_int_equal(m.vec[0].irq.msg.data, 0x41);
	/* Masked: pending, visible in the PBA, no route yet. */
	assert_int_equal(msix_notify(&m, 1), 0);
	assert_true(m.vec[1].pending);
	assert_int_equal(m.vec[1].irq.gsi, 0);
	assert_int_equal(pba_rd(0, 4), 0x2);
	assert_int_equal(pba_rd(0, 8), 0x2);
	assert_int_equal(pba_rd(4, 4), 0);
	assert_int_equal(pba_rd(8, 8), 0);		/* past the vectors */
	/* Twice is still one pending bit. */
	assert_int_equal(msix_notify(&m, 1), 0);
	assert_int_equal(pba_rd(0, 8), 0x2);
	/* PBA: bad sizes read all-ones; writes are ignored. */
	assert_int_equal(pba_rd(0, 1), 0xff);
	assert_int_equal(pba_rd(0, 2), 0xffff);
	assert_int_equal(pba_rd(0, 3), 0xffffff);
	assert_int_equal(pba_rd(2, 4), 0xffffffffu);
	assert_int_equal(pba_rd(4, 8), ~0ULL);
	{
		uint8_t z[8] = { 0 };

		msix_pba_io(&m, 0, z, 8, true);
		msix_pba_io(&m, 0, z, 4, true);
		msix_pba_io(&m, 0, z, 1, true);
	}
	assert_true(m.vec[1].pending);
	/* Through the BAR. */
	{
		uint8_t b[8];

		assert_int_equal(bus_dispatch(&vm.bus, NULL, BUS_MMIO, bar_addr + PBA_OFF, b, 4,
					      false), 0);
		assert_int_equal(le_read(b, 4), 0x2);
	}
	/* Unmasking delivers it and clears the bit. */
	tbl_wr(ENT(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	assert_false(m.vec[1].pending);
	assert_int_equal(pba_rd(0, 8), 0);
	assert_true(m.vec[1].irq.gsi >= IRQ_ROUTES_FIRST_MSI);
	assert_int_not_equal(m.vec[1].irq.gsi, m.vec[0].irq.gsi);
	assert_int_equal(m.vec[1].irq.msg.data, 0x42);
	/* Unmasking a vector with nothing pending sends nothing. */
	tbl_wr(ENT(2, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	assert_int_equal(m.vec[2].irq.gsi, 0);
}

static void test_function_mask(void **state)
{
	program(0, 0xfee00000, 0x51, false);
	program(3, 0xfee00000, 0x53, false);
	flags_wr(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_int_equal(msix_notify(&m, 0), 0);
	assert_int_equal(msix_notify(&m, 3), 0);
	assert_int_equal(pba_rd(0, 4), 0x9);
	assert_int_equal(m.vec[0].irq.gsi, 0);
	/* Vector mask bits toggled under the function mask: still held. */
	tbl_wr(ENT(0, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 1);
	tbl_wr(ENT(0, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	assert_int_equal(pba_rd(0, 4), 0x9);
	assert_int_equal(m.vec[0].irq.gsi, 0);
	/* Mask vector 3 alone, then lift the function mask: 0 goes, 3 stays pending. */
	tbl_wr(ENT(3, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 1);
	flags_wr(PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(pba_rd(0, 4), 0x8);
	assert_true(m.vec[0].irq.gsi >= IRQ_ROUTES_FIRST_MSI);
	assert_int_equal(m.vec[3].irq.gsi, 0);
	tbl_wr(ENT(3, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	assert_int_equal(pba_rd(0, 4), 0);
	assert_true(m.vec[3].irq.gsi >= IRQ_ROUTES_FIRST_MSI);
	/* Pending bits wait while MSI-X is off, and go when it is turned on. */
	flags_wr(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_int_equal(msix_notify(&m, 3), 0);
	flags_wr(PCI_MSIX_FLAGS_MASKALL);
	assert_int_equal(pba_rd(0, 4), 0x8);
	flags_wr(0);
	assert_int_equal(pba_rd(0, 4), 0x8);
	flags_wr(PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(pba_rd(0, 4), 0);
}

static void test_reroute(void **state)
{
	int gsi;

	program(0, 0xfee00000, 0x61, false);
	flags_wr(PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(msix_notify(&m, 0), 0);
	gsi = m.vec[0].irq.gsi;
	assert_true(gsi >= IRQ_ROUTES_FIRST_MSI);
	assert_false(m.vec[0].dirty);
	/* Rewriting the same values changes nothing. */
	program(0, 0xfee00000, 0x61, false);
	assert_false(m.vec[0].dirty);
	/* A live (unmasked) vector retargeted: the route moves at once, same GSI. */
	tbl_wr(ENT(0, PCI_MSIX_ENTRY_DATA), 4, 0x62);
	assert_false(m.vec[0].dirty);
	assert_int_equal(m.vec[0].irq.gsi, gsi);
	assert_int_equal(m.vec[0].irq.msg.data, 0x62);
	tbl_wr(ENT(0, PCI_MSIX_ENTRY_LOWER_ADDR), 8, 0x00000000fee03000ULL);
	assert_int_equal(m.vec[0].irq.msg.addr, 0xfee03000);
	/* Masked, then rewritten: marked, the route stays until it is used. */
	tbl_wr(ENT(0, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 1);
	tbl_wr(ENT(0, PCI_MSIX_ENTRY_DATA), 4, 0x63);
	tbl_wr(ENT(0, PCI_MSIX_ENTRY_UPPER_ADDR), 4, 0x1);
	assert_true(m.vec[0].dirty);
	assert_int_equal(m.vec[0].irq.msg.data, 0x62);
	assert_int_equal(m.vec[0].irq.msg.addr, 0xfee03000);
	assert_int_equal(msix_notify(&m, 0), 0);	/* pending */
	assert_true(m.vec[0].dirty);
	/* Unmask: re-routed before it is sent. */
	tbl_wr(ENT(0, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	assert_false(m.vec[0].dirty);
	assert_false(m.vec[0].pending);
	assert_int_equal(m.vec[0].irq.gsi, gsi);
	assert_int_equal(m.vec[0].irq.msg.data, 0x63);
	assert_int_equal(m.vec[0].irq.msg.addr, 0x1fee03000ULL);
	/* Rewritten under the function mask: re-routed on the next send. */
	flags_wr(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	tbl_wr(ENT(0, PCI_MSIX_ENTRY_DATA), 4, 0x64);
	assert_true(m.vec[0].dirty);
	flags_wr(PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(msix_notify(&m, 0), 0);
	assert_false(m.vec[0].dirty);
	assert_int_equal(m.vec[0].irq.msg.data, 0x64);
	assert_int_equal(m.vec[0].irq.gsi, gsi);
}

/* The GSI allocator: from 24 up, reused after release, bounded. */
static void test_gsi_alloc(void **state)
{
	struct msi_irq *irq = test_calloc(IRQ_ROUTES_MAX + 1, sizeof(*irq));
	struct msi_msg msg = { 0xfee00000, 0x30 };

	for (unsigned int i = 0; i <= IRQ_ROUTES_MAX; i++)
		irq[i].fd = -1;
	assert_int_equal(msi_irq_setup(&vm, &irq[0], msg), 0);
	assert_int_equal(msi_irq_setup(&vm, &irq[1], msg), 0);
	assert_int_equal(irq[0].gsi, IRQ_ROUTES_FIRST_MSI);
	assert_int_equal(irq[1].gsi, IRQ_ROUTES_FIRST_MSI + 1);
	assert_true(irq[0].fd >= 0);		/* the eventfd VFIO would be given */
	assert_false(irq[0].unbound);
	assert_int_equal(msi_irq_fire(&vm, &irq[0]), 0);
	msi_irq_release(&vm, &irq[0]);
	assert_int_equal(irq[0].gsi, 0);
	assert_int_equal(msi_irq_setup(&vm, &irq[2], msg), 0);
	assert_int_equal(irq[2].gsi, IRQ_ROUTES_FIRST_MSI);	/* reused */
	/* Retargeting keeps the GSI. */
	msg.data = 0x31;
	assert_int_equal(msi_irq_setup(&vm, &irq[2], msg), 0);
	assert_int_equal(irq[2].gsi, IRQ_ROUTES_FIRST_MSI);
	assert_int_equal(irq[2].msg.data, 0x31);
	/* Fill the table: the last one is refused, nothing breaks. */
	for (unsigned int i = 3; i < IRQ_ROUTES_MAX + 1; i++)
		assert_int_equal(msi_irq_setup(&vm, &irq[i], msg), 0);
	assert_int_equal(msi_irq_setup(&vm, &irq[0], msg), -ENOSPC);
	assert_int_equal(irq[0].gsi, 0);
	/* An MSI-X vector that cannot get a route stays undelivered, without a crash. */
	program(0, 0xfee00000, 0x71, false);
	flags_wr(PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(msix_notify(&m, 0), 0);
	assert_int_equal(m.vec[0].irq.gsi, 0);
	for (unsigned int i = 1; i < IRQ_ROUTES_MAX + 1; i++)
		msi_irq_release(&vm, &irq[i]);
	assert_int_equal(msix_notify(&m, 0), 0);
	assert_int_equal(m.vec[0].irq.gsi, IRQ_ROUTES_FIRST_MSI);
	test_free(irq);
}

/* msix_exit gives the vectors' GSIs back. */
static void test_exit_releases(void **state)
{
	struct msi_irq irq = { .fd = -1 };

	program(0, 0xfee00000, 0x81, false);
	program(1, 0xfee00000, 0x82, false);
	flags_wr(PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(msix_notify(&m, 0), 0);
	assert_int_equal(msix_notify(&m, 1), 0);
	assert_int_equal(m.vec[1].irq.gsi, IRQ_ROUTES_FIRST_MSI + 1);
	pci_device_remove(&dev);
	msix_exit(&m);
	assert_int_equal(msi_irq_setup(&vm, &irq, (struct msi_msg){ 0xfee00000, 1 }), 0);
	assert_int_equal(irq.gsi, IRQ_ROUTES_FIRST_MSI);
	msi_irq_release(&vm, &irq);
	/* Set it up again for teardown. */
	pci_device_init(&dev, "msix-test", 0x1234, 0x11, 0xff0000, 0, 0, 0);
	dev.ops = &tdev_ops;
	assert_int_equal(pci_bar_init(&dev, 0, PCI_BAR_MEM32, false, BAR_SIZE, tdev_bar_io, NULL), 0);
	assert_int_equal(msix_init(&m, &vm, &dev, NVEC, 0, TABLE_OFF, PBA_OFF), 0);
	assert_int_equal(pci_device_add(&host, &dev, SLOT, 1), SLOT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capability, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_rw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_bad_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_reserved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_and_pba, setup, teardown),
		cmocka_unit_test_setup_teardown(test_function_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reroute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gsi_alloc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_releases, setup, teardown),
	};

	/* test_gsi_alloc holds an eventfd per GSI, as kvmio does after raising the limit. */
	raise_fd_limit();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
