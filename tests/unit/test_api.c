// SPDX-License-Identifier: Apache-2.0
/*
 * The control API (src/api/): api_dispatch's routes, strict bodies and
 * errno-to-status mapping against a recording fake VMM; then the server on
 * the event loop over socketpairs (bodies, a byte at a time, 413s, clients
 * that leave, vm.shutdown only after its reply, a slow client beside a fast
 * one) and the socket file (0600, in use, stale, not a socket).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "api/api.h"
#include "loop.h"
#include "util.h"
#include "virtio/net.h"

/* ---- The fake VMM: records every call and what it was given. ---- */

enum { F_INFO, F_PAUSE, F_RESUME, F_SHUTDOWN, F_POWER, F_DISK, F_NET, F_DEVICE, F_REMOVE, F_NOPS };

struct str {
	bool set;		/* the op got a non-NULL pointer */
	char v[128];
};

struct fake {
	int fail;		/* 0, or the negative errno every op returns */
	const char *msg;	/* written to err when failing (NULL: nothing) */
	bool pending;		/* remove_device's answer */
	bool info_null;		/* info returns NULL */
	unsigned int n[F_NOPS];
	struct str path, serial, id, tap, bdf, vf_token, rom;
	bool readonly, mac_given;
	unsigned int tx_usecs;
	uint8_t mac[6];
	/* shutdown: what the client's end (peer_fd >= 0) held when it ran */
	int peer_fd;
	char at_shutdown[512];
	ssize_t at_shutdown_len;
};

static void fake_reset(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->peer_fd = -1;
	f->at_shutdown_len = -1;
}

static unsigned int fake_calls(const struct fake *f)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < F_NOPS; i++)
		n += f->n[i];
	return n;
}

static void keep(struct str *s, const char *v)
{
	s->set = v != NULL;
	s->v[0] = '\0';
	if (v) {
		assert_true(strlen(v) < sizeof(s->v));
		strcpy(s->v, v);
	}
}

static int result(struct fake *f, char *err)
{
	if (f->fail && f->msg)
		snprintf(err, API_ERR_LEN, "%s", f->msg);
	return f->fail;
}

static void *fk_info(void *vmm)
{
	struct fake *f = vmm;

	f->n[F_INFO]++;
	return f->info_null ? NULL : json_pack("{s:s,s:i}", "state", "Running", "cpus", 2);
}

static int fk_pause(void *vmm, char *err)
{
	struct fake *f = vmm;

	f->n[F_PAUSE]++;
	return result(f, err);
}

static int fk_resume(void *vmm, char *err)
{
	struct fake *f = vmm;

	f->n[F_RESUME]++;
	return result(f, err);
}

static void fk_shutdown(void *vmm)
{
	struct fake *f = vmm;

	f->n[F_SHUTDOWN]++;
	if (f->peer_fd >= 0)
		f->at_shutdown_len = recv(f->peer_fd, f->at_shutdown, sizeof(f->at_shutdown) - 1,
					  MSG_PEEK | MSG_DONTWAIT);
}

static int fk_power_button(void *vmm, char *err)
{
	struct fake *f = vmm;

	f->n[F_POWER]++;
	return result(f, err);
}

static int fk_add_disk(void *vmm, const struct disk_opts *o, struct api_added *out, char *err)
{
	struct fake *f = vmm;

	f->n[F_DISK]++;
	keep(&f->path, o->path);
	keep(&f->serial, o->serial);
	keep(&f->id, o->id);
	f->readonly = o->readonly;
	snprintf(out->id, sizeof(out->id), "%s", o->id ? o->id : "_disk0");
	snprintf(out->bdf, sizeof(out->bdf), "0000:00:05.0");
	return result(f, err);
}

static int fk_add_net(void *vmm, const struct net_opts *o, struct api_added *out, char *err)
{
	struct fake *f = vmm;

	f->n[F_NET]++;
	keep(&f->tap, o->tap);
	keep(&f->id, o->id);
	memcpy(f->mac, o->mac, 6);
	f->mac_given = o->mac_given;
	f->tx_usecs = o->tx_usecs;
	snprintf(out->id, sizeof(out->id), "%s", o->id ? o->id : "_net0");
	snprintf(out->bdf, sizeof(out->bdf), "0000:00:06.0");
	return result(f, err);
}

static int fk_add_device(void *vmm, const struct vfio_opts *o, struct api_added *out, char *err)
{
	struct fake *f = vmm;

	f->n[F_DEVICE]++;
	keep(&f->bdf, o->bdf);
	keep(&f->id, o->id);
	keep(&f->vf_token, *o->vf_token ? o->vf_token : NULL);
	keep(&f->rom, o->rom);
	f->tx_usecs = o->req_timeout_s;	/* the default, as --device has it */
	snprintf(out->id, sizeof(out->id), "%s", o->id ? o->id : "_vfio0");
	snprintf(out->bdf, sizeof(out->bdf), "0000:00:07.0");
	return result(f, err);
}

static int fk_remove_device(void *vmm, const char *id, bool *pending, char *err)
{
	struct fake *f = vmm;

	f->n[F_REMOVE]++;
	keep(&f->id, id);
	*pending = f->pending;
	return result(f, err);
}

static const struct api_ops fake_ops = {
	.info = fk_info,
	.pause = fk_pause,
	.resume = fk_resume,
	.shutdown = fk_shutdown,
	.power_button = fk_power_button,
	.add_disk = fk_add_disk,
	.add_net = fk_add_net,
	.add_device = fk_add_device,
	.remove_device = fk_remove_device,
};

/* ---- api_dispatch ---- */

#define URL(name) API_PREFIX name

/*
 * api_dispatch on @len bytes of @body; the reply parsed into *@out (NULL
 * for 204, which must come with no reply and only then). *@after where the
 * caller wants it, else it must be NULL.
 */
static int reqn(struct fake *f, const char *method, const char *url, const char *body, size_t len,
		json_t **out, api_after_fn *after)
{
	char *reply = (char *)1;
	api_after_fn a = (api_after_fn)1;
	json_error_t je;
	int st;

	st = api_dispatch(&fake_ops, f, method, url, body, len, &reply, &a);
	if (after)
		*after = a;
	else
		assert_null(a);
	*out = NULL;
	if (st == 204) {
		assert_null(reply);
		return st;
	}
	if (!reply)
		fail_msg("%s %s: status %d and no reply", method, url, st);
	*out = json_loads(reply, 0, &je);
	if (!*out)
		fail_msg("reply is not JSON: %s (%s)", reply, je.text);
	assert_true(json_is_object(*out));
	free(reply);
	return st;
}

static int req(struct fake *f, const char *method, const char *url, const char *body, json_t **out)
{
	return reqn(f, method, url, body, body ? strlen(body) : 0, out, NULL);
}

static const char *str_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("no string \"%s\" in the reply", key);
	return json_string_value(v);
}

