// The file source: first load, reload, change detection (including editors that replace the file), a missing file,
// a signing key it cannot honour, and what it logs (never the policy's text).
import t from 'tap';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, silentLogger } from '../core/log.js';
import { resolveConfig } from '../core/config.js';
import { createPolicyProvider } from '../core/policy/provider.js';
import { createFilePolicySource } from '../core/policy/source-file.js';
import type { DecisionRequest, PolicyProvider } from '../core/policy/types.js';
import { until } from './support/wait.js';
import { tempDir } from './support/temp-dir.js';

const policy = (profile: string, reason = 'the reason text') => `version: "1"
rules:
  - name: rule-for-${profile}
    effect: allow
    conditions: { profiles: [${profile}] }
    reason: ${reason}
`;

const req = (profile: string): DecisionRequest => ({
  user: 'alice',
  profile,
  time: new Date(),
  mode: 'server',
  sessionStore: 'memory',
});

t.test('loads at start; the version is the sha256 prefix; reload() picks up changes', async (t) => {
  const dir = tempDir(t, 'sentinel-policy-file-');
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, policy('dev'));
  const source = createFilePolicySource({ file, log: silentLogger(), watch: false });
  t.teardown(() => source.close());
  await source.start();
  const s = source.status();
  t.equal(s.source, 'file');
  t.equal(s.location, file);
  t.match(s.version, /^[0-9a-f]{12}$/);
  t.equal(s.rules, 1);
  t.equal(s.lastError, null);
  t.match(s.loadedAt, /^\d{4}-\d\d-\d\dT/);
  const d = source.decide(req('dev'));
  t.equal(d.allowed, true);
  t.equal(d.policySource, `file:${file}`);
  t.equal(d.policyVersion, s.version);

  writeFileSync(file, policy('prod'));
  const s2 = await source.reload();
  t.not(s2.version, s.version);
  t.equal(source.decide(req('dev')).allowed, false);
  t.equal(source.decide(req('prod')).allowed, true);
});

t.test(
  'a missing file: every request is PolicyUnavailable, naming the file and how to create it; creating it is noticed',
  async (t) => {
    const dir = tempDir(t, 'sentinel-policy-file-');
    const file = join(dir, 'policy.yaml');
    const source = createFilePolicySource({ file, log: silentLogger(), debounceMs: 50 });
    t.teardown(() => source.close());
    await source.start();
    const d = source.decide(req('dev'));
    t.equal(d.allowed, false);
    t.equal(d.errorCode, 'PolicyUnavailable');
    t.equal(d.ruleIndex, -1);
    t.equal(d.policyVersion, null);
    t.match(d.reason, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} does not exist`));
    t.match(d.reason, /Create it/);
    t.match(source.status().lastError, /does not exist/);

    writeFileSync(file, policy('dev'));
    await until(
      () => source.status(),
      (s) => s.version !== null,
    );
    t.equal(source.decide(req('dev')).allowed, true, 'the watcher loaded the new file');
  },
);

t.test('an editor that writes a new file and renames it over the old one is noticed', async (t) => {
  const dir = tempDir(t, 'sentinel-policy-file-');
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, policy('dev'));
  const source = createFilePolicySource({ file, log: silentLogger(), debounceMs: 50 });
  t.teardown(() => source.close());
  await source.start();
  const first = source.status().version;
  const tmp = join(dir, '.policy.yaml.swp');
  writeFileSync(tmp, policy('staging'));
  renameSync(tmp, file);
  const s = await until(
    () => source.status(),
    (x) => x.version !== first,
  );
  t.equal(s.lastError, null);
  t.equal(source.decide(req('staging')).allowed, true);
  t.equal(source.decide(req('dev')).allowed, false);

  // A change to another file in the directory does not matter, and a bad edit keeps the good policy.
  writeFileSync(join(dir, 'other.yaml'), 'not a policy');
  writeFileSync(file, 'version: "1"\nrules: []\n');
  const bad = await until(
    () => source.status(),
    (x) => x.lastError !== null,
  );
  t.equal(bad.version, s.version);
  t.equal(source.decide(req('staging')).allowed, true);
});

t.test('config policy.signing_key with a file source and no <file>.sig refuses the policy', async (t) => {
  const dir = tempDir(t, 'sentinel-policy-file-');
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, policy('dev'));
  const config = resolveConfig(
    { policy: { file, signing_key: 'arn:aws:kms:us-east-1:111122223333:key/abc' } },
    join(dir, 'config.yaml'),
    { HOME: dir },
  );
  const provider = createPolicyProvider(config, { log: silentLogger(), stateDir: dir });
  t.teardown(() => provider.close());
  await provider.start();
  const d = provider.decide(req('dev'));
  t.equal(d.allowed, false);
  t.equal(d.errorCode, 'PolicyUnavailable');
  t.match(provider.status().lastError, /signing_key is set, but there is no signature .*policy\.yaml\.sig/);
});

t.test(
  'createPolicyProvider reads config.policy.file; the log records loads and refusals, never policy text',
  async (t) => {
    const dir = tempDir(t, 'sentinel-policy-file-');
    mkdirSync(join(dir, 'conf'));
    const file = join(dir, 'conf', 'policy.yaml');
    writeFileSync(file, policy('dev', 'do-not-log-this-reason'));
    const lines: string[] = [];
    const log = createLogger({ destination: { write: (s: string) => void lines.push(s) }, level: 'debug' });
    const config = resolveConfig({ policy: { file } }, join(dir, 'config.yaml'), { HOME: dir });
    const provider = createPolicyProvider(config, { log });
    t.teardown(() => provider.close());
    await provider.start();
    t.equal(provider.decide(req('dev')).allowed, true);
    writeFileSync(
      file,
      'version: "1"\nrules:\n  - name: do-not-log-this-name\n    effect: alllow\n    conditions: { profiles: [dev] }\n',
    );
    await provider.reload();
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const loaded = entries.find((e) => e.msg === 'policy loaded');
    t.ok(loaded, 'a load is logged');
    t.equal(loaded?.policySource, `file:${file}`);
    t.equal(loaded?.rules, 1);
    const refused = entries.find((e) => typeof e.msg === 'string' && e.msg.startsWith('policy refused'));
    t.ok(refused, 'a refusal is logged');
    t.equal(refused?.line, 4, 'with the position of the problem');
    const all = lines.join('\n');
    t.notMatch(all, /do-not-log-this/, 'no policy text in the log');
    t.notMatch(all, /alllow/, 'not even the bad value');
  },
);
