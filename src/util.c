// SPDX-License-Identifier: Apache-2.0
/* Logging, size parsing and small helpers shared by every file. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int log_level = 1;
__thread char pr_last_error[512];

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "kvmio: %s", prefix);

	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (!strcmp(prefix, "error: "))
		snprintf(pr_last_error, sizeof(pr_last_error), "%s", buf + n);
	/* One fputs per line so lines from concurrent vCPU threads don't interleave. */
	strncat(buf, "\n", sizeof(buf) - strlen(buf) - 1);
	fputs(buf, stderr);
}

#define DEFINE_LOG(fn, level, prefix)				\
	void fn(const char *fmt, ...)				\
	{							\
		va_list ap;					\
		if (log_level < (level))			\
			return;					\
		va_start(ap, fmt);				\
		vlog(prefix, fmt, ap);				\
		va_end(ap);					\
	}

DEFINE_LOG(pr_err, 0, "error: ")
DEFINE_LOG(pr_warn, 1, "warning: ")
DEFINE_LOG(pr_info, 2, "")
DEFINE_LOG(pr_debug, 3, "debug: ")

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error: ", fmt, ap);
	va_end(ap);
	exit(1);
}

void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

uint64_t time_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

bool ratelimit_ok(struct ratelimit *rl, unsigned int burst)
{
	uint64_t now = time_ns();

	if (now - rl->window_start_ns >= 1000000000ULL) {
		rl->window_start_ns = now;
		rl->count = 0;
	}
	return rl->count++ < burst;
}

int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	switch (toupper((unsigned char)*end)) {
	case '\0': break;
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	default: return -EINVAL;
	}
	if (shift && (!strcasecmp(end, "iB") || !strcasecmp(end, "B")))
		end += strlen(end);
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* A unicast MAC in the usual aa:bb:cc:dd:ee:ff form. */
bool parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	/* sscanf's %x takes signs and spaces: check the shape first. */
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return false;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return !(mac[0] & 1);
}

ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && !done)
			return -errno;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

void *big_calloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* Before the first touch: a huge page, once there, stays. */
	madvise(p, size, MADV_NOHUGEPAGE);
	return p;
}

void big_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}
