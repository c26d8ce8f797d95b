// SPDX-License-Identifier: Apache-2.0
/*
 * MC146818 CMOS RTC at ports 0x70/0x71, IRQ 8.
 *
 * The guest's clock is the host's UTC clock plus an offset in whole seconds
 * that changes only when the guest sets the time (QEMU does the same), so the
 * time registers are computed on each read and never drift. Update-ended,
 * alarm and periodic flags are computed lazily from the clock on every
 * access; a timer thread only wakes up when an enabled flag is due, to raise
 * IRQ 8 for a guest that is not polling.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hw/rtc.h"
#include "sandbox.h"
#include "util.h"
#include "vm.h"

#define NS_PER_SEC	1000000000LL
#define UIP_WINDOW_NS	244000LL	/* UIP precedes the update by 244 us (datasheet) */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b < 0) ? q - 1 : q;
}

static uint8_t to_reg(const uint8_t *cmos, int64_t v)
{
	v %= 100;
	if (v < 0)
		v += 100;
	if (cmos[RTC_REG_B] & RTC_B_DM)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static int from_reg(const uint8_t *cmos, uint8_t v)
{
	if (cmos[RTC_REG_B] & RTC_B_DM)
		return v;
	return (v >> 4) * 10 + (v & 0x0F);
}

void rtc_encode_time(uint8_t *cmos, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	int hour;

	if (!gmtime_r(&tt, &tm))
		return;
	cmos[RTC_SECONDS] = to_reg(cmos, tm.tm_sec);
	cmos[RTC_MINUTES] = to_reg(cmos, tm.tm_min);
	hour = tm.tm_hour;
	if (cmos[RTC_REG_B] & RTC_B_24H) {
		cmos[RTC_HOURS] = to_reg(cmos, hour);
	} else {
		/* 12-hour mode: 12, 1..11 with bit 7 set for PM. */
		int h12 = hour % 12 ? hour % 12 : 12;

		cmos[RTC_HOURS] = to_reg(cmos, h12) | (hour >= 12 ? 0x80 : 0);
	}
	cmos[RTC_DAY_OF_WEEK] = to_reg(cmos, tm.tm_wday + 1);
	cmos[RTC_DAY_OF_MONTH] = to_reg(cmos, tm.tm_mday);
	cmos[RTC_MONTH] = to_reg(cmos, tm.tm_mon + 1);
	cmos[RTC_YEAR] = to_reg(cmos, (int64_t)tm.tm_year + 1900);
	cmos[RTC_CENTURY] = to_reg(cmos, ((int64_t)tm.tm_year + 1900) / 100);
}

int64_t rtc_decode_time(const uint8_t *cmos)
{
	struct tm tm = { 0 };
	int hour;

	/* Any byte values are accepted: timegm normalises out-of-range fields. */
	tm.tm_sec = from_reg(cmos, cmos[RTC_SECONDS]);
	tm.tm_min = from_reg(cmos, cmos[RTC_MINUTES]);
	if (cmos[RTC_REG_B] & RTC_B_24H) {
		hour = from_reg(cmos, cmos[RTC_HOURS]);
	} else {
		hour = from_reg(cmos, cmos[RTC_HOURS] & 0x7F) % 12;
		if (cmos[RTC_HOURS] & 0x80)
			hour += 12;
	}
	tm.tm_hour = hour;
	tm.tm_mday = from_reg(cmos, cmos[RTC_DAY_OF_MONTH]);
	tm.tm_mon = from_reg(cmos, cmos[RTC_MONTH]) - 1;
	tm.tm_year = from_reg(cmos, cmos[RTC_CENTURY]) * 100 +
		     from_reg(cmos, cmos[RTC_YEAR]) - 1900;
	return (int64_t)timegm(&tm);
}

/* Periodic interrupt period for register A's rate select, 0 when off. */
static int64_t period_ns(uint8_t reg_a)
{
	unsigned int rate = reg_a & 0x0F;

	if (!rate)
		return 0;
	if (rate <= 2)
		rate += 7;	/* rates 1 and 2 are 256 and 128 Hz with a 32 kHz base */
	return (NS_PER_SEC << (rate - 1)) / 32768;
}

static int64_t guest_now(const struct rtc_state *s, int64_t now_ns)
{
	return floor_div(now_ns, NS_PER_SEC) + s->offset_s;
}

/* Adopt the time the registers hold as the guest's clock. */
static void set_time_from_regs(struct rtc_state *s, int64_t now_ns)
{
	int64_t t = rtc_decode_time(s->cmos);

	s->offset_s = t - floor_div(now_ns, NS_PER_SEC);
	s->last_sec = t;	/* setting the clock is not an update cycle */
}

static bool alarm_match(const struct rtc_state *s, int64_t t)
{
	static const uint8_t pairs[3][2] = {
		{ RTC_SECONDS, RTC_SECONDS_ALARM },
		{ RTC_MINUTES, RTC_MINUTES_ALARM },
		{ RTC_HOURS, RTC_HOURS_ALARM },
	};
	uint8_t now[RTC_NR_REGS] = { 0 };

	now[RTC_REG_B] = s->cmos[RTC_REG_B];
	rtc_encode_time(now, t);
	for (unsigned int i = 0; i < ARRAY_SIZE(pairs); i++) {
		uint8_t alarm = s->cmos[pairs[i][1]];

		/* 0xC0-0xFF is "don't care" (datasheet, alarm registers). */
		if ((alarm & 0xC0) != 0xC0 && alarm != now[pairs[i][0]])
			return false;
	}
	return true;
}

void rtc_update(struct rtc_state *s, int64_t now_ns)
{
	int64_t period = period_ns(s->cmos[RTC_REG_A]);

	if (period) {
		int64_t idx = floor_div(now_ns, period);

		if (idx > s->last_period)
			s->cmos[RTC_REG_C] |= RTC_C_PF;
		s->last_period = idx;
	}
	/* SET stops update cycles; the divider keeps the periodic ticks going. */
	if (!(s->cmos[RTC_REG_B] & RTC_B_SET)) {
		int64_t sec = guest_now(s, now_ns);

		/*
		 * Several seconds may have passed since the last access; one
		 * UF covers them, and the alarm is checked against the current
		 * second only: a guest that wants every alarm enables AIE.
		 */
		if (sec > s->last_sec) {
			s->cmos[RTC_REG_C] |= RTC_C_UF;
			if (alarm_match(s, sec))
				s->cmos[RTC_REG_C] |= RTC_C_AF;
		}
		s->last_sec = sec;	/* also follows a host clock stepped back */
	}
}

bool rtc_irq_pending(const struct rtc_state *s)
{
	return (s->cmos[RTC_REG_C] & s->cmos[RTC_REG_B] &
		(RTC_C_PF | RTC_C_AF | RTC_C_UF)) != 0;
}

int64_t rtc_next_event_ns(const struct rtc_state *s, int64_t now_ns)
{
	uint8_t b = s->cmos[RTC_REG_B];
	int64_t period = period_ns(s->cmos[RTC_REG_A]);
	int64_t next = -1;

	if (rtc_irq_pending(s))
		return -1;
	if ((b & RTC_B_PIE) && period)
		next = (floor_div(now_ns, period) + 1) * period;
	if ((b & (RTC_B_UIE | RTC_B_AIE)) && !(b & RTC_B_SET)) {
		/* The offset is whole seconds: guest seconds tick with host ones. */
		int64_t sec = (floor_div(now_ns, NS_PER_SEC) + 1) * NS_PER_SEC;

		if (next < 0 || sec < next)
			next = sec;
	}
	return next;
}

static bool is_time_reg(unsigned int reg)
{
	switch (reg) {
	case RTC_SECONDS: case RTC_MINUTES: case RTC_HOURS:
	case RTC_DAY_OF_WEEK: case RTC_DAY_OF_MONTH: case RTC_MONTH:
	case RTC_YEAR: case RTC_CENTURY:
		return true;
	}
	return false;
}

uint8_t rtc_reg_read(struct rtc_state *s, unsigned int reg, int64_t now_ns)
{
	uint8_t v;

	reg &= RTC_NR_REGS - 1;
	if (is_time_reg(reg)) {
		/* While SET is on the registers hold what the guest wrote. */
		if (!(s->cmos[RTC_REG_B] & RTC_B_SET))
			rtc_encode_time(s->cmos, guest_now(s, now_ns));
		return s->cmos[reg];
	}
	switch (reg) {
	case RTC_REG_A:
		v = s->cmos[RTC_REG_A] & 0x7F;
		if (!(s->cmos[RTC_REG_B] & RTC_B_SET) &&
		    now_ns - floor_div(now_ns, NS_PER_SEC) * NS_PER_SEC >= NS_PER_SEC - UIP_WINDOW_NS)
			v |= RTC_A_UIP;
		return v;
	case RTC_REG_C:
		rtc_update(s, now_ns);
		v = s->cmos[RTC_REG_C];
		if (rtc_irq_pending(s))
			v |= RTC_C_IRQF;
		s->cmos[RTC_REG_C] = 0;	/* cleared on read, IRQF with the flags */
		return v;
	case RTC_REG_D:
		return RTC_D_VRT;	/* battery good */
	}
	return s->cmos[reg];
}

static void write_reg_b(struct rtc_state *s, uint8_t val, int64_t now_ns)
{
	uint8_t old = s->cmos[RTC_REG_B];

	if (val & RTC_B_SET)
		val &= ~RTC_B_UIE;	/* datasheet: SET clears UIE */
	if (!(old & RTC_B_SET) && (val & RTC_B_SET)) {
		/* Freeze the registers at the current time, in the new format. */
		int64_t t = guest_now(s, now_ns);

		s->cmos[RTC_REG_B] = val;
		rtc_encode_time(s->cmos, t);
	} else if ((old & RTC_B_SET) && !(val & RTC_B_SET)) {
		s->cmos[RTC_REG_B] = val;
		set_time_from_regs(s, now_ns);
	} else {
		s->cmos[RTC_REG_B] = val;
	}
}

void rtc_reg_write(struct rtc_state *s, unsigned int reg, uint8_t val, int64_t now_ns)
{
	reg &= RTC_NR_REGS - 1;
	if (is_time_reg(reg)) {
		if (s->cmos[RTC_REG_B] & RTC_B_SET) {
			s->cmos[reg] = val;
			return;
		}
		/* A running clock takes single-register writes at once, as QEMU's. */
		rtc_encode_time(s->cmos, guest_now(s, now_ns));
		s->cmos[reg] = val;
		set_time_from_regs(s, now_ns);
		return;
	}
	switch (reg) {
	case RTC_REG_A: {
		int64_t period;

		s->cmos[RTC_REG_A] = val & 0x7F;	/* UIP is read-only */
		period = period_ns(val);
		if (period)
			s->last_period = floor_div(now_ns, period);
		return;
	}
	case RTC_REG_B:
		write_reg_b(s, val, now_ns);
		return;
	case RTC_REG_C:
	case RTC_REG_D:
		return;		/* read-only */
	}
	s->cmos[reg] = val;
}

void rtc_state_init(struct rtc_state *s, uint64_t ram_size, uint64_t below_4g,
		    int64_t now_ns)
{
	uint64_t ext_kb, val;

	memset(s, 0, sizeof(*s));
	s->cmos[RTC_REG_A] = 0x26;	/* 32.768 kHz divider, 1024 Hz rate */
	s->cmos[RTC_REG_B] = RTC_B_24H;
	s->cmos[RTC_REG_D] = RTC_D_VRT;
	s->last_sec = floor_div(now_ns, NS_PER_SEC);
	s->last_period = floor_div(now_ns, period_ns(s->cmos[RTC_REG_A]));
	rtc_encode_time(s->cmos, s->last_sec);

	/* Memory sizes where BIOSes (and QEMU's pc_cmos_init) put them. */
	s->cmos[0x15] = 640 & 0xFF;	/* base memory, KiB */
	s->cmos[0x16] = 640 >> 8;
	ext_kb = ram_size / KiB > 1024 ? ram_size / KiB - 1024 : 0;
	ext_kb = MIN(ext_kb, 0xFFFFULL);
	s->cmos[0x17] = s->cmos[0x30] = (uint8_t)ext_kb;
	s->cmos[0x18] = s->cmos[0x31] = (uint8_t)(ext_kb >> 8);
	val = below_4g > 16 * MiB ? (below_4g - 16 * MiB) / (64 * KiB) : 0;
	val = MIN(val, 0xFFFFULL);
	s->cmos[0x34] = (uint8_t)val;
	s->cmos[0x35] = (uint8_t)(val >> 8);
	val = ram_size > below_4g ? (ram_size - below_4g) / (64 * KiB) : 0;
	val = MIN(val, 0xFFFFFFULL);
	s->cmos[0x5B] = (uint8_t)val;
	s->cmos[0x5C] = (uint8_t)(val >> 8);
	s->cmos[0x5D] = (uint8_t)(val >> 16);
}

/* ---- VM glue ------------------------------------------------------------ */

#define RTC_NR_PORTS	2

struct rtc {
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* CLOCK_REALTIME deadlines, like rtc_state */
	pthread_t thread;
	bool stop;
	int irq_level;
	struct vm *vm;
	struct rtc_state st;
};

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* Caller holds r->lock. */
static void rtc_sync_irq(struct rtc *r)
{
	int level = rtc_irq_pending(&r->st);

	if (level != r->irq_level) {
		r->irq_level = level;
		vm_irq_line(r->vm, RTC_IRQ, level);
	}
}

static void rtc_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len,
		   bool is_write)
{
	struct rtc *r = opaque;
	int64_t now = realtime_ns();
	bool kick = false;

	pthread_mutex_lock(&r->lock);
	for (unsigned int i = 0; i < len; i++) {
		uint64_t port = off + i;
		unsigned int reg = r->st.index;

		if (port >= RTC_NR_PORTS) {
			if (!is_write)
				data[i] = 0xFF;
		} else if (port == 0) {
			/* Bit 7 masks NMI on a PC; there is no NMI source here. */
			if (is_write)
				r->st.index = data[i] & (RTC_NR_REGS - 1);
			else
				data[i] = 0xFF;
		} else if (is_write) {
			rtc_reg_write(&r->st, reg, data[i], now);
			kick |= reg == RTC_REG_A || reg == RTC_REG_B;
		} else {
			data[i] = rtc_reg_read(&r->st, reg, now);
			kick |= reg == RTC_REG_C;
		}
	}
	rtc_sync_irq(r);
	/* The timer thread's next deadline depends on A, B and IRQF. */
	if (kick)
		pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void *rtc_thread(void *arg)
{
	struct rtc *r = arg;

	pthread_setname_np(pthread_self(), "rtc");
	if (sandbox_enter(SANDBOX_RTC, "rtc")) {
		vm_request_stop(r->vm, VM_STOP_ERROR);
		return NULL;
	}
	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		int64_t now = realtime_ns(), next;

		rtc_update(&r->st, now);
		rtc_sync_irq(r);
		next = rtc_next_event_ns(&r->st, now);
		if (next < 0) {
			pthread_cond_wait(&r->cond, &r->lock);
		} else {
			/*
			 * Wait on the monotonic clock for (next - now): an
			 * absolute realtime deadline would be delayed by as much
			 * as the host clock steps back. Each pass recomputes
			 * next from the wall clock, so a step costs one wait.
			 */
			struct timespec ts;
			int64_t deadline;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			deadline = (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec + (next - now);
			ts.tv_sec = deadline / NS_PER_SEC;
			ts.tv_nsec = deadline % NS_PER_SEC;
			pthread_cond_timedwait(&r->cond, &r->lock, &ts);
		}
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void rtc_free(struct rtc *r)
{
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static int rtc_dev_init(struct vm *vm)
{
	uint64_t below_4g = MIN(vm->mem.ram_size, MEM_HOLE_START);
	pthread_condattr_t cattr;
	sigset_t all, old;
	struct rtc *r;
	int ret;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->vm = vm;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &cattr);
	pthread_condattr_destroy(&cattr);
	rtc_state_init(&r->st, vm->mem.ram_size, below_4g, realtime_ns());

	ret = bus_register(&vm->bus, BUS_PIO, RTC_PORT, RTC_NR_PORTS, rtc_io, r, "rtc");
	if (ret)
		goto err_free;

	/* The timer thread takes no signals: those belong to main and the vCPUs. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&r->thread, NULL, rtc_thread, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		goto err_unregister;
	vm->rtc = r;
	return 0;

err_unregister:
	bus_unregister(&vm->bus, BUS_PIO, RTC_PORT);
err_free:
	rtc_free(r);
	return ret;
}

/* Called after the vCPUs have stopped. */
static void rtc_dev_exit(struct vm *vm)
{
	struct rtc *r = vm->rtc;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	bus_unregister(&vm->bus, BUS_PIO, RTC_PORT);
	vm->rtc = NULL;
	rtc_free(r);
}

const struct vm_device_ops rtc_dev_ops = {
	.name = "rtc",
	.init = rtc_dev_init,
	.exit = rtc_dev_exit,
};
