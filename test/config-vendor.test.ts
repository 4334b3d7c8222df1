// `vendor:` in config.yaml (DESIGN §2, §17): an https invoke URL with its stage (plain http only to loopback), the
// API's region and the signing profile; anything else is refused by name before a daemon starts.
import t from 'tap';
import { resolveConfig } from '../core/config.js';
import { SentinelError } from '../core/errors.js';
import { FETCH_BLOCKED_PORTS, vendorUrlProblem } from '../core/vendor/url.js';

const env = { HOME: '/home/u', XDG_RUNTIME_DIR: '/run/user/1000' };
const load = (vendor: unknown) => resolveConfig({ vendor }, '/home/u/.config/sentinel/config.yaml', env);
const refusal = (vendor: unknown): SentinelError => {
  try {
    load(vendor);
  } catch (e) {
    return e as SentinelError;
  }
  throw new Error('accepted');
};

t.test('absent: no vendor', async (t) => {
  t.equal(resolveConfig({}, 'c.yaml', env).vendor, null);
  t.equal(load(null).vendor, null);
});

t.test('accepted URLs, normalised without a trailing slash', async (t) => {
  t.same(load({ url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/', region: 'eu-west-1' }).vendor, {
    url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod',
    region: 'eu-west-1',
    profile: null,
  });
  t.equal(load({ url: 'http://127.0.0.1:4567/prod', region: 'us-east-1' }).vendor?.url, 'http://127.0.0.1:4567/prod');
  t.equal(load({ url: 'http://localhost/v1stage', region: 'us-east-1' }).vendor?.url, 'http://localhost/v1stage');
  t.equal(load({ url: 'http://[::1]:80/dev', region: 'us-east-1' }).vendor?.url, 'http://[::1]:80/dev');
  t.equal(
    load({ url: 'https://api.example.com/sentinel/prod', region: 'us-east-1', profile: 'corp/sso' }).vendor?.profile,
    'corp/sso',
  );
});

t.test('hostile or wrong vendor settings are refused, naming the key and the rule', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    [
      'http to a remote host',
      { url: 'http://vendor.example.com/prod', region: 'us-east-1' },
      /vendor\.url: expected https/,
    ],
    ['http to a lookalike host', { url: 'http://127.0.0.1.evil.com/prod', region: 'us-east-1' }, /expected https/],
    ['no stage', { url: 'https://abc.execute-api.eu-west-1.amazonaws.com', region: 'eu-west-1' }, /stage/],
    ['only a slash', { url: 'https://abc.execute-api.eu-west-1.amazonaws.com/', region: 'eu-west-1' }, /stage/],
    ['control characters', { url: 'https://abc.example.com/prod\u001b[31m', region: 'eu-west-1' }, /control/],
    ['a newline', { url: 'https://abc.example.com/prod\nx', region: 'eu-west-1' }, /control/],
    ['spaces', { url: 'https://abc.example.com/pr od', region: 'eu-west-1' }, /spaces/],
    ['a query', { url: 'https://abc.example.com/prod?user=alice', region: 'eu-west-1' }, /query/],
    ['a fragment', { url: 'https://abc.example.com/prod#x', region: 'eu-west-1' }, /query or fragment/],
    ['credentials in the URL', { url: 'https://u:p@abc.example.com/prod', region: 'eu-west-1' }, /password/],
    ['another scheme', { url: 'ftp://abc.example.com/prod', region: 'eu-west-1' }, /expected https/],
    ['not a URL', { url: 'prod', region: 'eu-west-1' }, /expected a URL/],
    ['a port fetch refuses', { url: 'http://127.0.0.1:6000/prod', region: 'eu-west-1' }, /port 6000 .*another port/],
    ['another such port', { url: 'https://abc.example.com:22/prod', region: 'eu-west-1' }, /port 22 /],
    ['oversized', { url: `https://abc.example.com/${'p'.repeat(5000)}`, region: 'eu-west-1' }, /at most 2048/],
    ['no region', { url: 'https://abc.example.com/prod' }, /vendor\.region/],
    ['a bad region', { url: 'https://abc.example.com/prod', region: 'Europe' }, /vendor\.region/],
    ['a bad profile', { url: 'https://abc.example.com/prod', region: 'eu-west-1', profile: 'a b' }, /vendor\.profile/],
    ['an unknown key', { url: 'https://abc.example.com/prod', region: 'eu-west-1', stage: 'prod' }, /"vendor\.stage"/],
    ['a string', 'https://abc.example.com/prod', /vendor/],
  ];
  for (const [name, vendor, message] of cases) {
    const e = refusal(vendor);
    t.equal(e.code, 'ConfigInvalid', `${name}: ConfigInvalid`);
    t.match(e.message, message, `${name}: says why`);
    t.notOk(/[\u0000-\u001f]/.test(e.message), `${name}: the message has no control characters`);
  }
});

t.test("the blocked ports are the ones this Node's fetch refuses before it connects", async (t) => {
  // A blocked port fails with "bad port" before any connection; an open one that nothing listens on, ECONNREFUSED.
  for (const port of FETCH_BLOCKED_PORTS) {
    const e = (await fetch(`http://127.0.0.1:${port}/`).catch((x: unknown) => x)) as { cause?: { message?: string } };
    t.equal(e.cause?.message, 'bad port', `port ${port}`);
  }
  for (const port of [443, 8443, 6001]) {
    const e = (await fetch(`http://127.0.0.1:${port}/`).catch((x: unknown) => x)) as { cause?: { message?: string } };
    t.not(e.cause?.message, 'bad port', `port ${port} is not blocked`);
  }
  t.equal(vendorUrlProblem('http://127.0.0.1:8080/prod'), null, 'an ordinary port is accepted');
});
