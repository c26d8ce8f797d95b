// SPDX-License-Identifier: Apache-2.0
/*
 * kvmio's emulated VT-d (--iommu) from a guest that drives it by hand:
 * root, context and 4-level page tables of its own for the virtio-rng
 * function, translation on, the fault event interrupt programmed; then
 *   map      the rng fills a buffer through a mapped IOVA (its rings at an
 *            IOVA too), the bytes land in the page the tables name;
 *   ro       a device write to a page mapped read-only is refused: fault
 *            record 0 says write fault (5) at that page from the rng's
 *            requester id, FSTS.PPF, the fault interrupt comes, and the page
 *            keeps its bytes;
 *   unmap    the buffer's mapping removed and the IOTLB invalidated, the
 *            device's next DMA there is refused the same way (record 1, no
 *            second interrupt while PPF is still set) and nothing changes;
 *   clear    the records cleared (F written 1), PPF goes, and the next fault
 *            interrupts again;
 *   queue    queued invalidation: an IOTLB flush and a wait with status write
 *            and interrupt (the status lands, the completion interrupt comes,
 *            ICS.IWC is set); then a descriptor the unit does not offer stops
 *            the queue at it with FSTS.IQE and the fault interrupt, and once
 *            it is fixed and IQE cleared the queue goes on.
 * Also: the rng offers ACCESS_PLATFORM and refuses a driver that declines it.
 * One "UCALL SYNC vtd: NAME ok" line each; run.sh runs it with --rng --iommu.
 */
#include "virtio_lib.h"
#include "vtd_lib.h"

#define VIRTIO_F_ACCESS_PLATFORM 33

#define VEC_Q			0x40
#define VEC_FAULT		0x50
#define VEC_INV			0x51
#define ONE_S			1000000

/* IOVAs: a 4 KiB page each, from 1 GiB. */
#define IOVA(n)			(0x40000000ul + (uint64_t)(n) * 4096)
#define IOVA_RING		IOVA(0)
#define IOVA_BUF		IOVA(1)
#define IOVA_RO			IOVA(2)

static uint64_t root[512] __attribute__((aligned(4096)));
static uint64_t ctxt[512] __attribute__((aligned(4096)));
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[512] __attribute__((aligned(4096)));
static uint64_t pt[512] __attribute__((aligned(4096)));
static struct vq_mem qm __attribute__((aligned(4096)));
static uint8_t buf[2][4096] __attribute__((aligned(4096)));
static uint64_t iq[512] __attribute__((aligned(4096)));	/* 256 descriptors of 16 bytes */
static volatile uint32_t iq_status;

static struct vp_dev d;
static struct virtq vq;
static unsigned int rng;
static volatile unsigned int q_irqs, fault_irqs, inv_irqs;

static void q_isr(struct regs *r) { (void)r; q_irqs++; lapic_eoi(); }
static void fault_isr(struct regs *r) { (void)r; fault_irqs++; lapic_eoi(); }
static void inv_isr(struct regs *r) { (void)r; inv_irqs++; lapic_eoi(); }

static void tables(void)
{
	unsigned int devfn = rng & 0xFF;

	root[0] = (uint64_t)ctxt | 1;				/* bus 0 */
	ctxt[2 * devfn] = (uint64_t)pml4 | 1;			/* present, TT 0 */
	ctxt[2 * devfn + 1] = 1u << 8 | 2;			/* domain 1, 48-bit: 4 levels */
	pml4[0] = (uint64_t)pdpt | 3;
	pdpt[1] = (uint64_t)pd | 3;				/* 1 GiB */
	pd[0] = (uint64_t)pt | 3;
	pt[0] = (uint64_t)&qm | 3;				/* rings: read and written */
	pt[1] = (uint64_t)buf[0] | 2;				/* the buffer: written */
	pt[2] = (uint64_t)buf[1] | 1;				/* read-only */
}

