// SPDX-License-Identifier: Apache-2.0
/*
 * Legacy port I/O from a hostile guest (hostile-guest.md, case 19): a
 * fixed-seed storm of ~200k accesses of every size, odd ones included, over
 * the ports of COM1, the RTC, the i8042, the ACPI PM block, the quiet ports
 * and unclaimed ones (0xCF8-0xCFF among them), through the real bus and the
 * real devices; then sweeps of every CMOS index, every 8250 register under
 * each DLAB setting, every i8042 command byte, and every PM port with every
 * width and alignment. After each access the invariants of
 * tests/fuzz/pio_world.h are checked (the same as the fuzz target's).
 *
 * vm_irq_line and vm_request_stop are fake_vm.c's recording stand-ins, so
 * vm.o is not linked from libkvmio.a.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define PIO_FAIL(...) fail_msg(__VA_ARGS__)

#include "../fuzz/pio_world.h"

#define STORM_SEED	0x6b766d696f313921ULL	/* "kvmio19!" */
#define STORM_ACCESSES	200000UL

static struct pio_world world;
static bool world_up;
static int saved_log_level;

static int setup(void **state)
{
	/* The storm asks for sleep states and pokes unclaimed ports: keep quiet. */
	saved_log_level = log_level;
	log_level = 0;
	pio_world_init(&world);
	world_up = true;
	*state = &world;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (world_up)
		pio_world_destroy(&world);
	world_up = false;
	log_level = saved_log_level;
	return 0;
}

static uint64_t xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void out(struct pio_world *w, uint16_t port, unsigned int len, uint64_t v)
{
	pio_access(w, port, len, true, v);
}

static uint64_t in(struct pio_world *w, uint16_t port, unsigned int len)
{
	return pio_access(w, port, len, false, 0);
}

/* Every port a device claims, the PCI config ports, and neighbours of both. */
static const uint16_t storm_ports[] = {
	0x60, 0x64, 0x70, 0x71, 0x3F8, 0x3F9, 0x3FA, 0x3FB, 0x3FC, 0x3FD, 0x3FE, 0x3FF,
	0x600, 0x601, 0x602, 0x603, 0x604, 0x605, 0x608, 0x60A, 0x610, 0x620, 0x621, 0x622,
	0x623, 0x92, 0x80, 0x87, 0xED, 0x2E, 0x2F, 0x4E, 0x4F, 0xCF8, 0xCFC, 0xCFE, 0x61,
	0x63, 0x6F, 0x72, 0x3F7, 0x400, 0x5FF, 0x606, 0x60C, 0x611, 0x624,
};

/*
 * Records for pio_run: mostly single accesses of a random size and value to
 * a port from the list, the rest any record at all (raw ports, bursts, host
 * input, GPEs, time steps of up to ~1 s, drains).
 */
static void storm_records(uint64_t *seed, uint8_t *recs, size_t n)
{
	for (size_t i = 0; i < n; i += PIO_REC_LEN) {
		uint64_t r = xorshift64(seed), pick = xorshift64(seed) % 100;
		uint8_t *rec = recs + i;

		memcpy(rec, &r, PIO_REC_LEN);
		if (pick < 85) {
			uint16_t port = storm_ports[(pick * 7 + rec[1]) % ARRAY_SIZE(storm_ports)];

			rec[0] = (uint8_t)((4 << 5) | (rec[0] & 0x1F));
			rec[1] = (uint8_t)port;
			rec[2] = (uint8_t)(port >> 8);
		} else if (rec[0] >> 5 == 6 && (rec[0] & 15) == 1) {
			rec[1] %= 18;
		}
	}
}

static void test_storm(void **state)
{
	struct pio_world *w = *state;
	uint64_t seed = STORM_SEED;
	uint8_t recs[PIO_REC_LEN * 64];

	while (w->naccess < STORM_ACCESSES) {
		storm_records(&seed, recs, sizeof(recs));
		pio_run(w, recs, sizeof(recs));
	}
	pio_drain(w);
	pio_check(w);

	/* The storm reached every device, and each did something. */
	for (unsigned int d = 0; d < PIO_NR_HITS; d++)
		assert_true(w->hits[d] > 1000);
	assert_true(w->expect_stops[VM_STOP_REBOOT] > 0);
	assert_true(w->expect_stops[VM_STOP_POWEROFF] > 0);
	assert_true(fake_irq_calls_total() > 100);
}

