/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_BOOT_ACPI_H
#define KVMIO_BOOT_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * ACPI firmware tables for a PC-compatible, non-hardware-reduced platform:
 * RSDP -> RSDT and XSDT -> FADT (-> FACS, DSDT), MADT and, with PCI, MCFG.
 *
 * What the tables describe; acpi_config_init() fills it from the fixed
 * addresses in vm.h.
 */
struct acpi_config {
	unsigned int ncpus;		/* APIC IDs 0..ncpus-1 (1-255), one MADT LAPIC each */
	uint64_t ioapic_addr;		/* one IOAPIC, GSI base 0 */
	uint8_t ioapic_id;
	uint64_t lapic_addr;		/* below 4 GiB: the MADT field is 32 bits */
	uint16_t pm1a_evt;		/* PM1a_EVT_BLK, 4 bytes: status, enable */
	uint16_t pm1a_cnt;		/* PM1a_CNT_BLK, 2 bytes */
	uint16_t pm_tmr;		/* PM_TMR_BLK, 4 bytes, 32-bit counter */
	uint16_t gpe0_blk;		/* GPE0_BLK, gpe0_len bytes: status half, enable half */
	uint8_t gpe0_len;		/* even, 0 for none */
	uint16_t reset_port;		/* FADT RESET_REG: an 8-bit I/O port */
	uint8_t reset_value;
	uint8_t sci_irq;		/* ISA IRQ = GSI of the SCI, level, active high */
	uint8_t s5_typ;			/* SLP_TYPa/b in \_S5 */

	/*
	 * One PCI host bridge, segment 0, described by the MCFG and by
	 * \_SB.PCI0 (PNP0A08) in the DSDT; false: no PCI in the tables at all.
	 *
	 * INTx routing, in \_SB.PCI0._PRT: slot S, pin P (0 = INTA .. 3 = INTD)
	 * raises GSI pci_intx_gsi_base + (S + P) % 4, level-triggered, active
	 * low as PCI INTx are (a _PRT entry with Source 0 names a GSI, 6.2.13).
	 * It is the swizzle a PCI-to-PCI bridge applies to its secondary bus, so
	 * single-function devices, which all use INTA, spread over four lines.
	 */
	bool pci;
	bool pcihp;			/* ACPI PCI hotplug slots on bus 0 (hw/pcihp.h) */
	uint64_t pci_ecam_base;		/* ECAM of bus 0, 1 MiB-aligned: 1 MiB per bus */
	uint8_t pci_bus_end;		/* buses 0..pci_bus_end */
	uint16_t pci_io_base;		/* I/O window for BARs: at or above 0xD00 */
	uint32_t pci_io_size;		/* ... up to at most 0x10000 */
	uint64_t pci_mem32_base;	/* MMIO window below 4 GiB, non-empty */
	uint64_t pci_mem32_size;
	uint64_t pci_mem64_base;	/* MMIO window above 4 GiB */
	uint64_t pci_mem64_size;	/* 0: none */
	uint32_t pci_intx_gsi_base;	/* GSI of slot 0 INTA, 0-20: 4 GSIs on the 24-pin IOAPIC */

	/*
	 * An Intel VT-d DMA-remapping unit (VT-d 3.x chapter 8): a DMAR table
	 * with one DRHD for every PCI device on segment 0 (INCLUDE_PCI_ALL)
	 * and the IOAPIC in its scope; its 4 KiB register page, below 4 GiB, is
	 * also reserved by the PNP0C02 device. No interrupt remapping.
	 * dmar_base 0: none.
	 */
	uint64_t dmar_base;
	uint8_t dmar_haw;		/* host address width, bits */
};

/*
 * acpi_config_init - fill @cfg for @ncpus vCPUs with kvmio's fixed platform
 * (IOAPIC_ADDR, LAPIC_ADDR, ACPI_PM_*, ACPI_RESET_*, ACPI_SCI_IRQ, ACPI_S5_TYP)
 * and its PCI host bridge (PCI_ECAM_*, PCI_MMIO32_*, PCI_IOPORT_*,
 * PCI_INTX_GSI_BASE). The 64-bit MMIO window depends on RAM size and the
 * CPU's address width, so it is left empty for the caller to fill.
 */
void acpi_config_init(struct acpi_config *cfg, unsigned int ncpus);

/*
 * acpi_build - build the RSDP and all tables into @buf, which stands for
 * guest-physical [@gpa, @gpa + @size); the tables' pointers to each other are
 * guest-physical addresses in that range. The RSDP goes first, so @gpa must be
 * 16-byte aligned and within 0xE0000-0xFFFFF, where the OS scans for it
 * (ACPI 6.4 5.2.5.1); the range must lie below 4 GiB (RSDT and FACS pointers
 * are 32 bits). The rest of @buf is zeroed.
 *
 * Pure: no KVM, no globals. Returns the number of bytes used, -ENOSPC if
 * @size is too small, -EINVAL for a bad @gpa or @cfg.
 */
int acpi_build(void *buf, size_t size, uint64_t gpa, const struct acpi_config *cfg);

#endif
