// SPDX-License-Identifier: Apache-2.0
/*
 * randread: 4 KiB random reads with O_DIRECT, one at a time (queue depth 1), for a fixed
 * time; prints the rate. The L2 guest of bench/virtio runs it on a virtio-blk disk (busybox
 * has no fio). Built static on the host: gcc -static -O2 -o randread bench/randread.c
 *
 *   randread DEVICE SECONDS [BLOCK_SIZE]
 *   -> "iops=N ops=N secs=S bs=B blocks=N"
 *
 * Offsets are uniformly random block-aligned ones over the whole device (xorshift64*, seeded
 * from the clock), so no read is served by an earlier one's cache in the VMM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: randread DEVICE SECONDS [BLOCK_SIZE]\n");
		return 2;
	}
	const char *dev = argv[1];
	double secs = strtod(argv[2], NULL);
	long bs = argc > 3 ? strtol(argv[3], NULL, 0) : 4096;
	if (secs <= 0 || bs < 512 || bs % 512) {
		fprintf(stderr, "randread: bad SECONDS or BLOCK_SIZE\n");
		return 2;
	}

	int fd = open(dev, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "randread: open %s: %s\n", dev, strerror(errno));
		return 1;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < bs) {
		fprintf(stderr, "randread: %s: size %lld\n", dev, (long long)size);
		return 1;
	}
	uint64_t blocks = size / bs;
	void *buf;
	if (posix_memalign(&buf, 4096, bs)) {
		fprintf(stderr, "randread: out of memory\n");
		return 1;
	}

	struct timespec seed;
	clock_gettime(CLOCK_REALTIME, &seed);
	rng_state = (uint64_t)seed.tv_nsec * 0x9E3779B97F4A7C15ULL ^ (uint64_t)seed.tv_sec ^ getpid();
	if (!rng_state)
		rng_state = 1;

	uint64_t ops = 0;
	double t0 = now(), t = t0;
	while (t - t0 < secs) {
		off_t off = (off_t)(rnd() % blocks) * bs;
		ssize_t n = pread(fd, buf, bs, off);
		if (n != bs) {
			fprintf(stderr, "randread: pread at %lld: %s\n", (long long)off,
				n < 0 ? strerror(errno) : "short read");
			return 1;
		}
		ops++;
		t = now();
	}
	printf("iops=%.0f ops=%llu secs=%.3f bs=%ld blocks=%llu\n", ops / (t - t0),
	       (unsigned long long)ops, t - t0, bs, (unsigned long long)blocks);
	return 0;
}
