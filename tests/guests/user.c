// SPDX-License-Identifier: Apache-2.0
/*
 * User mode for test guests: page tables with user 2 MiB pages over the
 * first GiB, a GDT with CPL3 segments and a TSS, and a DPL-3 gate through
 * which CPL3 code returns (user_entry.S). On the PVM host CPL3 runs natively, so
 * loops and exceptions raised by hardware belong here, not at CPL0.
 *
 * The kernel selectors stay those of kvmio's boot GDT (code 0x10, data
 * 0x18), so the IDT that lib.c built keeps working.
 */
#include "guest.h"

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

static uint64_t gdt[8] __attribute__((aligned(16))) = {
	0,
	0,
	0x00AF9A000000FFFFull,	/* 0x10 kernel code, 64-bit (as kvmio's) */
	0x00CF92000000FFFFull,	/* 0x18 kernel data */
	0x00CFF2000000FFFFull,	/* 0x20 user data, DPL 3: selector 0x23 */
	0x00AFFA000000FFFFull,	/* 0x28 user code, 64-bit, DPL 3: selector 0x2B */
	0, 0,			/* 0x30 TSS, filled in below */
};
static struct tss tss;
static uint8_t tss_stack[4096] __attribute__((aligned(16)));
static uint8_t user_stack[16384] __attribute__((aligned(16)));
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[512] __attribute__((aligned(4096)));
static uint64_t pd_mmio[512] __attribute__((aligned(4096)));

uint64_t enter_user(void (*fn)(void), uint64_t user_rsp);	/* user.S */
extern const char user_exit_entry[];

static void paging_load(void)
{
	const uint64_t *old_pml4 = (const uint64_t *)(read_cr3() & ~0xFFFull);
	const uint64_t *old_pdpt = (const uint64_t *)(old_pml4[0] & 0x000FFFFFFFFFF000ull);
	uint64_t cr4;

	/* Kernel code will sit on user pages: SMEP/SMAP would fault it. */
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 &= ~(3ull << 20);
	__asm__ volatile("mov %0, %%cr4" :: "r"(cr4));

	/*
	 * 0-1 GiB (the image, RAM): user, writable 2 MiB pages. 3-4 GiB (LAPIC,
	 * IOAPIC, unclaimed MMIO): user too, uncached, so CPL3 can make MMIO
	 * exits. 1-3 GiB: kvmio's supervisor map.
	 */
	for (uint64_t i = 0; i < 512; i++) {
		pd[i] = i << 21 | 0x87;				/* P | RW | US | PS */
		pd_mmio[i] = ((3ull << 30) + (i << 21)) | 0x9F;	/* ... | PWT | PCD */
	}
	pdpt[0] = (uint64_t)pd | 0x07;
	pdpt[1] = old_pdpt[1];
	pdpt[2] = old_pdpt[2];
	pdpt[3] = (uint64_t)pd_mmio | 0x07;
	pml4[0] = (uint64_t)pdpt | 0x07;
	write_cr3((uint64_t)pml4);
}

static void gdt_tss_load(void)
{
	uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdtr = {
		sizeof(gdt) - 1, (uint64_t)gdt,
	};

	tss.rsp[0] = (uint64_t)tss_stack + sizeof(tss_stack);
	tss.iomap_base = sizeof(tss);	/* no bitmap: IOPL 3 decides */
	gdt[6] = (limit & 0xFFFF) | (base & 0xFFFFFF) << 16 | 0x89ull << 40 |
		 ((limit >> 16) & 0xF) << 48 | ((base >> 24) & 0xFF) << 56;
	gdt[7] = base >> 32;
	__asm__ volatile("lgdt %0\n\t"
			 "pushq $0x10\n\t"
			 "lea 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\tmov $0x18, %%eax\n\t"
			 "mov %%eax, %%ds\n\t"
			 "mov %%eax, %%es\n\t"
			 "mov %%eax, %%ss\n\t"
			 "mov $0x30, %%eax\n\t"
			 "ltr %%ax"
			 :: "m"(gdtr) : "rax", "memory");
}

unsigned int user_pio_trapped;

/*
 * #GP from an IN/OUT at CPL3: do it here and step over it. Where the CPU
 * honours IOPL 3 this never runs; the PVM host ignores the guest's IOPL
 * (CPL3 runs with the host's flags), so there every CPL3 port access
 * lands here, the way Xen emulates IOPL for PV guests.
 */
static void gp_handler(struct regs *r)
{
	const uint8_t *ip = (const uint8_t *)r->rip;
	unsigned int len = 1, size = 4;
	uint16_t port = (uint16_t)r->rdx;

	if (!(r->cs & 3))
		isr_abort(r);
	if (*ip == 0x66)
		size = 2, ip++, len++;
	switch (*ip) {
	case 0xE4: case 0xE5: case 0xE6: case 0xE7:
		port = ip[1];
		len++;
		break;
	case 0xEC: case 0xED: case 0xEE: case 0xEF:
		break;
	default:
		isr_abort(r);
	}
	if (!(*ip & 1))
		size = 1;
	if (*ip & 2) {		/* OUT */
		if (size == 1)
			outb(port, (uint8_t)r->rax);
		else if (size == 2)
			outw(port, (uint16_t)r->rax);
		else
			outl(port, (uint32_t)r->rax);
	} else if (size == 1) {
		r->rax = (r->rax & ~0xFFull) | inb(port);
	} else if (size == 2) {
		r->rax = (r->rax & ~0xFFFFull) | inw(port);
	} else {
		r->rax = inl(port);
	}
	r->rip += len;
	user_pio_trapped++;
}

void user_init(void)
{
	paging_load();
	gdt_tss_load();
	idt_set_gate(USER_EXIT_VECTOR, user_exit_entry, 3);
	idt_set_handler(13, gp_handler);
}

uint64_t user_run(void (*fn)(void))
{
	return enter_user(fn, (uint64_t)user_stack + sizeof(user_stack));
}
