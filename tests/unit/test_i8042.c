// SPDX-License-Identifier: Apache-2.0
/*
 * i8042: the controller commands Linux's i8042 probe sends, AUX loopback and
 * the MUX check, keyboard and mouse replies, the bounded output queue, IRQ
 * levels from the command byte, the reset line, and the glue.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hw/i8042.h"
#include "vm.h"

/* ---- stand-ins for the core, so only i8042.o and util.o are linked ---- */

static struct fake_range {
	uint64_t base, len;
	bus_io_fn fn;
	void *opaque;
} ranges[8];
static unsigned int nranges;
static int irq_level[16], irq_edges[16];
static enum vm_stop_reason stop_reason;

int bus_register(struct bus *bus, enum bus_space space, uint64_t base,
		 uint64_t len, bus_io_fn fn, void *opaque, const char *name)
{
	for (unsigned int i = 0; i < nranges; i++)
		if (base < ranges[i].base + ranges[i].len && ranges[i].base < base + len)
			return -EEXIST;
	if (nranges == 8)
		return -ENOMEM;
	ranges[nranges++] = (struct fake_range){ base, len, fn, opaque };
	return 0;
}

int bus_unregister(struct bus *bus, enum bus_space space, uint64_t base)
{
	for (unsigned int i = 0; i < nranges; i++)
		if (ranges[i].base == base) {
			ranges[i] = ranges[--nranges];
			return 0;
		}
	return -ENOENT;
}

int vm_irq_line(struct vm *vm, unsigned int gsi, int level)
{
	assert_int_not_equal(irq_level[gsi & 15], level);	/* changes only */
	if (level)
		irq_edges[gsi & 15]++;
	irq_level[gsi & 15] = level;
	return 0;
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason)
{
	if (stop_reason == VM_RUNNING)
		stop_reason = reason;
}

static void pio(uint64_t port, uint8_t *data, unsigned int len, bool is_write)
{
	for (unsigned int i = 0; i < nranges; i++)
		if (port >= ranges[i].base && port < ranges[i].base + ranges[i].len) {
			ranges[i].fn(ranges[i].opaque, port - ranges[i].base, data, len, is_write);
			return;
		}
	fail_msg("port 0x%lx not registered", (unsigned long)port);
}

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

	memset(&vm, 0, sizeof(vm));
	nranges = 0;
	stop_reason = VM_RUNNING;
	assert_int_equal(i8042_dev_ops.init(&vm), 0);
	assert_int_equal(nranges, 2);

	/* Linux's AUX IRQ test: enable AUXINT, loop 0xA5 back, IRQ 12 fires. */
	b[0] = 0x60;
	pio(I8042_CMD_PORT, b, 1, true);
	b[0] = I8042_CTR_AUXINT | I8042_CTR_SYS;
	pio(I8042_DATA_PORT, b, 1, true);
	b[0] = 0xD3;
	pio(I8042_CMD_PORT, b, 1, true);
	b[0] = 0xA5;
	pio(I8042_DATA_PORT, b, 1, true);
	assert_int_equal(irq_level[12], 1);
	assert_int_equal(irq_level[I8042_KBD_IRQ], 0);
	/* A 4-byte read gets the register once and all-ones after it. */
	pio(I8042_DATA_PORT, b, 4, false);
	assert_int_equal(b[0], 0xA5);
	assert_int_equal(b[1] & b[2] & b[3], 0xFF);
	assert_int_equal(irq_level[12], 0);

	b[0] = 0xAA;
	pio(I8042_CMD_PORT, b, 1, true);
	assert_int_equal(irq_level[I8042_KBD_IRQ], 0);	/* KBDINT is off */
	pio(I8042_DATA_PORT, b, 1, false);
	assert_int_equal(b[0], 0x55);

	/*
	 * Keyboard GET ID queues three bytes; Linux reads one per edge-
	 * triggered interrupt, so every byte must come with its own edge.
	 */
	b[0] = 0x60;
	pio(I8042_CMD_PORT, b, 1, true);
	b[0] = I8042_CTR_KBDINT | I8042_CTR_AUXINT | I8042_CTR_XLATE;
	pio(I8042_DATA_PORT, b, 1, true);
	irq_edges[I8042_KBD_IRQ] = 0;
	b[0] = 0xF2;
	pio(I8042_DATA_PORT, b, 1, true);
	static const uint8_t id[3] = { 0xFA, 0xAB, 0x41 };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(irq_level[I8042_KBD_IRQ], 1);
		assert_int_equal(irq_edges[I8042_KBD_IRQ], i + 1);
		pio(I8042_DATA_PORT, b, 1, false);
		assert_int_equal(b[0], id[i]);
	}
	assert_int_equal(irq_level[I8042_KBD_IRQ], 0);
	assert_int_equal(irq_edges[I8042_KBD_IRQ], 3);
	/* A keyboard byte followed by an AUX byte moves from IRQ 1 to IRQ 12. */
	b[0] = 0xEE;
	pio(I8042_DATA_PORT, b, 1, true);
	b[0] = 0xD3;
	pio(I8042_CMD_PORT, b, 1, true);
	b[0] = 0x77;
	pio(I8042_DATA_PORT, b, 1, true);
	assert_int_equal(irq_level[I8042_KBD_IRQ] + irq_level[12], 1);
	pio(I8042_DATA_PORT, b, 1, false);
	assert_int_equal(irq_level[I8042_KBD_IRQ], 0);
	assert_int_equal(irq_level[12], 1);
	pio(I8042_DATA_PORT, b, 1, false);
	assert_int_equal(irq_level[12], 0);
	assert_int_equal(stop_reason, VM_RUNNING);
	b[0] = 0xFE;
	pio(I8042_CMD_PORT, b, 1, true);
	assert_int_equal(stop_reason, VM_STOP_REBOOT);

	i8042_dev_ops.exit(&vm);
	assert_int_equal(nranges, 0);
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
