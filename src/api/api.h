/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_API_API_H
#define KVMIO_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm.h"

/*
 * The control socket: HTTP/1.1 on a Unix socket with JSON bodies, endpoints
 * named as cloud-hypervisor's (docs/api.md):
 *
 *   endpoints.c  the requests as data: route, check the JSON, call the VMM
 *                through struct api_ops, build the reply. Pure: unit tests
 *                and the fuzzer call api_dispatch without an HTTP server.
 *   server.c     the socket and libmicrohttpd on the main event loop.
 *   vmm.c        struct api_ops for a running VM: pause, hot-plug...
 *   remote.c     `kvmio remote`, the client (libcurl).
 */

#define API_PREFIX		"/api/v1/"
#define API_BODY_MAX		(64 * 1024)	/* a bigger request body is refused (413) */
#define API_ERR_LEN		512

/* What an add gives back: the new device's id and its PCI address. */
struct api_added {
	char id[DEV_ID_LEN];
	char bdf[16];
};

/*
 * The VMM as the API sees it. Each returns 0 or a negative errno, with a
 * sentence in @err for the client (the API maps the errno to an HTTP
 * status, api_status_of: -EINVAL 400, -EACCES/-EPERM 403, -ENOENT/-ENODEV
 * 404, -EEXIST/-EBUSY/-EALREADY 409, -ENOTSUP 501, -ESHUTDOWN 503, -ENOSPC
 * 507, else 500). Called on the main thread.
 */
struct api_ops {
	/* info - the vm.info object (a new jansson reference, json_t *), or NULL. */
	void *(*info)(void *vmm);
	int (*pause)(void *vmm, char *err);
	int (*resume)(void *vmm, char *err);
	/* shutdown - run once the reply has gone out (api_dispatch's @after). */
	void (*shutdown)(void *vmm);
	int (*power_button)(void *vmm, char *err);
	int (*add_disk)(void *vmm, const struct disk_opts *o, struct api_added *out, char *err);
	int (*add_net)(void *vmm, const struct net_opts *o, struct api_added *out, char *err);
	int (*add_device)(void *vmm, const struct vfio_opts *o, struct api_added *out, char *err);
	/* remove_device - *@pending: the guest was asked and has not ejected it yet. */
	int (*remove_device)(void *vmm, const char *id, bool *pending, char *err);
};

/*
 * api_dispatch - answer one request: @method ("GET", "PUT"...), @url (the
 * path, query ignored), @body of @len bytes (may be NULL when 0). Returns
 * the HTTP status and sets *@reply to a malloc'd JSON text (an object; on
 * errors {"error": "..."}), or NULL for 204 No Content. *@after is set to
 * what the server must call once the reply is sent (vm.shutdown), or NULL.
 */
typedef void (*api_after_fn)(void *vmm);
int api_dispatch(const struct api_ops *ops, void *vmm, const char *method, const char *url,
		 const char *body, size_t len, char **reply, api_after_fn *after);

/* api_error_json - {"error": @msg} as malloc'd text, or NULL. */
char *api_error_json(const char *msg);

/* api_status_of - the HTTP status for a negative errno from an api_ops call. */
int api_status_of(int err);

/*
 * The server (server.c) on event loop @l, listening at @path: refused if
 * @path exists and is not a stale socket; created mode 0600. @path NULL:
 * no socket, connections only through api_serve_fd. Returns the server or
 * NULL after printing why. api_stop closes it and removes the socket.
 */
struct api_server;
struct loop;
struct api_server *api_start(struct loop *l, const char *path, const struct api_ops *ops,
			     void *vmm);
void api_stop(struct api_server *s);

/*
 * api_serve_fd - serve one already-connected stream socket @fd (tests,
 * fuzzers): the server owns it from then on.
 */
int api_serve_fd(struct api_server *s, int fd);

/* vmm.c: the api_ops of a running VM (opaque: the struct vm). */
extern const struct api_ops vm_api_ops;

/* remote.c: `kvmio remote ...`; returns the exit status. */
int api_remote_main(int argc, char **argv);

#endif
