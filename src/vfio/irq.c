// SPDX-License-Identifier: Apache-2.0
/*
 * Interrupts of an assigned device. The device's interrupt handler in the
 * host kernel (vfio-pci) signals an eventfd; every such eventfd is a KVM
 * irqfd, so an interrupt goes from the host kernel into the guest without
 * kvmio running.
 *
 * - MSI-X: one eventfd per vector, bound to a GSI routed to the vector's
 *   address/data. Vectors reach VFIO as the guest unmasks them; a masked
 *   vector keeps its eventfd in VFIO but is unbound from KVM, so what it
 *   signals waits in the eventfd (the PBA shows it) and KVM delivers it
 *   when the vector is unmasked and the fd bound again.
 * - MSI: the same for the enabled vectors, all at once (MSI cannot grow).
 * - INTx: a level-triggered irqfd with a resample eventfd. vfio-pci masks
 *   the line when it fires; the guest's EOI signals the resample fd, which
 *   VFIO takes as "unmask", all inside the host kernel.
 *
 * The device has one of the three at a time (vfio-pci refuses more):
 * enabling MSI or MSI-X in the guest switches INTx off, disabling both
 * switches it back on. State under vd->irq_lock; the hooks are called with
 * the msix/msi_cap lock held, taken first.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "dev.h"
#include "hw/pcihp.h"
#include "loop.h"
#include "util.h"
#include "vfio/vfio.h"
#include "vm.h"

static struct ratelimit irq_rl;

static int set_irqs_ioctl(struct vfio_device *vd, struct vfio_irq_set *set)
{
	return ioctl(vd->fd, VFIO_DEVICE_SET_IRQS, set) < 0 ? -errno : 0;
}

static int set_irqs(struct vfio_device *vd, struct vfio_irq_set *set)
{
	return vd->set_irqs ? vd->set_irqs(vd, set) : set_irqs_ioctl(vd, set);
}

static const char *const index_name[] = { "INTx", "MSI", "MSI-X", "ERR", "REQ" };

/* @count eventfds (-1: none for that one) for @index from @start; 0 or negative errno. */
static int irqs_set_fds(struct vfio_device *vd, unsigned int index, uint32_t action,
			unsigned int start, unsigned int count, const int *fds)
{
	size_t sz = sizeof(struct vfio_irq_set) + count * sizeof(int32_t);
	struct vfio_irq_set *set = calloc(1, sz);
	int ret;

	if (!set)
		return -ENOMEM;
	set->argsz = (uint32_t)sz;
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | action;
	set->index = index;
	set->start = start;
	set->count = count;
	for (unsigned int i = 0; i < count; i++)
		((int32_t *)set->data)[i] = fds[i];
	ret = set_irqs(vd, set);
	free(set);
	if (ret && ratelimit_ok(&irq_rl, 5))
		pr_warn("%s: enabling %s %u-%u: %s", vd->name, index_name[index], start,
			start + count - 1, strerror(-ret));
	return ret;
}

static void irqs_disable(struct vfio_device *vd, unsigned int index)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set), .index = index,
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
	};
	int ret = set_irqs(vd, &set);

	if (ret && ratelimit_ok(&irq_rl, 5))
		pr_warn("%s: disabling %s: %s", vd->name, index_name[index], strerror(-ret));
}

/* INTx */

static bool has_intx(const struct vfio_device *vd)
{
	return vd->pci.cfg[PCI_INTERRUPT_PIN] && vd->irq_count[VFIO_PCI_INTX_IRQ_INDEX];
}

