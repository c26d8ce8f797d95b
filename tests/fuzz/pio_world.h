/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Legacy port I/O under a hostile guest (hostile-guest.md, case 19): the real
 * bus and the real built-in devices, set up by their own dev_ops init as
 * vm_create does, driven through bus_dispatch with accesses of every size,
 * and checked after each access against invariants and shadow models.
 *
 * Shared by tests/fuzz/fuzz_pio.c (libFuzzer) and tests/unit/test_pio_storm.c
 * (a fixed-seed storm under cmocka); each program includes it once, after
 * defining PIO_FAIL(fmt, ...), which must not return.
 *
 * What is checked:
 *  - every access: the return code (0 claimed, -ENOENT unclaimed, -EINVAL for
 *    a length of 0 or more than 8) against the port map the devices document;
 *    unclaimed and clipped bytes read all-ones; nothing written past @len;
 *    no allocation inside bus_dispatch (fuzzer only, through ASan's hooks);
 *  - COM1: its registers, FIFO and IRQ equal those of a second uart8250 fed
 *    the same accesses; RX FIFO count within 1 or 16 by FCR; no rx_ready owed
 *    with the FIFO drained; bytes on the output fd and rx_ready ticks match;
 *  - i8042, PM, port 0x92: every byte read equals a pure shadow model's, IRQ 1,
 *    12 and 9 follow the shadow, stop requests match the actions it predicts,
 *    and the shadow's queue and pending-command state stay bounded;
 *  - RTC: index < 128, CMOS RAM and B/D equal the shadow's, register C's low
 *    nibble is 0 and IRQF agrees with B, time registers always read a valid
 *    date in the format B selects while the clock runs; a second RTC model on
 *    a virtual clock never schedules a timer event in the past (no spinning);
 *  - PM timer reads never go backwards (modulo 2^32);
 *  - vm_irq_line: only GSIs 1, 4, 8, 9, 12, levels 0/1, changes only.
 */
#ifndef KVMIO_TESTS_PIO_WORLD_H
#define KVMIO_TESTS_PIO_WORLD_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bus.h"
#include "hw/i8042.h"
#include "hw/pm.h"
#include "hw/rtc.h"
#include "hw/uart8250.h"
#include "util.h"
#include "vm.h"

#include "../unit/fake_vm.h"

#ifndef PIO_FAIL
#error "define PIO_FAIL(fmt, ...) before including pio_world.h"
#endif

/* ---- what the devices claim (their headers and vm.h say so) ---------- */

#define PIO_PORT92	0x92

/* Who answers a port; the last two only count accesses nobody may take. */
enum pio_dev { PC_QUIET, PC_PORT92, PC_KBD, PC_RTC, PC_UART, PC_PM,
	       PIO_HIT_UNCLAIMED, PIO_HIT_INVALID, PIO_NR_HITS };

static const struct pio_claim {
	uint16_t base, len;
	enum pio_dev dev;
} pio_claims[] = {
	{ 0x2E, 2, PC_QUIET },
	{ 0x4E, 2, PC_QUIET },
	{ I8042_DATA_PORT, 1, PC_KBD },
	{ I8042_CMD_PORT, 1, PC_KBD },
	{ RTC_PORT, 2, PC_RTC },
	{ 0x80, 1, PC_QUIET },
	{ 0x87, 1, PC_QUIET },
	{ PIO_PORT92, 1, PC_PORT92 },
	{ 0xED, 1, PC_QUIET },
	{ UART_COM1_PORT, UART8250_NR_PORTS, PC_UART },
	{ ACPI_PM1A_EVT, 4, PC_PM },
	{ ACPI_PM1A_CNT, 2, PC_PM },
	{ ACPI_PM_TMR, 4, PC_PM },
	{ ACPI_RESET_PORT, 1, PC_PM },
	{ ACPI_GPE0_BLK, ACPI_GPE0_LEN, PC_PM },
};

static const struct pio_claim *pio_claim_find(uint64_t port)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(pio_claims); i++)
		if (port >= pio_claims[i].base && port - pio_claims[i].base < pio_claims[i].len)
			return &pio_claims[i];
	return NULL;
}

/* ---- what a device asks of KVM: recorded by tests/unit/fake_vm.c ------ */

