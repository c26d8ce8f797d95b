/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_GUEST_H
#define KVMIO_GUEST_H

/*
 * The tier-2 guest library: what a freestanding test guest needs to talk to
 * kvmio's devices and report back. Modelled on Linux
 * tools/testing/selftests/kvm (ucall.c, GUEST_ASSERT, GUEST_DONE), except
 * that the ucall channel is COM1: one line per ucall, which the runner
 * (run.sh) parses:
 *
 *	UCALL SYNC <text>		progress or a value the runner checks
 *	UCALL DONE			the test passed; the guest then powers off
 *	UCALL ABORT <file>:<line>: <msg>	the test failed; the guest powers off
 *
 * Everything runs at CPL0 unless a test enters user mode, and on the PVM
 * host CPL0 code is emulated (~1.4 M instructions/s): keep loops short.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fixed platform addresses; they mirror src/vm.h, which guests cannot include. */
#define COM1			0x3F8
#define COM1_IRQ		4
#define CMOS_INDEX		0x70
#define CMOS_DATA		0x71
#define I8042_DATA		0x60
#define I8042_CMD		0x64
#define PM1A_CNT		0x604
#define ACPI_RESET_PORT		0x610
#define ACPI_S5_TYP		5
#define PM1_SLP_TYP_SHIFT	10
#define PM1_SLP_EN		(1u << 13)
#define LAPIC_BASE		0xFEE00000UL
#define IOAPIC_BASE		0xFEC00000UL

/* 8250 register offsets and bits (16550 datasheet). */
#define UART_RBR	0	/* DLAB=0, read */
#define UART_THR	0	/* DLAB=0, write */
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
#define UART_LSR_DR	0x01
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_LCR_DLAB	0x80
#define UART_MCR_DTR	0x01
#define UART_MCR_RTS	0x02
#define UART_MCR_OUT2	0x08
#define UART_MCR_LOOP	0x10
#define UART_IER_RDI	0x01
#define UART_IER_THRI	0x02

/* Local APIC registers (SDM vol. 3, 11.4.1). */
#define APIC_ID		0x020
#define APIC_VERSION	0x030
#define APIC_TPR	0x080
#define APIC_EOI	0x0B0
#define APIC_SVR	0x0F0
#define APIC_ESR	0x280
#define APIC_ICR_LO	0x300
#define APIC_ICR_HI	0x310
#define APIC_LVT_TIMER	0x320
#define APIC_LVT_LINT0	0x350
#define APIC_LVT_LINT1	0x360
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define APIC_TDCR	0x3E0
#define APIC_LVT_MASKED		(1u << 16)
#define APIC_LVT_PERIODIC	(1u << 17)
#define APIC_SVR_ENABLE		(1u << 8)
#define APIC_ICR_BUSY		(1u << 12)

/* Vectors the library owns. Tests use 0x20..0xDF. */
#define VEC_DELAY	0xEE	/* LAPIC timer for delay_us() */
#define VEC_SPURIOUS	0xFF

/* Registers as the interrupt stubs save them (isr.S). */
struct regs {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;	/* pushed by the CPU */
};

typedef void (*irq_handler_t)(struct regs *r);

