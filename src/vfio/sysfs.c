// SPDX-License-Identifier: Apache-2.0
/*
 * What sysfs says about a host PCI device before kvmio hands it to VFIO, and
 * one line for each reason VFIO refuses it. See sysfs.h.
 *
 * Nothing here opens the device or a /dev/vfio node: check-device must be
 * safe to run, without root, on a device a host driver is using. Every path
 * is built as root + "/sys/..." so that with root "" the messages name the
 * real files.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/pci_regs.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pci/pci.h"	/* pci_cap_find (pure, pci/cap.c) and constants */
#include "util.h"
#include "vfio/sysfs.h"

/* struct resource flags (include/linux/ioport.h; not in the uapi headers). */
#define RES_IO		0x00000100
#define RES_MEM		0x00000200
#define RES_PREFETCH	0x00002000
#define RES_MEM_64	0x00100000

#define CLASS_BRIDGE_PCI	0x0604	/* base class 06 (bridge), subclass 04 (PCI-PCI) */

#define DEVS		"/sys/bus/pci/devices"
#define GROUPS		"/sys/kernel/iommu_groups"

/*
 * How to turn the IOMMU on. amd_iommu=on is no kernel parameter: the AMD
 * IOMMU is on unless the firmware hides it or the command line turns it off.
 */
#define IOMMU_HOWTO	"enable VT-d / AMD-Vi in the firmware setup and boot with " \
			"intel_iommu=on on Intel (AMD's is on by default unless amd_iommu=off " \
			"or iommu=off is given)"

/* Column of the values in check-device's report. */
#define LABEL_W		14

/* Paths and small file reads. */

/* root + the formatted rest into @buf; -ENAMETOOLONG when it does not fit. */
static int __attribute__((format(printf, 4, 5)))
path_fmt(char *buf, size_t len, const char *root, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(buf, len, "%s", root);
	int m;

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= len - n)
		return -ENAMETOOLONG;
	return 0;
}

/* Up to @len bytes of @path; returns the count or negative errno. */
static ssize_t read_bytes(const char *path, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0, got = 0;

	if (fd < 0)
		return -errno;
	/* Attributes come in one read; config space may come in pieces. */
	while ((size_t)got < len && (n = read(fd, (char *)buf + got, len - got)) > 0)
		got += n;
	if (n < 0)
		got = -errno;
	close(fd);
	return got;
}

/*
 * A text file into @buf, NUL-terminated, trailing newline dropped. A file
 * that fills @buf is -EFBIG: a cut-off list would look complete.
 */
