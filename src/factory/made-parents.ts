// The directories above template_path that `hako factory init` created for it (`mkdir -p` of a template_path whose
// parents did not exist: /run/hako-factory for the default /run/hako-factory/template), so that destroy removes
// them again. They are recorded in template_path/.made-parents, deepest first; destroy removes each only while it is
// empty, stops at the first that is not, and never removes a directory that is not recorded there: a parent that
// existed before init (a user's /var/lib/x of template_path /var/lib/x/template) is never touched.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { errnoCode } from "../common/errors.js";
import { removeIfEmpty } from "./interrupted.js";

export const MADE_PARENTS = ".made-parents";

/**
 * Creates template_path `root` and its missing parents (mode 0700) and records the parents it created. Nothing is
 * recorded when `root` existed, or only `root` itself was missing (destroy removes an empty template_path anyway).
 */
export function makeTemplatePath(root: string): void {
  const first = mkdirSync(root, { recursive: true, mode: 0o700 });
  if (first === undefined || normalize(first) === normalize(root)) return;
  const made: string[] = [];
  for (let dir = dirname(root); ; dir = dirname(dir)) {
    made.push(dir);
    if (dir === normalize(first) || dir === dirname(dir)) break;
  }
  writeFileSync(join(root, MADE_PARENTS), `${JSON.stringify({ parents: made })}\n`);
}

/**
 * The parents of `root` that init recorded as its own, deepest first: the run of `root`'s ancestors, from its
 * parent up, that the record names without a gap (a hand-edited record cannot name an unrelated directory, nor one
 * above a parent it leaves out). An absent or unreadable record is none.
 */
export function madeParents(root: string): string[] {
  let parents: unknown;
  try {
    parents = (JSON.parse(readFileSync(join(root, MADE_PARENTS), "utf8")) as { parents?: unknown }).parents;
  } catch (err) {
    if (err instanceof SyntaxError || errnoCode(err) === "ENOENT") return [];
    throw err;
  }
  if (!Array.isArray(parents)) return [];
  const named = new Set(parents.filter((p): p is string => typeof p === "string").map((p) => normalize(p)));
  const out: string[] = [];
  for (let dir = dirname(normalize(root)); dir !== dirname(dir) && named.has(dir); dir = dirname(dir)) out.push(dir);
  return out;
}

/**
 * Removes template_path `root` when nothing but hako's record is in it, then the parents init made for it, each only
 * while empty. Returns whether `root` went, and the parents removed. If another init fills `root` meanwhile, `root`
 * stays and so does the record.
 */
export function removeTemplatePath(root: string): { rootRemoved: boolean; parentsRemoved: string[] } {
  const kept = { rootRemoved: false, parentsRemoved: [] };
  if (readdirSync(root).some((name) => name !== MADE_PARENTS)) return kept;
  const parents = madeParents(root);
  const record = join(root, MADE_PARENTS);
  rmSync(record, { force: true });
  if (!removeIfEmpty(root)) {
    if (parents.length > 0) writeFileSync(record, `${JSON.stringify({ parents })}\n`);
    return kept;
  }
  const parentsRemoved: string[] = [];
  for (const dir of parents) {
    if (!removeIfEmpty(dir)) break;
    parentsRemoved.push(dir);
  }
  return { rootRemoved: true, parentsRemoved };
}
