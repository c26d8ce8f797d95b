/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_PCI_MSI_H
#define KVMIO_PCI_MSI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct pci_device;

/*
 * Message-signalled interrupts.
 *
 * GSI routing: KVM_SET_GSI_ROUTING replaces the whole table, so the VM keeps
 * one copy (struct irq_routes): KVM's default IOAPIC/PIC entries for GSIs
 * 0-23, then one MSI entry per GSI handed out here. An MSI is delivered by
 * writing an eventfd that KVM_IRQFD bound to its GSI, so the interrupt goes
 * from any thread straight into KVM without an ioctl.
 */
#define IRQ_ROUTES_FIRST_MSI	24	/* after the IOAPIC's pins */
#define IRQ_ROUTES_MAX		1024	/* MSI GSIs; KVM allows 4096 entries */

struct msi_msg {
	uint64_t addr;
	uint32_t data;
};

struct irq_routes;

/* irq_routes_init/exit - the VM's routing table, with KVM's defaults. */
int irq_routes_init(struct vm *vm);
void irq_routes_exit(struct vm *vm);

/*
 * msi_irq - one MSI source: a GSI routed to @msg and an eventfd bound to it.
 * msi_irq_setup creates them (or retargets an existing one); msi_irq_fire
 * sends one interrupt; msi_irq_release frees both. All return 0 or
 * negative errno. Initialise with MSI_IRQ_INIT (no GSI, no fd).
 */
struct msi_irq {
	int gsi;		/* 0: none */
	int fd;			/* eventfd bound with KVM_IRQFD, -1: none */
	bool unbound;		/* fd exists but is not bound to the GSI (masked) */
	struct msi_msg msg;
};
#define MSI_IRQ_INIT	((struct msi_irq){ .gsi = 0, .fd = -1 })
int msi_irq_setup(struct vm *vm, struct msi_irq *irq, struct msi_msg msg);
int msi_irq_fire(struct vm *vm, struct msi_irq *irq);
void msi_irq_release(struct vm *vm, struct msi_irq *irq);

/*
 * msi_irq_bind - bind (@on) or unbind the eventfd of a set-up @irq to its GSI.
 * For sources that write the eventfd themselves (VFIO): while unbound, what
 * they signal stays counted in the eventfd, and KVM delivers it once when
 * the fd is bound again (KVM_IRQFD looks at the count when it binds), which
 * is how a masked vector's pending bit works. Returns 0 or negative errno.
 */
int msi_irq_bind(struct vm *vm, struct msi_irq *irq, bool on);

/* msi_irq_pending - @irq is unbound and its eventfd has a count (not consumed). */
bool msi_irq_pending(const struct msi_irq *irq);

/*
 * MSI-X emulation for one function: the capability in config space and the
 * table and PBA, which live in a BAR the device traps (it forwards accesses
 * to msix_table_io / msix_pba_io). Vectors start masked, as after reset.
 */
struct msix_vec {
	uint32_t addr_lo, addr_hi, data, ctrl;
	bool pending;
	bool dirty;		/* table changed since the route was set */
	struct msi_irq irq;
};

struct msix {
	struct vm *vm;
	struct pci_device *dev;
	unsigned int cap;	/* config offset of the capability */
	unsigned int nvec;
	bool enabled, fmask;
	struct msix_vec *vec;
	pthread_mutex_t lock;
	/*
	 * update - optional, for functions whose vectors are raised by
	 * hardware rather than by msix_notify (VFIO): called with m->lock
	 * held after vector @vec's entry or mask changed, or with -1 after
	 * the enable or function-mask bit did.
	 */
	void (*update)(struct msix *m, int vec);
	void *opaque;
};

#define MSIX_ENTRY_SIZE	16

/*
 * msix_init - add the capability to @dev (before pci_device_add): @nvec
 * vectors (1-2048), the table at @table_off and the PBA at @pba_off of BAR
 * @bar. Returns 0 or negative errno.
 */
int msix_init(struct msix *m, struct vm *vm, struct pci_device *dev, unsigned int nvec,
	      unsigned int bar, uint32_t table_off, uint32_t pba_off);
void msix_exit(struct msix *m);

/*
 * msix_init_at - the same for a capability that already sits at @cap in
 * @dev's config space (a passed-through device's): the table size, BARs
 * and offsets are read from it; only Message Control's enable and function
 * mask bits become writable.
 */
int msix_init_at(struct msix *m, struct vm *vm, struct pci_device *dev, unsigned int cap);

/* msix_vec_msg - vector @vec's address and data as the table holds them; m->lock held. */
struct msi_msg msix_vec_msg(const struct msix *m, unsigned int vec);

/* msix_vec_masked - vector @vec masked by its own bit or the function mask; m->lock held. */
bool msix_vec_masked(const struct msix *m, unsigned int vec);

