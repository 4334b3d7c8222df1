// vendor.url (DESIGN §2, §17): the vendor API's invoke URL, stage included, as the template outputs it. Requests to
// it carry SigV4 signatures and come back with credentials, so it must be https — plain http only to this machine
// (a local stand-in) — and it must name a stage, or every route would miss the API.
import { hasControlCharacters } from '../text/printable.js';

export const MAX_VENDOR_URL = 2048;

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
