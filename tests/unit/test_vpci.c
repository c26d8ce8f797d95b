// SPDX-License-Identifier: Apache-2.0
/*
 * The virtio-pci modern transport (src/virtio/pci.c) on a fake VM, with a
 * tiny device model that counts what the transport asks of it. The test
 * plays the driver: it finds BAR0 and the virtio capabilities in config
 * space and drives the device through the BAR on the real bus. Covers
 * feature negotiation (hostile-guest.md case 15), queue selection and
 * enabling (11, 12), DRIVER_OK and kicks (14), reset, ISR and INTx, MSI-X
 * vector numbers (13), config generation, device config bounds and the
 * VIRTIO_PCI_CAP_PCI_CFG window; DEVICE_NEEDS_RESET set by the model on
 * the worker (case 9) with its config interrupt, through to the reset; and,
 * behind an IOMMU, that a change of mappings waits for the worker to leave
 * its callbacks.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fake_vm.h"
#include "pci/msi.h"
#include "pci/pci.h"
#include "util.h"
#include "virtio/virtio.h"
#include "vm.h"

#define RAM_SIZE	(1 * MiB)
#define TDEV_ID		42
#define NQ		2
#define QMAX		64
#define CFG_SIZE	8
#define F_DEV_LO	(1ULL << 3)
#define F_DEV_HI	(1ULL << 35)
#define F_V1		(1ULL << VIRTIO_F_VERSION_1)
#define F_AP		(1ULL << VIRTIO_F_ACCESS_PLATFORM)
#define HOST_F		(F_DEV_LO | F_DEV_HI)
#define SLOT		1
#define INTX_GSI	(PCI_INTX_GSI_BASE + SLOT)	/* INTA of slot 1 */

#define S_ACK		VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV		VIRTIO_CONFIG_S_DRIVER
#define S_FOK		VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK		VIRTIO_CONFIG_S_DRIVER_OK
#define S_NR		VIRTIO_CONFIG_S_NEEDS_RESET

/* ---- the device model ---- */

static struct {
	atomic_int start, stop, destroy, notify[NQ], violations;
	atomic_bool running;
	atomic_bool slow, entered, done;	/* slow: notify takes 100 ms, between entered and done */
	int start_ret;
	bool serve;			/* notify serves queue 0 (set before DRIVER_OK) */
	bool reset_on_eio;		/* ... and a broken queue 0 sets NEEDS_RESET */
	atomic_int reset_calls;		/* notify calls that did */
	uint64_t start_features;
	bool start_vq_enabled[NQ];
	unsigned int cfg_reads, cfg_writes;
	uint32_t last_off;
	unsigned int last_len;
	uint64_t last_wval;
	uint8_t cfg[CFG_SIZE];
} td;

static struct virtq_chain chain;	/* worker thread only */

static void t_config_read(struct virtio_dev *vdev, uint32_t off, uint8_t *data, unsigned int len)
{
	if (off + len > CFG_SIZE || (len != 1 && len != 2 && len != 4 && len != 8))
		td.violations++;
	td.cfg_reads++;
	td.last_off = off;
	td.last_len = len;
	for (unsigned int i = 0; i < len; i++)
		data[i] = off + i < CFG_SIZE ? td.cfg[off + i] : 0xee;
}

static void t_config_write(struct virtio_dev *vdev, uint32_t off, const uint8_t *data,
			   unsigned int len)
{
	if (off + len > CFG_SIZE)
		td.violations++;
	td.cfg_writes++;
	td.last_off = off;
	td.last_len = len;
	td.last_wval = le_read(data, len);
}

static int t_start(struct virtio_dev *vdev)
{
	if (atomic_load(&td.running))
		td.violations++;	/* started twice without a stop */
	td.start++;
	td.start_features = vdev->features;
	for (unsigned int i = 0; i < NQ; i++)
		td.start_vq_enabled[i] = vdev->vq_enabled[i];
	if (td.start_ret)
		return td.start_ret;
	atomic_store(&td.running, true);
	return 0;
}

static void t_stop(struct virtio_dev *vdev)
{
	td.stop++;
	atomic_store(&td.running, false);
}

