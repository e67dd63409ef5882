// Pure readers of iproute2's JSON output (`ip -json -d addr show`, `ip -json route show`, `ip -json neigh show`,
// `tc -json qdisc show`): text in, hako's own values out. Field names are those iproute2 6.x prints.
import type { GuestIpAddress, GuestNeighbor, GuestRoute, IpFamily } from "../agent/api/guest-network.js";
import { NUD_PERMANENT, SCOPE_LINK, SCOPE_UNIVERSE } from "../agent/api/guest-network.js";
import { Code, HakoError } from "../common/errors.js";

export interface NetnsLink {
  index: number;
  name: string;
  mac: string;
  mtu: number;
  up: boolean;
  /** linkinfo.info_kind ("veth", "tun", "macvtap", "bridge", …); "" for plain devices such as lo. */
  kind: string;
  loopback: boolean;
  /** Global-scope addresses (link-local IPv6 is left to the guest kernel). */
  addresses: GuestIpAddress[];
}

export interface Qdisc {
  dev: string;
  kind: string;
  handle: string;
}

function parseArray(text: string, what: string): Record<string, unknown>[] {
  let value: unknown;
  try {
    value = JSON.parse(text.trim() === "" ? "[]" : text);
  } catch (err) {
    throw new HakoError(Code.Internal, `${what}: output is not JSON`, { cause: err });
  }
  if (!Array.isArray(value)) throw new HakoError(Code.Internal, `${what}: expected a JSON array`);
  return value.filter((v): v is Record<string, unknown> => typeof v === "object" && v !== null);
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const num = (v: unknown): number => (typeof v === "number" ? v : 0);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

function family(f: unknown): IpFamily | undefined {
  if (f === "inet") return 4;
  if (f === "inet6") return 6;
  return undefined;
}

/** Reads `ip -json -d addr show`. */
export function parseLinks(text: string): NetnsLink[] {
  return parseArray(text, "ip addr show").map((l) => {
    const flags = strs(l.flags);
    const info = (l.linkinfo ?? {}) as Record<string, unknown>;
    const addresses: GuestIpAddress[] = [];
    for (const a of Array.isArray(l.addr_info) ? (l.addr_info as Record<string, unknown>[]) : []) {
      const fam = family(a.family);
      if (fam === undefined || a.scope !== "global") continue;
      addresses.push({ family: fam, address: str(a.local), prefixLength: num(a.prefixlen) });
    }
    return {
      index: num(l.ifindex),
      name: str(l.ifname),
      mac: str(l.address).toLowerCase(),
      mtu: num(l.mtu),
      up: flags.includes("UP"),
      kind: str(info.info_kind),
      loopback: flags.includes("LOOPBACK"),
      addresses,
    };
  });
}

function scope(s: unknown): number {
  if (s === "link") return SCOPE_LINK;
  if (s === "host") return 254;
  return SCOPE_UNIVERSE;
}

/**
 * Reads `ip -json -<family> route show`. Kernel-made IPv6 link-local routes (fe80::/64) are dropped: the guest
 * kernel makes its own.
 */
export function parseRoutes(text: string, fam: IpFamily): GuestRoute[] {
  const out: GuestRoute[] = [];
  for (const r of parseArray(text, "ip route show")) {
    const dst = str(r.dst);
    if (fam === 6 && dst.startsWith("fe80:")) continue;
    if (str(r.type) !== "" && str(r.type) !== "unicast") continue;
    out.push({
      family: fam,
      destination: dst === "default" ? "" : dst,
      gateway: str(r.gateway),
      device: str(r.dev),
      source: str(r.prefsrc),
      scope: scope(r.scope),
    });
  }
  return out;
}

/** Reads `ip -json neigh show`, keeping only PERMANENT entries (static ones a CNI plugin set). */
export function parseNeighbors(text: string): GuestNeighbor[] {
  const out: GuestNeighbor[] = [];
  for (const n of parseArray(text, "ip neigh show")) {
    if (!strs(n.state).includes("PERMANENT") || str(n.lladdr) === "") continue;
    out.push({ address: str(n.dst), mac: str(n.lladdr).toLowerCase(), device: str(n.dev), state: NUD_PERMANENT });
  }
  return out;
}

/** Reads `tc -json qdisc show`. */
export function parseQdiscs(text: string): Qdisc[] {
  return parseArray(text, "tc qdisc show").map((q) => ({ dev: str(q.dev), kind: str(q.kind), handle: str(q.handle) }));
}
