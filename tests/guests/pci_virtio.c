// SPDX-License-Identifier: Apache-2.0
/*
 * The pci guest's virtio-pci tests: the rng driven over MSI-X and INTx,
 * feature negotiation, queue selection, masking, broken rings. See pci.c
 * for the list and pci_fixture.h for what they share.
 */
#include "pci_fixture.h"

/* --- msix -------------------------------------------------------------------------- */

void test_msix(void)
{
	fresh();
	vp_w16(&vd, VP_QUEUE_SELECT, 0);
	uint16_t qmax = vp_r16(&vd, VP_QUEUE_SIZE);

	rng_start(true, false, &qmem[0]);
	uint16_t head = rng_post(0);

	GUEST_ASSERT_MSG(wait_count(&msi_count, 1, ONE_S),
			 "no MSI-X interrupt 1 s after the notify (used idx %u, INTx %u)",
			 vq_used_idx(&vq), intx_count);
	check_used(1, head, 0, 64);
	quiet();
	GUEST_ASSERT_MSG(msi_count == 1, "%u MSI-X interrupts for one buffer", msi_count);
	GUEST_ASSERT_MSG(!intx_count && !intx_spurious, "INTx raised while MSI-X is enabled (PCI 6.8.1)");
	GUEST_ASSERT_EQ(msi_cfg_count, 0);

	/* A chain of two writable descriptors. */
	uint64_t a[2] = { (uint64_t)bufs[1], (uint64_t)bufs[1] + 32 };
	uint32_t l[2] = { 32, 32 };

	memset(bufs[1], 0, 64);
	memset(bufs[1] + 64, 0xA5, 64);
	head = vq_add(&vq, a, l, 2, true);
	vq_kick(&vq);
	GUEST_ASSERT_MSG(wait_count(&msi_count, 2, ONE_S), "no MSI-X interrupt for the 2-descriptor chain");
	check_used(2, head, 1, 64);

	/* Retarget entry 0 to another vector, masked while it changes (PCI 6.8.3.5). */
	vp_msix_entry(&vd, 0, bsp, VEC_MSI_ALT, false);
	head = rng_post(2);
	GUEST_ASSERT_MSG(wait_count(&msi_alt_count, 1, ONE_S),
			 "entry 0 retargeted to vector 0x%x: no interrupt there (old vector: %u)", VEC_MSI_ALT,
			 msi_count - 2);
	check_used(3, head, 2, 64);
	GUEST_ASSERT_EQ(msi_count, 2);
	vp_msix_entry(&vd, 0, bsp, VEC_MSI_Q, false);

	/* Reset (4.1.4.3.1, 4.1.5.1.2.1): queue off, vectors unmapped, size back to max. */
	vp_reset(&vd);
	vp_w16(&vd, VP_QUEUE_SELECT, 0);
	GUEST_ASSERT_MSG(!vp_r16(&vd, VP_QUEUE_ENABLE), "queue_enable still 1 after reset");
	GUEST_ASSERT_MSG(vp_r16(&vd, VP_QUEUE_MSIX_VECTOR) == VIRTIO_MSI_NO_VECTOR,
			 "queue_msix_vector 0x%x after reset (4.1.5.1.2.1: MUST be unmapped)",
			 vp_r16(&vd, VP_QUEUE_MSIX_VECTOR));
	GUEST_ASSERT_MSG(vp_r16(&vd, VP_CONFIG_MSIX_VECTOR) == VIRTIO_MSI_NO_VECTOR,
			 "config_msix_vector 0x%x after reset (4.1.5.1.2.1: MUST be unmapped)",
			 vp_r16(&vd, VP_CONFIG_MSIX_VECTOR));
	PCI_NOTE_UNLESS(vp_r16(&vd, VP_QUEUE_SIZE) == qmax,
			"queue_size reads %u after reset, not the maximum %u (4.1.4.3)",
			vp_r16(&vd, VP_QUEUE_SIZE), qmax);
	GUEST_ASSERT_EQ(vp_r64(&vd, VP_QUEUE_DESC), 0);
	/* A notify to the reset device must not touch the old rings. */
	bufs[2][0] = 0;
	uint64_t a2 = (uint64_t)bufs[2];
	uint32_t l2 = 64;

	(void)vq_add(&vq, &a2, &l2, 1, true);
	vq_kick(&vq);
	quiet();
	GUEST_ASSERT_MSG(vq_used_idx(&vq) == 3, "reset device consumed from the old ring (used idx %u)",
			 vq_used_idx(&vq));
	struct vq_mem *old = vq.mem;

	/* Again from scratch on fresh rings. */
	rng_start(true, false, &qmem[1]);
	head = rng_post(3);
	GUEST_ASSERT_MSG(wait_count(&msi_count, 3, ONE_S), "no MSI-X interrupt after reset and re-init");
	check_used(1, head, 3, 64);
	GUEST_ASSERT_MSG(old->used.idx == 3, "the old ring's used idx moved to %u after reset", old->used.idx);

	/* Bus Master clear: the function may not write memory or send MSI-X (PCI 6.2.2). */
	pci_w16(rng, PCI_COMMAND, pci_r16(rng, PCI_COMMAND) & ~PCI_CMD_MASTER);
	head = rng_post(0);
	quiet();
	PCI_NOTE_UNLESS(vq_used_idx(&vq) == 1 && msi_count == 3,
			"with COMMAND.Bus Master clear the device still wrote the used ring (idx %u) and "
			"sent %u MSI-X messages (PCI 6.2.2)", vq_used_idx(&vq), msi_count - 3);
	pci_w16(rng, PCI_COMMAND, pci_r16(rng, PCI_COMMAND) | PCI_CMD_MASTER);
	vq_kick(&vq);
	GUEST_ASSERT_MSG(wait_count(&msi_count, 4, ONE_S), "no MSI-X interrupt with Bus Master back on");
	check_used(2, head, 0, 64);
	GUEST_SYNC("pci: msix ok: 6 buffers, vectors 0x%x and 0x%x on APIC %u", VEC_MSI_Q, VEC_MSI_ALT, bsp);
}

