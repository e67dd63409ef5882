// `hako exec SANDBOX [CMD…]`: a shell in the guest itself (not in a container), for debugging the VM. It goes through
// the debug console, which exists only when `debug_console_enabled = true` ([agent.kata]): the agent then runs a
// fresh shell per connection on a second virtio-serial port (`hako.debug.0`), which QEMU exposes on the host as a
// unix socket in the sandbox's state directory. With CMD, runs it once and prints its output and exit status;
// without, attaches the terminal to the shell.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { Command } from "@commander-js/extra-typings";
import { Code, HakoError } from "../common/errors.js";
import { debugConsolePath } from "../runtime/layout.js";
import { positiveInteger } from "./option-values.js";
import { findSandbox } from "./sandboxes.js";

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once("connect", () => resolve(s));
    s.once("error", (err) =>
      reject(
        new HakoError(Code.Unavailable, `cannot connect to debug console ${path}: ${err.message}`, { cause: err }),
      ),
    );
  });
}

/** Single-quotes each word for sh. */
export function shellJoin(words: string[]): string {
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(" ");
}

export interface ExecResult {
  output: string;
  exitCode: number;
}

/**
 * Runs one command through the console's shell. The agent starts a shell per connection, but the guest may miss a
 * disconnect followed at once by a connect, and then an earlier command's output can still arrive; so the answer is
 * framed by markers made of a fresh nonce. They are printed with printf from two halves, so that a console that
 * echoes its input never shows the whole marker before the command has actually run.
 */
export async function runOnConsole(path: string, command: string, timeoutMs = 30_000): Promise<ExecResult> {
  const nonce = randomBytes(8).toString("hex");
  const begin = `HAKO-EXEC-BEGIN-${nonce}`;
  const end = `HAKO-EXEC-END-${nonce}`;
  const socket = await open(path);
  try {
    return await new Promise<ExecResult>((resolve, reject) => {
      let buf = "";
      const timer = setTimeout(
        () =>
          reject(new HakoError(Code.DeadlineExceeded, `no answer from debug console ${path} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.on("data", (chunk: Buffer) => {
        buf += chunk.toString("utf8");
        const b = buf.indexOf(`${begin}\n`);
        if (b < 0) return;
        const m = new RegExp(`${end} (\\d+)\\n`).exec(buf.slice(b));
        if (!m) return;
        clearTimeout(timer);
        const output = buf.slice(b + begin.length + 1, b + m.index).replace(/\r\n/g, "\n");
        resolve({ output, exitCode: Number(m[1]) });
      });
      socket.once("close", () => {
        clearTimeout(timer);
        reject(new HakoError(Code.Unavailable, `debug console ${path} closed before the command finished`));
      });
      const half = (s: string) => `'${s.slice(0, 9)}' '${s.slice(9)}'`;
      socket.write(
        `printf '%s%s\\n' ${half(begin)}; ( ${command} ) </dev/null 2>&1; printf '%s%s %d\\n' ${half(end)} "$?"\n`,
      );
    });
  } finally {
    socket.destroy();
  }
}

/** Joins the terminal to the console until the user detaches (Ctrl-] ) or the console closes. */
async function attach(path: string): Promise<void> {
  const socket = await open(path);
  const stdin = process.stdin;
  process.stderr.write("connected to the guest's debug console; Ctrl-] detaches\n");
  if (stdin.isTTY) stdin.setRawMode(true);
  await new Promise<void>((resolve) => {
    const done = () => {
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      socket.destroy();
      resolve();
    };
    stdin.on("data", (b: Buffer) => {
      if (b.includes(0x1d)) return done();
      socket.write(b);
    });
    socket.on("data", (b: Buffer) => process.stdout.write(b));
    socket.once("close", done);
    socket.once("error", done);
    stdin.resume();
  });
}

export function execCommand() {
  return (
    new Command("exec")
      .description("run a command in a sandbox's guest through its debug console (debug_console_enabled)")
      .argument("<sandbox>", "sandbox id or unique prefix")
      .argument("[command...]", "command and arguments; without one, attach to the console's shell")
      .option("-t, --timeout <ms>", "how long a command may run", positiveInteger, 30_000)
      // Everything after the sandbox id is the guest command's, options included (`hako exec SB ls -l`).
      .passThroughOptions()
      .action(async (id, command, opts) => {
        const { state, stale } = await findSandbox(id);
        if (stale)
          throw new HakoError(
            Code.FailedPrecondition,
            `sandbox ${state.id} is stale: its shim (pid ${state.ownerPid}) is gone`,
          );
        const path = debugConsolePath(state.stateDir);
        if (!existsSync(path)) {
          throw new HakoError(
            Code.FailedPrecondition,
            `sandbox ${state.id} has no debug console: set debug_console_enabled = true under [agent.kata] and start the sandbox again`,
          );
        }
        if (command.length === 0) return attach(path);
        const r = await runOnConsole(path, shellJoin(command), opts.timeout);
        process.stdout.write(r.output);
        process.exitCode = r.exitCode;
      })
  );
}
