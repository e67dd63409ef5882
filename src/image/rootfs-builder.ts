// The image build's root filesystem: the guest tree (busybox, node, crun, the agent, koffi, modules, image.json)
// laid out in a staging directory, koffi checked to load from it, and the ext4 image made from it; then, for a
// CommonJS agent, the image booted once to make the agent's startup snapshot, which is added and the image remade.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Logger } from "../common/log.js";
import { GUEST_SNAPSHOT_BLOB, GUEST_SNAPSHOT_CPU } from "./agent-bundle.js";
import { makeAgentSnapshot } from "./agent-snapshot.js";
import { makeExt4 } from "./ext4.js";
import { type HostBinaries, rootTree, type StagedModule } from "./guest-tree.js";
import type { Resolved } from "./inputs.js";
import { GUEST_LIB_DIR, verifyKoffi } from "./koffi.js";
import { ASSET_NAMES, canonicalJson, type SnapshotRecord } from "./manifest.js";
import type { Progress } from "./progress.js";
import { type FsTree, writeTree } from "./tree.js";

/** What the initrd and the root both hold of the kernel and host binaries. */
export interface TreeInput {
  bins: HostBinaries;
  release: string;
  modules: StagedModule[];
  modulesDep: string;
  modulesBuiltin: string;
}

export interface BuiltRoot {
  tree: FsTree;
  /** The startup snapshot the root holds; absent when none was asked for or the snapshot boot failed. */
  snapshot?: SnapshotRecord;
}

/**
 * Writes `work`/ASSET_NAMES.rootfs (staged under `scratch`/root) and returns the root's tree. The snapshot boot
 * needs the kernel and initrd already in `work`. A failed snapshot boot is not a failed build: the build warns and
 * the image starts the agent from its bundle.
 */
export async function buildRootfs(
  r: Resolved,
  treeInput: TreeInput,
  work: string,
  scratch: string,
  progress: Progress,
  log: Logger,
): Promise<BuiltRoot> {
  const { inputs } = r;
  const { modules } = treeInput;
  progress.step("laying out the root filesystem");
  const imageJson = `${JSON.stringify(
    JSON.parse(
      canonicalJson({
        kernel: { ...inputs.kernel, release: treeInput.release },
        busybox: inputs.busybox.version,
        node: inputs.node.version,
        crun: inputs.crun.version,
        koffi: inputs.koffi,
        agentSha256: inputs.agent.sha256,
        modules: modules.map((m) => m.path),
      }),
    ),
    null,
    2,
  )}\n`;
  const { tree } = await rootTree({
    ...treeInput,
    agent: r.agent,
    nodeModules: r.nodeModules,
    imageJson,
    extraFiles: r.extraFiles,
  });
  const staging = join(scratch, "root");
  writeTree(tree, staging);
  progress.step("checking that koffi loads from the staged root");
  await verifyKoffi(r.bins.node, join(staging, GUEST_LIB_DIR));
  const rootfs = join(work, ASSET_NAMES.rootfs);
  const makeImage = () =>
    makeExt4({
      stagingDir: staging,
      tree,
      out: rootfs,
      epoch: inputs.epoch,
      // Paths of the inputs do not matter, their content does.
      seed: canonicalJson([inputs.builder, inputs.kernel, inputs.modules, inputs.hostFilesSha256, inputs.epoch]),
    });
  progress.step("making the ext4 root image");
  await makeImage();
  if (!r.snapshotVm) return { tree };

  progress.step(`booting the image to make the agent's startup snapshot (${r.snapshotVm.accel})`);
  const started = Date.now();
  let made: { cpu: string; blob: Buffer };
  try {
    made = await makeAgentSnapshot({
      vm: r.snapshotVm,
      kernel: join(work, ASSET_NAMES.kernel),
      initrd: join(work, ASSET_NAMES.initrd),
      rootfs,
      dir: join(scratch, "snapshot"),
      log,
    });
  } catch (err) {
    progress.note("no agent startup snapshot: the agent will start from its bundle", {
      reason: (err as Error).message,
    });
    return { tree };
  }
  const staged = join(staging, GUEST_SNAPSHOT_BLOB);
  mkdirSync(dirname(staged), { recursive: true });
  writeFileSync(staged, made.blob);
  tree.file(GUEST_SNAPSHOT_BLOB, staged, 0o644);
  tree.data(GUEST_SNAPSHOT_CPU, `${made.cpu}\n`);
  writeFileSync(join(staging, GUEST_SNAPSHOT_CPU), `${made.cpu}\n`);
  progress.step("remaking the ext4 root image with the snapshot");
  await makeImage();
  // A short name for the CPU line, for humans and `hako check`.
  const key = createHash("md5").update(made.cpu).digest("hex");
  log.info("agent startup snapshot made", {
    subsystem: "image",
    key,
    bytes: made.blob.length,
    ms: Date.now() - started,
  });
  return { tree, snapshot: { key, path: `/${GUEST_SNAPSHOT_BLOB}`, size: made.blob.length } };
}