static void t_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct virtq *vq = &vdev->vq[q];
	bool pushed = false;
	int r;

	if (!atomic_load(&td.running) || q >= NQ)
		td.violations++;	/* a kick processed outside start..stop */
	if (q < NQ)
		td.notify[q]++;
	if (atomic_load(&td.slow)) {
		atomic_store(&td.entered, true);
		nanosleep(&(struct timespec){ 0, 100 * 1000000 }, NULL);
		atomic_store(&td.done, true);
	}
	if (!td.serve || q != 0)
		return;
	while ((r = virtq_pop(vq, &chain)) != 0 && r != -EIO) {
		virtq_push(vq, chain.head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_queue_interrupt(vdev, q);
	/* What a device model does when the driver broke the ring (queue.h); twice: idempotent. */
	if (r == -EIO && td.reset_on_eio) {
		td.reset_calls++;
		virtio_set_needs_reset(vdev, vq->error ? vq->error : "queue broken");
		virtio_set_needs_reset(vdev, "queue broken, again");
	}
}

static void t_destroy(struct virtio_dev *vdev)
{
	td.destroy++;
}

static const struct virtio_dev_ops tops = {
	.name = "vtest",
	.device_id = TDEV_ID,
	.pci_class = 0xff0000,
	.nqueues = NQ,
	.queue_max = QMAX,
	.config_size = CFG_SIZE,
	.config_read = t_config_read,
	.config_write = t_config_write,
	.start = t_start,
	.notify = t_notify,
	.stop = t_stop,
	.destroy = t_destroy,
};

/* ---- the world, and what the driver found in config space ---- */

static struct vm vm;
static struct pci_host host;
static struct virtio_dev tvdev;
static uint8_t *ram;
static uint64_t bar0;
static uint32_t common_off, isr_off, dev_off, notify_off, notify_mult;
static unsigned int pcicfg_cap, msix_cap;
static uint32_t msix_table, msix_pba;

static uint64_t cfg_rd(unsigned int reg, unsigned int len)
{
	uint8_t b[4];

	pci_cfg_read(&host, SLOT << 3, reg, b, len);
	return le_read(b, len);
}

static void cfg_wr(unsigned int reg, unsigned int len, uint64_t v)
{
	uint8_t b[4];

	le_write(b, len, v);
	pci_cfg_write(&host, SLOT << 3, reg, b, len);
}

/* Walk the capability list as a driver does, and note the virtio structures. */
static void find_caps(void)
{
	uint8_t cfg[256];
	unsigned int pos, hops = 0;

	for (unsigned int i = 0; i < sizeof(cfg); i += 4)
		le_write(cfg + i, 4, cfg_rd(i, 4));
	assert_true(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST);
	for (pos = cfg[PCI_CAPABILITY_LIST]; pos; pos = cfg[pos + 1]) {
		assert_true(pos >= 0x40 && pos < 0xfc && ++hops < 48);
		if (cfg[pos] == PCI_CAP_ID_MSIX) {
			msix_cap = pos;
			continue;
		}
		assert_int_equal(cfg[pos], PCI_CAP_ID_VNDR);
		assert_int_equal(cfg[pos + VIRTIO_PCI_CAP_BAR], 0);
		uint32_t off = (uint32_t)le_read(cfg + pos + VIRTIO_PCI_CAP_OFFSET, 4);

		switch (cfg[pos + VIRTIO_PCI_CAP_CFG_TYPE]) {
		case VIRTIO_PCI_CAP_COMMON_CFG:	common_off = off; break;
		case VIRTIO_PCI_CAP_ISR_CFG:	isr_off = off; break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:	dev_off = off; break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			notify_off = off;
			notify_mult = (uint32_t)le_read(cfg + pos + sizeof(struct virtio_pci_cap), 4);
			break;
		case VIRTIO_PCI_CAP_PCI_CFG:	pcicfg_cap = pos; break;
		default:			fail_msg("capability type %u", cfg[pos + 3]);
		}
	}
	assert_int_not_equal(msix_cap, 0);
	assert_int_not_equal(pcicfg_cap, 0);
	msix_table = (uint32_t)le_read(cfg + msix_cap + PCI_MSIX_TABLE, 4) & PCI_MSIX_TABLE_OFFSET;
	msix_pba = (uint32_t)le_read(cfg + msix_cap + PCI_MSIX_PBA, 4) & PCI_MSIX_PBA_OFFSET;
	bar0 = le_read(cfg + PCI_BASE_ADDRESS_0, 4) & PCI_BASE_ADDRESS_MEM_MASK;
}

/* An IOMMU that maps every IOVA onto the same guest-physical address, a page at a time. */
static atomic_uint iommu_lookups;

static int id_lookup(struct dma_as *as, uint64_t iova, unsigned int dir, struct dma_map *m)
{
	iommu_lookups++;
	m->gpa = iova;
	m->len = 4096 - (iova & 4095);
	m->perm = DMA_READ | DMA_WRITE;
	return 0;
}

static const struct dma_as_ops id_iommu = { .lookup = id_lookup };

/* The device on a fresh fake VM; behind @iommu when not NULL (the host's iommu_ops). */
static int setup_with(const struct dma_as_ops *iommu)
{
	memset(&td, 0, sizeof(td));
	iommu_lookups = 0;
	for (unsigned int i = 0; i < CFG_SIZE; i++)
		td.cfg[i] = (uint8_t)(0xc0 + i);
	memset(&tvdev, 0, sizeof(tvdev));
	tvdev.ops = &tops;
	tvdev.host_features = HOST_F;
	fake_vm_init(&vm);
	ram = calloc(1, RAM_SIZE);
	assert_non_null(ram);
	vm.mem.nr = 1;
	vm.mem.ram_size = RAM_SIZE;
	vm.mem.region[0] = (struct mem_region){ .gpa = 0, .size = RAM_SIZE, .hva = ram };
	assert_int_equal(irq_routes_init(&vm), 0);
	assert_int_equal(pci_host_init(&host, &vm, 4 * GiB, 4 * GiB), 0);
	host.iommu_ops = iommu;
	vm.pci = &host;
	assert_int_equal(virtio_pci_add(&vm, &tvdev), 0);
	assert_ptr_equal(tvdev.vm, &vm);
	assert_non_null(host.slot[SLOT]);
	find_caps();
	/* As a driver does first (Linux: pci_set_master); the device runs only with it. */
	cfg_wr(PCI_COMMAND, 2, cfg_rd(PCI_COMMAND, 2) | PCI_COMMAND_MASTER);
	return 0;
}

static int setup(void **state)
{
	return setup_with(NULL);
}

static int setup_iommu(void **state)
{
	return setup_with(&id_iommu);
}

static int teardown(void **state)
{
	virtio_pci_destroy_all(&vm);
	assert_int_equal(td.destroy, 1);
	assert_int_equal(td.violations, 0);
	assert_false(atomic_load(&td.running));	/* stopped if it was started */
	pci_host_exit(&host);
	irq_routes_exit(&vm);
	fake_vm_destroy(&vm);
	free(ram);
	return 0;
}

/* ---- the driver's accessors ---- */

static uint64_t bar_rd(uint64_t off, unsigned int len)
{
	uint8_t b[8];

	memset(b, 0x5a, sizeof(b));
	assert_int_equal(bus_dispatch(&vm.bus, NULL, BUS_MMIO, bar0 + off, b, len, false), 0);
	return le_read(b, len);
}

static void bar_wr(uint64_t off, unsigned int len, uint64_t v)
{
	uint8_t b[8];

	le_write(b, len, v);
	assert_int_equal(bus_dispatch(&vm.bus, NULL, BUS_MMIO, bar0 + off, b, len, true), 0);
}

#define COMMON(f)	(common_off + VIRTIO_PCI_COMMON_##f)

static uint8_t status(void)
{
	return (uint8_t)bar_rd(COMMON(STATUS), 1);
}

static void set_status(uint8_t s)
{
	bar_wr(COMMON(STATUS), 1, s);
}

static void write_features(uint64_t f)
{
	bar_wr(COMMON(GFSELECT), 4, 0);
	bar_wr(COMMON(GF), 4, (uint32_t)f);
	bar_wr(COMMON(GFSELECT), 4, 1);
	bar_wr(COMMON(GF), 4, f >> 32);
}

static uint64_t read_driver_features(void)
{
	uint64_t f;

	bar_wr(COMMON(GFSELECT), 4, 0);
	f = bar_rd(COMMON(GF), 4);
	bar_wr(COMMON(GFSELECT), 4, 1);
	return f | bar_rd(COMMON(GF), 4) << 32;
}

/* ACKNOWLEDGE, DRIVER, features, FEATURES_OK; true when the device kept FEATURES_OK. */
static bool negotiate(uint64_t f)
{
	set_status(S_ACK);
	set_status(S_ACK | S_DRV);
	write_features(f);
	set_status(S_ACK | S_DRV | S_FOK);
	return status() & S_FOK;
}

/* Queue registers as Linux writes them: 64-bit addresses in two halves. */
static void setup_queue(uint16_t q, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used)
{
	bar_wr(COMMON(Q_SELECT), 2, q);
	bar_wr(COMMON(Q_SIZE), 2, size);
	bar_wr(COMMON(Q_DESCLO), 4, (uint32_t)desc);
	bar_wr(COMMON(Q_DESCHI), 4, desc >> 32);
	bar_wr(COMMON(Q_AVAILLO), 4, (uint32_t)avail);
	bar_wr(COMMON(Q_AVAILHI), 4, avail >> 32);
	bar_wr(COMMON(Q_USEDLO), 4, (uint32_t)used);
	bar_wr(COMMON(Q_USEDHI), 4, used >> 32);
}

static uint16_t enable_queue(uint16_t q)
{
	bar_wr(COMMON(Q_SELECT), 2, q);
	bar_wr(COMMON(Q_ENABLE), 2, 1);
	return (uint16_t)bar_rd(COMMON(Q_ENABLE), 2);
}

/* Queue 0: 16 entries, rings at 0x1000/0x2000/0x3000. */
#define Q0_SIZE		16
#define Q0_DESC		0x1000
#define Q0_AVAIL	0x2000
#define Q0_USED		0x3000
#define BUF_GPA		0x10000

static void bring_up(bool driver_ok)
{
	assert_true(negotiate(F_V1 | F_DEV_LO));
	setup_queue(0, Q0_SIZE, Q0_DESC, Q0_AVAIL, Q0_USED);
	assert_int_equal(enable_queue(0), 1);
	if (driver_ok)
		set_status(S_ACK | S_DRV | S_FOK | S_DOK);
}

static void kick(uint16_t q)
{
	uint16_t noff;

	bar_wr(COMMON(Q_SELECT), 2, q);
	noff = (uint16_t)bar_rd(COMMON(Q_NOFF), 2);
	bar_wr(notify_off + (uint64_t)noff * notify_mult, 2, q);
}

/* Wait up to two seconds for @cond, polling. */
#define WAIT_FOR(cond)								\
	({									\
		bool ok_ = false;						\
		for (int i_ = 0; i_ < 2000 && !(ok_ = (cond)); i_++)		\
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);	\
		ok_;								\
	})

static void settle(void)
{
	nanosleep(&(struct timespec){ 0, 100 * 1000000 }, NULL);
}

/* One device-writable buffer on queue 0's avail ring. */
static void post_buffer(uint16_t avail_idx)
{
	struct vring_desc *d = (struct vring_desc *)(ram + Q0_DESC);
	struct vring_avail *a = (struct vring_avail *)(ram + Q0_AVAIL);
	uint16_t head = avail_idx % Q0_SIZE;

	d[head] = (struct vring_desc){ .addr = BUF_GPA, .len = 64, .flags = VRING_DESC_F_WRITE };
	a->ring[avail_idx % Q0_SIZE] = head;
	__atomic_store_n(&a->idx, (uint16_t)(avail_idx + 1), __ATOMIC_RELEASE);
}

