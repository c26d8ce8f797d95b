// SPDX-License-Identifier: Apache-2.0
/*
 * An assigned device (src/vfio/device.c, config.c, irq.c) over a fake
 * device file, on a fake VM, driven through the PCI core as a guest would.
 *
 * The "device" is a memfd laid out like a VFIO device fd: config space at
 * one offset, each BAR and the ROM at others, so that vfio-pci's pread/
 * pwrite become plain file accesses the test can look at, and mmap of a BAR
 * gives real host memory. VFIO_DEVICE_SET_IRQS goes to a stand-in (fv_*)
 * that keeps every call and plays vfio-pci's rules (one of INTx, MSI and
 * MSI-X at a time, MSI never grows, MSI-X grows only without NORESIZE,
 * triggers are eventfds). Memory slots come from tests/unit/fake_vm.c.
 *
 * Covers config space through the core (BAR and ROM sizing from the
 * regions and the device's BAR flags, what reaches the file and what never
 * does, pass-through registers fresh from the file with the guest's raw
 * writes, odd sizes at every offset), BARs as memory slots around the
 * MSI-X pages (decode, moves, hostile-guest.md case 20: decode off then
 * BAR touched, a BAR onto another, direct MSI-X table writes), and
 * interrupts: INTx at build, MSI and MSI-X as the guest enables, masks and
 * retargets them, the PBA, and teardown.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_vfio_file.h"
#include "fake_vm.h"
#include "pci/msi.h"
#include "pci/pci.h"
#include "util.h"
#include "vfio/vfio.h"
#include "vm.h"

#define RAM_SIZE	(512 * MiB)
#define SLOT		1
#define INTX_GSI	(PCI_INTX_GSI_BASE + SLOT)	/* INTA of slot 1 */
#define ECAM_DEV	(PCI_ECAM_BASE + ((uint64_t)SLOT << 15))

/* The device file: where each VFIO region lies, and its size. */
#define CFG_OFF		0x000000ULL
#define BAR0_OFF	0x100000ULL
#define BAR0_SIZE	0x20000ULL	/* 32-bit memory, mmap-able */
#define BAR1_OFF	0x200000ULL
#define BAR1_SIZE	0x20ULL		/* I/O */
#define BAR2_OFF	0x300000ULL
#define BAR2_SIZE	0x10000ULL	/* 64-bit prefetchable, mmap-able, MSI-X table and PBA */
#define BAR4_OFF	0x400000ULL
#define BAR4_SIZE	0x4000ULL	/* 32-bit memory the kernel does not let us mmap */
#define ROM_OFF		0x500000ULL
#define ROM_SIZE	0x8000ULL
#define FILE_SIZE	0x600000ULL
#define CFG256_OFF	FILE_SIZE	/* a 256-byte config region ends the file */

/* MSI-X: 8 vectors; table and PBA inside their pages, not at their starts. */
#define NVEC		8
#define TABLE_OFF	0x1800u
#define PBA_OFF		0x3800u

/* Capabilities of the device (standard list, then extended). */
#define CAP_PM		0x40
#define CAP_MSI		0x50	/* 64-bit, maskable, 8 vectors: 24 bytes */
#define CAP_PCIX	0x68	/* hidden */
#define CAP_MSIX	0x70
#define CAP_EXP		0x80
#define CAP_VNDR	0xc0
#define CAP_HT		0xd0	/* hidden */
#define ECAP_AER	0x100
#define ECAP_SRIOV	0x140	/* hidden */
#define ECAP_DSN	0x180
#define ECAP_ARI	0x1c0	/* hidden */

#define MSI_ADDR_LO	(CAP_MSI + PCI_MSI_ADDRESS_LO)
#define MSI_ADDR_HI	(CAP_MSI + PCI_MSI_ADDRESS_HI)
#define MSI_DATA	(CAP_MSI + PCI_MSI_DATA_64)
#define MSI_MASK	(CAP_MSI + PCI_MSI_MASK_64)

/* Where pci_device_add puts the BARs (32-bit window, then the 64-bit one at 4 GiB). */
#define A_BAR0		0xC0000000ULL
#define A_BAR1		0xC000ULL
#define A_BAR2		0x100000000ULL
#define A_BAR4		0xC0020000ULL
#define A_ROM		0xC0028000ULL

/* Variants of the device, passed as cmocka's initial state. */
struct opts {
	bool cfg256;		/* conventional PCI: 256 bytes of config space */
	bool resize;		/* MSI-X without NORESIZE (kernels since 6.5) */
	bool no_intx;		/* VFIO reports no INTx */
	bool split_pba;		/* the PBA in BAR0 (at PBA_OFF), the table in BAR2 */
};
static const struct opts o_default, o_cfg256 = { .cfg256 = true }, o_resize = { .resize = true },
			 o_no_intx = { .no_intx = true }, o_split = { .split_pba = true };

static struct vm vm;
static struct pci_host host;
static struct vfio_device *vd;
static struct opts opt;
static uint8_t hwcfg[PCI_CFG_SIZE];
static unsigned int watch_bad;

/* ---- the fake vfio-pci behind SET_IRQS ---- */

#define REC_MAX		256
#define FDS_MAX		64

struct irq_rec {
	uint32_t flags, index, start, count;
	int32_t fd[FDS_MAX];
};

static struct {
	struct irq_rec rec[REC_MAX];
	unsigned int n;
	int on;				/* the enabled index, -1: none */
	unsigned int count;		/* its vectors */
	int32_t fd[FDS_MAX];		/* their triggers */
	int32_t unmask_fd;		/* INTx: the resample eventfd */
	char err[256];			/* the first call vfio-pci would refuse */
} fv;

static const char *const irq_name[] = { "INTx", "MSI", "MSI-X", "ERR", "REQ" };

/* ---- the host IOMMU's peer-to-peer mappings (vd->p2p_map) ---- */

#define P2P_MAX		16

static struct {
	struct { uint64_t iova, size; void *hva; } live[P2P_MAX];
	unsigned int n, maps, unmaps;
	int fail;		/* every map returns it (negative errno), 0: none */
	char err[128];
} p2p;

static int fk_p2p(struct vfio_device *d, uint64_t iova, uint64_t size, void *hva, bool map)
{
	if (map && p2p.fail)
		return p2p.fail;
	if (map) {
		for (unsigned int i = 0; i < p2p.n; i++)
			if (iova < p2p.live[i].iova + p2p.live[i].size && p2p.live[i].iova < iova + size)
				snprintf(p2p.err, sizeof(p2p.err), "0x%llx mapped over 0x%llx",
					 (unsigned long long)iova, (unsigned long long)p2p.live[i].iova);
		if (p2p.n == P2P_MAX)
			return -ENOSPC;
		p2p.live[p2p.n].iova = iova;
		p2p.live[p2p.n].size = size;
		p2p.live[p2p.n++].hva = hva;
		p2p.maps++;
		return 0;
	}
	for (unsigned int i = 0; i < p2p.n; i++) {
		if (p2p.live[i].iova == iova && p2p.live[i].size == size) {
			p2p.live[i] = p2p.live[--p2p.n];
			p2p.unmaps++;
			return 0;
		}
	}
	snprintf(p2p.err, sizeof(p2p.err), "unmap of 0x%llx+0x%llx, never mapped",
		 (unsigned long long)iova, (unsigned long long)size);
	return -ENOENT;
}

/* What the host IOMMU has at @iova for peer-to-peer DMA: the BAR piece at @hva. */
static bool p2p_at(uint64_t iova, uint64_t size, const void *hva)
{
	for (unsigned int i = 0; i < p2p.n; i++)
		if (p2p.live[i].iova == iova)
			return p2p.live[i].size == size && p2p.live[i].hva == hva;
	return false;
}

