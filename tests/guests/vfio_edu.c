// SPDX-License-Identifier: Apache-2.0
/*
 * QEMU's "edu" test device (1234:11e8; QEMU docs/specs/edu.rst) assigned to
 * kvmio with --device vfio=BDF, driven through its documented interface as
 * a driver would, on the machine kvmio builds (BARs assigned, INTx through
 * the IOAPIC as _PRT says). Runs only in the rig (scenarios/vfio-edu.sh):
 * the host has no edu device. Checks, in order, one "UCALL SYNC edu: ..."
 * line each:
 *
 *   find     bus 0 has 1234:11e8; BAR0 is a 1 MiB 32-bit memory BAR in the
 *            MMIO32 window, the other BARs are absent; INTA; an MSI capability
 *   ident    0x00 reads 0x010000ed; liveness: 0x04 reads back ~x
 *   fact     factorials through 0x08, polling status 0x20 bit 0
 *   dma      4000 bytes guest RAM -> device -> other guest RAM, two
 *            patterns (the second across page boundaries), then an unaligned
 *            piece: the device reaches guest RAM at its GPAs through the
 *            IOMMU mapping kvmio made
 *   msi      MSI programmed in the (emulated) capability: a raise through
 *            0x60 arrives as the vector, 0x24 shows it, 0x64 clears it; twice;
 *            DMA and factorial completion interrupts; no INTx meanwhile
 *   intx     MSI off: level-triggered INTx on the _PRT pin, acked in the
 *            handler (0x64) before the EOI, three times in a row: VFIO masks
 *            INTx on the host when it fires, and only kvmio's unmask on the
 *            guest's EOI (KVM irqfd resample) lets the second one through
 *   intx-dis COMMAND.Interrupt Disable holds a raise back; clearing it
 *            delivers the pending interrupt
 *
 * The device has no reset VFIO can use, so whatever an earlier run left
 * (pending interrupt status, the factorial IRQ bit) is cleared first.
 */
#include "pci_lib.h"
#include "vtd_lib.h"

#define EDU_IDS			0x11E81234u	/* device << 16 | vendor */
#define EDU_BAR_SIZE		0x100000u

/* BAR0 registers (edu.rst). */
#define EDU_ID			0x00
#define EDU_ID_VALUE		0x010000EDu	/* major 1, minor 0, 0xed */
#define EDU_LIVE		0x04
#define EDU_FACT		0x08
#define EDU_STATUS		0x20
#define EDU_STATUS_COMPUTING	0x01u
#define EDU_STATUS_IRQFACT	0x80u
#define EDU_IRQ_STATUS		0x24
#define EDU_IRQ_RAISE		0x60
#define EDU_IRQ_ACK		0x64
#define EDU_DMA_SRC		0x80
#define EDU_DMA_DST		0x88
#define EDU_DMA_CNT		0x90
#define EDU_DMA_CMD		0x98
#define EDU_DMA_RUN		0x1u
#define EDU_DMA_TO_RAM		0x2u
#define EDU_DMA_IRQ		0x4u
#define EDU_DMA_BUF		0x40000u	/* the device's buffer, in its own address space */
#define EDU_DMA_SIZE		4096u
/*
 * QEMU 7.2's edu aborts the whole QEMU (L1's) with "DMA range ... out of
 * bounds" for a transfer that ends at the end of its buffer (edu_check_range
 * wants the end strictly inside; fixed in later QEMUs), so transfers stop
 * short of the last bytes.
 */
#define DMA_LEN			4000u
#define EDU_DMA_LIMIT		(1ull << 28)	/* edu's DMA mask: 28 bits */
#define EDU_IRQ_FACT		0x001u
#define EDU_IRQ_DMA		0x100u

/* MSI capability (PCI 3.0, 6.8.1). */
#define PCI_CAP_ID_MSI		0x05
#define MSI_CTRL		2
#define MSI_ADDR_LO		4
#define MSI_ADDR_HI		8
#define MSI_CTRL_ENABLE		0x0001u
#define MSI_CTRL_MMC		0x000Eu
#define MSI_CTRL_MME		0x0070u
#define MSI_CTRL_64		0x0080u
#define MSI_CTRL_MASKABLE	0x0100u

