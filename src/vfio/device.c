// SPDX-License-Identifier: Apache-2.0
/*
 * An assigned device: its VFIO fd, regions and interrupts, its BARs on the
 * guest's PCI bus. BARs the kernel lets us mmap become KVM memory slots at
 * the guest's BAR address (so the guest's MMIO to them never exits), except
 * the pages of the MSI-X table and PBA, which stay trapped: the guest's
 * vectors are kvmio's to route. Everything trapped is forwarded to the
 * device with pread/pwrite on its region. See vfio.h.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"
#include "vfio/vfio.h"
#include "vm.h"

static struct ratelimit bar_rl;

_Static_assert(sizeof(((struct vfio_opts *)0)->bdf) == VFIO_BDF_LEN, "vm.h's BDF size");

/* The guest's view of BAR @ref->bar; the MSI-X table and PBA are emulated. */
struct vfio_bar_ref {
	struct vfio_device *vd;
	unsigned int bar;	/* 0-5, or PCI_ROM_SLOT */
};

static struct vfio_region *bar_region(struct vfio_device *vd, unsigned int bar)
{
	return &vd->region[bar == PCI_ROM_SLOT ? VFIO_PCI_ROM_REGION_INDEX : bar];
}

static bool in_range(uint64_t off, unsigned int len, uint64_t start, uint64_t size)
{
	return off >= start && off - start < size && len <= size - (off - start);
}

static bool overlaps(uint64_t off, unsigned int len, uint64_t start, uint64_t size)
{
	return off < start + size && start < off + len;
}

static void vfio_bar_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len, bool is_write)
{
	struct vfio_bar_ref *ref = opaque;
	struct vfio_device *vd = ref->vd;
	struct vfio_region *r = bar_region(vd, ref->bar);
	ssize_t n;

	if (vd->has_msix) {
		bool table = ref->bar == vd->msix_table_bar, pba = ref->bar == vd->msix_pba_bar;

		if (table && in_range(off, len, vd->msix_table_off, vd->msix_table_size)) {
			msix_table_io(&vd->msix, off - vd->msix_table_off, data, len, is_write);
			return;
		}
		if (pba && in_range(off, len, vd->msix_pba_off, vd->msix_pba_size)) {
			if (!is_write)
				vfio_msix_pba_io(vd, off - vd->msix_pba_off, data, len);
			return;
		}
		/* Partly over the table or PBA: none of it is the device's to see. */
		if ((table && overlaps(off, len, vd->msix_table_off, vd->msix_table_size)) ||
		    (pba && overlaps(off, len, vd->msix_pba_off, vd->msix_pba_size)))
			goto unbacked;
	}
	if (ref->bar == PCI_ROM_SLOT && vd->rom) {
		if (is_write || !in_range(off, len, 0, vd->rom_size))
			goto unbacked;
		memcpy(data, vd->rom + off, len);
		return;
	}
	if ((ref->bar == PCI_ROM_SLOT && is_write) || !in_range(off, len, 0, r->size))
		goto unbacked;
	n = is_write ? pwrite(vd->fd, data, len, (off_t)(r->offset + off)) :
		       pread(vd->fd, data, len, (off_t)(r->offset + off));
	if (n == (ssize_t)len)
		return;
	if (ratelimit_ok(&bar_rl, 5))
		pr_warn("%s: BAR %u %s at 0x%llx (%u bytes): %s", vd->name, ref->bar,
			is_write ? "write" : "read", (unsigned long long)off, len,
			n < 0 ? strerror(errno) : "short");
unbacked:
	if (!is_write)
		memset(data, 0xff, len);
}

/*
 * Peer-to-peer DMA: another assigned device (or this one) may be told to
 * DMA to this BAR at the address the guest gave it, so the piece is mapped
 * in the host IOMMU there too, as QEMU does. Without it such a DMA faults
 * in the host IOMMU. Not a reason to fail: most guests never do it.
 */
