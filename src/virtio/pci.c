// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-pci, modern interface only (virtio 1.2 section 4.1).
 *
 * One 32 KiB memory BAR holds every structure:
 *
 *   0x0000 common configuration     0x3000 notifications, 4 bytes per queue
 *   0x1000 ISR status               0x4000 MSI-X table
 *   0x2000 device configuration     0x5000 MSI-X PBA
 *
 * Queue notifications are KVM ioeventfds on the notify addresses, so a kick
 * never leaves the kernel; a worker thread per device waits on them and on
 * the fds the device model watches, and calls the model there. If KVM
 * refuses the ioeventfd, the BAR handler signals the same eventfd, so the
 * worker sees one path either way.
 *
 * Locks: t->lock guards the common configuration (vCPU threads). The worker
 * never takes it, so a vCPU holding it may park the worker and wait.
 * Interrupt delivery from the worker uses only msix.lock and isr_lock.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dev.h"
#include "sandbox.h"
#include "iommu/iommu.h"
#include "pci/msi.h"
#include "pci/pci.h"
#include "loop.h"
#include "util.h"
#include "virtio/virtio.h"
#include "vm.h"

#define VPCI_VENDOR		0x1af4
#define VPCI_DEVICE_BASE	0x1040	/* + virtio device ID (4.1.2.1) */
#define VPCI_BAR		0
#define VPCI_BAR_SIZE		0x8000
#define VPCI_COMMON		0x0000
#define VPCI_COMMON_SIZE	0x40
#define VPCI_ISR		0x1000
#define VPCI_DEVCFG		0x2000
#define VPCI_NOTIFY		0x3000
#define VPCI_NOTIFY_MULT	4
#define VPCI_MSIX_TABLE		0x4000
#define VPCI_MSIX_PBA		0x5000
#define VPCI_ISR_QUEUE		0x1	/* ISR bit 0: a queue interrupt (4.1.4.5) */

/* Feature bits the transport itself offers, on top of the device's. */
#define VPCI_FEATURES		(1ULL << VIRTIO_F_VERSION_1)

enum worker_state { W_PARKED, W_RUN, W_EXIT };

struct vpci_queue {
	uint16_t size;
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc, driver, device;
	int kick_fd;		/* eventfd: ioeventfd target, and self-kicks */
	bool ioeventfd;		/* registered with KVM at ioeventfd_addr */
	uint64_t ioeventfd_addr;
	uint32_t ioeventfd_len;
};

struct virtio_pci {
	struct device dev;		/* in vm->devs (dev.h) */
	struct pci_device pci;
	struct msix msix;
	struct virtio_dev *vdev;
	struct vm *vm;
	char name[32];
	bool gone;			/* unplugged: under lock, never starts again */
	bool owns_vdev;			/* added: release destroys the device model too */

	pthread_mutex_t lock;		/* common configuration */
	uint32_t dfselect, gfselect;
	uint64_t driver_features;	/* as written by the driver */
	uint8_t status;			/* written under lock, NEEDS_RESET also atomically */
	uint8_t config_gen;
	uint16_t queue_sel;
	uint16_t msix_config;
	bool started;			/* ops->start succeeded, not stopped since */
	bool master;			/* COMMAND.Bus Master, as last written */
	struct vpci_queue q[VIRTIO_MAX_QUEUES];

	pthread_mutex_t isr_lock;
	uint8_t isr;

	/* Worker thread */
	pthread_t thread;
	bool thread_up;
	int epfd, ctl_fd;
	pthread_mutex_t wlock;
	pthread_cond_t wcond;
	enum worker_state wstate;
	bool parked;
	/*
	 * Quiescence for the IOMMU (quiesce): in_cb is set while the worker
	 * runs device callbacks, qseq counts its returns to the top of its
	 * loop. Both atomic.
	 */
	bool in_cb;
	uint32_t qseq;
	pthread_cond_t qcond;		/* with wlock: the worker passed the top of its loop */
	unsigned int qwaiters;		/* under wlock: quiesce calls waiting on qcond */
	struct dma_listener dma_listener;
	struct poll_adapt poll;		/* the worker's, before it sleeps */
	struct ratelimit rl;
	unsigned int pcicfg_cap;	/* config offset of VIRTIO_PCI_CAP_PCI_CFG */
};

#define EV_CTL		0xffffffffu
#define EV_WATCH	0x100u

static uint16_t nvec(const struct virtio_pci *t)
{
	return (uint16_t)(t->vdev->ops->nqueues + 1);
}

/* Interrupts */

static void raise_intx(struct virtio_pci *t, uint8_t bit)
{
	pthread_mutex_lock(&t->isr_lock);
	t->isr |= bit;
	pci_set_irq(&t->pci, true);
	pthread_mutex_unlock(&t->isr_lock);
}

/*
 * De-assert INTx, and with @clear take the ISR bits as well (a driver's ISR
 * read, a reset). Returns the ISR as it was.
 */
static uint8_t lower_intx(struct virtio_pci *t, bool clear)
{
	uint8_t isr;

	pthread_mutex_lock(&t->isr_lock);
	isr = t->isr;
	if (clear)
		t->isr = 0;
	pci_set_irq(&t->pci, false);
	pthread_mutex_unlock(&t->isr_lock);
	return isr;
}

static void send_vector(struct virtio_pci *t, uint16_t vec, uint8_t isr_bit)
{
	int ret = msix_notify(&t->msix, vec);

	if (ret == -ENOENT)
		raise_intx(t, isr_bit);
	/* -EINVAL: NO_VECTOR or out of range: the driver asked for no interrupt. */
}

