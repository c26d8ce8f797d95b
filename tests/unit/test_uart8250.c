// SPDX-License-Identifier: Apache-2.0
/*
 * 16550A register model: reset state, TX, divisor latch, scratch, loopback,
 * FIFO trigger levels and interrupt priority, the THRE set/clear sequence
 * Linux relies on, overrun, hostile access sizes, Linux's autoconfig probe,
 * and the COM1 glue (bus registration, IRQ 4, output fd, rx eventfd).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_vm.h"
#include "hw/uart8250.h"
#include "vm.h"

/* ---- a fake backend ---- */

struct fake {
	int irq;
	int irq_changes;
	uint8_t tx[64];
	size_t ntx;
	int rx_ready;
};

static void fake_set_irq(void *opaque, int level)
{
	struct fake *f = opaque;

	assert_int_not_equal(level, f->irq);	/* only changes are reported */
	f->irq = level;
	f->irq_changes++;
}

static void fake_tx(void *opaque, uint8_t byte)
{
	struct fake *f = opaque;

	if (f->ntx < sizeof(f->tx))
		f->tx[f->ntx++] = byte;
}

static void fake_rx_ready(void *opaque)
{
	((struct fake *)opaque)->rx_ready++;
}

struct ctx {
	struct uart8250 u;
	struct fake f;
};

static int setup(void **state)
{
	static struct ctx c;
	struct uart8250_backend be = {
		.set_irq = fake_set_irq, .tx = fake_tx, .rx_ready = fake_rx_ready,
	};

	memset(&c, 0, sizeof(c));
	be.opaque = &c.f;
	uart8250_init(&c.u, &be);
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	uart8250_destroy(&c->u);
	return 0;
}

static uint8_t rd(struct uart8250 *u, unsigned int reg)
{
	uint8_t v = 0x5A;

	uart8250_io(u, reg, &v, 1, false);
	return v;
}

static void wr(struct uart8250 *u, unsigned int reg, uint8_t v)
{
	uart8250_io(u, reg, &v, 1, true);
}

