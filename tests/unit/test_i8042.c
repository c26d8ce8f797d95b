// SPDX-License-Identifier: Apache-2.0
/*
 * i8042: the controller commands Linux's i8042 probe sends, AUX loopback and
 * the MUX check, keyboard and mouse replies, the bounded output queue, IRQ
 * levels from the command byte, the reset line, and the glue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_vm.h"
#include "hw/i8042.h"
#include "vm.h"

/* ---- helpers on the pure model ---- */

static void cmd(struct i8042_state *s, uint8_t c)
{
	assert_int_equal(i8042_write(s, I8042_CMD_PORT, c), I8042_ACT_NONE);
}

static void data(struct i8042_state *s, uint8_t d)
{
	assert_int_equal(i8042_write(s, I8042_DATA_PORT, d), I8042_ACT_NONE);
}

static uint8_t status(struct i8042_state *s)
{
	return i8042_read(s, I8042_CMD_PORT);
}

/* Read one byte as Linux does: OBF must be set, and AUXDATA as expected. */
static uint8_t get(struct i8042_state *s, bool aux)
{
	uint8_t st = status(s);

	assert_true(st & I8042_STR_OBF);
	assert_int_equal(!!(st & I8042_STR_AUXDATA), aux);
	return i8042_read(s, I8042_DATA_PORT);
}

static void expect_empty(struct i8042_state *s)
{
	assert_false(status(s) & I8042_STR_OBF);
}

static void test_selftest_and_interfaces(void **state)
{
	struct i8042_state s;

	i8042_state_init(&s);
	expect_empty(&s);
	cmd(&s, 0xAA);
	assert_true(status(&s) & I8042_STR_CMD);
	assert_int_equal(get(&s, false), 0x55);
	expect_empty(&s);
	cmd(&s, 0xAB);
	assert_int_equal(get(&s, false), 0x00);
	cmd(&s, 0xA9);
	assert_int_equal(get(&s, false), 0x00);
	assert_true(status(&s) & I8042_STR_SYS);
	/* An empty buffer reads the last byte again, as on real controllers. */
	assert_int_equal(i8042_read(&s, I8042_DATA_PORT), 0x00);
}

static void test_command_byte(void **state)
{
	struct i8042_state s;

	i8042_state_init(&s);
	cmd(&s, 0x20);
	assert_int_equal(get(&s, false), 0x47);
	cmd(&s, 0x60);
	data(&s, 0x30);
	assert_false(status(&s) & I8042_STR_CMD);
	cmd(&s, 0x20);
	assert_int_equal(get(&s, false), 0x30);
	assert_false(status(&s) & I8042_STR_SYS);	/* SYS mirrors CTR bit 2 */

	/* Enable/disable commands flip the CTR bits Linux then checks. */
	cmd(&s, 0xA8);
	cmd(&s, 0xAE);
	cmd(&s, 0x20);
	assert_int_equal(get(&s, false), 0x00);
	cmd(&s, 0xA7);
	cmd(&s, 0xAD);
	cmd(&s, 0x20);
	assert_int_equal(get(&s, false), I8042_CTR_AUXDIS | I8042_CTR_KBDDIS);
	/* Writing to the keyboard re-enables its interface. */
	data(&s, 0xF4);
	assert_int_equal(get(&s, false), 0xFA);
	cmd(&s, 0x20);
	assert_int_equal(get(&s, false), I8042_CTR_AUXDIS);
}

static void test_aux_loopback_and_mux_check(void **state)
{
	struct i8042_state s;
	int kbd, aux;

	i8042_state_init(&s);
	cmd(&s, 0xD3);
	data(&s, 0x5A);
	i8042_irq_levels(&s, &kbd, &aux);
	assert_int_equal(kbd, 0);
	assert_int_equal(aux, 1);
	assert_int_equal(get(&s, true), 0x5A);
	i8042_irq_levels(&s, &kbd, &aux);
	assert_int_equal(aux, 0);

	/* i8042_set_mux_mode: a plain controller echoes 0xA4 unchanged. */
	static const uint8_t seq[] = { 0xF0, 0x56, 0xA4 };
	for (unsigned int i = 0; i < sizeof(seq); i++) {
		cmd(&s, 0xD3);
		data(&s, seq[i]);
		assert_int_equal(get(&s, true), seq[i]);
	}
	/* Keyboard-side loopback (0xD2) comes back as keyboard data. */
	cmd(&s, 0xD2);
	data(&s, 0x1C);
	assert_int_equal(get(&s, false), 0x1C);
}

