// vendor.url (DESIGN §2, §17): the vendor API's invoke URL, stage included, as the template outputs it. Requests to
// it carry SigV4 signatures and come back with credentials, so it must be https — plain http only to this machine
// (a local stand-in) — and it must name a stage, or every route would miss the API.
import { hasControlCharacters } from '../text/printable.js';

export const MAX_VENDOR_URL = 2048;

/** The Fetch standard's blocked ports (https://fetch.spec.whatwg.org/#block-bad-port): Node's fetch, which the bridge
 * calls the vendor with, refuses them before it connects, with no more than "fetch failed". */
export const FETCH_BLOCKED_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110,
  111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532,
  540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061,
  6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** True for hosts that never leave this machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** What is wrong with a vendor URL, or null when it can be used. */
export function vendorUrlProblem(text: string): string | null {
  if (text.length > MAX_VENDOR_URL) return `expected at most ${MAX_VENDOR_URL} characters`;
  if (hasControlCharacters(text) || /\s/.test(text)) return 'expected a URL without spaces or control characters';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'expected a URL such as https://abc123.execute-api.eu-west-1.amazonaws.com/prod';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname)))
    return 'expected https (plain http only to a loopback address such as 127.0.0.1)';
  if (url.username || url.password) return 'expected no user name or password in the URL';
  if (url.port && FETCH_BLOCKED_PORTS.has(Number(url.port)))
    return `port ${url.port} is one that fetch refuses to connect to (the Fetch standard's blocked ports): use another port`;
  if (url.search || url.hash || text.includes('?') || text.includes('#'))
    return 'expected no query or fragment: the URL is the API base, stage included';
  if (url.pathname.split('/').filter((s) => s !== '').length === 0)
    return 'expected the stage in the path, such as https://abc123.execute-api.eu-west-1.amazonaws.com/prod';
  return null;
}

/** The URL with no trailing slash, so routes append as `${url}/v1/...`. */
export function normalizeVendorUrl(text: string): string {
  return text.replace(/\/+$/, '');
}
