// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the control API's requests (src/api/endpoints.c) as a
 * hostile client sends them, through api_dispatch, against a fake VMM. The
 * input is
 *
 *   byte 0   the method: GET, PUT, POST, DELETE (low two bits)
 *   byte 1   the fake VMM: bits 0-3 pick what every op returns (0: success,
 *            else a negative errno), bits 4-5 the sentence it gives (none, a
 *            fixed one, one quoting the request's own fields as vmm.c does,
 *            one of the longest length), bit 6 remove-device's "pending",
 *            bit 7 vm.info describing nothing
 *   then     the URL up to the first '\n' (NUL-terminated), and the body:
 *            the rest, in an exactly-sized heap block (NULL when empty)
 *
 * What must hold: the status is one the API can give; the reply is NULL for
 * 204 and only then; otherwise it is a JSON object, and an error's is
 * {"error": "<non-empty string>"}; what the VMM was handed is what its
 * contract says (a non-empty path, a serial of at most 20 bytes, a valid
 * id, a 1-15 byte tap, a unicast MAC, a canonical BDF); an op that ran
 * decides the status (its errno mapped, or success); vm.shutdown is handed
 * back as the after-call, never run, and nothing else is. A violation
 * aborts, and libFuzzer saves the input.
 *
 * Built and run by tests/fuzz/fuzz.mk (`make fuzz-api`).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "dev.h"
#include "fuzz_alloc.h"
#include "util.h"
#include "vfio/sysfs.h"

