/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the PCI and virtio fuzz targets share, included once by each:
 * quiet logging unless KVMIO_FUZZ_LOG asks for more (refused BARs, bad
 * chains and the like are logged per input), and a count of heap
 * allocations made while a target has fuzz_in_io set: "nothing sized by
 * the guest", the device paths under test allocate nothing.
 *
 * fuzz_pio keeps its own counter in pio_world.h, which the gcc-built
 * test_pio_storm shares and which cannot include sanitizer headers.
 */
#ifndef KVMIO_TESTS_FUZZ_ALLOC_H
#define KVMIO_TESTS_FUZZ_ALLOC_H

#include <sanitizer/allocator_interface.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util.h"

/*
 * Per thread: only what the target's own thread allocates counts, not a
 * thread of libFuzzer's or the sanitizer's starting meanwhile (its stack
 * set-up reallocates), which made the first inputs fail now and then.
 */
static __thread bool fuzz_in_io;
static unsigned long fuzz_io_allocs;

static void fuzz_on_malloc(const volatile void *p, size_t size)
{
	(void)p;
	(void)size;
	if (fuzz_in_io)
		fuzz_io_allocs++;
}

static void fuzz_on_free(const volatile void *p)
{
	(void)p;
}

/* fuzz_setup - for LLVMFuzzerInitialize; @count_allocs installs the allocation hooks. */
static inline void fuzz_setup(bool count_allocs)
{
	const char *lvl = getenv("KVMIO_FUZZ_LOG");

	log_level = lvl ? atoi(lvl) : 0;
	if (count_allocs)
		__sanitizer_install_malloc_and_free_hooks(fuzz_on_malloc, fuzz_on_free);
}

#endif
