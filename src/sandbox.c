// SPDX-License-Identifier: Apache-2.0
/*
 * seccomp filters per thread kind (sandbox.h). The lists are what each kind
 * of thread does after setup, call by call; the ioctl numbers are listed
 * exactly, except on the main thread, which hot-plugs devices and so may use
 * any ioctl of KVM, VFIO, tun/tty ('T'), block devices and SIOCGIFMTU.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <cap-ng.h>
#include <grp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

#include "sandbox.h"
#include "util.h"

#define MAX_SYSCALL	512

static enum sandbox_mode mode = SANDBOX_OFF;
static bool will_drop;		/* sandbox_drop_user comes: every filter lets glibc's setxid through */
static char *syscall_names[MAX_SYSCALL];	/* resolved at init: the SIGSYS handler may not allocate */
static __thread char thread_name[24] = "?";

/* What every thread does: memory, locks, its own fds, time, exit. */
static const int base_calls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(close),
	SCMP_SYS(futex), SCMP_SYS(madvise), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect),
	SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(gettid), SCMP_SYS(getpid), SCMP_SYS(sched_yield),
	SCMP_SYS(restart_syscall), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(eventfd2), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(getrandom),
	SCMP_SYS(tgkill), SCMP_SYS(rseq), SCMP_SYS(set_robust_list), SCMP_SYS(lseek),
	/* A thread started later installs its own filter: that only ever narrows. */
	SCMP_SYS(seccomp),
	/* glibc's qsort sizes its buffer by physical memory (the VT-d shadow sorts). */
	SCMP_SYS(sysinfo),
};

static const int setxid_calls[] = { SCMP_SYS(setresuid), SCMP_SYS(setresgid), SCMP_SYS(setgroups) };

/* vCPU threads: KVM_RUN, and every device's exit handlers (BAR moves, MSI-X, VFIO regions). */
static const int vcpu_calls[] = {
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(timerfd_settime), SCMP_SYS(io_uring_enter),
};
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_IRQ_LINE, KVM_SIGNAL_MSI, KVM_SET_GSI_ROUTING, KVM_IRQFD, KVM_IOEVENTFD,
	KVM_SET_USER_MEMORY_REGION, KVM_GET_REGS, KVM_GET_SREGS,
	VFIO_DEVICE_SET_IRQS, VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA,
	TUNSETOFFLOAD,		/* virtio-net's start, on the driver's status write */
};

/*
 * Device workers: their queues, their backend, interrupts: INTx lines, MSIs
 * (a vector's route and irqfd are set up at its first use), VT-d fault MSIs.
 */
static const unsigned long worker_ioctls[] = {
	KVM_IRQ_LINE, KVM_SIGNAL_MSI, KVM_SET_GSI_ROUTING, KVM_IRQFD,
};
static const unsigned long rtc_ioctls[] = { KVM_IRQ_LINE };
static const int blk_calls[] = {
	SCMP_SYS(io_uring_enter), SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv),
	SCMP_SYS(pwritev), SCMP_SYS(preadv2), SCMP_SYS(pwritev2), SCMP_SYS(fsync),
	SCMP_SYS(fdatasync), SCMP_SYS(fallocate),
};
static const unsigned long blk_ioctls[] = { BLKDISCARD };
static const int net_calls[] = { SCMP_SYS(timerfd_settime) };
static const unsigned long net_ioctls[] = { TUNSETOFFLOAD };

