// SPDX-License-Identifier: Apache-2.0
/*
 * One dispatcher for port I/O and MMIO exits.
 *
 * Ranges live in a sorted array per space; lookup is a binary search under a
 * read lock, plus a per-vCPU last-hit cache checked against a generation
 * counter. A dispatched range carries a reference for the duration of its
 * handler, so unregistering a range (a guest moving a BAR on another vCPU)
 * never frees what a handler is still using.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "dev.h"
#include "util.h"

static const char *const space_name[BUS_NR_SPACES] = { "port", "MMIO" };

int bus_init(struct bus *bus)
{
	pthread_rwlockattr_t attr;
	int ret;

	memset(bus, 0, sizeof(*bus));
	/*
	 * Writers first: vCPUs in a port-I/O loop hold the read lock almost
	 * continuously, and a BAR move must not wait behind them forever.
	 */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	ret = pthread_rwlock_init(&bus->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (ret)
		return -ret;
	pthread_mutex_init(&bus->unclaimed_lock, NULL);
	return 0;
}

void bus_destroy(struct bus *bus)
{
	for (int s = 0; s < BUS_NR_SPACES; s++) {
		struct bus_space_map *map = &bus->space[s];

		for (unsigned int i = 0; i < map->nr; i++)
			bus_range_put(map->ranges[i]);
		free(map->ranges);
		map->ranges = NULL;
		map->nr = map->cap = 0;
	}
	pthread_rwlock_destroy(&bus->lock);
	pthread_mutex_destroy(&bus->unclaimed_lock);
}

