/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_VIRTIO_BLK_H
#define KVMIO_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/queue.h"

struct vm;
struct disk_opts;

/*
 * virtio_blk_create - open the image @o->path (read-write, or read-only with
 * @o->readonly), lock it against a second user (an OFD lock over the whole
 * file: exclusive for read-write, shared for read-only), and give the VM a
 * virtio-blk device for it through virtio_pci_add. @index is the disk's
 * position on the command line, for log lines. Returns 0, or a negative errno
 * after one pr_err line naming the path and the reason.
 *
 * Image I/O goes through io_uring on the device's worker thread. Where
 * io_uring_queue_init fails (seccomp in containers, old kernels) it falls
 * back to synchronous preadv/pwritev on the same thread, with one warning.
 * Setting the environment variable KVMIO_BLK_NO_URING=1 forces that
 * fallback (the unit tests run every case both ways).
 */
int virtio_blk_create(struct vm *vm, const struct disk_opts *o, unsigned int index);

/*
 * Internals shared with tests/unit/test_virtio_blk.c and
 * tests/fuzz/fuzz_virtio_blk.c: the request parser, a pure function from a
 * popped chain and the disk's geometry to the operation to run.
 */

#define BLK_SECTOR		512
/* Data segments one request may have (advertised as seg_max); more is IOERR. */
#define BLK_SEG_MAX		254
/* Per-segment limits advertised for DISCARD and WRITE_ZEROES (1 GiB). */
#define BLK_MAX_DISCARD_SECTORS	(1u << 21)
#define BLK_MAX_WZ_SECTORS	(1u << 21)

struct blk_geom {
	uint64_t capacity;		/* in 512-byte sectors; capacity * 512 fits off_t */
	bool readonly;
	bool discard;			/* VIRTIO_BLK_F_DISCARD negotiated */
	bool write_zeroes;		/* VIRTIO_BLK_F_WRITE_ZEROES negotiated */
};

enum blk_op {
	BLK_OP_NONE,			/* nothing to run: complete with @status */
	BLK_OP_READ,
	BLK_OP_WRITE,
	BLK_OP_FLUSH,
	BLK_OP_GET_ID,			/* @iov: where the serial goes, @len <= 20 */
	BLK_OP_DISCARD,
	BLK_OP_WRITE_ZEROES,
	BLK_OP_ZERO_WRITE,		/* internal: WRITE_ZEROES done with plain writes */
};

struct blk_req {
	uint8_t op;			/* enum blk_op */
	uint8_t status;			/* VIRTIO_BLK_S_*: the error when op is NONE */
	bool unmap;			/* WRITE_ZEROES with VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP */
	/*
	 * Where the status byte goes: the last byte of the chain's writable
	 * part. NULL when the chain has no writable byte: it is returned with
	 * used len 0 and nothing is written (hostile-guest.md case 8).
	 */
	uint8_t *status_ptr;
	uint64_t offset;		/* bytes into the image */
	uint64_t len;			/* bytes of data, or of the range to discard/zero */
	unsigned int niov;		/* data segments for READ/WRITE/GET_ID */
	struct iovec iov[BLK_SEG_MAX];
};

/*
 * virtio_blk_parse - decode the request in chain @c (virtio 1.2 section
 * 5.2.6) against @g into @r. The header and any DISCARD/WRITE_ZEROES
 * segment are copied out of guest memory once, then checked, so a guest
 * changing them meanwhile cannot bypass a check. Every sector and length is
 * checked with overflow-free arithmetic against the capacity. Never writes
 * guest memory. On return either @r->op says what to run, or it is
 * BLK_OP_NONE with @r->status the error to report.
 */
void virtio_blk_parse(const struct virtq_chain *c, const struct blk_geom *g, struct blk_req *r);

#endif
