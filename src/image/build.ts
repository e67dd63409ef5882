// `hako image build` as a library call: resolves the inputs, skips the build when the manifest says nothing changed
// (--if-changed), otherwise builds vmlinux, the tiny initrd, the DAX root image (and optionally the initrd-only
// variant) into a scratch directory beside the assets and moves them into place, manifest last. The root image gets
// the agent's startup snapshot, made in a boot of the fresh image (agent-snapshot.ts). Each step is its own
// file: inputs.ts, stage-modules.ts, initrd-builder.ts, rootfs-builder.ts, install.ts.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { silentLogger } from "../common/log.js";
import { fullInitrdTree, initrdTree } from "./guest-tree.js";
import { writeInitrd } from "./initrd-builder.js";
import { type BuildOptions, defaultCacheDir, resolveInputs } from "./inputs.js";
import { installAssets } from "./install.js";
import { ASSET_NAMES, describeKernel, type Manifest, readManifest, staleReason } from "./manifest.js";
import { silentProgress } from "./progress.js";
import { buildRootfs } from "./rootfs-builder.js";
import { stageKernel } from "./stage-modules.js";

export { type BuildOptions, DEFAULT_EPOCH, defaultCacheDir, findProjectDir, parseExtraFile } from "./inputs.js";

export const DEFAULT_ASSETS_DIR = "/var/lib/hako";

export interface BuildResult {
  skipped: boolean;
  outputDir: string;
  manifest: Manifest;
}

/** Builds (or, with ifChanged, possibly skips) the guest assets. */
export async function buildImage(o: BuildOptions = {}): Promise<BuildResult> {
  const log = (o.log ?? silentLogger).child({ subsystem: "image" });
  const progress = o.progress ?? silentProgress;
  const outputDir = resolve(o.outputDir ?? DEFAULT_ASSETS_DIR);
  const cacheDir = resolve(o.cacheDir ?? defaultCacheDir());
  try {
    progress.step("resolving inputs");
    const r = await resolveInputs(o, cacheDir, log);
    const { inputs } = r;
    if (o.ifChanged) {
      progress.step("checking the existing image");
      const current = readManifest(outputDir);
      const why = await staleReason(outputDir, current, inputs);
      if (!why && current) {
        progress.done(`guest image in ${outputDir} is up to date`);
        return { skipped: true, outputDir, manifest: current };
      }
      progress.note("rebuilding the guest image", { reason: why ?? "unknown" });
    }
    mkdirSync(outputDir, { recursive: true });
    mkdirSync(cacheDir, { recursive: true });
    const work = mkdtempSync(join(outputDir, ".build-"));
    const scratch = mkdtempSync(join(tmpdir(), "hako-image-"));
    try {
      const kernel = await stageKernel(r, cacheDir, join(work, ASSET_NAMES.kernel), scratch, progress, log);
      const { modules } = kernel;
      const treeInput = {
        bins: r.bins,
        release: kernel.release,
        modules,
        modulesDep: kernel.modulesDep,
        modulesBuiltin: kernel.modulesBuiltin,
      };
      progress.step("writing the initrd");
      await writeInitrd(initrdTree(treeInput), join(work, ASSET_NAMES.initrd), inputs.epoch, inputs.initrdCompression);

      const { tree, snapshot } = await buildRootfs(r, treeInput, work, scratch, progress, log);
      if (inputs.initrdFull) {
        progress.step("writing the initrd-only variant");
        await writeInitrd(
          fullInitrdTree(tree),
          join(work, ASSET_NAMES.initrdFull),
          inputs.epoch,
          inputs.initrdCompression,
        );
      }

      const manifest = await installAssets(inputs, kernel, work, outputDir, progress, snapshot);
      progress.done(
        `guest image built in ${outputDir} (kernel ${kernel.release}: ${describeKernel(inputs.kernel)}, ${modules.length} modules)`,
      );
      return { skipped: false, outputDir, manifest };
    } finally {
      rmSync(work, { recursive: true, force: true });
      rmSync(scratch, { recursive: true, force: true });
    }
  } catch (err) {
    progress.fail();
    throw err;
  }
}
