// SPDX-License-Identifier: Apache-2.0
/*
 * The test guests' virtio-pci driver; see virtio_lib.h. Every step is the
 * one virtio 1.2 section 3.1.1 and 4.1.5 describe, checked as it goes.
 */
#include "virtio_lib.h"

bool vp_find(uint16_t id, unsigned int *bdf)
{
	for (unsigned int dev = 0; dev < 32; dev++) {
		for (unsigned int fn = 0; fn < 8; fn++) {
			unsigned int b = PCI_BDF(0, dev, fn);
			uint32_t ids = pci_r32(b, PCI_VENDOR_ID);

			if ((ids & 0xFFFF) == 0xFFFF) {
				if (fn == 0)
					break;
				continue;
			}
			if (ids == ((uint32_t)(VIRTIO_PCI_DEVICE_BASE + id) << 16 | VIRTIO_PCI_VENDOR)) {
				*bdf = b;
				return true;
			}
			if (fn == 0 && !(pci_r8(b, PCI_HEADER_TYPE) & PCI_HDR_MULTIFN))
				break;
		}
	}
	return false;
}

static const char *const cap_names[] = { "?", "common", "notify", "ISR", "device", "PCI_CFG" };

static void cap_read(struct vp_dev *d, unsigned int pos, struct vp_cap *c)
{
	c->pos = pos;
	c->cap_len = pci_r8(d->bdf, pos + VCAP_LEN);
	c->bar = pci_r8(d->bdf, pos + VCAP_BAR);
	c->offset = pci_r32(d->bdf, pos + VCAP_OFFSET);
	c->length = pci_r32(d->bdf, pos + VCAP_LENGTH);
}

/* The address of structure @c; it must fit in its memory BAR (4.1.4.1). */
static uint64_t cap_resolve(struct vp_dev *d, const struct vp_cap *c, unsigned int type)
{
	const struct pci_bar *b;

	GUEST_ASSERT_MSG(c->bar <= 5, "%s cap at 0x%x: bar %u (4.1.4.1: BAR0-5 only)",
			 cap_names[type], c->pos, c->bar);
	b = &d->bar[c->bar];
	GUEST_ASSERT_MSG(b->size, "%s cap at 0x%x: BAR%u is not implemented",
			 cap_names[type], c->pos, c->bar);
	GUEST_ASSERT_MSG(!b->io, "%s cap: BAR%u is an I/O BAR (this driver maps memory only)",
			 cap_names[type], c->bar);
	GUEST_ASSERT_MSG((uint64_t)c->offset + c->length <= b->size,
			 "%s cap at 0x%x: [0x%x, +0x%x) past BAR%u's size 0x%lx",
			 cap_names[type], c->pos, c->offset, c->length, c->bar, b->size);
	uint64_t a = pci_bar_read(d->bdf, c->bar, b->mem64);

	GUEST_ASSERT_MSG(a && a + b->size <= 0x100000000ull,
			 "BAR%u at 0x%lx: unassigned or above 4 GiB (guest maps 0-4 GiB)", c->bar, a);
	return a + c->offset;
}

void vp_resolve(struct vp_dev *d)
{
	d->common_a = cap_resolve(d, &d->common, VIRTIO_PCI_CAP_COMMON_CFG);
	d->notify_a = cap_resolve(d, &d->notify, VIRTIO_PCI_CAP_NOTIFY_CFG);
	d->isr_a = cap_resolve(d, &d->isr, VIRTIO_PCI_CAP_ISR_CFG);
	if (d->device.pos)
		d->device_a = cap_resolve(d, &d->device, VIRTIO_PCI_CAP_DEVICE_CFG);
	if (d->msix) {
		d->msix_table = pci_bar_read(d->bdf, d->msix_table_bir, d->bar[d->msix_table_bir].mem64) +
				d->msix_table_off;
		d->msix_pba = pci_bar_read(d->bdf, d->msix_pba_bir, d->bar[d->msix_pba_bir].mem64) +
			      d->msix_pba_off;
	}
}

