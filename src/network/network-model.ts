// The seam between a pod's network namespace and its VM (Kata's NetworkModel, tc_filter_model.rs): add() wires each
// link of the pod netns to a device the hypervisor opens and returns the endpoints plus the configuration the guest
// must apply; del() removes what add() created. One file per model: tc-filter-model.ts, macvtap-model.ts,
// none-model.ts; fake-network-model.ts serves unit tests.
import type { GuestNetworkConfig } from "../agent/api/guest-network.js";
import type { Logger } from "../common/log.js";
import type { InternetworkingModel } from "../config/types.js";

/** One link of the pod netns wired to one guest NIC. Plain data: it is persisted in the sandbox state. */
export interface Endpoint {
  /** The pod netns link the traffic comes from (CNI's veth, usually "eth0"). */
  link: string;
  /**
   * The device the hypervisor opens inside the netns: a tap made by hako (tcfilter), or a macvtap whose character
   * device is /dev/tap<ifindex> (macvtap).
   */
  tap: string;
  kind: "tap" | "macvtap";
  /** The link's MAC, given to the guest NIC so that peers' ARP entries stay right. Lower-case colon form. */
  mac: string;
  /** Bytes, the link's MTU. */
  mtu: number;
  /** macvtap only: the character device QEMU is given an fd of (/dev/tap<ifindex>). */
  device?: string;
}

/** What del() needs, and all of it: written to the sandbox state so `shim delete` can undo a crashed shim's add(). */
export interface NetworkEndpoints {
  model: InternetworkingModel;
  /** Path of the pod netns (/var/run/netns/cni-…); "" when there is none to touch. */
  netns: string;
  endpoints: Endpoint[];
}

export interface NetworkSetup extends NetworkEndpoints {
  /** What the guest applies once its agent answers (UpdateInterface, UpdateRoutes, AddARPNeighbors, DNS). */
  guest: GuestNetworkConfig;
}

export interface NetworkModel {
  readonly model: InternetworkingModel;
  /**
   * Wires every link of `netns` that carries an IP address to a new device for the VM. Links without an address
   * (and lo) are left alone. On failure it removes what it created before throwing (HakoError naming the link).
   * @param netns path of the pod network namespace, as found by podNetns() in pod-netns.ts
   */
  add(netns: string, logger: Logger): Promise<NetworkSetup>;
  /**
   * Removes the devices, qdiscs and filters that add() created. Idempotent: a netns or link that is already gone is
   * not an error. Works from persisted endpoints alone (no state kept in the model object).
   */
  del(endpoints: NetworkEndpoints, logger: Logger): Promise<void>;
}

/** An empty setup: a VM with no NIC (a pod with a fresh, empty netns, or internetworking_model = "none"). */
export function noNetwork(model: InternetworkingModel, netns = ""): NetworkSetup {
  return { model, netns, endpoints: [], guest: { interfaces: [], routes: [], neighbors: [] } };
}

/** The part of a setup that is persisted: endpoints without the guest configuration. */
export function persistedEndpoints(setup: NetworkEndpoints): NetworkEndpoints {
  return { model: setup.model, netns: setup.netns, endpoints: setup.endpoints.map((e) => ({ ...e })) };
}
