// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-console (virtio 1.2 section 5.3): a single port without MULTIPORT,
 * so no control queues; receiveq0 carries host input, transmitq0 guest output.
 *
 * Threads and locks:
 *  - transmitq0 (tx_*) is the worker's alone: notify(1) and the output fd's
 *    POLLOUT watch both run there; start/stop run while it is parked.
 *  - receiveq0 is shared by the worker (notify(0): the guest posted buffers)
 *    and by whoever calls virtio_console_input (vm.c's main loop). rx_lock
 *    covers every use of vdev->vq[0] and the rx_* fields, and is taken last:
 *    input calls no transport function while holding it (it leaves the
 *    interrupt to the worker with a self-kick); the worker calls
 *    virtio_queue_interrupt(vdev, 0) under it, because that reads and
 *    updates the queue's signalled index, which pushes from input also move,
 *    and interrupt delivery takes only the MSI-X and ISR locks. start and
 *    stop take it under the transport's lock, with the worker parked.
 *  - winsize and size_pending are atomics: written by virtio_console_resize
 *    (any thread), read by config_read (vCPU) and the worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util.h"
#include "virtio/console.h"
#include "virtio/virtio.h"
#include "vm.h"

/* struct virtio_console_config (5.3.4): cols, rows, max_nr_ports, emerg_wr. */
#define VCON_CFG_COLS		0
#define VCON_CFG_ROWS		2
#define VCON_CFG_MAX_PORTS	4
#define VCON_CFG_SIZE		12

/*
 * Receive chains taken per virtio_console_input call: its input is at most
 * one read() of stdin, so this only bounds a guest that posts empty buffers.
 */
#define VCON_RX_CHAINS		64

struct vcon {
	struct virtio_dev vdev;
	enum vcon_mode mode;
	int fd;				/* VCON_FILE output, O_NONBLOCK; else -1 */
	bool watched;			/* fd is pollable and has a POLLOUT watch */
	char *path;			/* for log lines */
	struct ratelimit rl;		/* worker's log lines */

	_Atomic uint32_t winsize;	/* cols | rows << 16, for F_SIZE */
	atomic_bool size_pending;	/* send a config interrupt from the worker */

	/* transmitq0: worker only. */
	bool tx_running;
	bool tx_busy;			/* tx_chain popped, written up to tx_seg/tx_seg_off */
	bool tx_wait_out;		/* the output fd was full: its watch resumes us */
	unsigned int tx_seg;
	size_t tx_seg_off;
	struct virtq_chain tx_chain;

	/* receiveq0: rx_lock. */
	pthread_mutex_t rx_lock;
	bool rx_running;
	bool rx_blocked;		/* input refused bytes: owe serial_rx_fd a signal */
	bool rx_irq_pending;		/* input pushed buffers: the worker interrupts */
	struct ratelimit rx_rl;
	struct virtq_chain rx_chain;
};

/* The terminal's size as config fields want it; false when stdout is no terminal. */
static bool vcon_winsize(uint32_t *ws)
{
	struct winsize w;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) < 0 || !w.ws_col || !w.ws_row)
		return false;
	*ws = (uint32_t)w.ws_col | (uint32_t)w.ws_row << 16;
	return true;
}

/* ---- transmitq0: guest output ----------------------------------------- */

/* How far vcon_tx_chain got with the current chain. */
enum vcon_out {
	OUT_DONE,	/* all of it written */
	OUT_BUDGET,	/* this wakeup's budget is spent */
	OUT_WAIT,	/* the output fd is full */
	OUT_ERROR,	/* the output failed: the rest is dropped */
};

/*
 * The reader of a FIFO or terminal went away (POLLERR/POLLHUP). Those two
 * are reported by epoll and poll even for a watch that is switched off, so
 * the fd would wake the worker for ever: point it at /dev/null instead.
 * Closing the last reference to the old file also takes it out of the
 * worker's epoll set. Output is discarded from here on, as for a hung-up
 * terminal.
 */
static void vcon_output_gone(struct vcon *c)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	pr_warn("virtio-console: the reader of '%s' went away; discarding console output",
		c->path);
	if (c->watched)
		virtio_watch_enable(&c->vdev, c->fd, false);
	c->watched = false;
	if (null >= 0) {
		dup3(null, c->fd, O_CLOEXEC);
		close(null);
	}
}

