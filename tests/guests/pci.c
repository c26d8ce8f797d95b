// SPDX-License-Identifier: Apache-2.0
/*
 * kvmio's PCI host bridge, MSI-X and virtio-pci transport, driven as the
 * specs describe them, with virtio-rng (--rng) as the device:
 *
 *   enum        bus 0 through 0xCF8/0xCFC and ECAM: same IDs, absent
 *               functions all-ones, 1/2-byte accesses = bytes of the dword
 *   bar         sizing, type bits, decode off = all-ones, moving a BAR
 *   bar-hostile BARs over ECAM, RAM, the LAPIC, above MAXPHYADDR; kvmio survives
 *   caps        capability list, virtio structures, MSI-X, the PCI_CFG window
 *   msix        the whole driver over MSI-X: one buffer, a chain, reset, again
 *   intx        the same over INTx: ISR reads 1 then 0, the line drops
 *   intx-dis    COMMAND.Interrupt Disable holds INTx back; Status.IS shows it
 *   intx-back   MSI-X enabled, mapped, then disabled: INTx again
 *   features    unoffered feature bits are refused at FEATURES_OK
 *   qsel        out-of-range queue_select and MSI-X vectors
 *   early-kick  nothing is consumed before DRIVER_OK
 *   msix-mask   masked vector / function: PBA pending, sent on unmask
 *   bad-ring    rings and buffers outside RAM, loops: kvmio survives, reset recovers
 *
 * The first four are here, the rest in pci_virtio.c; pci_fixture.c has the
 * steps they share. "test=NAME" on the command line runs one (run.sh runs
 * each in its own VM); without it all run in order. Spec references: PCI
 * Local Bus 3.0 (PCI), virtio 1.2 (section numbers alone).
 */
#include "pci_fixture.h"

/* --- enum ---------------------------------------------------------------------- */

/* 1- and 2-byte reads at every offset of @reg's dword equal its bytes. */
static void check_partial(enum pci_mech m, unsigned int bdf, unsigned int reg)
{
	static const char *const mn[] = { "0xCFC", "ECAM" };
	uint32_t d = pci_read(m, bdf, reg, 4);

	for (unsigned int i = 0; i < 4; i++) {
		uint32_t b = pci_read(m, bdf, reg + i, 1);

		GUEST_ASSERT_MSG(b == ((d >> 8 * i) & 0xFF),
				 "%02x.%x via %s: byte at 0x%x reads 0x%x, dword at 0x%x is 0x%x",
				 PCI_SLOT(bdf), PCI_FN(bdf), mn[m], reg + i, b, reg, d);
	}
	for (unsigned int i = 0; i < 3; i++) {
		uint32_t w = pci_read(m, bdf, reg + i, 2);

		GUEST_ASSERT_MSG(w == ((d >> 8 * i) & 0xFFFF),
				 "%02x.%x via %s: word at 0x%x reads 0x%x, dword at 0x%x is 0x%x",
				 PCI_SLOT(bdf), PCI_FN(bdf), mn[m], reg + i, w, reg, d);
	}
}

/* The PCI_CFG capability's data dword: reading it is an access to a BAR. */
static unsigned int pcicfg_data_reg(unsigned int bdf)
{
	for (unsigned int pos = 0; (pos = pci_find_cap(bdf, PCI_CAP_ID_VNDR, pos));)
		if (pci_r8(bdf, pos + VCAP_CFG_TYPE) == VIRTIO_PCI_CAP_PCI_CFG)
			return pos + VCAP_PCI_CFG_DATA;
	return 0x100;
}

static void check_function(unsigned int bdf)
{
	unsigned int skip = pcicfg_data_reg(bdf);

	for (unsigned int reg = 0; reg < 0x40; reg += 4) {
		check_partial(PCI_MECH_CF8, bdf, reg);
		check_partial(PCI_MECH_ECAM, bdf, reg);
	}
	for (unsigned int reg = 0; reg < 0x100; reg += 4) {
		if (reg == skip)
			continue;
		uint32_t a = pci_read(PCI_MECH_CF8, bdf, reg, 4), e = pci_read(PCI_MECH_ECAM, bdf, reg, 4);

		GUEST_ASSERT_MSG(a == e, "%02x.%x reg 0x%x: 0x%x via 0xCFC, 0x%x via ECAM",
				 PCI_SLOT(bdf), PCI_FN(bdf), reg, a, e);
	}
	/* PCIe 7.6.3: no extended capabilities reads as a 0 header; all-ones is what Linux also takes. */
	uint32_t ext = pci_read(PCI_MECH_ECAM, bdf, 0x100, 4);

	GUEST_ASSERT_MSG(ext == 0 || ext == 0xFFFFFFFF, "%02x.%x: ECAM 0x100 reads 0x%x",
			 PCI_SLOT(bdf), PCI_FN(bdf), ext);
}

static void check_absent(unsigned int bdf)
{
	for (int m = PCI_MECH_CF8; m <= PCI_MECH_ECAM; m++) {
		GUEST_ASSERT_EQ(pci_read(m, bdf, 0x08, 4), 0xFFFFFFFF);
		GUEST_ASSERT_EQ(pci_read(m, bdf, 0x0E, 1), 0xFF);
		GUEST_ASSERT_EQ(pci_read(m, bdf, 0x02, 2), 0xFFFF);
		GUEST_ASSERT_EQ(pci_read(m, bdf, 0x3D, 1), 0xFF);
	}
}

