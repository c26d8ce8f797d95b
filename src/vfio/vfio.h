/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_VFIO_VFIO_H
#define KVMIO_VFIO_VFIO_H

#include <linux/vfio.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dev.h"
#include "pci/msi.h"
#include "pci/pci.h"
#include "vfio/sysfs.h"

/*
 * VFIO device assignment: a host PCI device bound to vfio-pci given to the
 * guest.
 *
 *   container.c  /dev/vfio/vfio, the groups, guest RAM mapped for DMA
 *   device.c     the device fd, its regions, BARs as KVM memory slots
 *   config.c     config space: what the guest sees and what reaches hardware
 *   irq.c        INTx, MSI and MSI-X as eventfds bound to KVM irqfds
 *
 * Config space: dev->pci.cfg is the guest's view. emu[] marks, bit by bit,
 * what kvmio owns (the header, BARs, ROM, capability pointers, MSI and
 * MSI-X); every other bit is read from the device when the guest reads it
 * and the guest's write goes to the device as written (so hardware keeps
 * its own read-only and write-1-to-clear semantics; the kernel's vfio-pci
 * filters what no user may touch).
 */

#define VFIO_MAX_AREAS	4	/* mmap-able pieces of one BAR around the MSI-X pages */

struct vm;
struct vfio_container;

struct vfio_area {
	uint64_t off, size;	/* within the region; page-aligned */
	void *hva;		/* mmap of the piece, or NULL */
	int slot;		/* KVM memory slot while mapped, -1 otherwise */
	bool p2p;		/* mapped in the host IOMMU at p2p_iova (peer-to-peer DMA) */
	uint64_t p2p_iova;
};

struct vfio_region {
	uint32_t flags;		/* VFIO_REGION_INFO_FLAG_* */
	uint64_t size;
	uint64_t offset;	/* of the region in the device fd */
	struct vfio_area area[VFIO_MAX_AREAS];
	unsigned int nareas;
};

/* What a region's capability chain says (vfio_region_caps_parse). */
struct vfio_region_caps {
	bool sparse;			/* a sparse-mmap capability: only area[] may be mmap'd */
	struct vfio_area area[VFIO_MAX_AREAS];
	unsigned int nareas;
	bool has_type;			/* VFIO_REGION_INFO_CAP_TYPE */
	uint32_t type, subtype;
	bool msix_mappable;		/* the MSI-X table's BAR may be mmap'd whole */
};

/* What sits where in config space; built by vfio_cfg_layout from the device's own. */
struct vfio_cfg_layout {
	unsigned int size;		/* config region size: 256 (PCI) or 4096 (PCIe) */
	unsigned int msi_cap, msix_cap, pcie_cap;	/* 0: absent */
	unsigned int nhidden;		/* capabilities taken out of the lists */
	uint8_t emu[PCI_CFG_SIZE];	/* 1 bits: kvmio's value, never the device's */
};

enum vfio_irq_mode { VFIO_IRQ_NONE, VFIO_IRQ_INTX, VFIO_IRQ_MSI, VFIO_IRQ_MSIX };

struct vfio_device {
	struct device dev;		/* in vm->devs (dev.h) */
	struct vm *vm;
	struct vfio_container *container;
	char bdf[VFIO_BDF_LEN];
	char name[24];			/* "vfio-0000:00:03.0" */
	int group;
	int fd;
	uint32_t dev_flags;		/* VFIO_DEVICE_FLAGS_* */
	struct pci_device pci;
	struct vfio_region region[VFIO_PCI_NUM_REGIONS];
	struct vfio_cfg_layout lay;
	void *bar_refs;			/* device.c's per-BAR handler contexts */
	uint8_t *rom;			/* the expansion ROM, read once (NULL: read per access) */
	uint64_t rom_size;		/* its BAR's size; rom is mapped for ALIGN_UP(rom_size, page) */
	int rom_slot;			/* read-only KVM memory slot at the ROM BAR, -1: none */
	const char *rom_path;		/* rom=PATH, during vfio_device_build only */
	bool vga;			/* vga=on: legacy VGA ranges forwarded (VFIO's VGA region) */
	bool vga_claimed;		/* ... and registered on the bus */
	bool igd_opregion;		/* this device's OpRegion is the VM's (regions.c) */
	unsigned int num_regions;	/* VFIO_DEVICE_GET_INFO's, device-specific ones included */

	/* MSI-X: the table and PBA stay trapped, in one BAR or two. */
	struct msix msix;
	bool has_msix;
	unsigned int msix_table_bar, msix_pba_bar;
	uint64_t msix_table_off, msix_table_size, msix_pba_off, msix_pba_size;
	struct msi_cap msi;
	bool has_msi;

