// A strict local SSM Parameter Store for tests: AWS JSON 1.1 (`X-Amz-Target: AmazonSSM.<Op>`) as the real SDK v3
// client speaks it, with Parameter Store's naming, size, versioning and pagination rules. See docs/testing.md.
import { createCipheriv, randomBytes } from 'node:crypto';
import {
  AwsServiceError,
  EMULATOR_ACCOUNT,
  FaultInjector,
  ValidationCollector,
  optBoolean,
  optInteger,
  optString,
  optStringList,
  startJsonService,
  type FailureSpec,
  type JsonCallContext,
  type JsonObject,
} from './aws-protocol.js';

export type SsmParameterType = 'String' | 'StringList' | 'SecureString';
export type SsmTier = 'Standard' | 'Advanced' | 'Intelligent-Tiering';

export interface SsmEmulator {
  url: string;
  /** Calls per operation (every operation starts at 0), counted once the caller is authenticated. */
  calls: Record<string, number>;
  /** Stores a parameter directly (test set-up), with the same rules as PutParameter; returns the new version. */
  put(name: string, value: string, opts?: { type?: SsmParameterType; overwrite?: boolean; tier?: SsmTier }): number;
  /** The latest version of a parameter, for assertions. */
  get(
    name: string,
  ): { value: string; type: SsmParameterType; version: number; tier: 'Standard' | 'Advanced' } | undefined;
  /**
   * Publishes an AWS-owned public parameter (/aws/service/…), which PutParameter refuses to callers: as AWS publishes
   * it, with no check of its value, so a test can also seed one AWS would never publish.
   */
  putPublic(name: string, value: string): void;
  failNext(action: string, spec: FailureSpec, times?: number): void;
  setFailure(action: string, spec: FailureSpec | null): void;
  setDelay(ms: number): void;
  /** Forgets every parameter, counter, failure and the delay. */
  reset(): void;
  close(): Promise<void>;
}

interface ParameterVersion {
  version: number;
  value: string;
  type: SsmParameterType;
  tier: 'Standard' | 'Advanced';
  lastModified: number;
  description?: string;
  allowedPattern?: string;
  dataType: string;
}

const TYPES: readonly SsmParameterType[] = ['String', 'StringList', 'SecureString'];
const TIERS: readonly SsmTier[] = ['Standard', 'Advanced', 'Intelligent-Tiering'];
const STANDARD_MAX_BYTES = 4096;
const ADVANCED_MAX_BYTES = 8192;
const MAX_NAME_LENGTH = 2048;
const MAX_HIERARCHY_DEPTH = 15;
const NAME_CHARS = /^[a-zA-Z0-9_.\-/]+$/;
const NAME_RULES =
  'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of ' +
  'sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 ' +
  'symbols .-_';

const STATUS_BY_CODE: Record<string, number> = { InternalServerError: 500, ServiceUnavailable: 503 };

