// SPDX-License-Identifier: Apache-2.0
/*
 * kvmio command line. Exit status: 0 when the guest powers off or reboots
 * (or Ctrl-A x), 1 on a runtime error, 2 on a usage error, 128+N on signal N.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <signal.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/linux.h"
#include "util.h"
#include "vfio/sysfs.h"
#include "vfio/vfio.h"
#include "api/api.h"
#include "dev.h"
#include "sandbox.h"
#include "virtio/net.h"
#include "vm.h"


#define EXIT_USAGE 2

#define MEM_MIN		(32 * MiB)
#define MEM_MAX		(1 * TiB)
#define CPUS_MAX	254	/* xAPIC IDs 0-254; 255 is broadcast */

#define DEVICE_USAGE "vfio=BDF[,id=ID][,request-timeout=S][,vf-token=UUID][,rom=PATH][,vga=on|off]"

static const char usage_main[] =
	"Usage: kvmio COMMAND [OPTIONS]\n"
	"\n"
	"kvmio is a small KVM virtual machine monitor for Linux guests.\n"
	"\n"
	"Commands:\n"
	"  run            boot a Linux kernel in a new VM (see 'kvmio run --help')\n"
	"  check-device BDF\n"
	"                 say whether host PCI device BDF can be assigned to a VM\n"
	"                 (--device vfio=BDF) and why not, without starting one\n"
	"  remote         talk to a running kvmio's control socket: pause, add a disk...\n"
	"                 (see 'kvmio remote --help')\n"
	"\n"
	"Options:\n"
	"  -h, --help     show this help and exit\n"
	"  -V, --version  show the version and exit\n";

