/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_LOOP_H
#define KVMIO_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

/*
 * The main thread's event loop (epoll): fds and timers register with a
 * callback and an opaque pointer, and the loop calls them on the main
 * thread. Console, signals, the stop event and the control socket are its
 * clients. Nothing long runs on it: work that waits (a vCPU, a device
 * worker) has its own thread and posts back with loop_defer.
 *
 * Regular files and /dev/null cannot go in an epoll set; an fd epoll refuses
 * is treated as poll(2) treats it, always ready, while its events are on.
 *
 * loop_add/loop_mod/loop_del and the timer calls are for the main thread
 * (callbacks included; an entry may delete itself or others from its
 * callback). loop_defer is safe from any thread.
 */
typedef void (*loop_fn)(void *opaque, int fd, uint32_t events);

struct loop_entry;
struct loop_call;

struct loop {
	int epfd;
	int wake_fd;			/* eventfd: loop_defer posted work */
	struct loop_entry *entries;	/* every registered fd */
	pthread_mutex_t defer_lock;
	struct loop_call *calls, **calls_tail;
	bool dispatching;
};

/* loop_init/loop_destroy; destroy runs what loop_defer queued and not yet run. */
int loop_init(struct loop *l);
void loop_destroy(struct loop *l);

/*
 * loop_add - call @fn(@opaque, @fd, revents) when @fd is ready for @events
 * (EPOLLIN, EPOLLOUT; 0: registered but off). One registration per fd.
 * Returns 0 or negative errno. loop_mod changes the events; loop_del forgets
 * the fd (it is not closed) and @fn is not called for it again.
 */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fn fn, void *opaque);
int loop_mod(struct loop *l, int fd, uint32_t events);
void loop_del(struct loop *l, int fd);

/*
 * A timer: a timerfd in the loop. loop_timer_new returns its fd (>= 0) or a
 * negative errno; loop_timer_arm fires it once after @ms milliseconds (0:
 * disarm); loop_timer_free deletes and closes it.
 */
int loop_timer_new(struct loop *l, loop_fn fn, void *opaque);
int loop_timer_arm(int tfd, uint64_t ms);
void loop_timer_free(struct loop *l, int tfd);

/*
 * loop_defer - run @fn(@opaque) on the loop's thread at its next turn.
 * Any thread. Returns 0, -ENOMEM, or -ESHUTDOWN when the loop is not up
 * (before loop_init of a zeroed loop, after loop_destroy): then the caller
 * runs @fn itself.
 */
int loop_defer(struct loop *l, void (*fn)(void *opaque), void *opaque);

/*
 * loop_run_once - wait up to @timeout_ms (-1: forever) for events and run
 * their callbacks and deferred calls. Returns the number of callbacks run, or
 * a negative errno (never -EINTR: an interrupted wait returns 0).
 */
int loop_run_once(struct loop *l, int timeout_ms);

/*
 * Adaptive polling for a thread that waits on an epoll set for the guest (a
 * virtio device's worker), as QEMU's AioContext polls (poll-max-ns): before
 * sleeping it asks epoll again and again for up to poll_ns, which grows while
 * events come sooner than @max_ns after it starts waiting and drops to 0 when
 * one comes later. A guest's kick then finds the thread awake: KVM's
 * ioeventfd only marks the eventfd ready, with no wakeup of a sleeping thread
 * (a scheduler round trip, often an IPI) on the vCPU's path. An idle device
 * stops polling after its first long wait. One per waiting thread.
 */
struct poll_adapt {
	uint64_t max_ns;	/* 0: never poll */
	uint64_t poll_ns;	/* how long the next wait polls first */
};

#define POLL_START_NS	4000	/* the first poll after a short wait, as QEMU's */
#define POLL_US_DEFAULT	32	/* --poll: QEMU's iothread poll-max-ns is 32768 */
#define POLL_US_MAX	1000

/*
 * poll_adjust - the next poll_ns after a wait that took @waited_ns (polling
 * included) while polling for @poll_ns: unchanged when polling caught the
 * event, doubled (from POLL_START_NS, at most @max_ns) when the event came
 * after the poll but within @max_ns, 0 when it came later. Pure.
 */
uint64_t poll_adjust(uint64_t poll_ns, uint64_t waited_ns, uint64_t max_ns);

/*
 * poll_epoll_wait - epoll_wait(@epfd, @ev, @max, -1) with @ap's polling first.
 * Returns what epoll_wait returns (> 0, or -1 with errno; EINTR included).
 */
int poll_epoll_wait(struct poll_adapt *ap, int epfd, struct epoll_event *ev, int max);

#endif
