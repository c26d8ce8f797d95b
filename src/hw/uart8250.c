// SPDX-License-Identifier: Apache-2.0
/*
 * 16550A UART (COM1).
 *
 * The register model follows the NS16550A datasheet closely enough that
 * Linux's 8250 autoconfig (drivers/tty/serial/8250/8250_port.c) reports a
 * "16550A": IER keeps only its low nibble, loopback maps MCR onto MSR,
 * IIR[7:6] = 11 with FIFOs on and IIR[5] = 0, and IIR never reads 0 so the
 * EFR probes fail. Transmission is instant: a byte written to THR is handed to
 * the backend at once and THR/TSR are empty again before the write returns.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hw/uart8250.h"
#include "util.h"
#include "vm.h"

static const uint8_t msr_connected = UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;

static unsigned int rx_capacity(const struct uart8250 *u)
{
	return (u->fcr & UART_FCR_FE) ? UART8250_FIFO_LEN : 1;
}

static unsigned int rx_trigger(const struct uart8250 *u)
{
	static const uint8_t level[4] = { 1, 4, 8, 14 };

	return level[(u->fcr & UART_FCR_TRIG) >> 6];
}

/* Interrupt identification, in the 16550's fixed priority order. */
static uint8_t uart_iir_id(const struct uart8250 *u)
{
	if ((u->ier & UART_IER_ELSI) && (u->lsr_err & UART_LSR_ERR))
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_ERBFI) && u->rx_count) {
		/*
		 * Below the trigger level a real 16550A reports a character
		 * timeout after four character times of silence. Reporting it
		 * at once hands the guest its input without modelling timing.
		 */
		if ((u->fcr & UART_FCR_FE) && u->rx_count < rx_trigger(u))
			return UART_IIR_CTI;
		return UART_IIR_RDI;
	}
	if ((u->ier & UART_IER_ETBEI) && u->thr_ipending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_EDSSI) && (u->msr_delta & 0x0F))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

static void uart_update_irq(struct uart8250 *u)
{
	int level = !(uart_iir_id(u) & UART_IIR_NO_INT);

	if (level != u->irq_level) {
		u->irq_level = level;
		if (u->be.set_irq)
			u->be.set_irq(u->be.opaque, level);
	}
}

/* Pay the rx_ready we owe once the guest has drained the FIFO to half. */
static void uart_check_rx_ready(struct uart8250 *u)
{
	if (u->rx_blocked && u->rx_count <= rx_capacity(u) / 2) {
		u->rx_blocked = false;
		if (u->be.rx_ready)
			u->be.rx_ready(u->be.opaque);
	}
}