static const char usage_run[] =
	"Usage: kvmio run --kernel PATH [OPTIONS]\n"
	"\n"
	"Boot a Linux bzImage or vmlinux through the 64-bit boot protocol.\n"
	"\n"
	"  -k, --kernel PATH       bzImage or uncompressed vmlinux (ELF) to boot\n"
	"                          (required)\n"
	"  -i, --initrd PATH       initial ramdisk\n"
	"  -c, --cmdline STRING    kernel command line (default: \"console=ttyS0\")\n"
	"  -p, --cpus N            number of vCPUs, 1-254 (default: 1)\n"
	"  -m, --memory SIZE       guest RAM, with optional K/M/G/T suffix, 32M-1T,\n"
	"                          a multiple of 4K (default: 512M)\n"
	"  -s, --serial MODE       COM1 (ttyS0): stdio (default; none when --console is\n"
	"                          stdio), file=PATH, or none\n"
	"  -d, --disk PATH[,readonly=on][,serial=STR][,id=ID]\n"
	"                          virtio-blk disk on a raw image (repeatable, up to 8)\n"
	"  -n, --net tap=IFNAME[,mac=MAC][,tx-usecs=auto|N][,id=ID]\n"
	"                          virtio-net on a tap device, created if missing\n"
	"                          (repeatable, up to 4; MAC default: stable, from IFNAME;\n"
	"                          tx-usecs: TX moderation, a tick every N us while frames\n"
	"                          keep coming, 0 (off) to 10000; auto (default): only\n"
	"                          for one-way bulk streams, paced by the guest's kicks)\n"
	"      --rng               virtio-rng, fed from getrandom()\n"
	"      --poll US           virtio device threads poll up to US microseconds for\n"
	"                          the guest's next kick before they sleep, adapting as\n"
	"                          QEMU's iothreads (poll-max-ns): cheaper notifications\n"
	"                          for some CPU; 0 (off) to 1000, default 32\n"
	"      --console MODE      virtio console (hvc0): stdio, file=PATH, or none (default);\n"
	"                          with stdio the default command line is \"console=hvc0\"\n"
	"      --device " DEVICE_USAGE "\n"
	"                          assign host PCI device BDF ([DDDD:]BB:DD.F), bound to\n"
	"                          vfio-pci, to the guest (repeatable, up to 8; see\n"
	"                          'kvmio check-device BDF'). When the host unbinds it, the\n"
	"                          guest is asked to eject it and has S seconds (default\n"
	"                          10, 0: none) before it is removed anyway. vf-token: the\n"
	"                          token a VF needs when its PF is bound to vfio-pci; rom:\n"
	"                          the expansion ROM from a file; vga=on: legacy VGA memory\n"
	"                          and ports forwarded to the device\n"
	"      --iommu[=caching-mode=on|off]\n"
	"                          an emulated Intel VT-d (DMA remapping) in front of every\n"
	"                          PCI device: the guest's intel-iommu driver (intel_iommu=on)\n"
	"                          decides what each device may reach; virtio devices offer\n"
	"                          ACCESS_PLATFORM, assigned ones get the guest's mappings\n"
	"                          in their host IOMMU domain. caching-mode=off (default on)\n"
	"                          lets Linux batch its invalidations: faster, but not with\n"
	"                          --device vfio=\n"
	"      --api-socket PATH   serve the control API (HTTP/JSON, docs/api.md) on a Unix\n"
	"                          socket at PATH, mode 0600: 'kvmio remote' or curl\n"
	"                          --unix-socket PATH pause the VM, add and remove devices\n"
	"                          (ACPI hotplug), press the power button, shut it down\n"
	"      --user USER[:GROUP]\n"
	"                          once /dev/kvm, the images, taps and VFIO groups are open,\n"
	"                          leave root for USER (name or uid; GROUP: its own by\n"
	"                          default), with no capabilities; devices added later must\n"
	"                          be open to USER (docs/security.md)\n"
	"      --landlock          once set up, limit the files kvmio may open to those hot-add\n"
	"                          needs: the paths of --landlock-rules, /dev/net/tun,\n"
	"                          /dev/vfio, /sys (read)\n"
	"      --landlock-rules path=PATH[,access=r|rw]\n"
	"                          a file or directory hot-added devices may use (repeatable)\n"
	"      --seccomp on|log|off\n"
	"                          a seccomp filter on every thread once the VM is set up,\n"
	"                          an allow-list for its kind (main, vCPU, each device's\n"
	"                          worker): a call outside it stops kvmio with a line\n"
	"                          naming both (on, the default), or is logged by the\n"
	"                          kernel and allowed (log); see docs/security.md\n"
	"  -v, --verbose           more messages on stderr (repeat for debug)\n"
	"  -q, --quiet             only errors on stderr\n"
	"  -h, --help              show this help and exit\n"
	"\n"
	"With --serial stdio and a terminal on stdin, the terminal is in raw mode:\n"
	"Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A to the guest.\n"
	"\n"
	"ID: 1-31 of A-Z a-z 0-9 _ . -, not starting with _, naming the device in the\n"
	"control API; devices without one get a generated id starting with _.\n"
	"\n"
	"Exit status: 0 when the guest powers off or reboots (kvmio exits rather than\n"
	"restarting it), on Ctrl-A x or vm.shutdown; 1 on a runtime error (KVM error, guest crash);\n"
	"2 on a usage error; 128+N when stopped by signal N (SIGINT, SIGTERM, SIGHUP, SIGQUIT,\n"
	"SIGUSR2, SIGALRM).\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("kvmio: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see 'kvmio run --help')\n", stderr);
	return EXIT_USAGE;
}

static int check_readable(const char *what, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 || access(path, R_OK) < 0)
		return usage_error("%s '%s': %s", what, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return usage_error("%s '%s': not a regular file", what, path);
	return 0;
}

/* Refuse a kernel that is not a bootable bzImage or vmlinux before creating anything. */
static int check_kernel(const char *path)
{
	const char *why = NULL;
	struct stat st;
	void *map;
	int fd, ret;

	ret = check_readable("kernel", path);
	if (ret)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = usage_error("kernel '%s': %s", path, strerror(errno));
		goto out;
	}
	if (st.st_size == 0) {
		ret = usage_error("kernel '%s': empty file, not a bzImage or vmlinux", path);
		goto out;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		ret = usage_error("kernel '%s': %s", path, strerror(errno));
		goto out;
	}
	if (linux_kernel_parse(map, (size_t)st.st_size, &why))
		ret = usage_error("kernel '%s': %s", path, why);
	munmap(map, (size_t)st.st_size);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

