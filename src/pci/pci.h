/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_PCI_PCI_H
#define KVMIO_PCI_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "iommu/dma.h"

/*
 * PCI: one host bridge, bus 0, reached through configuration mechanism #1
 * (0xCF8/0xCFC) and ECAM (vm.h has the addresses).
 *
 * A device is 4 KiB of config space plus three masks that give the generic
 * semantics: which bits the guest may write (wmask), which clear when
 * written with 1 (w1cmask). Writes go through the masks byte by byte, so any
 * access size at any offset behaves like hardware; after a write the core
 * looks at which registers changed (COMMAND, BARs, ROM BAR) and moves or
 * (un)decodes BARs. Devices get a hook for writes to their own registers
 * (capabilities) and for BAR decode changes.
 *
 * One lock (pci_host.lock) serialises all config accesses: they are rare
 * after boot, and it makes BAR moves atomic with respect to each other.
 * BAR handlers themselves run under the bus's rules, not this lock.
 */

#define PCI_NR_SLOTS		32
#define PCI_CFG_SIZE		4096
#define PCI_CFG_LEGACY_SIZE	256	/* what 0xCF8/0xCFC reaches */
#define PCI_NR_BARS		6
#define PCI_ROM_SLOT		6	/* bar[6] is the expansion ROM */
#define PCI_CAP_MAX_HOPS	48	/* (256 - 64) / 4: more means a loop */
#define PCI_INTX_NR_GSI_MAX	4

enum pci_bar_type {
	PCI_BAR_NONE = 0,
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64,		/* occupies this slot and the next */
	PCI_BAR_ROM,
};

struct pci_device;

struct pci_bar {
	enum pci_bar_type type;
	bool prefetch;
	uint64_t size;		/* power of two; 0: unused */
	bus_io_fn fn;		/* trapped accesses; NULL: the device maps it (bar_update) */
	void *opaque;
	/* Where the bar is decoded now; valid when decoded. */
	bool decoded;
	uint64_t addr;
	struct pci_device *dev;	/* back pointer for the placeholder handler */
};

struct pci_device_ops {
	/*
	 * cfg_write - the guest wrote [off, off+len) of config space; the
	 * masks have been applied and dev->cfg holds the new bytes. For
	 * registers the device gives meaning to (capabilities). Called under
	 * the host lock: it must not wait for anything a vCPU holds.
	 */
	void (*cfg_write)(struct pci_device *dev, unsigned int off, unsigned int len);
	/*
	 * cfg_write_raw - the guest is writing @data to [off, off+len), before
	 * the masks: for a device that forwards some registers to hardware
	 * with their own semantics (VFIO), which must see what the guest wrote.
	 * Called under the host lock. Optional.
	 */
	void (*cfg_write_raw)(struct pci_device *dev, unsigned int off, const uint8_t *data,
			      unsigned int len);
	/*
	 * cfg_read - the guest is about to read [off, off+len): refresh
	 * dev->cfg there if the device computes those bytes. Optional.
	 */
	void (*cfg_read)(struct pci_device *dev, unsigned int off, unsigned int len);
	/*
	 * bar_update - BAR @bar started (@decoded) or stopped being decoded at
	 * @addr. Called after the core changed the bus registration; a device
	 * that maps BARs itself (VFIO) does it here. Optional.
	 */
	void (*bar_update)(struct pci_device *dev, unsigned int bar, bool decoded, uint64_t addr);
};

struct pci_host;

struct device;
struct pci_device {
	struct pci_host *host;
	struct device *owner;		/* dev.h: BAR ranges hold references on it; NULL: built in */
	const char *name;
	uint8_t devfn;			/* slot << 3 | function */
	const struct pci_device_ops *ops;
	void *opaque;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];
	uint8_t w1cmask[PCI_CFG_SIZE];
	struct pci_bar bar[PCI_NR_BARS + 1];
	uint8_t next_cap;		/* where pci_add_cap puts the next capability */
	uint16_t next_ext_cap;
	unsigned int intx_gsi;		/* IOAPIC pin of INTA after the swizzle */
	bool intx_level;		/* the device's line, before INTx-disable (atomic) */
	bool intx_disabled;		/* COMMAND.INTx-disable, as intx_lock sees it: whoever
					 * writes cfg[PCI_COMMAND] outside pci_cfg_write updates it */
	bool intx_asserted;		/* what we told the host's GSI counter */
	bool intx_external;		/* INTx wired outside pci_set_irq (VFIO): STATUS.interrupt is in cfg */
	/*
	 * Where the function's DMA goes (iommu/dma.h): identity over guest
	 * RAM from pci_device_add on; an emulated IOMMU makes it a mapped
	 * space. Device models DMA only through it.
	 */
	struct dma_as dma;
};

struct vm;

