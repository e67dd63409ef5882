// Build progress for humans: on a terminal one line that updates in place per step; otherwise (CI, pipes) one log
// line per step on stderr (the CLI's logger: `hako: …`, or JSON with HAKO_LOG_FORMAT=json).
import type { Logger } from "../common/log.js";

export interface Progress {
  /** A new step starts (the previous one is done). */
  step(message: string): void;
  /** Something worth telling between steps (why a rebuild happens, what was left out). */
  note(message: string, fields?: Record<string, unknown>): void;
  /** The build finished; `message` sums it up. */
  done(message: string): void;
  /** The build failed: leave the terminal line intact. */
  fail(): void;
}

export function createProgress(log: Logger, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  if (!stream.isTTY) {
    return {
      step: (message) => log.info(message, { subsystem: "image" }),
      note: (message, fields) => log.info(message, { subsystem: "image", ...fields }),
      done: (message) => log.info(message, { subsystem: "image", elapsed: elapsed() }),
      fail: () => {},
    };
  }
  let n = 0;
  let open = false;
  const line = (text: string) => {
    const width = Math.max(20, (stream.columns || 80) - 1);
    stream.write(`\r\x1b[K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    open = true;
  };
  return {
    step: (message) => line(`hako image [${++n}] ${message} (${elapsed()})`),
    note: (message, fields) => {
      const extra = fields ? Object.values(fields).map((v) => (Array.isArray(v) ? v.join(",") : String(v))) : [];
      stream.write(`\r\x1b[Khako image: ${[message, ...extra].join(": ")}\n`);
      open = false;
    },
    done: (message) => {
      stream.write(`\r\x1b[Khako image: ${message} (${elapsed()})\n`);
      open = false;
    },
    fail: () => {
      if (open) stream.write("\n");
      open = false;
    },
  };
}

/** A progress reporter that says nothing: for library callers and tests. */
export const silentProgress: Progress = { step: () => {}, note: () => {}, done: () => {}, fail: () => {} };
