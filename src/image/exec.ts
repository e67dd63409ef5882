// Runs the host tools the image builder relies on (apt-get, dpkg, lz4, mkfs.ext4, ldd…) and turns their failures
// into HakoErrors that name the command, so a broken build says which step and tool went wrong.
import { spawn } from "node:child_process";
import { Code, HakoError } from "../common/errors.js";

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Bytes written to the command's stdin. */
  input?: Uint8Array;
  /** Code of the HakoError thrown when the command fails (default Internal). */
  code?: Code;
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

/** Runs `cmd args…` to completion; throws a HakoError carrying the tail of stderr when it exits non-zero. */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input ? "pipe" : "ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (b: Buffer) => out.push(b));
    child.stderr?.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => {
      const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
      reject(
        new HakoError(
          missing ? Code.FailedPrecondition : (options.code ?? Code.Internal),
          missing ? `${cmd} is not installed (needed to build the guest image)` : `cannot run ${cmd}: ${e.message}`,
          { cause: e },
        ),
      );
    });
    if (options.input && child.stdin) {
      child.stdin.on("error", () => {}); // the command may exit before reading everything; its exit status tells
      child.stdin.end(options.input);
    }
    child.on("close", (status, signal) => {
      const stderr = Buffer.concat(err).toString("utf8");
      if (status === 0) {
        resolve({ stdout: Buffer.concat(out), stderr });
        return;
      }
      const tail = stderr.trim().split("\n").slice(-5).join("; ");
      const how = signal ? `was killed by ${signal}` : `exited with status ${status}`;
      reject(
        new HakoError(options.code ?? Code.Internal, `${cmd} ${args.join(" ")} ${how}${tail ? `: ${tail}` : ""}`, {
          fields: { command: cmd },
        }),
      );
    });
  });
}

/** Runs a command and returns its trimmed stdout as text. */
export async function runText(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  return (await run(cmd, args, options)).stdout.toString("utf8").trim();
}
