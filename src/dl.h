/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_DL_H
#define KVMIO_DL_H

/*
 * Libraries kvmio needs only for some jobs, loaded when the job comes:
 * libmicrohttpd for --api-socket, libcurl for `kvmio remote`. Linked in,
 * they and what they pull (GnuTLS, OpenSSL, Kerberos, LDAP...) cost every
 * VM about 7 MiB of resident memory it never uses (bench/footprint).
 */

struct dl_sym {
	const char *name;
	void **fn;		/* where the address goes */
};

/*
 * dl_load - dlopen @soname (once: a second call with the same @handle
 * returns at once) and resolve @n symbols into their pointers. Returns 0,
 * or -ENOENT after one line naming the library, what it is for (@what)
 * and the Debian package (@pkg).
 */
int dl_load(void **handle, const char *soname, const char *what, const char *pkg,
	    const struct dl_sym *syms, unsigned int n);

#endif
