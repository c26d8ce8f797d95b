/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_MEM_H
#define KVMIO_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Guest physical memory layout (x86-64):
 *
 *   0              .. low_end       RAM (low_end = min(size, MEM_HOLE_START))
 *   MEM_HOLE_START .. 4 GiB         32-bit hole: PCI MMIO window, ECAM, IOAPIC, LAPIC
 *   4 GiB          .. 4 GiB + rest  RAM above the hole, when size > MEM_HOLE_START
 */
#define MEM_HOLE_START	0xC0000000ULL	/* 3 GiB */
#define MEM_4G		0x100000000ULL

#define MEM_MAX_REGIONS	4

struct mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	unsigned int slot;	/* KVM memory slot */
};

struct guest_mem {
	struct mem_region region[MEM_MAX_REGIONS];
	unsigned int nr;
	uint64_t ram_size;	/* total RAM, as given with --memory */
	uint8_t *base;		/* one reservation backing all regions */
	size_t base_len;
};

/*
 * mem_layout - compute the RAM regions for @ram_size bytes, without
 * allocating (hva fields left NULL). Pure; used by mem_alloc and by tests.
 * Returns 0 or -EINVAL.
 */
int mem_layout(struct guest_mem *m, uint64_t ram_size);

/*
 * mem_alloc - lay out and mmap guest RAM (anonymous, MAP_NORESERVE).
 * Returns 0 or negative errno. mem_free undoes it.
 */
int mem_alloc(struct guest_mem *m, uint64_t ram_size);
void mem_free(struct guest_mem *m);

/*
 * guest_ptr - host pointer for [gpa, gpa+len) when the whole range lies inside
 * one RAM region; NULL when it is outside RAM, spans a hole, or wraps. len 0
 * is valid for any gpa inside a region. Pure and lock-free: the layout is
 * fixed after mem_alloc.
 */
void *guest_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Top of the RAM region that starts at 0 (where the low-memory boot data go). */
uint64_t mem_low_end(const struct guest_mem *m);

#endif
