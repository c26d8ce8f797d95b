/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_TEST_FAKE_VFIO_FILE_H
#define KVMIO_TEST_FAKE_VFIO_FILE_H

/*
 * The fake VFIO device of test_vfio_dev.c and test_vfio_regions.c: a memfd
 * laid out like a VFIO device fd (each test file builds its own layout),
 * with the byte pattern its regions are filled with and little-endian reads
 * and writes of the file at an offset, checked. Include after <cmocka.h>.
 */
#include <stdint.h>
#include <unistd.h>

#include "util.h"

static int memfd = -1;

/* The byte at @off of a region filled with the pattern. */
static inline uint8_t pat(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 8) * 13 + 0x21);
}

static inline uint64_t file_rd(uint64_t off, unsigned int len)
{
	uint8_t b[8] = { 0 };

	assert_int_equal(pread(memfd, b, len, (off_t)off), len);
	return le_read(b, len);
}

static inline void file_wr(uint64_t off, unsigned int len, uint64_t v)
{
	uint8_t b[8];

	le_write(b, len, v);
	assert_int_equal(pwrite(memfd, b, len, (off_t)off), len);
}

#endif