static int intx_irqfd(struct vfio_device *vd, bool on)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)vd->intx_fd, .gsi = vd->pci.intx_gsi,
		.flags = on ? KVM_IRQFD_FLAG_RESAMPLE : KVM_IRQFD_FLAG_DEASSIGN,
		.resamplefd = on ? (uint32_t)vd->intx_resample_fd : 0,
	};

	if (vd->intx_bound == on)
		return 0;
	if (vd->vm->vm_fd >= 0 && ioctl(vd->vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	vd->intx_bound = on;
	return 0;
}

static void intx_on(struct vfio_device *vd)
{
	int ret;

	if (!has_intx(vd) || vd->mode != VFIO_IRQ_NONE)
		return;
	ret = intx_irqfd(vd, true);
	if (ret) {
		if (ratelimit_ok(&irq_rl, 5))
			pr_warn("%s: INTx irqfd on GSI %u: %s", vd->name, vd->pci.intx_gsi,
				strerror(-ret));
		return;
	}
	if (irqs_set_fds(vd, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1,
			 &vd->intx_fd))
		return;
	/* The guest's EOI signals this fd; VFIO unmasks the line on it. */
	irqs_set_fds(vd, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK, 0, 1,
		     &vd->intx_resample_fd);
	vd->mode = VFIO_IRQ_INTX;
}

static void intx_off(struct vfio_device *vd)
{
	if (vd->mode != VFIO_IRQ_INTX)
		return;
	irqs_disable(vd, VFIO_PCI_INTX_IRQ_INDEX);
	/* Unbinding the last resampling irqfd of the GSI also lowers the line. */
	intx_irqfd(vd, false);
	vd->mode = VFIO_IRQ_NONE;
}

/* MSI and MSI-X vectors */

/* Route vector @i (@what: "MSI" or "MSI-X") to @msg unless it is routed there; true if it was moved. */
static bool vec_route(struct vfio_device *vd, struct msi_irq *irq, struct msi_msg msg,
		      const char *what, unsigned int i)
{
	int ret;

	if (irq->gsi && irq->msg.addr == msg.addr && irq->msg.data == msg.data)
		return false;
	ret = msi_irq_setup(vd->vm, irq, msg);
	if (ret && ratelimit_ok(&irq_rl, 5))
		pr_warn("%s: %s vector %u route: %s", vd->name, what, i, strerror(-ret));
	return true;
}

/* Bind (@on, unmasked) or unbind (masked) vector @i's eventfd, if it has one. */
static void vec_bind(struct vfio_device *vd, struct msi_irq *irq, bool on, const char *what,
		     unsigned int i)
{
	int ret = irq->fd >= 0 ? msi_irq_bind(vd->vm, irq, on) : 0;

	if (ret && ratelimit_ok(&irq_rl, 5))
		pr_warn("%s: %s vector %u: %s its irqfd: %s", vd->name, what, i,
			on ? "binding" : "unbinding", strerror(-ret));
}

/* MSI-X */

static void msix_off(struct vfio_device *vd)
{
	if (vd->mode != VFIO_IRQ_MSIX)
		return;
	irqs_disable(vd, VFIO_PCI_MSIX_IRQ_INDEX);
	for (unsigned int i = 0; i < vd->msix.nvec; i++) {
		vd->hw_fd[i] = -1;
		vec_bind(vd, &vd->msix.vec[i].irq, false, "MSI-X", i);
	}
	vd->hw_nvec = 0;
	vd->mode = VFIO_IRQ_NONE;
}

/*
 * Route, bind or unbind vector @i as the guest's table and masks say. A
 * masked vector is not routed: MSI-X vectors reach VFIO as they are unmasked.
 */
static void msix_vec_sync(struct vfio_device *vd, unsigned int i)
{
	struct msix *m = &vd->msix;
	struct msi_irq *irq = &m->vec[i].irq;

	if (msix_vec_masked(m, i)) {
		vec_bind(vd, irq, false, "MSI-X", i);
		return;
	}
	if (vec_route(vd, irq, msix_vec_msg(m, i), "MSI-X", i))
		m->vec[i].dirty = false;
	vec_bind(vd, irq, true, "MSI-X", i);
	pr_debug("%s: MSI-X vector %u %s", vd->name, i, irq->unbound ? "unbound" : "live");
}

static void msi_off(struct vfio_device *vd);
static void msi_sync(struct vfio_device *vd);

void vfio_msix_update(struct msix *m, int vec)
{
	struct vfio_device *vd = m->opaque;
	unsigned int lo = vec < 0 ? 0 : (unsigned int)vec, hi = vec < 0 ? m->nvec : lo + 1;
	unsigned int need = 1;
	int *fds;

	pthread_mutex_lock(&vd->irq_lock);
	if (!m->enabled) {
		msix_off(vd);
		/* MSI enabled all along, overruled by MSI-X until now: it takes over. */
		if (vd->has_msi && vd->msi.enabled)
			msi_sync(vd);
		else
			intx_on(vd);
		goto out;
	}
	/* Both enabled is undefined; MSI-X wins, as on Linux's side. */
	msi_off(vd);
	intx_off(vd);
	for (unsigned int i = lo; i < hi && i < m->nvec; i++)
		msix_vec_sync(vd, i);

	/* VFIO needs every vector up to the highest one with an eventfd. */
	fds = malloc(m->nvec * sizeof(int));
	if (!fds)
		goto out;
	for (unsigned int i = 0; i < m->nvec; i++) {
		fds[i] = m->vec[i].irq.fd;
		if (fds[i] >= 0)
			need = i + 1;
	}
	if (vd->mode != VFIO_IRQ_MSIX || need > vd->hw_nvec) {
		/*
		 * First enable, or more vectors than VFIO has. Without
		 * dynamic allocation (NORESIZE, kernels before 6.5) growing
		 * means disabling and enabling again, as QEMU does.
		 */
		unsigned int from = 0;

		if (vd->mode == VFIO_IRQ_MSIX) {
			if (vd->irq_flags[VFIO_PCI_MSIX_IRQ_INDEX] & VFIO_IRQ_INFO_NORESIZE)
				irqs_disable(vd, VFIO_PCI_MSIX_IRQ_INDEX);
			else
				from = vd->hw_nvec;
		}
		if (irqs_set_fds(vd, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, from,
				 need - from, fds + from)) {
			if (vd->mode == VFIO_IRQ_MSIX && !from)
				vd->mode = VFIO_IRQ_NONE, vd->hw_nvec = 0;
			goto free;
		}
		vd->mode = VFIO_IRQ_MSIX;
		vd->hw_nvec = need;
		memcpy(vd->hw_fd + from, fds + from, (need - from) * sizeof(int));
	}
	/* A vector that got its eventfd after VFIO enabled it. */
	for (unsigned int i = 0; i < vd->hw_nvec; i++) {
		if (vd->hw_fd[i] == fds[i])
			continue;
		if (!irqs_set_fds(vd, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, i, 1,
				  &fds[i]))
			vd->hw_fd[i] = fds[i];
	}
free:
	free(fds);
out:
	pthread_mutex_unlock(&vd->irq_lock);
}

void vfio_msix_pba_io(struct vfio_device *vd, uint64_t off, uint8_t *data, unsigned int len)
{
	struct msix *m = &vd->msix;

	/* Signals that wait in a masked vector's eventfd are its pending bit. */
	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < m->nvec; i++)
		if (msix_vec_masked(m, i) && msi_irq_pending(&m->vec[i].irq))
			m->vec[i].pending = true;
	pthread_mutex_unlock(&m->lock);
	msix_pba_io(m, off, data, len, false);
}

