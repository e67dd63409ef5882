// hako's guest network types <-> the agent protocol's types.Interface / Route / ARPNeighbor, used by the host client
// and the guest server alike. Conventions of the wire (Kata's): IPAddress.mask is the prefix length as a decimal
// string, the default route has dest "", mtu is a uint64.
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type ARPNeighbor,
  type ARPNeighborSchema,
  type Interface,
  type InterfaceSchema,
  type IPAddress,
  IPFamily,
  type Route,
  type RouteSchema,
} from "../../proto/gen/agent/types_pb.js";
import type { GuestInterface, GuestIpAddress, GuestNeighbor, GuestRoute, IpFamily } from "./guest-network.js";

const familyToWire = (f: IpFamily) => (f === 6 ? IPFamily.V6 : IPFamily.V4);

function addressToWire(a: GuestIpAddress) {
  return { family: familyToWire(a.family), address: a.address, mask: String(a.prefixLength) };
}

function addressFromWire(a: IPAddress): GuestIpAddress {
  const family = a.family === IPFamily.V6 || a.address.includes(":") ? 6 : 4;
  const prefix = a.mask === "" ? (family === 6 ? 128 : 32) : Number(a.mask);
  return { family, address: a.address, prefixLength: prefix };
}

export function interfaceToWire(i: GuestInterface): MessageInitShape<typeof InterfaceSchema> {
  return { name: i.name, hwAddr: i.mac, mtu: BigInt(i.mtu), ipAddresses: i.addresses.map(addressToWire) };
}

export function interfaceFromWire(i: Interface): GuestInterface {
  return {
    name: i.name,
    mac: i.hwAddr.toLowerCase(),
    mtu: Number(i.mtu),
    addresses: i.ipAddresses.map(addressFromWire),
  };
}

export function routeToWire(r: GuestRoute): MessageInitShape<typeof RouteSchema> {
  return {
    family: familyToWire(r.family),
    dest: r.destination,
    gateway: r.gateway,
    device: r.device,
    source: r.source,
    scope: r.scope,
  };
}

export function routeFromWire(r: Route): GuestRoute {
  const v6 = r.family === IPFamily.V6 || r.dest.includes(":") || r.gateway.includes(":");
  return {
    family: v6 ? 6 : 4,
    destination: r.dest === "default" ? "" : r.dest,
    gateway: r.gateway,
    device: r.device,
    source: r.source,
    scope: r.scope,
  };
}

export function neighborToWire(n: GuestNeighbor): MessageInitShape<typeof ARPNeighborSchema> {
  const family = n.address.includes(":") ? 6 : 4;
  return {
    toIpAddress: addressToWire({ family, address: n.address, prefixLength: family === 6 ? 128 : 32 }),
    device: n.device,
    lladdr: n.mac,
    state: n.state,
  };
}

export function neighborFromWire(n: ARPNeighbor): GuestNeighbor {
  return { address: n.toIpAddress?.address ?? "", mac: n.lladdr.toLowerCase(), device: n.device, state: n.state };
}