/*
 * Write @len bytes of guest output: as many as the destination takes now.
 * Returns the count (<= @len), 0 when a non-blocking fd is full, -1 on an
 * error, after which the chain's remaining bytes are dropped.
 */
static ssize_t vcon_write(struct vcon *c, const uint8_t *p, size_t len)
{
	if (c->mode != VCON_FILE) {
		vm_console_write(c->vdev.vm, p, len);	/* never blocks: drops when full */
		return (ssize_t)len;
	}
	for (unsigned int tries = 0; tries < 8; tries++) {
		ssize_t w = write(c->fd, p, len);

		if (w > 0)
			return w;
		if (w < 0 && errno == EINTR)
			continue;
		/*
		 * Full. Without a watch (a file poll(2) cannot wait on is
		 * always "ready", so this should not happen) there is nothing
		 * to wait for: drop rather than spin.
		 */
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && c->watched)
			return 0;
		if (w < 0 && errno == EPIPE && c->watched) {
			vcon_output_gone(c);
			return -1;
		}
		if (ratelimit_ok(&c->rl, 1))
			pr_warn("virtio-console: writing '%s': %s; output dropped", c->path,
				w < 0 ? strerror(errno) : "no progress");
		return -1;
	}
	return -1;
}

/*
 * Write the rest of tx_chain's readable part, within @budget. The writable
 * part of a transmit buffer means nothing (5.3.6) and is left alone.
 */
static enum vcon_out vcon_tx_chain(struct vcon *c, uint64_t *budget)
{
	const struct virtq_chain *ch = &c->tx_chain;

	while (c->tx_seg < ch->n_out) {
		const struct iovec *v = &ch->iov[c->tx_seg];
		size_t len = v->iov_len - c->tx_seg_off;
		ssize_t w;

		if (*budget == 0)
			return OUT_BUDGET;
		len = (size_t)MIN((uint64_t)len, *budget);
		w = vcon_write(c, (const uint8_t *)v->iov_base + c->tx_seg_off, len);
		if (w < 0)
			return OUT_ERROR;
		if (w == 0)
			return OUT_WAIT;
		*budget -= (uint64_t)w;
		c->tx_seg_off += (size_t)w;
		if (c->tx_seg_off == v->iov_len) {
			c->tx_seg++;
			c->tx_seg_off = 0;
		}
	}
	return OUT_DONE;
}

/*
 * Drain transmitq0 within one wakeup's budget (worker thread). Stops early
 * when the output fd is full, and then waits for its POLLOUT watch with
 * notifications off: the guest's output waits in its ring, not in ours.
 */
static void vcon_tx(struct vcon *c)
{
	struct virtio_dev *vdev = &c->vdev;
	struct virtq *vq = &vdev->vq[VIRTIO_CONSOLE_TXQ];
	uint64_t budget = VIRTIO_CONSOLE_TX_WAKEUP_MAX;
	const char *broken = NULL;
	bool pushed = false;

	if (!c->tx_running || c->tx_wait_out)
		return;
	virtq_set_notify(vq, false);
	/* A chain carried over from the last wakeup counts against this one's bound. */
	for (unsigned int chains = c->tx_busy ? 1 : 0;;) {
		enum vcon_out r;

		if (!c->tx_busy) {
			int ret;

			if (chains == VIRTIO_CONSOLE_TX_WAKEUP_CHAINS || budget == 0) {
				/* Case 18: yield the worker; the self-kick brings us back. */
				if (virtq_has_work(vq))
					virtio_kick_self(vdev, VIRTIO_CONSOLE_TXQ);
				break;
			}
			chains++;
			ret = virtq_pop(vq, &c->tx_chain);
			if (ret == 0) {
				/* Re-arm, then look again (2.7.10). */
				virtq_set_notify(vq, true);
				if (!virtq_has_work(vq))
					break;
				virtq_set_notify(vq, false);
				continue;
			}
			if (ret == -EIO) {
				broken = vq->error ? vq->error : "transmitq broken";
				break;
			}
			if (ret < 0) {
				/* A bad chain: the guest gets it back, nothing was read. */
				virtq_push(vq, c->tx_chain.head, 0);
				pushed = true;
				continue;
			}
			c->tx_busy = true;
			c->tx_seg = 0;
			c->tx_seg_off = 0;
		}
		r = vcon_tx_chain(c, &budget);
		if (r == OUT_WAIT) {
			/* Sleep on POLLOUT, keeping the chain. */
			c->tx_wait_out = true;
			virtio_watch_enable(vdev, c->fd, true);
			break;
		}
		if (r == OUT_BUDGET) {
			/* In the middle of a long chain: carry on next wakeup. */
			virtio_kick_self(vdev, VIRTIO_CONSOLE_TXQ);
			break;
		}
		/* Used length 0: the device wrote nothing into the chain (2.7.8). */
		virtq_push(vq, c->tx_chain.head, 0);
		c->tx_busy = false;
		pushed = true;
	}
	if (pushed)
		virtio_queue_interrupt(vdev, VIRTIO_CONSOLE_TXQ);
	if (broken)
		virtio_set_needs_reset(vdev, broken);
}

