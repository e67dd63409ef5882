// hako-runtime: a runc-compatible OCI runtime command line whose containers run in hako VMs, for callers that drive
// an OCI runtime binary (podman through conmon, docker through containerd's runc shim, cri-o). Global flags, then
// one verb (one file each under verbs/); errors go to stderr and to --log, and exit 1, as runc's do.
import { appendFileSync } from "node:fs";
import { Code, HakoError } from "../common/errors.js";
import { VERSION } from "../common/version.js";
import { parseArgs } from "./args.js";
import { contextFrom, GLOBAL_FLAGS, type RuntimeContext } from "./context.js";
import { daemon, standIn } from "./internal-verbs.js";
import type { Verb } from "./verb.js";
import { create } from "./verbs/create.js";
import { deleteVerb } from "./verbs/delete.js";
import { events } from "./verbs/events.js";
import { exec } from "./verbs/exec.js";
import { features } from "./verbs/features.js";
import { kill } from "./verbs/kill.js";
import { list } from "./verbs/list.js";
import { pause, resume } from "./verbs/pause.js";
import { ps } from "./verbs/ps.js";
import { spec } from "./verbs/spec.js";
import { start } from "./verbs/start.js";
import { OCI_VERSION, state } from "./verbs/state.js";
import { update } from "./verbs/update.js";

const PUBLIC: Verb[] = [
  create,
  start,
  state,
  kill,
  deleteVerb,
  exec,
  ps,
  list,
  pause,
  resume,
  update,
  events,
  features,
  spec,
];
const VERBS = new Map<string, Verb>([...PUBLIC, daemon, standIn].map((v) => [v.name, v]));

function usage(): string {
  const verbs = PUBLIC.map((v) => `  ${v.name.padEnd(10)} ${v.summary}`).join("\n");
  return `usage: hako-runtime [global flags] <command> [flags] [arguments]

A runc-compatible OCI runtime whose containers run in hako VMs (one VM per container, or per pod when CRI or cri-o
annotations say so).

commands:
${verbs}

global flags:
  --root DIR          state directory (default /run/hako-runtime)
  --log FILE          log file (default: stderr)
  --log-format FMT    text or json
  --debug             debug logging
  --systemd-cgroup    accepted: the guest places the container in its own cgroup
  --rootless VALUE, --criu PATH
                      accepted and ignored (runc's; nothing of them applies in a VM)
  --version, -v       print the version
`;
}

function verbUsage(v: Verb): string {
  return `usage: hako-runtime ${v.name} ${v.usage}\n\n${v.summary}\n`;
}

async function main(argv: string[]): Promise<number | undefined> {
  let global: ReturnType<typeof parseArgs>;
  try {
    global = parseArgs(argv, GLOBAL_FLAGS, { flagsEndAfter: 1 });
  } catch (err) {
    process.stderr.write(`hako-runtime: ${(err as Error).message}\n${usage()}`);
    return 1;
  }
  if (global.flags.get("version") === true) {
    process.stdout.write(`hako-runtime version ${VERSION}\nspec: ${OCI_VERSION}\n`);
    return 0;
  }
  const [name, ...rest] = global.positional;
  if (!name || global.flags.get("help") === true || name === "help") {
    process.stdout.write(usage());
    return name || global.flags.get("help") === true ? 0 : 1;
  }
  const verb = VERBS.get(name);
  if (!verb) {
    process.stderr.write(`hako-runtime: unknown command ${JSON.stringify(name)}\n${usage()}`);
    return 1;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(verbUsage(verb));
    return 0;
  }
  let ctx: RuntimeContext;
  try {
    ctx = contextFrom(global);
  } catch (err) {
    process.stderr.write(`hako-runtime: ${(err as Error).message}\n`);
    return 1;
  }
  // Which verbs and flags callers use: one line per call in their log (runc's logs are theirs to read), and in
  // $HAKO_RUNTIME_CALL_LOG when set (callers such as podman give no --log; the environment reaches us through them).
  if (verb !== standIn && verb !== daemon) {
    ctx.log[ctx.logPath ? "info" : "debug"]("called", { argv });
    const callLog = process.env.HAKO_RUNTIME_CALL_LOG;
    if (callLog) appendFileSync(callLog, `${JSON.stringify({ time: new Date().toISOString(), argv })}\n`);
  }
  try {
    const args = parseArgs(
      rest,
      verb.flags,
      verb.flagsEndAfter === undefined ? {} : { flagsEndAfter: verb.flagsEndAfter },
    );
    return await verb.run(ctx, args);
  } catch (err) {
    const e = HakoError.from(err);
    ctx.log.error(e.message, { verb: verb.name, code: Code[e.code] });
    if (ctx.logPath) process.stderr.write(`${e.message}\n`);
    return 1;
  }
}

void main(process.argv.slice(2)).then((status) => {
  // A verb that keeps serving (daemon) resolves to undefined; every other one ends the process with its status, even
  // if a handle (a closed daemon connection's timer) would keep the event loop alive a little longer.
  if (status !== undefined) process.exit(status);
});
