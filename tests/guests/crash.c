// SPDX-License-Identifier: Apache-2.0
/*
 * An unexpected triple fault: a full-size IDT whose gates are all not
 * present, then ud2 (#UD -> #NP -> #DF -> shutdown). Unlike triple_fault,
 * nothing here says "reboot on purpose", so kvmio must fail (non-zero exit)
 * and dump the vCPU's registers on stderr. run.sh checks the dump for "RIP"
 * and for the ud2 address printed below.
 */
#include "guest.h"

static uint8_t absent_idt[256 * 16] __attribute__((aligned(16)));

void crash_now(const void *idtr);
extern const char crash_ud2[];
__asm__(".text\n"
	".globl crash_now\n"
	"crash_now:\n"
	"	lidt (%rdi)\n"
	".globl crash_ud2\n"
	"crash_ud2:\n"
	"	ud2\n");

void guest_main(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = {
		sizeof(absent_idt) - 1, (uint64_t)absent_idt,
	};

	GUEST_SYNC("crash: ud2 at rip=0x%lx with all IDT gates not present", (uint64_t)crash_ud2);
	crash_now(&idtr);
	GUEST_FAIL("survived ud2 with no present IDT gate");
}
