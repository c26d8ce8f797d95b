// SPDX-License-Identifier: Apache-2.0
/*
 * Piped stdin reaches the guest whole and in order: run.sh pipes
 * stdin_len=N random bytes into kvmio --serial stdio, far more than the
 * UART holds, and compares the POSIX cksum the guest reports with cksum(1).
 * kvmio must hold back what the UART cannot take, never drop it.
 *
 * Input arrives on the RX data interrupt (IOAPIC pin 4); the handler drains
 * RBR while LSR.DR, so the per-byte CPL0 work is two port reads and a table
 * lookup. By default the UART stays in 16450 mode as at reset (one byte of
 * room: every byte after the first waits in kvmio), and the data may arrive
 * before the guest runs. With stdin_fifo=1 the guest enables the 16-byte
 * FIFO (trigger level 14) first and then prints "stdin: ready", and run.sh
 * starts sending only then: enabling the FIFO clears it (16550 datasheet,
 * FCR bit 0), which would discard a byte kvmio had already delivered.
 */
#include "guest.h"

#define VEC_UART	0x24
#define VEC_WATCHDOG	0x30
#define TICK_US		100000	/* watchdog period */
#define STALL_TICKS	50	/* no input for 5 s: report how far it got */

static uint32_t crc_table[256];
static volatile uint32_t crc;
static volatile uint64_t got;
static uint64_t want;

/* POSIX cksum: CRC-32, polynomial 0x04C11DB7, MSB first, not reflected. */
static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i << 24;

		for (int k = 0; k < 8; k++)
			c = (c << 1) ^ (c & 0x80000000u ? 0x04C11DB7u : 0);
		crc_table[i] = c;
	}
}

static inline uint32_t crc_byte(uint32_t c, uint8_t b)
{
	return (c << 8) ^ crc_table[(c >> 24) ^ b];
}

/* cksum appends the length, least significant byte first, then inverts. */
static uint32_t cksum_finish(uint32_t c, uint64_t len)
{
	for (; len; len >>= 8)
		c = crc_byte(c, (uint8_t)len);
	return ~c;
}

static void uart_isr(struct regs *r)
{
	uint32_t c = crc;
	uint64_t n = got;

	(void)r;
	while (inb(COM1 + UART_LSR) & UART_LSR_DR) {
		c = crc_byte(c, inb(COM1 + UART_RBR));
		n++;
	}
	crc = c;
	got = n;
	lapic_eoi();
}

/* Lost input would leave the guest waiting forever: fail with the count instead. */
static void watchdog_isr(struct regs *r)
{
	static uint64_t last;
	static unsigned int idle;

	(void)r;
	if (got != last) {
		last = got;
		idle = 0;
	} else if (++idle >= STALL_TICKS) {
		GUEST_FAIL("input stalled: %lu of %lu bytes received after %u s without any",
			   got, want, STALL_TICKS * TICK_US / 1000000);
	}
	lapic_eoi();
}

void guest_main(void)
{
	char arg[32];
	uint64_t fifo = 0;

	GUEST_ASSERT_MSG(cmdline_get("stdin_len", arg, sizeof(arg)) && parse_u64(arg, &want),
			 "no stdin_len=N on the command line");
	if (cmdline_get("stdin_fifo", arg, sizeof(arg)))
		GUEST_ASSERT_MSG(parse_u64(arg, &fifo), "stdin_fifo=%s", arg);
	crc_init();
	irq_init();

	if (fifo)
		outb(COM1 + UART_FCR, 0xC7);	/* enable, clear both, RX trigger 14 */
	idt_set_handler(VEC_UART, uart_isr);
	idt_set_handler(VEC_WATCHDOG, watchdog_isr);
	ioapic_route(COM1_IRQ, VEC_UART, (uint8_t)lapic_id());
	lapic_write(APIC_TDCR, 0xB);		/* divide by 1: 1 GHz in KVM */
	lapic_write(APIC_LVT_TIMER, APIC_LVT_PERIODIC | VEC_WATCHDOG);
	lapic_write(APIC_TMICT, TICK_US * 1000);
	/* Bytes already waiting raise the line as soon as ERBFI is set. */
	outb(COM1 + UART_IER, UART_IER_RDI);
	if (fifo)
		GUEST_SYNC("stdin: ready");

	while (got < want) {
		sti_hlt();
		cli();
	}
	outb(COM1 + UART_IER, 0);
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	GUEST_SYNC("stdin: %lu bytes, cksum %u %lu", got, cksum_finish(crc, got), got);
}
