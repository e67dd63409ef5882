// `hako check` rules for the host devices a VM uses: vhost-vsock (agent channel), vhost-net (NIC data path) and
// /dev/net/tun (tap devices for pod networking). Pure: deviceFacts() reads /dev, the rules read the facts. A missing
// device's fix is `modprobe` only when the running kernel has the module; otherwise the item says the kernel lacks it.
import { existsSync } from "node:fs";
import type { HakoConfig } from "../../config/index.js";
import { hostKernelModules, type KernelModules, missingModuleFix } from "../../sys/kernel-modules.js";
import { type CheckItem, item } from "./item.js";

export interface DeviceFacts {
  vhostVsock: boolean;
  vhostNet: boolean;
  tun: boolean;
  /** The modules the running kernel can load (for the fix of a missing device). */
  modules: KernelModules;
}

/** Which devices exist under `dev` (/dev, or a test's directory), and which modules `modules` can load. */
export function deviceFacts(dev: string, modules: KernelModules = hostKernelModules()): DeviceFacts {
  return {
    vhostVsock: existsSync(`${dev}/vhost-vsock`),
    vhostNet: existsSync(`${dev}/vhost-net`),
    tun: existsSync(`${dev}/net/tun`),
    modules,
  };
}

/** " (kernel R has no M module)" when it has none, else "". */
function lacks(modules: KernelModules, module: string): string {
  return modules.loadable(module) ? "" : ` (kernel ${modules.release} has no ${module} module)`;
}

export function deviceItems(config: HakoConfig, dev: DeviceFacts): CheckItem[] {
  const items: CheckItem[] = [];
  const vsockLoadable = dev.modules.loadable("vhost_vsock");
  if (dev.vhostVsock) items.push(item("vhost-vsock", "/dev/vhost-vsock", "ok", "the agent can be reached over vsock"));
  else if (config.hypervisor.qemu.agentChannel === "vsock") {
    items.push(
      item(
        "vhost-vsock",
        "/dev/vhost-vsock",
        "fail",
        `agent_channel = "vsock" is configured but /dev/vhost-vsock is missing${lacks(dev.modules, "vhost_vsock")}`,
        vsockLoadable ? 'modprobe vhost_vsock, or set agent_channel = "auto"' : 'set agent_channel = "auto"',
      ),
    );
  } else {
    items.push(
      item(
        "vhost-vsock",
        "/dev/vhost-vsock",
        "warn",
        `missing${lacks(dev.modules, "vhost_vsock")}: the agent is reached over a virtio-serial port instead (works, one channel per VM)`,
        vsockLoadable
          ? "modprobe vhost_vsock"
          : 'none needed: agent_channel = "auto" uses virtio-serial (for vsock: a host kernel built with CONFIG_VHOST_VSOCK)',
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
        `missing: guest networking goes through QEMU in user space (slower)`,
        missingModuleFix(dev.modules, "vhost_net", "CONFIG_VHOST_NET"),
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
        `missing: sandboxes run without it, but pod networking will need it for tap devices`,
        missingModuleFix(dev.modules, "tun", "CONFIG_TUN"),
      ),
    );
  return items;
}