static void rx_clear(struct uart8250 *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

/*
 * A character arrives at the receiver. With the FIFO full it is lost and OE
 * is set (16550 datasheet, LSR bit 1); in 16450 mode it overwrites RBR.
 */
static void rx_push(struct uart8250 *u, uint8_t c)
{
	unsigned int cap = rx_capacity(u);

	if (u->rx_count >= cap) {
		u->lsr_err |= UART_LSR_OE;
		if (cap == 1)
			u->rx_fifo[u->rx_head] = c;
		return;
	}
	u->rx_fifo[(u->rx_head + u->rx_count) % UART8250_FIFO_LEN] = c;
	u->rx_count++;
}

static uint8_t rx_pop(struct uart8250 *u)
{
	uint8_t c;

	if (!u->rx_count)
		return 0;
	c = u->rx_fifo[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART8250_FIFO_LEN;
	u->rx_count--;
	return c;
}

/* MSR inputs: in loopback the MCR outputs feed them, otherwise a live line. */
static void msr_update(struct uart8250 *u)
{
	uint8_t lines = msr_connected, changed;

	if (u->mcr & UART_MCR_LOOP) {
		lines = 0;
		if (u->mcr & UART_MCR_RTS)
			lines |= UART_MSR_CTS;
		if (u->mcr & UART_MCR_DTR)
			lines |= UART_MSR_DSR;
		if (u->mcr & UART_MCR_OUT1)
			lines |= UART_MSR_RI;
		if (u->mcr & UART_MCR_OUT2)
			lines |= UART_MSR_DCD;
	}
	changed = lines ^ u->msr_lines;
	if (changed & UART_MSR_CTS)
		u->msr_delta |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		u->msr_delta |= UART_MSR_DDSR;
	if ((changed & UART_MSR_RI) && !(lines & UART_MSR_RI))
		u->msr_delta |= UART_MSR_TERI;	/* trailing edge only */
	if (changed & UART_MSR_DCD)
		u->msr_delta |= UART_MSR_DDCD;
	u->msr_lines = lines;
}

static uint8_t uart_lsr(const struct uart8250 *u)
{
	uint8_t lsr = UART_LSR_THRE | UART_LSR_TEMT | u->lsr_err;

	if (u->rx_count)
		lsr |= UART_LSR_DR;
	return lsr;
}

static void write_thr(struct uart8250 *u, uint8_t v)
{
	if (u->mcr & UART_MCR_LOOP)
		rx_push(u, v);
	else if (u->be.tx)
		u->be.tx(u->be.opaque, v);
	/*
	 * Writing THR clears a THRE interrupt; the byte leaves at once, so the
	 * transmitter is idle again and a 16550 re-asserts THRE whenever that
	 * happens with ETBEI set. Net effect: armed again, without a useless
	 * low-high pulse on the line when it was already high.
	 */
	u->thr_ipending = (u->ier & UART_IER_ETBEI) != 0;
}

static void write_ier(struct uart8250 *u, uint8_t v)
{
	uint8_t old = u->ier;

	u->ier = v & 0x0F;
	/*
	 * Enabling ETBEI while THR is empty raises THRE at once. Linux's
	 * startup test (UART_BUG_THRE) toggles IER.THRI and expects exactly
	 * this; its console write restores IER the same way.
	 */
	if ((u->ier ^ old) & UART_IER_ETBEI)
		u->thr_ipending = (u->ier & UART_IER_ETBEI) != 0;
}

static void write_fcr(struct uart8250 *u, uint8_t v)
{
	/* Toggling FE resets both FIFOs (datasheet, FCR bit 0). */
	if ((v ^ u->fcr) & UART_FCR_FE)
		rx_clear(u);
	if (!(v & UART_FCR_FE)) {
		/* Other FCR bits are only programmed while FE is written 1. */
		u->fcr = 0;
		return;
	}
	if (v & UART_FCR_RFR)
		rx_clear(u);
	/* UART_FCR_XFR: the TX FIFO is always empty here. */
	u->fcr = v & (UART_FCR_FE | UART_FCR_DMA | UART_FCR_TRIG);
}

static uint8_t uart_read(struct uart8250 *u, unsigned int reg)
{
	uint8_t v, id;

	switch (reg) {
	case UART_RBR:
		if (u->lcr & UART_LCR_DLAB)
			return u->dll;
		return rx_pop(u);
	case UART_IER:
		if (u->lcr & UART_LCR_DLAB)
			return u->dlm;
		return u->ier;
	case UART_IIR:
		id = uart_iir_id(u);
		/* Reading IIR clears THRE when that is the reported source. */
		if (id == UART_IIR_THRI)
			u->thr_ipending = false;
		return id | ((u->fcr & UART_FCR_FE) ? UART_IIR_FIFO : 0);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		v = uart_lsr(u);
		u->lsr_err = 0;
		return v;
	case UART_MSR:
		v = u->msr_lines | u->msr_delta;
		u->msr_delta = 0;
		return v;
	case UART_SCR:
		return u->scr;
	}
	return 0xFF;
}

static void uart_write(struct uart8250 *u, unsigned int reg, uint8_t v)
{
	switch (reg) {
	case UART_THR:
		if (u->lcr & UART_LCR_DLAB)
			u->dll = v;
		else
			write_thr(u, v);
		break;
	case UART_IER:
		if (u->lcr & UART_LCR_DLAB)
			u->dlm = v;
		else
			write_ier(u, v);
		break;
	case UART_FCR:
		write_fcr(u, v);
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1F;
		msr_update(u);
		break;
	case UART_LSR:
	case UART_MSR:
		break;	/* factory test registers: writes ignored, as QEMU does */
	case UART_SCR:
		u->scr = v;
		break;
	}
}

void uart8250_init(struct uart8250 *u, const struct uart8250_backend *be)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	if (be)
		u->be = *be;
	u->lcr = 0x03;		/* 8N1 */
	u->dll = 12;		/* 9600 baud from 1.8432 MHz */
	u->msr_lines = msr_connected;
}

void uart8250_destroy(struct uart8250 *u)
{
	pthread_mutex_destroy(&u->lock);
}

void uart8250_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len,
		 bool is_write)
{
	struct uart8250 *u = opaque;

	pthread_mutex_lock(&u->lock);
	for (unsigned int i = 0; i < len; i++) {
		if (off >= UART8250_NR_PORTS || i >= UART8250_NR_PORTS - off) {
			if (!is_write)
				data[i] = 0xFF;
			continue;
		}
		if (is_write)
			uart_write(u, (unsigned int)off + i, data[i]);
		else
			data[i] = uart_read(u, (unsigned int)off + i);
	}
	uart_check_rx_ready(u);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

size_t uart8250_rx(struct uart8250 *u, const uint8_t *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = MIN(len, (size_t)(rx_capacity(u) - u->rx_count));
	for (size_t i = 0; i < n; i++)
		rx_push(u, buf[i]);
	if (n < len)
		u->rx_blocked = true;
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

size_t uart8250_rx_room(struct uart8250 *u)
{
	size_t room;

	pthread_mutex_lock(&u->lock);
	room = rx_capacity(u) - u->rx_count;
	pthread_mutex_unlock(&u->lock);
	return room;
}

/* ---- VM glue: COM1 ---------------------------------------------------- */

static void com1_set_irq(void *opaque, int level)
{
	vm_irq_line(opaque, UART_COM1_IRQ, level);
}

static void com1_tx(void *opaque, uint8_t byte)
{
	vm_serial_write(opaque, &byte, 1);
}

static void com1_rx_ready(void *opaque)
{
	struct vm *vm = opaque;

	if (vm->serial_rx_fd >= 0)
		eventfd_write(vm->serial_rx_fd, 1);
}

static int uart8250_dev_init(struct vm *vm)
{
	const struct uart8250_backend be = {
		.set_irq = com1_set_irq,
		.tx = com1_tx,
		.rx_ready = com1_rx_ready,
		.opaque = vm,
	};
	struct uart8250 *u = calloc(1, sizeof(*u));
	int ret;

	if (!u)
		return -ENOMEM;
	uart8250_init(u, &be);
	ret = bus_register(&vm->bus, BUS_PIO, UART_COM1_PORT, UART8250_NR_PORTS,
			   uart8250_io, u, "com1");
	if (ret) {
		uart8250_destroy(u);
		free(u);
		return ret;
	}
	vm->com1 = u;
	return 0;
}

/* Called after the vCPUs and the console thread have stopped. */
static void uart8250_dev_exit(struct vm *vm)
{
	struct uart8250 *u = vm->com1;

	if (!u)
		return;
	bus_unregister(&vm->bus, BUS_PIO, UART_COM1_PORT);
	vm->com1 = NULL;
	uart8250_destroy(u);
	free(u);
}

const struct vm_device_ops uart8250_dev_ops = {
	.name = "uart8250",
	.init = uart8250_dev_init,
	.exit = uart8250_dev_exit,
};
