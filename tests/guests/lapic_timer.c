// SPDX-License-Identifier: Apache-2.0
/*
 * The in-kernel LAPIC as the BSP sees it at entry (IA32_APIC_BASE, ID,
 * version), then its timer: one-shot fires exactly once with sti;hlt, the
 * current count runs down and stays at zero, periodic mode keeps firing,
 * and TSC-deadline mode is offered in CPUID (kvmio sets the bit KVM leaves
 * to userspace; without it Linux calibrates the LAPIC timer for 100 ms of
 * each boot) and fires once the TSC passes the deadline.
 */
#include "guest.h"

#define VEC_TIMER	0x30
#define MSR_APIC_BASE	0x1B
#define MSR_TSC_DEADLINE	0x6E0
#define APIC_LVT_TSC_DEADLINE	(2u << 17)

static volatile unsigned int fired;

static void timer_isr(struct regs *r)
{
	(void)r;
	fired++;
	lapic_eoi();
}

static void wait_fired(unsigned int n)
{
	/* Only the LAPIC timer is unmasked, so each hlt ends with a tick. */
	for (int i = 0; i < 1000 && fired < n; i++) {
		sti_hlt();
		cli();
	}
}

void guest_main(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	GUEST_ASSERT_EQ(base & ~0xFFFull, LAPIC_BASE);
	GUEST_ASSERT_MSG(base & (1u << 11), "APIC globally disabled: 0x%lx", base);
	GUEST_ASSERT_MSG(base & (1u << 8), "BSP flag clear on the boot vCPU: 0x%lx", base);
	irq_init();
	GUEST_ASSERT_EQ(lapic_id(), 0);
	uint32_t ver = lapic_read(APIC_VERSION);

	GUEST_ASSERT_MSG((ver & 0xFF) >= 0x10 && ((ver >> 16) & 0xFF) >= 4,
			 "LAPIC version 0x%x", ver);
	GUEST_ASSERT_EQ(lapic_read(APIC_SVR) & 0x1FF, APIC_SVR_ENABLE | VEC_SPURIOUS);
	idt_set_handler(VEC_TIMER, timer_isr);

	/* One-shot, divide by 16, 1e6 ticks: 16 ms at KVM's 1 GHz APIC bus. */
	lapic_write(APIC_TDCR, 0x3);
	lapic_write(APIC_LVT_TIMER, VEC_TIMER);
	uint64_t tsc0 = rdtsc();

	lapic_write(APIC_TMICT, 1000000);
	uint32_t c1 = lapic_read(APIC_TMCCT), c2 = lapic_read(APIC_TMCCT);

	GUEST_ASSERT_MSG(c1 && c1 <= 1000000 && c2 < c1, "current count not running down: %u, %u", c1, c2);
	GUEST_ASSERT_EQ(fired, 0);	/* IF=0 so far */
	wait_fired(1);
	uint64_t tsc1 = rdtsc();

	GUEST_ASSERT_EQ(fired, 1);
	GUEST_ASSERT_EQ(lapic_read(APIC_TMCCT), 0);
	GUEST_SYNC("lapic_timer: one-shot fired, 16 ms = %lu TSC cycles", tsc1 - tsc0);

	/* No second tick from a one-shot timer: spin a while (~10 ms emulated) with IF=1. */
	sti();
	for (int i = 0; i < 10000; i++)
		pause();
	cli();
	GUEST_ASSERT_EQ(fired, 1);
	GUEST_ASSERT_EQ(lapic_read(APIC_TMCCT), 0);

	/* Periodic, divide by 1, 2 ms. */
	fired = 0;
	lapic_write(APIC_TDCR, 0xB);
	lapic_write(APIC_LVT_TIMER, VEC_TIMER | APIC_LVT_PERIODIC);
	lapic_write(APIC_TMICT, 2000000);
	wait_fired(3);
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	lapic_write(APIC_TMICT, 0);
	GUEST_ASSERT_MSG(fired >= 3, "periodic timer fired %u times", fired);
	GUEST_SYNC("lapic_timer: periodic fired %u times", fired);

	/* TSC-deadline mode: CPUID.1:ECX[24], then one interrupt after the deadline. */
	uint32_t a = 1, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	GUEST_ASSERT_MSG(c & (1u << 24), "CPUID.1:ECX 0x%x has no TSC-deadline timer", c);
	fired = 0;
	lapic_write(APIC_LVT_TIMER, VEC_TIMER | APIC_LVT_TSC_DEADLINE);
	tsc0 = rdtsc();
	wrmsr(MSR_TSC_DEADLINE, tsc0 + 1000000);
	wait_fired(1);
	tsc1 = rdtsc();
	GUEST_ASSERT_EQ(fired, 1);
	GUEST_ASSERT_MSG(tsc1 >= tsc0 + 1000000, "deadline timer fired early: %lu cycles",
			 tsc1 - tsc0);
	GUEST_ASSERT_EQ(rdmsr(MSR_TSC_DEADLINE), 0);	/* disarmed once it fired (SDM 10.5.4.1) */
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	GUEST_SYNC("lapic_timer: TSC deadline fired after %lu cycles", tsc1 - tsc0);
}