static void p2p_map(struct vfio_device *vd, struct vfio_area *a, uint64_t gpa)
{
	int ret;

	if (!vd->p2p_map)
		return;
	ret = vd->p2p_map(vd, gpa, a->size, a->hva, true);
	if (!ret) {
		a->p2p = true;
		a->p2p_iova = gpa;
	} else if (ret != -EOPNOTSUPP && ratelimit_ok(&bar_rl, 5)) {
		pr_warn("%s: BAR piece at 0x%llx+0x%llx not mapped for peer-to-peer DMA: %s",
			vd->name, (unsigned long long)gpa, (unsigned long long)a->size,
			strerror(-ret));
	}
}

/* Take BAR piece @a off the guest's memory map and out of the host IOMMU. */
static void area_unmap(struct vfio_device *vd, struct vfio_area *a)
{
	if (a->slot >= 0)
		vm_unmap_mmio(vd->vm, a->slot);
	a->slot = -1;
	if (a->p2p)
		vd->p2p_map(vd, a->p2p_iova, a->size, a->hva, false);
	a->p2p = false;
}

/*
 * bar_update: the core moved or (un)decoded BAR @bar. Memory slots follow.
 * Before a slot appears the device must decode memory itself, or the
 * kernel's vfio-pci faults the guest's access; the core has put COMMAND's
 * new value in cfg, and the config hook would write it only after us.
 */
void vfio_bar_update(struct pci_device *dev, unsigned int bar, bool decoded, uint64_t addr)
{
	struct vfio_device *vd = dev->opaque;
	struct vfio_region *r;

	if (bar == PCI_ROM_SLOT) {
		vfio_rom_update(vd, decoded, addr);
		return;
	}
	r = &vd->region[bar];
	if (decoded && r->nareas)
		vfio_cfg_sync_command(vd);
	for (unsigned int i = 0; i < r->nareas; i++) {
		struct vfio_area *a = &r->area[i];

		area_unmap(vd, a);
		if (!decoded)
			continue;
		p2p_map(vd, a, addr + a->off);
		a->slot = vm_map_mmio(vd->vm, addr + a->off, a->size, a->hva, false);
		if (a->slot < 0) {
			/* Still correct, only slower: the bus handler forwards it. */
			if (ratelimit_ok(&bar_rl, 5))
				pr_warn("%s: BAR %u: mapping 0x%llx+0x%llx: %s; trapping it", vd->name,
					bar, (unsigned long long)(addr + a->off),
					(unsigned long long)a->size, strerror(-a->slot));
			a->slot = -1;
		}
	}
}

/* Region @index's info and, for BARs, the areas the kernel lets us mmap. */
static int region_info(struct vfio_device *vd, unsigned int index)
{
	struct vfio_region *r = &vd->region[index];
	struct vfio_region_caps caps;
	int ret = vfio_region_info(vd, index, r, &caps);

	if (ret || !(r->flags & VFIO_REGION_INFO_FLAG_MMAP) || index > VFIO_PCI_BAR5_REGION_INDEX)
		return ret;
	/* Sparse mmap: only the listed areas; otherwise the whole region. */
	if (caps.sparse) {
		memcpy(r->area, caps.area, sizeof(caps.area));
		r->nareas = caps.nareas;
	} else {
		r->area[r->nareas++] = (struct vfio_area){ .off = 0, .size = r->size, .slot = -1 };
	}
	return 0;
}

/* Take [hole, hole + len), widened to pages, out of BAR @bar's mmap areas. */
static void areas_punch(struct vfio_region *r, uint64_t hole, uint64_t len)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t lo = ALIGN_DOWN(hole, pg), hi = ALIGN_UP(hole + len, pg);
	struct vfio_area out[VFIO_MAX_AREAS];
	unsigned int n = 0;

	for (unsigned int i = 0; i < r->nareas; i++) {
		struct vfio_area a = r->area[i];
		uint64_t end = a.off + a.size;

		if (hi <= a.off || lo >= end) {
			if (n < VFIO_MAX_AREAS)
				out[n++] = a;
			continue;
		}
		if (a.off < lo && n < VFIO_MAX_AREAS)
			out[n++] = (struct vfio_area){ .off = a.off, .size = lo - a.off, .slot = -1 };
		if (hi < end && n < VFIO_MAX_AREAS)
			out[n++] = (struct vfio_area){ .off = hi, .size = end - hi, .slot = -1 };
	}
	memcpy(r->area, out, n * sizeof(out[0]));
	r->nareas = n;
}