static int parse_serial(const char *arg, struct vm_config *cfg)
{
	if (!strcmp(arg, "stdio")) {
		cfg->serial = SERIAL_STDIO;
	} else if (!strcmp(arg, "none")) {
		cfg->serial = SERIAL_NONE;
	} else if (!strncmp(arg, "file=", 5) && arg[5]) {
		cfg->serial = SERIAL_FILE;
		cfg->serial_path = arg + 5;
	} else {
		return usage_error("--serial '%s': expected stdio, file=PATH or none", arg);
	}
	return 0;
}

/*
 * Comma-separated options after a first positional value, as QEMU and
 * cloud-hypervisor write them: "PATH,readonly=on". Returns the next
 * "key=value" item of *@s (NUL-terminating it in place) or NULL at the end.
 */
static char *next_item(char **s)
{
	char *item = *s, *comma;

	if (!item || !*item)
		return NULL;
	comma = strchr(item, ',');
	*s = comma ? comma + 1 : NULL;
	if (comma)
		*comma = '\0';
	return item;
}

static bool parse_onoff(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes")) {
		*out = true;
		return true;
	}
	if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no")) {
		*out = false;
		return true;
	}
	return false;
}

static int parse_disk(char *arg, struct vm_config *cfg)
{
	struct disk_opts *d = &cfg->disks[cfg->ndisks];
	char *rest = arg, *item;

	if (cfg->ndisks == VM_MAX_DISKS)
		return usage_error("--disk: at most %d disks", VM_MAX_DISKS);
	memset(d, 0, sizeof(*d));
	while ((item = next_item(&rest))) {
		if (!strncmp(item, "path=", 5))
			d->path = item + 5;
		else if (!strncmp(item, "readonly=", 9)) {
			if (!parse_onoff(item + 9, &d->readonly))
				return usage_error("--disk: readonly='%s': expected on or off", item + 9);
		} else if (!strncmp(item, "serial=", 7)) {
			d->serial = item + 7;
			if (strlen(d->serial) > 20)
				return usage_error("--disk: serial '%s' is longer than 20 bytes", d->serial);
		} else if (!strncmp(item, "id=", 3)) {
			d->id = item + 3;
			if (!dev_id_valid(d->id))
				return usage_error("--disk: id '%s': expected 1-31 of A-Z a-z 0-9 _ . - "
						   "not starting with _", d->id);
		} else if (!d->path && !strchr(item, '='))
			d->path = item;
		else
			return usage_error("--disk: unknown option '%s' (expected PATH, readonly=on, serial=STR, "
					   "id=ID)", item);
	}
	if (!d->path || !*d->path)
		return usage_error("--disk: no image path given");
	cfg->ndisks++;
	return 0;
}

