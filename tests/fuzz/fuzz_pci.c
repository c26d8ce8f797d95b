// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: PCI config space, BARs, MSI-X and the virtio-pci
 * transport under a hostile guest (hostile-guest.md cases 11-15, 19, 20).
 *
 * Each input builds a fresh fake VM (tests/unit/fake_vm.c: the real bus, no
 * KVM) with 1 MiB of RAM at gpa 0, the PCI host, the real virtio-rng device
 * (slot 1, worker thread and all) and a test device (slot 2) with an I/O,
 * a 32-bit (holding an MSI-X table and PBA), a 64-bit and a ROM BAR, then
 * replays the input as a stream of 12-byte records (see run_op):
 * 0xCF8/0xCFC and ECAM accesses of any size, pci_cfg_read/write as vcpu.c's
 * fast path calls them, accesses to wherever the BARs currently point,
 * descriptor and avail-ring writes in guest RAM, a virtio driver bring-up
 * macro, and host-side events (INTx, MSI-X notifications). At most MAX_OPS
 * records run per input.
 *
 * Checked after every record (a violation aborts, libFuzzer keeps the input):
 *  - the stand-ins saw no contract violation (vm_irq_line: GSI < 24, levels
 *    0/1, changes only);
 *  - read-only identity registers of every function are unchanged;
 *  - every decoded BAR is where its register says, enabled by COMMAND (and
 *    the ROM enable bit), outside RAM, the IOAPIC and the LAPIC, I/O BARs in
 *    0x1000-0xFFFF, and the bus has exactly that range registered for it;
 *  - each INTx GSI is asserted iff some device drives its line with
 *    INTx-disable clear, and the host's per-GSI counts agree;
 *  - config reads of absent functions, or with the enable bit clear, are
 *    all-ones; reads of the test device and the host bridge return their
 *    config bytes (with STATUS.interrupt from the line);
 *  - nothing written past an access's length.
 * ASan and UBSan catch the rest.
 *
 * Built by tests/fuzz/fuzz.mk (`make fuzz-pci`).
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_alloc.h"
#include "../unit/fake_vm.h"
#include "pci/msi.h"
#include "pci/pci.h"
#include "util.h"
#include "virtio/rng.h"
#include "virtio/virtio.h"
#include "vm.h"

#define FAIL(...)								\
	do {									\
		fprintf(stderr, "fuzz_pci: op %u: ", w.nop);			\
		fprintf(stderr, __VA_ARGS__);					\
		fputc('\n', stderr);						\
		abort();							\
	} while (0)
#define CHECK(cond, ...)	do { if (!(cond)) FAIL(__VA_ARGS__); } while (0)

#define RAM_SIZE	(1 * MiB)
#define MAX_OPS		256
#define REC_LEN		12
#define RNG_SLOT	1
#define TDEV_SLOT	2

/* Guest RAM the bring-up macro and the ring ops use. */
#define RING_DESC	0x10000
#define RING_AVAIL	0x14000
#define RING_USED	0x16000
#define BUF_BASE	0x20000

#define TDEV_NVEC	4
#define TDEV_PBA	0x800

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct world {
	struct vm vm;
	struct pci_host host;
	struct pci_device tdev;
	struct msix tmsix;
	uint8_t *ram;
	uint8_t ident[PCI_NR_SLOTS][0x40];	/* read-only registers at setup */
	uint16_t avail_idx;
	unsigned int nop;
} w;

/* ---- the test device ---- */

static void tdev_bar_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len,
			bool is_write)
{
	uintptr_t bar = (uintptr_t)opaque;

	if (bar == 1) {
		if (off >= TDEV_PBA)
			msix_pba_io(&w.tmsix, off - TDEV_PBA, data, len, is_write);
		else
			msix_table_io(&w.tmsix, off, data, len, is_write);
		return;
	}
	if (!is_write)
		for (unsigned int i = 0; i < len; i++)
			data[i] = (uint8_t)(bar * 0x10 + off + i);
}

static void tdev_cfg_write(struct pci_device *dev, unsigned int off, unsigned int len)
{
	msix_cfg_write(&w.tmsix, off, len);
}

static const struct pci_device_ops tdev_ops = { .cfg_write = tdev_cfg_write };

/* ---- set-up and teardown ---- */

