// The guest's random number generator, reseeded for a VM restored from a template: every clone starts with the
// template's CRNG state, so without this two clones would draw the same "random" bytes.
import { closeSync, openSync, writeSync } from "node:fs";
import { fail, load } from "./libc.js";

/** _IO('R', 0x07) from <linux/random.h>: reseed the CRNG from the input pool now (needs CAP_SYS_ADMIN). */
const RNDRESEEDCRNG = 0x5207;

/**
 * Mixes `seed` (bytes from the host) into the kernel's input pool through /dev/urandom, then forces the CRNG to
 * reseed from that pool, so that getrandom() output diverges from every other clone at once. Throws with errno.
 */
export function reseedRandom(seed: Uint8Array, device = "/dev/urandom"): void {
  const fd = openSync(device, "w");
  try {
    let off = 0;
    while (off < seed.length) off += writeSync(fd, seed, off, seed.length - off);
    if ((load().ioctl(fd, RNDRESEEDCRNG, "int", 0) as number) !== 0) throw fail("ioctl RNDRESEEDCRNG", device);
  } finally {
    closeSync(fd);
  }
}