/* The GSIs of the built-in devices; fake_vm.c checks the rest of the contract. */
static bool pio_gsi_expected(unsigned int gsi)
{
	return gsi == I8042_KBD_IRQ || gsi == UART_COM1_IRQ || gsi == RTC_IRQ ||
	       gsi == ACPI_SCI_IRQ || gsi == I8042_AUX_IRQ;
}

/* Allocations made by the I/O path (counted by the fuzzer's malloc hook). */
static __thread bool pio_in_io;
static _Atomic unsigned long pio_io_allocs;

/* ---- the world -------------------------------------------------------- */

#define PIO_RAM_SIZE	(512 * MiB)
#define PIO_VNOW0	(1709214307LL * 1000000000LL)	/* 2024-02-29 13:45:07 UTC */

struct pio_world {
	struct vm vm;
	struct bus_cache cache;
	bool no_cache;			/* dispatch with a NULL cache */
	int out_pipe[2];		/* COM1 output lands here */

	/* COM1 shadow: the same model fed directly, with a recording backend. */
	struct uart8250 uart;
	uint8_t uart_tx[64];
	unsigned int uart_ntx;
	unsigned long uart_rx_ready;

	struct i8042_state kbd;
	struct pm_state pm;
	uint32_t pm_tmr_last;
	bool pm_tmr_seen;
	uint8_t port92;

	/* A pure RTC on a virtual clock: same accesses, time under our control. */
	struct rtc_state rtc;
	int64_t vnow;

	unsigned int expect_stops[FAKE_VM_NR_STOP];
	unsigned long naccess;
	unsigned long hits[PIO_NR_HITS];
};

static void shadow_set_irq(void *opaque, int level)
{
	/* Only the level is compared; the change-only rule is checked on COM1. */
	(void)opaque;
	(void)level;
}

static void shadow_tx(void *opaque, uint8_t byte)
{
	struct pio_world *w = opaque;

	if (w->uart_ntx < sizeof(w->uart_tx))
		w->uart_tx[w->uart_ntx++] = byte;
}

static void shadow_rx_ready(void *opaque)
{
	((struct pio_world *)opaque)->uart_rx_ready++;
}

#define PIO_CHECK(cond, ...)							\
	do {									\
		if (!(cond))							\
			PIO_FAIL("access %lu: " __VA_ARGS__);			\
	} while (0)

/* Device init order is vm.c's; exit runs in reverse. */
static const struct vm_device_ops *const pio_devices[] = {
	&uart8250_dev_ops, &rtc_dev_ops, &i8042_dev_ops, &pm_dev_ops, &ports_dev_ops,
};

static void pio_world_init(struct pio_world *w)
{
	const struct uart8250_backend be = {
		.set_irq = shadow_set_irq, .tx = shadow_tx, .rx_ready = shadow_rx_ready, .opaque = w,
	};
	struct vm *vm = &w->vm;

	memset(w, 0, sizeof(*w));
	fake_vm_init(vm);
	vm->mem.ram_size = PIO_RAM_SIZE;
	if (pipe2(w->out_pipe, O_NONBLOCK | O_CLOEXEC))
		PIO_FAIL("pipe2: %s", strerror(errno));
	vm->serial_out_fd = w->out_pipe[1];
	vm->serial_rx_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vm->serial_rx_fd < 0)
		PIO_FAIL("eventfd: %s", strerror(errno));
	for (unsigned int i = 0; i < ARRAY_SIZE(pio_devices); i++) {
		int ret = pio_devices[i]->init(vm);

		if (ret)
			PIO_FAIL("%s init: %d", pio_devices[i]->name, ret);
		vm->ndevices++;
	}

	uart8250_init(&w->uart, &be);
	i8042_state_init(&w->kbd);
	pm_state_init(&w->pm, 0);
	w->port92 = 0x02;	/* A20 */
	w->vnow = PIO_VNOW0;
	rtc_state_init(&w->rtc, PIO_RAM_SIZE, MIN(PIO_RAM_SIZE, MEM_HOLE_START), w->vnow);
}

static void pio_world_destroy(struct pio_world *w)
{
	struct vm *vm = &w->vm;

	while (vm->ndevices)
		pio_devices[--vm->ndevices]->exit(vm);
	uart8250_destroy(&w->uart);
	close(w->out_pipe[0]);
	close(w->out_pipe[1]);
	close(vm->serial_rx_fd);
	fake_vm_destroy(vm);
}

/* ---- invariants ------------------------------------------------------- */

static unsigned int uart_cap(const struct uart8250 *u)
{
	return (u->fcr & UART_FCR_FE) ? UART8250_FIFO_LEN : 1;
}