static void world_init(void)
{
	struct pci_device *d = &w.tdev;

	fake_vm_init(&w.vm);
	if (!w.ram)
		w.ram = malloc(RAM_SIZE);
	if (!w.ram)
		abort();
	memset(w.ram, 0, RAM_SIZE);
	w.vm.mem.nr = 1;
	w.vm.mem.ram_size = RAM_SIZE;
	w.vm.mem.region[0] = (struct mem_region){ .gpa = 0, .size = RAM_SIZE, .hva = w.ram };
	if (irq_routes_init(&w.vm) || pci_host_init(&w.host, &w.vm, 4 * GiB, 4 * GiB))
		abort();
	w.vm.pci = &w.host;
	if (virtio_rng_create(&w.vm))
		abort();

	pci_device_init(d, "fuzz-tdev", 0x1234, 0x5678, 0x0b4000, 3, 0x1234, 0x9abc);
	d->ops = &tdev_ops;
	if (pci_bar_init(d, 0, PCI_BAR_IO, false, 32, tdev_bar_io, (void *)0) ||
	    pci_bar_init(d, 1, PCI_BAR_MEM32, false, 4096, tdev_bar_io, (void *)1) ||
	    pci_bar_init(d, 2, PCI_BAR_MEM64, true, 16384, tdev_bar_io, (void *)2) ||
	    pci_bar_init(d, PCI_ROM_SLOT, PCI_BAR_ROM, false, 2048, tdev_bar_io, (void *)6) ||
	    msix_init(&w.tmsix, &w.vm, d, TDEV_NVEC, 1, 0, TDEV_PBA) ||
	    pci_device_add(&w.host, d, TDEV_SLOT, 2) != TDEV_SLOT)
		abort();
	for (unsigned int s = 0; s < PCI_NR_SLOTS; s++)
		if (w.host.slot[s])
			memcpy(w.ident[s], w.host.slot[s]->cfg, sizeof(w.ident[s]));
	w.avail_idx = 0;
	w.nop = 0;
}

static void world_destroy(void)
{
	virtio_pci_destroy_all(&w.vm);
	pci_device_remove(&w.tdev);
	msix_exit(&w.tmsix);
	pci_host_exit(&w.host);
	irq_routes_exit(&w.vm);
	fake_vm_destroy(&w.vm);
}

/* ---- invariants ---- */

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* What a BAR's registers say, as pci.c decodes them. */
static uint64_t bar_reg_addr(const struct pci_device *d, unsigned int i)
{
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * i;

	switch (d->bar[i].type) {
	case PCI_BAR_IO:
		return pci_cfg32(d, off) & PCI_BASE_ADDRESS_IO_MASK;
	case PCI_BAR_MEM32:
		return pci_cfg32(d, off) & PCI_BASE_ADDRESS_MEM_MASK;
	case PCI_BAR_MEM64:
		return (pci_cfg32(d, off) & PCI_BASE_ADDRESS_MEM_MASK) |
		       (uint64_t)pci_cfg32(d, off + 4) << 32;
	case PCI_BAR_ROM:
		return pci_cfg32(d, PCI_ROM_ADDRESS) & PCI_ROM_ADDRESS_MASK;
	default:
		return 0;
	}
}