static int parse_net(char *arg, struct vm_config *cfg)
{
	struct net_opts *n = &cfg->nets[cfg->nnets];
	char *rest = arg, *item;

	if (cfg->nnets == VM_MAX_NETS)
		return usage_error("--net: at most %d network devices", VM_MAX_NETS);
	memset(n, 0, sizeof(*n));
	n->tx_usecs = VIRTIO_NET_TX_USECS_DEFAULT;
	while ((item = next_item(&rest))) {
		if (!strncmp(item, "tap=", 4)) {
			n->tap = item + 4;
			if (!*n->tap || strlen(n->tap) >= 16 || strchr(n->tap, '/'))
				return usage_error("--net: tap='%s': an interface name is 1-15 characters, no '/'",
						   n->tap);
		} else if (!strncmp(item, "mac=", 4)) {
			if (!parse_mac(item + 4, n->mac))
				return usage_error("--net: mac='%s': expected a unicast MAC such as 52:54:00:12:34:56",
						   item + 4);
			n->mac_given = true;
		} else if (!strcmp(item, "tx-usecs=auto")) {
			n->tx_usecs = VIRTIO_NET_TX_USECS_AUTO;
		} else if (!strncmp(item, "tx-usecs=", 9)) {
			unsigned long us;

			if (parse_uint(item + 9, 0, VIRTIO_NET_TX_USECS_MAX, &us))
				return usage_error("--net: tx-usecs='%s': expected auto or "
						   "microseconds, 0 to %d", item + 9,
						   VIRTIO_NET_TX_USECS_MAX);
			n->tx_usecs = (unsigned int)us;
		} else if (!strncmp(item, "id=", 3)) {
			n->id = item + 3;
			if (!dev_id_valid(n->id))
				return usage_error("--net: id '%s': expected 1-31 of A-Z a-z 0-9 _ . - "
						   "not starting with _", n->id);
		} else {
			return usage_error("--net: unknown option '%s' (expected tap=IFNAME, mac=MAC, "
					   "tx-usecs=auto|N, id=ID)", item);
		}
	}
	if (!n->tap)
		return usage_error("--net: tap=IFNAME is required");
	for (unsigned int i = 0; i < cfg->nnets; i++)
		if (!strcmp(cfg->nets[i].tap, n->tap))
			return usage_error("--net: tap '%s' given twice", n->tap);
	cfg->nnets++;
	return 0;
}

static int parse_console(const char *arg, struct vm_config *cfg)
{
	if (!strcmp(arg, "stdio")) {
		cfg->console = VCON_STDIO;
	} else if (!strcmp(arg, "none")) {
		cfg->console = VCON_NONE;
	} else if (!strncmp(arg, "file=", 5) && arg[5]) {
		cfg->console = VCON_FILE;
		cfg->console_path = arg + 5;
	} else {
		return usage_error("--console '%s': expected stdio, file=PATH or none", arg);
	}
	return 0;
}

/* --landlock-rules path=P[,access=r|rw]: a path hot-add may use; read-only by default. */
static int parse_landlock_rule(char *arg, struct vm_config *cfg)
{
	char *rest = arg, *item;
	const char *path = NULL;
	bool rw = false;

	if (cfg->nlandlock == VM_MAX_LANDLOCK)
		return usage_error("--landlock-rules: at most %d", VM_MAX_LANDLOCK);
	while ((item = next_item(&rest))) {
		if (!strncmp(item, "path=", 5) && item[5])
			path = item + 5;
		else if (!strcmp(item, "access=r") || !strcmp(item, "access=rw"))
			rw = !strcmp(item, "access=rw");
		else
			return usage_error("--landlock-rules: '%s': expected path=PATH[,access=r|rw]", item);
	}
	if (!path)
		return usage_error("--landlock-rules: path=PATH is required");
	cfg->landlock_rules[cfg->nlandlock].path = path;
	cfg->landlock_rules[cfg->nlandlock++].rw = rw;
	return 0;
}

/* --user USER[:GROUP]: names or numbers; the group defaults to the user's. */
static int parse_user(char *arg, struct vm_config *cfg)
{
	char *colon = strchr(arg, ':');
	unsigned long n;
	struct passwd *pw;
	struct group *gr;

	if (colon)
		*colon = '\0';
	if (!parse_uint(arg, 0, 0xfffffffe, &n)) {
		cfg->uid = (uid_t)n;
		pw = getpwuid(cfg->uid);
	} else if ((pw = getpwnam(arg))) {
		cfg->uid = pw->pw_uid;
	} else {
		return usage_error("--user '%s': no such user", arg);
	}
	if (colon) {
		if (!parse_uint(colon + 1, 0, 0xfffffffe, &n))
			cfg->gid = (gid_t)n;
		else if ((gr = getgrnam(colon + 1)))
			cfg->gid = gr->gr_gid;
		else
			return usage_error("--user: '%s': no such group", colon + 1);
	} else if (pw) {
		cfg->gid = pw->pw_gid;
	} else {
		return usage_error("--user %s: a user without an entry needs a group: --user %s:GID",
				   arg, arg);
	}
	if (cfg->uid == 0)
		return usage_error("--user: dropping to root (uid 0) is not dropping anything");
	cfg->drop_user = true;
	return 0;
}

