// SPDX-License-Identifier: Apache-2.0
/*
 * The x86 Linux boot protocol, 64-bit entry (Documentation/arch/x86/boot.rst):
 * the protected-mode kernel is loaded at 1 MiB and entered at startup_64 with
 * paging on, an identity map, a flat GDT and %rsi pointing at boot_params.
 * No real-mode setup code runs, so kvmio itself fills the zero page. An
 * uncompressed vmlinux (boot/elf.c) is entered the same way at its e_entry.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/layout.h"
#include "boot/linux.h"
#include "util.h"
#include "vm.h"

int linux_bzimage_parse(const uint8_t *buf, size_t size, struct bzimage *bz, const char **why)
{
	unsigned int setup_sects;

	memset(bz, 0, sizeof(*bz));
	if (size < 0x400) {
		*why = "file too small to be a bzImage";
		return -ENOEXEC;
	}
	if (le_read(buf + HDR_BOOT_FLAG, 2) != 0xAA55 || memcmp(buf + HDR_MAGIC, "HdrS", 4)) {
		*why = "no Linux boot header (boot_flag 0xAA55 and \"HdrS\" missing): not a bzImage";
		return -ENOEXEC;
	}
	bz->version = (uint16_t)le_read(buf + HDR_VERSION, 2);
	/* 2.12 added xloadflags, which is how a kernel says it has startup_64. */
	if (bz->version < 0x020C) {
		*why = "boot protocol older than 2.12 (kernel before 3.8): no 64-bit entry point";
		return -ENOEXEC;
	}
	if (!(buf[HDR_LOADFLAGS] & LOADFLAG_LOADED_HIGH)) {
		*why = "zImage (loaded low) is not supported";
		return -ENOEXEC;
	}
	bz->xloadflags = (uint16_t)le_read(buf + HDR_XLOADFLAGS, 2);
	if (!(bz->xloadflags & XLF_KERNEL_64)) {
		*why = "kernel has no 64-bit entry point (a 32-bit kernel?)";
		return -ENOEXEC;
	}
	setup_sects = buf[HDR_SETUP_SECTS] ? buf[HDR_SETUP_SECTS] : 4;
	bz->setup_size = (size_t)(setup_sects + 1) * 512;
	if (bz->setup_size + LINUX_64BIT_ENTRY >= size) {
		*why = "truncated bzImage: no protected-mode kernel after the setup sectors";
		return -ENOEXEC;
	}
	if (size - bz->setup_size > UINT32_MAX) {
		*why = "protected-mode kernel of 4 GiB or more";
		return -ENOEXEC;
	}
	bz->hdr_end = 0x202 + buf[HDR_JUMP + 1];
	if (bz->hdr_end > bz->setup_size || bz->hdr_end > BP_HDR_END) {
		*why = "setup header length out of range";
		return -ENOEXEC;
	}
	bz->cmdline_size = (uint32_t)le_read(buf + HDR_CMDLINE_SIZE, 4);
	bz->initrd_addr_max = (uint32_t)le_read(buf + HDR_INITRD_ADDR_MAX, 4);
	bz->init_size = (uint32_t)le_read(buf + HDR_INIT_SIZE, 4);
	if (bz->init_size < size - bz->setup_size)
		bz->init_size = (uint32_t)(size - bz->setup_size);
	bz->relocatable = buf[HDR_RELOCATABLE] != 0;
	bz->kernel_alignment = (uint32_t)le_read(buf + HDR_KERNEL_ALIGNMENT, 4);
	bz->pref_address = le_read(buf + HDR_PREF_ADDRESS, 8);
	/* pref_address appeared in 2.10; alignment must be a power of two. */
	if (bz->kernel_alignment & (bz->kernel_alignment - 1)) {
		*why = "kernel_alignment is not a power of two";
		return -ENOEXEC;
	}
	bz->buf = buf;
	bz->size = size;
	return 0;
}

static unsigned int e820_add(struct e820_entry *tbl, unsigned int n, unsigned int max,
			     uint64_t addr, uint64_t size, uint32_t type)
{
	if (n >= max || !size)
		return n;
	tbl[n].addr = addr;
	tbl[n].size = size;
	tbl[n].type = type;
	return n + 1;
}

