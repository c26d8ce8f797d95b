// SPDX-License-Identifier: Apache-2.0
/*
 * The control API's view of a running VM (struct api_ops): state, pause,
 * shutdown, the power button, and devices added and removed through ACPI
 * hotplug. Runs on the main thread, between the event loop's turns.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "dev.h"
#include "hw/pcihp.h"
#include "hw/pm.h"
#include "pci/pci.h"
#include "util.h"
#include "vfio/vfio.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "vm.h"

static void bdf_of(const struct device *d, char out[16])
{
	if (d->pci)
		snprintf(out, 16, "0000:00:%02x.%x", d->pci->devfn >> 3, d->pci->devfn & 7);
	else
		snprintf(out, 16, "-");
}

static const char *state_name(enum device_state s)
{
	return s == DEV_EJECTING ? "removing" : s == DEV_REMOVED ? "removed" : "present";
}

static void *vmm_info(void *vmm)
{
	struct vm *vm = vmm;
	const struct vm_config *cfg = vm->cfg;
	json_t *o, *devs = json_array();
	struct device **v;
	unsigned int n;

	v = dev_snapshot(&vm->devs, &n);
	for (unsigned int i = 0; devs && i < n; i++) {
		char bdf[16];

		bdf_of(v[i], bdf);
		json_array_append_new(devs, json_pack("{s:s,s:s,s:s,s:s,s:b}", "id", v[i]->id,
						      "kind", v[i]->kind, "bdf", bdf,
						      "state", state_name(v[i]->state),
						      "hotplugged", v[i]->hotplugged));
	}
	dev_snapshot_put(v, n);
	o = json_pack("{s:s,s:{s:i,s:I,s:s,s:s?,s:s?,s:b},s:o}",
		      "state", vm_paused(vm) ? "Paused" : "Running",
		      "config",
		      "cpus", (int)vm->ncpus,
		      "memory", (json_int_t)cfg->mem_size,
		      "kernel", cfg->kernel,
		      "initrd", cfg->initrd,
		      "cmdline", cfg->cmdline,
		      "iommu", cfg->iommu,
		      "devices", devs ? devs : json_array());
	return o;
}

static int vmm_pause(void *vmm, char *err)
{
	int ret = vm_pause(vmm);

	if (ret == -EALREADY)
		snprintf(err, API_ERR_LEN, "the VM is paused already");
	else if (!ret)
		pr_info("api: VM paused");
	return ret;
}

static int vmm_resume(void *vmm, char *err)
{
	int ret = vm_resume(vmm);

	if (ret == -EALREADY)
		snprintf(err, API_ERR_LEN, "the VM is not paused");
	else if (!ret)
		pr_info("api: VM resumed");
	return ret;
}

static void vmm_shutdown(void *vmm)
{
	vm_request_stop(vmm, VM_STOP_API);
}

static int vmm_power_button(void *vmm, char *err)
{
	int ret = pm_power_button(vmm);

	/* Pressed either way: a guest that enables the event later still sees it. */
	pr_info("api: power button pressed%s", ret == -EAGAIN ?
		" (the guest has not enabled ACPI power-button events yet)" : "");
	return ret == -EAGAIN ? 0 : ret;
}

/* The device registered last: what the create call just added (main thread only adds). */
static struct device *newest(struct vm *vm)
{
	struct device **v, *d = NULL;
	unsigned int n;

	v = dev_snapshot(&vm->devs, &n);
	if (n) {
		d = v[n - 1];
		dev_get(d);
	}
	dev_snapshot_put(v, n);
	return d;
}

/*
 * After a create call: the new device is on the bus; tell the guest and
 * fill the reply. On failure, @err gets the create call's own message.
 */