static int parse_device(char *arg, struct vm_config *cfg)
{
	struct vfio_opts o = { .req_timeout_s = VFIO_REQ_TIMEOUT_S };
	unsigned long secs;
	char *rest, *item;

	if (strncmp(arg, "vfio=", 5))
		return usage_error("--device '%s': expected " DEVICE_USAGE, arg);
	rest = arg + 5;
	item = next_item(&rest);
	if (!item || vfio_bdf_parse(item, o.bdf))
		return usage_error("--device '%s': expected a PCI address such as 0000:01:00.0 or 01:00.0",
				   item ? item : arg);
	while ((item = next_item(&rest))) {
		if (!strncmp(item, "request-timeout=", 16)) {
			if (parse_uint(item + 16, 0, 3600, &secs))
				return usage_error("--device: request-timeout='%s': expected seconds, "
						   "0 to 3600", item + 16);
			o.req_timeout_s = (unsigned int)secs;
		} else if (!strncmp(item, "vf-token=", 9)) {
			if (!vfio_uuid_valid(item + 9))
				return usage_error("--device: vf-token='%s': expected a UUID such as "
						   "2ab74924-c335-45f4-9b16-8569e5b08258", item + 9);
			snprintf(o.vf_token, sizeof(o.vf_token), "%s", item + 9);
		} else if (!strncmp(item, "rom=", 4)) {
			if (!item[4])
				return usage_error("--device: rom= needs a file");
			o.rom = item + 4;
		} else if (!strncmp(item, "vga=", 4)) {
			if (!parse_onoff(item + 4, &o.vga))
				return usage_error("--device: vga='%s': expected on or off", item + 4);
		} else if (!strncmp(item, "id=", 3)) {
			o.id = item + 3;
			if (!dev_id_valid(o.id))
				return usage_error("--device: id '%s': expected 1-31 of A-Z a-z 0-9 _ . - "
						   "not starting with _", o.id);
		} else {
			return usage_error("--device: unknown option '%s' (expected " DEVICE_USAGE ")",
					   item);
		}
	}
	if (cfg->nvfio == VM_MAX_VFIO)
		return usage_error("--device: at most %d assigned devices", VM_MAX_VFIO);
	for (unsigned int i = 0; i < cfg->nvfio; i++)
		if (!strcmp(cfg->vfio[i].bdf, o.bdf))
			return usage_error("--device: %s given twice", o.bdf);
	cfg->vfio[cfg->nvfio++] = o;
	return 0;
}

