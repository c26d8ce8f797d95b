// SPDX-License-Identifier: Apache-2.0
/*
 * Peer-to-peer DMA between two devices assigned to one kvmio guest
 * (--device vfio=EDU --device vfio=NVME): QEMU's edu (1234:11e8; its DMA
 * engine) moves data into and out of the controller memory buffer (CMB) of
 * an NVMe (1b36:0010, QEMU's cmb_size_mb=1: 1 MiB in BAR2), at the address
 * the guest sees the CMB at. kvmio maps every mmap'd BAR piece in the host
 * IOMMU at its guest address (docs/vfio.md, DMA); without that the DMA
 * faults in L1's IOMMU. Runs only in the rig (scenarios/vfio-p2p.sh).
 * Checks, in order, one "UCALL SYNC p2p: NAME ok: ..." line each:
 *
 *   find      bus 0 has edu (BAR0: 1 MiB, 32-bit) and the NVMe with a
 *             64-bit prefetchable BAR2; memory decode and bus mastering on
 *             for both; BARs above 4 GiB get uncached page table entries
 *   mask      edu reaches past its default 28-bit DMA mask: a write to
 *             GPA X + 256 MiB lands there, not at X (the rig gives edu
 *             dma_mask=0xffffffffffffffff)
 *   cmb       CAP.CMBS set; CMBLOC/CMBSZ, after CMBMSC.CRE if they read 0
 *             (NVMe 1.4: QEMU 7.2 keeps them 0 until then): in BAR2 at
 *             offset 0, 1 MiB, read and write data supported; the CPU
 *             reads back what it wrote through the BAR
 *   p2p-write RAM -> edu -> the CMB's guest-physical address, twice (4000
 *             bytes across a page boundary; 4000 bytes in the CMB's last
 *             page); the CPU reads the CMB through BAR2: each pattern where
 *             it was sent, the bytes around it untouched
 *   p2p-read  the CPU writes a pattern into the CMB; CMB -> edu -> RAM;
 *             RAM has it, the bytes around it untouched
 *   moved     BAR2 moved by the guest into the 32-bit window: the CPU finds
 *             the CMB's data at the new address, a DMA to the new address
 *             lands in the CMB, and a DMA to a page of the old address
 *             changes nothing there (L1's IOMMU refuses it: the scenario
 *             finds exactly that DMAR fault, from edu, in L1's log)
 *   back      BAR2 moved back: a DMA to the original address lands again
 *
 * Then one "p2p: l1-check" line per region edu wrote into the CMB (offset
 * and the first 32 bytes in hex) that L1 reads back from the device with
 * devmem after the guest has gone: the data is in the NVMe, not only in
 * what the guest's CPU mapping shows.
 *
 * The CMB's memory space (CMBMSC.CMSE, the controller's own use of CMB
 * addresses in commands) is never enabled, nor the controller: BAR2
 * accesses reach the buffer regardless in QEMU (nvme_cmb_ops).
 */
#include "pci_lib.h"

#define EDU_IDS			0x11E81234u	/* device << 16 | vendor */
#define NVME_IDS		0x00101B36u
#define EDU_BAR_SIZE		0x100000u

/* edu's BAR0 (QEMU docs/specs/edu.rst). */
#define EDU_ID			0x00
#define EDU_ID_VALUE		0x010000EDu
#define EDU_DMA_SRC		0x80
#define EDU_DMA_DST		0x88
#define EDU_DMA_CNT		0x90
#define EDU_DMA_CMD		0x98
#define EDU_DMA_RUN		0x1u
#define EDU_DMA_TO_BUS		0x2u		/* device buffer -> bus address */
#define EDU_DMA_BUF		0x40000u	/* the device's buffer, in its own address space */
#define EDU_DMA_SIZE		4096u
/* QEMU 7.2's edu aborts L1's QEMU unless a range is strictly inside its buffer (vfio_edu.c). */
#define DMA_LEN			4000u

