// SPDX-License-Identifier: Apache-2.0
/* Host terminal handling for the serial console on stdio. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "term.h"

static struct termios saved;
static int saved_fd = -1;

size_t term_filter(struct term_escape *st, uint8_t *buf, size_t n, bool *quit)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = buf[i];

		if (st->pending) {
			st->pending = false;
			if (c == 'x' || c == 'X') {
				*quit = true;
				return out;
			}
			if (c == TERM_ESCAPE_CHAR || c == 'a')
				buf[out++] = TERM_ESCAPE_CHAR;
			/* any other key after Ctrl-A is swallowed, as in QEMU */
			continue;
		}
		if (c == TERM_ESCAPE_CHAR) {
			st->pending = true;
			continue;
		}
		buf[out++] = c;
	}
	return out;
}

void term_restore(void)
{
	if (saved_fd >= 0)
		tcsetattr(saved_fd, TCSADRAIN, &saved);
	saved_fd = -1;
}

/*
 * A crash must not leave the user's terminal raw either: restore it, then
 * let the signal do what it would have done (SA_RESETHAND + re-raise).
 */
static void crash_handler(int sig)
{
	if (saved_fd >= 0)
		tcsetattr(saved_fd, TCSANOW, &saved);
	raise(sig);
}

static void install_crash_handlers(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa = { .sa_handler = crash_handler, .sa_flags = SA_RESETHAND };

	sigemptyset(&sa.sa_mask);
	for (unsigned int i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

int term_raw(int fd)
{
	struct termios t;

	if (saved_fd >= 0)
		return 0;
	if (tcgetattr(fd, &saved) < 0)
		return -errno;
	t = saved;
	cfmakeraw(&t);
	/* Keep output post-processing so kvmio's own messages still start a line. */
	t.c_oflag |= OPOST | ONLCR;
	/* TCSANOW, not TCSAFLUSH: keys typed while kvmio starts belong to the guest. */
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	saved_fd = fd;
	atexit(term_restore);
	install_crash_handlers();
	return 0;
}