static int cmd_check_device(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs("Usage: kvmio check-device BDF\n"
		      "\n"
		      "Say whether host PCI device BDF ([DDDD:]BB:DD.F) can be given to a VM with\n"
		      "--device vfio=BDF, and why not: driver binding, IOMMU group and members,\n"
		      "VFIO nodes, reset method, BARs and interrupts. Starts no VM.\n"
		      "\n"
		      "Exit status: 0 when it can be assigned, 1 when not, 2 on a usage error.\n",
		      stdout);
		return 0;
	}
	char bdf[VFIO_BDF_LEN];

	if (argc != 2)
		return usage_error("check-device: expected one PCI address (kvmio check-device BDF)");
	if (vfio_bdf_parse(argv[1], bdf))
		return usage_error("check-device '%s': expected a PCI address such as 0000:01:00.0 or 01:00.0",
				   argv[1]);
	return vfio_check_device("", bdf, stdout);
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "cpus", required_argument, NULL, 'p' },
		{ "memory", required_argument, NULL, 'm' },
		{ "serial", required_argument, NULL, 's' },
		{ "disk", required_argument, NULL, 'd' },
		{ "net", required_argument, NULL, 'n' },
		{ "rng", no_argument, NULL, 'R' },
		{ "poll", required_argument, NULL, 'P' },
		{ "console", required_argument, NULL, 'C' },
		{ "device", required_argument, NULL, 'D' },
		{ "iommu", optional_argument, NULL, 'I' },
		{ "api-socket", required_argument, NULL, 'A' },
		{ "seccomp", required_argument, NULL, 'S' },
		{ "user", required_argument, NULL, 'U' },
		{ "landlock", no_argument, NULL, 'L' },
		{ "landlock-rules", required_argument, NULL, 'W' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vm_config cfg = {
		.seccomp = SANDBOX_ON,
		.cmdline = NULL,
		.ncpus = 1,
		.mem_size = 512 * MiB,
		.serial = SERIAL_STDIO,
		.poll_us = POLL_US_DEFAULT,
	};
	bool serial_given = false;
	unsigned long n;
	struct vm vm;
	int c, ret;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":k:i:c:p:m:s:d:n:vqh", opts, NULL)) != -1) {
		switch (c) {
		case 'k': cfg.kernel = optarg; break;
		case 'i': cfg.initrd = optarg; break;
		case 'c': cfg.cmdline = optarg; break;
		case 'p':
			ret = parse_uint(optarg, 1, CPUS_MAX, &n);
			if (ret)
				return usage_error("--cpus '%s': expected a number from 1 to %d", optarg, CPUS_MAX);
			cfg.ncpus = (unsigned int)n;
			break;
		case 'm':
			ret = parse_size(optarg, &cfg.mem_size);
			if (ret)
				return usage_error("--memory '%s': expected a size such as 512M or 2G", optarg);
			if (cfg.mem_size < MEM_MIN || cfg.mem_size > MEM_MAX)
				return usage_error("--memory '%s': out of range (32M to 1T)", optarg);
			if (cfg.mem_size & (4 * KiB - 1))
				return usage_error("--memory '%s': not a multiple of 4K", optarg);
			break;
		case 's':
			ret = parse_serial(optarg, &cfg);
			if (ret)
				return ret;
			serial_given = true;
			break;
		case 'd':
			ret = parse_disk(optarg, &cfg);
			if (ret)
				return ret;
			break;
		case 'n':
			ret = parse_net(optarg, &cfg);
			if (ret)
				return ret;
			break;
		case 'R': cfg.rng = true; break;
		case 'P':
			if (parse_uint(optarg, 0, POLL_US_MAX, &n))
				return usage_error("--poll '%s': expected microseconds from 0 (off) to %d",
						   optarg, POLL_US_MAX);
			cfg.poll_us = (unsigned int)n;
			break;
		case 'I':
			cfg.iommu = true;
			/* Caching mode: on unless asked; off lets the guest batch invalidations. */
			if (optarg && !strcmp(optarg, "caching-mode=off"))
				cfg.iommu_no_cm = true;
			else if (optarg && strcmp(optarg, "caching-mode=on"))
				return usage_error("--iommu=%s: expected caching-mode=on or caching-mode=off",
						   optarg);
			break;
		case 'C':
			ret = parse_console(optarg, &cfg);
			if (ret)
				return ret;
			break;
		case 'D':
			ret = parse_device(optarg, &cfg);
			if (ret)
				return ret;
			break;
		case 'L': cfg.landlock = true; break;
		case 'W':
			ret = parse_landlock_rule(optarg, &cfg);
			if (ret)
				return ret;
			break;
		case 'U':
			ret = parse_user(optarg, &cfg);
			if (ret)
				return ret;
			break;
		case 'S':
			if (!strcmp(optarg, "on"))
				cfg.seccomp = SANDBOX_ON;
			else if (!strcmp(optarg, "log"))
				cfg.seccomp = SANDBOX_LOG;
			else if (!strcmp(optarg, "off"))
				cfg.seccomp = SANDBOX_OFF;
			else
				return usage_error("--seccomp '%s': expected on, log or off", optarg);
			break;
		case 'A':
			if (!*optarg)
				return usage_error("--api-socket: expected a path");
			cfg.api_socket = optarg;
			break;
		case 'v': log_level++; break;
		case 'q': log_level = 0; break;
		case 'h': fputs(usage_run, stdout); return 0;
		case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
		default: return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!cfg.kernel)
		return usage_error("--kernel is required");
	if (cfg.nlandlock && !cfg.landlock)
		return usage_error("--landlock-rules without --landlock");
	/* One owner for stdin: the virtio console when it is on stdio. */
	if (cfg.console == VCON_STDIO) {
		if (serial_given && cfg.serial == SERIAL_STDIO)
			return usage_error("--serial stdio and --console stdio: only one can use stdio");
		if (!serial_given)
			cfg.serial = SERIAL_NONE;
	}
	/*
	 * Shadowing an assigned device's mappings needs to hear of every new
	 * one: without caching mode the guest does not invalidate after a map.
	 */
	if (cfg.iommu_no_cm && cfg.nvfio)
		return usage_error("--iommu=caching-mode=off with --device vfio=: an assigned device "
				   "needs caching mode (the default) to see the guest's new mappings");
	if (!cfg.cmdline)
		cfg.cmdline = cfg.console == VCON_STDIO ? "console=hvc0" : "console=ttyS0";
	ret = check_kernel(cfg.kernel);
	if (ret)
		return ret;
	if (cfg.initrd) {
		ret = check_readable("initrd", cfg.initrd);
		if (ret)
			return ret;
	}

	raise_fd_limit();
	if (sandbox_init(cfg.seccomp))
		return 1;
	if (cfg.drop_user) {
		if (geteuid() != 0)
			return usage_error("--user: only root can change user, and kvmio runs as uid %u",
					   (unsigned int)geteuid());
		sandbox_will_drop_user();
	}
	if (vm_create(&vm, &cfg))
		return 1;
	ret = vm_run(&vm);
	vm_destroy(&vm);
	return ret;
}