export async function startSsm(): Promise<SsmEmulator> {
  const store = new Map<string, ParameterVersion[]>();
  const calls: Record<string, number> = {};
  const faults = new FaultInjector(STATUS_BY_CODE);
  // SecureString values read without WithDecryption come back as opaque ciphertext, as from real KMS-backed SSM.
  const sealKey = randomBytes(32);
  let delayMs = 0;

  const seal = (plaintext: string) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', sealKey, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([1, 2, 2, 0]), iv, cipher.getAuthTag(), body]).toString('base64');
  };

  const arnOf = (name: string, region: string) =>
    `arn:aws:ssm:${region}:${EMULATOR_ACCOUNT}:parameter${name.startsWith('/') ? '' : '/'}${name}`;

  const render = (
    name: string,
    p: ParameterVersion,
    decrypt: boolean,
    region: string,
    selector?: string,
  ): JsonObject => ({
    Name: name,
    Type: p.type,
    Value: p.type === 'SecureString' && !decrypt ? seal(p.value) : p.value,
    Version: p.version,
    ...(selector ? { Selector: selector } : {}),
    LastModifiedDate: p.lastModified,
    ARN: arnOf(name, region),
    DataType: p.dataType,
  });

  /** Resolves `name` or `name:<version>`; undefined when there is no such parameter. */
  const lookup = (ref: string): { name: string; p: ParameterVersion; selector?: string } | undefined => {
    const colon = ref.lastIndexOf(':');
    const name = colon > 0 ? ref.slice(0, colon) : ref;
    const selector = colon > 0 ? ref.slice(colon) : undefined;
    const history = store.get(name);
    if (!history) return undefined;
    if (selector === undefined) return { name, p: history[history.length - 1]! };
    if (!/^:\d{1,10}$/.test(selector)) return undefined; // labels are not modelled
    const version = Number(selector.slice(1));
    const p = history.find((h) => h.version === version);
    if (!p) {
      throw new AwsServiceError(
        'ParameterVersionNotFound',
        `Systems Manager could not find version ${version} of ${name}. Verify the version and try again.`,
      );
    }
    return { name, p, selector };
  };

  const putParameter = (input: {
    name: string | undefined;
    value: string | undefined;
    type?: string;
    overwrite?: boolean;
    tier?: string;
    description?: string;
    allowedPattern?: string;
    dataType?: string;
  }): { version: number; tier: string } => {
    const v = new ValidationCollector();
    v.checkString(input.name, 'name', { required: true, min: 1, max: MAX_NAME_LENGTH });
    v.checkString(input.value, 'value', { required: true, min: 1 });
    if (input.type !== undefined && !TYPES.includes(input.type as SsmParameterType)) {
      v.add(input.type, 'type', `Member must satisfy enum value set: [${TYPES.join(', ')}]`);
    }
    if (input.tier !== undefined && !TIERS.includes(input.tier as SsmTier)) {
      v.add(input.tier, 'tier', `Member must satisfy enum value set: [${TIERS.join(', ')}]`);
    }
    v.checkString(input.description, 'description', { max: 1024 });
    v.checkString(input.allowedPattern, 'allowedPattern', { max: 1024 });
    v.checkString(input.dataType, 'dataType', { max: 128 });
    v.throwIfAny('ValidationException');
    const name = input.name!;
    const value = input.value!;
    checkName(name);
    if (input.dataType !== undefined && input.dataType !== 'text') {
      throw new AwsServiceError(
        'ValidationException',
        `The following data type is not supported: ${input.dataType} (this emulator models only 'text')`,
      );
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    const tierAsked = (input.tier ?? 'Standard') as SsmTier;
    if (bytes > ADVANCED_MAX_BYTES || (tierAsked === 'Standard' && bytes > STANDARD_MAX_BYTES)) {
      throw new AwsServiceError(
        'ValidationException',
        tierAsked === 'Standard'
          ? `Standard tier parameters support a maximum parameter value of ${STANDARD_MAX_BYTES} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.`
          : `Advanced tier parameters support a maximum parameter value of ${ADVANCED_MAX_BYTES} characters.`,
      );
    }
    const history = store.get(name);
    const latest = history?.[history.length - 1];
    if (latest && !input.overwrite) {
      throw new AwsServiceError(
        'ParameterAlreadyExists',
        'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
      );
    }
    if (latest?.tier === 'Advanced' && input.tier === 'Standard') {
      throw new AwsServiceError(
        'ValidationException',
        "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.",
      );
    }
    const type = (input.type ?? latest?.type) as SsmParameterType | undefined;
    if (!type)
      throw new AwsServiceError('ValidationException', 'A parameter type is required when you create a parameter.');
    const pattern = input.allowedPattern ?? latest?.allowedPattern;
    if (pattern !== undefined) {
      let re: RegExp;
      try {
        re = new RegExp(pattern);
      } catch {
        throw new AwsServiceError(
          'InvalidAllowedPatternException',
          'The request does not meet the regular expression requirement.',
        );
      }
      if (!re.test(value)) {
        throw new AwsServiceError(
          'ParameterPatternMismatchException',
          `Parameter value, cannot be validated against allowedPattern: ${pattern}`,
        );
      }
    }
    // An advanced parameter never goes back to standard; Intelligent-Tiering picks the smallest tier that fits.
    const tier: 'Standard' | 'Advanced' =
      latest?.tier === 'Advanced' || tierAsked === 'Advanced' || bytes > STANDARD_MAX_BYTES ? 'Advanced' : 'Standard';
    const description = input.description ?? latest?.description;
    const entry: ParameterVersion = {
      version: (latest?.version ?? 0) + 1,
      value,
      type,
      tier,
      lastModified: Date.now() / 1000,
      dataType: 'text',
      ...(description !== undefined ? { description } : {}),
      ...(pattern !== undefined ? { allowedPattern: pattern } : {}),
    };
    store.set(name, [...(history ?? []), entry]);
    return { version: entry.version, tier };
  };

  const notFound = () => new AwsServiceError('ParameterNotFound', '');

  const operations = {
    GetParameter(input: JsonObject, ctx: JsonCallContext): JsonObject {
      const ref = optString(input, 'Name');
      const decrypt = optBoolean(input, 'WithDecryption') ?? false;
      const v = new ValidationCollector();
      v.checkString(ref, 'name', { required: true, min: 1, max: MAX_NAME_LENGTH });
      v.throwIfAny('ValidationException');
      const found = lookup(ref!);
      if (!found) throw notFound();
      return { Parameter: render(found.name, found.p, decrypt, ctx.region, found.selector) };
    },

    GetParameters(input: JsonObject, ctx: JsonCallContext): JsonObject {
      const names = optStringList(input, 'Names');
      const decrypt = optBoolean(input, 'WithDecryption') ?? false;
      const v = new ValidationCollector();
      if (names === undefined) v.add(undefined, 'names', 'Member must not be null');
      else if (names.length < 1 || names.length > 10) {
        v.add(
          `[${names.join(', ')}]`,
          'names',
          `Member must have length ${names.length < 1 ? 'greater than or equal to 1' : 'less than or equal to 10'}`,
        );
      }
      names?.forEach((n, i) => v.checkString(n, `names.${i + 1}.member`, { min: 1, max: MAX_NAME_LENGTH }));
      v.throwIfAny('ValidationException');
      const parameters: JsonObject[] = [];
      const invalid: string[] = [];
      for (const ref of new Set(names)) {
        const found = lookup(ref);
        if (found) parameters.push(render(found.name, found.p, decrypt, ctx.region, found.selector));
        else invalid.push(ref);
      }
      return { Parameters: parameters, InvalidParameters: invalid };
    },

    GetParametersByPath(input: JsonObject, ctx: JsonCallContext): JsonObject {
      const path = optString(input, 'Path');
      const recursive = optBoolean(input, 'Recursive') ?? false;
      const decrypt = optBoolean(input, 'WithDecryption') ?? false;
      const maxResults = optInteger(input, 'MaxResults');
      const nextToken = optString(input, 'NextToken');
      if (input.ParameterFilters !== undefined && input.ParameterFilters !== null) {
        throw new AwsServiceError('ValidationException', 'ParameterFilters are not supported by the test emulator');
      }
      const v = new ValidationCollector();
      v.checkString(path, 'path', { required: true, min: 1, max: MAX_NAME_LENGTH });
      v.checkRange(maxResults, 'maxResults', 1, 10);
      v.throwIfAny('ValidationException');
      if (!path!.startsWith('/') || /\/\//.test(path!) || !NAME_CHARS.test(path!)) {
        throw new AwsServiceError(
          'ValidationException',
          `The parameter doesn't meet the parameter name requirements. ${NAME_RULES}`,
        );
      }
      const prefix = path!.endsWith('/') ? path! : `${path}/`;
      const matches = [...store.keys()]
        .filter(
          (name) =>
            name.startsWith(prefix) &&
            name.length > prefix.length &&
            (recursive || !name.slice(prefix.length).includes('/')),
        )
        .sort();
      let start = 0;
      if (nextToken !== undefined) {
        const after = decodeToken(nextToken, path!, recursive);
        start = matches.findIndex((name) => name > after);
        if (start < 0) start = matches.length;
      }
      const page = matches.slice(start, start + (maxResults ?? 10));
      const more = start + page.length < matches.length;
      return {
        Parameters: page.map((name) => {
          const history = store.get(name)!;
          return render(name, history[history.length - 1]!, decrypt, ctx.region);
        }),
        ...(more ? { NextToken: encodeToken(path!, recursive, page[page.length - 1]!) } : {}),
      };
    },

    // Only the filters Sentinel uses: Name with Equals or BeginsWith (ParameterFilters), no Filters, no policies.
    DescribeParameters(input: JsonObject): JsonObject {
      const maxResults = optInteger(input, 'MaxResults');
      const nextToken = optString(input, 'NextToken');
      const v = new ValidationCollector();
      v.checkRange(maxResults, 'maxResults', 1, 50);
      v.throwIfAny('ValidationException');
      if (input.Filters !== undefined && input.Filters !== null) {
        throw new AwsServiceError('ValidationException', 'Filters are not supported by the test emulator');
      }
      const filters = Array.isArray(input.ParameterFilters) ? (input.ParameterFilters as JsonObject[]) : [];
      const tests: Array<(name: string) => boolean> = [];
      for (const f of filters) {
        const option = typeof f.Option === 'string' ? f.Option : 'Equals';
        const values = Array.isArray(f.Values) ? f.Values.filter((x): x is string => typeof x === 'string') : [];
        if (f.Key !== 'Name' || !['Equals', 'BeginsWith'].includes(option) || values.length < 1) {
          throw new AwsServiceError('InvalidFilterOption', `The filter option is not supported by the test emulator`);
        }
        tests.push((name) => values.some((val) => (option === 'Equals' ? name === val : name.startsWith(val))));
      }
      const matches = [...store.keys()].filter((name) => tests.every((test) => test(name))).sort();
      let start = 0;
      if (nextToken !== undefined) {
        const after = decodeToken(nextToken, '/describe', false);
        start = matches.findIndex((name) => name > after);
        if (start < 0) start = matches.length;
      }
      const page = matches.slice(start, start + (maxResults ?? 10));
      const more = start + page.length < matches.length;
      return {
        Parameters: page.map((name) => {
          const history = store.get(name)!;
          const p = history[history.length - 1]!;
          return {
            Name: name,
            Type: p.type,
            LastModifiedDate: p.lastModified,
            Version: p.version,
            Tier: p.tier,
            DataType: p.dataType,
            Policies: [],
            ...(p.description !== undefined ? { Description: p.description } : {}),
          };
        }),
        ...(more ? { NextToken: encodeToken('/describe', false, page[page.length - 1]!) } : {}),
      };
    },

    PutParameter(input: JsonObject): JsonObject {
      const out = putParameter({
        name: optString(input, 'Name'),
        value: optString(input, 'Value'),
        overwrite: optBoolean(input, 'Overwrite') ?? false,
        ...optionalStrings(input, {
          type: 'Type',
          tier: 'Tier',
          description: 'Description',
          allowedPattern: 'AllowedPattern',
          dataType: 'DataType',
        }),
      });
      // KeyId is accepted and ignored: the emulator seals SecureStrings with its own key.
      optString(input, 'KeyId');
      return { Version: out.version, Tier: out.tier };
    },

    DeleteParameter(input: JsonObject): JsonObject {
      const name = optString(input, 'Name');
      const v = new ValidationCollector();
      v.checkString(name, 'name', { required: true, min: 1, max: MAX_NAME_LENGTH });
      v.throwIfAny('ValidationException');
      if (!store.delete(name!)) throw notFound();
      return {};
    },
  };

  const service = await startJsonService({
    signingName: 'ssm',
    targetPrefix: 'AmazonSSM',
    operations,
    faults,
    calls,
    getDelay: () => delayMs,
  });

  return {
    url: service.url,
    calls,
    put(name, value, opts = {}) {
      return putParameter({
        name,
        value,
        type: opts.type ?? 'String',
        overwrite: opts.overwrite ?? false,
        ...(opts.tier ? { tier: opts.tier } : {}),
      }).version;
    },
    putPublic(name, value) {
      if (!name.startsWith('/aws/service/')) throw new Error(`putPublic: ${name} is not under /aws/service/`);
      store.set(name, [
        { version: 1, value, type: 'String', tier: 'Standard', lastModified: Date.now() / 1000, dataType: 'text' },
      ]);
    },
    get(name) {
      const history = store.get(name);
      const latest = history?.[history.length - 1];
      return latest && { value: latest.value, type: latest.type, version: latest.version, tier: latest.tier };
    },
    failNext: (action, spec, times) => faults.failNext(action, spec, times),
    setFailure: (action, spec) => faults.setFailure(action, spec),
    setDelay(ms) {
      delayMs = ms;
    },
    reset() {
      store.clear();
      for (const k of Object.keys(calls)) calls[k] = 0;
      faults.clear();
      delayMs = 0;
    },
    close: () => service.close(),
  };
}