#define FAIL(...)								\
	do {									\
		fprintf(stderr, "fuzz_api: " __VA_ARGS__);			\
		fputc('\n', stderr);						\
		abort();							\
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = { "GET", "PUT", "POST", "DELETE" };

static const int errs[16] = {
	0, -EINVAL, -ENOENT, -ENODEV, -EEXIST, -EBUSY, -EALREADY, -ENOSPC,
	-ENOTSUP, -ESHUTDOWN, -EIO, -ENOMEM, -EPERM, -E2BIG, -EAGAIN, -ENXIO,
};

enum { MSG_NONE, MSG_FIXED, MSG_ECHO, MSG_LONG };

struct fake {
	int ret;
	unsigned int msg;
	bool pending, info_null;
	unsigned int calls;	/* ops run (shutdown is never to run here) */
	bool info_ran, shutdown_ran;
};

static int answer(struct fake *f, char *err, const char *what, const char *echo)
{
	f->calls++;
	if (!f->ret)
		return 0;
	switch (f->msg) {
	case MSG_FIXED:
		snprintf(err, API_ERR_LEN, "the fake VMM refuses %s", what);
		break;
	case MSG_ECHO:
		/* As vmm.c quotes ids and pr_err's messages quote paths: cut at 255 bytes. */
		snprintf(err, API_ERR_LEN, "cannot %s \"%s\": %s", what, echo ? echo : "",
			 strerror(-f->ret));
		break;
	case MSG_LONG:
		memset(err, 'x', API_ERR_LEN - 1);
		err[API_ERR_LEN - 1] = '\0';
		break;
	}
	return f->ret;
}

static void check_id(const char *id, bool required)
{
	if (!id) {
		if (required)
			FAIL("an op got no id where one is required");
		return;
	}
	if (!*id || strlen(id) >= DEV_ID_LEN)
		FAIL("an op got id \"%s\" of length %zu", id, strlen(id));
}

static void *fx_info(void *vmm)
{
	struct fake *f = vmm;

	f->calls++;
	f->info_ran = true;
	return f->info_null ? NULL : json_pack("{s:s}", "state", "Running");
}

static int fx_pause(void *vmm, char *err)
{
	return answer(vmm, err, "pause", NULL);
}

static int fx_resume(void *vmm, char *err)
{
	return answer(vmm, err, "resume", NULL);
}

static int fx_power_button(void *vmm, char *err)
{
	return answer(vmm, err, "power-button", NULL);
}

static void fx_shutdown(void *vmm)
{
	struct fake *f = vmm;

	f->shutdown_ran = true;
}

static int fx_add_disk(void *vmm, const struct disk_opts *o, struct api_added *out, char *err)
{
	if (!o->path || !*o->path)
		FAIL("add_disk without a path");
	if (o->serial && (!*o->serial || strlen(o->serial) > 20))
		FAIL("add_disk with serial \"%s\"", o->serial);
	if (o->id && !dev_id_valid(o->id))
		FAIL("add_disk with id \"%s\"", o->id);
	check_id(o->id, false);
	snprintf(out->id, sizeof(out->id), "%s", o->id ? o->id : "_disk0");
	snprintf(out->bdf, sizeof(out->bdf), "0000:00:05.0");
	return answer(vmm, err, "open", o->path);
}

static int fx_add_net(void *vmm, const struct net_opts *o, struct api_added *out, char *err)
{
	static const uint8_t zero[6];

	if (!o->tap || !*o->tap || strlen(o->tap) > 15)
		FAIL("add_net with tap \"%s\"", o->tap ? o->tap : "(null)");
	if (o->mac_given && (o->mac[0] & 1))
		FAIL("add_net with a multicast MAC");
	if (!o->mac_given && memcmp(o->mac, zero, 6))
		FAIL("add_net with MAC bytes but mac_given false");
	if (o->id && !dev_id_valid(o->id))
		FAIL("add_net with id \"%s\"", o->id);
	check_id(o->id, false);
	snprintf(out->id, sizeof(out->id), "%s", o->id ? o->id : "_net0");
	snprintf(out->bdf, sizeof(out->bdf), "0000:00:06.0");
	return answer(vmm, err, "open tap", o->tap);
}

static int fx_add_device(void *vmm, const struct vfio_opts *o, struct api_added *out, char *err)
{
	const char *bdf = o->bdf, *id = o->id;
	unsigned int d, b, s, fn;
	char end;

	if (*o->vf_token && !vfio_uuid_valid(o->vf_token))
		FAIL("add_device with VF token \"%s\"", o->vf_token);
	if (o->rom && !*o->rom)
		FAIL("add_device with an empty rom path");

	if (!bdf || strlen(bdf) != 12 ||
	    sscanf(bdf, "%4x:%2x:%2x.%1x%c", &d, &b, &s, &fn, &end) != 4 || s > 0x1f || fn > 7)
		FAIL("add_device with BDF \"%s\"", bdf ? bdf : "(null)");
	for (const char *p = bdf; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			FAIL("add_device with BDF \"%s\", not lower case", bdf);
	if (id && !dev_id_valid(id))
		FAIL("add_device with id \"%s\"", id);
	check_id(id, false);
	snprintf(out->id, sizeof(out->id), "%s", id ? id : "_vfio0");
	snprintf(out->bdf, sizeof(out->bdf), "0000:00:07.0");
	return answer(vmm, err, "assign", bdf);
}

static int fx_remove_device(void *vmm, const char *id, bool *pending, char *err)
{
	struct fake *f = vmm;

	if (!id || !*id)
		FAIL("remove_device without an id");
	*pending = f->pending;
	return answer(vmm, err, "find", id);
}

static const struct api_ops fx_ops = {
	.info = fx_info,
	.pause = fx_pause,
	.resume = fx_resume,
	.shutdown = fx_shutdown,
	.power_button = fx_power_button,
	.add_disk = fx_add_disk,
	.add_net = fx_add_net,
	.add_device = fx_add_device,
	.remove_device = fx_remove_device,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup(false);
	return 0;
}

static bool status_known(int st)
{
	static const int ok[] = { 200, 204, 400, 404, 405, 409, 500, 501, 503, 507 };

	for (unsigned int i = 0; i < ARRAY_SIZE(ok); i++)
		if (st == ok[i])
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake f = { 0 };
	const char *method;
	const uint8_t *nl;
	char *url, *body = NULL, *reply = (char *)1;
	api_after_fn after = (api_after_fn)1;
	size_t ulen, blen;
	json_error_t je;
	json_t *o;
	int st;

	if (size < 2)
		return 0;
	f.ret = errs[data[1] & 15];
	f.msg = (data[1] >> 4) & 3;
	f.pending = data[1] & 0x40;
	f.info_null = data[1] & 0x80;
	method = methods[data[0] & 3];
	data += 2, size -= 2;

	nl = memchr(data, '\n', size);
	ulen = nl ? (size_t)(nl - data) : size;
	blen = nl ? size - ulen - 1 : 0;
	url = malloc(ulen + 1);
	if (!url)
		abort();
	memcpy(url, data, ulen);
	url[ulen] = '\0';
	if (blen) {
		body = malloc(blen);
		if (!body)
			abort();
		memcpy(body, nl + 1, blen);
	}

	st = api_dispatch(&fx_ops, &f, method, url, body, blen, &reply, &after);

	if (!status_known(st))
		FAIL("status %d", st);
	if (reply == (char *)1 || after == (api_after_fn)1)
		FAIL("status %d without setting *reply or *after", st);
	if (f.shutdown_ran)
		FAIL("shutdown ran inside api_dispatch");
	if (after && (after != fx_shutdown || st != 204))
		FAIL("status %d handed back an after-call", st);
	if (f.calls > 1)
		FAIL("%u ops for one request", f.calls);
	/* An op that ran decides: its errno's status, or success. */
	if (f.info_ran && st != (f.info_null ? 500 : 200))
		FAIL("vm.info %s and the status is %d", f.info_null ? "failed" : "succeeded", st);
	if (f.calls && !f.info_ran && f.ret && st != api_status_of(f.ret))
		FAIL("an op returned %d and the status is %d", f.ret, st);
	if (f.calls && !f.info_ran && !f.ret && st != 200 && st != 204)
		FAIL("an op succeeded and the status is %d", st);

	if (st == 204) {
		if (reply)
			FAIL("204 with a reply: %s", reply);
	} else {
		if (!reply)
			FAIL("status %d with no reply (%s %s, %zu-byte body)", st, method, url, blen);
		o = json_loads(reply, JSON_REJECT_DUPLICATES, &je);
		if (!o || !json_is_object(o))
			FAIL("status %d, reply not a JSON object: %s", st, reply);
		if (st >= 400) {
			json_t *e = json_object_get(o, "error");

			if (!json_is_string(e) || !json_string_length(e) || json_object_size(o) != 1)
				FAIL("status %d, reply is not {\"error\": \"...\"}: %s", st, reply);
		} else if (json_object_size(o) == 0) {
			FAIL("200 with an empty object");
		}
		json_decref(o);
	}
	free(reply);
	free(body);
	free(url);
	return 0;
}
