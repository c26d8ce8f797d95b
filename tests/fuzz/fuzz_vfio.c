// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: an assigned device (src/vfio/) built from a fuzzed
 * config space, then a hostile guest (hostile-guest.md case 20, and 13 for
 * the MSI-X table) and a device that changes under kvmio's feet.
 *
 * Each input makes a fresh fake VM (tests/unit/fake_vm.c: the real bus, no
 * KVM, memory slots recorded) with the PCI host, and a device file: a memfd
 * laid out as a VFIO device fd (config region at 0, BAR n at (n + 1) MiB,
 * the ROM at 7 MiB). The input's first bytes say what the device is:
 *
 *   byte 0   bit 0: 4 KiB of config space (else 256); bit 1: MSI-X is
 *            NORESIZE; bits 2-4: VFIO reports no INTx / MSI / MSI-X; bit 5:
 *            template mode; bit 6: a ROM; bit 7: no BAR may be mmap'd
 *   template a realistic device (PM, MSI, PCI-X, MSI-X, PCIe, vendor and
 *            HyperTransport capabilities, AER, SR-IOV, DSN and ARI) with up
 *            to 32 byte patches (offset low, offset high, value), its BARs
 *            fixed;
 *   raw      6 bytes of BAR region sizes and mmap flags, a ROM size byte,
 *            then config bytes 0x00-0xff and a 256-byte window repeated over
 *            0x100-0xfff (so extended lists can run anywhere, and loop);
 *
 * then 12-byte records (run_op): config accesses through 0xCF8/0xCFC, ECAM
 * and the pci_cfg_read/write API (any size, any offset), writes to the
 * registers that matter (COMMAND, BARs, MSI and MSI-X control), BAR, MSI-X
 * table and PBA accesses wherever the BARs are, MSI and MSI-X driver
 * macros, BAR moves and sizing, and the device's side: a vector's eventfd
 * signalled, config bytes changed behind kvmio's back, reads of a device
 * gone failing; and KVM out of memory slots.
 *
 * VFIO_DEVICE_SET_IRQS goes to a stand-in that plays vfio-pci (one of INTx,
 * MSI, MSI-X at a time; MSI never grows; MSI-X grows only without NORESIZE;
 * eventfds only; counts within the device's), and pread/pwrite on the
 * device file are wrapped (-Wl,--wrap). Checked, aborting on a violation:
 *  - the device builds or fails cleanly (ASan: no leak, no fd left open);
 *  - every pread/pwrite lies inside one region, as vfio-pci wants;
 *  - config writes reach the device only for bytes not wholly kvmio's (BARs,
 *    ROM, capability headers, MSI, MSI-X never do), with kvmio's value in
 *    the bits it owns, and COMMAND only as the guest's view has it;
 *  - the device's MSI-X table and PBA are never read or written, the ROM
 *    never written; kvmio traps them where the device's capability says;
 *  - config reads: the device's bits come fresh from the file, kvmio's stay
 *    as they were; nothing past a 256-byte device's end;
 *  - the guest's capability walks terminate, never show a hidden ID, and
 *    stay as built while the guest cannot write their bytes;
 *  - memory slots exist exactly for the mmap'd pieces of decoded BARs, at
 *    the BAR's address, never over the MSI-X pages, and only while the
 *    device decodes memory;
 *  - interrupts: what VFIO has is what the guest enabled: INTx when neither
 *    MSI nor MSI-X is on; MSI with exactly the enabled vectors' eventfds;
 *    MSI-X with each unmasked vector's eventfd, routed to the address and
 *    data of its table entry (kvmio's routes only), masked ones unbound;
 *    nothing after teardown.
 *
 * Built by tests/fuzz/fuzz.mk (`make fuzz-vfio`).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_alloc.h"
#include "../unit/fake_vm.h"
#include "pci/msi.h"
#include "pci/pci.h"
#include "util.h"
#include "vfio/vfio.h"
#include "vm.h"

#define FAIL(...)								\
	do {									\
		fprintf(stderr, "fuzz_vfio: op %u: ", w.nop);			\
		fprintf(stderr, __VA_ARGS__);					\
		fputc('\n', stderr);						\
		abort();							\
	} while (0)
#define CHECK(cond, ...)	do { if (!(cond)) FAIL(__VA_ARGS__); } while (0)

#define RAM_SIZE	(1 * MiB)
#define MAX_OPS		192
#define REC_LEN		12
#define SLOT		1
#define REGION_SPAN	(1ULL << 20)
#define FILE_SIZE	(8 * REGION_SPAN)
#define MAXVEC		2048

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
ssize_t __real_pread(int fd, void *buf, size_t n, off_t off);
ssize_t __real_pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off);

struct walk {
	unsigned int n;
	unsigned int off[1024];
};

static struct world {
	struct vm vm;
	struct pci_host host;
	struct vfio_device *vd;		/* NULL when the build failed */
	int memfd;			/* the device file, the target's own fd */
	int devfd;			/* vd->fd (a dup): the one kvmio uses; -1 when none */
	uint64_t roff[VFIO_PCI_NUM_REGIONS], rsize[VFIO_PCI_NUM_REGIONS];
	uint8_t hw[PCI_CFG_SIZE];
	unsigned int cfg_size;
	struct walk std0, ext0;		/* the guest's walks right after the build */
	/* The fake vfio-pci. */
	int on;
	unsigned int count;
	int32_t fd[MAXVEC];
	int32_t unmask_fd;
	bool both;			/* the guest had MSI and MSI-X on together */
	bool building;			/* in vfio_device_build: no layout yet to check against */
	bool map_fail;			/* vm_map_mmio refuses (KVM out of slots); stays */
	bool read_fail;			/* reads of the device fail (a device gone) */
	unsigned int nop;
} w = { .memfd = -1, .devfd = -1 };

static const char *const irq_name[] = { "INTx", "MSI", "MSI-X" };

/* ---- what may show (config.c's lists, as a spec) ---- */

static bool std_id_ok(uint8_t id)
{
	switch (id) {
	case PCI_CAP_ID_PM: case PCI_CAP_ID_VPD: case PCI_CAP_ID_MSI: case PCI_CAP_ID_VNDR:
	case PCI_CAP_ID_SSVID: case PCI_CAP_ID_EXP: case PCI_CAP_ID_MSIX: case PCI_CAP_ID_AF:
		return true;
	default:
		return false;
	}
}

static bool ext_id_ok(uint16_t id)
{
	switch (id) {
	case PCI_EXT_CAP_ID_ERR: case PCI_EXT_CAP_ID_VC: case PCI_EXT_CAP_ID_DSN:
	case PCI_EXT_CAP_ID_PWR: case PCI_EXT_CAP_ID_VNDR: case PCI_EXT_CAP_ID_LTR:
	case PCI_EXT_CAP_ID_SECPCI: case PCI_EXT_CAP_ID_L1SS: case PCI_EXT_CAP_ID_PTM:
	case PCI_EXT_CAP_ID_DVSEC:
		return true;
	default:
		return false;
	}
}

