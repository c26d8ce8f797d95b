// SPDX-License-Identifier: Apache-2.0
/*
 * ACPI PCI hotplug (src/hw/pcihp.c): the pure register model (PCIU clears on
 * read, PCID does not, B0EJ returns only hotplug slots and clears their
 * removal requests, other offsets), and the glue on a fake VM driven as a
 * vCPU would: the port range, narrow and straddling accesses, pcihp_plugged
 * and pcihp_request_eject setting PCIU/PCID and raising GPE0 bit 1 (SCI on
 * IRQ 9 once the guest enables it), and a B0EJ write removing the slot's
 * device from the registry later, on the main loop, not on the vCPU.
 * The AML is checked in test_acpi.c (test_dsdt_pcihp) and under acpiexec
 * (acpi-iasl.sh).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dev.h"
#include "fake_vm.h"
#include "hw/pcihp.h"
#include "hw/pm.h"
#include "loop.h"
#include "pci/pci.h"
#include "util.h"
#include "vm.h"

#define PCIU_PORT	(PCIHP_BASE + PCIHP_PCIU)
#define PCID_PORT	(PCIHP_BASE + PCIHP_PCID)
#define B0EJ_PORT	(PCIHP_BASE + PCIHP_B0EJ)
#define GPE_STS_PORT	ACPI_GPE0_BLK
#define GPE_EN_PORT	(ACPI_GPE0_BLK + PM_GPE0_HALF)

/* ---- the register model ---- */

static void test_state_pciu_clears_on_read(void **state)
{
	struct pcihp_state s = { .up = 1u << 3 | 1u << 31, .down = 1u << 7 };

	assert_int_equal(pcihp_state_read(&s, PCIHP_PCIU), 1u << 3 | 1u << 31);
	assert_int_equal(s.up, 0);
	assert_int_equal(pcihp_state_read(&s, PCIHP_PCIU), 0);
	/* PCID is untouched by a PCIU read. */
	assert_int_equal(s.down, 1u << 7);
}

static void test_state_pcid_stays(void **state)
{
	struct pcihp_state s = { .up = 1u << 2, .down = 1u << 5 | 1u << 6 };

	for (int i = 0; i < 3; i++)
		assert_int_equal(pcihp_state_read(&s, PCIHP_PCID), 1u << 5 | 1u << 6);
	assert_int_equal(s.down, 1u << 5 | 1u << 6);
	assert_int_equal(s.up, 1u << 2);	/* nor is PCIU */
}

static void test_state_b0ej(void **state)
{
	struct pcihp_state s = { .up = 1u << 4, .down = 1u << 5 | 1u << 6 | 1u << 9 };

	/* Ejects what is written, requested or not; clears only those requests. */
	assert_int_equal(pcihp_state_write(&s, PCIHP_B0EJ, 1u << 5 | 1u << 20), 1u << 5 | 1u << 20);
	assert_int_equal(s.down, 1u << 6 | 1u << 9);
	assert_int_equal(s.up, 1u << 4);
	/* Slot 0, the host bridge, is no hotplug slot. */
	assert_int_equal(pcihp_state_write(&s, PCIHP_B0EJ, 1), 0);
	assert_int_equal(pcihp_state_write(&s, PCIHP_B0EJ, 0xffffffffu), PCIHP_SLOTS);
	assert_int_equal(s.down, 0);
	assert_int_equal(pcihp_state_write(&s, PCIHP_B0EJ, 0), 0);
	assert_int_equal(s.up, 1u << 4);
	/* B0EJ is write-only: reads as 0. */
	s.down = 1u << 3;
	assert_int_equal(pcihp_state_read(&s, PCIHP_B0EJ), 0);
	assert_int_equal(s.down, 1u << 3);
}

