// SPDX-License-Identifier: Apache-2.0
/*
 * MSI delivery through KVM GSI routing and irqfd, and MSI-X table emulation.
 * See msi.h.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <linux/pci_regs.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "pci/msi.h"
#include "pci/pci.h"
#include "util.h"
#include "vm.h"

#define NR_IRQCHIP_ROUTES	(16 * 2 + 8)	/* GSI 0-15 on PIC and IOAPIC, 16-23 IOAPIC */

struct irq_routes {
	pthread_mutex_t lock;
	struct msi_msg msg[IRQ_ROUTES_MAX];	/* indexed by gsi - IRQ_ROUTES_FIRST_MSI */
	bool used[IRQ_ROUTES_MAX];
	struct kvm_irq_routing *table;		/* scratch for KVM_SET_GSI_ROUTING */
};

/* KVM's default table (what KVM_CREATE_IRQCHIP installs), which ours must keep. */
static unsigned int irqchip_routes(struct kvm_irq_routing_entry *e)
{
	unsigned int n = 0;

	for (unsigned int gsi = 0; gsi < IRQ_ROUTES_FIRST_MSI; gsi++) {
		if (gsi < 16)
			e[n++] = (struct kvm_irq_routing_entry){
				.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
							     KVM_IRQCHIP_PIC_SLAVE,
					       .pin = gsi % 8 } };
		e[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi } };
	}
	return n;
}

/* Push the whole table to KVM; called with the lock held. */
static int routes_commit(struct vm *vm)
{
	struct irq_routes *r = vm->irq_routes;
	struct kvm_irq_routing_entry *e = r->table->entries;
	unsigned int n = irqchip_routes(e);

	for (unsigned int i = 0; i < IRQ_ROUTES_MAX; i++) {
		if (!r->used[i])
			continue;
		e[n++] = (struct kvm_irq_routing_entry){
			.gsi = IRQ_ROUTES_FIRST_MSI + i, .type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = (uint32_t)r->msg[i].addr,
				   .address_hi = (uint32_t)(r->msg[i].addr >> 32),
				   .data = r->msg[i].data } };
	}
	r->table->nr = n;
	r->table->flags = 0;
	if (vm->vm_fd < 0)	/* unit tests: no KVM */
		return 0;
	return ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r->table) < 0 ? -errno : 0;
}

int irq_routes_init(struct vm *vm)
{
	struct irq_routes *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->table = calloc(1, sizeof(*r->table) +
			  (NR_IRQCHIP_ROUTES + IRQ_ROUTES_MAX) * sizeof(r->table->entries[0]));
	if (!r->table) {
		free(r);
		return -ENOMEM;
	}
	pthread_mutex_init(&r->lock, NULL);
	vm->irq_routes = r;
	return 0;
}

void irq_routes_exit(struct vm *vm)
{
	struct irq_routes *r = vm->irq_routes;

	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->table);
	free(r);
	vm->irq_routes = NULL;
}

int msi_irq_setup(struct vm *vm, struct msi_irq *irq, struct msi_msg msg)
{
	struct irq_routes *r = vm->irq_routes;
	int ret = 0, gsi = irq->gsi;

	pthread_mutex_lock(&r->lock);
	if (!gsi) {
		unsigned int i;

		for (i = 0; i < IRQ_ROUTES_MAX && r->used[i]; i++)
			;
		if (i == IRQ_ROUTES_MAX) {
			ret = -ENOSPC;
			goto out;
		}
		r->used[i] = true;
		gsi = IRQ_ROUTES_FIRST_MSI + (int)i;
	}
	r->msg[gsi - IRQ_ROUTES_FIRST_MSI] = msg;
	ret = routes_commit(vm);
	if (ret) {
		if (!irq->gsi)
			r->used[gsi - IRQ_ROUTES_FIRST_MSI] = false;
		goto out;
	}
	irq->gsi = gsi;
	irq->msg = msg;
out:
	pthread_mutex_unlock(&r->lock);
	if (ret || irq->fd >= 0)
		return ret;

	irq->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (irq->fd < 0)
		return -errno;
	irq->unbound = true;
	ret = msi_irq_bind(vm, irq, true);
	if (ret) {
		close(irq->fd);
		irq->fd = -1;
		irq->unbound = false;
	}
	return ret;
}

