// A busybox image as a docker-archive tar (manifest.json + config + one layer), built offline from the same rootfs
// layer as busybox-image.ts: what `docker load` (20.10 reads no OCI layout) and `podman load` both accept.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildBusyboxImage } from "./busybox-image.js";

const run = promisify(execFile);

/** The name the archive tags the image with. */
export const BUSYBOX_ARCHIVE_TAG = "hako.local/busybox:latest";

/** Builds (or reuses, next to busybox-image.ts's cache) the docker-archive; returns its path. */
export async function buildBusyboxDockerArchive(): Promise<string> {
  const image = await buildBusyboxImage();
  const path = image.layerPath.replace(/\.layer\.tar$/, ".docker.tar");
  if (existsSync(path)) return path;
  const layer = await readFile(image.layerPath);
  const diffId = createHash("sha256").update(layer).digest("hex");
  const config = JSON.stringify({
    created: "1970-01-01T00:00:00Z",
    architecture: "amd64",
    os: "linux",
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"] },
    rootfs: { type: "layers", diff_ids: [`sha256:${diffId}`] },
  });
  const configName = `${createHash("sha256").update(config).digest("hex")}.json`;
  const work = await mkdtemp(join(tmpdir(), "hako-docker-archive-"));
  try {
    await copyFile(image.layerPath, join(work, "layer.tar"));
    await writeFile(join(work, configName), config);
    const manifest = [{ Config: configName, RepoTags: [BUSYBOX_ARCHIVE_TAG], Layers: ["layer.tar"] }];
    await writeFile(join(work, "manifest.json"), JSON.stringify(manifest));
    const tmp = `${path}.${process.pid}.tmp`;
    await run("tar", ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "-C", work, "-cf", tmp, "."]);
    await rename(tmp, path);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return path;
}
