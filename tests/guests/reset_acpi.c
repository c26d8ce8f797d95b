// SPDX-License-Identifier: Apache-2.0
/*
 * Reboot the way Linux's reboot=a does (drivers/acpi/reboot.c): write the
 * FADT's RESET_VALUE to RESET_REG. The FADT must advertise the register
 * kvmio decodes (vm.h: port 0x610, value 1).
 */
#include "guest.h"
#include "acpi.h"

void guest_main(void)
{
	const uint8_t *fadt = acpi_find_table("FACP");

	irq_init();
	GUEST_ASSERT_MSG(fadt, "no FADT");
	GUEST_ASSERT_MSG(((const struct acpi_header *)fadt)->length >= FADT_RESET_VALUE + 1,
			 "FADT too short for RESET_REG");
	GUEST_ASSERT_MSG(*(const uint32_t *)(fadt + FADT_FLAGS) & FADT_F_RESET_REG_SUP,
			 "RESET_REG_SUP clear");
	const uint8_t *gas = fadt + FADT_RESET_REG;
	uint64_t port = *(const uint64_t *)(gas + 4);

	GUEST_ASSERT_EQ(gas[0], 1);	/* SystemIO */
	GUEST_ASSERT_EQ(gas[1], 8);	/* bit width */
	GUEST_ASSERT_EQ(port, ACPI_RESET_PORT);
	GUEST_ASSERT_EQ(fadt[FADT_RESET_VALUE], 1);

	GUEST_SYNC("reset: ACPI RESET_REG 0x%lx <- 0x%x", port, fadt[FADT_RESET_VALUE]);
	outb((uint16_t)port, fadt[FADT_RESET_VALUE]);
	delay_us(2000000);
	GUEST_FAIL("still running 2 s after the ACPI reset write");
}
