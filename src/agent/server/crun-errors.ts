// Which gRPC code a failed crun call answers with, read from crun's message text. Text because crun offers nothing
// better: it exits 1 for every failure, and its JSON log entries carry only msg, level and time, no errno or kind.
// Kept to this one table so the text matching lives in one place; a message no row matches is Internal.
import { Code } from "../../common/errors.js";

/**
 * The crun messages matched, first match wins. Each row: the pattern, the code, and the crun messages it is for
 * (crun puts strerror(errno) after a colon, so ENOENT/EEXIST/EACCES show as their text).
 */
export const CRUN_MESSAGE_CODES: readonly { pattern: RegExp; code: Code; for: string }[] = [
  {
    pattern: /does not exist|not found|No such file/i,
    code: Code.NotFound,
    for: "an unknown container id, a missing rootfs, executable or state file (ENOENT)",
  },
  { pattern: /already exists/i, code: Code.AlreadyExists, for: "create with an id crun already has (EEXIST)" },
  {
    pattern: /permission denied/i,
    code: Code.PermissionDenied,
    for: "an executable or path the process's user may not open (EACCES)",
  },
  {
    pattern: /not (running|paused|stopped)|is (running|paused|stopped)|invalid state/i,
    code: Code.FailedPrecondition,
    for: "a verb the container's state does not allow (pause a stopped one, resume a running one, delete a live one)",
  },
];

/** The code for crun's last message (lastCrunMessage in crun.ts); Internal when no row of the table matches. */
export function crunErrorCode(message: string): Code {
  return CRUN_MESSAGE_CODES.find((row) => row.pattern.test(message))?.code ?? Code.Internal;
}

/**
 * crun's message with runc's wording added where engines read it. docker 20.10 (daemon/start.go) gives a start
 * failure exit status 127 only when the message names the command and says "executable file not found" or "no such
 * file or directory" in lower case, as runc's do; crun says "executable file `X` not found in $PATH: No such file or
 * directory", which is neither, so docker answered 125. podman reads its own checks and already answers 127.
 */
export function withRuncWording(message: string): string {
  const notFound = /executable file `([^`]*)` not found in \$PATH/.exec(message);
  if (!notFound) return message;
  return `${message} (exec: "${notFound[1]}": executable file not found in $PATH)`;
}
