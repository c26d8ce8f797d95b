// SPDX-License-Identifier: Apache-2.0
/*
 * The control socket: a Unix stream socket served by libmicrohttpd, on the
 * main event loop rather than threads of its own, so requests run where the
 * VMM's other control work runs and never race with it.
 *
 * libmicrohttpd keeps its own epoll set; that one fd sits in our loop, and a
 * timer follows MHD_get_timeout so idle and slow clients are cut off after
 * API_CONN_TIMEOUT_S. Nothing blocks: a client sending a byte at a time, or
 * going away half-way, costs its connection's memory (bounded) and nothing
 * else. Bodies over API_BODY_MAX are refused with 413 without being read.
 */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api.h"
#include "dl.h"
#include "loop.h"
#include "util.h"

#define API_CONN_TIMEOUT_S	10
#define API_MAX_CONNS		32

/* libmicrohttpd, loaded with the first server (dl.h). */
static struct {
	__typeof__(MHD_add_connection) *add_connection;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_destroy_response) *destroy_response;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_get_timeout) *get_timeout;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_run) *run;
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
} mhd;
static void *mhd_lib;

#define MHD_SYM(f)	{ "MHD_" #f, (void **)&mhd.f }
static const struct dl_sym mhd_syms[] = {
	MHD_SYM(add_connection),
	MHD_SYM(add_response_header),
	MHD_SYM(create_response_from_buffer),
	MHD_SYM(destroy_response),
	MHD_SYM(get_daemon_info),
	MHD_SYM(get_timeout),
	MHD_SYM(lookup_connection_value),
	MHD_SYM(queue_response),
	MHD_SYM(run),
	MHD_SYM(start_daemon),
	MHD_SYM(stop_daemon),
};

struct api_server {
	struct loop *loop;
	struct MHD_Daemon *d;
	const struct api_ops *ops;
	void *vmm;
	int listen_fd;
	int mhd_epfd;
	int timer_fd;
	char *path;
	bool rerun;		/* a connection closed during MHD_run: run it again */
};

/* One request's body as it arrives. */
struct conn {
	struct api_server *s;
	char *body;
	size_t len;
	bool refused;		/* a reply went out before the body was read */
	bool too_big;		/* a chunked body passed API_BODY_MAX: dropped, 413 at its end */
	api_after_fn after;	/* run once the reply is sent */
};

static enum MHD_Result send_json(struct MHD_Connection *c, int status, char *json)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (json)
		r = mhd.create_response_from_buffer(strlen(json), json, MHD_RESPMEM_MUST_FREE);
	else
		r = mhd.create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(json);
		return MHD_NO;
	}
	if (json)
		mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = mhd.queue_response(c, (unsigned int)status, r);
	mhd.destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct api_server *s = cls;
	struct conn *cn = *con_cls;
	char *reply = NULL;
	int status;

	if (!cn) {
		const char *cl = mhd.lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");

		cn = calloc(1, sizeof(*cn));
		if (!cn)
			return MHD_NO;
		cn->s = s;
		*con_cls = cn;
		/* Declared too big: answer now, read none of it (MHD closes the connection). */
		if (cl && strtoull(cl, NULL, 10) > API_BODY_MAX) {
			cn->refused = true;
			return send_json(c, 413, api_error_json("request body over 65536 bytes"));
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!cn->too_big && cn->len + *upload_size > API_BODY_MAX) {
			/*
			 * Chunked, so undeclared: past the limit the rest is
			 * read and dropped (libmicrohttpd takes no reply during
			 * an upload), and the 413 goes out at its end.
			 */
			cn->too_big = true;
			free(cn->body);
			cn->body = NULL;
			cn->len = 0;
		}
		if (!cn->refused && !cn->too_big) {
			char *b = realloc(cn->body, cn->len + *upload_size);

			if (!b)
				return MHD_NO;
			memcpy(b + cn->len, upload, *upload_size);
			cn->body = b;
			cn->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (cn->refused)
		return MHD_YES;
	if (cn->too_big)
		return send_json(c, 413, api_error_json("request body over 65536 bytes"));
	status = api_dispatch(s->ops, s->vmm, method, url, cn->body, cn->len, &reply, &cn->after);
	pr_debug("api: %s %s -> %d", method, url, status);
	return send_json(c, status, reply);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *con_cls;

	if (cn) {
		/* Sent, or the client left without waiting: it asked all the same. */
		if (cn->after)
			cn->after(cn->s->vmm);
		free(cn->body);
		free(cn);
	}
	*con_cls = NULL;
}

/* After each turn: wake again when libmicrohttpd has a timeout due. */
static void rearm(struct api_server *s)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (mhd.get_timeout(s->d, &ms) == MHD_YES)
		loop_timer_arm(s->timer_fd, ms ? ms : 1);
	else
		loop_timer_arm(s->timer_fd, 0);
}

