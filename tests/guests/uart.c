// SPDX-License-Identifier: Apache-2.0
/*
 * COM1 as Linux's 8250 driver probes and uses it (drivers/tty/serial/8250/
 * 8250_port.c autoconfig): scratch and IER read-back, the divisor latch, the
 * FIFO bits in IIR, loopback (data and modem lines), the THRE and RX
 * interrupts through the IOAPIC, and all-ones from an unclaimed port.
 */
#include "guest.h"

#define VEC_UART	0x24
#define LOOP_MARKER	"loopback-leak"	/* run.sh: must not reach the serial output */

static volatile unsigned int thre_irqs, rx_irqs, other_irqs;
static volatile uint8_t last_iir, rx_byte;

static uint8_t rd(unsigned int reg) { return inb(COM1 + reg); }
static void wr(unsigned int reg, uint8_t v) { outb(COM1 + reg, v); }

static bool lsr_wait(uint8_t mask, uint8_t want)
{
	for (int i = 0; i < 10000; i++)
		if ((rd(UART_LSR) & mask) == want)
			return true;
	return false;
}

static void uart_isr(struct regs *r)
{
	(void)r;
	uint8_t iir = rd(UART_IIR);	/* reading IIR clears a THRE interrupt */

	last_iir = iir;
	switch (iir & 0x0F) {
	case 0x02:
		thre_irqs++;
		break;
	case 0x04:
	case 0x0C:
		rx_irqs++;
		while (rd(UART_LSR) & UART_LSR_DR)
			rx_byte = rd(UART_RBR);
		break;
	default:
		other_irqs++;
	}
	lapic_eoi();
}

static void wait_irq(volatile unsigned int *count, unsigned int above)
{
	for (int i = 0; i < 20000 && *count <= above; i++)
		pause();
}

static void loopback_byte(uint8_t c)
{
	wr(UART_THR, c);
	GUEST_ASSERT_MSG(lsr_wait(UART_LSR_DR, UART_LSR_DR), "loopback: no DR after writing 0x%x", c);
	uint8_t got = rd(UART_RBR);

	GUEST_ASSERT_MSG(got == c, "loopback: read 0x%x, wrote 0x%x", got, c);
	GUEST_ASSERT_MSG(!(rd(UART_LSR) & UART_LSR_DR), "loopback: DR still set after RBR read");
}

