# Sourced by the L2 /init (rig.l2=bench-virtio; L1 side: bench/rig/virtio-round.sh). One
# virtio-blk disk (vda) and one virtio-net NIC on L1's tap (L1 is 10.0.3.1: port 5000 swallows
# what it gets, port 5001 sends bench.net_mb MiB and closes). Times are the guest's own clock.
# Parameters (kernel command line): bench.disk_mb, bench.rand_s, bench.net_mb.
# Result: "RIG-L2 bench KEY=VALUE ..." lines; rates in MiB/s, random reads in IOPS.
vr() { echo "RIG-L2 $*"; }
verr() { echo "RIG-L2 error: $*"; }
cmdarg() { for a in $(cat /proc/cmdline); do case "$a" in "$1"=*) echo "${a#*=}" ;; esac; done; }
# T: guest uptime in seconds (no fork)
t() { read -r T _ </proc/uptime; }
# nstat: "IRQ_IN IRQ_OUT TX_PKTS TX_BYTES RX_PKTS": eth0's MSI-X interrupt counts (all CPUs)
# and frame counters, to compare how the VMMs move the same bytes.
nstat() {
	awk '/-input\.0$/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) in_ += $i }
	     /-output\.0$/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) out += $i }
	     END { printf "%d %d ", in_, out }' /proc/interrupts
	s=/sys/class/net/eth0/statistics
	echo "$(cat $s/tx_packets) $(cat $s/tx_bytes) $(cat $s/rx_packets)" \
		"$(awk '$1 == "Tcp:" { if (!h) { for (i = 2; i <= NF; i++) if ($i == "RetransSegs") c = i; h = 1 } else print $c }' /proc/net/snmp)"
}
# netdiff BEFORE AFTER: the differences as KEY=VALUE, plus the average TX frame
netdiff() {
	set -- $1 $2
	echo "irq_in=$(($7 - $1)) irq_out=$(($8 - $2)) tx_pkts=$(($9 - $3)) rx_pkts=$((${11} - $5))" \
		"retrans=$((${12} - $6))" \
		"tx_avg=$(( ($9 - $3) > 0 ? (${10} - $4) / ($9 - $3) : 0 ))"
}
rate() { awk -v mb="$1" -v a="$2" -v b="$3" 'BEGIN { if (b > a) printf "%.2f", mb / (b - a); else print "NA" }'; }

disk_mb=$(cmdarg bench.disk_mb); disk_mb=${disk_mb:-512}
rand_s=$(cmdarg bench.rand_s); rand_s=${rand_s:-10}
net_mb=$(cmdarg bench.net_mb); net_mb=${net_mb:-64}

for m in virtio_pci virtio_blk virtio_net; do
	modprobe "$m" || verr "modprobe $m failed"
done
n=0
while [ $n -lt 100 ] && ! { [ -e /sys/block/vda ] && [ -e /sys/class/net/eth0 ]; }; do
	usleep 200000
	n=$((n + 1))
done
[ -e /sys/block/vda ] || verr "no /dev/vda"
[ -e /sys/class/net/eth0 ] || verr "no eth0"
vr "bench devices waited_ms=$((n * 200)) size_sectors=$(cat /sys/block/vda/size 2>/dev/null)"

# --- virtio-blk: sequential write then read, 1 MiB O_DIRECT requests; 4 KiB random reads ----
t; t0=$T
dd if=/dev/zero of=/dev/vda bs=1M count="$disk_mb" oflag=direct 2>/tmp/dd.err
wrc=$?
t; t1=$T
dd if=/dev/vda of=/dev/null bs=1M count="$disk_mb" iflag=direct 2>>/tmp/dd.err
rrc=$?
t; t2=$T
[ $wrc = 0 ] && [ $rrc = 0 ] || verr "dd: write $wrc, read $rrc: $(tr '\n' ' ' </tmp/dd.err)"
vr "bench blk seq_write=$(rate "$disk_mb" "$t0" "$t1") seq_read=$(rate "$disk_mb" "$t1" "$t2")" \
	"write_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') read_s=$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')"
rr=$(randread /dev/vda "$rand_s" 2>&1)
rrrc=$?
[ $rrrc = 0 ] || verr "randread: $rr"
vr "bench rand ${rr:-none}"

# --- virtio-net: TCP with busybox nc, guest -> L1 then L1 -> guest --------------------------
ip link set lo up
ip addr add 10.0.3.2/24 dev eth0 && ip link set eth0 up || verr "eth0 setup failed"
ping -c 2 -W 5 10.0.3.1 >/tmp/ping.txt 2>&1 || verr "ping 10.0.3.1: $(tail -n 1 /tmp/ping.txt)"
head -c $((net_mb * 1048576)) /dev/zero >/tmp/tx.bin
# Sent when every byte and our FIN are acknowledged: no connection to 10.0.3.1:5000 (hex
# 0103000A:1388 in /proc/net/tcp) left in ESTABLISHED (01), FIN_WAIT1 (04) or CLOSING (0B).
unacked() { awk '$3 == "0103000A:1388" && ($4 == "01" || $4 == "04" || $4 == "0B")' /proc/net/tcp | grep -q .; }
s0=$(nstat)
vr "bench tx-start"
# The connection's congestion window and unacknowledged bytes every 0.2 s (/proc/net/tcp
# fields 16 and 5), for the transfer's shape.
(while :; do awk '$3 == "0103000A:1388" && $4 == "01" { split($5, q, ":"); print $16, q[1] }' /proc/net/tcp
	usleep 200000; done) >/tmp/cwnd.txt 2>/dev/null &
sampler=$!
t; t0=$T
timeout 300 nc 10.0.3.1 5000 </tmp/tx.bin
txrc=$?
kill $sampler 2>/dev/null
n=0
while unacked && [ $n -lt 3000 ]; do usleep 20000; n=$((n + 1)); done
t; t1=$T
vr "bench tx-end"
s1=$(nstat)
rm -f /tmp/tx.bin
mkfifo /tmp/hold # nc's stdin never ends: the transfer ends when L1 closes
t; t2=$T
timeout 300 nc 10.0.3.1 5001 <>/tmp/hold >/tmp/rx.bin
rxrc=$?
t; t3=$T
s3=$(nstat)
rxb=$(wc -c </tmp/rx.bin)
rm -f /tmp/rx.bin
[ $txrc = 0 ] && [ $rxrc = 0 ] && [ "$rxb" = $((net_mb * 1048576)) ] ||
	verr "nc: tx status $txrc, rx status $rxrc, rx $rxb bytes"
vr "bench net tx=$(rate "$net_mb" "$t0" "$t1") rx=$(rate "$net_mb" "$t2" "$t3") rx_bytes=$rxb" \
	"tx_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') rx_s=$(awk -v a="$t2" -v b="$t3" 'BEGIN { print b - a }')"
vr "bench nettx $(netdiff "$s0" "$s1")" \
	"$(awk '{ n++; c += $1; u += ("0x" $2) + 0; if ($1 > m) m = $1 }
		END { if (n) printf "cwnd_avg=%.1f cwnd_max=%d unacked_avg=%d", c / n, m, u / n }' /tmp/cwnd.txt)"
vr "bench netrx $(netdiff "$s1" "$s3")"
vr bench-done
