/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device-model tests without a transport: stand-ins for the transport calls
 * a virtio device makes (virtio/virtio.h), and a minimal driver side of a
 * split ring over a heap buffer that plays guest RAM.
 *
 * Link tests/unit/fake_virtio.o before libkvmio.a (FAKE_VIRTIO_TESTS in the
 * Makefile) so that virtio/pci.o is not pulled in.
 *
 * Typical use:
 *	struct fake_guest g; fake_guest_init(&g, 1 << 20);
 *	... create the device (its create function calls virtio_pci_add) ...
 *	struct virtio_dev *vdev = fake_virtio_last();
 *	fake_virtio_start(vdev, &g, features);     // rings for every queue, start()
 *	uint64_t buf = fake_guest_alloc(&g, 512);
 *	fake_ring_add(&g, 0, (struct fake_seg[]){ { hdr, 16, false }, { buf, 512, true } }, 2);
 *	vdev->ops->notify(vdev, 0);
 *	fake_ring_used(&g, 0, &head, &len);
 */
#ifndef KVMIO_TESTS_FAKE_VIRTIO_H
#define KVMIO_TESTS_FAKE_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "mem.h"
#include "virtio/virtio.h"

#define FAKE_QSIZE	256

/* "Guest RAM": one region at gpa 0, plus a bump allocator and per-queue rings. */
struct fake_guest {
	struct guest_mem mem;
	uint64_t next;			/* bump allocator */
	struct {
		uint64_t desc, avail, used;
		uint16_t avail_idx;	/* driver's shadow */
		uint16_t used_seen;	/* used entries consumed by fake_ring_used */
		uint16_t next_desc;	/* descriptors handed out round-robin */
	} q[VIRTIO_MAX_QUEUES];
};

struct fake_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;			/* device-writable */
};

void fake_guest_init(struct fake_guest *g, uint64_t size);
void fake_guest_free(struct fake_guest *g);
/* fake_guest_alloc - @len bytes of zeroed guest RAM, 16-byte aligned; its gpa. */
uint64_t fake_guest_alloc(struct fake_guest *g, uint64_t len);
/* Host pointer for a gpa inside the fake RAM (asserts it is). */
void *fake_guest_ptr(struct fake_guest *g, uint64_t gpa);

/*
 * fake_ring_add - put one chain of @n segments on queue @q's avail ring
 * (descriptors chained with NEXT, in order). Returns the head.
 */
uint16_t fake_ring_add(struct fake_guest *g, unsigned int q, const struct fake_seg *segs,
		       unsigned int n);
/* fake_ring_used - take the next used element: true with @head/@len, false if none. */
bool fake_ring_used(struct fake_guest *g, unsigned int q, uint16_t *head, uint32_t *len);

/*
 * fake_virtio_start - as a driver reaching DRIVER_OK: features = @features
 * & vdev->host_features (plus VERSION_1), every queue initialised over @g
 * with FAKE_QSIZE entries and enabled, then ops->start. Returns start's value.
 */
int fake_virtio_start(struct virtio_dev *vdev, struct fake_guest *g, uint64_t features);
/* fake_virtio_stop - ops->stop and the queues torn down, as a driver reset does. */
void fake_virtio_stop(struct virtio_dev *vdev);

/* The device most recently given to virtio_pci_add; NULL if none. */
struct virtio_dev *fake_virtio_last(void);
/* Destroy every device given to virtio_pci_add (stop + destroy). */
void fake_virtio_destroy_all(void);

/* What the device did. */
unsigned long fake_virtio_irqs(unsigned int q);		/* virtio_queue_interrupt calls */
unsigned long fake_virtio_config_irqs(void);
bool fake_virtio_needs_reset(void);
unsigned long fake_virtio_self_kicks(unsigned int q);
/* fake_virtio_poll_watches - call every enabled watch callback whose fd poll()s ready now. */
unsigned int fake_virtio_poll_watches(struct virtio_dev *vdev, int timeout_ms);
void fake_virtio_reset_counts(void);

#endif
