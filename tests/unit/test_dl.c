// SPDX-License-Identifier: Apache-2.0
/*
 * Libraries loaded on demand (src/dl.c): symbols resolved into their
 * pointers; a library that is missing, or lacks a symbol, is one line
 * naming it, what needs it and the package, and leaves nothing loaded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "capture.h"

#include "dl.h"
#include "util.h"

static void test_resolves(void **state)
{
	pid_t (*my_getpid)(void) = NULL;
	size_t (*my_strlen)(const char *) = NULL;
	const struct dl_sym syms[] = { { "getpid", (void **)&my_getpid },
				       { "strlen", (void **)&my_strlen } };
	void *h = NULL, *first;

	assert_int_equal(dl_load(&h, "libc.so.6", "a test", "libc6", syms, 2), 0);
	assert_non_null(h);
	assert_int_equal(my_getpid(), getpid());
	assert_int_equal(my_strlen("kvmio"), 5);
	/* Loaded once: a second call changes nothing. */
	first = h;
	my_getpid = NULL;
	assert_int_equal(dl_load(&h, "libc.so.6", "a test", "libc6", syms, 2), 0);
	assert_ptr_equal(h, first);
	assert_null(my_getpid);
}

static void test_missing_library(void **state)
{
	void *fn = NULL, *h = NULL;
	const struct dl_sym syms[] = { { "f", &fn } };
	const char *err;

	capture_begin();
	assert_int_equal(dl_load(&h, "libkvmio-nonesuch.so.7", "--api-socket", "libnonesuch7", syms,
				 1), -ENOENT);
	err = capture_end();
	assert_null(h);
	assert_non_null(strstr(err, "--api-socket needs libkvmio-nonesuch.so.7"));
	assert_non_null(strstr(err, "(install libnonesuch7)"));
	assert_int_equal(strchr(err, '\n') - err + 1, (long)strlen(err));	/* one line */
}

static void test_missing_symbol(void **state)
{
	void *a = NULL, *b = NULL, *h = NULL;
	const struct dl_sym syms[] = { { "getpid", &a }, { "kvmio_no_such_fn", &b } };
	const char *err;

	capture_begin();
	assert_int_equal(dl_load(&h, "libc.so.6", "kvmio remote", "libc6", syms, 2), -ENOENT);
	err = capture_end();
	assert_null(h);
	assert_non_null(strstr(err, "kvmio remote: libc.so.6 has no kvmio_no_such_fn"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolves),
		cmocka_unit_test(test_missing_library),
		cmocka_unit_test(test_missing_symbol),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
