// SPDX-License-Identifier: Apache-2.0
/*
 * The guest library: ucalls over COM1, a tiny printf, the IDT, LAPIC/IOAPIC
 * helpers and an ACPI table lookup. See guest.h for the protocol.
 */
#include "guest.h"

uint8_t *boot_params;

/* --- memory and strings ---------------------------------------------------
 * rep movs/stos rather than loops: GCC would turn a byte loop back into a
 * call to memset itself.
 */
void *memset(void *d, int c, size_t n)
{
	void *p = d;

	__asm__ volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	void *p = d;

	__asm__ volatile("rep movsb" : "+D"(p), "+S"(s), "+c"(n) :: "memory");
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* --- COM1 output -------------------------------------------------------- */

void uart_putc(char c)
{
	/* Bounded: a UART that never reports THRE must not hang the guest. */
	for (int i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & UART_LSR_THRE); i++)
		pause();
	outb(COM1 + UART_THR, (uint8_t)c);
}

void guest_puts(const char *s)
{
	while (*s) {
		if (*s == '\n')
			uart_putc('\r');
		uart_putc(*s++);
	}
}

static void put_num(uint64_t v, unsigned int base, bool neg, int width, char pad)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		buf[n++] = '-';
	while (width-- > n)
		uart_putc(pad);
	while (n--)
		uart_putc(buf[n]);
}

/* %[0][width][l|ll|z](d|u|x|p|s|c|%) — all this library needs. */
void guest_vprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			if (*fmt == '\n')
				uart_putc('\r');
			uart_putc(*fmt);
			continue;
		}
		char pad = ' ';
		int width = 0, lng = 0;

		if (*++fmt == '0')
			pad = '0', fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z')
			lng = 1, fmt++;
		switch (*fmt) {
		case 'd': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);

			put_num(v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0, width, pad);
			break;
		}
		case 'u':
			put_num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int), 10, false, width, pad);
			break;
		case 'x':
			put_num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int), 16, false, width, pad);
			break;
		case 'p':
			guest_puts("0x");
			put_num((uintptr_t)va_arg(ap, void *), 16, false, width, pad);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);

			guest_puts(s ? s : "(null)");
			break;
		}
		case 'c':
			uart_putc((char)va_arg(ap, int));
			break;
		case '%':
			uart_putc('%');
			break;
		default:
			uart_putc('?');
			if (!*fmt)
				return;
		}
	}
}

void guest_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
}

/* --- ucalls ------------------------------------------------------------- */

void ucall_sync(const char *fmt, ...)
{
	va_list ap;

	guest_puts("UCALL SYNC ");
	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
	guest_puts("\n");
}

/* kvmio's values; acpi_poweroff_from_tables() replaces them with the firmware's. */
uint16_t acpi_pm1a_cnt = PM1A_CNT;
uint8_t acpi_s5_typ = ACPI_S5_TYP;

