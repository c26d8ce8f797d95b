# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=sh
# Terminal tests, sourced by run.sh (uses its KVMIO, DIR, LOGS, now_ms,
# selected, report): kvmio --serial stdio on a real terminal, a tmux pane,
# with the echo guest (echo.c) on the other end. Each case records `stty -g`
# in the pane before and after kvmio and checks that kvmio's raw mode was
# undone, plus:
#   tty-quit      "hello" comes back as "HELLO" and the terminal did not echo
#                 it (raw mode); Ctrl-A x quits: status 0, the quit line
#   tty-ctrl-a    Ctrl-A Ctrl-A reaches the guest as one 0x01 ("a^A^Ab" -> "A<01>B")
#   tty-sigterm   SIGTERM in raw mode: status 143
#   tty-poweroff  'Q' makes the guest power off: status 0, no quit line
#   tty-vcon-quit stdin belongs to a virtio console whose guest has no driver,
#                 so typed bytes stay pending; Ctrl-A x still quits (COM1
#                 goes to a file, where the ready line is awaited)
# GUESTS=tty selects them all. tmux is required (CI installs it): without it
# one FAIL line says so. Logs stay in LOGS/tty-CASE/.

TTY_WAIT=${TTY_WAIT:-10}	# seconds for any one step (the rig gives 30)

# A private server on a socket of ours, away from the user's tmux.
tmux_() {
	env -u TMUX tmux -S "$tmux_dir/sock" "$@"
}

# tty_wait CMD...: true once CMD is, false after $TTY_WAIT s.
tty_wait() {
	n=$((TTY_WAIT * 20))
	until "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.05
	done
}

pane_capture() {
	tmux_ capture-pane -p -J -S - -t kvmio-tty >"$tdir/pane.tmp" 2>/dev/null &&
		tr -d '\r' <"$tdir/pane.tmp" >"$tdir/pane"
}

pane_has() {
	pane_capture && grep -qF -- "$1" "$tdir/pane"
}

serial_has() {
	grep -qF -- "$1" "$tdir/serial" 2>/dev/null
}

tty_exited() {
	[ -e "$tdir/rc" ]
}

# tty_start CASE: runs the pane script in a fresh tmux server and waits for
# the guest's ready line; sets $why on failure.
tty_start() {
	tdir=$LOGS/tty-$1
	rm -rf "$tdir"
	mkdir -p "$tdir"
	tdir=$(cd "$tdir" && pwd)
	# In the pane: kvmio in the foreground on the terminal; its pid (the
	# inner sh execs it), status and the terminal settings around it go to
	# files, rc last.
	cat >"$tdir/pane.sh" <<'EOF'
d=$1; shift
stty -g >"$d/before"
sh -c 'echo $$ >"$0"; exec "$@"' "$d/pid" "$@" 2>"$d/stderr"
echo $? >"$d/rc.tmp"
stty -g >"$d/after"
mv "$d/rc.tmp" "$d/rc"
EOF
	printf 'set -g remain-on-exit on\n' >"$tdir/tmux.conf"
	ready=pane_has
	tcase=$1
	set --
	if [ "$tcase" = vcon-quit ]; then
		set -- --console stdio --serial "file=$tdir/serial"
		ready=serial_has
	fi
	# shellcheck disable=SC2086
	if ! tmux_ -f "$tdir/tmux.conf" new-session -d -s kvmio-tty -x 160 -y 40 \
		sh "$tdir/pane.sh" "$tdir" "$kvmio_abs" run --kernel "$img_abs" "$@"; then
		why="cannot start tmux"
	elif ! tty_wait $ready 'UCALL SYNC echo: ready'; then
		why="no 'echo: ready' from the guest within ${TTY_WAIT}s"
	fi
}