/* msix_cfg_write - call from the device's cfg_write hook: enable and function mask. */
void msix_cfg_write(struct msix *m, unsigned int off, unsigned int len);

/*
 * Table and PBA accesses, @off relative to the start of each. Aligned 4- and
 * 8-byte accesses only (PCI 3.0 6.8.2); others read all-ones and are
 * ignored on write. The PBA is read-only.
 */
void msix_table_io(struct msix *m, uint64_t off, uint8_t *data, unsigned int len, bool is_write);
void msix_pba_io(struct msix *m, uint64_t off, uint8_t *data, unsigned int len, bool is_write);

/* msix_enabled - MSI-X enable bit set: the device must not use INTx. */
bool msix_enabled(struct msix *m);

/*
 * msix_notify - raise vector @vec: sent if unmasked, else its pending bit is
 * set and it is sent when unmasked. Returns 0, -ENOENT when MSI-X is
 * disabled (the caller falls back to INTx), -EINVAL for a vector the table
 * does not have (the guest's NO_VECTOR or out of range: dropped).
 */
int msix_notify(struct msix *m, unsigned int vec);

/*
 * Plain MSI (PCI Local Bus 3.0 6.8.1) for one function: the capability in
 * config space, up to 32 vectors sharing one address and a data value whose
 * low log2(nvec) bits carry the vector number, optional per-vector masking
 * with pending bits. Each vector is routed lazily, on its first delivery.
 */
#define MSI_CAP_MAX_VEC	32

struct msi_cap {
	struct vm *vm;
	struct pci_device *dev;
	unsigned int cap;	/* config offset of the capability */
	unsigned int nvec_max;	/* Multiple Message Capable */
	bool is64, maskable;
	bool enabled;
	unsigned int nvec;	/* Multiple Message Enable, clamped to nvec_max */
	uint32_t mask, pending;
	struct msi_irq irq[MSI_CAP_MAX_VEC];
	pthread_mutex_t lock;	/* everything above from enabled on */
	/* As msix.update: called with m->lock held after every write to the capability. */
	void (*update)(struct msi_cap *m);
	void *opaque;
};

/*
 * msi_cap_init - add the capability (ID 0x05) to @dev (before
 * pci_device_add): @nvec_max vectors (1, 2, 4, 8, 16 or 32), 64-bit
 * addresses if @is64, mask and pending bits if @maskable. MSI starts
 * disabled with one vector enabled, nothing masked. Returns 0, -EINVAL for a
 * bad @nvec_max or -ENOSPC when config space is full.
 * msi_cap_exit - release the vectors' routes.
 */
int msi_cap_init(struct msi_cap *m, struct vm *vm, struct pci_device *dev, unsigned int nvec_max,
		 bool is64, bool maskable);
void msi_cap_exit(struct msi_cap *m);

/*
 * msi_cap_init_at - the same for a capability already at @cap in @dev's
 * config space (a passed-through device's): its flags say how many vectors,
 * 64-bit and maskable; registers are reset to disabled, one vector.
 */
int msi_cap_init_at(struct msi_cap *m, struct vm *vm, struct pci_device *dev, unsigned int cap);

/* msi_cap_vec_msg - vector @vec's message (shared address, data | vector); m->lock held. */
struct msi_msg msi_cap_vec_msg(const struct msi_cap *m, unsigned int vec);

/*
 * msi_cap_cfg_write - call from the device's cfg_write hook (host lock held)
 * for every write: picks up enable and MME changes (MME above MMC is clamped
 * to MMC), re-routes live vectors after address or data rewrites, and sends
 * pending vectors that became unmasked. Takes m->lock.
 */
void msi_cap_cfg_write(struct msi_cap *m, unsigned int off, unsigned int len);

/*
 * msi_cap_show_fd_pending - for functions whose vectors signal their
 * eventfds themselves (VFIO): before a config read of [@off, @off + @len),
 * show each masked vector with a count waiting in its unbound eventfd as
 * pending. For show only: KVM delivers that count when the vector is
 * unmasked and its eventfd bound again, so nothing is sent from here.
 * Host lock held; takes m->lock.
 */
void msi_cap_show_fd_pending(struct msi_cap *m, unsigned int off, unsigned int len);

/* msi_cap_enabled - MSI enable bit set: the device must not use INTx. */
bool msi_cap_enabled(struct msi_cap *m);

/*
 * msi_cap_notify - raise vector @vec: sent if unmasked, else its pending bit
 * is set (and shown in config space) and it is sent when unmasked. Returns
 * 0, -ENOENT when MSI is disabled (the caller falls back to INTx), -EINVAL
 * for @vec at or past the enabled vector count (dropped). Any thread; takes
 * m->lock, never the host lock.
 */
int msi_cap_notify(struct msi_cap *m, unsigned int vec);

#endif