/* --- port I/O, MSRs, control registers -------------------------------- */

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline void write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" :: "r"(v) : "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
/* sti;hlt: the STI shadow makes "interrupt arrives before hlt" impossible. */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
static inline void pause(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

static inline uint32_t mmio_read32(uint64_t addr) { return *(volatile uint32_t *)addr; }
static inline void mmio_write32(uint64_t addr, uint32_t v) { *(volatile uint32_t *)addr = v; }

/* --- library (lib.c) ----------------------------------------------------- */

/* Each test defines this; returning from it reports UCALL DONE and powers off. */
void guest_main(void);

/* The boot_params pointer kvmio passed in RSI. */
extern uint8_t *boot_params;

void uart_putc(char c);
void guest_puts(const char *s);
void guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void guest_vprintf(const char *fmt, va_list ap);

void ucall_sync(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ucall_done(void) __attribute__((noreturn));
void ucall_abort(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

/* ACPI S5 through PM1a_CNT; never returns. */
void acpi_poweroff(void) __attribute__((noreturn));
/* The port and SLP_TYP it writes: kvmio's PM1A_CNT and ACPI_S5_TYP unless changed. */
extern uint16_t acpi_pm1a_cnt;
extern uint8_t acpi_s5_typ;
/*
 * Sets both from the FADT and the DSDT's \_S5 (e.g. under QEMU, whose S5
 * is SLP_TYP 0); false if they cannot be read, leaving them as they were.
 */
bool acpi_poweroff_from_tables(void);

#define GUEST_SYNC(...)		ucall_sync(__VA_ARGS__)
#define GUEST_DONE()		ucall_done()
#define GUEST_FAIL(...)		ucall_abort(__FILE__, __LINE__, __VA_ARGS__)
#define GUEST_ASSERT(c)							\
	do { if (!(c)) ucall_abort(__FILE__, __LINE__, "%s", #c); } while (0)
#define GUEST_ASSERT_MSG(c, ...)					\
	do { if (!(c)) ucall_abort(__FILE__, __LINE__, __VA_ARGS__); } while (0)
#define GUEST_ASSERT_EQ(a, b)						\
	do {								\
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);	\
		if (a_ != b_)						\
			ucall_abort(__FILE__, __LINE__, "%s == %s: 0x%lx != 0x%lx", \
				    #a, #b, a_, b_);			\
	} while (0)

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* Value of "key=value" on the kernel command line, copied to @buf; false if absent. */
bool cmdline_get(const char *key, char *buf, size_t len);
/* pattern_fill - @n bytes of a pseudo-random pattern from @seed (xorshift): DMA tests' data. */
void pattern_fill(uint8_t *p, size_t n, uint32_t seed);
/* pattern_diff - the offset of the first byte where @a and @b differ; @n if none. */
size_t pattern_diff(const uint8_t *a, const uint8_t *b, size_t n);
/* Parses a decimal number; false on junk. */
bool parse_u64(const char *s, uint64_t *out);

/* IDT: all 256 vectors get a stub; exceptions abort with a dump by default. */
void idt_set_handler(unsigned int vector, irq_handler_t fn);
/* The default for an unhandled exception: report it as UCALL ABORT. */
void isr_abort(struct regs *r) __attribute__((noreturn));
/* Points a gate straight at @entry (no stub) with @dpl, e.g. a CPL3 "int" gate. */
void idt_set_gate(unsigned int vector, const void *entry, unsigned int dpl);

/* Masks the 8259s and LINT0/1 so only LAPIC and IOAPIC interrupts arrive; enables the LAPIC. */
void irq_init(void);

static inline uint32_t lapic_read(uint32_t reg) { return mmio_read32(LAPIC_BASE + reg); }
static inline void lapic_write(uint32_t reg, uint32_t v) { mmio_write32(LAPIC_BASE + reg, v); }
static inline void lapic_eoi(void) { lapic_write(APIC_EOI, 0); }
static inline uint32_t lapic_id(void) { return lapic_read(APIC_ID) >> 24; }

/* IOAPIC redirection entry for @pin: edge, active high, fixed, physical @dest. */
void ioapic_route(unsigned int pin, uint8_t vector, uint8_t dest);
void ioapic_mask(unsigned int pin);
uint32_t ioapic_read(uint32_t reg);

/* Sleeps about @us microseconds on the LAPIC timer (sti; hlt). Needs irq_init(). */
void delay_us(uint32_t us);

/* User mode (user.c, user_entry.S): CPL3 with IOPL 3 on user pages over 0-1 GiB. */
#define USER_EXIT_VECTOR	3	/* int3: the only "int n" PVM passes through */
/* CPL3 port accesses that trapped (#GP) and were done by user.c's handler. */
extern unsigned int user_pio_trapped;
/* Builds page tables, GDT, TSS and the exit gate; CPL0, once. */
void user_init(void);
/* Runs @fn at CPL3 until it calls user_exit(); returns user_exit's argument. */
uint64_t user_run(void (*fn)(void));
static inline void __attribute__((noreturn)) user_exit(uint64_t result)
{
	__asm__ volatile("int3" :: "a"(result) : "memory");
	__builtin_unreachable();
}

/* ACPI: finds a table by signature through the RSDP kvmio gave in boot_params. */
const void *acpi_find_table(const char *sig);
bool acpi_checksum_ok(const void *p, size_t len);

struct acpi_header {
	char sig[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __attribute__((packed));

#endif
