// SPDX-License-Identifier: Apache-2.0
/*
 * Count the CPUs in the MADT, wake every AP with INIT-SIPI-SIPI through the
 * LAPIC ICR (Intel SDM vol. 3, 9.4.4.1) and wait, bounded, for each to check
 * in from long mode (trampoline.S). run.sh compares "cpus=N" with --cpus.
 */
#include "guest.h"

#define TRAMP_BASE	0x1000
#define SIPI_VECTOR	(TRAMP_BASE >> 12)

extern const char tramp_start[], tramp_end[], tramp_cr3[], tramp_count[], tramp_mask[];
#define TRAMP_VAR(sym)	((volatile uint32_t *)(TRAMP_BASE + (uintptr_t)((sym) - tramp_start)))

static void send_ipi(uint8_t dest, uint32_t icr)
{
	lapic_write(APIC_ICR_HI, (uint32_t)dest << 24);
	lapic_write(APIC_ICR_LO, icr);
	for (int i = 0; i < 1000 && (lapic_read(APIC_ICR_LO) & APIC_ICR_BUSY); i++)
		pause();
	GUEST_ASSERT_MSG(!(lapic_read(APIC_ICR_LO) & APIC_ICR_BUSY), "ICR stays busy");
}

void guest_main(void)
{
	const uint8_t *madt = acpi_find_table("APIC");
	uint8_t ids[64];
	unsigned int ncpus = 0, nioapic = 0;

	GUEST_ASSERT_MSG(madt, "no MADT");
	GUEST_ASSERT_EQ(*(const uint32_t *)(madt + 36), LAPIC_BASE);
	uint32_t len = ((const struct acpi_header *)madt)->length;

	for (uint32_t off = 44; off + 2 <= len; off += madt[off + 1]) {
		const uint8_t *e = madt + off;

		GUEST_ASSERT_MSG(e[1] >= 2 && off + e[1] <= len, "bad MADT entry at %u", off);
		if (e[0] == 0 && (*(const uint32_t *)(e + 4) & 1)) {	/* Processor Local APIC, enabled */
			GUEST_ASSERT(ncpus < sizeof(ids));
			ids[ncpus++] = e[3];
		} else if (e[0] == 1) {					/* I/O APIC */
			GUEST_ASSERT_EQ(*(const uint32_t *)(e + 4), IOAPIC_BASE);
			nioapic++;
		}
	}
	GUEST_ASSERT_MSG(ncpus >= 1, "no enabled CPU in the MADT");
	GUEST_ASSERT_EQ(nioapic, 1);

	irq_init();
	uint8_t bsp = (uint8_t)lapic_id();
	uint32_t want = 0;

	memcpy((void *)TRAMP_BASE, tramp_start, (size_t)(tramp_end - tramp_start));
	*TRAMP_VAR(tramp_cr3) = (uint32_t)read_cr3();
	*TRAMP_VAR(tramp_count) = 0;
	*TRAMP_VAR(tramp_mask) = 0;
	for (unsigned int i = 0; i < ncpus; i++) {
		if (ids[i] == bsp)
			continue;
		GUEST_ASSERT_MSG(ids[i] < 32, "APIC ID %u", ids[i]);
		want |= 1u << ids[i];
		send_ipi(ids[i], 0x4500);			/* INIT, level assert */
		delay_us(1000);
		send_ipi(ids[i], 0x4600 | SIPI_VECTOR);		/* STARTUP */
		delay_us(200);
		send_ipi(ids[i], 0x4600 | SIPI_VECTOR);		/* ignored if already running */
	}

	/* Wait up to ~5 s, sleeping so the APs' threads get the host CPUs. */
	unsigned int count = 0;

	for (int ms = 0; ms < 5000; ms++) {
		count = *TRAMP_VAR(tramp_count);
		if (count >= ncpus - 1)
			break;
		delay_us(1000);
	}
	delay_us(1000);	/* an AP counted twice would show up here */
	count = *TRAMP_VAR(tramp_count);
	uint32_t mask = *TRAMP_VAR(tramp_mask);

	GUEST_SYNC("smp: cpus=%u madt=%u ap_mask=0x%x", count + 1, ncpus, mask);
	GUEST_ASSERT_MSG(count == ncpus - 1, "%u of %u APs checked in", count, ncpus - 1);
	GUEST_ASSERT_EQ(mask, want);
}
