// SPDX-License-Identifier: Apache-2.0
/*
 * Plain MSI (src/pci/msi.c, PCI 3.0 6.8.1) on a fake VM without KVM: the
 * four capability layouts and their write masks through config space,
 * enable and Multiple Message Enable (clamped to MMC), msi_cap_notify's
 * return values, per-vector masking with pending bits visible to the guest,
 * lazy routing, the vector number in the data's low bits, and re-routing
 * after the guest rewrites the message while MSI is enabled.
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
#include "pci/pci.h"
#include "util.h"
#include "vm.h"

#define SLOT	1
#define BDF	(SLOT << 3)
#define ADDR	0xfee01000u

static struct vm vm;
static struct pci_host host;
static struct pci_device dev;
static struct msi_cap m;
static bool added;
static unsigned int cfg_writes;

static void tdev_cfg_write(struct pci_device *d, unsigned int off, unsigned int len)
{
	cfg_writes++;
	msi_cap_cfg_write(&m, off, len);
}

static const struct pci_device_ops tdev_ops = { .cfg_write = tdev_cfg_write };

static int setup(void **state)
{
	fake_vm_init(&vm);
	assert_int_equal(irq_routes_init(&vm), 0);
	assert_int_equal(pci_host_init(&host, &vm, 4 * GiB, 4 * GiB), 0);
	vm.pci = &host;
	added = false;
	cfg_writes = 0;
	return 0;
}

static int teardown(void **state)
{
	if (added)
		pci_device_remove(&dev);
	msi_cap_exit(&m);
	pci_host_exit(&host);
	irq_routes_exit(&vm);
	fake_vm_destroy(&vm);
	return 0;
}

/* A device with only an MSI capability, plugged into slot 1. */
static void add_dev(unsigned int nvec_max, bool is64, bool maskable)
{
	pci_device_init(&dev, "msi-test", 0x1234, 0x12, 0xff0000, 0, 0, 0);
	dev.ops = &tdev_ops;
	assert_int_equal(msi_cap_init(&m, &vm, &dev, nvec_max, is64, maskable), 0);
	assert_int_equal(pci_device_add(&host, &dev, SLOT, 1), SLOT);
	added = true;
}

/* ---- helpers: guest accesses relative to the capability ---- */

static uint32_t rd(unsigned int off, unsigned int len)
{
	uint8_t b[4];

	pci_cfg_read(&host, BDF, m.cap + off, b, len);
	return (uint32_t)le_read(b, len);
}

static void wr(unsigned int off, unsigned int len, uint32_t v)
{
	uint8_t b[4];

	le_write(b, len, v);
	pci_cfg_write(&host, BDF, m.cap + off, b, len);
}

static unsigned int data_off(void)
{
	return m.is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32;
}

static unsigned int mask_off(void)
{
	return m.is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32;
}

static unsigned int pend_off(void)
{
	return m.is64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32;
}

/* Program address and data, then enable with MME = @mme. */
static void program(uint64_t addr, uint16_t data, unsigned int mme)
{
	wr(PCI_MSI_ADDRESS_LO, 4, (uint32_t)addr);
	if (m.is64)
		wr(PCI_MSI_ADDRESS_HI, 4, (uint32_t)(addr >> 32));
	wr(data_off(), 2, data);
	wr(PCI_MSI_FLAGS, 2, (uint16_t)(PCI_MSI_FLAGS_ENABLE | mme << 4));
}

/* ---- tests ---- */

/*
 * Figures 6-9..6-12: 10, 14, 20, 24 bytes (the list advances by the
 * DWORD-rounded size); registers at the spec's offsets; write masks.
 */
