// `sentinel policy test` is how an author checks a policy before the daemon enforces it, so for the same request it must
// answer what the daemon's authorize() does: generated policies, written to a file, read once by `policy test` (the
// linear scan, in-process) and once by the daemon's file source (the compiled index) behind authorize().
import t from 'tap';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { authorize } from '../core/authorize/authorize.js';
import { noOverrides } from '../core/authorize/overrides.js';
import type { Ports } from '../core/authorize/types.js';
import { SentinelError } from '../core/errors.js';
import { silentLogger } from '../core/log.js';
import { createFilePolicySource } from '../core/policy/source-file.js';
import type { DecisionRequest } from '../core/policy/types.js';
import { policyArb, requestArb } from './support/policy-arbitraries.js';
import { sentinelInProcess } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'sentinel-policy-test-daemon-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface Verdict {
  allowed: boolean;
  rule: string | null;
  ruleIndex: number;
  errorCode: string | undefined;
}

async function daemonVerdict(file: string, req: DecisionRequest): Promise<Verdict> {
  const source = createFilePolicySource({ file, log: silentLogger(), watch: false, sessionStore: req.sessionStore });
  await source.start();
  let decided: Verdict | undefined;
  const ports: Ports = {
    policy: {
      decide: (r) => {
        const d = source.decide(r);
        decided = { allowed: d.allowed, rule: d.rule, ruleIndex: d.ruleIndex, errorCode: d.errorCode };
        return d;
      },
      policyFor: source.policyFor,
    },
    overrides: noOverrides,
    issuer: {
      issue: async (r) => ({
        credentials: { AccessKeyId: 'ASIA1', SecretAccessKey: 's', Token: 't', Expiration: new Date(9e12) },
        sourceIdentity: `sentinel-${r.user}-${r.marker}-${r.sessionId}`,
        roleArn: 'arn:aws:iam::111111111111:role/x',
        issueRequestId: r.requestId,
        fromCache: false,
      }),
    },
    decisions: { write: () => undefined },
    clock: () => req.time,
    posture: { posture: () => req.device ?? null },
    settings: { credentialDurationMs: 3600_000, sessionStore: req.sessionStore },
  };
  try {
    await authorize(
      {
        requestId: 'r1',
        sessionId: 's1',
        profile: req.profile,
        mode: req.mode,
        principal: {
          arn: `arn:aws:iam::111111111111:user/${req.user}`,
          account: '111111111111',
          type: 'user',
          rawName: req.user,
          user: req.user,
        },
      },
      ports,
    );
  } catch (e) {
    if (!(e instanceof SentinelError)) throw e;
    if (decided && decided.errorCode !== e.code) throw new Error(`authorize threw ${e.code} for ${decided.errorCode}`);
  } finally {
    await source.close();
  }
  return decided!;
}

async function cliVerdict(file: string, req: DecisionRequest, n: number): Promise<Verdict & { code: number }> {
  const args = ['policy', 'test', file, '--profile', req.profile, '--user', req.user, '--mode', req.mode];
  args.push('--time', req.time.toISOString(), '--session-store', req.sessionStore, '--json');
  if (req.device) {
    const device = join(dir, `device-${n}.json`);
    writeFileSync(device, JSON.stringify(req.device));
    args.push('--device-json', device);
  }
  const r = await sentinelInProcess(args);
  const d = JSON.parse(r.stdout).decision;
  return { code: r.code ?? -1, allowed: d.allowed, rule: d.rule, ruleIndex: d.ruleIndex, errorCode: d.errorCode };
}

t.test('policy test decides every generated request as the daemon does', async (t) => {
  let n = 0;
  let allowed = 0;
  await fc.assert(
    fc.asyncProperty(policyArb, fc.array(requestArb, { minLength: 1, maxLength: 4 }), async (policy, requests) => {
      const file = join(dir, `policy-${n}.yaml`);
      writeFileSync(file, stringify(policy));
      for (const req of requests) {
        n++;
        const daemon = await daemonVerdict(file, req);
        const cli = await cliVerdict(file, req, n);
        t.strictSame(
          { ...cli, code: undefined },
          { ...daemon, code: undefined },
          `${req.user} ${req.profile} ${req.mode} ${req.time.toISOString()}`,
        );
        t.equal(cli.code, daemon.allowed ? 0 : 3, 'exit code');
        if (daemon.allowed) allowed++;
        if (cli.allowed !== daemon.allowed || cli.rule !== daemon.rule) return false;
      }
      return true;
    }),
    { numRuns: 60 },
  );
  t.ok(allowed > 0, `${allowed} of ${n} requests allowed, the rest denied`);
});
