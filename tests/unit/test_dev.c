// SPDX-License-Identifier: Apache-2.0
/*
 * The device registry (src/dev.c) and the references bus ranges hold on
 * their devices (bus_register_owned, src/bus.c):
 *
 *  - ids: dev_id_valid's cases, given ids, generated "_disk0", "_net1"...
 *    (numbered across kinds, prefix cut to 16), -EEXIST, -EINVAL;
 *  - dev_find's reference, dev_snapshot's order and references,
 *    dev_set_state;
 *  - dev_remove: unplug once, release exactly when the last reference
 *    drops, -ENOENT the second time; dev_remove_all newest first;
 *  - an owned bus range keeps its device: a registration that fails takes
 *    no reference, bus_unregister drops it, a range found with bus_find
 *    keeps the device until bus_range_put;
 *  - removal while vCPUs are inside the device's handler: with one handler
 *    held inside (deterministic), the release runs on that handler's return,
 *    on its thread when the device has no VM, deferred to the VM's main loop
 *    when it has one; and with threads hammering bus_dispatch on the range
 *    while the main thread unregisters and removes, the release comes after
 *    every handler has returned, exactly once, and the threads then find
 *    nothing (-ENOENT). The device's memory is freed in its release, so
 *    ASan sees a handler that outlives it; the handlers' plain reads of it
 *    let ThreadSanitizer see a missing happens-before.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "bus.h"
#include "dev.h"
#include "loop.h"
#include "util.h"
#include "vm.h"

/* ---- a device that records what happens to it ---- */

#define LOG_MAX		16

static struct {
	char what[LOG_MAX];		/* 'u' unplug, 'r' release */
	const struct device *who[LOG_MAX];
	unsigned int n;
} lg;

struct tdev {
	struct device dev;
	unsigned int unplugs, releases;
};

static void log_event(char what, const struct device *d)
{
	if (lg.n < LOG_MAX) {
		lg.what[lg.n] = what;
		lg.who[lg.n] = d;
	}
	lg.n++;
}

static void t_unplug(struct device *d)
{
	((struct tdev *)d)->unplugs++;
	log_event('u', d);
}

static void t_release(struct device *d)
{
	((struct tdev *)d)->releases++;
	log_event('r', d);
}

static const struct device_ops t_ops = { .unplug = t_unplug, .release = t_release };
static const struct device_ops t_ops_no_unplug = { .release = t_release };

static void tdev_init(struct tdev *t, const char *kind)
{
	memset(t, 0, sizeof(*t));
	t->dev.ops = &t_ops;
	t->dev.kind = kind;
}

static unsigned int refs(const struct tdev *t)
{
	return atomic_load(&((struct tdev *)t)->dev.refs);
}

static struct dev_registry reg;

static int setup(void **state)
{
	dev_registry_init(&reg);
	memset(&lg, 0, sizeof(lg));
	return 0;
}

/* ---- ids ---- */