#define VEC_MSI			0x50
#define VEC_INTX		0x51
#define ONE_S			1000000u
#define QUIET_US		200000u	/* "no (further) interrupt" is watched this long */

static unsigned int edu;	/* bdf */
static uint64_t bar;		/* BAR0 address */
static unsigned int msi;	/* MSI capability offset */
static unsigned int msi_data;	/* offset of its data register */
static unsigned int gsi;	/* INTx pin on the IOAPIC */
static uint8_t bsp;

static volatile unsigned int msi_count, intx_count, intx_spurious;
static volatile uint32_t intx_seen[8];	/* 0x24 as each INTx handler read it */

/* Two pages each: a transfer may straddle a page boundary. */
static uint8_t buf_src[2 * 4096] __attribute__((aligned(4096)));
static uint8_t buf_dst[2 * 4096] __attribute__((aligned(4096)));
static uint8_t want[DMA_LEN];

static inline uint32_t rd(unsigned int reg) { return mmio_read32(bar + reg); }
static inline void wr(unsigned int reg, uint32_t v) { mmio_write32(bar + reg, v); }
static inline uint64_t rd64(unsigned int reg) { return *(volatile uint64_t *)(bar + reg); }
static inline void wr64(unsigned int reg, uint64_t v) { *(volatile uint64_t *)(bar + reg) = v; }

/* --- interrupts ------------------------------------------------------------------- */

static void msi_isr(struct regs *r)
{
	(void)r;
	msi_count++;
	lapic_eoi();
}

/*
 * Level-triggered: acknowledging the device (0x64) drops the line, so it
 * comes before the EOI, as in any INTx driver. A delivery that finds 0x24
 * clear is spurious; a line that never drops is stopped after 32.
 */
static void intx_isr(struct regs *r)
{
	(void)r;
	uint32_t st = rd(EDU_IRQ_STATUS);

	if (st) {
		if (intx_count < 8)
			intx_seen[intx_count] = st;
		wr(EDU_IRQ_ACK, st);
		intx_count++;
	} else {
		intx_spurious++;
	}
	if (intx_count + intx_spurious >= 32)
		ioapic_mask(gsi);
	lapic_eoi();
}

static void quiet(void)
{
	sti();
	delay_us(QUIET_US);
	cli();
}

/* --- helpers ------------------------------------------------------------------------ */

static bool not_computing(void *arg)
{
	(void)arg;
	return !(rd(EDU_STATUS) & EDU_STATUS_COMPUTING);
}

static bool dma_idle(void *arg)
{
	(void)arg;
	return !(rd64(EDU_DMA_CMD) & EDU_DMA_RUN);
}

/*
 * One DMA transfer of @len bytes: to the device buffer at @dev_off from
 * guest RAM at @ram (@to_ram false), or the other way; waits for it.
 * The device aborts L1's QEMU (7.2: hw_error) on a range that is not
 * strictly inside its buffer (DMA_LEN), so the range is checked here first.
 */
static void dma_at(bool to_ram, uint64_t gpa, unsigned int dev_off, unsigned int len, bool irq)
{
	GUEST_ASSERT(len && dev_off + len < EDU_DMA_SIZE);
	GUEST_ASSERT_MSG(gpa + len <= EDU_DMA_LIMIT, "buffer at 0x%lx is past edu's 28-bit DMA mask", gpa);
	GUEST_ASSERT_MSG(wait_for(dma_idle, NULL, 2 * ONE_S), "a DMA still runs (cmd 0x%lx)", rd64(EDU_DMA_CMD));
	wr64(EDU_DMA_SRC, to_ram ? EDU_DMA_BUF + dev_off : gpa);
	wr64(EDU_DMA_DST, to_ram ? gpa : EDU_DMA_BUF + dev_off);
	wr64(EDU_DMA_CNT, len);
	GUEST_ASSERT_MSG(rd64(EDU_DMA_SRC) == (to_ram ? EDU_DMA_BUF + dev_off : gpa) &&
			 rd64(EDU_DMA_CNT) == len,
			 "DMA registers read back src 0x%lx count 0x%lx after 64-bit writes", rd64(EDU_DMA_SRC),
			 rd64(EDU_DMA_CNT));
	wr64(EDU_DMA_CMD, EDU_DMA_RUN | (to_ram ? EDU_DMA_TO_RAM : 0) | (irq ? EDU_DMA_IRQ : 0));
	/* The device finishes 100 ms after the start (its timer). */
	GUEST_ASSERT_MSG(wait_for(dma_idle, NULL, 3 * ONE_S), "DMA %s (%u bytes) not done after 3 s",
			 to_ram ? "device->RAM" : "RAM->device", len);
}

