// Builds small Go programs for tests in GOPATH mode against Debian's packaged Go sources (/usr/share/gocode), with
// no network. Binaries and the build cache live under .cache/go/, keyed by a hash of the sources, so a second run
// starts at once.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const cacheRoot = join(repoRoot, ".cache", "go");
const systemGopath = "/usr/share/gocode";

/** The `go version` line, or undefined when no Go toolchain is installed. */
export function goVersion(): string | undefined {
  const out = spawnSync("go", ["version"], { encoding: "utf8" });
  return out.status === 0 ? out.stdout.trim() : undefined;
}

/** Why Go tests cannot run here (for `skip`), or undefined when they can. */
export function goMissingReason(): string | undefined {
  if (goVersion() === undefined) return "go is not installed (apt-get install golang-go)";
  if (!existsSync(systemGopath)) return `${systemGopath} is missing (apt-get install golang-go and the -dev packages)`;
  return undefined;
}

/** Environment for `go` in GOPATH mode: Debian's sources plus an empty first entry, offline, cache under .cache. */
export function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GO111MODULE: "off",
    GOPATH: `${join(cacheRoot, "gopath")}:${systemGopath}`,
    GOCACHE: join(cacheRoot, "build-cache"),
    GOFLAGS: "",
    GOPROXY: "off",
    GOTOOLCHAIN: "local",
    CGO_ENABLED: "0",
  };
}

/**
 * Builds the main package in `sourceDir` (a directory of .go files) and returns the binary's path. Rebuilds only
 * when the sources or the Go version changed.
 */
export function buildGoProgram(sourceDir: string): string {
  const dir = resolve(sourceDir);
  const hash = createHash("sha256").update(goVersion() ?? "");
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith(".go")) continue;
    hash
      .update(name)
      .update("\0")
      .update(readFileSync(join(dir, name)));
  }
  const binDir = join(cacheRoot, "bin");
  const binary = join(binDir, `${basename(dir)}-${hash.digest("hex").slice(0, 16)}`);
  if (existsSync(binary)) return binary;
  mkdirSync(binDir, { recursive: true });
  mkdirSync(join(cacheRoot, "gopath"), { recursive: true });
  // Build to a private name, then rename: concurrent test files may build the same program.
  const partial = `${binary}.${process.pid}.tmp`;
  const out = spawnSync("go", ["build", "-o", partial, "."], { cwd: dir, env: goEnv(), encoding: "utf8" });
  if (out.status !== 0) {
    throw new Error(`go build in ${dir} failed (status ${out.status}):\n${out.stderr}${out.error?.message ?? ""}`);
  }
  renameSync(partial, binary);
  return binary;
}
