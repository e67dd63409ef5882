// What the tcfilter and macvtap models share: scan the pod netns, refuse one that is already wired, wire each link
// that carries an address (undoing everything on a failure), hand back the guest configuration; and del() from
// persisted endpoints, tolerant of a netns or device already gone. Subclasses say how one link is wired.
import { existsSync } from "node:fs";
import { Code, HakoError } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import type { InternetworkingModel } from "../config/types.js";
import type { NetnsLink } from "./ip-json.js";
import { netnsDns } from "./netns-dns.js";
import { type NetnsRunner, nsenterRunner } from "./netns-exec.js";
import { guestRoutesFor, listQdiscs, scanNetns, wireableLinks } from "./netns-scan.js";
import type { Endpoint, NetworkEndpoints, NetworkModel, NetworkSetup } from "./network-model.js";

/** Names of the devices hako creates in a pod netns: tap<n>_hako, mvtap<n>_hako (Kata: tap<n>_kata). */
export const hakoDevice = /^(mv)?tap\d+_hako$/;

/** What is in the netns now, for del() to decide what is left to remove. */
export interface NetnsNow {
  links: Set<string>;
  ingress: Set<string>;
}

export abstract class LinkWiringModel implements NetworkModel {
  abstract readonly model: Exclude<InternetworkingModel, "none">;

  constructor(protected readonly runner: NetnsRunner = nsenterRunner) {}

  /** Creates the VM's device for `link` (the n-th wired link) and returns its endpoint. */
  protected abstract wire(netns: string, link: NetnsLink, n: number): Promise<Endpoint>;
  /** Removes what wire() made for `ep`, skipping what `now` says is gone. */
  protected abstract unwire(netns: string, ep: Endpoint, now: NetnsNow): Promise<void>;

  protected run(netns: string, argv: string[]): Promise<string> {
    return this.runner.run(netns, argv);
  }

  async add(netns: string, logger: Logger): Promise<NetworkSetup> {
    const log = logger.child({ subsystem: "network", netns, model: this.model });
    const scan = await scanNetns(this.runner, netns);
    const links = wireableLinks(scan);
    await this.refuseWired(netns, links, scan.links);
    const endpoints: Endpoint[] = [];
    try {
      for (const [n, link] of links.entries()) {
        const ep = await this.wire(netns, link, n).catch((err: unknown) => {
          // Record the half-made device so that the undo below removes it too.
          endpoints.push({ link: link.name, tap: this.deviceName(n), kind: "tap", mac: link.mac, mtu: link.mtu });
          throw err;
        });
        endpoints.push(ep);
        log.info("link wired to the VM", { link: link.name, tap: ep.tap, mac: ep.mac, mtu: ep.mtu });
      }
    } catch (err) {
      await this.del({ model: this.model, netns, endpoints }, log).catch((cleanup: unknown) =>
        log.error("could not undo a partly wired netns", { err: cleanup }),
      );
      throw HakoError.from(err, Code.Internal, `netns ${netns}: wiring the VM failed`);
    }
    if (links.length === 0) log.info("no link with an address in the pod netns: the VM gets no NIC");
    const { routes, neighbors } = guestRoutesFor(scan, links);
    const dns = netnsDns(netns);
    return {
      model: this.model,
      netns,
      endpoints,
      guest: {
        interfaces: links.map((l) => ({ name: l.name, mac: l.mac, mtu: l.mtu, addresses: l.addresses })),
        routes,
        neighbors,
        ...(dns ? { dns } : {}),
      },
    };
  }

  /** The name wire() gives the n-th device. */
  protected abstract deviceName(n: number): string;

  async del(endpoints: NetworkEndpoints, logger: Logger): Promise<void> {
    const { netns } = endpoints;
    if (netns === "" || endpoints.endpoints.length === 0) return;
    // CNI may have deleted the namespace already (pod removed after a crash): then nothing of ours is left in it.
    if (!existsSync(netns)) return;
    const now = await this.now(netns);
    for (const ep of endpoints.endpoints) {
      await this.unwire(netns, ep, now);
      logger.debug("link unwired", { netns, link: ep.link, tap: ep.tap });
    }
  }

  private async now(netns: string): Promise<NetnsNow> {
    const [scan, qdiscs] = await Promise.all([scanNetns(this.runner, netns), listQdiscs(this.runner, netns)]);
    return {
      links: new Set(scan.links.map((l) => l.name)),
      ingress: new Set(qdiscs.filter((q) => q.kind === "ingress").map((q) => q.dev)),
    };
  }

  /** Another sandbox (or a crashed one not cleaned up) already wired this netns: touch nothing, say so. */
  private async refuseWired(netns: string, links: NetnsLink[], all: NetnsLink[]): Promise<void> {
    const { ingress } = await this.now(netns);
    const busy = links.filter((l) => ingress.has(l.name)).map((l) => `ingress qdisc on ${l.name}`);
    const ours = all.filter((l) => hakoDevice.test(l.name)).map((l) => l.name);
    if (busy.length > 0 || ours.length > 0) {
      throw new HakoError(
        Code.AlreadyExists,
        `netns ${netns} is already wired to a VM (${[...busy, ...ours].join(", ")}); stop the sandbox that uses ` +
          "it, or run `containerd-shim-hako-v2 delete` for a crashed one",
        { fields: { netns } },
      );
    }
  }
}
