// `hako check` rules for the host devices a VM uses: vhost-vsock (agent channel), vhost-net (NIC data path) and
// /dev/net/tun (tap devices for pod networking). Pure: deviceFacts() reads /dev, the rules read the facts.
import { existsSync } from "node:fs";
import type { HakoConfig } from "../../config/index.js";
import { type CheckItem, item } from "./item.js";

export interface DeviceFacts {
  vhostVsock: boolean;
  vhostNet: boolean;
  tun: boolean;
}

/** Which devices exist under `dev` (/dev, or a test's directory). */
export function deviceFacts(dev: string): DeviceFacts {
  return {
    vhostVsock: existsSync(`${dev}/vhost-vsock`),
    vhostNet: existsSync(`${dev}/vhost-net`),
    tun: existsSync(`${dev}/net/tun`),
  };
}

export function deviceItems(config: HakoConfig, dev: DeviceFacts): CheckItem[] {
  const items: CheckItem[] = [];
  if (dev.vhostVsock) items.push(item("vhost-vsock", "/dev/vhost-vsock", "ok", "the agent can be reached over vsock"));
  else if (config.hypervisor.qemu.agentChannel === "vsock") {
    items.push(
      item(
        "vhost-vsock",
        "/dev/vhost-vsock",
        "fail",
        'agent_channel = "vsock" is configured but /dev/vhost-vsock is missing',
        'modprobe vhost_vsock, or set agent_channel = "auto"',
      ),
    );
  } else {
    items.push(
      item(
        "vhost-vsock",
        "/dev/vhost-vsock",
        "warn",
        "missing: the agent is reached over a virtio-serial port instead (works, one channel per VM)",
        "modprobe vhost_vsock",
      ),
    );
  }
  if (config.hypervisor.qemu.disableVhostNet)
    items.push(item("vhost-net", "/dev/vhost-net", "ok", "not used (disable_vhost_net = true)"));
  else if (dev.vhostNet)
    items.push(item("vhost-net", "/dev/vhost-net", "ok", "guest network packets bypass QEMU's main loop"));
  else
    items.push(
      item(
        "vhost-net",
        "/dev/vhost-net",
        "warn",
        "missing: guest networking goes through QEMU in user space (slower)",
        "modprobe vhost_net",
      ),
    );
  // A warning, not a failure: sandboxes run without it, and only pod networking (tap devices) will need it.
  if (dev.tun) items.push(item("tun", "/dev/net/tun", "ok", "tap devices for pod networking"));
  else
    items.push(
      item(
        "tun",
        "/dev/net/tun",
        "warn",
        "missing: sandboxes run without it, but pod networking will need it for tap devices",
        "modprobe tun",
      ),
    );
  return items;
}
