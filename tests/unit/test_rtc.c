// SPDX-License-Identifier: Apache-2.0
/*
 * CMOS RTC: time encodings (BCD/binary, 12/24-hour) for fixed times, the
 * guest setting the clock, register A/C/D semantics, update/alarm/periodic
 * flags and IRQF, memory-size bytes, and the glue with its timer thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fake_vm.h"
#include "hw/rtc.h"
#include "util.h"
#include "vm.h"

/* ---- fixed times ---- */

#define NS		1000000000LL
#define T_LEAP		1709214307LL	/* Thu 2024-02-29 13:45:07 UTC */
#define T_Y2K_EVE	946684799LL	/* Fri 1999-12-31 23:59:59 UTC */
#define T_Y2K		946684800LL	/* Sat 2000-01-01 00:00:00 UTC */

static const unsigned int time_regs[8] = {
	RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_WEEK,
	RTC_DAY_OF_MONTH, RTC_MONTH, RTC_YEAR, RTC_CENTURY,
};

static void expect_regs(uint8_t regb, int64_t t, const uint8_t want[8])
{
	uint8_t cmos[RTC_NR_REGS] = { 0 };

	cmos[RTC_REG_B] = regb;
	rtc_encode_time(cmos, t);
	for (int i = 0; i < 8; i++) {
		if (cmos[time_regs[i]] != want[i])
			fail_msg("B=0x%02x t=%lld reg 0x%02x: 0x%02x, want 0x%02x", regb,
				 (long long)t, time_regs[i], cmos[time_regs[i]], want[i]);
	}
	assert_int_equal(rtc_decode_time(cmos), t);
}

static void test_encode_bcd_24h(void **state)
{
	expect_regs(RTC_B_24H, T_LEAP,
		    (const uint8_t[]){ 0x07, 0x45, 0x13, 0x05, 0x29, 0x02, 0x24, 0x20 });
	expect_regs(RTC_B_24H, T_Y2K_EVE,
		    (const uint8_t[]){ 0x59, 0x59, 0x23, 0x06, 0x31, 0x12, 0x99, 0x19 });
}

static void test_encode_binary_24h(void **state)
{
	expect_regs(RTC_B_24H | RTC_B_DM, T_LEAP,
		    (const uint8_t[]){ 7, 45, 13, 5, 29, 2, 24, 20 });
	expect_regs(RTC_B_24H | RTC_B_DM, T_Y2K, (const uint8_t[]){ 0, 0, 0, 7, 1, 1, 0, 20 });
}

static void test_encode_12h(void **state)
{
	/* 13:45 is 1 PM: bit 7 flags PM in both encodings. */
	expect_regs(0, T_LEAP, (const uint8_t[]){ 0x07, 0x45, 0x81, 0x05, 0x29, 0x02, 0x24, 0x20 });
	expect_regs(RTC_B_DM, T_LEAP, (const uint8_t[]){ 7, 45, 0x81, 5, 29, 2, 24, 20 });
	/* Midnight is 12 AM, noon is 12 PM, 23:59 is 11 PM. */
	expect_regs(0, T_Y2K, (const uint8_t[]){ 0x00, 0x00, 0x12, 0x07, 0x01, 0x01, 0x00, 0x20 });
	expect_regs(0, T_Y2K + 12 * 3600,
		    (const uint8_t[]){ 0x00, 0x00, 0x92, 0x07, 0x01, 0x01, 0x00, 0x20 });
	expect_regs(RTC_B_DM, T_Y2K_EVE, (const uint8_t[]){ 59, 59, 0x8B, 6, 31, 12, 99, 19 });
}

static void test_reads_follow_host_clock(void **state)
{
	struct rtc_state s;

	rtc_state_init(&s, 0, 0, T_LEAP * NS + NS / 2);
	assert_int_equal(rtc_reg_read(&s, RTC_SECONDS, T_LEAP * NS + NS / 2), 0x07);
	assert_int_equal(rtc_reg_read(&s, RTC_HOURS, T_LEAP * NS + NS / 2), 0x13);
	assert_int_equal(rtc_reg_read(&s, RTC_SECONDS, (T_LEAP + 2) * NS), 0x09);
	assert_int_equal(rtc_reg_read(&s, RTC_MINUTES, (T_LEAP + 60) * NS), 0x46);
	/* Switching to binary applies to the next read. */
	rtc_reg_write(&s, RTC_REG_B, RTC_B_24H | RTC_B_DM, (T_LEAP + 60) * NS);
	assert_int_equal(rtc_reg_read(&s, RTC_MINUTES, (T_LEAP + 60) * NS), 46);
	assert_int_equal(rtc_reg_read(&s, RTC_REG_D, T_LEAP * NS), RTC_D_VRT);
}