/* ---- the device file behind kvmio: every access checked ---- */

static int region_of(uint64_t off, size_t n)
{
	for (int i = 0; i < VFIO_PCI_NUM_REGIONS; i++)
		if (w.rsize[i] && off >= w.roff[i] && off - w.roff[i] < w.rsize[i])
			return n <= w.rsize[i] - (off - w.roff[i]) ? i : -2;
	return -1;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Config byte @o is in the MSI pending register, which a config read refreshes. */
static bool msi_pending_byte(unsigned int o)
{
	const struct msi_cap *m = &w.vd->msi;
	unsigned int reg;

	if (!w.vd->has_msi || !m->maskable)
		return false;
	reg = m->cap + (m->is64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32);
	return o >= reg && o < reg + 4;
}

/* [off, off + len) of BAR @bar is over the MSI-X table or the PBA, wherever each lives. */
static bool over_msix(const struct vfio_device *vd, unsigned int bar, uint64_t off, uint64_t len)
{
	return vd->has_msix &&
	       ((bar == vd->msix_table_bar &&
		 overlaps(off, len, vd->msix_table_off, vd->msix_table_size)) ||
		(bar == vd->msix_pba_bar && overlaps(off, len, vd->msix_pba_off, vd->msix_pba_size)));
}

static void check_file_access(uint64_t off, size_t n, const uint8_t *wbuf)
{
	struct vfio_device *vd = w.vd;
	int r = region_of(off, n);
	uint64_t o;

	CHECK(r >= 0, "%s of %zu bytes at file offset 0x%llx: %s", wbuf ? "write" : "read", n,
	      (unsigned long long)off, r == -2 ? "crosses a region's end" : "in no region");
	o = off - w.roff[r];
	if (!vd || w.building)
		return;		/* the snapshot of config space, COMMAND as firmware sets it */
	if (r == VFIO_PCI_CONFIG_REGION_INDEX && wbuf) {
		if (o == PCI_COMMAND && n == 2) {
			CHECK(!memcmp(wbuf, vd->pci.cfg + PCI_COMMAND, 2),
			      "COMMAND 0x%04llx to the device, the guest has 0x%04x",
			      (unsigned long long)le_read(wbuf, 2), pci_cfg16(&vd->pci, PCI_COMMAND));
			return;
		}
		for (size_t i = 0; i < n; i++) {
			uint8_t m = vd->lay.emu[o + i];

			CHECK(m != 0xff, "config byte 0x%llx, wholly kvmio's, written to the device",
			      (unsigned long long)(o + i));
			CHECK(!((wbuf[i] ^ vd->pci.cfg[o + i]) & m),
			      "config byte 0x%llx: 0x%02x to the device, kvmio's bits 0x%02x are 0x%02x",
			      (unsigned long long)(o + i), wbuf[i], m, vd->pci.cfg[o + i]);
		}
		return;
	}
	if (r == VFIO_PCI_ROM_REGION_INDEX)
		CHECK(!wbuf, "ROM written at 0x%llx", (unsigned long long)o);
	if (vd->has_msix && r == (int)vd->msix_table_bar)
		CHECK(!overlaps(o, n, vd->msix_table_off, vd->msix_table_size),
		      "BAR %d 0x%llx+%zu %s the device's MSI-X table (0x%llx+0x%llx)", r,
		      (unsigned long long)o, n, wbuf ? "writes" : "reads",
		      (unsigned long long)vd->msix_table_off,
		      (unsigned long long)vd->msix_table_size);
	if (vd->has_msix && r == (int)vd->msix_pba_bar)
		CHECK(!overlaps(o, n, vd->msix_pba_off, vd->msix_pba_size),
		      "BAR %d 0x%llx+%zu %s the device's PBA", r, (unsigned long long)o, n,
		      wbuf ? "writes" : "reads");
}

ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off)
{
	if (fd >= 0 && fd == w.devfd) {
		check_file_access((uint64_t)off, n, NULL);
		if (w.read_fail && !w.building) {
			errno = EIO;
			return -1;
		}
	}
	return __real_pread(fd, buf, n, off);
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (fd >= 0 && fd == w.devfd)
		check_file_access((uint64_t)off, n, buf);
	return __real_pwrite(fd, buf, n, off);
}

static void file_rd(uint64_t off, void *buf, size_t n)
{
	if (__real_pread(w.memfd, buf, n, (off_t)off) != (ssize_t)n)
		FAIL("reading the device file: %s", strerror(errno));
}

/* ---- the fake vfio-pci behind SET_IRQS ---- */

static int fv_set_irqs(struct vfio_device *d, struct vfio_irq_set *s)
{
	uint32_t data = s->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	uint32_t action = s->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	const int32_t *fds = (const int32_t *)s->data;
	unsigned int idx = s->index;

	CHECK(d == w.vd && idx <= VFIO_PCI_MSIX_IRQ_INDEX, "SET_IRQS index %u", idx);
	CHECK(__builtin_popcount(data) == 1 && __builtin_popcount(action) == 1,
	      "SET_IRQS flags 0x%x", s->flags);
	if (data == VFIO_IRQ_SET_DATA_EVENTFD) {
		CHECK(s->argsz == sizeof(*s) + s->count * sizeof(int32_t), "argsz %u for %u fds",
		      s->argsz, s->count);
		CHECK(s->count && s->start + s->count <= d->irq_count[idx] &&
		      s->start + s->count <= MAXVEC, "%s %u+%u: the device has %u", irq_name[idx],
		      s->start, s->count, d->irq_count[idx]);
		for (unsigned int i = 0; i < s->count; i++)
			CHECK(fds[i] == -1 || fcntl(fds[i], F_GETFD) >= 0,
			      "%s vector %u: fd %d is not open", irq_name[idx], s->start + i, fds[i]);
	} else {
		CHECK(data == VFIO_IRQ_SET_DATA_NONE && !s->count, "SET_IRQS flags 0x%x count %u",
		      s->flags, s->count);
	}
	if (idx == VFIO_PCI_INTX_IRQ_INDEX && action == VFIO_IRQ_SET_ACTION_UNMASK) {
		CHECK(w.on == (int)idx && data == VFIO_IRQ_SET_DATA_EVENTFD,
		      "INTx unmask fd while INTx is off");
		w.unmask_fd = fds[0];
		return 0;
	}
	CHECK(action == VFIO_IRQ_SET_ACTION_TRIGGER, "%s action 0x%x", irq_name[idx], action);
	if (data == VFIO_IRQ_SET_DATA_NONE) {
		CHECK(w.on == (int)idx, "%s disabled while not enabled", irq_name[idx]);
		w.on = -1;
		w.count = 0;
		w.unmask_fd = -1;
		return 0;
	}
	if (w.on < 0) {
		CHECK(idx != VFIO_PCI_INTX_IRQ_INDEX || (!s->start && s->count == 1), "INTx %u+%u",
		      s->start, s->count);
		w.on = (int)idx;
		w.count = s->start + s->count;
		for (unsigned int i = 0; i < MAXVEC; i++)
			w.fd[i] = -1;
	} else {
		CHECK(w.on == (int)idx, "%s enabled while %s is", irq_name[idx], irq_name[w.on]);
		CHECK(s->start + s->count <= w.count ||
		      (idx == VFIO_PCI_MSIX_IRQ_INDEX &&
		       !(d->irq_flags[idx] & VFIO_IRQ_INFO_NORESIZE)),
		      "%s grown from %u to %u vectors while enabled", irq_name[idx], w.count,
		      s->start + s->count);
		w.count = MAX(w.count, s->start + s->count);
	}
	for (unsigned int i = 0; i < s->count; i++)
		w.fd[s->start + i] = fds[i];
	return 0;
}

