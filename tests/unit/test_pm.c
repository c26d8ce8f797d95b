// SPDX-License-Identifier: Apache-2.0
/*
 * ACPI PM: PM1 status write-1-to-clear and enables, SCI_EN, SLP_EN with S5
 * and other sleep types, the PM timer, GPE0, the reset register, stray
 * accesses, and the glue (ranges, SCI on IRQ 9, stop requests, pm_gpe_raise).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fake_vm.h"
#include "hw/pm.h"
#include "vm.h"

#define BASE_NS		123456789ULL
#define SLP(typ)	(((unsigned int)(typ) << PM1_CNT_SLP_TYP_SHIFT) | PM1_CNT_SLP_EN)

static void test_pm1_status_w1c(void **state)
{
	struct pm_state s;

	pm_state_init(&s, BASE_NS);
	s.pm1_sts = PM1_STS_PWRBTN | PM1_STS_RTC | PM1_STS_TMR;
	assert_int_equal(pm_read(&s, ACPI_PM1A_EVT, 2, BASE_NS),
			 PM1_STS_PWRBTN | PM1_STS_RTC | PM1_STS_TMR);
	pm_write(&s, ACPI_PM1A_EVT, 2, 0);		/* zeros clear nothing */
	assert_int_equal(s.pm1_sts, PM1_STS_PWRBTN | PM1_STS_RTC | PM1_STS_TMR);
	pm_write(&s, ACPI_PM1A_EVT, 2, PM1_STS_PWRBTN);
	assert_int_equal(pm_read(&s, ACPI_PM1A_EVT, 2, BASE_NS), PM1_STS_RTC | PM1_STS_TMR);
	pm_write(&s, ACPI_PM1A_EVT + 1, 1, PM1_STS_RTC >> 8);	/* byte access */
	assert_int_equal(pm_read(&s, ACPI_PM1A_EVT, 2, BASE_NS), PM1_STS_TMR);
	/* A 32-bit write covers status and enable: W1C plus a plain store. */
	pm_write(&s, ACPI_PM1A_EVT, 4, 0x01000001);
	assert_int_equal(s.pm1_sts, 0);
	assert_int_equal(pm_read(&s, ACPI_PM1A_EVT + 2, 2, BASE_NS), PM1_STS_PWRBTN);
}

static void test_pm1_enable_and_sci(void **state)
{
	struct pm_state s;

	pm_state_init(&s, BASE_NS);
	assert_false(pm_sci_level(&s));
	s.pm1_sts = PM1_STS_PWRBTN;
	assert_false(pm_sci_level(&s));			/* not enabled */
	pm_write(&s, ACPI_PM1A_EVT + 2, 2, PM1_STS_PWRBTN);
	assert_int_equal(pm_read(&s, ACPI_PM1A_EVT + 2, 2, BASE_NS), PM1_STS_PWRBTN);
	assert_true(pm_sci_level(&s));
	pm_write(&s, ACPI_PM1A_EVT, 2, PM1_STS_PWRBTN);
	assert_false(pm_sci_level(&s));
}

static void test_pm1_cnt_sleep(void **state)
{
	struct pm_state s;

	pm_state_init(&s, BASE_NS);
	/* SCI_EN is hardware-owned: reads 1 whatever is written. */
	assert_int_equal(pm_read(&s, ACPI_PM1A_CNT, 2, BASE_NS), PM1_CNT_SCI_EN);
	assert_int_equal(pm_write(&s, ACPI_PM1A_CNT, 2, 0), PM_ACT_NONE);
	assert_int_equal(pm_read(&s, ACPI_PM1A_CNT, 2, BASE_NS) & PM1_CNT_SCI_EN, PM1_CNT_SCI_EN);

	/* ACPICA writes SLP_TYP first, then SLP_TYP | SLP_EN. */
	assert_int_equal(pm_write(&s, ACPI_PM1A_CNT, 2, ACPI_S5_TYP << PM1_CNT_SLP_TYP_SHIFT),
			 PM_ACT_NONE);
	assert_int_equal(pm_read(&s, ACPI_PM1A_CNT, 2, BASE_NS),
			 PM1_CNT_SCI_EN | ACPI_S5_TYP << PM1_CNT_SLP_TYP_SHIFT);
	assert_int_equal(pm_write(&s, ACPI_PM1A_CNT, 2, SLP(ACPI_S5_TYP) | PM1_CNT_SCI_EN),
			 PM_ACT_POWEROFF);
	assert_false(pm_read(&s, ACPI_PM1A_CNT, 2, BASE_NS) & PM1_CNT_SLP_EN);	/* write-only */
	/* The high byte alone carries SLP_TYP and SLP_EN. */
	assert_int_equal(pm_write(&s, ACPI_PM1A_CNT + 1, 1, SLP(ACPI_S5_TYP) >> 8),
			 PM_ACT_POWEROFF);

	/* Any other sleep type is refused (logged once). */
	for (unsigned int typ = 0; typ < 8; typ++) {
		if (typ == ACPI_S5_TYP)
			continue;
		assert_int_equal(pm_write(&s, ACPI_PM1A_CNT, 2, SLP(typ)), PM_ACT_NONE);
	}
	assert_true(s.sleep_warned);
}

