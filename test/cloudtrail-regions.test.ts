// core/cloudtrail/regions.ts on its own: the region list's checks (pages that loop, lists that never end) and the
// per-region runner's bound and classification, which the CLI tests reach only through 12 regions.
import t from 'tap';
import { SentinelError } from '../core/errors.js';
import {
  REGIONS_PATH,
  forEachRegion,
  isRegionName,
  listRegions,
  regionListSource,
} from '../core/cloudtrail/regions.js';

const param = (r: string) => ({ Name: `${REGIONS_PATH}/${r}`, Value: r });

t.test('at most 8 regions at once; each outcome in the list order, classified', async (t) => {
  const regions = Array.from({ length: 20 }, (_, i) => `eu-test-${i + 1}`);
  let now = 0;
  let most = 0;
  const outcomes = await forEachRegion(regions, async (region) => {
    most = Math.max(most, ++now);
    await new Promise((r) => setTimeout(r, 5));
    now--;
    if (region === 'eu-test-3') {
      throw new SentinelError('CloudTrailUnavailable', 'refused', {
        cause: Object.assign(new Error('The security token included in the request is invalid.'), {
          name: 'UnrecognizedClientException',
        }),
      });
    }
    if (region === 'eu-test-4') throw new SentinelError('CloudTrailUnavailable', 'down (InternalServerError)');
    if (region === 'eu-test-5') throw new SentinelError('AwsAccessDenied', 'not allowed');
    return region.length;
  });
  t.equal(most, 8, 'bounded at 8, and 8 used');
  t.same(
    outcomes.map((o) => o.region),
    regions,
  );
  t.match(outcomes[2], { status: 'not_enabled' });
  t.match(outcomes[3], { status: 'failed', code: 'CloudTrailUnavailable' });
  t.match(
    outcomes[4],
    { status: 'failed', code: 'AwsAccessDenied' },
    'access denied in a region is a failure, not a skip',
  );
  t.match(outcomes[0], { status: 'ok', value: 9 });
});

t.test('the region list: paged, checked, refused whole when it loops, never ends or is not AWS-shaped', async (t) => {
  const pages: Record<string, { Parameters: Array<{ Name?: string; Value?: string }>; NextToken?: string }> = {
    '': { Parameters: [param('us-east-1'), param('eu-west-1')], NextToken: 'p2' },
    p2: { Parameters: [param('us-gov-west-1'), param('us-east-1')] },
  };
  t.same(await listRegions(async (tok) => pages[tok ?? '']!), ['eu-west-1', 'us-east-1', 'us-gov-west-1']);

  await t.rejects(
    listRegions(async () => ({ Parameters: [param('us-east-1')], NextToken: 'same' })),
    {
      code: 'AwsCallFailed',
      message: /NextToken it had already given/,
    },
  );
  let n = 0;
  await t.rejects(
    listRegions(async () => ({ Parameters: [], NextToken: `t${n++}` })),
    { message: /more than 100 pages/ },
  );
  let m = 0;
  await t.rejects(
    listRegions(async () => ({
      Parameters: Array.from({ length: 10 }, () => param(`xx-test-${m++}`)),
      NextToken: `t${m}`,
    })),
    { message: /more than 200 regions/ },
  );
  await t.rejects(
    listRegions(async () => ({ Parameters: [{ Name: `${REGIONS_PATH}/us-east-1` }] })),
    {
      message: /not a region code/,
    },
  );
  await t.rejects(
    listRegions(async () => ({})),
    { message: /no region at all/ },
  );
  for (const bad of [
    '../x',
    'us-east-1.evil.example',
    'US-EAST-1',
    'us-east-1 ',
    'a'.repeat(10240),
    'xx-' + 'a'.repeat(40) + '-1',
  ])
    t.equal(isRegionName(bad), false, JSON.stringify(bad.slice(0, 50)));
});

t.test('the list is asked where AWS answers it', async (t) => {
  t.equal(regionListSource('eu-west-1'), 'eu-west-1');
  t.equal(regionListSource('ca-west-1'), 'us-east-1', 'a region AWS does not answer the path in');
});
