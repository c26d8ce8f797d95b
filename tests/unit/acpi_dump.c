// SPDX-License-Identifier: Apache-2.0
/*
 * acpi_dump DIR [NCPUS [PCI]] - build kvmio's ACPI tables as for the guest and
 * write each one to DIR/<signature>.dat (rsdp, xsdt, rsdt, facp, apic, dsdt,
 * facs, and mcfg with PCI), following the pointers from the RSDP the way an
 * OS does, for acpica-tools to check (tests/unit/acpi-iasl.sh). Exits 1 on a
 * pointer that leaves the buffer.
 *
 * PCI picks the host bridge's description:
 *   pci    acpi_config_init()'s, no 64-bit window (the default)
 *   nopci  none at all
 *   mem64  plus a 64-bit window, as vm.c adds one
 *   wide   256 buses with their ECAM above 4 GiB, and a 64-bit window:
 *          the descriptors the fixed layout never needs
 *   iommu  mem64 plus the VT-d of --iommu: a DMAR table (dmar.dat) and
 *          its register page in the PNP0C02 reservation
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommu/vtd.h"

#include "boot/acpi.h"
#include "boot/layout.h"
#include "util.h"

static uint8_t mem[BOOT_ACPI_END - BOOT_ACPI_START];

/* The table at guest-physical @gpa, or NULL if it (or its length field) is outside mem. */
static const uint8_t *table_at(uint64_t gpa, size_t min_len, size_t *len, size_t len_off)
{
	uint64_t off = gpa - BOOT_ACPI_START;

	if (gpa < BOOT_ACPI_START || off + min_len > sizeof(mem))
		return NULL;
	*len = len_off ? le_read(mem + off + len_off, 4) : min_len;
	if (*len < min_len || off + *len > sizeof(mem))
		return NULL;
	return mem + off;
}

static int dump(const char *dir, const char *name, const uint8_t *p, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f)) {
		perror(path);
		return -1;
	}
	return 0;
}

static int dump_table(const char *dir, uint64_t gpa, const char *expect)
{
	char name[5];
	size_t len;
	const uint8_t *t = table_at(gpa, 36, &len, 4);

	if (!t) {
		fprintf(stderr, "acpi_dump: table at %#llx outside the buffer\n", (unsigned long long)gpa);
		return -1;
	}
	if (expect && memcmp(t, expect, 4)) {
		fprintf(stderr, "acpi_dump: %#llx: %.4s, expected %s\n", (unsigned long long)gpa, t, expect);
		return -1;
	}
	for (int i = 0; i < 4; i++)
		name[i] = (char)tolower(t[i]);
	name[4] = 0;
	return dump(dir, name, t, len);
}

int main(int argc, char **argv)
{
	struct acpi_config cfg;
	const uint8_t *rsdp, *xsdt, *rsdt, *fadt, *facs;
	size_t len, xlen, rlen, flen;
	unsigned long ncpus = 3;
	const char *pci = argc > 3 ? argv[3] : "pci";
	int ret;

	if (argc < 2 || argc > 4 || (argc > 2 && parse_uint(argv[2], 1, 1024, &ncpus))) {
		fprintf(stderr, "usage: acpi_dump DIR [NCPUS [pci|nopci|mem64|wide|iommu]]\n");
		return 2;
	}
	acpi_config_init(&cfg, (unsigned int)ncpus);
	if (!strcmp(pci, "nopci")) {
		cfg.pci = false;
	} else if (!strcmp(pci, "mem64")) {
		cfg.pci_mem64_base = 0x400000000ULL;		/* 16 GiB */
		cfg.pci_mem64_size = 0xFC00000000ULL;		/* up to 1 TiB */
	} else if (!strcmp(pci, "iommu")) {
		cfg.pci_mem64_base = 0x400000000ULL;
		cfg.pci_mem64_size = 0xFC00000000ULL;
		cfg.dmar_base = VTD_MMIO_BASE;
		cfg.dmar_haw = VTD_HAW_BITS;
	} else if (!strcmp(pci, "wide")) {
		cfg.pci_ecam_base = 0x1000000000ULL;		/* 64 GiB */
		cfg.pci_bus_end = 255;
		cfg.pci_mem64_base = 0x2000000000ULL;		/* 128 GiB */
		cfg.pci_mem64_size = 0x2000000000ULL;
	} else if (strcmp(pci, "pci")) {
		fprintf(stderr, "acpi_dump: unknown PCI variant '%s'\n", pci);
		return 2;
	}
	ret = acpi_build(mem, sizeof(mem), BOOT_ACPI_START, &cfg);
	if (ret < 0) {
		fprintf(stderr, "acpi_build: %s\n", strerror(-ret));
		return 1;
	}

	rsdp = table_at(BOOT_ACPI_START, 36, &len, 0);
	xsdt = table_at(le_read(rsdp + 24, 8), 36, &xlen, 4);
	rsdt = table_at(le_read(rsdp + 16, 4), 36, &rlen, 4);
	if (!xsdt || !rsdt || dump(argv[1], "rsdp", rsdp, 36) ||
	    dump_table(argv[1], le_read(rsdp + 24, 8), "XSDT") ||
	    dump_table(argv[1], le_read(rsdp + 16, 4), "RSDT"))
		return 1;
	for (size_t off = 36; off + 8 <= xlen; off += 8)
		if (dump_table(argv[1], le_read(xsdt + off, 8), NULL))
			return 1;

	fadt = table_at(le_read(xsdt + 36, 8), 148, &flen, 4);
	if (!fadt || memcmp(fadt, "FACP", 4) ||
	    dump_table(argv[1], le_read(fadt + 140, 8), "DSDT"))
		return 1;
	/* FIRMWARE_CTRL or X_FIRMWARE_CTRL: one is zero. */
	facs = table_at(le_read(fadt + 36, 4) | le_read(fadt + 132, 8), 64, &len, 4);
	if (!facs || dump(argv[1], "facs", facs, len))
		return 1;
	return 0;
}