function checkName(name: string): void {
  if (!NAME_CHARS.test(name) || name.endsWith('/') || name.includes('//')) {
    throw new AwsServiceError('ValidationException', NAME_RULES);
  }
  if (name.includes('/') && !name.startsWith('/')) {
    throw new AwsServiceError('ValidationException', 'Parameter name must be a fully qualified name.');
  }
  if (/^\/?(aws|ssm)/i.test(name)) throw new AwsServiceError('ValidationException', NAME_RULES);
  const depth = name.split('/').filter(Boolean).length;
  if (depth > MAX_HIERARCHY_DEPTH) {
    throw new AwsServiceError(
      'HierarchyLevelLimitExceededException',
      `A hierarchy can have a maximum of ${MAX_HIERARCHY_DEPTH} levels.`,
    );
  }
}

function optionalStrings<K extends string>(input: JsonObject, members: Record<K, string>): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const [key, member] of Object.entries(members) as Array<[K, string]>) {
    const value = optString(input, member);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

// NextToken is opaque to clients; it names the last parameter returned and the query it belongs to, so a token from
// another query (or a forged one) is refused as AWS refuses it.
function encodeToken(path: string, recursive: boolean, after: string): string {
  return Buffer.from(JSON.stringify({ p: path, r: recursive, a: after })).toString('base64');
}

function decodeToken(token: string, path: string, recursive: boolean): string {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { p?: unknown; r?: unknown; a?: unknown };
    if (t.p === path && t.r === recursive && typeof t.a === 'string') return t.a;
  } catch {
    // fall through
  }
  throw new AwsServiceError('InvalidNextToken', 'The specified token is not valid.');
}