/* mmap each area; a piece that cannot be mapped (or is not page-sized) is trapped. */
static void areas_map(struct vfio_device *vd, struct vfio_region *r)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	unsigned int n = 0;

	for (unsigned int i = 0; i < r->nareas; i++) {
		struct vfio_area a = r->area[i];

		if (a.size < pg || a.off % pg || a.size % pg || a.off + a.size > r->size)
			continue;
		a.hva = mmap(NULL, a.size, PROT_READ | PROT_WRITE, MAP_SHARED, vd->fd,
			     (off_t)(r->offset + a.off));
		if (a.hva == MAP_FAILED) {
			pr_warn("%s: mmap of a BAR piece (0x%llx+0x%llx): %s; trapping it", vd->name,
				(unsigned long long)a.off, (unsigned long long)a.size, strerror(errno));
			continue;
		}
		a.slot = -1;
		r->area[n++] = a;
	}
	r->nareas = n;
}

/*
 * MSI-X table and PBA location, from the capability; each checked against
 * its BAR. They may sit in one BAR or in two, as the spec allows.
 */
static int msix_locate(struct vfio_device *vd)
{
	unsigned int cap = vd->lay.msix_cap;
	uint32_t table = pci_cfg32(&vd->pci, cap + PCI_MSIX_TABLE);
	uint32_t pba = pci_cfg32(&vd->pci, cap + PCI_MSIX_PBA);
	unsigned int nvec = (pci_cfg16(&vd->pci, cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE) + 1u;

	vd->msix_table_bar = table & PCI_MSIX_TABLE_BIR;
	vd->msix_table_off = table & PCI_MSIX_TABLE_OFFSET;
	vd->msix_table_size = (uint64_t)nvec * MSIX_ENTRY_SIZE;
	vd->msix_pba_bar = pba & PCI_MSIX_PBA_BIR;
	vd->msix_pba_off = pba & PCI_MSIX_PBA_OFFSET;
	vd->msix_pba_size = ALIGN_UP(nvec, 64u) / 8;
	if (vd->msix_table_bar >= PCI_NR_BARS || vd->msix_pba_bar >= PCI_NR_BARS ||
	    vd->msix_table_off + vd->msix_table_size > vd->region[vd->msix_table_bar].size ||
	    vd->msix_pba_off + vd->msix_pba_size > vd->region[vd->msix_pba_bar].size) {
		pr_err("%s: MSI-X table (BAR %u+0x%llx) or PBA (BAR %u+0x%llx) is outside its BAR: "
		       "the device's capability is broken", vd->name, vd->msix_table_bar,
		       (unsigned long long)vd->msix_table_off, vd->msix_pba_bar,
		       (unsigned long long)vd->msix_pba_off);
		return -ENOTSUP;
	}
	return 0;
}

/* BARs and ROM: sizes from VFIO's regions, types from the device's BAR registers. */
static int bars_init(struct vfio_device *vd, const uint8_t *hw, struct vfio_bar_ref *refs)
{
	struct pci_device *dev = &vd->pci;
	int ret;

	memset(dev->cfg + PCI_BASE_ADDRESS_0, 0, 24);
	memset(dev->cfg + PCI_ROM_ADDRESS, 0, 4);
	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		struct vfio_region *r = &vd->region[i];
		uint32_t reg = (uint32_t)le_read(hw + PCI_BASE_ADDRESS_0 + 4 * i, 4);
		enum pci_bar_type type;
		bool prefetch = false;

		if (!r->size)
			continue;
		if (reg & PCI_BASE_ADDRESS_SPACE_IO) {
			type = PCI_BAR_IO;
		} else {
			type = (reg & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64 ?
			       PCI_BAR_MEM64 : PCI_BAR_MEM32;
			prefetch = reg & PCI_BASE_ADDRESS_MEM_PREFETCH;
		}
		refs[i] = (struct vfio_bar_ref){ vd, i };
		ret = pci_bar_init(dev, i, type, prefetch, r->size, vfio_bar_io, &refs[i]);
		if (ret) {
			pr_err("%s: BAR %u (%s, 0x%llx bytes) cannot be given to the guest", vd->name, i,
			       type == PCI_BAR_IO ? "I/O" : "memory", (unsigned long long)r->size);
			return ret;
		}
		if (vd->has_msix && i == vd->msix_table_bar)
			areas_punch(r, vd->msix_table_off, vd->msix_table_size);
		if (vd->has_msix && i == vd->msix_pba_bar)
			areas_punch(r, vd->msix_pba_off, vd->msix_pba_size);
		if (type == PCI_BAR_IO)
			r->nareas = 0;
		areas_map(vd, r);
		if (type == PCI_BAR_MEM64)
			i++;
	}
	ret = vfio_rom_load(vd);
	if (ret || !vd->rom_size)
		return ret;
	refs[PCI_ROM_SLOT] = (struct vfio_bar_ref){ vd, PCI_ROM_SLOT };
	if (pci_bar_init(dev, PCI_ROM_SLOT, PCI_BAR_ROM, false, vd->rom_size, vfio_bar_io,
			 &refs[PCI_ROM_SLOT]))
		pr_warn("%s: expansion ROM of 0x%llx bytes not offered to the guest", vd->name,
			(unsigned long long)vd->rom_size);
	return 0;
}

void vfio_device_free(struct vfio_device *vd)
{
	for (unsigned int i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		struct vfio_region *r = &vd->region[i];

		for (unsigned int j = 0; j < r->nareas; j++) {
			area_unmap(vd, &r->area[j]);
			if (r->area[j].hva)
				munmap(r->area[j].hva, r->area[j].size);
		}
		r->nareas = 0;
	}
	vfio_regions_exit(vd);
	if (vd->has_msix)
		msix_exit(&vd->msix);
	if (vd->has_msi)
		msi_cap_exit(&vd->msi);
	if (vd->fd >= 0) {
		/* Hand the device back as we found it: no DMA, no interrupts in flight. */
		if ((vd->dev_flags & VFIO_DEVICE_FLAGS_RESET) && ioctl(vd->fd, VFIO_DEVICE_RESET) < 0)
			pr_warn("%s: reset on release: %s", vd->name, strerror(errno));
		close(vd->fd);
	}
	pthread_mutex_destroy(&vd->irq_lock);
	free(vd->bar_refs);
	vfio_rom_free(vd);
	free(vd);
}

static int device_setup(struct vfio_device *vd)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int ret;

	if (ioctl(vd->fd, VFIO_DEVICE_GET_INFO, &info) < 0) {
		ret = -errno;
		pr_err("%s: VFIO_DEVICE_GET_INFO: %s", vd->name, strerror(errno));
		return ret;
	}
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI) || info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		pr_err("%s: not a PCI device as VFIO sees it", vd->name);
		return -ENODEV;
	}
	vd->dev_flags = info.flags;
	vd->num_regions = info.num_regions;
	for (unsigned int i = 0; i <= VFIO_PCI_CONFIG_REGION_INDEX; i++) {
		ret = region_info(vd, i);
		if (ret) {
			pr_err("%s: region %u info: %s", vd->name, i, strerror(-ret));
			return ret;
		}
	}
	for (unsigned int i = 0; i < VFIO_PCI_NUM_IRQS && i < info.num_irqs; i++) {
		struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = i };

		if (ioctl(vd->fd, VFIO_DEVICE_GET_IRQ_INFO, &irq) == 0) {
			vd->irq_count[i] = irq.count;
			vd->irq_flags[i] = irq.flags;
		}
	}
	/* Start from a clean device: whatever the last user left is gone. */
	if ((info.flags & VFIO_DEVICE_FLAGS_RESET) && ioctl(vd->fd, VFIO_DEVICE_RESET) < 0)
		pr_warn("%s: reset: %s", vd->name, strerror(errno));
	return vfio_device_build(vd);
}

