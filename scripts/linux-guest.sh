#!/usr/bin/env bash
# Builds the Linux guest that drives the NIC with the unmodified e1000 driver from a QEMU guest:
#   scripts/linux-guest.sh [OUT_DIR]          (default OUT_DIR: <repo>/out/linux-guest)
# Outputs OUT_DIR/bzImage, OUT_DIR/initramfs.cpio.gz (newc, gzip) and OUT_DIR/VERSIONS (the
# Debian packages and versions used, then the cache key). Everything comes from Debian 12
# packages, fetched with `apt-get download` and unpacked with `dpkg -x` into a temporary
# directory, never installed on the host:
#   linux-image-6.1.*-amd64  the kernel that linux-image-amd64 depends on (its bzImage, and
#                            e1000.ko from its modules; the -unsigned variant if the signed
#                            package had no /boot/vmlinuz-*)
#   busybox-static           /bin/busybox and its applets: the shell that runs /init, insmod,
#                            ip, ping, ...; its `cpio -o -H newc` also writes the archive here
#   ethtool                  /sbin/ethtool, with the libraries its ELF header needs (readelf -d,
#                            recursively) and its dynamic loader, from the packages ethtool
#                            depends on (libc6, libmnl0)
# /init is scripts/linux-guest-init.sh. `apt-get update` runs only if the package lists lack a
# package (or a download fails); that, and installing binutils for readelf if it is missing,
# needs root. The build is cached: the key is the hash of this script and the init script plus
# the resolved package versions; a run with the same key and all outputs present does nothing.
#
# Kernel command line for the launcher (append):
#   console=ttyS0 irqpoll nolapic_timer quiet panic=-1
# `quiet` keeps the kernel at loglevel 4 on the console (errors only; init prints the e1000
# lines of dmesg itself); panic=-1 reboots at once on a panic, so with QEMU's -no-reboot every
# way out of the guest ends QEMU. dmanic.watchdog=SECONDS (default 85) sets init's watchdog.
# Check it with QEMU's own e1000:
#   qemu-system-x86_64 -accel tcg -m 256 -nographic -no-reboot -kernel OUT/bzImage \
#     -initrd OUT/initramfs.cpio.gz -append "console=ttyS0 irqpoll nolapic_timer quiet panic=-1" \
#     -netdev user,id=n0 -device e1000,netdev=n0
#
# What init prints for the launcher: lines that start with "DMANIC-LINUX: " and a key, in this
# order (N: decimal integer; S: seconds with two decimals, from /proc/uptime; the rest of a line
# is space-separated key=value pairs unless shown otherwise):
#   DMANIC-LINUX: init start kernel=RELEASE uptime=S watchdog=Ns
#   DMANIC-LINUX: insmod status=N after N ms          (insmod's exit status, time it took)
#   DMANIC-LINUX: e1000 bound iface=eth0 driver=NAME mac=XX:XX:XX:XX:XX:XX after N ms
#                                                     (eth0 appeared N ms after insmod returned)
#   DMANIC-LINUX: ip-link-up status=N
#   DMANIC-LINUX: ethtool-msg TEXT                    (0 or more: what `ethtool -K eth0 tx off`
#                                                      printed, one line each)
#   DMANIC-LINUX: ethtool-tx-off status=N             (exit status of ethtool -K eth0 tx off)
#   DMANIC-LINUX: offload tx-checksumming=on|off tcp-segmentation-offload=on|off
#                 scatter-gather=on|off rx-checksumming=on|off  (ethtool -k's values, in its
#                                                      order, [fixed] dropped; one line)
#   DMANIC-LINUX: ip-addr status=N
#   DMANIC-LINUX: carrier up after N ms               (after `ip link set eth0 up`)
#   DMANIC-LINUX: link speed=N duplex=full|half
#   DMANIC-LINUX: ping-start uptime=S
#   DMANIC-LINUX: uptime-at-ping-end S
#   DMANIC-LINUX: ping sent=N received=N loss=N% status=N     (status: ping's exit status)
#   DMANIC-LINUX: ping-rtt-ms min=F avg=F max=F       (only if a reply came; F: decimal)
#   DMANIC-LINUX: udp status=N bytes=N sha256=HEX     (with dmanic.tftp=NAME on the kernel
#                                                      command line: NAME from QEMU's TFTP
#                                                      server at the gateway, busybox tftp)
#   DMANIC-LINUX: tcp status=N bytes=N sha256=HEX     (with dmanic.http=PORT: busybox wget of
#                                                      http://10.0.2.2:PORT/dmanic; QEMU's
#                                                      user network takes it to the host)
#   DMANIC-LINUX: begin interrupts ... DMANIC-LINUX: end interrupts     (/proc/interrupts)
#   DMANIC-LINUX: irq eth0 line=N count=N             (eth0's line, summed over the CPUs;
#                                                      line=none count=0 if it has none)
#   DMANIC-LINUX: begin dmesg-e1000 ... DMANIC-LINUX: end dmesg-e1000   (dmesg | grep -i e1000)
#   DMANIC-LINUX: begin link ... DMANIC-LINUX: end link     (ip link show eth0, its inet lines)
#   DMANIC-LINUX: stats rx_packets=N tx_packets=N rx_bytes=N tx_bytes=N rx_errors=N
#                 tx_errors=N rx_dropped=N tx_dropped=N rx_crc_errors=N rx_missed_errors=N
#                 tx_fifo_errors=N                    (/sys/class/net/eth0/statistics; one line)
#   DMANIC-LINUX: begin ethtool-stats ... DMANIC-LINUX: end ethtool-stats   (ethtool -S eth0)
#   DMANIC-LINUX: error TEXT                          (anywhere, once per failure)
#   DMANIC-LINUX: done errors=N                       (always last; N: the number of error
#                                                      lines; then poweroff -f)
# A step that cannot go on (insmod fails, no eth0 within 20 s, no carrier within 30 s) prints
# its error and skips to the report (the sections of what exists), `done` and the power-off.
# Success: "ping sent=5 received=5" and "done errors=0". The watchdog prints
# "error watchdog: ...", the report and "done" too.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
self="$here/linux-guest.sh"
init_src="$here/linux-guest-init.sh"
out="${1:-$root/out/linux-guest}"

