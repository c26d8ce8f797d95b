/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_BOOT_LAYOUT_H
#define KVMIO_BOOT_LAYOUT_H

/*
 * Low guest memory as kvmio leaves it at the 64-bit kernel entry. Everything
 * here lies in e820 RAM except the EBDA and the BIOS area, so a kernel may
 * reuse it once it has copied boot_params and the command line.
 */
#define BOOT_GDT_ADDR		0x0500ULL	/* null, null, code64 (0x10), data (0x18) */
#define BOOT_FREE_START		0x1000ULL	/* 0x1000-0x6FFF: unused by kvmio */
#define BOOT_PARAMS_ADDR	0x7000ULL	/* struct boot_params, the "zero page" */
#define BOOT_PML4_ADDR		0x9000ULL
#define BOOT_PDPT_ADDR		0xA000ULL
#define BOOT_PD_ADDR		0xB000ULL	/* 4 pages: identity map of 0-4 GiB, 2 MiB pages */
#define BOOT_CMDLINE_ADDR	0x20000ULL
#define BOOT_CMDLINE_MAX	0x10000ULL
#define BOOT_EBDA_START		0x9FC00ULL	/* reserved up to 1 MiB */
#define BOOT_OPREGION_ADDR	0xC0000ULL	/* an assigned Intel IGD's OpRegion copy, reserved */
#define BOOT_OPREGION_MAX	0x20000ULL
#define BOOT_ACPI_START		0xE0000ULL	/* RSDP and ACPI tables, reserved */
#define BOOT_ACPI_END		0x100000ULL
#define BOOT_KERNEL_ADDR	0x100000ULL	/* protected-mode kernel; 64-bit entry at +0x200 */

/* IDT base at entry, with limit 0: anything but the deliberate-reboot IDT (0, 0). */
#define BOOT_IDT_SENTINEL	0x1000ULL

/* KVM's identity-map page and TSS (3 pages), in the 32-bit hole; e820-reserved. */
#define KVM_IDENTITY_MAP_ADDR	0xFFFBC000ULL
#define KVM_TSS_ADDR		0xFFFBD000ULL
#define KVM_PRIVATE_END		0xFFFC0000ULL

#define BOOT_CS			0x10
#define BOOT_DS			0x18

#endif
