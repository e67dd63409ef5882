// internetworking_model = "macvtap": a macvtap in passthru mode on each link CNI gave the pod netns. Passthru hands
// the macvtap every frame the link receives (the link goes promiscuous), so the netns kernel sees none of the pod's
// traffic. QEMU reads and writes the macvtap through its character device, which hako creates under its own
// directory from the major:minor in sysfs: /dev/tap<ifindex> is named by an ifindex that other namespaces reuse.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Code, HakoError } from "../common/errors.js";
import type { NetnsLink } from "./ip-json.js";
import { LinkWiringModel, type NetnsNow } from "./link-wiring.js";
import { type NetnsRunner, nsenterRunner } from "./netns-exec.js";
import type { Endpoint } from "./network-model.js";

/** Where hako makes macvtap device nodes: one per endpoint, named after the netns and the device. */
export const defaultDeviceDir = "/run/hako/netdev";

export class MacvtapModel extends LinkWiringModel {
  readonly model = "macvtap" as const;

  constructor(
    runner: NetnsRunner = nsenterRunner,
    private readonly deviceDir = defaultDeviceDir,
  ) {
    super(runner);
  }

  protected deviceName(n: number): string {
    return `mvtap${n}_hako`;
  }

  private nodePath(netns: string, dev: string): string {
    return join(this.deviceDir, `${netns.replaceAll("/", "_")}-${dev}`);
  }

  protected async wire(netns: string, link: NetnsLink, n: number): Promise<Endpoint> {
    const dev = this.deviceName(n);
    await this.run(netns, [
      "ip",
      "link",
      "add",
      "link",
      link.name,
      "name",
      dev,
      "address",
      link.mac,
      "type",
      "macvtap",
      "mode",
      "passthru",
    ]);
    await this.run(netns, ["ip", "link", "set", "dev", dev, "mtu", String(link.mtu), "up"]);
    if (!link.up) await this.run(netns, ["ip", "link", "set", "dev", link.name, "up"]);
    // The netns's own sysfs (a private mount namespace, as `ip netns exec` does) tells the device's major:minor.
    const script = `mount -t sysfs sysfs /sys && cat /sys/class/net/${dev}/macvtap/tap*/dev`;
    const majMin = (await this.run(netns, ["unshare", "--mount", "sh", "-c", script])).trim();
    if (!/^\d+:\d+$/.test(majMin)) {
      throw new HakoError(Code.Internal, `macvtap ${dev} in ${netns}: unexpected device number "${majMin}"`);
    }
    const node = this.nodePath(netns, dev);
    mkdirSync(this.deviceDir, { recursive: true, mode: 0o700 });
    rmSync(node, { force: true });
    const [major, minor] = majMin.split(":") as [string, string];
    await this.run(netns, ["mknod", "-m", "0600", node, "c", major, minor]);
    return { link: link.name, tap: dev, kind: "macvtap", mac: link.mac, mtu: link.mtu, device: node };
  }

  protected async unwire(netns: string, ep: Endpoint, now: NetnsNow): Promise<void> {
    if (now.links.has(ep.tap)) await this.run(netns, ["ip", "link", "del", "dev", ep.tap]);
    rmSync(ep.device ?? this.nodePath(netns, ep.tap), { force: true });
  }
}