static void test_enum(void)
{
	unsigned int present = 0, absent_bdf = 0xFFFF;

	/* CONFIG_ADDRESS (PCI 3.2.2.3.2) as Linux's pci_check_type1 probes it. */
	outb(0xCFB, 0x01);
	outl(PCI_CONF_ADDR, 0x80000000);
	GUEST_ASSERT_MSG(inl(PCI_CONF_ADDR) == 0x80000000,
			 "0xCF8 reads 0x%x after writing 0x80000000: Linux finds no type 1 config access",
			 inl(PCI_CONF_ADDR));
	outl(PCI_CONF_ADDR, 0x80000800);
	outb(0xCFB, 0x01);
	outw(0xCFA, 0x1234);
	outb(0xCF8, 0x55);
	PCI_NOTE_UNLESS(inl(PCI_CONF_ADDR) == 0x80000800,
			"byte/word writes to 0xCF8-0xCFB changed CONFIG_ADDRESS to 0x%x "
			"(PCI 3.2.2.3.2: only dword writes latch it)", inl(PCI_CONF_ADDR));
	outl(PCI_CONF_ADDR, 0xFF000003);
	PCI_NOTE_UNLESS((inl(PCI_CONF_ADDR) & 0x7F000003) == 0,
			"CONFIG_ADDRESS reads 0x%x after writing 0xff000003: reserved bits 30:24, 1:0 "
			"must read 0 (PCI 3.2.2.3.2)", inl(PCI_CONF_ADDR));
	outl(PCI_CONF_ADDR, 0x00000000);	/* enable bit clear: 0xCFC is plain I/O */
	PCI_NOTE_UNLESS(inl(PCI_CONF_DATA) == 0xFFFFFFFF,
			"0xCFC reads 0x%x with the CONFIG_ADDRESS enable bit clear (want all-ones)",
			inl(PCI_CONF_DATA));

	for (unsigned int dev = 0; dev < 32; dev++) {
		bool mf = false;

		for (unsigned int fn = 0; fn < 8; fn++) {
			unsigned int bdf = PCI_BDF(0, dev, fn);
			uint32_t a = pci_read(PCI_MECH_CF8, bdf, 0, 4), e = pci_read(PCI_MECH_ECAM, bdf, 0, 4);

			GUEST_ASSERT_MSG(a == e, "%02x.%x: IDs 0x%x via 0xCFC, 0x%x via ECAM", dev, fn, a, e);
			if (a == 0xFFFFFFFF) {
				check_absent(bdf);
				if (absent_bdf == 0xFFFF)
					absent_bdf = bdf;
				continue;
			}
			GUEST_ASSERT_MSG((a & 0xFFFF) != 0xFFFF && (a & 0xFFFF) != 0,
					 "%02x.%x: IDs 0x%x: vendor 0x%x", dev, fn, a, a & 0xFFFF);
			uint8_t hdr = pci_r8(bdf, PCI_HEADER_TYPE);

			if (fn == 0)
				mf = hdr & PCI_HDR_MULTIFN;
			else
				GUEST_ASSERT_MSG(mf, "%02x.%x present behind a single-function 0x%02x.0",
						 dev, fn, dev);
			GUEST_SYNC("pci: %02x.%x %04x:%04x class %06x rev %u hdr 0x%02x", dev, fn,
				   a & 0xFFFF, a >> 16, pci_r32(bdf, PCI_REVISION) >> 8,
				   pci_r8(bdf, PCI_REVISION), hdr);
			check_function(bdf);
			present++;
		}
	}
	GUEST_ASSERT_MSG(absent_bdf != 0xFFFF, "every slot of bus 0 is populated?");

	/* 00:00.0: the host bridge. */
	GUEST_ASSERT_EQ(pci_r32(0, PCI_VENDOR_ID), HOSTBRIDGE_IDS);
	GUEST_ASSERT_EQ(pci_r32(0, PCI_REVISION) >> 8, 0x060000);
	GUEST_ASSERT_EQ(pci_r8(0, PCI_HEADER_TYPE) & 0x7F, 0);

	/* The virtio functions (4.1.2). */
	for (unsigned int dev = 0; dev < 32; dev++) {
		unsigned int bdf = PCI_BDF(0, dev, 0);
		uint16_t did = pci_r16(bdf, PCI_DEVICE_ID);

		if (pci_r16(bdf, PCI_VENDOR_ID) != VIRTIO_PCI_VENDOR)
			continue;
		GUEST_ASSERT_MSG(did >= 0x1040 && did <= 0x107F,
				 "%02x.0: device ID 0x%x, not modern (4.1.2.1)", dev, did);
		GUEST_ASSERT_MSG(pci_r8(bdf, PCI_REVISION) >= 1,
				 "%02x.0: revision %u (4.1.2.1: non-transitional SHOULD be >= 1)",
				 dev, pci_r8(bdf, PCI_REVISION));
		GUEST_ASSERT_EQ(pci_r8(bdf, PCI_HEADER_TYPE) & 0x7F, 0);
		GUEST_ASSERT_MSG(pci_r16(bdf, PCI_STATUS) & PCI_STATUS_CAP_LIST,
				 "%02x.0: Status.Capabilities List clear", dev);
		PCI_NOTE_UNLESS(pci_r16(bdf, PCI_SUBSYS_ID) >= 0x40,
				"%02x.0: subsystem device ID 0x%x (4.1.2.1: SHOULD be >= 0x40)",
				dev, pci_r16(bdf, PCI_SUBSYS_ID));
	}
	GUEST_ASSERT_MSG(vp_find(VIRTIO_ID_RNG, &rng), "no virtio-rng 1af4:1044 on bus 0 (--rng)");
	GUEST_ASSERT_EQ(pci_r8(rng, PCI_REVISION), 1);

	/* Sub-dword writes land on the right bytes; read-only bytes stay. */
	uint8_t line = pci_r8(rng, PCI_INT_LINE), pin = pci_r8(rng, PCI_INT_PIN);
	uint16_t min_max = pci_r16(rng, 0x3E);

	pci_write(PCI_MECH_CF8, rng, PCI_INT_LINE, 1, 0x5A);
	GUEST_ASSERT_EQ(pci_read(PCI_MECH_ECAM, rng, PCI_INT_LINE, 1), 0x5A);
	pci_write(PCI_MECH_ECAM, rng, PCI_INT_LINE, 1, 0xA5);
	GUEST_ASSERT_EQ(pci_read(PCI_MECH_CF8, rng, PCI_INT_LINE, 1), 0xA5);
	pci_write(PCI_MECH_CF8, rng, PCI_INT_LINE, 2, 0xEE77);
	GUEST_ASSERT_EQ(pci_r8(rng, PCI_INT_LINE), 0x77);
	GUEST_ASSERT_MSG(pci_r8(rng, PCI_INT_PIN) == pin, "Interrupt Pin (read-only) became 0x%x",
			 pci_r8(rng, PCI_INT_PIN));
	pci_write(PCI_MECH_ECAM, rng, PCI_INT_LINE, 4, 0xFFFFEE33);
	GUEST_ASSERT_EQ(pci_r32(rng, PCI_INT_LINE), (uint32_t)min_max << 16 | (uint32_t)pin << 8 | 0x33);
	pci_w8(rng, PCI_INT_LINE, line);
	/* A byte write at 0xCFD: COMMAND bits 15:8 (bit 10 Interrupt Disable). */
	uint16_t cmd = pci_r16(rng, PCI_COMMAND);

	pci_w8(rng, PCI_COMMAND + 1, (uint8_t)((cmd | PCI_CMD_INTX_DISABLE) >> 8));
	GUEST_ASSERT_EQ(pci_r16(rng, PCI_COMMAND), cmd | PCI_CMD_INTX_DISABLE);
	pci_w8(rng, PCI_COMMAND + 1, (uint8_t)(cmd >> 8));
	GUEST_ASSERT_EQ(pci_r16(rng, PCI_COMMAND), cmd);
	/* STATUS: error bits are write-1-to-clear, the rest read-only (PCI 6.2.3). */
	uint16_t st = pci_r16(rng, PCI_STATUS);

	pci_w16(rng, PCI_STATUS, 0xFFFF);
	GUEST_ASSERT_MSG(pci_r16(rng, PCI_STATUS) == (st & 0x07FF),
			 "STATUS 0x%x after writing 0xffff to 0x%x", pci_r16(rng, PCI_STATUS), st);
	PCI_NOTE_UNLESS(line == PCI_INTX_GSI_BASE + (PCI_SLOT(rng) + pin - 1u) % 4,
			"Interrupt Line %u, the INTx GSI is %u", line,
			PCI_INTX_GSI_BASE + (PCI_SLOT(rng) + pin - 1u) % 4);
	/* IDs and class are read-only. */
	uint32_t ids = pci_r32(rng, 0), cls = pci_r32(rng, PCI_REVISION);

	pci_w32(rng, 0, 0x12345678);
	pci_write(PCI_MECH_ECAM, rng, PCI_REVISION, 4, 0x0);
	GUEST_ASSERT_EQ(pci_r32(rng, 0), ids);
	GUEST_ASSERT_EQ(pci_r32(rng, PCI_REVISION), cls);

	/* Writes to nothing vanish; bus 1 does not exist (ECAM covers bus 0 only). */
	pci_w32(absent_bdf, PCI_COMMAND, 0xFFFF);
	pci_write(PCI_MECH_ECAM, absent_bdf, PCI_BAR0, 4, 0);
	check_absent(absent_bdf);
	GUEST_ASSERT_EQ(pci_read(PCI_MECH_CF8, PCI_BDF(1, 0, 0), 0, 4), 0xFFFFFFFF);
	GUEST_ASSERT_EQ(pci_read(PCI_MECH_ECAM, PCI_BDF(1, 0, 0), 0, 4), 0xFFFFFFFF);
	GUEST_ASSERT_EQ(pci_read(PCI_MECH_CF8, PCI_BDF(255, 31, 7), 0, 4), 0xFFFFFFFF);
	GUEST_SYNC("pci: enum ok: %u functions, 0xCF8 and ECAM agree", present);
}