bool virtio_queue_interrupt(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_pci *t = vdev->transport;

	if (q >= vdev->ops->nqueues || !virtq_should_notify(&vdev->vq[q]))
		return false;
	send_vector(t, __atomic_load_n(&t->q[q].msix_vector, __ATOMIC_RELAXED),
		    VPCI_ISR_QUEUE);
	return true;
}

void virtio_config_interrupt(struct virtio_dev *vdev)
{
	struct virtio_pci *t = vdev->transport;

	__atomic_add_fetch(&t->config_gen, 1, __ATOMIC_RELEASE);
	send_vector(t, __atomic_load_n(&t->msix_config, __ATOMIC_RELAXED), VIRTIO_PCI_ISR_CONFIG);
}

void virtio_set_needs_reset(struct virtio_dev *vdev, const char *why)
{
	struct virtio_pci *t = vdev->transport;

	if (ratelimit_ok(&t->rl, 3))
		pr_warn("%s: %s; the device needs a reset", t->name, why);
	if (__atomic_fetch_or(&t->status, VIRTIO_CONFIG_S_NEEDS_RESET, __ATOMIC_ACQ_REL) &
	    VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	if (__atomic_load_n(&t->status, __ATOMIC_ACQUIRE) & VIRTIO_CONFIG_S_DRIVER_OK)
		virtio_config_interrupt(vdev);
	/* Wake the worker so it parks: ready watches must not spin it until the reset. */
	eventfd_write(t->ctl_fd, 1);
}

static bool needs_reset(struct virtio_pci *t)
{
	return __atomic_load_n(&t->status, __ATOMIC_ACQUIRE) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* The worker */

static void *worker(void *arg)
{
	struct virtio_pci *t = arg;
	struct virtio_dev *vdev = t->vdev;
	struct epoll_event ev[16];
	char name[16];

	/* "virtio-net@03", cut to what the kernel keeps: for top -H, perf and gdb. */
	snprintf(name, sizeof(name), "%.15s", t->name);
	pthread_setname_np(pthread_self(), name);
	/* Its model's filter; a thread left unfiltered by a failure is not one to run. */
	if (sandbox_enter(sandbox_kind_of(vdev->ops->name), t->name)) {
		vm_request_stop(t->vm, VM_STOP_ERROR);
		pthread_mutex_lock(&t->wlock);
		while (t->wstate != W_EXIT) {
			t->parked = true;
			pthread_cond_broadcast(&t->wcond);
			pthread_cond_wait(&t->wcond, &t->wlock);
		}
		pthread_mutex_unlock(&t->wlock);
		return NULL;
	}
	sandbox_test_hook(vdev->ops->name);
	for (;;) {
		/* A quiescent point: no ring pointer or translation is held across it. */
		__atomic_store_n(&t->in_cb, false, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&t->qseq, 1, __ATOMIC_SEQ_CST);
		pthread_mutex_lock(&t->wlock);
		if (t->qwaiters)
			pthread_cond_broadcast(&t->qcond);
		while (t->wstate == W_PARKED) {
			t->parked = true;
			pthread_cond_broadcast(&t->wcond);
			pthread_cond_wait(&t->wcond, &t->wlock);
		}
		t->parked = false;
		if (t->wstate == W_EXIT) {
			pthread_mutex_unlock(&t->wlock);
			return NULL;
		}
		pthread_mutex_unlock(&t->wlock);

		/* A device that needs a reset does nothing until the driver resets it. */
		if (needs_reset(t)) {
			pthread_mutex_lock(&t->wlock);
			if (t->wstate == W_RUN)
				t->wstate = W_PARKED;
			pthread_mutex_unlock(&t->wlock);
			continue;
		}

		int n = poll_epoll_wait(&t->poll, t->epfd, ev, ARRAY_SIZE(ev));

		/* Before any callback looks at its space's generation (quiesce's other half). */
		__atomic_store_n(&t->in_cb, true, __ATOMIC_SEQ_CST);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);

		for (int i = 0; i < n; i++) {
			uint32_t tag = ev[i].data.u32;
			eventfd_t cnt;

			if (tag == EV_CTL) {
				eventfd_read(t->ctl_fd, &cnt);
			} else if (tag & EV_WATCH) {
				struct virtio_watch *w = &vdev->watch[tag & 0xff];

				/* An event already fetched for a watch disabled since. */
				if (!needs_reset(t) && !w->off)
					w->cb(vdev, w->fd, (short)ev[i].events);
			} else if (eventfd_read(t->q[tag].kick_fd, &cnt) == 0 &&
				   vdev->vq_enabled[tag] && !needs_reset(t)) {
				vdev->ops->notify(vdev, tag);
			}
		}
	}
}

/* Does the changed range [lo, hi] touch a ring of an enabled queue? */
static bool rings_in(const struct virtio_pci *t, uint64_t lo, uint64_t hi)
{
	const struct virtio_dev *vdev = t->vdev;

	for (unsigned int i = 0; i < vdev->ops->nqueues && i < VIRTIO_MAX_QUEUES; i++)
		if (vdev->vq_enabled[i] && virtq_rings_in(&vdev->vq[i], lo, hi))
			return true;
	return false;
}

/*
 * The function's IOMMU mappings changed (dma_as_notify, from a vCPU
 * completing an invalidation; the generation is already new). When the
 * change touches the rings (or is wider than a page range), wait until the
 * worker is outside its callbacks, so that the ring pointers it holds are
 * not used after the guest sees the invalidation complete; its next
 * callback sees the new generation and maps the rings again. A buffer's
 * own unmapping is not waited for: the driver unmaps buffers the device has
 * given back, and a request still in progress finishes as DMA in flight
 * does (the unit offers no drain, CAP.DRD/DWD); under Linux's strict mode
 * that is every invalidation but a few. The worker never waits for the
 * IOMMU's lock (vtd_fault defers), so this cannot deadlock; a callback
 * stuck for a second is logged and not waited for.
 */
static void quiesce(struct dma_listener *l, uint64_t lo, uint64_t hi)
{
	struct virtio_pci *t = container_of(l, struct virtio_pci, dma_listener);
	struct timespec deadline;
	bool timed_out = false;
	uint32_t seq;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!t->thread_up || pthread_equal(pthread_self(), t->thread) || !rings_in(t, lo, hi))
		return;
	/* qseq first: the worker clears in_cb before it counts, so a finish in between is seen. */
	seq = __atomic_load_n(&t->qseq, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&t->in_cb, __ATOMIC_SEQ_CST))
		return;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 1;
	pthread_mutex_lock(&t->wlock);
	t->qwaiters++;
	while (__atomic_load_n(&t->qseq, __ATOMIC_SEQ_CST) == seq && !timed_out)
		timed_out = pthread_cond_timedwait(&t->qcond, &t->wlock, &deadline) == ETIMEDOUT;
	t->qwaiters--;
	pthread_mutex_unlock(&t->wlock);
	if (timed_out && __atomic_load_n(&t->qseq, __ATOMIC_SEQ_CST) == seq) {
		static struct ratelimit rl;

		if (ratelimit_ok(&rl, 3))
			pr_warn("%s: busy for a second after an IOMMU invalidation; not waiting longer",
				t->name);
	}
}

