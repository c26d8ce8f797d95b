// SPDX-License-Identifier: Apache-2.0
/*
 * `kvmio remote`: the control API's client, as cloud-hypervisor's ch-remote.
 * Each command is one HTTP request over the Unix socket (libcurl); key=value
 * arguments become the JSON body (jansson). The reply's JSON goes to
 * stdout; an error reply's message to stderr with exit status 1.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "dl.h"
#include "util.h"

#define EXIT_USAGE	2

static const char usage_remote[] =
	"Usage: kvmio remote --api-socket PATH COMMAND [KEY=VALUE ...]\n"
	"\n"
	"Send one request to the control socket of a kvmio started with\n"
	"--api-socket PATH, print the JSON reply, exit 0; on an error, print it\n"
	"and exit 1 (2 for a usage error). Commands:\n"
	"\n"
	"  ping                    kvmio's version and pid\n"
	"  info                    the VM: state, configuration, every device\n"
	"  pause | resume          stop the vCPUs, let them run again\n"
	"  shutdown                stop the VM now; kvmio exits 0\n"
	"  power-button            press the ACPI power button (the guest shuts down)\n"
	"  add-disk path=IMAGE [readonly=on] [serial=STR] [id=ID]\n"
	"                          hot-add a virtio-blk disk\n"
	"  add-net tap=IFNAME [mac=MAC] [id=ID]\n"
	"                          hot-add a virtio-net device on a tap\n"
	"  add-device bdf=BDF|path=/sys/bus/pci/devices/BDF [id=ID] [vf_token=UUID]\n"
	"             [rom=FILE]   hot-add host PCI device BDF (bound to vfio-pci)\n"
	"  remove-device id=ID     ask the guest to eject a device; it is gone when the\n"
	"                          guest ejects it ('info' shows it as removing until then)\n"
	"\n"
	"Adds reply {\"id\", \"bdf\"}; see docs/api.md for every endpoint.\n";

/* libcurl, loaded only here (dl.h): a running VM never needs it. */
static struct {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_global_cleanup) *global_cleanup;
} curl;
static void *curl_lib;

#define CURL_SYM(f)	{ "curl_" #f, (void **)&curl.f }
static const struct dl_sym curl_syms[] = {
	CURL_SYM(global_init),
	CURL_SYM(easy_init),
	CURL_SYM(easy_setopt),
	CURL_SYM(easy_perform),
	CURL_SYM(easy_getinfo),
	CURL_SYM(slist_append),
	CURL_SYM(slist_free_all),
	CURL_SYM(easy_cleanup),
	CURL_SYM(global_cleanup),
};

struct command {
	const char *name;
	const char *method;
	const char *endpoint;
	const char *const keys[6];	/* allowed KEY=VALUE keys; "readonly" is a boolean */
};

static const struct command commands[] = {
	{ "ping", "GET", "vmm.ping", { NULL } },
	{ "info", "GET", "vm.info", { NULL } },
	{ "pause", "PUT", "vm.pause", { NULL } },
	{ "resume", "PUT", "vm.resume", { NULL } },
	{ "shutdown", "PUT", "vm.shutdown", { NULL } },
	{ "power-button", "PUT", "vm.power-button", { NULL } },
	{ "add-disk", "PUT", "vm.add-disk", { "path", "readonly", "serial", "id", NULL } },
	{ "add-net", "PUT", "vm.add-net", { "tap", "mac", "id", NULL } },
	{ "add-device", "PUT", "vm.add-device", { "bdf", "path", "id", "vf_token", "rom", NULL } },
	{ "remove-device", "PUT", "vm.remove-device", { "id", NULL } },
};

static int usage(const char *fmt, const char *arg)
{
	fputs("kvmio remote: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see 'kvmio remote --help')\n", stderr);
	return EXIT_USAGE;
}