/* The main thread: the event loop, the control socket, hot-plug and releases. */
static const int main_calls[] = {
	SCMP_SYS(openat), SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(socket), SCMP_SYS(bind),
	SCMP_SYS(listen), SCMP_SYS(connect), SCMP_SYS(accept4), SCMP_SYS(recvfrom),
	SCMP_SYS(sendto), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(shutdown),
	SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(fcntl), SCMP_SYS(flock), SCMP_SYS(umask), SCMP_SYS(clone), SCMP_SYS(clone3),
	SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_register), SCMP_SYS(io_uring_enter),
	SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
	SCMP_SYS(signalfd4), SCMP_SYS(epoll_create1), SCMP_SYS(getdents64), SCMP_SYS(readlink),
	SCMP_SYS(readlinkat), SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
	SCMP_SYS(statx), SCMP_SYS(fstatfs), SCMP_SYS(statfs), SCMP_SYS(pread64), SCMP_SYS(pwrite64),
	SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(prlimit64), SCMP_SYS(uname), SCMP_SYS(pipe2), SCMP_SYS(dup), SCMP_SYS(dup3),
	SCMP_SYS(ftruncate), SCMP_SYS(sched_getaffinity), SCMP_SYS(rt_sigaction),
	SCMP_SYS(sigaltstack), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid), SCMP_SYS(fallocate),
};
/* ioctl types ((request >> 8) & 0xff) the main thread may use: KVM, VFIO, tun and tty, block. */
static const unsigned int main_ioctl_types[] = { KVMIO, VFIO_TYPE, 'T', 0x12 };

static const char *const kind_names[SANDBOX_NR_KINDS] = {
	[SANDBOX_MAIN] = "main", [SANDBOX_VCPU] = "vcpu", [SANDBOX_RTC] = "rtc",
	[SANDBOX_BLK] = "virtio-blk",
	[SANDBOX_NET] = "virtio-net", [SANDBOX_CONSOLE] = "virtio-console",
	[SANDBOX_RNG] = "virtio-rng",
};

enum sandbox_kind sandbox_kind_of(const char *model)
{
	for (unsigned int k = SANDBOX_BLK; k < SANDBOX_NR_KINDS; k++)
		if (!strcmp(model, kind_names[k]))
			return (enum sandbox_kind)k;
	return SANDBOX_RNG;	/* the narrowest list */
}

enum sandbox_mode sandbox_mode(void)
{
	return mode;
}

/* Async-signal-safe: the line built on the stack, one write(2), then _exit. */
static size_t put(char *buf, size_t len, size_t cap, const char *s)
{
	while (*s && len < cap)
		buf[len++] = *s++;
	return len;
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char line[256], num[16];
	int nr = si->si_syscall, i = sizeof(num) - 1;
	unsigned int n = nr < 0 ? 0 : (unsigned int)nr;
	size_t len = 0;

	num[i] = '\0';
	do
		num[--i] = (char)('0' + n % 10);
	while ((n /= 10) && i > 0);
	len = put(line, len, sizeof(line), "\r\nkvmio: error: seccomp: thread ");
	len = put(line, len, sizeof(line), thread_name);
	len = put(line, len, sizeof(line), " made system call ");
	len = put(line, len, sizeof(line),
		  nr >= 0 && nr < MAX_SYSCALL && syscall_names[nr] ? syscall_names[nr] : "?");
	len = put(line, len, sizeof(line), " (");
	len = put(line, len, sizeof(line), num + i);
	len = put(line, len, sizeof(line), "), which its filter does not allow; stopping\n");
	if (write(STDERR_FILENO, line, len) < 0)
		_exit(1);
	_exit(1);
}

int sandbox_init(enum sandbox_mode m)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };

	mode = m;
	if (m == SANDBOX_OFF)
		return 0;
	for (int nr = 0; nr < MAX_SYSCALL; nr++)
		syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		int err = -errno;

		pr_err("sandbox: %s", strerror(errno));
		return err;
	}
	return 0;
}

void sandbox_will_drop_user(void)
{
	will_drop = true;
}

int sandbox_drop_user(uid_t uid, gid_t gid, const char *socket_path)
{
	/* The control socket stays the user's to reach (0600) and to remove at exit. */
	if (socket_path && chown(socket_path, uid, gid) < 0)
		pr_warn("--user: chown %s: %s", socket_path, strerror(errno));
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		int err = -errno;

		pr_err("--user %u:%u: %s", (unsigned int)uid, (unsigned int)gid, strerror(errno));
		return err;
	}
	/* Leaving root cleared every thread's capabilities; make sure, and drop any left. */
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_apply(CAPNG_SELECT_CAPS) < 0 ||
	    (capng_get_caps_process() == 0 && capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)) {
		pr_err("--user: capabilities remain after dropping to %u:%u", (unsigned int)uid,
		       (unsigned int)gid);
		return -EPERM;
	}
	pr_info("running as %u:%u, no capabilities", (unsigned int)uid, (unsigned int)gid);
	return 0;
}

