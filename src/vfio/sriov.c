// SPDX-License-Identifier: Apache-2.0
/*
 * SR-IOV virtual functions as sysfs shows them, for check-device and for
 * the one line that explains a refused VF. See sysfs.h.
 *
 * A VF needs nothing else from kvmio: vfio-pci already gives the guest
 * what the VF's own config space lacks (vendor and device ids, BAR types,
 * the memory-enable bit, all taken from the PF's SR-IOV capability) and
 * reports no INTx for it, which device.c turns into interrupt pin 0.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "vfio/sysfs.h"

bool vfio_uuid_valid(const char *s)
{
	for (unsigned int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return s[36] == '\0';
}

/* Which virtfnN of @pf is @bdf; -1 when none says so (bounded by the PF's total). */
static int vf_index(const char *root, const char *pf, unsigned int total, const char *bdf)
{
	char name[24], target[VFIO_BDF_LEN];

	for (unsigned int i = 0; i < total && i < 65536; i++) {
		snprintf(name, sizeof(name), "virtfn%u", i);
		if (!vfio_sysfs_link(root, pf, name, target, sizeof(target)) && !strcmp(target, bdf))
			return (int)i;
	}
	return -1;
}

int vfio_sysfs_sriov(const char *root, const char *bdf, struct vfio_sriov_info *out)
{
	char pf[64];
	int ret;

	memset(out, 0, sizeof(*out));
	out->vf_index = -1;
	ret = vfio_sysfs_link(root, bdf, "physfn", pf, sizeof(pf));
	if (ret == -ENODEV)
		return ret;
	if (!ret && !vfio_bdf_parse(pf, out->pf)) {
		unsigned int total = 0;

		out->is_vf = true;
		if (vfio_sysfs_driver(root, out->pf, out->pf_drv, sizeof(out->pf_drv)))
			out->pf_drv[0] = '\0';
		if (!vfio_sysfs_uint(root, out->pf, "sriov_totalvfs", &total))
			out->vf_index = vf_index(root, out->pf, total, bdf);
	}
	if (!vfio_sysfs_uint(root, bdf, "sriov_totalvfs", &out->total_vfs) && out->total_vfs) {
		out->is_pf = true;
		if (vfio_sysfs_uint(root, bdf, "sriov_numvfs", &out->num_vfs))
			out->num_vfs = 0;
	}
	return 0;
}

void vfio_report_sriov(FILE *out, const char *root, const char *bdf, int label_w)
{
	struct vfio_sriov_info s;

	if (vfio_sysfs_sriov(root, bdf, &s) || (!s.is_vf && !s.is_pf))
		return;
	fprintf(out, "%-*s ", label_w, "SR-IOV:");
	if (s.is_pf) {
		fprintf(out, "physical function, %u of %u VFs enabled", s.num_vfs, s.total_vfs);
		fprintf(out, s.num_vfs ? "\n" : " (echo N > %s/sys/bus/pci/devices/%s/sriov_numvfs)\n",
			root, bdf);
		return;
	}
	if (s.vf_index >= 0)
		fprintf(out, "virtual function %d of %s", s.vf_index, s.pf);
	else
		fprintf(out, "virtual function of %s", s.pf);
	if (!strcmp(s.pf_drv, "vfio-pci"))
		fprintf(out, ", whose driver is vfio-pci: give the VF token its user set, "
			"--device vfio=%s,vf-token=UUID\n", bdf);
	else
		fprintf(out, " (driver %s): no VF token needed\n", *s.pf_drv ? s.pf_drv : "none");
}

void vfio_explain_device_fd(const char *root, const char *bdf, int err, bool token_given)
{
	struct vfio_sriov_info s;
	bool pf_vfio;

	if (vfio_sysfs_sriov(root, bdf, &s) || !s.is_vf)
		return;
	pf_vfio = !strcmp(s.pf_drv, "vfio-pci");
	if (pf_vfio && !token_given)
		pr_err("%s is a VF of %s, which is bound to vfio-pci: vfio-pci wants the VF token "
		       "that %s's user set; give it with --device vfio=%s,vf-token=UUID", bdf, s.pf,
		       s.pf, bdf);
	else if (pf_vfio && err == EACCES)
		pr_err("%s: vfio-pci refused the VF token: it is not the one %s's user set", bdf,
		       s.pf);
	else if (!pf_vfio && token_given)
		pr_err("%s: a VF token is only for a VF whose PF is bound to vfio-pci; %s is bound "
		       "to %s: leave vf-token out", bdf, s.pf, *s.pf_drv ? s.pf_drv : "no driver");
}
