// Installs hako onto a Kubernetes node, in the shape of kata-deploy: the shim, the CLI, a Node runtime and the
// guest assets under <root>/opt/hako, the shim linked into <root>/usr/local/bin (containerd finds shims on PATH), a
// hako configuration pointing at those assets, and a `hako` runtime handler in containerd's config; then containerd
// is restarted. Idempotent: a second install changes nothing and restarts nothing. uninstall() puts containerd's
// config back byte for byte (or removes it if there was none) and removes everything install() added.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import {
  chmod,
  copyFile,
  cp,
  lstat,
  mkdir,
  readFile,
  readlink,
  rename,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { dirname, join } from "node:path";
import { Code, HakoError, notFound } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { withHakoRuntime } from "./containerd-config.js";

/** Where things go on the node (paths as the node sees them; the installer prefixes its root). */
export const NODE_PREFIX = "/opt/hako";
export const NODE_CONFIG = `${NODE_PREFIX}/share/configuration.toml`;
export const NODE_ASSETS = `${NODE_PREFIX}/share/assets`;
export const NODE_SHIM_LINK = "/usr/local/bin/containerd-shim-hako-v2";
const STATE_FILE = `${NODE_PREFIX}/install-state.json`;
const ORIGINAL_CONFIG = `${NODE_PREFIX}/containerd-config.orig`;
/** The guest assets a node needs (`hako image build` writes them). */
export const ASSET_FILES = ["vmlinux", "hako-rootfs.img", "hako-initrd.img"];

export interface InstallSource {
  /** The bundled entry points: dist/hako.mjs and dist/containerd-shim-hako-v2.mjs. */
  distDir: string;
  /** The koffi package (native FFI) the bundles import. */
  koffiDir: string;
  /** The Node binary the launchers run (this process's by default). */
  node: string;
  /** Directory holding ASSET_FILES. */
  assetsDir: string;
}

export interface NodeInstallOptions {
  /** The node's root filesystem ("/" on the node; the host mount in a DaemonSet, e.g. /host). */
  root: string;
  /** containerd's config, as the node sees it. */
  containerdConfig: string;
  /** Restarts containerd (argv); skipped when nothing changed. Empty: do not restart. */
  restart: string[];
  log: Logger;
}

interface InstallState {
  version: 1;
  /** Whether containerd's config existed before the first install (its bytes are in ORIGINAL_CONFIG). */
  configExisted: boolean;
  containerdConfig: string;
}

export interface InstallReport {
  /** Node paths written or removed; empty when the node was already as wanted. */
  changed: string[];
  restarted: boolean;
}

const at = (root: string, nodePath: string) => join(root, nodePath);

const sha256 = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

/** Copies src to dst unless dst already holds the same bytes; returns whether it wrote. */
async function syncFile(src: string, dst: string, mode: number): Promise<boolean> {
  if (existsSync(dst) && (await sha256(src)) === (await sha256(dst))) return false;
  await mkdir(dirname(dst), { recursive: true });
  // Through a temporary name: a shim or VM starting meanwhile sees the old file or the new one, never half of one.
  await copyFile(src, `${dst}.tmp`);
  await chmod(`${dst}.tmp`, mode);
  await rename(`${dst}.tmp`, dst);
  return true;
}

/** Writes text unless the file already holds it; returns whether it wrote. */
async function syncText(dst: string, text: string, mode = 0o644): Promise<boolean> {
  if (existsSync(dst) && (await readFile(dst, "utf8")) === text) return false;
  await mkdir(dirname(dst), { recursive: true });
  await writeFile(`${dst}.tmp`, text);
  await chmod(`${dst}.tmp`, mode);
  await rename(`${dst}.tmp`, dst);
  return true;
}

/** A launcher that runs a bundle with the Node binary beside it, wherever the node root is mounted. */
function launcher(bundle: string): string {
  return [
    "#!/bin/sh",
    "# Installed by `hako install`: runs hako's bundle with the Node runtime installed beside it.",
    'here=$(dirname "$(readlink -f "$0")")',
    "# hako makes no TLS connections; node would parse every certificate this names at each start (~30 ms).",
    "unset NODE_EXTRA_CA_CERTS",
    `exec "$here/node" "$here/../lib/${bundle}" "$@"`,
    "",
  ].join("\n");
}

/** hako's configuration on the node: the installed guest assets, the rest at their defaults. */
function nodeConfiguration(): string {
  return [
    "# Written by `hako install`; `hako uninstall` removes it.",
    "[hypervisor.qemu]",
    `kernel = "${NODE_ASSETS}/vmlinux"`,
    `image = "${NODE_ASSETS}/hako-rootfs.img"`,
    `initrd = "${NODE_ASSETS}/hako-initrd.img"`,
    `valid_kernel_paths = ["${NODE_ASSETS}/*"]`,
    `valid_image_paths = ["${NODE_ASSETS}/*"]`,
    `valid_initrd_paths = ["${NODE_ASSETS}/*"]`,
    "",
  ].join("\n");
}

