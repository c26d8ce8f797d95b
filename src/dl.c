// SPDX-License-Identifier: Apache-2.0
/* Libraries loaded on demand. See dl.h. */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>

#include "dl.h"
#include "util.h"

int dl_load(void **handle, const char *soname, const char *what, const char *pkg,
	    const struct dl_sym *syms, unsigned int n)
{
	void *h;

	if (*handle)
		return 0;
	h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		pr_err("%s needs %s: %s (install %s)", what, soname, dlerror(), pkg);
		return -ENOENT;
	}
	for (unsigned int i = 0; i < n; i++) {
		*syms[i].fn = dlsym(h, syms[i].name);
		if (!*syms[i].fn) {
			pr_err("%s: %s has no %s: a version kvmio does not know (install %s)", what,
			       soname, syms[i].name, pkg);
			dlclose(h);
			return -ENOENT;
		}
	}
	*handle = h;
	return 0;
}
