// SPDX-License-Identifier: Apache-2.0
/*
 * The control API's requests as data: route, check the JSON body, call the
 * VMM, build the reply. Nothing here knows HTTP beyond a method, a path and
 * a status, so unit tests and the fuzzer drive it directly.
 *
 * Bodies are strict: an object, only the fields the endpoint knows, each of
 * its type. A typo in a field name is an error rather than a default.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "util.h"
#include "virtio/net.h"
#include "vfio/sysfs.h"

int api_status_of(int err)
{
	switch (err) {
	case -EINVAL:	return 400;
	case -EACCES:
	case -EPERM:	return 403;
	case -ENOENT:
	case -ENODEV:	return 404;
	case -EEXIST:
	case -EBUSY:
	case -EALREADY:	return 409;
	case -ENOSPC:	return 507;
	case -ENOTSUP:	return 501;
	case -ESHUTDOWN: return 503;
	default:	return 500;
	}
}

char *api_error_json(const char *msg)
{
	char clean[API_ERR_LEN + 64];
	json_t *o;
	size_t i;

	/*
	 * JSON strings are UTF-8; a message may quote a client's bytes, or be
	 * cut inside a character. Keep ASCII, so the reply always exists.
	 */
	for (i = 0; msg[i] && i < sizeof(clean) - 1; i++)
		clean[i] = (unsigned char)msg[i] < 0x80 ? msg[i] : '?';
	clean[i] = '\0';
	o = json_pack("{s:s}", "error", clean);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

/* The request's body as an object, or a 400 with what is wrong. */
struct req {
	json_t *body;
	char err[API_ERR_LEN];
};

static int parse_body(struct req *r, const char *body, size_t len)
{
	json_error_t je;

	r->body = NULL;
	if (!body || len == 0) {
		snprintf(r->err, sizeof(r->err), "this request needs a JSON object as its body");
		return -EINVAL;
	}
	r->body = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!r->body) {
		snprintf(r->err, sizeof(r->err), "malformed JSON at line %d, column %d: %s", je.line,
			 je.column, je.text);
		return -EINVAL;
	}
	if (!json_is_object(r->body)) {
		snprintf(r->err, sizeof(r->err), "the body must be a JSON object");
		return -EINVAL;
	}
	return 0;
}

/* Every key of the body is one of @known (NULL-terminated). */
static int only_known(struct req *r, const char *const *known)
{
	const char *key;
	json_t *v;

	json_object_foreach(r->body, key, v) {
		bool ok = false;

		for (unsigned int i = 0; known[i] && !ok; i++)
			ok = !strcmp(key, known[i]);
		if (!ok) {
			char list[128] = "";

			for (unsigned int i = 0; known[i]; i++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 i ? ", " : "", known[i]);
			snprintf(r->err, sizeof(r->err), "unknown field \"%.40s\" (expected %s)", key,
				 list);
			return -EINVAL;
		}
	}
	return 0;
}