static void test_keyboard(void **state)
{
	struct i8042_state s;

	i8042_state_init(&s);
	data(&s, 0xFF);					/* reset */
	assert_int_equal(get(&s, false), 0xFA);
	assert_int_equal(get(&s, false), 0xAA);
	data(&s, 0xF2);					/* get ID, translated */
	assert_int_equal(get(&s, false), 0xFA);
	assert_int_equal(get(&s, false), 0xAB);
	assert_int_equal(get(&s, false), 0x41);
	data(&s, 0xED);					/* set LEDs */
	assert_int_equal(get(&s, false), 0xFA);
	data(&s, 0x07);
	assert_int_equal(get(&s, false), 0xFA);
	data(&s, 0xF4);
	assert_int_equal(get(&s, false), 0xFA);
	data(&s, 0xEE);
	assert_int_equal(get(&s, false), 0xEE);
	data(&s, 0x01);					/* not a command */
	assert_int_equal(get(&s, false), 0xFE);
	expect_empty(&s);

	/* A command where a parameter was due starts over. */
	data(&s, 0xF3);
	assert_int_equal(get(&s, false), 0xFA);
	data(&s, 0xF2);
	assert_int_equal(get(&s, false), 0xFA);
	assert_int_equal(get(&s, false), 0xAB);
	assert_int_equal(get(&s, false), 0x41);

	cmd(&s, 0x60);
	data(&s, 0x03);					/* no translation */
	data(&s, 0xF2);
	assert_int_equal(get(&s, false), 0xFA);
	assert_int_equal(get(&s, false), 0xAB);
	assert_int_equal(get(&s, false), 0x83);
}

static void test_mouse(void **state)
{
	struct i8042_state s;

	i8042_state_init(&s);
	cmd(&s, 0xD4);
	data(&s, 0xFF);
	assert_int_equal(get(&s, true), 0xFA);
	assert_int_equal(get(&s, true), 0xAA);
	assert_int_equal(get(&s, true), 0x00);
	cmd(&s, 0xD4);
	data(&s, 0xF2);
	assert_int_equal(get(&s, true), 0xFA);
	assert_int_equal(get(&s, true), 0x00);		/* plain PS/2 mouse */
	cmd(&s, 0xD4);
	data(&s, 0xF3);
	assert_int_equal(get(&s, true), 0xFA);
	cmd(&s, 0xD4);
	data(&s, 200);
	assert_int_equal(get(&s, true), 0xFA);
	cmd(&s, 0xD4);
	data(&s, 0xF4);
	assert_int_equal(get(&s, true), 0xFA);
	cmd(&s, 0xD4);
	data(&s, 0xE9);					/* status request */
	assert_int_equal(get(&s, true), 0xFA);
	assert_int_equal(get(&s, true), 0x20);		/* reporting on */
	assert_int_equal(get(&s, true), 2);
	assert_int_equal(get(&s, true), 200);
	expect_empty(&s);
}

static void test_queue_bound_and_irqs(void **state)
{
	struct i8042_state s;
	int kbd, aux;

	i8042_state_init(&s);
	for (int i = 0; i < 40; i++) {
		cmd(&s, 0xD2);
		data(&s, (uint8_t)i);
	}
	i8042_irq_levels(&s, &kbd, &aux);
	assert_int_equal(kbd, 1);
	for (int i = 0; i < I8042_QUEUE_LEN; i++)
		assert_int_equal(get(&s, false), i);
	expect_empty(&s);
	i8042_irq_levels(&s, &kbd, &aux);
	assert_int_equal(kbd, 0);

	/* Without KBDINT/AUXINT in the CTR, data raises nothing. */
	cmd(&s, 0x60);
	data(&s, 0x00);
	cmd(&s, 0xD2);
	data(&s, 0x11);
	cmd(&s, 0xD3);
	data(&s, 0x22);
	i8042_irq_levels(&s, &kbd, &aux);
	assert_int_equal(kbd + aux, 0);
	/* The queue head decides which line: keyboard byte first, then AUX. */
	cmd(&s, 0x60);
	data(&s, I8042_CTR_KBDINT | I8042_CTR_AUXINT);
	i8042_irq_levels(&s, &kbd, &aux);
	assert_int_equal(kbd, 1);
	assert_int_equal(aux, 0);
	get(&s, false);
	i8042_irq_levels(&s, &kbd, &aux);
	assert_int_equal(kbd, 0);
	assert_int_equal(aux, 1);
}

static void test_reset_line(void **state)
{
	struct i8042_state s;

	i8042_state_init(&s);
	assert_int_equal(i8042_write(&s, I8042_CMD_PORT, 0xFE), I8042_ACT_RESET);
	assert_int_equal(i8042_write(&s, I8042_CMD_PORT, 0xFF), I8042_ACT_NONE);
	cmd(&s, 0xD1);
	data(&s, 0xDF);					/* A20 on, reset high */
	cmd(&s, 0xD0);
	assert_int_equal(get(&s, false), 0xDF);
	cmd(&s, 0xD1);
	assert_int_equal(i8042_write(&s, I8042_DATA_PORT, 0xDE), I8042_ACT_RESET);
	/* Unknown commands and ports are ignored. */
	cmd(&s, 0x01);
	assert_int_equal(i8042_write(&s, 0x61, 0xFE), I8042_ACT_NONE);
	assert_int_equal(i8042_read(&s, 0x61), 0xFF);
	expect_empty(&s);
}