/* dma_at for a buffer of ours at its own address (no IOMMU, or translation off). */
static void dma(bool to_ram, const void *ram, unsigned int dev_off, unsigned int len, bool irq)
{
	dma_at(to_ram, (uint64_t)ram, dev_off, len, irq);
}

/* The device buffer's first DMA_LEN bytes -> buf_dst + @off; the rest of buf_dst is junk to keep. */
static void read_back(unsigned int off)
{
	memset(buf_dst, 0x5A, sizeof(buf_dst));
	dma(true, buf_dst + off, 0, DMA_LEN, false);
}

/* Clears what an earlier run may have left: interrupt status, the factorial IRQ bit. */
static void clear_state(void)
{
	wr(EDU_STATUS, 0);
	uint32_t st = rd(EDU_IRQ_STATUS);

	if (st) {
		GUEST_SYNC("edu: interrupt status 0x%x left from before; acknowledged", st);
		wr(EDU_IRQ_ACK, st);
	}
	GUEST_ASSERT_EQ(rd(EDU_IRQ_STATUS), 0);
}

static void msi_ctrl(uint16_t set, uint16_t clear)
{
	uint16_t c = pci_r16(edu, msi + MSI_CTRL);

	pci_w16(edu, msi + MSI_CTRL, (uint16_t)((c & ~clear) | set));
}

/* --- find ------------------------------------------------------------------------------ */

static void test_find(void)
{
	struct pci_bar b;

	edu = 0xFFFF;
	for (unsigned int dev = 0; dev < 32 && edu == 0xFFFF; dev++) {
		for (unsigned int fn = 0; fn < 8; fn++) {
			uint32_t ids = pci_r32(PCI_BDF(0, dev, fn), PCI_VENDOR_ID);

			if (ids == EDU_IDS) {
				edu = PCI_BDF(0, dev, fn);
				break;
			}
			if (fn == 0 && (ids == 0xFFFFFFFF ||
					!(pci_r8(PCI_BDF(0, dev, 0), PCI_HEADER_TYPE) & PCI_HDR_MULTIFN)))
				break;
		}
	}
	GUEST_ASSERT_MSG(edu != 0xFFFF, "no edu device (1234:11e8) on bus 0: kvmio run without --device vfio=BDF?");
	GUEST_SYNC("edu: at 00:%02x.%x, class 0x%06x rev 0x%x, header type 0x%x", PCI_SLOT(edu), PCI_FN(edu),
		   pci_r32(edu, PCI_REVISION) >> 8, pci_r8(edu, PCI_REVISION), pci_r8(edu, PCI_HEADER_TYPE));

	GUEST_ASSERT_EQ(pci_bar_probe(edu, 0, &b), 1);
	GUEST_ASSERT_MSG(!b.io && !b.mem64 && b.size == EDU_BAR_SIZE,
			 "BAR0: io %u mem64 %u size 0x%lx (raw 0x%x, mask 0x%x): edu's is a 1 MiB 32-bit memory BAR",
			 b.io, b.mem64, b.size, b.raw_lo, b.mask_lo);
	GUEST_ASSERT_MSG(b.addr >= PCI_MMIO32_BASE && b.addr + b.size <= PCI_MMIO32_BASE + PCI_MMIO32_SIZE &&
			 !(b.addr & (b.size - 1)),
			 "BAR0 at 0x%lx: not a naturally aligned address in kvmio's MMIO32 window", b.addr);
	bar = b.addr;
	for (unsigned int i = 1; i < 6; i++) {
		struct pci_bar o;

		pci_bar_probe(edu, i, &o);
		GUEST_ASSERT_MSG(o.size == 0, "BAR%u sizes to 0x%lx (mask 0x%x); edu has BAR0 only", i, o.size,
				 o.mask_lo);
	}
	/* No expansion ROM on edu: the ROM BAR sizes to 0 (PCI 3.0, 6.2.5.2). */
	uint32_t rom = pci_r32(edu, PCI_ROM);

	pci_w32(edu, PCI_ROM, 0xFFFFF800);
	PCI_NOTE_UNLESS(!(pci_r32(edu, PCI_ROM) & 0xFFFFF800),
			"ROM BAR reads 0x%x after writing all-ones; edu has no ROM",
			pci_r32(edu, PCI_ROM));
	pci_w32(edu, PCI_ROM, rom);

	uint8_t pin = pci_r8(edu, PCI_INT_PIN);

	GUEST_ASSERT_MSG(pin == 1, "Interrupt Pin %u; edu uses INTA (1)", pin);
	gsi = PCI_INTX_GSI_BASE + (PCI_SLOT(edu) + pin - 1u) % 4;
	PCI_NOTE_UNLESS(pci_r8(edu, PCI_INT_LINE) == gsi,
			"Interrupt Line reads %u, _PRT routes INTA of slot %u to GSI %u",
			pci_r8(edu, PCI_INT_LINE), PCI_SLOT(edu), gsi);

	msi = pci_find_cap(edu, PCI_CAP_ID_MSI, 0);
	GUEST_ASSERT_MSG(msi, "no MSI capability (edu has one: 1 vector, 64-bit)");
	uint16_t ctrl = pci_r16(edu, msi + MSI_CTRL);

	GUEST_ASSERT_MSG(!(ctrl & MSI_CTRL_MMC), "MSI Multiple Message Capable %u; edu has 1 vector",
			 (ctrl & MSI_CTRL_MMC) >> 1);
	PCI_NOTE_UNLESS(ctrl & MSI_CTRL_64, "MSI capability is 32-bit (ctrl 0x%x); edu's is 64-bit", ctrl);
	GUEST_ASSERT_MSG(!(ctrl & MSI_CTRL_ENABLE), "MSI enabled at boot (ctrl 0x%x)", ctrl);
	msi_data = ctrl & MSI_CTRL_64 ? 0x0C : 0x08;

	/* Memory decode and bus mastering (DMA and MSI are memory writes by the device). */
	pci_w16(edu, PCI_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER);
	GUEST_ASSERT_EQ(pci_r16(edu, PCI_COMMAND) & (PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE),
			PCI_CMD_MEM | PCI_CMD_MASTER);
	GUEST_SYNC("edu: find ok: BAR0 0x%lx (1 MiB), INTA -> IOAPIC pin %u, MSI capability at 0x%x (ctrl 0x%x)",
		   bar, gsi, msi, ctrl);
}

