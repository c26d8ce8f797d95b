// SPDX-License-Identifier: Apache-2.0
/*
 * User mode works: at CPL3 (IOPL 3), a 10 M iteration loop (native on the
 * PVM host, where CPL0 would need ~15 s for it), port I/O to COM1 (the
 * "hello" ucall is printed from CPL3) and MMIO. Per-access costs from CPL3
 * are measured with the TSC, calibrated on the LAPIC timer: a COM1 scratch
 * read (kvmio, userspace), an unclaimed MMIO read (kvmio's bus: all-ones)
 * and a LAPIC read (in-kernel).
 *
 * The PVM host ignores the guest's IOPL: there CPL3 port I/O #GPs and
 * user.c's handler does it at CPL0; the note says which path ran.
 */
#include "guest.h"

#define LOOP_ITERS	10000000ul
#define ACC_ITERS	1000
#define UNCLAIMED_MMIO	0xFED40000ul	/* TPM TIS on PCs; kvmio has no TPM */

/* Results from CPL3, read back at CPL0. */
static volatile uint64_t loop_cycles, pio_cycles, mmio_cycles, lapic_cycles;
static volatile uint32_t mmio_val;
static volatile uint16_t user_cs;

static uint64_t cycles_per_read(uint64_t addr, bool pio)
{
	uint64_t t0 = rdtsc();

	for (int i = 0; i < ACC_ITERS; i++)
		mmio_val = pio ? inb((uint16_t)addr) : mmio_read32(addr);
	return (rdtsc() - t0) / ACC_ITERS;
}

static void user_main(void)
{
	uint16_t cs;
	uint64_t n = LOOP_ITERS, t0;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	user_cs = cs;
	GUEST_SYNC("cpl3: hello from CPL%u", cs & 3);

	t0 = rdtsc();
	__asm__ volatile("1: dec %0; jnz 1b" : "+r"(n));
	loop_cycles = rdtsc() - t0;
	pio_cycles = cycles_per_read(COM1 + UART_SCR, true);
	lapic_cycles = cycles_per_read(LAPIC_BASE + APIC_VERSION, false);
	mmio_cycles = cycles_per_read(UNCLAIMED_MMIO, false);
	user_exit(n);
}

void guest_main(void)
{
	irq_init();

	/* TSC against 10 ms of LAPIC timer (1 GHz APIC bus in KVM). */
	uint64_t t0 = rdtsc();

	delay_us(10000);
	uint64_t khz = (rdtsc() - t0) / 10;

	GUEST_ASSERT_MSG(khz > 0, "TSC does not advance");
	user_init();
	uint64_t left = user_run(user_main);

	GUEST_ASSERT_EQ(user_cs & 3, 3);
	GUEST_ASSERT_EQ(left, 0);
	GUEST_ASSERT_EQ(mmio_val, 0xFFFFFFFF);	/* unclaimed MMIO reads all-ones */
	uint64_t loop_us = loop_cycles * 1000 / khz, loop_ps = loop_us * 1000000 / LOOP_ITERS;

	GUEST_SYNC("note: cpl3 loop %luM iters %lu us (%lu.%03lu ns/iter); from CPL3: COM1 inb %lu ns (%s), "
		   "unclaimed MMIO %lu ns, LAPIC MMIO %lu ns; TSC %lu MHz",
		   LOOP_ITERS / 1000000, loop_us, loop_ps / 1000, loop_ps % 1000,
		   pio_cycles * 1000000 / khz,
		   user_pio_trapped ? "IOPL ignored: #GP, done at CPL0" : "native",
		   mmio_cycles * 1000000 / khz, lapic_cycles * 1000000 / khz, khz / 1000);
}
