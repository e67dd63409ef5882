// The shell scripts that run first in the guest: the initrd's /init (load modules, mount the root, switch_root)
// and the root's /sbin/init (exec the agent). Every initrd failure prints why on the console and powers off, so
// the host sees the VM die instead of a silent hang.
import { GUEST_PARAM } from "../agent/api/guest-contract.js";

export type InitrdMode = "dax" | "full";

/** The initrd /init. `dax` mounts the pmem root read-only with DAX; `full` copies the initrd itself onto a tmpfs. */
export function initrdInit(mode: InitrdMode): string {
  const common = `#!/bin/sh
# hako initrd: loads the guest's kernel modules (/etc/hako/modules), then hands the machine
# to the root filesystem's init. Kernel parameters: hako.root=DEV (default /dev/pmem0), hako.init=PATH,
# hako.debug=1 (print each stage with the guest uptime, to see where boot time goes), hako.jitless=1 (exported to
# the root's init as HAKO_JITLESS=1: the root has no /proc mounted to read it from).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
debug=
stage() {
  [ -z "$debug" ] || echo "hako-initrd: $* (uptime $(cut -d' ' -f1 /proc/uptime) s)"
}
fail() {
  echo "hako-initrd: error: $*"
  echo "hako-initrd: powering off"
  poweroff -f
  sleep 5
  exit 1
}
mount -t proc proc /proc || fail "cannot mount /proc"
mount -t sysfs sysfs /sys || fail "cannot mount /sys"
mount -t devtmpfs devtmpfs /dev || fail "cannot mount devtmpfs on /dev"
root=/dev/pmem0
init=/sbin/init
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    hako.root=*) root="\${arg#hako.root=}" ;;
    hako.init=*) init="\${arg#hako.init=}" ;;
    ${GUEST_PARAM.debug}=1) debug=1 ;;
    ${GUEST_PARAM.jitless}=1) export HAKO_JITLESS=1 ;;
    ${GUEST_PARAM.jitless}=0) unset HAKO_JITLESS ;;
  esac
done
stage "started"
# One modprobe for all of them (it orders them by modules.dep): one process instead of an insmod per module is
# ~50 ms less under TCG.
mods=
while read -r mod; do
  [ -n "$mod" ] || continue
  mod="\${mod##*/}"
  mods="$mods \${mod%.ko}"
done < /etc/hako/modules
[ -z "$mods" ] || modprobe -a $mods || fail "cannot load the kernel modules:$mods"
stage "modules loaded"
`;
  const dax = `i=0
while [ ! -b "$root" ]; do
  i=$((i + 1))
  [ "$i" -le 2000 ] || fail "root device $root did not appear (is the virtio-pmem device attached?)"
  sleep 0.01
done
if ! mount -t ext4 -o dax,ro "$root" /newroot 2>/dev/null; then
  echo "hako-initrd: $root refused dax; mounting it without dax (pages are copied into guest memory)"
  mount -t ext4 -o ro "$root" /newroot || fail "cannot mount $root (ext4) on /newroot"
fi
`;
  const full = `# crun's pivot_root cannot leave the initramfs: move the whole root onto a tmpfs first.
mount -t tmpfs -o mode=0755 tmpfs /newroot || fail "cannot mount a tmpfs on /newroot"
for d in /*; do
  case "$d" in
    /proc | /sys | /dev | /newroot | /init) mkdir -p "/newroot$d" ;;
    *) cp -a "$d" /newroot/ || fail "cannot copy $d onto the tmpfs root" ;;
  esac
done
`;
  const handover = `stage "root mounted"
[ -x "/newroot$init" ] || fail "$init is missing from the new root filesystem"
mount --move /dev /newroot/dev || fail "cannot move /dev into the new root"
umount /sys
umount /proc
exec switch_root /newroot "$init"
`;
  return common + (mode === "dax" ? dax : full) + handover;
}

/**
 * The root's /sbin/init: the agent (its absolute path in the guest) becomes PID 1 (node replaces the shell). Under
 * TCG (HAKO_JITLESS=1, from the initrd) V8 runs without its JIT: QEMU would have to translate every piece of code V8
 * generates. WebAssembly needs the JIT; turning it off too keeps V8 from warning on the console at every boot.
 */
export function rootInit(agent: string): string {
  return `#!/bin/sh
# hako guest init: the agent runs as PID 1.
if [ "$HAKO_JITLESS" = 1 ]; then
  exec /usr/bin/node --jitless --no-expose-wasm ${agent} "$@"
fi
exec /usr/bin/node ${agent} "$@"
`;
}
