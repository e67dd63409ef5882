// `hako-runtime create --bundle DIR --pid-file FILE [--console-socket SOCK] ID`: boots (or joins) the pod's VM through
// its daemon, creates the container there (not started), starts the host stand-in of its process and writes the
// stand-in's pid to --pid-file, as runc writes its container process's.
import { rename, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { Code, HakoError, invalidArgument } from "../../common/errors.js";
import { readSpec } from "../../oci/spec-file.js";
import { bool, containerId, str } from "../args.js";
import type { RuntimeContext } from "../context.js";
import { ensureDaemon } from "../daemon-client.js";
import { podIdOf } from "../pod.js";
import { checkTerminal, joinPodCgroup, makeProcessIo, spawnStandIn } from "../process-io.js";
import { containerDir, listIds, removeContainerDir, writeState } from "../state-store.js";
import type { Verb } from "../verb.js";
import { shutdownIfLast } from "./delete.js";

/** Writes a pid file whole (tmp + rename), as runc's createPidFile does: readers never see it half-written. */
export async function writePidFile(path: string, pid: number): Promise<void> {
  const tmp = `${path}.hako-${process.pid}.tmp`;
  await writeFile(tmp, String(pid));
  await rename(tmp, path);
}

export const create: Verb = {
  name: "create",
  summary: "create a container (its VM is booted or joined; its process does not run until start)",
  usage: "[--bundle DIR] [--pid-file FILE] [--console-socket SOCK] <container-id>",
  flags: [
    { names: ["bundle", "b"], kind: "string" },
    { names: ["console-socket"], kind: "string" },
    { names: ["pid-file"], kind: "string" },
    { names: ["no-pivot"], kind: "bool" },
    { names: ["no-new-keyring"], kind: "bool" },
    { names: ["preserve-fds"], kind: "string" },
  ],
  async run(ctx: RuntimeContext, args) {
    const id = containerId(args, "create");
    const bundle = resolve(str(args, "bundle") ?? process.cwd());
    const consoleSocket = str(args, "console-socket");
    const preserve = Number(str(args, "preserve-fds") ?? "0");
    if (!Number.isInteger(preserve) || preserve < 0) throw invalidArgument("--preserve-fds takes a count");
    if (preserve > 0) ctx.log.warn("--preserve-fds: extra descriptors cannot cross into the VM; ignored", { preserve });
    if (bool(args, "no-pivot") || bool(args, "no-new-keyring"))
      ctx.log.debug("--no-pivot/--no-new-keyring: no meaning in a VM");
    if ((await listIds(ctx.root)).includes(id)) {
      throw new HakoError(Code.AlreadyExists, `container with id exists: ${id}`);
    }
    const spec = await readSpec(bundle);
    const tty = spec.process?.terminal === true;
    checkTerminal(tty, consoleSocket, true);
    const podId = podIdOf(id, spec.annotations);
    const io = await makeProcessIo(ctx, id, "", tty);
    let created = false;
    const daemon = await ensureDaemon(ctx, podId).catch(async (err) => {
      await removeContainerDir(ctx.root, id);
      throw err;
    });
    try {
      await daemon.task.create({ id, bundle, terminal: tty, ...io.fifos });
      created = true;
      const pid = spawnStandIn(ctx, daemon.socket, id, "", io, consoleSocket);
      await joinPodCgroup(ctx.log, podId, pid);
      await writeState(ctx.root, {
        version: 1,
        id,
        podId,
        bundle,
        rootfs: resolve(bundle, spec.root?.path ?? "rootfs"),
        created: new Date().toISOString(),
        annotations: spec.annotations ?? {},
        pid,
        daemonSocket: daemon.socket,
        daemonPid: daemon.pid,
      });
      const pidFile = str(args, "pid-file");
      if (pidFile) await writePidFile(resolve(pidFile), pid);
      ctx.log.debug("container created", { id, pod: podId, standIn: pid, dir: containerDir(ctx.root, id) });
    } catch (err) {
      // Leave nothing: the container in the VM, the VM itself if this was its only container, our directory.
      if (created)
        await daemon.task.delete({ id }).catch((e) => ctx.log.warn("undo create: delete failed", { err: e }));
      await shutdownIfLast(ctx, { id, podId, daemonSocket: daemon.socket, daemonPid: daemon.pid }).catch((e) =>
        ctx.log.warn("undo create: daemon shutdown failed", { err: e }),
      );
      await removeContainerDir(ctx.root, id);
      throw err;
    } finally {
      daemon.close();
    }
    return 0;
  },
};