/* NVMe controller registers (NVMe 1.4, 3.1). */
#define NVME_CAP		0x00
#define NVME_CAP_CMBS		(1ull << 57)
#define NVME_VS			0x08
#define NVME_CC			0x14
#define NVME_CMBLOC		0x38
#define NVME_CMBSZ		0x3C
#define NVME_CMBMSC		0x50
#define NVME_CMBSTS		0x58
#define CMBLOC_BIR(v)		((v) & 7u)
#define CMBLOC_OFST(v)		((v) >> 12)
#define CMBSZ_SQS		(1u << 0)
#define CMBSZ_RDS		(1u << 3)
#define CMBSZ_WDS		(1u << 4)
#define CMBSZ_SZU(v)		(((v) >> 8) & 0xFu)
#define CMBSZ_SZ(v)		((v) >> 12)
#define CMBMSC_CRE		(1ull << 0)
#define CMBMSC_CMSE		(1ull << 1)
#define NVME_CMB_BAR		2
#define CMB_SIZE		0x100000u	/* the rig's cmb_size_mb=1 */

#define ONE_S			1000000u
#define GUEST_RAM		0x20000000ull	/* the scenario's --memory 512M */
#define GiB			(1ull << 30)
#define MOVED_BAR2		(PCI_MMIO32_BASE + PCI_MMIO32_SIZE - CMB_SIZE)	/* just below the ECAM */

struct fn {
	unsigned int bdf;
	struct pci_bar bar[6];
};

static struct fn fns[32 * 8];
static unsigned int nfns;
static unsigned int edu, nvme;		/* bdf */
static uint64_t edu_bar, nvme_bar0;
static uint64_t cmb;			/* the CMB's guest-physical address now */
static uint64_t cmb_orig;		/* ... where kvmio put BAR2 */
static struct pci_bar nvme_bar2;

static uint8_t buf_src[2 * 4096] __attribute__((aligned(4096)));
static uint8_t buf_dst[2 * 4096] __attribute__((aligned(4096)));
static uint8_t want[DMA_LEN];
/* The CMB as the CPU last read or wrote a window of it. */
static uint8_t win[3 * 4096] __attribute__((aligned(8)));

static inline uint64_t mmio_read64(uint64_t a) { return *(volatile uint64_t *)a; }
static inline void mmio_write64(uint64_t a, uint64_t v) { *(volatile uint64_t *)a = v; }
static inline uint32_t edu_rd(unsigned int reg) { return mmio_read32(edu_bar + reg); }
static inline uint64_t edu_rd64(unsigned int reg) { return mmio_read64(edu_bar + reg); }
static inline void edu_wr64(unsigned int reg, uint64_t v) { mmio_write64(edu_bar + reg, v); }
static inline uint32_t nv_rd(unsigned int reg) { return mmio_read32(nvme_bar0 + reg); }
static inline uint64_t nv_rd64(unsigned int reg) { return mmio_read64(nvme_bar0 + reg); }
static inline void nv_wr64(unsigned int reg, uint64_t v) { mmio_write64(nvme_bar0 + reg, v); }

/* --- helpers ------------------------------------------------------------------------ */

