// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk (virtio 1.2 section 5.2): one request queue over a raw image
 * file or block device.
 *
 * Threads: every request is parsed, issued and completed on the transport's
 * worker thread for this device (notify, and the watch on the io_uring
 * completion eventfd). The vCPU only kicks. I/O goes through io_uring with the
 * chain's guest-memory iovecs (no copy); each popped head owns the slot
 * slots[head] until it is pushed back, so nothing is allocated per request.
 * Without io_uring the same steps run synchronously on the worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/fs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "virtio/blk.h"
#include "virtio/virtio.h"
#include "vm.h"

#define BLK_QUEUE_MAX	256
/* Config space up to write_zeroes_may_unmap and its padding: no SECURE_ERASE. */
#define BLK_CONFIG_SIZE	(offsetof(struct virtio_blk_config, unused1) + 3)
/* WRITE_ZEROES by plain writes: at most this much per write, from one zero buffer. */
#define BLK_ZERO_BUF	(64 * KiB)
#define BLK_ZERO_CHUNK	(16 * BLK_ZERO_BUF)
/* EINTR/EAGAIN on one request more often than this is an I/O error, not a retry loop. */
#define BLK_MAX_RETRIES	16

struct blk_slot {
	struct blk_req req;
	uint16_t head;
	unsigned int first;		/* first iov not yet fully transferred */
	unsigned int retries;
	uint64_t done;			/* bytes transferred so far */
	int falloc_mode;		/* mode of the fallocate in flight */
};

struct blk {
	struct virtio_dev vdev;		/* the transport holds &vdev; priv points back */
	char *path;
	int fd;
	struct blk_geom geom;
	uint8_t config[BLK_CONFIG_SIZE];
	char serial[VIRTIO_BLK_ID_BYTES];	/* NUL-padded, not NUL-terminated */
	bool writethrough;		/* FLUSH not negotiated: writes are RWF_DSYNC (5.2.6.3) */
	bool no_punch, no_zero_range;	/* the filesystem refused these fallocate modes */
	bool bdev;			/* a block device: DISCARD is BLKDISCARD */
	bool no_discard;		/* the block device refused BLKDISCARD */

	/* Valid between start and stop. */
	bool started;
	struct virtq *vq;
	unsigned int pushed;		/* used entries since the last interrupt */

	bool uring;			/* else synchronous I/O on the worker */
	bool fixed_file;		/* fd registered with the ring as file 0 */
	struct io_uring ring;
	int efd;			/* the ring's completion eventfd */
	unsigned int inflight;		/* SQEs submitted, CQE not yet reaped */

	struct blk_slot *slots;		/* BLK_QUEUE_MAX, indexed by head */
	struct virtq_chain chain;	/* scratch for virtq_pop: 16 KiB, not on the stack */
};

static uint8_t zero_buf[BLK_ZERO_BUF];	/* only ever read */
static struct ratelimit io_rl;

/* ---- request parsing (pure) ---- */

/*
 * Describe bytes [@off, @off + @len) of @iov[0..@n) as at most @max pieces in
 * @dst, skipping empty ones. Returns the count, or -1 when more pieces are
 * needed or the segments end first.
 */
static int iov_slice(const struct iovec *iov, unsigned int n, uint64_t off, uint64_t len,
		     struct iovec *dst, unsigned int max)
{
	unsigned int cnt = 0;

	for (unsigned int i = 0; i < n && len; i++) {
		uint64_t take;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		if (cnt == max)
			return -1;
		take = MIN(iov[i].iov_len - off, len);
		dst[cnt].iov_base = (uint8_t *)iov[i].iov_base + off;
		dst[cnt++].iov_len = take;
		len -= take;
		off = 0;
	}
	return len ? -1 : (int)cnt;
}

/* The last byte of the writable segments (5.2.6: the status byte), or NULL. */
static uint8_t *status_byte(const struct iovec *in, unsigned int n)
{
	while (n--)
		if (in[n].iov_len)
			return (uint8_t *)in[n].iov_base + in[n].iov_len - 1;
	return NULL;
}