/* Index of the first range whose base is > addr (upper bound). */
static unsigned int upper_bound(const struct bus_space_map *map, uint64_t addr)
{
	unsigned int lo = 0, hi = map->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (map->ranges[mid]->base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool range_contains(const struct bus_range *r, uint64_t addr)
{
	return addr >= r->base && addr - r->base < r->len;
}

/* Caller holds the lock (read or write). */
static struct bus_range *lookup_locked(const struct bus_space_map *map, uint64_t addr)
{
	unsigned int i = upper_bound(map, addr);

	if (i == 0)
		return NULL;
	return range_contains(map->ranges[i - 1], addr) ? map->ranges[i - 1] : NULL;
}

int bus_register(struct bus *bus, enum bus_space space, uint64_t base,
		 uint64_t len, bus_io_fn fn, void *opaque, const char *name)
{
	return bus_register_owned(bus, space, base, len, fn, opaque, name, NULL);
}

int bus_register_owned(struct bus *bus, enum bus_space space, uint64_t base, uint64_t len,
		       bus_io_fn fn, void *opaque, const char *name, struct device *owner)
{
	struct bus_space_map *map;
	struct bus_range *r;
	unsigned int i;
	int ret = 0;

	if (space >= BUS_NR_SPACES || !len || !fn || base + len - 1 < base)
		return -EINVAL;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->base = base;
	r->len = len;
	r->fn = fn;
	r->opaque = opaque;
	r->name = name ? name : "?";
	atomic_init(&r->refcount, 1);
	r->owner = owner;

	pthread_rwlock_wrlock(&bus->lock);
	map = &bus->space[space];
	i = upper_bound(map, base);
	/* Overlap with the predecessor (base inside it) or the successor. */
	if ((i > 0 && range_contains(map->ranges[i - 1], base)) ||
	    (i < map->nr && map->ranges[i]->base - base < len)) {
		ret = -EEXIST;
		goto out_unlock;
	}
	if (map->nr == map->cap) {
		unsigned int cap = map->cap ? map->cap * 2 : 16;
		struct bus_range **n = realloc(map->ranges, cap * sizeof(*n));

		if (!n) {
			ret = -ENOMEM;
			goto out_unlock;
		}
		map->ranges = n;
		map->cap = cap;
	}
	memmove(&map->ranges[i + 1], &map->ranges[i], (map->nr - i) * sizeof(*map->ranges));
	map->ranges[i] = r;
	map->nr++;
	atomic_fetch_add(&bus->generation, 1);
out_unlock:
	pthread_rwlock_unlock(&bus->lock);
	if (ret)
		free(r);
	else
		dev_get(owner);
	return ret;
}

int bus_unregister(struct bus *bus, enum bus_space space, uint64_t base)
{
	struct bus_space_map *map;
	struct bus_range *r = NULL;
	unsigned int i;

	if (space >= BUS_NR_SPACES)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	map = &bus->space[space];
	i = upper_bound(map, base);
	if (i > 0 && map->ranges[i - 1]->base == base) {
		r = map->ranges[i - 1];
		memmove(&map->ranges[i - 1], &map->ranges[i], (map->nr - i) * sizeof(*map->ranges));
		map->nr--;
		atomic_fetch_add(&bus->generation, 1);
	}
	pthread_rwlock_unlock(&bus->lock);
	if (!r)
		return -ENOENT;
	bus_range_put(r);
	return 0;
}

void bus_range_put(struct bus_range *r)
{
	if (r && atomic_fetch_sub(&r->refcount, 1) == 1) {
		/* The handler that held the last reference has returned: the device may go. */
		dev_put(r->owner);
		free(r);
	}
}

struct bus_range *bus_find(struct bus *bus, enum bus_space space, uint64_t addr)
{
	struct bus_range *r;

	if (space >= BUS_NR_SPACES)
		return NULL;
	pthread_rwlock_rdlock(&bus->lock);
	r = lookup_locked(&bus->space[space], addr);
	if (r)
		atomic_fetch_add(&r->refcount, 1);
	pthread_rwlock_unlock(&bus->lock);
	return r;
}

/* Log the first access to each unclaimed address, up to a fixed number per space. */
static void note_unclaimed(struct bus *bus, enum bus_space space, uint64_t addr,
			   unsigned int len, bool is_write)
{
	unsigned int n;

	pthread_mutex_lock(&bus->unclaimed_lock);
	n = bus->unclaimed_nr[space];
	for (unsigned int i = 0; i < n && i < ARRAY_SIZE(bus->unclaimed_seen[0]); i++) {
		if (bus->unclaimed_seen[space][i] == addr) {
			pthread_mutex_unlock(&bus->unclaimed_lock);
			return;
		}
	}
	if (n < ARRAY_SIZE(bus->unclaimed_seen[0]))
		bus->unclaimed_seen[space][n] = addr;
	if (n <= ARRAY_SIZE(bus->unclaimed_seen[0]))
		bus->unclaimed_nr[space] = n + 1;
	pthread_mutex_unlock(&bus->unclaimed_lock);

	if (n < ARRAY_SIZE(bus->unclaimed_seen[0]))
		pr_info("unclaimed %s %s at 0x%llx (%u bytes)", space_name[space],
			is_write ? "write" : "read", (unsigned long long)addr, len);
	else if (n == ARRAY_SIZE(bus->unclaimed_seen[0]))
		pr_info("unclaimed %s accesses: further addresses not logged", space_name[space]);
}

int bus_dispatch(struct bus *bus, struct bus_cache *cache, enum bus_space space,
		 uint64_t addr, uint8_t *data, unsigned int len, bool is_write)
{
	struct bus_range *r = NULL;
	uint64_t gen;

	if (space >= BUS_NR_SPACES || len == 0 || len > 8)
		return -EINVAL;

	pthread_rwlock_rdlock(&bus->lock);
	gen = atomic_load(&bus->generation);
	if (cache && cache->generation[space] == gen && cache->last[space] &&
	    range_contains(cache->last[space], addr))
		r = cache->last[space];
	else
		r = lookup_locked(&bus->space[space], addr);
	if (r) {
		atomic_fetch_add(&r->refcount, 1);
		if (cache) {
			/* The cache holds no reference: it is only trusted while gen holds. */
			cache->last[space] = r;
			cache->generation[space] = gen;
		}
	}
	pthread_rwlock_unlock(&bus->lock);

	if (!r) {
		if (!is_write)
			memset(data, 0xff, len);
		note_unclaimed(bus, space, addr, len, is_write);
		return -ENOENT;
	}
	/*
	 * An access that straddles the end of a range is clipped to the
	 * range: the device sees only bytes it owns, the rest reads as ones.
	 */
	if (len > r->len - (addr - r->base)) {	/* never underflows: addr is inside r */
		unsigned int in = (unsigned int)(r->len - (addr - r->base));

		if (!is_write)
			memset(data + in, 0xff, len - in);
		len = in;
	}
	r->fn(r->opaque, addr - r->base, data, len, is_write);
	bus_range_put(r);
	return 0;
}