static uint16_t used_idx(void)
{
	return __atomic_load_n(&((struct vring_used *)(ram + Q0_USED))->idx, __ATOMIC_ACQUIRE);
}

/* ---- tests ---- */

static void test_config_space(void **state)
{
	assert_int_equal(cfg_rd(PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(PCI_DEVICE_ID, 2), 0x1040 + TDEV_ID);
	assert_int_equal(cfg_rd(PCI_REVISION_ID, 1), 1);	/* modern-only device */
	assert_int_equal(cfg_rd(PCI_CLASS_REVISION, 4) >> 8, 0xff0000);
	assert_int_equal(cfg_rd(PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(cfg_rd(PCI_INTERRUPT_LINE, 1), INTX_GSI);
	assert_int_equal(bar0, PCI_MMIO32_BASE);
	assert_int_equal(cfg_rd(PCI_BASE_ADDRESS_0, 4), PCI_MMIO32_BASE);	/* 32-bit, not prefetchable */
	/* The layout the capabilities describe. */
	assert_int_equal(common_off, 0x0000);
	assert_int_equal(isr_off, 0x1000);
	assert_int_equal(dev_off, 0x2000);
	assert_int_equal(notify_off, 0x3000);
	assert_int_equal(notify_mult, 4);
	assert_int_equal(msix_table, 0x4000);
	assert_int_equal(msix_pba, 0x5000);
	assert_int_equal(cfg_rd(msix_cap + PCI_MSIX_FLAGS, 2), NQ);	/* NQ + 1 vectors */
	/* No IOMMU: an identity space, nobody to tell of changes. */
	assert_null(host.slot[SLOT]->dma.ops);
	assert_null(host.slot[SLOT]->dma.listener);
	/* BAR0 is 32 KiB. */
	cfg_wr(PCI_COMMAND, 2, 0);
	cfg_wr(PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_int_equal(cfg_rd(PCI_BASE_ADDRESS_0, 4), 0xffff8000);
	cfg_wr(PCI_BASE_ADDRESS_0, 4, bar0);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(bar_rd(COMMON(NUMQ), 2), NQ);
	/* Moved, the transport follows. */
	cfg_wr(PCI_BASE_ADDRESS_0, 4, 0xd0000000);
	bar0 = 0xd0000000;
	assert_int_equal(bar_rd(COMMON(NUMQ), 2), NQ);
}

static void test_device_features(void **state)
{
	const uint64_t offered = HOST_F | F_V1;

	bar_wr(COMMON(DFSELECT), 4, 0);
	assert_int_equal(bar_rd(COMMON(DFSELECT), 4), 0);
	assert_int_equal(bar_rd(COMMON(DF), 4), (uint32_t)offered);
	assert_int_equal(bar_rd(COMMON(DF), 4), 0x8);
	bar_wr(COMMON(DFSELECT), 4, 1);
	assert_int_equal(bar_rd(COMMON(DF), 4), offered >> 32);
	assert_int_equal(bar_rd(COMMON(DF), 4), 0x9);
	bar_wr(COMMON(DFSELECT), 4, 2);
	assert_int_equal(bar_rd(COMMON(DF), 4), 0);
	bar_wr(COMMON(DFSELECT), 4, 0xffffffff);
	assert_int_equal(bar_rd(COMMON(DFSELECT), 4), 0xffffffff);
	assert_int_equal(bar_rd(COMMON(DF), 4), 0);
	/* device_feature is read-only. */
	bar_wr(COMMON(DFSELECT), 4, 0);
	bar_wr(COMMON(DF), 4, 0xffffffff);
	assert_int_equal(bar_rd(COMMON(DF), 4), 0x8);
	/* An 8-byte read covers select and feature. */
	assert_int_equal(bar_rd(COMMON(DFSELECT), 8), 0x0000000800000000ULL);
	/* driver_feature select 2 reads 0 and takes no writes. */
	bar_wr(COMMON(GFSELECT), 4, 2);
	bar_wr(COMMON(GF), 4, 0xffffffff);
	assert_int_equal(bar_rd(COMMON(GF), 4), 0);
	assert_int_equal(read_driver_features(), 0);
}

static void test_features_ok(void **state)
{
	/* A bit the device does not offer, low half. */
	assert_false(negotiate(F_V1 | F_DEV_LO | (1ULL << 4)));
	assert_int_equal(status(), S_ACK | S_DRV);
	assert_int_equal(tvdev.features, 0);
	/* High half. */
	assert_false(negotiate(F_V1 | (1ULL << 36)));
	/* A legacy driver: no VERSION_1. */
	assert_false(negotiate(F_DEV_LO | F_DEV_HI));
	assert_int_equal(tvdev.features, 0);
	/* DRIVER_OK without FEATURES_OK: refused, not started. */
	set_status(S_ACK | S_DRV | S_DOK);
	assert_int_equal(status() & (S_DOK | S_FOK), 0);
	assert_int_equal(td.start, 0);
	/* FEATURES_OK and DRIVER_OK in one write with a bad feature set: neither. */
	write_features(F_DEV_LO);
	set_status(S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(status(), S_ACK | S_DRV);
	assert_int_equal(td.start, 0);
	/* A subset with VERSION_1: accepted. */
	assert_true(negotiate(F_V1 | F_DEV_HI));
	assert_int_equal(status(), S_ACK | S_DRV | S_FOK);
	assert_int_equal(tvdev.features, F_V1 | F_DEV_HI);
	/* From here on, feature writes are ignored. */
	write_features(F_V1 | F_DEV_LO | F_DEV_HI);
	assert_int_equal(read_driver_features(), F_V1 | F_DEV_HI);
	assert_int_equal(tvdev.features, F_V1 | F_DEV_HI);
	bar_wr(COMMON(GFSELECT), 4, 0);
	bar_wr(COMMON(GF) + 1, 1, 0xff);
	assert_int_equal(read_driver_features(), F_V1 | F_DEV_HI);
	/* FEATURES_OK written again: features unchanged. */
	set_status(S_ACK | S_DRV | S_FOK);
	assert_int_equal(tvdev.features, F_V1 | F_DEV_HI);
	/* The device got them at start. */
	set_status(S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(td.start, 1);
	assert_int_equal(td.start_features, F_V1 | F_DEV_HI);
}

/*
 * Case 15, features changed after FEATURES_OK: a driver that clears
 * FEATURES_OK (status bits only ever get added, 2.1.2) must not get a new
 * feature set past the device.
 */
static void test_features_ok_cleared(void **state)
{
	assert_true(negotiate(F_V1));
	assert_int_equal(tvdev.features, F_V1);
	set_status(S_ACK | S_DRV);		/* FEATURES_OK "cleared" */
	write_features(F_V1 | F_DEV_LO);
	set_status(S_ACK | S_DRV | S_FOK);
	/*
	 * BUG: status_write stores whatever the driver writes, so FEATURES_OK
	 * can be cleared, driver_feature becomes writable again and the second
	 * FEATURES_OK installs the new set.
	 */
	if (tvdev.features != F_V1)
		fail_msg("BUG: features changed from 0x%llx to 0x%llx after FEATURES_OK "
			 "by clearing and setting FEATURES_OK again", (unsigned long long)F_V1,
			 (unsigned long long)tvdev.features);
}

/* Case 14: clearing DRIVER_OK and setting it again must not start a running device twice. */
static void test_driver_ok_cleared(void **state)
{
	bring_up(true);
	assert_int_equal(td.start, 1);
	set_status(S_ACK | S_DRV | S_FOK);		/* DRIVER_OK "cleared" */
	set_status(S_ACK | S_DRV | S_FOK | S_DOK);
	/* BUG: status_write sees DRIVER_OK newly set and calls start() again, without stop(). */
	td.violations = 0;	/* t_start counted it; reported here */
	if (td.start != 1)
		fail_msg("BUG: start() called %d times without a reset in between",
			 atomic_load(&td.start));
	assert_int_equal(td.stop, 0);
}

static void test_queue_select_absent(void **state)
{
	static const uint16_t absent[] = { NQ, 7, 0x8000, 0xffff };

	assert_true(negotiate(F_V1));
	for (unsigned int i = 0; i < ARRAY_SIZE(absent); i++) {
		bar_wr(COMMON(Q_SELECT), 2, absent[i]);
		assert_int_equal(bar_rd(COMMON(Q_SELECT), 2), absent[i]);
		assert_int_equal(bar_rd(COMMON(Q_SIZE), 2), 0);
		assert_int_equal(bar_rd(COMMON(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
		assert_int_equal(bar_rd(COMMON(Q_ENABLE), 2), 0);
		assert_int_equal(bar_rd(COMMON(Q_NOFF), 2), 0);
		assert_int_equal(bar_rd(COMMON(Q_DESCLO), 8), 0);
		/* Writes go nowhere. */
		bar_wr(COMMON(Q_SIZE), 2, 8);
		bar_wr(COMMON(Q_MSIX), 2, 0);
		bar_wr(COMMON(Q_DESCLO), 8, Q0_DESC);
		bar_wr(COMMON(Q_AVAILLO), 8, Q0_AVAIL);
		bar_wr(COMMON(Q_USEDLO), 8, Q0_USED);
		bar_wr(COMMON(Q_ENABLE), 2, 1);
		assert_int_equal(bar_rd(COMMON(Q_SIZE), 2), 0);
		assert_int_equal(bar_rd(COMMON(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
		assert_int_equal(bar_rd(COMMON(Q_ENABLE), 2), 0);
		assert_int_equal(bar_rd(COMMON(Q_DESCLO), 8), 0);
	}
	/* The real queues were not touched. */
	for (uint16_t q = 0; q < NQ; q++) {
		bar_wr(COMMON(Q_SELECT), 2, q);
		assert_int_equal(bar_rd(COMMON(Q_SIZE), 2), QMAX);
		assert_int_equal(bar_rd(COMMON(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
		assert_int_equal(bar_rd(COMMON(Q_ENABLE), 2), 0);
		assert_int_equal(bar_rd(COMMON(Q_NOFF), 2), q);
		assert_int_equal(bar_rd(COMMON(Q_DESCLO), 8), 0);
		assert_false(tvdev.vq_enabled[q]);
	}
	/* A 1-byte write of queue_select's high byte (0x00ff -> 0xffff). */
	bar_wr(COMMON(Q_SELECT), 2, 0x00ff);
	bar_wr(COMMON(Q_SELECT) + 1, 1, 0xff);
	assert_int_equal(bar_rd(COMMON(Q_SELECT), 2), 0xffff);
	/* Notifications for queues that do not exist are ignored. */
	bar_wr(notify_off + NQ * notify_mult, 2, NQ);
	bar_wr(notify_off + 0x100, 4, 0xffff);
	assert_int_equal(bar_rd(notify_off + NQ * notify_mult, 4), 0);
}

/* Case 11: what queue_enable must refuse; the register reads 0 afterwards. */
static void test_queue_enable_refused(void **state)
{
	static const struct {
		uint16_t size;
		uint64_t desc, avail, used;
		const char *why;
	} bad[] = {
		{ 0, Q0_DESC, Q0_AVAIL, Q0_USED, "size 0" },
		{ 3, Q0_DESC, Q0_AVAIL, Q0_USED, "size 3" },
		{ 48, Q0_DESC, Q0_AVAIL, Q0_USED, "size 48" },
		{ QMAX * 2, Q0_DESC, Q0_AVAIL, Q0_USED, "size above the maximum" },
		{ 0x8000, Q0_DESC, Q0_AVAIL, Q0_USED, "size 32768" },
		{ Q0_SIZE, Q0_DESC + 8, Q0_AVAIL, Q0_USED, "descriptors misaligned" },
		{ Q0_SIZE, Q0_DESC, Q0_AVAIL + 1, Q0_USED, "avail misaligned" },
		{ Q0_SIZE, Q0_DESC, Q0_AVAIL, Q0_USED + 2, "used misaligned" },
		{ Q0_SIZE, RAM_SIZE, Q0_AVAIL, Q0_USED, "descriptors past RAM" },
		{ Q0_SIZE, RAM_SIZE - 0x80, Q0_AVAIL, Q0_USED, "descriptors straddle RAM's end" },
		{ Q0_SIZE, Q0_DESC, RAM_SIZE - 4, Q0_USED, "avail straddles RAM's end" },
		{ Q0_SIZE, Q0_DESC, Q0_AVAIL, RAM_SIZE - 8, "used straddles RAM's end" },
		{ Q0_SIZE, 1ULL << 40, Q0_AVAIL, Q0_USED, "descriptors far away" },
		{ Q0_SIZE, Q0_DESC, Q0_AVAIL, 0xfffffffffffff000ULL, "used wraps" },
		{ Q0_SIZE, PCI_MMIO32_BASE, Q0_AVAIL, Q0_USED, "descriptors in the BAR" },
	};

	/* Before FEATURES_OK the ring format is not settled. */
	set_status(S_ACK | S_DRV);
	setup_queue(0, Q0_SIZE, Q0_DESC, Q0_AVAIL, Q0_USED);
	assert_int_equal(enable_queue(0), 0);
	assert_true(negotiate(F_V1));
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		setup_queue(0, bad[i].size, bad[i].desc, bad[i].avail, bad[i].used);
		if (enable_queue(0) != 0)
			fail_msg("queue enabled with %s", bad[i].why);
		assert_false(tvdev.vq_enabled[0]);
	}
	/* Queue enable values other than 1 do nothing. */
	setup_queue(0, Q0_SIZE, Q0_DESC, Q0_AVAIL, Q0_USED);
	bar_wr(COMMON(Q_ENABLE), 2, 2);
	bar_wr(COMMON(Q_ENABLE), 2, 0x101);
	assert_int_equal(bar_rd(COMMON(Q_ENABLE), 2), 0);
	/* Now a good one; enabling twice changes nothing. */
	assert_int_equal(enable_queue(0), 1);
	assert_true(tvdev.vq_enabled[0]);
	assert_int_equal(tvdev.vq[0].size, Q0_SIZE);
	assert_int_equal(tvdev.vq[0].desc_gpa, Q0_DESC);
	assert_int_equal(enable_queue(0), 1);
	assert_int_equal(tvdev.vq[0].size, Q0_SIZE);
	/* Geometry is frozen once enabled. */
	bar_wr(COMMON(Q_SIZE), 2, 32);
	bar_wr(COMMON(Q_DESCLO), 4, 0x5000);
	bar_wr(COMMON(Q_USEDLO), 8, 0x6000);
	assert_int_equal(bar_rd(COMMON(Q_SIZE), 2), Q0_SIZE);
	assert_int_equal(bar_rd(COMMON(Q_DESCLO), 8), Q0_DESC);
	assert_int_equal(bar_rd(COMMON(Q_USEDLO), 8), Q0_USED);
	assert_int_equal(tvdev.vq[0].used_gpa, Q0_USED);
	/* A ring exactly at RAM's end is fine: the used ring's last byte is RAM's last. */
	setup_queue(1, 1, Q0_DESC + 0x100, Q0_AVAIL + 0x100, RAM_SIZE - (4 + 8));
	assert_int_equal(enable_queue(1), 1);
	/* Started with both. */
	set_status(S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(td.start, 1);
	assert_true(td.start_vq_enabled[0]);
	assert_true(td.start_vq_enabled[1]);
}

static void test_driver_ok(void **state)
{
	bring_up(false);
	assert_int_equal(td.start, 0);
	set_status(S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(td.start, 1);
	assert_int_equal(status(), S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(td.start_features, F_V1 | F_DEV_LO);
	assert_true(td.start_vq_enabled[0]);
	assert_false(td.start_vq_enabled[1]);
	/* The same status again: no second start. */
	set_status(S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(td.start, 1);
	/* Queue 1 cannot be enabled behind the running device's back. */
	setup_queue(1, Q0_SIZE, Q0_DESC + 0x400, Q0_AVAIL + 0x400, Q0_USED + 0x400);
	assert_int_equal(enable_queue(1), 0);
	assert_false(tvdev.vq_enabled[1]);
}

/* Case 14: a kick before DRIVER_OK waits for it; kicks of disabled queues never arrive. */
static void test_kick_before_driver_ok(void **state)
{
	bring_up(false);
	kick(0);
	kick(1);
	settle();
	assert_int_equal(td.notify[0], 0);
	assert_int_equal(td.notify[1], 0);
	set_status(S_ACK | S_DRV | S_FOK | S_DOK);
	assert_true(WAIT_FOR(td.notify[0] == 1));
	/* Each kick after that is one notify; queue 1 (not enabled) gets none. */
	kick(1);
	kick(0);
	assert_true(WAIT_FOR(td.notify[0] == 2));
	settle();
	assert_int_equal(td.notify[0], 2);
	assert_int_equal(td.notify[1], 0);
	/* Any write size or value at the notify address kicks. */
	bar_wr(notify_off, 1, 0xee);
	assert_true(WAIT_FOR(td.notify[0] == 3));
	bar_wr(notify_off, 4, 0xffffffff);
	assert_true(WAIT_FOR(td.notify[0] == 4));
	/* Reads of the notify area do nothing. */
	assert_int_equal(bar_rd(notify_off, 2), 0);
	settle();
	assert_int_equal(td.notify[0], 4);
}

/*
 * COMMAND.Bus Master: a device without it must not touch guest memory. It
 * does not start while it is clear, pauses when it is cleared (no kick
 * served) and carries on when it is set again.
 */
static void test_bus_master(void **state)
{
	uint16_t cmd = (uint16_t)cfg_rd(PCI_COMMAND, 2);

	cfg_wr(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MASTER);
	bring_up(true);
	assert_int_equal(status() & S_DOK, S_DOK);	/* kept: it starts with Bus Master */
	kick(0);
	settle();
	assert_int_equal(td.start, 0);
	assert_int_equal(td.notify[0], 0);
	cfg_wr(PCI_COMMAND, 2, cmd);
	assert_int_equal(td.start, 1);
	assert_true(WAIT_FOR(td.notify[0] == 1));	/* the early kick, now served */

	/* Cleared under a running device: paused, no kick served, not stopped. */
	cfg_wr(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MASTER);
	kick(0);
	settle();
	assert_int_equal(td.notify[0], 1);
	assert_int_equal(td.stop, 0);
	assert_int_equal(status() & S_DOK, S_DOK);
	/* Set again: the kick that waited is served, without a new start. */
	cfg_wr(PCI_COMMAND, 2, cmd);
	assert_true(WAIT_FOR(td.notify[0] == 2));
	assert_int_equal(td.start, 1);
	/* A byte write to COMMAND's low byte counts the same. */
	cfg_wr(PCI_COMMAND, 1, (cmd & ~PCI_COMMAND_MASTER) & 0xff);
	kick(0);
	settle();
	assert_int_equal(td.notify[0], 2);
	/* A reset while paused, then DRIVER_OK: waits for Bus Master again. */
	set_status(0);
	assert_int_equal(td.stop, 1);
	bring_up(true);
	assert_int_equal(td.start, 1);
	cfg_wr(PCI_COMMAND, 2, cmd);
	assert_int_equal(td.start, 2);
	kick(0);
	assert_true(WAIT_FOR(td.notify[0] == 3));
}

static void check_reset_state(void)
{
	assert_int_equal(status(), 0);
	assert_int_equal(bar_rd(COMMON(DFSELECT), 4), 0);
	assert_int_equal(bar_rd(COMMON(GFSELECT), 4), 0);
	assert_int_equal(read_driver_features(), 0);
	bar_wr(COMMON(GFSELECT), 4, 0);
	assert_int_equal(bar_rd(COMMON(MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(bar_rd(COMMON(Q_SELECT), 2), 0);
	assert_int_equal(tvdev.features, 0);
	for (uint16_t q = 0; q < NQ; q++) {
		bar_wr(COMMON(Q_SELECT), 2, q);
		assert_int_equal(bar_rd(COMMON(Q_SIZE), 2), QMAX);
		assert_int_equal(bar_rd(COMMON(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
		assert_int_equal(bar_rd(COMMON(Q_ENABLE), 2), 0);
		assert_int_equal(bar_rd(COMMON(Q_DESCLO), 8), 0);
		assert_int_equal(bar_rd(COMMON(Q_AVAILLO), 8), 0);
		assert_int_equal(bar_rd(COMMON(Q_USEDLO), 8), 0);
		assert_false(tvdev.vq_enabled[q]);
	}
	bar_wr(COMMON(Q_SELECT), 2, 0);
}

static void test_reset(void **state)
{
	/* Reset before anything started: no stop. */
	assert_true(negotiate(F_V1));
	set_status(0);
	assert_int_equal(td.stop, 0);
	check_reset_state();

	bring_up(false);
	bar_wr(COMMON(MSIX), 2, 0);
	bar_wr(COMMON(Q_SELECT), 2, 0);
	bar_wr(COMMON(Q_MSIX), 2, 1);
	bar_wr(COMMON(DFSELECT), 4, 1);
	set_status(S_ACK | S_DRV | S_FOK | S_DOK);
	virtio_config_interrupt(&tvdev);	/* MSI-X is off: INTx + ISR */
	assert_int_equal(fake_irq_level(INTX_GSI), 1);
	set_status(0);
	assert_int_equal(td.start, 1);
	assert_int_equal(td.stop, 1);
	assert_false(atomic_load(&td.running));
	check_reset_state();
	assert_int_equal(bar_rd(isr_off, 1), 0);
	assert_int_equal(fake_irq_level(INTX_GSI), 0);
	/* A kick after reset, with no queue enabled: nothing runs. */
	kick(0);
	settle();
	assert_int_equal(td.notify[0], 0);
	/* A second life: that kick is held until DRIVER_OK (harmless), new ones arrive. */
	bring_up(true);
	assert_int_equal(td.start, 2);
	assert_true(WAIT_FOR(td.notify[0] == 1));
	kick(0);
	assert_true(WAIT_FOR(td.notify[0] == 2));
	/* Reset twice is harmless. */
	set_status(0);
	set_status(0);
	assert_int_equal(td.stop, 2);
}

static void test_isr_intx(void **state)
{
	td.serve = true;
	/* Config change: ISR bit 1 and INTA. */
	virtio_config_interrupt(&tvdev);
	assert_int_equal(fake_irq_level(INTX_GSI), 1);
	assert_int_equal(cfg_rd(PCI_STATUS, 1) & PCI_STATUS_INTERRUPT, PCI_STATUS_INTERRUPT);
	bar_wr(isr_off, 1, 0);				/* writes do nothing */
	assert_int_equal(fake_irq_level(INTX_GSI), 1);
	assert_int_equal(bar_rd(isr_off, 4), VIRTIO_PCI_ISR_CONFIG);
	assert_int_equal(fake_irq_level(INTX_GSI), 0);	/* read-to-clear */
	assert_int_equal(cfg_rd(PCI_STATUS, 1) & PCI_STATUS_INTERRUPT, 0);
	assert_int_equal(bar_rd(isr_off, 1), 0);
	/* A used buffer: ISR bit 0. */
	bring_up(true);
	post_buffer(0);
	kick(0);
	assert_true(WAIT_FOR(used_idx() == 1));
	assert_true(WAIT_FOR(fake_irq_level(INTX_GSI) == 1));
	virtio_config_interrupt(&tvdev);
	assert_int_equal(bar_rd(isr_off, 1), 0x3);
	assert_int_equal(fake_irq_level(INTX_GSI), 0);
	/* INTx-disable: the line stays low, STATUS.interrupt and ISR still tell. */
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	virtio_config_interrupt(&tvdev);
	assert_int_equal(fake_irq_level(INTX_GSI), 0);
	assert_int_equal(cfg_rd(PCI_STATUS, 1) & PCI_STATUS_INTERRUPT, PCI_STATUS_INTERRUPT);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(fake_irq_level(INTX_GSI), 1);
	assert_int_equal(bar_rd(isr_off, 1), VIRTIO_PCI_ISR_CONFIG);
	assert_int_equal(fake_irq_level(INTX_GSI), 0);
	/* Reads next to the ISR byte are not the ISR. */
	virtio_config_interrupt(&tvdev);
	assert_int_equal(bar_rd(isr_off + 1, 1), 0);
	assert_int_equal(bar_rd(isr_off + 4, 4), 0);
	assert_int_equal(fake_irq_level(INTX_GSI), 1);
	assert_int_equal(bar_rd(isr_off, 1), VIRTIO_PCI_ISR_CONFIG);
}

static void test_msix_vectors(void **state)
{
	const uint16_t nvec = NQ + 1;

	/* Out of range reads back NO_VECTOR (4.1.4.3, case 13). */
	bar_wr(COMMON(MSIX), 2, nvec);
	assert_int_equal(bar_rd(COMMON(MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	bar_wr(COMMON(MSIX), 2, 0x8000);
	assert_int_equal(bar_rd(COMMON(MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	bar_wr(COMMON(MSIX), 2, nvec - 1);
	assert_int_equal(bar_rd(COMMON(MSIX), 2), nvec - 1);
	bar_wr(COMMON(MSIX) + 1, 1, 0x01);		/* high byte: 0x0102 */
	assert_int_equal(bar_rd(COMMON(MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	for (uint16_t q = 0; q < NQ; q++) {
		bar_wr(COMMON(Q_SELECT), 2, q);
		bar_wr(COMMON(Q_MSIX), 2, nvec);
		assert_int_equal(bar_rd(COMMON(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
		bar_wr(COMMON(Q_MSIX), 2, 0xfffe);
		assert_int_equal(bar_rd(COMMON(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
		bar_wr(COMMON(Q_MSIX), 2, q + 1);
		assert_int_equal(bar_rd(COMMON(Q_MSIX), 2), q + 1);
	}
	/* With MSI-X on, a config change goes to its vector (masked: PBA), not INTx. */
	cfg_wr(msix_cap + PCI_MSIX_FLAGS + 1, 1, PCI_MSIX_FLAGS_ENABLE >> 8);
	bar_wr(COMMON(MSIX), 2, 0);
	virtio_config_interrupt(&tvdev);
	assert_int_equal(fake_irq_level(INTX_GSI), 0);
	assert_int_equal(bar_rd(isr_off, 1), 0);
	assert_int_equal(bar_rd(msix_pba, 8), 0x1);
	/* Unmask entry 0: sent, pending cleared. */
	bar_wr(msix_table + PCI_MSIX_ENTRY_LOWER_ADDR, 8, 0xfee00000);
	bar_wr(msix_table + PCI_MSIX_ENTRY_DATA, 4, 0x41);
	bar_wr(msix_table + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	assert_int_equal(bar_rd(msix_pba, 8), 0);
	/* NO_VECTOR with MSI-X on: no interrupt at all. */
	bar_wr(COMMON(MSIX), 2, VIRTIO_MSI_NO_VECTOR);
	virtio_config_interrupt(&tvdev);
	assert_int_equal(fake_irq_level(INTX_GSI), 0);
	assert_int_equal(bar_rd(isr_off, 1), 0);
	assert_int_equal(bar_rd(msix_pba, 8), 0);
	/* The MSI-X structures in the BAR: bad sizes read all-ones, past the table reads 0. */
	assert_int_equal(bar_rd(msix_table, 2), 0xffff);
	assert_int_equal(bar_rd(msix_table + 1, 4), 0xffffffff);
	assert_int_equal(bar_rd(msix_table + nvec * 16u, 4), 0);
	assert_int_equal(bar_rd(msix_pba + 1, 1), 0xff);
	assert_int_equal(bar_rd(msix_pba + 8, 8), 0);
	bar_wr(msix_pba, 8, ~0ULL);
	assert_int_equal(bar_rd(msix_pba, 8), 0);
}

/*
 * PCI 3.0 6.8.2.3: with MSI-X enabled the function "is prohibited from using
 * its INTx# pin". A line left asserted from before (config change raised
 * with MSI-X off) must drop when the driver turns MSI-X on, as QEMU's
 * msix_write_config does (pci_device_deassert_intx).
 */
static void test_msix_enable_drops_intx(void **state)
{
	virtio_config_interrupt(&tvdev);
	assert_int_equal(fake_irq_level(INTX_GSI), 1);
	cfg_wr(msix_cap + PCI_MSIX_FLAGS + 1, 1, PCI_MSIX_FLAGS_ENABLE >> 8);
	/* BUG: msix_cfg_write/vpci_cfg_write leave the pin asserted until the ISR is read. */
	if (fake_irq_level(INTX_GSI) != 0)
		fail_msg("BUG: INTx stays asserted after the driver enabled MSI-X");
}

static void test_config_generation(void **state)
{
	uint8_t g = (uint8_t)bar_rd(COMMON(CFGGENERATION), 1);

	virtio_config_interrupt(&tvdev);
	assert_int_equal(bar_rd(COMMON(CFGGENERATION), 1), (uint8_t)(g + 1));
	virtio_config_interrupt(&tvdev);
	virtio_config_interrupt(&tvdev);
	assert_int_equal(bar_rd(COMMON(CFGGENERATION), 1), (uint8_t)(g + 3));
	/* Read-only. */
	bar_wr(COMMON(CFGGENERATION), 1, 0);
	assert_int_equal(bar_rd(COMMON(CFGGENERATION), 1), (uint8_t)(g + 3));
	/* A 2-byte read at device_status covers both. */
	assert_int_equal(bar_rd(COMMON(STATUS), 2), (uint16_t)((uint8_t)(g + 3) << 8));
}

static void test_device_config(void **state)
{
	static const unsigned int lens[] = { 1, 2, 4, 8 };
	unsigned int n;

	for (unsigned int off = 0; off < CFG_SIZE; off++) {
		for (unsigned int li = 0; li < ARRAY_SIZE(lens); li++) {
			unsigned int len = lens[li];
			uint8_t want[8];

			if (off + len > CFG_SIZE)
				continue;
			n = td.cfg_reads;
			for (unsigned int i = 0; i < len; i++)
				want[i] = td.cfg[off + i];
			assert_int_equal(bar_rd(dev_off + off, len), le_read(want, len));
			assert_int_equal(td.cfg_reads, n + 1);
			assert_int_equal(td.last_off, off);
			assert_int_equal(td.last_len, len);
		}
	}
	/* Past config_size: 0, and the device is not asked. */
	n = td.cfg_reads;
	assert_int_equal(bar_rd(dev_off + CFG_SIZE, 1), 0);
	assert_int_equal(bar_rd(dev_off + 6, 4), 0);
	assert_int_equal(bar_rd(dev_off + 4, 8), 0);
	assert_int_equal(bar_rd(dev_off + 0x800, 4), 0);
	assert_int_equal(bar_rd(dev_off + 0xff8, 8), 0);
	assert_int_equal(td.cfg_reads, n);
	/* Writes reach config_write with their offset; out of range ones do not. */
	bar_wr(dev_off + 2, 2, 0xbeef);
	assert_int_equal(td.cfg_writes, 1);
	assert_int_equal(td.last_off, 2);
	assert_int_equal(td.last_len, 2);
	assert_int_equal(td.last_wval, 0xbeef);
	bar_wr(dev_off + 7, 2, 0xffff);
	bar_wr(dev_off + 0x100, 4, 0);
	assert_int_equal(td.cfg_writes, 1);
}

/* VIRTIO_PCI_CAP_PCI_CFG: BAR accesses through config space, and hostile window settings. */
static void test_pci_cfg_window(void **state)
{
	const unsigned int data = pcicfg_cap + sizeof(struct virtio_pci_cap);

	cfg_wr(pcicfg_cap + VIRTIO_PCI_CAP_BAR, 1, 0);
	cfg_wr(pcicfg_cap + VIRTIO_PCI_CAP_OFFSET, 4, common_off + VIRTIO_PCI_COMMON_STATUS);
	cfg_wr(pcicfg_cap + VIRTIO_PCI_CAP_LENGTH, 4, 1);
	cfg_wr(data, 1, S_ACK);
	assert_int_equal(status(), S_ACK);
	set_status(S_ACK | S_DRV);
	assert_int_equal(cfg_rd(data, 1), S_ACK | S_DRV);
	/* 4 bytes: num_queues at 0x12 is 2-aligned only; device_feature at 4. */
	cfg_wr(pcicfg_cap + VIRTIO_PCI_CAP_OFFSET, 4, common_off + VIRTIO_PCI_COMMON_DF);
	cfg_wr(pcicfg_cap + VIRTIO_PCI_CAP_LENGTH, 4, 4);
	assert_int_equal(cfg_rd(data, 4), 0x8);
	/* ISR through the window: length 3 or misaligned is no access, length 1 clears. */
	virtio_config_interrupt(&tvdev);
	cfg_wr(pcicfg_cap + VIRTIO_PCI_CAP_OFFSET, 4, isr_off);
	cfg_wr(pcicfg_cap + VIRTIO_PCI_CAP_LENGTH, 4, 3);
	cfg_rd(data, 4);
	assert_int_equal(fake_irq_level(INTX_GSI), 1);
	cfg_wr(pcicfg_cap + VIRTIO_PCI_CAP_LENGTH, 4, 0);
	cfg_rd(data, 4);
	cfg_wr(pcicfg_cap + VIRTIO_PCI_CAP_LENGTH, 4, 0xffffffff);
	cfg_rd(data, 4);
	assert_int_equal(fake_irq_level(INTX_GSI), 1);
	cfg_wr(pcicfg_cap + VIRTIO_PCI_CAP_BAR, 1, 1);	/* no such BAR */
	cfg_wr(pcicfg_cap + VIRTIO_PCI_CAP_LENGTH, 4, 1);
	cfg_rd(data, 1);
	assert_int_equal(fake_irq_level(INTX_GSI), 1);
	cfg_wr(pcicfg_cap + VIRTIO_PCI_CAP_BAR, 1, 0);
	assert_int_equal(cfg_rd(data, 1), VIRTIO_PCI_ISR_CONFIG);
	assert_int_equal(fake_irq_level(INTX_GSI), 0);
	/* Offsets past the BAR, or misaligned for the length. */
	cfg_wr(pcicfg_cap + VIRTIO_PCI_CAP_OFFSET, 4, 0x8000);
	cfg_rd(data, 4);
	cfg_wr(data, 4, 0);
	cfg_wr(pcicfg_cap + VIRTIO_PCI_CAP_OFFSET, 4, 0xfffffffc);
	cfg_wr(pcicfg_cap + VIRTIO_PCI_CAP_LENGTH, 4, 4);
	cfg_rd(data, 4);
	cfg_wr(data, 4, 0);
	cfg_wr(pcicfg_cap + VIRTIO_PCI_CAP_OFFSET, 4, common_off + VIRTIO_PCI_COMMON_STATUS - 1);
	cfg_wr(data, 4, 0);	/* misaligned for 4 bytes: no reset */
	assert_int_equal(status(), S_ACK | S_DRV);
	/* The other capabilities stay read-only. */
	cfg_wr(pcicfg_cap - 0x14 + VIRTIO_PCI_CAP_OFFSET, 4, 0);
	find_caps();
	assert_int_equal(notify_off, 0x3000);
}

/* start() failing: DEVICE_NEEDS_RESET and a config interrupt; nothing runs until reset. */
static void test_start_fails(void **state)
{
	td.start_ret = -EIO;
	bring_up(true);
	assert_int_equal(td.start, 1);
	assert_int_equal(status() & S_NR, S_NR);
	assert_int_equal(fake_irq_level(INTX_GSI), 1);
	assert_int_equal(bar_rd(isr_off, 1), VIRTIO_PCI_ISR_CONFIG);
	kick(0);
	settle();
	assert_int_equal(td.notify[0], 0);
	/* The driver cannot clear NEEDS_RESET but by a reset. */
	set_status(S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(status() & S_NR, S_NR);
	assert_int_equal(td.start, 1);
	set_status(0);
	assert_int_equal(status(), 0);
	assert_int_equal(td.stop, 0);		/* it never started */
	td.start_ret = 0;
	bring_up(true);
	assert_int_equal(td.start, 2);
	assert_int_equal(status(), S_ACK | S_DRV | S_FOK | S_DOK);
	kick(0);
	assert_true(WAIT_FOR(td.notify[0] == 1));
}

/* Reads of BAR space that holds nothing are 0; writes there are dropped. */
static void test_bar_holes(void **state)
{
	assert_int_equal(bar_rd(common_off + 0x40, 4), 0);
	assert_int_equal(bar_rd(common_off + 0xffc, 4), 0);
	assert_int_equal(bar_rd(0x6000, 8), 0);
	assert_int_equal(bar_rd(0x7ffc, 4), 0);
	bar_wr(0x6000, 8, ~0ULL);
	bar_wr(common_off + 0x40, 4, ~0u);
	/* A read spanning the end of the common config: fields, then zeros. */
	assert_int_equal(bar_rd(COMMON(Q_RESET), 4), 0);
	/* The BAR's end: the bus clips, the rest reads all-ones. */
	assert_int_equal(bar_rd(0x7ffc, 8), 0xffffffff00000000ULL);
	assert_int_equal(status(), 0);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * Behind an IOMMU, a change of the function's mappings (dma_as_notify, as
 * a vCPU completing an invalidation calls it) that touches a ring must not
 * return while the worker is inside a device callback that may still use
 * the ring pointers it translated before; one that touches only buffers,
 * or with the worker idle in epoll_wait, returns at once.
 */
static void test_iommu_quiesce(void **state)
{
	struct dma_as *as = &host.slot[SLOT]->dma;
	struct timespec t0;
	uint32_t gen;
	double ms;

	assert_ptr_equal(as->ops, &id_iommu);
	assert_non_null(as->listener);
	assert_true(negotiate(F_V1 | F_DEV_LO | F_AP));
	setup_queue(0, Q0_SIZE, Q0_DESC, Q0_AVAIL, Q0_USED);
	assert_int_equal(enable_queue(0), 1);
	assert_true(iommu_lookups > 0);		/* the rings were mapped through it */
	set_status(S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(td.start, 1);

	/* Idle (the start's wake-up long handled): nothing to wait for. */
	settle();
	gen = dma_as_gen(as);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dma_as_notify(as, 0, UINT64_MAX);
	ms = ms_since(&t0);
	assert_int_equal(dma_as_gen(as), gen + 1);
	if (ms > 50)
		fail_msg("dma_as_notify took %.1f ms with the worker idle", ms);

	/* In a 100 ms notify: a change to the descriptor ring returns only once the callback did. */
	atomic_store(&td.slow, true);
	kick(0);
	assert_true(WAIT_FOR(atomic_load(&td.entered)));
	assert_false(atomic_load(&td.done));
	/* A buffer's page unmapped meanwhile, not a ring's: not waited for (no drain offered). */
	gen = dma_as_gen(as);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dma_as_notify(as, 0x8000, 0x8fff);
	ms = ms_since(&t0);
	assert_int_equal(dma_as_gen(as), gen + 1);
	if (atomic_load(&td.done) || ms > 50)
		fail_msg("dma_as_notify off the rings waited %.1f ms for the worker", ms);
	gen = dma_as_gen(as);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dma_as_notify(as, 0x1000, 0x1fff);
	ms = ms_since(&t0);
	if (!atomic_load(&td.done))
		fail_msg("dma_as_notify returned after %.1f ms with the worker still in notify", ms);
	assert_int_equal(dma_as_gen(as), gen + 1);
	assert_int_equal(td.notify[0], 1);

	/* That callback over, the worker is idle again: at once. */
	atomic_store(&td.slow, false);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dma_as_notify(as, 0, UINT64_MAX);
	ms = ms_since(&t0);
	assert_int_equal(dma_as_gen(as), gen + 2);
	if (ms > 50)
		fail_msg("dma_as_notify took %.1f ms after the callback returned", ms);
	/* A kick is still served as before. */
	kick(0);
	assert_true(WAIT_FOR(td.notify[0] == 2));
}

/* ---- DEVICE_NEEDS_RESET from the worker (hostile-guest.md case 9) ---- */

/* Case 9: avail->idx 1000 ahead of what the device has seen. */
static void break_ring(void)
{
	struct vring_avail *a = (struct vring_avail *)(ram + Q0_AVAIL);

	__atomic_store_n(&a->idx, (uint16_t)(a->idx + 1000), __ATOMIC_RELEASE);
}

/* The driver's side of a re-initialisation: fresh, zeroed rings. */
static void clear_rings(void)
{
	memset(ram + Q0_DESC, 0, Q0_USED + 0x1000 - Q0_DESC);
}

static uint8_t cfg_gen(void)
{
	return (uint8_t)bar_rd(COMMON(CFGGENERATION), 1);
}

static void expect_needs_reset_held(void)
{
	/* New kicks, from the driver and from the device itself: none reaches notify. */
	kick(0);
	kick(0);
	virtio_kick_self(&tvdev, 0);
	post_buffer(1);
	kick(0);
	settle();
	assert_int_equal(td.notify[0], 2);
	assert_int_equal(atomic_load(&td.reset_calls), 1);
	/* DRIVER_OK (or any status but 0) written again: NEEDS_RESET stays, no second start. */
	set_status(S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(status(), S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	assert_int_equal(td.start, 1);
}

static void expect_second_life(uint8_t gen)
{
	assert_int_equal(td.stop, 1);
	assert_false(atomic_load(&td.running));
	assert_int_equal(status(), 0);
	clear_rings();
	bring_up(false);
	bar_wr(COMMON(MSIX), 2, 0);
	bar_wr(COMMON(Q_SELECT), 2, 0);
	bar_wr(COMMON(Q_MSIX), 2, 1);
	set_status(S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(td.start, 2);
	assert_int_equal(status(), S_ACK | S_DRV | S_FOK | S_DOK);
	settle();
	assert_int_equal(td.notify[0], 2);	/* the kicks of the old life were dropped */
	post_buffer(0);
	kick(0);
	assert_true(WAIT_FOR(used_idx() == 1));
	assert_int_equal(td.notify[0], 3);
	assert_int_equal(status() & S_NR, 0);
	assert_int_equal(cfg_gen(), gen);	/* no config change in the new life */
}

/*
 * hostile-guest.md case 9, end to end on the real transport: the driver
 * moves avail->idx 1000 ahead, the device model's notify (on the worker)
 * finds the queue broken and calls virtio_set_needs_reset (twice, as a
 * model with two queues might). Then: device_status reads NEEDS_RESET; the
 * config change is signalled once (config_generation counts the config
 * interrupts); the worker calls notify for no later kick (the driver's or
 * the device's own); DRIVER_OK written again does not clear it; a reset
 * does (status 0, stop called), the kicks made meanwhile are dropped with
 * the old rings, and after a new start the device serves buffers again.
 * Here with MSI-X: the signal goes to the config vector (0, masked, so it
 * shows in the PBA until unmasked), never to INTx or the ISR.
 */
static void test_needs_reset_msix(void **state)
{
	uint8_t gen;

	td.serve = true;
	td.reset_on_eio = true;
	cfg_wr(msix_cap + PCI_MSIX_FLAGS + 1, 1, PCI_MSIX_FLAGS_ENABLE >> 8);
	for (unsigned int v = 0; v < 2; v++) {
		bar_wr(msix_table + v * 16 + PCI_MSIX_ENTRY_LOWER_ADDR, 8, 0xfee00000);
		bar_wr(msix_table + v * 16 + PCI_MSIX_ENTRY_DATA, 4, 0x41 + v);
	}
	bring_up(false);
	bar_wr(COMMON(MSIX), 2, 0);		/* config: vector 0 */
	bar_wr(COMMON(Q_SELECT), 2, 0);
	bar_wr(COMMON(Q_MSIX), 2, 1);		/* queue 0: vector 1 */
	set_status(S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(td.start, 1);
	/* A good buffer first: served, its interrupt pending on vector 1. */
	post_buffer(0);
	kick(0);
	assert_true(WAIT_FOR(used_idx() == 1));
	assert_true(WAIT_FOR(bar_rd(msix_pba, 8) == 0x2));
	gen = cfg_gen();

	break_ring();
	kick(0);
	assert_true(WAIT_FOR(status() & S_NR));
	assert_int_equal(status(), S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	settle();
	assert_int_equal(td.notify[0], 2);
	assert_int_equal(atomic_load(&td.reset_calls), 1);
	/* One config interrupt, though the model asked twice; on vector 0, not INTx. */
	assert_int_equal(cfg_gen(), (uint8_t)(gen + 1));
	assert_int_equal(bar_rd(msix_pba, 8), 0x3);
	assert_int_equal(fake_irq_level(INTX_GSI), 0);
	assert_int_equal(bar_rd(isr_off, 1), 0);
	/* Unmasked, vector 0 delivers its pending message: the PBA bit goes. */
	bar_wr(msix_table + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	assert_int_equal(bar_rd(msix_pba, 8), 0x2);
	expect_needs_reset_held();
	/* Still exactly one: nothing new pending on vector 0, config generation unchanged. */
	assert_int_equal(bar_rd(msix_pba, 8), 0x2);
	assert_int_equal(cfg_gen(), (uint8_t)(gen + 1));
	assert_int_equal(used_idx(), 1);	/* no buffer of the broken ring was used */

	set_status(0);
	expect_second_life((uint8_t)(gen + 1));
	assert_int_equal(fake_irq_level(INTX_GSI), 0);
}

/* The same without MSI-X: ISR bit 1 (config change) and INTA, once. */
static void test_needs_reset_intx(void **state)
{
	uint8_t gen;

	td.serve = true;
	td.reset_on_eio = true;
	bring_up(true);
	post_buffer(0);
	kick(0);
	assert_true(WAIT_FOR(used_idx() == 1));
	assert_true(WAIT_FOR(fake_irq_level(INTX_GSI) == 1));
	assert_int_equal(bar_rd(isr_off, 1), 0x1);	/* the queue's bit */
	assert_int_equal(fake_irq_level(INTX_GSI), 0);
	gen = cfg_gen();

	break_ring();
	kick(0);
	assert_true(WAIT_FOR(status() & S_NR));
	assert_true(WAIT_FOR(fake_irq_level(INTX_GSI) == 1));
	settle();
	assert_int_equal(status(), S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	assert_int_equal(cfg_gen(), (uint8_t)(gen + 1));
	assert_int_equal(bar_rd(isr_off, 1), VIRTIO_PCI_ISR_CONFIG);	/* config only: nothing used */
	assert_int_equal(fake_irq_level(INTX_GSI), 0);
	expect_needs_reset_held();
	/* Nothing raised again. */
	assert_int_equal(fake_irq_level(INTX_GSI), 0);
	assert_int_equal(bar_rd(isr_off, 1), 0);
	assert_int_equal(cfg_gen(), (uint8_t)(gen + 1));
	assert_int_equal(used_idx(), 1);

	set_status(0);
	expect_second_life((uint8_t)(gen + 1));
	assert_true(WAIT_FOR(fake_irq_level(INTX_GSI) == 1));
	assert_int_equal(bar_rd(isr_off, 1), 0x1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features_ok_cleared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_ok_cleared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_master, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_select_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_enable_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kick_before_driver_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isr_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix_enable_drops_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_generation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_cfg_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_holes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_needs_reset_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_needs_reset_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iommu_quiesce, setup_iommu, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