/* --- ident ------------------------------------------------------------------------------ */

static void test_ident(void)
{
	static const uint32_t vals[] = { 0x12345678, 0xA5A5A5A5, 0, 0xFFFFFFFF };
	uint32_t id = rd(EDU_ID);

	GUEST_ASSERT_MSG(id == EDU_ID_VALUE, "identification register reads 0x%x, want 0x%x", id, EDU_ID_VALUE);
	for (unsigned int i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		wr(EDU_LIVE, vals[i]);
		GUEST_ASSERT_MSG(rd(EDU_LIVE) == ~vals[i], "liveness: wrote 0x%x, read 0x%x (want 0x%x)", vals[i],
				 rd(EDU_LIVE), ~vals[i]);
	}
	clear_state();
	GUEST_SYNC("edu: ident ok: 0x%x, liveness inverts %u values", id,
		   (unsigned int)(sizeof(vals) / sizeof(vals[0])));
}

/* --- fact ---------------------------------------------------------------------------------- */

static uint32_t factorial(uint32_t n)
{
	uint32_t r = 1;

	while (n > 0)
		r *= n--;	/* 32-bit, wrapping, as the device computes it */
	return r;
}

static void test_fact(void)
{
	static const uint32_t ns[] = { 5, 0, 12, 13, 20 };

	for (unsigned int i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		wr(EDU_FACT, ns[i]);
		GUEST_ASSERT_MSG(wait_for(not_computing, NULL, 2 * ONE_S), "factorial of %u: still computing after 2 s",
				 ns[i]);
		GUEST_ASSERT_MSG(rd(EDU_FACT) == factorial(ns[i]), "factorial of %u: device says %u, want %u", ns[i],
				 rd(EDU_FACT), factorial(ns[i]));
	}
	GUEST_SYNC("edu: fact ok: 12! = %u, 13! = %u (mod 2^32)", factorial(12), factorial(13));
}

