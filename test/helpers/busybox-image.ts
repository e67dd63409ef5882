// Builds the test images entirely offline (tests and the demo have no registry): busybox from the host's
// busybox-static, and the CRI tests' pause image from a few lines of C. Each is an OCI image layout tar that
// `ctr images import` accepts; deterministic (same input → same digests) and cached, so repeated runs reuse it.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The name tests, the demo and the benchmark import the image under. */
export const BUSYBOX_IMAGE_REF = "hako.local/busybox:latest";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const defaultCacheDir = join(repoRoot, ".cache", "test-images");

export interface BusyboxImage {
  /**
   * OCI image layout tar, for `ctr images import FILE`: the manifest's `io.containerd.image.name` annotation names
   * the image. (ctr 1.6's `--index-name` makes the index the image target, and its unpack then races the garbage
   * collector and fails with "content digest … not found"; naming the manifest avoids that.)
   */
  path: string;
  /** Digest of the image manifest (what containerd records as the image target once imported). */
  manifestDigest: string;
  /** The rootfs layer alone (an uncompressed tar): useful to unpack a rootfs without containerd. */
  layerPath: string;
}

export interface BuildOptions {
  busybox?: string;
  cacheDir?: string;
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

/** Deterministic GNU tar of everything under `dir` (names sorted, mtime 0, owner root). */
async function tarDir(dir: string, out: string): Promise<void> {
  await run(
    "tar",
    [
      "--sort=name",
      "--mtime=@0",
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "--format=posix",
      "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
      "-C",
      dir,
      "-cf",
      out,
      ".",
    ],
    { maxBuffer: 16 << 20 },
  );
}

async function writeRootfs(root: string, busybox: string): Promise<void> {
  for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "proc", "sys", "dev", "tmp", "var/tmp"]) {
    await mkdir(join(root, d), { recursive: true });
  }
  await chmod(join(root, "tmp"), 0o1777);
  await chmod(join(root, "var/tmp"), 0o1777);
  await copyFile(busybox, join(root, "bin/busybox"));
  await chmod(join(root, "bin/busybox"), 0o755);
  const { stdout } = await run(busybox, ["--list-full"]);
  for (const applet of stdout.split("\n").filter(Boolean)) {
    if (applet === "bin/busybox") continue;
    const target = join(root, applet);
    if (existsSync(target)) continue;
    await mkdir(dirname(target), { recursive: true });
    // Absolute link target: the container sees /bin/busybox wherever the applet lives.
    await symlink("/bin/busybox", target);
  }
  await writeFile(
    join(root, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
  );
  await writeFile(join(root, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  await writeFile(join(root, "etc/hostname"), "busybox\n");
}

/**
 * Builds (or reuses from the cache) the busybox OCI image layout tar. The cache key is the busybox binary's
 * sha256, so an upgraded busybox-static yields a new image.
 */
export async function buildBusyboxImage(options: BuildOptions = {}): Promise<BusyboxImage> {
  const busybox = options.busybox ?? "/bin/busybox";
  const key = sha256(await readFile(busybox)).slice(0, 16);
  return buildImage({
    name: `busybox-${key}`,
    ref: BUSYBOX_IMAGE_REF,
    cmd: ["sh"],
    cacheDir: options.cacheDir ?? defaultCacheDir,
    writeRootfs: (root) => writeRootfs(root, busybox),
  });
}

/** The pod sandbox image the CRI tests give containerd (`sandbox_image`): one static `/pause` binary. */
export const PAUSE_IMAGE_REF = "hako.local/pause:3.9";

const pauseSource = join(repoRoot, "test/fixtures/pause/pause.c");

/**
 * Builds (or reuses) the pause image: test/fixtures/pause/pause.c compiled static with the host's cc, so the image
 * needs no libc. The cache key is the source's sha256.
 */
export async function buildPauseImage(options: { cacheDir?: string } = {}): Promise<BusyboxImage> {
  const key = sha256(await readFile(pauseSource)).slice(0, 16);
  return buildImage({
    name: `pause-${key}`,
    ref: PAUSE_IMAGE_REF,
    cmd: ["/pause"],
    cacheDir: options.cacheDir ?? defaultCacheDir,
    writeRootfs: async (root) => {
      await mkdir(root, { recursive: true });
      await run("cc", ["-static", "-Os", "-o", join(root, "pause"), pauseSource]);
      await run("strip", [join(root, "pause")]);
    },
  });
}

interface ImageRecipe {
  /** File name stem in the cache: changes whenever the content would. */
  name: string;
  ref: string;
  cmd: string[];
  cacheDir: string;
  writeRootfs: (root: string) => Promise<void>;
}

/** One-layer OCI image layout tar from a rootfs the recipe writes; deterministic, cached under recipe.name. */
async function buildImage(recipe: ImageRecipe): Promise<BusyboxImage> {
  const { cacheDir } = recipe;
  const path = join(cacheDir, `${recipe.name}.oci.tar`);
  const layerPath = join(cacheDir, `${recipe.name}.layer.tar`);
  const digestPath = `${path}.digest`;
  if (existsSync(path) && existsSync(layerPath) && existsSync(digestPath)) {
    return { path, layerPath, manifestDigest: (await readFile(digestPath, "utf8")).trim() };
  }

  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), "hako-image-"));
  try {
    const root = join(work, "rootfs");
    await recipe.writeRootfs(root);
    const layerTmp = join(work, "layer.tar");
    await tarDir(root, layerTmp);
    const layer = await readFile(layerTmp);
    const layerDigest = sha256(layer);

    const config = JSON.stringify({
      created: "1970-01-01T00:00:00Z",
      architecture: "amd64",
      os: "linux",
      config: {
        Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        Cmd: recipe.cmd,
        WorkingDir: "/",
      },
      rootfs: { type: "layers", diff_ids: [`sha256:${layerDigest}`] },
      history: [{ created: "1970-01-01T00:00:00Z", created_by: `hako test helper: ${recipe.name}` }],
    });
    const configDigest = sha256(config);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: `sha256:${configDigest}`,
        size: Buffer.byteLength(config),
      },
      layers: [
        { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: `sha256:${layerDigest}`, size: layer.length },
      ],
    });
    const manifestDigest = `sha256:${sha256(manifest)}`;
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: manifestDigest,
          size: Buffer.byteLength(manifest),
          platform: { architecture: "amd64", os: "linux" },
          annotations: { "org.opencontainers.image.ref.name": "latest", "io.containerd.image.name": recipe.ref },
        },
      ],
    });

    const layout = join(work, "layout");
    const blobs = join(layout, "blobs", "sha256");
    await mkdir(blobs, { recursive: true });
    await rename(layerTmp, join(blobs, layerDigest));
    await writeFile(join(blobs, configDigest), config);
    await writeFile(join(blobs, manifestDigest.slice("sha256:".length)), manifest);
    await writeFile(join(layout, "index.json"), index);
    await writeFile(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));

    // Write under temporary names and rename, so a concurrent or interrupted build never leaves a torn cache entry.
    const tmpOut = `${path}.${process.pid}.tmp`;
    await tarDir(layout, tmpOut);
    await copyFile(join(blobs, layerDigest), `${layerPath}.${process.pid}.tmp`);
    await rename(`${layerPath}.${process.pid}.tmp`, layerPath);
    await rename(tmpOut, path);
    await writeFile(digestPath, `${manifestDigest}\n`);
    return { path, layerPath, manifestDigest };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
