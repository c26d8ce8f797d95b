// SPDX-License-Identifier: Apache-2.0
/*
 * The main thread's event loop: epoll over registered fds, timerfds as
 * timers, and an eventfd through which other threads hand work to it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "util.h"

struct loop_entry {
	int fd;
	uint32_t events;
	loop_fn fn;
	void *opaque;
	bool in_epoll;		/* false: epoll refused it (a regular file): always ready */
	bool armed;		/* in the epoll set: events are not 0 (else HUP/ERR would still wake us) */
	bool dead;		/* deleted during a dispatch; freed after it */
	struct loop_entry *next;
};

struct loop_call {
	void (*fn)(void *opaque);
	void *opaque;
	struct loop_call *next;
};

int loop_init(struct loop *l)
{
	memset(l, 0, sizeof(*l));
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&l->defer_lock, NULL);
	l->calls_tail = &l->calls;
	if (l->epfd < 0 || l->wake_fd < 0 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake_fd,
		      &(struct epoll_event){ .events = EPOLLIN, .data.ptr = NULL }) < 0) {
		int err = -errno;

		loop_destroy(l);
		return err;
	}
	return 0;
}

static struct loop_entry *find(struct loop *l, int fd)
{
	for (struct loop_entry *e = l->entries; e; e = e->next)
		if (e->fd == fd && !e->dead)
			return e;
	return NULL;
}

static void reap(struct loop *l)
{
	struct loop_entry **pp = &l->entries;

	while (*pp) {
		struct loop_entry *e = *pp;

		if (e->dead) {
			*pp = e->next;
			free(e);
		} else {
			pp = &e->next;
		}
	}
}

static void run_calls(struct loop *l)
{
	struct loop_call *c;

	pthread_mutex_lock(&l->defer_lock);
	c = l->calls;
	l->calls = NULL;
	l->calls_tail = &l->calls;
	pthread_mutex_unlock(&l->defer_lock);
	while (c) {
		struct loop_call *next = c->next;

		c->fn(c->opaque);
		free(c);
		c = next;
	}
}

void loop_destroy(struct loop *l)
{
	if (!l->calls_tail)
		return;		/* never initialised */
	/* Deferred work may release devices: it runs even at the end, and may defer more. */
	for (;;) {
		pthread_mutex_lock(&l->defer_lock);
		if (!l->calls) {
			l->calls_tail = NULL;	/* loop_defer refuses from now on */
			pthread_mutex_unlock(&l->defer_lock);
			break;
		}
		pthread_mutex_unlock(&l->defer_lock);
		run_calls(l);
	}
	for (struct loop_entry *e = l->entries; e; e = e->next)
		e->dead = true;
	reap(l);
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	l->epfd = l->wake_fd = -1;
	/* defer_lock stays: a late loop_defer from another thread still finds it and is refused. */
}

/*
 * Put @e in the epoll set while its events are on and take it out while
 * they are off: epoll reports HUP and ERR even for an empty mask, which
 * would wake the loop every turn for an fd nobody wants to hear from.
 */
static int arm(struct loop *l, struct loop_entry *e)
{
	struct epoll_event ev = { .events = e->events, .data.ptr = e };
	bool want = e->events != 0;
	int op;

	if (want == e->armed && !want)
		return 0;
	op = !want ? EPOLL_CTL_DEL : e->armed ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(l->epfd, op, e->fd, &ev) < 0)
		return -errno;
	e->armed = want;
	return 0;
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_fn fn, void *opaque)
{
	struct loop_entry *e;
	int ret;

	if (fd < 0 || !fn)
		return -EINVAL;
	if (find(l, fd))
		return -EEXIST;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	*e = (struct loop_entry){ .fd = fd, .events = events, .fn = fn, .opaque = opaque, .in_epoll = true };
	/* Tried in the set even when off: that is how a regular file is told apart. */
	ret = epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &(struct epoll_event){ .events = events, .data.ptr = e });
	if (ret == 0) {
		e->armed = true;
		ret = arm(l, e);
	} else if (errno == EPERM) {
		/* A regular file: poll(2) calls it always ready; so do we. */
		e->in_epoll = false;
		ret = 0;
	} else {
		ret = -errno;
	}
	if (ret) {
		free(e);
		return ret;
	}
	e->next = l->entries;
	l->entries = e;
	return 0;
}

