// The shell scripts that run first in the guest: the initrd's /init (load modules, mount the root, switch_root)
// and the root's /sbin/init (exec the agent, from its startup snapshot when the image has one for this CPU). Every
// initrd failure prints why on the console and powers off, so the host sees the VM die instead of a silent hang.
import { GUEST_PARAM } from "../agent/api/guest-contract.js";
import { SNAPSHOT_PROBE_ENV, SNAPSHOT_PROBE_LINE } from "../agent/server/snapshot-entry.js";
import { GUEST_SNAPSHOT_BLOB, GUEST_SNAPSHOT_CPU } from "./agent-bundle.js";

/** The disk the image build's snapshot boot writes its tar archive to: the only virtio-blk device it has. */
export const SNAPSHOT_DISK = "/dev/vda";

export type InitrdMode = "dax" | "full";

/** The initrd /init. `dax` mounts the pmem root read-only with DAX; `full` copies the initrd itself onto a tmpfs. */
export function initrdInit(mode: InitrdMode): string {
  const common = `#!/bin/sh
# hako initrd: loads the guest's kernel modules (/etc/hako/modules), then hands the machine
# to the root filesystem's init. Kernel parameters: hako.root=DEV (default /dev/pmem0), hako.init=PATH,
# hako.debug=1 (print each stage with the guest uptime, to see where boot time goes), hako.jitless=1 (exported to
# the root's init as HAKO_JITLESS=1: the root has no /proc mounted to read it from), hako.snapshot=0|build (0: start
# the agent from its bundle even where the image has a startup snapshot; build: the image build's snapshot boot).
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
# This boot's CPU and node flags in one line (HAKO_CPU): V8 refuses a startup snapshot made under other CPU features
# or flags (they are in the tag it checks), so the root's init starts from the snapshot only when it was made under
# this line. The vendor, family and model decide some of V8's CPU features beside the flags. Builtins only: each
# process costs milliseconds under TCG.
cpu_id() {
  HAKO_CPU=
  while read -r a b c; do
    case "$a $b" in
      " ") break ;;
      "vendor_id :" | "cpu family" | "model :" | "flags :") HAKO_CPU="$HAKO_CPU$a $b $c; " ;;
    esac
  done </proc/cpuinfo
  HAKO_CPU="\${HAKO_CPU}jitless=\${HAKO_JITLESS:-0}"
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
    ${GUEST_PARAM.snapshot}=*) export HAKO_SNAPSHOT="\${arg#${GUEST_PARAM.snapshot}=}" ;;
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
if [ "$HAKO_SNAPSHOT" = build ] || { [ "$HAKO_SNAPSHOT" != 0 ] && [ -f /newroot/${GUEST_SNAPSHOT_BLOB} ]; }; then
  cpu_id
  export HAKO_CPU
fi
# The kernel filesystems move into the new root rather than being unmounted: the agent (PID 1 there) would mount
# them again, and it finds /proc already there to read its mount table from.
for fs in /dev /proc /sys; do
  mount --move "$fs" "/newroot$fs" || fail "cannot move $fs into the new root"
done
exec switch_root /newroot "$init"
`;
  return common + (mode === "dax" ? dax : full) + handover;
}

/**
 * The root's /sbin/init: the agent becomes PID 1 (node replaces the shell). `entry` is the absolute guest path of
 * the script node runs: the agent's loader (agent-bundle.ts agentLoader) for a CommonJS bundle, else the bundle. Under
 * TCG (HAKO_JITLESS=1, from the initrd) V8 runs without its JIT: QEMU would have to translate every piece of code V8
 * generates. WebAssembly needs the JIT; turning it off too keeps V8 from warning on the console at every boot.
 *
 * With a startup snapshot made under this boot's CPU line (HAKO_CPU, from the initrd) node starts from the snapshot
 * instead of evaluating the bundle; under another one (another CPU model: a KVM host's `-cpu host`, a QEMU whose `max`
 * changed) it warns on the console and starts the bundle. HAKO_SNAPSHOT=build is the image build's boot: make the
 * snapshot, check that a fresh node loads it, write it and the CPU line to SNAPSHOT_DISK as a tar archive, power off.
 */
export function rootInit(entry: string): string {
  return `#!/bin/sh
# hako guest init: the agent runs as PID 1.
flags=
if [ "$HAKO_JITLESS" = 1 ]; then
  flags="--jitless --no-expose-wasm"
fi
if [ "$HAKO_SNAPSHOT" = build ]; then
  # The root is read-only: the snapshot is made on a tmpfs.
  mount -t tmpfs -o mode=0755 tmpfs /tmp &&
    cd /tmp &&
    printf '%s\\n' "$HAKO_CPU" >cpu &&
    /usr/bin/node $flags --snapshot-blob agent.blob --build-snapshot ${entry} &&
    ${SNAPSHOT_PROBE_ENV}=1 /usr/bin/node $flags --snapshot-blob agent.blob | grep -qx "${SNAPSHOT_PROBE_LINE}" &&
    tar -cf ${SNAPSHOT_DISK} cpu agent.blob &&
    sync
  echo "hako-init: agent snapshot build ended with status $?"
  poweroff -f
  exit 1
fi
if [ "$HAKO_SNAPSHOT" != 0 ] && [ -f /${GUEST_SNAPSHOT_BLOB} ]; then
  made=
  read -r made </${GUEST_SNAPSHOT_CPU}
  if [ -n "$HAKO_CPU" ] && [ "$made" = "$HAKO_CPU" ]; then
    exec /usr/bin/node $flags --snapshot-blob /${GUEST_SNAPSHOT_BLOB} "$@"
  fi
  echo "hako-init: warning: the agent's startup snapshot was made for another CPU or other node flags; starting the agent from its bundle"
fi
exec /usr/bin/node $flags ${entry} "$@"
`;
}