/* KEY=VALUE arguments as a JSON object, checked against the command's keys. */
static int build_body(const struct command *c, int argc, char **argv, json_t **out)
{
	json_t *o = json_object();

	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		bool known = false;

		if (!eq || eq == argv[i]) {
			json_decref(o);
			return usage("'%s': expected KEY=VALUE", argv[i]);
		}
		*eq = '\0';
		for (unsigned int k = 0; c->keys[k] && !known; k++)
			known = !strcmp(c->keys[k], argv[i]);
		if (!known) {
			int ret = usage("%s: unknown key", argv[i]);

			json_decref(o);
			return ret;
		}
		if (!strcmp(argv[i], "readonly")) {
			bool on = !strcmp(eq + 1, "on") || !strcmp(eq + 1, "true");

			if (!on && strcmp(eq + 1, "off") && strcmp(eq + 1, "false")) {
				json_decref(o);
				return usage("readonly='%s': expected on or off", eq + 1);
			}
			json_object_set_new(o, argv[i], json_boolean(on));
		} else {
			json_object_set_new(o, argv[i], json_string(eq + 1));
		}
	}
	*out = o;
	return 0;
}

struct reply {
	char *buf;
	size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *opaque)
{
	struct reply *r = opaque;
	size_t add = size * n;
	char *b;

	if (r->len + add > API_BODY_MAX * 16)
		return 0;	/* more than any reply of ours: stop */
	b = realloc(r->buf, r->len + add + 1);
	if (!b)
		return 0;
	memcpy(b + r->len, p, add);
	r->buf = b;
	r->len += add;
	r->buf[r->len] = '\0';
	return add;
}

static int request(const char *sock, const struct command *c, json_t *body)
{
	char url[128], errbuf[CURL_ERROR_SIZE] = "", *text = NULL;
	struct curl_slist *hdr = NULL;
	struct reply r = { NULL, 0 };
	long status = 0;
	CURL *h;
	int ret = 1;

	if (dl_load(&curl_lib, "libcurl.so.4", "kvmio remote", "libcurl4", curl_syms,
		    ARRAY_SIZE(curl_syms)))
		return 1;
	if (curl.global_init(CURL_GLOBAL_NOTHING) || !(h = curl.easy_init())) {
		fputs("kvmio remote: cannot initialise libcurl\n", stderr);
		return 1;
	}
	snprintf(url, sizeof(url), "http://localhost" API_PREFIX "%s", c->endpoint);
	curl.easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl.easy_setopt(h, CURLOPT_URL, url);
	curl.easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
	curl.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl.easy_setopt(h, CURLOPT_WRITEDATA, &r);
	curl.easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		hdr = curl.slist_append(hdr, "Content-Type: application/json");
		curl.easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
		curl.easy_setopt(h, CURLOPT_POSTFIELDS, text ? text : "{}");
	}
	if (curl.easy_perform(h) != CURLE_OK) {
		fprintf(stderr, "kvmio remote: %s: %s\n", sock, errbuf[0] ? errbuf : "request failed");
		goto out;
	}
	curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		if (r.len)
			printf("%s\n", r.buf);
		ret = 0;
	} else {
		json_t *e = r.len ? json_loadb(r.buf, r.len, 0, NULL) : NULL;
		const char *msg = json_string_value(json_object_get(e, "error"));

		fprintf(stderr, "kvmio remote: %s: %s (HTTP %ld)\n", c->name,
			msg ? msg : r.len ? r.buf : "no reason given", status);
		json_decref(e);
	}
out:
	free(r.buf);
	free(text);
	curl.slist_free_all(hdr);
	curl.easy_cleanup(h);
	curl.global_cleanup();
	return ret;
}

int api_remote_main(int argc, char **argv)
{
	const struct command *c = NULL;
	const char *sock = NULL;
	json_t *body = NULL;
	int i = 1, ret;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage_remote, stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--api-socket") && i + 1 < argc)
			sock = argv[++i];
		else if (!strncmp(argv[i], "--api-socket=", 13))
			sock = argv[i] + 13;
		else
			return usage("unknown option '%s'", argv[i]);
	}
	if (!sock || !*sock)
		return usage("%s", "--api-socket PATH is required");
	if (i == argc)
		return usage("%s", "no command given");
	for (unsigned int k = 0; k < ARRAY_SIZE(commands) && !c; k++)
		if (!strcmp(commands[k].name, argv[i]))
			c = &commands[k];
	if (!c)
		return usage("unknown command '%s'", argv[i]);
	if (c->keys[0]) {
		ret = build_body(c, argc - i - 1, argv + i + 1, &body);
		if (ret)
			return ret;
	} else if (i + 1 < argc) {
		return usage("'%s' takes no arguments", c->name);
	}
	ret = request(sock, c, body);
	json_decref(body);
	return ret;
}
