/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A VM for device tests without KVM: a struct vm with the real bus
 * (src/bus.c) and recording stand-ins for the calls devices make into
 * vm.c: vm_irq_line, vm_console_write, vm_request_stop, and vm_map_mmio /
 * vm_unmap_mmio (memory slots for assigned devices' BARs, kept in a table
 * the tests read). Linked, before libkvmio.a, into the
 * device unit tests (FAKE_VM_TESTS in the Makefile), test_pio_storm and the
 * fuzz_pio target, so vm.o is not pulled from the archive.
 *
 * The stand-ins are safe from any thread (the RTC's timer thread calls
 * vm_irq_line). They never fail a test themselves: a call that breaks the
 * contract below is kept in the record (the first one only) and reported by
 * pio() and fake_vm_destroy(), or read by the caller with fake_vm_error().
 *
 * Contract checked on every call:
 *  - the vm is the one given to fake_vm_init;
 *  - vm_irq_line: GSI below FAKE_VM_NR_GSI, level 0 or 1, and a change of
 *    level (devices report edges of their line, never the same level twice);
 *  - vm_request_stop: a valid enum vm_stop_reason;
 *  - vm_map_mmio: gpa, size and hva page-aligned, size not 0, no wrap, not
 *    over guest RAM (vm->mem) and not over a slot still mapped (KVM refuses
 *    both with EEXIST); FAKE_VM_NR_SLOTS at most (then -ENOSPC, as vm.c);
 *  - vm_unmap_mmio: a slot this fake handed out and that is still mapped;
 *  - fake_vm_destroy: no slot left mapped.
 */
#ifndef KVMIO_TESTS_FAKE_VM_H
#define KVMIO_TESTS_FAKE_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm.h"

#define FAKE_VM_NR_GSI	24	/* IOAPIC pins */
#define FAKE_VM_NR_STOP	(VM_STOP_ERROR + 1)
#define FAKE_VM_NR_SLOTS	64	/* memory slots vm_map_mmio hands out */
#define FAKE_VM_SLOT_BASE	MEM_MAX_REGIONS	/* the first slot number, as in vm.c */

/*
 * fake_vm_init - zero @vm, give it no KVM (fds -1) and no console (serial
 * fds -1; set them after), and an empty real bus; clear the record and make
 * @vm the one the stand-ins accept. A failure, here or in pio(), goes to
 * @on_fail (cmocka's fail_msg when the caller included cmocka.h before this
 * header, see fake_vm_init below), or to stderr and abort() when NULL.
 */
void fake_vm_init_fail(struct vm *vm, void (*on_fail)(const char *msg));

/* fake_vm_destroy - bus_destroy, after the caller ran the devices' exit; reports a violation. */
void fake_vm_destroy(struct vm *vm);

/*
 * fake_vm_reset - forget call and edge counts, stop requests, map/unmap
 * counts, an injected map failure and a recorded violation. The levels and
 * the mapped slots stay: they are the devices' state, which only changes.
 */
void fake_vm_reset(void);

/* What the stand-ins saw (each read under the record's lock). */
int fake_irq_level(unsigned int gsi);
unsigned long fake_irq_calls(unsigned int gsi);	/* calls for this GSI */
unsigned long fake_irq_edges(unsigned int gsi);	/* 0 -> 1 changes */
unsigned long fake_irq_calls_total(void);		/* every call, bad ones too */
unsigned int fake_stop_count(enum vm_stop_reason reason);
enum vm_stop_reason fake_stop_reason(void);	/* the first request: VM_RUNNING if none */

/* fake_vm_error - copy the first violation into @buf; false when there was none. */
bool fake_vm_error(char *buf, size_t size);

/* A memory slot vm_map_mmio created and vm_unmap_mmio has not removed. */
struct fake_mmio_slot {
	int slot;
	uint64_t gpa, size;
	void *hva;
	bool readonly;		/* KVM_MEM_READONLY */
};

/* fake_mmio_nslots - slots mapped now. */
unsigned int fake_mmio_nslots(void);

/* fake_mmio_slot_at - the mapped slot covering @gpa into @out; false when none. */
bool fake_mmio_slot_at(uint64_t gpa, struct fake_mmio_slot *out);

/* fake_mmio_slots - up to @max mapped slots into @out, by gpa; returns how many are mapped. */
unsigned int fake_mmio_slots(struct fake_mmio_slot *out, unsigned int max);

/* Calls since fake_vm_init/reset: successful maps, unmaps. */
unsigned long fake_mmio_maps(void);
unsigned long fake_mmio_unmaps(void);

/* fake_mmio_fail - make every later vm_map_mmio return @err (negative errno); 0 stops it. */
void fake_mmio_fail(int err);

/*
 * fake_mmio_watch - call @fn (NULL: none) on every successful vm_map_mmio,
 * after the slot is in the table and outside the record's lock: for a test
 * that checks what must hold when a slot appears (the device decoding
 * memory). Cleared by fake_vm_init.
 */
void fake_mmio_watch(void (*fn)(const struct fake_mmio_slot *s, void *opaque), void *opaque);

/* How many ranges @space of the fake VM's bus holds. */
unsigned int fake_bus_nranges(enum bus_space space);

/* The length of the port range that starts at @port; 0 when none starts there. */
uint64_t fake_pio_range(uint16_t port);

/*
 * pio - one guest port access through bus_dispatch on the fake VM's bus, as
 * a vCPU's KVM_EXIT_IO would: an access past the end of a range is clipped
 * by the bus. Fails the test when no device claims @port, or when a stand-in
 * saw a violation.
 */
void pio(uint16_t port, void *data, unsigned int len, bool is_write);

/*
 * pio_unclipped - the handler of the range covering @port called with all of
 * @len, as no dispatcher would: how the device itself handles bytes past its
 * ports. Fails the test like pio().
 */
void pio_unclipped(uint16_t port, void *data, unsigned int len, bool is_write);

uint8_t pio_read8(uint16_t port);
uint16_t pio_read16(uint16_t port);
uint32_t pio_read32(uint16_t port);
void pio_write8(uint16_t port, uint8_t v);
void pio_write16(uint16_t port, uint16_t v);
void pio_write32(uint16_t port, uint32_t v);

#ifdef fail_msg		/* cmocka.h came first: fail the test case, not the program */
static inline void fake_vm_cmocka_fail(const char *msg)
{
	fail_msg("%s", msg);
}
#define fake_vm_init(vm)	fake_vm_init_fail((vm), fake_vm_cmocka_fail)
#else
#define fake_vm_init(vm)	fake_vm_init_fail((vm), NULL)
#endif

#endif