static void test_guest_sets_time(void **state)
{
	struct rtc_state s;
	int64_t now = T_LEAP * NS;
	static const uint8_t y2k[8] = { 0x00, 0x00, 0x00, 0x07, 0x01, 0x01, 0x00, 0x20 };

	rtc_state_init(&s, 0, 0, now);
	rtc_reg_write(&s, RTC_REG_B, RTC_B_SET | RTC_B_24H | RTC_B_UIE, now);
	assert_false(s.cmos[RTC_REG_B] & RTC_B_UIE);	/* SET clears UIE */
	for (int i = 0; i < 8; i++)
		rtc_reg_write(&s, time_regs[i], y2k[i], now);
	/* Frozen while SET: the registers hold what was written. */
	assert_int_equal(rtc_reg_read(&s, RTC_SECONDS, now + 5 * NS), 0x00);
	assert_int_equal(rtc_reg_read(&s, RTC_YEAR, now + 5 * NS), 0x00);
	rtc_update(&s, now + 5 * NS);
	assert_int_equal(s.cmos[RTC_REG_C] & RTC_C_UF, 0);	/* no update cycles */

	now += 10 * NS;
	rtc_reg_write(&s, RTC_REG_B, RTC_B_24H, now);
	assert_int_equal(s.offset_s, T_Y2K - T_LEAP - 10);
	assert_int_equal(rtc_reg_read(&s, RTC_SECONDS, now + 3 * NS), 0x03);
	assert_int_equal(rtc_reg_read(&s, RTC_CENTURY, now + 3 * NS), 0x20);
	assert_int_equal(rtc_reg_read(&s, RTC_YEAR, now + 3 * NS), 0x00);

	/* A single register written on a running clock moves it at once. */
	rtc_reg_write(&s, RTC_HOURS, 0x05, now + 3 * NS);
	assert_int_equal(rtc_reg_read(&s, RTC_HOURS, now + 4 * NS), 0x05);
	assert_int_equal(rtc_reg_read(&s, RTC_SECONDS, now + 4 * NS), 0x04);
}

static void test_reg_c_clear_on_read(void **state)
{
	struct rtc_state s;
	int64_t now = T_LEAP * NS + NS / 4;

	rtc_state_init(&s, 0, 0, now);
	rtc_reg_write(&s, RTC_REG_A, 0x20, now);	/* no periodic ticks */
	assert_int_equal(rtc_reg_read(&s, RTC_REG_C, now), 0);
	assert_int_equal(rtc_next_event_ns(&s, now), -1);	/* nothing enabled */

	rtc_reg_write(&s, RTC_REG_B, RTC_B_24H | RTC_B_UIE, now);
	assert_int_equal(rtc_next_event_ns(&s, now), (T_LEAP + 1) * NS);
	rtc_update(&s, now + NS);
	assert_true(rtc_irq_pending(&s));
	assert_int_equal(rtc_next_event_ns(&s, now + NS), -1);	/* line stays up */
	assert_int_equal(rtc_reg_read(&s, RTC_REG_C, now + NS), RTC_C_IRQF | RTC_C_UF);
	assert_false(rtc_irq_pending(&s));
	assert_int_equal(rtc_reg_read(&s, RTC_REG_C, now + NS), 0);
	/* Writes to C and D change nothing. */
	rtc_reg_write(&s, RTC_REG_C, 0xFF, now + NS);
	rtc_reg_write(&s, RTC_REG_D, 0x00, now + NS);
	assert_int_equal(rtc_reg_read(&s, RTC_REG_C, now + NS), 0);
	assert_int_equal(rtc_reg_read(&s, RTC_REG_D, now + NS), RTC_D_VRT);

	/* UF without UIE is set but raises nothing; enabling it later does. */
	rtc_reg_write(&s, RTC_REG_B, RTC_B_24H, now);
	rtc_update(&s, now + 3 * NS);
	assert_false(rtc_irq_pending(&s));
	rtc_reg_write(&s, RTC_REG_B, RTC_B_24H | RTC_B_UIE, now + 3 * NS);
	assert_true(rtc_irq_pending(&s));
}

