// SPDX-License-Identifier: Apache-2.0
/*
 * PCI bus 0: the host bridge, config space through mechanism #1 and ECAM,
 * BAR assignment and decoding, INTx. See pci.h for the model.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>

#include "pci/pci.h"
#include "util.h"
#include "vm.h"

#define PCI_VENDOR_REDHAT	0x1b36
#define PCI_DEVICE_REDHAT_HOST	0x0008	/* QEMU's PCIe host bridge: no quirks in Linux */

/* COMMAND bits a guest may change on our devices. */
#define PCI_COMMAND_WMASK	(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
				 PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)
/* STATUS error bits, cleared by writing 1. */
#define PCI_STATUS_W1C		(PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT | \
				 PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT | \
				 PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)

/* I/O BARs below this would sit among the legacy ports KVM handles itself. */
#define PCI_IO_MIN		0x1000

static struct ratelimit bar_rl;

void pci_set_cfg(struct pci_device *dev, unsigned int off, unsigned int len, uint32_t val,
		 uint32_t wmask)
{
	le_write(dev->cfg + off, len, val);
	le_write(dev->wmask + off, len, wmask);
}

void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class, uint8_t rev, uint16_t subsys_vendor, uint16_t subsys)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	pci_set_cfg(dev, PCI_VENDOR_ID, 2, vendor, 0);
	pci_set_cfg(dev, PCI_DEVICE_ID, 2, device, 0);
	pci_set_cfg(dev, PCI_COMMAND, 2, 0, PCI_COMMAND_WMASK);
	le_write(dev->w1cmask + PCI_STATUS, 2, PCI_STATUS_W1C);
	pci_set_cfg(dev, PCI_CLASS_REVISION, 4, class << 8 | rev, 0);
	pci_set_cfg(dev, PCI_CACHE_LINE_SIZE, 1, 0, 0xff);
	pci_set_cfg(dev, PCI_LATENCY_TIMER, 1, 0, 0xff);
	pci_set_cfg(dev, PCI_HEADER_TYPE, 1, PCI_HEADER_TYPE_NORMAL, 0);
	pci_set_cfg(dev, PCI_SUBSYSTEM_VENDOR_ID, 2, subsys_vendor, 0);
	pci_set_cfg(dev, PCI_SUBSYSTEM_ID, 2, subsys, 0);
	pci_set_cfg(dev, PCI_INTERRUPT_LINE, 1, 0xff, 0xff);
	dev->next_cap = 0x40;
	dev->next_ext_cap = 0x100;
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

int pci_bar_init(struct pci_device *dev, unsigned int bar, enum pci_bar_type type, bool prefetch,
		 uint64_t size, bus_io_fn fn, void *opaque)
{
	struct pci_bar *b;
	unsigned int off;
	uint64_t mask = ~(size - 1);

	if (!is_pow2(size))
		return -EINVAL;
	switch (type) {
	case PCI_BAR_IO:
		if (bar >= PCI_NR_BARS || size < 4 || size > 256)
			return -EINVAL;
		off = PCI_BASE_ADDRESS_0 + 4 * bar;
		pci_set_cfg(dev, off, 4, PCI_BASE_ADDRESS_SPACE_IO, (uint32_t)mask & ~3u);
		break;
	case PCI_BAR_MEM32:
		if (bar >= PCI_NR_BARS || size < 16 || size > 1 * GiB)
			return -EINVAL;
		off = PCI_BASE_ADDRESS_0 + 4 * bar;
		pci_set_cfg(dev, off, 4, prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0,
			    (uint32_t)mask & ~0xfu);
		break;
	case PCI_BAR_MEM64:
		if (bar + 1 >= PCI_NR_BARS || size < 16)
			return -EINVAL;
		off = PCI_BASE_ADDRESS_0 + 4 * bar;
		pci_set_cfg(dev, off, 4, PCI_BASE_ADDRESS_MEM_TYPE_64 |
			    (prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0), (uint32_t)mask & ~0xfu);
		pci_set_cfg(dev, off + 4, 4, 0, (uint32_t)(mask >> 32));
		break;
	case PCI_BAR_ROM:
		if (bar != PCI_ROM_SLOT || size < 2048 || size > 16 * MiB)
			return -EINVAL;
		pci_set_cfg(dev, PCI_ROM_ADDRESS, 4, 0,
			    ((uint32_t)mask & PCI_ROM_ADDRESS_MASK) | PCI_ROM_ADDRESS_ENABLE);
		break;
	default:
		return -EINVAL;
	}
	b = &dev->bar[bar];
	*b = (struct pci_bar){ .type = type, .prefetch = prefetch, .size = size, .fn = fn,
			       .opaque = opaque, .dev = dev };
	return 0;
}