static int read_text(const char *path, char *buf, size_t len)
{
	ssize_t n = read_bytes(path, buf, len);

	if (n < 0)
		return (int)n;
	if ((size_t)n >= len)
		return -EFBIG;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

/* The last component of symlink @path's target into @buf. */
static int read_link_base(const char *path, char *buf, size_t len)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *base;

	if (n < 0)
		return -errno;
	target[n] = '\0';
	while (n > 1 && target[n - 1] == '/')
		target[--n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

static bool path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* -ENODEV unless root/sys/bus/pci/devices/@bdf exists. */
static int device_exists(const char *root, const char *bdf)
{
	char path[PATH_MAX];
	int ret = path_fmt(path, sizeof(path), root, DEVS "/%s", bdf);

	if (ret)
		return ret;
	return path_exists(path) ? 0 : -ENODEV;
}

/* A numeric attribute of the device in @base ("0x1234\n", "4\n"): no sign, no space. */
static int read_num_attr(const char *root, const char *bdf, const char *name, int base,
			 unsigned long *out)
{
	char path[PATH_MAX], text[32], *end;
	unsigned long v;
	int ret = path_fmt(path, sizeof(path), root, DEVS "/%s/%s", bdf, name);

	if (!ret)
		ret = read_text(path, text, sizeof(text));
	if (ret)
		return ret;
	errno = 0;
	v = strtoul(text, &end, base);
	if (errno || end == text || *end || !isdigit((unsigned char)text[0]))
		return -EINVAL;
	*out = v;
	return 0;
}

static int read_hex_attr(const char *root, const char *bdf, const char *name, unsigned long *out)
{
	return read_num_attr(root, bdf, name, 16, out);
}

static bool is_bridge_class(unsigned long class)
{
	return (class >> 8) == CLASS_BRIDGE_PCI;
}

/*
 * Drivers that leave a group viable: VFIO's own (vfio-pci and the vendor
 * variants, all named *vfio*), pci-stub, and none. The kernel also accepts
 * bridges (drivers/vfio/group.c before 6.2; pcieport's driver_managed_dma
 * after), which callers check by class.
 */
static bool driver_keeps_group_viable(const char *drv)
{
	return !*drv || strstr(drv, "vfio") || !strcmp(drv, "pci-stub");
}

/* Parsing. */

int vfio_bdf_parse(const char *s, char out[VFIO_BDF_LEN])
{
	/* Field widths of "dddd:bb:dd.f", and what must follow each field. */
	static const struct { unsigned int digits; char sep; } full[] = {
		{ 4, ':' }, { 2, ':' }, { 2, '.' }, { 1, '\0' } };
	unsigned long v[4];
	unsigned int first = 0;
	const char *p = s;

	if (!s)
		return -EINVAL;
	/* "bb:dd.f" has its first ':' three characters in; the full form five. */
	if (strlen(s) >= 3 && s[2] == ':' && strchr(s + 3, ':') == NULL) {
		v[0] = 0;
		first = 1;
	}
	for (unsigned int i = first; i < ARRAY_SIZE(full); i++) {
		v[i] = 0;
		for (unsigned int d = 0; d < full[i].digits; d++, p++) {
			if (!isxdigit((unsigned char)*p))
				return -EINVAL;
			v[i] = v[i] << 4 | (unsigned long)(isdigit((unsigned char)*p) ?
					*p - '0' : tolower((unsigned char)*p) - 'a' + 10);
		}
		if (*p++ != full[i].sep)
			return -EINVAL;
	}
	if (v[2] > 0x1f || v[3] > 7)
		return -EINVAL;
	snprintf(out, VFIO_BDF_LEN, "%04lx:%02lx:%02lx.%lx", v[0], v[1], v[2], v[3]);
	return 0;
}

/* "0x..." as the kernel prints it: hex with the prefix, nothing else. */
static bool parse_hex_token(const char *tok, uint64_t *out)
{
	char *end;

	if (tok[0] != '0' || (tok[1] != 'x' && tok[1] != 'X') || !isxdigit((unsigned char)tok[2]))
		return false;
	errno = 0;
	*out = strtoull(tok + 2, &end, 16);
	return !errno && !*end;
}

/*
 * The next line of @*text split at blanks into at most @max tokens in @line
 * (which they point into). Returns the token count, -ENODATA at the end of
 * the text, -EINVAL for a line too long or with too many tokens.
 */
static int next_line(const char **text, char *line, size_t len, char **tok, unsigned int max)
{
	const char *nl = strchr(*text, '\n');
	size_t n = nl ? (size_t)(nl - *text) : strlen(*text);
	unsigned int ntok = 0;
	char *save = NULL;

	if (!**text)
		return -ENODATA;
	if (n >= len)
		return -EINVAL;
	memcpy(line, *text, n);
	line[n] = '\0';
	*text += n + (nl ? 1 : 0);
	for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (ntok == max)
			return -EINVAL;
		tok[ntok++] = t;
	}
	return (int)ntok;
}

int vfio_parse_resv(const char *text, struct vfio_resv *out, unsigned int max)
{
	unsigned int n = 0;
	char line[128], *tok[4];
	int ntok;

	while ((ntok = next_line(&text, line, sizeof(line), tok, ARRAY_SIZE(tok))) != -ENODATA) {
		struct vfio_resv r = { 0 };

		if (ntok == 0)
			continue;	/* blank line */
		if (ntok != 3 || !parse_hex_token(tok[0], &r.start) ||
		    !parse_hex_token(tok[1], &r.end) || r.end < r.start ||
		    strlen(tok[2]) >= sizeof(r.type))
			return -EINVAL;
		strcpy(r.type, tok[2]);
		if (n == max)
			return -ENOSPC;
		out[n++] = r;
	}
	return (int)n;
}

int vfio_parse_resource(const char *text, struct vfio_bar_info out[VFIO_NR_RESOURCES])
{
	char line[128], *tok[4];

	for (unsigned int i = 0; i < VFIO_NR_RESOURCES; i++) {
		uint64_t start, end, flags;

		if (next_line(&text, line, sizeof(line), tok, ARRAY_SIZE(tok)) != 3 ||
		    !parse_hex_token(tok[0], &start) || !parse_hex_token(tok[1], &end) ||
		    !parse_hex_token(tok[2], &flags) || end < start)
			return -EINVAL;
		out[i].start = start;
		out[i].flags = flags;
		out[i].size = (start || end) ? end - start + 1 : 0;
	}
	return 0;
}

int vfio_parse_intr(const uint8_t *cfg, size_t len, struct vfio_intr_info *out)
{
	uint8_t hdr[PCI_CFG_LEGACY_SIZE] = { 0 };
	unsigned int pos;

	memset(out, 0, sizeof(*out));
	if (len < PCI_STD_HEADER_SIZEOF)
		return -EINVAL;
	out->pin = cfg[PCI_INTERRUPT_PIN];
	/*
	 * Capabilities live above 0x40; an unprivileged reader of sysfs gets
	 * only the first 64 bytes, and zeroes there would read as "no MSI".
	 */
	if (len < PCI_CFG_LEGACY_SIZE)
		return 0;
	out->caps_read = true;
	memcpy(hdr, cfg, PCI_CFG_LEGACY_SIZE);

	pos = pci_cap_find(hdr, PCI_CAP_ID_MSI);
	if (pos && pos + PCI_MSI_FLAGS + 2 <= PCI_CFG_LEGACY_SIZE) {
		uint16_t ctl = (uint16_t)le_read(hdr + pos + PCI_MSI_FLAGS, 2);
		unsigned int log2 = (ctl & PCI_MSI_FLAGS_QMASK) >> 1;

		out->msi = true;
		/* 110b and 111b are reserved (PCI 3.0 6.8.1.3); 32 is the most there is. */
		out->msi_vectors = 1u << MIN(log2, 5u);
		out->msi_64bit = ctl & PCI_MSI_FLAGS_64BIT;
		out->msi_maskable = ctl & PCI_MSI_FLAGS_MASKBIT;
	}
	pos = pci_cap_find(hdr, PCI_CAP_ID_MSIX);
	if (pos && pos + PCI_MSIX_PBA + 4 <= PCI_CFG_LEGACY_SIZE) {
		uint16_t ctl = (uint16_t)le_read(hdr + pos + PCI_MSIX_FLAGS, 2);
		uint32_t table = (uint32_t)le_read(hdr + pos + PCI_MSIX_TABLE, 4);
		uint32_t pba = (uint32_t)le_read(hdr + pos + PCI_MSIX_PBA, 4);

		out->msix = true;
		out->msix_vectors = (ctl & PCI_MSIX_FLAGS_QSIZE) + 1;
		out->msix_table_bir = table & PCI_MSIX_TABLE_BIR;
		out->msix_table_off = table & PCI_MSIX_TABLE_OFFSET;
		out->msix_pba_bir = pba & PCI_MSIX_PBA_BIR;
		out->msix_pba_off = pba & PCI_MSIX_PBA_OFFSET;
	}
	return 0;
}

/* Lookups. */

int vfio_sysfs_group(const char *root, const char *bdf)
{
	char path[PATH_MAX], name[32], *end;
	unsigned long group;
	int ret = device_exists(root, bdf);

	if (ret)
		return ret;
	ret = path_fmt(path, sizeof(path), root, DEVS "/%s/iommu_group", bdf);
	if (!ret)
		ret = read_link_base(path, name, sizeof(name));
	if (ret)
		return ret;
	errno = 0;
	group = strtoul(name, &end, 10);
	if (errno || end == name || *end || !isdigit((unsigned char)name[0]) || group > INT_MAX)
		return -EINVAL;
	return (int)group;
}

int vfio_sysfs_link(const char *root, const char *bdf, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	int ret = device_exists(root, bdf);

	if (!ret)
		ret = path_fmt(path, sizeof(path), root, DEVS "/%s/%s", bdf, name);
	return ret ? ret : read_link_base(path, buf, len);
}

int vfio_sysfs_uint(const char *root, const char *bdf, const char *name, unsigned int *out)
{
	unsigned long v;
	int ret = device_exists(root, bdf);

	if (!ret)
		ret = read_num_attr(root, bdf, name, 10, &v);
	if (ret)
		return ret;
	if (v > UINT_MAX)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

int vfio_sysfs_driver(const char *root, const char *bdf, char *buf, size_t len)
{
	int ret = vfio_sysfs_link(root, bdf, "driver", buf, len);

	if (ret == -ENOENT) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	return ret;
}

int vfio_sysfs_resv(const char *root, int group, struct vfio_resv *out, unsigned int max)
{
	char path[PATH_MAX], text[4096];
	int ret = path_fmt(path, sizeof(path), root, GROUPS "/%d/reserved_regions", group);

	if (!ret)
		ret = read_text(path, text, sizeof(text));
	if (ret)
		return ret;
	return vfio_parse_resv(text, out, max);
}

/* The entries of root + @rel, sorted; *@names is for free_names. */
static int match_entry(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int scan(const char *root, const char *rel, struct dirent ***names)
{
	char path[PATH_MAX];
	int n, ret = path_fmt(path, sizeof(path), root, "%s", rel);

	if (ret)
		return ret;
	n = scandir(path, names, match_entry, alphasort);
	return n < 0 ? -errno : n;
}

static void free_names(struct dirent **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int group_members(const char *root, int group, struct dirent ***names)
{
	char rel[64];

	snprintf(rel, sizeof(rel), GROUPS "/%d/devices", group);
	return scan(root, rel, names);
}

/* Number of groups the IOMMU made; 0 or -ENOENT when it is off or missing. */
static int count_groups(const char *root)
{
	struct dirent **names;
	int n = scan(root, GROUPS, &names);

	if (n >= 0)
		free_names(names, n);
	return n;
}

/*
 * The commands that bind @bdf to vfio-pci, into @w: unbind from @driver
 * (when there is one), driver_override so that no other driver takes it,
 * and drivers_probe. vfio-pci must be loaded for the probe to find it.
 */
static void put_bind_commands(FILE *w, const char *root, const char *bdf, const char *driver)
{
	char drv_dir[PATH_MAX];

	if (!path_fmt(drv_dir, sizeof(drv_dir), root, "/sys/bus/pci/drivers/vfio-pci") &&
	    !path_exists(drv_dir))
		fprintf(w, "modprobe vfio-pci; ");
	if (*driver)
		fprintf(w, "echo %s > %s" DEVS "/%s/driver/unbind; ", bdf, root, bdf);
	fprintf(w, "echo vfio-pci > %s" DEVS "/%s/driver_override; "
		"echo %s > %s/sys/bus/pci/drivers_probe", root, bdf, bdf, root);
}

/*
 * The group's members other than @bdf that make it not viable, as
 * "BDF (driver)" and as unbind commands, into @list and @cmds. Returns
 * their number, or negative errno when the group cannot be listed.
 */
static int put_blockers(FILE *list, FILE *cmds, const char *root, const char *bdf, int group)
{
	struct dirent **names;
	int found = 0, n = group_members(root, group, &names);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		const char *m = names[i]->d_name;
		char drv[64];
		unsigned long class = 0;

		if (!strcmp(m, bdf) || vfio_sysfs_driver(root, m, drv, sizeof(drv)))
			continue;
		if (driver_keeps_group_viable(drv) ||
		    (!read_hex_attr(root, m, "class", &class) && is_bridge_class(class)))
			continue;
		fprintf(list, "%s%s (%s)", found ? ", " : "", m, drv);
		fprintf(cmds, "%secho %s > %s" DEVS "/%s/driver/unbind", found ? "; " : "", m, root, m);
		found++;
	}
	free_names(names, n);
	return found;
}

/* put_blockers into two strings (the caller frees them, also on error). */
static int blockers_text(const char *root, const char *bdf, int group, char **list, char **cmds)
{
	size_t llen, clen;
	FILE *lw = open_memstream(list, &llen), *cw = open_memstream(cmds, &clen);
	int n = lw && cw ? put_blockers(lw, cw, root, bdf, group) : -ENOMEM;

	if (lw)
		fclose(lw);
	if (cw)
		fclose(cw);
	return n;
}

/* Explanations: one pr_err line each. */

void vfio_explain_no_vfio(void)
{
	pr_err("/dev/vfio/vfio does not exist: the VFIO modules are not loaded; load them with: "
	       "modprobe vfio-pci vfio_iommu_type1");
}

void vfio_explain_no_iommu_model(void)
{
	pr_err("VFIO offers no type1 IOMMU model (VFIO_CHECK_EXTENSION(VFIO_TYPE1v2_IOMMU) is 0): "
	       "load it with: modprobe vfio_iommu_type1");
}

void vfio_explain_no_device(const char *bdf)
{
	pr_err("there is no PCI device %s (no " DEVS "/%s); lspci -D lists the devices", bdf, bdf);
}

void vfio_explain_no_group(const char *bdf)
{
	pr_err("%s has no IOMMU group (no " DEVS "/%s/iommu_group): the IOMMU is off or missing; %s",
	       bdf, bdf, IOMMU_HOWTO);
}

void vfio_explain_not_bound(const char *root, const char *bdf, const char *driver)
{
	char actual[64], *cmds = NULL;
	size_t len = 0;
	FILE *w = open_memstream(&cmds, &len);
	int group;

	/* A caller that could not tell passes "": look once more, not to claim "no driver". */
	if ((!driver || !*driver) && !vfio_sysfs_driver(root, bdf, actual, sizeof(actual)))
		driver = actual;
	if (!driver)
		driver = "";
	if (!w) {
		pr_err("%s is not bound to vfio-pci", bdf);
		return;
	}
	put_bind_commands(w, root, bdf, driver);
	fclose(w);
	if (strcmp(driver, "vfio-pci"))
		pr_err("%s is bound to %s, not vfio-pci; bind it with: %s", bdf,
		       *driver ? driver : "no driver", cmds);
	else if ((group = vfio_sysfs_group(root, bdf)) < 0)
		vfio_explain_no_group(bdf);
	else	/* Then the group node is what is missing: a container's own /dev, typically. */
		pr_err("%s is bound to vfio-pci, but its group node %s/dev/vfio/%d is missing: in a "
		       "container, pass it in (docker run --device /dev/vfio/%d); on the host, bind "
		       "it again: %s", bdf, root, group, group, cmds);
	free(cmds);
}

void vfio_explain_not_viable(const char *root, const char *bdf, int group)
{
	char *list = NULL, *cmds = NULL;
	int n = blockers_text(root, bdf, group, &list, &cmds);

	if (n < 0) {
		pr_err("IOMMU group %d of %s is not viable, and its members cannot be listed "
		       "(%s" GROUPS "/%d/devices: %s): every device in the group must be bound to "
		       "vfio-pci, pci-stub or no driver", group, bdf, root, group, strerror(-n));
	} else if (n == 0) {
		/* VFIO and sysfs disagree, or a member changed driver meanwhile. */
		pr_err("IOMMU group %d of %s is not viable, yet every other member reads as bound to "
		       "vfio-pci, pci-stub, no driver or a bridge; see ls -l %s" GROUPS "/%d/devices/*/driver",
		       group, bdf, root, group);
	} else {
		/* pr_err's line holds about 1000 bytes; past that, say the command once. */
		pr_err("IOMMU group %d of %s is not viable: it also holds %s; every device in a group "
		       "must be bound to vfio-pci, pci-stub or no driver (bridges, class 0604, may stay "
		       "as they are); unbind %s with: %s", group, bdf, list,
		       n == 1 ? "it" : "them",
		       strlen(list) + strlen(cmds) > 600 ?
		       "echo BDF > " DEVS "/BDF/driver/unbind for each" : cmds);
	}
	free(list);
	free(cmds);
}

static const char *user_name(void)
{
	const struct passwd *pw = getpwuid(geteuid());

	return pw ? pw->pw_name : "$USER";
}

void vfio_explain_access(const char *bdf, int group)
{
	pr_err("permission denied on /dev/vfio/%d (the IOMMU group of %s): run kvmio as root, or "
	       "give the node to your user: sudo chown %s /dev/vfio/%d (until reboot; a udev rule "
	       "SUBSYSTEM==\"vfio\", OWNER=\"%s\" makes it last)", group, bdf, user_name(), group,
	       user_name());
}

void vfio_explain_busy(const char *bdf, int group)
{
	pr_err("/dev/vfio/%d (the IOMMU group of %s) is in use by another process; "
	       "fuser -v /dev/vfio/%d names it", group, bdf, group);
}

void vfio_explain_memlock(uint64_t need)
{
	struct rlimit rl;
	uint64_t need_kib = (need + KiB - 1) / KiB;

	if (getrlimit(RLIMIT_MEMLOCK, &rl)) {
		pr_err("VFIO must lock %" PRIu64 " KiB of guest RAM and RLIMIT_MEMLOCK cannot be read "
		       "(%s); raise it with: ulimit -l %" PRIu64, need_kib, strerror(errno), need_kib);
		return;
	}
	if (rl.rlim_cur == RLIM_INFINITY) {
		pr_err("VFIO could not lock %" PRIu64 " KiB of guest RAM although RLIMIT_MEMLOCK is "
		       "unlimited; the host may be short of memory", need_kib);
		return;
	}
	/* vfio_iommu_type1 skips the limit for CAP_IPC_LOCK, hence "as root". */
	pr_err("VFIO must lock all guest RAM (%" PRIu64 " KiB) but RLIMIT_MEMLOCK is %llu KiB "
	       "(hard limit %s%llu KiB): run kvmio as root, or raise it with: ulimit -l %" PRIu64
	       " (in the shell that starts kvmio; above the hard limit needs root), or for every "
	       "login add to /etc/security/limits.conf: %s - memlock %" PRIu64,
	       need_kib, (unsigned long long)rl.rlim_cur / 1024,
	       rl.rlim_max == RLIM_INFINITY ? "unlimited, " : "",
	       rl.rlim_max == RLIM_INFINITY ? 0ULL : (unsigned long long)rl.rlim_max / 1024,
	       need_kib, user_name(), need_kib);
}

/* check-device. */

/* "4 KiB", "1 MiB", "96 bytes": the largest binary unit that divides @n. */
static void format_size(uint64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned int u = 0;

	while (n && !(n & 1023) && u + 1 < ARRAY_SIZE(unit)) {
		n >>= 10;
		u++;
	}
	snprintf(buf, len, "%" PRIu64 " %s", n, unit[u]);
}

static void put_label(FILE *out, const char *label)
{
	fprintf(out, "%-*s ", LABEL_W, label);
}

static void report_bars(FILE *out, const char *root, const char *bdf)
{
	struct vfio_bar_info bar[VFIO_NR_RESOURCES];
	char path[PATH_MAX], text[4096], size[32], label[16];
	unsigned int used = 0;
	int ret = path_fmt(path, sizeof(path), root, DEVS "/%s/resource", bdf);

	if (!ret)
		ret = read_text(path, text, sizeof(text));
	if (!ret)
		ret = vfio_parse_resource(text, bar);
	if (ret) {
		put_label(out, "BARs:");
		fprintf(out, "unknown (%s: %s)\n", path, strerror(-ret));
		return;
	}
	for (unsigned int i = 0; i < VFIO_NR_RESOURCES; i++) {
		const struct vfio_bar_info *b = &bar[i];
		bool rom = i == VFIO_NR_RESOURCES - 1;

		if (rom && !used) {
			put_label(out, "BARs:");
			fprintf(out, "none\n");
		}
		if (!b->size && !rom)
			continue;
		snprintf(label, sizeof(label), rom ? "ROM:" : "BAR%u:", i);
		put_label(out, label);
		if (!b->size) {
			fprintf(out, "none\n");
			continue;
		}
		format_size(b->size, size, sizeof(size));
		if (rom)
			fprintf(out, "%s", size);
		else if (b->flags & RES_IO)
			fprintf(out, "io %s", size);
		else if (b->flags & RES_MEM)
			fprintf(out, "%s%s %s", b->flags & RES_MEM_64 ? "mem64" : "mem32",
				b->flags & RES_PREFETCH ? " prefetchable" : "", size);
		else
			fprintf(out, "%s, type unknown (flags 0x%" PRIx64 ")", size, b->flags);
		fprintf(out, " at 0x%" PRIx64 "\n", b->start);
		used++;
	}
}

static void report_intr(FILE *out, const char *root, const char *bdf, bool *is_bridge)
{
	uint8_t cfg[PCI_CFG_SIZE];
	struct vfio_intr_info in;
	char path[PATH_MAX];
	ssize_t n = -ENAMETOOLONG;

	put_label(out, "interrupts:");
	if (!path_fmt(path, sizeof(path), root, DEVS "/%s/config", bdf))
		n = read_bytes(path, cfg, sizeof(cfg));
	if (n < 0 || vfio_parse_intr(cfg, (size_t)n, &in)) {
		fprintf(out, "unknown (%s: %s)\n", path,
			n < 0 ? strerror((int)-n) : "shorter than the 64-byte header");
		return;
	}
	*is_bridge = (cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK) != PCI_HEADER_TYPE_NORMAL;
	/* A VF has no INTx (SR-IOV 1.1 3.5.5); vfio-pci offers none, whatever the pin reads. */
	if (in.pin && !vfio_sysfs_link(root, bdf, "physfn", path, sizeof(path)))
		fprintf(out, "no INTx (a VF%s)", in.pin <= 4 ? " whose pin register says otherwise" : "");
	else if (!in.pin)
		fprintf(out, "no INTx");
	else if (in.pin <= 4)
		fprintf(out, "INTx pin %c", 'A' + in.pin - 1);
	else
		fprintf(out, "INTx pin invalid (%u)", in.pin);
	if (!in.caps_read) {
		fprintf(out, "; MSI and MSI-X unknown (only %zd bytes of config space readable: "
			"run as root to see them)\n", n);
		return;
	}
	if (in.msi)
		fprintf(out, "; MSI %u vector%s%s%s", in.msi_vectors, in.msi_vectors == 1 ? "" : "s",
			in.msi_64bit ? ", 64-bit" : ", 32-bit",
			in.msi_maskable ? ", per-vector masking" : "");
	else
		fprintf(out, "; no MSI");
	if (in.msix)
		fprintf(out, "; MSI-X %u vector%s, table BAR%u+0x%x, PBA BAR%u+0x%x\n",
			in.msix_vectors, in.msix_vectors == 1 ? "" : "s", in.msix_table_bir,
			in.msix_table_off, in.msix_pba_bir, in.msix_pba_off);
	else
		fprintf(out, "; no MSI-X\n");
}

static void report_reset(FILE *out, const char *root, const char *bdf)
{
	char path[PATH_MAX], text[128];
	int ret;

	put_label(out, "reset:");
	ret = path_fmt(path, sizeof(path), root, DEVS "/%s/reset_method", bdf);
	if (!ret)
		ret = read_text(path, text, sizeof(text));
	if (!ret) {
		fprintf(out, "%s\n", *text ? text : "none");
		return;
	}
	if (ret != -ENOENT) {
		fprintf(out, "unknown (%s: %s)\n", path, strerror(-ret));
		return;
	}
	/* Before 5.15 only `reset` exists, and only when some method does. */
	if (!path_fmt(path, sizeof(path), root, DEVS "/%s/reset", bdf) && path_exists(path))
		fprintf(out, "unknown (no reset_method file); the reset file says there is one\n");
	else
		fprintf(out, "unknown (no reset_method file)\n");
}

/* "7  (members: 0000:00:03.0 vfio-pci, ...)" */
static void report_group(FILE *out, const char *root, int group)
{
	struct dirent **names;
	int n = group_members(root, group, &names);

	put_label(out, "IOMMU group:");
	if (n < 0) {
		fprintf(out, "%d  (members unknown: %s" GROUPS "/%d/devices: %s)\n", group, root,
			group, strerror(-n));
		return;
	}
	fprintf(out, "%d  (members:", group);
	for (int i = 0; i < n; i++) {
		char drv[64];
		unsigned long class;
		int ret = vfio_sysfs_driver(root, names[i]->d_name, drv, sizeof(drv));

		fprintf(out, "%s %s %s", i ? "," : "", names[i]->d_name,
			ret ? "driver unknown" : *drv ? drv : "no driver");
		if (!read_hex_attr(root, names[i]->d_name, "class", &class) && is_bridge_class(class))
			fprintf(out, " (bridge)");
	}
	fprintf(out, ")\n");
	free_names(names, n);
}

static void report_memlock(FILE *out)
{
	struct rlimit rl;

	put_label(out, "locked memory:");
	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		fprintf(out, "unknown (%s)\n", strerror(errno));
	else if (rl.rlim_cur == RLIM_INFINITY)
		fprintf(out, "unlimited\n");
	else
		fprintf(out, "%llu KiB limit (%s)\n", (unsigned long long)rl.rlim_cur / 1024,
			geteuid() ? "VFIO locks all guest RAM: raise it with ulimit -l, or run as root" :
				    "VFIO ignores it for root, which has CAP_IPC_LOCK");
}

static void report_resv(FILE *out, const char *root, int group)
{
	struct vfio_resv resv[16];
	int n = vfio_sysfs_resv(root, group, resv, ARRAY_SIZE(resv));

	put_label(out, "reserved IOVA:");
	if (n < 0)
		fprintf(out, "unknown (%s)", strerror(-n));
	else if (n == 0)
		fprintf(out, "none");
	for (int i = 0; i < n; i++)
		fprintf(out, "%s0x%" PRIx64 "-0x%" PRIx64 " %s", i ? ", " : "", resv[i].start,
			resv[i].end, resv[i].type);
	fprintf(out, "\n");
}

/* What the report found, for the verdict. */
struct facts {
	const char *root;
	char bdf[VFIO_BDF_LEN];
	char drv[64];
	bool drv_known, bound, have_vfio, have_type1, is_bridge;
	int group;			/* or negative errno */
	char group_node[PATH_MAX];	/* "" when there is no group */
};

static void report_nodes(FILE *out, struct facts *f)
{
	char vfio_node[PATH_MAX];

	f->have_vfio = !path_fmt(vfio_node, sizeof(vfio_node), f->root, "/dev/vfio/vfio") &&
		       path_exists(vfio_node);
	fprintf(out, "%s: %s", vfio_node, f->have_vfio ? "present" : "missing");
	/* Without the type1 IOMMU model /dev/vfio/vfio opens but has nothing to offer. */
	f->have_type1 = !path_fmt(vfio_node, sizeof(vfio_node), f->root,
				  "/sys/module/vfio_iommu_type1") && path_exists(vfio_node);
	if (f->have_vfio && !f->have_type1)
		fprintf(out, " (no vfio_iommu_type1 module)");
	if (f->group < 0 ||
	    path_fmt(f->group_node, sizeof(f->group_node), f->root, "/dev/vfio/%d", f->group)) {
		f->group_node[0] = '\0';
		fprintf(out, "\n");
		return;
	}
	fprintf(out, ";  %s: ", f->group_node);
	if (!path_exists(f->group_node))
		fprintf(out, "missing%s\n", f->bound ? "" : " (appears when vfio-pci takes the device)");
	else if (access(f->group_node, R_OK | W_OK))
		fprintf(out, "present, but not readable and writable by you (run as root)\n");
	else
		fprintf(out, "present\n");
}

/* Adds "; " between the verdict's reasons. */
static void __attribute__((format(printf, 3, 4)))
put_reason(FILE *why, unsigned int *n, const char *fmt, ...)
{
	va_list ap;

	if ((*n)++)
		fputs("; ", why);
	va_start(ap, fmt);
	vfprintf(why, fmt, ap);
	va_end(ap);
}

/* Every reason @f cannot be assigned, each with what to do, into @why. */
static unsigned int put_reasons(FILE *why, const struct facts *f)
{
	unsigned int n = 0;

	if (f->is_bridge)
		put_reason(why, &n, "it is a bridge (header type not 0), and vfio-pci only takes "
			   "endpoints");
	if (f->group == -ENOENT)
		put_reason(why, &n, "it has no IOMMU group: %s", IOMMU_HOWTO);
	else if (f->group < 0)
		put_reason(why, &n, "its IOMMU group cannot be read (%s)", strerror(-f->group));
	if (f->group >= 0) {
		char *list = NULL, *cmds = NULL;
		int blockers = blockers_text(f->root, f->bdf, f->group, &list, &cmds);

		if (blockers > 0)
			put_reason(why, &n, "IOMMU group %d also holds %s, which must be bound to "
				   "vfio-pci, pci-stub or no driver; unbind %s with: %s", f->group, list,
				   blockers == 1 ? "it" : "them", cmds);
		else if (blockers < 0)
			put_reason(why, &n, "the members of IOMMU group %d cannot be listed (%s)",
				   f->group, strerror(-blockers));
		free(list);
		free(cmds);
	}
	if (!f->have_vfio)
		put_reason(why, &n, "no %s/dev/vfio/vfio: load VFIO with: modprobe vfio-pci "
			   "vfio_iommu_type1", f->root);
	else if (!f->have_type1)
		put_reason(why, &n, "VFIO has no IOMMU model: load it with: modprobe vfio_iommu_type1");
	if (!f->drv_known) {
		put_reason(why, &n, "its driver cannot be read");
	} else if (!f->bound) {
		put_reason(why, &n, "it is bound to %s, not vfio-pci; bind it with: ",
			   *f->drv ? f->drv : "no driver");
		put_bind_commands(why, f->root, f->bdf, f->drv);
	} else if (*f->group_node && !path_exists(f->group_node)) {
		put_reason(why, &n, "%s is missing although vfio-pci has the device", f->group_node);
	}
	return n;
}

int vfio_check_device(const char *root, const char *arg, FILE *out)
{
	struct facts f = { .root = root };
	unsigned long vendor, device, class;
	char *why = NULL;
	size_t why_len = 0;
	FILE *why_w;
	int ret, groups;

	if (vfio_bdf_parse(arg, f.bdf)) {
		fprintf(out, "'%s' is not a PCI address: give it as DDDD:BB:DD.F or BB:DD.F "
			"(hex, as lspci -D prints it)\n", arg ? arg : "");
		return 2;
	}
	if (device_exists(root, f.bdf)) {
		fprintf(out, "%s  no such device (no %s" DEVS "/%s)\n", f.bdf, root, f.bdf);
		put_label(out, "verdict:");
		fprintf(out, "cannot be assigned: there is no such device; lspci -D lists them\n");
		return 1;
	}

	fprintf(out, "%s", f.bdf);
	if (!read_hex_attr(root, f.bdf, "vendor", &vendor) &&
	    !read_hex_attr(root, f.bdf, "device", &device))
		fprintf(out, "  %04lx:%04lx", vendor, device);
	else
		fprintf(out, "  vendor:device unknown");
	if (!read_hex_attr(root, f.bdf, "class", &class))
		fprintf(out, "  class %06lx\n", class);
	else
		fprintf(out, "  class unknown\n");

	put_label(out, "driver:");
	ret = vfio_sysfs_driver(root, f.bdf, f.drv, sizeof(f.drv));
	f.drv_known = !ret;
	f.bound = f.drv_known && !strcmp(f.drv, "vfio-pci");
	if (!f.drv_known)
		fprintf(out, "unknown (%s)\n", strerror(-ret));
	else
		fprintf(out, "%s (%s)\n", *f.drv ? f.drv : "none", f.bound ? "ok" : "must be vfio-pci");

	f.group = vfio_sysfs_group(root, f.bdf);
	if (f.group >= 0) {
		report_group(out, root, f.group);
	} else {
		put_label(out, "IOMMU group:");
		if (f.group == -ENOENT)
			fprintf(out, "none (no %s" DEVS "/%s/iommu_group)\n", root, f.bdf);
		else
			fprintf(out, "unknown (%s)\n", strerror(-f.group));
	}
	put_label(out, "IOMMU:");
	groups = count_groups(root);
	if (groups > 0)
		fprintf(out, "present (%d group%s)%s\n", groups, groups == 1 ? "" : "s",
			f.group == -ENOENT ? ", but not for this device" : "");
	else if (f.group >= 0)
		fprintf(out, "present\n");
	else
		fprintf(out, "none found (no groups in %s" GROUPS "): off or missing\n", root);
	report_nodes(out, &f);
	report_reset(out, root, f.bdf);
	report_bars(out, root, f.bdf);
	report_intr(out, root, f.bdf, &f.is_bridge);
	vfio_report_sriov(out, root, f.bdf, LABEL_W);
	if (f.group >= 0)
		report_resv(out, root, f.group);
	report_memlock(out);

	put_label(out, "verdict:");
	why_w = open_memstream(&why, &why_len);
	if (!why_w) {
		fprintf(out, "unknown (out of memory)\n");
		return 1;
	}
	ret = put_reasons(why_w, &f) ? 1 : 0;
	fclose(why_w);
	if (ret)
		fprintf(out, "cannot be assigned: %s\n", why);
	else
		fprintf(out, "can be assigned\n");
	free(why);
	return ret;
}