/* A condition variable whose timed waits run on CLOCK_MONOTONIC (quiesce's deadline). */
static void cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
}

/* Park the worker: when this returns, no device callback runs until unpark. */
static void worker_park(struct virtio_pci *t)
{
	pthread_mutex_lock(&t->wlock);
	if (t->wstate == W_RUN) {
		t->wstate = W_PARKED;
		eventfd_write(t->ctl_fd, 1);
	}
	while (t->thread_up && !t->parked && pthread_self() != t->thread)
		pthread_cond_wait(&t->wcond, &t->wlock);
	pthread_mutex_unlock(&t->wlock);
}

static void worker_set(struct virtio_pci *t, enum worker_state s)
{
	pthread_mutex_lock(&t->wlock);
	t->wstate = s;
	pthread_cond_broadcast(&t->wcond);
	pthread_mutex_unlock(&t->wlock);
	eventfd_write(t->ctl_fd, 1);
}

static int watch_ctl(struct virtio_pci *t, int op, unsigned int i)
{
	const struct virtio_watch *w = &t->vdev->watch[i];
	struct epoll_event ev = { .events = (uint32_t)w->events, .data.u32 = EV_WATCH | i };

	return epoll_ctl(t->epfd, op, w->fd, &ev) < 0 ? -errno : 0;
}

int virtio_watch(struct virtio_dev *vdev, int fd, short events,
		 void (*cb)(struct virtio_dev *vdev, int fd, short revents))
{
	if (vdev->nwatch == VIRTIO_MAX_WATCH)
		return -ENOSPC;
	for (unsigned int i = 0; i < vdev->nwatch; i++)
		if (vdev->watch[i].fd == fd)
			return -EEXIST;
	vdev->watch[vdev->nwatch] = (struct virtio_watch){ .fd = fd, .events = events, .cb = cb };
	/* Before virtio_pci_add, the transport picks it up when it is created. */
	if (!vdev->transport) {
		vdev->nwatch++;
		return 0;
	}
	return watch_ctl(vdev->transport, EPOLL_CTL_ADD, vdev->nwatch++);
}

/*
 * Disabling removes the fd from the poll set rather than clearing its
 * events: epoll reports EPOLLERR and EPOLLHUP regardless, and a dead fd
 * would spin the worker.
 */
void virtio_watch_enable(struct virtio_dev *vdev, int fd, bool enable)
{
	for (unsigned int i = 0; i < vdev->nwatch; i++) {
		struct virtio_watch *w = &vdev->watch[i];

		if (w->fd != fd || w->off == !enable)
			continue;
		w->off = !enable;
		if (vdev->transport)
			watch_ctl(vdev->transport, enable ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, i);
	}
}

void virtio_kick_self(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_pci *t = vdev->transport;

	if (q < vdev->ops->nqueues)
		eventfd_write(t->q[q].kick_fd, 1);
}

/* Device status and reset */

static void queues_reset(struct virtio_pci *t)
{
	struct virtio_dev *vdev = t->vdev;

	for (unsigned int i = 0; i < vdev->ops->nqueues; i++) {
		struct vpci_queue *q = &t->q[i];
		eventfd_t cnt;

		virtq_destroy(&vdev->vq[i]);
		memset(&vdev->vq[i], 0, sizeof(vdev->vq[i]));
		vdev->vq_enabled[i] = false;
		q->size = vdev->ops->queue_max;
		__atomic_store_n(&q->msix_vector, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELAXED);
		q->enabled = false;
		q->desc = q->driver = q->device = 0;
		/* Kicks from before the reset are for rings that no longer exist. */
		eventfd_read(q->kick_fd, &cnt);
	}
}

/* Device reset (4.1.4.3.2: writing 0 to device_status), with t->lock held. */
static void device_reset(struct virtio_pci *t)
{
	worker_park(t);
	if (t->started)
		t->vdev->ops->stop(t->vdev);
	t->started = false;
	queues_reset(t);
	t->vdev->features = 0;
	t->driver_features = 0;
	t->dfselect = t->gfselect = 0;
	t->queue_sel = 0;
	__atomic_store_n(&t->msix_config, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELAXED);
	__atomic_store_n(&t->status, 0, __ATOMIC_RELEASE);
	lower_intx(t, true);
}

