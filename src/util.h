/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_UTIL_H
#define KVMIO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

/*
 * Messages go to stderr prefixed with "kvmio: ". pr_err/pr_warn/pr_info take
 * printf formats; die() prints and exits 1 and is only for setup paths, never
 * for anything a guest controls.
 */
#ifndef KVMIO_VERSION
#define KVMIO_VERSION "0.1.0"
#endif

void pr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * The calling thread's last pr_err message (without "kvmio: error: "), so
 * that a control-socket request can tell its client why it failed. Clear it
 * before the call whose failure it should explain.
 */
extern __thread char pr_last_error[512];
void pr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Verbosity: 0 quiet (errors only), 1 default (warnings), 2 info, 3 debug. */
extern int log_level;

/*
 * Rate limit for log lines a guest can provoke: returns true at most
 * @burst times per second per @state. Not thread-exact; it only bounds noise.
 */
struct ratelimit {
	uint64_t window_start_ns;
	unsigned int count;
};
bool ratelimit_ok(struct ratelimit *rl, unsigned int burst);

/*
 * big_calloc - zeroed memory for a large table or buffer that kvmio touches
 * little of (a ring, per-request slots), in a mapping of its own that never
 * gets transparent huge pages; NULL when out of memory. Where THP is
 * "always", malloc's large chunks merge with the anonymous mappings next to
 * them (thread stacks, other chunks), and a 2 MiB-aligned range inside the
 * merged mapping gets a whole huge page at its first touch: bench/footprint
 * found 2 MiB of kvmio's 4.6 in the rig that way. big_free takes the size
 * given to big_calloc.
 */
void *big_calloc(size_t size);
void big_free(void *p, size_t size);

/*
 * pread_full - read @len bytes at @off of @fd into @buf, across short reads
 * and EINTR. Returns the count read: @len, or less at end of file or when
 * an error follows a partial read; -errno when the first read fails.
 */
ssize_t pread_full(int fd, void *buf, size_t len, off_t off);

/*
 * raise_fd_limit - lift RLIMIT_NOFILE's soft limit to its hard limit, as QEMU
 * does at start: every MSI/MSI-X vector holds an eventfd (up to 1024), and
 * a user's usual soft limit is 1024. Quiet; a failure leaves the limit.
 */
void raise_fd_limit(void);

/* Monotonic time in nanoseconds. */
uint64_t time_ns(void);

/*
 * parse_size - parse "512M", "2G", "4096", "1536K" into bytes.
 * Suffixes K, M, G, T (binary, case-insensitive, optional trailing "iB"/"B").
 * Returns 0 and sets *out, or -EINVAL on a malformed string, -ERANGE on overflow.
 */
int parse_size(const char *s, uint64_t *out);

/* parse_uint - decimal unsigned integer with range check; -EINVAL / -ERANGE. */
int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/* parse_mac - a unicast MAC written aa:bb:cc:dd:ee:ff; false if it is not one. */
bool parse_mac(const char *s, uint8_t mac[6]);

/* Little-endian access to a byte buffer (device registers, guest tables). */
/* [a, a + alen) and [b, b + blen) intersect; an empty range meets nothing; neither wraps. */
static inline bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static inline uint64_t le_read(const uint8_t *p, unsigned int len)
{
	uint64_t v = 0;
	for (unsigned int i = 0; i < len && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline void le_write(uint8_t *p, unsigned int len, uint64_t v)
{
	for (unsigned int i = 0; i < len && i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#endif