static void test_id_valid(void **state)
{
	static const char *const good[] = { "a", "Z", "0", "disk0", "my-disk.1_b", "-", ".", "a_",
					    "0123456789012345678901234567890" /* 31 */ };
	static const char *const bad[] = { "", "_", "_disk0", "a b", "a/b", "a:b", "a,b", "a=b",
					   "a\n", "\t", "disk\xc3\xa9", "a\x7f",
					   "01234567890123456789012345678901" /* 32 */ };

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!dev_id_valid(good[i]))
			fail_msg("'%s' refused", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (dev_id_valid(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
	assert_false(dev_id_valid(NULL));
}

static void test_register_ids(void **state)
{
	static struct tdev a, b, c, d, e, dup, badid, longp;

	tdev_init(&a, "virtio-blk");
	tdev_init(&b, "virtio-net");
	tdev_init(&c, "virtio-blk");
	tdev_init(&d, "vfio-pci");
	tdev_init(&e, "virtio-blk");
	assert_int_equal(dev_register(&reg, &a.dev, NULL, "disk"), 0);
	assert_string_equal(a.dev.id, "_disk0");
	assert_int_equal(refs(&a), 1);
	assert_int_equal(a.dev.state, DEV_PRESENT);
	/* One counter for every kind: an id names one device for the VM's life. */
	assert_int_equal(dev_register(&reg, &b.dev, NULL, "net"), 0);
	assert_string_equal(b.dev.id, "_net1");
	assert_int_equal(dev_register(&reg, &c.dev, "root", "disk"), 0);
	assert_string_equal(c.dev.id, "root");
	assert_int_equal(dev_register(&reg, &d.dev, NULL, "vfio"), 0);
	assert_string_equal(d.dev.id, "_vfio2");
	/* Removed ids are not handed out again. */
	assert_int_equal(dev_remove(&reg, &a.dev), 0);
	assert_int_equal(dev_register(&reg, &e.dev, NULL, "disk"), 0);
	assert_string_equal(e.dev.id, "_disk3");

	/* A given id that is taken, or not one a user may give. */
	tdev_init(&dup, "virtio-blk");
	assert_int_equal(dev_register(&reg, &dup.dev, "root", "disk"), -EEXIST);
	assert_int_equal(dev_register(&reg, &dup.dev, "_net1", "disk"), -EINVAL);
	tdev_init(&badid, "virtio-blk");
	assert_int_equal(dev_register(&reg, &badid.dev, "", "disk"), -EINVAL);
	assert_int_equal(dev_register(&reg, &badid.dev, "a b", "disk"), -EINVAL);
	assert_int_equal(dev_register(&reg, &badid.dev, "0123456789012345678901234567890123", "x"),
			 -EINVAL);
	/* A refused device is not listed; the one holding the id is. */
	{
		struct device *f = dev_find(&reg, "root");

		assert_ptr_equal(f, &c.dev);
		dev_put(f);
	}
	/* A long prefix is cut to 16 characters. */
	tdev_init(&longp, "x");
	assert_int_equal(dev_register(&reg, &longp.dev, NULL, "abcdefghijklmnopqrstuvwxyz"), 0);
	assert_string_equal(longp.dev.id, "_abcdefghijklmnop4");
	/* A freed id can be given again by the user. */
	assert_int_equal(dev_remove(&reg, &c.dev), 0);
	assert_int_equal(dev_register(&reg, &dup.dev, "root", "disk"), 0);
	dev_remove_all(&reg);
	assert_int_equal(dup.releases + e.releases + d.releases + b.releases + longp.releases, 5);
}

/* ---- lookups ---- */

static void test_find(void **state)
{
	static struct tdev a, b;
	struct device *f, *g;

	tdev_init(&a, "k");
	tdev_init(&b, "k");
	assert_int_equal(dev_register(&reg, &a.dev, "alpha", NULL), 0);
	assert_int_equal(dev_register(&reg, &b.dev, "beta", NULL), 0);
	assert_null(dev_find(&reg, "gamma"));
	assert_null(dev_find(&reg, "alph"));
	assert_null(dev_find(&reg, ""));
	f = dev_find(&reg, "beta");
	assert_ptr_equal(f, &b.dev);
	assert_int_equal(refs(&b), 2);
	g = dev_find(&reg, "beta");
	assert_int_equal(refs(&b), 3);
	dev_put(g);
	dev_put(f);
	assert_int_equal(refs(&b), 1);
	assert_int_equal(refs(&a), 1);
	/* NULL is ignored by both. */
	dev_get(NULL);
	dev_put(NULL);
	/* Removed: not found any more. */
	assert_int_equal(dev_remove(&reg, &b.dev), 0);
	assert_null(dev_find(&reg, "beta"));
	assert_int_equal(b.releases, 1);
	dev_remove_all(&reg);
}

static bool kind_is(const struct device *d, const void *kind)
{
	return !strcmp(d->kind, kind);
}

/* dev_find_if: the oldest match, referenced; none; and a removed device is not a match. */
static void test_find_if(void **state)
{
	static struct tdev a, b, c;
	struct device *f;

	tdev_init(&a, "virtio-blk");
	tdev_init(&b, "vfio-pci");
	tdev_init(&c, "vfio-pci");
	assert_int_equal(dev_register(&reg, &a.dev, "a", NULL), 0);
	assert_int_equal(dev_register(&reg, &b.dev, "b", NULL), 0);
	assert_int_equal(dev_register(&reg, &c.dev, "c", NULL), 0);
	f = dev_find_if(&reg, kind_is, "vfio-pci");
	assert_ptr_equal(f, &b.dev);
	assert_int_equal(refs(&b), 2);
	dev_put(f);
	assert_null(dev_find_if(&reg, kind_is, "virtio-net"));
	assert_int_equal(dev_remove(&reg, &b.dev), 0);
	f = dev_find_if(&reg, kind_is, "vfio-pci");
	assert_ptr_equal(f, &c.dev);
	dev_put(f);
	assert_int_equal(refs(&c), 1);
}

static void test_set_state(void **state)
{
	static struct tdev a;

	tdev_init(&a, "k");
	assert_int_equal(dev_register(&reg, &a.dev, "a", NULL), 0);
	assert_int_equal(dev_set_state(&reg, &a.dev, DEV_EJECTING), DEV_PRESENT);
	assert_int_equal(a.dev.state, DEV_EJECTING);
	assert_int_equal(dev_set_state(&reg, &a.dev, DEV_EJECTING), DEV_EJECTING);
	assert_int_equal(dev_remove(&reg, &a.dev), 0);
	assert_int_equal(a.dev.state, DEV_REMOVED);
}

static void test_snapshot(void **state)
{
	static struct tdev t[4];
	struct device **v;
	unsigned int n = 99;

	v = dev_snapshot(&reg, &n);
	assert_null(v);
	assert_int_equal(n, 0);
	dev_snapshot_put(v, n);

	for (unsigned int i = 0; i < ARRAY_SIZE(t); i++) {
		tdev_init(&t[i], "k");
		assert_int_equal(dev_register(&reg, &t[i].dev, NULL, "d"), 0);
	}
	assert_int_equal(dev_remove(&reg, &t[1].dev), 0);
	v = dev_snapshot(&reg, &n);
	assert_int_equal(n, 3);
	assert_ptr_equal(v[0], &t[0].dev);	/* oldest first */
	assert_ptr_equal(v[1], &t[2].dev);
	assert_ptr_equal(v[2], &t[3].dev);
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(atomic_load(&v[i]->refs), 2);
	/* The snapshot keeps a device that is removed meanwhile. */
	assert_int_equal(dev_remove(&reg, &t[2].dev), 0);
	assert_int_equal(t[2].unplugs, 1);
	assert_int_equal(t[2].releases, 0);
	dev_snapshot_put(v, n);
	assert_int_equal(t[2].releases, 1);
	assert_int_equal(refs(&t[0]), 1);
	assert_int_equal(refs(&t[3]), 1);
	dev_remove_all(&reg);
}

/* ---- removal ---- */

static void test_remove(void **state)
{
	static struct tdev a, b;
	struct device *held;

	tdev_init(&a, "k");
	assert_int_equal(dev_register(&reg, &a.dev, "a", NULL), 0);
	held = dev_find(&reg, "a");
	assert_int_equal(dev_remove(&reg, &a.dev), 0);
	assert_int_equal(a.unplugs, 1);
	assert_int_equal(a.releases, 0);	/* @held keeps it */
	assert_int_equal(a.dev.state, DEV_REMOVED);
	assert_null(dev_find(&reg, "a"));
	/* Not listed any more: nothing happens the second time. */
	assert_int_equal(dev_remove(&reg, &a.dev), -ENOENT);
	assert_int_equal(a.unplugs, 1);
	assert_int_equal(a.releases, 0);
	dev_put(held);
	assert_int_equal(a.releases, 1);
	assert_int_equal(a.unplugs, 1);
	assert_int_equal(lg.n, 2);
	assert_memory_equal(lg.what, "ur", 2);

	/* Without an unplug: released at once. */
	tdev_init(&b, "k");
	b.dev.ops = &t_ops_no_unplug;
	assert_int_equal(dev_register(&reg, &b.dev, "b", NULL), 0);
	assert_int_equal(dev_remove(&reg, &b.dev), 0);
	assert_int_equal(b.releases, 1);
	assert_int_equal(dev_remove(&reg, &b.dev), -ENOENT);
	assert_int_equal(b.releases, 1);
}

static void test_remove_all(void **state)
{
	static struct tdev t[3];

	for (unsigned int i = 0; i < ARRAY_SIZE(t); i++) {
		tdev_init(&t[i], "k");
		assert_int_equal(dev_register(&reg, &t[i].dev, NULL, "d"), 0);
	}
	/* A registry that is not up (vm_destroy after a failed create) is left alone. */
	reg.up = false;
	dev_remove_all(&reg);
	assert_int_equal(lg.n, 0);
	reg.up = true;

	dev_remove_all(&reg);
	assert_int_equal(lg.n, 6);
	assert_memory_equal(lg.what, "ururur", 6);
	assert_ptr_equal(lg.who[0], &t[2].dev);		/* newest first */
	assert_ptr_equal(lg.who[2], &t[1].dev);
	assert_ptr_equal(lg.who[4], &t[0].dev);
	assert_null(reg.head);
	dev_remove_all(&reg);			/* empty: nothing */
	assert_int_equal(lg.n, 6);
}

/* ---- bus ranges hold their device ---- */

static void nop_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len, bool is_write)
{
	if (!is_write)
		memset(data, 0, len);
}

static void test_bus_owned_refs(void **state)
{
	static struct tdev a;
	struct bus bus;
	struct bus_range *r;

	assert_int_equal(bus_init(&bus), 0);
	tdev_init(&a, "k");
	assert_int_equal(dev_register(&reg, &a.dev, "a", NULL), 0);
	assert_int_equal(bus_register_owned(&bus, BUS_MMIO, 0x1000, 0x100, nop_io, &a, "a", &a.dev), 0);
	assert_int_equal(refs(&a), 2);
	assert_int_equal(bus_register_owned(&bus, BUS_PIO, 0x10, 4, nop_io, &a, "a", &a.dev), 0);
	assert_int_equal(refs(&a), 3);
	/* Refused registrations take no reference. */
	assert_int_equal(bus_register_owned(&bus, BUS_MMIO, 0x1080, 0x100, nop_io, &a, "a", &a.dev),
			 -EEXIST);
	assert_int_equal(bus_register_owned(&bus, BUS_MMIO, 0x5000, 0, nop_io, &a, "a", &a.dev),
			 -EINVAL);
	assert_int_equal(refs(&a), 3);
	assert_int_equal(bus_unregister(&bus, BUS_PIO, 0x10), 0);
	assert_int_equal(refs(&a), 2);
	assert_int_equal(bus_unregister(&bus, BUS_PIO, 0x10), -ENOENT);
	assert_int_equal(refs(&a), 2);

	/* A range someone holds keeps the device past its unregistration and removal. */
	r = bus_find(&bus, BUS_MMIO, 0x10ff);
	assert_non_null(r);
	assert_ptr_equal(r->owner, &a.dev);
	assert_int_equal(bus_unregister(&bus, BUS_MMIO, 0x1000), 0);
	assert_int_equal(dev_remove(&reg, &a.dev), 0);
	assert_int_equal(a.unplugs, 1);
	assert_int_equal(a.releases, 0);
	assert_int_equal(refs(&a), 1);
	bus_range_put(r);
	assert_int_equal(a.releases, 1);

	/* bus_destroy drops the references of ranges still registered. */
	tdev_init(&a, "k");
	assert_int_equal(dev_register(&reg, &a.dev, "a", NULL), 0);
	assert_int_equal(bus_register_owned(&bus, BUS_MMIO, 0x1000, 0x100, nop_io, &a, "a", &a.dev), 0);
	assert_int_equal(dev_remove(&reg, &a.dev), 0);
	assert_int_equal(a.releases, 0);
	bus_destroy(&bus);
	assert_int_equal(a.releases, 1);
}

/* ---- removal with a handler in flight ---- */

#define MAGIC		0x600dcafeu
#define POISON		0xdeadbeefu
#define RANGE_BASE	0xF0000000ULL
#define RANGE_LEN	0x1000

/* Shared between the threads: what the device's handler and release saw. */
static struct {
	atomic_uint releases;
	atomic_uint unplugs;
	atomic_uint violations;		/* a handler or release that saw the wrong thing */
	atomic_int inflight;		/* handlers inside hammer_io right now */
	atomic_bool released;
	atomic_bool unregistering;	/* set before bus_unregister */
	atomic_bool removed;		/* set after bus_unregister and dev_remove */
	atomic_ulong hits;
	pthread_t release_thread;
	char why[128];			/* the first violation */
	pthread_mutex_t why_lock;
} sh = { .why_lock = PTHREAD_MUTEX_INITIALIZER };

/* Device memory the handler uses; freed by its release. */
struct hdev {
	struct device dev;
	uint32_t magic;			/* plain: TSan checks who may touch it when */
	sem_t *entered, *go;		/* held test: the handler waits inside */
};

static void violation(const char *what)
{
	atomic_fetch_add(&sh.violations, 1);
	pthread_mutex_lock(&sh.why_lock);
	if (!sh.why[0])
		snprintf(sh.why, sizeof(sh.why), "%s", what);
	pthread_mutex_unlock(&sh.why_lock);
}

static void h_unplug(struct device *d)
{
	atomic_fetch_add(&sh.unplugs, 1);
}

static void h_release(struct device *d)
{
	struct hdev *h = (struct hdev *)d;

	if (atomic_load(&sh.inflight) != 0)
		violation("release with a handler still inside");
	if (atomic_load(&sh.released))
		violation("released twice");
	if (h->magic != MAGIC)
		violation("release: magic already gone");
	sh.release_thread = pthread_self();
	atomic_store(&sh.released, true);
	atomic_fetch_add(&sh.releases, 1);
	h->magic = POISON;
	free(h);
}

static const struct device_ops h_ops = { .unplug = h_unplug, .release = h_release };

static void sh_reset(void)
{
	atomic_store(&sh.releases, 0);
	atomic_store(&sh.unplugs, 0);
	atomic_store(&sh.violations, 0);
	atomic_store(&sh.inflight, 0);
	atomic_store(&sh.released, false);
	atomic_store(&sh.unregistering, false);
	atomic_store(&sh.removed, false);
	atomic_store(&sh.hits, 0);
	sh.why[0] = 0;
}

static void check_no_violation(void)
{
	if (atomic_load(&sh.violations))
		fail_msg("%u violations, the first: %s", atomic_load(&sh.violations), sh.why);
}

static struct hdev *hdev_new(struct vm *vm, const char *id)
{
	struct hdev *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	h->dev.ops = &h_ops;
	h->dev.vm = vm;
	h->dev.kind = "hammer";
	h->magic = MAGIC;
	assert_int_equal(dev_register(&reg, &h->dev, id, NULL), 0);
	return h;
}

/* The handler: checks the device is alive on entry, after a pause (or a wait), and on exit. */
static void hammer_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len, bool is_write)
{
	struct hdev *h = opaque;

	atomic_fetch_add(&sh.inflight, 1);
	if (atomic_load(&sh.released) || h->magic != MAGIC)
		violation("handler entered a released device");
	if (h->entered) {
		sem_post(h->entered);
		while (sem_wait(h->go) && errno == EINTR)
			;
	} else {
		/* Stay a little: removal must find handlers inside. */
		for (volatile unsigned int i = 0; i < 2000; i++)
			;
		if (off & 0x40)
			sched_yield();
	}
	if (atomic_load(&sh.released) || h->magic != MAGIC)
		violation("device released under a running handler");
	if (!is_write)
		memset(data, (uint8_t)h->magic, len);
	atomic_fetch_sub(&sh.inflight, 1);
}

