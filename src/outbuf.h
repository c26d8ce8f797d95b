/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_OUTBUF_H
#define KVMIO_OUTBUF_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Console output: a bounded ring that vCPU threads append to without ever
 * blocking, drained by the main loop when the destination can take more.
 * A reader that stalls (a paused terminal, a full pipe) costs the guest
 * dropped bytes, never a stuck vCPU or an unresponsive kvmio (hostile-guest
 * case 18).
 */
struct outbuf {
	pthread_mutex_t lock;
	uint8_t *buf;
	size_t cap, head, len;	/* bytes [head, head+len) mod cap are pending */
	uint64_t dropped;	/* bytes lost to a full ring */
	int fd;			/* destination, non-blocking; -1 drops everything */
	bool own_fd;		/* fd is our non-blocking reopen (else: small writes) */
	int wake_fd;		/* eventfd: the ring went from empty to non-empty */
};

/*
 * outbuf_init - a ring of @cap bytes writing to @fd (-1: discard). @fd is
 * reopened non-blocking through /proc/self/fd so the caller's descriptor
 * (a shared terminal) keeps its flags; where that is impossible, @fd is
 * used as is and writes are kept small. Returns 0 or negative errno.
 */
int outbuf_init(struct outbuf *o, int fd, size_t cap);
void outbuf_destroy(struct outbuf *o);

/* outbuf_put - append @n bytes; what does not fit is dropped. Never blocks on I/O. */
void outbuf_put(struct outbuf *o, const uint8_t *p, size_t n);

/*
 * outbuf_flush - write what the destination takes now. Returns true while
 * bytes remain (wait for POLLOUT on o->fd), false when the ring is empty.
 * Main loop only.
 */
bool outbuf_flush(struct outbuf *o);

/* outbuf_drain - at exit: flush for at most @timeout_ms, then give up. */
void outbuf_drain(struct outbuf *o, int timeout_ms);

#endif
