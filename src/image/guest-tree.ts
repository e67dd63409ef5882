// Lays out the guest's files as FsTrees: the root filesystem (busybox, node, crun, their libraries, the agent and
// koffi, modules, /etc), the tiny initrd (busybox + modules + /init) and the initrd-only variant (root + /init).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { Code, HakoError } from "../common/errors.js";
import { agentLoader, GUEST_AGENT_LOADER, guestAgentPath } from "./agent-bundle.js";
import { initrdInit, rootInit } from "./init-scripts.js";
import { stageKoffi } from "./koffi.js";
import { sharedLibraries } from "./ldd.js";
import { stripModuleSignature } from "./module-signature.js";
import { FsTree } from "./tree.js";

export interface HostBinaries {
  busybox: string;
  node: string;
  crun: string;
}

/** A module file to carry: its guest path below /lib/modules/<release>/ and the (decompressed) host file. */
export interface StagedModule {
  path: string;
  source: string;
}

export interface ExtraFile {
  source: string;
  dest: string;
}

/** Directories that are mount points or scratch space in the read-only root. */
const ROOT_DIRS = ["dev", "proc", "sys", "run", "tmp", "mnt", "root", "etc", "var/lib", "var/log", "var/tmp", "home"];

/** Finds a command on PATH (like `command -v`), resolved to the real file. */
export function whichBinary(name: string): string {
  for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(":")) {
    const p = `${dir}/${name}`;
    if (dir && existsSync(p)) return realpathSync(p);
  }
  throw new HakoError(Code.FailedPrecondition, `${name} is not installed on the host (needed in the guest image)`);
}

/** busybox's applets as guest paths (`bin/sh`, `sbin/insmod`, …). */
export function busyboxApplets(busybox: string): string[] {
  const out = execFileSync(busybox, ["--list-full"], { encoding: "utf8" });
  return out
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && l !== "linuxrc")
    .sort();
}

function addBusybox(tree: FsTree, busybox: string): void {
  tree.file("bin/busybox", busybox, 0o755);
  for (const applet of busyboxApplets(busybox)) {
    if (applet === "bin/busybox" || tree.has(applet)) continue;
    tree.symlink(applet, "/bin/busybox");
  }
}

async function addDynamic(tree: FsTree, guestPath: string, binary: string): Promise<void> {
  tree.file(guestPath, binary, 0o755);
  for (const lib of await sharedLibraries(binary)) {
    // The path ldd printed is where the dynamic loader looks; copy the real file there (no symlink chains).
    if (!tree.has(lib)) tree.file(lib, realpathSync(lib), 0o755);
  }
}

function addModules(
  tree: FsTree,
  release: string,
  modules: readonly StagedModule[],
  modulesDep: string,
  builtin: string,
): string {
  const base = `lib/modules/${release}`;
  for (const m of modules) tree.data(`${base}/${m.path}`, stripModuleSignature(readFileSync(m.source)), 0o644);
  tree.data(`${base}/modules.dep`, modulesDep);
  tree.data(`${base}/modules.builtin`, builtin);
  const list = modules.map((m) => `/${base}/${m.path}\n`).join("");
  tree.data("etc/hako/modules", list);
  return list;
}

export interface RootTreeInput {
  bins: HostBinaries;
  agent: string;
  nodeModules: string;
  release: string;
  modules: readonly StagedModule[];
  modulesDep: string;
  modulesBuiltin: string;
  imageJson: string;
  extraFiles: readonly ExtraFile[];
}

/** The root filesystem tree (the DAX image, and the body of the initrd-only variant). */
export async function rootTree(input: RootTreeInput): Promise<{ tree: FsTree; koffiVersion: string }> {
  const tree = new FsTree();
  for (const d of ROOT_DIRS) tree.dir(d);
  tree.dir("tmp", 0o1777);
  tree.dir("var/tmp", 0o1777);
  tree.dir("root", 0o700);
  tree.symlink("var/run", "../run");
  // A CommonJS agent starts through its loader (compiled eagerly); an ES module one as it is.
  const agent = `/${guestAgentPath(input.agent)}`;
  const entry = input.agent.endsWith(".mjs") ? agent : `/${GUEST_AGENT_LOADER}`;
  if (entry !== agent) tree.data(GUEST_AGENT_LOADER, agentLoader(agent), 0o644);
  tree.data("sbin/init", rootInit(entry), 0o755);
  addBusybox(tree, input.bins.busybox);
  await addDynamic(tree, "usr/bin/node", input.bins.node);
  await addDynamic(tree, "usr/bin/crun", input.bins.crun);
  tree.file(guestAgentPath(input.agent), input.agent, 0o644);
  const koffi = stageKoffi(tree, input.nodeModules);
  for (const lib of await sharedLibraries(koffi.native)) if (!tree.has(lib)) tree.file(lib, realpathSync(lib), 0o755);
  addModules(tree, input.release, input.modules, input.modulesDep, input.modulesBuiltin);
  tree.data("etc/hostname", "hako\n");
  tree.data("etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n");
  tree.data("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  tree.data("etc/group", "root:x:0:\nnogroup:x:65534:\n");
  tree.data("etc/hako/image.json", input.imageJson);
  for (const x of input.extraFiles) tree.file(x.dest, x.source);
  return { tree, koffiVersion: koffi.version };
}

/** The tiny initrd: busybox, the modules and an /init that mounts the DAX root. */
export function initrdTree(
  input: Pick<RootTreeInput, "bins" | "release" | "modules" | "modulesDep" | "modulesBuiltin">,
): FsTree {
  const tree = new FsTree();
  for (const d of ["proc", "sys", "dev", "newroot", "run", "tmp"]) tree.dir(d);
  // The kernel opens /dev/console for init's stdio before anything is mounted.
  tree.chardev("dev/console", 5, 1);
  addBusybox(tree, input.bins.busybox);
  addModules(tree, input.release, input.modules, input.modulesDep, input.modulesBuiltin);
  tree.data("init", initrdInit("dax"), 0o755);
  return tree;
}

/** The initrd-only variant: the whole root plus an /init that moves it onto a tmpfs before switching. */
export function fullInitrdTree(root: FsTree): FsTree {
  root.dir("newroot");
  root.chardev("dev/console", 5, 1);
  root.data("init", initrdInit("full"), 0o755);
  return root;
}
