/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_GUEST_VIRTIO_LIB_H
#define KVMIO_GUEST_VIRTIO_LIB_H

/*
 * A minimal driver for the virtio-pci modern transport (virtio 1.2, 4.1)
 * and split virtqueues (2.7), for test guests: discovery, status and
 * feature negotiation, one queue at a time, MSI-X table entries.
 * Written from the spec, not from kvmio, so that it can disagree with it.
 */

#include "pci_lib.h"

#define VIRTIO_PCI_VENDOR	0x1AF4
#define VIRTIO_PCI_DEVICE_BASE	0x1040	/* + virtio device ID (4.1.2.1) */
#define VIRTIO_ID_RNG		4

/* virtio_pci_cap.cfg_type (4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG	1
#define VIRTIO_PCI_CAP_NOTIFY_CFG	2
#define VIRTIO_PCI_CAP_ISR_CFG		3
#define VIRTIO_PCI_CAP_DEVICE_CFG	4
#define VIRTIO_PCI_CAP_PCI_CFG		5

/* struct virtio_pci_cap fields (4.1.4). */
#define VCAP_LEN	2
#define VCAP_CFG_TYPE	3
#define VCAP_BAR	4
#define VCAP_ID		5
#define VCAP_OFFSET	8
#define VCAP_LENGTH	12
#define VCAP_NOTIFY_MULT 16	/* virtio_pci_notify_cap */
#define VCAP_PCI_CFG_DATA 16	/* virtio_pci_cfg_cap */

/* struct virtio_pci_common_cfg (4.1.4.3). */
#define VP_DEVICE_FEATURE_SELECT	0x00
#define VP_DEVICE_FEATURE		0x04
#define VP_DRIVER_FEATURE_SELECT	0x08
#define VP_DRIVER_FEATURE		0x0C
#define VP_CONFIG_MSIX_VECTOR		0x10
#define VP_NUM_QUEUES			0x12
#define VP_DEVICE_STATUS		0x14
#define VP_CONFIG_GENERATION		0x15
#define VP_QUEUE_SELECT			0x16
#define VP_QUEUE_SIZE			0x18
#define VP_QUEUE_MSIX_VECTOR		0x1A
#define VP_QUEUE_ENABLE			0x1C
#define VP_QUEUE_NOTIFY_OFF		0x1E
#define VP_QUEUE_DESC			0x20
#define VP_QUEUE_DRIVER			0x28
#define VP_QUEUE_DEVICE			0x30
#define VP_COMMON_MIN_LEN		0x38	/* through queue_device */

/* Device status (2.1). */
#define VIRTIO_STATUS_ACK		1
#define VIRTIO_STATUS_DRIVER		2
#define VIRTIO_STATUS_DRIVER_OK		4
#define VIRTIO_STATUS_FEATURES_OK	8
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

#define VIRTIO_F_VERSION_1	32
#define VIRTIO_MSI_NO_VECTOR	0xFFFF

/* ISR status bits (4.1.4.5). */
#define VIRTIO_ISR_QUEUE	1
#define VIRTIO_ISR_CONFIG	2

/* Split virtqueue layout (2.7). */
#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VQ_MAX			16	/* entries a test ring holds */

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

/* The three rings of one queue, each aligned as 2.7 asks (and more). */
struct vq_mem {
	struct vring_desc desc[VQ_MAX] __attribute__((aligned(4096)));
	struct {
		uint16_t flags, idx, ring[VQ_MAX], used_event;
	} avail __attribute__((aligned(64)));
	struct {
		uint16_t flags, idx;
		struct vring_used_elem ring[VQ_MAX];
		uint16_t avail_event;
	} used __attribute__((aligned(64)));
};

struct virtq {
	struct vq_mem *mem;
	uint16_t index, size;
	uint16_t next_avail;	/* the driver's avail->idx */
	uint16_t next_desc;	/* next descriptor to hand out, mod size */
	uint64_t notify;	/* address its notifications go to */
};

/* One virtio structure as its vendor capability describes it. */
struct vp_cap {
	unsigned int pos;	/* in config space; 0: absent */
	uint8_t cap_len, bar;
	uint32_t offset, length;
};

struct vp_dev {
	unsigned int bdf;
	struct pci_bar bar[6];
	struct vp_cap common, notify, isr, device, pcicfg;
	uint32_t notify_mult;
	uint64_t common_a, notify_a, isr_a, device_a;	/* resolved addresses */
	unsigned int msix;		/* MSI-X capability offset; 0: none */
	unsigned int msix_n;		/* table entries */
	uint8_t msix_table_bir, msix_pba_bir;
	uint32_t msix_table_off, msix_pba_off;
	uint64_t msix_table, msix_pba;
};