static void test_state_other_offsets(void **state)
{
	static const unsigned int offs[] = { 1, 2, 3, 5, 9, 0xC, 0x10, 0xFFFF, ~0u };
	struct pcihp_state s = { .up = 0x0000F00Eu, .down = 0x00F0000Eu };

	for (size_t i = 0; i < ARRAY_SIZE(offs); i++) {
		assert_int_equal(pcihp_state_read(&s, offs[i]), 0);
		assert_int_equal(pcihp_state_write(&s, offs[i], ~0u), 0);
	}
	/* Writes to PCIU and PCID do nothing: they are read-only. */
	assert_int_equal(pcihp_state_write(&s, PCIHP_PCIU, ~0u), 0);
	assert_int_equal(pcihp_state_write(&s, PCIHP_PCID, ~0u), 0);
	assert_int_equal(s.up, 0x0000F00Eu);
	assert_int_equal(s.down, 0x00F0000Eu);
}

/* ---- the glue on a fake VM ---- */

static struct vm vm;

/* A registered device in a PCI slot: only its devfn matters to pcihp. */
struct hpdev {
	struct device dev;
	struct pci_device pci;
	unsigned int unplugs, releases;
};

static void hp_unplug(struct device *d)
{
	((struct hpdev *)d)->unplugs++;
}

static void hp_release(struct device *d)
{
	((struct hpdev *)d)->releases++;
}

static const struct device_ops hp_ops = { .unplug = hp_unplug, .release = hp_release };

static void hp_register(struct hpdev *h, const char *id, unsigned int slot)
{
	memset(h, 0, sizeof(*h));
	h->dev.ops = &hp_ops;
	h->dev.vm = &vm;
	h->dev.kind = "test";
	h->dev.pci = &h->pci;
	h->pci.devfn = (uint8_t)(slot << 3);
	assert_int_equal(dev_register(&vm.devs, &h->dev, id, NULL), 0);
}

/* Whether @id is still listed. */
static bool listed(const char *id)
{
	struct device *d = dev_find(&vm.devs, id);

	dev_put(d);
	return d != NULL;
}

/* Run the main loop's deferred work until none is left (bounded). */
static void run_loop(void)
{
	for (int i = 0; i < 4; i++)
		assert_true(loop_run_once(&vm.loop, 0) >= 0);
}

static int setup(void **state)
{
	fake_vm_init(&vm);
	assert_int_equal(loop_init(&vm.loop), 0);
	assert_int_equal(pm_dev_ops.init(&vm), 0);
	assert_int_equal(pcihp_dev_ops.init(&vm), 0);
	return 0;
}

static int teardown(void **state)
{
	pcihp_dev_ops.exit(&vm);
	pm_dev_ops.exit(&vm);
	dev_remove_all(&vm.devs);
	loop_destroy(&vm.loop);
	fake_vm_destroy(&vm);
	return 0;
}

static void test_glue_ports(void **state)
{
	uint8_t b[4];

	assert_non_null(vm.pcihp);
	assert_int_equal(fake_pio_range(PCIHP_BASE), PCIHP_LEN);
	assert_int_equal(pio_read32(PCIU_PORT), 0);
	assert_int_equal(pio_read32(PCID_PORT), 0);
	assert_int_equal(pio_read32(B0EJ_PORT), 0);
	/* Nothing past the block. */
	assert_int_equal(bus_dispatch(&vm.bus, NULL, BUS_PIO, PCIHP_BASE + PCIHP_LEN, b, 1, false),
			 -ENOENT);
	assert_int_equal(bus_dispatch(&vm.bus, NULL, BUS_PIO, PCIHP_BASE - 1, b, 1, false),
			 -ENOENT);
	/* Gone after exit (teardown's exit then finds nothing: safe). */
	pcihp_dev_ops.exit(&vm);
	assert_null(vm.pcihp);
	assert_int_equal(fake_pio_range(PCIHP_BASE), 0);
	assert_int_equal(pcihp_plugged(&vm, 1), -ENODEV);
	assert_int_equal(pcihp_request_eject(&vm, 1), -ENODEV);
	assert_false(pcihp_eject_pending(&vm, 1));
}