/* CMOS: an index of 0xFF (NMI mask and out of range), then every index. */
static void test_cmos_every_index(void **state)
{
	struct pio_world *w = *state;

	out(w, RTC_PORT, 1, 0xFF);
	assert_int_equal(w->rtc.index, 0x7F);
	assert_int_equal(in(w, RTC_PORT, 1), 0xFF);		/* the index port reads ones */
	out(w, RTC_PORT + 1, 1, 0x5A);
	out(w, RTC_PORT, 1, 0x7F);
	assert_int_equal(in(w, RTC_PORT + 1, 1), 0x5A);		/* 0xFF was 0x7F */

	for (unsigned int idx = 0; idx < 256; idx++) {
		out(w, RTC_PORT, 1, idx);
		in(w, RTC_PORT + 1, 1);
		in(w, RTC_PORT + 1, 4);				/* data then all-ones */
		in(w, RTC_PORT, 2);				/* 0xFF, data */
	}
	/* CMOS RAM keeps what is written; B, C, D and the clock are checked by the shadow. */
	for (unsigned int idx = 0; idx < 256; idx++) {
		unsigned int reg = idx & 0x7F;
		uint8_t v = (uint8_t)(idx * 7 + 1);

		out(w, RTC_PORT, 2, idx | (uint64_t)v << 8);	/* index, then data */
		out(w, RTC_PORT, 1, idx);
		if (reg >= 0x0E && reg != RTC_CENTURY)
			assert_int_equal(in(w, RTC_PORT + 1, 1), v);
		else
			in(w, RTC_PORT + 1, 1);
	}
	/* Odd sizes across the pair and past it. */
	for (unsigned int len = 0; len <= 16; len++)
		for (uint16_t p = RTC_PORT - 2; p <= RTC_PORT + 3; p++) {
			in(w, p, len);
			out(w, p, len, 0x0C8C);
		}
	pio_drain(w);
	pio_check(w);
}

/*
 * CMOS clock set to nonsense while SET is on (year 0 month 0, 0xFF everywhere,
 * century 99), in each data mode and hour format: once the clock runs again
 * every time register reads a valid date.
 */
static void test_cmos_nonsense_dates(void **state)
{
	static const uint8_t formats[] = { 0x02, 0x06, 0x00, 0x04 };
	static const uint8_t fills[] = { 0x00, 0xFF, 0x99, 0x7F, 0x80 };
	static const uint8_t regs[] = { RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_WEEK,
					RTC_DAY_OF_MONTH, RTC_MONTH, RTC_YEAR, RTC_CENTURY };
	struct pio_world *w = *state;

	for (unsigned int f = 0; f < sizeof(formats); f++)
		for (unsigned int v = 0; v < sizeof(fills); v++) {
			out(w, RTC_PORT, 2, RTC_REG_B | (formats[f] | RTC_B_SET) << 8);
			for (unsigned int r = 0; r < sizeof(regs); r++)
				out(w, RTC_PORT, 2, regs[r] | (unsigned int)fills[v] << 8);
			out(w, RTC_PORT, 2, RTC_REG_B | (unsigned int)formats[f] << 8);
			for (unsigned int r = 0; r < sizeof(regs); r++) {
				out(w, RTC_PORT, 1, regs[r]);
				in(w, RTC_PORT + 1, 1);		/* checked: a valid field */
			}
			/* One register at a time while the clock runs. */
			for (unsigned int r = 0; r < sizeof(regs); r++) {
				out(w, RTC_PORT, 2, regs[r] | (unsigned int)fills[(v + r) % 5] << 8);
				in(w, RTC_PORT, 2);
			}
			pio_advance(w, 86400LL * 1000000000LL);
		}
	pio_check(w);
}