/* MSI */

static void msi_off(struct vfio_device *vd)
{
	if (vd->mode != VFIO_IRQ_MSI)
		return;
	irqs_disable(vd, VFIO_PCI_MSI_IRQ_INDEX);
	for (unsigned int i = 0; i < MSI_CAP_MAX_VEC; i++)
		vec_bind(vd, &vd->msi.irq[i], false, "MSI", i);
	vd->hw_nvec = 0;
	vd->mode = VFIO_IRQ_NONE;
}

/*
 * Arm MSI as the guest's capability has it: every enabled vector routed
 * (masked or not: VFIO takes them all at once), bound while unmasked.
 * irq_lock held; the capability does not change under us, as every write
 * to it comes through config space under the host lock.
 */
static void msi_sync(struct vfio_device *vd)
{
	struct msi_cap *m = &vd->msi;
	int fds[MSI_CAP_MAX_VEC];
	bool changed = false;

	intx_off(vd);
	for (unsigned int i = 0; i < m->nvec; i++) {
		struct msi_irq *irq = &m->irq[i];
		int old = irq->fd;

		vec_route(vd, irq, msi_cap_vec_msg(m, i), "MSI", i);
		vec_bind(vd, irq, !(m->mask & (1u << i)), "MSI", i);
		changed |= irq->fd != old;
		fds[i] = irq->fd;
	}
	if (vd->mode == VFIO_IRQ_MSI && vd->hw_nvec == m->nvec && !changed)
		return;
	/* MSI vectors are allocated together: a new count means a new enable. */
	if (vd->mode == VFIO_IRQ_MSI)
		irqs_disable(vd, VFIO_PCI_MSI_IRQ_INDEX);
	vd->mode = VFIO_IRQ_NONE;
	if (!irqs_set_fds(vd, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0, m->nvec, fds)) {
		vd->mode = VFIO_IRQ_MSI;
		vd->hw_nvec = m->nvec;
	}
}

void vfio_msi_update(struct msi_cap *m)
{
	struct vfio_device *vd = m->opaque;

	pthread_mutex_lock(&vd->irq_lock);
	if (!m->enabled) {
		msi_off(vd);
		if (!(vd->has_msix && msix_enabled(&vd->msix)))
			intx_on(vd);
	} else if (vd->mode != VFIO_IRQ_MSIX) {
		msi_sync(vd);
	}
	pthread_mutex_unlock(&vd->irq_lock);
}