/*
 * [@sector, @sector + @count) lies inside the disk. Compared against the
 * capacity, never summed, so a sector near 2^64 cannot wrap (case 16).
 */
static bool range_ok(const struct blk_geom *g, uint64_t sector, uint64_t count)
{
	return sector <= g->capacity && count <= g->capacity - sector;
}

static void parse_range(const struct virtq_chain *c, const struct blk_geom *g, uint32_t type,
			struct blk_req *r)
{
	struct virtio_blk_discard_write_zeroes seg;
	bool discard = type == VIRTIO_BLK_T_DISCARD;
	uint64_t sector;
	uint32_t num, flags;

	/* A read-only disk changes no byte, whatever was negotiated (case 16). */
	if (g->readonly)
		return;
	if (discard ? !g->discard : !g->write_zeroes) {
		r->status = VIRTIO_BLK_S_UNSUPP;
		return;
	}
	/* max_discard_seg and max_write_zeroes_seg are 1: exactly one segment. */
	if (c->out_len - sizeof(struct virtio_blk_outhdr) != sizeof(seg) ||
	    virtq_iov_to_buf(c, sizeof(struct virtio_blk_outhdr), &seg, sizeof(seg)) != sizeof(seg))
		return;
	sector = seg.sector;
	num = seg.num_sectors;
	flags = seg.flags;
	/* 5.2.6.2: UNSUPP for discard with the unmap flag, and for unknown flags. */
	if (discard ? flags != 0 : (flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) != 0) {
		r->status = VIRTIO_BLK_S_UNSUPP;
		return;
	}
	if (num > (discard ? BLK_MAX_DISCARD_SECTORS : BLK_MAX_WZ_SECTORS) ||
	    !range_ok(g, sector, num))
		return;
	r->op = discard ? BLK_OP_DISCARD : BLK_OP_WRITE_ZEROES;
	r->unmap = flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	r->offset = sector * BLK_SECTOR;
	r->len = (uint64_t)num * BLK_SECTOR;
	r->status = VIRTIO_BLK_S_OK;
}

void virtio_blk_parse(const struct virtq_chain *c, const struct blk_geom *g, struct blk_req *r)
{
	const struct iovec *out = c->iov, *in = c->iov + c->n_out;
	struct virtio_blk_outhdr hdr;
	uint64_t data;
	int n;

	r->op = BLK_OP_NONE;
	r->status = VIRTIO_BLK_S_IOERR;
	r->unmap = false;
	r->offset = r->len = 0;
	r->niov = 0;
	r->status_ptr = status_byte(in, c->n_in);
	/*
	 * The header is device-readable and comes first; copy it once so the
	 * guest cannot change it between check and use. A chain too short for
	 * it fails with IOERR; one without a writable byte cannot even say so.
	 */
	if (!r->status_ptr || c->out_len < sizeof(hdr) ||
	    virtq_iov_to_buf(c, 0, &hdr, sizeof(hdr)) != sizeof(hdr))
		return;
	/* Geometry from a caller that broke the capacity * 512 < 2^63 promise. */
	if (g->capacity > INT64_MAX / BLK_SECTOR)
		return;

	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool write = hdr.type == VIRTIO_BLK_T_OUT;

		/* 5.2.6.2: IOERR for a write to a read-only disk, and write nothing. */
		if (write && g->readonly)
			return;
		/* Data: after the header (OUT) or before the status byte (IN). */
		data = write ? c->out_len - sizeof(hdr) : c->in_len - 1;
		if (data % BLK_SECTOR || !range_ok(g, hdr.sector, data / BLK_SECTOR))
			return;
		if (write)
			n = iov_slice(out, c->n_out, sizeof(hdr), data, r->iov, BLK_SEG_MAX);
		else
			n = iov_slice(in, c->n_in, 0, data, r->iov, BLK_SEG_MAX);
		if (n < 0)
			return;
		r->op = write ? BLK_OP_WRITE : BLK_OP_READ;
		r->offset = hdr.sector * BLK_SECTOR;
		r->len = data;
		r->niov = (unsigned int)n;
		break;
	}
	case VIRTIO_BLK_T_FLUSH:
		r->op = BLK_OP_FLUSH;
		break;
	case VIRTIO_BLK_T_GET_ID:
		/* Up to 20 bytes of serial, as QEMU: fewer if the buffer is shorter. */
		data = MIN(c->in_len - 1, (uint64_t)VIRTIO_BLK_ID_BYTES);
		n = iov_slice(in, c->n_in, 0, data, r->iov, BLK_SEG_MAX);
		if (n < 0)
			return;
		r->op = BLK_OP_GET_ID;
		r->len = data;
		r->niov = (unsigned int)n;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		parse_range(c, g, hdr.type, r);
		return;
	default:
		r->status = VIRTIO_BLK_S_UNSUPP;
		return;
	}
	r->status = VIRTIO_BLK_S_OK;
}

