// SPDX-License-Identifier: Apache-2.0
/* The Linux boot protocol: bzImage validation, e820, boot_params, page tables. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <elf.h>

#include "boot/layout.h"
#include "boot/linux.h"
#include "vm.h"
#include "util.h"

#define IMG_SIZE (64 * 1024)

/* A minimal image with a valid 2.15 header: 4 setup sectors then the kernel. */
static uint8_t *make_image(void)
{
	uint8_t *b = calloc(1, IMG_SIZE);

	b[HDR_SETUP_SECTS] = 4;
	le_write(b + HDR_BOOT_FLAG, 2, 0xAA55);
	b[HDR_JUMP] = 0xEB;
	b[HDR_JUMP + 1] = 0x6A;				/* header ends at 0x26C */
	memcpy(b + HDR_MAGIC, "HdrS", 4);
	le_write(b + HDR_VERSION, 2, 0x020F);
	b[HDR_LOADFLAGS] = LOADFLAG_LOADED_HIGH;
	le_write(b + HDR_XLOADFLAGS, 2, XLF_KERNEL_64);
	le_write(b + HDR_CMDLINE_SIZE, 4, 2047);
	le_write(b + HDR_INITRD_ADDR_MAX, 4, 0x7FFFFFFF);
	le_write(b + HDR_INIT_SIZE, 4, 1 * MiB);
	for (size_t i = 5 * 512; i < IMG_SIZE; i++)
		b[i] = (uint8_t)(i * 7);
	return b;
}

static void test_bzimage_parse_ok(void **state)
{
	uint8_t *b = make_image();
	struct bzimage bz;
	const char *why = NULL;

	assert_int_equal(linux_bzimage_parse(b, IMG_SIZE, &bz, &why), 0);
	assert_int_equal(bz.setup_size, 5 * 512);
	assert_int_equal(bz.hdr_end, 0x26C);
	assert_int_equal(bz.cmdline_size, 2047);
	assert_int_equal(bz.init_size, 1 * MiB);
	b[HDR_SETUP_SECTS] = 0;				/* 0 means 4, per the protocol */
	assert_int_equal(linux_bzimage_parse(b, IMG_SIZE, &bz, &why), 0);
	assert_int_equal(bz.setup_size, 5 * 512);
	free(b);
}

/* A parser's refusal: -ENOEXEC, with a reason that says @needle. */
static void expect_why(int ret, const char *why, const char *needle)
{
	assert_int_equal(ret, -ENOEXEC);
	assert_non_null(why);
	if (!strstr(why, needle))
		fail_msg("reason '%s' lacks '%s'", why, needle);
}

static void expect_reject(uint8_t *b, size_t size, const char *needle)
{
	struct bzimage bz;
	const char *why = NULL;
	int ret = linux_bzimage_parse(b, size, &bz, &why);

	expect_why(ret, why, needle);
}

static void test_bzimage_rejects(void **state)
{
	uint8_t *b = make_image();

	expect_reject(b, 100, "too small");
	b[HDR_BOOT_FLAG] = 0;
	expect_reject(b, IMG_SIZE, "not a bzImage");
	free(b);

	b = make_image();
	memcpy(b + HDR_MAGIC, "ELF!", 4);
	expect_reject(b, IMG_SIZE, "not a bzImage");
	free(b);

	b = make_image();
	le_write(b + HDR_VERSION, 2, 0x020A);
	expect_reject(b, IMG_SIZE, "2.12");
	free(b);

	b = make_image();
	le_write(b + HDR_XLOADFLAGS, 2, 0);
	expect_reject(b, IMG_SIZE, "64-bit");
	free(b);

	b = make_image();
	b[HDR_LOADFLAGS] = 0;
	expect_reject(b, IMG_SIZE, "zImage");
	free(b);

	b = make_image();
	b[HDR_SETUP_SECTS] = 200;			/* setup larger than the file */
	expect_reject(b, IMG_SIZE, "truncated");
	free(b);

	b = make_image();
	b[HDR_JUMP + 1] = 0x90;				/* header past 0x290 */
	expect_reject(b, IMG_SIZE, "header length");
	free(b);

	b = make_image();
	le_write(b + HDR_KERNEL_ALIGNMENT, 4, 0x300000);
	expect_reject(b, IMG_SIZE, "power of two");
	free(b);
}