struct pci_host {
	struct vm *vm;
	pthread_mutex_t lock;
	uint32_t cf8;			/* the address latch */
	struct pci_device *slot[PCI_NR_SLOTS];
	struct pci_device bridge;	/* 00:00.0 */
	/* Windows kvmio assigns BARs from (before boot and on hot-add), first fit. */
	uint64_t mmio32_base, mmio32_end;
	uint64_t mmio64_base, mmio64_end;
	uint64_t io_base, io_end;
	/* INTx: devices asserting each shared GSI. */
	pthread_mutex_t intx_lock;
	unsigned int intx_count[PCI_INTX_NR_GSI_MAX];
	/*
	 * An emulated IOMMU: each function added gets a mapped DMA space with
	 * these ops and opaque, and its requester id. NULL: identity spaces.
	 */
	const struct dma_as_ops *iommu_ops;
	void *iommu;
};

/*
 * pci_host_init - the host bridge at 00:00.0 and the config-space ports and
 * ECAM window on @vm's bus; the 64-bit window is [@mmio64_base,
 * @mmio64_base + @mmio64_size). Returns 0 or negative errno.
 * pci_host_exit - unregister; devices are their owners' to free first.
 */
int pci_host_init(struct pci_host *h, struct vm *vm, uint64_t mmio64_base, uint64_t mmio64_size);
void pci_host_exit(struct pci_host *h);

/*
 * pci_device_init - an empty type-0 header for @vendor:@device, class
 * @class (24 bits), revision @rev; masks for COMMAND, STATUS, cache line,
 * latency and interrupt line. Then the caller adds BARs and capabilities
 * and calls pci_device_add.
 */
void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class, uint8_t rev, uint16_t subsys_vendor, uint16_t subsys);

/*
 * pci_bar_init - describe BAR @bar: @type, @size (a power of two, at least 16
 * for memory and 4 for I/O, 2048 for the ROM), trapped by @fn/@opaque
 * (NULL: the device maps it itself through bar_update). For PCI_BAR_MEM64
 * slot @bar + 1 becomes the upper half. Returns 0 or -EINVAL.
 */
int pci_bar_init(struct pci_device *dev, unsigned int bar, enum pci_bar_type type, bool prefetch,
		 uint64_t size, bus_io_fn fn, void *opaque);

/*
 * pci_add_cap - append a capability of @len bytes with ID @id to the list;
 * returns its offset (the caller fills the body and sets wmask for the
 * bytes the guest may write), or 0 when config space is full.
 */
unsigned int pci_add_cap(struct pci_device *dev, uint8_t id, unsigned int len);

/*
 * pci_device_add - give @dev a free slot (or @slot if not 0), assign its BARs
 * from the host's windows as firmware would, enable decoding, route INTx
 * pin @pin (1 = INTA .. 4 = INTD, 0 = none) and register it. Returns the slot
 * or a negative errno. pci_device_remove undoes it.
 */
int pci_device_add(struct pci_host *h, struct pci_device *dev, unsigned int slot, uint8_t pin);
void pci_device_remove(struct pci_device *dev);

/*
 * pci_set_irq - drive the device's INTx line. The line reaches the IOAPIC
 * while COMMAND.INTx-disable is clear; STATUS.interrupt follows the line.
 * GSIs shared by several devices stay asserted while any asserts them.
 */
void pci_set_irq(struct pci_device *dev, bool level);

/*
 * Config space access, exported for the fast path in vcpu.c and for tests:
 * @bdf = bus << 8 | devfn; @off + @len within 4 KiB; never fails (absent
 * devices read all-ones).
 */
void pci_cfg_read(struct pci_host *h, uint16_t bdf, unsigned int off, uint8_t *data,
		  unsigned int len);
void pci_cfg_write(struct pci_host *h, uint16_t bdf, unsigned int off, const uint8_t *data,
		   unsigned int len);

/* The mechanism #1 ports and the ECAM window, as bus handlers. */
void pci_cf8_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len, bool is_write);
void pci_ecam_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len, bool is_write);

/*
 * pci_cap_find - walk the capability list of the 256-byte header @cfg for
 * @id, at most PCI_CAP_MAX_HOPS steps, ignoring pointers below 0x40 or
 * that leave the header. Returns the offset or 0. Pure.
 */
unsigned int pci_cap_find(const uint8_t *cfg, uint8_t id);

/* Little-endian config-space helpers over dev->cfg. */
static inline uint16_t pci_cfg16(const struct pci_device *dev, unsigned int off)
{
	return (uint16_t)(dev->cfg[off] | dev->cfg[off + 1] << 8);
}

static inline uint32_t pci_cfg32(const struct pci_device *dev, unsigned int off)
{
	return (uint32_t)dev->cfg[off] | (uint32_t)dev->cfg[off + 1] << 8 |
	       (uint32_t)dev->cfg[off + 2] << 16 | (uint32_t)dev->cfg[off + 3] << 24;
}

void pci_set_cfg(struct pci_device *dev, unsigned int off, unsigned int len, uint32_t val,
		 uint32_t wmask);

#endif