static void pio_check_uart(struct pio_world *w)
{
	struct uart8250 *u = w->vm.com1, *s = &w->uart;
	uint8_t out[sizeof(w->uart_tx) + 1];
	uint64_t ticks = 0;
	ssize_t n;
	unsigned long a = w->naccess;

	PIO_CHECK(u->rx_count <= UART8250_FIFO_LEN, "UART RX FIFO count %u > 16", a, u->rx_count);
	PIO_CHECK(u->rx_count <= uart_cap(u), "UART RX FIFO count %u > capacity %u (FCR 0x%02x)",
		  a, u->rx_count, uart_cap(u), u->fcr);
	PIO_CHECK(u->rx_head < UART8250_FIFO_LEN, "UART rx_head %u", a, u->rx_head);
	PIO_CHECK(!(u->ier & 0xF0), "UART IER 0x%02x", a, u->ier);
	PIO_CHECK(!(u->mcr & 0xE0), "UART MCR 0x%02x", a, u->mcr);
	PIO_CHECK(!(u->fcr & ~(UART_FCR_FE | UART_FCR_DMA | UART_FCR_TRIG)), "UART FCR 0x%02x",
		  a, u->fcr);
	PIO_CHECK(!(u->lsr_err & ~UART_LSR_ERR), "UART lsr_err 0x%02x", a, u->lsr_err);
	PIO_CHECK(!(u->msr_delta & 0xF0) && !(u->msr_lines & 0x0F), "UART MSR 0x%02x/0x%02x",
		  a, u->msr_lines, u->msr_delta);
	PIO_CHECK(u->irq_level == 0 || u->irq_level == 1, "UART irq_level %d", a, u->irq_level);
	PIO_CHECK(!(u->rx_blocked && u->rx_count <= uart_cap(u) / 2),
		  "UART owes rx_ready with %u bytes queued: host input stalls", a, u->rx_count);

	/* The device and its shadow went through the same accesses. */
	PIO_CHECK(u->ier == s->ier && u->lcr == s->lcr && u->mcr == s->mcr && u->fcr == s->fcr &&
		  u->scr == s->scr && u->dll == s->dll && u->dlm == s->dlm &&
		  u->lsr_err == s->lsr_err && u->msr_lines == s->msr_lines &&
		  u->msr_delta == s->msr_delta && u->thr_ipending == s->thr_ipending &&
		  u->rx_head == s->rx_head && u->rx_count == s->rx_count &&
		  u->rx_blocked == s->rx_blocked && u->irq_level == s->irq_level &&
		  !memcmp(u->rx_fifo, s->rx_fifo, sizeof(u->rx_fifo)),
		  "COM1 state differs from the shadow UART", a);
	PIO_CHECK(fake_irq_level(UART_COM1_IRQ) == u->irq_level, "IRQ 4 is %d, UART says %d",
		  a, fake_irq_level(UART_COM1_IRQ), u->irq_level);

	n = read(w->out_pipe[0], out, sizeof(out));
	if (n < 0)
		n = 0;
	PIO_CHECK((size_t)n == w->uart_ntx && !memcmp(out, w->uart_tx, (size_t)n),
		  "COM1 sent %zd bytes, the shadow %u", a, n, w->uart_ntx);
	w->uart_ntx = 0;
	if (read(w->vm.serial_rx_fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		ticks = 0;
	PIO_CHECK(ticks == w->uart_rx_ready, "COM1 rx_ready ticks %llu, shadow %lu",
		  a, (unsigned long long)ticks, w->uart_rx_ready);
	w->uart_rx_ready = 0;
}

static void pio_check_kbd(struct pio_world *w)
{
	const struct i8042_state *k = &w->kbd;
	unsigned long a = w->naccess;
	int kbd, aux;

	PIO_CHECK(k->q_count <= I8042_QUEUE_LEN, "i8042 queue holds %u", a, k->q_count);
	PIO_CHECK(k->q_head < I8042_QUEUE_LEN, "i8042 q_head %u", a, k->q_head);
	PIO_CHECK(k->pending_cmd == 0 || k->pending_cmd == 0x60 ||
		  (k->pending_cmd >= 0xD1 && k->pending_cmd <= 0xD4),
		  "i8042 pending command 0x%02x", a, k->pending_cmd);
	PIO_CHECK(k->kbd_cmd == 0 || k->kbd_cmd == 0xED || k->kbd_cmd == 0xF0 || k->kbd_cmd == 0xF3,
		  "i8042 keyboard command 0x%02x", a, k->kbd_cmd);
	PIO_CHECK(k->aux_cmd == 0 || k->aux_cmd == 0xE8 || k->aux_cmd == 0xF3,
		  "i8042 mouse command 0x%02x", a, k->aux_cmd);
	PIO_CHECK(!(k->status & ~(I8042_STR_SYS | I8042_STR_CMD | I8042_STR_UNLOCKED)),
		  "i8042 stored status 0x%02x", a, k->status);
	PIO_CHECK(k->aux_resolution <= 3, "i8042 mouse resolution %u", a, k->aux_resolution);
	i8042_irq_levels(k, &kbd, &aux);
	PIO_CHECK(fake_irq_level(I8042_KBD_IRQ) == kbd && fake_irq_level(I8042_AUX_IRQ) == aux,
		  "IRQ 1/12 are %d/%d, the controller drives %d/%d", a,
		  fake_irq_level(I8042_KBD_IRQ), fake_irq_level(I8042_AUX_IRQ), kbd, aux);
}

static void pio_check_rtc_pure(struct pio_world *w)
{
	const struct rtc_state *r = &w->rtc;
	unsigned long a = w->naccess;
	int64_t next = rtc_next_event_ns(r, w->vnow);

	PIO_CHECK(r->index < RTC_NR_REGS, "RTC index 0x%x", a, r->index);
	PIO_CHECK(!(r->cmos[RTC_REG_A] & RTC_A_UIP), "RTC A stores UIP", a);
	PIO_CHECK(!(r->cmos[RTC_REG_C] & 0x8F), "RTC C stores 0x%02x", a, r->cmos[RTC_REG_C]);
	PIO_CHECK(next == -1 || next > w->vnow,
		  "RTC timer event at %lld is not after now %lld: the timer thread spins",
		  a, (long long)next, (long long)w->vnow);
}

/* Everything not tied to one access; also run at the end of each input. */
static void pio_check(struct pio_world *w)
{
	unsigned long a = w->naccess;
	char err[256];

	PIO_CHECK(!fake_vm_error(err, sizeof(err)), "%s", a, err);
	for (unsigned int gsi = 0; gsi < FAKE_VM_NR_GSI; gsi++)
		PIO_CHECK(pio_gsi_expected(gsi) || !fake_irq_calls(gsi),
			  "vm_irq_line: unexpected GSI %u", a, gsi);
	pio_check_uart(w);
	pio_check_kbd(w);
	pio_check_rtc_pure(w);
	PIO_CHECK(fake_irq_level(ACPI_SCI_IRQ) == pm_sci_level(&w->pm), "SCI is %d, PM1/GPE0 say %d",
		  a, fake_irq_level(ACPI_SCI_IRQ), pm_sci_level(&w->pm));
	PIO_CHECK(fake_irq_level(RTC_IRQ) == 0 || fake_irq_level(RTC_IRQ) == 1, "IRQ 8", a);
	for (unsigned int i = 0; i < FAKE_VM_NR_STOP; i++)
		PIO_CHECK(fake_stop_count(i) == w->expect_stops[i],
			  "stop requests for reason %u: %u, expected %u",
			  a, i, fake_stop_count(i), w->expect_stops[i]);
	PIO_CHECK(pio_io_allocs == 0, "bus_dispatch allocated memory (%lu times)", a,
		  (unsigned long)pio_io_allocs);
}

/* A time register's value is a valid date field in the format B selects. */
static bool rtc_time_valid(uint8_t b, unsigned int reg, uint8_t v)
{
	unsigned int x, lo = 0, hi = 99;

	if (reg == RTC_HOURS && !(b & RTC_B_24H))
		v &= 0x7F;	/* PM flag */
	if (b & RTC_B_DM) {
		x = v;
	} else {
		if ((v & 0x0F) > 9 || (v >> 4) > 9)
			return false;
		x = (v >> 4) * 10 + (v & 0x0F);
	}
	switch (reg) {
	case RTC_SECONDS: case RTC_MINUTES: hi = 59; break;
	case RTC_HOURS:
		if (b & RTC_B_24H)
			hi = 23;
		else
			lo = 1, hi = 12;
		break;
	case RTC_DAY_OF_WEEK: lo = 1; hi = 7; break;
	case RTC_DAY_OF_MONTH: lo = 1; hi = 31; break;
	case RTC_MONTH: lo = 1; hi = 12; break;
	}
	return x >= lo && x <= hi;
}

static bool rtc_is_time_reg(unsigned int reg)
{
	return reg <= RTC_YEAR ? (reg != RTC_SECONDS_ALARM && reg != RTC_MINUTES_ALARM &&
				  reg != RTC_HOURS_ALARM) : reg == RTC_CENTURY;
}

/* One RTC data-port byte through the shadow; @real is what the device saw or returned. */
static void rtc_data_byte(struct pio_world *w, bool is_write, uint8_t real)
{
	unsigned int reg = w->rtc.index;
	uint8_t b = w->rtc.cmos[RTC_REG_B], v;
	unsigned long a = w->naccess;

	if (is_write) {
		rtc_reg_write(&w->rtc, reg, real, w->vnow);
		return;
	}
	v = rtc_reg_read(&w->rtc, reg, w->vnow);
	if (rtc_is_time_reg(reg)) {
		if (!(b & RTC_B_SET)) {
			PIO_CHECK(rtc_time_valid(b, reg, real),
				  "RTC register 0x%02x reads 0x%02x with B = 0x%02x", a, reg, real, b);
			PIO_CHECK(rtc_time_valid(b, reg, v),
				  "virtual RTC register 0x%02x reads 0x%02x with B = 0x%02x",
				  a, reg, v, b);
		}
	} else if (reg == RTC_REG_A) {
		PIO_CHECK((real & 0x7F) == (v & 0x7F), "RTC A reads 0x%02x, shadow 0x%02x",
			  a, real, v);
	} else if (reg == RTC_REG_C) {
		PIO_CHECK(!(real & 0x0F), "RTC C reads 0x%02x", a, real);
		PIO_CHECK(!!(real & RTC_C_IRQF) == !!(real & b & 0x70),
			  "RTC C reads 0x%02x with B = 0x%02x: IRQF disagrees", a, real, b);
	} else {
		PIO_CHECK(real == v, "CMOS 0x%02x reads 0x%02x, shadow 0x%02x", a, reg, real, v);
	}
}

/*
 * pio_access - one guest access: dispatch it on the real bus, run the same
 * bytes through the shadows, compare. @len may be anything up to 16. Returns
 * what a read of 1-8 bytes got, little-endian, else 0.
 */
static uint64_t pio_access(struct pio_world *w, uint16_t port, unsigned int len, bool is_write,
		       uint64_t val)
{
	const struct pio_claim *c = pio_claim_find(port);
	uint8_t buf[16], sent[16], want[16];
	unsigned long a = ++w->naccess;
	unsigned int in;
	int ret;

	memset(buf, 0xA5, sizeof(buf));
	if (is_write)
		le_write(buf, MIN(len, 8u), val);
	memcpy(sent, buf, sizeof(buf));

	pio_in_io = true;
	ret = bus_dispatch(&w->vm.bus, w->no_cache ? NULL : &w->cache, BUS_PIO, port, buf, len,
			   is_write);
	pio_in_io = false;

	w->hits[len == 0 || len > 8 ? PIO_HIT_INVALID : c ? c->dev : PIO_HIT_UNCLAIMED]++;
	if (len == 0 || len > 8) {
		PIO_CHECK(ret == -EINVAL, "%u-byte access at 0x%x returned %d", a, len, port, ret);
		PIO_CHECK(!memcmp(buf, sent, sizeof(buf)), "%u-byte access at 0x%x touched data",
			  a, len, port);
		return 0;
	}
	PIO_CHECK(ret == (c ? 0 : -ENOENT), "%u-byte %s at 0x%x returned %d", a, len,
		  is_write ? "write" : "read", port, ret);
	PIO_CHECK(!memcmp(buf + len, sent + len, sizeof(buf) - len),
		  "%u-byte access at 0x%x wrote past its length", a, len, port);
	memset(want, 0xFF, sizeof(want));
	in = c ? MIN(len, (unsigned int)(c->base + c->len - port)) : 0;

	if (c)
		switch (c->dev) {
		case PC_QUIET:
			break;
		case PC_PORT92:
			if (is_write) {
				if ((sent[0] & 1) && !(w->port92 & 1))
					w->expect_stops[VM_STOP_REBOOT]++;
				w->port92 = sent[0];
			} else {
				want[0] = 0x02;	/* A20 on, whatever was written */
			}
			break;
		case PC_KBD:
			if (is_write) {
				if (i8042_write(&w->kbd, port, sent[0]) == I8042_ACT_RESET)
					w->expect_stops[VM_STOP_REBOOT]++;
			} else {
				want[0] = i8042_read(&w->kbd, port);
			}
			break;
		case PC_UART:
			memcpy(want, sent, sizeof(want));
			uart8250_io(&w->uart, port - c->base, want, in, is_write);
			memset(want + in, 0xFF, sizeof(want) - in);
			break;
		case PC_RTC:
			for (unsigned int i = 0; i < in; i++) {
				if (port + i == RTC_PORT) {
					if (is_write)
						w->rtc.index = sent[i] & (RTC_NR_REGS - 1);
				} else {
					rtc_data_byte(w, is_write, is_write ? sent[i] : buf[i]);
					want[i] = buf[i];	/* compared in rtc_data_byte */
				}
			}
			break;
		case PC_PM: {
			enum pm_action act = PM_ACT_NONE;

			for (unsigned int i = 0; i < in; i++) {
				unsigned int p = port + i;

				if (is_write) {
					enum pm_action x = pm_write(&w->pm, p, 1, sent[i]);

					if (act == PM_ACT_NONE)
						act = x;
				} else if (p >= ACPI_PM_TMR && p < ACPI_PM_TMR + 4) {
					want[i] = buf[i];	/* the clock: checked below */
				} else {
					want[i] = (uint8_t)pm_read(&w->pm, p, 1, 0);
				}
			}
			if (act == PM_ACT_POWEROFF)
				w->expect_stops[VM_STOP_POWEROFF]++;
			else if (act == PM_ACT_REBOOT)
				w->expect_stops[VM_STOP_REBOOT]++;
			if (!is_write && port == ACPI_PM_TMR && len >= 4) {
				uint32_t t = (uint32_t)le_read(buf, 4);

				PIO_CHECK(!w->pm_tmr_seen || t - w->pm_tmr_last < 0x80000000u,
					  "PM timer went back from 0x%08x to 0x%08x", a,
					  w->pm_tmr_last, t);
				w->pm_tmr_last = t;
				w->pm_tmr_seen = true;
			}
			break;
		}
		default:
			break;
		}

	if (!is_write)
		for (unsigned int i = 0; i < len; i++)
			PIO_CHECK(buf[i] == want[i],
				  "%u-byte read at 0x%x: byte %u is 0x%02x, expected 0x%02x",
				  a, len, port, i, buf[i], want[i]);
	pio_check(w);
	return is_write ? 0 : le_read(buf, len);
}

/* Host input for COM1, into the device and its shadow. */
static void pio_host_rx(struct pio_world *w, const uint8_t *bytes, size_t n)
{
	size_t r1 = uart8250_rx(w->vm.com1, bytes, n), r2 = uart8250_rx(&w->uart, bytes, n);

	PIO_CHECK(r1 == r2 && r1 <= n && r1 <= UART8250_FIFO_LEN,
		  "uart8250_rx took %zu of %zu bytes, shadow %zu", w->naccess, r1, n, r2);
	pio_check(w);
}

/* A device raises a GPE (hotplug); bits past the block are refused. */
static void pio_gpe(struct pio_world *w, unsigned int bit)
{
	int r1 = pm_gpe_raise(&w->vm, bit), r2 = pm_state_gpe_set(&w->pm, bit);

	PIO_CHECK(r1 == r2 && r1 == (bit < PM_GPE0_NR ? 0 : -EINVAL),
		  "pm_gpe_raise(%u) = %d, expected %d", w->naccess, bit, r1, r2);
	pio_check(w);
}

/*
 * Time passes on the virtual RTC (or the host clock steps back), within
 * 1970-2116; the timer thread would run rtc_update.
 */
#define PIO_VNOW_MAX	(1LL << 62)

static void pio_advance(struct pio_world *w, int64_t ns)
{
	if (ns > PIO_VNOW_MAX - w->vnow)
		w->vnow = PIO_VNOW_MAX;
	else if (ns < -w->vnow)
		w->vnow = 0;
	else
		w->vnow += ns;
	rtc_update(&w->rtc, w->vnow);
	pio_check_rtc_pure(w);
}

/* A guest that reads what it asked for: each queue empties in a bounded number of reads. */
static void pio_drain(struct pio_world *w)
{
	struct uart8250 *u = w->vm.com1;
	unsigned int n;

	/* i8042: poll the status port, read 0x60 while OBF is set. */
	for (n = 0; n <= I8042_QUEUE_LEN; n++) {
		pio_access(w, I8042_CMD_PORT, 1, false, 0);	/* compared with the shadow */
		if (!w->kbd.q_count)
			break;
		pio_access(w, I8042_DATA_PORT, 1, false, 0);
	}
	PIO_CHECK(!w->kbd.q_count, "i8042 output still full after %u reads", w->naccess, n);

	/* COM1: clear DLAB, then read RBR while LSR.DR is set. */
	if (u->lcr & UART_LCR_DLAB)
		pio_access(w, UART_COM1_PORT + UART_LCR, 1, true, u->lcr & ~UART_LCR_DLAB);
	for (n = 0; n <= UART8250_FIFO_LEN && u->rx_count; n++)
		pio_access(w, UART_COM1_PORT + UART_RBR, 1, false, 0);
	PIO_CHECK(!u->rx_count, "UART RX FIFO not empty after %u reads", w->naccess, n);
}

/* ---- the access stream ------------------------------------------------ */

/*
 * Input format: 8-byte records (a trailing partial record is ignored).
 *   b0   bits 0-3: size index into pio_sizes; bit 4: write; bits 5-7: mode
 *        mode 0-3  port from pio_bases[b1 % N] + (b2 & 15) - 4
 *        mode 4    port b1 | b2 << 8
 *        mode 5    host input: uart8250_rx of b1 % 21 bytes cycling b4..b7
 *        mode 6    host event by b0 & 15: 0 pm_gpe_raise(b2 % 20),
 *                  1 virtual RTC time += b4..b7 << (b1 % 29) ns (b3 & 1: backwards),
 *                  2 drain i8042 and COM1, 3 toggle the bus cache, else nothing
 *        mode 7    like mode 0-3, repeated 1 + b3 % 32 times (rep ins/outs)
 *   b3   mode 7 repeat count
 *   b4-7 value, little-endian; 8-byte writes use v | ~v << 32
 */
#define PIO_REC_LEN	8

static const uint8_t pio_sizes[16] = { 1, 2, 4, 1, 2, 4, 1, 1, 3, 8, 5, 6, 7, 0, 9, 16 };

static const uint16_t pio_bases[] = {
	0x60, 0x64, 0x70, 0x3F8, 0x3FC, 0x600, 0x604, 0x608, 0x610, 0x620, 0x62C, 0x80,
	0x92, 0xCF8, 0xCFC, 0x2E, 0x4E, 0x87, 0xED, 0x20, 0x40, 0x2F8, 0x4D0, 0xFFFC,
};

static void pio_run(struct pio_world *w, const uint8_t *data, size_t size)
{
	for (size_t off = 0; off + PIO_REC_LEN <= size; off += PIO_REC_LEN) {
		const uint8_t *r = data + off;
		unsigned int len = pio_sizes[r[0] & 15], mode = r[0] >> 5, rep = 1;
		bool is_write = r[0] & 0x10;
		uint32_t v32 = (uint32_t)le_read(r + 4, 4);
		uint64_t val = len == 8 ? v32 | (uint64_t)(uint32_t)~v32 << 32 : v32;
		uint16_t port;

		switch (mode) {
		case 4:
			port = (uint16_t)(r[1] | r[2] << 8);
			break;
		case 5: {
			uint8_t in[20];
			size_t n = r[1] % 21;

			for (size_t i = 0; i < n; i++)
				in[i] = r[4 + i % 4];
			pio_host_rx(w, in, n);
			continue;
		}
		case 6:
			switch (r[0] & 15) {
			case 0:
				pio_gpe(w, r[2] % 20);
				break;
			case 1: {
				int64_t ns = (int64_t)((uint64_t)v32 << (r[1] % 29));

				pio_advance(w, (r[3] & 1) ? -ns : ns);
				break;
			}
			case 2:
				pio_drain(w);
				break;
			case 3:
				w->no_cache = !w->no_cache;
				break;
			}
			continue;
		default:
			port = (uint16_t)(pio_bases[r[1] % ARRAY_SIZE(pio_bases)] + (r[2] & 15) - 4);
			if (mode == 7)
				rep = 1 + r[3] % 32;
		}
		while (rep--)
			pio_access(w, port, len, is_write, val);
	}
}

#endif