	/* Interrupts as VFIO has them; under irq_lock. */
	pthread_mutex_t irq_lock;
	enum vfio_irq_mode mode;
	uint32_t irq_count[VFIO_PCI_NUM_IRQS];
	uint32_t irq_flags[VFIO_PCI_NUM_IRQS];
	unsigned int hw_nvec;		/* vectors VFIO has enabled for MSI/MSI-X */
	int *hw_fd;			/* per MSI-X vector: the eventfd VFIO signals */
	int intx_fd, intx_resample_fd;
	/*
	 * Host-initiated removal: VFIO signals req_fd when the host wants
	 * the device back (unbind); the guest is asked to eject it and has
	 * req_timeout_s seconds (req_timer) before it is removed by surprise.
	 * Main thread only.
	 */
	int req_fd, req_timer;
	unsigned int req_timeout_s;
	bool req_asked;
	bool intx_bound;		/* the KVM irqfd with resample is registered */

	/*
	 * set_irqs - VFIO_DEVICE_SET_IRQS on fd, or the unit tests' recorder.
	 * Returns 0 or negative errno.
	 */
	int (*set_irqs)(struct vfio_device *vd, struct vfio_irq_set *set);
	/*
	 * p2p_map - map (@map) or unmap a BAR piece at @hva in the host IOMMU
	 * at @iova for peer-to-peer DMA: vfio_container_p2p, a unit test's
	 * recorder, or NULL for none. Returns 0 or negative errno.
	 */
	int (*p2p_map)(struct vfio_device *vd, uint64_t iova, uint64_t size, void *hva, bool map);
	/*
	 * get_region_info - VFIO_DEVICE_GET_REGION_INFO (NULL), or a unit
	 * test's stand-in: fill @info (argsz, index set) and its capabilities.
	 * 0 or negative errno.
	 */
	int (*get_region_info)(struct vfio_device *vd, struct vfio_region_info *info);
};

/*
 * vfio_device_add - assign host device @bdf (canonical) to the VM as @id
 * (NULL: generated): group, container, device fd, config space, BARs,
 * interrupts, and with --iommu its shadow. Before boot or while the VM
 * runs (the caller tells the guest). Returns 0 or a negative errno after
 * printing why.
 */
struct vfio_opts;
int vfio_device_add(struct vm *vm, const struct vfio_opts *o);


/*
 * irq.c: vfio_req_init - arm the device's request interrupt on the VM's
 * event loop (nothing when VFIO has none); vfio_req_exit disarms it.
 * Main thread.
 */
int vfio_req_init(struct vfio_device *vd);
void vfio_req_exit(struct vfio_device *vd);
/* vm.c: assign every --device vfio= of the VM's config (after RAM and the PCI host). */
int vfio_devices_init(struct vm *vm);
void vfio_devices_exit(struct vm *vm);
/*
 * vfio_device_register - list @vd (vm set) in the VM's registry as @id (NULL:
 * generated), before vfio_device_build. Returns 0 or dev_register's errors.
 * From then on dev_remove takes it off the machine and frees it.
 */
int vfio_device_register(struct vfio_device *vd, const char *id);

/*
 * device.c: vfio_device_build - with vd->fd, vd->region[], vd->irq_count/
 * irq_flags filled (from VFIO's ioctls, or by a unit test over a plain
 * file), read config space, build the guest's view, map the BARs, put the
 * device on the VM's PCI bus and turn INTx on. Returns 0 or negative errno.
 * vfio_device_free - undo it and close vd->fd (resetting the device) and free @vd;
 * the device must be off the bus (pci_device_remove) first.
 */
int vfio_device_build(struct vfio_device *vd);
void vfio_device_free(struct vfio_device *vd);

/*
 * regions.c: vfio_region_caps_parse - the capability chain of a
 * VFIO_DEVICE_GET_REGION_INFO answer (@len bytes at @buf) into @out:
 * sparse mmap areas, type and subtype, MSI-X mappable. A chain that
 * points backwards, outside @buf or past 64 hops is -EINVAL (what came
 * before stays in @out). Pure.
 */
int vfio_region_caps_parse(const void *buf, size_t len, struct vfio_region_caps *out);
/* vfio_region_info - region @index of @vd into @r and @caps; an absent region is all zero. */
int vfio_region_info(struct vfio_device *vd, unsigned int index, struct vfio_region *r,
		     struct vfio_region_caps *caps);
/*
 * vfio_regions_init - after the BARs: with vd->vga the legacy VGA ranges
 * on the bus; the device-specific regions, of which an Intel IGD's OpRegion
 * goes to the guest. 0 or negative errno (printed). vfio_regions_exit -
 * undo it (idempotent).
 */
int vfio_regions_init(struct vfio_device *vd);
void vfio_regions_exit(struct vfio_device *vd);