static void check_layout(unsigned int nvec_max, bool is64, bool maskable, unsigned int len)
{
	unsigned int mmc = 0;
	uint16_t ro;

	while ((1u << mmc) < nvec_max)
		mmc++;
	add_dev(nvec_max, is64, maskable);
	assert_int_equal(m.cap, 0x40);
	assert_int_equal(pci_cap_find(dev.cfg, PCI_CAP_ID_MSI), m.cap);
	assert_int_equal(dev.next_cap - m.cap, (len + 3) & ~3u);
	ro = (uint16_t)(mmc << 1 | (is64 ? PCI_MSI_FLAGS_64BIT : 0) |
			(maskable ? PCI_MSI_FLAGS_MASKBIT : 0));
	assert_int_equal(rd(PCI_MSI_FLAGS, 2), ro);
	assert_false(msi_cap_enabled(&m));

	/* Everything written with ones: only the defined RW bits stick. */
	for (unsigned int off = 0; off < ((len + 3) & ~3u); off += 4)
		wr(off, 4, 0xffffffff);
	assert_int_equal(rd(0, 1), PCI_CAP_ID_MSI);
	assert_int_equal(rd(1, 1), 0);
	/* ENABLE and MME writable (MME clamped to MMC); MMC, 64BIT, MASKBIT not. */
	assert_int_equal(rd(PCI_MSI_FLAGS, 2), ro | PCI_MSI_FLAGS_ENABLE | mmc << 4);
	assert_true(msi_cap_enabled(&m));
	assert_int_equal(m.nvec, nvec_max);
	assert_int_equal(rd(PCI_MSI_ADDRESS_LO, 4), 0xfffffffc);	/* bits 1:0 reserved */
	if (is64)
		assert_int_equal(rd(PCI_MSI_ADDRESS_HI, 4), 0xffffffff);
	assert_int_equal(rd(data_off(), 2), 0xffff);
	if (maskable) {
		uint32_t bits = nvec_max == 32 ? 0xffffffff : (1u << nvec_max) - 1;

		if (!is64)
			assert_int_equal(rd(PCI_MSI_DATA_32 + 2, 2), 0);	/* reserved */
		assert_int_equal(rd(mask_off(), 4), bits);
		assert_int_equal(m.mask, bits);
		assert_int_equal(rd(pend_off(), 4), 0);			/* read-only */
	} else if (!is64) {
		/* Nothing past the data: the rounding bytes stay 0. */
		assert_int_equal(rd(PCI_MSI_DATA_32 + 2, 2), 0);
	} else {
		assert_int_equal(rd(PCI_MSI_DATA_64 + 2, 2), 0);
	}
	assert_int_equal(dev.next_cap, m.cap + ((len + 3) & ~3u));
}

static void test_layout_32(void **state)
{
	check_layout(1, false, false, 10);
}

static void test_layout_64(void **state)
{
	check_layout(4, true, false, 14);
}

static void test_layout_32_mask(void **state)
{
	check_layout(8, false, true, 20);
}

static void test_layout_64_mask(void **state)
{
	check_layout(32, true, true, 24);
}

static void test_init_errors(void **state)
{
	struct pci_device *d = test_malloc(sizeof(*d));
	struct msi_cap m2;

	pci_device_init(d, "bad", 1, 2, 0, 0, 0, 0);
	assert_int_equal(msi_cap_init(&m2, &vm, d, 0, false, false), -EINVAL);
	assert_int_equal(msi_cap_init(&m2, &vm, d, 3, false, false), -EINVAL);
	assert_int_equal(msi_cap_init(&m2, &vm, d, 64, false, false), -EINVAL);
	assert_int_equal(d->cfg[PCI_CAPABILITY_LIST], 0);	/* nothing added */
	/* Config space full: -ENOSPC. */
	d->next_cap = PCI_CFG_LEGACY_SIZE - 16;
	assert_int_equal(msi_cap_init(&m2, &vm, d, 2, true, true), -ENOSPC);
	assert_int_equal(msi_cap_init(&m2, &vm, d, 2, true, false), 0);
	msi_cap_exit(&m2);
	msi_cap_exit(&m2);		/* twice is harmless */
	test_free(d);
}