int loop_mod(struct loop *l, int fd, uint32_t events)
{
	struct loop_entry *e = find(l, fd);

	if (!e)
		return -ENOENT;
	if (e->events == events)
		return 0;
	e->events = events;
	return e->in_epoll ? arm(l, e) : 0;
}

void loop_del(struct loop *l, int fd)
{
	struct loop_entry *e = find(l, fd);

	if (!e)
		return;
	if (e->armed)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	e->dead = true;
	if (!l->dispatching)
		reap(l);
}

int loop_timer_new(struct loop *l, loop_fn fn, void *opaque)
{
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	int ret;

	if (tfd < 0)
		return -errno;
	ret = loop_add(l, tfd, EPOLLIN, fn, opaque);
	if (ret) {
		close(tfd);
		return ret;
	}
	return tfd;
}

int loop_timer_arm(int tfd, uint64_t ms)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000 },
	};

	return timerfd_settime(tfd, 0, &its, NULL) < 0 ? -errno : 0;
}

void loop_timer_free(struct loop *l, int tfd)
{
	if (tfd < 0)
		return;
	loop_del(l, tfd);
	close(tfd);
}

int loop_defer(struct loop *l, void (*fn)(void *opaque), void *opaque)
{
	struct loop_call *c = malloc(sizeof(*c));

	if (!c)
		return -ENOMEM;
	*c = (struct loop_call){ .fn = fn, .opaque = opaque };
	pthread_mutex_lock(&l->defer_lock);
	if (!l->calls_tail) {
		pthread_mutex_unlock(&l->defer_lock);
		free(c);
		return -ESHUTDOWN;
	}
	*l->calls_tail = c;
	l->calls_tail = &c->next;
	pthread_mutex_unlock(&l->defer_lock);
	if (eventfd_write(l->wake_fd, 1) < 0)
		pr_debug("loop wake: %s", strerror(errno));
	return 0;
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event ev[32];
	bool always = false;
	int n, ran = 0;

	for (struct loop_entry *e = l->entries; e; e = e->next)
		if (!e->in_epoll && e->events && !e->dead)
			always = true;
	n = epoll_wait(l->epfd, ev, ARRAY_SIZE(ev), always ? 0 : timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	l->dispatching = true;
	for (int i = 0; i < n; i++) {
		struct loop_entry *e = ev[i].data.ptr;

		if (!e) {
			eventfd_t v;

			if (eventfd_read(l->wake_fd, &v) < 0 && errno != EAGAIN)
				pr_debug("loop wake: %s", strerror(errno));
			continue;
		}
		if (e->dead)
			continue;
		e->fn(e->opaque, e->fd, ev[i].events);
		ran++;
	}
	for (struct loop_entry *e = l->entries; e; e = e->next) {
		if (e->in_epoll || e->dead || !e->events)
			continue;
		e->fn(e->opaque, e->fd, e->events & (EPOLLIN | EPOLLOUT));
		ran++;
	}
	l->dispatching = false;
	reap(l);
	run_calls(l);
	return ran;
}

uint64_t poll_adjust(uint64_t poll_ns, uint64_t waited_ns, uint64_t max_ns)
{
	if (waited_ns <= poll_ns)
		return poll_ns;			/* polling caught it: just right */
	if (waited_ns > max_ns)
		return 0;			/* polling that long would not have paid */
	/* It came after the poll but soon: poll longer next time. */
	poll_ns = poll_ns ? poll_ns * 2 : POLL_START_NS;
	return MIN(poll_ns, max_ns);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int poll_epoll_wait(struct poll_adapt *ap, int epfd, struct epoll_event *ev, int max)
{
	uint64_t start, now;
	int n;

	if (!ap->max_ns)
		return epoll_wait(epfd, ev, max, -1);
	start = now = mono_ns();
	while (now - start < ap->poll_ns) {
		n = epoll_wait(epfd, ev, max, 0);
		if (n)
			return n;	/* an event (keep poll_ns), or an error */
		now = mono_ns();
	}
	n = epoll_wait(epfd, ev, max, -1);
	if (n > 0)
		ap->poll_ns = poll_adjust(ap->poll_ns, mono_ns() - start, ap->max_ns);
	return n;
}