static void test_reset_state(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(rd(&c->u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	assert_int_equal(rd(&c->u, UART_IIR), UART_IIR_NO_INT);
	assert_int_equal(rd(&c->u, UART_IER), 0);
	assert_int_equal(rd(&c->u, UART_LCR), 0x03);
	/* Normal mode: a connected line, no deltas. */
	assert_int_equal(rd(&c->u, UART_MSR), UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD);
	assert_int_equal(c->f.irq_changes, 0);
}

static void test_tx_and_lsr(void **state)
{
	struct ctx *c = *state;

	wr(&c->u, UART_THR, 'h');
	wr(&c->u, UART_THR, 'i');
	assert_int_equal(c->f.ntx, 2);
	assert_memory_equal(c->f.tx, "hi", 2);
	/* Instant transmission: THR and the shift register are empty again. */
	assert_int_equal(rd(&c->u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	assert_int_equal(uart8250_rx_room(&c->u), 1);	/* FIFO off: RBR only */
}

static void test_divisor_latch(void **state)
{
	struct ctx *c = *state;

	wr(&c->u, UART_IER, UART_IER_ERBFI);
	wr(&c->u, UART_LCR, 0x83);
	wr(&c->u, UART_DLL, 0x34);
	wr(&c->u, UART_DLM, 0x12);
	assert_int_equal(rd(&c->u, UART_DLL), 0x34);
	assert_int_equal(rd(&c->u, UART_DLM), 0x12);
	wr(&c->u, UART_THR, 'x');		/* a DLL write, not a byte */
	assert_int_equal(c->f.ntx, 0);
	wr(&c->u, UART_LCR, 0x03);
	assert_int_equal(rd(&c->u, UART_IER), UART_IER_ERBFI);	/* untouched by DLM */
	wr(&c->u, UART_LCR, 0x83);
	assert_int_equal(rd(&c->u, UART_DLL), 'x');
	assert_int_equal(rd(&c->u, UART_DLM), 0x12);
}

static void test_scratch(void **state)
{
	struct ctx *c = *state;
	static const uint8_t pat[] = { 0x55, 0xAA, 0x00, 0xFF };

	for (unsigned int i = 0; i < sizeof(pat); i++) {
		wr(&c->u, UART_SCR, pat[i]);
		assert_int_equal(rd(&c->u, UART_SCR), pat[i]);
	}
}

static void test_loopback(void **state)
{
	struct ctx *c = *state;

	/* RTS|OUT2 in loopback: CTS and DCD up, DSR dropped (delta reported). */
	wr(&c->u, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT2);
	assert_int_equal(rd(&c->u, UART_MSR), UART_MSR_CTS | UART_MSR_DCD | UART_MSR_DDSR);
	assert_int_equal(rd(&c->u, UART_MSR), UART_MSR_CTS | UART_MSR_DCD);	/* deltas cleared */
	wr(&c->u, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
	assert_int_equal(rd(&c->u, UART_MSR) & 0xF0, UART_MSR_DSR | UART_MSR_RI);

	wr(&c->u, UART_THR, 'q');
	assert_int_equal(c->f.ntx, 0);		/* nothing reaches the wire */
	assert_int_equal(rd(&c->u, UART_LSR), UART_LSR_DR | UART_LSR_THRE | UART_LSR_TEMT);
	assert_int_equal(rd(&c->u, UART_RBR), 'q');
	assert_false(rd(&c->u, UART_LSR) & UART_LSR_DR);

	/* Leaving loopback: RI trailing edge, live line again. */
	wr(&c->u, UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
	assert_int_equal(rd(&c->u, UART_MSR),
			 UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD |
			 UART_MSR_DCTS | UART_MSR_TERI | UART_MSR_DDCD);
	wr(&c->u, UART_THR, 'w');
	assert_int_equal(c->f.ntx, 1);
	assert_int_equal(c->f.tx[0], 'w');
}

static void test_fifo_trigger_and_priority(void **state)
{
	struct ctx *c = *state;

	wr(&c->u, UART_FCR, UART_FCR_FE | 0x40);	/* trigger level 4 */
	assert_int_equal(uart8250_rx_room(&c->u), UART8250_FIFO_LEN);
	wr(&c->u, UART_IER, UART_IER_ERBFI | UART_IER_ETBEI | UART_IER_ELSI);
	assert_int_equal(c->f.irq, 1);
	assert_int_equal(uart8250_rx(&c->u, (const uint8_t *)"ab", 2), 2);
	/* Below the trigger: reported as a character timeout at once. */
	assert_int_equal(rd(&c->u, UART_IIR), 0xC0 | UART_IIR_CTI);
	assert_int_equal(uart8250_rx(&c->u, (const uint8_t *)"cd", 2), 2);
	assert_int_equal(rd(&c->u, UART_IIR), 0xC0 | UART_IIR_RDI);

	/* An overrun outranks received data. */
	wr(&c->u, UART_MCR, UART_MCR_LOOP);
	for (int i = 0; i < UART8250_FIFO_LEN; i++)
		wr(&c->u, UART_THR, (uint8_t)i);
	assert_int_equal(rd(&c->u, UART_IIR), 0xC0 | UART_IIR_RLSI);
	assert_true(rd(&c->u, UART_LSR) & UART_LSR_OE);	/* read clears OE */
	assert_int_equal(rd(&c->u, UART_IIR), 0xC0 | UART_IIR_RDI);

	/* Received data outranks THRE; once drained THRE shows, IIR read clears it. */
	for (int i = 0; i < UART8250_FIFO_LEN; i++)
		rd(&c->u, UART_RBR);
	assert_int_equal(c->f.irq, 1);
	assert_int_equal(rd(&c->u, UART_IIR), 0xC0 | UART_IIR_THRI);
	assert_int_equal(c->f.irq, 0);
	assert_int_equal(rd(&c->u, UART_IIR), 0xC0 | UART_IIR_NO_INT);

	/* Modem status is last, and needs EDSSI. */
	wr(&c->u, UART_MCR, 0);
	assert_int_equal(rd(&c->u, UART_IIR), 0xC1);
	wr(&c->u, UART_IER, UART_IER_EDSSI);
	assert_int_equal(rd(&c->u, UART_IIR), 0xC0 | UART_IIR_MSI);
	rd(&c->u, UART_MSR);
	assert_int_equal(rd(&c->u, UART_IIR), 0xC1);
}

static void test_thre_interrupt_sequence(void **state)
{
	struct ctx *c = *state;

	/* Linux's UART_BUG_THRE test: enable, read IIR, disable, enable, read IIR. */
	wr(&c->u, UART_IER, UART_IER_ETBEI);
	assert_int_equal(c->f.irq, 1);
	assert_int_equal(rd(&c->u, UART_IIR), UART_IIR_THRI);
	assert_int_equal(c->f.irq, 0);		/* reading IIR cleared it */
	assert_int_equal(rd(&c->u, UART_IIR), UART_IIR_NO_INT);
	wr(&c->u, UART_IER, 0);
	wr(&c->u, UART_IER, UART_IER_ETBEI);
	assert_int_equal(c->f.irq, 1);
	assert_int_equal(rd(&c->u, UART_IIR), UART_IIR_THRI);
	assert_int_equal(c->f.irq, 0);

	/* Each byte sent leaves THR empty again: THRE comes back. */
	wr(&c->u, UART_THR, 'a');
	assert_int_equal(c->f.irq, 1);
	wr(&c->u, UART_THR, 'b');		/* still high: no extra edge reported */
	assert_int_equal(c->f.irq_changes, 5);
	/* Rewriting the same IER does not re-arm a cleared THRE. */
	assert_int_equal(rd(&c->u, UART_IIR), UART_IIR_THRI);
	wr(&c->u, UART_IER, UART_IER_ETBEI);
	assert_int_equal(rd(&c->u, UART_IIR), UART_IIR_NO_INT);
	/* Disabling ETBEI drops a pending THRE. */
	wr(&c->u, UART_THR, 'c');
	assert_int_equal(c->f.irq, 1);
	wr(&c->u, UART_IER, 0);
	assert_int_equal(c->f.irq, 0);
	assert_int_equal(rd(&c->u, UART_IIR), UART_IIR_NO_INT);
}

static void test_rx_overrun_and_bound(void **state)
{
	struct ctx *c = *state;
	uint8_t buf[40];

	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)('A' + i);
	wr(&c->u, UART_FCR, UART_FCR_FE);
	assert_int_equal(uart8250_rx(&c->u, buf, sizeof(buf)), UART8250_FIFO_LEN);
	assert_int_equal(uart8250_rx_room(&c->u), 0);
	assert_int_equal(uart8250_rx(&c->u, buf, 1), 0);

	/* A loopback byte into a full FIFO is lost and sets OE. */
	wr(&c->u, UART_MCR, UART_MCR_LOOP);
	wr(&c->u, UART_THR, '!');
	assert_int_equal(rd(&c->u, UART_LSR), UART_LSR_DR | UART_LSR_OE | UART_LSR_THRE | UART_LSR_TEMT);
	assert_false(rd(&c->u, UART_LSR) & UART_LSR_OE);

	/* rx_ready comes once the guest has drained half the FIFO, only once. */
	for (unsigned int i = 0; i < UART8250_FIFO_LEN; i++) {
		assert_int_equal(rd(&c->u, UART_RBR), buf[i]);
		assert_int_equal(c->f.rx_ready, i + 1 >= UART8250_FIFO_LEN / 2 ? 1 : 0);
	}
	assert_false(rd(&c->u, UART_LSR) & UART_LSR_DR);
	assert_int_equal(uart8250_rx_room(&c->u), UART8250_FIFO_LEN);

	/* 16450 mode: a one-byte holding register, overwritten on overrun. */
	wr(&c->u, UART_FCR, 0);
	wr(&c->u, UART_THR, '1');
	wr(&c->u, UART_THR, '2');
	assert_true(rd(&c->u, UART_LSR) & UART_LSR_OE);
	assert_int_equal(rd(&c->u, UART_RBR), '2');
	assert_int_equal(rd(&c->u, UART_RBR), 0);	/* empty */
}

static void test_fifo_clear(void **state)
{
	struct ctx *c = *state;

	wr(&c->u, UART_FCR, UART_FCR_FE);
	uart8250_rx(&c->u, (const uint8_t *)"xyz", 3);
	wr(&c->u, UART_FCR, UART_FCR_FE | UART_FCR_RFR | UART_FCR_XFR);
	assert_false(rd(&c->u, UART_LSR) & UART_LSR_DR);
	assert_int_equal(rd(&c->u, UART_IIR) & 0xC0, 0xC0);	/* still enabled */
	uart8250_rx(&c->u, (const uint8_t *)"xyz", 3);
	wr(&c->u, UART_FCR, 0);		/* disabling the FIFO also clears it */
	assert_false(rd(&c->u, UART_LSR) & UART_LSR_DR);
	assert_int_equal(rd(&c->u, UART_IIR), UART_IIR_NO_INT);
}

static void test_hostile_accesses(void **state)
{
	struct ctx *c = *state;
	uint8_t buf[8];

	/* 8 bytes from offset 5: LSR, MSR, SCR, then nothing. */
	wr(&c->u, UART_SCR, 0x77);
	memset(buf, 0, sizeof(buf));
	uart8250_io(&c->u, 5, buf, 8, false);
	assert_int_equal(buf[0], UART_LSR_THRE | UART_LSR_TEMT);
	assert_int_equal(buf[2], 0x77);
	for (int i = 3; i < 8; i++)
		assert_int_equal(buf[i], 0xFF);
	/* Offsets past the block, including ones that would wrap. */
	memset(buf, 0, sizeof(buf));
	uart8250_io(&c->u, UINT64_MAX - 1, buf, 4, false);
	assert_int_equal(buf[0] & buf[1] & buf[2] & buf[3], 0xFF);
	memset(buf, 0xEE, sizeof(buf));
	uart8250_io(&c->u, 1000, buf, 8, true);
	assert_int_equal(c->f.ntx, 0);
	/* A 16-bit write is two byte writes: DLL then DLM. */
	wr(&c->u, UART_LCR, 0x83);
	buf[0] = 0x01;
	buf[1] = 0x02;
	uart8250_io(&c->u, 0, buf, 2, true);
	assert_int_equal(rd(&c->u, UART_DLL), 0x01);
	assert_int_equal(rd(&c->u, UART_DLM), 0x02);
	/* IER keeps its low nibble only (autoconfig's XScale UUE test). */
	wr(&c->u, UART_LCR, 0x03);
	wr(&c->u, UART_IER, 0xFF);
	assert_int_equal(rd(&c->u, UART_IER), 0x0F);
	/* Reading an empty RBR never blocks or underflows. */
	for (int i = 0; i < 40; i++)
		rd(&c->u, UART_RBR);
	assert_int_equal(uart8250_rx_room(&c->u), 1);
}

/* The register sequence of Linux's autoconfig() and autoconfig_16550a(). */
static void test_linux_autoconfig(void **state)
{
	struct ctx *c = *state;
	uint8_t scratch, scratch2, scratch3, s1, s2, mcr;

	scratch = rd(&c->u, UART_IER);
	wr(&c->u, UART_IER, 0);
	scratch2 = rd(&c->u, UART_IER) & 0x0F;
	wr(&c->u, UART_IER, 0x0F);
	scratch3 = rd(&c->u, UART_IER) & 0x0F;
	wr(&c->u, UART_IER, scratch);
	assert_int_equal(scratch2, 0);
	assert_int_equal(scratch3, 0x0F);

	mcr = rd(&c->u, UART_MCR);
	wr(&c->u, UART_MCR, UART_MCR_LOOP | 0x0A);
	assert_int_equal(rd(&c->u, UART_MSR) & 0xF0, 0x90);
	wr(&c->u, UART_MCR, mcr);

	wr(&c->u, UART_LCR, 0xBF);
	wr(&c->u, 2, 0);		/* EFR on chips that have one */
	wr(&c->u, UART_LCR, 0);
	wr(&c->u, UART_FCR, UART_FCR_FE);
	assert_int_equal(rd(&c->u, UART_IIR) >> 6, 3);		/* a 16550A family */

	/* No EFR behind LCR 0x80 or 0xBF: offset 2 there reads IIR, never 0. */
	wr(&c->u, UART_LCR, 0x80);
	assert_int_not_equal(rd(&c->u, 2), 0);
	wr(&c->u, UART_LCR, 0xBF);
	assert_int_not_equal(rd(&c->u, 2), 0);

	/* Not an NS16550A: offset 2 at LCR 0xE0 does not track MCR.LOOP. */
	wr(&c->u, UART_LCR, 0);
	s1 = rd(&c->u, UART_MCR);
	wr(&c->u, UART_LCR, 0xE0);
	s2 = rd(&c->u, 2);
	assert_false((s1 ^ s2) & UART_MCR_LOOP);
	wr(&c->u, UART_LCR, 0);
	wr(&c->u, UART_MCR, s1 ^ UART_MCR_LOOP);
	wr(&c->u, UART_LCR, 0xE0);
	s2 = rd(&c->u, 2);
	wr(&c->u, UART_LCR, 0);
	wr(&c->u, UART_MCR, s1);
	assert_false((s2 ^ s1) & UART_MCR_LOOP);

	/* Not a 16750: IIR bit 5 stays clear with and without DLAB. */
	wr(&c->u, UART_FCR, UART_FCR_FE | 0x20);
	assert_int_equal(rd(&c->u, UART_IIR) & 0xE0, 0xC0);
	wr(&c->u, UART_LCR, 0x80);
	wr(&c->u, UART_FCR, UART_FCR_FE | 0x20);
	assert_int_equal(rd(&c->u, UART_IIR) & 0xE0, 0xC0);
	wr(&c->u, UART_LCR, 0);

	/* Not an XScale: IER bit 6 (UUE) does not stick. */
	wr(&c->u, UART_IER, 0x40);
	assert_int_equal(rd(&c->u, UART_IER) & 0x40, 0);
	wr(&c->u, UART_IER, 0);

	/* serial8250_do_startup refuses a port whose LSR reads 0xFF. */
	assert_int_not_equal(rd(&c->u, UART_LSR), 0xFF);
}

static void test_com1_glue(void **state)
{
	struct vm vm;
	int pfd[2], efd;
	uint8_t b, buf[UART8250_FIFO_LEN + 1];
	uint64_t ev;

	fake_vm_init(&vm);
	assert_int_equal(pipe(pfd), 0);
	efd = eventfd(0, EFD_NONBLOCK);
	assert_true(efd >= 0);
	vm.serial_out_fd = pfd[1];
	vm.serial_rx_fd = efd;

	assert_int_equal(uart8250_dev_ops.init(&vm), 0);
	assert_non_null(vm.com1);
	assert_int_equal(fake_bus_nranges(BUS_PIO), 1);
	assert_int_equal(fake_bus_nranges(BUS_MMIO), 0);
	assert_int_equal(fake_pio_range(UART_COM1_PORT), 8);

	b = 'K';
	pio(UART_COM1_PORT + UART_THR, &b, 1, true);
	assert_int_equal(read(pfd[0], &b, 1), 1);
	assert_int_equal(b, 'K');

	b = UART_IER_ETBEI;
	pio(UART_COM1_PORT + UART_IER, &b, 1, true);
	assert_int_equal(fake_irq_level(UART_COM1_IRQ), 1);
	pio(UART_COM1_PORT + UART_IIR, &b, 1, false);
	assert_int_equal(fake_irq_level(UART_COM1_IRQ), 0);
	assert_int_equal(fake_irq_calls(UART_COM1_IRQ), 2);

	/* The FIFO refuses input, then the guest drains it: one eventfd tick. */
	b = UART_FCR_FE;
	pio(UART_COM1_PORT + UART_FCR, &b, 1, true);
	memset(buf, 'r', sizeof(buf));
	assert_int_equal(uart8250_rx(vm.com1, buf, sizeof(buf)), UART8250_FIFO_LEN);
	assert_int_equal(read(efd, &ev, sizeof(ev)), -1);
	for (int i = 0; i < UART8250_FIFO_LEN; i++)
		pio(UART_COM1_PORT + UART_RBR, &b, 1, false);
	assert_int_equal(read(efd, &ev, sizeof(ev)), sizeof(ev));
	assert_int_equal(ev, 1);

	/* --serial none: output is dropped, nothing breaks. */
	vm.serial_out_fd = -1;
	b = 'Z';
	pio(UART_COM1_PORT + UART_THR, &b, 1, true);

	/* A second COM1 on the same ports is refused; exit unregisters. */
	struct uart8250 *first = vm.com1;

	assert_int_equal(uart8250_dev_ops.init(&vm), -EEXIST);
	assert_ptr_equal(vm.com1, first);
	uart8250_dev_ops.exit(&vm);
	assert_null(vm.com1);
	assert_int_equal(fake_bus_nranges(BUS_PIO), 0);
	fake_vm_destroy(&vm);
	close(pfd[0]);
	close(pfd[1]);
	close(efd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_and_lsr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_divisor_latch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scratch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_trigger_and_priority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_interrupt_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_overrun_and_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_autoconfig, setup, teardown),
		cmocka_unit_test(test_com1_glue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
