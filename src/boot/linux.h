/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_BOOT_LINUX_H
#define KVMIO_BOOT_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem.h"

/* Offsets into struct boot_params (Documentation/arch/x86/zero-page.rst). */
#define BP_ACPI_RSDP_ADDR	0x070
#define BP_EXT_RAMDISK_IMAGE	0x0C0
#define BP_EXT_RAMDISK_SIZE	0x0C4
#define BP_EXT_CMD_LINE_PTR	0x0C8
#define BP_E820_ENTRIES		0x1E8
#define BP_HDR			0x1F1	/* struct setup_header starts here */
#define BP_HDR_END		0x290	/* ... and its area ends here */
#define BP_E820_TABLE		0x2D0
#define BP_E820_MAX		128
#define BP_SIZE			4096

/* Offsets of setup header fields, in the file and in boot_params alike. */
#define HDR_SETUP_SECTS		0x1F1
#define HDR_BOOT_FLAG		0x1FE
#define HDR_JUMP		0x200
#define HDR_MAGIC		0x202
#define HDR_VERSION		0x206
#define HDR_TYPE_OF_LOADER	0x210
#define HDR_LOADFLAGS		0x211
#define HDR_RAMDISK_IMAGE	0x218
#define HDR_RAMDISK_SIZE	0x21C
#define HDR_CMD_LINE_PTR	0x228
#define HDR_INITRD_ADDR_MAX	0x22C
#define HDR_KERNEL_ALIGNMENT	0x230
#define HDR_RELOCATABLE		0x234
#define HDR_XLOADFLAGS		0x236
#define HDR_CMDLINE_SIZE	0x238
#define HDR_PREF_ADDRESS	0x258
#define HDR_INIT_SIZE		0x260

#define LOADFLAG_LOADED_HIGH	0x01
#define XLF_KERNEL_64		0x01
#define LINUX_64BIT_ENTRY	0x200	/* startup_64, relative to the load address */

#define E820_RAM		1
#define E820_RESERVED		2

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

/* What kvmio needs from a bzImage, validated by linux_bzimage_parse. */
struct bzimage {
	const uint8_t *buf;
	size_t size;
	size_t setup_size;	/* real-mode part, (setup_sects + 1) * 512 */
	size_t hdr_end;		/* end of the setup header: 0x202 + buf[0x201] */
	uint16_t version;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	uint32_t init_size;	/* memory the kernel needs from its runtime start */
	uint16_t xloadflags;
	bool relocatable;
	uint32_t kernel_alignment;
	uint64_t pref_address;
};

/*
 * linux_bzimage_parse - validate @buf as a bzImage kvmio can boot through the 64-bit
 * entry point and fill @bz. Pure. Returns 0, or -ENOEXEC with *why set to a
 * short human-readable reason.
 */
int linux_bzimage_parse(const uint8_t *buf, size_t size, struct bzimage *bz, const char **why);

/*
 * linux_kernel_end - end of the memory the kernel uses while it decompresses
 * when loaded at @load: its runtime start (boot.rst, "init_size") plus
 * init_size, UINT64_MAX where that would overflow. Pure.
 */
uint64_t linux_kernel_end(const struct bzimage *bz, uint64_t load);

/*
 * linux_e820_build - the guest's memory map for @mem: low RAM below the EBDA,
 * the EBDA/BIOS/ACPI area reserved, RAM from 1 MiB to the hole, KVM's private
 * pages reserved, RAM above 4 GiB. Pure. Returns the number of entries
 * written (at most @max).
 */
unsigned int linux_e820_build(const struct guest_mem *mem, struct e820_entry *tbl, unsigned int max);

/* linux_e820_build_rsv - the same, with [@rsv_base, +@rsv_size) in the hole reserved too (size 0: not). */
unsigned int linux_e820_build_rsv(const struct guest_mem *mem, uint64_t rsv_base, uint64_t rsv_size,
				  struct e820_entry *tbl, unsigned int max);

/* What kvmio needs from an uncompressed vmlinux (ELF64), validated by linux_elf_parse. */
struct vmlinux {
	const uint8_t *buf;
	size_t size;
	uint64_t entry;		/* e_entry: startup_64's physical address in Linux's vmlinux */
	uint64_t start;		/* lowest p_paddr of a non-empty PT_LOAD */
	uint64_t end;		/* highest p_paddr + p_memsz: the kernel's end */
	uint64_t phoff;		/* the program header table, checked to lie in buf */
	uint16_t phnum;
};

/* Setup header values kvmio gives a vmlinux, which has no header of its own. */
/*
 * x86's COMMAND_LINE_SIZE (2048) less the NUL, as arch/x86/boot/header.S writes it: the field is
 * the longest command line without its terminating zero, and copy_bootdata copies 2048 bytes.
 */
#define VMLINUX_CMDLINE_SIZE	2047
#define VMLINUX_INITRD_ADDR_MAX	0x7FFFFFFF
#define VMLINUX_ALIGNMENT	0x1000000	/* CONFIG_PHYSICAL_ALIGN's largest usual value */

/* linux_is_elf - whether @buf starts with the ELF magic (then it is no bzImage). Pure. */
bool linux_is_elf(const uint8_t *buf, size_t size);

/*
 * linux_elf_parse - validate @buf as a vmlinux kvmio can load: ELF64, little-endian, x86-64,
 * ET_EXEC, a program header table inside the file, at least one PT_LOAD, each PT_LOAD's file
 * bytes inside the file with p_filesz <= p_memsz and no overflow in p_paddr + p_memsz, and
 * e_entry inside a loaded segment's physical range. Fills @vl. Pure. Returns 0, or -ENOEXEC
 * with *why set to a short human-readable reason.
 */
int linux_elf_parse(const uint8_t *buf, size_t size, struct vmlinux *vl, const char **why);

/*
 * linux_elf_place - whether @vl's segments fit a guest whose low RAM ends at @low_end: none
 * below 1 MiB (kvmio's boot structures, boot/layout.h) nor in the 32-bit hole (-ENOEXEC), none
 * past @low_end (-ENOSPC: more --memory would do). Pure. Returns 0 or that, with *why set.
 */
int linux_elf_place(const struct vmlinux *vl, uint64_t low_end, const char **why);

/* linux_elf_copy - copy @vl's PT_LOAD segments to their p_paddr and zero their bss; @vl placed. */
void linux_elf_copy(const struct vmlinux *vl, struct guest_mem *mem);

/* linux_elf_setup_header - write into boot_params @bp the setup header a vmlinux lacks. */
void linux_elf_setup_header(uint8_t *bp);

/*
 * linux_kernel_parse - validate @buf as either kind of kernel kvmio boots: a vmlinux when it
 * has the ELF magic, else a bzImage. Pure. Returns 0, or -ENOEXEC with *why set.
 */
int linux_kernel_parse(const uint8_t *buf, size_t size, const char **why);

struct linux_boot {
	const char *kernel;	/* paths */
	const char *initrd;
	const char *cmdline;
	uint64_t rsdp_addr;	/* placed in boot_params.acpi_rsdp_addr */
	uint64_t rsv_base;	/* one more e820-reserved MMIO range (the VT-d registers) */
	uint64_t rsv_size;	/* ... 0: none */
};

/*
 * linux_load - load a bzImage or a vmlinux (and initrd) into guest memory, write
 * boot_params, the command line, the boot GDT and the identity-mapped page
 * tables (see boot/layout.h). On success *entry is the 64-bit entry point.
 * Returns 0 or negative errno; on failure an error line has been printed.
 */
int linux_load(struct guest_mem *mem, const struct linux_boot *lb, uint64_t *entry);

#endif