static void check_bars(const struct pci_device *d)
{
	uint16_t cmd = pci_cfg16(d, PCI_COMMAND);

	for (unsigned int i = 0; i <= PCI_ROM_SLOT; i++) {
		const struct pci_bar *b = &d->bar[i];
		enum bus_space space = b->type == PCI_BAR_IO ? BUS_PIO : BUS_MMIO;
		struct bus_range *r;
		bool on;

		if (!b->size || !b->decoded)
			continue;
		on = b->type == PCI_BAR_IO ? cmd & PCI_COMMAND_IO :
		     b->type == PCI_BAR_ROM ? (cmd & PCI_COMMAND_MEMORY) &&
					      (pci_cfg32(d, PCI_ROM_ADDRESS) & PCI_ROM_ADDRESS_ENABLE) :
		     cmd & PCI_COMMAND_MEMORY;
		CHECK(on, "%s BAR %u decoded with COMMAND 0x%x", d->name, i, cmd);
		CHECK(b->addr == bar_reg_addr(d, i), "%s BAR %u decoded at 0x%llx, register 0x%llx",
		      d->name, i, (unsigned long long)b->addr,
		      (unsigned long long)bar_reg_addr(d, i));
		CHECK(b->addr && b->addr + b->size > b->addr, "%s BAR %u at 0x%llx", d->name, i,
		      (unsigned long long)b->addr);
		if (b->type == PCI_BAR_IO) {
			CHECK(b->addr >= 0x1000 && b->addr + b->size <= 0x10000,
			      "%s I/O BAR at 0x%llx", d->name, (unsigned long long)b->addr);
		} else {
			CHECK(!overlaps(b->addr, b->size, 0, RAM_SIZE), "%s BAR %u over RAM at 0x%llx",
			      d->name, i, (unsigned long long)b->addr);
			CHECK(!overlaps(b->addr, b->size, IOAPIC_ADDR, 0x1000) &&
			      !overlaps(b->addr, b->size, LAPIC_ADDR, 0x100000),
			      "%s BAR %u over the IOAPIC/LAPIC at 0x%llx", d->name, i,
			      (unsigned long long)b->addr);
		}
		r = bus_find(&w.vm.bus, space, b->addr);
		CHECK(r && r->base == b->addr && r->len == b->size,
		      "%s BAR %u decoded at 0x%llx but the bus has %s", d->name, i,
		      (unsigned long long)b->addr, r ? r->name : "nothing");
		bus_range_put(r);
	}
}

static void check_all(void)
{
	char err[256];
	unsigned int count[PCI_INTX_NR_GSI] = { 0 };

	CHECK(!fake_vm_error(err, sizeof(err)), "%s", err);
	for (unsigned int s = 0; s < PCI_NR_SLOTS; s++) {
		const struct pci_device *d = w.host.slot[s];

		if (!d)
			continue;
		/* Vendor, device, revision, class, header type, subsystem, capability pointer, pin. */
		CHECK(!memcmp(d->cfg, w.ident[s], 4) && !memcmp(d->cfg + 8, w.ident[s] + 8, 4) &&
		      d->cfg[PCI_HEADER_TYPE] == w.ident[s][PCI_HEADER_TYPE] &&
		      !memcmp(d->cfg + 0x2c, w.ident[s] + 0x2c, 4) &&
		      d->cfg[PCI_CAPABILITY_LIST] == w.ident[s][PCI_CAPABILITY_LIST] &&
		      d->cfg[PCI_INTERRUPT_PIN] == w.ident[s][PCI_INTERRUPT_PIN],
		      "slot %u: read-only register changed", s);
		check_bars(d);
	}
	/* INTx: each GSI is the OR of the enabled lines on it. */
	pthread_mutex_lock(&w.host.intx_lock);
	for (unsigned int s = 0; s < PCI_NR_SLOTS; s++) {
		const struct pci_device *d = w.host.slot[s];

		if (d && d->cfg[PCI_INTERRUPT_PIN] && d->intx_level &&
		    !(pci_cfg16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE))
			count[d->intx_gsi - PCI_INTX_GSI_BASE]++;
	}
	for (unsigned int i = 0; i < PCI_INTX_NR_GSI; i++) {
		CHECK(w.host.intx_count[i] == count[i], "GSI %u: host counts %u, devices %u",
		      PCI_INTX_GSI_BASE + i, w.host.intx_count[i], count[i]);
		CHECK(fake_irq_level(PCI_INTX_GSI_BASE + i) == (count[i] > 0),
		      "GSI %u is %d with %u devices asserting", PCI_INTX_GSI_BASE + i,
		      fake_irq_level(PCI_INTX_GSI_BASE + i), count[i]);
	}
	pthread_mutex_unlock(&w.host.intx_lock);
}

/* A config read of @len bytes at @reg of @bdf returned @got (@reg + @len within the dword). */
static void check_cfg_read(uint16_t bdf, unsigned int reg, const uint8_t *got, unsigned int len,
			   bool enabled)
{
	const struct pci_device *d = NULL;

	if (enabled && !(bdf >> 8) && !(bdf & 7))
		d = w.host.slot[(bdf >> 3) & 31];
	if (!d) {
		for (unsigned int i = 0; i < len; i++)
			CHECK(got[i] == 0xff, "config read of absent %04x at 0x%x: byte %u 0x%02x",
			      bdf, reg, i, got[i]);
		return;
	}
	if (d->ops && d->ops->cfg_read)	/* the virtio device computes some bytes */
		return;
	for (unsigned int i = 0; i < len; i++) {
		uint8_t want = d->cfg[reg + i];

		if (reg + i == PCI_STATUS)
			want = (uint8_t)((want & ~PCI_STATUS_INTERRUPT) |
					 (d->intx_level ? PCI_STATUS_INTERRUPT : 0));
		CHECK(got[i] == want, "config read of %04x at 0x%x: byte %u 0x%02x, expected 0x%02x",
		      bdf, reg, i, got[i], want);
	}
}