/* --- bar ------------------------------------------------------------------------- */

/* The end of the highest memory BAR of any function on bus 0 inside MMIO32. */
static uint64_t mmio32_top(void)
{
	uint64_t top = PCI_MMIO32_BASE;

	for (unsigned int dev = 0; dev < 32; dev++) {
		unsigned int bdf = PCI_BDF(0, dev, 0);

		if (pci_r16(bdf, PCI_VENDOR_ID) == 0xFFFF)
			continue;
		for (unsigned int i = 0; i < 6;) {
			struct pci_bar b;

			i += pci_bar_probe(bdf, i, &b);
			if (b.size && !b.io && b.addr >= PCI_MMIO32_BASE &&
			    b.addr < PCI_MMIO32_BASE + PCI_MMIO32_SIZE && b.addr + b.size > top)
				top = b.addr + b.size;
		}
	}
	return top;
}

static void check_bar(unsigned int i, const struct pci_bar *b)
{
	if (!b->size) {
		/* PCI 6.2.5.1: unimplemented BARs are hardwired to zero. */
		GUEST_ASSERT_MSG(!b->raw_lo && !b->mask_lo, "BAR%u: not sized but reads 0x%x / 0x%x",
				 i, b->raw_lo, b->mask_lo);
		return;
	}
	if (b->io) {
		GUEST_ASSERT_MSG(b->mask_lo & 1, "BAR%u: I/O bit lost in the all-ones read-back", i);
		GUEST_ASSERT_MSG(!(b->raw_lo & 2), "BAR%u: I/O BAR reserved bit 1 set", i);
		GUEST_ASSERT_MSG(b->size >= 4 && !(b->size & (b->size - 1)), "BAR%u: I/O size 0x%lx", i, b->size);
		return;
	}
	unsigned int type = (b->raw_lo >> 1) & 3;

	GUEST_ASSERT_MSG(type == 0 || type == 2, "BAR%u: memory type %u is reserved (PCI 6.2.5.1)", i, type);
	GUEST_ASSERT_MSG((b->mask_lo & 0xF) == (b->raw_lo & 0xF),
			 "BAR%u: type bits 0x%x, 0x%x after writing all-ones (read-only)", i,
			 b->raw_lo & 0xF, b->mask_lo & 0xF);
	GUEST_ASSERT_MSG(!(type == 2 && i == 5), "BAR5 is 64-bit: it has no upper half");
	GUEST_ASSERT_MSG(!(b->size & (b->size - 1)) && b->size >= 16,
			 "BAR%u: size 0x%lx (mask 0x%x:0x%x) is not a power of two >= 16", i, b->size,
			 b->mask_hi, b->mask_lo);
	GUEST_ASSERT_MSG(!(b->addr & (b->size - 1)), "BAR%u: address 0x%lx not aligned to its size 0x%lx",
			 i, b->addr, b->size);
	PCI_NOTE_UNLESS(b->size >= 4096, "BAR%u: %lu bytes; PCI 6.2.5.1 recommends >= 4 KiB", i, b->size);
}