log() { echo "linux-guest: $*"; }
die() {
  echo "linux-guest: error: $*" >&2
  exit 1
}

[ -f "$init_src" ] || die "missing $init_src (the guest's /init)"
for t in apt-get apt-cache dpkg dpkg-deb gzip sha256sum find sort; do
  command -v "$t" >/dev/null || die "'$t' not found (this script needs Debian's apt and dpkg)"
done
arch="$(dpkg --print-architecture)"
[ "$arch" = amd64 ] || die "the host is $arch; the guest is amd64 and its packages are the host's architecture's"

# The candidate versions of packages in the package lists (into cand[], one apt-cache call:
# each one reads all the lists, about half a second here); candidate prints one, or nothing.
declare -A cand=()
policy() {
  local name ver
  while read -r name ver; do
    cand[$name]="$ver"
  done < <(apt-cache policy "$@" 2>/dev/null | awk '
    /^[^ ]/ { p = $1; sub(/:$/, "", p); sub(/:amd64$/, "", p) }
    $1 == "Candidate:" && $2 != "(none)" { print p, $2 }')
}
candidate() { echo "${cand[$1]:-}"; }
# The Depends fields of the candidate versions of packages, one "PACKAGE DEPENDS" line each.
depends() {
  apt-cache show --no-all-versions "$@" 2>/dev/null | awk '
    $1 == "Package:" { p = $2 }
    $1 == "Depends:" { sub(/^Depends: */, ""); print p, $0 }'
}
# The first alternative of each dependency in a Depends field, without versions.
dep_names() { tr ',' '\n' | sed 's/|.*//; s/(.*//; s/:any//; s/ //g' | grep -v '^$' || true; }

# apt-get update (once), then start over with the new lists: whatever was resolved from the old
# ones may have changed.
updated="${DMANIC_GUEST_APT_UPDATED:-0}"
update_and_restart() {
  [ "$updated" = 1 ] && die "$1, even after apt-get update"
  [ "$(id -u)" -eq 0 ] || die "$1 and updating the package lists needs root: run apt-get update"
  log "$1: apt-get update"
  apt-get update -qq || die "apt-get update failed"
  [ -z "${tmp:-}" ] || rm -rf "$tmp"
  trap - EXIT
  exec 9>&-
  DMANIC_GUEST_APT_UPDATED=1 exec bash "$self" "$out"
}
# Makes sure the package lists know each package.
known() {
  local p
  policy "$@"
  for p in "$@"; do
    [ -n "$(candidate "$p")" ] && continue
    # Without root the lists cannot be updated: an image built before is used as it is.
    if [ "$(id -u)" -ne 0 ] && [ -s "$out/bzImage" ] && [ -s "$out/initramfs.cpio.gz" ] &&
      [ -f "$out/VERSIONS" ]; then
      log "the package lists lack $p and updating them needs root: using the image in $out as it is ($(head -n 1 "$out/VERSIONS"))"
      exit 0
    fi
    update_and_restart "the package lists lack $p"
  done
}

# --- Resolve the packages and their versions. ------------------------------------------------
known linux-image-amd64 busybox-static ethtool
deps_out="$(depends linux-image-amd64 ethtool)"
kdeps="$(sed -n 's/^linux-image-amd64 //p' <<<"$deps_out")"
kpkg="$(dep_names <<<"$kdeps" | grep -E '^linux-image-6\.1\.[^ ]*-amd64$' | head -n 1 || true)"
[ -n "$kpkg" ] || die "linux-image-amd64 $(candidate linux-image-amd64) depends on no linux-image-6.1.*-amd64 package (Depends: $kdeps)"
# ethtool's dependencies: libc6 and libmnl0 in Debian 12.
mapfile -t libpkgs < <(sed -n 's/^ethtool //p' <<<"$deps_out" | dep_names)
[ "${#libpkgs[@]}" -gt 0 ] || die "cannot read ethtool's dependencies"
known "$kpkg" "${libpkgs[@]}"
pkgs=("$kpkg" busybox-static ethtool "${libpkgs[@]}")
versions=()
for p in "${pkgs[@]}"; do versions+=("$p $(candidate "$p")"); done

vlist() { printf '%s, ' "${versions[@]}" | sed 's/, $//'; }

key="$({
  cat "$self" "$init_src"
  printf '%s\n' "${versions[@]}"
} | sha256sum | cut -d ' ' -f 1)"

