// `hako logs SANDBOX`: the guest's serial console (kernel messages, the agent's early output, panics), from the
// file QEMU appends it to. `--follow` keeps printing while the sandbox runs.
import { createReadStream, existsSync, statSync } from "node:fs";
import { Command } from "@commander-js/extra-typings";
import { notFound } from "../common/errors.js";
import { isAlive } from "../runtime/cleanup.js";
import { nonNegativeInteger } from "./option-values.js";
import { findSandbox } from "./sandboxes.js";

function copyRange(path: string, start: number, end: number): Promise<void> {
  if (end <= start) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const s = createReadStream(path, { start, end: end - 1 });
    s.on("error", reject);
    s.on("end", () => resolve());
    s.pipe(process.stdout, { end: false });
  });
}

/** Prints the log, then (when following) whatever is appended until the owner or the file is gone. */
export async function printConsoleLog(
  path: string,
  options: { follow: boolean; tailBytes?: number; alive: () => boolean },
) {
  if (!existsSync(path)) throw notFound(`console log ${path} does not exist`);
  let size = statSync(path).size;
  const from = options.tailBytes === undefined ? 0 : Math.max(0, size - options.tailBytes);
  await copyRange(path, from, size);
  while (options.follow && options.alive() && existsSync(path)) {
    await new Promise((r) => setTimeout(r, 250));
    const now = existsSync(path) ? statSync(path).size : size;
    await copyRange(path, size, now);
    size = now;
  }
}

export function logsCommand() {
  return new Command("logs")
    .description("print a sandbox's guest console log")
    .argument("<sandbox>", "sandbox id or unique prefix")
    .option("-f, --follow", "keep printing new output while the sandbox runs", false)
    .option("--tail-bytes <n>", "print only the last n bytes first", nonNegativeInteger)
    .action(async (id, opts) => {
      const { state } = await findSandbox(id);
      if (!state.vm) throw notFound(`sandbox ${state.id} has no VM recorded yet`);
      await printConsoleLog(state.vm.consoleLog, {
        follow: opts.follow,
        ...(opts.tailBytes === undefined ? {} : { tailBytes: opts.tailBytes }),
        alive: () => isAlive(state.ownerPid),
      });
    });
}