struct held_arg {
	struct bus *bus;
	int ret;
	uint32_t val;
	pthread_t self;
};

static void *held_thread(void *opaque)
{
	struct held_arg *a = opaque;
	uint8_t b[4];

	a->self = pthread_self();
	a->ret = bus_dispatch(a->bus, NULL, BUS_MMIO, RANGE_BASE + 8, b, 4, false);
	a->val = (uint32_t)le_read(b, 4);
	return NULL;
}

/*
 * One vCPU inside the handler, held there; the main thread unregisters the
 * range and removes the device. The handler finishes against live state and
 * its return releases the device: on its own thread without a VM, on the
 * main loop with one.
 */
static void held_case(struct vm *vm)
{
	struct bus bus;
	struct hdev *h;
	struct held_arg arg;
	pthread_t th;
	sem_t entered, go;
	uint8_t b[4];

	sh_reset();
	assert_int_equal(sem_init(&entered, 0, 0), 0);
	assert_int_equal(sem_init(&go, 0, 0), 0);
	assert_int_equal(bus_init(&bus), 0);
	h = hdev_new(vm, "held");
	h->entered = &entered;
	h->go = &go;
	assert_int_equal(bus_register_owned(&bus, BUS_MMIO, RANGE_BASE, RANGE_LEN, hammer_io, h,
					    "held", &h->dev), 0);
	arg = (struct held_arg){ .bus = &bus, .ret = 1 };
	assert_int_equal(pthread_create(&th, NULL, held_thread, &arg), 0);
	while (sem_wait(&entered) && errno == EINTR)
		;
	/* The handler is inside: take the device away. */
	assert_int_equal(bus_unregister(&bus, BUS_MMIO, RANGE_BASE), 0);
	assert_int_equal(dev_remove(&reg, &h->dev), 0);
	assert_int_equal(atomic_load(&sh.unplugs), 1);
	assert_int_equal(atomic_load(&sh.releases), 0);
	assert_int_equal(atomic_load(&h->dev.refs), 1);	/* the range's, for the handler */
	/* New accesses no longer reach it. */
	assert_int_equal(bus_dispatch(&bus, NULL, BUS_MMIO, RANGE_BASE + 8, b, 4, false), -ENOENT);
	assert_int_equal(le_read(b, 4), 0xffffffffu);
	assert_int_equal(atomic_load(&sh.releases), 0);
	/* Let it return. */
	sem_post(&go);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(arg.ret, 0);
	assert_int_equal(arg.val, (MAGIC & 0xff) * 0x01010101u);
	if (!vm) {
		/* No VM: the handler's thread dropped the last reference and released it. */
		assert_int_equal(atomic_load(&sh.releases), 1);
		assert_true(pthread_equal(sh.release_thread, arg.self));
	} else {
		/* A VM: deferred to the main thread's loop. */
		assert_int_equal(atomic_load(&sh.releases), 0);
		for (int i = 0; i < 4 && !atomic_load(&sh.releases); i++)
			assert_true(loop_run_once(&vm->loop, 100) >= 0);
		assert_int_equal(atomic_load(&sh.releases), 1);
		assert_true(pthread_equal(sh.release_thread, pthread_self()));
	}
	check_no_violation();
	bus_destroy(&bus);
	sem_destroy(&entered);
	sem_destroy(&go);
}

