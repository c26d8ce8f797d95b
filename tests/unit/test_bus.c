// SPDX-License-Identifier: Apache-2.0
/* The I/O dispatcher: registration, overlap rejection, lookup, removal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "bus.h"
#include "util.h"

struct rec {
	uint64_t off;
	unsigned int len;
	bool is_write;
	uint8_t wdata[8];
	int calls;
};

static void rec_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len, bool is_write)
{
	struct rec *r = opaque;

	r->off = off;
	r->len = len;
	r->is_write = is_write;
	r->calls++;
	if (is_write)
		memcpy(r->wdata, data, len);
	else
		for (unsigned int i = 0; i < len; i++)
			data[i] = (uint8_t)(0xA0 + i);
}

static int setup(void **state)
{
	static struct bus bus;

	assert_int_equal(bus_init(&bus), 0);
	*state = &bus;
	return 0;
}

static int teardown(void **state)
{
	bus_destroy(*state);
	return 0;
}

static void test_overlaps_rejected(void **state)
{
	struct bus *bus = *state;
	struct rec r = { 0 };

	assert_int_equal(bus_register(bus, BUS_PIO, 0x100, 8, rec_io, &r, "a"), 0);
	assert_int_equal(bus_register(bus, BUS_PIO, 0x100, 8, rec_io, &r, "dup"), -EEXIST);
	assert_int_equal(bus_register(bus, BUS_PIO, 0x0FF, 2, rec_io, &r, "tail"), -EEXIST);
	assert_int_equal(bus_register(bus, BUS_PIO, 0x107, 1, rec_io, &r, "head"), -EEXIST);
	assert_int_equal(bus_register(bus, BUS_PIO, 0x0F0, 0x100, rec_io, &r, "cover"), -EEXIST);
	/* Adjacent ranges are fine, and the other space is independent. */
	assert_int_equal(bus_register(bus, BUS_PIO, 0x0F8, 8, rec_io, &r, "before"), 0);
	assert_int_equal(bus_register(bus, BUS_PIO, 0x108, 8, rec_io, &r, "after"), 0);
	assert_int_equal(bus_register(bus, BUS_MMIO, 0x100, 8, rec_io, &r, "mmio"), 0);
	/* Empty and wrapping ranges. */
	assert_int_equal(bus_register(bus, BUS_MMIO, 0x1000, 0, rec_io, &r, "empty"), -EINVAL);
	assert_int_equal(bus_register(bus, BUS_MMIO, UINT64_MAX - 3, 8, rec_io, &r, "wrap"), -EINVAL);
	assert_int_equal(bus_register(bus, BUS_MMIO, UINT64_MAX - 7, 8, rec_io, &r, "top"), 0);
}

static void test_lookup_and_dispatch(void **state)
{
	struct bus *bus = *state;
	struct rec a = { 0 }, b = { 0 };
	struct bus_cache cache = { 0 };
	uint8_t data[8];

	/* Registered out of order: the array must stay sorted. */
	assert_int_equal(bus_register(bus, BUS_MMIO, 0x5000, 0x1000, rec_io, &b, "b"), 0);
	assert_int_equal(bus_register(bus, BUS_MMIO, 0x1000, 0x1000, rec_io, &a, "a"), 0);
	for (uint64_t base = 0x10000; base < 0x20000; base += 0x1000) {
		static struct rec filler;
		assert_int_equal(bus_register(bus, BUS_MMIO, base, 0x800, rec_io, &filler, "f"), 0);
	}

	le_write(data, 4, 0x11223344);
	assert_int_equal(bus_dispatch(bus, &cache, BUS_MMIO, 0x1ffc, data, 4, true), 0);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.off, 0xffc);
	assert_int_equal(le_read(a.wdata, 4), 0x11223344);
	assert_int_equal(b.calls, 0);

	assert_int_equal(bus_dispatch(bus, &cache, BUS_MMIO, 0x5010, data, 2, false), 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.off, 0x10);
	assert_int_equal(data[0], 0xA0);
	assert_int_equal(data[1], 0xA1);
	/* Cached hit, then a miss in the gap that follows. */
	assert_int_equal(bus_dispatch(bus, &cache, BUS_MMIO, 0x5020, data, 1, false), 0);
	assert_int_equal(b.calls, 2);

	memset(data, 0, sizeof(data));
	assert_int_equal(bus_dispatch(bus, &cache, BUS_MMIO, 0x2000, data, 8, false), -ENOENT);
	assert_int_equal(le_read(data, 8), UINT64_MAX);	/* unclaimed reads are all-ones */
	assert_int_equal(bus_dispatch(bus, &cache, BUS_MMIO, 0x0, data, 4, true), -ENOENT);
	assert_int_equal(bus_dispatch(bus, NULL, BUS_MMIO, 0x10800, data, 4, false), -ENOENT);
	assert_int_equal(bus_dispatch(bus, NULL, BUS_MMIO, 0x107ff, data, 1, false), 0);
}

static void test_straddling_access_clipped(void **state)
{
	struct bus *bus = *state;
	struct rec r = { 0 };
	uint8_t data[8] = { 0 };

	assert_int_equal(bus_register(bus, BUS_PIO, 0x70, 2, rec_io, &r, "rtc"), 0);
	assert_int_equal(bus_dispatch(bus, NULL, BUS_PIO, 0x71, data, 4, false), 0);
	assert_int_equal(r.len, 1);		/* the device sees only the byte it owns */
	assert_int_equal(data[0], 0xA0);
	assert_int_equal(data[1], 0xFF);
	assert_int_equal(data[3], 0xFF);
}

static void test_unregister(void **state)
{
	struct bus *bus = *state;
	struct rec r = { 0 };
	struct bus_cache cache = { 0 };
	struct bus_range *held;
	uint8_t data[4];

	assert_int_equal(bus_register(bus, BUS_MMIO, 0xC0000000, 0x1000, rec_io, &r, "bar"), 0);
	assert_int_equal(bus_dispatch(bus, &cache, BUS_MMIO, 0xC0000004, data, 4, false), 0);
	assert_int_equal(bus_unregister(bus, BUS_MMIO, 0xC0000004), -ENOENT);	/* not a base */

	/* A lookup in flight keeps the range alive across its removal. */
	held = bus_find(bus, BUS_MMIO, 0xC0000010);
	assert_non_null(held);
	assert_int_equal(bus_unregister(bus, BUS_MMIO, 0xC0000000), 0);
	assert_int_equal(held->base, 0xC0000000);
	assert_ptr_equal(held->opaque, &r);
	bus_range_put(held);

	/* The stale cache entry must not be used after removal. */
	assert_int_equal(bus_dispatch(bus, &cache, BUS_MMIO, 0xC0000004, data, 4, false), -ENOENT);
	assert_int_equal(r.calls, 1);
	assert_null(bus_find(bus, BUS_MMIO, 0xC0000010));
	assert_int_equal(bus_unregister(bus, BUS_MMIO, 0xC0000000), -ENOENT);
	/* The space is free again: a BAR can move back. */
	assert_int_equal(bus_register(bus, BUS_MMIO, 0xC0000800, 0x1000, rec_io, &r, "bar"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_overlaps_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_and_dispatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_straddling_access_clipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unregister, setup, teardown),
	};
	return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