static uint16_t post(uint64_t iova)
{
	uint32_t len = 64;
	uint16_t head = vq_add(&vq, &iova, &len, 1, true);

	vq_kick(&vq);
	return head;
}

/* The @n-th completion, of @head: @len bytes written, or 0 for a refused DMA. */
static uint32_t wait_used(unsigned int n, uint16_t head)
{
	GUEST_ASSERT_MSG(wait_count(&q_irqs, n, ONE_S), "no queue interrupt for request %u (used idx %u)",
			 n, vq_used_idx(&vq));
	GUEST_ASSERT_MSG(vq_used_idx(&vq) == n, "used idx %u, want %u", vq_used_idx(&vq), n);
	volatile struct vring_used_elem *e = &qm.used.ring[(n - 1) % vq.size];

	GUEST_ASSERT_MSG(e->id == head, "used id %u, posted %u", e->id, head);
	return e->len;
}

static void check_record(unsigned int i, uint64_t iova)
{
	uint64_t lo = vtd_r64(vtd_frr() + 16 * i), hi = vtd_r64(vtd_frr() + 16 * i + 8);

	GUEST_ASSERT_MSG(hi >> 63, "fault record %u: F clear (hi 0x%lx)", i, hi);
	GUEST_ASSERT_MSG((hi >> 32 & 0xFF) == FR_WRITE, "fault record %u: reason 0x%lx, want 5 (write)",
			 i, hi >> 32 & 0xFF);
	GUEST_ASSERT_MSG(!(hi >> 62 & 1), "fault record %u: type says read", i);
	GUEST_ASSERT_MSG((hi & 0xFFFF) == rng, "fault record %u: source 0x%lx, want the rng's 0x%x",
			 i, hi & 0xFFFF, rng);
	GUEST_ASSERT_MSG(lo == iova, "fault record %u: page 0x%lx, want 0x%lx", i, lo, iova);
}

static bool untouched(const uint8_t *p, uint8_t v)
{
	for (unsigned int i = 0; i < 4096; i++)
		if (p[i] != v)
			return false;
	return true;
}