static bool all(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/*
 * The identity map kvmio's boot page tables give covers 0-4 GiB; 64-bit BARs
 * live above (kvmio's MMIO64 window). Each GiB of [@addr, @addr + @size) not
 * mapped yet gets 2 MiB pages, uncached (PCD | PWT), in the same PDPT.
 */
static uint64_t hi_pd[4][512] __attribute__((aligned(4096)));
static unsigned int hi_pds;

static void map_uc(uint64_t addr, uint64_t size)
{
	uint64_t *pml4 = (uint64_t *)(read_cr3() & 0x000FFFFFFFFFF000ull);
	uint64_t *pdpt;

	GUEST_ASSERT_MSG(addr + size <= 512 * GiB, "BAR at 0x%lx+0x%lx is past the first PML4 entry", addr, size);
	GUEST_ASSERT_MSG(pml4[0] & 1, "kvmio's boot page tables: PML4[0] not present");
	pdpt = (uint64_t *)(pml4[0] & 0x000FFFFFFFFFF000ull);
	for (uint64_t g = addr / GiB; g <= (addr + size - 1) / GiB; g++) {
		if (pdpt[g] & 1)
			continue;
		GUEST_ASSERT_MSG(hi_pds < 4, "BARs spread over more than 4 GiB above 4 GiB");
		for (uint64_t i = 0; i < 512; i++)
			hi_pd[hi_pds][i] = (g * GiB + (i << 21)) | 0x9B;	/* P | RW | PWT | PCD | PS */
		pdpt[g] = (uint64_t)hi_pd[hi_pds++] | 3;
	}
	write_cr3(read_cr3());
}

/* --- edu's DMA ------------------------------------------------------------------------ */

static bool dma_idle(void)
{
	return !(edu_rd64(EDU_DMA_CMD) & EDU_DMA_RUN);
}

/*
 * Polls in 10 ms sleeps, not wait_for's 1 ms: a transfer takes edu 100 ms,
 * and every sleep is a few exits of L2 under nested TCG, where the fewer the
 * better (tests/rig/README.md, nested TCG failures).
 */
static bool dma_wait(uint32_t us)
{
	for (uint32_t t = 0;; t += 10000) {
		if (dma_idle())
			return true;
		if (t >= us)
			return false;
		delay_us(10000);
	}
}

/*
 * One transfer of @len bytes between edu's buffer at @dev_off and bus
 * address @addr (@to_bus: buffer -> @addr), waited for. edu's DMA goes
 * through L1's IOMMU, which kvmio's container programs: guest RAM at its
 * GPAs, and every BAR piece at the address the guest gave its BAR.
 */
static void dma(bool to_bus, uint64_t addr, unsigned int dev_off, unsigned int len)
{
	GUEST_ASSERT(len && dev_off + len < EDU_DMA_SIZE);
	GUEST_ASSERT_MSG(dma_wait(2 * ONE_S), "a DMA still runs (cmd 0x%lx)", edu_rd64(EDU_DMA_CMD));
	edu_wr64(EDU_DMA_SRC, to_bus ? EDU_DMA_BUF + dev_off : addr);
	edu_wr64(EDU_DMA_DST, to_bus ? addr : EDU_DMA_BUF + dev_off);
	edu_wr64(EDU_DMA_CNT, len);
	GUEST_ASSERT_MSG(edu_rd64(to_bus ? EDU_DMA_DST : EDU_DMA_SRC) == addr && edu_rd64(EDU_DMA_CNT) == len,
			 "edu's DMA registers read back address 0x%lx count 0x%lx, wrote 0x%lx 0x%x",
			 edu_rd64(to_bus ? EDU_DMA_DST : EDU_DMA_SRC), edu_rd64(EDU_DMA_CNT), addr, len);
	edu_wr64(EDU_DMA_CMD, EDU_DMA_RUN | (to_bus ? EDU_DMA_TO_BUS : 0));
	/* edu finishes 100 ms after the start (its timer). */
	GUEST_ASSERT_MSG(dma_wait(3 * ONE_S), "DMA %s 0x%lx (%u bytes) not done after 3 s",
			 to_bus ? "to" : "from", addr, len);
}

/* --- the CMB through the CPU ------------------------------------------------------------ */

/* win[] = CMB bytes [@off, @off + @len), in 8-byte reads; @off and @len multiples of 8. */
static void cmb_read(uint64_t off, size_t len)
{
	GUEST_ASSERT(!(off & 7) && !(len & 7) && len <= sizeof(win) && off + len <= CMB_SIZE);
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = mmio_read64(cmb + off + i);

		memcpy(win + i, &v, 8);
	}
}

/* CMB bytes [@off, @off + @len) = win[], in 8-byte writes. */
static void cmb_write(uint64_t off, size_t len)
{
	GUEST_ASSERT(!(off & 7) && !(len & 7) && len <= sizeof(win) && off + len <= CMB_SIZE);
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v;

		memcpy(&v, win + i, 8);
		mmio_write64(cmb + off + i, v);
	}
}