/*
 * Behind an IOMMU the device reaches only what the guest maps for it, so it
 * offers ACCESS_PLATFORM (6.1): the driver then gives it IOVAs from the DMA
 * API rather than physical addresses.
 */
static uint64_t offered(const struct virtio_pci *t)
{
	return t->vdev->host_features | VPCI_FEATURES |
	       (t->pci.dma.ops ? 1ULL << VIRTIO_F_ACCESS_PLATFORM : 0);
}

/*
 * Start the device once DRIVER_OK is set and Bus Master on (both needed),
 * with t->lock held; a device that needs a reset stays stopped.
 */
static void device_start(struct virtio_pci *t)
{
	uint8_t st = __atomic_load_n(&t->status, __ATOMIC_ACQUIRE);
	int ret;

	if (t->started || t->gone || !t->master || !(st & VIRTIO_CONFIG_S_DRIVER_OK) ||
	    (st & VIRTIO_CONFIG_S_NEEDS_RESET))
		return;
	ret = t->vdev->ops->start(t->vdev);
	if (ret) {
		virtio_set_needs_reset(t->vdev, "device failed to start");
		return;
	}
	t->started = true;
	worker_set(t, W_RUN);
	/* Kicks that came before DRIVER_OK are waiting in the eventfds. */
}

