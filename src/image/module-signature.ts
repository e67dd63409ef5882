// Drops the signature the distribution appends to each kernel module. The guest kernel checks a signature with
// SHA-256 and RSA on every insmod, which under TCG costs about a tenth of a second across the initrd's modules;
// the modules come from the host's own image build, and the guest kernel does not enforce signatures (it only
// notes an unsigned module once, as a taint).

const MAGIC = new TextEncoder().encode("~Module signature appended~\n");
/** struct module_signature: algo, hash, id_type, signer_len, key_id_len, 3 bytes padding, then sig_len (BE u32). */
const INFO_LEN = 12;

/** The module without its appended signature; an unsigned module comes back unchanged. */
export function stripModuleSignature(module: Uint8Array): Uint8Array {
  const end = module.length - MAGIC.length;
  if (end < INFO_LEN || !MAGIC.every((b, i) => module[end + i] === b)) return module;
  const info = end - INFO_LEN;
  const view = new DataView(module.buffer, module.byteOffset, module.byteLength);
  const sigLen = view.getUint32(info + 8, false);
  if (sigLen > info) return module;
  return module.subarray(0, info - sigLen);
}
