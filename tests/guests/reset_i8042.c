// SPDX-License-Identifier: Apache-2.0
/*
 * Reboot the way Linux's reboot=k does (arch/x86/kernel/reboot.c): wait for
 * the i8042 input buffer to drain, then pulse the CPU reset line with
 * command 0xFE. kvmio must end the VM as a reboot: exit 0 and say so.
 */
#include "guest.h"

void guest_main(void)
{
	irq_init();
	for (int i = 0; i < 1000 && (inb(I8042_CMD) & 0x02); i++)
		pause();
	GUEST_ASSERT_MSG(!(inb(I8042_CMD) & 0x02), "i8042 input buffer never drains (status 0x%x)",
			 inb(I8042_CMD));
	GUEST_SYNC("reset: i8042 0xFE");
	outb(I8042_CMD, 0xFE);
	delay_us(2000000);
	GUEST_FAIL("still running 2 s after the i8042 reset command");
}
