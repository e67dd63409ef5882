// The image build's root filesystem: the guest tree (busybox, node, crun, the agent, koffi, modules, image.json)
// laid out in a staging directory, koffi checked to load from it, and the ext4 image made from it.
import { join } from "node:path";
import { makeExt4 } from "./ext4.js";
import { type HostBinaries, rootTree, type StagedModule } from "./guest-tree.js";
import type { Resolved } from "./inputs.js";
import { GUEST_LIB_DIR, verifyKoffi } from "./koffi.js";
import { ASSET_NAMES, canonicalJson } from "./manifest.js";
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

/** Writes `work`/ASSET_NAMES.rootfs (staged under `scratch`/root) and returns the root's tree. */
export async function buildRootfs(
  r: Resolved,
  treeInput: TreeInput,
  work: string,
  scratch: string,
  progress: Progress,
): Promise<FsTree> {
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
  progress.step("making the ext4 root image");
  await makeExt4({
    stagingDir: staging,
    tree,
    out: join(work, ASSET_NAMES.rootfs),
    epoch: inputs.epoch,
    // Paths of the inputs do not matter, their content does.
    seed: canonicalJson([inputs.builder, inputs.kernel, inputs.modules, inputs.hostFilesSha256, inputs.epoch]),
  });
  return tree;
}