static void test_pm_timer(void **state)
{
	struct pm_state s;
	uint32_t prev = 0;

	pm_state_init(&s, BASE_NS);
	assert_int_equal(pm_read(&s, ACPI_PM_TMR, 4, BASE_NS), 0);
	assert_int_equal(pm_read(&s, ACPI_PM_TMR, 4, BASE_NS + 1000000000ULL), 3579545);
	assert_int_equal(pm_read(&s, ACPI_PM_TMR, 4, BASE_NS + 1000), 3);
	/* Monotonic between wraps, in steps that match the rate. */
	for (uint64_t ns = 0; ns < 1000000000ULL; ns += 7777777) {
		uint32_t v = (uint32_t)pm_read(&s, ACPI_PM_TMR, 4, BASE_NS + ns);

		assert_true(v >= prev);
		prev = v;
	}
	/* 32 bits (TMR_VAL_EXT): wraps after 2^32 ticks, about 20 minutes. */
	assert_int_equal(pm_timer_value(&s, BASE_NS + 1200 * 1000000000ULL),
			 (uint32_t)(1200ULL * PM_TMR_HZ));
	/* Byte reads of one access agree; writes do nothing. */
	assert_int_equal(pm_read(&s, ACPI_PM_TMR + 2, 2, BASE_NS + 5000000000ULL),
			 (5ULL * PM_TMR_HZ) >> 16);
	pm_write(&s, ACPI_PM_TMR, 4, 0);
	assert_int_equal(pm_read(&s, ACPI_PM_TMR, 4, BASE_NS + 1000000000ULL), 3579545);
}

static void test_gpe0(void **state)
{
	struct pm_state s;

	pm_state_init(&s, BASE_NS);
	assert_int_equal(pm_state_gpe_set(&s, 3), 0);
	assert_int_equal(pm_state_gpe_set(&s, PM_GPE0_NR), -EINVAL);
	assert_int_equal(pm_read(&s, ACPI_GPE0_BLK, 1, BASE_NS), 0x08);
	assert_false(pm_sci_level(&s));
	pm_write(&s, ACPI_GPE0_BLK + PM_GPE0_HALF, 1, 0x08);
	assert_int_equal(pm_read(&s, ACPI_GPE0_BLK + PM_GPE0_HALF, 1, BASE_NS), 0x08);
	assert_true(pm_sci_level(&s));
	pm_write(&s, ACPI_GPE0_BLK, 1, 0x04);		/* other bit: no effect */
	assert_true(pm_sci_level(&s));
	pm_write(&s, ACPI_GPE0_BLK, 1, 0x08);
	assert_false(pm_sci_level(&s));
	/* The second status byte is GPE 8-15. */
	assert_int_equal(pm_state_gpe_set(&s, 9), 0);
	assert_int_equal(pm_read(&s, ACPI_GPE0_BLK, 2, BASE_NS), 0x0200);
}

static void test_reset_register(void **state)
{
	struct pm_state s;

	pm_state_init(&s, BASE_NS);
	assert_int_equal(pm_write(&s, ACPI_RESET_PORT, 1, 0x02), PM_ACT_NONE);
	assert_int_equal(pm_write(&s, ACPI_RESET_PORT, 1, ACPI_RESET_VALUE), PM_ACT_REBOOT);
}

