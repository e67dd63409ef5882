// The resolver configuration of a pod netns, where it has one of its own: iproute2's convention is
// /etc/netns/<name>/resolv.conf for a namespace /var/run/netns/<name> (`ip netns exec` bind-mounts it over
// /etc/resolv.conf). CRI pods carry theirs as a bind mount in the spec instead, which reaches the guest through the share.
import { readFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import type { GuestDns } from "../agent/api/guest-network.js";
import { errnoCode } from "../common/errors.js";

/** Parses resolv.conf text: nameserver, search (and the older domain) and options lines. */
export function parseResolvConf(text: string): GuestDns {
  const dns: GuestDns = { servers: [], searches: [], options: [] };
  for (const raw of text.split("\n")) {
    const [key, ...rest] = raw
      .replace(/[#;].*$/, "")
      .trim()
      .split(/\s+/);
    if (key === "nameserver" && rest[0]) dns.servers.push(rest[0]);
    else if (key === "search" || key === "domain") dns.searches = rest;
    else if (key === "options") dns.options.push(...rest);
  }
  return dns;
}

/** The netns's own resolv.conf, or undefined when it has none. `etcRoot` is for tests. */
export function netnsDns(netns: string, etcRoot = "/etc"): GuestDns | undefined {
  const dir = dirname(netns);
  if (dir !== "/var/run/netns" && dir !== "/run/netns") return undefined;
  try {
    return parseResolvConf(readFileSync(`${etcRoot}/netns/${basename(netns)}/resolv.conf`, "utf8"));
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw err;
  }
}
