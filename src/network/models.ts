// The network model a configuration asks for ([runtime] internetworking_model).
import type { InternetworkingModel } from "../config/types.js";
import { MacvtapModel } from "./macvtap-model.js";
import type { NetworkModel } from "./network-model.js";
import { NoneModel } from "./none-model.js";
import { TcFilterModel } from "./tc-filter-model.js";

export function networkModel(model: InternetworkingModel): NetworkModel {
  switch (model) {
    case "tcfilter":
      return new TcFilterModel();
    case "macvtap":
      return new MacvtapModel();
    case "none":
      return new NoneModel();
  }
}