/* 16550A: every register written under each LCR (DLAB on and off, EFR keys). */
static void test_uart_dlab_every_register(void **state)
{
	static const uint8_t lcrs[] = { 0x00, 0x03, 0x1B, 0x80, 0x83, 0xBF, 0xE0, 0xFF };
	static const uint8_t vals[] = { 0x00, 0x01, 0x02, 0x07, 0x0F, 0x10, 0x1F, 0x3F,
					0x55, 0x7F, 0x80, 0xAA, 0xC1, 0xC7, 0xFF };
	struct pio_world *w = *state;
	struct uart8250 *u = w->vm.com1;
	const uint8_t junk[4] = { 'a', 'b', 'c', 'd' };

	for (unsigned int l = 0; l < sizeof(lcrs); l++)
		for (unsigned int reg = 0; reg < UART8250_NR_PORTS; reg++)
			for (unsigned int v = 0; v < sizeof(vals); v++) {
				uint8_t dll = u->dll, dlm = u->dlm, ier = u->ier;

				out(w, UART_COM1_PORT + UART_LCR, 1, lcrs[l]);
				pio_host_rx(w, junk, 1 + (reg + v) % 4);
				out(w, UART_COM1_PORT + reg, 1, vals[v]);
				if (reg == UART_DLL && (lcrs[l] & UART_LCR_DLAB))
					assert_int_equal(u->dll, vals[v]);
				else if (reg == UART_DLM && (lcrs[l] & UART_LCR_DLAB))
					assert_int_equal(u->dlm, vals[v]);
				else if (reg != UART_LCR)
					assert_true(u->dll == dll && u->dlm == dlm);
				if (reg == UART_IER && !(lcrs[l] & UART_LCR_DLAB))
					assert_int_equal(u->ier, vals[v] & 0x0F);
				else if (reg != UART_LCR)
					assert_int_equal(u->ier, ier);
				for (unsigned int r = 0; r < UART8250_NR_PORTS; r++)
					in(w, UART_COM1_PORT + r, 1);
				in(w, UART_COM1_PORT, 8);
				in(w, UART_COM1_PORT + 5, 4);
				in(w, UART_COM1_PORT + 6, 3);
				out(w, UART_COM1_PORT + 4, 8, 0x0102030405060708ULL);
			}
	/* A host flood against a FIFO the guest never drains, in both modes. */
	for (unsigned int i = 0; i < 200; i++) {
		uint8_t flood[20];

		memset(flood, (int)i, sizeof(flood));
		out(w, UART_COM1_PORT + UART_FCR, 1, (i & 1) ? 0xC7 : 0x00);
		pio_host_rx(w, flood, sizeof(flood) - i % 7);
		assert_true(u->rx_count <= UART8250_FIFO_LEN);
	}
	pio_drain(w);
	pio_check(w);
}

/* i8042: every controller command, each followed by data bytes, no reads in between. */
static void test_i8042_every_command(void **state)
{
	static const uint8_t data[] = { 0x00, 0x01, 0x20, 0x55, 0xAA, 0xE6, 0xE8, 0xE9, 0xEB,
					0xED, 0xF0, 0xF2, 0xF3, 0xF4, 0xFE, 0xFF };
	struct pio_world *w = *state;

	for (unsigned int cmd = 0; cmd < 256; cmd++) {
		for (unsigned int d = 0; d < sizeof(data); d++) {
			out(w, I8042_CMD_PORT, 1, cmd);
			out(w, I8042_DATA_PORT, 1, data[d]);
			out(w, I8042_DATA_PORT, 1, data[(d + 5) % sizeof(data)]);
			in(w, I8042_CMD_PORT, 1);
		}
		out(w, I8042_CMD_PORT, 4, cmd);		/* wide: one byte reaches the register */
		out(w, I8042_DATA_PORT, 2, 0xFFFF);
		in(w, I8042_DATA_PORT, 4);
		assert_true(w->kbd.q_count <= I8042_QUEUE_LEN);
		if (cmd % 16 == 15)
			pio_drain(w);
	}
	/* Every command pulsing bit 0 (0xF0-0xFE even) and 0xD1 with bit 0 clear reset. */
	assert_true(w->expect_stops[VM_STOP_REBOOT] >= 8 * sizeof(data));

	/* After all that, Linux's self-test still answers. */
	pio_drain(w);
	out(w, I8042_CMD_PORT, 1, 0xAA);
	assert_int_equal(in(w, I8042_CMD_PORT, 1) & I8042_STR_OBF, I8042_STR_OBF);
	assert_int_equal(in(w, I8042_DATA_PORT, 1), 0x55);
	pio_check(w);
}