unsigned int pci_add_cap(struct pci_device *dev, uint8_t id, unsigned int len)
{
	unsigned int off = dev->next_cap, last;

	len = ALIGN_UP(len, 4u);
	if (len < 4 || off + len > PCI_CFG_LEGACY_SIZE)
		return 0;
	dev->cfg[off] = id;
	dev->cfg[off + 1] = 0;
	/* Append: find the last entry (our own list, so no bound is needed beyond the header). */
	if (!dev->cfg[PCI_CAPABILITY_LIST]) {
		dev->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	} else {
		for (last = dev->cfg[PCI_CAPABILITY_LIST]; dev->cfg[last + 1];)
			last = dev->cfg[last + 1];
		dev->cfg[last + 1] = (uint8_t)off;
	}
	dev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	dev->next_cap = (uint8_t)(off + len);
	return off;
}

/* BAR placement and decoding. */

static uint64_t bar_cfg_addr(const struct pci_device *dev, unsigned int i)
{
	const struct pci_bar *b = &dev->bar[i];
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * i;

	switch (b->type) {
	case PCI_BAR_IO:
		return pci_cfg32(dev, off) & PCI_BASE_ADDRESS_IO_MASK;
	case PCI_BAR_MEM32:
		return pci_cfg32(dev, off) & PCI_BASE_ADDRESS_MEM_MASK;
	case PCI_BAR_MEM64:
		return (pci_cfg32(dev, off) & PCI_BASE_ADDRESS_MEM_MASK) |
		       (uint64_t)pci_cfg32(dev, off + 4) << 32;
	case PCI_BAR_ROM:
		return pci_cfg32(dev, PCI_ROM_ADDRESS) & PCI_ROM_ADDRESS_MASK;
	default:
		return 0;
	}
}

/*
 * Where a BAR must not be decoded even if the guest puts it there: over RAM
 * (the memslot would win, and the guest would lose its own memory from our
 * view), over the in-kernel IOAPIC and LAPIC (KVM would never exit to us),
 * or wrapping. Overlaps with other BARs and our own ranges are caught by
 * bus_register.
 */
static bool bar_placement_ok(const struct pci_host *h, const struct pci_bar *b, uint64_t addr)
{
	if (!addr || addr + b->size < addr)
		return false;
	if (b->type == PCI_BAR_IO)
		return addr >= PCI_IO_MIN && addr + b->size <= 0x10000;
	for (unsigned int i = 0; h->vm && i < h->vm->mem.nr; i++)
		if (ranges_overlap(addr, b->size, h->vm->mem.region[i].gpa, h->vm->mem.region[i].size))
			return false;
	return !ranges_overlap(addr, b->size, IOAPIC_ADDR, 0x1000) &&
	       !ranges_overlap(addr, b->size, LAPIC_ADDR, 0x100000);
}

/* Accesses to a BAR the device maps itself, where its mapping has a hole. */
static void bar_unbacked_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len,
			    bool is_write)
{
	if (!is_write)
		memset(data, 0xff, len);
}