static void test_stray_accesses(void **state)
{
	struct pm_state s;

	pm_state_init(&s, BASE_NS);
	assert_int_equal(pm_read(&s, ACPI_PM1A_CNT + 2, 2, BASE_NS), 0xFFFF);
	assert_int_equal(pm_read(&s, ACPI_PM_BASE + 0x30, 8, BASE_NS), UINT64_MAX);
	assert_int_equal(pm_write(&s, ACPI_PM_BASE + 0x30, 8, UINT64_MAX), PM_ACT_NONE);
	assert_int_equal(pm_write(&s, 0xFFFF, 8, UINT64_MAX), PM_ACT_NONE);
}

static void test_glue(void **state)
{
	struct vm vm, other = { 0 };
	uint8_t b[4];

	fake_vm_init(&vm);
	assert_int_equal(pm_gpe_raise(&vm, 0), -ENODEV);
	assert_int_equal(pm_dev_ops.init(&vm), 0);
	assert_int_equal(fake_bus_nranges(BUS_PIO), 5);
	assert_int_equal(fake_pio_range(ACPI_PM1A_EVT), 4);
	assert_int_equal(fake_pio_range(ACPI_PM1A_CNT), 2);
	assert_int_equal(fake_pio_range(ACPI_PM_TMR), 4);
	assert_int_equal(fake_pio_range(ACPI_RESET_PORT), 1);
	assert_int_equal(fake_pio_range(ACPI_GPE0_BLK), ACPI_GPE0_LEN);

	/* SCI on IRQ 9 follows GPE status & enable. */
	pio_write8(ACPI_GPE0_BLK + PM_GPE0_HALF, 0x02);
	assert_int_equal(fake_irq_level(ACPI_SCI_IRQ), 0);
	assert_int_equal(pm_gpe_raise(&vm, 1), 0);
	assert_int_equal(fake_irq_level(ACPI_SCI_IRQ), 1);
	assert_int_equal(pm_gpe_raise(&vm, 99), -EINVAL);
	assert_int_equal(pm_gpe_raise(&other, 1), -ENODEV);
	pio_write8(ACPI_GPE0_BLK, 0x02);
	assert_int_equal(fake_irq_level(ACPI_SCI_IRQ), 0);

	/* The PM timer advances in real time. */
	uint32_t t0, t1;

	t0 = pio_read32(ACPI_PM_TMR);
	nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
	t1 = pio_read32(ACPI_PM_TMR);
	assert_true(t1 - t0 >= 2 * PM_TMR_HZ / 1000);

	/* A 4-byte access to the 2-byte PM1_CNT: the tail is nobody's. */
	pio(ACPI_PM1A_CNT, b, 4, false);
	assert_int_equal(b[0], PM1_CNT_SCI_EN);
	assert_int_equal(b[2] & b[3], 0xFF);
	/* The same from the device itself, where the bus does not clip. */
	memset(b, 0, sizeof(b));
	pio_unclipped(ACPI_PM1A_CNT, b, 4, false);
	assert_int_equal(b[0], PM1_CNT_SCI_EN);
	assert_int_equal(b[2] & b[3], 0xFF);

	fake_vm_reset();
	pio_write8(ACPI_RESET_PORT, ACPI_RESET_VALUE);
	assert_int_equal(fake_stop_reason(), VM_STOP_REBOOT);

	fake_vm_reset();
	b[0] = 0;
	b[1] = SLP(ACPI_S5_TYP) >> 8;
	pio(ACPI_PM1A_CNT, b, 2, true);
	assert_int_equal(fake_stop_reason(), VM_STOP_POWEROFF);

	pm_dev_ops.exit(&vm);
	assert_int_equal(fake_bus_nranges(BUS_PIO), 0);
	assert_int_equal(pm_gpe_raise(&vm, 0), -ENODEV);
	fake_vm_destroy(&vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pm1_status_w1c),
		cmocka_unit_test(test_pm1_enable_and_sci),
		cmocka_unit_test(test_pm1_cnt_sleep),
		cmocka_unit_test(test_pm_timer),
		cmocka_unit_test(test_gpe0),
		cmocka_unit_test(test_reset_register),
		cmocka_unit_test(test_stray_accesses),
		cmocka_unit_test(test_glue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