static void test_enable_mme(void **state)
{
	add_dev(4, true, false);	/* MMC = 2 */
	assert_int_equal(m.nvec, 1);
	wr(PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | 1 << 4);
	assert_true(msi_cap_enabled(&m));
	assert_int_equal(m.nvec, 2);
	/* MME 5 (32) > MMC 2 (4): clamped, and the guest reads back 2. */
	wr(PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | 5 << 4);
	assert_int_equal(m.nvec, 4);
	assert_int_equal((rd(PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QSIZE) >> 4, 2);
	/* Reserved encodings 6 and 7 too. */
	wr(PCI_MSI_FLAGS, 2, 7 << 4);
	assert_false(msi_cap_enabled(&m));
	assert_int_equal(rd(PCI_MSI_FLAGS, 2), 2 << 1 | PCI_MSI_FLAGS_64BIT | 2 << 4);
	/* A byte write to the low byte of the flags is enough. */
	wr(PCI_MSI_FLAGS, 1, PCI_MSI_FLAGS_ENABLE);
	assert_true(msi_cap_enabled(&m));
	assert_int_equal(m.nvec, 1);
	/* A 4-byte write at the capability's start covers the flags too. */
	wr(0, 4, 0x00000000);
	assert_false(msi_cap_enabled(&m));
}

static void test_notify_errors(void **state)
{
	add_dev(4, false, true);
	assert_int_equal(msi_cap_notify(&m, 0), -ENOENT);
	assert_int_equal(m.pending, 0);
	assert_int_equal(m.irq[0].gsi, 0);
	program(ADDR, 0x40, 1);			/* 2 vectors */
	assert_int_equal(msi_cap_notify(&m, 2), -EINVAL);
	assert_int_equal(msi_cap_notify(&m, 31), -EINVAL);
	assert_int_equal(msi_cap_notify(&m, 32), -EINVAL);
	assert_int_equal(msi_cap_notify(&m, ~0u), -EINVAL);
	assert_int_equal(m.irq[2].gsi, 0);
	/* Disabled again: even a masked vector is not made pending. */
	wr(mask_off(), 4, 1);
	wr(PCI_MSI_FLAGS, 2, 0);
	assert_int_equal(msi_cap_notify(&m, 0), -ENOENT);
	assert_int_equal(rd(pend_off(), 4), 0);
}

/* Lazy routing; vector i's data carries i in its low log2(nvec) bits. */
static void test_notify_routes(void **state)
{
	add_dev(8, true, false);
	program(0x1fee02000ULL, 0x4440, 3);	/* 8 vectors, low 3 bits clear */
	assert_int_equal(m.irq[0].gsi, 0);	/* nothing routed before use */
	assert_int_equal(msi_cap_notify(&m, 0), 0);
	assert_int_equal(m.irq[0].gsi, IRQ_ROUTES_FIRST_MSI);
	assert_int_equal(m.irq[0].msg.addr, 0x1fee02000ULL);
	assert_int_equal(m.irq[0].msg.data, 0x4440);
	assert_int_equal(msi_cap_notify(&m, 5), 0);
	assert_int_equal(m.irq[5].gsi, IRQ_ROUTES_FIRST_MSI + 1);
	assert_int_equal(m.irq[5].msg.data, 0x4445);
	assert_int_equal(msi_cap_notify(&m, 7), 0);
	assert_int_equal(m.irq[7].msg.data, 0x4447);
	/* A second notify keeps the route. */
	assert_int_equal(msi_cap_notify(&m, 5), 0);
	assert_int_equal(m.irq[5].gsi, IRQ_ROUTES_FIRST_MSI + 1);
	assert_int_equal(m.irq[1].gsi, 0);
	/* Data bits under the vector number are the function's, not the guest's. */
	wr(data_off(), 2, 0x4447);
	assert_int_equal(m.irq[5].msg.data, 0x4445);
	assert_int_equal(m.irq[0].msg.data, 0x4440);
}

static void test_mask_pending(void **state)
{
	add_dev(4, false, true);
	program(ADDR, 0x30, 2);			/* 4 vectors */
	wr(mask_off(), 4, 0x0000000a);		/* mask 1 and 3 */
	assert_int_equal(m.mask, 0xa);
	assert_int_equal(msi_cap_notify(&m, 1), 0);
	assert_int_equal(msi_cap_notify(&m, 3), 0);
	assert_int_equal(msi_cap_notify(&m, 2), 0);
	assert_int_equal(m.irq[1].gsi, 0);	/* not sent */
	assert_int_equal(m.irq[3].gsi, 0);
	assert_int_equal(m.irq[2].gsi, IRQ_ROUTES_FIRST_MSI);
	/* The guest sees the pending bits, and cannot write them. */
	assert_int_equal(rd(pend_off(), 4), 0xa);
	wr(pend_off(), 4, 0);
	assert_int_equal(rd(pend_off(), 4), 0xa);
	assert_int_equal(rd(pend_off() + 1, 1), 0);
	/* Unmask 1 (byte write): sent, its pending bit clears, 3 stays. */
	wr(mask_off(), 1, 0x08);
	assert_int_equal(m.irq[1].gsi, IRQ_ROUTES_FIRST_MSI + 1);
	assert_int_equal(m.irq[1].msg.data, 0x31);
	assert_int_equal(rd(pend_off(), 4), 0x8);
	assert_int_equal(m.irq[3].gsi, 0);
	/* Pending survives disable; delivered once enabled and unmasked. */
	wr(PCI_MSI_FLAGS, 2, 2 << 4);
	wr(mask_off(), 4, 0);
	assert_int_equal(m.irq[3].gsi, 0);
	assert_int_equal(rd(pend_off(), 4), 0x8);
	wr(PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | 2 << 4);
	assert_int_equal(m.irq[3].gsi, IRQ_ROUTES_FIRST_MSI + 2);
	assert_int_equal(m.irq[3].msg.data, 0x33);
	assert_int_equal(rd(pend_off(), 4), 0);
	/* Mask bits past MMC are read-only. */
	wr(mask_off(), 4, 0xffffffff);
	assert_int_equal(rd(mask_off(), 4), 0xf);
	/* Shrinking MME drops pending bits of vectors that are gone. */
	assert_int_equal(msi_cap_notify(&m, 3), 0);
	assert_int_equal(rd(pend_off(), 4), 0x8);
	wr(PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | 1 << 4);
	assert_int_equal(rd(pend_off(), 4), 0);
}

/* A non-maskable capability ignores writes where mask bits would be. */
static void test_no_mask(void **state)
{
	add_dev(2, true, false);
	program(ADDR, 0x50, 1);
	wr(PCI_MSI_MASK_64, 4, 0xffffffff);	/* past the 14-byte capability */
	assert_int_equal(m.mask, 0);
	assert_int_equal(msi_cap_notify(&m, 1), 0);
	assert_int_equal(m.irq[1].gsi, IRQ_ROUTES_FIRST_MSI);
	assert_int_equal(m.pending, 0);
}

/* Address or data rewritten while enabled: live vectors move at once, keeping their GSI. */
static void test_reroute(void **state)
{
	add_dev(2, false, true);
	program(ADDR, 0x60, 1);
	assert_int_equal(msi_cap_notify(&m, 0), 0);
	assert_int_equal(msi_cap_notify(&m, 1), 0);
	wr(data_off(), 2, 0x70);
	assert_int_equal(m.irq[0].gsi, IRQ_ROUTES_FIRST_MSI);
	assert_int_equal(m.irq[0].msg.data, 0x70);
	assert_int_equal(m.irq[1].gsi, IRQ_ROUTES_FIRST_MSI + 1);
	assert_int_equal(m.irq[1].msg.data, 0x71);
	wr(PCI_MSI_ADDRESS_LO, 4, 0xfee03000);
	assert_int_equal(m.irq[0].msg.addr, 0xfee03000);
	assert_int_equal(m.irq[1].msg.addr, 0xfee03000);
	/* Masked vectors are retargeted too: no stale route stays in KVM's table. */
	wr(mask_off(), 4, 0x2);
	wr(data_off(), 2, 0x80);
	assert_int_equal(m.irq[1].msg.data, 0x81);
	/* While disabled the route follows at the next delivery. */
	wr(PCI_MSI_FLAGS, 2, 1 << 4);
	wr(data_off(), 2, 0x90);
	assert_int_equal(m.irq[0].msg.data, 0x80);
	wr(PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | 1 << 4);
	assert_int_equal(m.irq[0].msg.data, 0x90);
	assert_int_equal(m.irq[0].gsi, IRQ_ROUTES_FIRST_MSI);
	/* Fewer vectors: the data bits given back to the guest reach the route. */
	wr(data_off(), 2, 0x91);		/* with 2 vectors bit 0 is the vector's */
	assert_int_equal(m.irq[0].msg.data, 0x90);
	wr(PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);	/* 1 vector: all 16 bits are the guest's */
	assert_int_equal(m.irq[0].msg.data, 0x91);
}

/* msi_cap_exit gives the vectors' GSIs back. */
static void test_exit_releases(void **state)
{
	struct msi_irq probe = MSI_IRQ_INIT;

	add_dev(2, false, false);
	program(ADDR, 0x20, 1);
	assert_int_equal(msi_cap_notify(&m, 0), 0);
	assert_int_equal(msi_cap_notify(&m, 1), 0);
	pci_device_remove(&dev);
	added = false;
	msi_cap_exit(&m);
	assert_int_equal(msi_irq_setup(&vm, &probe, (struct msi_msg){ ADDR, 0 }), 0);
	assert_int_equal(probe.gsi, IRQ_ROUTES_FIRST_MSI);
	msi_irq_release(&vm, &probe);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layout_32, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout_64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout_32_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout_64_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enable_mme, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mask_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reroute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_releases, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
