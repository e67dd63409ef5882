// The image build's last step: hash the built assets, move them from the scratch directory into place, and write the
// manifest last, so a crash in between leaves a manifest that does not match, never a false one.
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ASSET_NAMES,
  assetRecord,
  MANIFEST_FILE,
  type Manifest,
  type ManifestInputs,
  type SnapshotRecord,
} from "./manifest.js";
import type { Progress } from "./progress.js";
import type { StagedKernel } from "./stage-modules.js";

/** Moves the assets built in `work` into `outputDir` and writes their manifest; returns it. */
export async function installAssets(
  inputs: ManifestInputs,
  kernel: StagedKernel,
  work: string,
  outputDir: string,
  progress: Progress,
  snapshot?: SnapshotRecord,
): Promise<Manifest> {
  const { modules } = kernel;
  progress.step("hashing the assets");
  const names: string[] = [ASSET_NAMES.kernel, ASSET_NAMES.initrd, ASSET_NAMES.rootfs];
  if (inputs.initrdFull) names.push(ASSET_NAMES.initrdFull);
  const assets: Manifest["assets"] = {};
  for (const name of names) assets[name] = await assetRecord(join(work, name));
  const manifest: Manifest = {
    schema: 1,
    inputs,
    kernelRelease: kernel.release,
    ...(kernel.hz ? { kernelHz: kernel.hz } : {}),
    modules: modules.map((m) => m.path),
    assets,
    ...(snapshot ? { snapshot } : {}),
  };
  // Assets first, manifest last: a crash in between leaves a manifest that does not match, never a false one.
  rmSync(join(outputDir, MANIFEST_FILE), { force: true });
  for (const name of names) renameSync(join(work, name), join(outputDir, name));
  writeFileSync(join(outputDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
