// SPDX-License-Identifier: Apache-2.0
/*
 * An uncompressed Linux kernel, vmlinux (ELF64), as Firecracker and cloud-hypervisor boot it:
 * each PT_LOAD copied to its physical address (p_paddr), entered at e_entry, which Linux's
 * linker script makes the physical address of startup_64 (ENTRY(phys_startup_64)). There is no
 * decompressor, so the kernel runs where it was linked (no KASLR) and nothing reads a setup
 * header from the file: kvmio writes the fields the kernel itself reads (linux_elf_setup_header).
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "boot/layout.h"
#include "boot/linux.h"
#include "util.h"

bool linux_is_elf(const uint8_t *buf, size_t size)
{
	return size >= SELFMAG && !memcmp(buf, ELFMAG, SELFMAG);
}

/* Program header @i of an image linux_elf_parse has checked (or is checking) the bounds of. */
static void phdr_read(const uint8_t *buf, uint64_t phoff, unsigned int i, Elf64_Phdr *ph)
{
	memcpy(ph, buf + phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
}

int linux_elf_parse(const uint8_t *buf, size_t size, struct vmlinux *vl, const char **why)
{
	uint64_t start = UINT64_MAX, end = 0;
	unsigned int loads = 0;
	bool entry_ok = false;
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	memset(vl, 0, sizeof(*vl));
	if (!linux_is_elf(buf, size)) {
		*why = "no ELF magic: not a vmlinux";
		return -ENOEXEC;
	}
	if (size < sizeof(eh)) {
		*why = "ELF file too small for its header";
		return -ENOEXEC;
	}
	memcpy(&eh, buf, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64) {
		*why = "ELF is not 64-bit (ELFCLASS64): a 32-bit kernel?";
		return -ENOEXEC;
	}
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB) {
		*why = "ELF is not little-endian";
		return -ENOEXEC;
	}
	if (eh.e_machine != EM_X86_64) {
		*why = "ELF is not for x86-64 (e_machine)";
		return -ENOEXEC;
	}
	if (eh.e_type != ET_EXEC) {
		*why = "ELF is not an executable (ET_EXEC): a module or object file?";
		return -ENOEXEC;
	}
	/* PN_XNUM (0xffff) would put the real count in a section header: no kernel does that. */
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum == PN_XNUM) {
		*why = "ELF program header table malformed (e_phentsize or e_phnum)";
		return -ENOEXEC;
	}
	if (eh.e_phoff > size || (size - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum) {
		*why = "ELF program header table runs past the end of the file";
		return -ENOEXEC;
	}
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		phdr_read(buf, eh.e_phoff, i, &ph);
		if (ph.p_type != PT_LOAD)
			continue;
		loads++;
		if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset) {
			*why = "ELF PT_LOAD segment's file range runs past the end of the file";
			return -ENOEXEC;
		}
		if (ph.p_filesz > ph.p_memsz) {
			*why = "ELF PT_LOAD segment has p_filesz > p_memsz";
			return -ENOEXEC;
		}
		if (ph.p_paddr + ph.p_memsz < ph.p_paddr) {
			*why = "ELF PT_LOAD segment's p_paddr + p_memsz overflows";
			return -ENOEXEC;
		}
		if (!ph.p_memsz)
			continue;
		start = MIN(start, ph.p_paddr);
		end = MAX(end, ph.p_paddr + ph.p_memsz);
		if (eh.e_entry >= ph.p_paddr && eh.e_entry - ph.p_paddr < ph.p_memsz)
			entry_ok = true;
	}
	if (!loads) {
		*why = "ELF has no PT_LOAD segment";
		return -ENOEXEC;
	}
	if (!entry_ok) {
		*why = "ELF entry point (e_entry) is outside every PT_LOAD segment's physical range";
		return -ENOEXEC;
	}
	vl->buf = buf;
	vl->size = size;
	vl->entry = eh.e_entry;
	vl->start = start;
	vl->end = end;
	vl->phoff = eh.e_phoff;
	vl->phnum = eh.e_phnum;
	return 0;
}

int linux_elf_place(const struct vmlinux *vl, uint64_t low_end, const char **why)
{
	/*
	 * Everything kvmio writes for the boot (GDT, boot_params, page tables, command line, ACPI
	 * tables; boot/layout.h) lies below BOOT_KERNEL_ADDR, so this one floor keeps the kernel
	 * off all of it, and off the EBDA and BIOS area the e820 map reserves.
	 */
	if (vl->start < BOOT_KERNEL_ADDR) {
		*why = "a PT_LOAD segment lies below 1 MiB, over kvmio's boot structures "
		       "(boot_params, page tables, ACPI tables)";
		return -ENOEXEC;
	}
	/* The 32-bit hole starts at MEM_HOLE_START whatever the RAM size: more would not help. */
	if (vl->end > MEM_HOLE_START) {
		*why = "a PT_LOAD segment ends above 3 GiB, in the 32-bit hole";
		return -ENOEXEC;
	}
	if (vl->end > low_end) {
		*why = "a PT_LOAD segment runs past the end of guest RAM; give the guest more --memory";
		return -ENOSPC;
	}
	return 0;
}

void linux_elf_copy(const struct vmlinux *vl, struct guest_mem *mem)
{
	Elf64_Phdr ph;

	for (unsigned int i = 0; i < vl->phnum; i++) {
		phdr_read(vl->buf, vl->phoff, i, &ph);
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		memcpy(guest_ptr(mem, ph.p_paddr, ph.p_filesz), vl->buf + ph.p_offset, ph.p_filesz);
		/* .bss and .brk: Linux clears them again itself, but only once it runs C code. */
		memset(guest_ptr(mem, ph.p_paddr + ph.p_filesz, ph.p_memsz - ph.p_filesz), 0,
		       ph.p_memsz - ph.p_filesz);
	}
}

void linux_elf_setup_header(uint8_t *bp)
{
	/*
	 * What Linux reads of the setup header when entered at startup_64 (arch/x86/kernel/
	 * head64.c, setup.c): cmd_line_ptr, the ramdisk fields, loadflags (KASLR_FLAG clear: the
	 * kernel has not moved), type_of_loader, root_flags (0: mount root read-write),
	 * hardware_subarch (0: a PC), setup_data (0: none); and version, non-zero, or
	 * x86_64_start_reservations copies boot_params a second time. The rest are the values a
	 * bzImage's header would carry, for whoever inspects boot_params (kexec, /sys/kernel/
	 * boot_params), the same as Firecracker's.
	 */
	le_write(bp + HDR_BOOT_FLAG, 2, 0xAA55);
	memcpy(bp + HDR_MAGIC, "HdrS", 4);
	le_write(bp + HDR_VERSION, 2, 0x020F);
	bp[HDR_TYPE_OF_LOADER] = 0xFF;		/* undefined boot loader */
	bp[HDR_LOADFLAGS] = LOADFLAG_LOADED_HIGH;
	le_write(bp + HDR_KERNEL_ALIGNMENT, 4, VMLINUX_ALIGNMENT);
	le_write(bp + HDR_XLOADFLAGS, 2, XLF_KERNEL_64);
	le_write(bp + HDR_CMDLINE_SIZE, 4, VMLINUX_CMDLINE_SIZE);
	le_write(bp + HDR_INITRD_ADDR_MAX, 4, VMLINUX_INITRD_ADDR_MAX);
}
