// SPDX-License-Identifier: Apache-2.0
/*
 * An assigned device's regions past its BARs: the region-info capability
 * chain (sparse mmap areas, region type), the legacy VGA region forwarded
 * with vga=on, and the device-specific regions vfio-pci adds for some
 * devices, of which Intel graphics' OpRegion is given to the guest as QEMU
 * gives it. See vfio.h.
 *
 * What kvmio does not take from a device-specific region (an IGD's host
 * and LPC bridge config copies, for the "legacy" IGD mode with stolen
 * memory that kvmio does not emulate; an mdev's EDID; NVLink2 RAM) gets one
 * line saying so, and the device is assigned without it.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "boot/layout.h"
#include "util.h"
#include "vfio/vfio.h"
#include "vm.h"

/* The legacy VGA ranges, at the same offsets in VFIO's VGA region. */
#define VGA_MEM_BASE	0xA0000ULL
#define VGA_MEM_SIZE	0x20000ULL
#define VGA_IO_MONO	0x3B0	/* 0x3B0-0x3BB */
#define VGA_IO_MONO_LEN	12
#define VGA_IO_COLOR	0x3C0	/* 0x3C0-0x3DF */
#define VGA_IO_COLOR_LEN 32

/* Intel IGD: where the guest's driver finds the OpRegion (ASL Storage). */
#define IGD_ASLS	0xFC
#define OPREGION_SIG	"IntelGraphicsMem"

#define CAP_HOPS_MAX	64

/* VFIO_REGION_TYPE_PCI_VENDOR_TYPE, which the uapi header writes as (1 << 31), an int overflow. */
#define REGION_TYPE_PCI_VENDOR	0x80000000u

static struct ratelimit vga_rl;

int vfio_region_caps_parse(const void *buf, size_t len, struct vfio_region_caps *out)
{
	const uint8_t *b = buf;
	struct vfio_region_info info;
	uint32_t off, hops = 0;

	memset(out, 0, sizeof(*out));
	if (len < sizeof(info))
		return -EINVAL;
	memcpy(&info, b, sizeof(info));
	if (!(info.flags & VFIO_REGION_INFO_FLAG_CAPS))
		return 0;
	/*
	 * Each capability lies past the fixed part, inside the buffer, and
	 * after the last. Fields are copied out, not read in place: the ABI
	 * promises 4-byte alignment of a capability, its areas want 8.
	 */
	for (off = info.cap_offset; off; hops++) {
		struct vfio_info_cap_header h;

		if (hops == CAP_HOPS_MAX || off < sizeof(info) || off % 4 || off > len - sizeof(h))
			return -EINVAL;
		memcpy(&h, b + off, sizeof(h));
		switch (h.id) {
		case VFIO_REGION_INFO_CAP_SPARSE_MMAP: {
			struct vfio_region_info_cap_sparse_mmap sp;
			struct vfio_region_sparse_mmap_area a;

			if (off > len - sizeof(sp))
				return -EINVAL;
			memcpy(&sp, b + off, sizeof(sp));
			if (sp.nr_areas > (len - off - sizeof(sp)) / sizeof(a))
				return -EINVAL;
			out->sparse = true;
			for (uint32_t i = 0; i < sp.nr_areas && out->nareas < VFIO_MAX_AREAS; i++) {
				memcpy(&a, b + off + sizeof(sp) + i * sizeof(a), sizeof(a));
				if (a.size)
					out->area[out->nareas++] = (struct vfio_area){
						.off = a.offset, .size = a.size, .slot = -1 };
			}
			break;
		}
		case VFIO_REGION_INFO_CAP_TYPE: {
			struct vfio_region_info_cap_type t;

			if (off > len - sizeof(t))
				return -EINVAL;
			memcpy(&t, b + off, sizeof(t));
			out->has_type = true;
			out->type = t.type;
			out->subtype = t.subtype;
			break;
		}
		case VFIO_REGION_INFO_CAP_MSIX_MAPPABLE:
			out->msix_mappable = true;
			break;
		default:
			break;	/* unknown capabilities are skipped, as the ABI intends */
		}
		if (h.next && h.next <= off)
			return -EINVAL;
		off = h.next;
	}
	return 0;
}

static int region_info_ioctl(struct vfio_device *vd, struct vfio_region_info *info)
{
	return ioctl(vd->fd, VFIO_DEVICE_GET_REGION_INFO, info) < 0 ? -errno : 0;
}

int vfio_region_info(struct vfio_device *vd, unsigned int index, struct vfio_region *r,
		     struct vfio_region_caps *caps)
{
	int (*get)(struct vfio_device *, struct vfio_region_info *) =
		vd->get_region_info ? vd->get_region_info : region_info_ioctl;
	uint32_t argsz = sizeof(struct vfio_region_info);
	struct vfio_region_info *info = NULL;
	int ret;