static void status_write(struct virtio_pci *t, uint8_t val)
{
	uint8_t old = __atomic_load_n(&t->status, __ATOMIC_ACQUIRE);

	if (val == 0) {
		device_reset(t);
		return;
	}
	/*
	 * The driver only adds bits (2.1.2: it MUST NOT clear one; 0 is a
	 * reset). Keeping old bits makes a cleared FEATURES_OK or DRIVER_OK a
	 * no-op, so features cannot change and start() cannot run twice.
	 */
	val |= old;
	if ((val & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK)) {
		uint64_t f = t->driver_features;

		/*
		 * 3.1.1: refuse features not offered, and a driver that is not
		 * modern; behind an IOMMU, also one that would hand the device
		 * physical addresses (6.1: the device may fail then).
		 */
		bool no_ap = offered(t) & ~f & (1ULL << VIRTIO_F_ACCESS_PLATFORM);

		if ((f & ~offered(t)) || !(f & (1ULL << VIRTIO_F_VERSION_1)) || no_ap) {
			if (ratelimit_ok(&t->rl, 3)) {
				if (no_ap)
					pr_warn("%s: the driver declines ACCESS_PLATFORM behind the "
						"IOMMU (it would use physical addresses); FEATURES_OK "
						"refused", t->name);
				else
					pr_warn("%s: driver features 0x%llx not a subset of 0x%llx "
						"with VERSION_1; FEATURES_OK refused", t->name,
						(unsigned long long)f, (unsigned long long)offered(t));
			}
			val &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
		} else {
			t->vdev->features = f;
		}
	}
	if ((val & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
		if (!(val & VIRTIO_CONFIG_S_FEATURES_OK)) {
			val &= (uint8_t)~VIRTIO_CONFIG_S_DRIVER_OK;
		} else {
			/* An OR, not a store: NEEDS_RESET may be set by the worker meanwhile. */
			__atomic_fetch_or(&t->status, val, __ATOMIC_ACQ_REL);
			device_start(t);
			return;
		}
	}
	__atomic_fetch_or(&t->status, val, __ATOMIC_ACQ_REL);
}

/*
 * COMMAND.Bus Master (PCI 3.0 6.2.2) changed, with t->lock held. Without it
 * a function must not touch memory: no ring access and no MSI-X, which is a
 * memory write too. So the device pauses, as hardware would: the worker,
 * the only thread that touches the rings or sends queue interrupts, parks;
 * kicks wait in their eventfds and the device carries on where it stopped
 * when the bit is set again. DRIVER_OK written meanwhile starts the device
 * then.
 */
static void bus_master_write(struct virtio_pci *t, bool on)
{
	if (on == t->master)
		return;
	t->master = on;
	if (!t->started)
		device_start(t);	/* nothing without Bus Master, or DRIVER_OK */
	else if (on)
		worker_set(t, W_RUN);
	else
		worker_park(t);
}

static void queue_enable(struct virtio_pci *t, struct vpci_queue *q, unsigned int i)
{
	struct virtio_dev *vdev = t->vdev;
	uint8_t st = __atomic_load_n(&t->status, __ATOMIC_ACQUIRE);
	int ret;

	/* Enabling twice, or before the features (and so the ring format) are settled, or after DRIVER_OK. */
	if (q->enabled || !(st & VIRTIO_CONFIG_S_FEATURES_OK) || (st & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	if (q->size > vdev->ops->queue_max) {
		if (ratelimit_ok(&t->rl, 3))
			pr_warn("%s: queue %u size %u above the maximum %u; not enabled", t->name, i,
				q->size, vdev->ops->queue_max);
		return;
	}
	/* Ring and buffer addresses are the function's DMA addresses. */
	ret = virtq_init_as(&vdev->vq[i], &t->pci.dma, q->size, q->desc, q->driver, q->device,
			    vdev->features & (1ULL << VIRTIO_RING_F_EVENT_IDX),
			    vdev->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
	if (ret) {
		if (ratelimit_ok(&t->rl, 3))
			pr_warn("%s: queue %u not enabled: %s", t->name, i,
				vdev->vq[i].error ? vdev->vq[i].error : strerror(-ret));
		virtq_destroy(&vdev->vq[i]);
		return;
	}
	q->enabled = true;
	vdev->vq_enabled[i] = true;
}

/* Common configuration: a register file read and written a byte range at a time. */

struct common_field {
	uint8_t off, len;
};

static const struct common_field common_fields[] = {
	{ VIRTIO_PCI_COMMON_DFSELECT, 4 }, { VIRTIO_PCI_COMMON_DF, 4 },
	{ VIRTIO_PCI_COMMON_GFSELECT, 4 }, { VIRTIO_PCI_COMMON_GF, 4 },
	{ VIRTIO_PCI_COMMON_MSIX, 2 }, { VIRTIO_PCI_COMMON_NUMQ, 2 },
	{ VIRTIO_PCI_COMMON_STATUS, 1 }, { VIRTIO_PCI_COMMON_CFGGENERATION, 1 },
	{ VIRTIO_PCI_COMMON_Q_SELECT, 2 }, { VIRTIO_PCI_COMMON_Q_SIZE, 2 },
	{ VIRTIO_PCI_COMMON_Q_MSIX, 2 }, { VIRTIO_PCI_COMMON_Q_ENABLE, 2 },
	{ VIRTIO_PCI_COMMON_Q_NOFF, 2 }, { VIRTIO_PCI_COMMON_Q_DESCLO, 8 },
	{ VIRTIO_PCI_COMMON_Q_AVAILLO, 8 }, { VIRTIO_PCI_COMMON_Q_USEDLO, 8 },
	{ VIRTIO_PCI_COMMON_Q_NDATA, 2 }, { VIRTIO_PCI_COMMON_Q_RESET, 2 },
};

static struct vpci_queue *sel_queue(struct virtio_pci *t)
{
	return t->queue_sel < t->vdev->ops->nqueues ? &t->q[t->queue_sel] : NULL;
}

static uint64_t common_get(struct virtio_pci *t, unsigned int off)
{
	struct vpci_queue *q = sel_queue(t);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:	return t->dfselect;
	case VIRTIO_PCI_COMMON_DF:
		return t->dfselect < 2 ? (uint32_t)(offered(t) >> (32 * t->dfselect)) : 0;
	case VIRTIO_PCI_COMMON_GFSELECT:	return t->gfselect;
	case VIRTIO_PCI_COMMON_GF:
		return t->gfselect < 2 ? (uint32_t)(t->driver_features >> (32 * t->gfselect)) : 0;
	case VIRTIO_PCI_COMMON_MSIX:		return t->msix_config;
	case VIRTIO_PCI_COMMON_NUMQ:		return t->vdev->ops->nqueues;
	case VIRTIO_PCI_COMMON_STATUS:		return __atomic_load_n(&t->status, __ATOMIC_ACQUIRE);
	case VIRTIO_PCI_COMMON_CFGGENERATION:	return __atomic_load_n(&t->config_gen, __ATOMIC_ACQUIRE);
	case VIRTIO_PCI_COMMON_Q_SELECT:	return t->queue_sel;
	}
	if (!q)		/* 4.1.4.3.1: a queue that does not exist has size 0 */
		return off == VIRTIO_PCI_COMMON_Q_MSIX ? VIRTIO_MSI_NO_VECTOR : 0;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:		return q->size;
	case VIRTIO_PCI_COMMON_Q_MSIX:		return q->msix_vector;
	case VIRTIO_PCI_COMMON_Q_ENABLE:	return q->enabled;
	case VIRTIO_PCI_COMMON_Q_NOFF:		return t->queue_sel;
	case VIRTIO_PCI_COMMON_Q_DESCLO:	return q->desc;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:	return q->driver;
	case VIRTIO_PCI_COMMON_Q_USEDLO:	return q->device;
	default:				return 0;
	}
}

static void common_set(struct virtio_pci *t, unsigned int off, uint64_t v)
{
	struct vpci_queue *q = sel_queue(t);
	uint8_t st = __atomic_load_n(&t->status, __ATOMIC_ACQUIRE);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:	t->dfselect = (uint32_t)v; return;
	case VIRTIO_PCI_COMMON_GFSELECT:	t->gfselect = (uint32_t)v; return;
	case VIRTIO_PCI_COMMON_GF:
		/* Features are fixed once FEATURES_OK is set (case 15). */
		if (t->gfselect < 2 && !(st & VIRTIO_CONFIG_S_FEATURES_OK)) {
			unsigned int sh = 32 * t->gfselect;

			t->driver_features = (t->driver_features & ~(0xffffffffULL << sh)) |
					     (v & 0xffffffffULL) << sh;
		}
		return;
	case VIRTIO_PCI_COMMON_MSIX:
		__atomic_store_n(&t->msix_config, v < nvec(t) ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR,
				 __ATOMIC_RELAXED);
		return;
	case VIRTIO_PCI_COMMON_STATUS:		status_write(t, (uint8_t)v); return;
	case VIRTIO_PCI_COMMON_Q_SELECT:	t->queue_sel = (uint16_t)v; return;
	}
	if (!q)
		return;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_MSIX:
		__atomic_store_n(&q->msix_vector, v < nvec(t) ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR,
				 __ATOMIC_RELAXED);
		return;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (v == 1)
			queue_enable(t, q, t->queue_sel);
		return;
	}
	/* Ring geometry is the driver's until the queue is enabled. */
	if (q->enabled)
		return;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:		q->size = (uint16_t)v; return;
	case VIRTIO_PCI_COMMON_Q_DESCLO:	q->desc = v; return;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:	q->driver = v; return;
	case VIRTIO_PCI_COMMON_Q_USEDLO:	q->device = v; return;
	}
}

