// SPDX-License-Identifier: Apache-2.0
/*
 * A VM for device tests without KVM: the real bus, recording stand-ins for
 * vm.c's vm_irq_line, vm_request_stop and vm_map_mmio/vm_unmap_mmio. See
 * fake_vm.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "fake_vm.h"
#include "util.h"

static struct {
	pthread_mutex_t lock;
	struct vm *vm;
	void (*fail)(const char *msg);
	int level[FAKE_VM_NR_GSI];
	unsigned long calls[FAKE_VM_NR_GSI];
	unsigned long edges[FAKE_VM_NR_GSI];
	unsigned long calls_total;
	unsigned int stops[FAKE_VM_NR_STOP];
	enum vm_stop_reason stop_reason;
	struct fake_mmio_slot slot[FAKE_VM_NR_SLOTS];	/* slot < 0: free */
	unsigned long maps, unmaps;
	int map_err;
	void (*watch)(const struct fake_mmio_slot *s, void *opaque);
	void *watch_opaque;
	char err[256];			/* the first violation */
} rec = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Called with rec.lock held. */
static void violation(const char *fmt, ...)
{
	va_list ap;

	if (rec.err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(rec.err, sizeof(rec.err), fmt, ap);
	va_end(ap);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rec.fail)
		rec.fail(msg);		/* cmocka: does not return */
	fprintf(stderr, "fake_vm: %s\n", msg);
	abort();
}

/* Fail on a violation the stand-ins recorded. */
static void check(void)
{
	char err[sizeof(rec.err)];

	if (fake_vm_error(err, sizeof(err)))
		fail("%s", err);
}

/* ---- the stand-ins for vm.c ------------------------------------------- */

int vm_irq_line(struct vm *vm, unsigned int gsi, int level)
{
	pthread_mutex_lock(&rec.lock);
	rec.calls_total++;
	if (vm != rec.vm)
		violation("vm_irq_line: wrong vm %p", (void *)vm);
	else if (gsi >= FAKE_VM_NR_GSI)
		violation("vm_irq_line: GSI %u out of range", gsi);
	else if (level != 0 && level != 1)
		violation("vm_irq_line: GSI %u level %d", gsi, level);
	else if (level == rec.level[gsi])
		violation("vm_irq_line: GSI %u set to %d twice (not a change)", gsi, level);
	else {
		rec.calls[gsi]++;
		rec.edges[gsi] += level;
		rec.level[gsi] = level;
	}
	pthread_mutex_unlock(&rec.lock);
	return 0;
}

/* Console output goes straight to the test's pipe: no ring, no main loop. */
void vm_console_write(struct vm *vm, const uint8_t *p, size_t n)
{
	while (vm->serial_out_fd >= 0 && n) {
		ssize_t w = write(vm->serial_out_fd, p, n);

		if (w <= 0)
			break;
		p += w;
		n -= (size_t)w;
	}
}