/* The window around [@off, @off + DMA_LEN): 8-aligned, 64 bytes either side, inside the CMB. */
static void around(uint64_t off, uint64_t *lo, size_t *len)
{
	*lo = off >= 64 ? (off - 64) & ~7ull : 0;
	uint64_t hi = (off + DMA_LEN + 64 + 7) & ~7ull;

	if (hi > CMB_SIZE)
		hi = CMB_SIZE;
	*len = hi - *lo;
}

/* The CMB around @off holds want[] at @off and @bg elsewhere. */
static void check_cmb(uint64_t off, uint8_t bg, const char *what)
{
	uint64_t lo;
	size_t len, d;

	around(off, &lo, &len);
	cmb_read(lo, len);
	d = pattern_diff(win + (off - lo), want, DMA_LEN);
	GUEST_ASSERT_MSG(d == DMA_LEN, "%s: the CPU reads CMB byte 0x%lx as 0x%x, want 0x%x (%lu of %u bytes arrived)",
			 what, off + d, win[off - lo + d], want[d], (uint64_t)d, DMA_LEN);
	for (size_t i = 0; i < len; i++)
		GUEST_ASSERT_MSG((lo + i >= off && lo + i < off + DMA_LEN) || win[i] == bg,
				 "%s: CMB byte 0x%lx, outside the transfer at 0x%lx, became 0x%x (was 0x%x)", what,
				 lo + i, off, win[i], bg);
}

/* The CMB around @off all @bg, as the CPU left it (so that what the DMA writes shows). */
static void clear_cmb(uint64_t off, uint8_t bg)
{
	uint64_t lo;
	size_t len;

	around(off, &lo, &len);
	memset(win, bg, len);
	cmb_write(lo, len);
}

/* "p2p: l1-check" lines: CMB bytes at an 8-aligned offset as the device must hold them, for L1. */
static struct {
	uint64_t off;
	char hex[65];
} l1[4];
static unsigned int l1_n;

static void l1_check(uint64_t off, const uint8_t *p)
{
	static const char digits[] = "0123456789abcdef";

	GUEST_ASSERT(!(off & 7) && l1_n < 4);
	for (unsigned int i = 0; i < 32; i++) {
		l1[l1_n].hex[2 * i] = digits[p[i] >> 4];
		l1[l1_n].hex[2 * i + 1] = digits[p[i] & 15];
	}
	l1[l1_n].hex[64] = 0;
	l1[l1_n++].off = off;
}

/* --- find ------------------------------------------------------------------------------ */

static void scan(void)
{
	for (unsigned int dev = 0; dev < 32; dev++) {
		for (unsigned int fn = 0; fn < 8; fn++) {
			unsigned int bdf = PCI_BDF(0, dev, fn);
			uint32_t ids = pci_r32(bdf, PCI_VENDOR_ID);

			if (ids == 0xFFFFFFFF) {
				if (fn == 0)
					break;
				continue;
			}
			struct fn *f = &fns[nfns++];

			f->bdf = bdf;
			if ((pci_r8(bdf, PCI_HEADER_TYPE) & 0x7F) == 0)
				for (unsigned int i = 0; i < 6; i += pci_bar_probe(bdf, i, &f->bar[i]))
					;
			if (ids == EDU_IDS)
				edu = bdf;
			/* The NVMe with a BAR2: the CMB; the rig's plain NVMe has none. */
			if (ids == NVME_IDS && f->bar[NVME_CMB_BAR].size)
				nvme = bdf;
			if (fn == 0 && !(pci_r8(bdf, PCI_HEADER_TYPE) & PCI_HDR_MULTIFN))
				break;
		}
	}
}

static struct fn *fn_of(unsigned int bdf)
{
	for (unsigned int i = 0; i < nfns; i++)
		if (fns[i].bdf == bdf)
			return &fns[i];
	GUEST_FAIL("no function %02x.%x", PCI_SLOT(bdf), PCI_FN(bdf));
}