mkdir -p "$out"
if command -v flock >/dev/null; then
  exec 9>"$out/.lock"
  flock 9
fi
if [ -s "$out/bzImage" ] && [ -s "$out/initramfs.cpio.gz" ] && [ -f "$out/VERSIONS" ] &&
  grep -qx "cache-key $key" "$out/VERSIONS"; then
  log "reused the image in $out (same scripts and packages: $(vlist))"
  exit 0
fi

# --- Download and unpack. -----------------------------------------------------------------------
# readelf (binutils) reads ethtool's and its libraries' ELF headers.
if ! command -v readelf >/dev/null; then
  [ "$(id -u)" -eq 0 ] || die "readelf not found: install binutils"
  log "readelf not found: installing binutils"
  apt-get install -y -qq binutils >/dev/null || die "apt-get install binutils failed"
fi
tmp="$(mktemp -d "${TMPDIR:-/tmp}/linux-guest.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/debs" "$tmp/x" "$tmp/root" "$tmp/stage"
# apt downloads as the _apt user when it can write there (else it warns and downloads as root).
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
  chmod 755 "$tmp"
  chown _apt "$tmp/debs"
fi

download() {
  local specs=() v
  for v in "${versions[@]}"; do specs+=("${v% *}:$arch=${v#* }"); done
  (cd "$tmp/debs" && apt-get -qq download "${specs[@]}")
}
log "downloading $(vlist)"
# The lists may name versions the mirror no longer has: then update them once and start over.
download || update_and_restart "apt-get download failed"

for v in "${versions[@]}"; do
  p="${v% *}"
  deb="$(find "$tmp/debs" -maxdepth 1 -name "${p}_*.deb" | head -n 1)"
  [ -n "$deb" ] || die "apt-get download left no .deb for $p"
  got="$(dpkg-deb -f "$deb" Version)"
  [ "$got" = "${v#* }" ] || die "downloaded $p $got, expected ${v#* }"
  dpkg -x "$deb" "$tmp/x" || die "dpkg -x $deb failed"