/* ---- running requests ---- */

/* Return @s's chain to the driver: status byte, then the used entry. */
static void blk_finish(struct blk *b, struct blk_slot *s)
{
	struct blk_req *r = &s->req;
	uint64_t written = 0;

	if (r->status_ptr) {
		*r->status_ptr = r->status;
		written = 1;
		if (r->status == VIRTIO_BLK_S_OK && (r->op == BLK_OP_READ || r->op == BLK_OP_GET_ID))
			written += r->len;
	}
	virtq_push(b->vq, s->head, (uint32_t)MIN(written, (uint64_t)UINT32_MAX));
	b->pushed++;
}

/*
 * Pick how the next step of @s runs: the fallocate mode for DISCARD and
 * WRITE_ZEROES, or, once the filesystem has refused the modes, the zero
 * buffer as the iovecs of a plain write.
 */
static void blk_prepare(struct blk *b, struct blk_slot *s)
{
	struct blk_req *r = &s->req;

	if (r->op == BLK_OP_DISCARD) {
		s->falloc_mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	} else if (r->op == BLK_OP_WRITE_ZEROES) {
		if (r->unmap && !b->no_punch) {
			s->falloc_mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		} else if (!b->no_zero_range) {
			s->falloc_mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
		} else {
			r->op = BLK_OP_ZERO_WRITE;
			s->done = 0;
		}
	}
	if (r->op == BLK_OP_ZERO_WRITE) {
		uint64_t left = MIN(r->len - s->done, (uint64_t)BLK_ZERO_CHUNK);

		for (r->niov = 0; left; r->niov++) {
			r->iov[r->niov].iov_base = zero_buf;
			r->iov[r->niov].iov_len = MIN(left, (uint64_t)BLK_ZERO_BUF);
			left -= r->iov[r->niov].iov_len;
		}
		s->first = 0;
	}
}

static bool blk_fail(struct blk *b, struct blk_slot *s, int err)
{
	if (ratelimit_ok(&io_rl, 5))
		pr_warn("disk %s: request %u at offset %llu, %llu bytes, failed: %s", b->path,
			s->req.op, (unsigned long long)s->req.offset,
			(unsigned long long)s->req.len, strerror(-err));
	s->req.status = VIRTIO_BLK_S_IOERR;
	return true;
}

/* Skip @n transferred bytes of @s's iovecs, after a short read or write. */
static void iov_advance(struct blk_slot *s, uint64_t n)
{
	struct blk_req *r = &s->req;

	while (n && s->first < r->niov) {
		struct iovec *v = &r->iov[s->first];

		if (n < v->iov_len) {
			v->iov_base = (uint8_t *)v->iov_base + n;
			v->iov_len -= n;
			return;
		}
		n -= v->iov_len;
		s->first++;
	}
}

/*
 * Account one step of @s that returned @res (bytes, 0, or -errno). Returns
 * true when the request is finished with its status set, false when another
 * step must run (the rest after a short transfer, a retry, a fallback).
 */
