/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_BUS_H
#define KVMIO_BUS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * The I/O bus: one dispatcher for port I/O and MMIO exits.
 *
 * Each space holds a sorted array of non-overlapping [base, base+len) ranges.
 * Lookups binary-search the array under a read lock and take a reference on
 * the range, so a range unregistered while another vCPU is inside its handler
 * (a BAR moving) is freed only when that handler returns.
 */
enum bus_space { BUS_PIO, BUS_MMIO, BUS_NR_SPACES };

/*
 * One handler signature for every device: @offset is relative to the range's
 * base, @data is @len (1..8) little-endian bytes the handler fills on a read
 * or consumes on a write.
 */
typedef void (*bus_io_fn)(void *opaque, uint64_t offset, uint8_t *data,
			  unsigned int len, bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_io_fn fn;
	void *opaque;
	const char *name;
	atomic_uint refcount;	/* 1 while registered, +1 per handler in flight */
	struct device *owner;	/* referenced until the range is freed (dev.h), or NULL */
};

struct bus_space_map {
	struct bus_range **ranges;	/* sorted by base */
	unsigned int nr;
	unsigned int cap;
};

struct bus {
	pthread_rwlock_t lock;
	struct bus_space_map space[BUS_NR_SPACES];
	atomic_uint_fast64_t generation;	/* bumped on every change */
	/* unclaimed-access logging: the first few distinct addresses per space */
	pthread_mutex_t unclaimed_lock;
	uint64_t unclaimed_seen[BUS_NR_SPACES][64];
	unsigned int unclaimed_nr[BUS_NR_SPACES];
};

/* Per-vCPU last-hit cache: valid while the bus generation is unchanged. */
struct bus_cache {
	uint64_t generation[BUS_NR_SPACES];
	struct bus_range *last[BUS_NR_SPACES];
};

/* bus_init/bus_destroy - set up and tear down an empty bus. */
int bus_init(struct bus *bus);
void bus_destroy(struct bus *bus);

/*
 * bus_register - claim [base, base+len) in @space for @fn/@opaque.
 * Returns 0, -EINVAL for an empty or wrapping range, -EEXIST if it overlaps a
 * registered range, -ENOMEM. @name is kept by pointer (use a string literal or
 * storage that outlives the registration). Takes the bus write lock.
 */
int bus_register(struct bus *bus, enum bus_space space, uint64_t base,
		 uint64_t len, bus_io_fn fn, void *opaque, const char *name);

/*
 * bus_register_owned - bus_register for a range of device @owner (dev.h),
 * which keeps a reference on it until the range is freed: after it is
 * unregistered and the last handler in flight has returned.
 */
struct device;
int bus_register_owned(struct bus *bus, enum bus_space space, uint64_t base, uint64_t len,
		       bus_io_fn fn, void *opaque, const char *name, struct device *owner);

/*
 * bus_unregister - remove the range that starts exactly at @base.
 * Returns 0 or -ENOENT. New accesses no longer reach it at once; a handler
 * already running on another vCPU finishes, and the range is freed when the
 * last reference drops. The caller may be that range's own handler. The
 * device state behind @opaque is the caller's: free it only once no vCPU
 * can be inside the handler (register it owned, and free it on release).
 */
int bus_unregister(struct bus *bus, enum bus_space space, uint64_t base);

/*
 * bus_dispatch - route one access. @cache may be NULL. Returns 0 when a
 * handler took it, -ENOENT when nothing is registered there: then a read
 * returns all-ones in @data and a write is dropped; the first access to each
 * unclaimed address is logged once.
 */
int bus_dispatch(struct bus *bus, struct bus_cache *cache, enum bus_space space,
		 uint64_t addr, uint8_t *data, unsigned int len, bool is_write);

/*
 * bus_find - look up the range covering @addr without dispatching; returns a
 * referenced range or NULL. For tests and diagnostics.
 * bus_range_put - drop a reference; the last one frees the range.
 */
struct bus_range *bus_find(struct bus *bus, enum bus_space space, uint64_t addr);
void bus_range_put(struct bus_range *r);

#endif