int vfio_device_build(struct vfio_device *vd)
{
	struct pci_device *dev = &vd->pci;
	unsigned int cfg_size;
	uint8_t hw[PCI_CFG_SIZE] = { 0 }, pin;
	int ret;

	cfg_size = vd->region[VFIO_PCI_CONFIG_REGION_INDEX].size >= PCI_CFG_SIZE ? PCI_CFG_SIZE :
		   PCI_CFG_LEGACY_SIZE;
	ret = vfio_cfg_pread(vd, hw, cfg_size, 0);
	if (ret) {
		pr_err("%s: reading config space: %s", vd->name, strerror(-ret));
		return ret;
	}
	pci_device_init(dev, vd->name, (uint16_t)le_read(hw + PCI_VENDOR_ID, 2),
			(uint16_t)le_read(hw + PCI_DEVICE_ID, 2),
			(uint32_t)le_read(hw + PCI_CLASS_REVISION, 4) >> 8, hw[PCI_REVISION_ID],
			(uint16_t)le_read(hw + PCI_SUBSYSTEM_VENDOR_ID, 2),
			(uint16_t)le_read(hw + PCI_SUBSYSTEM_ID, 2));
	ret = vfio_cfg_layout(hw, cfg_size, dev->cfg, &vd->lay);
	if (ret)
		return ret;
	dev->ops = &vfio_pci_ops;
	dev->opaque = vd;
	dev->intx_external = true;
	/* The guest turns decoding and bus mastering on; firmware's part is pci_device_add's. */
	le_write(dev->cfg + PCI_COMMAND, 2, 0);
	dev->cfg[PCI_INTERRUPT_PIN] = 0;

	if (vd->lay.msix_cap && vd->irq_count[VFIO_PCI_MSIX_IRQ_INDEX]) {
		ret = msix_locate(vd);
		if (ret)
			return ret;
		ret = msix_init_at(&vd->msix, vd->vm, dev, vd->lay.msix_cap);
		if (ret)
			return ret;
		vd->has_msix = true;
		vd->msix.update = vfio_msix_update;
		vd->msix.opaque = vd;
	}
	if (vd->lay.msi_cap && vd->irq_count[VFIO_PCI_MSI_IRQ_INDEX]) {
		ret = msi_cap_init_at(&vd->msi, vd->vm, dev, vd->lay.msi_cap);
		if (ret)
			return ret;
		vd->has_msi = true;
		vd->msi.update = vfio_msi_update;
		vd->msi.opaque = vd;
	}
	vd->bar_refs = calloc(PCI_NR_BARS + 1, sizeof(struct vfio_bar_ref));
	if (!vd->bar_refs)
		return -ENOMEM;
	ret = bars_init(vd, hw, vd->bar_refs);
	if (!ret)
		ret = vfio_regions_init(vd);
	if (ret)
		return ret;
	pin = hw[PCI_INTERRUPT_PIN];
	if (!vd->irq_count[VFIO_PCI_INTX_IRQ_INDEX] || pin > 4)
		pin = 0;
	ret = pci_device_add(vd->vm->pci, dev, 0, pin);
	if (ret < 0)
		return ret;
	ret = vfio_irq_init(vd);
	if (ret) {
		pci_device_remove(dev);
		return ret;
	}
	return 0;
}