# tty_finish: waits for kvmio to exit, ends the tmux server (a kvmio still
# running gets SIGHUP), then checks what every case wants.
tty_finish() {
	if [ -z "$why" ] && ! tty_wait tty_exited; then
		why="kvmio still running ${TTY_WAIT}s later"
	fi
	pane_capture
	tmux_ kill-server 2>/dev/null
	touch "$tdir/pane" "$tdir/stderr"
	[ -z "$why" ] || return 0
	rc=$(cat "$tdir/rc")
	if [ "$rc" != "$want_rc" ]; then
		why="kvmio exit status $rc, want $want_rc"
	elif ! [ -s "$tdir/before" ] || ! cmp -s "$tdir/before" "$tdir/after"; then
		why="terminal not restored: stty -g '$(cat "$tdir/before")' before, '$(cat "$tdir/after")' after"
	elif grep -q 'UCALL ABORT' "$tdir/pane"; then
		why="guest: $(grep -m1 'UCALL ABORT' "$tdir/pane")"
	fi
}

# The cases: type, set $want_rc, leave kvmio to exit (tty_finish waits), and
# check what is particular to them afterwards.
tty_quit() {
	want_rc=0
	tmux_ send-keys -t kvmio-tty -l hello
	if ! tty_wait pane_has HELLO; then
		why="typed 'hello', no 'HELLO' came back"
	else
		tmux_ send-keys -t kvmio-tty C-a x
	fi
	tty_finish
	if [ -z "$why" ] && grep -q hello "$tdir/pane"; then
		why="the terminal echoed 'hello' itself: not in raw mode"
	elif [ -z "$why" ] && ! grep -q 'quit from the console' "$tdir/stderr"; then
		why="no 'quit from the console' on stderr"
	fi
}

tty_ctrl_a() {
	want_rc=0
	tmux_ send-keys -t kvmio-tty a C-a C-a b
	if ! tty_wait pane_has 'A<01>B'; then
		why="typed a ^A ^A b, want 'A<01>B' back, got '$(grep -v '^$' "$tdir/pane" | tail -n 1)'"
	else
		tmux_ send-keys -t kvmio-tty C-a x
	fi
	tty_finish
}

tty_sigterm() {
	want_rc=143
	tmux_ send-keys -t kvmio-tty -l hi
	if ! tty_wait pane_has HI; then
		why="typed 'hi', no 'HI' came back"
	else
		kill -TERM "$(cat "$tdir/pid")"
	fi
	tty_finish
	if [ -z "$why" ] && ! grep -q 'signal 15' "$tdir/stderr"; then
		why="stderr does not name signal 15"
	fi
}

tty_poweroff() {
	want_rc=0
	tmux_ send-keys -t kvmio-tty -l Q
	tty_finish
	if [ -z "$why" ] && ! grep -q '^UCALL DONE' "$tdir/pane"; then
		why="no 'UCALL DONE' after 'Q'"
	elif [ -z "$why" ] && grep -q 'quit from the console' "$tdir/stderr"; then
		why="'quit from the console' on a guest power-off"
	fi
}

tty_vcon_quit() {
	want_rc=0
	tmux_ send-keys -t kvmio-tty -l hello
	sleep 0.2
	tmux_ send-keys -t kvmio-tty C-a x
	tty_finish
	if [ -z "$why" ] && ! grep -q 'quit from the console' "$tdir/stderr"; then
		why="no 'quit from the console' on stderr"
	fi
}

run_tty_tests() {
	cases=
	for c in quit ctrl-a sigterm poweroff vcon-quit; do
		selected "tty-$c" || selected tty && cases="$cases $c"
	done
	[ -n "$cases" ] || return 0
	why=
	if ! command -v tmux >/dev/null; then
		why="tmux is required for the terminal tests (apt-get install tmux)"
	elif ! tmux_dir=$(mktemp -d "${TMPDIR:-/tmp}/kvmio-tty.XXXXXX"); then
		why="cannot create a directory for the tmux socket"
	fi
	if [ -n "$why" ]; then
		report tty "$(now_ms)" /dev/null /dev/null
		return
	fi
	kvmio_abs=$(cd "$(dirname "$KVMIO")" && pwd)/$(basename "$KVMIO")
	img_abs=$(cd "$DIR" && pwd)/echo.bzImage
	for c in $cases; do
		t0=$(now_ms)
		why=
		tty_start "$c"
		if [ -z "$why" ]; then
			"tty_$(echo "$c" | tr - _)"
		else
			tty_finish
		fi
		report "tty-$c" "$t0" "$tdir/pane" "$tdir/stderr"
	done
	rm -rf "$tmux_dir"
}