/*
 * At its connection limit libmicrohttpd takes the listening socket out of
 * its epoll set, and puts it back at the start of a later MHD_run once a
 * connection has closed. Nothing else would call MHD_run then (no fd ready,
 * no timeout left), and the server would stop accepting for good: so a
 * turn in which a connection closed is followed by another.
 */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct api_server *s = cls;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
		s->rerun = true;
}

static void on_ready(void *opaque, int fd, uint32_t events)
{
	struct api_server *s = opaque;
	uint64_t exp;

	if (fd == s->timer_fd && read(fd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		pr_debug("api timer: %s", strerror(errno));
	for (unsigned int i = 0; i < 4; i++) {
		s->rerun = false;
		mhd.run(s->d);
		if (!s->rerun)
			break;
	}
	rearm(s);
}

/*
 * The socket at @path: a path in use by a live server, or anything but a
 * socket, is refused; a socket nobody listens on is a leftover and goes.
 */
static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("--api-socket %s: path longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			pr_err("--api-socket %s: exists and is not a socket; not touching it", path);
			close(fd);
			return -EEXIST;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			pr_err("--api-socket %s: another process is serving it", path);
			close(fd);
			return -EADDRINUSE;
		}
		close(fd);
		unlink(path);
		pr_info("--api-socket %s: removed a stale socket", path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
	}
	/* 0600 from the start: no window in which others could connect. */
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret < 0 || listen(fd, 16) < 0) {
		ret = -errno;
		pr_err("--api-socket %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

struct api_server *api_start(struct loop *l, const char *path, const struct api_ops *ops,
			     void *vmm)
{
	struct api_server *s = calloc(1, sizeof(*s));
	const union MHD_DaemonInfo *info;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_SUPPRESS_DATE_NO_CLOCK;

	if (!s)
		return NULL;
	if (dl_load(&mhd_lib, "libmicrohttpd.so.12", "--api-socket", "libmicrohttpd12", mhd_syms,
		    ARRAY_SIZE(mhd_syms))) {
		free(s);
		return NULL;
	}
	s->loop = l;
	s->ops = ops;
	s->vmm = vmm;
	s->listen_fd = s->timer_fd = -1;
	if (path) {
		s->listen_fd = listen_at(path);
		if (s->listen_fd < 0)
			goto err;
		s->path = strdup(path);
	} else {
		flags |= MHD_USE_NO_LISTEN_SOCKET;
	}
	{
		/* MHD refuses a listen socket option with NO_LISTEN_SOCKET, even of -1: last, and only with a path. */
		struct MHD_OptionItem opts[] = {
			{ MHD_OPTION_CONNECTION_TIMEOUT, API_CONN_TIMEOUT_S, NULL },
			{ MHD_OPTION_CONNECTION_LIMIT, API_MAX_CONNS, NULL },
			{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, 32 * 1024, NULL },
			{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s },
			{ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s },
			{ path ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_END, s->listen_fd, NULL },
			{ MHD_OPTION_END, 0, NULL },
		};

		s->d = mhd.start_daemon(flags, 0, NULL, NULL, on_request, s,
					MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	}
	/* The daemon owns the listening socket now: MHD_stop_daemon closes it. */
	if (s->d)
		s->listen_fd = -1;
	if (!s->d) {
		pr_err("api: cannot start the HTTP server");
		goto err;
	}
	info = mhd.get_daemon_info(s->d, MHD_DAEMON_INFO_EPOLL_FD);
	s->mhd_epfd = info ? info->epoll_fd : -1;
	s->timer_fd = loop_timer_new(l, on_ready, s);
	if (s->mhd_epfd < 0 || s->timer_fd < 0 || loop_add(l, s->mhd_epfd, EPOLLIN, on_ready, s)) {
		pr_err("api: cannot put the server on the event loop");
		goto err;
	}
	rearm(s);
	if (path)
		pr_info("api: listening on %s", path);
	return s;
err:
	api_stop(s);
	return NULL;
}

int api_serve_fd(struct api_server *s, int fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ret;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	ret = mhd.add_connection(s->d, fd, (struct sockaddr *)&sa, sizeof(sa)) == MHD_YES ? 0 : -EIO;
	rearm(s);
	return ret;
}

void api_stop(struct api_server *s)
{
	if (!s)
		return;
	if (s->mhd_epfd >= 0 && s->d)
		loop_del(s->loop, s->mhd_epfd);
	loop_timer_free(s->loop, s->timer_fd);
	if (s->d)
		mhd.stop_daemon(s->d);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->path)
		unlink(s->path);
	free(s->path);
	free(s);
}
