/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_GUEST_PCI_LIB_H
#define KVMIO_GUEST_PCI_LIB_H

/*
 * PCI for test guests: configuration mechanism #1 (0xCF8/0xCFC, PCI Local
 * Bus 3.0, 3.2.2.3.2) and ECAM (PCI Express Base, 7.2.2), BAR sizing,
 * the capability list, MSI-X (PCI 3.0, 6.8.2), and waits for interrupts
 * with a LAPIC-timer timeout.
 */

#include "guest.h"

/* Mirrors src/vm.h ("PCI:"), which guests cannot include. */
#define PCI_ECAM_BASE		0xE0000000UL
#define PCI_ECAM_SIZE		0x100000UL	/* bus 0 only */
#define PCI_MMIO32_BASE		0xC0000000UL
#define PCI_MMIO32_SIZE		0x20000000UL
#define PCI_INTX_GSI_BASE	16

#define PCI_CONF_ADDR		0xCF8
#define PCI_CONF_DATA		0xCFC
#define PCI_CONF_ENABLE		0x80000000u

/* Type 0 header (PCI 3.0, 6.1). */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_REVISION		0x08
#define PCI_CLASS_PROG		0x09	/* class code: 0x09 prog-if, 0x0A sub, 0x0B base */
#define PCI_HEADER_TYPE		0x0E
#define PCI_BAR0		0x10
#define PCI_SUBSYS_VENDOR	0x2C
#define PCI_SUBSYS_ID		0x2E
#define PCI_ROM			0x30
#define PCI_CAP_PTR		0x34
#define PCI_INT_LINE		0x3C
#define PCI_INT_PIN		0x3D

#define PCI_CMD_IO		(1u << 0)
#define PCI_CMD_MEM		(1u << 1)
#define PCI_CMD_MASTER		(1u << 2)
#define PCI_CMD_INTX_DISABLE	(1u << 10)
#define PCI_STATUS_INTX		(1u << 3)
#define PCI_STATUS_CAP_LIST	(1u << 4)
#define PCI_HDR_MULTIFN		0x80

#define PCI_CAP_ID_VNDR		0x09
#define PCI_CAP_ID_MSIX		0x11

/* MSI-X capability and table (PCI 3.0, 6.8.2). */
#define MSIX_CTRL		2
#define MSIX_TABLE		4
#define MSIX_PBA		8
#define MSIX_CTRL_SIZE		0x07FFu
#define MSIX_CTRL_MASKALL	(1u << 14)
#define MSIX_CTRL_ENABLE	(1u << 15)
#define MSIX_ENTRY_SIZE		16
#define MSIX_ENTRY_ADDR_LO	0
#define MSIX_ENTRY_ADDR_HI	4
#define MSIX_ENTRY_DATA		8
#define MSIX_ENTRY_CTRL		12
#define MSIX_ENTRY_MASKED	1u

/* IOAPIC redirection entry bits (82093AA, 3.2.4). */
#define IOAPIC_RTE_ACTIVE_LOW	(1u << 13)
#define IOAPIC_RTE_REMOTE_IRR	(1u << 14)
#define IOAPIC_RTE_LEVEL	(1u << 15)
#define IOAPIC_RTE_MASKED	(1u << 16)

#define PCI_BDF(b, d, f)	((unsigned int)(b) << 8 | (unsigned int)(d) << 3 | (unsigned int)(f))
#define PCI_SLOT(bdf)		(((bdf) >> 3) & 0x1F)
#define PCI_FN(bdf)		((bdf) & 7)