static void check_common_at(uint64_t common, const char *where)
{
	GUEST_ASSERT_MSG(mmio_read16(common + VP_NUM_QUEUES) == 1,
			 "%s: num_queues at 0x%lx reads 0x%x", where, common + VP_NUM_QUEUES,
			 mmio_read16(common + VP_NUM_QUEUES));
	mmio_write32(common + VP_DEVICE_FEATURE_SELECT, 1);
	GUEST_ASSERT_MSG(mmio_read32(common + VP_DEVICE_FEATURE_SELECT) == 1,
			 "%s: device_feature_select does not hold 1", where);
	GUEST_ASSERT_MSG(mmio_read32(common + VP_DEVICE_FEATURE) & 1,
			 "%s: device_feature[32] (VERSION_1) clear", where);
	mmio_write32(common + VP_DEVICE_FEATURE_SELECT, 0);
}

static void check_gone(uint64_t common, const char *where)
{
	GUEST_ASSERT_MSG(mmio_read32(common) == 0xFFFFFFFF, "%s: 0x%lx reads 0x%x, want all-ones",
			 where, common, mmio_read32(common));
	GUEST_ASSERT_MSG(mmio_read16(common + VP_NUM_QUEUES) == 0xFFFF,
			 "%s: num_queues at 0x%lx reads 0x%x, want all-ones", where,
			 common + VP_NUM_QUEUES, mmio_read16(common + VP_NUM_QUEUES));
}