/* ---- building the device ---- */

struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t take(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* The realistic device of tests/unit/test_vfio_dev.c. */
static void hw_template(uint8_t *c)
{
	memset(c, 0, PCI_CFG_SIZE);
	for (unsigned int i = 0x40; i < PCI_CFG_SIZE; i++)
		c[i] = (uint8_t)(i * 7 + 0x21);
	le_write(c + PCI_VENDOR_ID, 4, 0x10d38086);
	le_write(c + PCI_STATUS, 2, PCI_STATUS_CAP_LIST);
	le_write(c + PCI_CLASS_REVISION, 4, 0x02000003);
	c[PCI_HEADER_TYPE] = 0x80;
	le_write(c + PCI_BASE_ADDRESS_0, 4, 0xfebc0000);
	le_write(c + PCI_BASE_ADDRESS_1, 4, 0x0000e001);
	le_write(c + PCI_BASE_ADDRESS_2, 4, 0xfe00000c);
	le_write(c + PCI_BASE_ADDRESS_3, 4, 0x00000001);
	le_write(c + PCI_BASE_ADDRESS_4, 4, 0xfebd0000);
	c[PCI_CAPABILITY_LIST] = 0x40;
	c[PCI_INTERRUPT_PIN] = 1;
	c[0x40] = PCI_CAP_ID_PM;	c[0x41] = 0x50;
	c[0x50] = PCI_CAP_ID_MSI;	c[0x51] = 0x68;
	le_write(c + 0x52, 2, PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | 3 << 1);
	c[0x68] = PCI_CAP_ID_PCIX;	c[0x69] = 0x70;
	c[0x70] = PCI_CAP_ID_MSIX;	c[0x71] = 0x80;
	le_write(c + 0x72, 2, 7);
	le_write(c + 0x74, 4, 0x1800 | 2);
	le_write(c + 0x78, 4, 0x3800 | 2);
	c[0x80] = PCI_CAP_ID_EXP;	c[0x81] = 0xc0;
	le_write(c + 0x82, 2, PCI_EXP_TYPE_ENDPOINT << 4 | 2);
	c[0xc0] = PCI_CAP_ID_VNDR;	c[0xc1] = 0xd0;
	c[0xd0] = PCI_CAP_ID_HT;	c[0xd1] = 0;
	le_write(c + 0x100, 4, PCI_EXT_CAP_ID_ERR | 2 << 16 | 0x140 << 20);
	le_write(c + 0x140, 4, PCI_EXT_CAP_ID_SRIOV | 1 << 16 | 0x180 << 20);
	le_write(c + 0x180, 4, PCI_EXT_CAP_ID_DSN | 1 << 16 | 0x1c0 << 20);
	le_write(c + 0x1c0, 4, PCI_EXT_CAP_ID_ARI | 1 << 16);
}

static void set_region(unsigned int i, uint64_t size, uint32_t flags)
{
	struct vfio_region *r = &w.vd->region[i];

	w.roff[i] = i == VFIO_PCI_CONFIG_REGION_INDEX ? 0 : (i + 1) * REGION_SPAN;
	w.rsize[i] = size;
	r->offset = w.roff[i];
	r->size = size;
	r->flags = flags;
	r->nareas = 0;
	if ((flags & VFIO_REGION_INFO_FLAG_MMAP) && i <= VFIO_PCI_BAR5_REGION_INDEX && size)
		r->area[r->nareas++] = (struct vfio_area){ .off = 0, .size = size, .slot = -1 };
}

/* What vfio-pci reports: counts from the capabilities it finds (first of each). */
static void irq_counts(struct vfio_device *vd, uint8_t flags)
{
	unsigned int msi = pci_cap_find(w.hw, PCI_CAP_ID_MSI);
	unsigned int msix = pci_cap_find(w.hw, PCI_CAP_ID_MSIX);

	vd->irq_count[VFIO_PCI_INTX_IRQ_INDEX] = !(flags & 4) && w.hw[PCI_INTERRUPT_PIN];
	if (msi && !(flags & 8))
		vd->irq_count[VFIO_PCI_MSI_IRQ_INDEX] =
			1u << ((le_read(w.hw + msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QMASK) >> 1);
	if (msix && !(flags & 16))
		vd->irq_count[VFIO_PCI_MSIX_IRQ_INDEX] =
			(le_read(w.hw + msix + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) + 1;
	vd->irq_flags[VFIO_PCI_INTX_IRQ_INDEX] = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
						 VFIO_IRQ_INFO_AUTOMASKED;
	vd->irq_flags[VFIO_PCI_MSI_IRQ_INDEX] = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
	vd->irq_flags[VFIO_PCI_MSIX_IRQ_INDEX] = VFIO_IRQ_INFO_EVENTFD |
						 (flags & 2 ? VFIO_IRQ_INFO_NORESIZE : 0);
}

static const uint64_t bar_sizes[8] = { 0, 0x10, 0x100, 0x1000, 0x4000, 0x10000, 0x20000, 0x80 };
static const uint64_t rom_sizes[4] = { 0x800, 0x8000, 0x400, 0x1000 };

/* Consumes the device description from @in; leaves w.vd NULL when the build fails. */
static void device_build(struct input *in)
{
	const uint32_t rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	uint8_t flags = take(in), codes[7];
	struct vfio_device *vd;
	int ret;

	w.cfg_size = flags & 1 ? PCI_CFG_SIZE : PCI_CFG_LEGACY_SIZE;
	memset(w.roff, 0, sizeof(w.roff));
	memset(w.rsize, 0, sizeof(w.rsize));
	if (flags & 0x20) {
		unsigned int npatch = take(in) % 33;

		hw_template(w.hw);
		for (unsigned int i = 0; i < npatch; i++) {
			unsigned int off = take(in);

			off |= (take(in) & 0xfu) << 8;
			w.hw[off] = take(in);
		}
		memcpy(codes, (const uint8_t[]){ 0x0e, 0x01, 0x0d, 0, 0x04, 0, 1 }, sizeof(codes));
	} else {
		uint8_t win[256];

		for (unsigned int i = 0; i < 7; i++)
			codes[i] = take(in);
		for (unsigned int i = 0; i < PCI_CFG_LEGACY_SIZE; i++)
			w.hw[i] = take(in);
		for (unsigned int i = 0; i < sizeof(win); i++)
			win[i] = take(in);
		for (unsigned int i = PCI_CFG_LEGACY_SIZE; i < PCI_CFG_SIZE; i++)
			w.hw[i] = win[(i - PCI_CFG_LEGACY_SIZE) & 0xff];
	}

	if (ftruncate(w.memfd, 0) || ftruncate(w.memfd, FILE_SIZE) ||
	    __real_pwrite(w.memfd, w.hw, w.cfg_size, 0) != (ssize_t)w.cfg_size)
		FAIL("device file: %s", strerror(errno));

	vd = calloc(1, sizeof(*vd));
	if (!vd)
		abort();
	w.vd = vd;
	vd->vm = &w.vm;
	vd->fd = w.devfd = dup(w.memfd);
	snprintf(vd->name, sizeof(vd->name), "vfio-fuzz");
	vd->intx_fd = vd->intx_resample_fd = -1;
	pthread_mutex_init(&vd->irq_lock, NULL);
	vd->set_irqs = fv_set_irqs;
	set_region(VFIO_PCI_CONFIG_REGION_INDEX, w.cfg_size, rw);
	for (unsigned int i = 0; i < PCI_NR_BARS; i++)
		set_region(i, bar_sizes[codes[i] & 7],
			   rw | (codes[i] & 8 && !(flags & 0x80) ? VFIO_REGION_INFO_FLAG_MMAP : 0));
	if (flags & 0x40)
		set_region(VFIO_PCI_ROM_REGION_INDEX, rom_sizes[codes[6] & 3],
			   VFIO_REGION_INFO_FLAG_READ);
	irq_counts(vd, flags);
	if (vfio_device_register(vd, "fuzz"))
		FAIL("vfio_device_register failed");

	w.building = true;
	ret = vfio_device_build(vd);
	w.building = false;
	if (ret) {
		/* As vfio_device_add: off the machine and freed (closes the fd). */
		dev_remove(&w.vm.devs, &vd->dev);
		w.vd = NULL;
		w.devfd = -1;
		CHECK(fake_mmio_nslots() == 0, "build failed with %u slots mapped",
		      fake_mmio_nslots());
		return;
	}
	CHECK(vd->pci.devfn == SLOT << 3, "device at devfn 0x%x", vd->pci.devfn);
}

/* ---- config accesses and their checks ---- */

static const uint8_t sizes[8] = { 1, 2, 4, 8, 1, 2, 4, 3 };

/* Through the bus; checks nothing is written past @len. Returns bus_dispatch's result. */
static int do_access(enum bus_space space, uint64_t addr, uint8_t *buf, unsigned int len, bool wr)
{
	uint8_t guard[16];
	int ret;

	memset(guard, 0xa5, sizeof(guard));
	memcpy(guard, buf, len);
	ret = bus_dispatch(&w.vm.bus, NULL, space, addr, guard, len, wr);
	for (unsigned int i = len; i < sizeof(guard); i++)
		CHECK(guard[i] == 0xa5, "access at 0x%llx wrote past %u bytes",
		      (unsigned long long)addr, len);
	memcpy(buf, guard, len);
	return ret;
}

enum cfg_path { PATH_CF8, PATH_ECAM, PATH_API };

/*
 * A config access of @len at @reg by @path, checked: reads give the
 * device's bits fresh and kvmio's unchanged; writes reach the device with
 * the guest's bits for the device's bytes (the wrappers check the rest).
 */
static void cfg_access(enum cfg_path path, unsigned int reg, uint8_t *buf, unsigned int len,
		       bool wr)
{
	struct vfio_device *vd = w.vd;
	uint8_t before[8], file[8];
	unsigned int all;
	bool valid = true;

	if (reg >= PCI_CFG_SIZE)
		return;
	len = MIN(len, PCI_CFG_SIZE - reg);
	all = len;
	memcpy(before, vd->pci.cfg + reg, len);
	switch (path) {
	case PATH_CF8: {
		uint8_t latch[4];

		le_write(latch, 4, 0x80000000u | SLOT << 11 | (reg & 0xfc));
		do_access(BUS_PIO, 0xCF8, latch, 4, true);
		do_access(BUS_PIO, 0xCFC + (reg & 3), buf, len, wr);
		/* The bus clips at 0xCFF: the rest reads as ones. */
		len = MIN(len, 4 - (reg & 3));
		for (unsigned int i = len; i < all && !wr; i++)
			CHECK(buf[i] == 0xff, "config read past 0xCFF: 0x%02x", buf[i]);
		break;
	}
	case PATH_ECAM:
		valid = (reg & 3) + len <= 4;
		CHECK(do_access(BUS_MMIO, PCI_ECAM_BASE + ((uint64_t)SLOT << 15) + reg, buf, len,
				wr) == 0, "ECAM unclaimed");
		break;
	case PATH_API:
		if (wr)
			pci_cfg_write(&w.host, SLOT << 3, reg, buf, len);
		else
			pci_cfg_read(&w.host, SLOT << 3, reg, buf, len);
		break;
	}
	if (!valid) {
		if (!wr)
			for (unsigned int i = 0; i < len; i++)
				CHECK(buf[i] == 0xff, "refused config read at 0x%x: 0x%02x", reg, buf[i]);
		return;
	}
	file_rd(reg, file, MIN(len, w.cfg_size > reg ? w.cfg_size - reg : 0));
	for (unsigned int i = 0; i < len; i++) {
		unsigned int o = reg + i;
		uint8_t m = vd->lay.emu[o];

		if (o >= vd->lay.size) {
			CHECK(vd->pci.cfg[o] == 0 && (wr || buf[i] == 0),
			      "config byte 0x%x past the device's end is 0x%02x", o,
			      wr ? vd->pci.cfg[o] : buf[i]);
			continue;
		}
		if (!wr && w.read_fail) {
			CHECK((buf[i] | m) == 0xff,
			      "config read 0x%x of a device gone: 0x%02x (emu 0x%02x)", o, buf[i], m);
		} else if (!wr) {
			CHECK(!((buf[i] ^ file[i]) & ~m),
			      "config read 0x%x: 0x%02x, the device has 0x%02x (emu 0x%02x)", o, buf[i],
			      file[i], m);
			if (msi_pending_byte(o)) {
				/* Shown at the read: only masked vectors may be pending. */
				unsigned int mask_at = o - 4;

				CHECK(!(buf[i] & ~vd->pci.cfg[mask_at]),
				      "MSI pending byte 0x%x: 0x%02x, masked 0x%02x", o, buf[i],
				      vd->pci.cfg[mask_at]);
				continue;
			}
			CHECK(!((buf[i] ^ before[i]) & m),
			      "config read 0x%x: 0x%02x, kvmio's bits were 0x%02x (emu 0x%02x)", o,
			      buf[i], before[i], m);
		} else if (m != 0xff) {
			CHECK(file[i] == (uint8_t)((buf[i] & ~m) | (vd->pci.cfg[o] & m)),
			      "config write 0x%x: the guest wrote 0x%02x, the device has 0x%02x "
			      "(emu 0x%02x)", o, buf[i], file[i], m);
		}
	}
}

static void cfg_write(unsigned int reg, unsigned int len, uint64_t v)
{
	uint8_t b[8];

	le_write(b, len, v);
	cfg_access(PATH_ECAM, reg, b, len, true);
}

static uint64_t cfg_read(unsigned int reg, unsigned int len)
{
	uint8_t b[8];

	cfg_access(PATH_API, reg, b, len, false);
	return le_read(b, len);
}

/* ---- the guest's walks ---- */

static void walk_std(struct walk *wk)
{
	bool seen[64] = { false };
	unsigned int p;

	wk->n = 0;
	if (!(cfg_read(PCI_STATUS, 1) & PCI_STATUS_CAP_LIST)) {
		CHECK(!cfg_read(PCI_CAPABILITY_LIST, 1), "a list pointer without STATUS.CAP_LIST");
		return;
	}
	for (p = (unsigned int)cfg_read(PCI_CAPABILITY_LIST, 1); p;
	     p = (unsigned int)cfg_read(p + 1, 1)) {
		uint8_t id = (uint8_t)cfg_read(p, 1);

		CHECK(p >= 0x40 && p <= 0xfc && !(p & 3), "capability pointer 0x%x", p);
		CHECK(!seen[p / 4], "capability list loops at 0x%x", p);
		seen[p / 4] = true;
		CHECK(std_id_ok(id), "capability 0x%02x shown at 0x%x", id, p);
		wk->off[wk->n++] = p;
	}
}

static void walk_ext(struct walk *wk)
{
	static bool seen[(PCI_CFG_SIZE - 0x100) / 4];
	unsigned int p = 0x100;

	wk->n = 0;
	if (w.vd->lay.size < PCI_CFG_SIZE) {
		CHECK(!cfg_read(0x100, 4), "extended header on a 256-byte device");
		return;
	}
	memset(seen, 0, sizeof(seen));
	while (p) {
		uint32_t hdr = (uint32_t)cfg_read(p, 4);

		CHECK(p >= 0x100 && p <= PCI_CFG_SIZE - 4 && !(p & 3), "extended pointer 0x%x", p);
		CHECK(!seen[(p - 0x100) / 4], "extended list loops at 0x%x", p);
		seen[(p - 0x100) / 4] = true;
		if (!hdr)
			break;
		CHECK(ext_id_ok(PCI_EXT_CAP_ID(hdr)) ||
		      (p == 0x100 && !PCI_EXT_CAP_ID(hdr) && !PCI_EXT_CAP_VER(hdr)),
		      "extended capability 0x%04x shown at 0x%x", PCI_EXT_CAP_ID(hdr), p);
		wk->off[wk->n++] = p;
		p = PCI_EXT_CAP_NEXT(hdr);
	}
}

/* Whether the guest can write any header byte of @wk (then it may change it). */
static bool walk_writable(const struct walk *wk, unsigned int hdr_len)
{
	const struct pci_device *d = &w.vd->pci;

	if (d->wmask[PCI_CAPABILITY_LIST])
		return true;
	for (unsigned int i = 0; i < wk->n; i++)
		for (unsigned int j = 0; j < hdr_len; j++)
			if (d->wmask[wk->off[i] + j])
				return true;
	return false;
}

static void check_walks(void)
{
	struct walk wk;

	walk_std(&wk);
	CHECK(walk_writable(&w.std0, 2) || (wk.n == w.std0.n &&
	      !memcmp(wk.off, w.std0.off, wk.n * sizeof(wk.off[0]))),
	      "the capability list changed: %u entries, %u at build", wk.n, w.std0.n);
	walk_ext(&wk);
	CHECK(walk_writable(&w.ext0, 4) || (wk.n == w.ext0.n &&
	      !memcmp(wk.off, w.ext0.off, wk.n * sizeof(wk.off[0]))),
	      "the extended list changed: %u entries, %u at build", wk.n, w.ext0.n);
}

/* kvmio traps the MSI-X table and PBA where the device's own capability puts them. */
static void check_msix_place(void)
{
	const struct vfio_device *vd = w.vd;
	unsigned int cap = vd->lay.msix_cap;
	uint32_t table, pba;

	if (!vd->has_msix)
		return;
	table = (uint32_t)le_read(w.hw + cap + PCI_MSIX_TABLE, 4);
	pba = (uint32_t)le_read(w.hw + cap + PCI_MSIX_PBA, 4);
	CHECK(vd->msix.nvec == (le_read(w.hw + cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) + 1 &&
	      vd->msix_table_bar == (table & PCI_MSIX_TABLE_BIR) &&
	      vd->msix_table_off == (table & PCI_MSIX_TABLE_OFFSET) &&
	      vd->msix_pba_bar == (pba & PCI_MSIX_PBA_BIR) &&
	      vd->msix_pba_off == (pba & PCI_MSIX_PBA_OFFSET),
	      "MSI-X trapped at BAR %u+0x%llx (%u vectors), the device has BAR %u+0x%x",
	      vd->msix_table_bar, (unsigned long long)vd->msix_table_off, vd->msix.nvec,
	      table & PCI_MSIX_TABLE_BIR, table & PCI_MSIX_TABLE_OFFSET);
}

/* ---- invariants after every record ---- */

static void check_slots(void)
{
	const struct vfio_device *vd = w.vd;
	unsigned int mapped = 0;
	struct fake_mmio_slot s;

	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		const struct vfio_region *r = &vd->region[i];
		const struct pci_bar *b = &vd->pci.bar[i];

		for (unsigned int j = 0; j < r->nareas; j++) {
			const struct vfio_area *a = &r->area[j];

			if (!b->decoded) {
				CHECK(a->slot < 0, "BAR %u not decoded but its piece %u has slot %d", i,
				      j, a->slot);
				continue;
			}
			if (a->slot < 0 && w.map_fail)
				continue;	/* trapped instead */
			CHECK(a->slot >= 0, "BAR %u decoded at 0x%llx, piece %u has no slot", i,
			      (unsigned long long)b->addr, j);
			CHECK(fake_mmio_slot_at(b->addr + a->off, &s) && s.slot == a->slot &&
			      s.gpa == b->addr + a->off && s.size == a->size && s.hva == a->hva,
			      "BAR %u piece %u: slot %d is not at 0x%llx+0x%llx", i, j, a->slot,
			      (unsigned long long)(b->addr + a->off), (unsigned long long)a->size);
			CHECK(!over_msix(vd, i, a->off, a->size),
			      "BAR %u: slot over the MSI-X table or PBA", i);
			mapped++;
		}
	}
	/* The device's memory is reached only while it decodes memory (not kvmio's ROM copy). */
	if (mapped) {
		uint8_t cmd[2];

		file_rd(PCI_COMMAND, cmd, 2);
		CHECK(le_read(cmd, 2) & PCI_COMMAND_MEMORY,
		      "slots mapped while the device does not decode memory");
	}
	/* The ROM: a read-only slot over kvmio's copy exactly while it is decoded. */
	const struct pci_bar *rb = &vd->pci.bar[PCI_ROM_SLOT];

	if (vd->rom_slot >= 0) {
		CHECK(rb->decoded && fake_mmio_slot_at(rb->addr, &s) && s.slot == vd->rom_slot &&
		      s.readonly && s.size == vd->rom_size && s.hva == vd->rom,
		      "ROM slot %d is not the decoded ROM BAR's, read-only", vd->rom_slot);
		mapped++;
	} else {
		CHECK(!rb->decoded || !vd->rom || vd->rom_size % 4096 || w.map_fail,
		      "ROM decoded at 0x%llx without its slot", (unsigned long long)rb->addr);
	}
	CHECK(fake_mmio_nslots() == mapped, "%u slots mapped, %u BAR pieces and ROM decoded",
	      fake_mmio_nslots(), mapped);
}

/* Routes in use: msi_irq_setup fails (-ENOSPC) past IRQ_ROUTES_MAX. */
static bool routes_full(void)
{
	const struct vfio_device *vd = w.vd;
	unsigned int n = 0;

	for (unsigned int i = 0; vd->has_msix && i < vd->msix.nvec; i++)
		n += vd->msix.vec[i].irq.gsi != 0;
	for (unsigned int i = 0; vd->has_msi && i < MSI_CAP_MAX_VEC; i++)
		n += vd->msi.irq[i].gsi != 0;
	return n >= IRQ_ROUTES_MAX;
}

static void check_irqs(void)
{
	struct vfio_device *vd = w.vd;
	bool x = vd->has_msix && vd->msix.enabled, m = vd->has_msi && vd->msi.enabled;
	bool intx = vd->pci.cfg[PCI_INTERRUPT_PIN] && vd->irq_count[VFIO_PCI_INTX_IRQ_INDEX];

	if (x && m)
		w.both = true;
	else if (!m)
		w.both = false;
	if (x) {
		struct msix *mx = &vd->msix;

		CHECK(w.on == VFIO_PCI_MSIX_IRQ_INDEX, "MSI-X on, VFIO has %d", w.on);
		for (unsigned int i = 0; i < mx->nvec; i++) {
			const struct msi_irq *irq = &mx->vec[i].irq;

			CHECK(i >= w.count || w.fd[i] == -1 || w.fd[i] == irq->fd,
			      "VFIO signals fd %d for MSI-X vector %u, kvmio's is %d", w.fd[i], i,
			      irq->fd);
			if (msix_vec_masked(mx, i)) {
				CHECK(irq->fd < 0 || irq->unbound, "masked MSI-X vector %u bound", i);
				continue;
			}
			if (irq->fd < 0 && routes_full())
				continue;
			struct msi_msg msg = msix_vec_msg(mx, i);

			CHECK(irq->gsi && irq->fd >= 0 && !irq->unbound,
			      "unmasked MSI-X vector %u: gsi %d fd %d unbound %d", i, irq->gsi,
			      irq->fd, irq->unbound);
			CHECK(irq->msg.addr == msg.addr && irq->msg.data == msg.data,
			      "MSI-X vector %u routed to 0x%llx/0x%x, its entry says 0x%llx/0x%x", i,
			      (unsigned long long)irq->msg.addr, irq->msg.data,
			      (unsigned long long)msg.addr, msg.data);
			CHECK(i < w.count && w.fd[i] == irq->fd,
			      "unmasked MSI-X vector %u: VFIO has fd %d, kvmio's is %d", i,
			      i < w.count ? w.fd[i] : -2, irq->fd);
		}
	} else if (m && !w.both) {
		struct msi_cap *mc = &vd->msi;

		CHECK(w.on == VFIO_PCI_MSI_IRQ_INDEX && w.count == mc->nvec,
		      "MSI on with %u vectors, VFIO has %d with %u", mc->nvec, w.on, w.count);
		for (unsigned int i = 0; i < mc->nvec; i++) {
			const struct msi_irq *irq = &mc->irq[i];
			struct msi_msg msg = msi_cap_vec_msg(mc, i);

			if (irq->fd < 0 && routes_full())
				continue;
			CHECK(irq->fd >= 0 && w.fd[i] == irq->fd, "MSI vector %u: VFIO fd %d, kvmio's %d",
			      i, w.fd[i], irq->fd);
			CHECK(irq->msg.addr == msg.addr && irq->msg.data == msg.data,
			      "MSI vector %u routed to 0x%llx/0x%x, the capability says 0x%llx/0x%x", i,
			      (unsigned long long)irq->msg.addr, irq->msg.data,
			      (unsigned long long)msg.addr, msg.data);
			CHECK(irq->unbound == !!(mc->mask & 1u << i), "MSI vector %u: unbound %d, mask %d",
			      i, irq->unbound, !!(mc->mask & 1u << i));
		}
	} else if (!m) {
		CHECK(w.on == (intx ? VFIO_PCI_INTX_IRQ_INDEX : -1),
		      "neither MSI nor MSI-X: VFIO has %d, INTx %d", w.on, intx);
		if (intx)
			CHECK(w.fd[0] == vd->intx_fd && w.unmask_fd == vd->intx_resample_fd &&
			      vd->intx_bound, "INTx: VFIO has %d/%d, kvmio's %d/%d", w.fd[0],
			      w.unmask_fd, vd->intx_fd, vd->intx_resample_fd);
	} else {
		/* MSI enabled under MSI-X, then MSI-X off: undefined for the guest (PCI 3.0 6.8). */
		CHECK(w.on == -1 || w.on == VFIO_PCI_MSI_IRQ_INDEX, "MSI after MSI-X: VFIO has %d",
		      w.on);
	}
}

static void check_all(void)
{
	char err[256];

	CHECK(!fake_vm_error(err, sizeof(err)), "%s", err);
	if (!w.vd)
		return;
	check_slots();
	check_irqs();
}

/* ---- records ---- */

static const struct pci_bar *bar_of(unsigned int i)
{
	return &w.vd->pci.bar[i];
}

/* Where BAR @i answers now, or its register's address when it does not. */
static uint64_t bar_base(unsigned int i)
{
	const struct pci_bar *b = bar_of(i);
	const struct pci_device *d = &w.vd->pci;

	if (b->decoded)
		return b->addr;
	if (i == PCI_ROM_SLOT)
		return pci_cfg32(d, PCI_ROM_ADDRESS) & PCI_ROM_ADDRESS_MASK;
	if (b->type == PCI_BAR_IO)
		return pci_cfg32(d, PCI_BASE_ADDRESS_0 + 4 * i) & PCI_BASE_ADDRESS_IO_MASK;
	return (pci_cfg32(d, PCI_BASE_ADDRESS_0 + 4 * i) & PCI_BASE_ADDRESS_MEM_MASK) |
	       (b->type == PCI_BAR_MEM64 ? (uint64_t)pci_cfg32(d, PCI_BASE_ADDRESS_0 + 4 * (i + 1))
					    << 32 : 0);
}

static void bar_access(unsigned int i, uint64_t off, unsigned int len, bool wr, uint64_t val)
{
	const struct pci_bar *b = bar_of(i);
	struct vfio_device *vd = w.vd;
	uint8_t buf[8];
	int ret;

	if (!b->size)
		return;
	le_write(buf, 8, val);
	ret = do_access(b->type == PCI_BAR_IO ? BUS_PIO : BUS_MMIO, bar_base(i) + off, buf, len, wr);
	/* A read of a trapped part, not the MSI-X pieces, is the device's region there. */
	if (!ret && !wr && b->decoded && !w.read_fail && off + len <= b->size &&
	    off + len <= vd->region[i == PCI_ROM_SLOT ? VFIO_PCI_ROM_REGION_INDEX : i].size &&
	    !over_msix(vd, i, off, len)) {
		uint8_t file[8];

		file_rd(w.roff[i == PCI_ROM_SLOT ? VFIO_PCI_ROM_REGION_INDEX : i] + off, file, len);
		CHECK(!memcmp(file, buf, len), "BAR %u read at 0x%llx: not the device's bytes", i,
		      (unsigned long long)off);
	}
}

static void op_bar(const uint8_t *r, unsigned int len, bool wr, uint64_t val)
{
	unsigned int i = r[1] % 7;
	uint64_t size = bar_of(i)->size;

	if (size)
		bar_access(i, (r[2] | (uint64_t)r[3] << 8 | (uint64_t)(r[1] & 0xf0) << 12) %
			   (size + 16), len, wr, val);
}

/* Around the MSI-X table (@pba: the PBA), a little before and past it. */
static void op_msix_io(const uint8_t *r, unsigned int len, bool wr, uint64_t val, bool pba)
{
	struct vfio_device *vd = w.vd;
	uint64_t start = pba ? vd->msix_pba_off : vd->msix_table_off;
	uint64_t size = pba ? vd->msix_pba_size : vd->msix_table_size;
	uint64_t off;

	if (!vd->has_msix)
		return;
	off = start + (r[2] | (uint64_t)r[3] << 8) % (size + 16);
	off = off >= 8 ? off - 8 : 0;
	bar_access(pba ? vd->msix_pba_bar : vd->msix_table_bar, off, len, wr, val);
}

static void op_cfg(const uint8_t *r, unsigned int len, bool wr, uint64_t val, enum cfg_path path)
{
	const struct vfio_device *vd = w.vd;
	unsigned int caps[4] = { vd->lay.msi_cap, vd->lay.msix_cap, vd->lay.pcie_cap, 0x100 };
	unsigned int reg = r[1] | (r[2] & 0xf) << 8;
	uint8_t buf[8];

	if (r[2] & 0x10)	/* at a capability kvmio owns */
		reg = caps[(r[2] >> 5) & 3] + (r[1] & 0x3f);
	if (path == PATH_CF8)
		reg &= 0xff;
	le_write(buf, 8, val);
	cfg_access(path, reg, buf, len, wr);
}

/* The registers with side effects, with values that mostly make sense. */
static void op_regs(const uint8_t *r, uint64_t val)
{
	const struct vfio_device *vd = w.vd;

	switch (r[1] & 7) {
	case 0:
		cfg_write(PCI_COMMAND, 2, r[2] & 0x7 ? r[2] : val);
		break;
	case 1:
		if (vd->has_msi)
			cfg_write(vd->lay.msi_cap + PCI_MSI_FLAGS, 2,
				  (r[2] & 1 ? PCI_MSI_FLAGS_ENABLE : 0) | (r[2] & 0x70));
		break;
	case 2:
		if (vd->has_msix)
			cfg_write(vd->lay.msix_cap + PCI_MSIX_FLAGS, 2,
				  (r[2] & 1 ? PCI_MSIX_FLAGS_ENABLE : 0) |
				  (r[2] & 2 ? PCI_MSIX_FLAGS_MASKALL : 0));
		break;
	case 3:
		if (vd->has_msi)
			cfg_write(vd->lay.msi_cap + (vd->msi.is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32),
				  4, val);
		break;
	default: {
		unsigned int reg = (r[2] % 7) == 6 ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * (r[2] % 7);

		cfg_write(reg, 4, val);
		break;
	}
	}
}

/* A driver enabling MSI-X and programming one vector. */
static void op_msix_driver(const uint8_t *r, uint64_t val)
{
	struct vfio_device *vd = w.vd;
	uint64_t e;
	unsigned int v;

	if (!vd->has_msix)
		return;
	if (r[1] & 4)
		cfg_write(vd->lay.msix_cap + PCI_MSIX_FLAGS, 2,
			  (r[1] & 1 ? PCI_MSIX_FLAGS_ENABLE : 0) |
			  (r[1] & 2 ? PCI_MSIX_FLAGS_MASKALL : 0));
	v = (r[2] | (r[1] & 0xf0) << 4) % (vd->msix.nvec + 1);
	e = vd->msix_table_off + (uint64_t)v * MSIX_ENTRY_SIZE;
	if (e + MSIX_ENTRY_SIZE > vd->msix_table_off + vd->msix_table_size)
		return;
	bar_access(vd->msix_table_bar, e + PCI_MSIX_ENTRY_LOWER_ADDR, 8, true,
		   r[3] & 1 ? val : 0xfee00000u | (uint32_t)r[3] << 12);
	bar_access(vd->msix_table_bar, e + PCI_MSIX_ENTRY_DATA, 4, true, r[3] & 2 ? val >> 32 : v);
	bar_access(vd->msix_table_bar, e + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, true, (r[3] >> 2) & 1);
}

/* A driver programming and enabling MSI. */
static void op_msi_driver(const uint8_t *r, uint64_t val)
{
	struct vfio_device *vd = w.vd;
	unsigned int cap = vd->lay.msi_cap;

	if (!vd->has_msi)
		return;
	cfg_write(cap + PCI_MSI_ADDRESS_LO, 4, r[3] & 1 ? (uint32_t)val : 0xfee00000u);
	if (vd->msi.is64)
		cfg_write(cap + PCI_MSI_ADDRESS_HI, 4, r[3] & 2 ? val >> 32 : 0);
	cfg_write(cap + (vd->msi.is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2, r[2] | r[3] << 8);
	if (vd->msi.maskable)
		cfg_write(cap + (vd->msi.is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32), 4,
			  r[3] & 4 ? val >> 16 : 0);
	cfg_write(cap + PCI_MSI_FLAGS, 2, (r[1] & 1 ? PCI_MSI_FLAGS_ENABLE : 0) | (r[1] & 0x70));
}

/* The device's side: interrupts, and config bytes that change by themselves. */
static void op_device(const uint8_t *r, uint64_t val)
{
	struct vfio_device *vd = w.vd;

	switch (r[1] & 3) {
	case 0:
		if (vd->has_msix) {
			const struct msi_irq *irq = &vd->msix.vec[r[2] % vd->msix.nvec].irq;

			if (irq->fd >= 0)
				eventfd_write(irq->fd, 1);
		}
		break;
	case 1:
		if (vd->has_msi && vd->msi.irq[r[2] % MSI_CAP_MAX_VEC].fd >= 0)
			eventfd_write(vd->msi.irq[r[2] % MSI_CAP_MAX_VEC].fd, 1);
		break;
	case 2: {
		unsigned int reg = (r[2] | (r[3] & 0xf) << 8) % w.cfg_size, n = MIN(4u, w.cfg_size - reg);
		uint8_t b[4];

		/* Not COMMAND: devices do not change it (kvmio keeps it in step with slots). */
		if (reg < PCI_COMMAND + 2 && reg + n > PCI_COMMAND)
			break;
		le_write(b, 4, val);
		if (__real_pwrite(w.memfd, b, n, reg) != (ssize_t)n)
			FAIL("device file: %s", strerror(errno));
		break;
	}
	default:
		if (vd->intx_fd >= 0)
			eventfd_write(vd->intx_fd, 1);
		break;
	}
}

/* A PBA read: masked vectors whose eventfd has a count are pending. */
static void op_pba(void)
{
	struct vfio_device *vd = w.vd;
	uint8_t buf[8];

	if (!vd->has_msix || !bar_of(vd->msix_pba_bar)->decoded)
		return;
	/* A device with its PBA over its table (PCI 3.0 6.8.2 forbids it): the table wins. */
	if (vd->msix_pba_bar == vd->msix_table_bar &&
	    overlaps(vd->msix_pba_off, vd->msix_pba_size, vd->msix_table_off, vd->msix_table_size))
		return;
	for (uint64_t off = 0; off < vd->msix_pba_size; off += 8) {
		memset(buf, 0x5a, sizeof(buf));
		do_access(bar_of(vd->msix_pba_bar)->type == PCI_BAR_IO ? BUS_PIO : BUS_MMIO,
			  bar_of(vd->msix_pba_bar)->addr + vd->msix_pba_off + off, buf, 8, false);
		for (unsigned int bit = 0; bit < 64; bit++) {
			uint64_t v = off * 8 + bit;
			bool set = buf[bit / 8] & (1u << (bit % 8));

			if (v >= vd->msix.nvec) {
				CHECK(!set, "PBA bit %llu past %u vectors", (unsigned long long)v,
				      vd->msix.nvec);
				continue;
			}
			pthread_mutex_lock(&vd->msix.lock);
			bool want = msix_vec_masked(&vd->msix, v) && msi_irq_pending(&vd->msix.vec[v].irq);

			pthread_mutex_unlock(&vd->msix.lock);
			CHECK(set || !want, "PBA: masked vector %llu signalled, not shown pending",
			      (unsigned long long)v);
		}
	}
}

/* A BAR moved as an OS would (decode off, write, decode on), or sized. */
static void op_bar_move(const uint8_t *r, uint64_t val)
{
	unsigned int i = r[2] % 7;
	unsigned int reg = i == 6 ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * i;
	uint16_t cmd = pci_cfg16(&w.vd->pci, PCI_COMMAND);

	if (r[1] & 1)
		cfg_write(PCI_COMMAND, 2, cmd & ~(PCI_COMMAND_MEMORY | PCI_COMMAND_IO));
	if (r[1] & 2) {
		uint32_t old = (uint32_t)cfg_read(reg, 4);

		cfg_write(reg, 4, 0xffffffff);
		cfg_read(reg, 4);
		cfg_write(reg, 4, old);
	} else {
		cfg_write(reg, 4, val);
		if (i < 5 && (r[1] & 4))
			cfg_write(reg + 4, 4, val >> 32);
	}
	if (r[1] & 1)
		cfg_write(PCI_COMMAND, 2, r[3] & 8 ? r[3] : cmd);
}

static void run_op(const uint8_t *r)
{
	unsigned int kind = r[0] >> 4, len = sizes[r[0] & 7];
	bool wr = r[0] & 8;
	uint64_t val = le_read(r + 4, 8);

	switch (kind) {
	case 0: case 1:		op_cfg(r, len, wr, val, PATH_CF8); break;
	case 2: case 3:		op_cfg(r, len, wr, val, PATH_ECAM); break;
	case 4:			op_cfg(r, len, wr, val, PATH_API); break;
	case 5:			op_regs(r, val); break;
	case 6: case 7:		op_bar(r, len, wr, val); break;
	case 8:			op_msix_io(r, len, wr, val, false); break;
	case 9:			op_msix_io(r, len, wr, val, true); break;
	case 10:		op_msix_driver(r, val); break;
	case 11:		op_msi_driver(r, val); break;
	case 12:		op_device(r, val); break;
	case 13:		op_bar_move(r, val); break;
	case 14:		op_pba(); break;
	default:
		switch (r[1] & 3) {
		case 2:
			/* Pieces that failed stay trapped until their BAR moves: w.map_fail stays. */
			w.map_fail |= r[2] & 1;
			fake_mmio_fail(r[2] & 1 ? -ENOSPC : 0);
			break;
		case 3:
			w.read_fail = r[2] & 1;
			break;
		default:
			check_walks();
			break;
		}
		break;
	}
	check_all();
}

/* ---- the world ---- */

static void world_init(void)
{
	fake_vm_init(&w.vm);
	w.vm.mem.nr = 1;
	w.vm.mem.ram_size = RAM_SIZE;
	w.vm.mem.region[0] = (struct mem_region){ .gpa = 0, .size = RAM_SIZE };
	if (irq_routes_init(&w.vm) || pci_host_init(&w.host, &w.vm, 4 * GiB, 4 * GiB))
		abort();
	w.vm.pci = &w.host;
	w.on = -1;
	w.count = 0;
	w.unmask_fd = -1;
	w.both = false;
	w.map_fail = w.read_fail = false;
	w.nop = 0;
	w.vd = NULL;
}

static void world_destroy(void)
{
	if (w.vd) {
		vfio_devices_exit(&w.vm);	/* dev_remove: irq exit, off the bus, free (closes the fd) */
		w.vd = NULL;
		w.devfd = -1;
		CHECK(w.on == -1, "%s still enabled in VFIO after teardown", irq_name[w.on]);
	}
	CHECK(fake_mmio_nslots() == 0, "%u memory slots left after teardown", fake_mmio_nslots());
	pci_host_exit(&w.host);
	irq_routes_exit(&w.vm);
	fake_vm_destroy(&w.vm);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup(false);
	/* A 2048-vector MSI-X function may hold an eventfd per vector. */
	raise_fd_limit();
	w.memfd = memfd_create("fuzz-vfio", MFD_CLOEXEC);
	if (w.memfd < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	world_init();
	device_build(&in);
	if (w.vd) {
		check_msix_place();
		walk_std(&w.std0);
		walk_ext(&w.ext0);
		check_all();
		for (; in.n >= REC_LEN && w.nop < MAX_OPS; in.p += REC_LEN, in.n -= REC_LEN, w.nop++)
			run_op(in.p);
	}
	world_destroy();
	return 0;
}
