// SPDX-License-Identifier: Apache-2.0
/*
 * The sysfs side of VFIO (src/vfio/sysfs.c) on fake sys trees built in a
 * temporary directory, laid out as the kernel does: the device directory
 * under sys/devices/pci0000:00, sys/bus/pci/devices/BDF a link to it, the
 * driver and iommu_group links relative to it, the group's devices/ links
 * back. Covers BDF parsing, driver and group lookups, reserved regions,
 * the resource file, the capability walk (loops included), check-device's
 * report and verdict for assignable and blocked devices, and the one-line
 * explanations (captured from stderr). SR-IOV (src/vfio/sriov.c): VF token
 * UUIDs, the physfn/virtfnN links and sriov_* attributes, check-device's
 * SR-IOV line, and what a refused VF open is told about its token.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/pci_regs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture.h"

#include "util.h"
#include "vfio/sysfs.h"

/* struct resource flags, as sysfs prints them (include/linux/ioport.h). */
#define RES_IO		0x00000100ULL
#define RES_MEM		0x00000200ULL
#define RES_PREFETCH	0x00002000ULL
#define RES_MEM_64	0x00100000ULL

#define EDU	"0000:00:03.0"
#define NVME	"0000:01:00.0"

/* Tree building. */

/* mkdir -p root/rel. */
static void mkdirs(const char *root, const char *rel)
{
	char path[PATH_MAX];

	assert_true(snprintf(path, sizeof(path), "%s/%s", root, rel) < (int)sizeof(path));
	for (char *p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
		*p = '/';
	}
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

/* root/rel with @data; the parent directories are made. */
static void vput(const char *root, const char *rel, const void *data, size_t len)
{
	char path[PATH_MAX], dir[PATH_MAX];
	int fd;

	snprintf(dir, sizeof(dir), "%s", rel);
	*strrchr(dir, '/') = '\0';
	mkdirs(root, dir);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void __attribute__((format(printf, 3, 4)))
put_text(const char *root, const char *rel, const char *fmt, ...)
{
	char text[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	vput(root, rel, text, strlen(text));
}

/* root/rel -> target (relative, as sysfs's links are). */
static void put_link(const char *root, const char *rel, const char *target)
{
	char path[PATH_MAX], dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", rel);
	*strrchr(dir, '/') = '\0';
	mkdirs(root, dir);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(symlink(target, path), 0);
}

struct bar { uint64_t start, size, flags; };

struct fake_dev {
	const char *bdf;
	const char *driver;		/* NULL: no driver */
	int group;			/* -1: no iommu_group link */
	uint16_t vendor, device;
	uint32_t class;
	const uint8_t *cfg;
	size_t cfg_len;
	struct bar bar[VFIO_NR_RESOURCES];	/* BAR0-5, ROM */
	const char *reset_method;	/* NULL: no file (kernel < 5.15) */
};

/* The device as the kernel lays it out; a vfio-pci device gets its group node. */
static void add_dev(const char *root, const struct fake_dev *d)
{
	char dir[256], rel[512], res[4096];
	size_t n = 0;

	snprintf(dir, sizeof(dir), "sys/devices/pci0000:00/%s", d->bdf);
	mkdirs(root, dir);
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", d->bdf);
	snprintf(res, sizeof(res), "../../../devices/pci0000:00/%s", d->bdf);
	put_link(root, rel, res);

	snprintf(rel, sizeof(rel), "%s/vendor", dir);
	put_text(root, rel, "0x%04x\n", d->vendor);
	snprintf(rel, sizeof(rel), "%s/device", dir);
	put_text(root, rel, "0x%04x\n", d->device);
	snprintf(rel, sizeof(rel), "%s/class", dir);
	put_text(root, rel, "0x%06x\n", d->class);
	if (d->cfg) {
		snprintf(rel, sizeof(rel), "%s/config", dir);
		vput(root, rel, d->cfg, d->cfg_len);
	}
	if (d->reset_method) {
		snprintf(rel, sizeof(rel), "%s/reset_method", dir);
		put_text(root, rel, "%s\n", d->reset_method);
	}
	/* 13 lines for an endpoint: BAR0-5, ROM, the six SR-IOV BARs. */
	for (unsigned int i = 0; i < 13; i++) {
		const struct bar *b = i < VFIO_NR_RESOURCES ? &d->bar[i] : &(struct bar){ 0 };
		uint64_t end = b->size ? b->start + b->size - 1 : 0;

		n += snprintf(res + n, sizeof(res) - n, "0x%016llx 0x%016llx 0x%016llx\n",
			      (unsigned long long)b->start, (unsigned long long)end,
			      (unsigned long long)b->flags);
	}
	snprintf(rel, sizeof(rel), "%s/resource", dir);
	vput(root, rel, res, n);
	snprintf(rel, sizeof(rel), "%s/driver_override", dir);
	put_text(root, rel, "(null)\n");

	if (d->driver) {
		snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s", d->driver);
		mkdirs(root, rel);
		snprintf(rel, sizeof(rel), "%s/driver", dir);
		snprintf(res, sizeof(res), "../../../bus/pci/drivers/%s", d->driver);
		put_link(root, rel, res);
	}
	if (d->group >= 0) {
		snprintf(rel, sizeof(rel), "%s/iommu_group", dir);
		snprintf(res, sizeof(res), "../../../kernel/iommu_groups/%d", d->group);
		put_link(root, rel, res);
		snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%d/devices/%s", d->group, d->bdf);
		snprintf(res, sizeof(res), "../../../../devices/pci0000:00/%s", d->bdf);
		put_link(root, rel, res);
		snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%d/reserved_regions", d->group);
		put_text(root, rel, "0x00000000fee00000 0x00000000feefffff msi\n");
		if (d->driver && !strcmp(d->driver, "vfio-pci")) {
			snprintf(rel, sizeof(rel), "dev/vfio/%d", d->group);
			put_text(root, rel, "%s", "");
		}
	}
}

/* The VFIO modules are loaded: /dev/vfio/vfio exists, and the type1 IOMMU model. */
static void add_vfio(const char *root)
{
	vput(root, "dev/vfio/vfio", "", 0);
	vput(root, "sys/module/vfio_iommu_type1/refcnt", "0\n", 2);
}

/* Config space: header, then capabilities chained by the caller. */
static void cfg_header(uint8_t *c, uint16_t vendor, uint16_t device, uint32_t class, uint8_t pin,
		       uint8_t cap)
{
	le_write(c + PCI_VENDOR_ID, 2, vendor);
	le_write(c + PCI_DEVICE_ID, 2, device);
	le_write(c + PCI_CLASS_PROG, 3, class);
	c[PCI_INTERRUPT_PIN] = pin;
	if (cap) {
		c[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
		c[PCI_CAPABILITY_LIST] = cap;
	}
}

static void cfg_cap(uint8_t *c, unsigned int pos, uint8_t id, uint8_t next, uint16_t ctl)
{
	c[pos] = id;
	c[pos + 1] = next;
	le_write(c + pos + 2, 2, ctl);
}

/* QEMU's edu: one MSI vector, 64-bit; INTA; a 1 MiB BAR0. 256-byte config. */
static uint8_t edu_cfg[256];
static const struct fake_dev edu = {
	.bdf = EDU, .driver = "vfio-pci", .group = 7, .vendor = 0x1234, .device = 0x11e8,
	.class = 0x00ff00, .cfg = edu_cfg, .cfg_len = sizeof(edu_cfg),
	.bar = { { 0xfea00000, 1 * MiB, RES_MEM } }, .reset_method = "bus",
};

/*
 * An NVMe controller: PM -> MSI (8 vectors, maskable) -> PCIe -> MSI-X (65
 * vectors, table and PBA in BAR0); a 64-bit 16 KiB BAR0 and a ROM (and, to
 * cover the other kinds, an I/O BAR2 and a prefetchable 512-byte BAR4).
 */
static uint8_t nvme_cfg[4096];
static const struct fake_dev nvme = {
	.bdf = NVME, .driver = "vfio-pci", .group = 9, .vendor = 0x144d, .device = 0xa808,
	.class = 0x010802, .cfg = nvme_cfg, .cfg_len = sizeof(nvme_cfg),
	.bar = { { 0xfe600000, 16 * KiB, RES_MEM | RES_MEM_64 | 0x40004 },
		 [2] = { 0xe000, 32, RES_IO | 0x40001 },
		 [4] = { 0xfe620000, 512, RES_MEM | RES_PREFETCH | 0x40008 },
		 [6] = { 0xfe610000, 64 * KiB, RES_MEM | 0x4000 } },
	.reset_method = "flr bus",
};

static void build_cfgs(void)
{
	memset(edu_cfg, 0, sizeof(edu_cfg));
	cfg_header(edu_cfg, 0x1234, 0x11e8, 0x00ff00, 1, 0x40);
	cfg_cap(edu_cfg, 0x40, PCI_CAP_ID_MSI, 0, PCI_MSI_FLAGS_64BIT);

	memset(nvme_cfg, 0, sizeof(nvme_cfg));
	cfg_header(nvme_cfg, 0x144d, 0xa808, 0x010802, 1, 0x40);
	cfg_cap(nvme_cfg, 0x40, PCI_CAP_ID_PM, 0x50, 0x0003);
	cfg_cap(nvme_cfg, 0x50, PCI_CAP_ID_MSI, 0x70,
		PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | 3 << 1);
	cfg_cap(nvme_cfg, 0x70, PCI_CAP_ID_EXP, 0xb0, 0x0002);
	cfg_cap(nvme_cfg, 0xb0, PCI_CAP_ID_MSIX, 0, 64);
	le_write(nvme_cfg + 0xb0 + PCI_MSIX_TABLE, 4, 0x3000 | 0);
	le_write(nvme_cfg + 0xb0 + PCI_MSIX_PBA, 4, 0x2000 | 0);
}

/* Fixtures: a fresh root per test, removed afterwards. */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	char *root = strdup("/tmp/kvmio-vfio-sysfs-XXXXXX");

	if (!root || !mkdtemp(root))
		return -1;
	build_cfgs();
	*state = root;
	/* A capability walk that loops would hang the suite: SIGALRM ends it, failed. */
	alarm(10);
	return 0;
}

static int teardown(void **state)
{
	alarm(0);
	nftw(*state, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(*state);
	return 0;
}

/* check-device's report as a string (caller frees) and its return code. */
static char *check(const char *root, const char *bdf, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	*rc = vfio_check_device(root, bdf, out);
	fclose(out);
	return buf;
}

/* The report line that starts with @label (a static copy, newline dropped). */
static const char *line_of(const char *report, const char *label)
{
	static char line[4096];
	const char *p = report;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (!strncmp(p, label, strlen(label)) && n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			return line;
		}
		p = nl ? nl + 1 : NULL;
	}
	fail_msg("no line '%s' in:\n%s", label, report);
	return NULL;
}

#define assert_contains(hay, needle) do {						\
		if (!strstr((hay), (needle)))						\
			fail_msg("'%s' not in:\n%s", (needle), (hay));			\
	} while (0)
#define assert_not_contains(hay, needle) do {						\
		if (strstr((hay), (needle)))						\
			fail_msg("'%s' unexpectedly in:\n%s", (needle), (hay));		\
	} while (0)

static unsigned int count_lines(const char *s)
{
	unsigned int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Parsing. */

static void test_bdf_parse(void **state)
{
	static const char *const bad[] = {
		"00:20.0", "0000:00:20.0",	/* device 0x20 */
		"00:03.8", "0000:00:03.9",	/* function 8, 9 */
		"junk", "", "0000:00:03.0x", "0000:00:03.0 ", "00:03.0\n", " 00:03.0",
		"00:3.0", "0:00:03.0", "00000:00:03.0", "0000:00:03", "0000:00:03.", "0000-00:03.0",
		"0000:00:03:0", "g0:03.0", "0000:0g:03.0", "00:03.0.0", "0000:00:003.0", "00:03",
	};
	char out[VFIO_BDF_LEN];

	assert_int_equal(vfio_bdf_parse("0000:00:03.0", out), 0);
	assert_string_equal(out, "0000:00:03.0");
	assert_int_equal(vfio_bdf_parse("00:03.0", out), 0);
	assert_string_equal(out, "0000:00:03.0");
	assert_int_equal(vfio_bdf_parse("0000:AF:1F.7", out), 0);
	assert_string_equal(out, "0000:af:1f.7");
	assert_int_equal(vfio_bdf_parse("ABCD:eF:1f.7", out), 0);
	assert_string_equal(out, "abcd:ef:1f.7");
	assert_int_equal(vfio_bdf_parse("ff:1f.7", out), 0);
	assert_string_equal(out, "0000:ff:1f.7");

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
		if (vfio_bdf_parse(bad[i], out) != -EINVAL)
			fail_msg("'%s' accepted as %s", bad[i], out);
	assert_int_equal(vfio_bdf_parse(NULL, out), -EINVAL);
}

static void test_parse_resv(void **state)
{
	static const char *const bad[] = {
		"0xfee00000 msi\n",				/* two fields */
		"fee00000 0xfeefffff msi\n",			/* no 0x */
		"0x0000000000000002 0x0000000000000001 msi\n",	/* end < start */
		"0x1 0x2 msi extra\n",
		"0x1 0x2 direct-relaxable-and-more\n",	/* does not fit type[24] */
		"0x1g 0x2 msi\n",
		"0x 0x2 msi\n",
		"0x1 0x2 msi\ngarbage\n",			/* a bad line after a good one */
		"0x10000000000000000 0x2 msi\n",		/* overflows 64 bits */
	};
	struct vfio_resv r[4];

	assert_int_equal(vfio_parse_resv("0x00000000fee00000 0x00000000feefffff msi\n"
					 "0x000000fd00000000 0x000000ffffffffff reserved\n"
					 "0x00000000000e8000 0x00000000000e8fff direct-relaxable",
					 r, ARRAY_SIZE(r)), 3);
	assert_int_equal(r[0].start, 0xfee00000);
	assert_int_equal(r[0].end, 0xfeefffff);
	assert_string_equal(r[0].type, "msi");
	assert_int_equal(r[1].start, 0xfd00000000ULL);
	assert_int_equal(r[1].end, 0xffffffffffULL);
	assert_string_equal(r[1].type, "reserved");
	assert_string_equal(r[2].type, "direct-relaxable");
	assert_int_equal(r[2].end, 0xe8fff);

	assert_int_equal(vfio_parse_resv("", r, ARRAY_SIZE(r)), 0);
	assert_int_equal(vfio_parse_resv("\n", r, ARRAY_SIZE(r)), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
		if (vfio_parse_resv(bad[i], r, ARRAY_SIZE(r)) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
	/* A range left out would be mapped over: too many is an error. */
	assert_int_equal(vfio_parse_resv("0x1 0x2 msi\n0x3 0x4 msi\n", r, 1), -ENOSPC);
}

static void test_parse_resource(void **state)
{
	struct vfio_bar_info b[VFIO_NR_RESOURCES];
	char text[2048];
	size_t n = 0;

	for (unsigned int i = 0; i < 13; i++)
		n += snprintf(text + n, sizeof(text) - n, "%s\n",
			      i == 0 ? "0x00000000fe600000 0x00000000fe603fff 0x0000000000140204" :
			      i == 2 ? "0x000000000000c000 0x000000000000c01f 0x0000000000040101" :
			      i == 6 ? "0x00000000fe610000 0x00000000fe61ffff 0x0000000000046200" :
			      "0x0000000000000000 0x0000000000000000 0x0000000000000000");
	assert_int_equal(vfio_parse_resource(text, b), 0);
	assert_int_equal(b[0].start, 0xfe600000);
	assert_int_equal(b[0].size, 16 * KiB);
	assert_int_equal(b[0].flags, 0x140204);
	assert_int_equal(b[1].size, 0);
	assert_int_equal(b[2].size, 32);
	assert_int_equal(b[2].flags & RES_IO, RES_IO);
	assert_int_equal(b[6].size, 64 * KiB);

	assert_int_equal(vfio_parse_resource("0x0 0x0 0x0\n", b), -EINVAL);
	text[strlen(text) - 2] = 'z';	/* a bad line past the ROM is ignored */
	assert_int_equal(vfio_parse_resource(text, b), 0);
	text[5] = 'z';
	assert_int_equal(vfio_parse_resource(text, b), -EINVAL);
	assert_int_equal(vfio_parse_resource("", b), -EINVAL);
}

static void test_parse_intr(void **state)
{
	struct vfio_intr_info in;
	uint8_t c[256] = { 0 };

	assert_int_equal(vfio_parse_intr(nvme_cfg, sizeof(nvme_cfg), &in), 0);
	assert_true(in.caps_read);
	assert_int_equal(in.pin, 1);
	assert_true(in.msi);
	assert_int_equal(in.msi_vectors, 8);
	assert_true(in.msi_64bit);
	assert_true(in.msi_maskable);
	assert_true(in.msix);
	assert_int_equal(in.msix_vectors, 65);
	assert_int_equal(in.msix_table_bir, 0);
	assert_int_equal(in.msix_table_off, 0x3000);
	assert_int_equal(in.msix_pba_off, 0x2000);

	/* Only the header readable (not root): pin known, capabilities not. */
	assert_int_equal(vfio_parse_intr(nvme_cfg, 64, &in), 0);
	assert_int_equal(in.pin, 1);
	assert_false(in.caps_read);
	assert_false(in.msi || in.msix);
	assert_int_equal(vfio_parse_intr(nvme_cfg, 63, &in), -EINVAL);

	/* A pointer with no capability-list bit in STATUS is not followed. */
	cfg_header(c, 1, 2, 0, 0, 0);
	c[PCI_CAPABILITY_LIST] = 0x40;
	cfg_cap(c, 0x40, PCI_CAP_ID_MSI, 0, 0);
	assert_int_equal(vfio_parse_intr(c, sizeof(c), &in), 0);
	assert_false(in.msi);

	/* Loops end: to itself, a two-cycle, a pointer into the header. */
	cfg_header(c, 1, 2, 0, 0, 0x40);
	cfg_cap(c, 0x40, PCI_CAP_ID_PM, 0x40, 0);
	assert_int_equal(vfio_parse_intr(c, sizeof(c), &in), 0);
	assert_false(in.msi || in.msix);
	cfg_cap(c, 0x40, PCI_CAP_ID_PM, 0x50, 0);
	cfg_cap(c, 0x50, PCI_CAP_ID_VNDR, 0x40, 0);
	assert_int_equal(vfio_parse_intr(c, sizeof(c), &in), 0);
	assert_false(in.msi || in.msix);
	cfg_cap(c, 0x50, PCI_CAP_ID_VNDR, 0x10, 0);
	c[0x10] = PCI_CAP_ID_MSI;
	assert_int_equal(vfio_parse_intr(c, sizeof(c), &in), 0);
	assert_false(in.msi);
	/* Low two bits of a pointer are reserved and ignored. */
	cfg_cap(c, 0x50, PCI_CAP_ID_VNDR, 0x63, 0);
	cfg_cap(c, 0x60, PCI_CAP_ID_MSI, 0, 7 << 1);	/* reserved 7 (2^7): capped at 32 */
	assert_int_equal(vfio_parse_intr(c, sizeof(c), &in), 0);
	assert_true(in.msi);
	assert_int_equal(in.msi_vectors, 32);
	assert_false(in.msi_64bit);
}

/* Lookups. */

static void test_lookups(void **state)
{
	const char *root = *state;
	struct fake_dev unbound = nvme, nogroup = edu;
	char drv[32];

	unbound.driver = NULL;
	nogroup.bdf = "0000:00:04.0";
	nogroup.group = -1;
	add_dev(root, &edu);
	add_dev(root, &unbound);
	add_dev(root, &nogroup);

	assert_int_equal(vfio_sysfs_group(root, EDU), 7);
	assert_int_equal(vfio_sysfs_group(root, NVME), 9);
	assert_int_equal(vfio_sysfs_group(root, "0000:00:04.0"), -ENOENT);
	assert_int_equal(vfio_sysfs_group(root, "0000:00:05.0"), -ENODEV);

	assert_int_equal(vfio_sysfs_driver(root, EDU, drv, sizeof(drv)), 0);
	assert_string_equal(drv, "vfio-pci");
	strcpy(drv, "stale");
	assert_int_equal(vfio_sysfs_driver(root, NVME, drv, sizeof(drv)), 0);
	assert_string_equal(drv, "");
	assert_int_equal(vfio_sysfs_driver(root, "0000:00:05.0", drv, sizeof(drv)), -ENODEV);
	assert_int_equal(vfio_sysfs_driver(root, EDU, drv, 8), -ENAMETOOLONG);	/* "vfio-pci" + NUL */
	assert_int_equal(vfio_sysfs_driver(root, EDU, drv, 9), 0);
}

static void test_sysfs_resv(void **state)
{
	const char *root = *state;
	struct vfio_resv r[4];

	add_dev(root, &edu);
	assert_int_equal(vfio_sysfs_resv(root, 7, r, ARRAY_SIZE(r)), 1);
	assert_int_equal(r[0].start, 0xfee00000);
	assert_string_equal(r[0].type, "msi");
	assert_int_equal(vfio_sysfs_resv(root, 8, r, ARRAY_SIZE(r)), -ENOENT);
	put_text(root, "sys/kernel/iommu_groups/7/reserved_regions", "0x1 msi\n");
	assert_int_equal(vfio_sysfs_resv(root, 7, r, ARRAY_SIZE(r)), -EINVAL);
}

/* check-device. */

static void test_check_edu(void **state)
{
	const char *root = *state;
	char *rep, want[512];
	int rc;

	add_dev(root, &edu);
	add_vfio(root);
	rep = check(root, "00:03.0", &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(line_of(rep, EDU), EDU "  1234:11e8  class 00ff00");
	assert_string_equal(line_of(rep, "driver:"), "driver:        vfio-pci (ok)");
	assert_string_equal(line_of(rep, "IOMMU group:"),
			    "IOMMU group:   7  (members: " EDU " vfio-pci)");
	assert_string_equal(line_of(rep, "IOMMU:"), "IOMMU:         present (1 group)");
	snprintf(want, sizeof(want), "%s/dev/vfio/vfio: present;  %s/dev/vfio/7: present",
		 root, root);
	assert_string_equal(line_of(rep, root), want);
	assert_string_equal(line_of(rep, "reset:"), "reset:         bus");
	assert_string_equal(line_of(rep, "BAR0:"), "BAR0:          mem32 1 MiB at 0xfea00000");
	assert_not_contains(rep, "BAR1:");
	assert_string_equal(line_of(rep, "ROM:"), "ROM:           none");
	assert_string_equal(line_of(rep, "interrupts:"),
			    "interrupts:    INTx pin A; MSI 1 vector, 64-bit; no MSI-X");
	assert_string_equal(line_of(rep, "reserved IOVA:"),
			    "reserved IOVA: 0xfee00000-0xfeefffff msi");
	assert_string_equal(line_of(rep, "verdict:"), "verdict:       can be assigned");
	free(rep);

	/* No IOMMU model: /dev/vfio/vfio opens but run would be refused; so is this. */
	snprintf(want, sizeof(want), "%s/sys/module/vfio_iommu_type1/refcnt", root);
	assert_int_equal(unlink(want), 0);
	snprintf(want, sizeof(want), "%s/sys/module/vfio_iommu_type1", root);
	assert_int_equal(rmdir(want), 0);
	rep = check(root, EDU, &rc);
	assert_int_equal(rc, 1);
	assert_contains(line_of(rep, root), "(no vfio_iommu_type1 module)");
	assert_contains(line_of(rep, "verdict:"), "modprobe vfio_iommu_type1");
	free(rep);
	add_vfio(root);

	/* vfio-pci has it but the group node is gone: say so, do not claim success. */
	snprintf(want, sizeof(want), "%s/dev/vfio/7", root);
	assert_int_equal(unlink(want), 0);
	rep = check(root, EDU, &rc);
	assert_int_equal(rc, 1);
	assert_contains(line_of(rep, root), "/dev/vfio/7: missing");
	assert_contains(line_of(rep, "verdict:"), "/dev/vfio/7 is missing although vfio-pci has "
			"the device");
	free(rep);
}

static void test_check_nvme(void **state)
{
	const char *root = *state;
	char *rep;
	int rc;

	add_dev(root, &nvme);
	add_vfio(root);
	rep = check(root, "0000:01:00.0", &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(line_of(rep, NVME), NVME "  144d:a808  class 010802");
	assert_string_equal(line_of(rep, "reset:"), "reset:         flr bus");
	assert_string_equal(line_of(rep, "BAR0:"), "BAR0:          mem64 16 KiB at 0xfe600000");
	assert_not_contains(rep, "BAR1:");
	assert_string_equal(line_of(rep, "BAR2:"), "BAR2:          io 32 bytes at 0xe000");
	assert_string_equal(line_of(rep, "BAR4:"),
			    "BAR4:          mem32 prefetchable 512 bytes at 0xfe620000");
	assert_string_equal(line_of(rep, "ROM:"), "ROM:           64 KiB at 0xfe610000");
	assert_string_equal(line_of(rep, "interrupts:"),
			    "interrupts:    INTx pin A; MSI 8 vectors, 64-bit, per-vector masking; "
			    "MSI-X 65 vectors, table BAR0+0x3000, PBA BAR0+0x2000");
	assert_string_equal(line_of(rep, "verdict:"), "verdict:       can be assigned");
	free(rep);
}

static void test_check_not_bound(void **state)
{
	const char *root = *state;
	struct fake_dev d = nvme;
	char *rep, want[2048];
	int rc;

	d.driver = "nvme";
	add_dev(root, &d);
	add_vfio(root);
	mkdirs(root, "sys/bus/pci/drivers/vfio-pci");	/* the module is loaded */
	rep = check(root, NVME, &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(line_of(rep, "driver:"), "driver:        nvme (must be vfio-pci)");
	assert_string_equal(line_of(rep, "IOMMU group:"), "IOMMU group:   9  (members: " NVME " nvme)");
	assert_contains(rep, "/dev/vfio/9: missing (appears when vfio-pci takes the device)");
	snprintf(want, sizeof(want),
		 "verdict:       cannot be assigned: it is bound to nvme, not vfio-pci; bind it with: "
		 "echo %s > %s/sys/bus/pci/devices/%s/driver/unbind; "
		 "echo vfio-pci > %s/sys/bus/pci/devices/%s/driver_override; "
		 "echo %s > %s/sys/bus/pci/drivers_probe",
		 NVME, root, NVME, root, NVME, NVME, root);
	assert_string_equal(line_of(rep, "verdict:"), want);
	free(rep);

	/* With no driver at all: the two echo lines, no unbind. */
	assert_int_equal(unlink(strcat(strcpy(want, root),
				       "/sys/devices/pci0000:00/" NVME "/driver")), 0);
	rep = check(root, NVME, &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(line_of(rep, "driver:"), "driver:        none (must be vfio-pci)");
	snprintf(want, sizeof(want),
		 "verdict:       cannot be assigned: it is bound to no driver, not vfio-pci; bind it "
		 "with: echo vfio-pci > %s/sys/bus/pci/devices/%s/driver_override; "
		 "echo %s > %s/sys/bus/pci/drivers_probe", root, NVME, NVME, root);
	assert_string_equal(line_of(rep, "verdict:"), want);
	free(rep);
}

static void test_check_group_blocked(void **state)
{
	const char *root = *state;
	struct fake_dev audio = edu, stub = edu, bridge = edu;
	char *rep, want[1024];
	int rc;

	audio.bdf = "0000:00:03.1";
	audio.driver = "snd_hda_intel";
	audio.class = 0x040300;
	stub.bdf = "0000:00:03.2";
	stub.driver = "pci-stub";
	bridge.bdf = "0000:00:1c.0";
	bridge.driver = "pcieport";
	bridge.class = 0x060400;
	add_dev(root, &edu);
	add_dev(root, &audio);
	add_dev(root, &stub);
	add_dev(root, &bridge);
	add_vfio(root);

	rep = check(root, EDU, &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(line_of(rep, "IOMMU group:"),
			    "IOMMU group:   7  (members: " EDU " vfio-pci, 0000:00:03.1 snd_hda_intel, "
			    "0000:00:03.2 pci-stub, 0000:00:1c.0 pcieport (bridge))");
	snprintf(want, sizeof(want),
		 "verdict:       cannot be assigned: IOMMU group 7 also holds 0000:00:03.1 "
		 "(snd_hda_intel), which must be bound to vfio-pci, pci-stub or no driver; unbind it "
		 "with: echo 0000:00:03.1 > %s/sys/bus/pci/devices/0000:00:03.1/driver/unbind", root);
	assert_string_equal(line_of(rep, "verdict:"), want);
	free(rep);

	/* The same from the explanation VFIO's EPERM on a non-viable group gets. */
	capture_begin();
	vfio_explain_not_viable(root, EDU, 7);
	rep = capture_end();
	assert_int_equal(count_lines(rep), 1);
	assert_contains(rep, "kvmio: error: IOMMU group 7 of " EDU " is not viable: it also holds "
			"0000:00:03.1 (snd_hda_intel); ");
	assert_contains(rep, "bridges, class 0604, may stay");
	snprintf(want, sizeof(want), "unbind it with: echo 0000:00:03.1 > "
		 "%s/sys/bus/pci/devices/0000:00:03.1/driver/unbind\n", root);
	assert_contains(rep, want);
	assert_not_contains(rep, "00:03.2");
	assert_not_contains(rep, "00:1c.0");
}

static void test_check_no_group(void **state)
{
	const char *root = *state;
	struct fake_dev d = edu;
	char *rep;
	int rc;

	d.group = -1;
	add_dev(root, &d);
	add_vfio(root);
	rep = check(root, EDU, &rc);
	assert_int_equal(rc, 1);
	assert_contains(line_of(rep, "IOMMU group:"), "IOMMU group:   none (no ");
	assert_contains(line_of(rep, "IOMMU:"), "IOMMU:         none found");
	assert_string_equal(line_of(rep, "verdict:"),
			    "verdict:       cannot be assigned: it has no IOMMU group: enable VT-d / "
			    "AMD-Vi in the firmware setup and boot with intel_iommu=on on Intel "
			    "(AMD's is on by default unless amd_iommu=off or iommu=off is given)");
	assert_not_contains(rep, "reserved IOVA:");
	free(rep);
}

static void test_check_bad_bdf(void **state)
{
	const char *root = *state;
	char *rep;
	int rc;

	add_dev(root, &edu);
	rep = check(root, "00:03.8", &rc);
	assert_int_equal(rc, 2);
	assert_contains(rep, "'00:03.8' is not a PCI address");
	free(rep);
	rep = check(root, "00:05.0", &rc);	/* well-formed, absent */
	assert_int_equal(rc, 1);
	assert_contains(rep, "0000:00:05.0  no such device");
	assert_contains(line_of(rep, "verdict:"), "cannot be assigned: there is no such device");
	free(rep);
}

static void test_check_cap_loop(void **state)
{
	const char *root = *state;
	struct fake_dev d = edu;
	uint8_t c[256] = { 0 };
	char *rep;
	int rc;

	cfg_header(c, 0x1234, 0x11e8, 0x00ff00, 2, 0x40);
	cfg_cap(c, 0x40, PCI_CAP_ID_PM, 0x50, 0);
	cfg_cap(c, 0x50, PCI_CAP_ID_VNDR, 0x40, 0);
	d.cfg = c;
	d.cfg_len = sizeof(c);
	add_dev(root, &d);
	add_vfio(root);
	rep = check(root, EDU, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(line_of(rep, "interrupts:"),
			    "interrupts:    INTx pin B; no MSI; no MSI-X");
	free(rep);
}

/* What a non-root reader sees: 64 bytes of config, and kernels before 5.15. */
static void test_check_partial(void **state)
{
	const char *root = *state;
	struct fake_dev d = nvme;
	char *rep, rel[128];
	int rc;

	d.cfg_len = 64;
	d.reset_method = NULL;
	add_dev(root, &d);
	rep = check(root, NVME, &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(line_of(rep, "interrupts:"),
			    "interrupts:    INTx pin A; MSI and MSI-X unknown (only 64 bytes of config "
			    "space readable: run as root to see them)");
	assert_string_equal(line_of(rep, "reset:"), "reset:         unknown (no reset_method file)");
	/* No /dev/vfio/vfio: the modules; nothing else is wrong. */
	assert_contains(line_of(rep, "verdict:"), "cannot be assigned: no ");
	assert_contains(line_of(rep, "verdict:"), "/dev/vfio/vfio: load VFIO with: modprobe vfio-pci "
			"vfio_iommu_type1");
	assert_not_contains(line_of(rep, "verdict:"), "bind");
	free(rep);

	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/reset", NVME);
	put_text(root, rel, "%s", "");
	rep = check(root, NVME, &rc);
	assert_string_equal(line_of(rep, "reset:"), "reset:         unknown (no reset_method "
			    "file); the reset file says there is one");
	free(rep);
}

/* The explanations: one line each, with the command. */

static void test_explain(void **state)
{
	const char *root = *state;
	char *err, want[1024];

	capture_begin();
	vfio_explain_not_bound(root, NVME, "nvme");
	err = capture_end();
	/* vfio-pci is not loaded in this tree: modprobe comes first. */
	snprintf(want, sizeof(want),
		 "kvmio: error: " NVME " is bound to nvme, not vfio-pci; bind it with: "
		 "modprobe vfio-pci; echo " NVME " > %s/sys/bus/pci/devices/" NVME "/driver/unbind; "
		 "echo vfio-pci > %s/sys/bus/pci/devices/" NVME "/driver_override; "
		 "echo " NVME " > %s/sys/bus/pci/drivers_probe\n", root, root, root);
	assert_string_equal(err, want);

	mkdirs(root, "sys/bus/pci/drivers/vfio-pci");	/* now it is */
	capture_begin();
	vfio_explain_not_bound(root, EDU, "");
	err = capture_end();
	assert_int_equal(count_lines(err), 1);
	assert_contains(err, "is bound to no driver, not vfio-pci; bind it with: echo vfio-pci > ");
	assert_not_contains(err, "unbind");
	assert_not_contains(err, "modprobe");

	/* Told "" by a caller that could not read it, it looks: here, vfio-pci, node missing. */
	add_dev(root, &edu);
	snprintf(want, sizeof(want), "%s/dev/vfio/7", root);
	assert_int_equal(unlink(want), 0);
	capture_begin();
	vfio_explain_not_bound(root, EDU, "");
	err = capture_end();
	assert_int_equal(count_lines(err), 1);
	snprintf(want, sizeof(want), "kvmio: error: " EDU " is bound to vfio-pci, but its group node "
		 "%s/dev/vfio/7 is missing: in a container, pass it in (docker run --device "
		 "/dev/vfio/7); on the host, bind it again: echo " EDU " > %s/sys/bus/pci/devices/"
		 EDU "/driver/unbind; ", root, root);
	assert_contains(err, want);
	assert_contains(err, "drivers_probe\n");

	capture_begin();
	vfio_explain_no_vfio();
	vfio_explain_no_iommu_model();
	vfio_explain_no_device("0000:00:05.0");
	vfio_explain_no_group(EDU);
	vfio_explain_access(EDU, 7);
	vfio_explain_busy(EDU, 7);
	vfio_explain_memlock(512 * MiB);
	err = capture_end();
	assert_int_equal(count_lines(err), 7);
	assert_contains(err, "modprobe vfio-pci vfio_iommu_type1\n");
	assert_contains(err, "modprobe vfio_iommu_type1\n");
	assert_contains(err, "no PCI device 0000:00:05.0 (no /sys/bus/pci/devices/0000:00:05.0); "
			"lspci -D");
	assert_contains(err, "intel_iommu=on");
	assert_contains(err, "permission denied on /dev/vfio/7");
	assert_contains(err, "/dev/vfio/7 (the IOMMU group of " EDU ") is in use");
	assert_contains(err, "ulimit -l 524288");
	assert_contains(err, "memlock 524288\n");
}

/* SR-IOV (src/vfio/sriov.c): a PF at 02:00.0 whose VFs are 02:00.4 and 02:00.5. */

#define PF	"0000:02:00.0"
#define VF0	"0000:02:00.4"
#define VF1	"0000:02:00.5"
#define UUID	"0123abcd-4567-89ef-ABCD-0123456789ef"

/* @bdf's driver link replaced: to @drv, or none for NULL. */
static void set_driver(const char *root, const char *bdf, const char *drv)
{
	char rel[256], path[PATH_MAX], target[128];

	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/driver", bdf);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_true(unlink(path) == 0 || errno == ENOENT);
	if (!drv)
		return;
	snprintf(target, sizeof(target), "sys/bus/pci/drivers/%s", drv);
	mkdirs(root, target);
	snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", drv);
	put_link(root, rel, target);
}

/* @bdf's attribute @name with @text (a newline added, as sysfs does). */
static void put_attr(const char *root, const char *bdf, const char *name, const char *text)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/%s", bdf, name);
	put_text(root, rel, "%s\n", text);
}

/* @pf's virtfn@n -> @vf (when @n >= 0), and @vf's physfn -> @pf, as the kernel links them. */
static void link_vf(const char *root, const char *pf, int n, const char *vf)
{
	char rel[256], target[64];

	if (n >= 0) {
		snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/virtfn%d", pf, n);
		snprintf(target, sizeof(target), "../%s", vf);
		put_link(root, rel, target);
	}
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/physfn", vf);
	snprintf(target, sizeof(target), "../%s", pf);
	put_link(root, rel, target);
}

/*
 * The PF (an NVMe controller on @pf_drv, group 10; sriov_totalvfs 4, @num
 * enabled) and, when @num, its two VFs, each bound to vfio-pci in its own
 * group (11, 12), with the links both ways.
 */
static void add_sriov(const char *root, const char *pf_drv, unsigned int num)
{
	struct fake_dev pf = nvme, vf = edu;
	char text[16];

	pf.bdf = PF;
	pf.driver = pf_drv;
	pf.group = 10;
	add_dev(root, &pf);
	put_attr(root, PF, "sriov_totalvfs", "4");
	snprintf(text, sizeof(text), "%u", num);
	put_attr(root, PF, "sriov_numvfs", text);
	if (!num)
		return;
	vf.vendor = 0x144d;
	vf.device = 0xa824;
	vf.bdf = VF0;
	vf.group = 11;
	add_dev(root, &vf);
	vf.bdf = VF1;
	vf.group = 12;
	add_dev(root, &vf);
	link_vf(root, PF, 0, VF0);
	link_vf(root, PF, 1, VF1);
}

static void test_uuid_valid(void **state)
{
	static const char *const bad[] = {
		"",
		"0123abcd-4567-89ef-abcd-0123456789e",		/* 35 */
		"0123abcd-4567-89ef-abcd-0123456789eff",	/* 37 */
		"0123abcd-4567-89ef-abcd-0123456789ef\n",	/* 37, a newline */
		" 0123abcd-4567-89ef-abcd-0123456789e",		/* 36, a leading space */
		"0123abc-d4567-89ef-abcd-0123456789ef",		/* first dash one early */
		"0123abcd-45678-9ef-abcd-0123456789ef",		/* second dash one late */
		"0123abcd-4567-89ef-abcd0-123456789ef",		/* last dash one late */
		"0123abcd04567089ef0abcd00123456789ef",		/* 36 hex, no dashes */
		"0123abcd-4567-89ef-abcd-0123456789eg",		/* g */
		"0123abcd-4567-89ef-abcd-0123456789e ",
		"0123abcd-4567-89ef-abcd-01234567-9ef",		/* a fifth dash */
		"0123abcd-4567-89ef-abcd-0x23456789ef",
		"{123abcd-4567-89ef-abcd-0123456789e}",
	};

	assert_true(vfio_uuid_valid("0123abcd-4567-89ef-abcd-0123456789ef"));
	assert_true(vfio_uuid_valid("0123ABCD-4567-89EF-ABCD-0123456789EF"));
	assert_true(vfio_uuid_valid(UUID));				/* mixed */
	assert_true(vfio_uuid_valid("00000000-0000-0000-0000-000000000000"));
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
		if (vfio_uuid_valid(bad[i]))
			fail_msg("'%s' accepted as a UUID", bad[i]);
}

static void test_sysfs_link_uint(void **state)
{
	static const char *const bad[] = {
		"", "x", "-1", "+1", " 1", "1x", "0x10", "1.5", "4294967296",
		"18446744073709551616", "99999999999999999999999",
	};
	const char *root = *state;
	char buf[32];
	unsigned int v;

	add_sriov(root, "nvme", 2);
	assert_int_equal(vfio_sysfs_link(root, PF, "driver", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "nvme");
	assert_int_equal(vfio_sysfs_link(root, PF, "virtfn1", buf, sizeof(buf)), 0);
	assert_string_equal(buf, VF1);
	assert_int_equal(vfio_sysfs_link(root, VF0, "physfn", buf, sizeof(buf)), 0);
	assert_string_equal(buf, PF);
	assert_int_equal(vfio_sysfs_link(root, VF0, "iommu_group", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "11");
	/* A trailing slash on the target does not make the last component empty. */
	put_link(root, "sys/devices/pci0000:00/" PF "/trailing", "../" VF0 "/");
	assert_int_equal(vfio_sysfs_link(root, PF, "trailing", buf, sizeof(buf)), 0);
	assert_string_equal(buf, VF0);
	assert_int_equal(vfio_sysfs_link(root, PF, "virtfn2", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(vfio_sysfs_link(root, PF, "physfn", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(vfio_sysfs_link(root, "0000:02:00.7", "physfn", buf, sizeof(buf)),
			 -ENODEV);
	assert_int_equal(vfio_sysfs_link(root, PF, "virtfn1", buf, strlen(VF1)), -ENAMETOOLONG);
	assert_int_equal(vfio_sysfs_link(root, PF, "virtfn1", buf, strlen(VF1) + 1), 0);

	v = 99;
	assert_int_equal(vfio_sysfs_uint(root, PF, "sriov_totalvfs", &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(vfio_sysfs_uint(root, PF, "sriov_numvfs", &v), 0);
	assert_int_equal(v, 2);
	put_attr(root, PF, "sriov_numvfs", "0");
	assert_int_equal(vfio_sysfs_uint(root, PF, "sriov_numvfs", &v), 0);
	assert_int_equal(v, 0);
	put_attr(root, PF, "sriov_numvfs", "4294967295");
	assert_int_equal(vfio_sysfs_uint(root, PF, "sriov_numvfs", &v), 0);
	assert_int_equal(v, 4294967295U);
	v = 99;
	assert_int_equal(vfio_sysfs_uint(root, VF0, "sriov_totalvfs", &v), -ENOENT);
	assert_int_equal(v, 99);
	/* No such device. */
	assert_int_equal(vfio_sysfs_uint(root, "0000:02:00.7", "sriov_numvfs", &v), -ENODEV);
	assert_int_equal(v, 99);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		put_attr(root, PF, "sriov_numvfs", bad[i]);
		v = 99;
		if (vfio_sysfs_uint(root, PF, "sriov_numvfs", &v) != -EINVAL)
			fail_msg("sriov_numvfs '%s' not -EINVAL", bad[i]);
		if (v != 99)
			fail_msg("sriov_numvfs '%s' stored %u", bad[i], v);
	}
}

static void test_sriov_pf(void **state)
{
	const char *root = *state;
	struct vfio_sriov_info s;

	add_sriov(root, "nvme", 2);
	memset(&s, 0xa5, sizeof(s));
	assert_int_equal(vfio_sysfs_sriov(root, PF, &s), 0);
	assert_true(s.is_pf);
	assert_false(s.is_vf);
	assert_int_equal(s.total_vfs, 4);
	assert_int_equal(s.num_vfs, 2);
	assert_int_equal(s.vf_index, -1);
	assert_string_equal(s.pf, "");
	assert_string_equal(s.pf_drv, "");

	/* sriov_totalvfs 0 is not a PF; no sriov_numvfs reads as 0 enabled. */
	put_attr(root, PF, "sriov_totalvfs", "0");
	assert_int_equal(vfio_sysfs_sriov(root, PF, &s), 0);
	assert_false(s.is_pf);
	assert_false(s.is_vf);
	put_attr(root, PF, "sriov_totalvfs", "8");
	put_attr(root, PF, "sriov_numvfs", "junk");
	assert_int_equal(vfio_sysfs_sriov(root, PF, &s), 0);
	assert_true(s.is_pf);
	assert_int_equal(s.total_vfs, 8);
	assert_int_equal(s.num_vfs, 0);

	assert_int_equal(vfio_sysfs_sriov(root, "0000:02:00.7", &s), -ENODEV);
}

static void test_sriov_vf(void **state)
{
	const char *root = *state;
	struct vfio_sriov_info s;

	add_sriov(root, "nvme", 2);
	memset(&s, 0xa5, sizeof(s));
	assert_int_equal(vfio_sysfs_sriov(root, VF1, &s), 0);
	assert_true(s.is_vf);
	assert_false(s.is_pf);
	assert_string_equal(s.pf, PF);
	assert_string_equal(s.pf_drv, "nvme");
	assert_int_equal(s.vf_index, 1);
	assert_int_equal(s.total_vfs, 0);
	assert_int_equal(s.num_vfs, 0);
	assert_int_equal(vfio_sysfs_sriov(root, VF0, &s), 0);
	assert_true(s.is_vf);
	assert_int_equal(s.vf_index, 0);

	set_driver(root, PF, "vfio-pci");
	assert_int_equal(vfio_sysfs_sriov(root, VF1, &s), 0);
	assert_string_equal(s.pf_drv, "vfio-pci");
	assert_int_equal(s.vf_index, 1);
	set_driver(root, PF, NULL);
	strcpy(s.pf_drv, "stale");
	assert_int_equal(vfio_sysfs_sriov(root, VF1, &s), 0);
	assert_true(s.is_vf);
	assert_string_equal(s.pf_drv, "");

	/* The index comes from the PF's virtfnN links, not from the VF's address. */
	assert_int_equal(unlink(strcat(strcpy((char[PATH_MAX]){ 0 }, root),
				       "/sys/devices/pci0000:00/" PF "/virtfn0")), 0);
	assert_int_equal(unlink(strcat(strcpy((char[PATH_MAX]){ 0 }, root),
				       "/sys/devices/pci0000:00/" PF "/virtfn1")), 0);
	link_vf(root, PF, 3, "0000:02:00.6");	/* another VF, not present here */
	put_link(root, "sys/devices/pci0000:00/" PF "/virtfn2", "../" VF1);
	assert_int_equal(vfio_sysfs_sriov(root, VF1, &s), 0);
	assert_int_equal(s.vf_index, 2);
	/* ... bounded by sriov_totalvfs: virtfn2 is past a total of 2. */
	put_attr(root, PF, "sriov_totalvfs", "2");
	assert_int_equal(vfio_sysfs_sriov(root, VF1, &s), 0);
	assert_true(s.is_vf);
	assert_int_equal(s.vf_index, -1);
}

/* A VF whose PF lists no virtfn link to it: still a VF, index unknown. */
static void test_sriov_vf_unlisted(void **state)
{
	const char *root = *state;
	struct fake_dev vf = edu;
	struct vfio_sriov_info s;

	add_sriov(root, "vfio-pci", 2);
	vf.bdf = "0000:02:00.6";
	vf.group = 13;
	add_dev(root, &vf);
	link_vf(root, PF, -1, vf.bdf);
	memset(&s, 0xa5, sizeof(s));
	assert_int_equal(vfio_sysfs_sriov(root, vf.bdf, &s), 0);
	assert_true(s.is_vf);
	assert_false(s.is_pf);
	assert_string_equal(s.pf, PF);
	assert_string_equal(s.pf_drv, "vfio-pci");
	assert_int_equal(s.vf_index, -1);

	/* A PF with no sriov_totalvfs: no links are looked at. */
	assert_int_equal(unlink(strcat(strcpy((char[PATH_MAX]){ 0 }, root),
				       "/sys/devices/pci0000:00/" PF "/sriov_totalvfs")), 0);
	assert_int_equal(vfio_sysfs_sriov(root, VF0, &s), 0);
	assert_true(s.is_vf);
	assert_int_equal(s.vf_index, -1);
}

/* Neither: a plain device, and one whose physfn does not name a PCI function. */
static void test_sriov_plain(void **state)
{
	const char *root = *state;
	struct vfio_sriov_info s;

	add_dev(root, &edu);
	memset(&s, 0xa5, sizeof(s));
	assert_int_equal(vfio_sysfs_sriov(root, EDU, &s), 0);
	assert_false(s.is_vf);
	assert_false(s.is_pf);
	assert_int_equal(s.vf_index, -1);
	assert_int_equal(s.total_vfs, 0);
	assert_int_equal(s.num_vfs, 0);
	assert_string_equal(s.pf, "");
	assert_string_equal(s.pf_drv, "");

	put_link(root, "sys/devices/pci0000:00/" EDU "/physfn", "../not-a-bdf");
	assert_int_equal(vfio_sysfs_sriov(root, EDU, &s), 0);
	assert_false(s.is_vf);
}

static void test_check_sriov_pf(void **state)
{
	const char *root = *state;
	char *rep, want[512];
	int rc;

	add_sriov(root, "vfio-pci", 2);
	add_vfio(root);
	rep = check(root, PF, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(line_of(rep, "SR-IOV:"),
			    "SR-IOV:        physical function, 2 of 4 VFs enabled");
	assert_string_equal(line_of(rep, "verdict:"), "verdict:       can be assigned");
	free(rep);

	put_attr(root, PF, "sriov_numvfs", "0");
	rep = check(root, PF, &rc);
	assert_int_equal(rc, 0);
	snprintf(want, sizeof(want), "SR-IOV:        physical function, 0 of 4 VFs enabled "
		 "(echo N > %s/sys/bus/pci/devices/" PF "/sriov_numvfs)", root);
	assert_string_equal(line_of(rep, "SR-IOV:"), want);
	assert_string_equal(line_of(rep, "verdict:"), "verdict:       can be assigned");
	free(rep);

	/* Bound elsewhere: the verdict says so, the SR-IOV line is the same. */
	set_driver(root, PF, "nvme");
	rep = check(root, PF, &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(line_of(rep, "SR-IOV:"), want);
	assert_contains(line_of(rep, "verdict:"), "bound to nvme, not vfio-pci");
	free(rep);
}

static void test_check_sriov_vf(void **state)
{
	const char *root = *state;
	char *rep;
	int rc;

	add_sriov(root, "nvme", 2);
	add_vfio(root);
	rep = check(root, VF1, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(line_of(rep, VF1), VF1 "  144d:a824  class 00ff00");
	assert_string_equal(line_of(rep, "driver:"), "driver:        vfio-pci (ok)");
	assert_string_equal(line_of(rep, "SR-IOV:"), "SR-IOV:        virtual function 1 of " PF
			    " (driver nvme): no VF token needed");
	/* Its config says pin A (QEMU 7.2's VFs do): a VF has no INTx, and VFIO offers none. */
	assert_string_equal(line_of(rep, "interrupts:"), "interrupts:    no INTx (a VF whose pin "
			    "register says otherwise); MSI 1 vector, 64-bit; no MSI-X");
	assert_string_equal(line_of(rep, "verdict:"), "verdict:       can be assigned");
	free(rep);

	set_driver(root, PF, "vfio-pci");
	rep = check(root, VF1, &rc);
	assert_int_equal(rc, 0);	/* the token is for the open, not a reason to refuse */
	assert_string_equal(line_of(rep, "SR-IOV:"), "SR-IOV:        virtual function 1 of " PF
			    ", whose driver is vfio-pci: give the VF token its user set, "
			    "--device vfio=" VF1 ",vf-token=UUID");
	assert_string_equal(line_of(rep, "verdict:"), "verdict:       can be assigned");
	free(rep);
	/* Given in the short form, the report still names the canonical BDF. */
	rep = check(root, "02:00.4", &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(line_of(rep, "SR-IOV:"), "SR-IOV:        virtual function 0 of " PF
			    ", whose driver is vfio-pci: give the VF token its user set, "
			    "--device vfio=" VF0 ",vf-token=UUID");
	free(rep);

	set_driver(root, PF, NULL);
	rep = check(root, VF1, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(line_of(rep, "SR-IOV:"), "SR-IOV:        virtual function 1 of " PF
			    " (driver none): no VF token needed");
	free(rep);

	/* Unlisted by its PF: no index. */
	assert_int_equal(unlink(strcat(strcpy((char[PATH_MAX]){ 0 }, root),
				       "/sys/devices/pci0000:00/" PF "/virtfn1")), 0);
	rep = check(root, VF1, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(line_of(rep, "SR-IOV:"), "SR-IOV:        virtual function of " PF
			    " (driver none): no VF token needed");
	free(rep);

	/* A VF that is not on vfio-pci is refused for that, as any function is. */
	set_driver(root, VF0, "nvme");
	rep = check(root, VF0, &rc);
	assert_int_equal(rc, 1);
	assert_contains(line_of(rep, "verdict:"), "bound to nvme, not vfio-pci");
	assert_contains(line_of(rep, "SR-IOV:"), "virtual function 0 of " PF);
	free(rep);
}

static void test_check_no_sriov(void **state)
{
	const char *root = *state;
	char *rep;
	int rc;

	add_dev(root, &edu);
	add_vfio(root);
	rep = check(root, EDU, &rc);
	assert_int_equal(rc, 0);
	assert_not_contains(rep, "SR-IOV");
	assert_not_contains(rep, "virtual function");
	assert_not_contains(rep, "physical function");
	free(rep);

	/* sriov_totalvfs 0: a function with the capability but no VFs to offer. */
	put_attr(root, EDU, "sriov_totalvfs", "0");
	put_attr(root, EDU, "sriov_numvfs", "0");
	rep = check(root, EDU, &rc);
	assert_int_equal(rc, 0);
	assert_not_contains(rep, "SR-IOV");
	free(rep);
}

static void test_explain_device_fd(void **state)
{
	const char *root = *state;
	char *err, want[512];

	add_sriov(root, "vfio-pci", 2);

	/* PF on vfio-pci, no token: say which token and how to give it. */
	capture_begin();
	vfio_explain_device_fd(root, VF1, EACCES, false);
	err = capture_end();
	assert_int_equal(count_lines(err), 1);
	snprintf(want, sizeof(want), "kvmio: error: " VF1 " is a VF of " PF ", which is bound to "
		 "vfio-pci: vfio-pci wants the VF token that " PF "'s user set; give it with "
		 "--device vfio=" VF1 ",vf-token=UUID\n");
	assert_string_equal(err, want);

	/* A token, refused. */
	capture_begin();
	vfio_explain_device_fd(root, VF1, EACCES, true);
	err = capture_end();
	assert_int_equal(count_lines(err), 1);
	assert_string_equal(err, "kvmio: error: " VF1 ": vfio-pci refused the VF token: it is not "
			    "the one " PF "'s user set\n");

	/* A token, and another failure: not the token's fault. */
	capture_begin();
	vfio_explain_device_fd(root, VF1, EBUSY, true);
	err = capture_end();
	assert_string_equal(err, "");

	/* PF on nvme: a token is not wanted; without one, nothing to say. */
	set_driver(root, PF, "nvme");
	capture_begin();
	vfio_explain_device_fd(root, VF0, EINVAL, true);
	err = capture_end();
	assert_int_equal(count_lines(err), 1);
	assert_string_equal(err, "kvmio: error: " VF0 ": a VF token is only for a VF whose PF is "
			    "bound to vfio-pci; " PF " is bound to nvme: leave vf-token out\n");
	capture_begin();
	vfio_explain_device_fd(root, VF0, EINVAL, false);
	err = capture_end();
	assert_string_equal(err, "");

	set_driver(root, PF, NULL);
	capture_begin();
	vfio_explain_device_fd(root, VF0, EINVAL, true);
	err = capture_end();
	assert_contains(err, PF " is bound to no driver: leave vf-token out\n");

	/* Not a VF (the PF itself, a plain device, no device): nothing. */
	add_dev(root, &edu);
	set_driver(root, PF, "vfio-pci");
	capture_begin();
	vfio_explain_device_fd(root, PF, EACCES, false);
	vfio_explain_device_fd(root, PF, EINVAL, true);
	vfio_explain_device_fd(root, EDU, EACCES, false);
	vfio_explain_device_fd(root, EDU, EINVAL, true);
	vfio_explain_device_fd(root, "0000:02:00.7", EACCES, true);
	err = capture_end();
	assert_string_equal(err, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bdf_parse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_resv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_resource, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_intr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysfs_resv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_edu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_nvme, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_not_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_group_blocked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_no_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_bad_bdf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_cap_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uuid_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysfs_link_uint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sriov_pf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sriov_vf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sriov_vf_unlisted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sriov_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_sriov_pf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_sriov_vf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_no_sriov, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explain_device_fd, setup, teardown),
	};
	return cmocka_run_group_tests_name("vfio_sysfs", tests, NULL, NULL);
}
