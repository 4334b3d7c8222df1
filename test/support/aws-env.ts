// Environment for code under test that builds its own AWS SDK clients: endpoint overrides pointing at the local
// emulators / dynalite, a fixed region, no instance-metadata probing, and throwaway shared config files.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AwsEndpoints {
  sts?: string;
  ssm?: string;
  kms?: string;
  dynamodb?: string;
}

/** Env vars that route SDK v3 clients to local endpoints (the SDK reads AWS_ENDPOINT_URL_<SERVICE> at construction). */
export function awsEnv(urls: AwsEndpoints = {}): Record<string, string> {
  const env: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  if (urls.sts) env.AWS_ENDPOINT_URL_STS = urls.sts;
  if (urls.ssm) env.AWS_ENDPOINT_URL_SSM = urls.ssm;
  if (urls.kms) env.AWS_ENDPOINT_URL_KMS = urls.kms;
  if (urls.dynamodb) env.AWS_ENDPOINT_URL_DYNAMODB = urls.dynamodb;
  return env;
}

export interface AwsConfigFiles {
  /** For AWS_CONFIG_FILE. */
  configFile: string;
  /** For AWS_SHARED_CREDENTIALS_FILE (written empty when no credentials are given). */
  credentialsFile: string;
}

/** Writes `config` and `credentials` INI files into `dir`, both mode 0600 as the AWS CLI leaves them. */
export function writeAwsConfig(dir: string, files: { config: string; credentials?: string }): AwsConfigFiles {
  const configFile = join(dir, 'config');
  const credentialsFile = join(dir, 'credentials');
  for (const [path, text] of [
    [configFile, files.config],
    [credentialsFile, files.credentials ?? ''],
  ] as const) {
    writeFileSync(path, text, { mode: 0o600 });
    chmodSync(path, 0o600); // the umask can only narrow `mode`; an existing file keeps its old mode without this
  }
  return { configFile, credentialsFile };
}

/** Anything with tap's `teardown`, so this module does not depend on tap's types. */
export interface HasTeardown {
  teardown(fn: () => void | Promise<void>): void;
}

/**
 * Sets process.env for one test and restores the previous values (including absence) in its teardown. A value of
 * `undefined` unsets the variable for the test.
 */
export function withEnv(t: HasTeardown, vars: Record<string, string | undefined>): void {
  const saved = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(vars)) {
    if (!saved.has(name)) saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  t.teardown(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
}