static void bar_set_decode(struct pci_device *dev, unsigned int i, bool want, uint64_t addr)
{
	struct pci_bar *b = &dev->bar[i];
	struct bus *bus = &dev->host->vm->bus;
	enum bus_space space = b->type == PCI_BAR_IO ? BUS_PIO : BUS_MMIO;
	int ret;

	if (b->decoded == want && (!want || b->addr == addr))
		return;
	if (b->decoded) {
		bus_unregister(bus, space, b->addr);
		b->decoded = false;
		if (dev->ops && dev->ops->bar_update)
			dev->ops->bar_update(dev, i, false, b->addr);
	}
	if (!want)
		return;
	if (!bar_placement_ok(dev->host, b, addr)) {
		if (ratelimit_ok(&bar_rl, 5))
			pr_warn("%s: BAR %u at 0x%llx (size 0x%llx) is over RAM or reserved space; "
				"not decoded", dev->name, i, (unsigned long long)addr,
				(unsigned long long)b->size);
		return;
	}
	ret = bus_register_owned(bus, space, addr, b->size, b->fn ? b->fn : bar_unbacked_io,
				 b->fn ? b->opaque : b, dev->name, dev->owner);
	if (ret) {
		if (ratelimit_ok(&bar_rl, 5))
			pr_warn("%s: BAR %u at 0x%llx (size 0x%llx) overlaps another range; "
				"not decoded", dev->name, i, (unsigned long long)addr,
				(unsigned long long)b->size);
		return;
	}
	b->decoded = true;
	b->addr = addr;
	if (dev->ops && dev->ops->bar_update)
		dev->ops->bar_update(dev, i, true, addr);
}

/* Bring every BAR's decoding in line with COMMAND and the BAR registers. */
static void pci_update_bars(struct pci_device *dev)
{
	uint16_t cmd = pci_cfg16(dev, PCI_COMMAND);

	/* Undecode first so that a swap of two BARs does not collide. */
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned int i = 0; i <= PCI_ROM_SLOT; i++) {
			struct pci_bar *b = &dev->bar[i];
			bool want;
			uint64_t addr;

			if (!b->size)
				continue;
			if (b->type == PCI_BAR_IO)
				want = cmd & PCI_COMMAND_IO;
			else if (b->type == PCI_BAR_ROM)
				want = (cmd & PCI_COMMAND_MEMORY) &&
				       (pci_cfg32(dev, PCI_ROM_ADDRESS) & PCI_ROM_ADDRESS_ENABLE);
			else
				want = cmd & PCI_COMMAND_MEMORY;
			addr = bar_cfg_addr(dev, i);
			if (pass == 0 && b->decoded && (!want || addr != b->addr))
				bar_set_decode(dev, i, false, 0);
			else if (pass == 1)
				bar_set_decode(dev, i, want, addr);
		}
	}
}

/* INTx */

static void intx_sync(struct pci_device *dev)
{
	struct pci_host *h = dev->host;
	bool on = dev->intx_level && !dev->intx_disabled;
	unsigned int idx = dev->intx_gsi - PCI_INTX_GSI_BASE;

	if (!dev->cfg[PCI_INTERRUPT_PIN] || on == dev->intx_asserted || idx >= PCI_INTX_NR_GSI_MAX)
		return;
	dev->intx_asserted = on;
	if (on ? h->intx_count[idx]++ == 0 : --h->intx_count[idx] == 0)
		vm_irq_line(h->vm, dev->intx_gsi, on);
}

void pci_set_irq(struct pci_device *dev, bool level)
{
	/*
	 * A device's worker may still raise its line while the device is
	 * being removed: once off the bus (host NULL, set under intx_lock by
	 * pci_device_remove) the line is not its to drive.
	 */
	struct pci_host *h = __atomic_load_n(&dev->host, __ATOMIC_ACQUIRE);

	if (!h)
		return;
	pthread_mutex_lock(&h->intx_lock);
	if (__atomic_load_n(&dev->host, __ATOMIC_RELAXED) == h) {
		/* Atomic: pci_cfg_read shows it in STATUS without this lock. */
		__atomic_store_n(&dev->intx_level, level, __ATOMIC_RELAXED);
		intx_sync(dev);
	}
	pthread_mutex_unlock(&h->intx_lock);
}

/* Config space */

static struct pci_device *pci_lookup(struct pci_host *h, uint16_t bdf)
{
	/* Bus 0 only, function 0 only: every device here is single-function. */
	if (bdf >> 8 || (bdf & 7))
		return NULL;
	return h->slot[(bdf >> 3) & 31];
}

