// RFC 6238 TOTP (HMAC-SHA-1, 6 digits, 30-second steps), as virtual MFA devices compute it and as AWS checks it. The
// STS emulator verifies codes with it against a device secret seeded per serial; tests compute the code a user would
// read off the device. Test-only: Sentinel itself never holds a device secret (AWS verifies the code, DESIGN §11).
import { createHmac } from 'node:crypto';

export const TOTP_STEP_SECONDS = 30;
export const TOTP_DIGITS = 6;

/** The step counter for a moment: floor(unix seconds / 30). */
export function totpCounter(atMs: number, stepSeconds = TOTP_STEP_SECONDS): number {
  return Math.floor(atMs / 1000 / stepSeconds);
}

/** RFC 4226 HOTP for one counter value, zero-padded to `digits`. */
export function hotp(secret: Buffer, counter: number, digits = TOTP_DIGITS): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', secret).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The code a device shows at `atMs`. */
export function totp(secret: Buffer, atMs: number, digits = TOTP_DIGITS): string {
  return hotp(secret, totpCounter(atMs), digits);
}

/** The counter `code` matches within ±`window` steps of `atMs`, or undefined. */
export function matchTotp(secret: Buffer, code: string, atMs: number, window = 1): number | undefined {
  const now = totpCounter(atMs);
  for (let c = now - window; c <= now + window; c++) {
    if (c >= 0 && hotp(secret, c) === code) return c;
  }
  return undefined;
}