void vp_probe(struct vp_dev *d, unsigned int bdf)
{
	memset(d, 0, sizeof(*d));
	d->bdf = bdf;
	for (unsigned int i = 0; i < 6; i += pci_bar_probe(bdf, i, &d->bar[i]))
		;
	/* 4.1.4: "the driver SHOULD use the first one" of each type it can use. */
	for (unsigned int pos = 0, n = 0; (pos = pci_find_cap(bdf, PCI_CAP_ID_VNDR, pos)); n++) {
		uint8_t type = pci_r8(bdf, pos + VCAP_CFG_TYPE);
		struct vp_cap *c = type == VIRTIO_PCI_CAP_COMMON_CFG ? &d->common :
				   type == VIRTIO_PCI_CAP_NOTIFY_CFG ? &d->notify :
				   type == VIRTIO_PCI_CAP_ISR_CFG ? &d->isr :
				   type == VIRTIO_PCI_CAP_DEVICE_CFG ? &d->device :
				   type == VIRTIO_PCI_CAP_PCI_CFG ? &d->pcicfg : NULL;

		GUEST_ASSERT(n < 48);
		if (c && !c->pos)
			cap_read(d, pos, c);
	}
	GUEST_ASSERT_MSG(d->common.pos, "no VIRTIO_PCI_CAP_COMMON_CFG capability (4.1.4.3.1)");
	GUEST_ASSERT_MSG(d->notify.pos, "no VIRTIO_PCI_CAP_NOTIFY_CFG capability (4.1.4.4.1)");
	GUEST_ASSERT_MSG(d->isr.pos, "no VIRTIO_PCI_CAP_ISR_CFG capability (4.1.4.5.1)");
	GUEST_ASSERT_MSG(d->common.cap_len >= 16 && d->isr.cap_len >= 16,
			 "virtio cap shorter than struct virtio_pci_cap (16 bytes)");
	GUEST_ASSERT_MSG(d->notify.cap_len >= 20,
			 "notify cap_len %u < 20: no notify_off_multiplier (4.1.4.4)", d->notify.cap_len);
	d->notify_mult = pci_r32(bdf, d->notify.pos + VCAP_NOTIFY_MULT);

	d->msix = pci_find_cap(bdf, PCI_CAP_ID_MSIX, 0);
	if (d->msix) {
		uint32_t t = pci_r32(bdf, d->msix + MSIX_TABLE), p = pci_r32(bdf, d->msix + MSIX_PBA);

		d->msix_n = (pci_r16(bdf, d->msix + MSIX_CTRL) & MSIX_CTRL_SIZE) + 1u;
		d->msix_table_bir = t & 7;
		d->msix_table_off = t & ~7u;
		d->msix_pba_bir = p & 7;
		d->msix_pba_off = p & ~7u;
		GUEST_ASSERT_MSG(d->msix_table_bir <= 5 && d->bar[d->msix_table_bir].size &&
				 !d->bar[d->msix_table_bir].io,
				 "MSI-X table BIR %u is not a memory BAR (PCI 3.0 6.8.2.4)", d->msix_table_bir);
		GUEST_ASSERT_MSG(d->msix_pba_bir <= 5 && d->bar[d->msix_pba_bir].size &&
				 !d->bar[d->msix_pba_bir].io,
				 "MSI-X PBA BIR %u is not a memory BAR (PCI 3.0 6.8.2.5)", d->msix_pba_bir);
		GUEST_ASSERT_MSG((uint64_t)d->msix_table_off + MSIX_ENTRY_SIZE * d->msix_n <=
				 d->bar[d->msix_table_bir].size,
				 "MSI-X table (%u entries at 0x%x) past BAR%u", d->msix_n,
				 d->msix_table_off, d->msix_table_bir);
		GUEST_ASSERT_MSG((uint64_t)d->msix_pba_off + 8 * ((d->msix_n + 63) / 64) <=
				 d->bar[d->msix_pba_bir].size,
				 "MSI-X PBA at 0x%x past BAR%u", d->msix_pba_off, d->msix_pba_bir);
	}

	pci_w16(bdf, PCI_COMMAND, pci_r16(bdf, PCI_COMMAND) | PCI_CMD_MEM | PCI_CMD_MASTER);
	vp_resolve(d);
}

void vp_w64(struct vp_dev *d, unsigned int off, uint64_t v)
{
	vp_w32(d, off, (uint32_t)v);
	vp_w32(d, off + 4, (uint32_t)(v >> 32));
}

uint64_t vp_r64(struct vp_dev *d, unsigned int off)
{
	return vp_r32(d, off) | (uint64_t)vp_r32(d, off + 4) << 32;
}

void vp_reset(struct vp_dev *d)
{
	vp_set_status(d, 0);
	/* 4.1.4.3.2: wait for device_status to read 0 before re-initialising. */
	for (int i = 0; i < 1000 && vp_status(d); i++)
		delay_us(100);
	GUEST_ASSERT_MSG(!vp_status(d), "device_status 0x%x 100 ms after writing 0 (reset)",
			 vp_status(d));
}