static int plugged(struct vm *vm, int ret, const char *what, struct api_added *out, char *err)
{
	struct device *d;

	if (ret) {
		snprintf(err, API_ERR_LEN, "%s", pr_last_error[0] ? pr_last_error : strerror(-ret));
		return ret;
	}
	d = newest(vm);
	if (!d || !d->pci) {
		dev_put(d);
		snprintf(err, API_ERR_LEN, "the new %s is not on the PCI bus", what);
		return -EIO;
	}
	d->hotplugged = true;
	snprintf(out->id, sizeof(out->id), "%s", d->id);
	bdf_of(d, out->bdf);
	ret = pcihp_plugged(vm, d->pci->devfn >> 3);
	if (ret)
		pr_warn("api: %s %s added, but the guest cannot be told: %s", what, d->id,
			strerror(-ret));
	pr_info("api: added %s %s at %s", what, d->id, out->bdf);
	dev_put(d);
	return 0;
}

/* An id given must be free before anything is opened or created. */
static int id_free(struct vm *vm, const char *id, char *err)
{
	struct device *d = id ? dev_find(&vm->devs, id) : NULL;

	if (!d)
		return 0;
	dev_put(d);
	snprintf(err, API_ERR_LEN, "id \"%s\" is taken by another device", id);
	return -EEXIST;
}

static unsigned int count(struct vm *vm)
{
	unsigned int n;
	struct device **v = dev_snapshot(&vm->devs, &n);

	dev_snapshot_put(v, n);
	return n;
}

static int vmm_add_disk(void *vmm, const struct disk_opts *o, struct api_added *out, char *err)
{
	struct vm *vm = vmm;
	int ret = id_free(vm, o->id, err);

	if (ret)
		return ret;
	pr_last_error[0] = '\0';
	return plugged(vm, virtio_blk_create(vm, o, count(vm)), "disk", out, err);
}

static int vmm_add_net(void *vmm, const struct net_opts *o, struct api_added *out, char *err)
{
	struct vm *vm = vmm;
	int ret = id_free(vm, o->id, err);

	if (ret)
		return ret;
	pr_last_error[0] = '\0';
	return plugged(vm, virtio_net_create(vm, o, count(vm)), "net", out, err);
}

static int vmm_add_device(void *vmm, const struct vfio_opts *o, struct api_added *out, char *err)
{
	struct vm *vm = vmm;
	int ret = id_free(vm, o->id, err);

	if (ret)
		return ret;
	pr_last_error[0] = '\0';
	return plugged(vm, vfio_device_add(vm, o), "assigned device", out, err);
}

static int vmm_remove_device(void *vmm, const char *id, bool *pending, char *err)
{
	struct vm *vm = vmm;
	struct device *d = dev_find(&vm->devs, id);
	unsigned int slot;
	int ret = 0;

	if (!d) {
		snprintf(err, API_ERR_LEN, "no device with id \"%s\"", id);
		return -ENOENT;
	}
	if (d->pinned) {
		snprintf(err, API_ERR_LEN, "device \"%s\" (%s) cannot be removed while the VM runs",
			 id, d->kind);
		dev_put(d);
		return -EBUSY;
	}
	slot = d->pci ? d->pci->devfn >> 3 : 0;
	/* Asking twice asks the guest again: a first request may have come too early. */
	dev_set_state(&vm->devs, d, DEV_EJECTING);
	ret = pcihp_request_eject(vm, slot);
	if (ret) {
		dev_set_state(&vm->devs, d, DEV_PRESENT);
		snprintf(err, API_ERR_LEN, "device \"%s\" is not in a hotplug slot", id);
		ret = -ENOTSUP;
	} else {
		*pending = true;
		pr_info("api: asked the guest to eject %s from slot %u", id, slot);
	}
	dev_put(d);
	return ret;
}

const struct api_ops vm_api_ops = {
	.info = vmm_info,
	.pause = vmm_pause,
	.resume = vmm_resume,
	.shutdown = vmm_shutdown,
	.power_button = vmm_power_button,
	.add_disk = vmm_add_disk,
	.add_net = vmm_add_net,
	.add_device = vmm_add_device,
	.remove_device = vmm_remove_device,
};