/* ---- accesses ---- */

static const uint8_t sizes[8] = { 1, 2, 4, 8, 1, 2, 4, 3 };

/* One bus access; @len up to 8. Checks nothing is written past @len. */
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

/* bus/devfn/register from a record: mostly bus 0, function 0, slots 0-3, the legacy header. */
static void pick_bdf(const uint8_t *r, uint16_t *bdf, unsigned int *reg, bool ecam)
{
	unsigned int slot = r[1] & 3, fn = 0, bus = 0;

	if (r[1] & 0x80)
		slot = (r[1] >> 2) & 31;
	if ((r[1] & 0x60) == 0x60)
		fn = r[3] & 7;
	if ((r[3] & 0xf8) == 0xf8)
		bus = r[3] & 7;
	*bdf = (uint16_t)(bus << 8 | slot << 3 | fn);
	*reg = r[2];
	if (ecam && (r[3] & 0x08))
		*reg |= (r[3] & 0xf0) << 4;		/* extended space */
}

static void op_cf8(const uint8_t *r, unsigned int len, bool wr, uint64_t val)
{
	uint16_t bdf;
	unsigned int reg, k;
	uint8_t buf[8];
	bool enabled = !(r[3] & 0x40) || (r[3] & 0xf8) == 0xf8;
	uint32_t latch;

	pick_bdf(r, &bdf, &reg, false);
	latch = (enabled ? 0x80000000u : 0) | (uint32_t)bdf << 8 | (reg & 0xfc);
	le_write(buf, 4, latch);
	do_access(BUS_PIO, 0xCF8, buf, 4, true);
	k = reg & 3;
	le_write(buf, 8, val);
	do_access(BUS_PIO, 0xCFC + k, buf, len, wr);
	if (!wr && k + len <= 4)
		check_cfg_read(bdf, (reg & 0xfc) + k, buf, len, enabled);
}

static void op_cf8_raw(const uint8_t *r, unsigned int len, bool wr, uint64_t val)
{
	uint8_t buf[8];

	le_write(buf, 8, val);
	do_access(BUS_PIO, 0xCF8 + (r[1] & 7), buf, len, wr);
}

static void op_ecam(const uint8_t *r, unsigned int len, bool wr, uint64_t val)
{
	uint16_t bdf;
	unsigned int reg;
	uint8_t buf[8];

	pick_bdf(r, &bdf, &reg, true);
	le_write(buf, 8, val);
	CHECK(do_access(BUS_MMIO, PCI_ECAM_BASE + ((uint64_t)bdf << 12 | reg), buf, len, wr) == 0 ||
	      bdf >> 8, "ECAM access at bus 0 unclaimed");
	if (!wr && (reg & 3) + len <= 4 && !(bdf >> 8))
		check_cfg_read(bdf, reg, buf, len, true);
}

/* The fast path vcpu.c uses: any offset and length the caller passes. */
static void op_cfg_api(const uint8_t *r, unsigned int len, bool wr, uint64_t val)
{
	uint16_t bdf;
	unsigned int reg;
	uint8_t buf[8];

	pick_bdf(r, &bdf, &reg, true);
	if (r[3] & 0x04)
		reg = 0xff8 + (r[2] & 7);		/* the end of config space */
	le_write(buf, 8, val);
	if (wr) {
		pci_cfg_write(&w.host, bdf, reg, buf, len);
	} else {
		pci_cfg_read(&w.host, bdf, reg, buf, len);
		if (reg + len <= PCI_CFG_SIZE)
			check_cfg_read(bdf, reg, buf, len, true);
	}
}

