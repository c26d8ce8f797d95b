/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_IOMMU_IOMMU_H
#define KVMIO_IOMMU_IOMMU_H

struct vm;

/*
 * --iommu: the emulated VT-d on the machine (iommu.c). iommu_init puts its
 * register page on the bus at VTD_MMIO_BASE and makes every PCI function
 * added afterwards DMA through it; call it after pci_host_init and before
 * any device is added. iommu_exit undoes it, after the vCPUs are gone.
 */
int iommu_init(struct vm *vm);
void iommu_exit(struct vm *vm);

/*
 * iommu_lock/iommu_unlock - hold off invalidations (and the DMA-space
 * listeners they call) while a listener is attached or detached with the
 * VM running: a hot-added or removed device. No-ops without --iommu.
 */
void iommu_lock(struct vm *vm);
void iommu_unlock(struct vm *vm);

#endif