/* --- dma ---------------------------------------------------------------------------------- */

/* buf_dst + @off holds want[], and the device wrote nothing else of buf_dst. */
static void check_dst(unsigned int off, const char *what)
{
	size_t d = pattern_diff(buf_dst + off, want, DMA_LEN);

	GUEST_ASSERT_MSG(d == DMA_LEN, "%s: byte %lu of what came back is 0x%x, want 0x%x", what, (uint64_t)d,
			 buf_dst[off + d], want[d]);
	for (size_t i = 0; i < sizeof(buf_dst); i++)
		GUEST_ASSERT_MSG((i >= off && i < off + DMA_LEN) || buf_dst[i] == 0x5A,
				 "%s: byte 0x%lx of the destination, outside the %u-byte transfer at 0x%x, became 0x%x",
				 what, (uint64_t)i, DMA_LEN, off, buf_dst[i]);
}

static void test_dma(void)
{
	/* Pattern 1 there and back, page-aligned guest buffers. */
	pattern_fill(buf_src, DMA_LEN, 1);
	memcpy(want, buf_src, DMA_LEN);
	dma(false, buf_src, 0, DMA_LEN, false);
	read_back(0);
	check_dst(0, "pattern 1, RAM->device->RAM");

	/*
	 * Pattern 2 (a device or mapping that returns stale data fails here),
	 * both guest buffers straddling a page boundary: two IOMMU pages each.
	 */
	pattern_fill(buf_src + 0x803, DMA_LEN, 2);
	GUEST_ASSERT(memcmp(buf_src + 0x803, want, DMA_LEN) != 0);
	memcpy(want, buf_src + 0x803, DMA_LEN);
	dma(false, buf_src + 0x803, 0, DMA_LEN, false);
	read_back(0xC01);
	check_dst(0xC01, "pattern 2, RAM->device->RAM across page boundaries");

	/* 300 bytes from an odd guest address into the middle of the device buffer. */
	pattern_fill(buf_src, 512, 3);
	dma(false, buf_src + 101, 0x900, 300, false);
	memcpy(want + 0x900, buf_src + 101, 300);
	read_back(0);
	check_dst(0, "300 bytes from an unaligned address at device offset 0x900");
	GUEST_SYNC("edu: dma ok: 2 x %u bytes (aligned, then across pages) and 300 unaligned bytes, buffers at GPA "
		   "0x%lx and 0x%lx", DMA_LEN, (uint64_t)buf_src, (uint64_t)buf_dst);
}

/* --- msi ------------------------------------------------------------------------------------ */