done
x="$tmp/x"

# The kernel: the signed package's bzImage, or else the -unsigned package's.
vmlinuz() { find "$x/boot" -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | head -n 1; }
kimg="$(vmlinuz)"
if [ -z "$kimg" ]; then
  upkg="$kpkg-unsigned"
  policy "$upkg"
  uver="$(candidate "$upkg")"
  [ -n "$uver" ] || die "$kpkg has no /boot/vmlinuz-* and the package lists have no $upkg"
  log "$kpkg has no /boot/vmlinuz-*: using $upkg $uver"
  (cd "$tmp/debs" && apt-get -qq download "$upkg:$arch=$uver") || die "apt-get download $upkg failed"
  dpkg -x "$(find "$tmp/debs" -maxdepth 1 -name "${upkg}_*.deb" | head -n 1)" "$x"
  versions+=("$upkg $uver")
  kimg="$(vmlinuz)"
  [ -n "$kimg" ] || die "neither $kpkg nor $upkg has /boot/vmlinuz-*"
fi
krel="${kimg##*/vmlinuz-}"
[ "$(tail -c +515 "$kimg" | head -c 4)" = HdrS ] || die "$kimg is not a bzImage (no HdrS boot header)"

# --- The initramfs tree. ------------------------------------------------------------------------
r="$tmp/root"
mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,lib/modules}

bb="$x/bin/busybox"
[ -x "$bb" ] || die "busybox-static has no /bin/busybox"
cp "$bb" "$r/bin/busybox"
"$bb" --list-full >"$tmp/applets" || die "cannot run the extracted busybox on this host"
while IFS= read -r a; do
  [ "$a" = bin/busybox ] || [ -e "$r/$a" ] || ln -s /bin/busybox "$r/$a"
done <"$tmp/applets"
for a in sh mount insmod ip ping awk timeout poweroff dmesg grep sed; do
  grep -qE "(^|/)$a\$" "$tmp/applets" || die "busybox has no '$a' applet"
done