/*
 * rom.c: vfio_rom_load - the expansion ROM into vd->rom (read-only memory)
 * and vd->rom_size (its BAR's size, 0: no ROM): from vd->rom_path, or
 * from the device when it has a ROM a ROM BAR can hold. Returns 0, or the
 * rom= file's error (printed). vfio_rom_update - the BAR moved or
 * (un)decoded: the read-only memory slot follows. vfio_rom_free - both gone.
 */
int vfio_rom_load(struct vfio_device *vd);
void vfio_rom_update(struct vfio_device *vd, bool decoded, uint64_t addr);
void vfio_rom_free(struct vfio_device *vd);

/* device.c: the pci_device_ops.bar_update hook (memory slots follow the BAR). */
void vfio_bar_update(struct pci_device *dev, unsigned int bar, bool decoded, uint64_t addr);

/* container.c */
int vfio_container_open(struct vm *vm, struct vfio_container **out);
void vfio_container_close(struct vfio_container *c);
/* vfio_group_attach - open group @group for @bdf, check it, add it to @c (maps RAM once). */
int vfio_group_attach(struct vfio_container *c, struct vm *vm, const char *bdf, int group);
/*
 * vfio_group_device_fd - the device fd of @bdf from its (attached) group;
 * @vf_token ("" for none) is the UUID vfio-pci wants for a VF whose PF is
 * bound to vfio-pci too.
 */
int vfio_group_device_fd(struct vfio_container *c, int group, const char *bdf,
			 const char *vf_token);
/*
 * vfio_container_get - the container @group goes in: the VM's one, or with
 * --iommu the group's own (opened here, on the VM's list, the first time).
 * vfio_containers_close closes them all.
 */
int vfio_container_get(struct vm *vm, int group, struct vfio_container **out);
/*
 * vfio_group_release - no device of @group is open any more: take it out
 * of @c, and close @c (its DMA mappings, its pinned RAM) when it was the
 * last; a later vfio_container_get starts afresh.
 */
void vfio_group_release(struct vm *vm, struct vfio_container *c, int group);
void vfio_containers_close(struct vm *vm);
/*
 * vfio_container_shadow - with --iommu, once @vd is on the bus (its
 * requester id known): make @c mirror what the guest's IOMMU maps for @vd
 * (all of RAM until the guest turns translation on), kept up to date on
 * every invalidation. A second device of the group shares the first's.
 */
int vfio_container_shadow(struct vfio_container *c, struct vfio_device *vd);
/*
 * vfio_container_p2p - vd->p2p_map for @vd's container: map (@map) or unmap
 * @size bytes at @hva (an mmap of a BAR) at @iova. -EOPNOTSUPP with --iommu,
 * where the guest's own mappings say what a device reaches.
 */
int vfio_container_p2p(struct vfio_device *vd, uint64_t iova, uint64_t size, void *hva, bool map);
/* vfio_container_unshadow - before @vd is freed: if @c shadows @vd, one line of counts, then stop. */
void vfio_container_unshadow(struct vfio_container *c, struct vfio_device *vd);

/* config.c */
/*
 * vfio_cfg_layout - from @hw, a snapshot of the device's config space
 * (@size bytes: 256 or 4096), build the guest's view into @cfg and the
 * emulation mask into @lay: capabilities kvmio keeps are relinked past
 * those it hides (standard and extended lists, each walked with a bound),
 * a PCIe endpoint becomes a root-complex integrated endpoint (it sits on
 * the root bus), the header type loses its multi-function bit. BARs, ROM
 * and interrupt registers are left for the caller. Pure: no I/O.
 * Returns 0, or -EINVAL for a size other than 256 or 4096.
 */
int vfio_cfg_layout(const uint8_t *hw, unsigned int size, uint8_t *cfg,
		    struct vfio_cfg_layout *lay);
extern const struct pci_device_ops vfio_pci_ops;
/* Config region access; 0 or negative errno. */
int vfio_cfg_pread(struct vfio_device *vd, void *buf, unsigned int len, unsigned int off);
int vfio_cfg_pwrite(struct vfio_device *vd, const void *buf, unsigned int len, unsigned int off);
/* vfio_cfg_sync_command - write the guest's COMMAND to the device. */
void vfio_cfg_sync_command(struct vfio_device *vd);

/* irq.c */
int vfio_irq_init(struct vfio_device *vd);	/* after the caps are set up: INTx on */
void vfio_irq_exit(struct vfio_device *vd);
void vfio_msix_update(struct msix *m, int vec);
void vfio_msi_update(struct msi_cap *m);
/* vfio_msix_pba_io - the PBA, with masked vectors' signalled eventfds shown pending. */
void vfio_msix_pba_io(struct vfio_device *vd, uint64_t off, uint8_t *data, unsigned int len);

#endif