static void test_remove_handler_in_flight(void **state)
{
	held_case(NULL);
}

static void test_remove_handler_in_flight_deferred(void **state)
{
	static struct vm vm;

	memset(&vm, 0, sizeof(vm));
	assert_int_equal(loop_init(&vm.loop), 0);
	held_case(&vm);
	loop_destroy(&vm.loop);
}

/* ---- many vCPUs hammering a range while it goes ---- */

#define NTHREADS	8
#define AFTER		200	/* dispatches each thread makes after the removal */
#define ROUNDS		20

struct hammer_arg {
	struct bus *bus;
	unsigned int idx;
	unsigned long enoent_after;
	unsigned long hits;
};

static void *hammer_thread(void *opaque)
{
	struct hammer_arg *a = opaque;
	struct bus_cache cache;
	unsigned long i = a->idx;
	uint8_t b[8];

	memset(&cache, 0, sizeof(cache));
	for (;; i++) {
		bool removed = atomic_load(&sh.removed);
		uint64_t addr = RANGE_BASE + ((i * 72) % RANGE_LEN & ~7ull);
		int ret;

		if (i & 1)
			memset(b, 0x11, sizeof(b));
		/* Odd ones through the per-vCPU cache, as vcpu.c does; some without. */
		ret = bus_dispatch(a->bus, (i & 2) ? &cache : NULL, BUS_MMIO, addr, b,
				   4, i & 1);
		if (ret == 0) {
			if (removed)
				violation("dispatched after the removal finished");
			a->hits++;
			atomic_fetch_add_explicit(&sh.hits, 1, memory_order_relaxed);
		} else if (ret == -ENOENT) {
			if (!atomic_load(&sh.unregistering))
				violation("-ENOENT before the range was unregistered");
			if (removed && ++a->enoent_after == AFTER)
				break;
		} else {
			violation("bus_dispatch: unexpected error");
			break;
		}
	}
	return NULL;
}

