// SPDX-License-Identifier: Apache-2.0
/*
 * The pci guest's shared steps; see pci_fixture.h.
 */
#include "pci_fixture.h"

struct vp_dev vd;
unsigned int rng;
uint8_t bsp;
unsigned int intx_gsi;
struct virtq vq;
struct vq_mem qmem[2];
uint8_t bufs[4][128] __attribute__((aligned(64)));

volatile unsigned int msi_count, msi_cfg_count, msi_alt_count, intx_count;
volatile unsigned int intx_spurious, intx_spurious_high;
volatile uint8_t intx_isr[8];
volatile uint16_t intx_status[8];

/* --- interrupt handlers ------------------------------------------------------ */

static void msi_q_isr(struct regs *r)
{
	(void)r;
	msi_count++;
	lapic_eoi();
}

static void msi_cfg_isr(struct regs *r)
{
	(void)r;
	msi_cfg_count++;
	lapic_eoi();
}

static void msi_alt_isr(struct regs *r)
{
	(void)r;
	msi_alt_count++;
	lapic_eoi();
}

/*
 * Level-triggered: the ISR read is what drops the line (4.1.4.5.1), so it
 * comes before the EOI. ECAM for the status read: the interrupted code may
 * be between its 0xCF8 and 0xCFC accesses.
 *
 * A delivery that finds ISR 0 is spurious. kvm_pvm re-delivers a level
 * interrupt once after its EOI even when the line went low before the EOI
 * (Remote IRR reads 0 in that second handler); COM1's THRE interrupt routed
 * level-triggered shows the same, so it is the hypervisor, not PCI. Those
 * are counted apart and checked for a low line; a line that really stays
 * up shows as a storm.
 */
static void intx_handler(struct regs *r)
{
	(void)r;
	unsigned int n = intx_count;
	uint16_t st = mmio_read16(pci_ecam_addr(rng, PCI_STATUS));
	uint8_t isr = mmio_read8(vd.isr_a);

	if (isr) {
		if (n < 8) {
			intx_status[n] = st;
			intx_isr[n] = isr;
		}
		intx_count = n + 1;
	} else {
		intx_spurious++;
		if (st & PCI_STATUS_INTX)
			intx_spurious_high++;
	}
	if (intx_count + intx_spurious >= 32)
		ioapic_mask(intx_gsi);	/* a line that never drops: stop the storm */
	lapic_eoi();
}

/* --- steps ------------------------------------------------------------- */

bool used_reached(void *arg)
{
	return vq_used_idx(&vq) >= (uintptr_t)arg;
}

bool status_bit(void *arg)
{
	return vp_status(&vd) & (uintptr_t)arg;
}

void check_alive(const char *after)
{
	GUEST_ASSERT_MSG(pci_r16(rng, PCI_VENDOR_ID) == VIRTIO_PCI_VENDOR,
			 "after %s: vendor ID via 0xCFC reads 0x%x", after, pci_r16(rng, PCI_VENDOR_ID));
	GUEST_ASSERT_MSG(vp_r16(&vd, VP_NUM_QUEUES) == 1,
			 "after %s: num_queues reads 0x%x", after, vp_r16(&vd, VP_NUM_QUEUES));
}

void fresh(void)
{
	static bool once;

	if (!once) {
		irq_init();
		bsp = (uint8_t)lapic_id();
		idt_set_handler(VEC_MSI_Q, msi_q_isr);
		idt_set_handler(VEC_MSI_CFG, msi_cfg_isr);
		idt_set_handler(VEC_MSI_ALT, msi_alt_isr);
		idt_set_handler(VEC_INTX, intx_handler);
		GUEST_ASSERT_MSG(vp_find(VIRTIO_ID_RNG, &rng),
				 "no virtio-rng (1af4:1044) on bus 0: was kvmio run with --rng?");
		once = true;
	}
	vp_probe(&vd, rng);
	vp_reset(&vd);
	if (vd.msix) {
		pci_w16(rng, vd.msix + MSIX_CTRL, 0);
		for (unsigned int i = 0; i < vd.msix_n; i++)
			vp_msix_mask(&vd, i, true);
	}
	pci_w16(rng, PCI_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER);
	uint8_t pin = pci_r8(rng, PCI_INT_PIN);

	GUEST_ASSERT_MSG(pin >= 1 && pin <= 4, "Interrupt Pin 0x%x: virtio-pci needs INTx (4.1.4.5.1)", pin);
	intx_gsi = PCI_INTX_GSI_BASE + (PCI_SLOT(rng) + pin - 1u) % 4;
	ioapic_route_raw(intx_gsi, VEC_INTX | IOAPIC_RTE_LEVEL | IOAPIC_RTE_ACTIVE_LOW, bsp);
	msi_count = msi_cfg_count = msi_alt_count = 0;
	intx_count = intx_spurious = intx_spurious_high = 0;
}