uint64_t vp_device_features(struct vp_dev *d)
{
	vp_w32(d, VP_DEVICE_FEATURE_SELECT, 0);
	uint64_t f = vp_r32(d, VP_DEVICE_FEATURE);

	vp_w32(d, VP_DEVICE_FEATURE_SELECT, 1);
	return f | (uint64_t)vp_r32(d, VP_DEVICE_FEATURE) << 32;
}

bool vp_negotiate(struct vp_dev *d, uint64_t f)
{
	vp_w32(d, VP_DRIVER_FEATURE_SELECT, 0);
	vp_w32(d, VP_DRIVER_FEATURE, (uint32_t)f);
	vp_w32(d, VP_DRIVER_FEATURE_SELECT, 1);
	vp_w32(d, VP_DRIVER_FEATURE, (uint32_t)(f >> 32));
	vp_set_status(d, vp_status(d) | VIRTIO_STATUS_FEATURES_OK);
	return vp_status(d) & VIRTIO_STATUS_FEATURES_OK;
}

void vp_init(struct vp_dev *d)
{
	vp_reset(d);
	vp_set_status(d, VIRTIO_STATUS_ACK);
	vp_set_status(d, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	GUEST_ASSERT_EQ(vp_status(d), VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	uint64_t f = vp_device_features(d);

	GUEST_ASSERT_MSG(f & (1ull << VIRTIO_F_VERSION_1),
			 "VIRTIO_F_VERSION_1 not offered: features 0x%lx (4.1.2.1, 6.1)", f);
	GUEST_ASSERT_MSG(vp_negotiate(d, 1ull << VIRTIO_F_VERSION_1),
			 "FEATURES_OK refused for VERSION_1 alone (status 0x%x, offered 0x%lx)",
			 vp_status(d), f);
}

void vq_setup(struct vp_dev *d, struct virtq *vq, uint16_t index, uint16_t size,
	      struct vq_mem *mem, uint16_t vector)
{
	memset(mem, 0, sizeof(*mem));
	vq->mem = mem;
	vq->index = index;
	vq->next_avail = 0;
	vq->next_desc = 0;
	vp_w16(d, VP_QUEUE_SELECT, index);
	GUEST_ASSERT_EQ(vp_r16(d, VP_QUEUE_SELECT), index);
	uint16_t max = vp_r16(d, VP_QUEUE_SIZE);

	GUEST_ASSERT_MSG(max, "queue %u: queue_size 0 (unavailable)", index);
	GUEST_ASSERT_MSG(!vp_r16(d, VP_QUEUE_ENABLE), "queue %u enabled before the driver set it up",
			 index);
	vq->size = size < max ? size : max;
	if (vq->size > VQ_MAX)
		vq->size = VQ_MAX;
	GUEST_ASSERT_MSG(!(vq->size & (vq->size - 1)), "queue %u: max size %u, not a power of two",
			 index, max);
	vp_w16(d, VP_QUEUE_SIZE, vq->size);
	GUEST_ASSERT_EQ(vp_r16(d, VP_QUEUE_SIZE), vq->size);
	vp_w64(d, VP_QUEUE_DESC, (uint64_t)mem->desc);
	vp_w64(d, VP_QUEUE_DRIVER, (uint64_t)&mem->avail);
	vp_w64(d, VP_QUEUE_DEVICE, (uint64_t)&mem->used);
	GUEST_ASSERT_EQ(vp_r64(d, VP_QUEUE_DESC), (uint64_t)mem->desc);
	GUEST_ASSERT_EQ(vp_r64(d, VP_QUEUE_DRIVER), (uint64_t)&mem->avail);
	GUEST_ASSERT_EQ(vp_r64(d, VP_QUEUE_DEVICE), (uint64_t)&mem->used);
	if (vector != VIRTIO_MSI_NO_VECTOR) {
		vp_w16(d, VP_QUEUE_MSIX_VECTOR, vector);
		/* 4.1.5.1.2.2: read back to see whether the mapping took. */
		GUEST_ASSERT_MSG(vp_r16(d, VP_QUEUE_MSIX_VECTOR) == vector,
				 "queue_msix_vector reads 0x%x after writing %u",
				 vp_r16(d, VP_QUEUE_MSIX_VECTOR), vector);
	}
	uint16_t off = vp_r16(d, VP_QUEUE_NOTIFY_OFF);

	/* 4.1.4.4.1: cap.length >= queue_notify_off * notify_off_multiplier + 2. */
	GUEST_ASSERT_MSG((uint64_t)off * d->notify_mult + 2 <= d->notify.length,
			 "queue %u: notify_off %u * multiplier %u + 2 > notify cap length %u",
			 index, off, d->notify_mult, d->notify.length);
	vq->notify = d->notify_a + (uint64_t)off * d->notify_mult;
}

void vq_enable(struct vp_dev *d, struct virtq *vq)
{
	vp_w16(d, VP_QUEUE_SELECT, vq->index);
	vp_w16(d, VP_QUEUE_ENABLE, 1);
	GUEST_ASSERT_EQ(vp_r16(d, VP_QUEUE_ENABLE), 1);
}

uint16_t vq_add(struct virtq *vq, const uint64_t *addr, const uint32_t *len, unsigned int n, bool writable)
{
	/* Descriptors are handed out round-robin: tests post few, and wait for each. */
	uint16_t head = (uint16_t)(vq->next_desc % vq->size);

	vq->next_desc = (uint16_t)(vq->next_desc + n);

	for (unsigned int i = 0; i < n; i++) {
		uint16_t di = (uint16_t)((head + i) % vq->size);
		volatile struct vring_desc *desc = &vq->mem->desc[di];

		desc->addr = addr[i];
		desc->len = len[i];
		desc->flags = (uint16_t)((writable ? VRING_DESC_F_WRITE : 0) |
					 (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		desc->next = (uint16_t)((di + 1) % vq->size);
	}
	*(volatile uint16_t *)&vq->mem->avail.ring[vq->next_avail % vq->size] = head;
	/* 2.7.13: the ring entry before the index that publishes it. */
	barrier();
	*(volatile uint16_t *)&vq->mem->avail.idx = ++vq->next_avail;
	barrier();
	return head;
}

/* --- MSI-X ------------------------------------------------------------------- */

void vp_msix_entry(struct vp_dev *d, unsigned int i, uint8_t apic, uint8_t vector, bool masked)
{
	uint64_t e = d->msix_table + (uint64_t)i * MSIX_ENTRY_SIZE;

	GUEST_ASSERT(i < d->msix_n);
	/* Mask while the entry changes (6.8.3.5), as Linux's msix_prepare_msi_desc. */
	mmio_write32(e + MSIX_ENTRY_CTRL, MSIX_ENTRY_MASKED);
	mmio_write32(e + MSIX_ENTRY_ADDR_LO, (uint32_t)LAPIC_BASE | (uint32_t)apic << 12);
	mmio_write32(e + MSIX_ENTRY_ADDR_HI, 0);
	mmio_write32(e + MSIX_ENTRY_DATA, vector);	/* fixed, edge */
	GUEST_ASSERT_EQ(mmio_read32(e + MSIX_ENTRY_ADDR_LO), (uint32_t)LAPIC_BASE | (uint32_t)apic << 12);
	GUEST_ASSERT_EQ(mmio_read32(e + MSIX_ENTRY_DATA), vector);
	if (!masked)
		mmio_write32(e + MSIX_ENTRY_CTRL, 0);
	GUEST_ASSERT_EQ(mmio_read32(e + MSIX_ENTRY_CTRL) & MSIX_ENTRY_MASKED, masked);
}

void vp_msix_mask(struct vp_dev *d, unsigned int i, bool masked)
{
	mmio_write32(d->msix_table + (uint64_t)i * MSIX_ENTRY_SIZE + MSIX_ENTRY_CTRL,
		     masked ? MSIX_ENTRY_MASKED : 0);
}

void vp_msix_ctrl(struct vp_dev *d, uint16_t set, uint16_t clear)
{
	uint16_t c = pci_r16(d->bdf, d->msix + MSIX_CTRL);

	pci_w16(d->bdf, d->msix + MSIX_CTRL, (uint16_t)((c & ~clear) | set));
	c = pci_r16(d->bdf, d->msix + MSIX_CTRL);
	GUEST_ASSERT_MSG((c & (set | clear)) == set, "MSI-X Message Control 0x%x: wanted set 0x%x clear 0x%x",
			 c, set, clear);
}

bool vp_msix_pending(struct vp_dev *d, unsigned int i)
{
	return (mmio_read32(d->msix_pba + 4 * (i / 32)) >> (i % 32)) & 1;
}