/* Wait until @n more handler calls happened; false on a 10 s timeout. */
static bool wait_hits(unsigned long n)
{
	unsigned long start = atomic_load(&sh.hits);
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (atomic_load(&sh.hits) - start < n) {
		sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 10)
			return false;
	}
	return true;
}

/* One round: threads dispatch, the main thread takes the range and the device away. */
static bool hammer_round(struct vm *vm, unsigned int round)
{
	struct hammer_arg args[NTHREADS];
	pthread_t th[NTHREADS];
	struct bus bus;
	struct hdev *h;
	bool on_worker;
	char id[16];

	sh_reset();
	assert_int_equal(bus_init(&bus), 0);
	snprintf(id, sizeof(id), "h%u", round);
	h = hdev_new(vm, id);
	/* Neighbours on either side, which stay. */
	assert_int_equal(bus_register(&bus, BUS_MMIO, RANGE_BASE - 0x1000, 0x1000, nop_io, NULL, "lo"),
			 0);
	assert_int_equal(bus_register(&bus, BUS_MMIO, RANGE_BASE + RANGE_LEN, 0x1000, nop_io, NULL,
				      "hi"), 0);
	assert_int_equal(bus_register_owned(&bus, BUS_MMIO, RANGE_BASE, RANGE_LEN, hammer_io, h,
					    "hammer", &h->dev), 0);
	for (unsigned int i = 0; i < NTHREADS; i++) {
		args[i] = (struct hammer_arg){ .bus = &bus, .idx = i * 7919 + round };
		assert_int_equal(pthread_create(&th[i], NULL, hammer_thread, &args[i]), 0);
	}
	if (!wait_hits(NTHREADS * 50))
		fail_msg("the threads make no progress");
	/* h's memory may be gone once dev_remove returns: only the shared record is read after. */
	atomic_store(&sh.unregistering, true);
	assert_int_equal(bus_unregister(&bus, BUS_MMIO, RANGE_BASE), 0);
	assert_int_equal(dev_remove(&reg, &h->dev), 0);
	assert_int_equal(atomic_load(&sh.unplugs), 1);
	atomic_store(&sh.removed, true);
	/* The main loop keeps turning meanwhile, as vm_run's does. */
	if (vm)
		for (int i = 0; i < 50; i++)
			assert_true(loop_run_once(&vm->loop, 0) >= 0);
	for (unsigned int i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].enoent_after, AFTER);
	}
	if (vm)
		for (int i = 0; i < 4 && !atomic_load(&sh.releases); i++)
			assert_true(loop_run_once(&vm->loop, 0) >= 0);
	check_no_violation();
	assert_int_equal(atomic_load(&sh.releases), 1);
	assert_int_equal(atomic_load(&sh.inflight), 0);
	on_worker = !pthread_equal(sh.release_thread, pthread_self());
	if (vm)
		assert_false(on_worker);
	/* The neighbours still answer. */
	{
		uint8_t b[4];

		assert_int_equal(bus_dispatch(&bus, NULL, BUS_MMIO, RANGE_BASE - 4, b, 4, false), 0);
		assert_int_equal(bus_dispatch(&bus, NULL, BUS_MMIO, RANGE_BASE + RANGE_LEN, b, 4,
					      false), 0);
	}
	bus_destroy(&bus);
	return on_worker;
}

