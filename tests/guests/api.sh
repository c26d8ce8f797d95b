# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=sh
# Control-socket tests, sourced by run.sh (uses its KVMIO, DIR, LOGS, now_ms,
# selected, report): kvmio with --api-socket and the echo guest, which halts
# waiting for input, driven by `kvmio remote`. The guest has no ACPI, so a
# removal stays pending here; the rig's hotplug scenario has Linux eject.
#   api       ping; info (state, devices with given and generated ids);
#             pause (twice: the second is refused), info Paused, resume;
#             add-disk (reply, info lists it hot-plugged), the same id again
#             and the same image again (refused: id taken, image locked);
#             remove-device: pending, info says removing; an unknown id;
#             remote's usage errors (exit 2); power-button; shutdown: exit
#             0, the socket removed
#   api-path  a regular file at the socket path is refused and left as it was;
#             a stale socket is replaced
#   sandbox   every thread of a running kvmio has its seccomp filter (Seccomp: 2),
#             and with --user (when run as root) runs as that user with no
#             capabilities, the control socket handed to it
#   landlock  with --landlock, a hot-added image under a --landlock-rules
#             directory opens, one outside it is refused (403), and the
#             socket is still removed at exit (skipped without Landlock)
#   seccomp-kill  a test build of kvmio (KVMIO_HOOKS, make check builds it) whose
#             virtio-rng worker opens a file once its filter is on: kvmio stops
#             with status 1 and the line naming the thread and the call; with
#             --seccomp log it runs on (skipped without KVMIO_HOOKS: the rig)
# GUESTS=api selects the first. Logs stay in LOGS/api/.

# api_expect WHAT WANT_RC OUT_ERE -- remote ARGS...: one remote call; its
# status must be WANT_RC and its stdout+stderr match OUT_ERE (empty: print
# nothing). Sets $why on the first failure.
api_expect() {
	what=$1 want=$2 ere=$3
	shift 4
	[ -z "$why" ] || return 0
	"$KVMIO" remote --api-socket "$adir/sock" "$@" >"$adir/out" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		why="$what: remote exit status $rc, want $want: $(head -c 200 "$adir/out")"
	elif [ -z "$ere" ] && [ -s "$adir/out" ]; then
		why="$what: printed '$(head -c 200 "$adir/out")', want nothing"
	elif [ -n "$ere" ] && ! grep -Eq -- "$ere" "$adir/out"; then
		why="$what: '$(head -c 200 "$adir/out")' does not match '$ere'"
	fi
}

# api_wait CMD...: until CMD succeeds, at most 5 s (kvmio starting up).
api_wait() {
	n=0
	until "$@" 2>/dev/null || [ $n -ge 100 ]; do
		sleep 0.05
		n=$((n + 1))
	done
}