/* POLLOUT on the output file (worker thread): the reader caught up, or left. */
static void vcon_out_ready(struct virtio_dev *vdev, int fd, short revents)
{
	struct vcon *c = vdev->priv;

	if (!c->watched)
		return;
	if (revents & (POLLERR | POLLHUP | POLLNVAL))
		vcon_output_gone(c);
	else
		virtio_watch_enable(vdev, fd, false);
	c->tx_wait_out = false;
	vcon_tx(c);
}

/* ---- receiveq0: host input -------------------------------------------- */

/* Caller holds rx_lock. Ask for a kick when the guest posts buffers. */
static bool vcon_rx_rearm(struct virtq *vq)
{
	virtq_set_notify(vq, true);
	return virtq_has_work(vq);
}

size_t virtio_console_input(struct virtio_dev *vdev, const uint8_t *p, size_t n)
{
	struct vcon *c = vdev->priv;
	struct virtq *vq = &vdev->vq[VIRTIO_CONSOLE_RXQ];
	const char *broken = NULL;
	bool pushed = false;
	size_t done = 0;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&c->rx_lock);
	for (unsigned int i = 0; c->rx_running && done < n && i < VCON_RX_CHAINS; i++) {
		size_t k = 0;
		int ret = virtq_pop(vq, &c->rx_chain);

		if (ret == 0) {
			if (vcon_rx_rearm(vq))
				continue;
			break;
		}
		if (ret == -EIO) {
			/* Until the driver resets: no more log lines per keystroke. */
			broken = vq->error ? vq->error : "receiveq broken";
			c->rx_running = false;
			break;
		}
		if (ret == 1)
			k = virtq_buf_to_iov(&c->rx_chain, 0, p + done, n - done);
		else if (ratelimit_ok(&c->rx_rl, 1))
			pr_warn("virtio-console: bad receive buffer: %s", vq->error);
		/*
		 * Each buffer goes back with this call's bytes even when it has
		 * room to spare: keeping it for later input would delay what
		 * was typed now. A bad or writable-less chain goes back empty.
		 */
		virtq_push(vq, c->rx_chain.head, (uint32_t)k);
		pushed = true;
		done += k;
	}
	if (done < n)
		c->rx_blocked = true;
	if (pushed)
		c->rx_irq_pending = true;
	pthread_mutex_unlock(&c->rx_lock);

	/* The interrupt goes from the worker, which owns the queue's interrupt state. */
	if (pushed)
		virtio_kick_self(vdev, VIRTIO_CONSOLE_RXQ);
	if (broken)
		virtio_set_needs_reset(vdev, broken);
	return done;
}

/*
 * receiveq0 kicked (worker): the guest posted buffers, or input pushed some
 * and asked for the interrupt. Input that was refused is told to retry.
 */
static void vcon_rx_notify(struct vcon *c)
{
	struct virtio_dev *vdev = &c->vdev;
	struct virtq *vq = &vdev->vq[VIRTIO_CONSOLE_RXQ];
	bool wake = false;

	pthread_mutex_lock(&c->rx_lock);
	if (c->rx_running) {
		if (c->rx_irq_pending) {
			c->rx_irq_pending = false;
			virtio_queue_interrupt(vdev, VIRTIO_CONSOLE_RXQ);
		}
		wake = c->rx_blocked && vcon_rx_rearm(vq);
		if (wake)
			c->rx_blocked = false;
	}
	pthread_mutex_unlock(&c->rx_lock);
	if (wake && vdev->vm->serial_rx_fd >= 0)
		eventfd_write(vdev->vm->serial_rx_fd, 1);
}