/* COM1's output: the same recording as the console's. */
void vm_serial_write(struct vm *vm, const uint8_t *p, size_t n)
{
	vm_console_write(vm, p, n);
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason)
{
	pthread_mutex_lock(&rec.lock);
	if (vm != rec.vm)
		violation("vm_request_stop: wrong vm %p", (void *)vm);
	else if ((unsigned int)reason >= FAKE_VM_NR_STOP || reason == VM_RUNNING)
		violation("vm_request_stop: reason %d", (int)reason);
	else {
		rec.stops[reason]++;
		if (rec.stop_reason == VM_RUNNING)
			rec.stop_reason = reason;	/* the first request wins, as in vm.c */
	}
	pthread_mutex_unlock(&rec.lock);
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int vm_map_mmio(struct vm *vm, uint64_t gpa, uint64_t size, void *hva, bool readonly)
{
	const uint64_t pg = 4096;
	struct fake_mmio_slot s = { -1, gpa, size, hva, readonly };
	void (*watch)(const struct fake_mmio_slot *s, void *opaque);
	void *watch_opaque;
	int ret = -ENOSPC;

	pthread_mutex_lock(&rec.lock);
	watch = rec.watch;
	watch_opaque = rec.watch_opaque;
	if (vm != rec.vm) {
		violation("vm_map_mmio: wrong vm %p", (void *)vm);
		ret = -EINVAL;
		goto out;
	}
	if (!size || gpa % pg || size % pg || (uintptr_t)hva % pg || !hva || gpa + size < gpa) {
		violation("vm_map_mmio: gpa 0x%llx size 0x%llx hva %p: not page-aligned or empty",
			  (unsigned long long)gpa, (unsigned long long)size, hva);
		ret = -EINVAL;
		goto out;
	}
	for (unsigned int i = 0; i < vm->mem.nr; i++) {
		if (overlap(gpa, size, vm->mem.region[i].gpa, vm->mem.region[i].size)) {
			violation("vm_map_mmio: 0x%llx+0x%llx over RAM", (unsigned long long)gpa,
				  (unsigned long long)size);
			ret = -EEXIST;
			goto out;
		}
	}
	for (unsigned int i = 0; i < FAKE_VM_NR_SLOTS; i++) {
		if (rec.slot[i].slot >= 0 && overlap(gpa, size, rec.slot[i].gpa, rec.slot[i].size)) {
			violation("vm_map_mmio: 0x%llx+0x%llx over slot %d (0x%llx+0x%llx)",
				  (unsigned long long)gpa, (unsigned long long)size, rec.slot[i].slot,
				  (unsigned long long)rec.slot[i].gpa,
				  (unsigned long long)rec.slot[i].size);
			ret = -EEXIST;
			goto out;
		}
	}
	if (rec.map_err) {
		ret = rec.map_err;
		goto out;
	}
	for (unsigned int i = 0; i < FAKE_VM_NR_SLOTS; i++) {
		if (rec.slot[i].slot < 0) {
			s.slot = FAKE_VM_SLOT_BASE + (int)i;
			rec.slot[i] = s;
			rec.maps++;
			ret = s.slot;
			break;
		}
	}
out:
	pthread_mutex_unlock(&rec.lock);
	if (ret >= 0 && watch)
		watch(&s, watch_opaque);
	return ret;
}

void vm_unmap_mmio(struct vm *vm, int slot)
{
	unsigned int i = (unsigned int)(slot - FAKE_VM_SLOT_BASE);

	pthread_mutex_lock(&rec.lock);
	if (vm != rec.vm)
		violation("vm_unmap_mmio: wrong vm %p", (void *)vm);
	else if (slot < FAKE_VM_SLOT_BASE || i >= FAKE_VM_NR_SLOTS || rec.slot[i].slot != slot)
		violation("vm_unmap_mmio: slot %d is not mapped", slot);
	else {
		rec.slot[i].slot = -1;
		rec.unmaps++;
	}
	pthread_mutex_unlock(&rec.lock);
}

/* ---- set-up and the record -------------------------------------------- */

void fake_vm_init_fail(struct vm *vm, void (*on_fail)(const char *msg))
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->stop_fd = -1;
	vm->serial_out_fd = vm->serial_rx_fd = -1;
	pthread_mutex_lock(&rec.lock);
	memset(rec.level, 0, sizeof(rec.level));
	for (unsigned int i = 0; i < FAKE_VM_NR_SLOTS; i++)
		rec.slot[i].slot = -1;
	rec.watch = NULL;
	rec.vm = vm;
	rec.fail = on_fail;
	pthread_mutex_unlock(&rec.lock);
	fake_vm_reset();
	dev_registry_init(&vm->devs);
	ret = bus_init(&vm->bus);
	if (ret)
		fail("bus_init: %d", ret);
	vm->bus_up = true;
}

void fake_vm_destroy(struct vm *vm)
{
	if (vm->bus_up)
		bus_destroy(&vm->bus);
	vm->bus_up = false;
	pthread_mutex_lock(&rec.lock);
	for (unsigned int i = 0; i < FAKE_VM_NR_SLOTS; i++) {
		if (rec.vm == vm && rec.slot[i].slot >= 0) {
			violation("memory slot %d (0x%llx+0x%llx) still mapped when the VM goes",
				  rec.slot[i].slot, (unsigned long long)rec.slot[i].gpa,
				  (unsigned long long)rec.slot[i].size);
			rec.slot[i].slot = -1;
		}
	}
	if (rec.vm == vm)
		rec.vm = NULL;
	pthread_mutex_unlock(&rec.lock);
	check();
}

void fake_vm_reset(void)
{
	pthread_mutex_lock(&rec.lock);
	memset(rec.calls, 0, sizeof(rec.calls));
	memset(rec.edges, 0, sizeof(rec.edges));
	rec.calls_total = 0;
	memset(rec.stops, 0, sizeof(rec.stops));
	rec.stop_reason = VM_RUNNING;
	rec.maps = rec.unmaps = 0;
	rec.map_err = 0;
	rec.err[0] = 0;
	pthread_mutex_unlock(&rec.lock);
}

#define LOCKED_RETURN(type, expr)					\
	do {							\
		type v_;					\
								\
		pthread_mutex_lock(&rec.lock);			\
		v_ = (expr);					\
		pthread_mutex_unlock(&rec.lock);		\
		return v_;					\
	} while (0)

int fake_irq_level(unsigned int gsi)
{
	LOCKED_RETURN(int, gsi < FAKE_VM_NR_GSI ? rec.level[gsi] : 0);
}

unsigned long fake_irq_calls(unsigned int gsi)
{
	LOCKED_RETURN(unsigned long, gsi < FAKE_VM_NR_GSI ? rec.calls[gsi] : 0);
}

unsigned long fake_irq_edges(unsigned int gsi)
{
	LOCKED_RETURN(unsigned long, gsi < FAKE_VM_NR_GSI ? rec.edges[gsi] : 0);
}

unsigned long fake_irq_calls_total(void)
{
	LOCKED_RETURN(unsigned long, rec.calls_total);
}

unsigned int fake_stop_count(enum vm_stop_reason reason)
{
	LOCKED_RETURN(unsigned int, (unsigned int)reason < FAKE_VM_NR_STOP ? rec.stops[reason] : 0);
}