static void test_glue(void **state)
{
	struct vm vm;
	uint8_t b[4];

	fake_vm_init(&vm);
	assert_int_equal(i8042_dev_ops.init(&vm), 0);
	assert_int_equal(fake_bus_nranges(BUS_PIO), 2);
	assert_int_equal(fake_pio_range(I8042_DATA_PORT), 1);
	assert_int_equal(fake_pio_range(I8042_CMD_PORT), 1);

	/* Linux's AUX IRQ test: enable AUXINT, loop 0xA5 back, IRQ 12 fires. */
	pio_write8(I8042_CMD_PORT, 0x60);
	pio_write8(I8042_DATA_PORT, I8042_CTR_AUXINT | I8042_CTR_SYS);
	pio_write8(I8042_CMD_PORT, 0xD3);
	pio_write8(I8042_DATA_PORT, 0xA5);
	assert_int_equal(fake_irq_level(I8042_AUX_IRQ), 1);
	assert_int_equal(fake_irq_level(I8042_KBD_IRQ), 0);
	/* A 4-byte read gets the register once and all-ones after it. */
	pio(I8042_DATA_PORT, b, 4, false);
	assert_int_equal(b[0], 0xA5);
	assert_int_equal(b[1] & b[2] & b[3], 0xFF);
	assert_int_equal(fake_irq_level(I8042_AUX_IRQ), 0);
	/* The same from the device itself, where the bus does not clip. */
	pio_write8(I8042_CMD_PORT, 0xD3);
	pio_write8(I8042_DATA_PORT, 0x5A);
	assert_int_equal(fake_irq_level(I8042_AUX_IRQ), 1);
	memset(b, 0, sizeof(b));
	pio_unclipped(I8042_DATA_PORT, b, 4, false);
	assert_int_equal(b[0], 0x5A);
	assert_int_equal(b[1] & b[2] & b[3], 0xFF);
	assert_int_equal(fake_irq_level(I8042_AUX_IRQ), 0);

	pio_write8(I8042_CMD_PORT, 0xAA);
	assert_int_equal(fake_irq_level(I8042_KBD_IRQ), 0);	/* KBDINT is off */
	assert_int_equal(pio_read8(I8042_DATA_PORT), 0x55);

	/*
	 * Keyboard GET ID queues three bytes; Linux reads one per edge-
	 * triggered interrupt, so every byte must come with its own edge.
	 */
	pio_write8(I8042_CMD_PORT, 0x60);
	pio_write8(I8042_DATA_PORT, I8042_CTR_KBDINT | I8042_CTR_AUXINT | I8042_CTR_XLATE);
	fake_vm_reset();		/* count edges from here */
	pio_write8(I8042_DATA_PORT, 0xF2);
	static const uint8_t id[3] = { 0xFA, 0xAB, 0x41 };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fake_irq_level(I8042_KBD_IRQ), 1);
		assert_int_equal(fake_irq_edges(I8042_KBD_IRQ), i + 1);
		assert_int_equal(pio_read8(I8042_DATA_PORT), id[i]);
	}
	assert_int_equal(fake_irq_level(I8042_KBD_IRQ), 0);
	assert_int_equal(fake_irq_edges(I8042_KBD_IRQ), 3);
	/* A keyboard byte followed by an AUX byte moves from IRQ 1 to IRQ 12. */
	pio_write8(I8042_DATA_PORT, 0xEE);
	pio_write8(I8042_CMD_PORT, 0xD3);
	pio_write8(I8042_DATA_PORT, 0x77);
	assert_int_equal(fake_irq_level(I8042_KBD_IRQ) + fake_irq_level(I8042_AUX_IRQ), 1);
	pio(I8042_DATA_PORT, b, 1, false);
	assert_int_equal(fake_irq_level(I8042_KBD_IRQ), 0);
	assert_int_equal(fake_irq_level(I8042_AUX_IRQ), 1);
	pio(I8042_DATA_PORT, b, 1, false);
	assert_int_equal(fake_irq_level(I8042_AUX_IRQ), 0);
	assert_int_equal(fake_stop_reason(), VM_RUNNING);
	pio_write8(I8042_CMD_PORT, 0xFE);
	assert_int_equal(fake_stop_reason(), VM_STOP_REBOOT);

	i8042_dev_ops.exit(&vm);
	assert_int_equal(fake_bus_nranges(BUS_PIO), 0);
	fake_vm_destroy(&vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_and_interfaces),
		cmocka_unit_test(test_command_byte),
		cmocka_unit_test(test_aux_loopback_and_mux_check),
		cmocka_unit_test(test_keyboard),
		cmocka_unit_test(test_mouse),
		cmocka_unit_test(test_queue_bound_and_irqs),
		cmocka_unit_test(test_reset_line),
		cmocka_unit_test(test_glue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