/*
 * Off the machine: interrupts off, off the bus (memory slots follow the
 * BARs), no shadow of the guest's mappings. A vCPU still inside a trapped
 * BAR handler keeps vd, and its fd, until release.
 */
static void vfio_unplug(struct device *d)
{
	struct vfio_device *vd = container_of(d, struct vfio_device, dev);

	vfio_req_exit(vd);
	vfio_irq_exit(vd);
	vfio_regions_exit(vd);
	pci_device_remove(&vd->pci);
	vfio_container_unshadow(vd->container, vd);
}

static const struct device_ops vfio_dev_ops;

static bool of_group(const struct device *d, const void *group)
{
	return d->ops == &vfio_dev_ops &&
	       container_of(d, struct vfio_device, dev)->group == *(const int *)group;
}

static bool of_bdf(const struct device *d, const void *bdf)
{
	return d->ops == &vfio_dev_ops && !strcmp(container_of(d, struct vfio_device, dev)->bdf, bdf);
}

/* Is another assigned device of @group still listed? */
static bool group_in_use(struct vm *vm, int group)
{
	struct device *d = dev_find_if(&vm->devs, of_group, &group);

	dev_put(d);
	return d != NULL;
}

/* A hot-add of a device the VM has: say which id it has rather than VFIO's EBUSY. */
static int assigned_already(struct vm *vm, const char *bdf)
{
	struct device *d = dev_find_if(&vm->devs, of_bdf, bdf);

	if (!d)
		return 0;
	pr_err("%s is assigned to this VM already, as %s", bdf, d->id);
	dev_put(d);
	return -EEXIST;
}