void guest_main(void)
{
	const uint8_t mcr_normal = UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2;

	irq_init();
	GUEST_SYNC("uart: THR output with LSR polling");
	GUEST_ASSERT_MSG(lsr_wait(UART_LSR_THRE | UART_LSR_TEMT, UART_LSR_THRE | UART_LSR_TEMT),
			 "THRE|TEMT not set after output: LSR 0x%x", rd(UART_LSR));

	/* Scratch register: the first thing autoconfig trusts. */
	static const uint8_t pat[] = { 0x55, 0xAA, 0x00, 0xFF, 0x3C };
	for (unsigned int i = 0; i < sizeof(pat); i++) {
		wr(UART_SCR, pat[i]);
		GUEST_ASSERT_EQ(rd(UART_SCR), pat[i]);
	}

	/* IER existence test (autoconfig): low nibble reads back. */
	wr(UART_IER, 0);
	GUEST_ASSERT_EQ(rd(UART_IER) & 0x0F, 0);
	wr(UART_IER, 0x0F);
	GUEST_ASSERT_EQ(rd(UART_IER) & 0x0F, 0x0F);
	wr(UART_IER, 0);
	GUEST_ASSERT_EQ(rd(UART_IIR) & 0x0F, 0x01);	/* no interrupt pending */

	/* Divisor latch: DLAB banks DLL/DLM over RBR/IER. */
	wr(UART_LCR, 0x03 | UART_LCR_DLAB);
	GUEST_ASSERT_EQ(rd(UART_LCR), 0x03 | UART_LCR_DLAB);
	wr(UART_DLL, 0x34);
	wr(UART_DLM, 0x12);
	GUEST_ASSERT_EQ(rd(UART_DLL), 0x34);
	GUEST_ASSERT_EQ(rd(UART_DLM), 0x12);
	wr(UART_DLL, 0x01);	/* back to 115200 */
	wr(UART_DLM, 0x00);
	GUEST_ASSERT_EQ(rd(UART_DLL), 0x01);
	wr(UART_LCR, 0x03);
	GUEST_ASSERT_EQ(rd(UART_LCR), 0x03);
	GUEST_ASSERT_EQ(rd(UART_IER) & 0x0F, 0);	/* DLM writes did not reach IER */

	/* FIFOs: IIR[7:6] = 11 when enabled (16550A), 00 when not. */
	wr(UART_FCR, 0x07);
	GUEST_ASSERT_EQ(rd(UART_IIR) & 0xC0, 0xC0);
	wr(UART_FCR, 0x00);
	GUEST_ASSERT_EQ(rd(UART_IIR) & 0xC0, 0x00);
	wr(UART_FCR, 0x07);	/* enabled, cleared, RX trigger 1 byte */
	GUEST_SYNC("uart: scratch, IER, DLAB, FIFO ok");

	/* Loopback: the modem outputs feed the inputs (MCR 0x1A -> MSR 0x90)... */
	wr(UART_MCR, UART_MCR_LOOP | 0x0A);
	GUEST_ASSERT_EQ(rd(UART_MSR) & 0xF0, 0x90);
	/* ...and THR feeds RBR, without reaching the wire. */
	wr(UART_MCR, UART_MCR_LOOP | mcr_normal);
	for (int i = 0; i < 64 && (rd(UART_LSR) & UART_LSR_DR); i++)
		(void)rd(UART_RBR);
	GUEST_ASSERT_MSG(!(rd(UART_LSR) & UART_LSR_DR), "RX does not drain");
	for (const char *p = LOOP_MARKER; *p; p++)
		loopback_byte((uint8_t)*p);
	wr(UART_MCR, mcr_normal);
	GUEST_SYNC("uart: loopback ok");

	/* Interrupts: COM1 is ISA IRQ 4, IOAPIC pin 4, edge, active high. */
	idt_set_handler(VEC_UART, uart_isr);
	ioapic_route(COM1_IRQ, VEC_UART, (uint8_t)lapic_id());
	sti();

	/* THRE: enabling ETBEI with THR empty raises it at once (Linux's UART_BUG_THRE check). */
	wr(UART_IER, UART_IER_THRI);
	wait_irq(&thre_irqs, 0);
	GUEST_ASSERT_MSG(thre_irqs >= 1, "no THRE interrupt after IER=THRI (IIR 0x%x)", rd(UART_IIR));
	GUEST_ASSERT_EQ(last_iir & 0xCF, 0xC2);
	/* Each byte sent empties THR again: another edge per byte. */
	unsigned int before = thre_irqs;
	guest_puts("UCALL SYNC uart: THRE interrupts while printing\n");
	wait_irq(&thre_irqs, before);
	GUEST_ASSERT_MSG(thre_irqs > before, "no THRE interrupt after transmitting (%u)", thre_irqs);
	wr(UART_IER, 0);

	/* RX data interrupt, fed through loopback. */
	wr(UART_MCR, UART_MCR_LOOP | mcr_normal);
	wr(UART_IER, UART_IER_RDI);
	wr(UART_THR, 'x');
	wait_irq(&rx_irqs, 0);
	wr(UART_IER, 0);
	wr(UART_MCR, mcr_normal);
	cli();
	ioapic_mask(COM1_IRQ);
	GUEST_ASSERT_MSG(rx_irqs >= 1, "no RX interrupt in loopback (LSR 0x%x)", rd(UART_LSR));
	GUEST_ASSERT_EQ(last_iir & 0xCF, 0xC4);
	GUEST_ASSERT_EQ(rx_byte, 'x');
	GUEST_ASSERT_EQ(other_irqs, 0);
	GUEST_SYNC("uart: interrupts ok: thre=%u rx=%u", thre_irqs, rx_irqs);

	/* Nothing claims COM2: reads are all-ones, writes vanish. */
	GUEST_ASSERT_EQ(inb(0x2F8 + 7), 0xFF);
	outb(0x2F8 + 7, 0x5A);
	GUEST_ASSERT_EQ(inb(0x2F8 + 7), 0xFF);
	GUEST_ASSERT_EQ(inw(0x2F8 + 4), 0xFFFF);
	GUEST_SYNC("uart: unclaimed port reads 0xff");
}