int msi_irq_bind(struct vm *vm, struct msi_irq *irq, bool on)
{
	if (irq->fd < 0 || !irq->gsi)
		return -EINVAL;
	if (irq->unbound != on)
		return 0;
	if (vm->vm_fd >= 0 &&
	    ioctl(vm->vm_fd, KVM_IRQFD, &(struct kvm_irqfd){
			.fd = (uint32_t)irq->fd, .gsi = (uint32_t)irq->gsi,
			.flags = on ? 0 : KVM_IRQFD_FLAG_DEASSIGN }) < 0)
		return -errno;
	irq->unbound = !on;
	return 0;
}

bool msi_irq_pending(const struct msi_irq *irq)
{
	struct pollfd p = { .fd = irq->fd, .events = POLLIN };

	return irq->fd >= 0 && irq->unbound && poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

int msi_irq_fire(struct vm *vm, struct msi_irq *irq)
{
	if (irq->fd >= 0)
		return eventfd_write(irq->fd, 1) < 0 ? -errno : 0;
	if (vm->vm_fd < 0)
		return 0;
	/* No irqfd (setup failed): deliver the message directly. */
	struct kvm_msi msi = { .address_lo = (uint32_t)irq->msg.addr,
			       .address_hi = (uint32_t)(irq->msg.addr >> 32), .data = irq->msg.data };

	return ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -errno : 0;
}

void msi_irq_release(struct vm *vm, struct msi_irq *irq)
{
	struct irq_routes *r = vm->irq_routes;

	if (irq->fd >= 0) {
		msi_irq_bind(vm, irq, false);
		close(irq->fd);
	}
	irq->fd = -1;
	irq->unbound = false;
	if (irq->gsi && r) {
		pthread_mutex_lock(&r->lock);
		r->used[irq->gsi - IRQ_ROUTES_FIRST_MSI] = false;
		routes_commit(vm);
		pthread_mutex_unlock(&r->lock);
	}
	irq->gsi = 0;
}

/* MSI-X */

int msix_init(struct msix *m, struct vm *vm, struct pci_device *dev, unsigned int nvec,
	      unsigned int bar, uint32_t table_off, uint32_t pba_off)
{
	unsigned int cap;

	if (nvec < 1 || nvec > PCI_MSIX_FLAGS_QSIZE + 1 || bar >= PCI_NR_BARS ||
	    (table_off | pba_off) & 7)
		return -EINVAL;
	cap = pci_add_cap(dev, PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF);
	if (!cap)
		return -ENOSPC;
	pci_set_cfg(dev, cap + PCI_MSIX_FLAGS, 2, nvec - 1, 0);
	pci_set_cfg(dev, cap + PCI_MSIX_TABLE, 4, table_off | bar, 0);
	pci_set_cfg(dev, cap + PCI_MSIX_PBA, 4, pba_off | bar, 0);
	return msix_init_at(m, vm, dev, cap);
}

int msix_init_at(struct msix *m, struct vm *vm, struct pci_device *dev, unsigned int cap)
{
	unsigned int nvec;

	if (cap < PCI_STD_HEADER_SIZEOF || cap + PCI_CAP_MSIX_SIZEOF > PCI_CFG_LEGACY_SIZE)
		return -EINVAL;
	nvec = (pci_cfg16(dev, cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE) + 1u;
	memset(m, 0, sizeof(*m));
	m->vec = calloc(nvec, sizeof(*m->vec));
	if (!m->vec)
		return -ENOMEM;
	for (unsigned int i = 0; i < nvec; i++) {
		m->vec[i].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;
		m->vec[i].irq = MSI_IRQ_INIT;
	}
	m->vm = vm;
	m->dev = dev;
	m->cap = cap;
	m->nvec = nvec;
	pthread_mutex_init(&m->lock, NULL);
	/* Disabled, unmasked, as after reset; only those two bits are writable. */
	pci_set_cfg(dev, cap + PCI_MSIX_FLAGS, 2, nvec - 1,
		    PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	pci_set_cfg(dev, cap + PCI_MSIX_TABLE, 4, pci_cfg32(dev, cap + PCI_MSIX_TABLE), 0);
	pci_set_cfg(dev, cap + PCI_MSIX_PBA, 4, pci_cfg32(dev, cap + PCI_MSIX_PBA), 0);
	return 0;
}

void msix_exit(struct msix *m)
{
	if (!m->vec)
		return;
	for (unsigned int i = 0; i < m->nvec; i++)
		msi_irq_release(m->vm, &m->vec[i].irq);
	free(m->vec);
	m->vec = NULL;
	pthread_mutex_destroy(&m->lock);
}

static bool vec_masked(const struct msix *m, const struct msix_vec *v)
{
	return m->fmask || (v->ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

bool msix_vec_masked(const struct msix *m, unsigned int vec)
{
	return vec_masked(m, &m->vec[vec]);
}

struct msi_msg msix_vec_msg(const struct msix *m, unsigned int vec)
{
	const struct msix_vec *v = &m->vec[vec];

	return (struct msi_msg){ (uint64_t)v->addr_hi << 32 | v->addr_lo, v->data };
}

/* Send vector @v now; with m->lock held. Routes are set up lazily, on first use. */
/*
 * Fire @irq, first routing it to @msg when it has no route yet or @reroute.
 * A failed reroute keeps the old route (logged); false when there was no
 * route to fire at all. Shared by MSI-X vectors and MSI vectors.
 */
static bool msi_route_and_fire(struct vm *vm, struct msi_irq *irq, struct msi_msg msg,
			       bool reroute, const char *dev, const char *what)
{
	if (!irq->gsi || reroute) {
		int ret = msi_irq_setup(vm, irq, msg);

		if (ret) {
			static struct ratelimit rl;

			if (ratelimit_ok(&rl, 5))
				pr_warn("%s: %s route: %s", dev, what, strerror(-ret));
			if (!irq->gsi)
				return false;
		}
	}
	msi_irq_fire(vm, irq);
	return true;
}

static void vec_send(struct msix *m, struct msix_vec *v)
{
	struct msi_msg msg = { (uint64_t)v->addr_hi << 32 | v->addr_lo, v->data };

	if (msi_route_and_fire(m->vm, &v->irq, msg, v->dirty, m->dev->name, "MSI-X"))
		v->dirty = false;
}

/* After a mask or enable change: deliver what became deliverable. */
static void flush_pending(struct msix *m)
{
	if (!m->enabled || m->fmask)
		return;
	for (unsigned int i = 0; i < m->nvec; i++) {
		struct msix_vec *v = &m->vec[i];

		if (v->pending && !vec_masked(m, v)) {
			v->pending = false;
			vec_send(m, v);
		}
	}
}

void msix_cfg_write(struct msix *m, unsigned int off, unsigned int len)
{
	uint16_t ctrl;

	if (off >= m->cap + PCI_MSIX_FLAGS + 2 || off + len <= m->cap + PCI_MSIX_FLAGS)
		return;
	ctrl = pci_cfg16(m->dev, m->cap + PCI_MSIX_FLAGS);
	pthread_mutex_lock(&m->lock);
	m->enabled = ctrl & PCI_MSIX_FLAGS_ENABLE;
	m->fmask = ctrl & PCI_MSIX_FLAGS_MASKALL;
	flush_pending(m);
	if (m->update)
		m->update(m, -1);
	pthread_mutex_unlock(&m->lock);
}

bool msix_enabled(struct msix *m)
{
	return __atomic_load_n(&m->enabled, __ATOMIC_ACQUIRE);
}

void msix_table_io(struct msix *m, uint64_t off, uint8_t *data, unsigned int len, bool is_write)
{
	uint64_t idx = off / MSIX_ENTRY_SIZE;
	struct msix_vec *v;
	uint32_t *word;

	if ((len != 4 && len != 8) || (off & (len - 1)) || idx >= m->nvec) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&m->lock);
	v = &m->vec[idx];
	for (unsigned int i = 0; i < len / 4; i++) {
		unsigned int field = (unsigned int)((off + 4 * i) % MSIX_ENTRY_SIZE);

		word = field == PCI_MSIX_ENTRY_LOWER_ADDR ? &v->addr_lo :
		       field == PCI_MSIX_ENTRY_UPPER_ADDR ? &v->addr_hi :
		       field == PCI_MSIX_ENTRY_DATA ? &v->data : &v->ctrl;
		if (!is_write) {
			le_write(data + 4 * i, 4, *word);
		} else if (word == &v->ctrl) {
			bool was_masked = vec_masked(m, v);

			/* Only the mask bit is defined; the rest is reserved, reads 0. */
			v->ctrl = (uint32_t)le_read(data + 4 * i, 4) & PCI_MSIX_ENTRY_CTRL_MASKBIT;
			if (was_masked && !vec_masked(m, v))
				flush_pending(m);
		} else {
			uint32_t val = (uint32_t)le_read(data + 4 * i, 4);

			if (word == &v->addr_lo)
				val &= ~3u;	/* bits 1:0 are reserved, read as zero */
			if (*word != val) {
				*word = val;
				v->dirty = true;
			}
		}
	}
	/* A guest retargeting an unmasked, live vector: move its route now. */
	if (is_write && v->dirty && v->irq.gsi && !vec_masked(m, v)) {
		struct msi_msg msg = { (uint64_t)v->addr_hi << 32 | v->addr_lo, v->data };

		if (!msi_irq_setup(m->vm, &v->irq, msg))
			v->dirty = false;
	}
	if (is_write && m->update)
		m->update(m, (int)idx);
	pthread_mutex_unlock(&m->lock);
}

void msix_pba_io(struct msix *m, uint64_t off, uint8_t *data, unsigned int len, bool is_write)
{
	if (is_write)
		return;
	if ((len != 4 && len != 8) || (off & (len - 1))) {
		memset(data, 0xff, len);
		return;
	}
	memset(data, 0, len);
	pthread_mutex_lock(&m->lock);
	for (unsigned int bit = 0; bit < len * 8; bit++) {
		uint64_t vec = off * 8 + bit;

		if (vec < m->nvec && m->vec[vec].pending)
			data[bit / 8] |= (uint8_t)(1u << (bit % 8));
	}
	pthread_mutex_unlock(&m->lock);
}

int msix_notify(struct msix *m, unsigned int vec)
{
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	if (!m->enabled) {
		ret = -ENOENT;
	} else if (vec >= m->nvec) {
		ret = -EINVAL;
	} else if (vec_masked(m, &m->vec[vec])) {
		m->vec[vec].pending = true;
	} else {
		vec_send(m, &m->vec[vec]);
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

/* MSI (PCI 3.0 6.8.1) */

/* Register offsets within the capability: they move with the 64-bit address. */
static unsigned int msi_data_off(const struct msi_cap *m)
{
	return m->is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32;
}

static unsigned int msi_mask_off(const struct msi_cap *m)
{
	return m->is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32;
}

static unsigned int msi_pending_off(const struct msi_cap *m)
{
	return m->is64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32;
}

/* Figures 6-9 to 6-12: 10, 14, 20 or 24 bytes. */
static unsigned int msi_cap_len(bool is64, bool maskable)
{
	if (maskable)
		return is64 ? PCI_MSI_PENDING_64 + 4 : PCI_MSI_PENDING_32 + 4;
	return is64 ? PCI_MSI_DATA_64 + 2 : PCI_MSI_DATA_32 + 2;
}

static uint32_t msi_vec_bits(unsigned int n)
{
	return n >= 32 ? ~0u : (1u << n) - 1;
}

int msi_cap_init(struct msi_cap *m, struct vm *vm, struct pci_device *dev, unsigned int nvec_max,
		 bool is64, bool maskable)
{
	unsigned int cap, mmc = 0;

	if (nvec_max < 1 || nvec_max > MSI_CAP_MAX_VEC || (nvec_max & (nvec_max - 1)))
		return -EINVAL;
	while ((1u << mmc) < nvec_max)
		mmc++;
	cap = pci_add_cap(dev, PCI_CAP_ID_MSI, msi_cap_len(is64, maskable));
	if (!cap)
		return -ENOSPC;
	pci_set_cfg(dev, cap + PCI_MSI_FLAGS, 2,
		    (uint16_t)(mmc << 1) | (is64 ? PCI_MSI_FLAGS_64BIT : 0) |
		    (maskable ? PCI_MSI_FLAGS_MASKBIT : 0), 0);
	return msi_cap_init_at(m, vm, dev, cap);
}

int msi_cap_init_at(struct msi_cap *m, struct vm *vm, struct pci_device *dev, unsigned int cap)
{
	uint16_t flags = pci_cfg16(dev, cap + PCI_MSI_FLAGS);
	unsigned int mmc = (flags & PCI_MSI_FLAGS_QMASK) >> 1;
	bool is64 = flags & PCI_MSI_FLAGS_64BIT, maskable = flags & PCI_MSI_FLAGS_MASKBIT;

	/* MMC values above 5 are reserved: treat them as 32 vectors. */
	if (mmc > 5)
		mmc = 5;
	if (cap < PCI_STD_HEADER_SIZEOF || cap + msi_cap_len(is64, maskable) > PCI_CFG_LEGACY_SIZE)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->vm = vm;
	m->dev = dev;
	m->cap = cap;
	m->nvec_max = 1u << mmc;
	m->is64 = is64;
	m->maskable = maskable;
	m->nvec = 1;
	for (unsigned int i = 0; i < MSI_CAP_MAX_VEC; i++)
		m->irq[i] = MSI_IRQ_INIT;
	pthread_mutex_init(&m->lock, NULL);

	flags = (uint16_t)(mmc << 1);
	if (is64)
		flags |= PCI_MSI_FLAGS_64BIT;
	if (maskable)
		flags |= PCI_MSI_FLAGS_MASKBIT;
	pci_set_cfg(dev, cap + PCI_MSI_FLAGS, 2, flags, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	/* Bits 1:0 of the address are reserved: DWORD-aligned messages only. */
	pci_set_cfg(dev, cap + PCI_MSI_ADDRESS_LO, 4, 0, ~3u);
	if (is64)
		pci_set_cfg(dev, cap + PCI_MSI_ADDRESS_HI, 4, 0, ~0u);
	pci_set_cfg(dev, cap + msi_data_off(m), 2, 0, 0xffff);
	if (maskable) {
		pci_set_cfg(dev, cap + msi_mask_off(m), 4, 0, msi_vec_bits(m->nvec_max));
		pci_set_cfg(dev, cap + msi_pending_off(m), 4, 0, 0);
	}
	return 0;
}

void msi_cap_exit(struct msi_cap *m)
{
	if (!m->vm)
		return;
	for (unsigned int i = 0; i < MSI_CAP_MAX_VEC; i++)
		msi_irq_release(m->vm, &m->irq[i]);
	pthread_mutex_destroy(&m->lock);
	m->vm = NULL;
}

/*
 * Vector @vec's message: the one address, and the data with its low
 * log2(nvec) bits replaced by the vector number (6.8.3.4). With m->lock held;
 * read from dev->cfg without the host lock: a notify racing a guest rewrite
 * may use a half-written message, as hardware may, and msi_cap_cfg_write
 * moves the route once the write is done.
 */
struct msi_msg msi_cap_vec_msg(const struct msi_cap *m, unsigned int vec)
{
	const struct pci_device *dev = m->dev;
	uint64_t addr = pci_cfg32(dev, m->cap + PCI_MSI_ADDRESS_LO);
	uint32_t data = pci_cfg16(dev, m->cap + msi_data_off(m));

	if (m->is64)
		addr |= (uint64_t)pci_cfg32(dev, m->cap + PCI_MSI_ADDRESS_HI) << 32;
	return (struct msi_msg){ addr, (data & ~(m->nvec - 1)) | vec };
}

static bool msi_msg_eq(struct msi_msg a, struct msi_msg b)
{
	return a.addr == b.addr && a.data == b.data;
}

/* Send vector @vec now; with m->lock held. Routed on first use or after a change. */
static void msi_cap_send(struct msi_cap *m, unsigned int vec)
{
	struct msi_irq *irq = &m->irq[vec];
	struct msi_msg msg = msi_cap_vec_msg(m, vec);

	msi_route_and_fire(m->vm, irq, msg, !msi_msg_eq(irq->msg, msg), m->dev->name, "MSI");
}

/*
 * Show m->pending to the guest; with m->lock held. The host lock need not
 * be held: the guest cannot write these bytes, and msi_cap_cfg_write
 * refreshes them after a config write that rewrote them with an older copy.
 */
static void msi_cap_show_pending(struct msi_cap *m)
{
	if (m->maskable)
		le_write(m->dev->cfg + m->cap + msi_pending_off(m), 4, m->pending);
}

void msi_cap_show_fd_pending(struct msi_cap *m, unsigned int off, unsigned int len)
{
	unsigned int reg;
	uint32_t shown;

	if (!m->maskable)
		return;
	reg = m->cap + msi_pending_off(m);
	if (off >= reg + 4 || off + len <= reg)
		return;
	pthread_mutex_lock(&m->lock);
	shown = m->pending;
	for (unsigned int i = 0; m->enabled && i < m->nvec; i++)
		if ((m->mask & (1u << i)) && msi_irq_pending(&m->irq[i]))
			shown |= 1u << i;
	le_write(m->dev->cfg + reg, 4, shown);
	pthread_mutex_unlock(&m->lock);
}

void msi_cap_cfg_write(struct msi_cap *m, unsigned int off, unsigned int len)
{
	struct pci_device *dev = m->dev;
	unsigned int flags_off = m->cap + PCI_MSI_FLAGS, mmc, mme;
	uint16_t ctrl;

	if (off >= m->cap + msi_cap_len(m->is64, m->maskable) || off + len <= m->cap)
		return;
	/*
	 * MME above MMC is undefined (6.8.1.3); clamp it so the guest reads
	 * back what the function really allocated.
	 */
	ctrl = pci_cfg16(dev, flags_off);
	mmc = (ctrl & PCI_MSI_FLAGS_QMASK) >> 1;
	mme = (ctrl & PCI_MSI_FLAGS_QSIZE) >> 4;
	if (mme > mmc) {
		mme = mmc;
		ctrl = (uint16_t)((ctrl & ~PCI_MSI_FLAGS_QSIZE) | mme << 4);
		le_write(dev->cfg + flags_off, 2, ctrl);
	}

	pthread_mutex_lock(&m->lock);
	__atomic_store_n(&m->enabled, (ctrl & PCI_MSI_FLAGS_ENABLE) != 0, __ATOMIC_RELEASE);
	m->nvec = 1u << mme;
	m->mask = m->maskable ? pci_cfg32(dev, m->cap + msi_mask_off(m)) : 0;
	/* Vectors the function no longer has cannot stay pending. */
	m->pending &= msi_vec_bits(m->nvec);
	if (m->enabled) {
		for (unsigned int i = 0; i < m->nvec; i++) {
			struct msi_irq *irq = &m->irq[i];
			struct msi_msg msg = msi_cap_vec_msg(m, i);

			if (m->pending & ~m->mask & (1u << i)) {
				m->pending &= ~(1u << i);
				msi_cap_send(m, i);
			} else if (irq->gsi && !msi_msg_eq(irq->msg, msg)) {
				/* A live vector retargeted: move its route now. */
				msi_irq_setup(m->vm, irq, msg);
			}
		}
	}
	msi_cap_show_pending(m);
	if (m->update)
		m->update(m);
	pthread_mutex_unlock(&m->lock);
}

bool msi_cap_enabled(struct msi_cap *m)
{
	return __atomic_load_n(&m->enabled, __ATOMIC_ACQUIRE);
}

int msi_cap_notify(struct msi_cap *m, unsigned int vec)
{
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	if (!m->enabled) {
		ret = -ENOENT;
	} else if (vec >= m->nvec) {
		ret = -EINVAL;
	} else if (m->mask & (1u << vec)) {
		if (!(m->pending & (1u << vec))) {
			m->pending |= 1u << vec;
			msi_cap_show_pending(m);
		}
	} else {
		msi_cap_send(m, vec);
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}