static bool blk_step_done(struct blk *b, struct blk_slot *s, int res)
{
	struct blk_req *r = &s->req;

	if ((res == -EINTR || res == -EAGAIN) && ++s->retries <= BLK_MAX_RETRIES)
		return false;
	switch (r->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
	case BLK_OP_ZERO_WRITE:
		/* 0 bytes: the image shrank under us. Never report unread data as read. */
		if (res <= 0)
			return blk_fail(b, s, res ? res : -EIO);
		s->done += (uint64_t)res;
		if (s->done >= r->len)
			break;
		if (r->op != BLK_OP_ZERO_WRITE)
			iov_advance(s, (uint64_t)res);
		return false;
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES:
		/*
		 * The filesystem lacks this fallocate mode: remember it. Discard
		 * is a hint (5.2.6.2) and is done; write-zeroes retries the next
		 * way blk_prepare picks, down to plain writes.
		 */
		if (res == -EOPNOTSUPP) {
			if (s->falloc_mode & FALLOC_FL_PUNCH_HOLE)
				b->no_punch = true;
			else
				b->no_zero_range = true;
			if (r->op == BLK_OP_WRITE_ZEROES)
				return false;
			break;
		}
		/* fall through */
	default:
		if (res < 0)
			return blk_fail(b, s, res);
		break;
	}
	r->status = VIRTIO_BLK_S_OK;
	return true;
}

/* One step, synchronously: the system call blk_prepare chose. */
static int blk_sync_step(struct blk *b, struct blk_slot *s)
{
	struct blk_req *r = &s->req;
	off_t off;
	int cnt;
	ssize_t n;

	blk_prepare(b, s);
	off = (off_t)(r->offset + s->done);
	cnt = (int)(r->niov - s->first);
	switch (r->op) {
	case BLK_OP_READ:
		n = preadv(b->fd, r->iov + s->first, cnt, off);
		break;
	case BLK_OP_WRITE:
	case BLK_OP_ZERO_WRITE:
		n = pwritev2(b->fd, r->iov + s->first, cnt, off, b->writethrough ? RWF_DSYNC : 0);
		break;
	case BLK_OP_FLUSH:
		n = fdatasync(b->fd);
		break;
	default:
		n = fallocate(b->fd, s->falloc_mode, (off_t)r->offset, (off_t)r->len);
		break;
	}
	/* preadv/pwritev return at most INT_MAX & PAGE_MASK bytes: fits int. */
	return n < 0 ? -errno : (int)n;
}

/* Queue one step of @s on the ring. Finishes it with IOERR when the SQ stays full. */
static void blk_submit(struct blk *b, struct blk_slot *s)
{
	struct blk_req *r = &s->req;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
	int fd = b->fixed_file ? 0 : b->fd;
	uint64_t off;

	/* The SQ has a slot per head, so this only guards a bug. */
	if (!sqe && io_uring_submit(&b->ring) >= 0)
		sqe = io_uring_get_sqe(&b->ring);
	if (!sqe) {
		blk_fail(b, s, -EBUSY);
		blk_finish(b, s);
		return;
	}
	blk_prepare(b, s);
	off = r->offset + s->done;
	switch (r->op) {
	case BLK_OP_READ:
		io_uring_prep_readv(sqe, fd, r->iov + s->first, r->niov - s->first, off);
		break;
	case BLK_OP_WRITE:
	case BLK_OP_ZERO_WRITE:
		io_uring_prep_writev(sqe, fd, r->iov + s->first, r->niov - s->first, off);
		if (b->writethrough)
			sqe->rw_flags = RWF_DSYNC;
		break;
	case BLK_OP_FLUSH:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	default:
		io_uring_prep_fallocate(sqe, fd, s->falloc_mode, r->offset, r->len);
		break;
	}
	if (b->fixed_file)
		sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, s->head);
	b->inflight++;
}

/*
 * DISCARD on a block device, as QEMU does it: BLKDISCARD, a real discard.
 * A hole punched in a block device is a zeroing (the kernel's zeroout
 * without fallback), which a drive that trims but does not promise zeroes
 * refuses. Synchronous on the worker: io_uring has no discard before Linux
 * 6.12, and discards are rare and bounded (max_discard_sectors). A device
 * that cannot discard, or not at this alignment, makes it the no-op a hint
 * may be (5.2.6.2); other errors are I/O errors.
 */
