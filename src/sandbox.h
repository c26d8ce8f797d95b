/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_SANDBOX_H
#define KVMIO_SANDBOX_H

/*
 * The sandbox: a seccomp filter per thread kind (libseccomp), each an
 * allow-list of the system calls, and of the ioctl numbers, that kind of
 * thread makes once the VM is set up. A device model with a bug the guest
 * can reach then cannot open files, run programs or talk to the network
 * from its thread.
 *
 * Each thread installs its own filter when it starts its work (the main
 * thread once the VM runs); a thread created afterwards (a hot-added
 * device's worker) also carries its creator's, so it may only do what
 * both allow. A call outside the list kills kvmio with one line naming the
 * thread and the call (SIGSYS); with --seccomp=log the kernel logs it
 * (audit, dmesg) and lets it through.
 */

enum sandbox_mode { SANDBOX_OFF, SANDBOX_ON, SANDBOX_LOG };

enum sandbox_kind {
	SANDBOX_MAIN,		/* the event loop: console, control socket, hot-plug, releases */
	SANDBOX_VCPU,		/* KVM_RUN and the exit handlers of every device */
	SANDBOX_RTC,		/* the CMOS clock's update and alarm timer */
	SANDBOX_BLK,		/* virtio workers, by device */
	SANDBOX_NET,
	SANDBOX_CONSOLE,
	SANDBOX_RNG,
	SANDBOX_NR_KINDS,
};

/*
 * sandbox_init - before any thread: set the mode, NO_NEW_PRIVS, the SIGSYS
 * handler. Returns 0 or a negative errno after printing why.
 */
int sandbox_init(enum sandbox_mode mode);

/*
 * sandbox_enter - install @kind's filter on the calling thread, which
 * violations name as @name. No-op when the sandbox is off. Returns 0 or a
 * negative errno after printing why (the thread then runs unfiltered: the
 * caller decides whether that is fatal).
 */
int sandbox_enter(enum sandbox_kind kind, const char *name);

/*
 * --user: sandbox_will_drop_user, before any thread, lets every filter pass
 * glibc's id changes; sandbox_drop_user then, once everything privileged is
 * open, leaves root for @uid:@gid in every thread (capabilities go with
 * it), handing the control socket at @socket_path (or NULL) to that user.
 * Returns 0 or a negative errno after printing why.
 */
#include <sys/types.h>
void sandbox_will_drop_user(void);
int sandbox_drop_user(uid_t uid, gid_t gid, const char *socket_path);

/*
 * landlock.c: landlock_apply - with --landlock, limit the calling thread
 * (the main thread, after setup) and the threads it starts later to the
 * files hot-add needs: --landlock-rules paths, /dev/net/tun, /dev/vfio,
 * /sys (read), the control socket's directory (removing it). Returns 0 or
 * a negative errno after printing why.
 */
struct vm_config;
int landlock_apply(const struct vm_config *cfg);

#ifdef KVMIO_TEST_HOOKS
void sandbox_test_hook(const char *name);
#else
static inline void sandbox_test_hook(const char *name) { (void)name; }
#endif

/* sandbox_kind_of - the worker kind of a virtio device model ("virtio-blk"...). */
enum sandbox_kind sandbox_kind_of(const char *model);

/* sandbox_mode - the mode sandbox_init set (SANDBOX_OFF before). */
enum sandbox_mode sandbox_mode(void);

#endif