/* vp_find - the first function on bus 0 with virtio device ID @id; false if none. */
bool vp_find(uint16_t id, unsigned int *bdf);

/*
 * vp_probe - size @bdf's BARs, walk its capabilities into @d and resolve
 * the addresses; enables memory decode. Aborts if a required structure
 * (common, notify, ISR) is missing or lies outside its BAR, or a BAR it
 * uses is not a memory BAR below 4 GiB (the guest maps 0-4 GiB only).
 */
void vp_probe(struct vp_dev *d, unsigned int bdf);

/* vp_resolve - recompute the structures' addresses from the BARs as they are now. */
void vp_resolve(struct vp_dev *d);

static inline uint8_t vp_r8(struct vp_dev *d, unsigned int off) { return mmio_read8(d->common_a + off); }
static inline uint16_t vp_r16(struct vp_dev *d, unsigned int off) { return mmio_read16(d->common_a + off); }
static inline uint32_t vp_r32(struct vp_dev *d, unsigned int off) { return mmio_read32(d->common_a + off); }
static inline void vp_w8(struct vp_dev *d, unsigned int off, uint8_t v) { mmio_write8(d->common_a + off, v); }
static inline void vp_w16(struct vp_dev *d, unsigned int off, uint16_t v) { mmio_write16(d->common_a + off, v); }
static inline void vp_w32(struct vp_dev *d, unsigned int off, uint32_t v) { mmio_write32(d->common_a + off, v); }
/* 64-bit fields as two 32-bit halves, low first (4.1.3.1 allows it). */
void vp_w64(struct vp_dev *d, unsigned int off, uint64_t v);
uint64_t vp_r64(struct vp_dev *d, unsigned int off);

static inline uint8_t vp_status(struct vp_dev *d) { return vp_r8(d, VP_DEVICE_STATUS); }
static inline void vp_set_status(struct vp_dev *d, uint8_t s) { vp_w8(d, VP_DEVICE_STATUS, s); }

/* vp_reset - write 0 to device_status and wait (bounded) until it reads 0 (4.1.4.3.2). */
void vp_reset(struct vp_dev *d);

/* vp_device_features - all 64 offered feature bits (selects 0 and 1). */
uint64_t vp_device_features(struct vp_dev *d);

/*
 * vp_negotiate - write @f as the driver features, set FEATURES_OK and
 * return whether it reads back set (3.1.1 steps 5-6). Status must hold
 * ACKNOWLEDGE|DRIVER already.
 */
bool vp_negotiate(struct vp_dev *d, uint64_t f);

/* vp_init - reset, ACKNOWLEDGE|DRIVER, negotiate exactly VERSION_1; aborts if refused. */
void vp_init(struct vp_dev *d);

/*
 * vq_setup - select queue @index, size it min(max, @size), point it at
 * @mem (cleared) and map it to MSI-X @vector (skipped when
 * VIRTIO_MSI_NO_VECTOR); checks each read-back. Does not enable it.
 */
void vq_setup(struct vp_dev *d, struct virtq *vq, uint16_t index, uint16_t size,
	      struct vq_mem *mem, uint16_t vector);

/* vq_enable - queue_enable = 1 for vq (selects it). */
void vq_enable(struct vp_dev *d, struct virtq *vq);

/* vq_add - chain @n buffers (@writable: device-writable) and make the chain available; returns the head. */
uint16_t vq_add(struct virtq *vq, const uint64_t *addr, const uint32_t *len, unsigned int n, bool writable);

/* vq_kick - notify the device of queue vq->index (4.1.4.4: a 16-bit write of the index). */
static inline void vq_kick(struct virtq *vq) { mmio_write16(vq->notify, vq->index); }

static inline uint16_t vq_used_idx(struct virtq *vq) { return *(volatile uint16_t *)&vq->mem->used.idx; }

/* --- MSI-X ------------------------------------------------------------------- */

/* vp_msix_entry - program table entry @i: to the LAPIC of @apic, @vector, masked or not. */
void vp_msix_entry(struct vp_dev *d, unsigned int i, uint8_t apic, uint8_t vector, bool masked);
void vp_msix_mask(struct vp_dev *d, unsigned int i, bool masked);
/* vp_msix_ctrl - Message Control = (old & ~@clear) | @set. */
void vp_msix_ctrl(struct vp_dev *d, uint16_t set, uint16_t clear);
bool vp_msix_pending(struct vp_dev *d, unsigned int i);

#endif
