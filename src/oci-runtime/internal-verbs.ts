// hako-runtime's own verbs, which only hako-runtime runs: `daemon` (a pod's VM owner) and `stand-in` (one container
// process's host stand-in). Not listed in --help.
import { invalidArgument } from "../common/errors.js";
import { bool, str, validateId } from "./args.js";
import { runDaemon } from "./daemon.js";
import { runStandIn } from "./stand-in.js";
import type { Verb } from "./verb.js";

export const daemon: Verb = {
  name: "daemon",
  summary: "(internal) serve one pod's VM",
  usage: "--pod ID --socket PATH",
  flags: [
    { names: ["pod"], kind: "string" },
    { names: ["socket"], kind: "string" },
  ],
  async run(ctx, args) {
    const pod = str(args, "pod");
    const socket = str(args, "socket");
    if (!pod || !socket) throw invalidArgument("daemon needs --pod and --socket");
    await runDaemon(pod, socket, ctx.log);
    return undefined;
  },
};

export const standIn: Verb = {
  name: "stand-in",
  summary: "(internal) stand in for one container process on the host",
  usage: "--socket PATH --io DIR [--exec ID] [--tty] <container-id>",
  flags: [
    { names: ["socket"], kind: "string" },
    { names: ["io"], kind: "string" },
    { names: ["exec"], kind: "string" },
    { names: ["tty"], kind: "bool" },
  ],
  async run(ctx, args) {
    const [id] = args.positional;
    const socket = str(args, "socket");
    const io = str(args, "io");
    if (!id || !socket || !io) throw invalidArgument("stand-in needs --socket, --io and a container id");
    validateId(id);
    return runStandIn({ socket, id, execId: str(args, "exec") ?? "", io, tty: bool(args, "tty"), log: ctx.log });
  },
};