void pci_cfg_read(struct pci_host *h, uint16_t bdf, unsigned int off, uint8_t *data,
		  unsigned int len)
{
	struct pci_device *dev;

	pthread_mutex_lock(&h->lock);
	dev = pci_lookup(h, bdf);
	if (!dev || off >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - off) {
		memset(data, 0xff, len);
		goto out;
	}
	if (dev->ops && dev->ops->cfg_read)
		dev->ops->cfg_read(dev, off, len);
	memcpy(data, dev->cfg + off, len);
	/* STATUS.interrupt is the line itself, which moves outside this lock. */
	if (off <= PCI_STATUS && off + len > PCI_STATUS && !dev->intx_external) {
		uint8_t *st = data + (PCI_STATUS - off);

		*st = (uint8_t)((*st & ~PCI_STATUS_INTERRUPT) |
				(__atomic_load_n(&dev->intx_level, __ATOMIC_RELAXED) ?
				 PCI_STATUS_INTERRUPT : 0));
	}
out:
	pthread_mutex_unlock(&h->lock);
}

void pci_cfg_write(struct pci_host *h, uint16_t bdf, unsigned int off, const uint8_t *data,
		   unsigned int len)
{
	struct pci_device *dev;
	bool changed = false;

	pthread_mutex_lock(&h->lock);
	dev = pci_lookup(h, bdf);
	if (!dev || off >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - off)
		goto out;
	if (dev->ops && dev->ops->cfg_write_raw)
		dev->ops->cfg_write_raw(dev, off, data, len);
	for (unsigned int i = 0; i < len; i++) {
		unsigned int o = off + i;
		uint8_t v = (uint8_t)((dev->cfg[o] & ~dev->wmask[o]) | (data[i] & dev->wmask[o]));

		v &= (uint8_t)~(data[i] & dev->w1cmask[o]);
		changed |= v != dev->cfg[o];
		dev->cfg[o] = v;
	}
	if (changed && ranges_overlap(off, len, PCI_COMMAND, 2)) {
		/* intx_sync runs under intx_lock alone: it gets the bit from here, not from cfg. */
		pthread_mutex_lock(&h->intx_lock);
		dev->intx_disabled = pci_cfg16(dev, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
		intx_sync(dev);
		pthread_mutex_unlock(&h->intx_lock);
	}
	if (ranges_overlap(off, len, PCI_COMMAND, 2) ||
	    ranges_overlap(off, len, PCI_BASE_ADDRESS_0, 24) ||
	    ranges_overlap(off, len, PCI_ROM_ADDRESS, 4)) {
		/*
		 * This device first, then every other: a BAR refused because it
		 * overlapped one that has just moved away decodes again, as on
		 * a real bus.
		 */
		pci_update_bars(dev);
		for (unsigned int i = 0; i < PCI_NR_SLOTS; i++)
			if (h->slot[i] && h->slot[i] != dev)
				pci_update_bars(h->slot[i]);
	}
	if (dev->ops && dev->ops->cfg_write)
		dev->ops->cfg_write(dev, off, len);
out:
	pthread_mutex_unlock(&h->lock);
}

/*
 * Mechanism #1: a 32-bit write to 0xCF8 latches bus/device/function/register
 * with bit 31 set; 0xCFC-0xCFF then reach that dword's bytes. Other sizes at
 * 0xCF8 are not configuration cycles (they are ordinary ports on real
 * chipsets) and are ignored.
 */
void pci_cf8_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len, bool is_write)
{
	struct pci_host *h = opaque;
	uint32_t cf8;
	unsigned int reg;

	if (off < 4) {
		if (off != 0 || len != 4) {
			if (!is_write)
				memset(data, 0xff, len);
		} else if (is_write) {
			/* Bits 30:24 and 1:0 are reserved and read as 0 (PCI 3.0 3.2.2.3.2). */
			__atomic_store_n(&h->cf8, (uint32_t)le_read(data, 4) & 0x80fffffcu,
					 __ATOMIC_RELAXED);
		} else {
			le_write(data, 4, __atomic_load_n(&h->cf8, __ATOMIC_RELAXED));
		}
		return;
	}
	cf8 = __atomic_load_n(&h->cf8, __ATOMIC_RELAXED);
	reg = (cf8 & 0xfc) + (unsigned int)(off - 4);
	if (!(cf8 & 0x80000000u) || off + len > 8) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	if (is_write)
		pci_cfg_write(h, (uint16_t)(cf8 >> 8), reg, data, len);
	else
		pci_cfg_read(h, (uint16_t)(cf8 >> 8), reg, data, len);
}

