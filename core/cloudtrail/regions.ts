// `--all-regions` for the CloudTrail audits (DESIGN §15): CloudTrail's event history is per region, so an audit of the
// regions someone thought to list misses a forged stamp used anywhere else. The list comes from AWS (the SSM public
// parameters under /aws/service/global-infrastructure/regions), is checked before any name in it builds an endpoint,
// and each region is read on its own: a region the account has not enabled is skipped and says so, any other failure
// is reported for that region and makes the audit incomplete, never clean.
import { SentinelError } from '../errors.js';

export const REGIONS_PATH = '/aws/service/global-infrastructure/regions';
/** Regions read at once; each region is still paced to LookupEvents' 2 requests per second. */
export const REGION_CONCURRENCY = 8;
/** AWS has about 40 regions; a list many times longer is not AWS's. */
const MAX_REGIONS = 200;
const MAX_PAGES = 100;

/** An AWS region code (us-east-1, us-gov-west-1, ap-southeast-7): nothing that could change an endpoint's host. */
export function isRegionName(s: string): boolean {
  return s.length <= 32 && /^[a-z]{2}(-[a-z]+)+-\d+$/.test(s);
}

/** Where the regions path can be read: AWS answers it only in these regions (the SSM user guide's list). */
const SERVING_REGIONS = new Set([
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ap-east-1',
  'ap-south-1',
  'ap-northeast-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-northeast-1',
  'ca-central-1',
  'eu-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-north-1',
  'sa-east-1',
]);

/** The region to ask for the list: the caller's own when AWS answers the path there, else us-east-1. */
export function regionListSource(home: string): string {
  return SERVING_REGIONS.has(home) ? home : 'us-east-1';
}

export interface ParametersPage {
  Parameters?: Array<{ Name?: string; Value?: string }>;
  NextToken?: string;
}

/**
 * Every region of the list, sorted, read page by page with `getPage` (GetParametersByPath, not recursive: the
 * children of the path are /…/regions/<code>, each with its code as value). A name or value that is not a region
 * code, a name that does not match its value, a repeated page token or an endless list refuses the whole list: a
 * partial or doctored list would audit less than "all regions" while saying it did.
 */
export async function listRegions(getPage: (nextToken?: string) => Promise<ParametersPage>): Promise<string[]> {
  const regions = new Set<string>();
  const seen = new Set<string>();
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await getPage(token);
    if (++pages > MAX_PAGES) throw refused(`more than ${MAX_PAGES} pages`);
    for (const p of page.Parameters ?? []) {
      const value = typeof p.Value === 'string' ? p.Value : '';
      if (!isRegionName(value)) {
        throw refused(
          `a value that is not a region code (${JSON.stringify(value.slice(0, 40))}${value.length > 40 ? '…' : ''})`,
        );
      }
      if (p.Name !== `${REGIONS_PATH}/${value}`)
        throw refused(`a parameter whose name does not match its value ${value}`);
      regions.add(value);
      if (regions.size > MAX_REGIONS) throw refused(`more than ${MAX_REGIONS} regions`);
    }
    token = page.NextToken;
    if (token !== undefined) {
      if (seen.has(token)) throw refused('a NextToken it had already given (its pages loop)');
      seen.add(token);
    }
  } while (token);
  if (regions.size === 0) throw refused('no region at all');
  return [...regions].sort();
}

function refused(what: string): SentinelError {
  return new SentinelError('AwsCallFailed', `SSM's list of AWS regions (${REGIONS_PATH}) answered ${what}: refused`, {
    hint: 'Nothing was audited. Name the regions with --region instead, and check which endpoint answers for SSM (AWS_ENDPOINT_URL_SSM, a proxy).',
  });
}

/**
 * The codes CloudTrail (AWS JSON 1.1) answers when the request's credentials are not valid in the region: a region
 * the account has not enabled (an opt-in region) answers UnrecognizedClientException ("The security token included
 * in the request is invalid", HTTP 400); services of the Query protocol say InvalidClientTokenId (HTTP 403).
 */
const NOT_ENABLED_CODES = new Set(['UnrecognizedClientException', 'InvalidClientTokenId']);

export function isNotEnabledError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const name = (e as { name?: unknown }).name;
    if (typeof name === 'string' && NOT_ENABLED_CODES.has(name)) return true;
  }
  return false;
}

export type RegionOutcome<T> =
  | { region: string; status: 'ok'; value: T }
  | { region: string; status: 'not_enabled'; error: string }
  | { region: string; status: 'failed'; error: string; code: string };

/** `work` for each region, at most `concurrency` at once; every region's outcome, in the regions' order. */
export async function forEachRegion<T>(
  regions: readonly string[],
  work: (region: string) => Promise<T>,
  concurrency = REGION_CONCURRENCY,
): Promise<RegionOutcome<T>[]> {
  const out: RegionOutcome<T>[] = new Array(regions.length);
  let next = 0;
  const worker = async () => {
    while (next < regions.length) {
      const i = next++;
      const region = regions[i]!;
      try {
        out[i] = { region, status: 'ok', value: await work(region) };
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        out[i] = isNotEnabledError(err)
          ? { region, status: 'not_enabled', error: message }
          : {
              region,
              status: 'failed',
              error: message,
              code: err instanceof SentinelError ? err.code : 'InternalError',
            };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, regions.length) }, worker));
  return out;
}
