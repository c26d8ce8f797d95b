// SPDX-License-Identifier: Apache-2.0
/*
 * kvmio command line. Exit status: 0 when the guest powers off or reboots
 * (or Ctrl-A x), 1 on a runtime error, 2 on a usage error, 128+N on signal N.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/linux.h"
#include "util.h"
#include "vm.h"

#ifndef KVMIO_VERSION
#define KVMIO_VERSION "0.1.0"
#endif

#define EXIT_USAGE 2

#define MEM_MIN		(32 * MiB)
#define MEM_MAX		(1 * TiB)
#define CPUS_MAX	254	/* xAPIC IDs 0-254; 255 is broadcast */

static const char usage_main[] =
	"Usage: kvmio COMMAND [OPTIONS]\n"
	"\n"
	"kvmio is a small KVM virtual machine monitor for Linux guests.\n"
	"\n"
	"Commands:\n"
	"  run            boot a Linux kernel in a new VM (see 'kvmio run --help')\n"
	"\n"
	"Options:\n"
	"  -h, --help     show this help and exit\n"
	"  -V, --version  show the version and exit\n";

static const char usage_run[] =
	"Usage: kvmio run --kernel PATH [OPTIONS]\n"
	"\n"
	"Boot a Linux bzImage through the 64-bit boot protocol.\n"
	"\n"
	"  -k, --kernel PATH       bzImage to boot (required)\n"
	"  -i, --initrd PATH       initial ramdisk\n"
	"  -c, --cmdline STRING    kernel command line (default: \"console=ttyS0\")\n"
	"  -p, --cpus N            number of vCPUs, 1-254 (default: 1)\n"
	"  -m, --memory SIZE       guest RAM, with optional K/M/G/T suffix, 32M-1T,\n"
	"                          a multiple of 4K (default: 512M)\n"
	"  -s, --serial MODE       COM1 (ttyS0): stdio (default), file=PATH, or none\n"
	"  -v, --verbose           more messages on stderr (repeat for debug)\n"
	"  -q, --quiet             only errors on stderr\n"
	"  -h, --help              show this help and exit\n"
	"\n"
	"With --serial stdio and a terminal on stdin, the terminal is in raw mode:\n"
	"Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A to the guest.\n"
	"\n"
	"Exit status: 0 when the guest powers off or reboots (kvmio exits rather than\n"
	"restarting it) or on Ctrl-A x; 1 on a runtime error (KVM error, guest crash);\n"
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

/* Refuse a kernel that is not a bootable bzImage before creating anything. */
static int check_kernel(const char *path)
{
	const char *why = NULL;
	struct bzimage bz;
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
		ret = usage_error("kernel '%s': empty file, not a bzImage", path);
		goto out;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		ret = usage_error("kernel '%s': %s", path, strerror(errno));
		goto out;
	}
	if (linux_bzimage_parse(map, (size_t)st.st_size, &bz, &why))
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

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "cpus", required_argument, NULL, 'p' },
		{ "memory", required_argument, NULL, 'm' },
		{ "serial", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vm_config cfg = {
		.cmdline = "console=ttyS0",
		.ncpus = 1,
		.mem_size = 512 * MiB,
		.serial = SERIAL_STDIO,
	};
	unsigned long n;
	struct vm vm;
	int c, ret;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":k:i:c:p:m:s:vqh", opts, NULL)) != -1) {
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
	ret = check_kernel(cfg.kernel);
	if (ret)
		return ret;
	if (cfg.initrd) {
		ret = check_readable("initrd", cfg.initrd);
		if (ret)
			return ret;
	}

	if (vm_create(&vm, &cfg))
		return 1;
	ret = vm_run(&vm);
	vm_destroy(&vm);
	return ret;
}

int main(int argc, char **argv)
{
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
	fprintf(stderr, "kvmio: unknown command '%s' (see 'kvmio --help')\n", argv[1]);
	return EXIT_USAGE;
}