/* --- intx ---------------------------------------------------------------------------- */

static void check_intx_round(unsigned int n, uint16_t head, unsigned int b)
{
	GUEST_ASSERT_MSG(wait_count(&intx_count, n, ONE_S),
			 "no INTx on IOAPIC pin %u 1 s after the notify (used idx %u, MSI %u)",
			 intx_gsi, vq_used_idx(&vq), msi_count);
	check_used(n, head, b, 64);
	GUEST_ASSERT_MSG(intx_isr[n - 1] & VIRTIO_ISR_QUEUE,
			 "ISR read in the handler: 0x%x, queue bit clear (4.1.4.5.1)", intx_isr[n - 1]);
	PCI_NOTE_UNLESS(!(intx_isr[n - 1] & VIRTIO_ISR_CONFIG), "ISR config bit set: 0x%x", intx_isr[n - 1]);
	GUEST_ASSERT_MSG(intx_status[n - 1] & PCI_STATUS_INTX,
			 "PCI Status.Interrupt Status clear while ISR was 0x%x (4.1.4.5.1: MUST mirror it)",
			 intx_isr[n - 1]);
	GUEST_ASSERT_MSG(mmio_read8(vd.isr_a) == 0, "ISR reads 0x%x after the handler read it (4.1.4.5.1: read clears)",
			 mmio_read8(vd.isr_a));
	GUEST_ASSERT_MSG(!(pci_r16(rng, PCI_STATUS) & PCI_STATUS_INTX), "Status.Interrupt Status still set after the ISR read");
	quiet();
	GUEST_ASSERT_MSG(intx_count == n, "%u INTx deliveries with ISR set for %u buffers", intx_count, n);
	GUEST_ASSERT_MSG(intx_spurious + intx_count < 32,
			 "INTx storm: %u deliveries finding ISR 0 for %u buffers: the line stays asserted "
			 "after the ISR read (4.1.4.5.1)", intx_spurious, n);
	GUEST_ASSERT_MSG(!intx_spurious_high, "%u deliveries found ISR 0 with Status.Interrupt Status set",
			 intx_spurious_high);
	GUEST_ASSERT_MSG(intx_spurious <= n, "%u spurious INTx deliveries for %u buffers (ISR 0, line low)",
			 intx_spurious, n);
	PCI_NOTE_UNLESS(!intx_spurious, "%u spurious INTx re-deliveries after EOI, line low "
			"(kvm_pvm does this for any level interrupt)", intx_spurious);
	GUEST_ASSERT_MSG(!(ioapic_read(0x10 + 2 * intx_gsi) & IOAPIC_RTE_REMOTE_IRR),
			 "IOAPIC pin %u Remote IRR still set after EOI", intx_gsi);
}