static void test_glue_plugged(void **state)
{
	/* GPE0 bit 1 enabled as the guest's ACPI does for _E01; SCI follows the status bit. */
	pio_write8(GPE_EN_PORT, 1u << PCIHP_GPE_BIT);
	assert_int_equal(fake_irq_level(ACPI_SCI_IRQ), 0);

	assert_int_equal(pcihp_plugged(&vm, 3), 0);
	assert_int_equal(pio_read8(GPE_STS_PORT), 1u << PCIHP_GPE_BIT);
	assert_int_equal(fake_irq_level(ACPI_SCI_IRQ), 1);
	assert_int_equal(pcihp_plugged(&vm, 31), 0);
	/* PCNT reads PCIU, then PCID: PCIU clears, PCID stays. */
	assert_int_equal(pio_read32(PCIU_PORT), 1u << 3 | 1u << 31);
	assert_int_equal(pio_read32(PCIU_PORT), 0);
	assert_int_equal(pio_read32(PCID_PORT), 0);
	/* The guest acknowledges the GPE (write 1 to clear): SCI drops. */
	pio_write8(GPE_STS_PORT, 1u << PCIHP_GPE_BIT);
	assert_int_equal(fake_irq_level(ACPI_SCI_IRQ), 0);
	/* Not hotplug slots. */
	assert_int_equal(pcihp_plugged(&vm, 0), -ENODEV);
	assert_int_equal(pcihp_plugged(&vm, 32), -ENODEV);
	assert_int_equal(pcihp_plugged(&vm, ~0u), -ENODEV);
	assert_int_equal(pio_read32(PCIU_PORT), 0);
	assert_int_equal(pio_read8(GPE_STS_PORT), 0);
	assert_int_equal(fake_irq_level(ACPI_SCI_IRQ), 0);
}

static void test_glue_request_eject(void **state)
{
	assert_int_equal(pcihp_request_eject(&vm, 5), 0);
	assert_int_equal(pio_read8(GPE_STS_PORT), 1u << PCIHP_GPE_BIT);
	assert_true(pcihp_eject_pending(&vm, 5));
	assert_false(pcihp_eject_pending(&vm, 6));
	assert_false(pcihp_eject_pending(&vm, 32));
	/* PCID is read as often as the guest likes. */
	assert_int_equal(pio_read32(PCID_PORT), 1u << 5);
	assert_int_equal(pio_read32(PCID_PORT), 1u << 5);
	assert_int_equal(pio_read32(PCIU_PORT), 0);
	assert_int_equal(pcihp_request_eject(&vm, 0), -ENODEV);
	assert_int_equal(pcihp_request_eject(&vm, 32), -ENODEV);
	/* A new device in the slot withdraws the request. */
	assert_int_equal(pcihp_plugged(&vm, 5), 0);
	assert_false(pcihp_eject_pending(&vm, 5));
	assert_int_equal(pio_read32(PCID_PORT), 0);
	assert_int_equal(pio_read32(PCIU_PORT), 1u << 5);
}

/* Sub-dword accesses see their bytes of one register; one that straddles two sees nothing. */
static void test_glue_narrow(void **state)
{
	uint8_t b[4];

	assert_int_equal(pcihp_plugged(&vm, 17), 0);
	assert_int_equal(pcihp_request_eject(&vm, 9), 0);
	/* 4 bytes at PCIU+2 straddle into PCID: all-ones, and PCIU is not cleared. */
	pio(PCIU_PORT + 2, b, 4, false);
	assert_int_equal(le_read(b, 4), 0xffffffffu);
	assert_int_equal(pio_read16(PCID_PORT + 1), (1u << 9) >> 8);
	assert_int_equal(pio_read8(PCID_PORT + 1), (1u << 9) >> 8);
	/* A narrow read of PCIU returns its bytes (and clears the register, as a dword read). */
	assert_int_equal(pio_read16(PCIU_PORT + 2), (1u << 17) >> 16);
	assert_int_equal(pio_read32(PCIU_PORT), 0);
	/* The last byte of the block, with an access the bus clips. */
	pio(B0EJ_PORT + 3, b, 4, false);
	assert_int_equal(le_read(b, 4), 0xffffff00u);
}