static inline uint8_t mmio_read8(uint64_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t mmio_read16(uint64_t a) { return *(volatile uint16_t *)a; }
static inline void mmio_write8(uint64_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void mmio_write16(uint64_t a, uint16_t v) { *(volatile uint16_t *)a = v; }

/* --- configuration space -------------------------------------------------- */

enum pci_mech { PCI_MECH_CF8, PCI_MECH_ECAM };

/* A @size (1, 2, 4) byte access at @reg of @bdf through @m; any bus number. */
uint32_t pci_read(enum pci_mech m, unsigned int bdf, unsigned int reg, unsigned int size);
void pci_write(enum pci_mech m, unsigned int bdf, unsigned int reg, unsigned int size, uint32_t v);

/* Mechanism #1, the one a driver would use first. */
static inline uint8_t pci_r8(unsigned int bdf, unsigned int reg) { return (uint8_t)pci_read(PCI_MECH_CF8, bdf, reg, 1); }
static inline uint16_t pci_r16(unsigned int bdf, unsigned int reg) { return (uint16_t)pci_read(PCI_MECH_CF8, bdf, reg, 2); }
static inline uint32_t pci_r32(unsigned int bdf, unsigned int reg) { return pci_read(PCI_MECH_CF8, bdf, reg, 4); }
static inline void pci_w8(unsigned int bdf, unsigned int reg, uint8_t v) { pci_write(PCI_MECH_CF8, bdf, reg, 1, v); }
static inline void pci_w16(unsigned int bdf, unsigned int reg, uint16_t v) { pci_write(PCI_MECH_CF8, bdf, reg, 2, v); }
static inline void pci_w32(unsigned int bdf, unsigned int reg, uint32_t v) { pci_write(PCI_MECH_CF8, bdf, reg, 4, v); }

/* ECAM address of @reg of @bdf (bus 0 lies inside the window, others past it). */
static inline uint64_t pci_ecam_addr(unsigned int bdf, unsigned int reg)
{
	return PCI_ECAM_BASE + ((uint64_t)bdf << 12) + reg;
}

/* --- BARs ------------------------------------------------------------------ */

struct pci_bar {
	uint32_t raw_lo, raw_hi;	/* as found */
	uint32_t mask_lo, mask_hi;	/* read back after writing all-ones */
	uint64_t addr, size;		/* size 0: not implemented */
	bool io, mem64, prefetch;
};

/*
 * pci_bar_probe - size BAR @i of @bdf as Linux does (decode off, all-ones,
 * read back, restore, decode back as it was) and decode it into @b.
 * Checks nothing. Returns the BAR slots it uses: 2 for a 64-bit BAR, else 1.
 */
unsigned int pci_bar_probe(unsigned int bdf, unsigned int i, struct pci_bar *b);

/* pci_bar_read - the address BAR @i (and @i+1 for 64-bit) now holds. */
uint64_t pci_bar_read(unsigned int bdf, unsigned int i, bool mem64);

/* pci_bar_write - program BAR @i with @addr (low dword first); decode untouched. */
void pci_bar_write(unsigned int bdf, unsigned int i, bool mem64, uint64_t addr);

/* --- capabilities --------------------------------------------------------- */

/*
 * pci_cap_next - walk the capability list (PCI 3.0, 6.7) of @bdf: the
 * capability after offset @pos (0: the first). Returns its offset, or 0 at
 * the end. Aborts on a malformed list (pointer into the header, past 0xFC,
 * or a cycle: more than 48 entries).
 */
unsigned int pci_cap_next(unsigned int bdf, unsigned int pos);

/* pci_find_cap - the first capability with ID @id after @pos, or 0. */
unsigned int pci_find_cap(unsigned int bdf, uint8_t id, unsigned int pos);

/* --- interrupts and waits --------------------------------------------------- */

#define VEC_PCI_TIMEOUT	0xD0	/* wait_count's LAPIC-timer timeout */

/*
 * wait_count - with interrupts on, sleep until *@count >= @want or @us
 * microseconds pass (LAPIC timer, one-shot). Returns whether the count was
 * reached. Leaves IF clear. Needs irq_init().
 */
bool wait_count(volatile unsigned int *count, unsigned int want, uint32_t us);

/* wait_for - poll @cond every millisecond (sleeping, interrupts on) for up to @us. */
bool wait_for(bool (*cond)(void *arg), void *arg, uint32_t us);

/* The IOAPIC redirection entry for @pin: @lo as written to its low dword. */
void ioapic_route_raw(unsigned int pin, uint32_t lo, uint8_t dest);

/*
 * Spec deviations that break no driver we know of: the first one becomes
 * the runner's note ("UCALL SYNC note: ..."), each is printed; the test goes on.
 */
extern unsigned int pci_notes;
#define PCI_NOTE(...)	do { pci_notes++; GUEST_SYNC("note: " __VA_ARGS__); } while (0)
#define PCI_NOTE_UNLESS(c, ...)	do { if (!(c)) PCI_NOTE(__VA_ARGS__); } while (0)

#endif
