// A NetworkModel that touches no namespace: for runtime unit tests. It hands out one endpoint per configured link,
// records add/del calls and can be told to fail, so tests can check that del() runs from persisted endpoints.
import type { GuestNetworkConfig } from "../agent/api/guest-network.js";
import { Code, HakoError } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import type { Endpoint, NetworkEndpoints, NetworkModel, NetworkSetup } from "./network-model.js";

export class FakeNetworkModel implements NetworkModel {
  readonly model = "tcfilter" as const;
  readonly calls: string[] = [];
  /** Endpoints that add() created and del() has not removed, by netns. */
  readonly live = new Map<string, Endpoint[]>();
  /** When set, the next add() throws this. */
  failNextAdd: Error | undefined;

  constructor(
    readonly endpoints: Endpoint[] = [
      { link: "eth0", tap: "tap0_hako", kind: "tap", mac: "02:00:0a:58:00:05", mtu: 1500 },
    ],
    readonly guest: GuestNetworkConfig = {
      interfaces: [
        {
          name: "eth0",
          mac: "02:00:0a:58:00:05",
          mtu: 1500,
          addresses: [{ family: 4, address: "10.88.0.5", prefixLength: 16 }],
        },
      ],
      routes: [{ family: 4, destination: "", gateway: "10.88.0.1", device: "eth0", source: "", scope: 0 }],
      neighbors: [],
    },
  ) {}

  async add(netns: string, _logger: Logger): Promise<NetworkSetup> {
    this.calls.push(`add ${netns}`);
    const fail = this.failNextAdd;
    if (fail) {
      this.failNextAdd = undefined;
      throw fail;
    }
    if (this.live.has(netns)) throw new HakoError(Code.AlreadyExists, `netns ${netns} is already wired`);
    const endpoints = this.endpoints.map((e) => ({ ...e }));
    this.live.set(netns, endpoints);
    return { model: this.model, netns, endpoints, guest: structuredClone(this.guest) };
  }

  async del(endpoints: NetworkEndpoints, _logger: Logger): Promise<void> {
    this.calls.push(`del ${endpoints.netns}`);
    this.live.delete(endpoints.netns);
  }
}