static void test_find(void)
{
	edu = nvme = 0xFFFF;
	scan();
	GUEST_ASSERT_MSG(edu != 0xFFFF, "no edu (1234:11e8) on bus 0: kvmio run without --device vfio=EDU?");
	GUEST_ASSERT_MSG(nvme != 0xFFFF, "no NVMe (1b36:0010) with a BAR2 (CMB) on bus 0: kvmio run without "
			 "--device vfio=NVME, or an NVMe without cmb_size_mb?");

	struct pci_bar *e = &fn_of(edu)->bar[0], *n0 = &fn_of(nvme)->bar[0], *n2 = &fn_of(nvme)->bar[NVME_CMB_BAR];

	GUEST_ASSERT_MSG(!e->io && !e->mem64 && e->size == EDU_BAR_SIZE,
			 "edu BAR0: io %u mem64 %u size 0x%lx; edu's is a 1 MiB 32-bit memory BAR", e->io, e->mem64,
			 e->size);
	GUEST_ASSERT_MSG(!n0->io && n0->size >= 0x1000, "NVMe BAR0: io %u size 0x%lx", n0->io, n0->size);
	GUEST_ASSERT_MSG(!n2->io && n2->mem64 && n2->prefetch && n2->size >= CMB_SIZE,
			 "NVMe BAR2: io %u mem64 %u prefetch %u size 0x%lx; QEMU's CMB BAR is 64-bit prefetchable",
			 n2->io, n2->mem64, n2->prefetch, n2->size);
	GUEST_ASSERT_MSG(e->addr && n0->addr && n2->addr, "BARs unassigned: edu 0x%lx, NVMe 0x%lx, 0x%lx", e->addr,
			 n0->addr, n2->addr);
	edu_bar = e->addr;
	nvme_bar0 = n0->addr;
	nvme_bar2 = *n2;
	map_uc(nvme_bar0, n0->size);
	map_uc(nvme_bar2.addr, nvme_bar2.size);
	map_uc(edu_bar, e->size);

	/* Memory decode and bus mastering: edu's DMA is bus master; the NVMe only decodes. */
	pci_w16(edu, PCI_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER);
	pci_w16(nvme, PCI_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER);
	GUEST_ASSERT_EQ(pci_r16(edu, PCI_COMMAND) & (PCI_CMD_MEM | PCI_CMD_MASTER), PCI_CMD_MEM | PCI_CMD_MASTER);
	GUEST_ASSERT_EQ(pci_r16(nvme, PCI_COMMAND) & (PCI_CMD_MEM | PCI_CMD_MASTER), PCI_CMD_MEM | PCI_CMD_MASTER);
	GUEST_ASSERT_MSG(edu_rd(EDU_ID) == EDU_ID_VALUE, "edu's identification register reads 0x%x",
			 edu_rd(EDU_ID));
	GUEST_SYNC("p2p: find ok: edu at 00:%02x.%x BAR0 0x%lx; NVMe at 00:%02x.%x BAR0 0x%lx (0x%lx), BAR2 0x%lx "
		   "(0x%lx, 64-bit prefetchable); %u functions on bus 0", PCI_SLOT(edu), PCI_FN(edu), edu_bar,
		   PCI_SLOT(nvme), PCI_FN(nvme), nvme_bar0, n0->size, nvme_bar2.addr, nvme_bar2.size, nfns);
}

/* --- mask ------------------------------------------------------------------------------- */

/*
 * QEMU's edu masks every DMA address with its dma_mask, 28 bits by default:
 * a DMA to the CMB (above 3 GiB) would then land in guest RAM at the address
 * modulo 256 MiB (over this guest's code, at 1 MiB). A write to a RAM page
 * 256 MiB above buf_dst shows which edu the rig has before that can happen.
 */