static void blk_discard_bdev(struct blk *b, struct blk_slot *s)
{
	uint64_t range[2] = { s->req.offset, s->req.len };

	if (b->no_discard || ioctl(b->fd, BLKDISCARD, range) == 0)
		return;
	if (errno == EOPNOTSUPP)
		b->no_discard = true;
	else if (errno != EINVAL)
		blk_fail(b, s, -errno);
}

/* Run the request popped into @s, or start it on the ring. */
static void blk_start_req(struct blk *b, struct blk_slot *s)
{
	struct blk_req *r = &s->req;
	int res;

	s->first = s->retries = 0;
	s->done = 0;
	switch (r->op) {
	case BLK_OP_NONE:
		blk_finish(b, s);
		return;
	case BLK_OP_GET_ID: {
		uint64_t off = 0;

		for (unsigned int i = 0; i < r->niov; off += r->iov[i++].iov_len)
			memcpy(r->iov[i].iov_base, b->serial + off, r->iov[i].iov_len);
		blk_finish(b, s);
		return;
	}
	case BLK_OP_FLUSH:
		break;
	default:
		if (r->len && r->op == BLK_OP_DISCARD && b->bdev) {
			blk_discard_bdev(b, s);
			blk_finish(b, s);
			return;
		}
		/* Nothing to transfer, or a discard the filesystem cannot do. */
		if (r->len == 0 || (r->op == BLK_OP_DISCARD && b->no_punch)) {
			blk_finish(b, s);
			return;
		}
	}
	if (b->uring) {
		blk_submit(b, s);
		return;
	}
	do {
		res = blk_sync_step(b, s);
	} while (!blk_step_done(b, s, res));
	blk_finish(b, s);
}

/* Take every completion the ring holds; finish requests or issue their next step. */
static void blk_reap(struct blk *b)
{
	struct io_uring_cqe *cqe;
	bool resubmit = false;

	while (io_uring_peek_cqe(&b->ring, &cqe) == 0) {
		uint64_t head = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&b->ring, cqe);
		b->inflight--;
		/* Stopping (reset): the I/O is over, but the chain is the old ring's. */
		if (!b->started || head >= BLK_QUEUE_MAX)
			continue;
		if (blk_step_done(b, &b->slots[head], res)) {
			blk_finish(b, &b->slots[head]);
		} else {
			blk_submit(b, &b->slots[head]);
			resubmit = true;
		}
	}
	if (resubmit)
		io_uring_submit(&b->ring);
}

/* One interrupt per batch of pushes; virtio_queue_interrupt applies EVENT_IDX. */
static void blk_interrupt(struct blk *b)
{
	if (b->pushed) {
		b->pushed = 0;
		virtio_queue_interrupt(&b->vdev, 0);
	}
}

/* Worker thread: the ring's eventfd fired. */
static void blk_on_completion(struct virtio_dev *vdev, int fd, short revents)
{
	struct blk *b = vdev->priv;
	eventfd_t v;

	/* Drain first: a CQE posted after the reap below signals again. */
	eventfd_read(fd, &v);
	blk_reap(b);
	if (b->started)
		blk_interrupt(b);
}

/*
 * A request the IOMMU refused part of (queue.h: keep_faulted): nothing of it
 * is done. IOERR goes in the status byte when the chain's last buffer, the
 * status, was translated (writable, as the spec puts it last); else the
 * chain is given back without a status, as a bad one is.
 */
static void blk_fail_faulted(struct blk *b)
{
	const struct virtq_chain *c = &b->chain;
	const struct iovec *last = c->n_in ? &c->iov[c->n_out + c->n_in - 1] : NULL;

	if (last && !c->last_faulted && last->iov_len) {
		((uint8_t *)last->iov_base)[last->iov_len - 1] = VIRTIO_BLK_S_IOERR;
		virtq_push(b->vq, c->head, 1);
	} else {
		virtq_push(b->vq, c->head, 0);
	}
	b->pushed++;
}