static void common_io(struct virtio_pci *t, unsigned int off, uint8_t *data, unsigned int len,
		      bool is_write)
{
	if (!is_write)
		memset(data, 0, len);
	pthread_mutex_lock(&t->lock);
	for (unsigned int i = 0; i < ARRAY_SIZE(common_fields); i++) {
		const struct common_field *f = &common_fields[i];
		unsigned int lo = MAX(off, f->off), hi = MIN(off + len, (unsigned int)f->off + f->len);
		uint8_t bytes[8];

		if (lo >= hi)
			continue;
		le_write(bytes, f->len, common_get(t, f->off));
		if (!is_write) {
			memcpy(data + (lo - off), bytes + (lo - f->off), hi - lo);
			continue;
		}
		memcpy(bytes + (lo - f->off), data + (lo - off), hi - lo);
		common_set(t, f->off, le_read(bytes, f->len));
	}
	pthread_mutex_unlock(&t->lock);
}

/* The BAR */

static void vpci_bar_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len, bool is_write)
{
	struct virtio_pci *t = opaque;
	const struct virtio_dev_ops *ops = t->vdev->ops;

	/* Unplugged while this vCPU was on its way in: as if the BAR were gone. */
	if (__atomic_load_n(&t->gone, __ATOMIC_ACQUIRE)) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	if (off < VPCI_COMMON + VPCI_COMMON_SIZE) {
		common_io(t, (unsigned int)off, data, len, is_write);
	} else if (off == VPCI_ISR) {
		/* 4.1.4.5: reading ISR clears it and de-asserts INTx. */
		if (!is_write) {
			memset(data, 0, len);
			data[0] = lower_intx(t, true);
		}
	} else if (off >= VPCI_DEVCFG && off - VPCI_DEVCFG + len <= ops->config_size) {
		pthread_mutex_lock(&t->lock);
		if (!is_write)
			ops->config_read(t->vdev, (uint32_t)(off - VPCI_DEVCFG), data, len);
		else if (ops->config_write)
			ops->config_write(t->vdev, (uint32_t)(off - VPCI_DEVCFG), data, len);
		pthread_mutex_unlock(&t->lock);
	} else if (off >= VPCI_NOTIFY && off < VPCI_NOTIFY + VPCI_NOTIFY_MULT * ops->nqueues) {
		/* No ioeventfd from KVM: the same eventfd, signalled from here. */
		if (is_write)
			eventfd_write(t->q[(off - VPCI_NOTIFY) / VPCI_NOTIFY_MULT].kick_fd, 1);
		else
			memset(data, 0, len);
	} else if (off >= VPCI_MSIX_TABLE && off < VPCI_MSIX_TABLE + MSIX_ENTRY_SIZE * (uint64_t)nvec(t)) {
		msix_table_io(&t->msix, off - VPCI_MSIX_TABLE, data, len, is_write);
	} else if (off >= VPCI_MSIX_PBA && off < VPCI_MSIX_PBA + 8 * (uint64_t)((nvec(t) + 63) / 64)) {
		msix_pba_io(&t->msix, off - VPCI_MSIX_PBA, data, len, is_write);
	} else if (!is_write) {
		memset(data, 0, len);
	}
}

/* Notifications as ioeventfds, following the BAR wherever the guest puts it. */
static void ioeventfds_update(struct virtio_pci *t, bool decoded, uint64_t bar_addr)
{
	for (unsigned int i = 0; i < t->vdev->ops->nqueues; i++) {
		struct vpci_queue *q = &t->q[i];
		struct kvm_ioeventfd io = { .fd = q->kick_fd };

		if (q->ioeventfd) {
			io.addr = q->ioeventfd_addr;
			io.len = q->ioeventfd_len;
			io.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
			ioctl(t->vm->vm_fd, KVM_IOEVENTFD, &io);
			q->ioeventfd = false;
		}
		if (!decoded || t->vm->vm_fd < 0)
			continue;
		io.addr = bar_addr + VPCI_NOTIFY + VPCI_NOTIFY_MULT * i;
		io.flags = 0;
		/* Length 0 matches any write size, and is KVM's fastest MMIO path; older KVMs want 2. */
		for (io.len = 0; io.len <= 2; io.len += 2) {
			if (ioctl(t->vm->vm_fd, KVM_IOEVENTFD, &io) == 0) {
				q->ioeventfd = true;
				q->ioeventfd_addr = io.addr;
				q->ioeventfd_len = io.len;
				break;
			}
		}
	}
}

/* Config space hooks */

static void vpci_bar_update(struct pci_device *dev, unsigned int bar, bool decoded, uint64_t addr)
{
	struct virtio_pci *t = dev->opaque;

	if (bar == VPCI_BAR)
		ioeventfds_update(t, decoded, addr);
}

/*
 * VIRTIO_PCI_CAP_PCI_CFG (4.1.4.9): a window into the BAR through config
 * space, for drivers that cannot map it. bar, offset and length select the
 * access; pci_cfg_data carries it.
 */
static bool pcicfg_access(struct virtio_pci *t, unsigned int cap, uint32_t *off, unsigned int *len)
{
	*off = pci_cfg32(&t->pci, cap + VIRTIO_PCI_CAP_OFFSET);
	*len = pci_cfg32(&t->pci, cap + VIRTIO_PCI_CAP_LENGTH);
	return t->pci.cfg[cap + VIRTIO_PCI_CAP_BAR] == VPCI_BAR &&
	       (*len == 1 || *len == 2 || *len == 4) && *off < VPCI_BAR_SIZE &&
	       *off % *len == 0;
}