static void test_remove_under_dispatch(void **state)
{
	unsigned int on_worker = 0;

	for (unsigned int r = 0; r < ROUNDS; r++)
		on_worker += hammer_round(NULL, r);
	/* Which thread released is up to the timing; both are right. */
	print_message("released by a handler's thread in %u of %u rounds\n", on_worker, ROUNDS);
}

static void test_remove_under_dispatch_deferred(void **state)
{
	static struct vm vm;

	memset(&vm, 0, sizeof(vm));
	assert_int_equal(loop_init(&vm.loop), 0);
	for (unsigned int r = 0; r < ROUNDS; r++)
		hammer_round(&vm, r);
	loop_destroy(&vm.loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_id_valid, setup),
		cmocka_unit_test_setup(test_register_ids, setup),
		cmocka_unit_test_setup(test_find, setup),
		cmocka_unit_test_setup(test_find_if, setup),
		cmocka_unit_test_setup(test_set_state, setup),
		cmocka_unit_test_setup(test_snapshot, setup),
		cmocka_unit_test_setup(test_remove, setup),
		cmocka_unit_test_setup(test_remove_all, setup),
		cmocka_unit_test_setup(test_bus_owned_refs, setup),
		cmocka_unit_test_setup(test_remove_handler_in_flight, setup),
		cmocka_unit_test_setup(test_remove_handler_in_flight_deferred, setup),
		cmocka_unit_test_setup(test_remove_under_dispatch, setup),
		cmocka_unit_test_setup(test_remove_under_dispatch_deferred, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
