// SPDX-License-Identifier: Apache-2.0
/*
 * The emulated VT-d on the machine: its register page on the MMIO bus, its
 * interrupts as KVM MSIs, and the PCI functions' DMA spaces translated by
 * it. vtd.c, vtd_walk.c and vtd_qi.c are the unit itself, pure; this file
 * is the little that touches KVM and the device list.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "dev.h"
#include "iommu/iommu.h"
#include "iommu/vtd.h"
#include "pci/pci.h"
#include "util.h"
#include "vm.h"

struct iommu {
	struct vtd vtd;
	struct vm *vm;
};

/* The fault event and invalidation-completion interrupts: MSIs, as the guest programmed them. */
static void fx_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct iommu *io = opaque;
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data,
	};

	if (ioctl(io->vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0) {
		static struct ratelimit rl;

		if (ratelimit_ok(&rl, 1))
			pr_warn("VT-d: interrupt to 0x%llx not delivered: %s",
				(unsigned long long)addr, strerror(errno));
	}
}

/*
 * Translations changed. No IOTLB is kept, so only what devices cache must
 * go: every function's space is told which IOVAs (dma_as_notify): virtqueues
 * map their rings again before the next use, and an assigned device's
 * shadow in its host IOMMU domain is brought up to date, all before the
 * guest sees its invalidation complete. A page-selective IOTLB invalidation
 * names its range; anything else (context cache, domain or global, a new
 * root table, translation switched) is the whole space. The domain is not
 * looked at: re-reading a range that did not change costs a walk, no more.
 */
static void fx_invalidate(void *opaque, const struct vtd_inv *inv)
{
	struct iommu *io = opaque;
	struct pci_host *h = io->vm->pci;
	uint64_t lo = 0, hi = ~0ULL;

	if (inv && inv->type == VTD_QI_IOTLB && inv->gran == VTD_GRAN_PAGE) {
		uint64_t size = 4096ULL << inv->am;

		lo = inv->addr & ~(size - 1);
		hi = lo + size - 1;
	}

	/*
	 * Listeners may wait for virtio workers (quiesce), so they are not
	 * called under the host's lock, which a config write holds while it
	 * parks a worker. The functions are taken from the slots under the
	 * lock, each with a reference on its device, so one removed meanwhile
	 * stays until its listener returns.
	 */
	struct pci_device *devs[PCI_NR_SLOTS];
	unsigned int n = 0;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	for (unsigned int s = 0; s < PCI_NR_SLOTS; s++) {
		if (h->slot[s]) {
			dev_get(h->slot[s]->owner);
			devs[n++] = h->slot[s];
		}
	}
	pthread_mutex_unlock(&h->lock);
	for (unsigned int i = 0; i < n; i++) {
		dma_as_notify(&devs[i]->dma, lo, hi);
		dev_put(devs[i]->owner);
	}
}

static const struct vtd_effects effects = { .msi = fx_msi, .invalidate = fx_invalidate };

static const char *fault_name(unsigned int fr)
{
	static const char *const names[] = {
		[VTD_FR_ROOT_P] = "root entry not present",
		[VTD_FR_CTX_P] = "context entry not present",
		[VTD_FR_CTX_INV] = "context entry's address width not supported",
		[VTD_FR_ADDR_BEYOND] = "IOVA beyond the context's address width",
		[VTD_FR_WRITE] = "not mapped for writing",
		[VTD_FR_READ] = "not mapped for reading",
		[VTD_FR_PT_INV] = "page table outside RAM",
		[VTD_FR_ROOT_TABLE_INV] = "root table outside RAM",
		[VTD_FR_CTX_TABLE_INV] = "context table outside RAM",
		[VTD_FR_ROOT_RSVD] = "reserved bits in the root entry",
		[VTD_FR_CTX_RSVD] = "reserved bits in the context entry",
		[VTD_FR_PT_RSVD] = "reserved bits in a page-table entry",
		[VTD_FR_CTX_TT] = "translation type not supported",
	};

	return fr < ARRAY_SIZE(names) && names[fr] ? names[fr] : "VT-d fault";
}

static int as_lookup(struct dma_as *as, uint64_t iova, unsigned int dir, struct dma_map *m)
{
	struct vtd_xlate x;
	int fr = vtd_lookup(as->opaque, as->rid, iova, dir, &x);

	if (fr) {
		m->code = (unsigned int)fr;
		m->why = fault_name((unsigned int)fr & 0xFF);
		return -EFAULT;
	}
	m->gpa = x.gpa;
	m->len = x.len;
	m->perm = x.perm;
	return 0;
}

/* A refusal the unit records: its own reasons, and dma.c's permission check. */
static void as_fault(struct dma_as *as, uint64_t iova, unsigned int dir, int err,
		     const struct dma_map *m)
{
	unsigned int fr = m->code;

	if (err == -EACCES)
		fr = (dir & DMA_WRITE) && !(m->perm & DMA_WRITE) ? VTD_FR_WRITE : VTD_FR_READ;
	/* A translation onto something that is not RAM is no remapping fault: not recorded. */
	if (fr)
		vtd_fault(as->opaque, as->rid, iova, dir, fr);
}

/*
 * Entries a replay may read: 2^21 covers 8 GiB mapped page by page; tables
 * that point at themselves or fan out to one table end there (a few ms).
 */
#define REPLAY_BUDGET	(1u << 21)

static int as_replay(struct dma_as *as, uint64_t lo, uint64_t hi, dma_replay_fn fn, void *opaque)
{
	unsigned int budget = REPLAY_BUDGET;

	return vtd_replay(as->opaque, as->rid, lo, hi, &budget, fn, opaque);
}

static const struct dma_as_ops vtd_dma_ops = {
	.lookup = as_lookup, .fault = as_fault, .replay = as_replay,
};

static void vtd_io(void *opaque, uint64_t offset, uint8_t *data, unsigned int len, bool is_write)
{
	struct iommu *io = opaque;

	vtd_mmio(&io->vtd, offset, data, len, is_write);
}

int iommu_init(struct vm *vm)
{
	struct iommu *io = calloc(1, sizeof(*io));
	int ret;

	if (!io)
		return -ENOMEM;
	io->vm = vm;
	vtd_init(&io->vtd, &vm->mem, &effects, io);
	vtd_set_caching_mode(&io->vtd, !vm->cfg->iommu_no_cm);
	ret = bus_register(&vm->bus, BUS_MMIO, VTD_MMIO_BASE, VTD_MMIO_SIZE, vtd_io, io, "vt-d");
	if (ret) {
		vtd_destroy(&io->vtd);
		free(io);
		return ret;
	}
	vm->iommu = io;
	vm->pci->iommu_ops = &vtd_dma_ops;
	vm->pci->iommu = &io->vtd;
	return 0;
}

void iommu_lock(struct vm *vm)
{
	if (vm->iommu)
		vtd_lock(&vm->iommu->vtd);
}

void iommu_unlock(struct vm *vm)
{
	if (vm->iommu)
		vtd_unlock(&vm->iommu->vtd);
}

void iommu_exit(struct vm *vm)
{
	struct iommu *io = vm->iommu;

	if (!io)
		return;
	bus_unregister(&vm->bus, BUS_MMIO, VTD_MMIO_BASE);
	if (io->vtd.faults_dropped)
		pr_info("VT-d: %llu faults not recorded (fault recording registers full)",
			(unsigned long long)io->vtd.faults_dropped);
	vtd_destroy(&io->vtd);
	free(io);
	vm->iommu = NULL;
}