enum vm_stop_reason fake_stop_reason(void)
{
	LOCKED_RETURN(enum vm_stop_reason, rec.stop_reason);
}

unsigned int fake_mmio_nslots(void)
{
	return fake_mmio_slots(NULL, 0);
}

bool fake_mmio_slot_at(uint64_t gpa, struct fake_mmio_slot *out)
{
	bool found = false;

	pthread_mutex_lock(&rec.lock);
	for (unsigned int i = 0; i < FAKE_VM_NR_SLOTS && !found; i++) {
		const struct fake_mmio_slot *s = &rec.slot[i];

		if (s->slot >= 0 && gpa >= s->gpa && gpa - s->gpa < s->size) {
			*out = *s;
			found = true;
		}
	}
	pthread_mutex_unlock(&rec.lock);
	return found;
}

unsigned int fake_mmio_slots(struct fake_mmio_slot *out, unsigned int max)
{
	unsigned int n = 0;

	pthread_mutex_lock(&rec.lock);
	for (unsigned int i = 0; i < FAKE_VM_NR_SLOTS; i++) {
		unsigned int j;

		if (rec.slot[i].slot < 0)
			continue;
		/* Insertion by gpa into the first @max. */
		for (j = MIN(n, max); j > 0 && out[j - 1].gpa > rec.slot[i].gpa; j--)
			if (j < max)
				out[j] = out[j - 1];
		if (j < max)
			out[j] = rec.slot[i];
		n++;
	}
	pthread_mutex_unlock(&rec.lock);
	return n;
}

unsigned long fake_mmio_maps(void)
{
	LOCKED_RETURN(unsigned long, rec.maps);
}

unsigned long fake_mmio_unmaps(void)
{
	LOCKED_RETURN(unsigned long, rec.unmaps);
}

void fake_mmio_fail(int err)
{
	pthread_mutex_lock(&rec.lock);
	rec.map_err = err;
	pthread_mutex_unlock(&rec.lock);
}

void fake_mmio_watch(void (*fn)(const struct fake_mmio_slot *s, void *opaque), void *opaque)
{
	pthread_mutex_lock(&rec.lock);
	rec.watch = fn;
	rec.watch_opaque = opaque;
	pthread_mutex_unlock(&rec.lock);
}

bool fake_vm_error(char *buf, size_t size)
{
	bool seen;

	pthread_mutex_lock(&rec.lock);
	seen = rec.err[0] != 0;
	if (size)
		snprintf(buf, size, "%s", rec.err);
	pthread_mutex_unlock(&rec.lock);
	return seen;
}

/* The VM given to fake_vm_init; only the test's thread changes it. */
static struct vm *the_vm(void)
{
	if (!rec.vm)
		fail("no fake VM: call fake_vm_init first");
	return rec.vm;
}

unsigned int fake_bus_nranges(enum bus_space space)
{
	struct bus *bus = &the_vm()->bus;
	unsigned int n;

	pthread_rwlock_rdlock(&bus->lock);
	n = bus->space[space].nr;
	pthread_rwlock_unlock(&bus->lock);
	return n;
}

uint64_t fake_pio_range(uint16_t port)
{
	struct bus_range *r = bus_find(&the_vm()->bus, BUS_PIO, port);
	uint64_t len = 0;

	if (r && r->base == port)
		len = r->len;
	if (r)
		bus_range_put(r);
	return len;
}

/* ---- guest port I/O ---------------------------------------------------- */

void pio(uint16_t port, void *data, unsigned int len, bool is_write)
{
	int ret = bus_dispatch(&the_vm()->bus, NULL, BUS_PIO, port, data, len, is_write);

	if (ret)
		fail("%u-byte %s at port 0x%x: %s", len, is_write ? "write" : "read", port,
		     ret == -ENOENT ? "not registered" : strerror(-ret));
	check();
}

void pio_unclipped(uint16_t port, void *data, unsigned int len, bool is_write)
{
	struct bus_range *r = bus_find(&the_vm()->bus, BUS_PIO, port);

	if (!r)
		fail("port 0x%x not registered", port);
	r->fn(r->opaque, port - r->base, data, len, is_write);
	bus_range_put(r);
	check();
}

uint8_t pio_read8(uint16_t port)
{
	uint8_t b[1];

	pio(port, b, 1, false);
	return b[0];
}

uint16_t pio_read16(uint16_t port)
{
	uint8_t b[2];

	pio(port, b, 2, false);
	return (uint16_t)le_read(b, 2);
}

uint32_t pio_read32(uint16_t port)
{
	uint8_t b[4];

	pio(port, b, 4, false);
	return (uint32_t)le_read(b, 4);
}

void pio_write8(uint16_t port, uint8_t v)
{
	pio(port, &v, 1, true);
}

void pio_write16(uint16_t port, uint16_t v)
{
	uint8_t b[2];

	le_write(b, 2, v);
	pio(port, b, 2, true);
}

void pio_write32(uint16_t port, uint32_t v)
{
	uint8_t b[4];

	le_write(b, 4, v);
	pio(port, b, 4, true);
}