void guest_main(void)
{
	uint8_t bsp;
	uint64_t f;
	uint16_t head;
	uint32_t len;

	irq_init();
	bsp = (uint8_t)lapic_id();
	idt_set_handler(VEC_Q, q_isr);
	idt_set_handler(VEC_FAULT, fault_isr);
	idt_set_handler(VEC_INV, inv_isr);
	GUEST_ASSERT_MSG(vtd_present(), "no VT-d registers at 0x%lx: was kvmio run with --iommu?", VTD);
	GUEST_ASSERT_MSG(vtd_r64(VTD_CAP) & (1u << 7), "CAP 0x%lx: no caching mode", vtd_r64(VTD_CAP));
	GUEST_ASSERT_MSG(vp_find(VIRTIO_ID_RNG, &rng), "no virtio-rng: was kvmio run with --rng?");

	/* The unit: tables, root pointer, fault interrupt to us, translation on. */
	tables();
	vtd_w64(VTD_RTADDR, (uint64_t)root);
	vtd_cmd(GCMD_SRTP);
	vtd_w32(VTD_FEDATA, VEC_FAULT);
	vtd_w32(VTD_FEADDR, 0xFEE00000u | (uint32_t)bsp << 12);
	vtd_w32(VTD_FEUADDR, 0);
	vtd_w32(VTD_FECTL, 0);
	vtd_cmd(GCMD_TE);

	/* The rng, behind it: ACCESS_PLATFORM offered, and required. */
	vp_probe(&d, rng);
	pci_w16(rng, PCI_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER);
	vp_reset(&d);
	vp_set_status(&d, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	f = vp_device_features(&d);
	GUEST_ASSERT_MSG(f & 1ull << VIRTIO_F_ACCESS_PLATFORM, "features 0x%lx: no ACCESS_PLATFORM", f);
	GUEST_ASSERT_MSG(!vp_negotiate(&d, 1ull << VIRTIO_F_VERSION_1),
			 "FEATURES_OK accepted without ACCESS_PLATFORM behind an IOMMU");
	vp_reset(&d);
	vp_set_status(&d, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	GUEST_ASSERT_MSG(vp_negotiate(&d, 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_ACCESS_PLATFORM),
			 "FEATURES_OK refused for VERSION_1 | ACCESS_PLATFORM");
	GUEST_SYNC("vtd: features ok");

	vp_msix_ctrl(&d, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL, 0);
	vp_msix_entry(&d, 0, bsp, VEC_Q, false);
	vp_msix_ctrl(&d, 0, MSIX_CTRL_MASKALL);
	vq_setup(&d, &vq, 0, 8, &qm, 0);
	/* The rings at their IOVAs: the device sees nothing else. */
	vp_w64(&d, VP_QUEUE_DESC, IOVA_RING + __builtin_offsetof(struct vq_mem, desc));
	vp_w64(&d, VP_QUEUE_DRIVER, IOVA_RING + __builtin_offsetof(struct vq_mem, avail));
	vp_w64(&d, VP_QUEUE_DEVICE, IOVA_RING + __builtin_offsetof(struct vq_mem, used));
	vq_enable(&d, &vq);
	vp_set_status(&d, vp_status(&d) | VIRTIO_STATUS_DRIVER_OK);

	/* map */
	memset(buf[0], 0, sizeof(buf[0]));
	head = post(IOVA_BUF + 128);
	len = wait_used(1, head);
	GUEST_ASSERT_MSG(len >= 1 && len <= 64, "used len %u", len);
	GUEST_ASSERT_MSG(!untouched(buf[0] + 128, 0), "the rng's bytes are not in the page IOVA 0x%lx maps",
			 IOVA_BUF);
	for (unsigned int i = 128 + 64; i < sizeof(buf[0]); i++)
		GUEST_ASSERT_MSG(buf[0][i] == 0, "byte %u past the 64-byte buffer was written", i);
	GUEST_ASSERT_EQ(fault_irqs, 0);
	GUEST_ASSERT_EQ(vtd_r32(VTD_FSTS) & FSTS_PPF, 0);
	GUEST_SYNC("vtd: map ok");

	/* ro */
	memset(buf[1], 0x5A, sizeof(buf[1]));
	head = post(IOVA_RO);
	len = wait_used(2, head);
	GUEST_ASSERT_MSG(len == 0, "a write to a read-only page reported %u bytes", len);
	GUEST_ASSERT_MSG(wait_count(&fault_irqs, 1, ONE_S), "no fault interrupt (FSTS 0x%x)", vtd_r32(VTD_FSTS));
	GUEST_ASSERT_MSG(vtd_r32(VTD_FSTS) & FSTS_PPF, "FSTS 0x%x: PPF clear after a fault", vtd_r32(VTD_FSTS));
	GUEST_ASSERT_EQ(vtd_r32(VTD_FSTS) >> 8 & 0xFF, 0);
	check_record(0, IOVA_RO);
	GUEST_ASSERT_MSG(untouched(buf[1], 0x5A), "the read-only page was written");
	GUEST_SYNC("vtd: ro ok");

	/* unmap */
	pt[1] = 0;
	vtd_flush_iotlb(0, 0, 0, true);
	memset(buf[0], 0x77, sizeof(buf[0]));
	head = post(IOVA_BUF);
	len = wait_used(3, head);
	GUEST_ASSERT_MSG(len == 0, "a write to an unmapped page reported %u bytes", len);
	check_record(1, IOVA_BUF);
	GUEST_ASSERT_MSG(untouched(buf[0], 0x77), "the unmapped page was written");
	delay_us(20000);
	GUEST_ASSERT_MSG(fault_irqs == 1, "%u fault interrupts: PPF was still set, want 1", fault_irqs);
	GUEST_SYNC("vtd: unmap ok");

	/* clear */
	for (unsigned int i = 0; i < 2; i++)
		vtd_w32(vtd_frr() + 16 * i + 12, 1u << 31);
	GUEST_ASSERT_MSG(!(vtd_r32(VTD_FSTS) & FSTS_PPF), "FSTS 0x%x: PPF set with every record cleared",
			 vtd_r32(VTD_FSTS));
	head = post(IOVA_BUF);
	GUEST_ASSERT_EQ(wait_used(4, head), 0);
	GUEST_ASSERT_MSG(wait_count(&fault_irqs, 2, ONE_S), "no fault interrupt after the records were cleared");
	GUEST_ASSERT_EQ(vtd_r32(VTD_FSTS) >> 8 & 0xFF, 2);
	check_record(2, IOVA_BUF);
	GUEST_SYNC("vtd: clear ok");

	/* queue */
	vtd_w32(vtd_frr() + 16 * 2 + 12, 1u << 31);
	GUEST_ASSERT_EQ(vtd_r32(VTD_FSTS) & FSTS_PPF, 0);
	vtd_w64(VTD_IQT, 0);
	vtd_w64(VTD_IQA, (uint64_t)iq);				/* QS 0: 256 entries */
	vtd_cmd(GCMD_QIE);
	GUEST_ASSERT_EQ(vtd_r64(VTD_IQH), 0);
	vtd_w32(VTD_IEDATA, VEC_INV);
	vtd_w32(VTD_IEADDR, 0xFEE00000u | (uint32_t)bsp << 12);
	vtd_w32(VTD_IECTL, 0);
	iq[0] = 0x2 | 1 << 4;					/* IOTLB, global */
	iq[1] = 0;
	iq[2] = 0x5 | 1 << 4 | 1 << 5 | 0xD0DEul << 32;	/* wait: interrupt, status write */
	iq[3] = (uint64_t)&iq_status;
	vtd_w64(VTD_IQT, 2 << 4);
	GUEST_ASSERT_MSG(iq_status == 0xD0DE, "wait descriptor status 0x%x, want 0xd0de", iq_status);
	GUEST_ASSERT_EQ(vtd_r64(VTD_IQH), 2 << 4);
	GUEST_ASSERT_MSG(wait_count(&inv_irqs, 1, ONE_S), "no invalidation-completion interrupt (ICS 0x%x)",
			 vtd_r32(VTD_ICS));
	GUEST_ASSERT_EQ(vtd_r32(VTD_ICS) & 1, 1);
	vtd_w32(VTD_ICS, 1);
	GUEST_ASSERT_EQ(vtd_r32(VTD_ICS) & 1, 0);
	/* A device-TLB invalidation (no ATS offered): the queue stops there, IQE, a fault event. */
	iq[4] = 0x3;
	iq[5] = 0;
	iq[6] = 0x5 | 1 << 5 | 0xBEEFul << 32;
	iq[7] = (uint64_t)&iq_status;
	vtd_w64(VTD_IQT, 4 << 4);
	GUEST_ASSERT_MSG(vtd_r32(VTD_FSTS) & FSTS_IQE, "FSTS 0x%x: no IQE for a device-TLB descriptor",
			 vtd_r32(VTD_FSTS));
	GUEST_ASSERT_EQ(vtd_r64(VTD_IQH), 2 << 4);
	GUEST_ASSERT_MSG(wait_count(&fault_irqs, 3, ONE_S), "no fault interrupt for the queue error");
	GUEST_ASSERT_EQ(iq_status, 0xD0DE);
	iq[4] = 0x2 | 1 << 4;					/* fixed: an IOTLB flush */
	vtd_w32(VTD_FSTS, FSTS_IQE);
	GUEST_ASSERT_EQ(vtd_r32(VTD_FSTS) & FSTS_IQE, 0);
	GUEST_ASSERT_EQ(vtd_r64(VTD_IQH), 4 << 4);
	GUEST_ASSERT_MSG(iq_status == 0xBEEF, "the queue did not go on after IQE was cleared");
	GUEST_SYNC("vtd: queue ok");
	ucall_done();
}