void test_intx(void)
{
	fresh();
	GUEST_ASSERT_EQ(mmio_read8(vd.isr_a), 0);
	rng_start(false, false, &qmem[0]);
	GUEST_ASSERT_EQ(mmio_read8(vd.isr_a), 0);
	uint16_t head = rng_post(0);

	check_intx_round(1, head, 0);
	head = rng_post(1);
	check_intx_round(2, head, 1);
	GUEST_ASSERT_EQ(msi_count, 0);
	GUEST_SYNC("pci: intx ok: slot %u pin %c -> IOAPIC pin %u, level", PCI_SLOT(rng),
		   'A' + pci_r8(rng, PCI_INT_PIN) - 1, intx_gsi);
}

void test_intx_dis(void)
{
	fresh();
	rng_start(false, false, &qmem[0]);
	pci_w16(rng, PCI_COMMAND, pci_r16(rng, PCI_COMMAND) | PCI_CMD_INTX_DISABLE);
	uint16_t head = rng_post(0);

	GUEST_ASSERT_MSG(wait_for(used_reached, (void *)1, ONE_S), "buffer not used with Interrupt Disable set");
	quiet();
	GUEST_ASSERT_MSG(!intx_count, "INTx delivered with COMMAND.Interrupt Disable set (PCI 6.2.2)");
	GUEST_ASSERT_MSG(pci_r16(rng, PCI_STATUS) & PCI_STATUS_INTX,
			 "Status.Interrupt Status clear with the queue interrupt pending (PCI 6.2.3, 4.1.4.5.1)");
	pci_w16(rng, PCI_COMMAND, pci_r16(rng, PCI_COMMAND) & ~PCI_CMD_INTX_DISABLE);
	check_intx_round(1, head, 0);
	GUEST_SYNC("pci: intx-dis ok");
}

void test_intx_back(void)
{
	fresh();
	rng_start(true, false, &qmem[0]);
	vp_msix_ctrl(&vd, 0, MSIX_CTRL_ENABLE);
	uint16_t head = rng_post(0);

	/* 4.1.5.3: with MSI-X disabled it is ISR + INTx, whatever queue_msix_vector holds. */
	check_intx_round(1, head, 0);
	GUEST_ASSERT_MSG(!msi_count, "MSI-X message sent while MSI-X is disabled");
	/* And back to MSI-X: no more INTx (PCI 6.8.1). */
	vp_msix_ctrl(&vd, MSIX_CTRL_ENABLE, 0);
	GUEST_ASSERT_MSG(vp_r16(&vd, VP_QUEUE_MSIX_VECTOR) == 0, "queue_msix_vector lost across MSI-X off/on");
	head = rng_post(1);
	GUEST_ASSERT_MSG(wait_count(&msi_count, 1, ONE_S), "no MSI-X interrupt after re-enabling MSI-X");
	check_used(2, head, 1, 64);
	quiet();
	GUEST_ASSERT_MSG(intx_count == 1, "INTx raised with MSI-X enabled (PCI 6.8.1)");
	GUEST_SYNC("pci: intx-back ok");
}

/* --- features ------------------------------------------------------------------------ */