static void test_mask(void)
{
	uint64_t far = (uint64_t)buf_dst + (1ull << 28);
	uint8_t *farp = (uint8_t *)far;

	GUEST_ASSERT_MSG(far + 4096 <= GUEST_RAM, "buf_dst at 0x%lx: the probe page is past the guest's RAM", (uint64_t)buf_dst);
	pattern_fill(buf_src, 64, 9);
	memset(buf_dst, 0x5A, 64);
	memset(farp, 0x5A, 64);
	dma(false, (uint64_t)buf_src, 0, 64);
	dma(true, far, 0, 64);
	GUEST_ASSERT_MSG(all(buf_dst, 64, 0x5A),
			 "edu's DMA to 0x%lx landed at 0x%lx: its DMA mask is 28 bits (QEMU's default); the rig "
			 "runs L1 with -device edu,dma_mask=0xffffffffffffffff", far, (uint64_t)buf_dst);
	GUEST_ASSERT_MSG(memcmp(farp, buf_src, 64) == 0, "edu's DMA to 0x%lx did not land there (byte 0 0x%x)", far,
			 farp[0]);
	GUEST_SYNC("p2p: mask ok: a DMA to 0x%lx lands there, not 256 MiB lower", far);
}

/* --- cmb -------------------------------------------------------------------------------- */

static void test_cmb(void)
{
	uint64_t cap = nv_rd64(NVME_CAP);
	uint32_t loc = nv_rd(NVME_CMBLOC), sz = nv_rd(NVME_CMBSZ);
	bool cre = false;

	GUEST_ASSERT_MSG(cap & NVME_CAP_CMBS, "CAP 0x%lx: CMBS clear (VS 0x%x); no controller memory buffer", cap,
			 nv_rd(NVME_VS));
	if (!sz) {
		/* NVMe 1.4 (3.1.15): CMBLOC and CMBSZ are 0 until CMBMSC.CRE enables them. */
		nv_wr64(NVME_CMBMSC, CMBMSC_CRE);
		loc = nv_rd(NVME_CMBLOC);
		sz = nv_rd(NVME_CMBSZ);
		cre = true;
	}
	GUEST_ASSERT_MSG(sz, "CMBSZ reads 0 after CMBMSC.CRE (CMBMSC 0x%lx, CMBSTS 0x%x)", nv_rd64(NVME_CMBMSC),
			 nv_rd(NVME_CMBSTS));
	uint64_t unit = 4096ull << (4 * CMBSZ_SZU(sz));
	uint64_t size = CMBSZ_SZ(sz) * unit, off = CMBLOC_OFST(loc) * unit;

	GUEST_ASSERT_MSG(CMBLOC_BIR(loc) == NVME_CMB_BAR, "CMBLOC 0x%x: the CMB is in BAR%u, QEMU's is in BAR2", loc,
			 CMBLOC_BIR(loc));
	GUEST_ASSERT_MSG(size == CMB_SIZE && off == 0, "CMBSZ 0x%x CMBLOC 0x%x: 0x%lx bytes at offset 0x%lx, the rig "
			 "gives 1 MiB (cmb_size_mb=1)", sz, loc, size, off);
	GUEST_ASSERT_MSG(off + size <= nvme_bar2.size, "the CMB (0x%lx+0x%lx) is past BAR2 (0x%lx)", off, size,
			 nvme_bar2.size);
	GUEST_ASSERT_MSG((sz & (CMBSZ_RDS | CMBSZ_WDS)) == (CMBSZ_RDS | CMBSZ_WDS),
			 "CMBSZ 0x%x: read or write data in the CMB not supported", sz);
	GUEST_ASSERT_MSG(!(nv_rd(NVME_CC) & 1), "CC 0x%x: the controller is enabled; nothing here enables it",
			 nv_rd(NVME_CC));
	cmb = nvme_bar2.addr + off;
	cmb_orig = cmb;

	/* The CPU: a pattern written through the BAR reads back, at both ends of the CMB. */
	pattern_fill(win, 64, 5);
	cmb_write(0, 64);
	cmb_write(CMB_SIZE - 64, 64);
	memcpy(want, win, 64);
	memset(win, 0, 128);
	cmb_read(0, 64);
	GUEST_ASSERT_MSG(memcmp(win, want, 64) == 0, "CMB offset 0: the CPU wrote 0x%lx..., reads 0x%lx...",
			 *(uint64_t *)want, *(uint64_t *)win);
	cmb_read(CMB_SIZE - 64, 64);
	GUEST_ASSERT_MSG(memcmp(win, want, 64) == 0, "CMB offset 0x%x: the CPU wrote 0x%lx..., reads 0x%lx...",
			 CMB_SIZE - 64, *(uint64_t *)want, *(uint64_t *)win);
	GUEST_SYNC("p2p: cmb ok: CAP.CMBS, CMBLOC 0x%x CMBSZ 0x%x%s: 1 MiB at BAR2 + 0, GPA 0x%lx; the CPU reads back "
		   "its writes", loc, sz, cre ? " (both 0 until CMBMSC.CRE was set)" : " (readable without CMBMSC.CRE)",
		   cmb);
}