uint64_t linux_kernel_end(const struct bzimage *bz, uint64_t load)
{
	uint64_t start = bz->pref_address;

	/*
	 * boot.rst, init_size: a relocatable kernel runs at its load address
	 * raised to pref_address and aligned up to kernel_alignment; any other
	 * kernel at pref_address. It decompresses into [start, start+init_size).
	 */
	if (bz->relocatable) {
		start = MAX(load, bz->pref_address);
		/* The header is the file's: a pref_address near 2^64 must not wrap to 0. */
		if (bz->kernel_alignment && start > UINT64_MAX - bz->kernel_alignment)
			return UINT64_MAX;
		if (bz->kernel_alignment)
			start = ALIGN_UP(start, (uint64_t)bz->kernel_alignment);
	}
	start = MAX(start, load);
	return start > UINT64_MAX - bz->init_size ? UINT64_MAX : start + bz->init_size;
}

unsigned int linux_e820_build(const struct guest_mem *mem, struct e820_entry *tbl, unsigned int max)
{
	return linux_e820_build_rsv(mem, 0, 0, tbl, max);
}

unsigned int linux_e820_build_rsv(const struct guest_mem *mem, uint64_t rsv_base, uint64_t rsv_size,
				  struct e820_entry *tbl, unsigned int max)
{
	uint64_t low_end = mem_low_end(mem);
	unsigned int n = 0;

	n = e820_add(tbl, n, max, 0, MIN(low_end, BOOT_EBDA_START), E820_RAM);
	/* EBDA, VGA hole and BIOS area, where the ACPI tables live. */
	n = e820_add(tbl, n, max, BOOT_EBDA_START, BOOT_ACPI_END - BOOT_EBDA_START, E820_RESERVED);
	if (low_end > BOOT_KERNEL_ADDR)
		n = e820_add(tbl, n, max, BOOT_KERNEL_ADDR, low_end - BOOT_KERNEL_ADDR, E820_RAM);
	/* The PCI ECAM window: Linux uses an MCFG area only if it is reserved here. */
	n = e820_add(tbl, n, max, PCI_ECAM_BASE, PCI_ECAM_SIZE, E820_RESERVED);
	if (rsv_size)
		n = e820_add(tbl, n, max, rsv_base, rsv_size, E820_RESERVED);
	/* KVM's identity-map page and TSS: the guest must never put a BAR there. */
	n = e820_add(tbl, n, max, KVM_IDENTITY_MAP_ADDR, KVM_PRIVATE_END - KVM_IDENTITY_MAP_ADDR,
		     E820_RESERVED);
	for (unsigned int i = 1; i < mem->nr; i++)
		n = e820_add(tbl, n, max, mem->region[i].gpa, mem->region[i].size, E820_RAM);
	return n;
}

/* Flat GDT: the boot protocol wants __BOOT_CS at 0x10 and __BOOT_DS at 0x18. */
static void write_gdt(uint8_t *gdt)
{
	static const uint64_t entries[] = {
		0,
		0,
		0x00AF9B000000FFFFULL,	/* 0x10: 64-bit code, DPL 0 */
		0x00CF93000000FFFFULL,	/* 0x18: flat data, DPL 0 */
		0x00008B0000000FFFULL,	/* 0x20: busy 64-bit TSS, for VMX's TR checks */
	};
	memcpy(gdt, entries, sizeof(entries));
}

/* Identity map of 0-4 GiB with 2 MiB pages: covers kernel, zero page, LAPIC. */
static void write_page_tables(struct guest_mem *mem)
{
	uint64_t *pml4 = guest_ptr(mem, BOOT_PML4_ADDR, 4096);
	uint64_t *pdpt = guest_ptr(mem, BOOT_PDPT_ADDR, 4096);
	uint64_t *pd = guest_ptr(mem, BOOT_PD_ADDR, 4 * 4096);

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_ADDR | 0x3;			/* present, writable */
	for (unsigned int i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 4096) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83;		/* present, writable, 2 MiB */
}

/* All @len bytes from offset 0, or -errno, or -EIO at a premature end of file. */
static int read_whole(int fd, uint8_t *buf, size_t len)
{
	ssize_t n = pread_full(fd, buf, len, 0);

	return n < 0 ? (int)n : (size_t)n < len ? -EIO : 0;
}

