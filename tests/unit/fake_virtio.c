// SPDX-License-Identifier: Apache-2.0
/* Stand-ins for the virtio transport, and a driver-side ring: see fake_virtio.h. */
#include <assert.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fake_virtio.h"
#include "util.h"

#define FAKE_MAX_DEVS	8

static struct virtio_dev *devs[FAKE_MAX_DEVS];
static unsigned int ndevs;
static atomic_ulong irqs[VIRTIO_MAX_QUEUES], self_kicks[VIRTIO_MAX_QUEUES], config_irqs;
static atomic_bool needs_reset;

static struct {
	struct virtio_dev *vdev;
	int fd;
	short events;
	bool enabled;
	void (*cb)(struct virtio_dev *vdev, int fd, short revents);
} watches[FAKE_MAX_DEVS * VIRTIO_MAX_WATCH];
static unsigned int nwatches;

void fake_guest_init(struct fake_guest *g, uint64_t size)
{
	memset(g, 0, sizeof(*g));
	g->mem.nr = 1;
	g->mem.ram_size = size;
	g->mem.region[0].gpa = 0;
	g->mem.region[0].size = size;
	g->mem.region[0].hva = calloc(1, size);
	assert(g->mem.region[0].hva);
	g->next = 0x1000;	/* gpa 0 stays unused: a zero address is a bug */
}

void fake_guest_free(struct fake_guest *g)
{
	free(g->mem.region[0].hva);
	memset(g, 0, sizeof(*g));
}

uint64_t fake_guest_alloc(struct fake_guest *g, uint64_t len)
{
	uint64_t gpa = (g->next + 4095) & ~4095ULL;

	assert(gpa + len <= g->mem.region[0].size);
	g->next = gpa + len;
	memset(g->mem.region[0].hva + gpa, 0, len);
	return gpa;
}

void *fake_guest_ptr(struct fake_guest *g, uint64_t gpa)
{
	assert(gpa < g->mem.region[0].size);
	return g->mem.region[0].hva + gpa;
}

uint16_t fake_ring_add(struct fake_guest *g, unsigned int q, const struct fake_seg *segs,
		       unsigned int n)
{
	struct vring_desc *desc = fake_guest_ptr(g, g->q[q].desc);
	struct vring_avail *avail = fake_guest_ptr(g, g->q[q].avail);
	uint16_t head = g->q[q].next_desc % FAKE_QSIZE;

	assert(n > 0 && n <= FAKE_QSIZE);
	for (unsigned int i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((head + i) % FAKE_QSIZE);

		desc[d].addr = segs[i].gpa;
		desc[d].len = segs[i].len;
		desc[d].flags = (uint16_t)((segs[i].write ? VRING_DESC_F_WRITE : 0) |
					   (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		desc[d].next = (uint16_t)((d + 1) % FAKE_QSIZE);
	}
	g->q[q].next_desc = (uint16_t)(g->q[q].next_desc + n);
	avail->ring[g->q[q].avail_idx % FAKE_QSIZE] = head;
	__atomic_store_n(&avail->idx, ++g->q[q].avail_idx, __ATOMIC_RELEASE);
	return head;
}

bool fake_ring_used(struct fake_guest *g, unsigned int q, uint16_t *head, uint32_t *len)
{
	struct vring_used *used = fake_guest_ptr(g, g->q[q].used);

	if (__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) == g->q[q].used_seen)
		return false;
	*head = (uint16_t)used->ring[g->q[q].used_seen % FAKE_QSIZE].id;
	*len = used->ring[g->q[q].used_seen % FAKE_QSIZE].len;
	g->q[q].used_seen++;
	return true;
}

int fake_virtio_start(struct virtio_dev *vdev, struct fake_guest *g, uint64_t features)
{
	vdev->features = (features & vdev->host_features) | (1ULL << VIRTIO_F_VERSION_1);
	for (unsigned int q = 0; q < vdev->ops->nqueues; q++) {
		g->q[q].desc = fake_guest_alloc(g, 16 * FAKE_QSIZE);
		g->q[q].avail = fake_guest_alloc(g, 6 + 2 * FAKE_QSIZE);
		g->q[q].used = fake_guest_alloc(g, 6 + 8 * FAKE_QSIZE);
		g->q[q].avail_idx = g->q[q].used_seen = g->q[q].next_desc = 0;
		if (virtq_init(&vdev->vq[q], &g->mem, FAKE_QSIZE, g->q[q].desc, g->q[q].avail,
			       g->q[q].used, vdev->features & (1ULL << VIRTIO_RING_F_EVENT_IDX),
			       vdev->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC)))
			return -EINVAL;
		vdev->vq_enabled[q] = true;
	}
	return vdev->ops->start(vdev);
}

