/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_VIRTIO_RNG_H
#define KVMIO_VIRTIO_RNG_H

#include "util.h"

struct vm;

/*
 * virtio-rng (virtio 1.2 section 5.4): one requestq, no config space; the
 * guest posts device-writable buffers and gets getrandom(2) bytes back.
 *
 * Bounds (hostile-guest.md cases 5 and 18): a request gets at most
 * VIRTIO_RNG_REQ_MAX bytes whatever its buffers' length (5.4.6.2 lets the
 * device fill less than the whole buffer), and one wakeup hands out at most
 * VIRTIO_RNG_WAKEUP_MAX bytes over at most VIRTIO_RNG_WAKEUP_CHAINS chains
 * before it yields the worker and re-queues itself with virtio_kick_self.
 */
#define VIRTIO_RNG_REQ_MAX		(4 * KiB)
#define VIRTIO_RNG_WAKEUP_MAX		(64 * KiB)
#define VIRTIO_RNG_WAKEUP_CHAINS	128
#define VIRTIO_RNG_QUEUE_MAX		256

/*
 * virtio_rng_create - add a virtio-rng PCI function to @vm. Waits, once and
 * only here, for the host's CRNG to be initialised (see rng.c). Returns 0,
 * or a negative errno after printing one line. Setup only (main thread).
 */
int virtio_rng_create(struct vm *vm);

#endif