/* ---- virtio_dev_ops --------------------------------------------------- */

static void vcon_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct vcon *c = vdev->priv;

	if (q == VIRTIO_CONSOLE_RXQ) {
		vcon_rx_notify(c);
	} else if (q == VIRTIO_CONSOLE_TXQ) {
		/* A resize rides on a self-kick of this queue: see virtio_console_resize. */
		if (c->tx_running && atomic_exchange(&c->size_pending, false) &&
		    (vdev->features & (1ULL << VIRTIO_CONSOLE_F_SIZE)))
			virtio_config_interrupt(vdev);
		vcon_tx(c);
	}
}

static int vcon_start(struct virtio_dev *vdev)
{
	struct vcon *c = vdev->priv;
	bool wake = false;

	c->tx_running = vdev->vq_enabled[VIRTIO_CONSOLE_TXQ];
	c->tx_busy = c->tx_wait_out = false;
	if (c->watched)
		virtio_watch_enable(vdev, c->fd, false);

	pthread_mutex_lock(&c->rx_lock);
	c->rx_running = vdev->vq_enabled[VIRTIO_CONSOLE_RXQ];
	c->rx_irq_pending = false;
	/* Buffers posted before DRIVER_OK count: input waiting for them may go now. */
	if (c->rx_running) {
		wake = c->rx_blocked && vcon_rx_rearm(&vdev->vq[VIRTIO_CONSOLE_RXQ]);
		if (wake)
			c->rx_blocked = false;
	}
	pthread_mutex_unlock(&c->rx_lock);
	if (wake && vdev->vm->serial_rx_fd >= 0)
		eventfd_write(vdev->vm->serial_rx_fd, 1);

	/*
	 * Linux reads cols/rows only on a config change (config_work_handler),
	 * so announce the size the driver starts with. The worker sends it,
	 * after this returns.
	 */
	if (c->tx_running && (vdev->features & (1ULL << VIRTIO_CONSOLE_F_SIZE))) {
		atomic_store(&c->size_pending, true);
		virtio_kick_self(vdev, VIRTIO_CONSOLE_TXQ);
	}
	return 0;
}

static void vcon_stop(struct virtio_dev *vdev)
{
	struct vcon *c = vdev->priv;

	/*
	 * A chain half written is dropped, not pushed: after a reset the
	 * device writes nothing more into guest memory (2.4).
	 */
	c->tx_running = c->tx_busy = c->tx_wait_out = false;
	memset(&c->tx_chain, 0, sizeof(c->tx_chain));
	if (c->watched)
		virtio_watch_enable(vdev, c->fd, false);

	/* rx_blocked survives: input still owed a retry gets it after the next start. */
	pthread_mutex_lock(&c->rx_lock);
	c->rx_running = false;
	c->rx_irq_pending = false;
	memset(&c->rx_chain, 0, sizeof(c->rx_chain));
	pthread_mutex_unlock(&c->rx_lock);
}

static void vcon_destroy(struct virtio_dev *vdev)
{
	struct vcon *c = vdev->priv;

	if (c->fd >= 0)
		close(c->fd);
	pthread_mutex_destroy(&c->rx_lock);
	free(c->path);
	free(c);
}

static void vcon_config_read(struct virtio_dev *vdev, uint32_t off, uint8_t *data,
			     unsigned int len)
{
	struct vcon *c = vdev->priv;
	uint8_t cfg[VCON_CFG_SIZE] = { 0 };
	uint32_t ws = atomic_load(&c->winsize);

	/* cols and rows mean something only with F_SIZE; 0 otherwise. */
	le_write(cfg + VCON_CFG_COLS, 2, ws & 0xffff);
	le_write(cfg + VCON_CFG_ROWS, 2, ws >> 16);
	/* Valid only with MULTIPORT, which is not offered; one port, honestly. */
	le_write(cfg + VCON_CFG_MAX_PORTS, 4, 1);
	/* emerg_wr (EMERG_WRITE, not offered) is write-only: reads 0. */
	if (off > VCON_CFG_SIZE || len > VCON_CFG_SIZE - off) {
		memset(data, 0, len);
		return;
	}
	memcpy(data, cfg + off, len);
}

