// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-rng (virtio 1.2 section 5.4): the requestq's writable buffers are
 * filled from getrandom(2).
 *
 * Where the bytes come from: getrandom() draws from the host kernel's CRNG,
 * the source the spec intends ("a source of randomness", 5.4) and what QEMU's
 * default rng-random backend and Firecracker's entropy device use. Its only
 * blocking state is before the host CRNG is first seeded, which happens in
 * the host's early boot and never reverts. So create() waits for that once,
 * with flags 0, on the main thread where a wait is harmless; the worker then
 * calls getrandom with GRND_NONBLOCK, which cannot block from then on. The
 * flag is a guarantee rather than an optimisation: a worker stuck in
 * getrandom would keep the transport from parking it, and so hang the vCPU
 * that resets the device. GRND_INSECURE is not an option: before the CRNG
 * is seeded it returns bytes the guest would credit as entropy.
 */
#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util.h"
#include "virtio/rng.h"
#include "virtio/virtio.h"

struct rng {
	struct virtio_dev vdev;
	bool running;			/* between start and stop; worker-only after start */
	struct ratelimit rl;		/* log lines the guest can provoke */
	struct virtq_chain chain;	/* the chain being served: too big for the stack */
	uint8_t buf[VIRTIO_RNG_REQ_MAX];
};

/*
 * Fill @buf with up to @len random bytes; returns how many it got. Requests
 * over 256 bytes may come back short when a signal interrupts them, so it
 * retries a few times rather than forever.
 */
static size_t rng_getrandom(uint8_t *buf, size_t len)
{
	size_t got = 0;

	for (unsigned int tries = 0; got < len && tries < 8; tries++) {
		ssize_t r = getrandom(buf + got, len - got, GRND_NONBLOCK);

		if (r > 0)
			got += (size_t)r;
		else if (r < 0 && errno != EINTR)
			break;
	}
	return got;
}

/*
 * One request: up to @budget (<= VIRTIO_RNG_REQ_MAX) random bytes into the
 * chain's writable part. Returns the bytes written, the used length.
 */
static uint32_t rng_serve(struct rng *r, uint64_t budget)
{
	const struct virtq_chain *c = &r->chain;
	size_t want, got;

	/*
	 * 5.4.6.1: the driver MUST NOT place driver-readable buffers in the
	 * queue. Such a chain is no request the spec defines, so it is
	 * returned unused (as Firecracker does) rather than half-served.
	 */
	if (c->n_out) {
		if (ratelimit_ok(&r->rl, 1))
			pr_warn("virtio-rng: request with a device-readable buffer; returned unused");
		return 0;
	}
	want = (size_t)MIN(MIN(c->in_len, (uint64_t)VIRTIO_RNG_REQ_MAX), budget);
	got = rng_getrandom(r->buf, want);
	if (got < want && ratelimit_ok(&r->rl, 1))
		pr_warn("virtio-rng: getrandom gave %zu of %zu bytes", got, want);
	return (uint32_t)virtq_buf_to_iov(c, 0, r->buf, got);
}

/*
 * requestq kicked (worker thread). Serves chains until the ring is empty or
 * this wakeup's budget is spent, then raises one interrupt for the batch.
 */
static void rng_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct rng *r = vdev->priv;
	struct virtq *vq = &vdev->vq[0];
	uint64_t budget = VIRTIO_RNG_WAKEUP_MAX;
	const char *broken = NULL;
	bool pushed = false;

	if (q != 0 || !r->running)
		return;
	/* No kicks while we drain the ring; re-armed below once it is empty. */
	virtq_set_notify(vq, false);
	for (unsigned int chains = 0;; chains++) {
		uint32_t written = 0;
		int ret;

		if (budget == 0 || chains == VIRTIO_RNG_WAKEUP_CHAINS) {
			/*
			 * Case 18: yield the worker to the other queues and
			 * devices; notifications stay off, the self-kick
			 * brings us back.
			 */
			if (virtq_has_work(vq))
				virtio_kick_self(vdev, 0);
			break;
		}
		ret = virtq_pop(vq, &r->chain);
		if (ret == 0) {
			/* Re-arm, then look again: closes the race with a skipped kick (2.7.10). */
			virtq_set_notify(vq, true);
			if (!virtq_has_work(vq))
				break;
			virtq_set_notify(vq, false);
			continue;	/* counts as a chain: the loop stays bounded */
		}
		if (ret == -EIO) {
			broken = vq->error ? vq->error : "requestq broken";
			break;
		}
		if (ret == 1)
			written = rng_serve(r, budget);
		/* A bad chain (-EINVAL) goes back with nothing written. */
		virtq_push(vq, r->chain.head, written);
		budget -= written;
		pushed = true;
	}
	if (pushed)
		virtio_queue_interrupt(vdev, 0);
	if (broken)
		virtio_set_needs_reset(vdev, broken);
}

static int rng_start(struct virtio_dev *vdev)
{
	struct rng *r = vdev->priv;

	/* A driver that did not enable the requestq gets nothing, and that is fine. */
	r->running = vdev->vq_enabled[0];
	return 0;
}

static void rng_stop(struct virtio_dev *vdev)
{
	struct rng *r = vdev->priv;

	r->running = false;
	/* The iovecs point into guest RAM; keep nothing of them past a reset. */
	memset(&r->chain, 0, sizeof(r->chain));
}

static void rng_destroy(struct virtio_dev *vdev)
{
	free(vdev->priv);
}

/* No config space (5.4.4); a transport that asks anyway reads zeros. */
static void rng_config_read(struct virtio_dev *vdev, uint32_t off, uint8_t *data,
			    unsigned int len)
{
	memset(data, 0, len);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	/* PCI base class 0xff: "device does not fit any defined class". */
	.pci_class = 0xff0000,
	.nqueues = 1,
	.queue_max = VIRTIO_RNG_QUEUE_MAX,
	.config_size = 0,
	.config_read = rng_config_read,
	.start = rng_start,
	.notify = rng_notify,
	.stop = rng_stop,
	.destroy = rng_destroy,
};

/* Block until the host CRNG is seeded: see the top of the file. */
static int rng_wait_crng(void)
{
	uint8_t b;
	ssize_t r;

	if (getrandom(&b, 1, GRND_NONBLOCK) == 1)
		return 0;
	if (errno != EAGAIN) {
		pr_err("virtio-rng: getrandom: %s", strerror(errno));
		return -errno;
	}
	pr_info("virtio-rng: waiting for the host's random number generator to be seeded");
	do
		r = getrandom(&b, 1, 0);
	while (r < 0 && errno == EINTR);
	if (r != 1) {
		pr_err("virtio-rng: getrandom: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int virtio_rng_create(struct vm *vm)
{
	struct rng *r;
	int ret;

	ret = rng_wait_crng();
	if (ret)
		return ret;
	r = calloc(1, sizeof(*r));
	if (!r) {
		pr_err("virtio-rng: out of memory");
		return -ENOMEM;
	}
	r->vdev.ops = &rng_ops;
	r->vdev.priv = r;
	r->vdev.vm = vm;
	r->vdev.id_prefix = "rng";
	r->vdev.host_features = (1ULL << VIRTIO_RING_F_EVENT_IDX) |
				(1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	ret = virtio_pci_add(vm, &r->vdev);
	if (ret) {
		free(r);
		return ret;
	}
	return 0;
}