static void test_bar(void)
{
	fresh();
	for (unsigned int i = 0; i < 6;) {
		struct pci_bar b;
		unsigned int n = pci_bar_probe(rng, i, &b);

		check_bar(i, &b);
		GUEST_ASSERT_MSG(pci_r32(rng, PCI_BAR0 + 4 * i) == b.raw_lo &&
				 (!b.mem64 || pci_r32(rng, PCI_BAR0 + 4 * i + 4) == b.raw_hi),
				 "BAR%u not restored after sizing", i);
		if (b.size) {
			GUEST_SYNC("pci: BAR%u %s%s%s at 0x%lx size 0x%lx", i, b.io ? "io" : "mem",
				   b.mem64 ? "64" : "32", b.prefetch ? " pref" : "", b.addr, b.size);
			/* Address bits below the size are hardwired to zero. */
			uint16_t cmd = pci_r16(rng, PCI_COMMAND);

			pci_w16(rng, PCI_COMMAND, cmd & ~(PCI_CMD_MEM | PCI_CMD_IO));
			pci_w32(rng, PCI_BAR0 + 4 * i, b.raw_lo | (uint32_t)(b.size >> 1));
			GUEST_ASSERT_MSG(pci_r32(rng, PCI_BAR0 + 4 * i) == b.raw_lo,
					 "BAR%u: wrote 0x%x, reads 0x%x: bit below the size stuck", i,
					 b.raw_lo | (uint32_t)(b.size >> 1), pci_r32(rng, PCI_BAR0 + 4 * i));
			pci_w32(rng, PCI_BAR0 + 4 * i, b.raw_lo);
			pci_w16(rng, PCI_COMMAND, cmd);
		}
		i += n;
	}
	/* Expansion ROM: absent (0) or a size mask with the enable bit clear. */
	uint32_t rom = pci_r32(rng, PCI_ROM);

	pci_w32(rng, PCI_ROM, 0xFFFFF800);
	uint32_t rmask = pci_r32(rng, PCI_ROM);

	pci_w32(rng, PCI_ROM, rom);
	if (rmask) {
		uint32_t sz = ~(rmask & 0xFFFFF800) + 1;

		GUEST_ASSERT_MSG(!(sz & (sz - 1)), "ROM BAR mask 0x%x", rmask);
	}

	/* Decode off: every BAR gone, writes dropped (PCI 6.2.2 Memory Space). */
	struct vp_dev *d = &vd;
	unsigned int cb = d->common.bar;
	bool mem64 = d->bar[cb].mem64;
	uint16_t cmd = pci_r16(rng, PCI_COMMAND);

	check_common_at(d->common_a, "decode on");
	pci_w16(rng, PCI_COMMAND, cmd & ~PCI_CMD_MEM);
	check_gone(d->common_a, "COMMAND.Memory clear");
	GUEST_ASSERT_MSG(mmio_read8(d->isr_a) == 0xFF, "COMMAND.Memory clear: ISR reads 0x%x",
			 mmio_read8(d->isr_a));
	if (d->msix)
		GUEST_ASSERT_MSG(mmio_read32(d->msix_table + MSIX_ENTRY_CTRL) == 0xFFFFFFFF,
				 "COMMAND.Memory clear: MSI-X table still decodes");
	mmio_write32(d->common_a + VP_DEVICE_FEATURE_SELECT, 1);
	pci_w16(rng, PCI_COMMAND, cmd);
	GUEST_ASSERT_MSG(vp_r32(d, VP_DEVICE_FEATURE_SELECT) == 0,
			 "a write while COMMAND.Memory was clear reached device_feature_select");
	check_common_at(d->common_a, "decode back on");

	/* Move the BAR while decoding (Linux does for 32-bit BARs), then back with decode off. */
	uint64_t old = pci_bar_read(rng, cb, mem64), size = d->bar[cb].size;
	uint64_t old_common = d->common_a;
	uint64_t nu = (mmio32_top() + size - 1) & ~(size - 1);

	GUEST_ASSERT_MSG(nu + size <= PCI_MMIO32_BASE + PCI_MMIO32_SIZE, "no room in MMIO32 for 0x%lx", size);
	pci_bar_write(rng, cb, mem64, nu);
	GUEST_ASSERT_EQ(pci_bar_read(rng, cb, mem64), nu);
	GUEST_ASSERT_EQ(pci_r32(rng, PCI_BAR0 + 4 * cb) & 0xF, d->bar[cb].raw_lo & 0xF);
	vp_resolve(d);
	check_common_at(d->common_a, "BAR moved with decode on, new address");
	check_gone(old_common, "BAR moved with decode on, old address");
	if (d->msix && d->msix_table_bir == cb)
		GUEST_ASSERT_MSG(mmio_read32(d->msix_table + MSIX_ENTRY_CTRL) & MSIX_ENTRY_MASKED,
				 "MSI-X table not at the BAR's new address");
	uint64_t new_common = d->common_a;

	/* The whole device follows: notify (a KVM ioeventfd in kvmio) and the MSI-X table. */
	rng_start(true, false, &qmem[0]);
	uint16_t head = rng_post(0);

	GUEST_ASSERT_MSG(wait_count(&msi_count, 1, ONE_S),
			 "BAR moved to 0x%lx: no MSI-X interrupt after a notify there (used idx %u)", nu,
			 vq_used_idx(&vq));
	check_used(1, head, 0, 64);
	head = rng_add(1);
	mmio_write16(vq.notify - nu + old, 0);
	quiet();
	GUEST_ASSERT_MSG(vq_used_idx(&vq) == 1, "a notify at the BAR's old address 0x%lx still kicks queue 0",
			 vq.notify - nu + old);
	vq_kick(&vq);
	GUEST_ASSERT_MSG(wait_count(&msi_count, 2, ONE_S), "no MSI-X interrupt for the second buffer");
	check_used(2, head, 1, 64);
	/* Decode off: a notify is a write to nothing. */
	head = rng_add(2);
	pci_w16(rng, PCI_COMMAND, cmd & ~PCI_CMD_MEM);
	mmio_write16(vq.notify, 0);
	pci_w16(rng, PCI_COMMAND, cmd);
	quiet();
	GUEST_ASSERT_MSG(vq_used_idx(&vq) == 2, "a notify while COMMAND.Memory was clear kicked queue 0");
	vq_kick(&vq);
	GUEST_ASSERT_MSG(wait_count(&msi_count, 3, ONE_S), "no MSI-X interrupt after decode came back");
	check_used(3, head, 2, 64);

	pci_w16(rng, PCI_COMMAND, cmd & ~PCI_CMD_MEM);
	pci_bar_write(rng, cb, mem64, old);
	pci_w16(rng, PCI_COMMAND, cmd);
	vp_resolve(d);
	check_common_at(d->common_a, "BAR moved back with decode off");
	check_gone(new_common, "BAR moved back, the address it left");
	vq.notify = vq.notify - nu + old;
	head = rng_post(3);
	GUEST_ASSERT_MSG(wait_count(&msi_count, 4, ONE_S), "BAR moved back: no MSI-X interrupt after a notify");
	check_used(4, head, 3, 64);
	vp_reset(d);
	GUEST_SYNC("pci: bar ok: BAR%u moved 0x%lx -> 0x%lx -> back", cb, old, nu);
}