/*
 * The kernel file, mapped read-only: the loaders copy from the mapping straight into guest
 * memory. A vmlinux is 60 MiB and more, and reading it into a buffer first cost a copy and
 * the buffer's page faults: start to first KVM_RUN took 170-220 ms with Debian's vmlinux on
 * the development host, 50-130 ms this way (a bzImage: 15-50 ms). (A file truncated under a
 * running load would fault the copy, as it would main.c's check of the same file.)
 */
static int map_file(const char *path, const char *what, const uint8_t **buf, size_t *size)
{
	struct stat st;
	void *p;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		pr_err("cannot open %s '%s': %s", what, path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		pr_err("%s '%s' is not a regular file", what, path);
		ret = -EINVAL;
		goto out;
	}
	if (st.st_size == 0) {
		pr_err("%s '%s' is empty", what, path);
		ret = -ENOEXEC;
		goto out;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		pr_err("cannot read %s '%s': %s", what, path, strerror(errno));
		goto out;
	}
	*buf = p;
	*size = (size_t)st.st_size;
out:
	close(fd);
	return ret;
}

int linux_kernel_parse(const uint8_t *buf, size_t size, const char **why)
{
	struct bzimage bz;
	struct vmlinux vl;

	if (linux_is_elf(buf, size))
		return linux_elf_parse(buf, size, &vl, why);
	return linux_bzimage_parse(buf, size, &bz, why);
}

/* What the boot protocol's common part needs from whichever kind of kernel was loaded. */
struct kernel_fit {
	uint64_t end;			/* first byte above what the kernel uses at entry */
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	uint64_t entry;
};

/*
 * Read the initrd straight into guest memory just below the highest address
 * the kernel accepts (initrd_addr_max, and the end of low RAM), above the
 * kernel (a bzImage's decompression area, a vmlinux's highest segment).
 */
static int load_initrd(struct guest_mem *mem, const struct kernel_fit *k, const char *path, uint8_t *bp)
{
	uint64_t top = MIN(mem_low_end(mem), (uint64_t)k->initrd_addr_max + 1);
	uint64_t addr, size;
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		pr_err("cannot open initrd '%s': %s", path, strerror(errno));
		goto out;
	}
	size = (uint64_t)st.st_size;
	if (size > top || ALIGN_DOWN(top - size, 4096) < k->end || size > UINT32_MAX) {
		pr_err("initrd '%s' (%llu bytes) does not fit in guest memory between the kernel "
		       "(up to 0x%llx) and 0x%llx; give the guest more --memory", path,
		       (unsigned long long)size, (unsigned long long)k->end,
		       (unsigned long long)top);
		ret = -ENOSPC;
		goto out;
	}
	addr = ALIGN_DOWN(top - size, 4096);
	ret = read_whole(fd, guest_ptr(mem, addr, size), size);
	if (ret) {
		pr_err("cannot read initrd '%s': %s", path, strerror(-ret));
		goto out;
	}
	le_write(bp + HDR_RAMDISK_IMAGE, 4, addr);
	le_write(bp + HDR_RAMDISK_SIZE, 4, size);
	le_write(bp + BP_EXT_RAMDISK_IMAGE, 4, addr >> 32);
	le_write(bp + BP_EXT_RAMDISK_SIZE, 4, size >> 32);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* A bzImage: its protected-mode part at 1 MiB, its setup header copied into boot_params. */
static int load_bzimage(struct guest_mem *mem, const char *path, const uint8_t *img, size_t size,
			uint8_t *bp, struct kernel_fit *k)
{
	const char *why = NULL;
	struct bzimage bz;
	int ret;

	ret = linux_bzimage_parse(img, size, &bz, &why);
	if (ret) {
		pr_err("kernel '%s': %s", path, why);
		return ret;
	}
	k->end = linux_kernel_end(&bz, BOOT_KERNEL_ADDR);
	if (k->end > mem_low_end(mem)) {
		pr_err("kernel '%s' needs %llu MiB of low memory to decompress; give the guest "
		       "more --memory", path, (unsigned long long)(k->end / MiB + 1));
		return -ENOSPC;
	}
	memcpy(guest_ptr(mem, BOOT_KERNEL_ADDR, size - bz.setup_size), img + bz.setup_size,
	       size - bz.setup_size);
	memcpy(bp + BP_HDR, img + BP_HDR, bz.hdr_end - BP_HDR);
	bp[HDR_TYPE_OF_LOADER] = 0xFF;		/* undefined boot loader */
	k->cmdline_size = bz.cmdline_size;
	k->initrd_addr_max = bz.initrd_addr_max;
	k->entry = BOOT_KERNEL_ADDR + LINUX_64BIT_ENTRY;
	return 0;
}