/* ACPI PM: every port around the block, 1/2/3/4/8 bytes, aligned or not. */
static void test_pm_widths_and_alignment(void **state)
{
	static const unsigned int lens[] = { 1, 2, 3, 4, 8 };
	static const uint32_t vals[] = { 0, 0xFFFFFFFF, 0x0100, 0x2000 | (ACPI_S5_TYP << 10),
					 0x2000 | (3 << 10), ACPI_RESET_VALUE, 0xA5A5A5A5 };
	struct pio_world *w = *state;

	for (uint16_t p = ACPI_PM_BASE - 8; p <= ACPI_PM_BASE + 0x38; p++)
		for (unsigned int l = 0; l < ARRAY_SIZE(lens); l++) {
			in(w, p, lens[l]);
			for (unsigned int v = 0; v < ARRAY_SIZE(vals); v++) {
				out(w, p, lens[l], vals[v]);
				in(w, p, lens[l]);
			}
			pio_gpe(w, (p + l) % 20);
		}

	/* Clipped at the end of a range: PM1a_EVT is 4 ports, PM1a_CNT follows. */
	assert_int_equal(in(w, ACPI_PM1A_EVT + 2, 4) >> 16, 0xFFFF);
	/* SCI follows status & enable; write-1-to-clear drops it. */
	out(w, ACPI_GPE0_BLK + 2, 2, 0x0001);
	pio_gpe(w, 0);
	assert_int_equal(fake_irq_level(ACPI_SCI_IRQ), 1);
	out(w, ACPI_GPE0_BLK, 1, 0x01);
	assert_int_equal(fake_irq_level(ACPI_SCI_IRQ), 0);
	/* The PM timer moves and never goes back. */
	in(w, ACPI_PM_TMR, 4);
	in(w, ACPI_PM_TMR, 4);
	assert_true(w->pm_tmr_seen);
	assert_true(w->expect_stops[VM_STOP_POWEROFF] > 0 && w->expect_stops[VM_STOP_REBOOT] > 0);
	pio_check(w);
}

/* PCI config ports (nobody here), port 0x92 and the quiet ports, every size. */
static void test_unclaimed_and_quiet(void **state)
{
	static const uint16_t ports[] = { 0xCF8, 0xCF9, 0xCFA, 0xCFB, 0xCFC, 0xCFD, 0xCFE, 0xCFF,
					  0x2E, 0x2F, 0x4F, 0x80, 0x87, 0x92, 0xED, 0x61, 0xFFFF };
	struct pio_world *w = *state;

	for (unsigned int i = 0; i < ARRAY_SIZE(ports); i++)
		for (unsigned int len = 0; len <= 16; len++) {
			in(w, ports[i], len);
			out(w, ports[i], len, 0x80000000u | i);
			out(w, ports[i], len, 0);
		}
	assert_true(w->hits[PIO_HIT_UNCLAIMED] > 0 && w->hits[PIO_HIT_INVALID] > 0);
	assert_int_equal(in(w, 0xCFC, 4), 0xFFFFFFFF);
	assert_int_equal(in(w, 0x92, 1), 0x02);
	pio_check(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_storm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmos_every_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmos_nonsense_dates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uart_dlab_every_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_i8042_every_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pm_widths_and_alignment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unclaimed_and_quiet, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
