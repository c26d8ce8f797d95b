// SPDX-License-Identifier: Apache-2.0
/*
 * Config space of an assigned device: the guest's view (dev->cfg) and the
 * mask of bits kvmio owns (lay.emu). See vfio.h.
 *
 * kvmio owns the whole type-0 header except STATUS (BARs and ROM sized from
 * VFIO's regions, interrupt line and pin from our slot, COMMAND kept here
 * and written through), every capability's ID and next pointer (so hiding
 * one is relinking), and the MSI and MSI-X capabilities whole (their
 * vectors are routed by kvmio, never by the guest's values in hardware).
 * The rest (power management, PCIe control and status, AER, vendor
 * registers) is the device's.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "vfio/vfio.h"

#define EXT_CAP_MAX_HOPS	((PCI_CFG_SIZE - 0x100) / 4)

/* Standard capabilities the guest may see; the rest are hidden. */
static bool cap_keep(uint8_t id)
{
	switch (id) {
	case PCI_CAP_ID_PM:
	case PCI_CAP_ID_VPD:
	case PCI_CAP_ID_MSI:
	case PCI_CAP_ID_VNDR:
	case PCI_CAP_ID_SSVID:
	case PCI_CAP_ID_EXP:
	case PCI_CAP_ID_MSIX:
	case PCI_CAP_ID_AF:
		return true;
	default:
		/*
		 * PCI-X, HyperTransport, AGP, hot-plug, Enhanced Allocation
		 * (fixed BAR addresses kvmio does not honour), debug port...:
		 * nothing a guest on kvmio's root bus can use.
		 */
		return false;
	}
}

/* Extended capabilities the guest may see. */
static bool ext_cap_keep(uint16_t id)
{
	switch (id) {
	case PCI_EXT_CAP_ID_ERR:
	case PCI_EXT_CAP_ID_VC:
	case PCI_EXT_CAP_ID_DSN:
	case PCI_EXT_CAP_ID_PWR:
	case PCI_EXT_CAP_ID_VNDR:
	case PCI_EXT_CAP_ID_LTR:
	case PCI_EXT_CAP_ID_SECPCI:
	case PCI_EXT_CAP_ID_L1SS:
	case PCI_EXT_CAP_ID_PTM:
	case PCI_EXT_CAP_ID_DVSEC:
		return true;
	default:
		/*
		 * SR-IOV, ATS, PRI, PASID (need an IOMMU in the guest), ACS and
		 * ARI (need a bridge), Resizable BAR (sizes are kvmio's), DPC,
		 * multicast...: hidden.
		 */
		return false;
	}
}

/* Bytes of the MSI capability at @cap (PCI 3.0 figures 6-9 to 6-12). */
static unsigned int msi_cap_size(const uint8_t *hw, unsigned int cap)
{
	uint16_t flags = (uint16_t)le_read(hw + cap + PCI_MSI_FLAGS, 2);
	bool is64 = flags & PCI_MSI_FLAGS_64BIT;

	return (flags & PCI_MSI_FLAGS_MASKBIT) ? (is64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32) + 4 :
	       (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32) + 2;
}

/*
 * MSI, MSI-X and PCIe are kvmio's to emulate: the first of each in the list
 * (the one vfio-pci and the guest's drivers use), whole within the header
 * and over no other capability's header (@is_hdr: the headers met so far).
 * Any other would show with its registers the device's, which the guest
 * could then program behind kvmio's routes: hidden instead. @met: kinds met.
 */
static bool cap_ownable(const uint8_t *hw, unsigned int off, uint8_t id, unsigned int *met,
			const bool *is_hdr)
{
	unsigned int len, kind;

	switch (id) {
	case PCI_CAP_ID_MSI:
		len = msi_cap_size(hw, off);
		kind = 1;
		break;
	case PCI_CAP_ID_MSIX:
		len = PCI_CAP_MSIX_SIZEOF;
		kind = 2;
		break;
	case PCI_CAP_ID_EXP:
		len = PCI_EXP_FLAGS + 2;
		kind = 4;
		break;
	default:
		return true;
	}
	if (*met & kind)
		return false;
	*met |= kind;
	if (off + len > PCI_CFG_LEGACY_SIZE)
		return false;
	for (unsigned int i = PCI_CAP_LIST_NEXT + 1; i < len; i++)
		if (is_hdr[off + i])
			return false;
	return true;
}