int vfio_irq_init(struct vfio_device *vd)
{
	if (vd->has_msix) {
		vd->hw_fd = malloc(vd->msix.nvec * sizeof(int));
		if (!vd->hw_fd)
			return -ENOMEM;
		for (unsigned int i = 0; i < vd->msix.nvec; i++)
			vd->hw_fd[i] = -1;
	}
	if (!has_intx(vd))
		return 0;
	vd->intx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vd->intx_resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vd->intx_fd < 0 || vd->intx_resample_fd < 0) {
		int ret = -errno;

		vfio_irq_exit(vd);
		return ret;
	}
	/* Like hardware after reset: INTx until the guest enables MSI or MSI-X. */
	pthread_mutex_lock(&vd->irq_lock);
	intx_on(vd);
	pthread_mutex_unlock(&vd->irq_lock);
	return 0;
}

void vfio_irq_exit(struct vfio_device *vd)
{
	pthread_mutex_lock(&vd->irq_lock);
	if (vd->mode == VFIO_IRQ_MSIX)
		msix_off(vd);
	else if (vd->mode == VFIO_IRQ_MSI)
		msi_off(vd);
	else
		intx_off(vd);
	pthread_mutex_unlock(&vd->irq_lock);
	if (vd->intx_fd >= 0)
		close(vd->intx_fd);
	if (vd->intx_resample_fd >= 0)
		close(vd->intx_resample_fd);
	vd->intx_fd = vd->intx_resample_fd = -1;
	free(vd->hw_fd);
	vd->hw_fd = NULL;
}

/*
 * Host-initiated removal. When the host unbinds the device from vfio-pci,
 * the kernel signals the request eventfd (again every few seconds) and
 * waits for us to close the device. The guest is asked to eject it through
 * ACPI hotplug; if it has not within req_timeout_s, the device is removed
 * by surprise: off the bus, its slots, IRQs and mappings gone, the fd
 * closed, and the guest told to rescan the now empty slot. Either way the
 * host's unbind does not wait on the guest for longer than the timeout.
 */
static void surprise_remove(struct vfio_device *vd)
{
	struct vm *vm = vd->vm;
	unsigned int slot = vd->pci.devfn >> 3;

	pr_warn("%s (%s): the guest did not eject it within %u s; removing it by surprise",
		vd->name, vd->dev.id, vd->req_timeout_s);
	dev_remove(&vm->devs, &vd->dev);
	/* A device check on an empty slot: the guest's driver lets go of it. */
	if (pcihp_plugged(vm, slot))
		pr_debug("%s: cannot tell the guest slot %u is empty", vd->name, slot);
}

static void on_req_timeout(void *opaque, int fd, uint32_t events)
{
	struct vfio_device *vd = opaque;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	surprise_remove(vd);
}

static void on_req(void *opaque, int fd, uint32_t events)
{
	struct vfio_device *vd = opaque;
	unsigned int slot = vd->pci.devfn >> 3;
	eventfd_t v;

	if (eventfd_read(fd, &v) < 0 || vd->req_asked)
		return;
	vd->req_asked = true;
	pr_info("%s (%s): the host wants the device back; asking the guest to eject it "
		"(%u s before it goes anyway)", vd->name, vd->dev.id, vd->req_timeout_s);
	dev_set_state(&vd->vm->devs, &vd->dev, DEV_EJECTING);
	if (pcihp_request_eject(vd->vm, slot) || !vd->req_timeout_s) {
		surprise_remove(vd);
		return;
	}
	loop_timer_arm(vd->req_timer, (uint64_t)vd->req_timeout_s * 1000);
}

int vfio_req_init(struct vfio_device *vd)
{
	struct loop *l = &vd->vm->loop;
	int ret;

	vd->req_fd = vd->req_timer = -1;
	if (vd->irq_count[VFIO_PCI_REQ_IRQ_INDEX] < 1 ||
	    !(vd->irq_flags[VFIO_PCI_REQ_IRQ_INDEX] & VFIO_IRQ_INFO_EVENTFD))
		return 0;
	vd->req_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vd->req_fd < 0)
		return -errno;
	vd->req_timer = loop_timer_new(l, on_req_timeout, vd);
	ret = vd->req_timer < 0 ? vd->req_timer : loop_add(l, vd->req_fd, EPOLLIN, on_req, vd);
	if (!ret)
		ret = irqs_set_fds(vd, VFIO_PCI_REQ_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1,
				   &vd->req_fd);
	if (ret)
		vfio_req_exit(vd);
	return ret;
}

void vfio_req_exit(struct vfio_device *vd)
{
	struct loop *l = &vd->vm->loop;

	if (vd->req_fd < 0)
		return;
	irqs_disable(vd, VFIO_PCI_REQ_IRQ_INDEX);
	loop_del(l, vd->req_fd);
	close(vd->req_fd);
	vd->req_fd = -1;
	if (vd->req_timer >= 0)
		loop_timer_free(l, vd->req_timer);
	vd->req_timer = -1;
}