static const struct virtio_dev_ops vcon_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	/* Simple communication controller, other: what QEMU gives virtio-serial. */
	.pci_class = 0x078000,
	.nqueues = 2,
	.queue_max = VIRTIO_CONSOLE_QUEUE_MAX,
	.config_size = VCON_CFG_SIZE,
	.config_read = vcon_config_read,
	.config_write = NULL,	/* nothing writable without EMERG_WRITE */
	.start = vcon_start,
	.notify = vcon_notify,
	.stop = vcon_stop,
	.destroy = vcon_destroy,
};

void virtio_console_resize(struct virtio_dev *vdev)
{
	struct vcon *c = vdev->priv;
	uint32_t ws;

	if (!(vdev->host_features & (1ULL << VIRTIO_CONSOLE_F_SIZE)) || !vcon_winsize(&ws))
		return;
	if (atomic_exchange(&c->winsize, ws) == ws)
		return;
	/*
	 * The config interrupt is sent from the worker: this may run on the
	 * main thread, and the worker is where the device's interrupts come
	 * from. Before DRIVER_OK the kick is dropped and start() announces it.
	 */
	atomic_store(&c->size_pending, true);
	virtio_kick_self(vdev, VIRTIO_CONSOLE_TXQ);
}

int virtio_console_create(struct vm *vm, enum vcon_mode mode, const char *path,
			  struct virtio_dev **out)
{
	struct vcon *c;
	uint32_t ws;
	int ret;

	if (out)
		*out = NULL;
	if (mode == VCON_NONE)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c || (mode == VCON_FILE && !(c->path = strdup(path)))) {
		pr_err("virtio-console: out of memory");
		free(c);
		return -ENOMEM;
	}
	c->vdev.ops = &vcon_ops;
	c->vdev.priv = c;
	c->vdev.vm = vm;
	c->mode = mode;
	c->fd = -1;
	pthread_mutex_init(&c->rx_lock, NULL);
	c->vdev.host_features = (1ULL << VIRTIO_RING_F_EVENT_IDX) |
				(1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	if (mode == VCON_STDIO && vcon_winsize(&ws)) {
		atomic_store(&c->winsize, ws);
		c->vdev.host_features |= 1ULL << VIRTIO_CONSOLE_F_SIZE;
	}

	if (mode == VCON_FILE) {
		/*
		 * Opened blocking, so a FIFO waits here for its reader as a
		 * shell redirection would; then non-blocking, so a reader that
		 * stalls later never stalls the worker (vcon_write).
		 */
		c->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (c->fd < 0 || fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0) {
			ret = -errno;
			pr_err("cannot open console output '%s': %s", path, strerror(errno));
			goto fail;
		}
	}

	c->vdev.id_prefix = "console";
	/* vm.c feeds stdin to it by pointer: it stays for the VM's life. */
	c->vdev.pinned = mode == VCON_STDIO;
	ret = virtio_pci_add(vm, &c->vdev);
	if (ret)
		goto fail;
	if (c->fd >= 0) {
		/*
		 * The transport needs the device added before it takes a
		 * watch. Regular files, block devices and /dev/null cannot
		 * be polled (-EPERM from epoll): writes to them never report
		 * "full", so they need no watch. The watch stays off until
		 * a write finds the fd full; the worker only runs after start.
		 */
		ret = virtio_watch(&c->vdev, c->fd, POLLOUT, vcon_out_ready);
		if (ret == 0) {
			c->watched = true;
			virtio_watch_enable(&c->vdev, c->fd, false);
		} else if (ret != -EPERM) {
			pr_warn("virtio-console: cannot wait for '%s' to drain (%s); output "
				"that does not fit is dropped", path, strerror(-ret));
		}
	}
	if (out)
		*out = &c->vdev;
	return 0;

fail:
	if (c->fd >= 0)
		close(c->fd);
	pthread_mutex_destroy(&c->rx_lock);
	free(c->path);
	free(c);
	return ret;
}