static void vfio_release(struct device *d)
{
	struct vfio_device *vd = container_of(d, struct vfio_device, dev);
	struct vfio_container *c = vd->container;
	struct vm *vm = vd->vm;
	int group = vd->group;

	vfio_device_free(vd);	/* the device fd first: a group with an open device stays put */
	if (c && !group_in_use(vm, group))
		vfio_group_release(vm, c, group);
}

static const struct device_ops vfio_dev_ops = { .unplug = vfio_unplug, .release = vfio_release };

int vfio_device_register(struct vfio_device *vd, const char *id)
{
	vd->req_fd = vd->req_timer = -1;	/* vfio_req_init arms them */
	vd->rom_slot = -1;
	vd->dev.ops = &vfio_dev_ops;
	vd->dev.vm = vd->vm;
	vd->dev.kind = "vfio-pci";
	vd->dev.pci = &vd->pci;
	vd->pci.owner = &vd->dev;
	return dev_register(&vd->vm->devs, &vd->dev, id, "vfio");
}

int vfio_device_add(struct vm *vm, const struct vfio_opts *o)
{
	const char *bdf = o->bdf, *id = o->id;
	struct vfio_container *c;
	struct vfio_device *vd;
	char driver[64];
	int group, ret;

	group = vfio_sysfs_group("", bdf);
	if (group == -ENODEV) {
		vfio_explain_no_device(bdf);
		return group;
	}
	if (group < 0) {
		vfio_explain_no_group(bdf);
		return group;
	}
	ret = vfio_sysfs_driver("", bdf, driver, sizeof(driver));
	if (ret || strcmp(driver, "vfio-pci")) {
		vfio_explain_not_bound("", bdf, ret ? "" : driver);
		return -ENODEV;
	}
	ret = assigned_already(vm, bdf);
	if (ret)
		return ret;
	ret = vfio_container_get(vm, group, &c);
	if (ret)
		return ret;
	ret = vfio_group_attach(c, vm, bdf, group);
	if (ret)
		return ret;

	vd = calloc(1, sizeof(*vd));
	if (!vd) {
		ret = -ENOMEM;
		goto err_group;
	}
	vd->vm = vm;
	vd->container = c;
	vd->group = group;
	vd->intx_fd = vd->intx_resample_fd = -1;
	vd->req_fd = vd->req_timer = -1;
	vd->rom_slot = -1;
	vd->req_timeout_s = o->req_timeout_s;
	vd->rom_path = o->rom;
	vd->p2p_map = vfio_container_p2p;
	vd->vga = o->vga;
	pthread_mutex_init(&vd->irq_lock, NULL);
	snprintf(vd->bdf, sizeof(vd->bdf), "%s", bdf);
	snprintf(vd->name, sizeof(vd->name), "vfio-%s", bdf);
	vd->fd = vfio_group_device_fd(c, group, bdf, o->vf_token);
	if (vd->fd < 0) {
		ret = vd->fd;
		goto err;
	}
	ret = vfio_device_register(vd, id);
	if (ret) {
		pr_err("%s: id '%s' %s", vd->name, id,
		       ret == -EEXIST ? "is taken by another device" : "is not valid");
		goto err;
	}
	ret = device_setup(vd);
	vd->rom_path = NULL;	/* the caller's */
	if (!ret && vm->cfg->iommu)
		ret = vfio_container_shadow(c, vd);
	if (!ret)
		ret = vfio_req_init(vd);
	if (ret) {
		dev_remove(&vm->devs, &vd->dev);
		return ret;
	}
	pr_info("%s: assigned at 00:%02x.0", vd->name, vd->pci.devfn >> 3);
	return 0;
err:
	vfio_device_free(vd);
err_group:
	if (!group_in_use(vm, group))
		vfio_group_release(vm, c, group);
	return ret;
}

int vfio_devices_init(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg->nvfio; i++) {
		int ret = vfio_device_add(vm, &vm->cfg->vfio[i]);

		if (ret)
			return ret;
	}
	return 0;
}

void vfio_devices_exit(struct vm *vm)
{
	dev_remove_all_of(&vm->devs, &vfio_dev_ops);
	vfio_containers_close(vm);
}