static bool is_eventfd(int fd)
{
	char path[64], buf[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return false;
	buf[n] = 0;
	return !strcmp(buf, "anon_inode:[eventfd]");
}

static int fv_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fv_bad(const char *fmt, ...)
{
	va_list ap;

	if (!fv.err[0]) {
		va_start(ap, fmt);
		vsnprintf(fv.err, sizeof(fv.err), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int fv_set_irqs(struct vfio_device *d, struct vfio_irq_set *s)
{
	uint32_t data = s->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	uint32_t action = s->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	const int32_t *fds = (const int32_t *)s->data;
	struct irq_rec *r;

	if (d != vd)
		return fv_bad("SET_IRQS on another device");
	if (fv.n == REC_MAX)
		return fv_bad("more than %u SET_IRQS", REC_MAX);
	r = &fv.rec[fv.n++];
	*r = (struct irq_rec){ s->flags, s->index, s->start, s->count, { 0 } };
	if (s->index > VFIO_PCI_MSIX_IRQ_INDEX)
		return fv_bad("SET_IRQS index %u", s->index);
	if (__builtin_popcount(data) != 1 || __builtin_popcount(action) != 1)
		return fv_bad("SET_IRQS flags 0x%x", s->flags);
	if (data == VFIO_IRQ_SET_DATA_EVENTFD) {
		if (s->argsz != sizeof(*s) + s->count * sizeof(int32_t))
			return fv_bad("argsz %u for %u eventfds", s->argsz, s->count);
		if (!s->count || s->count > FDS_MAX ||
		    s->start + s->count > d->irq_count[s->index])
			return fv_bad("%s %u-%u: the device has %u", irq_name[s->index], s->start,
				      s->start + s->count - 1, d->irq_count[s->index]);
		for (unsigned int i = 0; i < s->count; i++) {
			r->fd[i] = fds[i];
			if (fds[i] != -1 && !is_eventfd(fds[i]))
				return fv_bad("%s vector %u: fd %d is not an eventfd",
					      irq_name[s->index], s->start + i, fds[i]);
		}
	} else if (data != VFIO_IRQ_SET_DATA_NONE || s->count) {
		return fv_bad("SET_IRQS flags 0x%x count %u", s->flags, s->count);
	}

	if (s->index == VFIO_PCI_INTX_IRQ_INDEX) {
		if (action == VFIO_IRQ_SET_ACTION_UNMASK) {
			if (fv.on != VFIO_PCI_INTX_IRQ_INDEX || data != VFIO_IRQ_SET_DATA_EVENTFD)
				return fv_bad("INTx unmask eventfd while INTx is off");
			fv.unmask_fd = fds[0];
			return 0;
		}
		if (action != VFIO_IRQ_SET_ACTION_TRIGGER)
			return fv_bad("INTx action 0x%x", action);
		if (data == VFIO_IRQ_SET_DATA_NONE) {
			if (fv.on != VFIO_PCI_INTX_IRQ_INDEX)
				return fv_bad("INTx disabled while not enabled");
			fv.on = -1;
			fv.unmask_fd = -1;
			return 0;
		}
		if (fv.on >= 0 && fv.on != VFIO_PCI_INTX_IRQ_INDEX)
			return fv_bad("INTx enabled while %s is", irq_name[fv.on]);
		if (s->start || s->count != 1)
			return fv_bad("INTx %u+%u", s->start, s->count);
		fv.on = VFIO_PCI_INTX_IRQ_INDEX;
		fv.count = 1;
		fv.fd[0] = fds[0];
		return 0;
	}
	if (action != VFIO_IRQ_SET_ACTION_TRIGGER)
		return fv_bad("%s action 0x%x", irq_name[s->index], action);
	if (data == VFIO_IRQ_SET_DATA_NONE) {
		if (fv.on != (int)s->index)
			return fv_bad("%s disabled while not enabled", irq_name[s->index]);
		fv.on = -1;
		fv.count = 0;
		return 0;
	}
	if (fv.on < 0) {
		fv.on = (int)s->index;
		fv.count = s->start + s->count;
		for (unsigned int i = 0; i < FDS_MAX; i++)
			fv.fd[i] = -1;
	} else if (fv.on != (int)s->index) {
		return fv_bad("%s enabled while %s is", irq_name[s->index], irq_name[fv.on]);
	} else if (s->start + s->count > fv.count) {
		if (s->index == VFIO_PCI_MSI_IRQ_INDEX ||
		    (d->irq_flags[s->index] & VFIO_IRQ_INFO_NORESIZE))
			return fv_bad("%s grown from %u to %u vectors while enabled",
				      irq_name[s->index], fv.count, s->start + s->count);
		fv.count = s->start + s->count;
	}
	for (unsigned int i = 0; i < s->count; i++)
		fv.fd[s->start + i] = fds[i];
	return 0;
}

static void fv_ok(void)
{
	if (fv.err[0])
		fail_msg("vfio-pci would refuse: %s", fv.err);
}

static const struct irq_rec *rec_get(unsigned int i, unsigned int index, uint32_t flags,
				     unsigned int start, unsigned int count)
{
	const struct irq_rec *r;

	fv_ok();
	if (i >= fv.n)
		fail_msg("SET_IRQS #%u expected, %u made", i, fv.n);
	r = &fv.rec[i];
	if (r->index != index || r->flags != flags || r->start != start || r->count != count)
		fail_msg("SET_IRQS #%u: %s flags 0x%x %u+%u, expected %s flags 0x%x %u+%u", i,
			 irq_name[r->index % 5], r->flags, r->start, r->count, irq_name[index], flags,
			 start, count);
	return r;
}

#define TRIGGER_FDS	(VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER)
#define UNMASK_FDS	(VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK)
#define DISABLE		(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER)

static void assert_disabled(unsigned int i, unsigned int index)
{
	rec_get(i, index, DISABLE, 0, 0);
}

static void assert_fds(const struct irq_rec *r, const int *want, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (r->fd[i] != want[i])
			fail_msg("SET_IRQS %s vector %u: fd %d, expected %d", irq_name[r->index],
				 r->start + i, r->fd[i], want[i]);
}

/* INTx on as kvmio turns it on: trigger, then the resample fd as unmask. */
static void assert_intx_on(unsigned int i)
{
	assert_int_equal(rec_get(i, VFIO_PCI_INTX_IRQ_INDEX, TRIGGER_FDS, 0, 1)->fd[0],
			 vd->intx_fd);
	assert_int_equal(rec_get(i + 1, VFIO_PCI_INTX_IRQ_INDEX, UNMASK_FDS, 0, 1)->fd[0],
			 vd->intx_resample_fd);
	assert_int_equal(fv.on, VFIO_PCI_INTX_IRQ_INDEX);
	assert_true(vd->intx_bound);
}

/* ---- the device file ---- */

static uint64_t cfg_off(void)
{
	return opt.cfg256 ? CFG256_OFF : CFG_OFF;
}

static uint64_t hw_rd(unsigned int reg, unsigned int len)
{
	return file_rd(cfg_off() + reg, len);
}

static void hw_wr(unsigned int reg, unsigned int len, uint64_t v)
{
	file_wr(cfg_off() + reg, len, v);
}

static void hw_cap(unsigned int off, uint8_t id, uint8_t next)
{
	hwcfg[off] = id;
	hwcfg[off + 1] = next;
}

static void hw_ext(unsigned int off, uint16_t id, uint8_t ver, unsigned int next)
{
	le_write(hwcfg + off, 4, id | (uint32_t)ver << 16 | (uint32_t)next << 20);
}

/* Config space as the hardware has it, stale host addresses and all. */
static void hw_build(void)
{
	uint8_t *c = hwcfg;

	memset(c, 0, sizeof(hwcfg));
	for (unsigned int i = 0x40; i < sizeof(hwcfg); i++)
		c[i] = pat(i);		/* bodies and vendor registers */
	le_write(c + PCI_VENDOR_ID, 2, 0x8086);
	le_write(c + PCI_DEVICE_ID, 2, 0x10d3);
	le_write(c + PCI_STATUS, 2, PCI_STATUS_CAP_LIST);
	le_write(c + PCI_CLASS_REVISION, 4, 0x02000003);
	c[PCI_CACHE_LINE_SIZE] = 0x10;
	c[PCI_HEADER_TYPE] = 0x80;
	c[PCI_BIST] = 0x80;
	le_write(c + PCI_BASE_ADDRESS_0, 4, 0xfebc0000);
	le_write(c + PCI_BASE_ADDRESS_1, 4, 0x0000e001);
	le_write(c + PCI_BASE_ADDRESS_2, 4, 0xfe00000c);
	le_write(c + PCI_BASE_ADDRESS_3, 4, 0x00000001);
	le_write(c + PCI_BASE_ADDRESS_4, 4, 0xfebd0000);
	le_write(c + PCI_SUBSYSTEM_VENDOR_ID, 2, 0x8086);
	le_write(c + PCI_SUBSYSTEM_ID, 2, 0xa01f);
	le_write(c + PCI_ROM_ADDRESS, 4, 0xfeb00000);
	c[PCI_CAPABILITY_LIST] = CAP_PM;
	c[PCI_INTERRUPT_LINE] = 11;
	c[PCI_INTERRUPT_PIN] = 1;

	hw_cap(CAP_PM, PCI_CAP_ID_PM, CAP_MSI);
	le_write(c + CAP_PM + PCI_PM_PMC, 2, 0xc823);
	le_write(c + CAP_PM + PCI_PM_CTRL, 2, 0x0008);
	hw_cap(CAP_MSI, PCI_CAP_ID_MSI, CAP_PCIX);
	le_write(c + CAP_MSI + PCI_MSI_FLAGS, 2,
		 PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | 3 << 1);	/* 8 vectors */
	hw_cap(CAP_PCIX, PCI_CAP_ID_PCIX, CAP_MSIX);
	hw_cap(CAP_MSIX, PCI_CAP_ID_MSIX, CAP_EXP);
	le_write(c + CAP_MSIX + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | (NVEC - 1));
	le_write(c + CAP_MSIX + PCI_MSIX_TABLE, 4, TABLE_OFF | 2);
	le_write(c + CAP_MSIX + PCI_MSIX_PBA, 4, PBA_OFF | (opt.split_pba ? 0 : 2));
	hw_cap(CAP_EXP, PCI_CAP_ID_EXP, CAP_VNDR);
	le_write(c + CAP_EXP + PCI_EXP_FLAGS, 2, PCI_EXP_TYPE_ENDPOINT << 4 | 2);
	le_write(c + CAP_EXP + PCI_EXP_DEVCTL, 2, 0x2810);
	le_write(c + CAP_EXP + PCI_EXP_DEVSTA, 2, 0x0000);
	hw_cap(CAP_VNDR, PCI_CAP_ID_VNDR, CAP_HT);
	c[CAP_VNDR + 2] = 0x10;
	hw_cap(CAP_HT, PCI_CAP_ID_HT, 0);
	hw_ext(ECAP_AER, PCI_EXT_CAP_ID_ERR, 2, ECAP_SRIOV);
	hw_ext(ECAP_SRIOV, PCI_EXT_CAP_ID_SRIOV, 1, ECAP_DSN);
	hw_ext(ECAP_DSN, PCI_EXT_CAP_ID_DSN, 1, ECAP_ARI);
	hw_ext(ECAP_ARI, PCI_EXT_CAP_ID_ARI, 1, 0);
}

static void region(unsigned int index, uint64_t off, uint64_t size, uint32_t flags)
{
	struct vfio_region *r = &vd->region[index];

	r->offset = off;
	r->size = size;
	r->flags = flags;
	r->nareas = 0;
	/* As region_info leaves a region without sparse areas: one area, all of it. */
	if ((flags & VFIO_REGION_INFO_FLAG_MMAP) && index <= VFIO_PCI_BAR5_REGION_INDEX)
		r->area[r->nareas++] = (struct vfio_area){ .off = 0, .size = size, .slot = -1 };
}

/* vfio-pci must decode memory before a slot makes its BAR reachable without exits. */
static void watch_map(const struct fake_mmio_slot *s, void *opaque)
{
	if (!(hw_rd(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY))
		watch_bad++;
}

static int setup(void **state)
{
	const uint32_t rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	const uint32_t mm = rw | VFIO_REGION_INFO_FLAG_MMAP;
	const struct opts *o = *state;

	opt = o ? *o : o_default;
	memset(&fv, 0, sizeof(fv));
	memset(&p2p, 0, sizeof(p2p));
	fv.on = -1;
	fv.unmask_fd = -1;
	watch_bad = 0;

	fake_vm_init(&vm);
	vm.mem.nr = 1;
	vm.mem.ram_size = RAM_SIZE;
	vm.mem.region[0] = (struct mem_region){ .gpa = 0, .size = RAM_SIZE };
	assert_int_equal(irq_routes_init(&vm), 0);
	assert_int_equal(pci_host_init(&host, &vm, 4 * GiB, 4 * GiB), 0);
	vm.pci = &host;
	fake_mmio_watch(watch_map, NULL);

	memfd = memfd_create("vfio-fake", MFD_CLOEXEC);
	assert_true(memfd >= 0);
	assert_int_equal(ftruncate(memfd, (off_t)(FILE_SIZE + (opt.cfg256 ? 256 : 0))), 0);
	{
		static uint8_t buf[FILE_SIZE];

		for (uint64_t i = 0; i < FILE_SIZE; i++)
			buf[i] = pat(i);
		assert_int_equal(pwrite(memfd, buf, FILE_SIZE, 0), (ssize_t)FILE_SIZE);
	}
	hw_build();
	assert_int_equal(pwrite(memfd, hwcfg, opt.cfg256 ? 256 : PCI_CFG_SIZE, (off_t)cfg_off()),
			 opt.cfg256 ? 256 : PCI_CFG_SIZE);

	vd = calloc(1, sizeof(*vd));
	assert_non_null(vd);
	vd->vm = &vm;
	vd->fd = dup(memfd);
	snprintf(vd->name, sizeof(vd->name), "vfio-test");
	vd->intx_fd = vd->intx_resample_fd = -1;
	pthread_mutex_init(&vd->irq_lock, NULL);
	vd->set_irqs = fv_set_irqs;
	vd->p2p_map = fk_p2p;
	region(VFIO_PCI_CONFIG_REGION_INDEX, cfg_off(), opt.cfg256 ? 256 : PCI_CFG_SIZE, rw);
	region(VFIO_PCI_BAR0_REGION_INDEX, BAR0_OFF, BAR0_SIZE, mm);
	region(VFIO_PCI_BAR1_REGION_INDEX, BAR1_OFF, BAR1_SIZE, rw);
	region(VFIO_PCI_BAR2_REGION_INDEX, BAR2_OFF, BAR2_SIZE, mm);
	region(VFIO_PCI_BAR4_REGION_INDEX, BAR4_OFF, BAR4_SIZE, rw);
	region(VFIO_PCI_ROM_REGION_INDEX, ROM_OFF, ROM_SIZE, VFIO_REGION_INFO_FLAG_READ);
	vd->irq_count[VFIO_PCI_INTX_IRQ_INDEX] = opt.no_intx ? 0 : 1;
	vd->irq_count[VFIO_PCI_MSI_IRQ_INDEX] = 8;
	vd->irq_count[VFIO_PCI_MSIX_IRQ_INDEX] = NVEC;
	vd->irq_flags[VFIO_PCI_INTX_IRQ_INDEX] = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
						 VFIO_IRQ_INFO_AUTOMASKED;
	vd->irq_flags[VFIO_PCI_MSI_IRQ_INDEX] = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
	vd->irq_flags[VFIO_PCI_MSIX_IRQ_INDEX] = VFIO_IRQ_INFO_EVENTFD |
						 (opt.resize ? 0 : VFIO_IRQ_INFO_NORESIZE);
	assert_int_equal(vfio_device_register(vd, "hostdev"), 0);
	assert_int_equal(vfio_device_build(vd), 0);
	assert_int_equal(vd->pci.devfn, SLOT << 3);
	fv_ok();
	return 0;
}

static int teardown(void **state)
{
	struct stat st;

	assert_int_equal(watch_bad, 0);
	vfio_devices_exit(&vm);		/* vfio_irq_exit, pci_device_remove, vfio_device_free */
	vd = NULL;
	fv_ok();
	/* Whatever was on, nothing is: no interrupt of the device's reaches anything. */
	assert_int_equal(fv.on, -1);
	assert_int_equal(fake_mmio_nslots(), 0);
	/* No BAR stays in the host IOMMU once the device is gone. */
	assert_int_equal(p2p.n, 0);
	assert_string_equal(p2p.err, "");
	/* Nothing kvmio wrote made the device file grow (writes past a region). */
	assert_int_equal(fstat(memfd, &st), 0);
	assert_int_equal(st.st_size, FILE_SIZE + (opt.cfg256 ? 256 : 0));
	pci_host_exit(&host);
	irq_routes_exit(&vm);
	fake_vm_destroy(&vm);
	close(memfd);
	return 0;
}

/* ---- the guest's accessors ---- */

static uint64_t cfg_rd(unsigned int reg, unsigned int len)
{
	uint8_t b[8];

	memset(b, 0x5a, sizeof(b));
	pci_cfg_read(&host, SLOT << 3, reg, b, len);
	return le_read(b, len);
}

static void cfg_wr(unsigned int reg, unsigned int len, uint64_t v)
{
	uint8_t b[8];

	le_write(b, len, v);
	pci_cfg_write(&host, SLOT << 3, reg, b, len);
}

static uint64_t ecam_rd(unsigned int reg, unsigned int len)
{
	uint8_t b[8];

	memset(b, 0x5a, sizeof(b));
	assert_int_equal(bus_dispatch(&vm.bus, NULL, BUS_MMIO, ECAM_DEV + reg, b, len, false), 0);
	return le_read(b, len);
}

static int bus_try(enum bus_space sp, uint64_t addr, uint8_t *b, unsigned int len, bool wr)
{
	return bus_dispatch(&vm.bus, NULL, sp, addr, b, len, wr);
}

static uint64_t mmio_rd(uint64_t addr, unsigned int len)
{
	uint8_t b[8];

	memset(b, 0x5a, sizeof(b));
	assert_int_equal(bus_try(BUS_MMIO, addr, b, len, false), 0);
	return le_read(b, len);
}

static void mmio_wr(uint64_t addr, unsigned int len, uint64_t v)
{
	uint8_t b[8];

	le_write(b, len, v);
	assert_int_equal(bus_try(BUS_MMIO, addr, b, len, true), 0);
}

static uint64_t bar2(void)
{
	return (cfg_rd(PCI_BASE_ADDRESS_2, 4) & PCI_BASE_ADDRESS_MEM_MASK) |
	       cfg_rd(PCI_BASE_ADDRESS_3, 4) << 32;
}

static void entry_wr(unsigned int vec, uint64_t addr, uint32_t data, bool masked)
{
	uint64_t e = bar2() + TABLE_OFF + vec * PCI_MSIX_ENTRY_SIZE;

	mmio_wr(e + PCI_MSIX_ENTRY_LOWER_ADDR, 8, addr);
	mmio_wr(e + PCI_MSIX_ENTRY_DATA, 4, data);
	mmio_wr(e + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, masked);
}

static void vec_mask(unsigned int vec, bool masked)
{
	mmio_wr(bar2() + TABLE_OFF + vec * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, 4,
		masked);
}

static uint64_t pba_rd(void)
{
	return mmio_rd(bar2() + PBA_OFF, 8);
}

static void msix_ctrl(uint16_t bits)
{
	cfg_wr(CAP_MSIX + PCI_MSIX_FLAGS, 2, bits);
}

/* Every byte of the file's [off, off+len) as @buf has it. */
static bool file_is(uint64_t off, const uint8_t *buf, unsigned int len)
{
	uint8_t cur[PCI_CFG_SIZE];

	assert_true(len <= sizeof(cur));
	assert_int_equal(pread(memfd, cur, len, (off_t)off), len);
	return !memcmp(cur, buf, len);
}

/* The file's pattern, as setup wrote it, over [off, off+len). */
static bool file_pristine(uint64_t off, unsigned int len)
{
	uint8_t want[PCI_CFG_SIZE];

	assert_true(len <= sizeof(want));
	for (unsigned int i = 0; i < len; i++)
		want[i] = pat(off + i);
	return file_is(off, want, len);
}

/* ---- config space ---- */

static void test_identity(void **state)
{
	assert_int_equal(cfg_rd(PCI_VENDOR_ID, 4), 0x10d38086);
	assert_int_equal(cfg_rd(PCI_CLASS_REVISION, 4), 0x02000003);
	assert_int_equal(cfg_rd(PCI_SUBSYSTEM_VENDOR_ID, 4), 0xa01f8086);
	/* One function of kvmio's bus, no BIST. */
	assert_int_equal(cfg_rd(PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(cfg_rd(PCI_BIST, 1), 0);
	/* kvmio's slot, pin and line; BARs where kvmio put them, not the host's. */
	assert_int_equal(cfg_rd(PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(cfg_rd(PCI_INTERRUPT_LINE, 1), INTX_GSI);
	assert_int_equal(cfg_rd(PCI_BASE_ADDRESS_0, 4), A_BAR0);
	assert_int_equal(cfg_rd(PCI_BASE_ADDRESS_1, 4), A_BAR1 | PCI_BASE_ADDRESS_SPACE_IO);
	assert_int_equal(bar2(), A_BAR2);
	assert_int_equal(cfg_rd(PCI_BASE_ADDRESS_4, 4), A_BAR4);
	assert_int_equal(cfg_rd(PCI_BASE_ADDRESS_5, 4), 0);
	assert_int_equal(cfg_rd(PCI_ROM_ADDRESS, 4), A_ROM);
	/* Decoding on, as firmware leaves it, and the device told. */
	assert_int_equal(cfg_rd(PCI_COMMAND, 2), PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_int_equal(hw_rd(PCI_COMMAND, 2), PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	/* The header in the file is as it was: BARs and ROM are never written there. */
	assert_true(file_is(cfg_off() + PCI_BASE_ADDRESS_0, hwcfg + PCI_BASE_ADDRESS_0, 24));
	assert_true(file_is(cfg_off() + PCI_ROM_ADDRESS, hwcfg + PCI_ROM_ADDRESS, 4));
}

static void test_caps(void **state)
{
	static const uint8_t want[][2] = {
		{ CAP_PM, PCI_CAP_ID_PM }, { CAP_MSI, PCI_CAP_ID_MSI }, { CAP_MSIX, PCI_CAP_ID_MSIX },
		{ CAP_EXP, PCI_CAP_ID_EXP }, { CAP_VNDR, PCI_CAP_ID_VNDR },
	};
	unsigned int n = 0, p;

	assert_true(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (p = (unsigned int)cfg_rd(PCI_CAPABILITY_LIST, 1); p; p = (unsigned int)cfg_rd(p + 1, 1)) {
		assert_true(n < ARRAY_SIZE(want));
		assert_int_equal(p, want[n][0]);
		assert_int_equal(cfg_rd(p, 1), want[n][1]);
		n++;
	}
	assert_int_equal(n, ARRAY_SIZE(want));
	assert_int_equal(cfg_rd(CAP_PCIX, 2), 0);
	assert_int_equal(cfg_rd(CAP_HT, 2), 0);
	/* An endpoint on the root bus: an integrated one. */
	assert_int_equal((cfg_rd(CAP_EXP + PCI_EXP_FLAGS, 2) & PCI_EXP_FLAGS_TYPE) >> 4,
			 PCI_EXP_TYPE_RC_END);
	/* MSI as the device can, reset: disabled, one vector, no address. */
	assert_int_equal(cfg_rd(CAP_MSI + PCI_MSI_FLAGS, 2),
			 PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | 3 << 1);
	for (unsigned int off = MSI_ADDR_LO; off < CAP_MSI + 24; off += 4)
		assert_int_equal(cfg_rd(off, 4), 0);
	/* MSI-X: the device's table and PBA, disabled whatever the device says. */
	assert_int_equal(cfg_rd(CAP_MSIX + PCI_MSIX_FLAGS, 2), NVEC - 1);
	assert_int_equal(cfg_rd(CAP_MSIX + PCI_MSIX_TABLE, 4), TABLE_OFF | 2);
	assert_int_equal(cfg_rd(CAP_MSIX + PCI_MSIX_PBA, 4), PBA_OFF | 2);
	/* The extended list, past the hidden SR-IOV and ARI. */
	assert_int_equal(cfg_rd(ECAP_AER, 4), PCI_EXT_CAP_ID_ERR | 2 << 16 | ECAP_DSN << 20);
	assert_int_equal(cfg_rd(ECAP_DSN, 4), PCI_EXT_CAP_ID_DSN | 1 << 16);
	assert_int_equal(cfg_rd(ECAP_SRIOV, 4), 0);
	assert_int_equal(cfg_rd(ECAP_ARI, 4), 0);
}

/* Linux's sizing: decode off, all-ones, read, restore. */
static uint32_t size_bar(unsigned int reg, uint32_t ones)
{
	uint32_t old = (uint32_t)cfg_rd(reg, 4), sz;

	cfg_wr(reg, 4, ones);
	sz = (uint32_t)cfg_rd(reg, 4);
	cfg_wr(reg, 4, old);
	assert_int_equal(cfg_rd(reg, 4), old);
	return sz;
}

static void test_bar_sizing(void **state)
{
	cfg_wr(PCI_COMMAND, 2, 0);
	assert_int_equal(fake_mmio_nslots(), 0);
	/* Sizes from the regions, types and prefetch from the device's BAR registers. */
	assert_int_equal(size_bar(PCI_BASE_ADDRESS_0, ~0u), (uint32_t)~(BAR0_SIZE - 1));
	assert_int_equal(size_bar(PCI_BASE_ADDRESS_1, ~0u),
			 (uint32_t)~(BAR1_SIZE - 1) | PCI_BASE_ADDRESS_SPACE_IO);
	assert_int_equal(size_bar(PCI_BASE_ADDRESS_2, ~0u),
			 (uint32_t)~(BAR2_SIZE - 1) | PCI_BASE_ADDRESS_MEM_TYPE_64 |
			 PCI_BASE_ADDRESS_MEM_PREFETCH);
	assert_int_equal(size_bar(PCI_BASE_ADDRESS_3, ~0u), ~0u);
	assert_int_equal(size_bar(PCI_BASE_ADDRESS_4, ~0u), (uint32_t)~(BAR4_SIZE - 1));
	assert_int_equal(size_bar(PCI_BASE_ADDRESS_5, ~0u), 0);
	assert_int_equal(size_bar(PCI_ROM_ADDRESS, ~(uint32_t)PCI_ROM_ADDRESS_ENABLE),
			 (uint32_t)~(ROM_SIZE - 1));
	/* None of it reached the device. */
	assert_true(file_is(cfg_off() + PCI_BASE_ADDRESS_0, hwcfg + PCI_BASE_ADDRESS_0, 24));
	assert_true(file_is(cfg_off() + PCI_ROM_ADDRESS, hwcfg + PCI_ROM_ADDRESS, 4));
	assert_int_equal(hw_rd(PCI_COMMAND, 2), 0);
	/* Back on: the same slots as before. */
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	assert_int_equal(fake_mmio_nslots(), 4);
	assert_int_equal(hw_rd(PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
}

static void test_rom(void **state)
{
	uint8_t b[8];

	/* Disabled: nothing there. */
	assert_int_equal(bus_try(BUS_MMIO, A_ROM, b, 4, false), -ENOENT);
	cfg_wr(PCI_ROM_ADDRESS, 4, A_ROM | PCI_ROM_ADDRESS_ENABLE);
	assert_int_equal(cfg_rd(PCI_ROM_ADDRESS, 4), A_ROM | PCI_ROM_ADDRESS_ENABLE);
	/* Reads come from the ROM region, every size. */
	for (unsigned int len = 1; len <= 8; len *= 2)
		for (uint64_t off = 0; off < ROM_SIZE; off += 0x1234)
			assert_int_equal(mmio_rd(A_ROM + off, len), file_rd(ROM_OFF + off, len));
	assert_int_equal(mmio_rd(A_ROM + ROM_SIZE - 4, 4), file_rd(ROM_OFF + ROM_SIZE - 4, 4));
	/* A ROM is read-only; its BAR is kvmio's. */
	mmio_wr(A_ROM + 0x10, 4, 0xdeadbeef);
	assert_true(file_pristine(ROM_OFF, 0x100));
	assert_true(file_is(cfg_off() + PCI_ROM_ADDRESS, hwcfg + PCI_ROM_ADDRESS, 4));
	/* Decoded, the ROM is a read-only slot over a copy: reads never exit. */
	struct fake_mmio_slot sl;
	uint8_t rom[ROM_SIZE];

	assert_int_equal(fake_mmio_nslots(), 5);
	assert_true(fake_mmio_slot_at(A_ROM, &sl));
	assert_true(sl.readonly);
	assert_int_equal(sl.gpa, A_ROM);
	assert_int_equal(sl.size, ROM_SIZE);
	assert_int_equal(pread(memfd, rom, ROM_SIZE, ROM_OFF), ROM_SIZE);
	assert_memory_equal(sl.hva, rom, ROM_SIZE);
	/* Moved, then turned off: the slot follows, then goes. */
	cfg_wr(PCI_ROM_ADDRESS, 4, (A_ROM + 0x10000) | PCI_ROM_ADDRESS_ENABLE);
	assert_false(fake_mmio_slot_at(A_ROM, &sl));
	assert_true(fake_mmio_slot_at(A_ROM + 0x10000, &sl) && sl.readonly);
	cfg_wr(PCI_ROM_ADDRESS, 4, A_ROM);
	assert_int_equal(fake_mmio_nslots(), 4);
}

static void test_command(void **state)
{
	const uint16_t cmd = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			     PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE;

	cfg_wr(PCI_COMMAND, 2, cmd);
	assert_int_equal(hw_rd(PCI_COMMAND, 2), cmd);
	cfg_wr(PCI_COMMAND, 1, PCI_COMMAND_MASTER);
	assert_int_equal(hw_rd(PCI_COMMAND, 2), (cmd & ~0xffu) | PCI_COMMAND_MASTER);
	/* Bits kvmio does not let the guest set reach nobody. */
	cfg_wr(PCI_COMMAND, 2, 0xffff);
	assert_int_equal(hw_rd(PCI_COMMAND, 2), cmd);
	assert_int_equal(cfg_rd(PCI_COMMAND, 2), cmd);
}

/* STATUS is the device's: raw writes (its bits are write-1-to-clear), fresh reads. */
static void test_status(void **state)
{
	const uint16_t w1c = PCI_STATUS_DETECTED_PARITY | PCI_STATUS_SIG_SYSTEM_ERROR |
			     PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_SIG_TARGET_ABORT;

	hw_wr(PCI_STATUS, 2, w1c | PCI_STATUS_66MHZ);		/* the device's error bits */
	assert_int_equal(cfg_rd(PCI_STATUS, 2), w1c | PCI_STATUS_66MHZ | PCI_STATUS_CAP_LIST);
	/* A dword write of COMMAND and STATUS: COMMAND is kvmio's, STATUS goes as written. */
	cfg_wr(PCI_COMMAND, 4, (uint32_t)PCI_STATUS_DETECTED_PARITY << 16 | PCI_COMMAND_MEMORY);
	assert_int_equal(hw_rd(PCI_STATUS, 2), PCI_STATUS_DETECTED_PARITY | PCI_STATUS_CAP_LIST);
	assert_int_equal(hw_rd(PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
	cfg_wr(PCI_STATUS, 2, 0xffff);
	assert_int_equal(hw_rd(PCI_STATUS, 2), 0xffff);
	/* Whether there is a list is kvmio's to say, whatever the device has. */
	hw_wr(PCI_STATUS, 2, 0);
	assert_int_equal(cfg_rd(PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
}

static void test_passthrough(void **state)
{
	unsigned int devctl = CAP_EXP + PCI_EXP_DEVCTL, devsta = CAP_EXP + PCI_EXP_DEVSTA;

	assert_int_equal(cfg_rd(devctl, 2), 0x2810);
	cfg_wr(devctl, 2, 0x5937);
	assert_int_equal(hw_rd(devctl, 2), 0x5937);
	assert_int_equal(cfg_rd(devctl, 2), 0x5937);
	/* The device changes it: the guest sees the device's, not a copy. */
	hw_wr(devctl, 2, 0x1234);
	assert_int_equal(cfg_rd(devctl, 2), 0x1234);
	assert_int_equal(cfg_rd(devctl, 1), 0x34);
	assert_int_equal(ecam_rd(devctl, 4), 0x1234 | hw_rd(devsta, 2) << 16);
	/* Write-1-to-clear status: the guest's value as written, not kvmio's idea of it. */
	hw_wr(devsta, 2, 0x000f);
	cfg_wr(devsta, 2, 0x0005);
	assert_int_equal(hw_rd(devsta, 2), 0x0005);
	cfg_wr(ECAP_AER + PCI_ERR_UNCOR_STATUS, 4, 0x00001010);
	assert_int_equal(hw_rd(ECAP_AER + PCI_ERR_UNCOR_STATUS, 4), 0x00001010);
	/* A vendor register and power management, every size. */
	cfg_wr(CAP_VNDR + 4, 4, 0xcafef00d);
	assert_int_equal(hw_rd(CAP_VNDR + 4, 4), 0xcafef00d);
	cfg_wr(CAP_VNDR + 5, 1, 0x77);
	assert_int_equal(hw_rd(CAP_VNDR + 4, 4), 0xcafe770d);
	cfg_wr(CAP_PM + PCI_PM_CTRL, 2, 0x0003);
	assert_int_equal(hw_rd(CAP_PM + PCI_PM_CTRL, 2), 0x0003);
	/* A dword over a capability header: the header is kvmio's, the rest goes. */
	cfg_wr(CAP_VNDR, 4, 0x99aabbcc);
	assert_int_equal(hw_rd(CAP_VNDR, 4), 0x99aa0000u | CAP_HT << 8 | PCI_CAP_ID_VNDR);
	assert_int_equal(cfg_rd(CAP_VNDR, 2), PCI_CAP_ID_VNDR);	/* kvmio's next: HT is hidden */
	/* Headers of hidden capabilities stay hidden, in both directions. */
	cfg_wr(ECAP_SRIOV, 4, 0x12345678);
	assert_int_equal(hw_rd(ECAP_SRIOV, 4), le_read(hwcfg + ECAP_SRIOV, 4));
	assert_int_equal(cfg_rd(ECAP_SRIOV, 4), 0);
}

/*
 * Every access size at every offset: bytes kvmio owns read as its view,
 * the device's bytes read as the file has them now (the file rewritten
 * behind kvmio's back first).
 */
static void test_odd_reads(void **state)
{
	unsigned int end = opt.cfg256 ? PCI_CFG_LEGACY_SIZE : 0x200, size = vd->lay.size;
	uint8_t view[PCI_CFG_SIZE], fresh[PCI_CFG_SIZE];

	for (unsigned int i = 0; i < end; i++)
		fresh[i] = (uint8_t)(0xc3 ^ i);
	assert_int_equal(pwrite(memfd, fresh + 0x40, end - 0x40, (off_t)(cfg_off() + 0x40)),
			 end - 0x40);
	assert_int_equal(pread(memfd, fresh, size, (off_t)cfg_off()), size);
	memcpy(view, vd->pci.cfg, sizeof(view));
	for (unsigned int len = 1; len <= 8; len *= 2) {
		for (unsigned int off = 0; off + len <= PCI_CFG_SIZE; off++) {
			uint8_t b[8];

			if (off >= end + 8 && off % 64)
				continue;	/* past the lists: a sample is enough */
			pci_cfg_read(&host, SLOT << 3, off, b, len);
			for (unsigned int i = 0; i < len; i++) {
				unsigned int o = off + i;
				uint8_t m = vd->lay.emu[o];
				uint8_t want = o < size ? (uint8_t)((view[o] & m) | (fresh[o] & ~m)) : 0;

				if (b[i] != want)
					fail_msg("%u-byte read at 0x%x: byte 0x%x is 0x%02x, "
						 "expected 0x%02x (emu 0x%02x)",
						 len, off, o, b[i], want, m);
			}
			/* The guest's own path: ECAM, within a dword. */
			if ((off & 3) + len <= 4 && len < 8)
				assert_int_equal(ecam_rd(off, len), le_read(b, len));
		}
	}
}

/*
 * Writes of every size at every offset over capabilities and vendor space:
 * the device gets exactly its bytes, as the guest wrote them (with kvmio's
 * value in bits it owns in a byte), and never a byte wholly kvmio's.
 */
static void sweep_writes(unsigned int from, unsigned int to)
{
	uint8_t before[PCI_CFG_SIZE], after[PCI_CFG_SIZE], view[PCI_CFG_SIZE];
	unsigned int seq = 0;

	for (unsigned int len = 1; len <= 8; len *= 2) {
		for (unsigned int off = from; off + len <= to; off++) {
			uint8_t b[8];

			for (unsigned int i = 0; i < len; i++)
				b[i] = (uint8_t)(0x5b + 17 * seq++);
			assert_int_equal(pread(memfd, before, PCI_CFG_SIZE, (off_t)CFG_OFF),
					 PCI_CFG_SIZE);
			memcpy(view, vd->pci.cfg, sizeof(view));
			pci_cfg_write(&host, SLOT << 3, off, b, len);
			assert_int_equal(pread(memfd, after, PCI_CFG_SIZE, (off_t)CFG_OFF),
					 PCI_CFG_SIZE);
			for (unsigned int o = 0; o < PCI_CFG_SIZE; o++) {
				uint8_t m = vd->lay.emu[o], want = before[o];

				if (o >= off && o < off + len && m != 0xff)
					want = (uint8_t)((b[o - off] & ~m) | (view[o] & m));
				if (after[o] != want)
					fail_msg("%u-byte write at 0x%x: device byte 0x%x is 0x%02x, "
						 "expected 0x%02x (emu 0x%02x)",
						 len, off, o, after[o], want, m);
				/* What kvmio owns there and the guest cannot write stays. */
				if ((vd->pci.cfg[o] ^ view[o]) & m & ~vd->pci.wmask[o])
					fail_msg("%u-byte write at 0x%x changed kvmio's byte 0x%x",
						 len, off, o);
			}
		}
	}
}

static void test_odd_writes(void **state)
{
	sweep_writes(CAP_PM, CAP_MSI);		/* power management, then padding */
	sweep_writes(CAP_PCIX, CAP_MSIX);	/* a hidden capability */
	sweep_writes(CAP_EXP, 0x100);		/* PCIe, vendor, hidden HT, the rest */
	sweep_writes(0x100, 0x200);		/* AER, hidden SR-IOV, DSN, hidden ARI */
}

/* A conventional device: nothing past 0xff, of the device's or written to it. */
static void test_cfg256(void **state)
{
	assert_int_equal(vd->lay.size, PCI_CFG_LEGACY_SIZE);
	for (unsigned int off = 0x100; off < PCI_CFG_SIZE; off += 4) {
		assert_int_equal(cfg_rd(off, 4), 0);
		cfg_wr(off, 4, 0xffffffff);
		assert_int_equal(ecam_rd(off, 4), 0);
	}
	/* The device's last bytes, and all-zero past them, in one access. */
	hw_wr(0xfc, 4, 0x44332211);
	assert_int_equal(cfg_rd(0xfe, 4), 0x4433);
	assert_int_equal(cfg_rd(0xfc, 8), 0x44332211);
	assert_int_equal(cfg_rd(0xff, 2), 0x44);
	/* Writes across the end reach the device's bytes only (the file would grow). */
	cfg_wr(0xfe, 4, 0x99887766);
	assert_int_equal(hw_rd(0xfc, 4), 0x77662211);
}

/* ---- BARs ---- */

static void assert_slot(uint64_t gpa, uint64_t size, uint64_t file_off)
{
	struct fake_mmio_slot s;

	if (!fake_mmio_slot_at(gpa, &s))
		fail_msg("no memory slot at 0x%llx", (unsigned long long)gpa);
	assert_int_equal(s.gpa, gpa);
	assert_int_equal(s.size, size);
	/* It maps the device's region at that offset. */
	assert_int_equal(*(volatile uint8_t *)s.hva, pat(file_off));
	assert_int_equal(((volatile uint8_t *)s.hva)[size - 1], pat(file_off + size - 1));
}

static void assert_no_slot(uint64_t gpa)
{
	struct fake_mmio_slot s;

	if (fake_mmio_slot_at(gpa, &s))
		fail_msg("memory slot %d at 0x%llx covers 0x%llx", s.slot,
			 (unsigned long long)s.gpa, (unsigned long long)gpa);
}

/* BAR0 whole; BAR2 but for the pages of the MSI-X table and PBA. */
static void assert_slots_at(uint64_t b0, uint64_t b2)
{
	assert_int_equal(fake_mmio_nslots(), 4);
	assert_slot(b0, BAR0_SIZE, BAR0_OFF);
	assert_slot(b2, 0x1000, BAR2_OFF);
	assert_no_slot(b2 + 0x1000);
	assert_no_slot(b2 + TABLE_OFF);
	assert_slot(b2 + 0x2000, 0x1000, BAR2_OFF + 0x2000);
	assert_no_slot(b2 + 0x3000);
	assert_no_slot(b2 + PBA_OFF);
	assert_slot(b2 + 0x4000, BAR2_SIZE - 0x4000, BAR2_OFF + 0x4000);
	assert_no_slot(A_BAR4);
}

static void test_slots(void **state)
{
	struct fake_mmio_slot s;

	assert_slots_at(A_BAR0, A_BAR2);
	/* The slot is the device's memory: what the guest stores, the device has. */
	assert_true(fake_mmio_slot_at(A_BAR0, &s));
	((volatile uint32_t *)s.hva)[0x40] = 0x600df00d;
	assert_int_equal(file_rd(BAR0_OFF + 0x100, 4), 0x600df00d);
}

/*
 * Peer-to-peer DMA: every mmap'd BAR piece is in the host IOMMU at its
 * guest address, and follows the BAR as its slot does.
 */
static void test_p2p(void **state)
{
	struct fake_mmio_slot s;

	/* BAR0 whole, and BAR2's three pieces around the MSI-X pages; not BAR4 (trapped). */
	assert_int_equal(p2p.n, 4);
	assert_true(fake_mmio_slot_at(A_BAR0, &s));
	assert_true(p2p_at(A_BAR0, BAR0_SIZE, s.hva));
	assert_true(fake_mmio_slot_at(A_BAR2 + 0x4000, &s));
	assert_true(p2p_at(A_BAR2 + 0x4000, BAR2_SIZE - 0x4000, s.hva));
	assert_false(p2p_at(A_BAR2 + 0x1000, 0x1000, NULL));	/* the table's page */
	/* Moved: out at the old address, in at the new one. */
	cfg_wr(PCI_BASE_ADDRESS_0, 4, A_BAR0 + 0x100000);
	assert_int_equal(p2p.n, 4);
	assert_true(fake_mmio_slot_at(A_BAR0 + 0x100000, &s));
	assert_true(p2p_at(A_BAR0 + 0x100000, BAR0_SIZE, s.hva));
	assert_false(p2p_at(A_BAR0, BAR0_SIZE, s.hva));
	/* Memory decode off: none left. */
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_IO);
	assert_int_equal(p2p.n, 0);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_int_equal(p2p.n, 4);
	/* A host IOMMU that refuses: a warning, the BAR still works through its slot. */
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_IO);
	p2p.fail = -EFAULT;
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_int_equal(p2p.n, 0);
	assert_int_equal(fake_mmio_nslots(), 4);
	assert_string_equal(p2p.err, "");
	assert_int_equal(mmio_rd(A_BAR0 + 0x100010, 4), file_rd(BAR0_OFF + 0x10, 4));
}

/* What has no slot is trapped and forwarded to the region at the same offset. */
static void test_trapped(void **state)
{
	uint8_t b[8];

	/* The rest of the MSI-X pages, around the table and PBA. */
	assert_int_equal(mmio_rd(A_BAR2 + 0x1008, 4), file_rd(BAR2_OFF + 0x1008, 4));
	mmio_wr(A_BAR2 + 0x1008, 4, 0x11223344);
	assert_int_equal(file_rd(BAR2_OFF + 0x1008, 4), 0x11223344);
	mmio_wr(A_BAR2 + TABLE_OFF + NVEC * 16, 8, 0x0102030405060708ULL);
	assert_int_equal(file_rd(BAR2_OFF + TABLE_OFF + NVEC * 16, 8), 0x0102030405060708ULL);
	mmio_wr(A_BAR2 + 0x3ff0, 2, 0xbeef);
	assert_int_equal(file_rd(BAR2_OFF + 0x3ff0, 2), 0xbeef);
	assert_int_equal(mmio_rd(A_BAR2 + 0x3000, 8), file_rd(BAR2_OFF + 0x3000, 8));
	/* A BAR the kernel does not let us map: all of it. */
	for (unsigned int len = 1; len <= 8; len *= 2) {
		mmio_wr(A_BAR4 + 0x100 + len, len, 0xa1b2c3d4e5f60718ULL);
		assert_int_equal(file_rd(BAR4_OFF + 0x100 + len, len),
				 0xa1b2c3d4e5f60718ULL & (len == 8 ? ~0ULL : (1ULL << 8 * len) - 1));
		assert_int_equal(mmio_rd(A_BAR4 + BAR4_SIZE - len, len),
				 file_rd(BAR4_OFF + BAR4_SIZE - len, len));
	}
	/* I/O. */
	le_write(b, 4, 0x76543210);
	assert_int_equal(bus_try(BUS_PIO, A_BAR1 + 4, b, 4, true), 0);
	assert_int_equal(file_rd(BAR1_OFF + 4, 4), 0x76543210);
	memset(b, 0, sizeof(b));
	assert_int_equal(bus_try(BUS_PIO, A_BAR1 + 0x1c, b, 4, false), 0);
	assert_int_equal(le_read(b, 4), file_rd(BAR1_OFF + 0x1c, 4));
	/* A region-mapped part reached through the bus (a slot that failed) works too. */
	assert_int_equal(mmio_rd(A_BAR0 + 0x80, 8), file_rd(BAR0_OFF + 0x80, 8));
}

static void test_bar_move(void **state)
{
	unsigned long unmaps = fake_mmio_unmaps();

	/* Decode off: every slot goes, and the device stops decoding after that. */
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_IO);
	assert_int_equal(fake_mmio_nslots(), 0);
	assert_int_equal(fake_mmio_unmaps() - unmaps, 4);
	assert_int_equal(hw_rd(PCI_COMMAND, 2), PCI_COMMAND_IO);
	/* Moved while off: no slot anywhere. */
	cfg_wr(PCI_BASE_ADDRESS_0, 4, 0xC1000000);
	cfg_wr(PCI_BASE_ADDRESS_3, 4, 0x2);
	assert_int_equal(fake_mmio_nslots(), 0);
	/* On: at the new addresses. */
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_slots_at(0xC1000000, 0x200000000ULL);
	assert_no_slot(A_BAR0);
	assert_no_slot(A_BAR2);
	/* Moved while on: unmapped there, mapped here. */
	cfg_wr(PCI_BASE_ADDRESS_0, 4, 0xC2000000);
	assert_slots_at(0xC2000000, 0x200000000ULL);
	assert_no_slot(0xC1000000);
	assert_int_equal(mmio_rd(0x200000000ULL + 0x3000, 4), file_rd(BAR2_OFF + 0x3000, 4));
	/* Linux's 64-bit sizing with decode on (it should not, a guest may): slots follow. */
	cfg_wr(PCI_BASE_ADDRESS_2, 4, 0xffffffff);
	cfg_wr(PCI_BASE_ADDRESS_3, 4, 0xffffffff);
	cfg_wr(PCI_BASE_ADDRESS_2, 4, (uint32_t)A_BAR2 | 0xc);
	cfg_wr(PCI_BASE_ADDRESS_3, 4, A_BAR2 >> 32);
	assert_slots_at(0xC2000000, A_BAR2);
	assert_true(file_is(cfg_off() + PCI_BASE_ADDRESS_0, hwcfg + PCI_BASE_ADDRESS_0, 24));
}

/* hostile-guest.md case 20: memory decode off, then the BARs touched. */
static void test_decode_off_touched(void **state)
{
	uint8_t b[8];

	entry_wr(0, 0xfee00000, 0x30, false);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
	assert_int_equal(fake_mmio_nslots(), 0);
	assert_false(hw_rd(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY);
	/* Nothing answers (the vCPU gives all-ones); nothing reaches the device. */
	for (uint64_t off = 0; off < BAR0_SIZE; off += 0x800)
		assert_int_equal(bus_try(BUS_MMIO, A_BAR0 + off, b, 4, false), -ENOENT);
	le_write(b, 8, 0);
	assert_int_equal(bus_try(BUS_MMIO, A_BAR2 + TABLE_OFF, b, 8, true), -ENOENT);
	assert_int_equal(bus_try(BUS_MMIO, A_BAR4, b, 4, true), -ENOENT);
	assert_true(file_pristine(BAR4_OFF, 0x100));
	assert_int_equal(vd->msix.vec[0].addr_lo, 0xfee00000);
	/* The BAR rewritten while off: still nothing, until decode is back. */
	cfg_wr(PCI_BASE_ADDRESS_0, 4, 0xC8000000);
	assert_int_equal(fake_mmio_nslots(), 0);
	assert_int_equal(bus_try(BUS_MMIO, 0xC8000000, b, 4, false), -ENOENT);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_slots_at(0xC8000000, A_BAR2);
}

/* hostile-guest.md case 20: a BAR moved onto another one, or onto RAM. */
static void test_bar_onto_another(void **state)
{
	cfg_wr(PCI_BASE_ADDRESS_0, 4, (uint32_t)A_BAR4 & ~(uint32_t)(BAR0_SIZE - 1));
	/* Refused: BAR0 is not decoded, so no slot over BAR4, which still traps. */
	assert_false(vd->pci.bar[0].decoded);
	assert_int_equal(fake_mmio_nslots(), 3);
	assert_no_slot(A_BAR4);
	mmio_wr(A_BAR4 + 0x10, 4, 0x13579bdf);
	assert_int_equal(file_rd(BAR4_OFF + 0x10, 4), 0x13579bdf);
	cfg_wr(PCI_BASE_ADDRESS_0, 4, 0x100000);	/* RAM */
	assert_int_equal(fake_mmio_nslots(), 3);
	cfg_wr(PCI_BASE_ADDRESS_0, 4, A_BAR0);
	assert_slots_at(A_BAR0, A_BAR2);
}

/* KVM refusing a slot: the BAR is trapped instead, and still the device's. */
static void test_map_fails(void **state)
{
	cfg_wr(PCI_COMMAND, 2, 0);
	fake_mmio_fail(-ENOSPC);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(fake_mmio_nslots(), 0);
	mmio_wr(A_BAR0 + 0x1000, 4, 0x2468ace0);
	assert_int_equal(file_rd(BAR0_OFF + 0x1000, 4), 0x2468ace0);
	assert_int_equal(mmio_rd(A_BAR2 + 0x4000, 8), file_rd(BAR2_OFF + 0x4000, 8));
	fake_mmio_fail(0);
	cfg_wr(PCI_COMMAND, 2, 0);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_slots_at(A_BAR0, A_BAR2);
}

/* hostile-guest.md case 20: the MSI-X table and PBA are kvmio's, never the device's. */
static void test_msix_table_trapped(void **state)
{
	uint64_t t = A_BAR2 + TABLE_OFF;

	for (unsigned int v = 0; v < NVEC; v++)
		entry_wr(v, 0xfee00000 | v << 12, 0x40 + v, v & 1);
	for (unsigned int v = 0; v < NVEC; v++) {
		assert_int_equal(mmio_rd(t + v * 16, 8), 0xfee00000 | v << 12);
		assert_int_equal(mmio_rd(t + v * 16 + 8, 4), 0x40 + v);
		assert_int_equal(mmio_rd(t + v * 16 + 12, 4), v & 1);
	}
	mmio_wr(A_BAR2 + PBA_OFF, 8, ~0ULL);
	assert_int_equal(pba_rd(), 0);
	/* Odd sizes and offsets in the table: ignored, all-ones. */
	mmio_wr(t + 1, 4, 0);
	mmio_wr(t + 2, 2, 0);
	assert_int_equal(mmio_rd(t + 2, 2), 0xffff);
	assert_int_equal(mmio_rd(t, 4), 0xfee00000);
	assert_true(file_pristine(BAR2_OFF + TABLE_OFF, NVEC * 16));
	assert_true(file_pristine(BAR2_OFF + PBA_OFF, 8));
	/* Vectors written without a route (masked) have none: only unmasked ones get one. */
	assert_int_equal(vd->msix.vec[1].irq.gsi, 0);
}

/*
 * An 8-byte access half over the table (an unaligned quadword inside one
 * page: one exit from KVM): the table's half must not reach the device.
 */
static void test_msix_table_straddle(void **state)
{
	uint64_t t = A_BAR2 + TABLE_OFF, end = t + NVEC * 16;

	mmio_wr(t - 4, 8, 0x1111111122222222ULL);
	mmio_wr(end - 4, 8, 0x3333333344444444ULL);
	mmio_wr(A_BAR2 + PBA_OFF - 4, 8, 0x5555555566666666ULL);
	assert_true(file_pristine(BAR2_OFF + TABLE_OFF, NVEC * 16));
	assert_true(file_pristine(BAR2_OFF + PBA_OFF, 8));
}

/* ---- interrupts ---- */

static void test_intx_at_build(void **state)
{
	assert_int_equal(fv.n, 2);
	assert_intx_on(0);
	assert_true(is_eventfd(vd->intx_fd));
	assert_true(is_eventfd(vd->intx_resample_fd));
	assert_int_equal(vd->pci.intx_gsi, INTX_GSI);
}

static void test_no_intx(void **state)
{
	assert_int_equal(fv.n, 0);
	assert_int_equal(cfg_rd(PCI_INTERRUPT_PIN, 1), 0);
	assert_int_equal(vd->intx_fd, -1);
	/* MSI-X on and off: INTx is not turned on, there is none. */
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	msix_ctrl(0);
	assert_int_equal(fv.n, 2);
	rec_get(0, VFIO_PCI_MSIX_IRQ_INDEX, TRIGGER_FDS, 0, 1);
	assert_disabled(1, VFIO_PCI_MSIX_IRQ_INDEX);
}

static void msi_program(uint64_t addr, uint16_t data, uint32_t mask)
{
	cfg_wr(MSI_ADDR_LO, 4, (uint32_t)addr);
	cfg_wr(MSI_ADDR_HI, 4, addr >> 32);
	cfg_wr(MSI_DATA, 2, data);
	cfg_wr(MSI_MASK, 4, mask);
}

static void assert_msi_routes(unsigned int n, uint64_t addr, uint32_t data)
{
	for (unsigned int i = 0; i < n; i++) {
		const struct msi_irq *irq = &vd->msi.irq[i];

		assert_int_not_equal(irq->gsi, 0);
		assert_true(is_eventfd(irq->fd));
		assert_int_equal(irq->msg.addr, addr);
		assert_int_equal(irq->msg.data, (data & ~(n - 1)) | i);
		for (unsigned int j = 0; j < i; j++)
			assert_int_not_equal(irq->gsi, vd->msi.irq[j].gsi);
	}
}

static void test_msi(void **state)
{
	const struct irq_rec *r;
	int fds[8];

	msi_program(0xfee01000, 0x4041, 0);
	assert_int_equal(fv.n, 2);		/* nothing yet: disabled */
	cfg_wr(CAP_MSI + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | 2 << 4);	/* 4 vectors */
	assert_int_equal(fv.n, 4);
	assert_disabled(2, VFIO_PCI_INTX_IRQ_INDEX);
	assert_false(vd->intx_bound);
	r = rec_get(3, VFIO_PCI_MSI_IRQ_INDEX, TRIGGER_FDS, 0, 4);
	for (unsigned int i = 0; i < 4; i++)
		fds[i] = vd->msi.irq[i].fd;
	assert_fds(r, fds, 4);
	assert_msi_routes(4, 0xfee01000, 0x4041);
	assert_int_equal(fv.on, VFIO_PCI_MSI_IRQ_INDEX);
	for (unsigned int i = 0; i < 4; i++)
		assert_false(vd->msi.irq[i].unbound);
	assert_int_equal(vd->msi.irq[4].fd, -1);

	/* Masking a vector unbinds it; VFIO keeps signalling its eventfd. */
	cfg_wr(MSI_MASK, 4, 1u << 2);
	assert_true(vd->msi.irq[2].unbound);
	assert_false(vd->msi.irq[1].unbound);
	/* Retargeted while live: routes move, VFIO is not asked again. */
	cfg_wr(MSI_DATA, 2, 0x5050);
	cfg_wr(MSI_ADDR_LO, 4, 0xfee02000);
	assert_msi_routes(4, 0xfee02000, 0x5050);
	/* The device signals masked vector 2: its pending bit shows it, until unmasked. */
	assert_int_equal(cfg_rd(CAP_MSI + PCI_MSI_PENDING_64, 4), 0);
	assert_int_equal(eventfd_write(vd->msi.irq[2].fd, 1), 0);
	assert_int_equal(cfg_rd(CAP_MSI + PCI_MSI_PENDING_64, 4), 1u << 2);
	assert_int_equal(cfg_rd(CAP_MSI + PCI_MSI_PENDING_64 + 0, 1), 1u << 2);
	cfg_wr(MSI_MASK, 4, 0);
	assert_false(vd->msi.irq[2].unbound);
	assert_int_equal(fv.n, 4);
	/* Bound again, KVM takes the count: nothing shows pending; the bits are read-only. */
	assert_int_equal(cfg_rd(CAP_MSI + PCI_MSI_PENDING_64, 4), 0);
	cfg_wr(CAP_MSI + PCI_MSI_PENDING_64, 4, 0xff);
	assert_int_equal(cfg_rd(CAP_MSI + PCI_MSI_PENDING_64, 4), 0);

	/* A new vector count: disable, enable with 8 (MME above MMC is clamped). */
	cfg_wr(CAP_MSI + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | 7 << 4);
	assert_int_equal(cfg_rd(CAP_MSI + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QSIZE, 3 << 4);
	assert_disabled(4, VFIO_PCI_MSI_IRQ_INDEX);
	r = rec_get(5, VFIO_PCI_MSI_IRQ_INDEX, TRIGGER_FDS, 0, 8);
	for (unsigned int i = 0; i < 8; i++)
		fds[i] = vd->msi.irq[i].fd;
	assert_fds(r, fds, 8);
	assert_msi_routes(8, 0xfee02000, 0x5050);

	/* Off: INTx back. */
	cfg_wr(CAP_MSI + PCI_MSI_FLAGS, 2, 0);
	assert_disabled(6, VFIO_PCI_MSI_IRQ_INDEX);
	assert_intx_on(7);
	assert_int_equal(fv.n, 9);
	for (unsigned int i = 0; i < 8; i++)
		assert_true(vd->msi.irq[i].unbound);
}

/* Linux's MSI-X bring-up: enable with the function masked, program, unmask, unmask vectors. */
static void test_msix_enable(void **state)
{
	const struct irq_rec *r;
	int fd0;

	msix_ctrl(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_int_equal(fv.n, 4);
	assert_disabled(2, VFIO_PCI_INTX_IRQ_INDEX);
	r = rec_get(3, VFIO_PCI_MSIX_IRQ_INDEX, TRIGGER_FDS, 0, 1);
	assert_int_equal(r->fd[0], -1);		/* nothing unmasked yet */
	assert_int_equal(fv.on, VFIO_PCI_MSIX_IRQ_INDEX);
	for (unsigned int v = 0; v < NVEC; v++)
		entry_wr(v, 0xfee00000, 0x30 + v, true);
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(fv.n, 4);		/* every vector still masked */

	vec_mask(0, false);
	fd0 = vd->msix.vec[0].irq.fd;
	assert_true(is_eventfd(fd0));
	assert_int_equal(fv.n, 5);
	assert_int_equal(rec_get(4, VFIO_PCI_MSIX_IRQ_INDEX, TRIGGER_FDS, 0, 1)->fd[0], fd0);
	assert_int_equal(vd->msix.vec[0].irq.msg.addr, 0xfee00000);
	assert_int_equal(vd->msix.vec[0].irq.msg.data, 0x30);
	assert_false(vd->msix.vec[0].irq.unbound);
	assert_int_equal(fv.fd[0], fd0);
}

static void test_msix_grow(void **state)
{
	const struct irq_rec *r;
	int fd0, fd3;

	msix_ctrl(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	for (unsigned int v = 0; v < NVEC; v++)
		entry_wr(v, 0xfee00000, 0x30 + v, true);
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	vec_mask(0, false);
	fd0 = vd->msix.vec[0].irq.fd;
	assert_int_equal(fv.n, 5);
	vec_mask(3, false);
	fd3 = vd->msix.vec[3].irq.fd;
	assert_true(is_eventfd(fd3));
	assert_int_equal(vd->msix.vec[3].irq.msg.data, 0x33);
	if (!opt.resize) {
		/* NORESIZE: VFIO cannot grow an enabled set; disable, enable with 4. */
		assert_int_equal(fv.n, 7);
		assert_disabled(5, VFIO_PCI_MSIX_IRQ_INDEX);
		r = rec_get(6, VFIO_PCI_MSIX_IRQ_INDEX, TRIGGER_FDS, 0, 4);
		assert_fds(r, (const int[]){ fd0, -1, -1, fd3 }, 4);
	} else {
		/* Dynamic MSI-X: only the new vectors. */
		assert_int_equal(fv.n, 6);
		r = rec_get(5, VFIO_PCI_MSIX_IRQ_INDEX, TRIGGER_FDS, 1, 3);
		assert_fds(r, (const int[]){ -1, -1, fd3 }, 3);
	}
	assert_int_equal(fv.count, 4);
	assert_int_equal(fv.fd[0], fd0);
	assert_int_equal(fv.fd[1], -1);
	assert_int_equal(fv.fd[3], fd3);
	/* Vector 1 between them gets its fd alone: no new enable. */
	vec_mask(1, false);
	r = rec_get(fv.n - 1, VFIO_PCI_MSIX_IRQ_INDEX, TRIGGER_FDS, 1, 1);
	assert_int_equal(r->fd[0], vd->msix.vec[1].irq.fd);
	assert_int_equal(fv.fd[1], vd->msix.vec[1].irq.fd);
}

/*
 * Vectors 0 and 3 unmasked while the function is masked, then the
 * function unmasked: both eventfds must reach VFIO (growing without
 * NORESIZE must not take vectors below the old count as sent).
 */
static void test_msix_grow_under_fmask(void **state)
{
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	entry_wr(0, 0xfee00000, 0x30, false);
	entry_wr(3, 0xfee00000, 0x33, false);
	assert_int_equal(vd->msix.vec[0].irq.fd, -1);
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	fv_ok();
	assert_true(is_eventfd(vd->msix.vec[0].irq.fd));
	assert_true(is_eventfd(vd->msix.vec[3].irq.fd));
	assert_int_equal(fv.on, VFIO_PCI_MSIX_IRQ_INDEX);
	assert_int_equal(fv.count, 4);
	assert_int_equal(fv.fd[3], vd->msix.vec[3].irq.fd);
	assert_int_equal(fv.fd[0], vd->msix.vec[0].irq.fd);
}

/* A masked vector: unbound from KVM, its signals wait and show in the PBA. */
static void test_msix_mask_pending(void **state)
{
	int fd0;
	eventfd_t cnt;

	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	entry_wr(0, 0xfee00000, 0x30, false);
	fd0 = vd->msix.vec[0].irq.fd;
	assert_false(vd->msix.vec[0].irq.unbound);
	unsigned int n = fv.n;

	vec_mask(0, true);
	assert_true(vd->msix.vec[0].irq.unbound);
	assert_int_equal(fv.n, n);		/* VFIO keeps the eventfd */
	assert_int_equal(pba_rd(), 0);
	assert_int_equal(eventfd_write(fd0, 1), 0);	/* the device interrupts */
	assert_int_equal(pba_rd(), 1);
	assert_int_equal(mmio_rd(A_BAR2 + PBA_OFF, 4), 1);
	assert_int_equal(mmio_rd(A_BAR2 + PBA_OFF + 4, 4), 0);
	/* The function mask shows it pending as well. */
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_int_equal(pba_rd(), 1);
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	/* Unmasked: bound again (KVM delivers what waits), no longer pending. */
	vec_mask(0, false);
	assert_false(vd->msix.vec[0].irq.unbound);
	assert_int_equal(pba_rd(), 0);
	assert_int_equal(vd->msix.vec[0].irq.fd, fd0);
	assert_int_equal(eventfd_read(fd0, &cnt), 0);	/* what KVM would have consumed */
	assert_true(cnt >= 1);
	/* Masked again with nothing signalled: not pending. */
	vec_mask(0, true);
	assert_int_equal(pba_rd(), 0);
	assert_int_equal(fv.n, n);
}

/*
 * The table in BAR2 and the PBA in BAR0 (PCI 3.0 6.8.2.4 allows it): each
 * trapped in its own BAR and punched out of that BAR's slots only.
 */
static void test_msix_split(void **state)
{
	struct fake_mmio_slot sl;
	int fd0;

	assert_int_equal(vd->msix_table_bar, 2);
	assert_int_equal(vd->msix_pba_bar, 0);
	/* BAR0: around the PBA's page; BAR2: around the table's page, PBA_OFF's page mapped. */
	assert_slot(A_BAR0, 0x3000, BAR0_OFF);
	assert_no_slot(A_BAR0 + PBA_OFF);
	assert_slot(A_BAR0 + 0x4000, BAR0_SIZE - 0x4000, BAR0_OFF + 0x4000);
	assert_no_slot(A_BAR2 + TABLE_OFF);
	assert_true(fake_mmio_slot_at(A_BAR2 + PBA_OFF, &sl));
	/* The PBA answers in BAR0; the rest of its page is the device's. */
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	entry_wr(0, 0xfee00000, 0x30, false);
	fd0 = vd->msix.vec[0].irq.fd;
	vec_mask(0, true);
	assert_int_equal(mmio_rd(A_BAR0 + PBA_OFF, 8), 0);
	assert_int_equal(eventfd_write(fd0, 1), 0);
	assert_int_equal(mmio_rd(A_BAR0 + PBA_OFF, 8), 1);
	assert_int_equal(mmio_rd(A_BAR0 + 0x3000, 4), file_rd(BAR0_OFF + 0x3000, 4));
	mmio_wr(A_BAR0 + PBA_OFF, 8, 0xffffffffffffffffULL);	/* read-only, never the device's */
	assert_true(file_pristine(BAR0_OFF + PBA_OFF, 8));
	/* The table still in BAR2, with routes. */
	assert_int_equal(mmio_rd(A_BAR2 + TABLE_OFF + PCI_MSIX_ENTRY_DATA, 4), 0x30);
	vec_mask(0, false);
	assert_false(vd->msix.vec[0].irq.unbound);
}

/* hostile-guest.md case 20: table writes move only the routes kvmio programs. */
static void test_msix_retarget(void **state)
{
	struct msi_irq live;
	uint64_t e = A_BAR2 + TABLE_OFF;

	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	entry_wr(0, 0xfee00000, 0x30, false);
	live = vd->msix.vec[0].irq;
	unsigned int n = fv.n;

	mmio_wr(e + PCI_MSIX_ENTRY_DATA, 4, 0x31);
	assert_int_equal(vd->msix.vec[0].irq.msg.data, 0x31);
	mmio_wr(e + PCI_MSIX_ENTRY_LOWER_ADDR, 4, 0xfee0f00c);
	assert_int_equal(vd->msix.vec[0].irq.msg.addr, 0xfee0f00c);
	mmio_wr(e + PCI_MSIX_ENTRY_UPPER_ADDR, 4, 0x1);
	assert_int_equal(vd->msix.vec[0].irq.msg.addr, 0x1fee0f00cULL);
	/* The same GSI and eventfd: VFIO is not asked again. */
	assert_int_equal(vd->msix.vec[0].irq.gsi, live.gsi);
	assert_int_equal(vd->msix.vec[0].irq.fd, live.fd);
	assert_int_equal(fv.n, n);
	/* Masked, rewritten: the route waits for the unmask, then moves. */
	vec_mask(0, true);
	mmio_wr(e + PCI_MSIX_ENTRY_DATA, 4, 0x32);
	assert_int_equal(vd->msix.vec[0].irq.msg.data, 0x31);
	vec_mask(0, false);
	assert_int_equal(vd->msix.vec[0].irq.msg.data, 0x32);
	/* The same under the function mask: moved when the function is unmasked. */
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	mmio_wr(e + PCI_MSIX_ENTRY_DATA, 4, 0x33);
	assert_int_equal(vd->msix.vec[0].irq.msg.data, 0x32);
	assert_true(vd->msix.vec[0].irq.unbound);
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(vd->msix.vec[0].irq.msg.data, 0x33);
	assert_false(vd->msix.vec[0].irq.unbound);
	assert_int_equal(vd->msix.vec[0].irq.gsi, live.gsi);
	assert_int_equal(fv.n, n);
	/* Vectors never unmasked have no route, whatever their entries say. */
	for (unsigned int v = 1; v < NVEC; v++) {
		entry_wr(v, 0xfee00000, 0x99, true);
		assert_int_equal(vd->msix.vec[v].irq.gsi, 0);
	}
	assert_true(file_pristine(BAR2_OFF + TABLE_OFF, NVEC * 16));
}

static void test_msix_disable(void **state)
{
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	entry_wr(0, 0xfee00000, 0x30, false);
	entry_wr(2, 0xfee00000, 0x32, false);
	unsigned int n = fv.n;

	msix_ctrl(0);
	assert_disabled(n, VFIO_PCI_MSIX_IRQ_INDEX);
	assert_intx_on(n + 1);
	assert_true(vd->msix.vec[0].irq.unbound);
	assert_true(vd->msix.vec[2].irq.unbound);
	/* Enabled again: the vectors the guest left unmasked, at once. */
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	assert_disabled(n + 3, VFIO_PCI_INTX_IRQ_INDEX);
	assert_fds(rec_get(n + 4, VFIO_PCI_MSIX_IRQ_INDEX, TRIGGER_FDS, 0, 3),
		   (const int[]){ vd->msix.vec[0].irq.fd, -1, vd->msix.vec[2].irq.fd }, 3);
	assert_false(vd->msix.vec[0].irq.unbound);
}

/* MSI-X enabled over MSI: MSI goes first (vfio-pci has one at a time). */
static void test_msix_over_msi(void **state)
{
	msi_program(0xfee00000, 0x20, 0);
	cfg_wr(CAP_MSI + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	assert_int_equal(fv.on, VFIO_PCI_MSI_IRQ_INDEX);
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	fv_ok();
	assert_int_equal(fv.on, VFIO_PCI_MSIX_IRQ_INDEX);
	/* MSI turned off under MSI-X: nothing changes for VFIO. */
	cfg_wr(CAP_MSI + PCI_MSI_FLAGS, 2, 0);
	assert_int_equal(fv.on, VFIO_PCI_MSIX_IRQ_INDEX);
	msix_ctrl(0);
	assert_int_equal(fv.on, VFIO_PCI_INTX_IRQ_INDEX);
	fv_ok();
}

/*
 * MSI-X turned off while MSI's enable bit stayed set: MSI takes over with
 * its vectors, not INTx (issue 16: it was left with neither).
 */
static void test_msix_off_msi_on(void **state)
{
	msi_program(0xfee00000, 0x20, 0);
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	cfg_wr(CAP_MSI + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | 1 << 4);	/* 2 vectors */
	assert_int_equal(fv.on, VFIO_PCI_MSIX_IRQ_INDEX);
	unsigned int n = fv.n;

	msix_ctrl(0);
	fv_ok();
	assert_disabled(n, VFIO_PCI_MSIX_IRQ_INDEX);
	assert_fds(rec_get(n + 1, VFIO_PCI_MSI_IRQ_INDEX, TRIGGER_FDS, 0, 2),
		   (const int[]){ vd->msi.irq[0].fd, vd->msi.irq[1].fd }, 2);
	assert_int_equal(fv.on, VFIO_PCI_MSI_IRQ_INDEX);
	assert_false(vd->intx_bound);
	assert_msi_routes(2, 0xfee00000, 0x20);
	assert_false(vd->msi.irq[0].unbound);
}

/* Teardown with each kind on: disabled, then everything released (teardown checks). */
static void test_exit_msix(void **state)
{
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	entry_wr(0, 0xfee00000, 0x30, false);
	unsigned int n = fv.n;

	vfio_devices_exit(&vm);
	vd = NULL;
	assert_int_equal(fv.n, n + 1);
	assert_int_equal(fv.rec[n].index, VFIO_PCI_MSIX_IRQ_INDEX);
	assert_int_equal(fv.rec[n].flags, DISABLE);
	assert_int_equal(fv.on, -1);
	assert_null(host.slot[SLOT]);
}

static void test_exit_msi(void **state)
{
	msi_program(0xfee00000, 0x20, 0);
	cfg_wr(CAP_MSI + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	unsigned int n = fv.n;

	vfio_devices_exit(&vm);
	vd = NULL;
	assert_int_equal(fv.n, n + 1);
	assert_int_equal(fv.rec[n].index, VFIO_PCI_MSI_IRQ_INDEX);
	assert_int_equal(fv.rec[n].flags, DISABLE);
}

static void test_exit_intx(void **state)
{
	vfio_devices_exit(&vm);
	vd = NULL;
	assert_int_equal(fv.n, 3);
	assert_int_equal(fv.rec[2].index, VFIO_PCI_INTX_IRQ_INDEX);
	assert_int_equal(fv.rec[2].flags, DISABLE);
}

#define T(f)		cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, (void *)&o_default)
#define TV(f, o)	cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, (void *)&(o))

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_identity),
		T(test_caps),
		T(test_bar_sizing),
		T(test_rom),
		T(test_command),
		T(test_status),
		T(test_passthrough),
		T(test_odd_reads),
		TV(test_odd_reads, o_cfg256),
		T(test_odd_writes),
		TV(test_cfg256, o_cfg256),
		T(test_slots),
		T(test_p2p),
		T(test_trapped),
		T(test_bar_move),
		T(test_decode_off_touched),
		T(test_bar_onto_another),
		T(test_map_fails),
		T(test_msix_table_trapped),
		T(test_msix_table_straddle),
		T(test_intx_at_build),
		TV(test_no_intx, o_no_intx),
		TV(test_msix_split, o_split),
		T(test_msi),
		T(test_msix_enable),
		T(test_msix_grow),
		TV(test_msix_grow, o_resize),
		T(test_msix_grow_under_fmask),
		TV(test_msix_grow_under_fmask, o_resize),
		T(test_msix_mask_pending),
		T(test_msix_retarget),
		T(test_msix_disable),
		T(test_msix_over_msi),
	T(test_msix_off_msi_on),
		T(test_exit_msix),
		T(test_exit_msi),
		T(test_exit_intx),
	};

	return cmocka_run_group_tests_name("vfio_dev", tests, NULL, NULL);
}