/* A string field: *@out stays NULL when absent; -EINVAL if of another type or empty. */
static int get_str(struct req *r, const char *key, bool required, const char **out)
{
	json_t *v = json_object_get(r->body, key);

	*out = NULL;
	if (!v) {
		if (!required)
			return 0;
		snprintf(r->err, sizeof(r->err), "missing field \"%s\"", key);
		return -EINVAL;
	}
	if (!json_is_string(v) || !json_string_length(v) ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(r->err, sizeof(r->err), "field \"%s\" must be a non-empty string", key);
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

static int get_bool(struct req *r, const char *key, bool *out)
{
	json_t *v = json_object_get(r->body, key);

	*out = false;
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(r->err, sizeof(r->err), "field \"%s\" must be true or false", key);
		return -EINVAL;
	}
	*out = json_is_true(v);
	return 0;
}

static int get_id(struct req *r, const char **id)
{
	int ret = get_str(r, "id", false, id);

	if (!ret && *id && !dev_id_valid(*id)) {
		snprintf(r->err, sizeof(r->err), "id \"%.40s\": expected 1-31 of A-Z a-z 0-9 _ . - "
			 "not starting with _", *id);
		return -EINVAL;
	}
	return ret;
}

static json_t *added_reply(const struct api_added *a)
{
	return json_pack("{s:s,s:s}", "id", a->id, "bdf", a->bdf);
}

static int add_disk(const struct api_ops *ops, void *vmm, struct req *r, json_t **out)
{
	static const char *const known[] = { "path", "readonly", "serial", "id", NULL };
	struct disk_opts o = { 0 };
	struct api_added a = { 0 };
	int ret;

	if ((ret = only_known(r, known)) || (ret = get_str(r, "path", true, &o.path)) ||
	    (ret = get_bool(r, "readonly", &o.readonly)) ||
	    (ret = get_str(r, "serial", false, &o.serial)) || (ret = get_id(r, &o.id)))
		return ret;
	if (o.serial && strlen(o.serial) > 20) {
		snprintf(r->err, sizeof(r->err), "serial is longer than 20 bytes");
		return -EINVAL;
	}
	ret = ops->add_disk(vmm, &o, &a, r->err);
	if (!ret)
		*out = added_reply(&a);
	return ret;
}

static int add_net(const struct api_ops *ops, void *vmm, struct req *r, json_t **out)
{
	static const char *const known[] = { "tap", "mac", "id", NULL };
	struct net_opts o = { 0 };
	struct api_added a = { 0 };
	const char *mac;
	int ret;

	if ((ret = only_known(r, known)) || (ret = get_str(r, "tap", true, &o.tap)) ||
	    (ret = get_str(r, "mac", false, &mac)) || (ret = get_id(r, &o.id)))
		return ret;
	if (strlen(o.tap) >= 16 || strchr(o.tap, '/')) {
		snprintf(r->err, sizeof(r->err), "tap: an interface name is 1-15 characters, no '/'");
		return -EINVAL;
	}
	/* As --net: TX moderation only for one-way bulk streams. */
	o.tx_usecs = VIRTIO_NET_TX_USECS_AUTO;
	if (mac) {
		if (!parse_mac(mac, o.mac)) {
			snprintf(r->err, sizeof(r->err), "mac \"%.40s\": expected a unicast MAC such as "
				 "52:54:00:12:34:56", mac);
			return -EINVAL;
		}
		o.mac_given = true;
	}
	ret = ops->add_net(vmm, &o, &a, r->err);
	if (!ret)
		*out = added_reply(&a);
	return ret;
}

/*
 * "path": "/sys/bus/pci/devices/BDF" as cloud-hypervisor takes it, or
 * "bdf"; "vf_token" and "rom" as --device's vf-token= and rom=.
 */
static int add_device(const struct api_ops *ops, void *vmm, struct req *r, json_t **out)
{
	static const char *const known[] = { "path", "bdf", "id", "vf_token", "rom", NULL };
	static const char sys[] = "/sys/bus/pci/devices/";
	struct vfio_opts o = { .req_timeout_s = VFIO_REQ_TIMEOUT_S };
	const char *path, *bdf, *token;
	struct api_added a = { 0 };
	int ret;

	if ((ret = only_known(r, known)) || (ret = get_str(r, "path", false, &path)) ||
	    (ret = get_str(r, "bdf", false, &bdf)) || (ret = get_id(r, &o.id)) ||
	    (ret = get_str(r, "vf_token", false, &token)) || (ret = get_str(r, "rom", false, &o.rom)))
		return ret;
	if (!!path == !!bdf) {
		snprintf(r->err, sizeof(r->err), "give one of \"path\" (%sBDF) and \"bdf\"", sys);
		return -EINVAL;
	}
	if (path) {
		size_t n = strlen(path);

		if (strncmp(path, sys, sizeof(sys) - 1)) {
			snprintf(r->err, sizeof(r->err), "path \"%.60s\" is not under %s", path, sys);
			return -EINVAL;
		}
		bdf = path + sizeof(sys) - 1;
		if (n && path[n - 1] == '/') {
			snprintf(r->err, sizeof(r->err), "path \"%.60s\": no trailing slash", path);
			return -EINVAL;
		}
	}
	if (vfio_bdf_parse(bdf, o.bdf)) {
		snprintf(r->err, sizeof(r->err), "\"%.40s\": expected a PCI address such as "
			 "0000:01:00.0", bdf);
		return -EINVAL;
	}
	if (token && !vfio_uuid_valid(token)) {
		snprintf(r->err, sizeof(r->err), "vf_token \"%.40s\": expected a UUID", token);
		return -EINVAL;
	}
	if (token)
		snprintf(o.vf_token, sizeof(o.vf_token), "%s", token);
	ret = ops->add_device(vmm, &o, &a, r->err);
	if (!ret)
		*out = added_reply(&a);
	return ret;
}

static int remove_device(const struct api_ops *ops, void *vmm, struct req *r, json_t **out)
{
	static const char *const known[] = { "id", NULL };
	bool pending = false;
	const char *id;
	int ret;

	if ((ret = only_known(r, known)) || (ret = get_str(r, "id", true, &id)))
		return ret;
	ret = ops->remove_device(vmm, id, &pending, r->err);
	if (!ret)
		*out = json_pack("{s:s,s:s}", "id", id, "state", pending ? "pending" : "removed");
	return ret;
}

enum body_kind { NO_BODY, BODY };

struct route {
	const char *name;
	const char *method;
	enum body_kind body;
	/* With a body: *out is the reply object. Without: an action, 204. */
	int (*call)(const struct api_ops *ops, void *vmm, struct req *r, json_t **out);
};

static int route_act(const struct api_ops *ops, const struct route *rt,
		     int (**act)(void *vmm, char *err))
{
	*act = !strcmp(rt->name, "vm.pause") ? ops->pause :
	       !strcmp(rt->name, "vm.resume") ? ops->resume :
	       !strcmp(rt->name, "vm.power-button") ? ops->power_button : NULL;
	return *act ? 0 : -ENOTSUP;
}

static const struct route routes[] = {
	{ "vmm.ping", "GET", NO_BODY, NULL },
	{ "vm.info", "GET", NO_BODY, NULL },
	{ "vm.pause", "PUT", NO_BODY, NULL },
	{ "vm.resume", "PUT", NO_BODY, NULL },
	{ "vm.shutdown", "PUT", NO_BODY, NULL },
	{ "vm.power-button", "PUT", NO_BODY, NULL },
	{ "vm.add-disk", "PUT", BODY, add_disk },
	{ "vm.add-net", "PUT", BODY, add_net },
	{ "vm.add-device", "PUT", BODY, add_device },
	{ "vm.remove-device", "PUT", BODY, remove_device },
};

int api_dispatch(const struct api_ops *ops, void *vmm, const char *method, const char *url,
		 const char *body, size_t len, char **reply, api_after_fn *after)
{
	const struct route *rt = NULL;
	struct req r = { .body = NULL, .err = "" };
	json_t *out = NULL;
	size_t n = strcspn(url, "?#");
	int ret = 0, status;

	*reply = NULL;
	*after = NULL;
	if (n > sizeof(API_PREFIX) - 1 && !strncmp(url, API_PREFIX, sizeof(API_PREFIX) - 1)) {
		const char *name = url + sizeof(API_PREFIX) - 1;
		size_t nlen = n - (sizeof(API_PREFIX) - 1);

		for (unsigned int i = 0; i < ARRAY_SIZE(routes) && !rt; i++)
			if (strlen(routes[i].name) == nlen && !strncmp(routes[i].name, name, nlen))
				rt = &routes[i];
	}
	if (!rt) {
		snprintf(r.err, sizeof(r.err), "no such endpoint: %.*s", (int)MIN(n, (size_t)80), url);
		*reply = api_error_json(r.err);
		return 404;
	}
	if (strcmp(method, rt->method)) {
		snprintf(r.err, sizeof(r.err), "%s takes %s, not %.16s", rt->name, rt->method, method);
		*reply = api_error_json(r.err);
		return 405;
	}
	if (rt->body == BODY) {
		ret = parse_body(&r, body, len);
	} else if (len) {
		/* A body where none is expected is a client's mistake worth telling. */
		snprintf(r.err, sizeof(r.err), "%s takes no body", rt->name);
		ret = -EINVAL;
	}
	if (ret)
		goto done;

	if (!strcmp(rt->name, "vmm.ping")) {
		out = json_pack("{s:s,s:I}", "version", KVMIO_VERSION, "pid",
				(json_int_t)getpid());
	} else if (!strcmp(rt->name, "vm.info")) {
		out = ops->info ? ops->info(vmm) : NULL;
		if (!out) {
			snprintf(r.err, sizeof(r.err), "cannot describe the VM");
			ret = -ENOMEM;
		}
	} else if (!strcmp(rt->name, "vm.shutdown")) {
		/* After the reply: the process exits once the VM stops. */
		*after = ops->shutdown;
	} else if (rt->call) {
		ret = rt->call(ops, vmm, &r, &out);
	} else {
		int (*act)(void *vmm, char *err);

		ret = route_act(ops, rt, &act);
		if (!ret)
			ret = act(vmm, r.err);
	}
done:
	if (ret) {
		status = api_status_of(ret);
		if (!r.err[0])
			snprintf(r.err, sizeof(r.err), "%s", strerror(-ret));
		*reply = api_error_json(r.err);
	} else if (out) {
		status = 200;
		*reply = json_dumps(out, JSON_COMPACT);
	} else {
		status = 204;
	}
	json_decref(out);
	json_decref(r.body);
	return status;
}
