// SPDX-License-Identifier: Apache-2.0
/*
 * PCI helpers for test guests; see pci_lib.h.
 */
#include "pci_lib.h"

unsigned int pci_notes;

uint32_t pci_read(enum pci_mech m, unsigned int bdf, unsigned int reg, unsigned int size)
{
	if (m == PCI_MECH_ECAM) {
		uint64_t a = pci_ecam_addr(bdf, reg);

		return size == 1 ? mmio_read8(a) : size == 2 ? mmio_read16(a) : mmio_read32(a);
	}
	/* 3.2.2.3.2: the dword in CONFIG_ADDRESS, the bytes at CFC + (reg & 3). */
	outl(PCI_CONF_ADDR, PCI_CONF_ENABLE | bdf << 8 | (reg & 0xFC));
	uint16_t port = (uint16_t)(PCI_CONF_DATA + (reg & 3));

	return size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
}

void pci_write(enum pci_mech m, unsigned int bdf, unsigned int reg, unsigned int size, uint32_t v)
{
	if (m == PCI_MECH_ECAM) {
		uint64_t a = pci_ecam_addr(bdf, reg);

		if (size == 1)
			mmio_write8(a, (uint8_t)v);
		else if (size == 2)
			mmio_write16(a, (uint16_t)v);
		else
			mmio_write32(a, v);
		return;
	}
	outl(PCI_CONF_ADDR, PCI_CONF_ENABLE | bdf << 8 | (reg & 0xFC));
	uint16_t port = (uint16_t)(PCI_CONF_DATA + (reg & 3));

	if (size == 1)
		outb(port, (uint8_t)v);
	else if (size == 2)
		outw(port, (uint16_t)v);
	else
		outl(port, v);
}

/* --- BARs ------------------------------------------------------------------ */

unsigned int pci_bar_probe(unsigned int bdf, unsigned int i, struct pci_bar *b)
{
	unsigned int reg = PCI_BAR0 + 4 * i;
	uint16_t cmd = pci_r16(bdf, PCI_COMMAND);

	memset(b, 0, sizeof(*b));
	/* Decode off while the BAR holds all-ones, as Linux's __pci_read_base. */
	pci_w16(bdf, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
	b->raw_lo = pci_r32(bdf, reg);
	pci_w32(bdf, reg, 0xFFFFFFFF);
	b->mask_lo = pci_r32(bdf, reg);
	pci_w32(bdf, reg, b->raw_lo);
	b->io = b->raw_lo & 1;
	b->mem64 = !b->io && (b->raw_lo & 6) == 4 && i < 5;
	b->prefetch = !b->io && (b->raw_lo & 8);
	if (b->mem64) {
		b->raw_hi = pci_r32(bdf, reg + 4);
		pci_w32(bdf, reg + 4, 0xFFFFFFFF);
		b->mask_hi = pci_r32(bdf, reg + 4);
		pci_w32(bdf, reg + 4, b->raw_hi);
	}
	pci_w16(bdf, PCI_COMMAND, cmd);

	if (b->io) {
		uint32_t m = b->mask_lo & ~3u;

		b->addr = b->raw_lo & ~3u;
		/* Only the implemented low bits count: I/O BARs may hardwire the top 16. */
		b->size = m ? (uint64_t)(m & -m) : 0;
	} else {
		uint64_t m = ((uint64_t)(b->mem64 ? b->mask_hi : 0) << 32) | (b->mask_lo & ~0xFu);

		if (!b->mem64)
			m |= 0xFFFFFFFF00000000ull;
		b->addr = ((uint64_t)b->raw_hi << 32) | (b->raw_lo & ~0xFu);
		b->size = (b->mask_lo & ~0xFu) || (b->mem64 && b->mask_hi) ? ~m + 1 : 0;
	}
	return b->mem64 ? 2 : 1;
}

uint64_t pci_bar_read(unsigned int bdf, unsigned int i, bool mem64)
{
	uint32_t lo = pci_r32(bdf, PCI_BAR0 + 4 * i);

	if (lo & 1)
		return lo & ~3u;
	return (mem64 ? (uint64_t)pci_r32(bdf, PCI_BAR0 + 4 * i + 4) << 32 : 0) | (lo & ~0xFu);
}

void pci_bar_write(unsigned int bdf, unsigned int i, bool mem64, uint64_t addr)
{
	pci_w32(bdf, PCI_BAR0 + 4 * i, (uint32_t)addr);
	if (mem64)
		pci_w32(bdf, PCI_BAR0 + 4 * i + 4, (uint32_t)(addr >> 32));
}

/* --- capabilities --------------------------------------------------------- */

unsigned int pci_cap_next(unsigned int bdf, unsigned int pos)
{
	unsigned int next;

	if (!pos) {
		if (!(pci_r16(bdf, PCI_STATUS) & PCI_STATUS_CAP_LIST))
			return 0;
		next = pci_r8(bdf, PCI_CAP_PTR);
	} else {
		next = pci_r8(bdf, pos + 1);
	}
	/* 6.7: the two low bits are reserved; software masks them. */
	next &= 0xFC;
	GUEST_ASSERT_MSG(!next || next >= 0x40,
			 "%02x.%x: capability pointer 0x%x (after 0x%x) points into the header",
			 PCI_SLOT(bdf), PCI_FN(bdf), next, pos);
	return next;
}

unsigned int pci_find_cap(unsigned int bdf, uint8_t id, unsigned int pos)
{
	/* (256 - 64) / 4 capabilities fit; more means a cycle. */
	for (int n = 0; n < 48; n++) {
		pos = pci_cap_next(bdf, pos);
		if (!pos || pci_r8(bdf, pos) == id)
			return pos;
	}
	GUEST_FAIL("%02x.%x: capability list longer than 48 entries: a cycle",
		   PCI_SLOT(bdf), PCI_FN(bdf));
}

/* --- interrupts and waits --------------------------------------------------- */

static volatile unsigned int timeout_fired;

static void timeout_isr(struct regs *r)
{
	(void)r;
	timeout_fired = 1;
	lapic_eoi();
}

bool wait_count(volatile unsigned int *count, unsigned int want, uint32_t us)
{
	idt_set_handler(VEC_PCI_TIMEOUT, timeout_isr);
	cli();
	timeout_fired = 0;
	/* KVM's LAPIC timer: 1 GHz at divide-by-1; 4 s fit in TMICT. */
	if (us > 4000000)
		us = 4000000;
	lapic_write(APIC_TDCR, 0xB);
	lapic_write(APIC_LVT_TIMER, VEC_PCI_TIMEOUT);
	lapic_write(APIC_TMICT, us * 1000);
	while (*count < want && !timeout_fired) {
		sti_hlt();
		cli();
	}
	lapic_write(APIC_TMICT, 0);
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	return *count >= want;
}

bool wait_for(bool (*cond)(void *arg), void *arg, uint32_t us)
{
	/* 1 ms steps: each step is a few exits, and CPL0 is slow under kvm_pvm. */
	for (uint32_t t = 0;; t += 1000) {
		if (cond(arg))
			return true;
		if (t >= us)
			return false;
		delay_us(1000);
	}
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE, reg);
	mmio_write32(IOAPIC_BASE + 0x10, v);
}

void ioapic_route_raw(unsigned int pin, uint32_t lo, uint8_t dest)
{
	ioapic_write(0x10 + 2 * pin, IOAPIC_RTE_MASKED);
	ioapic_write(0x11 + 2 * pin, (uint32_t)dest << 24);
	ioapic_write(0x10 + 2 * pin, lo);
}
