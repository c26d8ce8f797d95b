/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_HW_UART8250_H
#define KVMIO_HW_UART8250_H

/*
 * A 16550A UART register model, free of KVM: the VM glue in uart8250.c (and
 * the unit tests) plug it into the world through struct uart8250_backend.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UART8250_NR_PORTS	8
#define UART8250_FIFO_LEN	16

/* Register offsets (16550 datasheet, table 2). */
#define UART_RBR	0	/* read, DLAB=0 */
#define UART_THR	0	/* write, DLAB=0 */
#define UART_DLL	0	/* DLAB=1 */
#define UART_IER	1	/* DLAB=0 */
#define UART_DLM	1	/* DLAB=1 */
#define UART_IIR	2	/* read */
#define UART_FCR	2	/* write */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define UART_IER_ERBFI	0x01	/* RX data available */
#define UART_IER_ETBEI	0x02	/* THR empty */
#define UART_IER_ELSI	0x04	/* receiver line status */
#define UART_IER_EDSSI	0x08	/* modem status */

#define UART_IIR_NO_INT	0x01
#define UART_IIR_MSI	0x00
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_IIR_RLSI	0x06
#define UART_IIR_CTI	0x0C	/* character timeout */
#define UART_IIR_FIFO	0xC0

#define UART_FCR_FE	0x01
#define UART_FCR_RFR	0x02	/* clear RX FIFO */
#define UART_FCR_XFR	0x04	/* clear TX FIFO */
#define UART_FCR_DMA	0x08
#define UART_FCR_TRIG	0xC0

#define UART_LCR_DLAB	0x80

#define UART_MCR_DTR	0x01
#define UART_MCR_RTS	0x02
#define UART_MCR_OUT1	0x04
#define UART_MCR_OUT2	0x08
#define UART_MCR_LOOP	0x10

#define UART_LSR_DR	0x01
#define UART_LSR_OE	0x02
#define UART_LSR_PE	0x04
#define UART_LSR_FE	0x08
#define UART_LSR_BI	0x10
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_LSR_ERR	(UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

#define UART_MSR_DCTS	0x01
#define UART_MSR_DDSR	0x02
#define UART_MSR_TERI	0x04
#define UART_MSR_DDCD	0x08
#define UART_MSR_CTS	0x10
#define UART_MSR_DSR	0x20
#define UART_MSR_RI	0x40
#define UART_MSR_DCD	0x80

/*
 * What the UART drives. All callbacks run with the UART's lock held, so they
 * must not call back into the UART; they may be called from any vCPU thread
 * and from the thread that calls uart8250_rx.
 *   set_irq:  the interrupt line changed to @level (called on changes only)
 *   tx:       one byte left the transmitter (not called in loopback mode)
 *   rx_ready: the RX FIFO drained after uart8250_rx refused input; may be NULL
 */
struct uart8250_backend {
	void (*set_irq)(void *opaque, int level);
	void (*tx)(void *opaque, uint8_t byte);
	void (*rx_ready)(void *opaque);
	void *opaque;
};

struct uart8250 {
	pthread_mutex_t lock;
	struct uart8250_backend be;

	uint8_t ier;		/* low nibble only */
	uint8_t lcr;
	uint8_t mcr;
	uint8_t fcr;		/* FE and trigger bits as last programmed */
	uint8_t scr;
	uint8_t dll, dlm;
	uint8_t lsr_err;	/* sticky OE until LSR is read */
	uint8_t msr_lines;	/* MSR high nibble: CTS, DSR, RI, DCD */
	uint8_t msr_delta;	/* MSR low nibble, cleared by reading MSR */
	bool thr_ipending;	/* THRE interrupt armed, see uart_update_irq */

	uint8_t rx_fifo[UART8250_FIFO_LEN];
	unsigned int rx_head;
	unsigned int rx_count;
	bool rx_blocked;	/* uart8250_rx refused input; owe an rx_ready */

	int irq_level;
};

/*
 * uart8250_init - reset @u to power-on state (8N1 at 9600, FIFOs off,
 * interrupts off) and attach backend @be (copied). uart8250_destroy releases
 * the lock; the caller owns the memory.
 */
void uart8250_init(struct uart8250 *u, const struct uart8250_backend *be);
void uart8250_destroy(struct uart8250 *u);

/*
 * uart8250_io - bus handler for the 8 registers; @opaque is the struct
 * uart8250. Multi-byte accesses are split into byte accesses to consecutive
 * registers, as an ISA bus does; bytes past the last register read 0xFF.
 * Takes the UART lock.
 */
void uart8250_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len,
		 bool is_write);

/*
 * uart8250_rx - feed host input into the RX FIFO. Returns the number of bytes
 * accepted (limited by FIFO room); when that is less than @len, rx_ready is
 * called once the guest has drained the FIFO to half. Takes the UART lock.
 */
size_t uart8250_rx(struct uart8250 *u, const uint8_t *buf, size_t len);

/* uart8250_rx_room - free RX FIFO slots right now. Takes the UART lock. */
size_t uart8250_rx_room(struct uart8250 *u);

#endif