# The path a path of the unpacked packages leads to after its symlinks, inside the unpacked tree.
resolve_in_x() {
  local p="$1" t _
  for _ in 1 2 3 4 5 6 7 8; do
    [ -L "$x$p" ] || break
    t="$(readlink "$x$p")"
    case "$t" in /*) p="$t" ;; *) p="$(dirname "$p")/$t" ;; esac
  done
  echo "$p"
}

# Copies a path of the unpacked packages (a file, or a chain of symlinks and its file) into the
# tree at the same place.
copy_from_x() {
  local p="$1" t
  [ -e "$x$p" ] || [ -L "$x$p" ] || return 1
  mkdir -p "$r$(dirname "$p")"
  cp -a "$x$p" "$r$p"
  if [ -L "$x$p" ]; then
    t="$(readlink "$x$p")"
    case "$t" in /*) ;; *) t="$(dirname "$p")/$t" ;; esac
    copy_from_x "$t" || die "$p is a symlink to $t, which the packages do not have"
  fi
}

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
interp() { readelf -l "$1" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p'; }

ethtool_path=
for p in /sbin/ethtool /usr/sbin/ethtool; do [ -f "$x$p" ] && ethtool_path="$p" && break; done
[ -n "$ethtool_path" ] || die "the ethtool package has no /sbin/ethtool or /usr/sbin/ethtool"
rm -f "$r$ethtool_path"
copy_from_x "$ethtool_path"

# The libraries (and theirs) that ethtool needs, from the unpacked packages only.
declare -A seen=()
libdirs=(/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib64 /lib /usr/lib)
add_libs() {
  local lib d found
  for lib in $(needed "$x$1"); do
    [ -z "${seen[$lib]:-}" ] || continue
    seen[$lib]=1
    found=
    for d in "${libdirs[@]}"; do
      if [ -e "$x$d/$lib" ]; then found="$d/$lib" && break; fi
    done
    [ -n "$found" ] || die "$1 needs $lib, which none of ${pkgs[*]} has"
    copy_from_x "$found"
    add_libs "$(resolve_in_x "$found")"
  done
}
add_libs "$ethtool_path"
ld="$(interp "$x$ethtool_path")"
[ -n "$ld" ] || die "$ethtool_path has no program interpreter"
copy_from_x "$ld" || die "$ethtool_path's interpreter $ld is in none of ${pkgs[*]}"

# e1000.ko as the kernel package has it: BusyBox's insmod unpacks .ko.xz and .ko.gz itself
# (checked: a .ko.xz loads), so those stay compressed; it has no zstd, so a .ko.zst is unpacked
# here. Debian 12's kernels do not compress their modules (CONFIG_MODULE_COMPRESS_NONE).
mdir="$x/lib/modules/$krel/kernel/drivers/net/ethernet/intel/e1000"
mod="$(find "$mdir" -maxdepth 1 -name 'e1000.ko*' 2>/dev/null | head -n 1)"
[ -n "$mod" ] || die "$kpkg has no kernel/drivers/net/ethernet/intel/e1000/e1000.ko*"
case "$mod" in
  *.ko) cp "$mod" "$tmp/e1000.ko" && mod_in=e1000.ko ;;
  *.ko.xz) "$bb" unxz -c "$mod" >"$tmp/e1000.ko" && mod_in=e1000.ko.xz ;;
  *.ko.gz) gzip -dc "$mod" >"$tmp/e1000.ko" && mod_in=e1000.ko.gz ;;
  *.ko.zst)
    command -v zstd >/dev/null || die "e1000.ko is zstd-compressed and zstd is not installed"
    zstd -qdc "$mod" >"$tmp/e1000.ko" && mod_in=e1000.ko
    ;;
  *) die "unknown module format: $mod" ;;
esac
case "$mod_in" in
  e1000.ko) cp "$tmp/e1000.ko" "$r/lib/modules/e1000.ko" ;;
  *) cp "$mod" "$r/lib/modules/$mod_in" ;;
esac
deps="$(readelf -p .modinfo "$tmp/e1000.ko" | sed -n 's/.*depends=\(.*\)/\1/p')"
[ -z "$deps" ] || die "e1000.ko depends on modules ($deps); this script loads e1000.ko alone"

cp "$init_src" "$r/init"
chmod 755 "$r/init"

# --- The archive, written by the unpacked BusyBox's cpio (root:root, fixed times). --------------
find "$r" -exec touch -h -d @0 {} +
(cd "$r" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
  "$bb" cpio -o -H newc -R 0:0 --ignore-devno --renumber-inodes 2>"$tmp/cpio.err") |
  gzip -9 -n >"$tmp/stage/initramfs.cpio.gz" ||
  die "writing the cpio archive failed: $(cat "$tmp/cpio.err")"
"$bb" zcat "$tmp/stage/initramfs.cpio.gz" | "$bb" cpio -t >"$tmp/list" 2>/dev/null ||
  die "the archive written cannot be read back"
grep -qx init "$tmp/list" || die "the archive written has no init"
cp "$kimg" "$tmp/stage/bzImage"
{
  for v in "${versions[@]}"; do echo "package $v"; done
  echo "kernel-release $krel"
  echo "e1000-module ${mod#"$x"} ($(stat -c %s "$r/lib/modules/$mod_in") bytes in the initramfs as /lib/modules/$mod_in)"
  echo "ethtool $ethtool_path, libraries: $(cd "$r" && find lib lib64 usr/lib -name '*.so*' 2>/dev/null | LC_ALL=C sort | tr '\n' ' ')"
  echo "cache-key $key"
} >"$tmp/stage/VERSIONS"

rm -f "$out/VERSIONS"
mv -f "$tmp/stage/bzImage" "$out/bzImage"
mv -f "$tmp/stage/initramfs.cpio.gz" "$out/initramfs.cpio.gz"
mv -f "$tmp/stage/VERSIONS" "$out/VERSIONS"
log "built $out: bzImage $(stat -c %s "$out/bzImage") bytes, initramfs.cpio.gz $(stat -c %s "$out/initramfs.cpio.gz") bytes ($krel; $(vlist))"
