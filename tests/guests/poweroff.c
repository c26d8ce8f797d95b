// SPDX-License-Identifier: Apache-2.0
/*
 * ACPI S5 as Linux finds it: PM1a_CNT from the FADT, SLP_TYP from the DSDT's
 * \_S5 package. Writes that are not "SLP_TYP=\_S5 with SLP_EN" must not
 * power off; the final one (ucall_done) must. Also checks what kvmio put in
 * boot_params: the command line and an e820 map whose RAM ends at
 * mem_mib=N (run.sh passes --memory NM).
 */
#include "guest.h"
#include "acpi.h"

/* First element of Name(_S5_, Package(){...}): a ZeroOp, OneOp or Byte/Word/DWordConst. */
static int dsdt_s5_typ(const uint8_t *dsdt)
{
	uint32_t len = ((const struct acpi_header *)dsdt)->length;

	for (uint32_t i = sizeof(struct acpi_header); i + 12 <= len; i++) {
		if (memcmp(dsdt + i, "_S5_", 4) || dsdt[i + 4] != 0x12)	/* PackageOp */
			continue;
		const uint8_t *p = dsdt + i + 5;

		p += (*p >> 6) + 1;	/* PkgLength: bits 7:6 count the extra bytes */
		p++;			/* NumElements */
		switch (p[0]) {
		case 0x00: return 0;
		case 0x01: return 1;
		case 0x0A: return p[1];
		case 0x0B: return p[1] | p[2] << 8;
		case 0x0C: return (int)(p[1] | p[2] << 8 | p[3] << 16 | (uint32_t)p[4] << 24);
		default: return -1;
		}
	}
	return -1;
}

static void check_boot_params(void)
{
	char arg[16];
	uint64_t mib, top = 0, ram = 0;
	uint8_t n = boot_params[0x1E8];			/* e820_entries */
	const uint8_t *tab = boot_params + 0x2D0;	/* e820_table, 20-byte entries */
	extern char _end[];

	GUEST_ASSERT_MSG(cmdline_get("mem_mib", arg, sizeof(arg)) && parse_u64(arg, &mib),
			 "no mem_mib=N on the command line");
	GUEST_ASSERT_MSG(n >= 1 && n <= 128, "e820_entries = %u", n);
	bool kernel_in_ram = false;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t a = *(const uint64_t *)(tab + 20 * i);
		uint64_t s = *(const uint64_t *)(tab + 20 * i + 8);
		uint32_t t = *(const uint32_t *)(tab + 20 * i + 16);

		if (t != 1)
			continue;
		if (a <= 0x100000 && a + s >= (uint64_t)_end)
			kernel_in_ram = true;
		if (a + s > top)
			top = a + s;
		ram += s;
	}
	GUEST_ASSERT_MSG(kernel_in_ram, "no e820 RAM entry covers the kernel at 1 MiB");
	GUEST_ASSERT_MSG(top == mib << 20, "e820 RAM ends at 0x%lx, --memory was %lu MiB", top, mib);
	GUEST_SYNC("poweroff: e820 %u entries, %lu KiB RAM, top 0x%lx", n, ram >> 10, top);
}

void guest_main(void)
{
	const uint8_t *fadt = acpi_find_table("FACP");

	GUEST_ASSERT_MSG(fadt, "no FADT");
	GUEST_ASSERT_EQ(*(const uint32_t *)(fadt + FADT_PM1A_CNT_BLK), PM1A_CNT);
	GUEST_ASSERT_EQ(fadt[FADT_PM1_CNT_LEN], 2);
	GUEST_ASSERT_MSG(!(*(const uint32_t *)(fadt + FADT_FLAGS) & FADT_F_HW_REDUCED),
			 "HW_REDUCED_ACPI set, yet kvmio has fixed PM1 registers");
	uint64_t dsdt = *(const uint32_t *)(fadt + FADT_DSDT);

	if (((const struct acpi_header *)fadt)->length >= FADT_X_DSDT + 8 &&
	    *(const uint64_t *)(fadt + FADT_X_DSDT))
		dsdt = *(const uint64_t *)(fadt + FADT_X_DSDT);
	GUEST_ASSERT_MSG(dsdt && !memcmp((const void *)dsdt, "DSDT", 4), "no DSDT at 0x%lx", dsdt);
	GUEST_ASSERT_MSG(acpi_checksum_ok((const void *)dsdt, ((const struct acpi_header *)dsdt)->length),
			 "DSDT checksum");
	int typ = dsdt_s5_typ((const uint8_t *)dsdt);

	GUEST_ASSERT_MSG(typ == ACPI_S5_TYP, "\\_S5 SLP_TYP is %d, want %d", typ, ACPI_S5_TYP);

	check_boot_params();

	/* SLP_EN is write-only and reads as 0 (ACPI 6.5, 4.8.3.2.1). */
	uint16_t cnt = inw(PM1A_CNT);

	GUEST_ASSERT_MSG(!(cnt & PM1_SLP_EN), "PM1a_CNT reads 0x%x", cnt);
	cnt &= (uint16_t)~(7u << PM1_SLP_TYP_SHIFT);
	for (unsigned int t = 0; t < 8; t++)
		if (t != ACPI_S5_TYP)
			outw(PM1A_CNT, (uint16_t)(cnt | t << PM1_SLP_TYP_SHIFT | PM1_SLP_EN));
	outw(PM1A_CNT, (uint16_t)(cnt | ACPI_S5_TYP << PM1_SLP_TYP_SHIFT));	/* no SLP_EN */
	GUEST_SYNC("poweroff: still running after SLP_TYP 0-4,6,7 with SLP_EN and S5 without it");
}
