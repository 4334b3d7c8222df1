// Admin commands run with a profile that has no credentials (a newcomer's first try of `permissions check --profile
// admin`, `enforce plan`, `audit verify`): the SDK sends nothing, and the error says so and names the fix (a profile
// with credentials, or a sign-in) instead of "failed (CredentialsProviderError)" with a hint about the network, rate
// limits or the very command that failed.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanEnv, sentinelInProcess, tempDir } from './support/cli.js';

t.test('no credentials for the profile: each command says so and what to do', async (t) => {
  const dir = tempDir(t, 'sentinel-no-credentials-');
  const config = join(dir, 'config');
  writeFileSync(config, '[profile base]\nregion = eu-west-1\n', { mode: 0o600 });
  const env = cleanEnv({
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, '.config'),
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const cases: Array<[string[], RegExp, number]> = [
    [['permissions', 'check', '--role', 'admin', '--profile', 'admin'], /^Error: STS GetCallerIdentity: /, 1],
    [['enforce', 'plan', '--role', 'prod-admin', '--profile', 'admin'], /error: IAM GetRole on role prod-admin: /, 2],
    [['audit', 'verify', '--since', '24h', '--profile', 'admin', '--region', 'eu-west-1'], /^Error: CloudTrail /, 2],
  ];
  for (const [args, where, code] of cases) {
    const r = await sentinelInProcess(args, { env });
    const what = args.slice(0, 2).join(' ');
    t.equal(r.code, code, `${what}: exit ${code}`);
    const out = r.stdout + r.stderr;
    t.match(out, where, `${what}: names the call`);
    t.match(out, /no AWS credentials could be found/, `${what}: says that no credentials were found`);
    t.match(out, /Name a profile that has credentials \(--profile/, `${what}: says what to do next`);
    t.notMatch(
      out,
      /CredentialsProviderError|LookupEvents allows|`sentinel permissions check`/,
      `${what}: no red herring`,
    );
  }
});
