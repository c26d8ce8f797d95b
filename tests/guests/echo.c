// SPDX-License-Identifier: Apache-2.0
/*
 * An echo for the terminal tests (tty.sh): every byte received on COM1 comes
 * back transformed, so that the host terminal's own echo cannot pass for it:
 * lower-case letters upper-cased, control characters and bytes >= 0x7f as
 * "<xx>" in hex, the rest unchanged. 'Q' powers off. Input arrives on the RX
 * data interrupt; in between the guest halts.
 */
#include "guest.h"

#define VEC_UART	0x24

static volatile bool quit;

static void echo(uint8_t c)
{
	static const char hex[] = "0123456789abcdef";

	if (c >= 'a' && c <= 'z') {
		uart_putc((char)(c - 'a' + 'A'));
	} else if (c < 0x20 || c >= 0x7f) {
		uart_putc('<');
		uart_putc(hex[c >> 4]);
		uart_putc(hex[c & 15]);
		uart_putc('>');
	} else {
		uart_putc((char)c);
	}
	if (c == 'Q')
		quit = true;
}

static void uart_isr(struct regs *r)
{
	(void)r;
	while (!quit && (inb(COM1 + UART_LSR) & UART_LSR_DR))
		echo(inb(COM1 + UART_RBR));
	lapic_eoi();
}

void guest_main(void)
{
	irq_init();
	idt_set_handler(VEC_UART, uart_isr);
	ioapic_route(COM1_IRQ, VEC_UART, (uint8_t)lapic_id());
	outb(COM1 + UART_IER, UART_IER_RDI);
	GUEST_SYNC("echo: ready");
	while (!quit) {
		sti_hlt();
		cli();
	}
	outb(COM1 + UART_IER, 0);
	guest_puts("\n");
}
