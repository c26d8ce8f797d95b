// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: legacy port I/O from a hostile guest (hostile-guest.md,
 * case 19). Each input is a stream of 8-byte records (see pio_run in
 * pio_world.h): port accesses of sizes 0-16 on the real bus with COM1, the
 * RTC, the i8042, the ACPI PM block and the quiet ports registered by their
 * own dev_ops init, interleaved with host input for COM1, GPE events and
 * virtual RTC time. A fresh VM's devices are set up and torn down per input,
 * so every crash reproduces from its input alone. Invariants are checked
 * after each access; a violation aborts, and libFuzzer saves the input.
 *
 * Built and run by tests/fuzz/fuzz.mk (`make fuzz-pio`). Links the device
 * objects, bus.o and util.o, not vm.o: vm_irq_line and vm_request_stop are
 * the recording stand-ins in tests/unit/fake_vm.c.
 */
#include <sanitizer/allocator_interface.h>
#include <stdio.h>
#include <stdlib.h>

#define PIO_FAIL(...)								\
	do {									\
		fprintf(stderr, "fuzz_pio: " __VA_ARGS__);			\
		fputc('\n', stderr);						\
		abort();							\
	} while (0)

#include "pio_world.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "Nothing sized by the guest": bus_dispatch and the handlers allocate nothing. */
static void on_malloc(const volatile void *p, size_t size)
{
	(void)p;
	(void)size;
	if (pio_in_io)
		pio_io_allocs++;
}

static void on_free(const volatile void *p)
{
	(void)p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *lvl = getenv("KVMIO_FUZZ_LOG");

	(void)argc;
	(void)argv;
	/* Quiet by default: the unclaimed-port and sleep-type lines are per input. */
	log_level = lvl ? atoi(lvl) : 0;
	__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pio_world w;

	pio_world_init(&w);
	pio_run(&w, data, size);
	pio_drain(&w);
	pio_check(&w);
	pio_world_destroy(&w);
	return 0;
}
