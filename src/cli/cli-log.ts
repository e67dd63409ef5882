// How the `hako` command speaks to the person running it on stderr: each log entry as one human line
// (`hako: warning: …`, common/log.ts humanLine), and a failed command as `hako: error: … (CODE)`. HAKO_LOG_FORMAT=json
// gives the JSON log lines instead (for tools, or to see an error's stack); the shim keeps JSON for containerd's log.
import { codeName, HakoError } from "../common/errors.js";
import { createLogger, humanLine, jsonLine, type Level, type Logger, type LogSink } from "../common/log.js";

/** The logger every `hako` verb uses: human lines on stderr unless HAKO_LOG_FORMAT=json; level from HAKO_LOG_LEVEL. */
export function cliLogger(options: { level?: Level; sink?: LogSink } = {}): Logger {
  const format = process.env.HAKO_LOG_FORMAT === "json" ? jsonLine : humanLine("hako");
  return createLogger({ ...options, format });
}

/** The one line a failed `hako` command prints: the error's message and its gRPC code name. */
export function errorLine(err: unknown): string {
  const e = HakoError.from(err);
  return `hako: error: ${e.message} (${codeName(e.code)})\n`;
}