/* boot.rst init_size: the kernel decompresses at its runtime start, not at 1 MiB. */
static void test_kernel_end(void **state)
{
	uint8_t *b = make_image();
	struct bzimage bz;
	const char *why;

	b[HDR_RELOCATABLE] = 1;
	le_write(b + HDR_KERNEL_ALIGNMENT, 4, 2 * MiB);
	le_write(b + HDR_PREF_ADDRESS, 8, 16 * MiB);
	assert_int_equal(linux_bzimage_parse(b, IMG_SIZE, &bz, &why), 0);
	assert_int_equal(linux_kernel_end(&bz, 1 * MiB), 17 * MiB);	/* raised to pref */
	assert_int_equal(linux_kernel_end(&bz, 33 * MiB), 35 * MiB);	/* aligned up */

	b[HDR_RELOCATABLE] = 0;				/* fixed kernel: pref_address */
	le_write(b + HDR_PREF_ADDRESS, 8, 8 * MiB);
	assert_int_equal(linux_bzimage_parse(b, IMG_SIZE, &bz, &why), 0);
	assert_int_equal(linux_kernel_end(&bz, 1 * MiB), 9 * MiB);

	/* A pref_address near 2^64 saturates instead of wrapping into low memory (fuzz_boot). */
	le_write(b + HDR_PREF_ADDRESS, 8, UINT64_MAX - 4096);
	assert_int_equal(linux_bzimage_parse(b, IMG_SIZE, &bz, &why), 0);
	assert_true(linux_kernel_end(&bz, 1 * MiB) == UINT64_MAX);
	b[HDR_RELOCATABLE] = 1;
	assert_int_equal(linux_bzimage_parse(b, IMG_SIZE, &bz, &why), 0);
	assert_true(linux_kernel_end(&bz, 1 * MiB) == UINT64_MAX);
	free(b);
}

static void test_e820(void **state)
{
	struct e820_entry t[8];
	struct guest_mem m;
	unsigned int n;

	assert_int_equal(mem_layout(&m, 512 * MiB), 0);
	n = linux_e820_build(&m, t, 8);
	assert_int_equal(n, 5);
	assert_int_equal(t[0].addr, 0);
	assert_int_equal(t[0].size, BOOT_EBDA_START);
	assert_int_equal(t[0].type, E820_RAM);
	assert_int_equal(t[1].addr, BOOT_EBDA_START);
	assert_int_equal(t[1].addr + t[1].size, 1 * MiB);
	assert_int_equal(t[1].type, E820_RESERVED);
	assert_int_equal(t[2].addr, 1 * MiB);
	assert_int_equal(t[2].size, 511 * MiB);
	/* The ECAM window is reserved: Linux uses the MCFG area only then. */
	assert_int_equal(t[3].addr, PCI_ECAM_BASE);
	assert_int_equal(t[3].size, PCI_ECAM_SIZE);
	assert_int_equal(t[3].type, E820_RESERVED);
	/* KVM's identity-map page and TSS are reserved, so no BAR lands there. */
	assert_int_equal(t[4].addr, KVM_IDENTITY_MAP_ADDR);
	assert_int_equal(t[4].addr + t[4].size, KVM_PRIVATE_END);
	assert_int_equal(t[4].type, E820_RESERVED);

	assert_int_equal(mem_layout(&m, 6 * GiB), 0);
	n = linux_e820_build(&m, t, 8);
	assert_int_equal(n, 6);
	assert_int_equal(t[2].addr + t[2].size, MEM_HOLE_START);
	assert_int_equal(t[3].type, E820_RESERVED);
	assert_int_equal(t[4].type, E820_RESERVED);
	assert_int_equal(t[5].addr, MEM_4G);
	assert_int_equal(t[5].size, 6 * GiB - MEM_HOLE_START);
	assert_int_equal(t[5].type, E820_RAM);
	/* Bounded by the table size. */
	assert_int_equal(linux_e820_build(&m, t, 2), 2);
	/* --iommu: the VT-d register page reserved too, between ECAM and KVM's pages. */
	n = linux_e820_build_rsv(&m, 0xFED90000ULL, 0x1000, t, 8);
	assert_int_equal(n, 7);
	assert_int_equal(t[4].addr, 0xFED90000ULL);
	assert_int_equal(t[4].size, 0x1000);
	assert_int_equal(t[4].type, E820_RESERVED);
	assert_int_equal(t[5].addr, KVM_IDENTITY_MAP_ADDR);
}

