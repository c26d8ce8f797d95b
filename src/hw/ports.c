// SPDX-License-Identifier: Apache-2.0
/*
 * Ports Linux touches while booting that need no device behind them, answered
 * quietly so the bus does not log them as unclaimed, and port 0x92.
 *
 * Deliberately not here: 0x20/0x21, 0xA0/0xA1, 0x4D0/0x4D1, 0x40-0x43 and
 * 0x61 belong to KVM's in-kernel PIC, ELCR and PIT; 0xCF8-0xCFF to PCI.
 */
#include <errno.h>
#include <stdlib.h>

#include "util.h"
#include "vm.h"

#define PORT92_RESET	0x01	/* fast reset, on a 0 -> 1 transition */
#define PORT92_A20	0x02	/* A20 gate: always enabled here */

/*
 * Read-as-ones, write-ignored ports:
 *   0x2E/0x2F, 0x4E/0x4F  Super I/O config index/data; the 8250 driver's
 *                         Fintek probe pokes both at boot, 0xFF: no chip
 *   0x80  POST code; Linux's default io_delay writes it (QEMU reads 0xFF too)
 *   0x87  DMA page 0; Linux's i8237 probe reads it, 0xFF meaning "no 8237"
 *   0xED  the io_delay=0xed alternative
 */
static const struct {
	uint16_t port, len;
	const char *name;
} quiet_ports[] = {
	{ 0x2E, 2, "superio 2e" },
	{ 0x4E, 2, "superio 4e" },
	{ 0x80, 1, "post code" },
	{ 0x87, 1, "dma page 0" },
	{ 0xED, 1, "io delay" },
};

#define PORT92		0x92

struct ports {
	pthread_mutex_t lock;
	struct vm *vm;
	uint8_t port92;
};

/* One VM per process: struct vm has no slot for these. */
static void quiet_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len,
		     bool is_write)
{
	if (!is_write)
		for (unsigned int i = 0; i < len; i++)
			data[i] = 0xFF;
}

static void port92_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len,
		      bool is_write)
{
	struct ports *p = opaque;
	bool reset;

	if (!len)
		return;
	if (!is_write) {
		data[0] = PORT92_A20;
		for (unsigned int i = 1; i < len; i++)
			data[i] = 0xFF;
		return;
	}
	pthread_mutex_lock(&p->lock);
	reset = (data[0] & PORT92_RESET) && !(p->port92 & PORT92_RESET);
	p->port92 = data[0];
	pthread_mutex_unlock(&p->lock);
	if (reset) {
		pr_info("port 0x92: guest requested a fast reset");
		vm_request_stop(p->vm, VM_STOP_REBOOT);
	}
}

static int ports_dev_init(struct vm *vm)
{
	struct ports *p = calloc(1, sizeof(*p));
	unsigned int i;
	int ret;

	if (!p)
		return -ENOMEM;
	p->vm = vm;
	p->port92 = PORT92_A20;
	pthread_mutex_init(&p->lock, NULL);

	for (i = 0; i < ARRAY_SIZE(quiet_ports); i++) {
		ret = bus_register(&vm->bus, BUS_PIO, quiet_ports[i].port, quiet_ports[i].len,
				   quiet_io, NULL, quiet_ports[i].name);
		if (ret)
			goto err_unregister;
	}
	ret = bus_register(&vm->bus, BUS_PIO, PORT92, 1, port92_io, p, "port 92");
	if (ret)
		goto err_unregister;
	vm->ports = p;
	return 0;

err_unregister:
	while (i--)
		bus_unregister(&vm->bus, BUS_PIO, quiet_ports[i].port);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return ret;
}

/* Called after the vCPUs have stopped. */
static void ports_dev_exit(struct vm *vm)
{
	struct ports *p = vm->ports;

	if (!p)
		return;
	bus_unregister(&vm->bus, BUS_PIO, PORT92);
	for (unsigned int i = ARRAY_SIZE(quiet_ports); i--;)
		bus_unregister(&vm->bus, BUS_PIO, quiet_ports[i].port);
	vm->ports = NULL;
	pthread_mutex_destroy(&p->lock);
	free(p);
}

const struct vm_device_ops ports_dev_ops = {
	.name = "ports",
	.init = ports_dev_init,
	.exit = ports_dev_exit,
};
