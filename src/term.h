/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_TERM_H
#define KVMIO_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The host terminal: raw mode while the guest owns stdin (restored on every
 * exit path), and the Ctrl-A escape: Ctrl-A x quits, Ctrl-A Ctrl-A (or
 * Ctrl-A a) sends one Ctrl-A to the guest.
 */
#define TERM_ESCAPE_CHAR 0x01	/* Ctrl-A */

struct term_escape {
	bool pending;	/* the previous byte was Ctrl-A */
};

/*
 * term_filter - apply the escape to @n bytes of input in place. Returns the
 * number of bytes to hand to the guest; sets *quit when Ctrl-A x was seen
 * (bytes after it are dropped). Pure.
 */
size_t term_filter(struct term_escape *st, uint8_t *buf, size_t n, bool *quit);

/* term_raw - put @fd (a tty) in raw mode; 0 or negative errno. Idempotent. */
int term_raw(int fd);

/* term_restore - put the terminal back as term_raw found it. Safe to call twice. */
void term_restore(void);

#endif