static int allow(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);

		if (ret)
			return ret;
	}
	return 0;
}

static int allow_ioctls(scmp_filter_ctx ctx, const unsigned long *req, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					   SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL,
						   req[i] & 0xffffffffULL));

		if (ret)
			return ret;
	}
	return 0;
}

#define ALLOW(ctx, list)	allow(ctx, list, ARRAY_SIZE(list))
#define ALLOW_IOCTLS(ctx, list)	allow_ioctls(ctx, list, ARRAY_SIZE(list))

static int build(scmp_filter_ctx ctx, enum sandbox_kind kind)
{
	int ret = ALLOW(ctx, base_calls);

	/* prctl: naming a thread only. */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				       SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				       SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME));
	/*
	 * glibc changes ids in every thread (the setxid broadcast), so with
	 * --user each thread makes these once; after the drop they can only
	 * set the ids it has.
	 */
	if (!ret && will_drop)
		ret = ALLOW(ctx, setxid_calls);
	if (ret)
		return ret;
	switch (kind) {
	case SANDBOX_MAIN:
		ret = ALLOW(ctx, main_calls);
		for (size_t i = 0; !ret && i < ARRAY_SIZE(main_ioctl_types); i++)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00,
						       main_ioctl_types[i] << 8));
		if (!ret)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, SIOCGIFMTU));
		return ret;
	case SANDBOX_VCPU:
		ret = ALLOW(ctx, vcpu_calls);
		return ret ? ret : ALLOW_IOCTLS(ctx, vcpu_ioctls);
	case SANDBOX_BLK:
		ret = ALLOW(ctx, blk_calls);
		if (!ret)
			ret = ALLOW_IOCTLS(ctx, blk_ioctls);
		break;
	case SANDBOX_NET:
		ret = ALLOW(ctx, net_calls);
		if (!ret)
			ret = ALLOW_IOCTLS(ctx, net_ioctls);
		break;
	case SANDBOX_RTC:
		/* Sleeps until the next update or alarm, raises IRQ 8: the common set and a line. */
		return ALLOW_IOCTLS(ctx, rtc_ioctls);
	case SANDBOX_CONSOLE:
	case SANDBOX_RNG:
	case SANDBOX_NR_KINDS:
		break;
	}
	return ret ? ret : ALLOW_IOCTLS(ctx, worker_ioctls);
}

int sandbox_enter(enum sandbox_kind kind, const char *name)
{
	scmp_filter_ctx ctx;
	int ret;

	snprintf(thread_name, sizeof(thread_name), "%s", name);
	if (mode == SANDBOX_OFF)
		return 0;
	ctx = seccomp_init(mode == SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
	if (!ctx) {
		pr_err("sandbox: %s: seccomp_init failed", name);
		return -ENOMEM;
	}
	/* NO_NEW_PRIVS is set once for the process (sandbox_init): no prctl here. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (!ret)
		ret = build(ctx, kind);
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret)
		pr_err("sandbox: %s: cannot install its %s filter: %s", name, kind_names[kind],
		       strerror(-ret));
	return ret;
}

#ifdef KVMIO_TEST_HOOKS
/*
 * Test builds only (make check's $(B)/hooks/kvmio): the thread called
 * KVMIO_TEST_FORBIDDEN opens a file right after its filter is on, which its
 * filter forbids, so tests/guests/api.sh can see kvmio stop with the line.
 */
void sandbox_test_hook(const char *name)
{
	const char *want = getenv("KVMIO_TEST_FORBIDDEN");
	int fd;

	if (!want || strcmp(want, name))
		return;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
}
#endif