/* Worker thread: the driver kicked the request queue. */
static void blk_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct blk *b = vdev->priv;
	struct virtq *vq = b->vq;
	/* Bounded work per call (case 18); a self-kick resumes after other work. */
	unsigned int budget;

	if (!b->started || q != 0 || !vq)
		return;
	budget = vq->size;
	for (;;) {
		int ret;

		/* No kicks while draining: the loop sees new chains anyway. */
		virtq_set_notify(vq, false);
		while (budget && (ret = virtq_pop(vq, &b->chain)) != 0) {
			if (ret == -EIO) {
				virtio_set_needs_reset(vdev, vq->error ? vq->error : "broken queue");
				goto out;
			}
			budget--;
			if (ret < 0 || b->chain.head >= BLK_QUEUE_MAX) {
				/* A bad chain: give its buffers back, no status (queue.h). */
				virtq_push(vq, b->chain.head, 0);
				b->pushed++;
				continue;
			}
			if (b->chain.faulted) {
				blk_fail_faulted(b);
				continue;
			}
			b->slots[b->chain.head].head = b->chain.head;
			virtio_blk_parse(&b->chain, &b->geom, &b->slots[b->chain.head].req);
			blk_start_req(b, &b->slots[b->chain.head]);
		}
		if (!budget) {
			virtio_kick_self(vdev, 0);
			break;
		}
		/* Re-enable, then look again: a chain added before that sent no kick. */
		virtq_set_notify(vq, true);
		if (!virtq_has_work(vq))
			break;
	}
out:
	if (b->uring) {
		io_uring_submit(&b->ring);
		/* Page-cache hits complete inline: answer them in this batch. */
		blk_reap(b);
	}
	blk_interrupt(b);
}

/* ---- device ops ---- */

static void blk_config_read(struct virtio_dev *vdev, uint32_t off, uint8_t *data, unsigned int len)
{
	struct blk *b = vdev->priv;

	if (off <= sizeof(b->config) && len <= sizeof(b->config) - off)
		memcpy(data, b->config + off, len);
	else
		memset(data, 0, len);
}

static int blk_start(struct virtio_dev *vdev)
{
	struct blk *b = vdev->priv;

	b->geom.discard = vdev->features & (1ULL << VIRTIO_BLK_F_DISCARD);
	b->geom.write_zeroes = vdev->features & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	b->writethrough = !(vdev->features & (1ULL << VIRTIO_BLK_F_FLUSH));
	b->pushed = 0;
	b->vq = NULL;
	if (!vdev->vq_enabled[0])
		return 0;	/* a driver that enabled no queue gets nothing done */
	if (vdev->vq[0].size > BLK_QUEUE_MAX)
		return -EINVAL;	/* the transport enforces queue_max; slots[] relies on it */
	b->vq = &vdev->vq[0];
	b->vq->keep_faulted = true;	/* a refused buffer fails its request with IOERR */
	b->started = true;
	return 0;
}

/*
 * Reset or teardown: wait for every SQE in flight, because the kernel may
 * still be reading into guest memory (case 14), and drop the results: the
 * chains belong to a ring the driver is resetting.
 */
static void blk_stop(struct virtio_dev *vdev)
{
	struct blk *b = vdev->priv;
	unsigned int waited = 0;
	eventfd_t v;

	b->started = false;
	if (b->uring) {
		io_uring_submit(&b->ring);
		while (b->inflight) {
			struct __kernel_timespec ts = { .tv_sec = 1 };
			struct io_uring_cqe *cqe;
			int ret = io_uring_wait_cqe_timeout(&b->ring, &cqe, &ts);

			if (ret < 0 && ret != -ETIME && ret != -EINTR)
				usleep(1000);
			if (ret == -ETIME && ++waited == 5)
				pr_warn("disk %s: reset waits for %u requests still in flight",
					b->path, b->inflight);
			blk_reap(b);
		}
		eventfd_read(b->efd, &v);
	}
	b->vq = NULL;
	b->pushed = 0;
}

static void blk_free(struct blk *b)
{
	/* Unlock by hand: the ring's registered file outlives close() a little. */
	if (b->fd >= 0)
		fcntl(b->fd, F_OFD_SETLK, &(struct flock){ .l_type = F_UNLCK, .l_whence = SEEK_SET });
	if (b->uring)
		io_uring_queue_exit(&b->ring);
	if (b->efd >= 0)
		close(b->efd);
	if (b->fd >= 0)
		close(b->fd);
	big_free(b->slots, BLK_QUEUE_MAX * sizeof(*b->slots));
	free(b->path);
	free(b);
}

