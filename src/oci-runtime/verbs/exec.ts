// `hako-runtime exec [--process FILE | command…] [--detach] [--pid-file FILE] [--console-socket SOCK] [--tty]
// [--cwd DIR] [--env K=V]… [--user UID[:GID]] [--additional-gids GID]… ID`: runs one more process in the container.
// With --detach a stand-in is left running for it (its pid in --pid-file) and exec returns once the process runs;
// without, this process is the stand-in and exits with the process's status.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { create as createMessage } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { Code, HakoError, invalidArgument } from "../../common/errors.js";
import type { OciProcess } from "../../oci/spec.js";
import { bool, list, type ParsedArgs, str, validateId } from "../args.js";
import type { RuntimeContext } from "../context.js";
import { connectDaemon } from "../daemon-client.js";
import { checkTerminal, joinPodCgroup, makeProcessIo, spawnStandIn } from "../process-io.js";
import { runStandIn } from "../stand-in.js";
import { readState } from "../state-store.js";
import type { Verb } from "../verb.js";
import { writePidFile } from "./create.js";

/** The type URL containerd gives an exec's process spec (a JSON runtime-spec Process). */
const PROCESS_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Process";

function parseUser(text: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  if (!m) throw invalidArgument(`--user takes uid[:gid] as numbers, got ${JSON.stringify(text)}`);
  return { uid: Number(m[1]), gid: Number(m[2] ?? "0") };
}

/** The process to run: --process's JSON as is, or the container's own process with runc exec's overrides. */
async function processFrom(args: ParsedArgs, base: OciProcess | undefined, command: string[]): Promise<OciProcess> {
  const file = str(args, "process");
  if (file) {
    try {
      return JSON.parse(await readFile(resolve(file), "utf8")) as OciProcess;
    } catch (err) {
      throw HakoError.from(err, Code.InvalidArgument, `cannot read the process spec ${file}`);
    }
  }
  if (command.length === 0) throw invalidArgument("exec needs a command (or --process FILE)");
  const p: OciProcess = structuredClone(base ?? { user: { uid: 0, gid: 0 }, cwd: "/" });
  p.args = command;
  p.terminal = bool(args, "tty");
  p.env = [...(p.env ?? []), ...list(args, "env")];
  const cwd = str(args, "cwd");
  if (cwd) p.cwd = cwd;
  const user = str(args, "user");
  if (user) p.user = { ...p.user, ...parseUser(user) };
  const gids = list(args, "additional-gids").map(Number);
  if (gids.length > 0) p.user = { ...p.user, additionalGids: gids };
  if (bool(args, "no-new-privs")) p.noNewPrivileges = true;
  return p;
}

export const exec: Verb = {
  name: "exec",
  summary: "run a new process inside the container",
  usage: "[flags] <container-id> [command [args…]]",
  flagsEndAfter: 1,
  flags: [
    { names: ["console-socket"], kind: "string" },
    { names: ["cwd"], kind: "string" },
    { names: ["env", "e"], kind: "list" },
    { names: ["tty", "t"], kind: "bool" },
    { names: ["user", "u"], kind: "string" },
    { names: ["additional-gids", "g"], kind: "list" },
    { names: ["process", "p"], kind: "string" },
    { names: ["detach", "d"], kind: "bool" },
    { names: ["pid-file"], kind: "string" },
    { names: ["process-label"], kind: "string" },
    { names: ["apparmor"], kind: "string" },
    { names: ["no-new-privs"], kind: "bool" },
    { names: ["cap", "c"], kind: "list" },
    { names: ["preserve-fds"], kind: "string" },
    { names: ["cgroup"], kind: "list" },
    { names: ["ignore-paused"], kind: "bool" },
  ],
  async run(ctx: RuntimeContext, args) {
    const [id, ...command] = args.positional;
    if (!id) throw invalidArgument(`"exec" requires a container id`);
    validateId(id);
    const s = await readState(ctx.root, id);
    const spec = JSON.parse(await readFile(resolve(s.bundle, "config.json"), "utf8").catch(() => "{}")) as {
      process?: OciProcess;
    };
    const processSpec = await processFrom(args, spec.process, command);
    const tty = processSpec.terminal === true;
    const detach = bool(args, "detach");
    const consoleSocket = str(args, "console-socket");
    checkTerminal(tty, consoleSocket, detach);
    // Short: the guest agent names a terminal exec's console socket after the container and exec ids, and a 64-hex
    // container id (podman's, docker's) leaves 11 characters for the exec id within sun_path's 108 bytes.
    const execId = randomBytes(4).toString("hex");
    const io = await makeProcessIo(ctx, id, execId, tty);
    const d = await connectDaemon(s.daemonSocket);
    const spec1 = createMessage(AnySchema, {
      typeUrl: PROCESS_TYPE_URL,
      value: new TextEncoder().encode(JSON.stringify(processSpec)),
    });
    await d.task.exec({ id, execId, terminal: tty, spec: spec1, ...io.fifos });
    if (!detach) {
      await joinPodCgroup(ctx.log, s.podId, process.pid);
      await d.task.start({ id, execId });
      d.close();
      return runStandIn({ socket: s.daemonSocket, id, execId, io: io.dir, tty, log: ctx.log });
    }
    try {
      const pid = spawnStandIn(ctx, s.daemonSocket, id, execId, io, consoleSocket);
      await joinPodCgroup(ctx.log, s.podId, pid);
      await d.task.start({ id, execId });
      const pidFile = str(args, "pid-file");
      if (pidFile) await writePidFile(resolve(pidFile), pid);
    } finally {
      d.close();
    }
    return 0;
  },
};
