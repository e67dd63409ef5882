// The guest's network configuration in hako's own types: what the host asks the agent to apply (UpdateInterface,
// UpdateRoutes, AddARPNeighbors) and what ListInterfaces / ListRoutes answer. Field meanings follow Kata's
// types.proto (Interface, IPAddress, Route, ARPNeighbor); the wire translation lives with the agent client/server.

export type IpFamily = 4 | 6;

export interface GuestIpAddress {
  family: IpFamily;
  /** Dotted (v4) or colon (v6) form, without the prefix. */
  address: string;
  /** Prefix length in bits (24 for a /24). */
  prefixLength: number;
}

export interface GuestInterface {
  /** Name the link gets in the guest (the pod netns's name for it, e.g. "eth0"). */
  name: string;
  /** Lower-case colon form; the guest NIC is found by this MAC, never by name or PCI order. */
  mac: string;
  /** Bytes. */
  mtu: number;
  addresses: GuestIpAddress[];
}

export interface GuestRoute {
  family: IpFamily;
  /** CIDR ("10.88.0.0/16") or "" for the default route. */
  destination: string;
  /** Next hop, or "" for a link route. */
  gateway: string;
  /** Guest link name the route leaves by. */
  device: string;
  /** Preferred source address, or "". */
  source: string;
  /** rtnetlink scope: 0 universe, 253 link, 254 host. */
  scope: number;
}

export interface GuestNeighbor {
  address: string;
  mac: string;
  device: string;
  /** NUD state bits as in rtnetlink (0x80 = PERMANENT). */
  state: number;
}

export interface GuestDns {
  servers: string[];
  searches: string[];
  options: string[];
}

/** Everything the agent applies for one sandbox, in this order: interfaces, routes, neighbours. */
export interface GuestNetworkConfig {
  interfaces: GuestInterface[];
  routes: GuestRoute[];
  neighbors: GuestNeighbor[];
  /** Absent when the pod namespace has no resolver configuration of its own. */
  dns?: GuestDns;
}

export const NUD_PERMANENT = 0x80;
export const SCOPE_UNIVERSE = 0;
export const SCOPE_LINK = 253;