async function readState(root: string): Promise<InstallState | undefined> {
  try {
    return JSON.parse(await readFile(at(root, STATE_FILE), "utf8")) as InstallState;
  } catch {
    return undefined;
  }
}

function restartContainerd(options: NodeInstallOptions): boolean {
  const [cmd, ...args] = options.restart;
  if (!cmd) return false;
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) {
    throw new HakoError(Code.Internal, `restarting containerd (${options.restart.join(" ")}) failed: ${r.stderr}`);
  }
  options.log.info("containerd restarted", { command: options.restart });
  return true;
}

export async function installNode(source: InstallSource, options: NodeInstallOptions): Promise<InstallReport> {
  const { root } = options;
  for (const f of ASSET_FILES) {
    if (!existsSync(join(source.assetsDir, f))) throw notFound(`guest asset ${f} not in ${source.assetsDir}`);
  }
  const changed: string[] = [];
  const note = (wrote: boolean, nodePath: string) => {
    if (wrote) changed.push(nodePath);
  };
  const bin = `${NODE_PREFIX}/bin`;
  const lib = `${NODE_PREFIX}/lib`;
  note(await syncFile(source.node, at(root, `${bin}/node`), 0o755), `${bin}/node`);
  for (const name of ["hako", "containerd-shim-hako-v2"]) {
    note(
      await syncFile(join(source.distDir, `${name}.mjs`), at(root, `${lib}/${name}.mjs`), 0o644),
      `${lib}/${name}.mjs`,
    );
    note(await syncText(at(root, `${bin}/${name}`), launcher(`${name}.mjs`), 0o755), `${bin}/${name}`);
  }
  const koffi = `${lib}/node_modules/koffi`;
  if (!existsSync(at(root, `${koffi}/package.json`))) {
    await cp(source.koffiDir, at(root, koffi), { recursive: true });
    changed.push(koffi);
  }
  for (const f of ASSET_FILES) {
    note(await syncFile(join(source.assetsDir, f), at(root, `${NODE_ASSETS}/${f}`), 0o644), `${NODE_ASSETS}/${f}`);
  }
  note(await syncText(at(root, NODE_CONFIG), nodeConfiguration()), NODE_CONFIG);
  const link = at(root, NODE_SHIM_LINK);
  const target = `${bin}/containerd-shim-hako-v2`;
  if (!(await lstat(link).catch(() => undefined)) || (await readlink(link).catch(() => "")) !== target) {
    await mkdir(dirname(link), { recursive: true });
    await rm(link, { force: true });
    await symlink(target, link);
    changed.push(NODE_SHIM_LINK);
  }

  // containerd's config: keep the original bytes once, before the first change.
  const configPath = at(root, options.containerdConfig);
  const before = existsSync(configPath) ? await readFile(configPath, "utf8") : undefined;
  if (!(await readState(root))) {
    if (before !== undefined) await writeFile(at(root, ORIGINAL_CONFIG), before);
    const state: InstallState = {
      version: 1,
      configExisted: before !== undefined,
      containerdConfig: options.containerdConfig,
    };
    await writeFile(at(root, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  }
  const after = withHakoRuntime(before, NODE_CONFIG, options.containerdConfig);
  let configChanged = false;
  if (after !== before) {
    await mkdir(dirname(configPath), { recursive: true });
    await writeFile(configPath, after);
    changed.push(options.containerdConfig);
    configChanged = true;
  }
  options.log.info("hako installed", { root, changed: changed.length });
  // Only a config change needs containerd to restart: new shim binaries are picked up by the next sandbox.
  return { changed, restarted: configChanged && restartContainerd(options) };
}

export async function uninstallNode(options: NodeInstallOptions): Promise<InstallReport> {
  const { root } = options;
  const state = await readState(root);
  if (!state) {
    options.log.info("hako is not installed here: nothing to undo", { root });
    return { changed: [], restarted: false };
  }
  const changed: string[] = [];
  const configPath = at(root, state.containerdConfig);
  if (state.configExisted) await writeFile(configPath, await readFile(at(root, ORIGINAL_CONFIG)));
  else await rm(configPath, { force: true });
  changed.push(state.containerdConfig);
  const link = at(root, NODE_SHIM_LINK);
  if ((await readlink(link).catch(() => "")) === `${NODE_PREFIX}/bin/containerd-shim-hako-v2`) {
    await rm(link, { force: true });
    changed.push(NODE_SHIM_LINK);
  }
  await rm(at(root, NODE_PREFIX), { recursive: true, force: true });
  changed.push(NODE_PREFIX);
  options.log.info("hako uninstalled", { root });
  return { changed, restarted: restartContainerd(options) };
}
