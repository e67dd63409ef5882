// What the host and the guest agent must agree on beyond the RPCs: names, ports and guest paths that each side
// spells when it sets the VM up, and that nothing checks until a boot fails. Every use imports them from here. The
// Kata values (share tag, guest paths, port name, vsock port) are kept so that Kata tooling finds things where it
// expects them (kata-containers: src/agent/src/rpc.rs, src/runtime/virtcontainers/kata_agent.go).

/** The tag the host exports the shared directory under (virtio-fs `tag=`, 9p `mount_tag=`); the guest mounts it. */
export const SHARE_TAG = "kataShared";

/** The guest mount point of the shared directory: containers' rootfs and file mounts appear under it. */
export const GUEST_SHARED_DIR = "/run/kata-containers/shared/containers";

/** The guest tmpfs a pod's containers share as /dev/shm (the host's sandbox shm bind is replaced by it). */
export const GUEST_SANDBOX_SHM = "/run/kata-containers/sandbox/shm";

/** The rootfs of a container inside the guest, under the shared directory. */
export function guestRootfs(containerId: string): string {
  return `${GUEST_SHARED_DIR}/${containerId}/rootfs`;
}

/** The virtio-serial port the agent serves ttrpc on when the channel is serial (/sys/class/virtio-ports/…/name). */
export const AGENT_PORT_NAME = "agent.channel.0";

/** The AF_VSOCK port the agent listens on when the channel is vsock (Kata's). */
export const AGENT_VSOCK_PORT = 1024;

/** The virtio-serial port the agent runs the debug console's shell on (`debug_console_enabled`, `hako exec`). */
export const DEBUG_CONSOLE_PORT_NAME = "hako.debug.0";

/**
 * Kata's vsock port for the same console, kept for reference: hako uses the serial port whatever the agent channel
 * is, so that the host end is always a plain unix socket.
 */
export const DEBUG_CONSOLE_VSOCK_PORT = 1026;

/**
 * Kernel command-line parameters the guest reads: `debug` (1: verbose agent and initrd stages), `channel`
 * (serial|vsock: where the agent listens), `modules` (name[,name…]: extra modules the agent loads), `jitless`
 * (1: the guest's node runs with --jitless; read by the initrd's /init), `snapshot` (0: start the agent from its
 * bundle even where the image has a startup snapshot for this CPU; `build`: the image build's boot, which makes the
 * snapshot instead of starting the agent).
 */
export const GUEST_PARAM = {
  debug: "hako.debug",
  channel: "hako.channel",
  modules: "hako.modules",
  jitless: "hako.jitless",
  snapshot: "hako.snapshot",
} as const;
