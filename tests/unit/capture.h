/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_TEST_CAPTURE_H
#define KVMIO_TEST_CAPTURE_H

/*
 * stderr into a temporary file, for tests of the lines kvmio prints with
 * pr_err/pr_warn: capture_begin, the call, then capture_end for the text
 * (a static buffer, the first 8 KiB). Include after <cmocka.h>.
 */
#include <stdio.h>
#include <unistd.h>

static int capture_saved_fd = -1;
static FILE *capture_file;

static inline void capture_begin(void)
{
	fflush(stderr);
	capture_file = tmpfile();
	assert_non_null(capture_file);
	capture_saved_fd = dup(2);
	assert_true(capture_saved_fd >= 0);
	assert_true(dup2(fileno(capture_file), 2) >= 0);
}

static inline char *capture_end(void)
{
	static char text[8192];
	size_t n;

	fflush(stderr);
	dup2(capture_saved_fd, 2);
	close(capture_saved_fd);
	rewind(capture_file);
	n = fread(text, 1, sizeof(text) - 1, capture_file);
	text[n] = '\0';
	fclose(capture_file);
	return text;
}

#endif
