// SPDX-License-Identifier: Apache-2.0
/*
 * A deliberate triple fault, as Linux's reboot=t does it
 * (arch/x86/kernel/reboot.c, BOOT_TRIPLE): load an IDT of limit 0, then
 * int3 -> #GP -> #DF -> shutdown. kvmio must take this as a reboot: exit 0
 * and say so.
 *
 * The int3 runs at CPL3, so the CPU raises #BP itself: on the PVM host
 * CPL0 is emulated, and KVM's emulator cannot do INT n outside real mode
 * (an int3 at CPL0 ends as "KVM internal error: emulation failure"). What
 * kvmio sees at the shutdown exit, an IDT of limit 0, is the same.
 */
#include "guest.h"

static void user_int3(void)
{
	__asm__ volatile("int3");
	user_exit(1);
}

void guest_main(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) no_idt = { 0, 0 };

	user_init();
	GUEST_SYNC("reset: triple fault, IDT limit 0 + int3");
	__asm__ volatile("lidt %0" :: "m"(no_idt));
	user_run(user_int3);
	GUEST_FAIL("survived int3 with an empty IDT");
}
