// Pure readers of `ip` text output as both busybox (the guest's) and iproute2 print it: `ip -o link`, `ip -o addr`,
// `ip route` / `ip -6 route`. Text in, hako's guest network types out.
import type { GuestIpAddress, GuestRoute, IpFamily } from "../api/guest-network.js";
import { SCOPE_LINK, SCOPE_UNIVERSE } from "../api/guest-network.js";

export interface GuestLink {
  index: number;
  name: string;
  mac: string;
  mtu: number;
  up: boolean;
  loopback: boolean;
}

/** `2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc … \    link/ether 52:54:00:12:34:56 brd …` */
export function parseLinkLines(text: string): GuestLink[] {
  const out: GuestLink[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+):\s+([^:@\s]+)(?:@[^:\s]+)?:\s+<([^>]*)>(.*)$/.exec(line);
    if (!m) continue;
    const [, index, name, flags, rest] = m as unknown as [string, string, string, string, string];
    const flagList = flags.split(",");
    out.push({
      index: Number(index),
      name,
      mac: (/link\/\S+\s+([0-9a-fA-F:]{17})/.exec(rest)?.[1] ?? "").toLowerCase(),
      mtu: Number(/\bmtu (\d+)/.exec(rest)?.[1] ?? 0),
      up: flagList.includes("UP"),
      loopback: flagList.includes("LOOPBACK"),
    });
  }
  return out;
}

/** `4: eth0    inet 10.88.0.5/16 brd … scope global eth0\ …`: global-scope addresses by link name. */
export function parseAddrLines(text: string): Map<string, GuestIpAddress[]> {
  const out = new Map<string, GuestIpAddress[]>();
  for (const line of text.split("\n")) {
    const m = /^\d+:\s+(\S+)\s+(inet6?)\s+([0-9a-fA-F.:]+)\/(\d+)\s.*\bscope (\S+)/.exec(line);
    if (!m) continue;
    const [, name, fam, address, prefix, scope] = m as unknown as [string, string, string, string, string, string];
    if (scope !== "global") continue;
    const list = out.get(name) ?? [];
    list.push({ family: fam === "inet6" ? 6 : 4, address, prefixLength: Number(prefix) });
    out.set(name, list);
  }
  return out;
}

/** `default via 10.88.0.1 dev eth0`, `10.88.0.0/16 dev eth0 scope link  src 10.88.0.5`, `fd00::/64 dev eth0 metric 256`. */
export function parseRouteLines(text: string, family: IpFamily): GuestRoute[] {
  const out: GuestRoute[] = [];
  for (const line of text.split("\n")) {
    const words = line.trim().split(/\s+/);
    const dest = words[0];
    if (!dest) continue;
    // Link-local and multicast v6 routes are the kernel's own; unreachable/blackhole/local types are not unicast.
    if (/^(fe80:|ff00:|unreachable|blackhole|prohibit|local|broadcast|multicast)/.test(dest)) continue;
    const value = (key: string) => {
      const i = words.indexOf(key);
      return i >= 0 ? (words[i + 1] ?? "") : "";
    };
    const scope = value("scope");
    out.push({
      family,
      destination: dest === "default" ? "" : dest,
      gateway: value("via"),
      device: value("dev"),
      source: value("src"),
      scope: scope === "link" ? SCOPE_LINK : scope === "host" ? 254 : SCOPE_UNIVERSE,
    });
  }
  return out;
}

/** The `ip route replace` arguments (after `ip [-6] route replace`) that make `r`. */
export function routeArgs(r: GuestRoute): string[] {
  const args = [r.destination === "" ? "default" : r.destination];
  if (r.gateway) args.push("via", r.gateway);
  if (r.device) args.push("dev", r.device);
  if (r.source) args.push("src", r.source);
  if (r.scope === SCOPE_LINK) args.push("scope", "link");
  else if (r.scope === 254) args.push("scope", "host");
  return args;
}