/*
 * ECAM: bus << 20 | devfn << 12 | register. An access that crosses a dword
 * is not a valid configuration request (PCIe 7.2.2); reads get all-ones.
 */
void pci_ecam_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len, bool is_write)
{
	struct pci_host *h = opaque;
	unsigned int reg = off & 0xfff;

	if ((reg & 3) + len > 4) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	if (is_write)
		pci_cfg_write(h, (uint16_t)(off >> 12), reg, data, len);
	else
		pci_cfg_read(h, (uint16_t)(off >> 12), reg, data, len);
}

/* Devices */

/*
 * The end of a BAR in the same space that [addr, addr + size) overlaps: of a
 * function present, or one of @dev's own BARs placed already (below @upto).
 * 0: none. Addresses come from config space, so a BAR the guest moved is
 * where it is now, and a removed function's space is free again.
 */
static uint64_t bar_conflict(const struct pci_host *h, const struct pci_device *dev,
			     unsigned int upto, bool io, uint64_t addr, uint64_t size)
{
	for (unsigned int s = 0; s <= PCI_NR_SLOTS; s++) {
		const struct pci_device *o = s < PCI_NR_SLOTS ? h->slot[s] : dev;

		if (!o || (o == dev && s < PCI_NR_SLOTS))
			continue;
		for (unsigned int i = 0; i <= PCI_ROM_SLOT && (o != dev || i < upto); i++) {
			const struct pci_bar *b = &o->bar[i];
			uint64_t a = bar_cfg_addr(o, i);

			if (!b->size || !a || (b->type == PCI_BAR_IO) != io)
				continue;
			if (ranges_overlap(addr, size, a, b->size))
				return a + b->size;
		}
	}
	return 0;
}

/* The lowest @size-aligned free place for BAR @i of @dev in [lo, end), or 0. */
static uint64_t alloc_bar(const struct pci_host *h, const struct pci_device *dev, unsigned int i,
			  uint64_t lo, uint64_t end)
{
	uint64_t size = dev->bar[i].size, addr = ALIGN_UP(lo, size);
	bool io = dev->bar[i].type == PCI_BAR_IO;

	while (addr >= lo && addr + size > addr && addr + size <= end) {
		uint64_t c = bar_conflict(h, dev, i, io, addr, size);

		if (!c)
			return addr;
		addr = ALIGN_UP(c, size);
	}
	return 0;
}

/* Firmware's job, done before boot and on hot-add: give every BAR an address, turn decoding on. */
static int assign_bars(struct pci_host *h, struct pci_device *dev)
{
	uint16_t cmd = 0;

	for (unsigned int i = 0; i <= PCI_ROM_SLOT; i++) {
		struct pci_bar *b = &dev->bar[i];
		uint64_t addr;
		unsigned int off = PCI_BASE_ADDRESS_0 + 4 * i;

		if (!b->size)
			continue;
		switch (b->type) {
		case PCI_BAR_IO:
			addr = alloc_bar(h, dev, i, h->io_base, h->io_end);
			cmd |= PCI_COMMAND_IO;
			break;
		case PCI_BAR_MEM64:
			/* 64-bit BARs above RAM, where large ones fit. */
			addr = alloc_bar(h, dev, i, h->mmio64_base, h->mmio64_end);
			cmd |= PCI_COMMAND_MEMORY;
			break;
		case PCI_BAR_ROM:
			off = PCI_ROM_ADDRESS;
			/* fallthrough */
		default:
			addr = alloc_bar(h, dev, i, h->mmio32_base, h->mmio32_end);
			cmd |= PCI_COMMAND_MEMORY;
			break;
		}
		if (!addr) {
			pr_err("%s: no room for BAR %u (%llu KiB) in the PCI windows", dev->name, i,
			       (unsigned long long)(b->size / KiB));
			return -ENOSPC;
		}
		dev->cfg[off] = (uint8_t)((dev->cfg[off] & 0xf) | (addr & 0xf0));
		le_write(dev->cfg + off + 1, 3, (addr >> 8) & ~0u);
		if (b->type == PCI_BAR_MEM64)
			le_write(dev->cfg + off + 4, 4, addr >> 32);
	}
	le_write(dev->cfg + PCI_COMMAND, 2, pci_cfg16(dev, PCI_COMMAND) | cmd);
	return 0;
}

