// SPDX-License-Identifier: Apache-2.0
/*
 * --landlock: once the VM is set up, the main thread, the only one whose
 * seccomp filter lets it open files (for hot-add), may reach only what it
 * still needs: the paths --landlock-rules names (images and taps a later
 * add may use), the device nodes and sysfs trees of hot-add, and the
 * control socket's directory (to remove the socket at exit). Threads it
 * starts later inherit the restriction; the others cannot open anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"
#include "util.h"
#include "vm.h"

/* Rights of later ABIs than Debian 12's headers know. */
#define LL_FS_TRUNCATE		(1ULL << 14)	/* ABI 3 */
#define LL_FS_IOCTL_DEV		(1ULL << 15)	/* ABI 5 */
#define LL_NET_BIND_TCP		(1ULL << 0)	/* ABI 4 */
#define LL_NET_CONNECT_TCP	(1ULL << 1)

#define FS_READ		(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_WRITE	(LANDLOCK_ACCESS_FS_WRITE_FILE | LL_FS_TRUNCATE)

/* The ruleset attribute as ABI 4 has it; older kernels are given the first field only. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
};

static uint64_t known;	/* the rights this kernel's ABI has: a rule may not name others */

/*
 * Every right the kernel knows is handled, so refused unless a rule gives
 * it: ABI 1's, REFER (2), TRUNCATE (3), ioctls on device nodes (5).
 */
static uint64_t handled(int abi)
{
	uint64_t a = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
		     LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
		     LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
		     LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
		     LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
		     LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		     LANDLOCK_ACCESS_FS_MAKE_SYM;

	if (abi >= 2)
		a |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		a |= LL_FS_TRUNCATE;
	if (abi >= 5)
		a |= LL_FS_IOCTL_DEV;
	return a;
}

/*
 * Allow @access beneath @path. A path that does not exist is skipped when
 * @optional (a device node this host lacks), an error otherwise.
 */
static int rule(int ruleset, const char *path, uint64_t access, bool optional)
{
	struct landlock_path_beneath_attr attr = { .allowed_access = access & known };
	int fd = open(path, O_PATH | O_CLOEXEC), ret = 0;
	struct stat st;

	if (fd < 0) {
		if (optional && errno == ENOENT)
			return 0;
		ret = -errno;
		pr_err("--landlock: %s: %s", path, strerror(errno));
		return ret;
	}
	attr.parent_fd = fd;
	/* On a file Landlock takes only file rights: what is beneath a directory is its own. */
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		attr.allowed_access &= LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
				       LANDLOCK_ACCESS_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0)) {
		ret = -errno;
		pr_err("--landlock: rule for %s: %s", path, strerror(errno));
	}
	close(fd);
	return ret;
}

int landlock_apply(const struct vm_config *cfg)
{
	struct ll_ruleset_attr ra = { 0 };
	int abi, ruleset, ret = 0;
	char dir[4096];

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		pr_err("--landlock: this kernel has no Landlock (%s); boot it with lsm=landlock,... "
		       "or leave --landlock out", strerror(errno));
		return -ENOTSUP;
	}
	ra.handled_access_fs = known = handled(abi);
	/* No TCP at all: the control socket is a Unix one (ABI 4). */
	if (abi >= 4)
		ra.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &ra,
			       abi >= 4 ? sizeof(ra) : sizeof(ra.handled_access_fs), 0);
	if (ruleset < 0) {
		ret = -errno;
		pr_err("--landlock: %s", strerror(errno));
		return ret;
	}
	/* Hot-add: taps, VFIO, and sysfs to find a device's group and driver. */
	ret = rule(ruleset, "/dev/net/tun", FS_READ | FS_WRITE | LL_FS_IOCTL_DEV, true);
	if (!ret)
		ret = rule(ruleset, "/dev/vfio", FS_READ | FS_WRITE | LL_FS_IOCTL_DEV, true);
	if (!ret)
		ret = rule(ruleset, "/sys", FS_READ, false);
	for (unsigned int i = 0; !ret && i < cfg->nlandlock; i++)
		ret = rule(ruleset, cfg->landlock_rules[i].path,
			   FS_READ | LL_FS_IOCTL_DEV | (cfg->landlock_rules[i].rw ? FS_WRITE : 0), false);
	/* The control socket's directory: the socket is removed at exit. */
	if (!ret && cfg->api_socket) {
		const char *slash = strrchr(cfg->api_socket, '/');

		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - cfg->api_socket) : 1,
			 slash ? (slash == cfg->api_socket ? "/" : cfg->api_socket) : ".");
		ret = rule(ruleset, dir, LANDLOCK_ACCESS_FS_REMOVE_FILE, false);
	}
	/* Landlock wants NO_NEW_PRIVS (set already unless --seccomp off). */
	if (!ret && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		ret = -errno;
		pr_err("--landlock: %s", strerror(errno));
	}
	if (!ret && syscall(SYS_landlock_restrict_self, ruleset, 0)) {
		ret = -errno;
		pr_err("--landlock: %s", strerror(errno));
	}
	close(ruleset);
	if (!ret)
		pr_info("landlock: file access limited to the hot-add paths (ABI %d)", abi);
	return ret;
}
