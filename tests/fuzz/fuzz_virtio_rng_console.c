// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the virtio-rng and virtio-console device models
 * (src/virtio/rng.c, console.c) behind the fake transport, against a
 * hostile driver (hostile-guest.md cases 5, 6, 8, 14, 18). The input is a
 * header, then the contents of guest RAM from RAM_DATA on: the rings both
 * devices were started on, and the buffers they point at, are the
 * fuzzer's. The header picks features and a short program of kicks, host
 * input and resets.
 *
 * RAM is one heap block of exactly RAM_SIZE bytes, so a device access
 * outside it lands in an ASan redzone. After every step what the devices
 * pushed is checked (the link wraps virtq_push to see it): only chains in
 * flight; rng hands out at most VIRTIO_RNG_REQ_MAX per request and
 * VIRTIO_RNG_WAKEUP_MAX per kick, a transmit buffer gets used length 0, a
 * receive buffer no more than the input given, and no kick returns more
 * chains than its bound. Nothing may be allocated while the
 * devices run. A violation aborts, and libFuzzer saves the input.
 *
 * Built and run by tests/fuzz/fuzz.mk (`make fuzz-virtio-rng-console`).
 */
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_alloc.h"
#include "../unit/fake_virtio.h"
#include "../unit/fake_vm.h"
#include "util.h"
#include "virtio/console.h"
#include "virtio/rng.h"
#include "vm.h"

#define FAIL(...)								\
	do {									\
		fprintf(stderr, "fuzz_virtio_rng_console: " __VA_ARGS__);	\
		fputc('\n', stderr);						\
		abort();							\
	} while (0)

#define RAM_SIZE	(64 * KiB)
#define RAM_DATA	0x1000		/* fake_guest_init keeps page 0 unused */
#define H_LEN		32
#define NOPS		(H_LEN - 2)

/* Header: features of each device, then one op per byte (low 3 bits; the rest a parameter). */
enum { H_RNG_FEAT, H_CON_FEAT, H_OPS };
enum { OP_RNG_KICK, OP_RX_KICK, OP_TX_KICK, OP_INPUT, OP_RNG_RESET, OP_CON_RESET, OP_SCRIBBLE };

static uint64_t features(uint8_t b)
{
	return (b & 1 ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0) |
	       (b & 2 ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0);
}

struct dev {
	struct virtio_dev *vdev;
	uint64_t ring_gpa;	/* where its rings go: a reset puts them back there */
};

static void start(struct fake_guest *g, struct dev *d, uint64_t feat)
{
	uint64_t next = g->next;

	/* The first start allocates the rings from next; a restart reuses that place. */
	if (d->ring_gpa)
		g->next = d->ring_gpa;
	else
		d->ring_gpa = next;
	if (fake_virtio_start(d->vdev, g, feat))
		FAIL("%s did not start", d->vdev->ops->name);
	if (g->next < next)
		g->next = next;
}

/*
 * What the devices pushed, recorded on the way to the queue (the link
 * wraps virtq_push): the used ring itself is guest RAM, which a request's
 * buffer may overlap, so the device's own writes can overwrite what it
 * pushed before.
 */
static struct pushed {
	const struct virtq *vq;
	unsigned int n;
	uint64_t total;
	uint32_t max;
} pushed[3];

void __real_virtq_push(struct virtq *vq, uint16_t head, uint32_t written);
void __wrap_virtq_push(struct virtq *vq, uint16_t head, uint32_t written);

void __wrap_virtq_push(struct virtq *vq, uint16_t head, uint32_t written)
{
	struct pushed *p = NULL;

	for (unsigned int i = 0; i < ARRAY_SIZE(pushed); i++)
		if (pushed[i].vq == vq)
			p = &pushed[i];
	if (!p)
		FAIL("push on a queue that is not a device's");
	/* A device returning a chain it does not hold is a device bug. */
	if (!vq->inflight_map || head >= vq->size ||
	    !(vq->inflight_map[head >> 3] & (1u << (head & 7))))
		FAIL("push of head %u, not in flight", head);
	p->n++;
	p->total += written;
	p->max = MAX(p->max, written);
	__real_virtq_push(vq, head, written);
}