/* --- bar-hostile ------------------------------------------------------------------- */

/* BAR cb at @where with decode on, a few accesses there, then back home. */
static void bar_visit(uint64_t where, const char *what, bool touch)
{
	struct vp_dev *d = &vd;
	unsigned int cb = d->common.bar;
	bool mem64 = d->bar[cb].mem64;
	uint64_t home = pci_bar_read(rng, cb, mem64);

	if (!mem64 && where >> 32)
		return;
	pci_bar_write(rng, cb, mem64, where);
	GUEST_SYNC("pci: BAR%u at 0x%lx (%s): reads 0x%lx", cb, where, what,
		   pci_bar_read(rng, cb, mem64));
	/* Touch only where no RAM is: there the write would land in memory. */
	if (touch && where + d->bar[cb].size <= 0x100000000ull) {
		(void)mmio_read32(where + d->common.offset);
		mmio_write32(where + d->common.offset + VP_DEVICE_FEATURE_SELECT, 0);
	}
	pci_bar_write(rng, cb, mem64, home);
	vp_resolve(d);
	check_alive(what);
	check_common_at(d->common_a, what);
	GUEST_ASSERT_MSG(mmio_read32(pci_ecam_addr(0, 0)) == HOSTBRIDGE_IDS,
			 "after the BAR visited %s: ECAM 00:00.0 reads 0x%x", what,
			 mmio_read32(pci_ecam_addr(0, 0)));
	GUEST_ASSERT_MSG(lapic_id() == bsp, "after the BAR visited %s: LAPIC ID reads %u", what, lapic_id());
}

static uint8_t ram_probe[4096] __attribute__((aligned(4096)));

static void test_bar_hostile(void)
{
	fresh();
	uint64_t size = vd.bar[vd.common.bar].size;

	bar_visit(PCI_ECAM_BASE, "over the ECAM window", true);
	bar_visit(LAPIC_BASE & ~(size - 1), "over the LAPIC", true);
	bar_visit(IOAPIC_BASE & ~(size - 1), "over the IOAPIC", true);
	/* Over RAM: KVM's memslot wins; RAM must still be RAM afterwards. */
	uint64_t ram = (uint64_t)ram_probe & ~(size - 1);

	memset(ram_probe, 0x3C, sizeof(ram_probe));
	bar_visit(ram, "over guest RAM", false);
	for (unsigned int i = 0; i < sizeof(ram_probe); i++)
		GUEST_ASSERT_MSG(ram_probe[i] == 0x3C, "RAM under the BAR changed at byte %u", i);
	bar_visit(0, "at 0", false);
	bar_visit((0x100000000ull - size), "at the top of 4 GiB", true);
	bar_visit(0xFFFFFFFF00000000ull & ~(size - 1), "above MAXPHYADDR", false);
	bar_visit(0x100000000ull, "at 4 GiB, outside both windows", false);
	/* Sizing with decode on: the BAR briefly decodes at the top of the address space. */
	unsigned int cb = vd.common.bar;
	uint32_t lo = pci_r32(rng, PCI_BAR0 + 4 * cb);

	pci_w32(rng, PCI_BAR0 + 4 * cb, 0xFFFFFFFF);
	pci_w32(rng, PCI_BAR0 + 4 * cb, lo);
	check_alive("sizing with decode on");
	/* And the device still works end to end. */
	rng_start(true, false, &qmem[0]);
	uint16_t head = rng_post(0);

	GUEST_ASSERT_MSG(wait_count(&msi_count, 1, ONE_S), "no MSI-X interrupt after the BAR tour");
	check_used(1, head, 0, 64);
	GUEST_SYNC("pci: bar-hostile ok");
}

/* --- caps ------------------------------------------------------------------------ */

/* [off, off+len) of BAR @bar; len 0 is nothing. */
struct region {
	const char *name;
	unsigned int bar;
	uint64_t off, len;
};

