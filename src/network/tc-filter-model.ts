// internetworking_model = "tcfilter" (Kata's default): for each link CNI gave the pod netns, a tap for the VM and
// two tc rules that hand every frame from one device to the other's egress. The netns kernel never sees the pod's
// traffic; the guest NIC carries the link's MAC and addresses, so to the rest of the network nothing changed.
import type { NetnsLink } from "./ip-json.js";
import { LinkWiringModel, type NetnsNow } from "./link-wiring.js";
import type { Endpoint } from "./network-model.js";

/** The rule that sends everything entering `from` out of `to` (u32 match-all: matchall is not in every kernel). */
export function redirectArgv(from: string, to: string): string[] {
  const matchAll = ["u32", "match", "u8", "0", "0"];
  return [
    "tc",
    "filter",
    "add",
    "dev",
    from,
    "parent",
    "ffff:",
    "protocol",
    "all",
    ...matchAll,
    "action",
    "mirred",
    "egress",
    "redirect",
    "dev",
    to,
  ];
}

export class TcFilterModel extends LinkWiringModel {
  readonly model = "tcfilter" as const;

  protected deviceName(n: number): string {
    return `tap${n}_hako`;
  }

  protected async wire(netns: string, link: NetnsLink, n: number): Promise<Endpoint> {
    const tap = this.deviceName(n);
    await this.run(netns, ["ip", "tuntap", "add", "dev", tap, "mode", "tap"]);
    await this.run(netns, ["ip", "link", "set", "dev", tap, "mtu", String(link.mtu), "up"]);
    if (!link.up) await this.run(netns, ["ip", "link", "set", "dev", link.name, "up"]);
    await this.run(netns, ["tc", "qdisc", "add", "dev", link.name, "ingress"]);
    await this.run(netns, ["tc", "qdisc", "add", "dev", tap, "ingress"]);
    await this.run(netns, redirectArgv(link.name, tap));
    await this.run(netns, redirectArgv(tap, link.name));
    return { link: link.name, tap, kind: "tap", mac: link.mac, mtu: link.mtu };
  }

  protected async unwire(netns: string, ep: Endpoint, now: NetnsNow): Promise<void> {
    // Deleting an ingress qdisc removes the filters attached to it; deleting the tap removes its own.
    if (now.ingress.has(ep.link)) await this.run(netns, ["tc", "qdisc", "del", "dev", ep.link, "ingress"]);
    if (now.links.has(ep.tap)) await this.run(netns, ["ip", "link", "del", "dev", ep.tap]);
  }
}