/* --- p2p-write: RAM -> edu -> CMB ------------------------------------------------------------ */

/* @seed's DMA_LEN bytes RAM -> edu buffer -> CMB + @off; the CPU finds them there. */
static void p2p_write(uint64_t off, uint32_t seed, uint8_t bg, const char *what)
{
	clear_cmb(off, bg);
	pattern_fill(buf_src, DMA_LEN, seed);
	memcpy(want, buf_src, DMA_LEN);
	dma(false, (uint64_t)buf_src, 0, DMA_LEN);
	dma(true, cmb + off, 0, DMA_LEN);
	check_cmb(off, bg, what);
}

static void test_p2p_write(void)
{
	/* Across a page boundary of the CMB: two IOMMU pages. */
	p2p_write(0x1803, 1, 0x5A, "RAM -> edu -> CMB + 0x1803");
	/* The CMB's last page: the whole BAR is mapped, not only its start. */
	p2p_write(CMB_SIZE - 0x1000 + 0x40, 2, 0xA5, "RAM -> edu -> CMB + 0xff040");
	l1_check(CMB_SIZE - 0x1000 + 0x40, want);
	GUEST_SYNC("p2p: p2p-write ok: 2 x %u bytes RAM -> edu -> CMB at GPA 0x%lx + 0x1803 and + 0x%x, read back "
		   "through BAR2 by the CPU, nothing around them changed", DMA_LEN, cmb, CMB_SIZE - 0x1000 + 0x40);
}

/* --- p2p-read: CMB -> edu -> RAM --------------------------------------------------------------- */

static void test_p2p_read(void)
{
	const uint64_t off = 0x5F09, lo = 0x5000;
	const size_t len = 0x2000;

	/* The CPU writes a pattern into the CMB, 0xC3 around it. */
	memset(win, 0xC3, len);
	pattern_fill(want, DMA_LEN, 3);
	memcpy(win + (off - lo), want, DMA_LEN);
	cmb_write(lo, len);
	cmb_read(lo, len);
	GUEST_ASSERT_MSG(memcmp(win + (off - lo), want, DMA_LEN) == 0, "the CPU's write to the CMB at 0x%lx reads back "
			 "differently", off);

	memset(buf_dst, 0x5A, sizeof(buf_dst));
	dma(false, cmb + off, 0x10, DMA_LEN);
	dma(true, (uint64_t)buf_dst + 0x321, 0x10, DMA_LEN);
	size_t d = pattern_diff(buf_dst + 0x321, want, DMA_LEN);

	GUEST_ASSERT_MSG(d == DMA_LEN, "CMB -> edu -> RAM: byte %lu is 0x%x, the CPU put 0x%x in the CMB (CMB + 0x%lx)",
			 (uint64_t)d, buf_dst[0x321 + d], want[d], off + d);
	for (size_t i = 0; i < sizeof(buf_dst); i++)
		GUEST_ASSERT_MSG((i >= 0x321 && i < 0x321 + DMA_LEN) || buf_dst[i] == 0x5A,
				 "CMB -> edu -> RAM: RAM byte 0x%lx outside the transfer became 0x%x", (uint64_t)i,
				 buf_dst[i]);
	GUEST_SYNC("p2p: p2p-read ok: %u bytes the CPU wrote at CMB + 0x%lx, CMB -> edu -> RAM at 0x%lx, across pages "
		   "both sides", DMA_LEN, off, (uint64_t)buf_dst + 0x321);
}

/* --- moved, back ---------------------------------------------------------------------------------- */

