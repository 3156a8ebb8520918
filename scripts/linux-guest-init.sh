#!/bin/sh
# /init of the Linux guest that scripts/linux-guest.sh builds (PID 1, BusyBox sh). It loads the
# unmodified e1000 driver, brings eth0 up on QEMU's user network (guest 10.0.2.15/24, gateway
# 10.0.2.2), pings the gateway five times, prints what the launcher checks and powers off.
# It always ends with `poweroff -f` (with QEMU's -no-reboot, a reboot or a panic ends QEMU
# too), whatever failed; a watchdog powers off after 85 s (dmanic.watchdog=SECONDS on the
# kernel command line changes that).
#
# The lines to parse are documented in scripts/linux-guest.sh's header; each one starts with
# "DMANIC-LINUX: " and a key. Everything else on the console is for people.

export PATH=/sbin:/bin:/usr/sbin:/usr/bin
M='DMANIC-LINUX:'
IF=eth0
GW=10.0.2.2
ADDR=10.0.2.15/24

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The initramfs has no /dev/console (no device nodes are built into it), so the kernel started
# this script without stdin/stdout/stderr: take the console now that devtmpfs has it.
[ -c /dev/console ] || mknod -m 600 /dev/console c 5 1
exec </dev/console >/dev/console 2>&1
mkdir -p /tmp /run
# The firmware's screen-clearing escapes end without a newline: start the markers on a line of
# their own.
echo

# Every `error` line is also appended here, so the watchdog's count includes the main run's.
ERRLOG=/run/errors
: >"$ERRLOG"

error() {
	echo "$M error $*"
	echo "$*" >>"$ERRLOG"
}

uptime_s() {
	read -r up _ </proc/uptime
	echo "$up"
}