	memset(r, 0, sizeof(*r));
	memset(caps, 0, sizeof(*caps));
	/* The capabilities make the answer larger than asked for: ask again with room (bounded). */
	for (unsigned int tries = 0;; tries++) {
		void *bigger = realloc(info, argsz);

		if (!bigger) {
			ret = -ENOMEM;
			goto out;
		}
		info = bigger;
		memset(info, 0, argsz);
		info->argsz = argsz;
		info->index = index;
		ret = get(vd, info);
		if (ret) {
			ret = ret == -EINVAL ? 0 : ret;	/* no such region */
			goto out;
		}
		if (info->argsz <= argsz)
			break;
		if (tries == 3 || info->argsz > 65536) {
			ret = -E2BIG;
			goto out;
		}
		argsz = info->argsz;
	}
	r->flags = info->flags;
	r->size = info->size;
	r->offset = info->offset;
	if (vfio_region_caps_parse(info, argsz, caps))
		pr_warn("%s: region %u: malformed capability chain; using what came before it",
			vd->name, index);
out:
	free(info);
	return ret;
}

/* ---- the legacy VGA ranges (vga=on) ---- */

/*
 * An access to the VGA memory or ports, forwarded to VFIO's VGA region at
 * the same offset. vfio-pci takes the kernel's VGA arbiter lock for the
 * device around each one (vga_get_interruptible), so another VGA device on
 * the host never sees our accesses.
 */
static void vga_io(struct vfio_device *vd, uint64_t addr, uint8_t *data, unsigned int len,
		   bool is_write)
{
	const struct vfio_region *r = &vd->region[VFIO_PCI_VGA_REGION_INDEX];
	ssize_t n = is_write ? pwrite(vd->fd, data, len, (off_t)(r->offset + addr)) :
			       pread(vd->fd, data, len, (off_t)(r->offset + addr));

	if (n == (ssize_t)len)
		return;
	if (ratelimit_ok(&vga_rl, 5))
		pr_warn("%s: VGA %s at 0x%llx (%u bytes): %s", vd->name, is_write ? "write" : "read",
			(unsigned long long)addr, len, n < 0 ? strerror(errno) : "short");
	if (!is_write)
		memset(data, 0xff, len);
}

static void vga_mem_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len, bool is_write)
{
	vga_io(opaque, VGA_MEM_BASE + off, data, len, is_write);
}

static void vga_mono_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len, bool is_write)
{
	vga_io(opaque, VGA_IO_MONO + off, data, len, is_write);
}

static void vga_color_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len,
			 bool is_write)
{
	vga_io(opaque, VGA_IO_COLOR + off, data, len, is_write);
}

static const struct {
	enum bus_space space;
	uint64_t base, len;
	bus_io_fn fn;
} vga_ranges[] = {
	{ BUS_MMIO, VGA_MEM_BASE, VGA_MEM_SIZE, vga_mem_io },
	{ BUS_PIO, VGA_IO_MONO, VGA_IO_MONO_LEN, vga_mono_io },
	{ BUS_PIO, VGA_IO_COLOR, VGA_IO_COLOR_LEN, vga_color_io },
};

static void vga_exit(struct vfio_device *vd)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(vga_ranges) && vd->vga_claimed; i++)
		bus_unregister(&vd->vm->bus, vga_ranges[i].space, vga_ranges[i].base);
	vd->vga_claimed = false;
}

static int vga_init(struct vfio_device *vd)
{
	struct vfio_region *r = &vd->region[VFIO_PCI_VGA_REGION_INDEX];
	const uint32_t rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	struct vfio_region_caps caps;
	unsigned int i;
	int ret;

	ret = vfio_region_info(vd, VFIO_PCI_VGA_REGION_INDEX, r, &caps);
	if (ret)
		return ret;
	if (r->size < VGA_MEM_BASE + VGA_MEM_SIZE || (r->flags & rw) != rw) {
		pr_err("%s: vga=on, but vfio-pci offers no VGA region for it: it is not a VGA-class "
		       "device, or vfio-pci runs with disable_vga=1, or the kernel lacks "
		       "CONFIG_VFIO_PCI_VGA", vd->name);
		return -ENODEV;
	}
	if (!vd->vm->vga_hole) {
		pr_err("%s: vga=on needs the VGA memory hole, which only a VM started with "
		       "--device ...,vga=on has: not on hot-add", vd->name);
		return -EINVAL;
	}
	for (i = 0; i < ARRAY_SIZE(vga_ranges); i++) {
		ret = bus_register_owned(&vd->vm->bus, vga_ranges[i].space, vga_ranges[i].base,
					 vga_ranges[i].len, vga_ranges[i].fn, vd, vd->name, &vd->dev);
		if (ret) {
			pr_err("%s: vga=on: the legacy VGA %s at 0x%llx: %s", vd->name,
			       vga_ranges[i].space == BUS_PIO ? "ports" : "memory",
			       (unsigned long long)vga_ranges[i].base,
			       ret == -EEXIST ? "another device has them (one vga=on per VM)" :
						"cannot be claimed");
			while (i--)
				bus_unregister(&vd->vm->bus, vga_ranges[i].space, vga_ranges[i].base);
			return ret;
		}
	}
	vd->vga_claimed = true;
	pr_info("%s: legacy VGA memory 0xa0000-0xbffff and ports 0x3b0-0x3bb, 0x3c0-0x3df "
		"forwarded", vd->name);
	return 0;
}