static void test_glue_eject(void **state)
{
	static struct hpdev h3, h8, h0;

	hp_register(&h3, "hp3", 3);
	hp_register(&h8, "hp8", 8);
	hp_register(&h0, "hp0", 0);	/* nothing pcihp may eject */

	assert_int_equal(pcihp_request_eject(&vm, 3), 0);
	assert_int_equal(pio_read32(PCID_PORT), 1u << 3);
	/* _EJ0 of S03: B0EJ = 1 << 3. The request is done; the removal waits for the main loop. */
	pio_write32(B0EJ_PORT, 1u << 3);
	assert_int_equal(pio_read32(PCID_PORT), 0);
	assert_false(pcihp_eject_pending(&vm, 3));
	assert_int_equal(h3.unplugs, 0);
	assert_true(listed("hp3"));
	run_loop();
	assert_false(listed("hp3"));
	assert_int_equal(h3.unplugs, 1);
	assert_int_equal(h3.releases, 1);
	assert_int_equal(h3.dev.state, DEV_REMOVED);
	/* The same slot again: nothing there now, nothing happens. */
	pio_write32(B0EJ_PORT, 1u << 3);
	run_loop();
	assert_int_equal(h3.unplugs, 1);
	assert_int_equal(h3.releases, 1);

	/* A byte write to B0EJ+1: bit 0 of that byte is slot 8. */
	pio_write8(B0EJ_PORT + 1, 0x01);
	assert_true(listed("hp8"));
	run_loop();
	assert_false(listed("hp8"));
	assert_int_equal(h8.unplugs, 1);
	assert_int_equal(h8.releases, 1);

	/* Slot 0 is masked: the device there stays. */
	pio_write32(B0EJ_PORT, 1);
	run_loop();
	assert_true(listed("hp0"));
	assert_int_equal(h0.unplugs, 0);
	/* Writes to PCIU and PCID eject nothing either. */
	pio_write32(PCIU_PORT, 0xffffffffu);
	pio_write32(PCID_PORT, 0xffffffffu);
	run_loop();
	assert_int_equal(h0.unplugs, 0);
	assert_int_equal(dev_remove(&vm.devs, &h0.dev), 0);
	run_loop();
	assert_int_equal(h0.releases, 1);
}

/* Several slots in one B0EJ write; a reference held elsewhere delays the release only. */
static void test_glue_eject_many(void **state)
{
	static struct hpdev h[4];
	static const unsigned int slots[] = { 1, 2, 30, 31 };
	char id[8];
	struct device *held;
	uint32_t mask = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(h); i++) {
		snprintf(id, sizeof(id), "m%u", i);
		hp_register(&h[i], id, slots[i]);
		mask |= 1u << slots[i];
	}
	held = dev_find(&vm.devs, "m2");
	assert_ptr_equal(held, &h[2].dev);
	pio_write32(B0EJ_PORT, mask);
	run_loop();
	for (unsigned int i = 0; i < ARRAY_SIZE(h); i++) {
		assert_int_equal(h[i].unplugs, 1);
		assert_int_equal(h[i].releases, i == 2 ? 0 : 1);
	}
	dev_put(held);
	run_loop();
	assert_int_equal(h[2].releases, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_pciu_clears_on_read),
		cmocka_unit_test(test_state_pcid_stays),
		cmocka_unit_test(test_state_b0ej),
		cmocka_unit_test(test_state_other_offsets),
		cmocka_unit_test_setup_teardown(test_glue_ports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_glue_plugged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_glue_request_eject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_glue_narrow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_glue_eject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_glue_eject_many, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