int pci_device_add(struct pci_host *h, struct pci_device *dev, unsigned int slot, uint8_t pin)
{
	int ret;

	pthread_mutex_lock(&h->lock);
	if (!slot)
		for (slot = 1; slot < PCI_NR_SLOTS && h->slot[slot]; slot++)
			;
	if (slot >= PCI_NR_SLOTS || h->slot[slot]) {
		pthread_mutex_unlock(&h->lock);
		pr_err("%s: no free PCI slot", dev->name);
		return -ENOSPC;
	}
	dev->host = h;
	dev->devfn = (uint8_t)(slot << 3);
	if (h->vm)
		dma_as_init(&dev->dma, &h->vm->mem, dev->name);
	if (h->iommu_ops) {
		dev->dma.ops = h->iommu_ops;
		dev->dma.opaque = h->iommu;
		dev->dma.rid = dev->devfn;	/* bus 0 */
	}
	if (pin) {
		dev->cfg[PCI_INTERRUPT_PIN] = pin;
		dev->intx_gsi = PCI_INTX_GSI_BASE + (slot + pin - 1) % PCI_INTX_NR_GSI;
		/* What firmware leaves there; Linux uses _PRT, others read it. */
		dev->cfg[PCI_INTERRUPT_LINE] = (uint8_t)dev->intx_gsi;
	}
	ret = assign_bars(h, dev);
	if (ret) {
		pthread_mutex_unlock(&h->lock);
		return ret;
	}
	h->slot[slot] = dev;
	pci_update_bars(dev);
	pthread_mutex_unlock(&h->lock);
	return (int)slot;
}

void pci_device_remove(struct pci_device *dev)
{
	struct pci_host *h = dev->host;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	for (unsigned int i = 0; i <= PCI_ROM_SLOT; i++)
		if (dev->bar[i].decoded)
			bar_set_decode(dev, i, false, 0);
	h->slot[dev->devfn >> 3] = NULL;
	pthread_mutex_unlock(&h->lock);
	/* The line down and the device off the host in one step: a raise after it finds no host. */
	pthread_mutex_lock(&h->intx_lock);
	__atomic_store_n(&dev->intx_level, false, __ATOMIC_RELAXED);
	intx_sync(dev);
	__atomic_store_n(&dev->host, NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&h->intx_lock);
}

int pci_host_init(struct pci_host *h, struct vm *vm, uint64_t mmio64_base, uint64_t mmio64_size)
{
	int ret;

	memset(h, 0, sizeof(*h));
	h->vm = vm;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->intx_lock, NULL);
	h->mmio32_base = PCI_MMIO32_BASE;
	h->mmio32_end = PCI_MMIO32_BASE + PCI_MMIO32_SIZE;
	h->mmio64_base = mmio64_base;
	h->mmio64_end = mmio64_base + mmio64_size;
	h->io_base = PCI_IOPORT_BASE;
	h->io_end = PCI_IOPORT_BASE + PCI_IOPORT_SIZE;

	pci_device_init(&h->bridge, "pci-host", PCI_VENDOR_REDHAT, PCI_DEVICE_REDHAT_HOST,
			0x060000, 0, PCI_VENDOR_REDHAT, 0x1100);
	h->bridge.host = h;
	h->slot[0] = &h->bridge;

	ret = bus_register(&vm->bus, BUS_PIO, 0xCF8, 8, pci_cf8_io, h, "pci-cf8");
	if (ret)
		return ret;
	ret = bus_register(&vm->bus, BUS_MMIO, PCI_ECAM_BASE, PCI_ECAM_SIZE, pci_ecam_io, h,
			   "pci-ecam");
	if (ret)
		bus_unregister(&vm->bus, BUS_PIO, 0xCF8);
	return ret;
}

void pci_host_exit(struct pci_host *h)
{
	if (!h->vm)
		return;
	bus_unregister(&h->vm->bus, BUS_MMIO, PCI_ECAM_BASE);
	bus_unregister(&h->vm->bus, BUS_PIO, 0xCF8);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->intx_lock);
	h->vm = NULL;
}
