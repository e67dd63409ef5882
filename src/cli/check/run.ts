// `hako check` as a library call: loads the configuration, gathers the host's facts (accelerator probe, devices,
// tool versions, assets, cgroups, containerd, port forwarding) and applies each file's rules to them. A config that
// cannot be loaded is itself a failed item, not an exception.
import { HakoError } from "../../common/errors.js";
import { activeHypervisor, type HakoConfig, loadConfig } from "../../config/index.js";
import { type AccelProbe, probeAccelerator } from "../../hypervisor/accel.js";
import { Cpu } from "../../hypervisor/qemu/cmdline/cpu.js";
import { assetFacts, cgroupLayout, containerdFacts, ksmFacts } from "../host-facts.js";
import { acceleratorItems } from "./accelerator.js";
import { assetItems, sharedFsItem } from "./assets.js";
import { deviceFacts, deviceItems } from "./devices.js";
import { cgroupItem, containerdItems, ksmItem } from "./host.js";
import { type CheckItem, type CheckReport, item } from "./item.js";
import { portForwardFacts, portForwardItem } from "./port-forward.js";
import { snapshotItem } from "./snapshot.js";
import { toolItems, toolVersions } from "./tools.js";

export type { CheckItem, CheckReport, CheckStatus } from "./item.js";

export interface CheckOptions {
  configPath?: string;
  /** The accelerator probe (tests pass a canned answer). */
  probe?: () => AccelProbe;
  /** Where the devices are looked for (default /dev). */
  devRoot?: string;
  containerdConfig?: string;
}

/** Runs every check. A config that cannot be loaded is itself a failed item, not an exception. */
export async function runChecks(options: CheckOptions = {}): Promise<CheckReport> {
  let config: HakoConfig;
  try {
    config = loadConfig(options.configPath === undefined ? {} : { path: options.configPath });
  } catch (err) {
    const e = HakoError.from(err);
    return {
      ok: false,
      config: options.configPath ?? "(default lookup)",
      accelerator: null,
      items: [
        item(
          "config",
          "configuration",
          "fail",
          e.message,
          "fix the file named above, or point --config / $HAKO_CONFIG at another",
        ),
      ],
    };
  }
  const items: CheckItem[] = [
    item(
      "config",
      "configuration",
      "ok",
      config.source ? `loaded from ${config.source}` : "built-in defaults (no /etc/hako/configuration.toml)",
    ),
  ];
  const probe = (options.probe ?? probeAccelerator)();
  const [versions, assets, containerd, portForward] = await Promise.all([
    toolVersions(config),
    assetFacts(config),
    containerdFacts(options.containerdConfig),
    portForwardFacts(),
  ]);
  const accel = acceleratorItems(config, probe);
  items.push(...accel.items);
  items.push(...deviceItems(config, deviceFacts(options.devRoot ?? "/dev")));
  items.push(...toolItems(config, versions));
  items.push(...assetItems(assets));
  const sharedFs = sharedFsItem(activeHypervisor(config).sharedFs, assets);
  if (sharedFs) items.push(sharedFs);
  const snapshot = snapshotItem(assets.snapshot, {
    accel: accel.accel,
    cpu: new Cpu(accel.accel, config.hypervisor.qemu.cpuFeatures).args()[1] ?? "",
    qemuVersion: versions.qemu,
  });
  if (snapshot) items.push(snapshot);
  items.push(cgroupItem(cgroupLayout()));
  items.push(ksmItem(ksmFacts(), activeHypervisor(config).sharedFs));
  items.push(...containerdItems(containerd));
  items.push(portForwardItem(portForward));
  return {
    ok: items.every((i) => i.status !== "fail"),
    config: config.source ?? "built-in defaults",
    accelerator: accel.accel,
    items,
  };
}