/* ---- device-specific regions ---- */

/*
 * Intel IGD OpRegion: the firmware's table of display configuration and
 * the VBT, which i915 finds through the ASLS config register. It is copied
 * into e820-reserved guest memory (BOOT_OPREGION_ADDR) and ASLS points
 * there, as QEMU and its firmware do; the guest may rewrite ASLS (its own
 * copy). The region is read once: the host's OpRegion is the firmware's
 * and static, and the guest's writes (mailbox flags) stay in its copy.
 */
static int opregion_init(struct vfio_device *vd, const struct vfio_region *r)
{
	uint8_t *dst;
	ssize_t n;

	if (r->size < 0x400 || r->size > BOOT_OPREGION_MAX) {
		pr_err("%s: IGD OpRegion of 0x%llx bytes: expected 1 KiB to %u KiB", vd->name,
		       (unsigned long long)r->size, (unsigned int)(BOOT_OPREGION_MAX / 1024));
		return -EINVAL;
	}
	if (vd->vm->igd_opregion) {
		pr_err("%s: another assigned IGD has the VM's OpRegion: one Intel graphics device "
		       "per VM", vd->name);
		return -EBUSY;
	}
	dst = guest_ptr(&vd->vm->mem, BOOT_OPREGION_ADDR, r->size);
	if (!dst)
		return -ENOMEM;
	n = pread_full(vd->fd, dst, r->size, (off_t)r->offset);
	if (n != (ssize_t)r->size) {
		pr_err("%s: reading the IGD OpRegion: %s", vd->name,
		       n < 0 ? strerror((int)-n) : "short read");
		return n < 0 ? (int)n : -EIO;
	}
	if (memcmp(dst, OPREGION_SIG, sizeof(OPREGION_SIG) - 1))
		pr_warn("%s: the IGD OpRegion has no \"" OPREGION_SIG "\" signature; given as it is",
			vd->name);
	pci_set_cfg(&vd->pci, IGD_ASLS, 4, (uint32_t)BOOT_OPREGION_ADDR, 0xffffffffu);
	memset(vd->lay.emu + IGD_ASLS, 0xff, 4);
	vd->vm->igd_opregion = true;
	vd->igd_opregion = true;
	pr_info("%s: IGD OpRegion (%llu bytes) at 0x%llx for the guest", vd->name,
		(unsigned long long)r->size, (unsigned long long)BOOT_OPREGION_ADDR);
	return 0;
}

/* What a device-specific region is and whether kvmio uses it. */
static int extra_region(struct vfio_device *vd, unsigned int index, const struct vfio_region *r,
			const struct vfio_region_caps *caps)
{
	uint32_t vendor = caps->type & VFIO_REGION_TYPE_PCI_VENDOR_MASK;
	bool pci_vendor = caps->type & REGION_TYPE_PCI_VENDOR;

	if (!caps->has_type) {
		pr_info("%s: region %u (0x%llx bytes) has no type: not used", vd->name, index,
			(unsigned long long)r->size);
		return 0;
	}
	if (pci_vendor && vendor == 0x8086) {
		switch (caps->subtype) {
		case VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION:
			return opregion_init(vd, r);
		case VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG:
		case VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG:
			pr_info("%s: IGD %s bridge config copy: not used; kvmio gives an IGD the "
				"universal pass-through mode only (no stolen memory, no legacy "
				"mode bridges)", vd->name,
				caps->subtype == VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG ? "host" :
											  "LPC");
			return 0;
		}
	}
	if (!pci_vendor && caps->type == VFIO_REGION_TYPE_GFX)
		pr_info("%s: region %u: a mediated display's EDID: not used (kvmio has no display)",
			vd->name, index);
	else if (!pci_vendor && caps->type == VFIO_REGION_TYPE_MIGRATION_DEPRECATED)
		pr_info("%s: region %u: migration (v1): not used", vd->name, index);
	else
		pr_info("%s: region %u (type 0x%x, subtype 0x%x, 0x%llx bytes): not used", vd->name,
			index, caps->type, caps->subtype, (unsigned long long)r->size);
	return 0;
}

int vfio_regions_init(struct vfio_device *vd)
{
	int ret;

	if (vd->vga) {
		ret = vga_init(vd);
		if (ret)
			return ret;
	}
	/* Device-specific regions follow the fixed ones; bounded, as a device fd may claim many. */
	for (unsigned int i = VFIO_PCI_NUM_REGIONS; i < vd->num_regions && i < 64; i++) {
		struct vfio_region r;
		struct vfio_region_caps caps;

		ret = vfio_region_info(vd, i, &r, &caps);
		if (!ret && r.size)
			ret = extra_region(vd, i, &r, &caps);
		if (ret) {
			vfio_regions_exit(vd);
			return ret;
		}
	}
	return 0;
}

void vfio_regions_exit(struct vfio_device *vd)
{
	vga_exit(vd);
	if (vd->igd_opregion)
		vd->vm->igd_opregion = false;
	vd->igd_opregion = false;
}