void acpi_poweroff(void)
{
	cli();
	outw(acpi_pm1a_cnt, (uint16_t)((acpi_s5_typ << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN));
	/*
	 * kvmio stops the vCPU in the write's exit; QEMU only requests a shutdown
	 * that its main loop serves while the vCPU runs on: give it a second or so.
	 */
	for (uint64_t t0 = rdtsc(); rdtsc() - t0 < 3000000000ull;)
		pause();
	/* Still here: say so once, then stop; the runner's timeout ends us. */
	guest_printf("UCALL ABORT %s:%d: ACPI S5 write did not power off\n", __FILE__, __LINE__);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void ucall_done(void)
{
	guest_puts("UCALL DONE\n");
	acpi_poweroff();
}

void ucall_abort(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	cli();
	/* A test may have left COM1 in loopback or with DLAB set: undo that first. */
	outb(COM1 + UART_LCR, 0x03);
	outb(COM1 + UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
	guest_printf("\nUCALL ABORT %s:%d: ", file, line);
	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
	guest_puts("\n");
	acpi_poweroff();
}

/* --- command line --------------------------------------------------------- */

bool cmdline_get(const char *key, char *buf, size_t len)
{
	uint64_t ptr = *(uint32_t *)(boot_params + 0x228) |
		       (uint64_t)*(uint32_t *)(boot_params + 0x0C8) << 32;
	const char *p = (const char *)ptr;
	size_t klen = strlen(key);

	if (!p)
		return false;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!memcmp(p, key, klen) && p[klen] == '=') {
			size_t n = 0;

			for (p += klen + 1; *p && *p != ' ' && n + 1 < len; p++)
				buf[n++] = *p;
			buf[n] = 0;
			return true;
		}
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

/* --- IDT and interrupt dispatch ------------------------------------------ */

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type_attr;	/* P | DPL | 0xE (64-bit interrupt gate) */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_handler_t handlers[256];
extern const char isr_stubs[];	/* isr.S: 256 stubs, ISR_STUB_SIZE bytes apart */
#define ISR_STUB_SIZE 16

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#MF(9)",
	"#TS", "#NP", "#SS", "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM",
	"#VE", "#CP", "22", "23", "24", "25", "26", "27", "#HV", "#VC", "#SX", "31",
};

void isr_dispatch(struct regs *r);
void isr_dispatch(struct regs *r)
{
	unsigned int v = (unsigned int)r->vector;

	if (handlers[v]) {
		handlers[v](r);
		return;
	}
	if (v == VEC_SPURIOUS)
		return;		/* SDM 11.9: no EOI for the spurious vector */
	isr_abort(r);
}

void isr_abort(struct regs *r)
{
	unsigned int v = (unsigned int)r->vector;
	uint64_t cr2;

	if (v >= 32)
		ucall_abort(__FILE__, __LINE__, "unexpected interrupt vector 0x%x at rip 0x%lx",
			    v, r->rip);
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	ucall_abort(__FILE__, __LINE__,
		    "exception %u %s error 0x%lx rip 0x%lx cs 0x%lx rflags 0x%lx rsp 0x%lx cr2 0x%lx",
		    v, exc_names[v], r->error, r->rip, r->cs, r->rflags, r->rsp, cr2);
}

static uint16_t kernel_cs;	/* kvmio's BOOT_CS; user.c keeps the same selector */

static void gate_set(unsigned int v, uint64_t a, unsigned int dpl)
{
	idt[v] = (struct idt_gate){
		.off_lo = (uint16_t)a, .sel = kernel_cs, .type_attr = (uint8_t)(0x8E | (dpl & 3) << 5),
		.off_mid = (uint16_t)(a >> 16), .off_hi = (uint32_t)(a >> 32),
	};
}

static void idt_init(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = {
		sizeof(idt) - 1, (uint64_t)idt,
	};

	__asm__ volatile("mov %%cs, %0" : "=r"(kernel_cs));
	for (unsigned int v = 0; v < 256; v++)
		gate_set(v, (uint64_t)isr_stubs + v * ISR_STUB_SIZE, 0);
	__asm__ volatile("lidt %0" :: "m"(idtr));
}

void idt_set_handler(unsigned int vector, irq_handler_t fn)
{
	handlers[vector & 0xFF] = fn;
}

void idt_set_gate(unsigned int vector, const void *entry, unsigned int dpl)
{
	gate_set(vector & 0xFF, (uint64_t)entry, dpl);
}

/* --- LAPIC, IOAPIC, delays ------------------------------------------------ */

static volatile unsigned int delay_fired;

static void delay_isr(struct regs *r)
{
	(void)r;
	delay_fired = 1;
	lapic_eoi();
}

void irq_init(void)
{
	/* The in-kernel 8259s reach the BSP through LINT0 (ExtINT); keep them out. */
	outb(0x21, 0xFF);
	outb(0xA1, 0xFF);
	lapic_write(APIC_SVR, APIC_SVR_ENABLE | VEC_SPURIOUS);
	lapic_write(APIC_LVT_LINT0, APIC_LVT_MASKED);
	lapic_write(APIC_LVT_LINT1, APIC_LVT_MASKED);
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	lapic_write(APIC_TPR, 0);
	idt_set_handler(VEC_DELAY, delay_isr);
}

void delay_us(uint32_t us)
{
	uint64_t flags;

	__asm__ volatile("pushf; pop %0; cli" : "=r"(flags) :: "memory");
	while (us) {
		/* KVM's LAPIC timer counts at 1 GHz with divide-by-1. */
		uint32_t chunk = us > 4000000 ? 4000000 : us;

		delay_fired = 0;
		lapic_write(APIC_TDCR, 0xB);
		lapic_write(APIC_LVT_TIMER, VEC_DELAY);
		lapic_write(APIC_TMICT, chunk * 1000);
		while (!delay_fired) {
			sti_hlt();
			cli();
		}
		us -= chunk;
	}
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	if (flags & 0x200)
		sti();
}

uint32_t ioapic_read(uint32_t reg)
{
	mmio_write32(IOAPIC_BASE, reg);
	return mmio_read32(IOAPIC_BASE + 0x10);
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE, reg);
	mmio_write32(IOAPIC_BASE + 0x10, v);
}

void ioapic_route(unsigned int pin, uint8_t vector, uint8_t dest)
{
	ioapic_write(0x11 + 2 * pin, (uint32_t)dest << 24);
	ioapic_write(0x10 + 2 * pin, vector);	/* fixed, physical, active high, edge, unmasked */
}

void ioapic_mask(unsigned int pin)
{
	ioapic_write(0x10 + 2 * pin, 1u << 16);
}

/* --- ACPI ------------------------------------------------------------------ */

bool acpi_checksum_ok(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return sum == 0;
}

static const uint8_t *acpi_rsdp(void)
{
	uint64_t a = *(uint64_t *)(boot_params + 0x070);

	if (!a) {
		/* ACPI 6.5, 5.2.5.1: the RSDP is 16-byte aligned in 0xE0000-0xFFFFF. */
		for (a = 0xE0000; a < 0x100000; a += 16)
			if (!memcmp((const void *)a, "RSD PTR ", 8))
				break;
		GUEST_ASSERT_MSG(a < 0x100000, "no acpi_rsdp_addr and no RSDP in the BIOS area");
	}
	const uint8_t *rsdp = (const uint8_t *)a;

	GUEST_ASSERT_MSG(!memcmp(rsdp, "RSD PTR ", 8), "bad RSDP signature at 0x%lx", a);
	GUEST_ASSERT_MSG(acpi_checksum_ok(rsdp, 20), "RSDP checksum");
	if (rsdp[15] >= 2)
		GUEST_ASSERT_MSG(acpi_checksum_ok(rsdp, *(uint32_t *)(rsdp + 20)),
				 "RSDP extended checksum");
	return rsdp;
}

const void *acpi_find_table(const char *sig)
{
	const uint8_t *rsdp = acpi_rsdp();
	bool xsdt = rsdp[15] >= 2 && *(uint64_t *)(rsdp + 24);
	const struct acpi_header *root = xsdt ?
		(const void *)*(uint64_t *)(rsdp + 24) :
		(const void *)(uint64_t)*(uint32_t *)(rsdp + 16);
	unsigned int esize = xsdt ? 8 : 4;

	GUEST_ASSERT_MSG(!memcmp(root->sig, xsdt ? "XSDT" : "RSDT", 4), "bad root table");
	GUEST_ASSERT_MSG(acpi_checksum_ok(root, root->length), "root table checksum");
	for (uint32_t off = sizeof(*root); off + esize <= root->length; off += esize) {
		const uint8_t *e = (const uint8_t *)root + off;
		uint64_t a = xsdt ? *(const uint64_t *)e : *(const uint32_t *)e;
		const struct acpi_header *t = (const void *)a;

		if (!memcmp(t->sig, sig, 4)) {
			GUEST_ASSERT_MSG(acpi_checksum_ok(t, t->length), "%s checksum", sig);
			return t;
		}
	}
	return NULL;
}

/*
 * The FADT's PM1a_CNT_BLK and \_S5's SLP_TYPa from the DSDT's AML: the
 * "Name (_S5, Package (N) { typ, ...})" bytes, 08 '_S5_' 12 PkgLength
 * NumElements, then typ as ZeroOp (00), OneOp (01) or BytePrefix (0A) nn
 * (ACPI 6.5, 20.2.3, 20.2.5.4). Any other encoding: false, nothing changed.
 */
bool acpi_poweroff_from_tables(void)
{
	const uint8_t *fadt = acpi_find_table("FACP");

	if (!fadt || ((const struct acpi_header *)fadt)->length < 148)
		return false;
	uint32_t cnt = *(const uint32_t *)(fadt + 64);
	uint64_t dsdt_a = *(const uint64_t *)(fadt + 140);

	if (!dsdt_a)
		dsdt_a = *(const uint32_t *)(fadt + 40);
	const struct acpi_header *dsdt = (const void *)dsdt_a;

	if (!cnt || cnt > 0xFFFF || !dsdt || memcmp(dsdt->sig, "DSDT", 4))
		return false;
	const uint8_t *p = (const uint8_t *)dsdt, *end = p + dsdt->length;

	for (p += sizeof(*dsdt); p + 8 < end; p++) {
		if (memcmp(p, "_S5_", 4) || p[4] != 0x12)
			continue;
		const uint8_t *q = p + 5;

		q += 1 + (*q >> 6);	/* PkgLength: 1 to 4 bytes */
		q++;			/* NumElements */
		if (q >= end)
			return false;
		if (*q == 0x00 || *q == 0x01)
			acpi_s5_typ = *q;
		else if (*q == 0x0A && q + 1 < end)
			acpi_s5_typ = q[1] & 7;
		else
			return false;
		acpi_pm1a_cnt = (uint16_t)cnt;
		return true;
	}
	return false;
}

/* --- entry ----------------------------------------------------------------- */

void guest_entry(uint8_t *bp) __attribute__((noreturn));
void guest_entry(uint8_t *bp)
{
	boot_params = bp;
	idt_init();
	guest_main();
	ucall_done();
}

void pattern_fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)(x >> 11);
	}
}

size_t pattern_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i = 0;

	while (i < n && a[i] == b[i])
		i++;
	return i;
}