/* The BARs the guest can reach, wherever their registers point now. */
static void op_bar(const uint8_t *r, unsigned int len, bool wr, uint64_t val)
{
	static const uint16_t rng_regions[8] = { 0x0000, 0x0000, 0x1000, 0x2000, 0x3000,
						 0x4000, 0x5000, 0x7ff8 };
	const struct pci_device *d;
	unsigned int target = r[1] % 6, bar;
	uint64_t off, base;
	uint8_t buf[8];

	if (target == 0 || target == 5) {
		d = w.host.slot[RNG_SLOT];
		bar = 0;
		off = rng_regions[r[2] >> 5] + (r[3] & 0x7f);
	} else {
		static const unsigned int tbars[4] = { 0, 1, 2, PCI_ROM_SLOT };

		d = &w.tdev;
		bar = tbars[target - 1];
		off = (r[2] | r[3] << 8) % (d->bar[bar].size + 8);	/* a little past the end */
	}
	if (!d)
		return;
	base = bar_reg_addr(d, bar);
	le_write(buf, 8, val);
	do_access(d->bar[bar].type == PCI_BAR_IO ? BUS_PIO : BUS_MMIO, base + off, buf, len, wr);
}

/* A descriptor in the table the bring-up macro uses. */
static void op_desc(const uint8_t *r, uint64_t val)
{
	struct vring_desc *d = (struct vring_desc *)(w.ram + RING_DESC) + (r[1] | (r[2] & 1) << 8);

	d->addr = r[3] & 0x80 ? val : BUF_BASE + (uint64_t)(r[2] >> 1) * 0x400;
	d->len = r[3] & 0x40 ? (uint32_t)(val >> 32) : 16u << (r[3] & 7);
	d->flags = (uint16_t)((r[3] >> 3) & 7);		/* NEXT, WRITE, INDIRECT */
	d->next = (uint16_t)val;
}

/* Make head @b1|b2 available (or set avail->idx outright). */
static void op_avail(const uint8_t *r, uint64_t val)
{
	struct vring_avail *a = (struct vring_avail *)(w.ram + RING_AVAIL);

	if (r[3] & 0x80) {
		w.avail_idx = (uint16_t)val;
	} else {
		a->ring[w.avail_idx % 512] = (uint16_t)(r[1] | r[2] << 8);
		w.avail_idx++;
	}
	a->flags = (uint16_t)(r[3] & 1);
	__atomic_store_n(&a->idx, w.avail_idx, __ATOMIC_RELEASE);
}

static void rng_wr(uint64_t off, unsigned int len, uint64_t v)
{
	uint8_t buf[8];

	le_write(buf, 8, v);
	do_access(BUS_MMIO, bar_reg_addr(w.host.slot[RNG_SLOT], 0) + off, buf, len, true);
}