/* Check what queue @i pushed in one step against its bounds, and forget it. */
static void check_pushed(unsigned int i, const char *what, uint32_t max_len,
			 unsigned int max_chains, uint64_t max_total)
{
	struct pushed *p = &pushed[i];

	if (p->max > max_len)
		FAIL("%s: used length %u > %u", what, p->max, max_len);
	if (p->n > max_chains)
		FAIL("%s: %u chains in one step, bound %u", what, p->n, max_chains);
	if (p->total > max_total)
		FAIL("%s: %llu bytes in one step, bound %llu", what, (unsigned long long)p->total,
		     (unsigned long long)max_total);
	if (p->n && log_level >= 2)	/* KVMIO_FUZZ_LOG=2: what a seed reaches */
		fprintf(stderr, "%s: %u used, %llu bytes\n", what, p->n,
			(unsigned long long)p->total);
	p->n = 0;
	p->total = 0;
	p->max = 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup(true);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t input[64] = "the quick brown fox jumps over the lazy dog 0123456789ABCDEFGHI";
	struct fake_guest g;
	struct vm vm;
	struct dev rng = { 0 }, con = { 0 };
	uint8_t *ram;
	size_t ram_len;

	if (size < H_LEN)
		return -1;
	fake_vm_init(&vm);
	fake_guest_init(&g, RAM_SIZE);
	fake_virtio_reset_counts();
	if (virtio_rng_create(&vm))
		FAIL("virtio_rng_create");
	rng.vdev = fake_virtio_last();
	if (virtio_console_create(&vm, VCON_STDIO, NULL, &con.vdev) || !con.vdev)
		FAIL("virtio_console_create");
	start(&g, &rng, features(data[H_RNG_FEAT]));
	start(&g, &con, features(data[H_CON_FEAT]));
	memset(pushed, 0, sizeof(pushed));
	pushed[0].vq = &rng.vdev->vq[0];
	pushed[1].vq = &con.vdev->vq[VIRTIO_CONSOLE_RXQ];
	pushed[2].vq = &con.vdev->vq[VIRTIO_CONSOLE_TXQ];

	/* The driver's view: rings and buffers, all from the input. */
	ram = fake_guest_ptr(&g, RAM_DATA);
	ram_len = MIN(size - H_LEN, (size_t)(RAM_SIZE - RAM_DATA));
	memcpy(ram, data + H_LEN, ram_len);

	for (unsigned int i = 0; i < NOPS; i++) {
		uint8_t op = data[H_OPS + i], arg = op >> 3;
		size_t n;

		fuzz_in_io = true;
		switch (op & 7) {
		case OP_RNG_KICK:
			rng.vdev->ops->notify(rng.vdev, 0);
			break;
		case OP_RX_KICK:
			con.vdev->ops->notify(con.vdev, VIRTIO_CONSOLE_RXQ);
			break;
		case OP_TX_KICK:
			con.vdev->ops->notify(con.vdev, VIRTIO_CONSOLE_TXQ);
			break;
		case OP_INPUT:
			n = virtio_console_input(con.vdev, input, arg + 1u);
			if (n > arg + 1u)
				FAIL("input took %zu of %u bytes", n, arg + 1u);
			break;
		case OP_RNG_RESET:
			fuzz_in_io = false;	/* fake_virtio_start allocates the in-flight map */
			fake_virtio_stop(rng.vdev);
			rng.vdev->ops->notify(rng.vdev, 0);	/* a kick racing the reset */
			start(&g, &rng, features(arg));
			break;
		case OP_CON_RESET:
			fuzz_in_io = false;
			fake_virtio_stop(con.vdev);
			con.vdev->ops->notify(con.vdev, VIRTIO_CONSOLE_TXQ);
			n = virtio_console_input(con.vdev, input, 8);
			if (n)
				FAIL("input accepted %zu bytes after a reset", n);
			start(&g, &con, features(arg));
			break;
		case OP_SCRIBBLE:
			/* The driver changes RAM (rings included) between kicks. */
			if (ram_len)
				memcpy(ram, data + H_LEN + (arg * 97u) % ram_len,
				       ram_len - (arg * 97u) % ram_len);
			break;
		default:
			break;
		}
		fuzz_in_io = false;
		if (fuzz_io_allocs)
			FAIL("op %u (%u) allocated memory", i, op & 7);
		check_pushed(0, "rng", VIRTIO_RNG_REQ_MAX, VIRTIO_RNG_WAKEUP_CHAINS,
			     VIRTIO_RNG_WAKEUP_MAX);
		check_pushed(1, "console rx", sizeof(input), 64, sizeof(input));
		check_pushed(2, "console tx", 0, VIRTIO_CONSOLE_TX_WAKEUP_CHAINS, 0);
	}

	fake_virtio_destroy_all();
	fake_guest_free(&g);
	fake_vm_destroy(&vm);
	return 0;
}