static void test_msi(void)
{
	uint32_t addr = (uint32_t)LAPIC_BASE | (uint32_t)bsp << 12;

	clear_state();
	pci_w32(edu, msi + MSI_ADDR_LO, addr);
	if (msi_data == 0x0C)
		pci_w32(edu, msi + MSI_ADDR_HI, 0);
	pci_w16(edu, msi + msi_data, VEC_MSI);
	GUEST_ASSERT_MSG(pci_r32(edu, msi + MSI_ADDR_LO) == addr && pci_r16(edu, msi + msi_data) == VEC_MSI,
			 "MSI address/data read back 0x%x/0x%x after writing 0x%x/0x%x",
			 pci_r32(edu, msi + MSI_ADDR_LO), pci_r16(edu, msi + msi_data), addr, VEC_MSI);
	msi_ctrl(MSI_CTRL_ENABLE, MSI_CTRL_MME);
	GUEST_ASSERT_MSG(pci_r16(edu, msi + MSI_CTRL) & MSI_CTRL_ENABLE, "MSI Enable reads 0 after writing 1");

	/* Two raises, each a message (MSI is edge: one per raise). */
	for (unsigned int n = 1; n <= 2; n++) {
		uint32_t v = 0x1000u << n;

		wr(EDU_IRQ_RAISE, v);
		GUEST_ASSERT_MSG(wait_count(&msi_count, n, ONE_S),
				 "no MSI (vector 0x%x) 1 s after raise %u (0x24 reads 0x%x, INTx %u)", VEC_MSI, n,
				 rd(EDU_IRQ_STATUS), intx_count);
		GUEST_ASSERT_EQ(rd(EDU_IRQ_STATUS), v);
		wr(EDU_IRQ_ACK, v);
		GUEST_ASSERT_EQ(rd(EDU_IRQ_STATUS), 0);
	}

	/* The device's own completion interrupts: DMA done (0x100), factorial done (0x1). */
	pattern_fill(buf_src, 64, 4);
	dma(false, buf_src, 0, 64, true);
	GUEST_ASSERT_MSG(wait_count(&msi_count, 3, ONE_S), "no MSI for a DMA completion (0x24 reads 0x%x)",
			 rd(EDU_IRQ_STATUS));
	GUEST_ASSERT_EQ(rd(EDU_IRQ_STATUS), EDU_IRQ_DMA);
	wr(EDU_IRQ_ACK, EDU_IRQ_DMA);
	wr(EDU_STATUS, EDU_STATUS_IRQFACT);
	wr(EDU_FACT, 10);
	GUEST_ASSERT_MSG(wait_count(&msi_count, 4, ONE_S), "no MSI for a factorial completion (0x24 reads 0x%x)",
			 rd(EDU_IRQ_STATUS));
	GUEST_ASSERT_EQ(rd(EDU_FACT), factorial(10));
	GUEST_ASSERT_EQ(rd(EDU_IRQ_STATUS), EDU_IRQ_FACT);
	wr(EDU_IRQ_ACK, EDU_IRQ_FACT);
	wr(EDU_STATUS, 0);
	GUEST_ASSERT_EQ(rd(EDU_IRQ_STATUS), 0);

	quiet();
	GUEST_ASSERT_MSG(msi_count == 4, "%u MSIs for 4 events", msi_count);
	GUEST_ASSERT_MSG(!intx_count && !intx_spurious, "INTx delivered (%u, %u spurious) while MSI was enabled",
			 intx_count, intx_spurious);
	msi_ctrl(0, MSI_CTRL_ENABLE);
	GUEST_ASSERT_MSG(!(pci_r16(edu, msi + MSI_CTRL) & MSI_CTRL_ENABLE), "MSI Enable reads 1 after writing 0");
	GUEST_SYNC("edu: msi ok: 4 messages to vector 0x%x on APIC %u (2 raises, DMA done, factorial done)", VEC_MSI,
		   bsp);
}

/* --- intx ------------------------------------------------------------------------------------- */

static void check_intx_round(unsigned int n, uint32_t v)
{
	GUEST_ASSERT_MSG(wait_count(&intx_count, n, 2 * ONE_S),
			 n == 1 ? "no INTx on IOAPIC pin %u 2 s after raise %u (0x24 reads 0x%x, Status 0x%x)" :
				  "no INTx on IOAPIC pin %u 2 s after raise %u (0x24 reads 0x%x, Status 0x%x): "
				  "the first was taken, acked and EOIed; VFIO keeps INTx masked after it fired "
				  "until the VMM unmasks it on the guest's EOI (irqfd resample -> "
				  "VFIO_IRQ_SET_ACTION_UNMASK)",
			 gsi, n, rd(EDU_IRQ_STATUS), pci_r16(edu, PCI_STATUS));
	GUEST_ASSERT_MSG(intx_seen[n - 1] == v, "INTx %u: the handler read 0x24 = 0x%x, raised 0x%x", n,
			 intx_seen[n - 1], v);
	GUEST_ASSERT_MSG(rd(EDU_IRQ_STATUS) == 0, "0x24 reads 0x%x after the handler acknowledged", rd(EDU_IRQ_STATUS));
	quiet();
	GUEST_ASSERT_MSG(intx_count == n, "%u INTx deliveries for %u raises", intx_count, n);
	GUEST_ASSERT_MSG(intx_count + intx_spurious < 32,
			 "INTx storm: %u deliveries with 0x24 clear: the line stays asserted after the ack",
			 intx_spurious);
	PCI_NOTE_UNLESS(!intx_spurious, "%u spurious INTx deliveries (0x24 clear) for %u raises", intx_spurious, n);
	GUEST_ASSERT_MSG(!(ioapic_read(0x10 + 2 * gsi) & IOAPIC_RTE_REMOTE_IRR),
			 "IOAPIC pin %u Remote IRR still set after EOI", gsi);
}