/* A virtio driver's initialisation of the rng, with knobs from the record. */
static void op_bringup(const uint8_t *r, bool driver_ok, uint64_t val)
{
	uint8_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	uint64_t f = 1ULL << VIRTIO_F_VERSION_1;

	if (!w.host.slot[RNG_SLOT])
		return;
	if (r[1] & 0x80)
		rng_wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	rng_wr(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	rng_wr(VIRTIO_PCI_COMMON_STATUS, 1, st);
	if (r[3] & 1)
		f |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (r[3] & 2)
		f |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (r[3] & 4)
		f |= val & 0xffffffffULL;		/* maybe something not offered */
	rng_wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	rng_wr(VIRTIO_PCI_COMMON_GF, 4, (uint32_t)f);
	rng_wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	rng_wr(VIRTIO_PCI_COMMON_GF, 4, f >> 32);
	st |= VIRTIO_CONFIG_S_FEATURES_OK;
	rng_wr(VIRTIO_PCI_COMMON_STATUS, 1, st);
	rng_wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, r[3] & 8 ? 1 : 0);
	rng_wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 1u << (r[1] % 10));
	rng_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 8, RING_DESC + (r[2] & 0x10 ? r[2] & 0xf : 0));
	rng_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, 8, RING_AVAIL);
	rng_wr(VIRTIO_PCI_COMMON_Q_USEDLO, 8, r[2] & 0x20 ? RAM_SIZE - 64 : RING_USED);
	rng_wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, r[2] >> 6);
	rng_wr(VIRTIO_PCI_COMMON_MSIX, 2, (r[3] >> 4) & 3);
	rng_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	w.avail_idx = 0;
	if (driver_ok)
		rng_wr(VIRTIO_PCI_COMMON_STATUS, 1, st | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* Config writes and BAR writes as a driver enabling MSI-X and programming one vector. */
static void msix_driver(struct pci_device *d, unsigned int bar, uint64_t table, const uint8_t *r,
			uint64_t val)
{
	unsigned int cap = pci_cap_find(d->cfg, PCI_CAP_ID_MSIX);
	uint64_t ent = bar_reg_addr(d, bar) + table + (r[2] >> 2) % 4 * MSIX_ENTRY_SIZE;
	uint8_t buf[8];

	if (!cap)
		return;
	le_write(buf, 2, PCI_MSIX_FLAGS_ENABLE | (r[2] & 1 ? PCI_MSIX_FLAGS_MASKALL : 0));
	do_access(BUS_MMIO, PCI_ECAM_BASE + ((uint64_t)d->devfn << 12 | (cap + PCI_MSIX_FLAGS)),
		  buf, 2, true);
	le_write(buf, 8, r[2] & 2 ? val : 0xfee00000);
	do_access(BUS_MMIO, ent + PCI_MSIX_ENTRY_LOWER_ADDR, buf, 8, true);
	le_write(buf, 4, (uint32_t)(val >> 32));
	do_access(BUS_MMIO, ent + PCI_MSIX_ENTRY_DATA, buf, 4, true);
	le_write(buf, 4, r[3] & 1);
	do_access(BUS_MMIO, ent + PCI_MSIX_ENTRY_VECTOR_CTRL, buf, 4, true);
}

/* A driver posting one device-writable buffer on the rng's queue 0 and kicking it. */
static void rng_post(const uint8_t *r)
{
	struct vring_desc *d = (struct vring_desc *)(w.ram + RING_DESC);
	uint16_t head = (uint16_t)(w.avail_idx % 16);

	d[head] = (struct vring_desc){ .addr = BUF_BASE + head * 0x1000u,
				       .len = 1u << (r[2] % 13), .flags = VRING_DESC_F_WRITE };
	op_avail((const uint8_t[]){ 0, (uint8_t)head, 0, r[3] & 1 }, 0);
	if (w.host.slot[RNG_SLOT])
		rng_wr(0x3000, 2, 0);
}

static void op_host(const uint8_t *r, uint64_t val)
{
	switch (r[1] & 7) {
	case 0:
		pci_set_irq(&w.tdev, r[2] & 1);
		break;
	case 1: {
		int ret = msix_notify(&w.tmsix, r[2] % (TDEV_NVEC + 2));

		CHECK(ret == 0 || ret == -ENOENT || ret == -EINVAL, "msix_notify: %d", ret);
		CHECK(ret != -EINVAL || r[2] % (TDEV_NVEC + 2) >= TDEV_NVEC,
		      "msix_notify refused vector %u", r[2] % (TDEV_NVEC + 2));
		break;
	}
	case 2:
		msix_driver(&w.tdev, 1, 0, r, val);
		break;
	case 3:
		if (w.host.slot[RNG_SLOT])
			msix_driver(w.host.slot[RNG_SLOT], 0, 0x4000, r, val);
		break;
	case 4:
	case 5:
		rng_post(r);
		break;
	default:
		sched_yield();			/* let the rng's worker run */
		break;
	}
}

static void run_op(const uint8_t *r)
{
	unsigned int kind = r[0] >> 4, len = sizes[r[0] & 7];
	bool wr = r[0] & 8;
	uint64_t val = le_read(r + 4, 8);

	switch (kind) {
	case 0: case 1: case 2:		op_cf8(r, len, wr, val); break;
	case 3:				op_cf8_raw(r, len, wr, val); break;
	case 4: case 5:			op_ecam(r, len, wr, val); break;
	case 6:				op_cfg_api(r, len, wr, val); break;
	case 7: case 8: case 9: case 10: op_bar(r, len, wr, val); break;
	case 11:			op_desc(r, val); break;
	case 12:			op_avail(r, val); break;
	case 13:			op_bringup(r, wr, val); break;
	case 14:			op_host(r, val); break;
	default: {
		/* Raw guest RAM write near the rings. */
		uint64_t gpa = RING_DESC + ((r[1] | r[2] << 8) % 0x18000);

		memcpy(w.ram + gpa, r + 4, 8);
		break;
	}
	}
	check_all();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup(false);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	world_init();
	for (size_t off = 0; off + REC_LEN <= size && w.nop < MAX_OPS; off += REC_LEN, w.nop++)
		run_op(data + off);
	world_destroy();
	return 0;
}
