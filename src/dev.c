// SPDX-License-Identifier: Apache-2.0
/*
 * The device registry: ids, references and the two-step removal (dev.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "util.h"
#include "vm.h"

void dev_registry_init(struct dev_registry *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->up = true;
}

bool dev_id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n >= DEV_ID_LEN || id[0] == '_')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static struct device *find_locked(struct dev_registry *r, const char *id)
{
	for (struct device *d = r->head; d; d = d->next)
		if (!strcmp(d->id, id))
			return d;
	return NULL;
}

int dev_register(struct dev_registry *r, struct device *d, const char *id, const char *prefix)
{
	struct device **pp;
	int ret = 0;

	if (id && !dev_id_valid(id))
		return -EINVAL;
	atomic_init(&d->refs, 1);
	d->state = DEV_PRESENT;
	d->next = NULL;
	pthread_mutex_lock(&r->lock);
	if (id) {
		if (find_locked(r, id))
			ret = -EEXIST;
		else
			snprintf(d->id, sizeof(d->id), "%s", id);
	} else {
		/* Numbered across kinds, never reused: an id names one device for the VM's life. */
		do
			snprintf(d->id, sizeof(d->id), "_%.16s%u", prefix, r->next_auto++);
		while (find_locked(r, d->id));
	}
	if (!ret) {
		for (pp = &r->head; *pp; pp = &(*pp)->next)
			;
		*pp = d;
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

void dev_get(struct device *d)
{
	if (d)
		atomic_fetch_add(&d->refs, 1);
}

static void release_now(void *opaque)
{
	struct device *d = opaque;

	d->ops->release(d);
}

void dev_put(struct device *d)
{
	if (!d || atomic_fetch_sub(&d->refs, 1) != 1)
		return;
	/*
	 * The last reference may be a vCPU's, returning from a handler: the
	 * release runs on the main thread, where the device was unplugged.
	 */
	if (d->vm && loop_defer(&d->vm->loop, release_now, d) == 0)
		return;
	release_now(d);
}

struct device *dev_find_if(struct dev_registry *r,
			   bool (*match)(const struct device *d, const void *arg), const void *arg)
{
	struct device *d;

	pthread_mutex_lock(&r->lock);
	for (d = r->head; d && !match(d, arg); d = d->next)
		;
	dev_get(d);
	pthread_mutex_unlock(&r->lock);
	return d;
}

struct device *dev_find(struct dev_registry *r, const char *id)
{
	struct device *d;

	pthread_mutex_lock(&r->lock);
	d = find_locked(r, id);
	dev_get(d);
	pthread_mutex_unlock(&r->lock);
	return d;
}

enum device_state dev_set_state(struct dev_registry *r, struct device *d, enum device_state s)
{
	enum device_state old;

	pthread_mutex_lock(&r->lock);
	old = d->state;
	d->state = s;
	pthread_mutex_unlock(&r->lock);
	return old;
}

int dev_remove(struct dev_registry *r, struct device *d)
{
	struct device **pp;

	pthread_mutex_lock(&r->lock);
	for (pp = &r->head; *pp && *pp != d; pp = &(*pp)->next)
		;
	if (!*pp) {
		pthread_mutex_unlock(&r->lock);
		return -ENOENT;
	}
	*pp = d->next;
	d->next = NULL;
	d->state = DEV_REMOVED;
	pthread_mutex_unlock(&r->lock);
	if (d->ops->unplug)
		d->ops->unplug(d);
	dev_put(d);
	return 0;
}

void dev_remove_all_of(struct dev_registry *r, const struct device_ops *ops)
{
	unsigned int n;
	struct device **v = dev_snapshot(r, &n);

	for (unsigned int i = n; i-- > 0;)
		if (v[i]->ops == ops)
			dev_remove(r, v[i]);
	dev_snapshot_put(v, n);
}

void dev_remove_all(struct dev_registry *r)
{
	if (!r->up)
		return;
	for (;;) {
		struct device *d, *last = NULL;

		pthread_mutex_lock(&r->lock);
		for (d = r->head; d; d = d->next)
			last = d;
		pthread_mutex_unlock(&r->lock);
		if (!last)
			break;
		dev_remove(r, last);
	}
}

struct device **dev_snapshot(struct dev_registry *r, unsigned int *n)
{
	struct device **v = NULL;
	unsigned int cnt = 0, i = 0;

	pthread_mutex_lock(&r->lock);
	for (struct device *d = r->head; d; d = d->next)
		cnt++;
	if (cnt)
		v = calloc(cnt, sizeof(*v));
	for (struct device *d = r->head; v && d; d = d->next) {
		dev_get(d);
		v[i++] = d;
	}
	pthread_mutex_unlock(&r->lock);
	*n = i;
	return v;
}

void dev_snapshot_put(struct device **v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		dev_put(v[i]);
	free(v);
}
