// internetworking_model = "none": hako connects nothing (Kata's NetXConnectNoneModel). The VM gets no NIC and the
// pod netns is left exactly as CNI made it; whoever chose "none" wires the guest some other way.
import type { Logger } from "../common/log.js";
import { type NetworkEndpoints, type NetworkModel, type NetworkSetup, noNetwork } from "./network-model.js";

export class NoneModel implements NetworkModel {
  readonly model = "none" as const;

  async add(netns: string, logger: Logger): Promise<NetworkSetup> {
    logger.info("internetworking_model = none: the VM gets no network device", { netns });
    return noNetwork("none", netns);
  }

  async del(_endpoints: NetworkEndpoints, _logger: Logger): Promise<void> {}
}
