// containerd's config.toml as the node installer and `hako check` read it: which CRI runtime handlers use hako, and
// the same file with hako's handler added. TOML-aware (smol-toml): other runtimes and settings are kept; comments and
// layout are not, which is why the installer keeps the original bytes to restore on uninstall.
import { parse, stringify } from "smol-toml";
import { invalidArgument } from "../common/errors.js";

export const HAKO_RUNTIME_TYPE = "io.containerd.hako.v2";
/** The RuntimeClass handler hako's deployment registers (deploy/runtimeclass.yaml). */
export const HAKO_HANDLER = "hako";

type Table = Record<string, unknown>;

const isTable = (v: unknown): v is Table => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The CRI plugin's table: `plugins."io.containerd.grpc.v1.cri"` in a version 2 config, `plugins.cri` in version 1
 * (a file without `version`, containerd 1.x's original format).
 */
function criPluginPath(config: Table): string[] {
  return config.version === 2 ? ["plugins", "io.containerd.grpc.v1.cri"] : ["plugins", "cri"];
}

function parseConfig(text: string, path: string): Table {
  try {
    return parse(text) as Table;
  } catch (err) {
    throw invalidArgument(`${path}: not valid TOML: ${(err as Error).message}`);
  }
}

/** Walks `keys` from `root`, creating empty tables where missing; refuses a key that holds a non-table. */
function tableAt(root: Table, keys: string[], path: string): Table {
  let t = root;
  for (const k of keys) {
    const next = t[k] ?? {};
    if (!isTable(next)) throw invalidArgument(`${path}: ${keys.join(".")} is not a table`);
    t[k] = next;
    t = next;
  }
  return t;
}

/** The runtimes table of the CRI plugin, if the config has one. */
function runtimes(config: Table): Table | undefined {
  let t: unknown = config;
  for (const k of [...criPluginPath(config), "containerd", "runtimes"]) t = isTable(t) ? t[k] : undefined;
  return isTable(t) ? t : undefined;
}

/** Names of the CRI runtime handlers whose runtime_type is hako's, in a containerd config's text. */
export function hakoHandlers(text: string, path = "config.toml"): string[] {
  const table = runtimes(parseConfig(text, path)) ?? {};
  return Object.entries(table)
    .filter(([, v]) => isTable(v) && v.runtime_type === HAKO_RUNTIME_TYPE)
    .map(([name]) => name);
}

/** hako's runtime handler entry: what deploy/containerd-runtime.toml shows and the installer writes. */
export function hakoRuntimeEntry(configPath: string): Table {
  return {
    runtime_type: HAKO_RUNTIME_TYPE,
    // Pod annotations under this prefix reach the runtime (hako reads Kata's io.katacontainers.* keys).
    pod_annotations: ["io.katacontainers.*"],
    // A privileged pod gets the VM's devices, never the host's.
    privileged_without_host_devices: true,
    options: { ConfigPath: configPath },
  };
}

/**
 * The config text with the `handler` runtime set to hako's entry. `text` undefined: no config file yet (a version
 * 2 file is started). Returns the text unchanged (same string) when the entry is already there as wanted.
 */
export function withHakoRuntime(text: string | undefined, configPath: string, path: string, handler = HAKO_HANDLER) {
  const config: Table = text === undefined ? { version: 2 } : parseConfig(text, path);
  const table = tableAt(config, [...criPluginPath(config), "containerd", "runtimes"], path);
  const wanted = hakoRuntimeEntry(configPath);
  if (text !== undefined && JSON.stringify(table[handler]) === JSON.stringify(wanted)) return text;
  table[handler] = wanted;
  return `${stringify(config)}\n`;
}