static void test_periodic(void **state)
{
	struct rtc_state s;
	int64_t now = T_LEAP * NS + 100;

	rtc_state_init(&s, 0, 0, now);
	rtc_reg_write(&s, RTC_REG_A, 0x2F, now);		/* rate 15: 2 Hz */
	rtc_reg_write(&s, RTC_REG_B, RTC_B_24H | RTC_B_PIE, now);
	assert_int_equal(rtc_next_event_ns(&s, now), T_LEAP * NS + NS / 2);
	rtc_update(&s, now + NS / 4);
	assert_false(rtc_irq_pending(&s));
	rtc_update(&s, now + NS / 2);
	assert_true(rtc_irq_pending(&s));
	assert_int_equal(rtc_reg_read(&s, RTC_REG_C, now + NS / 2) & (RTC_C_IRQF | RTC_C_PF),
			 RTC_C_IRQF | RTC_C_PF);
	/* Rate 6 (1024 Hz): the next tick is under a millisecond away. */
	rtc_reg_write(&s, RTC_REG_A, 0x26, now);
	assert_true(rtc_next_event_ns(&s, now) - now <= NS / 1024 + 1);
}

static void test_alarm(void **state)
{
	struct rtc_state s;
	int64_t now = T_LEAP * NS;

	rtc_state_init(&s, 0, 0, now);
	rtc_reg_write(&s, RTC_REG_A, 0x20, now);
	rtc_reg_write(&s, RTC_SECONDS_ALARM, 0x09, now);
	rtc_reg_write(&s, RTC_MINUTES_ALARM, 0x45, now);
	rtc_reg_write(&s, RTC_HOURS_ALARM, 0x13, now);
	rtc_reg_write(&s, RTC_REG_B, RTC_B_24H | RTC_B_AIE, now);
	rtc_update(&s, now + NS);			/* :08 */
	assert_false(rtc_irq_pending(&s));
	rtc_update(&s, now + 2 * NS);			/* :09 */
	assert_true(rtc_irq_pending(&s));
	assert_int_equal(rtc_reg_read(&s, RTC_REG_C, now + 2 * NS), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
	/* Don't-care bytes (0xC0-0xFF) match every second. */
	rtc_reg_write(&s, RTC_SECONDS_ALARM, 0xC0, now);
	rtc_reg_write(&s, RTC_MINUTES_ALARM, 0xFF, now);
	rtc_reg_write(&s, RTC_HOURS_ALARM, 0xC5, now);
	rtc_update(&s, now + 3 * NS);
	assert_true(rtc_irq_pending(&s));
}

static void test_reg_a_uip(void **state)
{
	struct rtc_state s;
	int64_t now = T_LEAP * NS;

	rtc_state_init(&s, 0, 0, now);
	rtc_reg_write(&s, RTC_REG_A, 0xA6, now);	/* UIP is read-only */
	assert_int_equal(rtc_reg_read(&s, RTC_REG_A, now + NS / 2), 0x26);
	assert_int_equal(rtc_reg_read(&s, RTC_REG_A, now + NS - 1000), 0x26 | RTC_A_UIP);
}

static void test_memory_size_bytes(void **state)
{
	struct rtc_state s;

	rtc_state_init(&s, 8 * MiB, 8 * MiB, 0);
	assert_int_equal(s.cmos[0x15] | s.cmos[0x16] << 8, 640);
	assert_int_equal(s.cmos[0x17] | s.cmos[0x18] << 8, 7168);
	assert_int_equal(s.cmos[0x30] | s.cmos[0x31] << 8, 7168);
	assert_int_equal(s.cmos[0x34] | s.cmos[0x35] << 8, 0);

	rtc_state_init(&s, 4 * GiB, 3 * GiB, 0);
	assert_int_equal(s.cmos[0x17] | s.cmos[0x18] << 8, 0xFFFF);
	assert_int_equal(s.cmos[0x34] | s.cmos[0x35] << 8, (3 * GiB - 16 * MiB) / (64 * KiB));
	assert_int_equal(s.cmos[0x5B] | s.cmos[0x5C] << 8 | s.cmos[0x5D] << 16,
			 GiB / (64 * KiB));
}

static void test_hostile_values(void **state)
{
	struct rtc_state s;
	int64_t now = T_LEAP * NS;

	rtc_state_init(&s, 0, 0, now);
	rtc_reg_write(&s, RTC_REG_B, RTC_B_SET, now);
	for (int i = 0; i < 8; i++)
		rtc_reg_write(&s, time_regs[i], 0xFF, now);
	rtc_reg_write(&s, RTC_REG_B, 0, now);		/* 12-hour BCD garbage */
	for (int i = 0; i < 8; i++)
		rtc_reg_read(&s, time_regs[i], now + NS);
	rtc_reg_write(&s, RTC_REG_B, RTC_B_DM | RTC_B_24H, now);
	for (unsigned int r = 0; r < 300; r++) {
		rtc_reg_write(&s, r, 0xFF, now);
		rtc_reg_read(&s, r, now + 2 * NS);
	}
	/* Register numbers wrap at 128; the clock still runs. */
	assert_int_equal(rtc_reg_read(&s, RTC_REG_D + 128, now), RTC_D_VRT);
	rtc_update(&s, now + 10 * NS);
}

static void test_glue(void **state)
{
	struct vm vm;
	uint8_t b[2];

	fake_vm_init(&vm);
	vm.mem.ram_size = 256 * MiB;
	assert_int_equal(rtc_dev_ops.init(&vm), 0);
	assert_int_equal(fake_bus_nranges(BUS_PIO), 1);
	assert_int_equal(fake_pio_range(RTC_PORT), 2);

	assert_int_equal(pio_read8(RTC_PORT), 0xFF);	/* the index port reads all-ones */
	pio_write8(RTC_PORT, 0x80 | 0x35);		/* NMI mask bit is ignored */
	assert_int_equal(pio_read8(RTC_PORT + 1), (256 * MiB - 16 * MiB) / (64 * KiB) >> 8);
	/* One 16-bit write: index, then data (register A, 1024 Hz). */
	b[0] = RTC_REG_A;
	b[1] = 0x26;
	pio(RTC_PORT, b, 2, true);
	pio_write8(RTC_PORT, RTC_REG_C);
	pio_read8(RTC_PORT + 1);

	/* Enable periodic interrupts: the timer thread raises IRQ 8. */
	b[0] = RTC_REG_B;
	b[1] = RTC_B_24H | RTC_B_PIE;
	pio(RTC_PORT, b, 2, true);
	for (int i = 0; i < 2000 && !fake_irq_level(RTC_IRQ); i++)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	assert_int_equal(fake_irq_level(RTC_IRQ), 1);

	/* Turn PIE off, then read C: the flags go and the line drops. */
	b[1] = RTC_B_24H;
	pio(RTC_PORT, b, 2, true);
	pio_write8(RTC_PORT, RTC_REG_C);
	pio(RTC_PORT + 1, b, 1, false);
	assert_true(b[0] & RTC_C_PF);
	assert_int_equal(fake_irq_level(RTC_IRQ), 0);
	nanosleep(&(struct timespec){ .tv_nsec = 20000000 }, NULL);
	assert_int_equal(fake_irq_level(RTC_IRQ), 0);

	rtc_dev_ops.exit(&vm);
	assert_int_equal(fake_bus_nranges(BUS_PIO), 0);
	fake_vm_destroy(&vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_bcd_24h),
		cmocka_unit_test(test_encode_binary_24h),
		cmocka_unit_test(test_encode_12h),
		cmocka_unit_test(test_reads_follow_host_clock),
		cmocka_unit_test(test_guest_sets_time),
		cmocka_unit_test(test_reg_c_clear_on_read),
		cmocka_unit_test(test_periodic),
		cmocka_unit_test(test_alarm),
		cmocka_unit_test(test_reg_a_uip),
		cmocka_unit_test(test_memory_size_bytes),
		cmocka_unit_test(test_hostile_values),
		cmocka_unit_test(test_glue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