static void vpci_cfg_write(struct pci_device *dev, unsigned int off, unsigned int len)
{
	struct virtio_pci *t = dev->opaque;
	unsigned int cap = t->pcicfg_cap, data_off = cap + sizeof(struct virtio_pci_cap);
	uint32_t bar_off;
	unsigned int n;

	if (ranges_overlap(off, len, PCI_COMMAND, 1)) {	/* Bus Master is in the low byte */
		pthread_mutex_lock(&t->lock);
		bus_master_write(t, dev->cfg[PCI_COMMAND] & PCI_COMMAND_MASTER);
		pthread_mutex_unlock(&t->lock);
	}
	msix_cfg_write(&t->msix, off, len);
	/* With MSI-X on, the function must not use INTx# (PCI 3.0 6.8.2.3). */
	if (msix_enabled(&t->msix))
		lower_intx(t, false);
	if (ranges_overlap(off, len, data_off, 4) && pcicfg_access(t, cap, &bar_off, &n))
		vpci_bar_io(t, bar_off, dev->cfg + data_off, n, true);
}

static void vpci_cfg_read(struct pci_device *dev, unsigned int off, unsigned int len)
{
	struct virtio_pci *t = dev->opaque;
	unsigned int cap = t->pcicfg_cap, data_off = cap + sizeof(struct virtio_pci_cap);
	uint32_t bar_off;
	unsigned int n;

	if (ranges_overlap(off, len, data_off, 4) && pcicfg_access(t, cap, &bar_off, &n))
		vpci_bar_io(t, bar_off, dev->cfg + data_off, n, false);
}

static const struct pci_device_ops vpci_ops = {
	.cfg_write = vpci_cfg_write,
	.cfg_read = vpci_cfg_read,
	.bar_update = vpci_bar_update,
};

static unsigned int add_vcap(struct pci_device *dev, uint8_t type, uint32_t off, uint32_t len,
			     unsigned int caplen)
{
	unsigned int cap = pci_add_cap(dev, PCI_CAP_ID_VNDR, caplen);

	if (!cap)
		return 0;
	dev->cfg[cap + VIRTIO_PCI_CAP_LEN] = (uint8_t)caplen;
	dev->cfg[cap + VIRTIO_PCI_CAP_CFG_TYPE] = type;
	dev->cfg[cap + VIRTIO_PCI_CAP_BAR] = VPCI_BAR;
	le_write(dev->cfg + cap + VIRTIO_PCI_CAP_OFFSET, 4, off);
	le_write(dev->cfg + cap + VIRTIO_PCI_CAP_LENGTH, 4, len);
	return cap;
}

static int build_config_space(struct virtio_pci *t)
{
	struct pci_device *dev = &t->pci;
	const struct virtio_dev_ops *ops = t->vdev->ops;
	unsigned int cap;
	int ret;

	pci_device_init(dev, t->name, VPCI_VENDOR, VPCI_DEVICE_BASE + ops->device_id,
			ops->pci_class, 1, VPCI_VENDOR, 0x1100);
	dev->ops = &vpci_ops;
	dev->opaque = t;
	ret = pci_bar_init(dev, VPCI_BAR, PCI_BAR_MEM32, false, VPCI_BAR_SIZE, vpci_bar_io, t);
	if (ret)
		return ret;
	if (!add_vcap(dev, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON, VPCI_COMMON_SIZE,
		      sizeof(struct virtio_pci_cap)) ||
	    !add_vcap(dev, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR, 1, sizeof(struct virtio_pci_cap)) ||
	    (ops->config_size &&
	     !add_vcap(dev, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_DEVCFG, ops->config_size,
		       sizeof(struct virtio_pci_cap))))
		return -ENOSPC;
	cap = add_vcap(dev, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY,
		       VPCI_NOTIFY_MULT * ops->nqueues, sizeof(struct virtio_pci_notify_cap));
	if (!cap)
		return -ENOSPC;
	le_write(dev->cfg + cap + sizeof(struct virtio_pci_cap), 4, VPCI_NOTIFY_MULT);
	cap = add_vcap(dev, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, sizeof(struct virtio_pci_cfg_cap));
	if (!cap)
		return -ENOSPC;
	/* The driver chooses bar, offset, length and data. */
	dev->wmask[cap + VIRTIO_PCI_CAP_BAR] = 0xff;
	memset(dev->wmask + cap + VIRTIO_PCI_CAP_OFFSET, 0xff, 8);
	memset(dev->wmask + cap + sizeof(struct virtio_pci_cap), 0xff, 4);
	t->pcicfg_cap = cap;
	return msix_init(&t->msix, t->vm, dev, nvec(t), VPCI_BAR, VPCI_MSIX_TABLE, VPCI_MSIX_PBA);
}

/* Stop the worker and the device: no callback, no DMA, no interrupt from the worker after. */
static void transport_stop(struct virtio_pci *t)
{
	pthread_mutex_lock(&t->lock);
	/* A vCPU still in the BAR handler cannot start it again. */
	__atomic_store_n(&t->gone, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&t->lock);
	if (t->thread_up) {
		worker_set(t, W_EXIT);
		pthread_join(t->thread, NULL);
		t->thread_up = false;
	}
	pthread_mutex_lock(&t->lock);
	if (t->started)
		t->vdev->ops->stop(t->vdev);
	t->started = false;
	pthread_mutex_unlock(&t->lock);
}