static char *write_temp(const void *data, size_t len)
{
	char *path = strdup("/tmp/kvmio-test-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

/*
 * What linux_load writes for either kind of kernel: the RSDP, the command
 * line, the e820 table, and the initrd @initrd page aligned in the 64 MiB
 * guest @m, at or above @floor (the kernel's end), contents intact.
 */
static void assert_boot_common(struct guest_mem *m, const uint8_t *bp, const char *cmdline,
			       const uint8_t *initrd, size_t initrd_size, uint64_t floor)
{
	uint64_t rd_addr = le_read(bp + HDR_RAMDISK_IMAGE, 4), rd_size = le_read(bp + HDR_RAMDISK_SIZE, 4);

	assert_int_equal(le_read(bp + BP_ACPI_RSDP_ADDR, 8), BOOT_ACPI_START);
	assert_int_equal(le_read(bp + HDR_CMD_LINE_PTR, 4), BOOT_CMDLINE_ADDR);
	assert_string_equal((char *)guest_ptr(m, BOOT_CMDLINE_ADDR, 1), cmdline);
	assert_int_equal(bp[BP_E820_ENTRIES], 5);
	assert_int_equal(rd_size, initrd_size);
	assert_int_equal(rd_addr & 4095, 0);
	assert_true(rd_addr + rd_size <= 64 * MiB);
	assert_true(rd_addr >= floor);
	assert_memory_equal(guest_ptr(m, rd_addr, rd_size), initrd, initrd_size);
}

static void test_linux_load(void **state)
{
	uint8_t *img = make_image();
	static uint8_t initrd[10000];
	struct guest_mem m;
	struct linux_boot lb = { .cmdline = "console=ttyS0 quiet", .rsdp_addr = BOOT_ACPI_START };
	uint64_t entry = 0, *pml4, *pdpt, *pd;
	uint8_t *bp;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ 0x5A);
	/* Like Debian's kernel: relocatable, decompressing at 16 MiB. */
	img[HDR_RELOCATABLE] = 1;
	le_write(img + HDR_KERNEL_ALIGNMENT, 4, 2 * MiB);
	le_write(img + HDR_PREF_ADDRESS, 8, 16 * MiB);
	lb.kernel = write_temp(img, IMG_SIZE);
	lb.initrd = write_temp(initrd, sizeof(initrd));
	assert_int_equal(mem_alloc(&m, 64 * MiB), 0);

	assert_int_equal(linux_load(&m, &lb, &entry), 0);
	assert_int_equal(entry, BOOT_KERNEL_ADDR + 0x200);
	/* The protected-mode kernel is at 1 MiB, byte for byte. */
	assert_memory_equal(guest_ptr(&m, BOOT_KERNEL_ADDR, IMG_SIZE - 5 * 512), img + 5 * 512,
			    IMG_SIZE - 5 * 512);

	bp = guest_ptr(&m, BOOT_PARAMS_ADDR, BP_SIZE);
	assert_memory_equal(bp + HDR_MAGIC, "HdrS", 4);
	assert_int_equal(bp[HDR_TYPE_OF_LOADER], 0xFF);
	/* The initrd above the decompression area, [16 MiB, 16 MiB + init_size). */
	assert_boot_common(&m, bp, "console=ttyS0 quiet", initrd, sizeof(initrd), 17 * MiB);

	/* Identity map: 0x1234567 and the LAPIC page translate to themselves. */
	pml4 = guest_ptr(&m, BOOT_PML4_ADDR, 4096);
	pdpt = guest_ptr(&m, pml4[0] & ~0xFFFULL, 4096);
	pd = guest_ptr(&m, pdpt[3] & ~0xFFFULL, 4096);
	assert_int_equal(pml4[0] & 1, 1);
	assert_int_equal(pd[(0xFEE00000ULL >> 21) & 511] & ~0xFFFULL, 0xFEE00000ULL);
	pd = guest_ptr(&m, pdpt[0] & ~0xFFFULL, 4096);
	assert_int_equal(pd[0x1234567 >> 21] & ~0xFFFULL, 0x1234567 & ~0x1FFFFFULL);
	assert_int_equal(pd[1] & 0x83, 0x83);

	/* The GDT has __BOOT_CS and __BOOT_DS where the protocol wants them. */
	assert_int_equal(((uint64_t *)guest_ptr(&m, BOOT_GDT_ADDR, 40))[BOOT_CS / 8], 0x00AF9B000000FFFFULL);
	assert_int_equal(((uint64_t *)guest_ptr(&m, BOOT_GDT_ADDR, 40))[BOOT_DS / 8], 0x00CF93000000FFFFULL);

	mem_free(&m);
	unlink(lb.kernel);
	unlink(lb.initrd);
	free((void *)lb.kernel);
	free((void *)lb.initrd);
	free(img);
}

static void test_linux_load_errors(void **state)
{
	uint8_t *img = make_image();
	char *long_cmdline = malloc(4096);
	struct guest_mem m;
	struct linux_boot lb = { .rsdp_addr = BOOT_ACPI_START };
	uint64_t entry;

	memset(long_cmdline, 'a', 4095);
	long_cmdline[4095] = 0;
	lb.kernel = write_temp(img, IMG_SIZE);
	assert_int_equal(mem_alloc(&m, 32 * MiB), 0);

	lb.cmdline = long_cmdline;			/* over cmdline_size (2047) */
	assert_int_equal(linux_load(&m, &lb, &entry), -E2BIG);
	lb.cmdline = "x";
	lb.initrd = "/nonexistent/initrd";
	assert_int_equal(linux_load(&m, &lb, &entry), -ENOENT);
	lb.initrd = NULL;
	le_write(img + HDR_INIT_SIZE, 4, 64 * MiB);	/* kernel wants more than RAM */
	unlink(lb.kernel);
	free((void *)lb.kernel);
	lb.kernel = write_temp(img, IMG_SIZE);
	assert_int_equal(linux_load(&m, &lb, &entry), -ENOSPC);

	mem_free(&m);
	unlink(lb.kernel);
	free((void *)lb.kernel);
	free(long_cmdline);
	free(img);
}

/*
 * A vmlinux-like ELF: text (0x2000 bytes in the file, 0x3000 in memory: 0x1000 of bss) at
 * 16 MiB, data (0x1000) at 18 MiB, a PT_NOTE; entered at 16 MiB + 0x40.
 */
#define ELF_SIZE	0x4000
#define ELF_TEXT	(16 * MiB)
#define ELF_DATA	(18 * MiB)
#define ELF_ENTRY	(ELF_TEXT + 0x40)
#define ELF_END		(ELF_DATA + 0x1000)

static Elf64_Ehdr *elf_ehdr(uint8_t *b) { return (Elf64_Ehdr *)b; }
static Elf64_Phdr *elf_phdr(uint8_t *b, unsigned int i) { return (Elf64_Phdr *)(b + 64) + i; }

static uint8_t *make_elf(void)
{
	uint8_t *b = calloc(1, ELF_SIZE);
	Elf64_Ehdr *eh = elf_ehdr(b);
	Elf64_Phdr *ph;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = ELF_ENTRY;
	eh->e_phoff = 64;
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 3;
	ph = elf_phdr(b, 0);
	ph->p_type = PT_LOAD;
	ph->p_offset = 0x1000;
	ph->p_vaddr = 0xffffffff81000000ULL;	/* Linux's: virtual and physical differ */
	ph->p_paddr = ELF_TEXT;
	ph->p_filesz = 0x2000;
	ph->p_memsz = 0x3000;
	ph = elf_phdr(b, 1);
	ph->p_type = PT_NOTE;
	ph->p_offset = 0x1100;
	ph->p_paddr = ELF_TEXT + 0x100;
	ph->p_filesz = ph->p_memsz = 0x20;
	ph = elf_phdr(b, 2);
	ph->p_type = PT_LOAD;
	ph->p_offset = 0x3000;
	ph->p_vaddr = 0xffffffff81200000ULL;
	ph->p_paddr = ELF_DATA;
	ph->p_filesz = ph->p_memsz = 0x1000;
	for (size_t i = 0x1000; i < ELF_SIZE; i++)
		b[i] = (uint8_t)(i * 13 + 1);
	return b;
}

static void test_elf_parse_ok(void **state)
{
	uint8_t *b = make_elf();
	struct vmlinux vl;
	const char *why = NULL;

	assert_true(linux_is_elf(b, ELF_SIZE));
	assert_int_equal(linux_elf_parse(b, ELF_SIZE, &vl, &why), 0);
	assert_int_equal(vl.entry, ELF_ENTRY);
	assert_int_equal(vl.start, ELF_TEXT);
	assert_int_equal(vl.end, ELF_END);
	assert_int_equal(linux_kernel_parse(b, ELF_SIZE, &why), 0);
	/* An empty PT_LOAD (memsz 0) counts for nothing, wherever it claims to be. */
	elf_phdr(b, 1)->p_type = PT_LOAD;
	elf_phdr(b, 1)->p_paddr = 0x1000;
	elf_phdr(b, 1)->p_filesz = elf_phdr(b, 1)->p_memsz = 0;
	assert_int_equal(linux_elf_parse(b, ELF_SIZE, &vl, &why), 0);
	assert_int_equal(vl.start, ELF_TEXT);
	free(b);
}

static void expect_elf_reject(uint8_t *b, size_t size, const char *needle)
{
	struct vmlinux vl;
	const char *why = NULL;
	int ret = linux_elf_parse(b, size, &vl, &why);

	expect_why(ret, why, needle);
	why = NULL;
	assert_int_equal(linux_kernel_parse(b, size, &why), -ENOEXEC);
	assert_non_null(why);
	free(b);
}

static void test_elf_rejects(void **state)
{
	uint8_t *b;

	b = make_elf();
	expect_elf_reject(b, 40, "too small");
	b = make_elf();
	b[EI_CLASS] = ELFCLASS32;
	expect_elf_reject(b, ELF_SIZE, "64-bit");
	b = make_elf();
	b[EI_DATA] = ELFDATA2MSB;
	expect_elf_reject(b, ELF_SIZE, "little-endian");
	b = make_elf();
	elf_ehdr(b)->e_machine = EM_386;
	expect_elf_reject(b, ELF_SIZE, "x86-64");
	b = make_elf();
	elf_ehdr(b)->e_type = ET_DYN;
	expect_elf_reject(b, ELF_SIZE, "ET_EXEC");
	b = make_elf();
	elf_ehdr(b)->e_phentsize = 32;
	expect_elf_reject(b, ELF_SIZE, "program header table malformed");
	b = make_elf();
	elf_ehdr(b)->e_phnum = 0;
	expect_elf_reject(b, ELF_SIZE, "program header table malformed");
	b = make_elf();
	elf_ehdr(b)->e_phnum = 0xffff;
	expect_elf_reject(b, ELF_SIZE, "program header table malformed");
	b = make_elf();
	elf_ehdr(b)->e_phoff = ELF_SIZE - 100;		/* 3 entries do not fit in 100 bytes */
	expect_elf_reject(b, ELF_SIZE, "past the end of the file");
	b = make_elf();
	elf_ehdr(b)->e_phoff = UINT64_MAX - 8;
	expect_elf_reject(b, ELF_SIZE, "past the end of the file");
	b = make_elf();
	elf_phdr(b, 0)->p_type = PT_NULL;
	elf_phdr(b, 2)->p_type = PT_NOTE;
	expect_elf_reject(b, ELF_SIZE, "no PT_LOAD");
	b = make_elf();
	elf_phdr(b, 2)->p_filesz = 0x1001;		/* one byte past the file's end */
	elf_phdr(b, 2)->p_memsz = 0x2000;
	expect_elf_reject(b, ELF_SIZE, "file range");
	b = make_elf();
	elf_phdr(b, 2)->p_offset = UINT64_MAX;
	expect_elf_reject(b, ELF_SIZE, "file range");
	b = make_elf();
	elf_phdr(b, 0)->p_memsz = 0x1000;		/* less than filesz */
	expect_elf_reject(b, ELF_SIZE, "p_filesz > p_memsz");
	b = make_elf();
	elf_phdr(b, 2)->p_paddr = UINT64_MAX - 0x800;
	expect_elf_reject(b, ELF_SIZE, "overflows");
	b = make_elf();
	elf_ehdr(b)->e_entry = ELF_TEXT + 0x3000;	/* just past the first segment */
	expect_elf_reject(b, ELF_SIZE, "entry point");
	b = make_elf();
	elf_ehdr(b)->e_entry = 0xffffffff81000040ULL;	/* a virtual address: not loaded there */
	expect_elf_reject(b, ELF_SIZE, "entry point");
}

static void test_elf_place(void **state)
{
	uint8_t *b = make_elf();
	struct vmlinux vl;
	const char *why = NULL;

	assert_int_equal(linux_elf_parse(b, ELF_SIZE, &vl, &why), 0);
	assert_int_equal(linux_elf_place(&vl, 64 * MiB, &why), 0);
	assert_int_equal(linux_elf_place(&vl, ELF_END, &why), 0);
	assert_int_equal(linux_elf_place(&vl, ELF_END - 1, &why), -ENOSPC);
	assert_non_null(strstr(why, "--memory"));

	elf_phdr(b, 0)->p_paddr = BOOT_KERNEL_ADDR - 0x1000;	/* overlaps the ACPI area */
	elf_ehdr(b)->e_entry = BOOT_KERNEL_ADDR;
	assert_int_equal(linux_elf_parse(b, ELF_SIZE, &vl, &why), 0);
	assert_int_equal(linux_elf_place(&vl, 64 * MiB, &why), -ENOEXEC);
	assert_non_null(strstr(why, "below 1 MiB"));

	elf_phdr(b, 0)->p_paddr = BOOT_PARAMS_ADDR;		/* right over boot_params */
	elf_ehdr(b)->e_entry = BOOT_PARAMS_ADDR;
	assert_int_equal(linux_elf_parse(b, ELF_SIZE, &vl, &why), 0);
	assert_int_equal(linux_elf_place(&vl, 64 * MiB, &why), -ENOEXEC);

	elf_phdr(b, 0)->p_paddr = ELF_TEXT;
	elf_ehdr(b)->e_entry = ELF_ENTRY;
	elf_phdr(b, 2)->p_paddr = MEM_HOLE_START - 0x800;	/* into the 32-bit hole */
	assert_int_equal(linux_elf_parse(b, ELF_SIZE, &vl, &why), 0);
	assert_int_equal(linux_elf_place(&vl, MEM_HOLE_START, &why), -ENOEXEC);
	assert_non_null(strstr(why, "hole"));
	free(b);
}

static void test_elf_load(void **state)
{
	uint8_t *elf = make_elf();
	static uint8_t initrd[10000];
	struct guest_mem m;
	struct linux_boot lb = { .cmdline = "console=ttyS0 root=/dev/vda", .rsdp_addr = BOOT_ACPI_START };
	uint64_t entry = 0;
	uint8_t *bp, *bss;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ 0xA5);
	lb.kernel = write_temp(elf, ELF_SIZE);
	lb.initrd = write_temp(initrd, sizeof(initrd));
	assert_int_equal(mem_alloc(&m, 64 * MiB), 0);
	/* Stale bytes where the bss goes, and in boot_params: the load must clear both. */
	memset(guest_ptr(&m, ELF_TEXT, 0x4000), 0xEE, 0x4000);
	memset(guest_ptr(&m, BOOT_PARAMS_ADDR, BP_SIZE), 0xEE, BP_SIZE);

	assert_int_equal(linux_load(&m, &lb, &entry), 0);
	assert_int_equal(entry, ELF_ENTRY);
	/* Each PT_LOAD at its p_paddr, byte for byte; its bss zeroed; nothing else written. */
	assert_memory_equal(guest_ptr(&m, ELF_TEXT, 0x2000), elf + 0x1000, 0x2000);
	bss = guest_ptr(&m, ELF_TEXT + 0x2000, 0x1000);
	for (size_t i = 0; i < 0x1000; i++)
		assert_int_equal(bss[i], 0);
	assert_int_equal(*(uint8_t *)guest_ptr(&m, ELF_TEXT + 0x3000, 1), 0xEE);
	assert_memory_equal(guest_ptr(&m, ELF_DATA, 0x1000), elf + 0x3000, 0x1000);

	/* The setup header a vmlinux lacks, and the common part as for a bzImage. */
	bp = guest_ptr(&m, BOOT_PARAMS_ADDR, BP_SIZE);
	assert_int_equal(le_read(bp + HDR_BOOT_FLAG, 2), 0xAA55);
	assert_memory_equal(bp + HDR_MAGIC, "HdrS", 4);
	assert_int_equal(le_read(bp + HDR_VERSION, 2), 0x020F);
	assert_int_equal(bp[HDR_TYPE_OF_LOADER], 0xFF);
	assert_int_equal(bp[HDR_LOADFLAGS], LOADFLAG_LOADED_HIGH);	/* no KASLR_FLAG */
	assert_int_equal(le_read(bp + HDR_CMDLINE_SIZE, 4), 2047);	/* COMMAND_LINE_SIZE - 1 */
	assert_int_equal(le_read(bp + HDR_INITRD_ADDR_MAX, 4), 0x7FFFFFFF);
	assert_int_equal(le_read(bp + HDR_KERNEL_ALIGNMENT, 4), 0x1000000);
	assert_int_equal(le_read(bp + 0x250, 8), 0);		/* setup_data: none */
	assert_int_equal(le_read(bp + 0x23C, 4), 0);		/* hardware_subarch: PC */
	/* The initrd above the kernel's highest segment. */
	assert_boot_common(&m, bp, "console=ttyS0 root=/dev/vda", initrd, sizeof(initrd), ELF_END);

	/* Entered like a bzImage: the same GDT and identity map. */
	assert_int_equal(((uint64_t *)guest_ptr(&m, BOOT_GDT_ADDR, 40))[BOOT_CS / 8], 0x00AF9B000000FFFFULL);
	assert_int_equal(((uint64_t *)guest_ptr(&m, BOOT_PD_ADDR, 4096))[ELF_TEXT >> 21] & ~0xFFFULL, ELF_TEXT);

	mem_free(&m);
	unlink(lb.kernel);
	unlink(lb.initrd);
	free((void *)lb.kernel);
	free((void *)lb.initrd);
	free(elf);
}

