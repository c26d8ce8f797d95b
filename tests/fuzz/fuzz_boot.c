// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the kernel image parsers (src/boot/elf.c, src/boot/linux.c) against a
 * hostile or broken --kernel file. The input is the whole file, in an exactly-sized block (a
 * read one byte past it lands in an ASan redzone).
 *
 * linux_kernel_parse takes it as a vmlinux (ELF magic) or a bzImage. For an accepted vmlinux
 * the target re-checks, with its own walk of the program headers, what the parser promises:
 * the table and every PT_LOAD's file bytes inside the file, p_filesz <= p_memsz, no overflow,
 * e_entry inside a non-empty PT_LOAD's physical range, start/end the extremes of those. Then
 * linux_elf_place against a 16 MiB guest, and for a placed kernel linux_elf_copy into it: the
 * last non-empty PT_LOAD (the one no later copy overwrites) must be in guest RAM byte for byte
 * with its bss zero. For a bzImage: the setup part and header inside the file. A violation
 * aborts, and libFuzzer saves the input.
 *
 * Built and run by tests/fuzz/fuzz.mk (`make fuzz-boot`); seeds from tests/fuzz/mkseeds-boot.py.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/layout.h"
#include "boot/linux.h"
#include "mem.h"
#include "util.h"

#define FAIL(...)								\
	do {									\
		fprintf(stderr, "fuzz_boot: " __VA_ARGS__);			\
		fputc('\n', stderr);						\
		abort();							\
	} while (0)

#define GUEST_RAM	(16 * MiB)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_mem mem;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (mem_alloc(&mem, GUEST_RAM))
		FAIL("cannot allocate %llu bytes of guest RAM", (unsigned long long)GUEST_RAM);
	return 0;
}

static void check_vmlinux(const uint8_t *data, size_t size)
{
	uint64_t start = UINT64_MAX, end = 0;
	const char *why = NULL;
	Elf64_Phdr ph, last = { 0 };
	struct vmlinux vl;
	bool entry_in = false;
	const uint8_t *bss;
	int ret;

	if (linux_elf_parse(data, size, &vl, &why))
		FAIL("linux_kernel_parse accepted what linux_elf_parse refuses: %s", why);
	if (vl.phoff > size || (uint64_t)vl.phnum * sizeof(Elf64_Phdr) > size - vl.phoff)
		FAIL("program headers [0x%llx, +%u entries) outside a %zu-byte file",
		     (unsigned long long)vl.phoff, vl.phnum, size);
	for (unsigned int i = 0; i < vl.phnum; i++) {
		memcpy(&ph, data + vl.phoff + i * sizeof(Elf64_Phdr), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset)
			FAIL("PT_LOAD %u's file bytes outside the file", i);
		if (ph.p_filesz > ph.p_memsz || ph.p_paddr + ph.p_memsz < ph.p_paddr)
			FAIL("PT_LOAD %u: filesz > memsz or paddr + memsz overflows", i);
		if (!ph.p_memsz)
			continue;
		start = MIN(start, ph.p_paddr);
		end = MAX(end, ph.p_paddr + ph.p_memsz);
		if (vl.entry >= ph.p_paddr && vl.entry - ph.p_paddr < ph.p_memsz)
			entry_in = true;
		last = ph;
	}
	if (!entry_in || vl.start != start || vl.end != end)
		FAIL("entry 0x%llx in no segment, or range 0x%llx-0x%llx is not 0x%llx-0x%llx",
		     (unsigned long long)vl.entry, (unsigned long long)vl.start,
		     (unsigned long long)vl.end, (unsigned long long)start, (unsigned long long)end);

	ret = linux_elf_place(&vl, mem_low_end(&mem), &why);
	if (ret)
		return;
	if (vl.start < BOOT_KERNEL_ADDR || vl.end > mem_low_end(&mem))
		FAIL("placed 0x%llx-0x%llx in a guest of 1 MiB-0x%llx", (unsigned long long)vl.start,
		     (unsigned long long)vl.end, (unsigned long long)mem_low_end(&mem));
	linux_elf_copy(&vl, &mem);
	if (memcmp(guest_ptr(&mem, last.p_paddr, last.p_filesz), data + last.p_offset, last.p_filesz))
		FAIL("last PT_LOAD not at its p_paddr 0x%llx", (unsigned long long)last.p_paddr);
	bss = guest_ptr(&mem, last.p_paddr + last.p_filesz, last.p_memsz - last.p_filesz);
	for (uint64_t i = 0; i < last.p_memsz - last.p_filesz; i++)
		if (bss[i])
			FAIL("bss byte 0x%llx not zero", (unsigned long long)(last.p_paddr + last.p_filesz + i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	struct bzimage bz;
	int ret;

	ret = linux_kernel_parse(data, size, &why);
	if (ret) {
		if (!why)
			FAIL("refused (%d) without a reason", ret);
		return 0;
	}
	if (linux_is_elf(data, size)) {
		check_vmlinux(data, size);
		return 0;
	}
	if (linux_bzimage_parse(data, size, &bz, &why))
		FAIL("linux_kernel_parse accepted what linux_bzimage_parse refuses: %s", why);
	if (bz.setup_size >= size || bz.hdr_end > bz.setup_size || bz.hdr_end > BP_HDR_END)
		FAIL("setup part %zu or header end 0x%zx outside a %zu-byte file", bz.setup_size,
		     bz.hdr_end, size);
	if (linux_kernel_end(&bz, BOOT_KERNEL_ADDR) < BOOT_KERNEL_ADDR + (size - bz.setup_size))
		FAIL("kernel end below the end of the protected-mode kernel");
	return 0;
}