/* After transport_stop: the queues' state, which only the worker and queue_enable touch. */
static void transport_free_queues(struct virtio_pci *t)
{
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_destroy(&t->vdev->vq[i]);
}

static void transport_free(struct virtio_pci *t)
{
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		if (t->q[i].kick_fd >= 0)
			close(t->q[i].kick_fd);
	msix_exit(&t->msix);
	if (t->ctl_fd >= 0)
		close(t->ctl_fd);
	if (t->epfd >= 0)
		close(t->epfd);
	pthread_mutex_destroy(&t->lock);
	pthread_mutex_destroy(&t->isr_lock);
	pthread_mutex_destroy(&t->wlock);
	pthread_cond_destroy(&t->wcond);
	pthread_cond_destroy(&t->qcond);
	free(t);
}

/*
 * Off the bus first (config reads all-ones, BAR and ioeventfds gone), then
 * the worker and the device stop. A vCPU already inside the BAR handler
 * finds it gone and touches only the transport, which stays until release.
 */
static void vpci_unplug(struct device *d)
{
	struct virtio_pci *t = container_of(d, struct virtio_pci, dev);

	if (t->pci.host)
		pci_device_remove(&t->pci);
	transport_stop(t);
	transport_free_queues(t);
}

static void vpci_release(struct device *d)
{
	struct virtio_pci *t = container_of(d, struct virtio_pci, dev);
	struct virtio_dev *vdev = t->owns_vdev ? t->vdev : NULL;

	transport_free(t);
	if (vdev)
		vdev->ops->destroy(vdev);
}

static const struct device_ops vpci_dev_ops = { .unplug = vpci_unplug, .release = vpci_release };

int virtio_pci_add(struct vm *vm, struct virtio_dev *vdev)
{
	const struct virtio_dev_ops *ops = vdev->ops;
	struct virtio_pci *t;
	int ret;

	if (!ops->nqueues || ops->nqueues > VIRTIO_MAX_QUEUES || !ops->queue_max ||
	    ops->queue_max > VIRTQ_MAX_SIZE || ops->config_size > 0x1000)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->vm = vm;
	t->vdev = vdev;
	vdev->vm = vm;
	vdev->transport = t;
	t->epfd = t->ctl_fd = -1;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		t->q[i].kick_fd = -1;
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->isr_lock, NULL);
	pthread_mutex_init(&t->wlock, NULL);
	pthread_cond_init(&t->wcond, NULL);
	cond_init_monotonic(&t->qcond);
	t->wstate = W_PARKED;
	t->poll.max_ns = vm->cfg ? vm->cfg->poll_us * 1000ULL : 0;
	snprintf(t->name, sizeof(t->name), "%s", ops->name);

	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	t->ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->epfd < 0 || t->ctl_fd < 0 ||
	    epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->ctl_fd,
		      &(struct epoll_event){ .events = EPOLLIN, .data.u32 = EV_CTL }) < 0) {
		ret = -errno;
		goto err;
	}
	for (unsigned int i = 0; i < ops->nqueues; i++) {
		t->q[i].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->q[i].kick_fd < 0 ||
		    epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->q[i].kick_fd,
			      &(struct epoll_event){ .events = EPOLLIN, .data.u32 = i }) < 0) {
			ret = -errno;
			goto err;
		}
	}
	for (unsigned int i = 0; i < vdev->nwatch; i++) {
		ret = vdev->watch[i].off ? 0 : watch_ctl(t, EPOLL_CTL_ADD, i);
		if (ret)
			goto err;
	}
	queues_reset(t);
	t->msix_config = VIRTIO_MSI_NO_VECTOR;
	ret = build_config_space(t);
	if (ret)
		goto err;
	t->dev.ops = &vpci_dev_ops;
	t->dev.vm = vm;
	t->dev.kind = ops->name;
	t->dev.pci = &t->pci;
	t->dev.pinned = vdev->pinned;
	t->pci.owner = &t->dev;
	ret = dev_register(&vm->devs, &t->dev, vdev->id, vdev->id_prefix ? vdev->id_prefix : "virtio");
	if (ret) {
		pr_err("%s: id '%s' %s", ops->name, vdev->id,
		       ret == -EEXIST ? "is taken by another device" : "is not valid");
		goto err_quiet;
	}
	ret = pci_device_add(vm->pci, &t->pci, vdev->slot, 1);
	if (ret < 0)
		goto err_unlist;
	snprintf(t->name, sizeof(t->name), "%s@%02x", ops->name, (unsigned int)ret);
	/* Behind an IOMMU: invalidations wait for the worker (quiesce). */
	if (t->pci.dma.ops) {
		t->dma_listener.changed = quiesce;
		iommu_lock(vm);
		t->pci.dma.listener = &t->dma_listener;
		iommu_unlock(vm);
	}
	ret = pthread_create(&t->thread, NULL, worker, t);
	if (ret) {
		ret = -ret;
		goto err_unlist;
	}
	t->thread_up = true;
	t->owns_vdev = true;
	return 0;
err_unlist:
	/* Listed but never reached by a guest: unplug and let the last reference free it. */
	pr_err("%s: cannot add the PCI function: %s", ops->name, strerror(-ret));
	vdev->transport = NULL;
	dev_remove(&vm->devs, &t->dev);
	return ret;
err:
	pr_err("%s: cannot add the PCI function: %s", ops->name, strerror(-ret));
err_quiet:
	transport_free_queues(t);
	transport_free(t);
	vdev->transport = NULL;
	return ret;
}

void virtio_pci_destroy_all(struct vm *vm)
{
	dev_remove_all_of(&vm->devs, &vpci_dev_ops);
}