static void blk_destroy(struct virtio_dev *vdev)
{
	blk_free(vdev->priv);
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.pci_class = 0x018000,		/* mass storage, other */
	.nqueues = 1,
	.queue_max = BLK_QUEUE_MAX,
	.config_size = BLK_CONFIG_SIZE,
	.config_read = blk_config_read,
	.config_write = NULL,		/* no CONFIG_WCE: the cache mode is fixed */
	.start = blk_start,
	.notify = blk_notify,
	.stop = blk_stop,
	.destroy = blk_destroy,
};

/* ---- creation ---- */

/* Size in bytes and physical block size of the image behind @fd. */
static int blk_probe(struct blk *b, uint64_t *size, unsigned int *pbs)
{
	struct stat st;

	if (fstat(b->fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		int p = 0;

		if (ioctl(b->fd, BLKGETSIZE64, size) < 0)
			return -errno;
		b->bdev = true;
		*pbs = ioctl(b->fd, BLKPBSZGET, &p) == 0 && p > 0 ? (unsigned int)p : 512;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*size = (uint64_t)st.st_size;
	/* Files: 4 KiB physical, so the guest aligns to the host page cache. */
	*pbs = 4096;
	return 0;
}

/*
 * An OFD lock over the whole file: another kvmio's (or QEMU's, which also uses
 * OFD locks) conflicts with it, unlike flock across NFS or with QEMU.
 */
static int blk_lock(struct blk *b, bool readonly)
{
	struct flock fl = {
		.l_type = readonly ? F_RDLCK : F_WRLCK,
		.l_whence = SEEK_SET,
	};

	if (fcntl(b->fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES) {
		pr_err("disk %s: in use by another process: %s OFD lock refused "
		       "(another kvmio or QEMU has it open%s)", b->path,
		       readonly ? "a shared" : "an exclusive", readonly ? " read-write" : "");
		return -EBUSY;
	}
	pr_warn("disk %s: cannot lock the image (%s); nothing stops a second user", b->path,
		strerror(errno));
	return 0;
}

static void blk_fill_config(struct blk *b, unsigned int pbs)
{
	struct virtio_blk_config cfg = { 0 };
	unsigned int exp = 0;

	while ((BLK_SECTOR << exp) < (int)pbs && exp < 12)
		exp++;
	/* x86-64 is little endian, as the virtio 1.x config space is. */
	cfg.capacity = b->geom.capacity;
	cfg.seg_max = BLK_SEG_MAX;
	cfg.blk_size = BLK_SECTOR;
	cfg.physical_block_exp = (uint8_t)exp;
	cfg.min_io_size = (uint16_t)(1u << exp);
	cfg.num_queues = 1;
	cfg.max_discard_sectors = BLK_MAX_DISCARD_SECTORS;
	cfg.max_discard_seg = 1;
	cfg.discard_sector_alignment = 1u << exp;
	cfg.max_write_zeroes_sectors = BLK_MAX_WZ_SECTORS;
	cfg.max_write_zeroes_seg = 1;
	cfg.write_zeroes_may_unmap = 1;
	memcpy(b->config, &cfg, sizeof(b->config));
}

/* io_uring with the completion eventfd, or false for the synchronous path. */
static bool blk_setup_uring(struct blk *b)
{
	const char *env = getenv("KVMIO_BLK_NO_URING");
	int ret;

	if (env && *env && strcmp(env, "0"))
		return false;
	ret = io_uring_queue_init(BLK_QUEUE_MAX, &b->ring, 0);
	if (ret < 0) {
		pr_warn("disk %s: io_uring unavailable (%s); using synchronous I/O", b->path,
			strerror(-ret));
		return false;
	}
	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->efd < 0 || io_uring_register_eventfd(&b->ring, b->efd) < 0) {
		pr_warn("disk %s: io_uring completion eventfd failed; using synchronous I/O",
			b->path);
		io_uring_queue_exit(&b->ring);
		return false;
	}
	/* A registered file saves an fget/fput per request; optional. */
	b->fixed_file = io_uring_register_files(&b->ring, &b->fd, 1) == 0;
	return true;
}

int virtio_blk_create(struct vm *vm, const struct disk_opts *o, unsigned int index)
{
	const char *base = strrchr(o->path, '/') ? strrchr(o->path, '/') + 1 : o->path;
	const char *serial = o->serial ? o->serial : base;
	struct blk *b;
	uint64_t size;
	unsigned int pbs = BLK_SECTOR;
	int ret;

	if (o->serial && strlen(o->serial) > VIRTIO_BLK_ID_BYTES) {
		pr_err("disk %s: serial '%s' is longer than %d bytes", o->path, o->serial,
		       VIRTIO_BLK_ID_BYTES);
		return -EINVAL;
	}
	b = calloc(1, sizeof(*b));
	if (!b || !(b->slots = big_calloc(BLK_QUEUE_MAX * sizeof(*b->slots))) ||
	    !(b->path = strdup(o->path))) {
		pr_err("disk %s: out of memory", o->path);
		if (b)
			big_free(b->slots, BLK_QUEUE_MAX * sizeof(*b->slots));
		free(b);
		return -ENOMEM;
	}
	b->efd = -1;
	b->fd = open(o->path, (o->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		ret = -errno;
		pr_err("disk %s: cannot open%s: %s", o->path, o->readonly ? " read-only" : "",
		       strerror(errno));
		goto fail;
	}
	ret = blk_lock(b, o->readonly);
	if (ret < 0)
		goto fail;
	ret = blk_probe(b, &size, &pbs);
	if (ret < 0) {
		pr_err("disk %s: %s", o->path, ret == -EINVAL ?
		       "not a regular file or block device" : strerror(-ret));
		goto fail;
	}
	if (size < BLK_SECTOR) {
		pr_err("disk %s: image is %s (%llu bytes); it needs at least one 512-byte sector",
		       o->path, size ? "too small" : "empty", (unsigned long long)size);
		ret = -EINVAL;
		goto fail;
	}
	/* As QEMU: the guest sees whole sectors; the tail is never read or written. */
	if (size % BLK_SECTOR)
		pr_warn("disk %s: size %llu is not a multiple of 512; the guest sees %llu bytes",
			o->path, (unsigned long long)size,
			(unsigned long long)ALIGN_DOWN(size, (uint64_t)BLK_SECTOR));
	b->geom.capacity = size / BLK_SECTOR;
	b->geom.readonly = o->readonly;
	/* NUL-padded; a 20-byte serial has no terminator (5.2.6). */
	memcpy(b->serial, serial, MIN(strlen(serial), sizeof(b->serial)));
	blk_fill_config(b, pbs);

	b->uring = blk_setup_uring(b);
	b->vdev.ops = &blk_ops;
	b->vdev.priv = b;
	b->vdev.vm = vm;
	b->vdev.id = o->id;
	b->vdev.id_prefix = "disk";
	b->vdev.host_features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		(1ULL << VIRTIO_BLK_F_TOPOLOGY) | (1ULL << VIRTIO_BLK_F_FLUSH) |
		(1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	/* Nothing to discard or zero on a read-only disk: offer neither. */
	if (o->readonly)
		b->vdev.host_features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		b->vdev.host_features |= (1ULL << VIRTIO_BLK_F_DISCARD) |
			(1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	if (b->uring) {
		ret = virtio_watch(&b->vdev, b->efd, POLLIN, blk_on_completion);
		if (ret < 0) {
			pr_err("disk %s: cannot watch the completion eventfd: %s", o->path,
			       strerror(-ret));
			goto fail;
		}
	}
	ret = virtio_pci_add(vm, &b->vdev);
	if (ret < 0)
		goto fail;
	pr_info("disk%u: %s, %llu sectors%s, %s", index, o->path,
		(unsigned long long)b->geom.capacity, o->readonly ? ", read-only" : "",
		b->uring ? "io_uring" : "synchronous I/O");
	return 0;
fail:
	blk_free(b);
	return ret;
}