void fake_virtio_stop(struct virtio_dev *vdev)
{
	vdev->ops->stop(vdev);
	for (unsigned int q = 0; q < vdev->ops->nqueues; q++) {
		virtq_destroy(&vdev->vq[q]);
		memset(&vdev->vq[q], 0, sizeof(vdev->vq[q]));
		vdev->vq_enabled[q] = false;
	}
}

struct virtio_dev *fake_virtio_last(void)
{
	return ndevs ? devs[ndevs - 1] : NULL;
}

void fake_virtio_destroy_all(void)
{
	while (ndevs) {
		struct virtio_dev *vdev = devs[--ndevs];

		vdev->ops->stop(vdev);
		for (unsigned int q = 0; q < vdev->ops->nqueues; q++)
			virtq_destroy(&vdev->vq[q]);
		vdev->ops->destroy(vdev);
	}
	nwatches = 0;
}

unsigned long fake_virtio_irqs(unsigned int q) { return atomic_load(&irqs[q]); }
unsigned long fake_virtio_config_irqs(void) { return atomic_load(&config_irqs); }
bool fake_virtio_needs_reset(void) { return atomic_load(&needs_reset); }
unsigned long fake_virtio_self_kicks(unsigned int q) { return atomic_load(&self_kicks[q]); }

void fake_virtio_reset_counts(void)
{
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		atomic_store(&irqs[q], 0);
		atomic_store(&self_kicks[q], 0);
	}
	atomic_store(&config_irqs, 0);
	atomic_store(&needs_reset, false);
}

unsigned int fake_virtio_poll_watches(struct virtio_dev *vdev, int timeout_ms)
{
	struct pollfd pfd[FAKE_MAX_DEVS * VIRTIO_MAX_WATCH];
	unsigned int idx[FAKE_MAX_DEVS * VIRTIO_MAX_WATCH], n = 0, fired = 0;

	for (unsigned int i = 0; i < nwatches; i++) {
		if (watches[i].vdev != vdev || !watches[i].enabled)
			continue;
		pfd[n] = (struct pollfd){ .fd = watches[i].fd, .events = watches[i].events };
		idx[n++] = i;
	}
	if (n == 0 || poll(pfd, n, timeout_ms) <= 0)
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		if (pfd[i].revents) {
			watches[idx[i]].cb(vdev, pfd[i].fd, pfd[i].revents);
			fired++;
		}
	}
	return fired;
}

/* The transport API, as the device sees it. */

int virtio_pci_add(struct vm *vm, struct virtio_dev *vdev)
{
	if (ndevs == FAKE_MAX_DEVS)
		return -ENOSPC;
	vdev->vm = vm;
	devs[ndevs++] = vdev;
	return 0;
}

void virtio_pci_destroy_all(struct vm *vm)
{
	(void)vm;
	fake_virtio_destroy_all();
}

bool virtio_queue_interrupt(struct virtio_dev *vdev, unsigned int q)
{
	assert(q < vdev->ops->nqueues);
	if (!virtq_should_notify(&vdev->vq[q]))
		return false;
	atomic_fetch_add(&irqs[q], 1);
	return true;
}

void virtio_config_interrupt(struct virtio_dev *vdev)
{
	(void)vdev;
	atomic_fetch_add(&config_irqs, 1);
}

void virtio_set_needs_reset(struct virtio_dev *vdev, const char *why)
{
	(void)vdev;
	(void)why;
	atomic_store(&needs_reset, true);
}

int virtio_watch(struct virtio_dev *vdev, int fd, short events,
		 void (*cb)(struct virtio_dev *vdev, int fd, short revents))
{
	if (nwatches == ARRAY_SIZE(watches))
		return -ENOSPC;
	watches[nwatches++] = (__typeof__(watches[0])){ vdev, fd, events, true, cb };
	return 0;
}

void virtio_watch_enable(struct virtio_dev *vdev, int fd, bool enable)
{
	for (unsigned int i = 0; i < nwatches; i++)
		if (watches[i].vdev == vdev && watches[i].fd == fd)
			watches[i].enabled = enable;
}

void virtio_kick_self(struct virtio_dev *vdev, unsigned int q)
{
	(void)vdev;
	atomic_fetch_add(&self_kicks[q], 1);
}