/* A vmlinux: its segments at their physical addresses, a setup header made up for it. */
static int load_vmlinux(struct guest_mem *mem, const char *path, const uint8_t *img, size_t size,
			uint8_t *bp, struct kernel_fit *k)
{
	const char *why = NULL;
	struct vmlinux vl;
	int ret;

	ret = linux_elf_parse(img, size, &vl, &why);
	if (ret) {
		pr_err("kernel '%s': %s", path, why);
		return ret;
	}
	ret = linux_elf_place(&vl, mem_low_end(mem), &why);
	if (ret) {
		pr_err("kernel '%s' (segments at 0x%llx-0x%llx, guest RAM below 0x%llx): %s", path,
		       (unsigned long long)vl.start, (unsigned long long)vl.end,
		       (unsigned long long)mem_low_end(mem), why);
		return ret;
	}
	linux_elf_copy(&vl, mem);
	linux_elf_setup_header(bp);
	k->end = vl.end;
	k->cmdline_size = VMLINUX_CMDLINE_SIZE;
	k->initrd_addr_max = VMLINUX_INITRD_ADDR_MAX;
	k->entry = vl.entry;
	return 0;
}

int linux_load(struct guest_mem *mem, const struct linux_boot *lb, uint64_t *entry)
{
	struct e820_entry e820[BP_E820_MAX];
	struct kernel_fit k = { 0 };
	const uint8_t *img = NULL;
	uint8_t *bp;
	size_t img_size = 0, cmdline_len, cmdline_max;
	unsigned int n;
	int ret;

	ret = map_file(lb->kernel, "kernel", &img, &img_size);
	if (ret)
		return ret;
	bp = guest_ptr(mem, BOOT_PARAMS_ADDR, BP_SIZE);
	memset(bp, 0, BP_SIZE);
	if (linux_is_elf(img, img_size))
		ret = load_vmlinux(mem, lb->kernel, img, img_size, bp, &k);
	else
		ret = load_bzimage(mem, lb->kernel, img, img_size, bp, &k);
	if (ret)
		goto out;

	/* From here on the same for both kinds: what the kernel reads besides its header. */
	cmdline_len = lb->cmdline ? strlen(lb->cmdline) : 0;
	cmdline_max = MIN((size_t)k.cmdline_size, (size_t)BOOT_CMDLINE_MAX - 1);
	if (cmdline_len > cmdline_max) {
		pr_err("command line is %zu bytes; this kernel accepts at most %zu", cmdline_len, cmdline_max);
		ret = -E2BIG;
		goto out;
	}
	le_write(bp + BP_ACPI_RSDP_ADDR, 8, lb->rsdp_addr);

	memset(guest_ptr(mem, BOOT_CMDLINE_ADDR, cmdline_len + 1), 0, cmdline_len + 1);
	if (cmdline_len)
		memcpy(guest_ptr(mem, BOOT_CMDLINE_ADDR, cmdline_len), lb->cmdline, cmdline_len);
	le_write(bp + HDR_CMD_LINE_PTR, 4, BOOT_CMDLINE_ADDR);
	le_write(bp + BP_EXT_CMD_LINE_PTR, 4, BOOT_CMDLINE_ADDR >> 32);

	n = linux_e820_build_rsv(mem, lb->rsv_base, lb->rsv_size, e820, BP_E820_MAX);
	bp[BP_E820_ENTRIES] = (uint8_t)n;
	memcpy(bp + BP_E820_TABLE, e820, n * sizeof(e820[0]));

	if (lb->initrd) {
		ret = load_initrd(mem, &k, lb->initrd, bp);
		if (ret)
			goto out;
	}

	write_gdt(guest_ptr(mem, BOOT_GDT_ADDR, 5 * 8));
	write_page_tables(mem);
	*entry = k.entry;
out:
	munmap((void *)img, img_size);
	return ret;
}
