// `hako install` and `hako uninstall`: put hako onto a Kubernetes node (or a node root mounted elsewhere, as the
// DaemonSet in deploy/ does) and take it off again. The work is src/deploy/node-install.ts; this file maps options.

import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "@commander-js/extra-typings";
import { installNode, uninstallNode } from "../deploy/node-install.js";
import { DEFAULT_ASSETS_DIR } from "../image/build.js";
import { cliLogger } from "./cli-log.js";

const DEFAULT_RESTART = "systemctl restart containerd";

/** The options both verbs share. */
function nodeCommand(name: string, description: string) {
  return new Command(name)
    .description(description)
    .option("--root <dir>", "the node's root filesystem", "/")
    .option(
      "--containerd-config <path>",
      "containerd's config file, as the node sees it",
      "/etc/containerd/config.toml",
    )
    .option("--restart-command <cmd>", 'how to restart containerd ("" to leave it running)', DEFAULT_RESTART);
}

function nodeOptions(opts: { root: string; containerdConfig: string; restartCommand: string }) {
  return {
    root: opts.root,
    containerdConfig: opts.containerdConfig,
    restart: opts.restartCommand.split(" ").filter(Boolean),
    log: cliLogger(),
  };
}

export function installCommand() {
  return nodeCommand("install", "install the shim, CLI, guest assets and a `hako` CRI runtime handler on a node")
    .option("--assets <dir>", "guest assets to install (hako image build's output)", DEFAULT_ASSETS_DIR)
    .action(async (opts) => {
      // This bundle's own directory holds both bundles; koffi is resolved as they resolve it.
      const distDir = dirname(fileURLToPath(import.meta.url));
      const koffiDir = dirname(createRequire(import.meta.url).resolve("koffi"));
      const report = await installNode(
        { distDir, koffiDir, node: process.execPath, assetsDir: opts.assets },
        nodeOptions(opts),
      );
      process.stdout.write(`${JSON.stringify(report)}\n`);
    });
}

export function uninstallCommand() {
  return nodeCommand(
    "uninstall",
    "undo `hako install`: containerd's config restored byte for byte, files removed",
  ).action(async (opts) => {
    process.stdout.write(`${JSON.stringify(await uninstallNode(nodeOptions(opts)))}\n`);
  });
}
