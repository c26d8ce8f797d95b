/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_DEV_H
#define KVMIO_DEV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/*
 * Devices with an id and a lifetime: the PCI functions a VM has, whether
 * given on the command line or added while it runs, in one locked registry.
 *
 * A device is counted: the registry holds one reference while it is listed,
 * every bus range of it holds one (so a vCPU inside one of its handlers
 * keeps it), and so does whoever looks it up. Removal is two steps:
 *
 *   unplug   (main thread) take it off the machine: off the PCI bus, BARs,
 *            ioeventfds and memory slots gone, its worker stopped, no DMA.
 *   release  (main thread, when the last reference drops) free it.
 *
 * Handlers already running when a device is unplugged finish against state
 * that is still there; only their return lets the device go.
 */
struct vm;
struct device;
struct pci_device;

enum device_state {
	DEV_PRESENT,
	DEV_EJECTING,	/* the guest was asked to eject it */
	DEV_REMOVED,	/* unplugged; released when the last reference drops */
};

struct device_ops {
	void (*unplug)(struct device *d);
	void (*release)(struct device *d);
};

#define DEV_ID_LEN	32

struct device {
	const struct device_ops *ops;
	struct vm *vm;
	const char *kind;		/* "virtio-blk", "virtio-net", "vfio-pci"... */
	char id[DEV_ID_LEN];
	struct pci_device *pci;		/* its function, for the BDF */
	atomic_uint refs;
	enum device_state state;	/* under the registry's lock */
	bool hotplugged;		/* added while the VM ran */
	bool pinned;			/* kvmio holds it by pointer: not removed before teardown */
	struct device *next;		/* registry list, oldest first */
};

struct dev_registry {
	pthread_mutex_t lock;
	struct device *head;
	unsigned int next_auto;		/* generated ids: "_disk0", "_net1"... */
	bool up;
};

void dev_registry_init(struct dev_registry *r);

/*
 * dev_id_valid - an id the user may give: 1-31 of [A-Za-z0-9_.-], not
 * starting with '_' (kvmio's generated ids do). Pure.
 */
bool dev_id_valid(const char *id);

/*
 * dev_register - list @d (ops, vm, kind, pci set) under @id, or a generated
 * "_PREFIXn" when @id is NULL. Returns 0, -EINVAL for a bad id, -EEXIST when
 * the id is taken. The registry's reference is @d's first.
 */
int dev_register(struct dev_registry *r, struct device *d, const char *id, const char *prefix);

/* dev_get/dev_put - take and drop a reference; NULL is ignored. */
void dev_get(struct device *d);
void dev_put(struct device *d);

/* dev_find - the listed device called @id, referenced, or NULL. */
struct device *dev_find(struct dev_registry *r, const char *id);

/*
 * dev_find_if - the oldest listed device @match accepts, referenced, or
 * NULL. @match runs under the registry's lock: it only looks.
 */
struct device *dev_find_if(struct dev_registry *r,
			   bool (*match)(const struct device *d, const void *arg), const void *arg);

/*
 * dev_set_state - change @d's state under the lock; returns the old one.
 */
enum device_state dev_set_state(struct dev_registry *r, struct device *d, enum device_state s);

/*
 * dev_remove - unlist @d, unplug it and drop the registry's reference. Main
 * thread. Returns -ENOENT when it is not listed (removed already).
 */
int dev_remove(struct dev_registry *r, struct device *d);

/* dev_remove_all - teardown: remove every device, newest first; _of: those with @ops only. */
void dev_remove_all(struct dev_registry *r);
void dev_remove_all_of(struct dev_registry *r, const struct device_ops *ops);

/*
 * dev_snapshot - references to every listed device, oldest first, in a
 * malloc'd array (*@n of them); dev_snapshot_put drops them and frees it.
 */
struct device **dev_snapshot(struct dev_registry *r, unsigned int *n);
void dev_snapshot_put(struct device **v, unsigned int n);

#endif
