// The guest side of pod networking: loopback up (an ioctl, src/sys/netdev.ts), the NIC the host wired found by its
// MAC and given the pod link's name, addresses and MTU, routes and static ARP entries, and the listings the host may
// ask for. The rest is done with the guest's busybox `ip` and `arp` (busybox `ip neigh` cannot add entries; `arp -s`
// sets permanent IPv4 ones).
import { execFile } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, HakoError, notFound } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import { setLinkUp } from "../../sys/netdev.js";
import type { GuestInterface, GuestNeighbor, GuestRoute } from "../api/guest-network.js";
import { type GuestLink, parseAddrLines, parseLinkLines, parseRouteLines, routeArgs } from "./ip-text.js";

/** Runs a command in the guest's network namespace; resolves with stdout, throws a HakoError with stderr. */
export type NetCommand = (argv: readonly string[]) => Promise<string>;

export const runCommand: NetCommand = (argv) =>
  new Promise((resolve, reject) => {
    const [cmd, ...args] = argv as [string, ...string[]];
    execFile(cmd, args, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      reject(new HakoError(Code.Internal, `\`${argv.join(" ")}\` failed: ${stderr.trim() || err.message}`));
    });
  });

export interface GuestNetworkOptions {
  /** Sets a link up in the guest's network namespace (default: an ioctl, no process spawned). */
  linkUp?: (name: string) => void;
  /** How long updateInterface waits for a NIC to appear (virtio_net probing after boot). Milliseconds. */
  nicWaitMs?: number;
}

export class GuestNetwork {
  private readonly nicWaitMs: number;
  private readonly linkUp: (name: string) => void;

  constructor(
    private readonly log: Logger,
    private readonly run: NetCommand = runCommand,
    opts: GuestNetworkOptions = {},
  ) {
    this.nicWaitMs = opts.nicWaitMs ?? 5000;
    this.linkUp = opts.linkUp ?? setLinkUp;
  }

  /** Every pod has lo up, NIC or not: containers of a pod talk over 127.0.0.1. */
  async loopbackUp(): Promise<void> {
    this.linkUp("lo");
  }

  private async links(): Promise<GuestLink[]> {
    return parseLinkLines(await this.run(["ip", "-o", "link", "show"]));
  }

  /** The links now and the one with `mac`, waiting up to nicWaitMs for it to appear. */
  private async linkByMac(mac: string): Promise<{ link: GuestLink; all: GuestLink[] }> {
    const want = mac.toLowerCase();
    const deadline = Date.now() + this.nicWaitMs;
    for (;;) {
      const all = await this.links();
      const link = all.find((l) => l.mac === want && !l.loopback);
      if (link) return { link, all };
      if (Date.now() >= deadline) {
        throw notFound(`no guest network device has MAC ${mac} (is the NIC attached and virtio_net loaded?)`, { mac });
      }
      await sleep(50);
    }
  }

  /**
   * Finds the NIC by MAC, renames it to `iface.name` (moving aside a link that holds that name), replaces its
   * addresses, sets the MTU and brings it up. Resolves with the interface as configured. Each `ip` is a process
   * start, which costs tens of ms under TCG: the steps are as few as busybox allows.
   * @throws HakoError NotFound when no NIC has the MAC within nicWaitMs; InvalidArgument without a MAC or name
   */
  async updateInterface(iface: GuestInterface): Promise<GuestInterface> {
    if (!iface.mac || !iface.name) {
      throw new HakoError(
        Code.InvalidArgument,
        `interface update needs a MAC and a name (got "${iface.mac}", "${iface.name}")`,
      );
    }
    const { link, all } = await this.linkByMac(iface.mac);
    if (link.name !== iface.name) {
      const holder = all.find((l) => l.name === iface.name);
      if (holder) await this.run(["ip", "link", "set", "dev", holder.name, "down", "name", `hako${holder.index}`]);
      await this.run(["ip", "link", "set", "dev", link.name, "down", "name", iface.name]);
    }
    const dev = iface.name;
    if (link.up || link.name !== iface.name) await this.run(["ip", "addr", "flush", "dev", dev]);
    for (const a of iface.addresses)
      await this.run(["ip", "addr", "add", `${a.address}/${a.prefixLength}`, "dev", dev]);
    const mtu = iface.mtu > 0 ? (link.mtu === iface.mtu ? [] : ["mtu", String(iface.mtu)]) : [];
    await this.run(["ip", "link", "set", "dev", dev, ...mtu, "up"]);
    this.log.info("interface configured", { name: dev, mac: iface.mac, mtu: iface.mtu, addresses: iface.addresses });
    return {
      name: dev,
      mac: link.mac,
      mtu: iface.mtu > 0 ? iface.mtu : link.mtu,
      addresses: iface.addresses.map((a) => ({ ...a })),
    };
  }

  /**
   * Adds or replaces each route: routes without a gateway first, so that every gateway is reachable when its
   * route is added. Resolves with the guest's routes afterwards.
   */
  async updateRoutes(routes: GuestRoute[]): Promise<GuestRoute[]> {
    const ordered = [...routes.filter((r) => !r.gateway), ...routes.filter((r) => r.gateway)];
    for (const r of ordered) {
      await this.run(["ip", ...(r.family === 6 ? ["-6"] : []), "route", "replace", ...routeArgs(r)]);
    }
    this.log.info("routes applied", { count: routes.length });
    return this.listRoutes();
  }

  /**
   * Sets permanent ARP entries.
   * @throws HakoError Unimplemented for an IPv6 neighbour (the guest's busybox cannot add NDP entries)
   */
  async addArpNeighbors(neighbors: GuestNeighbor[]): Promise<void> {
    for (const n of neighbors) {
      if (n.address.includes(":")) {
        throw new HakoError(
          Code.Unimplemented,
          `IPv6 neighbour ${n.address} on ${n.device}: not supported in the guest`,
        );
      }
      await this.run(["arp", "-i", n.device, "-s", n.address, n.mac]);
    }
  }

  async listInterfaces(): Promise<GuestInterface[]> {
    const [links, addrs] = await Promise.all([this.links(), this.run(["ip", "-o", "addr", "show"])]);
    const byName = parseAddrLines(addrs);
    return links.map((l) => ({ name: l.name, mac: l.mac, mtu: l.mtu, addresses: byName.get(l.name) ?? [] }));
  }

  async listRoutes(): Promise<GuestRoute[]> {
    const [v4, v6] = await Promise.all([this.run(["ip", "route", "show"]), this.run(["ip", "-6", "route", "show"])]);
    return [...parseRouteLines(v4, 4), ...parseRouteLines(v6, 6)];
  }
}
