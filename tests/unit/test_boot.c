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

static void expect_reject(uint8_t *b, size_t size, const char *needle)
{
	struct bzimage bz;
	const char *why = NULL;

	assert_int_equal(linux_bzimage_parse(b, size, &bz, &why), -ENOEXEC);
	assert_non_null(why);
	if (!strstr(why, needle))
		fail_msg("reason '%s' lacks '%s'", why, needle);
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

static void test_linux_load(void **state)
{
	uint8_t *img = make_image();
	static uint8_t initrd[10000];
	struct guest_mem m;
	struct linux_boot lb = { .cmdline = "console=ttyS0 quiet", .rsdp_addr = BOOT_ACPI_START };
	uint64_t entry = 0, rd_addr, rd_size, *pml4, *pdpt, *pd;
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
	assert_int_equal(le_read(bp + BP_ACPI_RSDP_ADDR, 8), BOOT_ACPI_START);
	assert_int_equal(le_read(bp + HDR_CMD_LINE_PTR, 4), BOOT_CMDLINE_ADDR);
	assert_string_equal((char *)guest_ptr(&m, BOOT_CMDLINE_ADDR, 1), "console=ttyS0 quiet");
	assert_int_equal(bp[BP_E820_ENTRIES], 5);

	/* initrd: page aligned, at the top of RAM, contents intact. */
	rd_addr = le_read(bp + HDR_RAMDISK_IMAGE, 4);
	rd_size = le_read(bp + HDR_RAMDISK_SIZE, 4);
	assert_int_equal(rd_size, sizeof(initrd));
	assert_int_equal(rd_addr & 4095, 0);
	assert_true(rd_addr + rd_size <= 64 * MiB);
	assert_true(rd_addr >= 17 * MiB);		/* above [16 MiB, 16 MiB + init_size) */
	assert_memory_equal(guest_ptr(&m, rd_addr, rd_size), initrd, sizeof(initrd));

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bzimage_parse_ok),
		cmocka_unit_test(test_bzimage_rejects),
		cmocka_unit_test(test_kernel_end),
		cmocka_unit_test(test_e820),
		cmocka_unit_test(test_linux_load),
		cmocka_unit_test(test_linux_load_errors),
	};
	return cmocka_run_group_tests_name("boot", tests, NULL, NULL);
}
