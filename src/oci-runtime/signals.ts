// Signal arguments as runc's `kill` takes them: a number, or a name with or without "SIG", in any case.
import { constants } from "node:os";
import { invalidArgument } from "../common/errors.js";

export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n > 0 && n < 65) return n;
  } else {
    const name = text.toUpperCase().replace(/^SIG/, "");
    const n = (constants.signals as Record<string, number | undefined>)[`SIG${name}`];
    if (n !== undefined) return n;
  }
  throw invalidArgument(`unknown signal ${JSON.stringify(text)}`);
}