/* linux_load on ELF @elf with @mem_size of RAM: its status, with pr_last_error holding @needle. */
static void expect_elf_load(uint8_t *elf, uint64_t mem_size, const char *cmdline, const char *initrd,
			    int want, const char *needle)
{
	struct linux_boot lb = { .cmdline = cmdline, .initrd = initrd, .rsdp_addr = BOOT_ACPI_START };
	struct guest_mem m;
	uint64_t entry;

	lb.kernel = write_temp(elf, ELF_SIZE);
	assert_int_equal(mem_alloc(&m, mem_size), 0);
	pr_last_error[0] = '\0';
	assert_int_equal(linux_load(&m, &lb, &entry), want);
	if (!strstr(pr_last_error, needle))
		fail_msg("error line '%s' lacks '%s'", pr_last_error, needle);
	mem_free(&m);
	unlink(lb.kernel);
	free((void *)lb.kernel);
}

static void test_elf_load_errors(void **state)
{
	static uint8_t initrd[4 * 1024 * 1024];
	char *long_cmdline = malloc(2050), *rd;
	uint8_t *elf = make_elf();

	memset(long_cmdline, 'a', 2049);
	long_cmdline[2049] = 0;
	rd = write_temp(initrd, sizeof(initrd));

	/* 2048 (COMMAND_LINE_SIZE) with its NUL: 2047 characters at most. */
	expect_elf_load(elf, 64 * MiB, long_cmdline, NULL, -E2BIG, "at most 2047");
	long_cmdline[2047] = 0;
	expect_elf_load(elf, 64 * MiB, long_cmdline, NULL, 0, "");
	/* The kernel ends at 18 MiB + 4 KiB: 16 MiB of RAM is too little, and says so. */
	expect_elf_load(elf, 16 * MiB, "x", NULL, -ENOSPC, "--memory");
	/* 20 MiB holds the kernel but not a 4 MiB initrd above it. */
	expect_elf_load(elf, 20 * MiB, "x", rd, -ENOSPC, "initrd");
	expect_elf_load(elf, 24 * MiB, "x", rd, 0, "");
	/* A segment over kvmio's boot structures. */
	elf_phdr(elf, 2)->p_paddr = BOOT_PML4_ADDR;
	expect_elf_load(elf, 64 * MiB, "x", NULL, -ENOEXEC, "below 1 MiB");
	/* What the parser refuses, named in the line. */
	elf_ehdr(elf)->e_machine = EM_AARCH64;
	expect_elf_load(elf, 64 * MiB, "x", NULL, -ENOEXEC, "x86-64");

	unlink(rd);
	free(rd);
	free(long_cmdline);
	free(elf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bzimage_parse_ok),
		cmocka_unit_test(test_bzimage_rejects),
		cmocka_unit_test(test_kernel_end),
		cmocka_unit_test(test_e820),
		cmocka_unit_test(test_linux_load),
		cmocka_unit_test(test_linux_load_errors),
		cmocka_unit_test(test_elf_parse_ok),
		cmocka_unit_test(test_elf_rejects),
		cmocka_unit_test(test_elf_place),
		cmocka_unit_test(test_elf_load),
		cmocka_unit_test(test_elf_load_errors),
	};
	return cmocka_run_group_tests_name("boot", tests, NULL, NULL);
}