static void test_caps(void)
{
	fresh();
	struct vp_dev *d = &vd;
	uint8_t ptr = pci_r8(rng, PCI_CAP_PTR);
	unsigned int n = 0;

	PCI_NOTE_UNLESS(!(ptr & 3), "Capabilities Pointer 0x%x: low bits reserved, must be 0 (PCI 6.7)", ptr);
	for (unsigned int pos = 0; (pos = pci_cap_next(rng, pos)); n++) {
		GUEST_ASSERT_MSG(n < 48, "capability list does not end");
		uint8_t next = pci_r8(rng, pos + 1);

		PCI_NOTE_UNLESS(!(next & 3), "capability 0x%x: next 0x%x has reserved bits set", pos, next);
		if (pci_r8(rng, pos) == PCI_CAP_ID_VNDR)
			GUEST_SYNC("pci: cap 0x%02x: virtio type %u", pos, pci_r8(rng, pos + VCAP_CFG_TYPE));
		else
			GUEST_SYNC("pci: cap 0x%02x: id 0x%02x", pos, pci_r8(rng, pos));
		/* Caps must fit in the 256-byte space. */
		if (pci_r8(rng, pos) == PCI_CAP_ID_VNDR)
			GUEST_ASSERT_MSG(pos + pci_r8(rng, pos + VCAP_LEN) <= 0x100,
					 "vendor cap at 0x%x with cap_len %u runs past 0xFF", pos,
					 pci_r8(rng, pos + VCAP_LEN));
	}

	/* virtio structures (4.1.4.x). */
	GUEST_ASSERT_MSG(!(d->common.offset & 3), "common cfg offset 0x%x not 4-aligned (4.1.4.3.1)",
			 d->common.offset);
	GUEST_ASSERT_MSG(d->common.length >= VP_COMMON_MIN_LEN, "common cfg length 0x%x < 0x38",
			 d->common.length);
	GUEST_ASSERT_MSG(!(d->notify.offset & 1), "notify offset 0x%x not 2-aligned (4.1.4.4.1)",
			 d->notify.offset);
	GUEST_ASSERT_MSG(d->notify_mult == 0 || (!(d->notify_mult & (d->notify_mult - 1)) && d->notify_mult >= 2),
			 "notify_off_multiplier %u: not 0 nor an even power of two (4.1.4.4.1)", d->notify_mult);
	GUEST_ASSERT_MSG(d->notify.length >= 2, "notify length %u < 2 (4.1.4.4.1)", d->notify.length);
	GUEST_ASSERT_MSG(d->isr.length >= 1, "ISR length 0");
	if (d->device.pos)
		GUEST_ASSERT_MSG(!(d->device.offset & 3), "device cfg offset 0x%x not 4-aligned (4.1.4.6.1)",
				 d->device.offset);
	GUEST_ASSERT_MSG(d->pcicfg.pos, "no VIRTIO_PCI_CAP_PCI_CFG capability (4.1.4.9.1: MUST)");
	GUEST_ASSERT_MSG(d->pcicfg.cap_len >= 20, "PCI_CFG cap_len %u < 20", d->pcicfg.cap_len);

	/* MSI-X (PCI 6.8.2): off at reset, entries masked, nothing pending. */
	GUEST_ASSERT_MSG(d->msix, "no MSI-X capability");
	uint16_t ctrl = pci_r16(rng, d->msix + MSIX_CTRL);

	GUEST_ASSERT_MSG(!(ctrl & (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL)), "MSI-X control 0x%x at reset", ctrl);
	PCI_NOTE_UNLESS(d->msix_n >= 2, "MSI-X table size %u (4.1.5.1.2.1: SHOULD be >= 2)", d->msix_n);
	GUEST_SYNC("pci: MSI-X %u entries, table BAR%u+0x%x, PBA BAR%u+0x%x", d->msix_n,
		   d->msix_table_bir, d->msix_table_off, d->msix_pba_bir, d->msix_pba_off);
	for (unsigned int i = 0; i < d->msix_n; i++)
		GUEST_ASSERT_MSG(mmio_read32(d->msix_table + 16 * i + MSIX_ENTRY_CTRL) & MSIX_ENTRY_MASKED,
				 "MSI-X entry %u unmasked at reset (PCI 6.8.2.9: Mask Bit resets to 1)", i);
	for (unsigned int i = 0; i < (d->msix_n + 31) / 32; i++)
		GUEST_ASSERT_MSG(!mmio_read32(d->msix_pba + 4 * i), "PBA dword %u reads 0x%x at reset", i,
				 mmio_read32(d->msix_pba + 4 * i));

	/* PCI 6.8.2: the table takes aligned DWORD and QWORD accesses. */
	uint64_t e0 = d->msix_table;

	*(volatile uint64_t *)e0 = 0x12345678FEE01000ull;
	*(volatile uint64_t *)(e0 + 8) = (uint64_t)MSIX_ENTRY_MASKED << 32 | 0x4321;
	GUEST_ASSERT_MSG(*(volatile uint64_t *)e0 == 0x12345678FEE01000ull &&
			 mmio_read32(e0 + MSIX_ENTRY_ADDR_HI) == 0x12345678 &&
			 mmio_read32(e0 + MSIX_ENTRY_DATA) == 0x4321 &&
			 (mmio_read32(e0 + MSIX_ENTRY_CTRL) & MSIX_ENTRY_MASKED),
			 "MSI-X entry 0 after QWORD writes: 0x%lx 0x%lx", *(volatile uint64_t *)e0,
			 *(volatile uint64_t *)(e0 + 8));
	GUEST_ASSERT_EQ(*(volatile uint64_t *)d->msix_pba, 0);
	mmio_write32(e0 + MSIX_ENTRY_ADDR_HI, 0);

	/* Nothing overlaps inside a BAR. */
	struct region r[] = {
		{ "common", d->common.bar, d->common.offset, d->common.length },
		{ "notify", d->notify.bar, d->notify.offset, d->notify.length },
		{ "ISR", d->isr.bar, d->isr.offset, d->isr.length },
		{ "device", d->device.bar, d->device.offset, d->device.pos ? d->device.length : 0 },
		{ "MSI-X table", d->msix_table_bir, d->msix_table_off, 16ull * d->msix_n },
		{ "MSI-X PBA", d->msix_pba_bir, d->msix_pba_off, 8ull * ((d->msix_n + 63) / 64) },
	};
	for (unsigned int i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		GUEST_SYNC("pci: %s BAR%u [0x%lx, 0x%lx)", r[i].name, r[i].bar, r[i].off, r[i].off + r[i].len);
		for (unsigned int j = 0; j < i; j++)
			GUEST_ASSERT_MSG(!r[i].len || !r[j].len || r[i].bar != r[j].bar ||
					 r[i].off + r[i].len <= r[j].off || r[j].off + r[j].len <= r[i].off,
					 "%s and %s overlap in BAR%u", r[i].name, r[j].name, r[i].bar);
	}

	/* The common structure at reset (4.1.4.3.1, 4.1.5.1.2.1). */
	GUEST_ASSERT_EQ(vp_r16(d, VP_NUM_QUEUES), 1);	/* 5.4.2: requestq only */
	GUEST_ASSERT_EQ(vp_status(d), 0);
	GUEST_ASSERT_MSG(vp_r16(d, VP_CONFIG_MSIX_VECTOR) == VIRTIO_MSI_NO_VECTOR,
			 "config_msix_vector 0x%x at reset (4.1.5.1.2.1: unmapped)", vp_r16(d, VP_CONFIG_MSIX_VECTOR));
	vp_w16(d, VP_QUEUE_SELECT, 0);
	GUEST_ASSERT_MSG(vp_r16(d, VP_QUEUE_MSIX_VECTOR) == VIRTIO_MSI_NO_VECTOR,
			 "queue_msix_vector 0x%x at reset (4.1.5.1.2.1: unmapped)", vp_r16(d, VP_QUEUE_MSIX_VECTOR));
	GUEST_ASSERT_EQ(vp_r16(d, VP_QUEUE_ENABLE), 0);
	uint16_t qmax = vp_r16(d, VP_QUEUE_SIZE);

	GUEST_ASSERT_MSG(qmax && !(qmax & (qmax - 1)), "queue 0 max size %u", qmax);
	GUEST_ASSERT_EQ(mmio_read8(d->isr_a), 0);

	/* The PCI_CFG window (4.1.4.9.1): BAR accesses through config space. */
	unsigned int p = d->pcicfg.pos;

	pci_w8(rng, p + VCAP_BAR, d->common.bar);
	pci_w32(rng, p + VCAP_OFFSET, d->common.offset + VP_NUM_QUEUES);
	pci_w32(rng, p + VCAP_LENGTH, 2);
	GUEST_ASSERT_MSG(pci_r8(rng, p + VCAP_BAR) == d->common.bar &&
			 pci_r32(rng, p + VCAP_OFFSET) == d->common.offset + VP_NUM_QUEUES &&
			 pci_r32(rng, p + VCAP_LENGTH) == 2, "PCI_CFG cap bar/offset/length do not hold");
	uint32_t v = pci_r32(rng, p + VCAP_PCI_CFG_DATA);

	GUEST_ASSERT_MSG((v & 0xFFFF) == 1, "PCI_CFG window: num_queues reads 0x%x", v);
	pci_w32(rng, p + VCAP_OFFSET, d->common.offset + VP_DEVICE_FEATURE_SELECT);
	pci_w32(rng, p + VCAP_LENGTH, 4);
	pci_w32(rng, p + VCAP_PCI_CFG_DATA, 1);
	GUEST_ASSERT_MSG(vp_r32(d, VP_DEVICE_FEATURE_SELECT) == 1,
			 "PCI_CFG window write of device_feature_select did not land (reads %u)",
			 vp_r32(d, VP_DEVICE_FEATURE_SELECT));
	pci_w32(rng, p + VCAP_OFFSET, d->common.offset + VP_DEVICE_FEATURE);
	v = pci_r32(rng, p + VCAP_PCI_CFG_DATA);
	GUEST_ASSERT_MSG(v == vp_r32(d, VP_DEVICE_FEATURE) && (v & 1),
			 "PCI_CFG window: device_feature[63:32] reads 0x%x, MMIO 0x%x", v,
			 vp_r32(d, VP_DEVICE_FEATURE));
	pci_w32(rng, p + VCAP_OFFSET, d->common.offset + VP_DEVICE_STATUS);
	pci_w32(rng, p + VCAP_LENGTH, 1);
	GUEST_ASSERT_MSG((pci_r32(rng, p + VCAP_PCI_CFG_DATA) & 0xFF) == 0, "PCI_CFG window: status not 0");
	vp_w32(d, VP_DEVICE_FEATURE_SELECT, 0);
	GUEST_SYNC("pci: caps ok: %u capabilities, notify multiplier %u", n, d->notify_mult);
}

/* --- main ------------------------------------------------------------------------------- */

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "enum", test_enum },
	{ "bar", test_bar },
	{ "bar-hostile", test_bar_hostile },
	{ "caps", test_caps },
	{ "msix", test_msix },
	{ "intx", test_intx },
	{ "intx-dis", test_intx_dis },
	{ "intx-back", test_intx_back },
	{ "features", test_features },
	{ "qsel", test_qsel },
	{ "early-kick", test_early_kick },
	{ "msix-mask", test_msix_mask },
	{ "bad-ring", test_bad_ring },
};

void guest_main(void)
{
	char want[32];
	bool all = !cmdline_get("test", want, sizeof(want)), ran = false;

	for (unsigned int i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (!all && memcmp(want, tests[i].name, strlen(tests[i].name) + 1))
			continue;
		tests[i].fn();
		ran = true;
	}
	GUEST_ASSERT_MSG(ran, "no test named '%s'", want);
	if (pci_notes)
		GUEST_SYNC("pci: %u spec notes (see 'note:' lines)", pci_notes);
}