run_api_tests() {
	if selected api; then
		adir=$LOGS/api
		rm -rf "$adir"
		mkdir -p "$adir"
		why=
		t0=$(now_ms)
		truncate -s 1M "$adir/boot.img" "$adir/data.img"
		timeout 60 "$KVMIO" run --kernel "$DIR/echo.bzImage" --serial "file=$adir/serial" \
			--api-socket "$adir/sock" --disk "$adir/boot.img,id=boot" --rng -v \
			</dev/null >"$adir/stdout" 2>"$adir/stderr" &
		pid=$!
		api_wait [ -S "$adir/sock" ]
		[ -S "$adir/sock" ] || why="no socket at $adir/sock"
		[ -n "$why" ] || [ "$(stat -c %a "$adir/sock")" = 600 ] ||
			why="socket mode $(stat -c %a "$adir/sock"), want 600"
		api_expect ping 0 '"version":"[0-9.]+","pid":[0-9]+' -- ping
		api_expect info 0 '"state":"Running".*"id":"boot","kind":"virtio-blk","bdf":"0000:00:0[0-9a-f].0","state":"present","hotplugged":false.*"id":"_rng[0-9]+","kind":"virtio-rng"' -- info
		api_expect pause 0 '' -- pause
		api_expect "pause again" 1 'paused already \(HTTP 409\)' -- pause
		api_expect "info paused" 0 '"state":"Paused"' -- info
		api_expect resume 0 '' -- resume
		api_expect "info running" 0 '"state":"Running"' -- info
		api_expect add-disk 0 '^\{"id":"data","bdf":"0000:00:0[0-9a-f].0"\}$' -- add-disk path="$adir/data.img" id=data serial=d1
		api_expect "info lists it" 0 '"id":"data","kind":"virtio-blk","bdf":"[0-9a-f:.]+","state":"present","hotplugged":true' -- info
		api_expect "id taken" 1 'taken by another device \(HTTP 409\)' -- add-disk path="$adir/boot.img" id=data
		api_expect "image locked" 1 'in use by another process.*\(HTTP 409\)' -- add-disk path="$adir/data.img" readonly=on
		api_expect "missing image" 1 'cannot open.*\(HTTP 404\)' -- add-disk path="$adir/none.img"
		api_expect remove 0 '^\{"id":"data","state":"pending"\}$' -- remove-device id=data
		api_expect "info removing" 0 '"id":"data","kind":"virtio-blk","bdf":"[0-9a-f:.]+","state":"removing"' -- info
		api_expect "unknown id" 1 'no device with id "nope" \(HTTP 404\)' -- remove-device id=nope
		api_expect "bad key" 2 'bogus: unknown key' -- add-disk bogus=1
		api_expect "unknown command" 2 "unknown command 'frobnicate'" -- frobnicate
		api_expect "bad readonly" 2 "readonly='maybe'" -- add-disk path=x readonly=maybe
		api_expect power-button 0 '' -- power-button
		api_expect shutdown 0 '' -- shutdown
		[ -z "$why" ] || kill "$pid" 2>/dev/null
		n=0
		while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
		wait "$pid"
		rc=$?
		if [ -z "$why" ] && [ "$rc" -ne 0 ]; then
			why="kvmio exit status $rc after shutdown, want 0"
		elif [ -z "$why" ] && [ -e "$adir/sock" ]; then
			why="the socket is still there after kvmio exited"
		elif [ -z "$why" ] && ! grep -q 'shut down through the control socket' "$adir/stderr"; then
			why="no shutdown line on stderr"
		elif [ -z "$why" ] && grep -q 'error:' "$adir/stderr" &&
			grep 'error:' "$adir/stderr" | grep -v -q -E 'none.img|data.img: in use'; then
			why="stderr: $(grep 'error:' "$adir/stderr" | grep -v -E 'none.img|data.img: in use' | head -n 1)"
		fi
		report api "$t0" "$adir/stdout" "$adir/stderr"
	fi
	if selected api-path; then
		adir=$LOGS/api-path
		rm -rf "$adir"
		mkdir -p "$adir"
		why=
		t0=$(now_ms)
		echo precious >"$adir/sock"
		timeout 30 "$KVMIO" run --kernel "$DIR/uart.bzImage" --serial none --api-socket "$adir/sock" \
			</dev/null >/dev/null 2>"$adir/stderr"
		rc=$?
		if [ "$rc" -ne 1 ]; then
			why="kvmio exit status $rc with a file at the socket path, want 1"
		elif [ "$(cat "$adir/sock")" != precious ]; then
			why="the file at the socket path was changed"
		elif ! grep -q 'exists and is not a socket' "$adir/stderr"; then
			why="stderr does not say why: $(head -n 1 "$adir/stderr")"
		fi
		# A socket nobody listens on (left by a killed kvmio) is replaced.
		rm -f "$adir/sock"
		if [ -z "$why" ]; then
			"$KVMIO" run --kernel "$DIR/echo.bzImage" --serial none \
				--api-socket "$adir/sock" </dev/null >/dev/null 2>"$adir/stderr1" &
			pid=$!
			api_wait [ -S "$adir/sock" ]
			kill -KILL "$pid"
			wait "$pid" 2>/dev/null
			timeout 30 "$KVMIO" run --kernel "$DIR/echo.bzImage" --serial none -v \
				--api-socket "$adir/sock" </dev/null >/dev/null 2>"$adir/stderr" &
			pid=$!
			api_wait grep -q 'listening on' "$adir/stderr"
			"$KVMIO" remote --api-socket "$adir/sock" shutdown >/dev/null 2>&1 ||
				why="no server on the path after a stale socket: $(tail -n 1 "$adir/stderr")"
			wait "$pid"
			grep -q 'removed a stale socket' "$adir/stderr" || [ -n "$why" ] ||
				why="stderr does not say the stale socket was replaced"
		fi
		report api-path "$t0" /dev/null "$adir/stderr"
	fi
	if selected sandbox; then
		adir=$LOGS/sandbox
		rm -rf "$adir"
		mkdir -p "$adir"
		chmod 777 "$adir"
		why=
		t0=$(now_ms)
		user=
		[ "$(id -u)" = 0 ] && user="--user 65534:65534"
		# Not under timeout(1): $! must be kvmio, whose threads are looked at (the rig has no
		# pgrep); the shutdown below, or the kill when it fails, ends it.
		# shellcheck disable=SC2086
		"$KVMIO" run --kernel "$DIR/echo.bzImage" --serial none --rng -v \
			--api-socket "$adir/sock" $user </dev/null >/dev/null 2>"$adir/stderr" &
		pid=$!
		api_wait grep -q 'listening on' "$adir/stderr"
		sleep 0.3
		kpid=$pid
		nt=0
		for t in /proc/"$kpid"/task/*; do
			nt=$((nt + 1))
			st=$(cat "$t/status")
			comm=$(cat "$t/comm")
			echo "$st" | grep -q '^Seccomp:[[:space:]]*2' || why="thread $comm has no seccomp filter"
			if [ -n "$user" ]; then
				echo "$st" | grep -q '^Uid:[[:space:]]*65534[[:space:]]*65534[[:space:]]*65534' ||
					why="thread $comm is not uid 65534: $(echo "$st" | grep ^Uid)"
				echo "$st" | grep -q '^CapEff:[[:space:]]*0000000000000000' ||
					why="thread $comm has capabilities: $(echo "$st" | grep ^CapEff)"
			fi
		done
		[ "$nt" -ge 4 ] || [ -n "$why" ] || why="only $nt threads in /proc/$kpid/task"
		if [ -n "$user" ] && [ -z "$why" ] && [ "$(stat -c %u "$adir/sock")" != 65534 ]; then
			why="the control socket is not 65534's"
		fi
		"$KVMIO" remote --api-socket "$adir/sock" shutdown >/dev/null 2>&1 || kill "$pid"
		api_wait sh -c "! kill -0 $pid"
		kill -9 "$pid" 2>/dev/null
		wait "$pid"
		rc=$?
		[ -n "$why" ] || [ "$rc" = 0 ] || why="kvmio exit status $rc"
		report sandbox "$t0" /dev/null "$adir/stderr"
	fi
	if selected landlock; then
		adir=$LOGS/landlock
		rm -rf "$adir"
		mkdir -p "$adir/ok"
		why=
		t0=$(now_ms)
		truncate -s 1M "$adir/ok/in.img" "$adir/out.img"
		timeout 60 "$KVMIO" run --kernel "$DIR/echo.bzImage" --serial none -v --api-socket "$adir/sock" \
			--landlock --landlock-rules "path=$adir/ok,access=rw" </dev/null >/dev/null 2>"$adir/stderr" &
		pid=$!
		api_wait grep -q -E 'listening on|error' "$adir/stderr"
		sleep 0.2
		if grep -q 'has no Landlock' "$adir/stderr"; then
			wait "$pid"
			echo "SKIP landlock: this kernel has no Landlock"
		else
			api_expect "add inside the rules" 0 '"id":"in"' -- add-disk path="$adir/ok/in.img" id=in
			api_expect "add outside them" 1 'out.img: cannot open: Permission denied \(HTTP 403\)' \
				-- add-disk path="$adir/out.img" id=out
			"$KVMIO" remote --api-socket "$adir/sock" shutdown >/dev/null 2>&1 || kill "$pid"
			wait "$pid"
			rc=$?
			[ -n "$why" ] || [ "$rc" = 0 ] || why="kvmio exit status $rc"
			[ -n "$why" ] || [ ! -e "$adir/sock" ] || why="the socket was not removed at exit"
			report landlock "$t0" /dev/null "$adir/stderr"
		fi
	fi
	if selected seccomp-kill; then
		adir=$LOGS/seccomp-kill
		rm -rf "$adir"
		mkdir -p "$adir"
		why=
		t0=$(now_ms)
		if [ ! -x "${KVMIO_HOOKS:-}" ]; then
			echo "SKIP seccomp-kill: no test build of kvmio (KVMIO_HOOKS)"
		else
			KVMIO_TEST_FORBIDDEN=virtio-rng timeout 30 "$KVMIO_HOOKS" run --kernel "$DIR/echo.bzImage" \
				--serial none --rng </dev/null >/dev/null 2>"$adir/stderr"
			rc=$?
			if [ "$rc" != 1 ]; then
				why="kvmio exit status $rc, want 1"
			elif ! grep -q 'seccomp: thread virtio-rng@[0-9a-f]* made system call openat' "$adir/stderr"; then
				why="no line naming the thread and the call"
			fi
			# log: the same call goes through; 'Q' makes the guest power off.
			if [ -z "$why" ]; then
				printf Q | KVMIO_TEST_FORBIDDEN=virtio-rng timeout 30 "$KVMIO_HOOKS" run \
					--kernel "$DIR/echo.bzImage" --serial stdio --rng --seccomp log \
					>/dev/null 2>"$adir/stderr.log"
				rc=$?
				[ "$rc" = 0 ] || why="with --seccomp log: exit status $rc, want 0"
			fi
			report seccomp-kill "$t0" /dev/null "$adir/stderr"
		fi
	fi
}
