/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_VIRTIO_VIRTIO_H
#define KVMIO_VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/queue.h"

struct vm;
struct virtio_dev;

#define VIRTIO_MAX_QUEUES	8
#define VIRTIO_MAX_WATCH	4

/*
 * A virtio device model (blk.c, net.c, console.c, rng.c), independent of the
 * transport. The transport (virtio/pci.c) owns feature negotiation, the
 * status machine, the queues' registers and interrupts, and one worker
 * thread per device that waits on the queues' notification eventfds and on
 * the fds the device watches.
 *
 * Threads: config_read/config_write run on vCPU threads under the
 * transport's lock. start and stop run on a vCPU thread (the driver writing
 * the status register) or the main thread (teardown) while the worker is
 * parked, so they never race with notify or a watch callback. notify and
 * watch callbacks run on the worker thread, one at a time.
 */
struct virtio_dev_ops {
	const char *name;		/* "virtio-blk": log lines, PCI names */
	uint16_t device_id;		/* virtio device ID (5): VIRTIO_ID_BLOCK... */
	uint32_t pci_class;		/* class code, 24 bits: 0x018000 storage... */
	unsigned int nqueues;		/* queues the device has, <= VIRTIO_MAX_QUEUES */
	uint16_t queue_max;		/* largest queue size it accepts */
	uint32_t config_size;		/* bytes of device-specific config */

	/* Device config (@off + @len <= config_size, @len 1/2/4/8, little endian). */
	void (*config_read)(struct virtio_dev *vdev, uint32_t off, uint8_t *data, unsigned int len);
	void (*config_write)(struct virtio_dev *vdev, uint32_t off, const uint8_t *data,
			     unsigned int len);	/* NULL: config is read-only */

	/*
	 * start - DRIVER_OK: vdev->features is final and every enabled queue
	 * is initialised (vdev->vq[i], vdev->vq_enabled[i]). Returns 0, or a
	 * negative errno to put the device in DEVICE_NEEDS_RESET.
	 */
	int (*start)(struct virtio_dev *vdev);
	/*
	 * notify - the driver kicked queue @q (or the device asked for a
	 * re-run with virtio_kick_self). Runs on the worker thread.
	 */
	void (*notify)(struct virtio_dev *vdev, unsigned int q);
	/*
	 * stop - device reset, or VM teardown. When it returns the device holds
	 * no guest-memory pointer, has no I/O in flight that could still write
	 * guest memory, and raises no interrupt until the next start.
	 */
	void (*stop)(struct virtio_dev *vdev);
	/* destroy - free the device; called once, after stop, at teardown. */
	void (*destroy)(struct virtio_dev *vdev);
};

struct virtio_pci;	/* transport state, private to virtio/pci.c */

struct virtio_watch {
	int fd;
	short events;
	void (*cb)(struct virtio_dev *vdev, int fd, short revents);
	bool off;	/* virtio_watch_enable(false): out of the poll set */
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv;			/* the device model's state */
	struct vm *vm;
	uint64_t host_features;		/* device-specific bits offered; the transport adds its own */
	uint64_t features;		/* negotiated, valid from start() to stop() */
	struct virtq vq[VIRTIO_MAX_QUEUES];
	bool vq_enabled[VIRTIO_MAX_QUEUES];
	struct virtio_pci *transport;
	struct virtio_watch watch[VIRTIO_MAX_WATCH];	/* see virtio_watch */
	unsigned int nwatch;
	/* For virtio_pci_add: the device's id (NULL: generated from id_prefix) and PCI slot (0: any). */
	const char *id;
	const char *id_prefix;
	unsigned int slot;
	bool pinned;		/* never removed while the VM runs (dev.h) */
};

/*
 * virtio_pci_add - give @vdev (ops, priv, vm and host_features filled in,
 * id, id_prefix and slot optional) a PCI function on the VM's bus, an
 * entry in its device registry and a worker thread. Returns 0 or a
 * negative errno after printing one line. On success the transport owns
 * @vdev and calls ops->destroy when the device is released.
 */
int virtio_pci_add(struct vm *vm, struct virtio_dev *vdev);

/* virtio_pci_destroy_all - remove every virtio device of @vm (teardown, tests). */
void virtio_pci_destroy_all(struct vm *vm);

/*
 * virtio_queue_interrupt - the device pushed used buffers on queue @q:
 * interrupt the driver if virtq_should_notify says it wants one (MSI-X
 * vector of the queue, or INTx + ISR bit 0). Worker thread. Returns
 * whether the driver was interrupted.
 */
bool virtio_queue_interrupt(struct virtio_dev *vdev, unsigned int q);

/* virtio_config_interrupt - device config changed (ISR bit 1, or the config vector). */
void virtio_config_interrupt(struct virtio_dev *vdev);

/*
 * virtio_set_needs_reset - the driver broke the device's rules: set
 * DEVICE_NEEDS_RESET, send a config interrupt, stop processing until the
 * driver resets. Logs @why once (rate-limited). Any thread.
 */
void virtio_set_needs_reset(struct virtio_dev *vdev, const char *why);

/*
 * virtio_watch - the worker also polls @fd (for @events, POLLIN/POLLOUT)
 * and calls @cb on readiness, on its thread. Register at most
 * VIRTIO_MAX_WATCH fds, before or after virtio_pci_add (not from other
 * threads while the worker runs).
 * virtio_watch_enable turns polling of a registered fd off and on (net: no
 * RX buffers, so stop reading the tap until the guest adds some). Watches
 * are only polled between start and stop.
 */
int virtio_watch(struct virtio_dev *vdev, int fd, short events,
		 void (*cb)(struct virtio_dev *vdev, int fd, short revents));
void virtio_watch_enable(struct virtio_dev *vdev, int fd, bool enable);

/* virtio_kick_self - queue a notify(@q) on the worker, from any thread. */
void virtio_kick_self(struct virtio_dev *vdev, unsigned int q);

#endif