static void emu_set(struct vfio_cfg_layout *lay, unsigned int off, unsigned int len)
{
	memset(lay->emu + off, 0xff, len);
}

/* The standard list, from 0x34: keep, relink, note MSI/MSI-X/PCIe. */
static void layout_std(const uint8_t *hw, uint8_t *cfg, struct vfio_cfg_layout *lay)
{
	uint8_t seen[PCI_CFG_LEGACY_SIZE / 4] = { 0 };
	/*
	 * Headers met, and the registers of the MSI and MSI-X kvmio owns: a
	 * list that runs into those registers (a "capability" at the table
	 * offset) must not have them relinked or zeroed, nor be walked there.
	 */
	bool is_hdr[PCI_CFG_LEGACY_SIZE] = { false }, owned[PCI_CFG_LEGACY_SIZE] = { false };
	unsigned int prev = PCI_CAPABILITY_LIST, hops = 0, met = 0;
	unsigned int off = hw[PCI_STATUS] & PCI_STATUS_CAP_LIST ? hw[PCI_CAPABILITY_LIST] & ~3u : 0;

	cfg[PCI_CAPABILITY_LIST] = 0;
	while (off >= PCI_STD_HEADER_SIZEOF && off < PCI_CFG_LEGACY_SIZE && hops++ < PCI_CAP_MAX_HOPS) {
		uint8_t id = hw[off + PCI_CAP_LIST_ID];
		unsigned int next = hw[off + PCI_CAP_LIST_NEXT] & ~3u;

		if (seen[off / 4]++)
			break;	/* a loop: the list ends here */
		if (owned[off] || owned[off + 1]) {
			lay->nhidden++;
			off = next;
			continue;
		}
		emu_set(lay, off, 2);
		if (!cap_keep(id) || !cap_ownable(hw, off, id, &met, is_hdr)) {
			lay->nhidden++;
			cfg[off] = cfg[off + 1] = 0;
			is_hdr[off] = is_hdr[off + 1] = true;
			off = next;
			continue;
		}
		is_hdr[off] = is_hdr[off + 1] = true;
		cfg[off + PCI_CAP_LIST_ID] = id;
		cfg[off + PCI_CAP_LIST_NEXT] = 0;
		/* The previous kept capability (or the header) points here. */
		cfg[prev == PCI_CAPABILITY_LIST ? prev : prev + PCI_CAP_LIST_NEXT] = (uint8_t)off;
		prev = off;
		if (id == PCI_CAP_ID_MSI) {
			lay->msi_cap = off;
			memset(owned + off, true, msi_cap_size(hw, off));
		} else if (id == PCI_CAP_ID_MSIX) {
			lay->msix_cap = off;
			memset(owned + off, true, PCI_CAP_MSIX_SIZEOF);
		} else if (id == PCI_CAP_ID_EXP) {
			lay->pcie_cap = off;
		}
		off = next;
	}
	if (!cfg[PCI_CAPABILITY_LIST])
		cfg[PCI_STATUS] &= (uint8_t)~PCI_STATUS_CAP_LIST;
	else
		cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	/* STATUS is the device's, but whether there is a list is ours to say. */
	lay->emu[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
}

/* The extended list, from 0x100 (PCIe only). */
static void layout_ext(const uint8_t *hw, uint8_t *cfg, struct vfio_cfg_layout *lay)
{
	uint8_t seen[(PCI_CFG_SIZE - 0x100) / 4] = { 0 };
	unsigned int off = 0x100, prev = 0, hops = 0;
	uint32_t first = 0;

	while (off >= 0x100 && off + 4 <= PCI_CFG_SIZE && hops++ < EXT_CAP_MAX_HOPS) {
		uint32_t hdr = (uint32_t)le_read(hw + off, 4);
		uint16_t id = PCI_EXT_CAP_ID(hdr);
		unsigned int next = PCI_EXT_CAP_NEXT(hdr);

		if (!hdr || hdr == ~0u || seen[(off - 0x100) / 4]++)
			break;
		emu_set(lay, off, 4);
		le_write(cfg + off, 4, 0);
		if (!ext_cap_keep(id)) {
			lay->nhidden++;
		} else {
			/* ID and version from the device, next pointer ours. */
			le_write(cfg + off, 4, hdr & 0xfffff);
			if (prev) {
				uint32_t p = (uint32_t)le_read(cfg + prev, 4);

				le_write(cfg + prev, 4, (p & 0xfffff) | (uint32_t)off << 20);
			} else {
				first = off;
			}
			prev = off;
		}
		off = next;
	}
	/*
	 * The list must start at 0x100. When the first capability there is
	 * hidden, a null one (ID 0, version 0) takes its place and points on,
	 * which is what PCIe allows for an empty header.
	 */
	emu_set(lay, 0x100, 4);
	if (first != 0x100)
		le_write(cfg + 0x100, 4, first ? (uint32_t)first << 20 : 0);
}

int vfio_cfg_layout(const uint8_t *hw, unsigned int size, uint8_t *cfg,
		    struct vfio_cfg_layout *lay)
{
	if (size != PCI_CFG_LEGACY_SIZE && size != PCI_CFG_SIZE)
		return -EINVAL;
	memset(lay, 0, sizeof(*lay));
	lay->size = size;
	memset(cfg, 0, PCI_CFG_SIZE);
	memcpy(cfg, hw, size);

	/* The header, but STATUS, is ours; values from the device as a start. */
	emu_set(lay, 0, PCI_STD_HEADER_SIZEOF);
	lay->emu[PCI_STATUS] = lay->emu[PCI_STATUS + 1] = 0;
	/* One function on our bus, whatever the device's siblings. */
	cfg[PCI_HEADER_TYPE] &= 0x7f;
	/* BIST would run behind vfio-pci's back; no BIST. */
	cfg[PCI_BIST] = 0;

	layout_std(hw, cfg, lay);
	if (lay->msi_cap) {
		unsigned int len = msi_cap_size(hw, lay->msi_cap);

		/* Ours whole, from zero: not what the host last programmed there. */
		emu_set(lay, lay->msi_cap, len);
		memset(cfg + lay->msi_cap + PCI_MSI_ADDRESS_LO, 0, len - PCI_MSI_ADDRESS_LO);
	}
	if (lay->msix_cap)
		emu_set(lay, lay->msix_cap, PCI_CAP_MSIX_SIZEOF);
	if (lay->pcie_cap) {
		unsigned int flags = lay->pcie_cap + PCI_EXP_FLAGS;
		unsigned int type = (cfg[flags] & PCI_EXP_FLAGS_TYPE) >> 4;

		/*
		 * On kvmio's root bus there is no port above the device: an
		 * endpoint there is a root-complex integrated endpoint, which
		 * has no link for the guest to manage (QEMU does the same).
		 */
		if (type == PCI_EXP_TYPE_ENDPOINT || type == PCI_EXP_TYPE_LEG_END)
			cfg[flags] = (uint8_t)((cfg[flags] & ~PCI_EXP_FLAGS_TYPE) |
					       PCI_EXP_TYPE_RC_END << 4);
		lay->emu[flags] |= PCI_EXP_FLAGS_TYPE;
	}
	if (size == PCI_CFG_SIZE && lay->pcie_cap) {
		layout_ext(hw, cfg, lay);
	} else {
		/*
		 * No extended list (a conventional device, or 4 KiB without a
		 * PCIe capability kvmio keeps): 0x100-0xfff are ours and zero,
		 * so none of the device's extended capabilities shows there.
		 */
		emu_set(lay, PCI_CFG_LEGACY_SIZE, PCI_CFG_SIZE - PCI_CFG_LEGACY_SIZE);
		memset(cfg + PCI_CFG_LEGACY_SIZE, 0, PCI_CFG_SIZE - PCI_CFG_LEGACY_SIZE);
	}
	return 0;
}

int vfio_cfg_pread(struct vfio_device *vd, void *buf, unsigned int len, unsigned int off)
{
	const struct vfio_region *r = &vd->region[VFIO_PCI_CONFIG_REGION_INDEX];
	ssize_t n = pread(vd->fd, buf, len, (off_t)(r->offset + off));

	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

int vfio_cfg_pwrite(struct vfio_device *vd, const void *buf, unsigned int len, unsigned int off)
{
	const struct vfio_region *r = &vd->region[VFIO_PCI_CONFIG_REGION_INDEX];
	ssize_t n = pwrite(vd->fd, buf, len, (off_t)(r->offset + off));

	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

static struct ratelimit cfg_rl;

void vfio_cfg_sync_command(struct vfio_device *vd)
{
	uint8_t cmd[2] = { vd->pci.cfg[PCI_COMMAND], vd->pci.cfg[PCI_COMMAND + 1] };
	int ret = vfio_cfg_pwrite(vd, cmd, 2, PCI_COMMAND);

	if (ret && ratelimit_ok(&cfg_rl, 5))
		pr_warn("%s: writing COMMAND: %s", vd->name, strerror(-ret));
}

/* Byte @off is (at least in part) the device's. */
static bool dev_byte(const struct vfio_device *vd, unsigned int off)
{
	return off < vd->lay.size && vd->lay.emu[off] != 0xff;
}

/*
 * The next run of the device's bytes in an access of @len at @off, from
 * *@lo: [*lo, *hi). False when there is none. Bytes wholly ours, and those
 * past the device's config space (vfio-pci refuses an access that crosses
 * its end), are never read from or written to the device; each run goes
 * in one access, so an aligned access keeps its size.
 */
static bool dev_run(const struct vfio_device *vd, unsigned int off, unsigned int len,
		    unsigned int *lo, unsigned int *hi)
{
	while (*lo < len && !dev_byte(vd, off + *lo))
		(*lo)++;
	for (*hi = *lo; *hi < len && dev_byte(vd, off + *hi); (*hi)++)
		;
	return *lo < len;
}

/* The guest reads: the device's bits fresh from the device. */
static void vfio_cfg_read(struct pci_device *dev, unsigned int off, unsigned int len)
{
	struct vfio_device *vd = dev->opaque;
	uint8_t hw[8];
	unsigned int lo, hi;
	int ret;

	if (len > sizeof(hw))
		return;
	/* The device's MSI signals wait in masked vectors' eventfds: those are the pending bits. */
	if (vd->has_msi)
		msi_cap_show_fd_pending(&vd->msi, off, len);
	for (lo = 0; dev_run(vd, off, len, &lo, &hi); lo = hi) {
		ret = vfio_cfg_pread(vd, hw + lo, hi - lo, off + lo);
		if (ret) {
			/* A device that fell off the bus reads all-ones, as on hardware. */
			if (ratelimit_ok(&cfg_rl, 5))
				pr_warn("%s: config read at 0x%x: %s", vd->name, off + lo,
					strerror(-ret));
			memset(hw + lo, 0xff, hi - lo);
		}
		for (unsigned int i = lo; i < hi; i++) {
			uint8_t m = vd->lay.emu[off + i];

			dev->cfg[off + i] = (uint8_t)((dev->cfg[off + i] & m) | (hw[i] & ~m));
		}
	}
}

/*
 * The guest writes, before kvmio's masks: the device's bytes go to the
 * device as written (for bits we own in such a byte, our value), so its
 * write-1-to-clear and read-only bits behave as the device's.
 */
static void vfio_cfg_write_raw(struct pci_device *dev, unsigned int off, const uint8_t *data,
			       unsigned int len)
{
	struct vfio_device *vd = dev->opaque;
	uint8_t buf[8];
	unsigned int lo, hi;
	int ret;

	if (len > sizeof(buf))
		return;
	for (lo = 0; dev_run(vd, off, len, &lo, &hi); lo = hi) {
		for (unsigned int i = lo; i < hi; i++) {
			uint8_t m = vd->lay.emu[off + i];

			buf[i] = (uint8_t)((data[i] & ~m) | (dev->cfg[off + i] & m));
		}
		ret = vfio_cfg_pwrite(vd, buf + lo, hi - lo, off + lo);
		if (ret && ratelimit_ok(&cfg_rl, 5))
			pr_warn("%s: config write at 0x%x: %s", vd->name, off + lo, strerror(-ret));
	}
}

/* After kvmio's masks: COMMAND to the device, MSI and MSI-X to their emulation. */
static void vfio_cfg_write(struct pci_device *dev, unsigned int off, unsigned int len)
{
	struct vfio_device *vd = dev->opaque;

	if (ranges_overlap(off, len, PCI_COMMAND, 2))
		vfio_cfg_sync_command(vd);
	if (vd->has_msix)
		msix_cfg_write(&vd->msix, off, len);
	if (vd->has_msi)
		msi_cap_cfg_write(&vd->msi, off, len);
}

const struct pci_device_ops vfio_pci_ops = {
	.cfg_write = vfio_cfg_write,
	.cfg_write_raw = vfio_cfg_write_raw,
	.cfg_read = vfio_cfg_read,
	.bar_update = vfio_bar_update,
};