static void driver_ack(void)
{
	vp_reset(&vd);
	vp_set_status(&vd, VIRTIO_STATUS_ACK);
	vp_set_status(&vd, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
}

void test_features(void)
{
	fresh();
	driver_ack();
	uint64_t f = vp_device_features(&vd);

	GUEST_SYNC("pci: rng offers features 0x%lx", f);
	GUEST_ASSERT_MSG(f & (1ull << VIRTIO_F_VERSION_1), "VERSION_1 not offered (6.1)");
	vp_w32(&vd, VP_DEVICE_FEATURE_SELECT, 2);
	PCI_NOTE_UNLESS(vp_r32(&vd, VP_DEVICE_FEATURE) == 0,
			"device_feature with select 2 (bits 64-95) reads 0x%x", vp_r32(&vd, VP_DEVICE_FEATURE));
	vp_w32(&vd, VP_DEVICE_FEATURE_SELECT, 0);

	/* 2.2.1: a subset with a bit the device did not offer is not valid: FEATURES_OK stays clear. */
	unsigned int lo = 0, hi = 33;

	while (lo < 32 && (f >> lo & 1))
		lo++;
	while (hi < 64 && (f >> hi & 1))
		hi++;
	GUEST_ASSERT(lo < 32 && hi < 64);
	bool ok = vp_negotiate(&vd, 1ull << VIRTIO_F_VERSION_1 | 1ull << lo);

	GUEST_ASSERT_MSG(!ok, "FEATURES_OK set with unoffered feature bit %u accepted (2.2.1)", lo);
	driver_ack();
	ok = vp_negotiate(&vd, 1ull << VIRTIO_F_VERSION_1 | 1ull << hi);
	GUEST_ASSERT_MSG(!ok, "FEATURES_OK set with unoffered feature bit %u accepted (2.2.1)", hi);
	driver_ack();
	ok = vp_negotiate(&vd, 0);
	if (ok)
		PCI_NOTE("FEATURES_OK set without VERSION_1 (6.1: a device MAY fail it)");

	/* The valid subset is taken, and driver_feature reads back (4.1.4.3: read-write). */
	driver_ack();
	GUEST_ASSERT_MSG(vp_negotiate(&vd, 1ull << VIRTIO_F_VERSION_1), "FEATURES_OK refused for VERSION_1");
	vp_w32(&vd, VP_DRIVER_FEATURE_SELECT, 1);
	GUEST_ASSERT_EQ(vp_r32(&vd, VP_DRIVER_FEATURE), 1);
	vp_w32(&vd, VP_DRIVER_FEATURE_SELECT, 0);
	GUEST_ASSERT_EQ(vp_r32(&vd, VP_DRIVER_FEATURE), 0);

	/* DRIVER_OK without FEATURES_OK: a broken driver; the device must survive it. */
	driver_ack();
	vp_set_status(&vd, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	GUEST_SYNC("pci: DRIVER_OK without FEATURES_OK: status reads 0x%x", vp_status(&vd));
	check_alive("DRIVER_OK without FEATURES_OK");
	vp_reset(&vd);
	GUEST_SYNC("pci: features ok: unoffered bits %u and %u refused", lo, hi);
}

/* --- qsel ------------------------------------------------------------------------------- */

void test_qsel(void)
{
	fresh();
	driver_ack();
	GUEST_ASSERT(vp_negotiate(&vd, 1ull << VIRTIO_F_VERSION_1));
	msix_on(false);
	vp_w16(&vd, VP_QUEUE_SELECT, 0);
	uint16_t max = vp_r16(&vd, VP_QUEUE_SIZE), nq = vp_r16(&vd, VP_NUM_QUEUES);
	const uint16_t sels[] = { 0xFFFF, nq, 0x8000, 0x100, (uint16_t)(nq + 8) };

	for (unsigned int i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
		vp_w16(&vd, VP_QUEUE_SELECT, sels[i]);
		GUEST_ASSERT_MSG(vp_r16(&vd, VP_QUEUE_SIZE) == 0,
				 "queue_select 0x%x: queue_size reads %u (4.1.4.3.1: MUST be 0 for an unavailable queue)",
				 sels[i], vp_r16(&vd, VP_QUEUE_SIZE));
		/* Writes to a queue that does not exist go nowhere. */
		vp_w16(&vd, VP_QUEUE_SIZE, 4);
		vp_w64(&vd, VP_QUEUE_DESC, (uint64_t)qmem[1].desc);
		vp_w16(&vd, VP_QUEUE_MSIX_VECTOR, 0);
		vp_w16(&vd, VP_QUEUE_ENABLE, 1);
		PCI_NOTE_UNLESS(!vp_r16(&vd, VP_QUEUE_ENABLE), "queue_select 0x%x: queue_enable reads 1 after a write",
				sels[i]);
		vp_w16(&vd, VP_QUEUE_SELECT, 0);
		GUEST_ASSERT_MSG(vp_r16(&vd, VP_QUEUE_SIZE) == max && !vp_r16(&vd, VP_QUEUE_ENABLE) &&
				 !vp_r64(&vd, VP_QUEUE_DESC) &&
				 vp_r16(&vd, VP_QUEUE_MSIX_VECTOR) == VIRTIO_MSI_NO_VECTOR,
				 "writes with queue_select 0x%x reached queue 0 (size %u enable %u desc 0x%lx vector 0x%x)",
				 sels[i], vp_r16(&vd, VP_QUEUE_SIZE), vp_r16(&vd, VP_QUEUE_ENABLE),
				 vp_r64(&vd, VP_QUEUE_DESC), vp_r16(&vd, VP_QUEUE_MSIX_VECTOR));
	}

	/* MSI-X vectors past the table: the mapping fails, NO_VECTOR reads back (4.1.5.1.2.1). */
	const uint16_t bad[] = { (uint16_t)vd.msix_n, 0x7FF, 0x800, 0xFFFE };
	uint16_t got_q[4], got_c[4];

	for (unsigned int i = 0; i < 4; i++) {
		vp_w16(&vd, VP_QUEUE_SELECT, 0);
		vp_w16(&vd, VP_QUEUE_MSIX_VECTOR, bad[i]);
		got_q[i] = vp_r16(&vd, VP_QUEUE_MSIX_VECTOR);
		vp_w16(&vd, VP_CONFIG_MSIX_VECTOR, bad[i]);
		got_c[i] = vp_r16(&vd, VP_CONFIG_MSIX_VECTOR);
	}
	/* Run a buffer with whatever the last bad write left: kvmio must not index past its table. */
	vq_setup(&vd, &vq, 0, 8, &qmem[0], VIRTIO_MSI_NO_VECTOR);
	vp_w16(&vd, VP_QUEUE_MSIX_VECTOR, (uint16_t)vd.msix_n);
	vq_enable(&vd, &vq);
	vp_set_status(&vd, vp_status(&vd) | VIRTIO_STATUS_DRIVER_OK);
	(void)rng_post(0);
	GUEST_ASSERT_MSG(wait_for(used_reached, (void *)1, ONE_S), "buffer not used (queue vector out of range)");
	quiet();
	check_alive("a queue interrupt with an out-of-range vector");
	GUEST_ASSERT_MSG(!msi_count && !intx_count && !intx_spurious,
			 "interrupt (MSI %u, INTx %u) with the queue vector unmapped", msi_count, intx_count);
	/* Notifies for queues that do not exist, and of the wrong width. */
	mmio_write16(vq.notify, 0x1234);
	mmio_write16(vq.notify, 0xFFFF);
	mmio_write32(vq.notify, 0);
	mmio_write8(vq.notify, 0);
	check_alive("notifies for absent queues");
	for (unsigned int i = 0; i < 4; i++) {
		GUEST_ASSERT_MSG(got_q[i] == VIRTIO_MSI_NO_VECTOR,
				 "queue_msix_vector reads 0x%x after writing 0x%x past a %u-entry table (4.1.5.1.2.1)",
				 got_q[i], bad[i], vd.msix_n);
		GUEST_ASSERT_MSG(got_c[i] == VIRTIO_MSI_NO_VECTOR,
				 "config_msix_vector reads 0x%x after writing 0x%x past a %u-entry table (4.1.5.1.2.1)",
				 got_c[i], bad[i], vd.msix_n);
	}
	GUEST_SYNC("pci: qsel ok");
}

/* --- early-kick ------------------------------------------------------------------------ */

void test_early_kick(void)
{
	fresh();
	vp_init(&vd);
	msix_on(false);
	vq_setup(&vd, &vq, 0, 8, &qmem[0], 0);
	vq_enable(&vd, &vq);
	uint16_t head = rng_post(0);

	sti();
	delay_us(50000);
	cli();
	GUEST_ASSERT_MSG(vq_used_idx(&vq) == 0 && !msi_count,
			 "buffer consumed (used idx %u, %u MSIs) before DRIVER_OK (2.1.2: MUST NOT)",
			 vq_used_idx(&vq), msi_count);
	vp_set_status(&vd, vp_status(&vd) | VIRTIO_STATUS_DRIVER_OK);
	if (!wait_count(&msi_count, 1, 200000)) {
		PCI_NOTE("a buffer made available before DRIVER_OK waits for the next notify");
		vq_kick(&vq);
		GUEST_ASSERT_MSG(wait_count(&msi_count, 1, ONE_S), "no MSI-X interrupt after DRIVER_OK and a notify");
	}
	check_used(1, head, 0, 64);
	GUEST_SYNC("pci: early-kick ok");
}

/* --- msix-mask -------------------------------------------------------------------------- */

void test_msix_mask(void)
{
	fresh();
	rng_start(true, true, &qmem[0]);
	uint16_t head = rng_post(0);

	/* PCI 6.8.2.9-10: a masked vector's message is held, its PBA bit set. */
	GUEST_ASSERT_MSG(wait_for(used_reached, (void *)1, ONE_S), "buffer not used with vector 0 masked");
	quiet();
	check_used(1, head, 0, 64);
	GUEST_ASSERT_MSG(!msi_count, "MSI-X message sent through a masked entry");
	GUEST_ASSERT_MSG(vp_msix_pending(&vd, 0), "PBA bit 0 clear with vector 0 masked and its event pending");
	vp_msix_mask(&vd, 0, false);
	GUEST_ASSERT_MSG(wait_count(&msi_count, 1, ONE_S), "pending message not sent when vector 0 was unmasked");
	GUEST_ASSERT_MSG(!vp_msix_pending(&vd, 0), "PBA bit 0 still set after the message was sent");

	/* Function Mask the same way. */
	vp_msix_ctrl(&vd, MSIX_CTRL_MASKALL, 0);
	head = rng_post(1);
	GUEST_ASSERT_MSG(wait_for(used_reached, (void *)2, ONE_S), "buffer not used with Function Mask set");
	quiet();
	check_used(2, head, 1, 64);
	GUEST_ASSERT_MSG(msi_count == 1, "MSI-X message sent with Function Mask set");
	GUEST_ASSERT_MSG(vp_msix_pending(&vd, 0), "PBA bit 0 clear under Function Mask with the event pending");
	vp_msix_ctrl(&vd, 0, MSIX_CTRL_MASKALL);
	GUEST_ASSERT_MSG(wait_count(&msi_count, 2, ONE_S), "pending message not sent when Function Mask cleared");
	GUEST_ASSERT_MSG(!vp_msix_pending(&vd, 0), "PBA bit 0 still set after Function Mask cleared");

	/* Mask and unmask with nothing pending: no message. */
	vp_msix_mask(&vd, 0, true);
	vp_msix_mask(&vd, 0, false);
	quiet();
	GUEST_ASSERT_MSG(msi_count == 2, "%u messages: unmasking with nothing pending sent one", msi_count);
	GUEST_ASSERT_EQ(intx_count, 0);
	GUEST_SYNC("pci: msix-mask ok");
}

/* --- bad-ring ------------------------------------------------------------------------------ */

/* queue_enable = 1 on a bad ring: the device may refuse it (reads 0); Linux never reads it back. */
static uint16_t bad_enable(void)
{
	vp_w16(&vd, VP_QUEUE_SELECT, 0);
	vp_w16(&vd, VP_QUEUE_ENABLE, 1);
	return vp_r16(&vd, VP_QUEUE_ENABLE);
}

/*
 * One broken setup: used, DEVICE_NEEDS_RESET, queue_enable refused, or
 * nothing; kvmio must still answer and a reset must recover.
 */
static void bad_outcome(const char *what, uint16_t enabled)
{
	uint32_t us = enabled ? ONE_S / 2 : 50000;
	bool moved = wait_for(used_reached, (void *)1, us) ||
		     wait_for(status_bit, (void *)VIRTIO_STATUS_NEEDS_RESET, us);
	uint8_t st = vp_status(&vd);

	check_alive(what);
	GUEST_SYNC("pci: %s: queue_enable %u, status 0x%x, used idx %u, len %u, MSIs %u/%u", what, enabled,
		   st, vq_used_idx(&vq), vq.mem->used.ring[0].len, msi_count, msi_cfg_count);
	if (st & VIRTIO_STATUS_NEEDS_RESET)
		GUEST_ASSERT_MSG(wait_count(&msi_cfg_count, 1, ONE_S / 10),
				 "%s: DEVICE_NEEDS_RESET without a configuration change interrupt (2.1.2: MUST)",
				 what);
	if (enabled && !moved)
		PCI_NOTE("%s: neither used nor DEVICE_NEEDS_RESET", what);
	vp_reset(&vd);
	msi_count = msi_cfg_count = 0;
}

void test_bad_ring(void)
{
	fresh();
	/* A buffer outside RAM (queue.h: the chain is failed and returned with len 0). */
	rng_start(true, false, &qmem[0]);
	uint64_t a = FAR_GPA;
	uint32_t l = 64;

	(void)vq_add(&vq, &a, &l, 1, true);
	vq_kick(&vq);
	bad_outcome("buffer at 64 GiB", 1);

	/* Rings outside RAM. */
	vp_init(&vd);
	msix_on(false);
	vq_setup(&vd, &vq, 0, 8, &qmem[0], 0);
	vp_w64(&vd, VP_QUEUE_DESC, FAR_GPA);
	uint16_t en = bad_enable();

	vp_set_status(&vd, vp_status(&vd) | VIRTIO_STATUS_DRIVER_OK);
	vq_kick(&vq);
	bad_outcome("descriptor table at 64 GiB", en);

	/* Rings that straddle the end of the address space. */
	vp_init(&vd);
	msix_on(false);
	vq_setup(&vd, &vq, 0, 8, &qmem[0], 0);
	vp_w64(&vd, VP_QUEUE_DEVICE, 0xFFFFFFFFFFFFFFF0ull);
	en = bad_enable();

	vp_set_status(&vd, vp_status(&vd) | VIRTIO_STATUS_DRIVER_OK);
	vq_kick(&vq);
	bad_outcome("used ring at 2^64 - 16", en);

	/* A size that is not a power of two (2.7: split rings must be). */
	vp_init(&vd);
	msix_on(false);
	vq_setup(&vd, &vq, 0, 8, &qmem[0], 0);
	vp_w16(&vd, VP_QUEUE_SIZE, 3);
	en = bad_enable();

	vp_set_status(&vd, vp_status(&vd) | VIRTIO_STATUS_DRIVER_OK);
	vq.size = 3;
	(void)rng_post(0);
	bad_outcome("queue size 3", en);

	/* A descriptor chain that loops. */
	rng_start(true, false, &qmem[0]);
	qmem[0].desc[0] = (struct vring_desc){ (uint64_t)bufs[0], 64, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0 };
	qmem[0].avail.ring[0] = 0;
	barrier();
	*(volatile uint16_t *)&qmem[0].avail.idx = 1;
	vq_kick(&vq);
	bad_outcome("a descriptor chain looping on itself", 1);

	/* avail idx more than a ring ahead (2.7.13: the device must not trust it). */
	rng_start(true, false, &qmem[0]);
	*(volatile uint16_t *)&qmem[0].avail.idx = 0x8000;
	vq_kick(&vq);
	bad_outcome("avail idx 0x8000 ahead", 1);

	/* A head out of range. */
	rng_start(true, false, &qmem[0]);
	qmem[0].avail.ring[0] = 0xFFFF;
	barrier();
	*(volatile uint16_t *)&qmem[0].avail.idx = 1;
	vq_kick(&vq);
	bad_outcome("head index 0xffff", 1);

	/* After all that, a clean run works. */
	msi_count = 0;
	rng_start(true, false, &qmem[1]);
	uint16_t head = rng_post(1);

	GUEST_ASSERT_MSG(wait_count(&msi_count, 1, ONE_S), "no MSI-X interrupt on a clean run after the bad rings");
	check_used(1, head, 1, 64);
	GUEST_SYNC("pci: bad-ring ok: kvmio survived, reset recovers");
}