static void test_intx(void)
{
	clear_state();
	GUEST_ASSERT_MSG(!(pci_r16(edu, msi + MSI_CTRL) & MSI_CTRL_ENABLE), "MSI still enabled");
	/* _PRT, no link devices: level-triggered, active low (ACPI 6.5, 6.2.13; kvmio's vm.h "INTx"). */
	ioapic_route_raw(gsi, VEC_INTX | IOAPIC_RTE_LEVEL | IOAPIC_RTE_ACTIVE_LOW, bsp);
	for (unsigned int n = 1; n <= 3; n++) {
		uint32_t v = 1u << (n + 3);

		wr(EDU_IRQ_RAISE, v);
		check_intx_round(n, v);
	}
	GUEST_ASSERT_EQ(msi_count, 4);
	GUEST_SYNC("edu: intx ok: 3 level interrupts on IOAPIC pin %u (slot %u INTA), each acked in the handler",
		   gsi, PCI_SLOT(edu));
}

static void test_intx_dis(void)
{
	unsigned int n = intx_count;
	uint16_t cmd = pci_r16(edu, PCI_COMMAND);

	pci_w16(edu, PCI_COMMAND, cmd | PCI_CMD_INTX_DISABLE);
	GUEST_ASSERT_MSG(pci_r16(edu, PCI_COMMAND) & PCI_CMD_INTX_DISABLE,
			 "COMMAND.Interrupt Disable reads 0 after writing 1");
	wr(EDU_IRQ_RAISE, 0x8000);
	quiet();
	GUEST_ASSERT_MSG(intx_count == n, "INTx delivered with COMMAND.Interrupt Disable set (PCI 3.0, 6.2.2)");
	GUEST_ASSERT_EQ(rd(EDU_IRQ_STATUS), 0x8000);
	PCI_NOTE_UNLESS(pci_r16(edu, PCI_STATUS) & PCI_STATUS_INTX,
			"Status.Interrupt Status reads 0 with the device's interrupt pending under "
			"Interrupt Disable (PCI 3.0, 6.2.3)");
	pci_w16(edu, PCI_COMMAND, cmd);
	if (!wait_count(&intx_count, n + 1, ONE_S)) {
		PCI_NOTE("the INTx held back by Interrupt Disable was not delivered when it was cleared; raised again");
		wr(EDU_IRQ_ACK, 0x8000);
		wr(EDU_IRQ_RAISE, 0x8000);
	}
	check_intx_round(n + 1, 0x8000);
	GUEST_SYNC("edu: intx-dis ok: held back while disabled, delivered after");
}

/* --- vtd --------------------------------------------------------------------------------------- */

/* IOVAs under edu's 28-bit DMA mask, nowhere near the buffers' own addresses. */
#define IOVA_DST		0x0A000000ul
#define IOVA_SRC		0x0A001000ul
#define VTD_DID			7

static uint64_t vt_root[512] __attribute__((aligned(4096)));
static uint64_t vt_ctx[512] __attribute__((aligned(4096)));
static uint64_t vt_pml4[512] __attribute__((aligned(4096)));
static uint64_t vt_pdpt[512] __attribute__((aligned(4096)));
static uint64_t vt_pd[512] __attribute__((aligned(4096)));
static uint64_t vt_pt[512] __attribute__((aligned(4096)));