void msix_on(bool masked)
{
	GUEST_ASSERT_MSG(vd.msix, "no MSI-X capability");
	vp_msix_ctrl(&vd, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL, 0);
	vp_msix_entry(&vd, 0, bsp, VEC_MSI_Q, masked);
	if (vd.msix_n > 1)
		vp_msix_entry(&vd, 1, bsp, VEC_MSI_CFG, false);
	vp_msix_ctrl(&vd, 0, MSIX_CTRL_MASKALL);
	if (vd.msix_n > 1) {
		vp_w16(&vd, VP_CONFIG_MSIX_VECTOR, 1);
		GUEST_ASSERT_MSG(vp_r16(&vd, VP_CONFIG_MSIX_VECTOR) == 1,
				 "config_msix_vector reads 0x%x after writing 1 (4.1.5.1.2.1)",
				 vp_r16(&vd, VP_CONFIG_MSIX_VECTOR));
	}
}

void rng_start(bool msix, bool masked, struct vq_mem *mem)
{
	vp_init(&vd);
	if (msix)
		msix_on(masked);
	vq_setup(&vd, &vq, 0, 8, mem, msix ? 0 : VIRTIO_MSI_NO_VECTOR);
	vq_enable(&vd, &vq);
	vp_set_status(&vd, vp_status(&vd) | VIRTIO_STATUS_DRIVER_OK);
	GUEST_ASSERT_EQ(vp_status(&vd), VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER |
			VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* Bytes 64.. of the 128 are a sentinel the device must not touch. */
uint16_t rng_add(unsigned int b)
{
	uint64_t a = (uint64_t)bufs[b];
	uint32_t l = 64;

	memset(bufs[b], 0, 64);
	memset(bufs[b] + 64, 0xA5, 64);
	return vq_add(&vq, &a, &l, 1, true);
}

uint16_t rng_post(unsigned int b)
{
	uint16_t head = rng_add(b);

	vq_kick(&vq);
	return head;
}

void check_used(unsigned int n, uint16_t head, unsigned int b, uint32_t len)
{
	GUEST_ASSERT_MSG(vq_used_idx(&vq) == n, "used idx %u, want %u", vq_used_idx(&vq), n);
	volatile struct vring_used_elem *e = &vq.mem->used.ring[(n - 1) % vq.size];
	uint32_t got = e->len;

	GUEST_ASSERT_MSG(e->id == head, "used elem id %u, posted head %u", e->id, head);
	/* 5.4.6.1: one or more bytes, possibly fewer than the buffer holds. */
	GUEST_ASSERT_MSG(got >= 1 && got <= len, "used len %u for a %u-byte buffer (5.4.6.1)", got, len);
	PCI_NOTE_UNLESS(got == len, "rng filled %u of %u bytes (allowed by 5.4.6.1)", got, len);
	bool nonzero = false;

	for (uint32_t i = 0; i < got; i++)
		nonzero |= bufs[b][i] != 0;
	GUEST_ASSERT_MSG(nonzero, "the %u bytes the rng reports are all zero", got);
	for (unsigned int i = len; i < 128; i++)
		GUEST_ASSERT_MSG(bufs[b][i] == 0xA5, "byte %u past the %u-byte buffer was written", i, len);
}

void quiet(void)
{
	sti();
	delay_us(QUIET_US);
	cli();
}