# Milliseconds since boot (/proc/uptime has centiseconds).
now_ms() {
	read -r up _ </proc/uptime
	frac=${up#*.}
	frac=${frac#0}
	echo $((${up%.*} * 1000 + frac * 10))
}

# The sections below print whatever is there, whether or not the steps got that far.
report() {
	echo "$M begin interrupts"
	cat /proc/interrupts
	echo "$M end interrupts"
	awk -v m="$M" -v ifc="$IF" '
		$NF == ifc { sub(":", "", $1); n = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i
		             printf "%s irq %s line=%s count=%d\n", m, ifc, $1, n; found = 1 }
		END { if (!found) printf "%s irq %s line=none count=0\n", m, ifc }' /proc/interrupts

	echo "$M begin dmesg-e1000"
	dmesg | grep -i e1000
	echo "$M end dmesg-e1000"

	if [ -d /sys/class/net/$IF ]; then
		echo "$M begin link"
		ip link show $IF
		ip addr show $IF | grep inet
		echo "$M end link"
		s=/sys/class/net/$IF/statistics
		line="$M stats"
		for k in rx_packets tx_packets rx_bytes tx_bytes rx_errors tx_errors rx_dropped \
			tx_dropped rx_crc_errors rx_missed_errors tx_fifo_errors; do
			line="$line $k=$(cat $s/$k 2>/dev/null || echo -1)"
		done
		echo "$line"
		echo "$M begin ethtool-stats"
		ethtool -S $IF
		echo "$M end ethtool-stats"
	fi
}

finish() {
	echo "$M done errors=$(wc -l <"$ERRLOG")"
	sync
	poweroff -f
	# Not reached unless poweroff failed: sysrq, then a reboot (QEMU's -no-reboot makes it
	# exit), then a panic (panic=-1 reboots at once).
	echo o >/proc/sysrq-trigger
	sleep 2
	reboot -f
	sleep 5
	exit 1
}

watchdog=85
tftp_file=
http_port=
read -r cmdline </proc/cmdline
for arg in $cmdline; do
	case $arg in
	dmanic.watchdog=*[!0-9]* | dmanic.watchdog=) ;;
	dmanic.watchdog=*) watchdog=${arg#*=} ;;
	dmanic.tftp=*) tftp_file=${arg#*=} ;;
	dmanic.http=*[!0-9]* | dmanic.http=) ;;
	dmanic.http=*) http_port=${arg#*=} ;;
	esac
done
(
	sleep "$watchdog"
	error "watchdog: init did not finish within $watchdog s"
	report
	finish
) &

steps() {
	echo "$M init start kernel=$(uname -r) uptime=$(uptime_s) watchdog=${watchdog}s"

	mod=
	for f in /lib/modules/e1000.ko*; do [ -e "$f" ] && mod=$f; done
	if [ -z "$mod" ]; then
		error "no e1000 module in the initramfs"
		return 1
	fi
	t0=$(now_ms)
	out=$(insmod "$mod" 2>&1)
	st=$?
	[ -n "$out" ] && echo "$out"
	echo "$M insmod status=$st after $(($(now_ms) - t0)) ms"
	if [ $st -ne 0 ]; then
		error "insmod $mod failed: $out"
		return 1
	fi

	t0=$(now_ms)
	while [ ! -e /sys/class/net/$IF ] && [ $(($(now_ms) - t0)) -lt 20000 ]; do sleep 0.1; done
	if [ ! -e /sys/class/net/$IF ]; then
		error "no $IF 20 s after insmod"
		return 1
	fi
	drv=$(readlink /sys/class/net/$IF/device/driver)
	drv=${drv##*/}
	echo "$M e1000 bound iface=$IF driver=$drv mac=$(cat /sys/class/net/$IF/address) after $(($(now_ms) - t0)) ms"
	[ "$drv" = e1000 ] || error "$IF is driven by '$drv', not e1000"

	tup=$(now_ms)
	ip link set $IF up
	st=$?
	echo "$M ip-link-up status=$st"
	[ $st -eq 0 ] || error "ip link set $IF up failed (status $st)"

	# Turning TX checksum offload off turns TSO off with it (TSO needs it).
	out=$(ethtool -K $IF tx off 2>&1)
	st=$?
	[ -n "$out" ] && echo "$out" | while IFS= read -r l; do echo "$M ethtool-msg $l"; done
	echo "$M ethtool-tx-off status=$st"
	[ $st -eq 0 ] || error "ethtool -K $IF tx off failed (status $st)"
	ethtool -k $IF | awk -v m="$M" '
		/^(tx-checksumming|tcp-segmentation-offload|scatter-gather|rx-checksumming):/ {
			sub(":", "", $1); s = s " " $1 "=" $2 }
		END { print m " offload" s }'

	ip addr add $ADDR dev $IF
	st=$?
	echo "$M ip-addr status=$st"
	[ $st -eq 0 ] || error "ip addr add $ADDR dev $IF failed (status $st)"

	c=0
	while [ $(($(now_ms) - tup)) -lt 30000 ]; do
		c=$(cat /sys/class/net/$IF/carrier 2>/dev/null)
		[ "$c" = 1 ] && break
		sleep 0.1
	done
	if [ "$c" != 1 ]; then
		error "no carrier on $IF 30 s after link up"
		return 1
	fi
	echo "$M carrier up after $(($(now_ms) - tup)) ms"
	echo "$M link speed=$(cat /sys/class/net/$IF/speed 2>/dev/null) duplex=$(cat /sys/class/net/$IF/duplex 2>/dev/null)"

	echo "$M ping-start uptime=$(uptime_s)"
	# SIGINT (not TERM) if it overruns, so that ping still prints its summary.
	out=$(timeout -s INT 20 ping -c 5 -W 2 $GW 2>&1)
	st=$?
	echo "$out"
	echo "$M uptime-at-ping-end $(uptime_s)"
	echo "$out" | awk -v m="$M" -v st=$st '
		/packets transmitted/ { sent = $1; recv = $4; loss = $7 }
		/round-trip/ { split($4, r, "/"); rtt = m " ping-rtt-ms min=" r[1] " avg=" r[2] " max=" r[3] }
		END { if (sent == "") { sent = 0; recv = 0; loss = "100%" }
		      print m " ping sent=" sent " received=" recv " loss=" loss " status=" st
		      if (rtt != "") print rtt }' >/tmp/ping
	cat /tmp/ping
	# shellcheck disable=SC2046 # two numbers, split on purpose
	set -- $(sed -n 's/.* ping sent=\([0-9]*\) received=\([0-9]*\).*/\1 \2/p' /tmp/ping)
	if [ "${1:-0}" -eq 0 ]; then
		error "ping sent nothing (status $st)"
	elif [ "$2" -ne "$1" ]; then
		error "ping lost $(($1 - $2)) of $1"
	fi

	# UDP and TCP, with the checksums the kernel computes (TX offload is off): a file from
	# QEMU's TFTP server (dmanic.tftp=NAME) and one over HTTP from the launcher, on the host
	# behind the gateway (dmanic.http=PORT).
	if [ -n "$tftp_file" ]; then
		out=$(timeout 20 tftp -g -r "$tftp_file" -l /tmp/tftp.bin $GW 2>&1)
		transfer udp $? /tmp/tftp.bin "$out"
	fi
	if [ -n "$http_port" ]; then
		out=$(timeout 20 wget -q -O /tmp/http.bin "http://$GW:$http_port/dmanic" 2>&1)
		transfer tcp $? /tmp/http.bin "$out"
	fi
}

# transfer PROTO STATUS FILE OUTPUT: one "udp"/"tcp" line with the file's size and SHA-256.
transfer() {
	[ -n "$4" ] && echo "$4"
	bytes=$(wc -c <"$3" 2>/dev/null || echo 0)
	sha=$(sha256sum "$3" 2>/dev/null | cut -d' ' -f1)
	echo "$M $1 status=$2 bytes=$bytes sha256=${sha:-none}"
	[ "$2" -eq 0 ] || error "$1 transfer failed (status $2)"
}

steps
report
finish