/*
 * Threads get 1 MiB stacks, not RLIMIT_STACK's usual 8 MiB. Where
 * transparent huge pages are "always" (Debian's kernels), an 8 MiB stack
 * whose top 2 MiB happen to be aligned gets a whole huge page for the few KiB
 * its thread touches: bench/footprint found one such page in the rig, 2 MiB
 * of kvmio's 4.6. No aligned 2 MiB range fits in 1 MiB, and kvmio's deepest
 * call chains use tens of KiB (gcc -fstack-usage: 16 KiB the largest frame).
 */
static void small_thread_stacks(void)
{
	pthread_attr_t attr;

	if (pthread_attr_init(&attr))
		return;
	if (!pthread_attr_setstacksize(&attr, 1 * MiB))
		pthread_setattr_default_np(&attr);
	pthread_attr_destroy(&attr);
}

int main(int argc, char **argv)
{
	/*
	 * A closed stdout or stderr must not kill kvmio during setup either:
	 * writes fail with EPIPE, which the console and logging handle.
	 */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * One malloc arena for all threads: kvmio allocates while it sets up
	 * and adds devices, never on an I/O path, so per-thread arenas (up to
	 * 8 per core, each with its own pages) would only cost memory.
	 */
	mallopt(M_ARENA_MAX, 1);
	small_thread_stacks();
	if (argc < 2) {
		fputs("kvmio: no command given (see 'kvmio --help')\n", stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("kvmio %s\n", KVMIO_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check-device"))
		return cmd_check_device(argc - 1, argv + 1);
	if (!strcmp(argv[1], "remote"))
		return api_remote_main(argc - 1, argv + 1);
	fprintf(stderr, "kvmio: unknown command '%s' (see 'kvmio --help')\n", argv[1]);
	return EXIT_USAGE;
}