static bool all(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/*
 * With kvmio's VT-d (--iommu): the device's DMA goes only where this
 * guest's own page tables say, which kvmio mirrors into the host IOMMU
 * (the real device's DMA is checked by L1's IOMMU, not by kvmio):
 *   - the buffers mapped at IOVAs (a domain of 4-level tables), translation
 *     on: a transfer there and back through the IOVAs lands in the pages;
 *   - a buffer's own address, mapped while translation was off, is no longer
 *     reachable: a device write there changes nothing;
 *   - the destination unmapped and invalidated page-selectively: a device
 *     write to its IOVA changes nothing (L1's IOMMU refuses it: a DMAR fault
 *     in L1's log, which the scenario checks);
 *   - translation off again: the device reaches the buffers at their own
 *     addresses as before.
 */
static void test_vtd(void)
{
	unsigned int devfn = edu & 0xFF;

	GUEST_ASSERT_MSG(vtd_r64(VTD_CAP) & (1u << 7), "CAP 0x%lx: no caching mode", vtd_r64(VTD_CAP));
	GUEST_ASSERT_MSG(edu >> 8 == 0, "edu on bus %u, the tables here cover bus 0", edu >> 8);
	vt_root[0] = (uint64_t)vt_ctx | 1;
	vt_ctx[2 * devfn] = (uint64_t)vt_pml4 | 1;		/* present, translated */
	vt_ctx[2 * devfn + 1] = VTD_DID << 8 | 2;		/* 48-bit: 4 levels */
	vt_pml4[0] = (uint64_t)vt_pdpt | 3;
	vt_pdpt[0] = (uint64_t)vt_pd | 3;
	vt_pd[IOVA_DST >> 21] = (uint64_t)vt_pt | 3;
	vt_pt[(IOVA_DST >> 12) & 511] = (uint64_t)buf_dst | 3;
	vt_pt[(IOVA_SRC >> 12) & 511] = (uint64_t)buf_src | 1;	/* the device only reads it */
	vtd_w64(VTD_RTADDR, (uint64_t)vt_root);
	vtd_cmd(GCMD_SRTP);
	vtd_cmd(GCMD_TE);

	pattern_fill(buf_src, DMA_LEN, 4);
	memcpy(want, buf_src, DMA_LEN);
	memset(buf_dst, 0x5A, sizeof(buf_dst));
	dma_at(false, IOVA_SRC, 0, DMA_LEN, false);
	dma_at(true, IOVA_DST, 0, DMA_LEN, false);
	check_dst(0, "through IOVAs, RAM->device->RAM");

	/* The identity mapping of before is gone: a write to buf_src's own address lands nowhere. */
	memset(buf_src, 0x33, DMA_LEN + 8);
	dma_at(true, (uint64_t)buf_src, 0, DMA_LEN, false);
	GUEST_ASSERT_MSG(all(buf_src, DMA_LEN + 8, 0x33),
			 "the device wrote buf_src at its own address 0x%lx with translation on",
			 (uint64_t)buf_src);

	/* Unmapped: the destination's page table entry cleared, that page invalidated. */
	vt_pt[(IOVA_DST >> 12) & 511] = 0;
	vtd_flush_iotlb(VTD_DID, IOVA_DST, 0, false);
	memset(buf_dst, 0x66, sizeof(buf_dst));
	dma_at(true, IOVA_DST, 0, DMA_LEN, false);
	GUEST_ASSERT_MSG(all(buf_dst, sizeof(buf_dst), 0x66),
			 "the device wrote through IOVA 0x%lx after it was unmapped", IOVA_DST);

	/* Translation off: every address is its own again. */
	vtd_gcmd(GCMD_TE, false);
	memset(buf_dst, 0x5A, sizeof(buf_dst));
	read_back(0);
	check_dst(0, "translation off again, at its own address");
	GUEST_SYNC("edu: vtd ok: DMA through IOVAs 0x%lx and 0x%lx; refused at GPA 0x%lx and at the "
		   "unmapped IOVA 0x%lx", IOVA_SRC, IOVA_DST, (uint64_t)buf_src, IOVA_DST);
}

void guest_main(void)
{
	irq_init();
	bsp = (uint8_t)lapic_id();
	idt_set_handler(VEC_MSI, msi_isr);
	idt_set_handler(VEC_INTX, intx_isr);

	test_find();
	test_ident();
	test_fact();
	test_dma();
	/*
	 * INTx stays routed through the MSI test too: none may arrive there. A
	 * line an earlier run left asserted (acknowledged by clear_state, but
	 * still up in the IOAPIC until an EOI) arrives now and is only noted.
	 */
	ioapic_route_raw(gsi, VEC_INTX | IOAPIC_RTE_LEVEL | IOAPIC_RTE_ACTIVE_LOW, bsp);
	quiet();
	PCI_NOTE_UNLESS(!intx_count && !intx_spurious, "%u INTx deliveries when the pin was unmasked, before any raise",
			intx_count + intx_spurious);
	intx_count = intx_spurious = 0;
	test_msi();
	test_intx();
	test_intx_dis();

	if (vtd_present())
		test_vtd();

	ioapic_mask(gsi);
	clear_state();
	GUEST_SYNC("edu: all checks passed%s", pci_notes ? " (with notes)" : "");
}
