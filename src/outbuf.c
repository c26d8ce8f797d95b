// SPDX-License-Identifier: Apache-2.0
/* Console output ring: vCPUs append, the main loop writes. See outbuf.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "outbuf.h"
#include "util.h"

/* Without a private non-blocking descriptor, write no more than a tty or pipe
 * is sure to take after POLLOUT (n_tty's WAKEUP_CHARS). */
#define SMALL_WRITE 256

int outbuf_init(struct outbuf *o, int fd, size_t cap)
{
	char path[64];

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (o->wake_fd < 0)
		return -errno;
	o->buf = big_calloc(cap);
	if (!o->buf) {
		close(o->wake_fd);
		return -ENOMEM;
	}
	o->cap = cap;
	pthread_mutex_init(&o->lock, NULL);
	if (fd < 0)
		return 0;
	/* A new open file description: O_NONBLOCK here does not reach the shell's. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	o->fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	o->own_fd = o->fd >= 0;
	if (!o->own_fd)
		o->fd = fd;
	return 0;
}

void outbuf_destroy(struct outbuf *o)
{
	if (!o->buf)
		return;
	if (o->dropped)
		pr_warn("console output: %llu bytes dropped while the reader was not keeping up",
			(unsigned long long)o->dropped);
	if (o->own_fd && o->fd >= 0)
		close(o->fd);
	close(o->wake_fd);
	pthread_mutex_destroy(&o->lock);
	big_free(o->buf, o->cap);
	o->buf = NULL;
}

void outbuf_put(struct outbuf *o, const uint8_t *p, size_t n)
{
	bool was_empty;

	if (o->fd < 0)
		return;
	pthread_mutex_lock(&o->lock);
	was_empty = o->len == 0;
	for (size_t i = 0; i < n; i++) {
		if (o->len == o->cap) {
			o->dropped += n - i;
			break;
		}
		o->buf[(o->head + o->len) % o->cap] = p[i];
		o->len++;
	}
	pthread_mutex_unlock(&o->lock);
	if (was_empty && eventfd_write(o->wake_fd, 1) < 0)
		pr_debug("console eventfd: %s", strerror(errno));
}

bool outbuf_flush(struct outbuf *o)
{
	static struct ratelimit rl;
	eventfd_t v;
	bool more;

	if (eventfd_read(o->wake_fd, &v) < 0 && errno != EAGAIN)
		pr_debug("console eventfd: %s", strerror(errno));
	pthread_mutex_lock(&o->lock);
	while (o->len) {
		/* The contiguous part; the lock is held only across a non-blocking write. */
		size_t chunk = MIN(o->len, o->cap - o->head);
		ssize_t w;

		if (!o->own_fd)
			chunk = MIN(chunk, (size_t)SMALL_WRITE);
		w = write(o->fd, o->buf + o->head, chunk);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				/* A broken destination: drop, or the ring never empties. */
				if (ratelimit_ok(&rl, 1))
					pr_warn("console output: %s", strerror(errno));
				o->dropped += o->len;
				o->len = 0;
			}
			break;
		}
		o->head = (o->head + (size_t)w) % o->cap;
		o->len -= (size_t)w;
		if (!o->own_fd)
			break;	/* one small write per POLLOUT */
	}
	more = o->len != 0;
	pthread_mutex_unlock(&o->lock);
	return more;
}

void outbuf_drain(struct outbuf *o, int timeout_ms)
{
	uint64_t deadline = time_ns() + (uint64_t)timeout_ms * 1000000ULL;

	while (o->fd >= 0 && outbuf_flush(o)) {
		struct pollfd pfd = { .fd = o->fd, .events = POLLOUT };
		uint64_t now = time_ns();

		if (now >= deadline)
			break;
		poll(&pfd, 1, (int)((deadline - now) / 1000000ULL) + 1);
	}
}
