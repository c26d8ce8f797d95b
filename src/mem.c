// SPDX-License-Identifier: Apache-2.0
/*
 * Guest RAM: layout around the 32-bit PCI hole, allocation, and the one
 * bounds-checked translation from guest-physical addresses to host pointers
 * that every device and loader uses.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "mem.h"
#include "util.h"

/* Host alignment of guest RAM: the x86 large-page size (see mem_alloc). */
#define MEM_ALIGN	(2 * MiB)

int mem_layout(struct guest_mem *m, uint64_t ram_size)
{
	memset(m, 0, sizeof(*m));
	if (!ram_size || ram_size & (4 * KiB - 1))
		return -EINVAL;
	/* The high region must not wrap the 64-bit physical address space. */
	if (ram_size > MEM_HOLE_START && ram_size - MEM_HOLE_START > UINT64_MAX - MEM_4G)
		return -EINVAL;

	m->ram_size = ram_size;
	m->region[0].gpa = 0;
	m->region[0].size = MIN(ram_size, MEM_HOLE_START);
	m->nr = 1;
	if (ram_size > MEM_HOLE_START) {
		m->region[1].gpa = MEM_4G;
		m->region[1].size = ram_size - MEM_HOLE_START;
		m->nr = 2;
	}
	for (unsigned int i = 0; i < m->nr; i++)
		m->region[i].slot = i;
	return 0;
}

int mem_alloc(struct guest_mem *m, uint64_t ram_size)
{
	uint64_t off = 0;
	uintptr_t head;
	void *p;
	int ret;

	ret = mem_layout(m, ram_size);
	if (ret)
		return ret;
	/*
	 * One reservation for all regions; MAP_NORESERVE so a large --memory
	 * costs only what the guest touches. Aligned to 2 MiB, with transparent
	 * huge pages asked for: KVM maps guest memory with large pages only
	 * where the host virtual address is aligned like the guest physical
	 * one, and 4 KiB mappings cost a TLB miss and a page walk per page
	 * (measured in the rig: a 2 MiB-misaligned kvmio got no large
	 * mappings at all, QEMU 64, and booted 1.17x slower than microvm).
	 */
	p = mmap(NULL, ram_size + MEM_ALIGN, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	head = ALIGN_UP((uintptr_t)p, MEM_ALIGN) - (uintptr_t)p;
	if (head)
		munmap(p, head);
	if (MEM_ALIGN - head)
		munmap((uint8_t *)p + head + ram_size, MEM_ALIGN - head);
	p = (uint8_t *)p + head;
	if (madvise(p, ram_size, MADV_HUGEPAGE) < 0)
		pr_debug("madvise(MADV_HUGEPAGE): %s", strerror(errno));
	m->base = p;
	m->base_len = ram_size;
	for (unsigned int i = 0; i < m->nr; i++) {
		m->region[i].hva = m->base + off;
		off += m->region[i].size;
	}
	return 0;
}

void mem_free(struct guest_mem *m)
{
	if (m->base)
		munmap(m->base, m->base_len);
	m->base = NULL;
	m->nr = 0;
}

void *guest_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < m->nr; i++) {
		const struct mem_region *r = &m->region[i];

		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		/* Checked: offset + len must stay within the region, without wrapping. */
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->hva ? r->hva + (gpa - r->gpa) : NULL;
	}
	return NULL;
}

uint64_t mem_low_end(const struct guest_mem *m)
{
	return m->nr ? m->region[0].size : 0;
}