/* @o is {"error": "..."} and the message holds @needle (NULL: anything). */
static void check_error(json_t *o, const char *needle)
{
	const char *msg = str_of(o, "error");

	assert_int_equal(json_object_size(o), 1);
	assert_true(msg[0] != '\0');
	if (needle && !strstr(msg, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", msg, needle);
}

/* A request refused before the VMM is asked: @status, an error naming @needle, no op called. */
static void refused_n(const char *method, const char *url, const char *body, size_t len,
		      int status, const char *needle)
{
	struct fake f;
	json_t *o;
	int st;

	fake_reset(&f);
	st = reqn(&f, method, url, body, len, &o, NULL);
	if (st != status)
		fail_msg("%s %s %.*s: %d, expected %d", method, url, (int)MIN(len, (size_t)200),
			 body ? body : "", st, status);
	check_error(o, needle);
	assert_int_equal(fake_calls(&f), 0);
	json_decref(o);
}

static void refused(const char *method, const char *url, const char *body, int status,
		    const char *needle)
{
	refused_n(method, url, body, body ? strlen(body) : 0, status, needle);
}

static void test_ping(void **state)
{
	struct fake f;
	json_t *o;

	fake_reset(&f);
	assert_int_equal(req(&f, "GET", URL("vmm.ping"), NULL, &o), 200);
	assert_string_equal(str_of(o, "version"), KVMIO_VERSION);
	assert_true(json_is_integer(json_object_get(o, "pid")));
	assert_int_equal(json_integer_value(json_object_get(o, "pid")), getpid());
	assert_int_equal(json_object_size(o), 2);
	assert_int_equal(fake_calls(&f), 0);
	json_decref(o);
}

static void test_info(void **state)
{
	struct fake f;
	json_t *o;

	fake_reset(&f);
	assert_int_equal(req(&f, "GET", URL("vm.info"), NULL, &o), 200);
	assert_int_equal(f.n[F_INFO], 1);
	assert_int_equal(fake_calls(&f), 1);
	assert_string_equal(str_of(o, "state"), "Running");
	assert_int_equal(json_integer_value(json_object_get(o, "cpus")), 2);
	json_decref(o);

	/* The query string and a fragment are not part of the route. */
	assert_int_equal(req(&f, "GET", URL("vm.info?x=1"), NULL, &o), 200);
	json_decref(o);
	assert_int_equal(req(&f, "GET", URL("vm.info#top"), NULL, &o), 200);
	json_decref(o);
	assert_int_equal(f.n[F_INFO], 3);

	/* Nothing to describe: a 500 with a reason, not a 200 with nothing. */
	f.info_null = true;
	assert_int_equal(req(&f, "GET", URL("vm.info"), NULL, &o), 500);
	check_error(o, NULL);
	json_decref(o);
}

/* The bodiless PUTs: 204, no reply, exactly their op. */
static void test_actions(void **state)
{
	static const struct { const char *name; int op; } acts[] = {
		{ "vm.pause", F_PAUSE },
		{ "vm.resume", F_RESUME },
		{ "vm.power-button", F_POWER },
	};
	struct fake f;
	json_t *o;

	for (unsigned int i = 0; i < ARRAY_SIZE(acts); i++) {
		char url[64];

		fake_reset(&f);
		snprintf(url, sizeof(url), API_PREFIX "%s", acts[i].name);
		assert_int_equal(req(&f, "PUT", url, NULL, &o), 204);
		assert_null(o);
		assert_int_equal(f.n[acts[i].op], 1);
		assert_int_equal(fake_calls(&f), 1);
	}
}

/* vm.shutdown answers first: the op is handed back as @after, not called. */
static void test_shutdown(void **state)
{
	api_after_fn after = NULL;
	struct fake f;
	json_t *o;

	fake_reset(&f);
	assert_int_equal(reqn(&f, "PUT", URL("vm.shutdown"), NULL, 0, &o, &after), 204);
	assert_null(o);
	assert_ptr_equal(after, fake_ops.shutdown);
	assert_int_equal(fake_calls(&f), 0);
	after(&f);
	assert_int_equal(f.n[F_SHUTDOWN], 1);

	/* No other endpoint leaves anything to run afterwards. */
	fake_reset(&f);
	after = (api_after_fn)1;
	assert_int_equal(reqn(&f, "PUT", URL("vm.pause"), NULL, 0, &o, &after), 204);
	assert_null(after);
	after = (api_after_fn)1;
	assert_int_equal(reqn(&f, "GET", URL("vm.info"), NULL, 0, &o, &after), 200);
	assert_null(after);
	json_decref(o);
	/* Nor does a refused shutdown. */
	after = (api_after_fn)1;
	assert_int_equal(reqn(&f, "PUT", URL("vm.shutdown"), "{}", 2, &o, &after), 400);
	assert_null(after);
	json_decref(o);
	after = (api_after_fn)1;
	assert_int_equal(reqn(&f, "GET", URL("vm.shutdown"), NULL, 0, &o, &after), 405);
	assert_null(after);
	json_decref(o);
	assert_int_equal(f.n[F_SHUTDOWN], 0);
}

static void test_add_disk(void **state)
{
	struct fake f;
	json_t *o;

	fake_reset(&f);
	assert_int_equal(req(&f, "PUT", URL("vm.add-disk"),
			     "{\"path\": \"/img/a.raw\", \"readonly\": true, "
			     "\"serial\": \"SER-1\", \"id\": \"disk1\"}", &o), 200);
	assert_int_equal(f.n[F_DISK], 1);
	assert_int_equal(fake_calls(&f), 1);
	assert_string_equal(f.path.v, "/img/a.raw");
	assert_true(f.readonly);
	assert_true(f.serial.set);
	assert_string_equal(f.serial.v, "SER-1");
	assert_true(f.id.set);
	assert_string_equal(f.id.v, "disk1");
	assert_string_equal(str_of(o, "id"), "disk1");
	assert_string_equal(str_of(o, "bdf"), "0000:00:05.0");
	assert_int_equal(json_object_size(o), 2);
	json_decref(o);

	/* Only the path: the rest absent, not empty. */
	fake_reset(&f);
	assert_int_equal(req(&f, "PUT", URL("vm.add-disk"), "{\"path\":\"/b\"}", &o), 200);
	assert_string_equal(f.path.v, "/b");
	assert_false(f.readonly);
	assert_false(f.serial.set);
	assert_false(f.id.set);
	assert_string_equal(str_of(o, "id"), "_disk0");
	json_decref(o);

	/* readonly false said outright; a serial of exactly 20 bytes; UTF-8 in the path. */
	fake_reset(&f);
	assert_int_equal(req(&f, "PUT", URL("vm.add-disk"),
			     "{\"readonly\":false,\"path\":\"/d\\u00e9j\\u00e0\","
			     "\"serial\":\"12345678901234567890\"}", &o), 200);
	assert_false(f.readonly);
	assert_string_equal(f.path.v, "/d\xc3\xa9j\xc3\xa0");
	assert_string_equal(f.serial.v, "12345678901234567890");
	json_decref(o);
}

static void test_add_net(void **state)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
	static const uint8_t zero[6];
	struct fake f;
	json_t *o;

	fake_reset(&f);
	assert_int_equal(req(&f, "PUT", URL("vm.add-net"),
			     "{\"tap\":\"tap0\",\"mac\":\"52:54:00:AB:cd:ef\",\"id\":\"n-1\"}", &o),
			 200);
	assert_int_equal(f.n[F_NET], 1);
	assert_int_equal(fake_calls(&f), 1);
	assert_string_equal(f.tap.v, "tap0");
	assert_int_equal(f.tx_usecs, VIRTIO_NET_TX_USECS_AUTO);	/* --net's default */
	assert_true(f.mac_given);
	assert_memory_equal(f.mac, mac, 6);
	assert_string_equal(f.id.v, "n-1");
	assert_string_equal(str_of(o, "id"), "n-1");
	assert_string_equal(str_of(o, "bdf"), "0000:00:06.0");
	json_decref(o);

	/* No mac: not given, and no bytes made up here (the VMM derives one). */
	fake_reset(&f);
	assert_int_equal(req(&f, "PUT", URL("vm.add-net"), "{\"tap\":\"123456789012345\"}", &o), 200);
	assert_string_equal(f.tap.v, "123456789012345");
	assert_false(f.mac_given);
	assert_memory_equal(f.mac, zero, 6);
	assert_false(f.id.set);
	json_decref(o);
}

static void test_add_device(void **state)
{
	struct fake f;
	json_t *o;

	fake_reset(&f);
	assert_int_equal(req(&f, "PUT", URL("vm.add-device"),
			     "{\"path\":\"/sys/bus/pci/devices/0000:00:03.0\"}", &o), 200);
	assert_int_equal(f.n[F_DEVICE], 1);
	assert_int_equal(fake_calls(&f), 1);
	assert_string_equal(f.bdf.v, "0000:00:03.0");
	assert_false(f.id.set);
	assert_string_equal(str_of(o, "id"), "_vfio0");
	assert_string_equal(str_of(o, "bdf"), "0000:00:07.0");
	json_decref(o);

	/* The short form, canonicalised; the id passed on. */
	fake_reset(&f);
	assert_int_equal(req(&f, "PUT", URL("vm.add-device"), "{\"bdf\":\"00:03.0\",\"id\":\"gpu\"}",
			     &o), 200);
	assert_string_equal(f.bdf.v, "0000:00:03.0");
	assert_string_equal(f.id.v, "gpu");
	assert_string_equal(str_of(o, "id"), "gpu");
	json_decref(o);

	/* Upper-case hex, another domain, through the path. */
	fake_reset(&f);
	assert_int_equal(req(&f, "PUT", URL("vm.add-device"),
			     "{\"path\":\"/sys/bus/pci/devices/000A:1B:1F.7\"}", &o), 200);
	assert_string_equal(f.bdf.v, "000a:1b:1f.7");
	assert_false(f.vf_token.set);
	assert_false(f.rom.set);
	assert_int_equal(f.tx_usecs, VFIO_REQ_TIMEOUT_S);
	json_decref(o);

	/* A VF whose PF vfio-pci holds: its token; a ROM from a file. */
	fake_reset(&f);
	assert_int_equal(req(&f, "PUT", URL("vm.add-device"),
			     "{\"bdf\":\"01:00.1\",\"vf_token\":\"2AB74924-c335-45f4-9b16-8569e5b08258\","
			     "\"rom\":\"/var/lib/roms/nic.rom\"}", &o), 200);
	assert_string_equal(f.vf_token.v, "2AB74924-c335-45f4-9b16-8569e5b08258");
	assert_string_equal(f.rom.v, "/var/lib/roms/nic.rom");
	json_decref(o);
	refused("PUT", URL("vm.add-device"), "{\"bdf\":\"01:00.1\",\"vf_token\":\"2ab74924\"}", 400,
		"vf_token \"2ab74924\": expected a UUID");
	refused("PUT", URL("vm.add-device"),
		"{\"bdf\":\"01:00.1\",\"vf_token\":\"2ab74924-c335-45f4-9b16-8569e5b082580\"}", 400,
		"expected a UUID");
	refused("PUT", URL("vm.add-device"), "{\"bdf\":\"01:00.1\",\"vf_token\":7}", 400, NULL);
	refused("PUT", URL("vm.add-device"), "{\"bdf\":\"01:00.1\",\"rom\":\"\"}", 400,
		"\"rom\" must be a non-empty string");
}

static void test_remove_device(void **state)
{
	struct fake f;
	json_t *o;

	fake_reset(&f);
	f.pending = true;
	assert_int_equal(req(&f, "PUT", URL("vm.remove-device"), "{\"id\":\"disk1\"}", &o), 200);
	assert_int_equal(f.n[F_REMOVE], 1);
	assert_int_equal(fake_calls(&f), 1);
	assert_string_equal(f.id.v, "disk1");
	assert_string_equal(str_of(o, "id"), "disk1");
	assert_string_equal(str_of(o, "state"), "pending");
	assert_int_equal(json_object_size(o), 2);
	json_decref(o);

	fake_reset(&f);
	f.pending = false;
	/* A generated id is one the user may name to remove. */
	assert_int_equal(req(&f, "PUT", URL("vm.remove-device"), "{\"id\":\"_disk0\"}", &o), 200);
	assert_string_equal(f.id.v, "_disk0");
	assert_string_equal(str_of(o, "state"), "removed");
	json_decref(o);
}

static void test_routes(void **state)
{
	refused("GET", "/", NULL, 404, NULL);
	refused("GET", "", NULL, 404, NULL);
	refused("GET", API_PREFIX, NULL, 404, NULL);
	refused("GET", "/api/v1", NULL, 404, NULL);
	refused("GET", "/api/v2/vm.info", NULL, 404, NULL);
	refused("GET", "/api/v1/vm.infox", NULL, 404, "vm.infox");
	refused("GET", "/api/v1/vm.inf", NULL, 404, NULL);
	refused("GET", "/api/v1/VM.INFO", NULL, 404, NULL);
	refused("GET", "/api/v1/vm.info/", NULL, 404, NULL);
	refused("GET", "/api/v1//vm.info", NULL, 404, NULL);
	refused("GET", "api/v1/vm.info", NULL, 404, NULL);
	refused("GET", "/vm.info", NULL, 404, NULL);
	refused("PUT", "/api/v1/?vm.pause", NULL, 404, NULL);

	/* The right path with the wrong method: 405 naming the right one. */
	refused("PUT", URL("vmm.ping"), NULL, 405, "GET");
	refused("POST", URL("vm.info"), NULL, 405, "GET");
	refused("GET", URL("vm.pause"), NULL, 405, "PUT");
	refused("DELETE", URL("vm.resume"), NULL, 405, "PUT");
	refused("put", URL("vm.power-button"), NULL, 405, NULL);
	refused("GET", URL("vm.add-disk"), "{\"path\":\"/a\"}", 405, NULL);
	refused("POST", URL("vm.add-net"), "{\"tap\":\"t\"}", 405, NULL);
	refused("DELETE", URL("vm.remove-device"), "{\"id\":\"a\"}", 405, NULL);
	refused("PATCH", URL("vm.add-device"), "{\"bdf\":\"00:03.0\"}", 405, NULL);
}

static void test_bad_bodies(void **state)
{
	static const char nul[] = "{\"path\":\"/a\0b\"}";

	/* None where one is needed. */
	refused("PUT", URL("vm.add-disk"), NULL, 400, "body");
	refused("PUT", URL("vm.add-net"), "", 400, "body");
	/* Not JSON. */
	refused("PUT", URL("vm.add-disk"), "{\"path\": \"/a\"", 400, "malformed");
	refused("PUT", URL("vm.add-disk"), "{path: \"/a\"}", 400, "malformed");
	refused("PUT", URL("vm.add-disk"), "{\"path\": \"/a\",}", 400, "malformed");
	refused("PUT", URL("vm.add-disk"), "{\"path\": \"/a\"} {}", 400, "malformed");
	refused("PUT", URL("vm.add-disk"), "\xff\xfe", 400, "malformed");
	/* JSON, not an object. */
	refused("PUT", URL("vm.add-disk"), "[\"/a\"]", 400, NULL);
	refused("PUT", URL("vm.add-disk"), "\"/a\"", 400, NULL);
	refused("PUT", URL("vm.add-disk"), "null", 400, NULL);
	refused("PUT", URL("vm.add-disk"), "3", 400, NULL);
	/* A NUL inside a string, escaped or raw. */
	refused("PUT", URL("vm.add-disk"), "{\"path\":\"/a\\u0000b\"}", 400, NULL);
	refused_n("PUT", URL("vm.add-disk"), nul, sizeof(nul) - 1, 400, NULL);
	/* A body that stops at a NUL is not read as if it ended there. */
	refused_n("PUT", URL("vm.add-disk"), "{\"path\":\"/a\"}\0garbage", 21, 400, NULL);
	/* Duplicate keys: not last-one-wins. */
	refused("PUT", URL("vm.add-disk"), "{\"path\":\"/a\",\"path\":\"/b\"}", 400, NULL);
	/* A field no endpoint of its kind knows, typos included. */
	refused("PUT", URL("vm.add-disk"), "{\"path\":\"/a\",\"readOnly\":true}", 400, "readOnly");
	refused("PUT", URL("vm.add-disk"), "{\"path\":\"/a\",\"tap\":\"t\"}", 400, "tap");
	refused("PUT", URL("vm.add-net"), "{\"tap\":\"t\",\"path\":\"/a\"}", 400, "path");
	refused("PUT", URL("vm.add-device"), "{\"bdf\":\"00:03.0\",\"readonly\":true}", 400, NULL);
	refused("PUT", URL("vm.remove-device"), "{\"id\":\"a\",\"force\":true}", 400, "force");
	/* Missing what is required. */
	refused("PUT", URL("vm.add-disk"), "{}", 400, "path");
	refused("PUT", URL("vm.add-disk"), "{\"readonly\":true}", 400, "path");
	refused("PUT", URL("vm.add-net"), "{\"mac\":\"52:54:00:12:34:56\"}", 400, "tap");
	refused("PUT", URL("vm.remove-device"), "{}", 400, "id");
	/* Of the wrong type. */
	refused("PUT", URL("vm.add-disk"), "{\"path\":3}", 400, "path");
	refused("PUT", URL("vm.add-disk"), "{\"path\":null}", 400, "path");
	refused("PUT", URL("vm.add-disk"), "{\"path\":[\"/a\"]}", 400, "path");
	refused("PUT", URL("vm.add-disk"), "{\"path\":\"/a\",\"readonly\":\"yes\"}", 400, "readonly");
	refused("PUT", URL("vm.add-disk"), "{\"path\":\"/a\",\"readonly\":1}", 400, "readonly");
	refused("PUT", URL("vm.add-disk"), "{\"path\":\"/a\",\"serial\":12}", 400, "serial");
	refused("PUT", URL("vm.add-disk"), "{\"path\":\"/a\",\"id\":7}", 400, "id");
	refused("PUT", URL("vm.add-net"), "{\"tap\":true}", 400, "tap");
	refused("PUT", URL("vm.add-net"), "{\"tap\":\"t\",\"mac\":5}", 400, "mac");
	refused("PUT", URL("vm.add-device"), "{\"bdf\":3}", 400, "bdf");
	refused("PUT", URL("vm.remove-device"), "{\"id\":{}}", 400, "id");
	/* Empty strings are not "absent". */
	refused("PUT", URL("vm.add-disk"), "{\"path\":\"\"}", 400, "path");
	refused("PUT", URL("vm.add-disk"), "{\"path\":\"/a\",\"serial\":\"\"}", 400, "serial");
	refused("PUT", URL("vm.add-disk"), "{\"path\":\"/a\",\"id\":\"\"}", 400, "id");
	refused("PUT", URL("vm.add-net"), "{\"tap\":\"\"}", 400, "tap");
	refused("PUT", URL("vm.remove-device"), "{\"id\":\"\"}", 400, "id");
	/* A body where none is taken, even an empty object. */
	refused("PUT", URL("vm.pause"), "{}", 400, "no body");
	refused("PUT", URL("vm.resume"), "x", 400, "no body");
	refused("PUT", URL("vm.power-button"), "{}", 400, "no body");
	refused("GET", URL("vmm.ping"), "{}", 400, "no body");
	refused("GET", URL("vm.info"), "{}", 400, "no body");
}

static void test_bad_fields(void **state)
{
	/* ids: 1-31 of [A-Za-z0-9_.-], not starting with '_'. */
	refused("PUT", URL("vm.add-disk"), "{\"path\":\"/a\",\"id\":\"_x\"}", 400, "_x");
	refused("PUT", URL("vm.add-disk"),
		"{\"path\":\"/a\",\"id\":\"abcdefghijabcdefghijabcdefghijab\"}", 400, NULL);
	refused("PUT", URL("vm.add-disk"), "{\"path\":\"/a\",\"id\":\"a b\"}", 400, NULL);
	refused("PUT", URL("vm.add-disk"), "{\"path\":\"/a\",\"id\":\"a/b\"}", 400, NULL);
	refused("PUT", URL("vm.add-net"), "{\"tap\":\"t\",\"id\":\"d\\u00e9\"}", 400, NULL);
	refused("PUT", URL("vm.add-device"), "{\"bdf\":\"00:03.0\",\"id\":\"a:b\"}", 400, NULL);
	/* 31 is the longest. */
	{
		struct fake f;
		json_t *o;

		fake_reset(&f);
		assert_int_equal(req(&f, "PUT", URL("vm.add-disk"),
				     "{\"path\":\"/a\",\"id\":\"abcdefghijabcdefghijabcdefghija\"}", &o),
				 200);
		assert_string_equal(f.id.v, "abcdefghijabcdefghijabcdefghija");
		json_decref(o);
	}
	/* serial: at most 20 bytes. */
	refused("PUT", URL("vm.add-disk"), "{\"path\":\"/a\",\"serial\":\"123456789012345678901\"}",
		400, "serial");
	/* UTF-8 counts in bytes: 11 two-byte characters are 22. */
	refused("PUT", URL("vm.add-disk"),
		"{\"path\":\"/a\",\"serial\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
		"\\u00e9\\u00e9\\u00e9\\u00e9\"}", 400, "serial");
	/* mac: a unicast aa:bb:cc:dd:ee:ff. */
	refused("PUT", URL("vm.add-net"), "{\"tap\":\"t\",\"mac\":\"01:00:5e:00:00:01\"}", 400, "mac");
	refused("PUT", URL("vm.add-net"), "{\"tap\":\"t\",\"mac\":\"ff:ff:ff:ff:ff:ff\"}", 400, "mac");
	refused("PUT", URL("vm.add-net"), "{\"tap\":\"t\",\"mac\":\"52:54:00:12:34\"}", 400, "mac");
	refused("PUT", URL("vm.add-net"), "{\"tap\":\"t\",\"mac\":\"52:54:00:12:34:5g\"}", 400, "mac");
	refused("PUT", URL("vm.add-net"), "{\"tap\":\"t\",\"mac\":\"52:54:00:12:34:56:\"}", 400, "mac");
	refused("PUT", URL("vm.add-net"), "{\"tap\":\"t\",\"mac\":\"52-54-00-12-34-56\"}", 400, "mac");
	refused("PUT", URL("vm.add-net"), "{\"tap\":\"t\",\"mac\":\"525400123456\"}", 400, "mac");
	refused("PUT", URL("vm.add-net"), "{\"tap\":\"t\",\"mac\":\"5:54:00:12:34:567\"}", 400, "mac");
	/* tap: an interface name, 1 to 15 bytes. */
	refused("PUT", URL("vm.add-net"), "{\"tap\":\"1234567890123456\"}", 400, "tap");
	refused("PUT", URL("vm.add-net"), "{\"tap\":\"a/b\"}", 400, "tap");
	/* add-device: exactly one of path and bdf; the path under /sys/bus/pci/devices/. */
	refused("PUT", URL("vm.add-device"),
		"{\"path\":\"/sys/bus/pci/devices/0000:00:03.0\",\"bdf\":\"00:03.0\"}", 400, NULL);
	refused("PUT", URL("vm.add-device"), "{}", 400, NULL);
	refused("PUT", URL("vm.add-device"), "{\"id\":\"gpu\"}", 400, NULL);
	refused("PUT", URL("vm.add-device"), "{\"path\":\"/dev/vfio/3\"}", 400, "/dev/vfio/3");
	refused("PUT", URL("vm.add-device"), "{\"path\":\"/sys/bus/pci/devices\"}", 400, NULL);
	refused("PUT", URL("vm.add-device"), "{\"path\":\"/sys/bus/pci/devices/\"}", 400, NULL);
	refused("PUT", URL("vm.add-device"), "{\"path\":\"sys/bus/pci/devices/0000:00:03.0\"}", 400,
		NULL);
	refused("PUT", URL("vm.add-device"), "{\"path\":\"/sys/bus/pci/devices/0000:00:03.0/\"}",
		400, NULL);
	refused("PUT", URL("vm.add-device"),
		"{\"path\":\"/sys/bus/pci/devices/../devices/0000:00:03.0\"}", 400, NULL);
	refused("PUT", URL("vm.add-device"), "{\"path\":\"/sys/bus/pci/devices/0000:00:03.0/..\"}",
		400, NULL);
	refused("PUT", URL("vm.add-device"), "{\"bdf\":\"00:20.0\"}", 400, NULL);
	refused("PUT", URL("vm.add-device"), "{\"bdf\":\"00:03.8\"}", 400, NULL);
	refused("PUT", URL("vm.add-device"), "{\"bdf\":\"00:03.0x\"}", 400, NULL);
	refused("PUT", URL("vm.add-device"), "{\"bdf\":\"0:03.0\"}", 400, NULL);
	refused("PUT", URL("vm.add-device"), "{\"bdf\":\"000:00:03.0\"}", 400, NULL);
	refused("PUT", URL("vm.add-device"), "{\"bdf\":\"gg:03.0\"}", 400, NULL);
}

/* What an op returns becomes the status, and its sentence the error. */
static void test_op_errors(void **state)
{
	static const struct { int err; int status; } map[] = {
		{ -ENOENT, 404 }, { -ENODEV, 404 }, { -EEXIST, 409 }, { -EBUSY, 409 },
		{ -EALREADY, 409 }, { -ENOSPC, 507 }, { -EINVAL, 400 }, { -ENOTSUP, 501 },
		{ -ESHUTDOWN, 503 }, { -EIO, 500 }, { -EPERM, 403 }, { -EACCES, 403 }, { -ENOMEM, 500 },
	};
	static const struct { const char *method, *url, *body; int op; } calls[] = {
		{ "PUT", URL("vm.pause"), NULL, F_PAUSE },
		{ "PUT", URL("vm.resume"), NULL, F_RESUME },
		{ "PUT", URL("vm.power-button"), NULL, F_POWER },
		{ "PUT", URL("vm.add-disk"), "{\"path\":\"/a\"}", F_DISK },
		{ "PUT", URL("vm.add-net"), "{\"tap\":\"t\"}", F_NET },
		{ "PUT", URL("vm.add-device"), "{\"bdf\":\"00:03.0\"}", F_DEVICE },
		{ "PUT", URL("vm.remove-device"), "{\"id\":\"x\"}", F_REMOVE },
	};
	struct fake f;
	json_t *o;

	for (unsigned int i = 0; i < ARRAY_SIZE(map); i++) {
		assert_int_equal(api_status_of(map[i].err), map[i].status);
		for (unsigned int c = 0; c < ARRAY_SIZE(calls); c++) {
			fake_reset(&f);
			f.fail = map[i].err;
			f.msg = "the fake says \"no\"";
			assert_int_equal(req(&f, calls[c].method, calls[c].url, calls[c].body, &o),
					 map[i].status);
			assert_int_equal(f.n[calls[c].op], 1);
			assert_int_equal(fake_calls(&f), 1);
			/* Only the sentence, quotes intact. */
			assert_string_equal(str_of(o, "error"), "the fake says \"no\"");
			assert_int_equal(json_object_size(o), 1);
			json_decref(o);
		}
	}

	/* No sentence: the errno's text rather than an empty error. */
	fake_reset(&f);
	f.fail = -EBUSY;
	assert_int_equal(req(&f, "PUT", URL("vm.remove-device"), "{\"id\":\"x\"}", &o), 409);
	assert_string_equal(str_of(o, "error"), strerror(EBUSY));
	json_decref(o);

	/* A message at the limit, control characters included, still makes JSON. */
	{
		char msg[API_ERR_LEN];

		memset(msg, 'm', sizeof(msg) - 1);
		msg[sizeof(msg) - 1] = '\0';
		msg[3] = '\n';
		msg[7] = '\\';
		fake_reset(&f);
		f.fail = -EIO;
		f.msg = msg;
		assert_int_equal(req(&f, "PUT", URL("vm.pause"), NULL, &o), 500);
		assert_string_equal(str_of(o, "error"), msg);
		json_decref(o);
	}
}

/*
 * Errors quote what the client sent, cut to a length: a cut through a
 * UTF-8 character (or bytes that were never UTF-8, as a URL may hold) must
 * still give an {"error": ...} reply, not none.
 */
static void test_error_utf8(void **state)
{
	char url[128], body[256], a[100];
	struct fake f;
	json_t *o;

	memset(a, 'a', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	/* Bytes that are not UTF-8 in the path; an 80-byte cut through "é". */
	refused("GET", "/api/v1/\xff", NULL, 404, NULL);
	snprintf(url, sizeof(url), "/api/v1/%.71s\xc3\xa9", a);
	refused("GET", url, NULL, 404, NULL);
	/* A 40-byte cut of a field name, of an id; a 60-byte cut of a path. */
	snprintf(body, sizeof(body), "{\"path\":\"/a\",\"%.39s\u00e9\":1}", a);
	refused("PUT", URL("vm.add-disk"), body, 400, "unknown field");
	snprintf(body, sizeof(body), "{\"path\":\"/a\",\"id\":\"%.39s\u00e9\"}", a);
	refused("PUT", URL("vm.add-disk"), body, 400, "id");
	snprintf(body, sizeof(body), "{\"path\":\"/%.58s\u00e9\"}", a);
	refused("PUT", URL("vm.add-device"), body, 400, "path");
	/* The VMM's sentence cut short by its own snprintf. */
	fake_reset(&f);
	f.fail = -ENOENT;
	f.msg = "cannot open /d\xc3";
	assert_int_equal(req(&f, "PUT", URL("vm.add-disk"), "{\"path\":\"/d\"}", &o), 404);
	check_error(o, "cannot open");
	json_decref(o);
}

static void test_error_json(void **state)
{
	char *s = api_error_json("a \"quoted\"\tthing\\");
	json_t *o;

	assert_non_null(s);
	o = json_loads(s, 0, NULL);
	assert_non_null(o);
	assert_string_equal(str_of(o, "error"), "a \"quoted\"\tthing\\");
	json_decref(o);
	free(s);
}

/* ---- The server, over socketpairs ---- */

/* A test that hangs fails instead. */
static void on_alarm(int sig)
{
	static const char msg[] = "test_api: timed out (a request never completed)\n";

	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

static int guard_setup(void **state)
{
	signal(SIGALRM, on_alarm);
	/* As the VMM does (vm.c): a client gone is an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	alarm(30);
	return 0;
}

#define TURNS	400	/* loop turns of up to 10 ms before a test gives up */

static char tmpdir[64];

/* A fresh directory (tmpdir) and a path for a socket in it. */
static void mk_tmpdir(char *path, size_t size)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kvmio-test-api-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, size, "%s/api.sock", tmpdir);
}

static void rm_tmpdir(const char *path)
{
	unlink(path);
	assert_int_equal(rmdir(tmpdir), 0);
}

struct srv {
	struct loop l;
	struct api_server *s;
	struct fake f;
	char path[128];		/* srv_pairs' socket, removed by srv_down */
};

/* The server up, for guard_teardown to stop when a test fails half-way. */
static struct srv *live;

static void srv_init(struct srv *v)
{
	fake_reset(&v->f);
	v->s = NULL;
	v->path[0] = '\0';
	assert_int_equal(loop_init(&v->l), 0);
	live = v;
}

static void srv_up(struct srv *v, const char *path)
{
	srv_init(v);
	v->s = api_start(&v->l, path, &fake_ops, &v->f);
	assert_non_null(v->s);
}

/*
 * A server for the socketpair tests. api_serve_fd is the same whether the
 * server listens or not; these listen (at a socket in a fresh directory,
 * which nothing connects to) so that they test the connections even if
 * api_start without a path were broken: test_server_no_socket covers that.
 */
static void srv_pairs(struct srv *v)
{
	char path[128];

	mk_tmpdir(path, sizeof(path));
	srv_up(v, path);
	snprintf(v->path, sizeof(v->path), "%s", path);
}

static void srv_down(struct srv *v)
{
	live = NULL;
	api_stop(v->s);
	v->s = NULL;
	loop_destroy(&v->l);
	if (v->path[0])
		rm_tmpdir(v->path);
}

/* After each server test, passed or failed: no alarm left, no server up. */
static int guard_teardown(void **state)
{
	alarm(0);
	if (live)
		srv_down(live);
	return 0;
}

struct client {
	int fd;
	char buf[32768];
	size_t len;
	bool eof;
};

static void client_init(struct client *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

/* A connection the server got through api_serve_fd. */
static void client_pair(struct srv *v, struct client *c)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(api_serve_fd(v->s, sv[0]), 0);
	client_init(c, sv[1]);
}

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void client_read(struct client *c)
{
	while (!c->eof) {
		ssize_t n;

		assert_true(c->len < sizeof(c->buf) - 1);
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (n > 0)
			c->len += (size_t)n;
		else if (n == 0 || errno == ECONNRESET)
			c->eof = true;
		else
			break;
	}
	c->buf[c->len] = '\0';
}

static void turn(struct srv *v)
{
	int ret = loop_run_once(&v->l, 10);

	assert_true(ret >= 0);
}

/*
 * Write it all, turning the loop while the socket is full. False if the
 * server closed the connection first.
 */
static bool client_try_send(struct srv *v, struct client *c, const void *data, size_t len)
{
	const char *p = data;
	unsigned int stuck = 0;

	while (len) {
		ssize_t n = write(c->fd, p, len);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			stuck = 0;
			continue;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return false;
		if (n < 0 && errno != EAGAIN)
			fail_msg("write: %s", strerror(errno));
		assert_true(++stuck < TURNS);
		turn(v);
		client_read(c);
	}
	return true;
}

static void client_send(struct srv *v, struct client *c, const void *data, size_t len)
{
	if (!client_try_send(v, c, data, len))
		fail_msg("the server closed the connection while the request was being sent");
}

static void client_puts(struct srv *v, struct client *c, const char *s)
{
	client_send(v, c, s, strlen(s));
}

struct resp {
	int status;
	char ctype[64];		/* "" when absent */
	long clen;		/* -1 when absent */
	bool close;		/* Connection: close */
	const char *body;
	size_t body_len;
};

/* A whole response in @c's buffer: true and *@r; false while incomplete. */
static bool parse_resp(const struct client *c, struct resp *r)
{
	const char *end = strstr(c->buf, "\r\n\r\n"), *line;

	memset(r, 0, sizeof(*r));
	r->clen = -1;
	if (!end)
		return false;
	if (sscanf(c->buf, "HTTP/1.1 %d ", &r->status) != 1)
		fail_msg("not an HTTP/1.1 status line: %.80s", c->buf);
	for (line = strstr(c->buf, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
		size_t n = (size_t)(strstr(line, "\r\n") - line);

		if (!strncasecmp(line, "Content-Type:", 13))
			snprintf(r->ctype, sizeof(r->ctype), "%.*s", (int)(n - 13), line + 13);
		else if (!strncasecmp(line, "Content-Length:", 15))
			r->clen = strtol(line + 15, NULL, 10);
		else if (!strncasecmp(line, "Connection:", 11) && strcasestr(line, "close") &&
			 (size_t)(strcasestr(line, "close") - line) < n)
			r->close = true;
	}
	/* Leading blanks of a header value. */
	memmove(r->ctype, r->ctype + strspn(r->ctype, " \t"), strlen(r->ctype) + 1);
	r->body = end + 4;
	r->body_len = c->len - (size_t)(r->body - c->buf);
	if (r->status == 204)
		return true;
	if (r->clen >= 0)
		return r->body_len >= (size_t)r->clen;
	return c->eof;
}

/* Turn the loop until @c holds a whole response; fails after TURNS turns. */
static void wait_resp(struct srv *v, struct client *c, struct resp *r)
{
	for (unsigned int i = 0; i < TURNS; i++) {
		client_read(c);
		if (parse_resp(c, r))
			return;
		if (c->eof)
			fail_msg("connection closed without a whole response: \"%s\"", c->buf);
		turn(v);
	}
	fail_msg("no response after %u turns: \"%s\"", TURNS, c->buf);
}

/* A JSON response: @status, application/json, an object body (returned). */
static json_t *json_resp(struct srv *v, struct client *c, int status)
{
	struct resp r;
	json_error_t je;
	json_t *o;

	wait_resp(v, c, &r);
	if (r.status != status)
		fail_msg("status %d, expected %d: %s", r.status, status, c->buf);
	assert_string_equal(r.ctype, "application/json");
	assert_int_equal(r.clen, (long)r.body_len);
	o = json_loadb(r.body, r.body_len, 0, &je);
	if (!o)
		fail_msg("body is not JSON: %s", r.body);
	assert_true(json_is_object(o));
	return o;
}

/* Forget the response read so far (keep-alive: the next one follows). */
static void client_clear(struct client *c)
{
	c->len = 0;
	c->buf[0] = '\0';
}

static void some_turns(struct srv *v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		assert_true(loop_run_once(&v->l, 0) >= 0);
}

static const char ping[] = "GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n\r\n";

/* One ping on a fresh connection: 200 with this process's pid. */
static void ping_ok(struct srv *v)
{
	struct client c;
	json_t *o;

	client_pair(v, &c);
	client_puts(v, &c, ping);
	o = json_resp(v, &c, 200);
	assert_string_equal(str_of(o, "version"), KVMIO_VERSION);
	assert_int_equal(json_integer_value(json_object_get(o, "pid")), getpid());
	json_decref(o);
	client_close(&c);
}

static void test_server_get(void **state)
{
	static struct srv v;	/* static: guard_teardown may stop it */
	struct client c;
	struct resp r;
	json_t *o;

	srv_pairs(&v);
	ping_ok(&v);

	/* Keep-alive: several requests on one connection, errors as JSON too. */
	client_pair(&v, &c);
	client_puts(&v, &c, "GET /api/v1/vm.info?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n");
	o = json_resp(&v, &c, 200);
	assert_string_equal(str_of(o, "state"), "Running");
	assert_int_equal(v.f.n[F_INFO], 1);
	json_decref(o);
	client_clear(&c);

	client_puts(&v, &c, "GET /api/v1/nope HTTP/1.1\r\nHost: x\r\n\r\n");
	o = json_resp(&v, &c, 404);
	check_error(o, "nope");
	json_decref(o);
	client_clear(&c);

	client_puts(&v, &c, "GET /api/v1/vm.pause HTTP/1.1\r\nHost: x\r\n\r\n");
	o = json_resp(&v, &c, 405);
	check_error(o, "PUT");
	json_decref(o);
	client_clear(&c);

	/* A 204 has no body and no Content-Type. */
	client_puts(&v, &c, "PUT /api/v1/vm.pause HTTP/1.1\r\nHost: x\r\n\r\n");
	wait_resp(&v, &c, &r);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
	assert_string_equal(r.ctype, "");
	assert_int_equal(v.f.n[F_PAUSE], 1);
	client_close(&c);

	assert_int_equal(fake_calls(&v.f), 2);
	srv_down(&v);
}

static const char disk_body[] = "{\"path\":\"/img/x.qcow\",\"readonly\":true,\"id\":\"d7\"}";

static void put_disk(struct srv *v, struct client *c)
{
	char hdr[256];

	snprintf(hdr, sizeof(hdr), "PUT /api/v1/vm.add-disk HTTP/1.1\r\nHost: x\r\n"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		 sizeof(disk_body) - 1);
	client_puts(v, c, hdr);
	client_puts(v, c, disk_body);
}

static void disk_ok(struct srv *v, struct client *c)
{
	json_t *o = json_resp(v, c, 200);

	assert_string_equal(str_of(o, "id"), "d7");
	assert_string_equal(str_of(o, "bdf"), "0000:00:05.0");
	json_decref(o);
	assert_int_equal(v->f.n[F_DISK], 1);
	assert_int_equal(fake_calls(&v->f), 1);
	assert_string_equal(v->f.path.v, "/img/x.qcow");
	assert_true(v->f.readonly);
	assert_string_equal(v->f.id.v, "d7");
	assert_false(v->f.serial.set);
}

static void test_server_put_body(void **state)
{
	static struct srv v;	/* static: guard_teardown may stop it */
	struct client c;
	json_t *o;

	srv_pairs(&v);
	client_pair(&v, &c);
	put_disk(&v, &c);
	disk_ok(&v, &c);
	client_clear(&c);

	/* A refused body comes back as the 400 api_dispatch gives. */
	client_puts(&v, &c, "PUT /api/v1/vm.add-net HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\n"
		    "{\"tap\":\"t\",}  ");
	o = json_resp(&v, &c, 400);
	check_error(o, "malformed");
	json_decref(o);
	assert_int_equal(v.f.n[F_NET], 0);
	client_clear(&c);

	/* A chunked body, in three chunks. */
	client_puts(&v, &c, "PUT /api/v1/vm.remove-device HTTP/1.1\r\nHost: x\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n"
		    "3\r\n{\"i\r\n6\r\nd\":\"d7\r\n2\r\n\"}\r\n0\r\n\r\n");
	o = json_resp(&v, &c, 200);
	assert_string_equal(str_of(o, "id"), "d7");
	assert_string_equal(str_of(o, "state"), "removed");
	json_decref(o);
	assert_int_equal(v.f.n[F_REMOVE], 1);
	client_close(&c);

	/* A body of exactly API_BODY_MAX bytes is taken. */
	{
		static const char head[] = "{\"path\":\"/big\"";
		char *body = malloc(API_BODY_MAX);
		char hdr[256];

		assert_non_null(body);
		memset(body, ' ', API_BODY_MAX);
		memcpy(body, head, sizeof(head) - 1);
		body[API_BODY_MAX - 1] = '}';
		fake_reset(&v.f);
		client_pair(&v, &c);
		snprintf(hdr, sizeof(hdr), "PUT /api/v1/vm.add-disk HTTP/1.1\r\nHost: x\r\n"
			 "Content-Length: %d\r\n\r\n", API_BODY_MAX);
		client_puts(&v, &c, hdr);
		client_send(&v, &c, body, API_BODY_MAX);
		o = json_resp(&v, &c, 200);
		json_decref(o);
		assert_int_equal(v.f.n[F_DISK], 1);
		assert_string_equal(v.f.path.v, "/big");
		client_close(&c);
		free(body);
	}
	srv_down(&v);
}

/* A request dribbled in a byte at a time, the loop turning between bytes. */
static void test_server_byte_at_a_time(void **state)
{
	char req_[512];
	static struct srv v;	/* static: guard_teardown may stop it */
	struct client c;
	int n;

	srv_pairs(&v);
	client_pair(&v, &c);
	n = snprintf(req_, sizeof(req_), "PUT /api/v1/vm.add-disk HTTP/1.1\r\nHost: x\r\n"
		     "Content-Length: %zu\r\n\r\n%s", sizeof(disk_body) - 1, disk_body);
	for (int i = 0; i < n; i++) {
		client_send(&v, &c, &req_[i], 1);
		some_turns(&v, 2);
		/* Nothing is answered, or asked of the VMM, before the last byte. */
		if (i < n - 1) {
			client_read(&c);
			assert_int_equal(c.len, 0);
			assert_int_equal(fake_calls(&v.f), 0);
		}
	}
	disk_ok(&v, &c);
	client_close(&c);
	srv_down(&v);
}

/* A declared Content-Length over the limit: 413 before any of the body is read. */
static void test_server_too_big_declared(void **state)
{
	static struct srv v;	/* static: guard_teardown may stop it */
	struct client c;
	struct resp r;
	json_t *o;

	srv_pairs(&v);
	client_pair(&v, &c);
	client_puts(&v, &c, "PUT /api/v1/vm.add-disk HTTP/1.1\r\nHost: x\r\n"
		    "Content-Length: 1000000\r\n\r\n{\"path\":");
	o = json_resp(&v, &c, 413);
	check_error(o, NULL);
	json_decref(o);
	/* The connection is not kept for the rest of the body. */
	for (unsigned int i = 0; i < TURNS && !c.eof; i++) {
		turn(&v);
		client_read(&c);
	}
	assert_true(c.eof);
	assert_int_equal(fake_calls(&v.f), 0);
	client_close(&c);

	/* One byte over: refused too. */
	client_pair(&v, &c);
	client_puts(&v, &c, "PUT /api/v1/vm.add-disk HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n");
	wait_resp(&v, &c, &r);
	assert_int_equal(r.status, 413);
	assert_int_equal(fake_calls(&v.f), 0);
	client_close(&c);

	ping_ok(&v);
	srv_down(&v);
}

/*
 * A chunked body (length undeclared) growing past the limit: 413, whether
 * the server answers as soon as it sees too much or once the body ends.
 */
static void test_server_too_big_chunked(void **state)
{
	static char chunk[6 + 4096 + 2];
	static struct srv v;	/* static: guard_teardown may stop it */
	struct client c;
	struct resp r;
	size_t sent;
	bool open_ = true;
	json_t *o;

	memset(chunk, 'a', sizeof(chunk));
	memcpy(chunk, "1000\r\n", 6);
	memcpy(chunk + 6 + 4096, "\r\n", 2);
	srv_pairs(&v);
	client_pair(&v, &c);
	client_puts(&v, &c, "PUT /api/v1/vm.add-disk HTTP/1.1\r\nHost: x\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n9\r\n{\"path\":\"\r\n");
	/* 4 KiB chunks until the server answers, or well past the limit. */
	for (sent = 9; sent <= API_BODY_MAX + 8192;) {
		open_ = client_try_send(&v, &c, chunk, sizeof(chunk));
		if (!open_)
			break;
		sent += 4096;
		some_turns(&v, 1);
		client_read(&c);
		if (c.eof || parse_resp(&c, &r))
			break;
	}
	if (open_ && !c.eof && !parse_resp(&c, &r))
		client_try_send(&v, &c, "2\r\n\"}\r\n0\r\n\r\n", 12);
	for (unsigned int i = 0; i < TURNS && !c.eof && !parse_resp(&c, &r); i++) {
		turn(&v);
		client_read(&c);
	}
	/* Whatever the answer, the VMM was not asked. */
	assert_int_equal(fake_calls(&v.f), 0);
	if (!parse_resp(&c, &r))
		fail_msg("%s after %zu bytes of a chunked body, and no 413",
			 c.eof ? "connection closed" : "no response", sent);
	o = json_resp(&v, &c, 413);
	check_error(o, NULL);
	json_decref(o);
	client_close(&c);

	ping_ok(&v);
	srv_down(&v);
}

/* Clients that go away half-way: nothing is asked of the VMM, nothing leaks. */
static void test_server_client_leaves(void **state)
{
	static struct srv v;	/* static: guard_teardown may stop it */
	struct client c;

	srv_pairs(&v);

	/* Half the headers. */
	client_pair(&v, &c);
	client_puts(&v, &c, "PUT /api/v1/vm.pause HTTP/1.1\r\nHo");
	some_turns(&v, 5);
	client_close(&c);
	some_turns(&v, 5);
	assert_int_equal(fake_calls(&v.f), 0);

	/* The headers and part of the body. */
	client_pair(&v, &c);
	client_puts(&v, &c, "PUT /api/v1/vm.add-disk HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n"
		    "{\"path\":");
	some_turns(&v, 5);
	client_close(&c);
	some_turns(&v, 5);
	assert_int_equal(fake_calls(&v.f), 0);

	/* Half a chunked body. */
	client_pair(&v, &c);
	client_puts(&v, &c, "PUT /api/v1/vm.add-disk HTTP/1.1\r\nHost: x\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"pat\r\n");
	some_turns(&v, 5);
	client_close(&c);
	some_turns(&v, 5);
	assert_int_equal(fake_calls(&v.f), 0);

	/* A whole request, gone before the reply: answered into nothing, no crash. */
	client_pair(&v, &c);
	client_puts(&v, &c, "GET /api/v1/vm.info HTTP/1.1\r\nHost: x\r\n\r\n");
	client_close(&c);
	some_turns(&v, 10);

	/* Still serving. */
	ping_ok(&v);
	srv_down(&v);
}

/* vm.shutdown: the op runs once, after the 204 is on its way. */
static void test_server_shutdown(void **state)
{
	static struct srv v;	/* static: guard_teardown may stop it */
	struct client c;
	struct resp r;

	srv_pairs(&v);
	client_pair(&v, &c);
	v.f.peer_fd = c.fd;
	client_puts(&v, &c, "PUT /api/v1/vm.shutdown HTTP/1.1\r\nHost: x\r\n\r\n");
	/* Without reading: when it ran, the reply had to be in the socket already. */
	for (unsigned int i = 0; i < TURNS && !v.f.n[F_SHUTDOWN]; i++)
		turn(&v);
	assert_int_equal(v.f.n[F_SHUTDOWN], 1);
	assert_true(v.f.at_shutdown_len > 0);
	v.f.at_shutdown[v.f.at_shutdown_len] = '\0';
	if (strncmp(v.f.at_shutdown, "HTTP/1.1 204", 12))
		fail_msg("shutdown ran before its reply was sent: \"%s\"", v.f.at_shutdown);

	wait_resp(&v, &c, &r);
	assert_int_equal(r.status, 204);
	v.f.peer_fd = -1;
	some_turns(&v, 5);
	client_close(&c);
	some_turns(&v, 5);
	assert_int_equal(v.f.n[F_SHUTDOWN], 1);
	assert_int_equal(fake_calls(&v.f), 1);

	/* Other requests do not run it. */
	ping_ok(&v);
	assert_int_equal(v.f.n[F_SHUTDOWN], 1);
	srv_down(&v);
	assert_int_equal(v.f.n[F_SHUTDOWN], 1);
}

/* A slow client does not hold up a fast one. */
static void test_server_interleaved(void **state)
{
	static struct srv v;	/* static: guard_teardown may stop it */
	struct client slow, fast;
	json_t *o;

	srv_pairs(&v);
	client_pair(&v, &slow);
	client_pair(&v, &fast);
	client_puts(&v, &slow, "GET /api/v1/vm.info HTTP/1.1\r\nHo");
	some_turns(&v, 3);
	client_puts(&v, &fast, ping);
	o = json_resp(&v, &fast, 200);
	assert_true(json_is_integer(json_object_get(o, "pid")));
	json_decref(o);

	client_read(&slow);
	assert_int_equal(slow.len, 0);
	assert_false(slow.eof);
	assert_int_equal(v.f.n[F_INFO], 0);

	/* A second request from the fast one, still ahead of the slow one. */
	client_clear(&fast);
	client_puts(&v, &fast, "PUT /api/v1/vm.pause HTTP/1.1\r\nHost: x\r\n\r\n");
	{
		struct resp r;

		wait_resp(&v, &fast, &r);
		assert_int_equal(r.status, 204);
	}
	assert_int_equal(v.f.n[F_PAUSE], 1);
	client_read(&slow);
	assert_int_equal(slow.len, 0);

	client_puts(&v, &slow, "st: x\r\n\r\n");
	o = json_resp(&v, &slow, 200);
	assert_string_equal(str_of(o, "state"), "Running");
	json_decref(o);
	assert_int_equal(v.f.n[F_INFO], 1);
	client_close(&slow);
	client_close(&fast);
	srv_down(&v);
}

/* No path: no socket file, connections only through api_serve_fd. */
static void test_server_no_socket(void **state)
{
	static struct srv v;	/* static: guard_teardown may stop it */
	struct client c;

	srv_init(&v);
	v.s = api_start(&v.l, NULL, &fake_ops, &v.f);
	if (!v.s)
		fail_msg("api_start(loop, NULL, ...) failed: no server for api_serve_fd");
	ping_ok(&v);
	client_pair(&v, &c);
	put_disk(&v, &c);
	disk_ok(&v, &c);
	client_close(&c);
	srv_down(&v);
}

/* ---- The socket file ---- */

/* A client connected to @path (the server accepts it on a turn). */
static void client_connect(struct client *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		fail_msg("connect %s: %s", path, strerror(errno));
	client_init(c, fd);
}

static void ping_at(struct srv *v, const char *path)
{
	struct client c;
	json_t *o;

	client_connect(&c, path);
	client_puts(v, &c, ping);
	o = json_resp(v, &c, 200);
	assert_int_equal(json_integer_value(json_object_get(o, "pid")), getpid());
	json_decref(o);
	client_close(&c);
}

static void test_socket_file(void **state)
{
	char path[128];
	static struct srv v;	/* static: guard_teardown may stop it */
	struct stat st;
	struct loop l2;
	mode_t old;

	mk_tmpdir(path, sizeof(path));
	/* 0600 whatever the umask. */
	old = umask(0);
	srv_up(&v, path);
	umask(old);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	ping_at(&v, path);

	/* In use by a live server: a second one is refused and leaves it be. */
	assert_int_equal(loop_init(&l2), 0);
	assert_null(api_start(&l2, path, &fake_ops, &v.f));
	loop_destroy(&l2);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	ping_at(&v, path);

	/* Stopped: the file goes. */
	srv_down(&v);
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
	rm_tmpdir(path);
}

/*
 * More clients than the server's connection limit (32): the 33rd waits in
 * the backlog; once they all leave, the server must accept again. It did
 * not: libmicrohttpd takes its listening socket out of its epoll set at
 * the limit and puts it back only in a later MHD_run, which nothing ran.
 */
static void test_socket_conn_limit(void **state)
{
	char path[128];
	static struct srv v;	/* static: guard_teardown may stop it */
	static struct client c[40];

	mk_tmpdir(path, sizeof(path));
	srv_up(&v, path);
	for (unsigned int i = 0; i < 40; i++) {
		client_connect(&c[i], path);
		some_turns(&v, 2);
	}
	for (unsigned int i = 0; i < 40; i++)
		client_close(&c[i]);
	some_turns(&v, 20);
	ping_at(&v, path);
	ping_at(&v, path);
	srv_down(&v);
	rm_tmpdir(path);
}

static void test_socket_stale(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[100];
	static struct srv v;	/* static: guard_teardown may stop it */
	struct stat st;
	int fd;

	mk_tmpdir(path, sizeof(path));
	/* A listener that went away without removing its socket. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(chmod(path, 0644), 0);
	close(fd);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));

	/* Replaced: a new socket, ours, 0600, that answers. */
	srv_up(&v, path);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	ping_at(&v, path);
	srv_down(&v);
	assert_int_equal(lstat(path, &st), -1);
	rm_tmpdir(path);
}

static void test_socket_not_a_socket(void **state)
{
	static const char keep_[] = "not a socket\n";
	char path[128], target[160], buf[64];
	struct stat st;
	struct loop l;
	struct fake f;
	ssize_t n;
	int fd;

	fake_reset(&f);
	assert_int_equal(loop_init(&l), 0);
	mk_tmpdir(path, sizeof(path));

	/* A regular file: refused, untouched. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, keep_, sizeof(keep_) - 1), (ssize_t)sizeof(keep_) - 1);
	close(fd);
	assert_null(api_start(&l, path, &fake_ops, &f));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, (ssize_t)sizeof(keep_) - 1);
	assert_memory_equal(buf, keep_, sizeof(keep_) - 1);
	assert_int_equal(unlink(path), 0);

	/* A directory, a symlink (to a file that is not there): the same. */
	assert_int_equal(mkdir(path, 0700), 0);
	assert_null(api_start(&l, path, &fake_ops, &f));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(rmdir(path), 0);

	snprintf(target, sizeof(target), "%s/elsewhere", tmpdir);
	assert_int_equal(symlink(target, path), 0);
	assert_null(api_start(&l, path, &fake_ops, &f));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(lstat(target, &st), -1);

	/* A path too long for a socket address. */
	{
		char longp[200];

		memset(longp, 'x', sizeof(longp) - 1);
		longp[0] = '/';
		longp[sizeof(longp) - 1] = '\0';
		assert_null(api_start(&l, longp, &fake_ops, &f));
	}
	assert_int_equal(fake_calls(&f), 0);
	loop_destroy(&l);
	rm_tmpdir(path);
}

#define GUARDED(t) cmocka_unit_test_setup_teardown(t, guard_setup, guard_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_shutdown),
		cmocka_unit_test(test_add_disk),
		cmocka_unit_test(test_add_net),
		cmocka_unit_test(test_add_device),
		cmocka_unit_test(test_remove_device),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_bad_bodies),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_op_errors),
		cmocka_unit_test(test_error_json),
		cmocka_unit_test(test_error_utf8),
		GUARDED(test_server_get),
		GUARDED(test_server_put_body),
		GUARDED(test_server_byte_at_a_time),
		GUARDED(test_server_too_big_declared),
		GUARDED(test_server_too_big_chunked),
		GUARDED(test_server_client_leaves),
		GUARDED(test_server_shutdown),
		GUARDED(test_server_interleaved),
		GUARDED(test_server_no_socket),
		GUARDED(test_socket_file),
		GUARDED(test_socket_conn_limit),
		GUARDED(test_socket_stale),
		GUARDED(test_socket_not_a_socket),
	};

	log_level = 0;
	return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
