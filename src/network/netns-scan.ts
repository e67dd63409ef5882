// Reads what CNI put in a pod network namespace: its links with their addresses, the routes and static neighbours
// that leave by them. The network models decide which links to wire; the guest gets the same names and addresses.
import type { GuestNeighbor, GuestRoute } from "../agent/api/guest-network.js";
import { type NetnsLink, parseLinks, parseNeighbors, parseQdiscs, parseRoutes, type Qdisc } from "./ip-json.js";
import type { NetnsRunner } from "./netns-exec.js";

export interface NetnsScan {
  links: NetnsLink[];
  routes: GuestRoute[];
  neighbors: GuestNeighbor[];
}

export async function scanNetns(runner: NetnsRunner, netns: string): Promise<NetnsScan> {
  const [links, v4, v6, neigh] = await Promise.all([
    runner.run(netns, ["ip", "-json", "-d", "addr", "show"]),
    runner.run(netns, ["ip", "-json", "-4", "route", "show"]),
    runner.run(netns, ["ip", "-json", "-6", "route", "show"]),
    runner.run(netns, ["ip", "-json", "neigh", "show"]),
  ]);
  return {
    links: parseLinks(links),
    routes: [...parseRoutes(v4, 4), ...parseRoutes(v6, 6)],
    neighbors: parseNeighbors(neigh),
  };
}

export async function listQdiscs(runner: NetnsRunner, netns: string): Promise<Qdisc[]> {
  return parseQdiscs(await runner.run(netns, ["tc", "-json", "qdisc", "show"]));
}

/** Device kinds hako itself creates for a VM; never wired again (a re-scan after a crash must not chain them). */
const hakoKinds = new Set(["tun", "macvtap"]);

/**
 * The links a model wires: up or down, every non-loopback link that carries a global address and is not a device
 * hako made (Kata: "for each veth/other link with an IP").
 */
export function wireableLinks(scan: NetnsScan): NetnsLink[] {
  return scan.links.filter((l) => !l.loopback && !hakoKinds.has(l.kind) && l.addresses.length > 0);
}

/** Routes and neighbours that leave by one of `links`: the ones the guest can apply. */
export function guestRoutesFor(
  scan: NetnsScan,
  links: NetnsLink[],
): { routes: GuestRoute[]; neighbors: GuestNeighbor[] } {
  const names = new Set(links.map((l) => l.name));
  return {
    routes: scan.routes.filter((r) => names.has(r.device)),
    neighbors: scan.neighbors.filter((n) => names.has(n.device)),
  };
}