/* BAR2 to @addr, as Linux moves a BAR: decode off, the register, decode on. */
static void move_bar2(uint64_t addr)
{
	uint16_t cmd = pci_r16(nvme, PCI_COMMAND);

	pci_w16(nvme, PCI_COMMAND, cmd & ~PCI_CMD_MEM);
	pci_bar_write(nvme, NVME_CMB_BAR, true, addr);
	pci_w16(nvme, PCI_COMMAND, cmd);
	GUEST_ASSERT_MSG(pci_bar_read(nvme, NVME_CMB_BAR, true) == addr, "BAR2 reads 0x%lx after writing 0x%lx",
			 pci_bar_read(nvme, NVME_CMB_BAR, true), addr);
	cmb = addr;
}

static void test_moved(void)
{
	const uint64_t old = cmb, refused = old + 0xA000;

	/* The new place must be free: no other BAR of bus 0 there. */
	for (unsigned int f = 0; f < nfns; f++)
		for (unsigned int i = 0; i < 6; i++) {
			struct pci_bar *b = &fns[f].bar[i];

			GUEST_ASSERT_MSG(!b->size || b->io || fns[f].bdf == nvme ||
					 b->addr + b->size <= MOVED_BAR2 || b->addr >= MOVED_BAR2 + CMB_SIZE,
					 "%02x.%x BAR%u (0x%lx+0x%lx) is where BAR2 is to go (0x%lx)",
					 PCI_SLOT(fns[f].bdf), PCI_FN(fns[f].bdf), i, b->addr, b->size, MOVED_BAR2);
		}
	move_bar2(MOVED_BAR2);

	/* The CPU: the CMB's data at its new address (p2p-read's pattern is still there). */
	pattern_fill(want, DMA_LEN, 3);
	check_cmb(0x5F09, 0xC3, "the CMB at its new address, as p2p-read left it");

	/* Peer-to-peer at the new address. */
	p2p_write(0x8000 + 0x28, 4, 0x96, "RAM -> edu -> the moved CMB + 0x8028");
	l1_check(0x8028, want);

	/*
	 * The old address: a page of it, 0x3C in the CMB. A DMA there must not
	 * reach the CMB (nor anything: L1's IOMMU refuses it and logs it).
	 */
	clear_cmb(0xA000, 0x3C);
	pattern_fill(buf_src, DMA_LEN, 6);
	dma(false, (uint64_t)buf_src, 0, DMA_LEN);
	dma(true, refused, 0, DMA_LEN);
	{
		uint64_t lo;
		size_t len;

		around(0xA000, &lo, &len);
		cmb_read(lo, len);
		GUEST_ASSERT_MSG(all(win, len, 0x3C),
				 "a DMA to the CMB's old address 0x%lx reached the CMB after BAR2 moved to 0x%lx: "
				 "the old peer-to-peer mapping is still in the host IOMMU", refused, cmb);
	}
	GUEST_SYNC("p2p: moved ok: BAR2 0x%lx -> 0x%lx: the CPU finds the CMB's data there, a DMA there lands in the CMB, "
		   "the DMA to the old address 0x%lx changed nothing; refused at 0x%lx", old, cmb, refused, refused);
}

static void test_back(void)
{
	move_bar2(nvme_bar2.addr);
	GUEST_ASSERT_EQ(cmb, cmb_orig);
	p2p_write(0xC010, 7, 0x69, "RAM -> edu -> the CMB moved back + 0xc010");
	GUEST_SYNC("p2p: back ok: BAR2 at 0x%lx again, a DMA there lands in the CMB", cmb);
}

void guest_main(void)
{
	irq_init();
	test_find();
	test_mask();
	test_cmb();
	test_p2p_write();
	test_p2p_read();
	test_moved();
	test_back();
	/* Printed once every check has passed: the scenario reads these from the device. */
	for (unsigned int i = 0; i < l1_n; i++)
		GUEST_SYNC("p2p: l1-check off=0x%lx bytes=%s", l1[i].off, l1[i].hex);
	GUEST_SYNC("p2p: all checks passed");
}
