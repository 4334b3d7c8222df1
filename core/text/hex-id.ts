// Session, request, event and key ids are 16 lowercase hex characters (DESIGN §4, §6). Checked several times on every
// credential request (the store, the issuer, the decision line), so by a loop rather than a RegExp call, which costs
// several times more for a string this short.
/** The same as a pattern, for what takes a RegExp (record kinds' idPattern, zod schemas). */
export const HEX16 = /^[0-9a-f]{16}$/;

export function isHex16(value: unknown): value is string {
  if (typeof value !== 'string' || value.length !== 16) return false;
  for (let i = 0; i < 16; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}
