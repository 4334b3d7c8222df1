// A strict local STS for tests: the AWS Query protocol (form-encoded POST, XML replies) as the real SDK v3 client
// speaks it, enforcing AWS's input rules for AssumeRole, GetCallerIdentity and GetSessionToken. Callers are known by
// the access key in their SigV4 Authorization header: keys registered with setIdentity/startSts, or keys this
// emulator issued. MFA devices (a serial, its IAM user, a TOTP secret) are seeded with `mfaDevices`/addMfaDevice;
// GetSessionToken with SerialNumber and TokenCode verifies the code as AWS does, and AssumeRole records whether its
// caller held an MFA session. See docs/testing.md.
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import {
  AwsServiceError,
  FaultInjector,
  ValidationCollector,
  el,
  node,
  queryRequest,
  querySigV4,
  stableId,
  startQueryServer,
  type FailureSpec,
  type QueryApi,
} from './aws-protocol.js';
import { matchTotp } from './totp.js';

export type StsAction = 'AssumeRole' | 'GetCallerIdentity' | 'GetSessionToken';
const ACTIONS: readonly StsAction[] = ['AssumeRole', 'GetCallerIdentity', 'GetSessionToken'];
const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const API: QueryApi<StsAction> = { xmlns: XMLNS, version: '2011-06-15', actions: ACTIONS, allowGet: true };

export interface AssumeRoleRequestRecord {
  RoleArn: string;
  RoleSessionName: string;
  SourceIdentity?: string;
  /** As sent (3600 when absent); NaN when the value was not a number. */
  DurationSeconds: number;
  ExternalId?: string;
  /** The access key that signed the call. */
  accessKeyId: string;
  Policy?: string;
  PolicyArns?: string[];
  Tags?: Array<{ Key: string; Value: string }>;
  TransitiveTagKeys?: string[];
  /** 'ok', or the error code the call was answered with. */
  outcome: string;
  /** Whether the caller signed with credentials of an MFA-authenticated session (aws:MultiFactorAuthPresent). */
  mfa: boolean;
}

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  /** The ARN GetCallerIdentity answers for these credentials. */
  arn: string;
  action: 'AssumeRole' | 'GetSessionToken';
  sourceIdentity?: string;
  /** Issued to (or chained from) a session authenticated with an MFA code. */
  mfa: boolean;
}

export interface MfaDevice {
  /** The IAM user the device is assigned to (only that user's GetSessionToken may name it). */
  user: string;
  /** The TOTP seed (RFC 6238: HMAC-SHA-1, 6 digits, 30 s). */
  secret: Buffer;
}

export interface StsEmulator {
  url: string;
  calls: Record<StsAction, number>;
  /** Every AssumeRole call from a known caller, including refused ones (see `outcome`). */
  assumeRoleRequests: AssumeRoleRequestRecord[];
  issued: IssuedCredentials[];
  /** Registers who signs with an access key; with its secret, SigV4-verifying emulators (the API Gateway stand-in) can
   * check that key's signatures. */
  setIdentity(accessKeyId: string, arn: string, secretAccessKey?: string): void;
  /**
   * Who signs with this access key, as STS knows it: a registered identity, or credentials this emulator issued (then
   * only together with their session token, and only until they expire). Other emulators (IAM) use it to know their
   * caller. Undefined for an unknown key.
   */
  callerOf(
    accessKeyId: string,
    sessionToken?: string,
  ): { arn: string; account: string; userId: string; sourceIdentity?: string } | undefined;
  /** The secret of a key callerOf knows (issued keys only with their session token); undefined for a key registered
   * without one. */
  secretOf(accessKeyId: string, sessionToken?: string): string | undefined;
  failNext(action: StsAction, spec: FailureSpec, times?: number): void;
  setFailure(action: StsAction, spec: FailureSpec | null): void;
  setDelay(ms: number): void;
  denyRole(roleArn: string): void;
  /** Assigns a virtual MFA device to an IAM user. */
  addMfaDevice(serial: string, device: MfaDevice): void;
  /** Makes credentials this emulator issued expire now: their next use gets ExpiredToken. */
  expire(accessKeyId: string): void;
  /** Forgets calls, requests, issued credentials, failures, delay and denied roles; keeps registered identities and MFA
   * devices (with the codes they have used). */
  reset(): void;
  close(): Promise<void>;
}

export interface StsOptions {
  /** access key id → caller ARN (an IAM user, a root, or an assumed role). */
  identities?: Record<string, string>;
  /** MFA device serial (an ARN such as arn:aws:iam::123456789012:mfa/alice) → its user and TOTP secret. */
  mfaDevices?: Record<string, MfaDevice>;
  /** The time one-time codes are checked against (default Date.now), so a test can stand anywhere in a 30 s step. */
  totpClock?: () => number;
}

interface Principal {
  arn: string;
  account: string;
  userId: string;
  kind: 'user' | 'root' | 'assumed-role' | 'federated';
  /** Set for keys this emulator issued. */
  temporary?: { sessionToken: string; expiration: Date; sourceIdentity?: string; mfa: boolean };
  /** Known for issued keys, and for registered ones when the test gave it. */
  secretAccessKey?: string;
}

const MEMBER_PATTERN = /^[\w+=,.@-]*$/;
const MEMBER_PATTERN_TEXT = '[\\w+=,.@-]*';
const EXTERNAL_ID_PATTERN = /^[\w+=,.@:/-]*$/;
const EXTERNAL_ID_PATTERN_TEXT = '[\\w+=,.@:\\/-]*';
const ROLE_ARN =
  /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc):iam::(\d{12}):role\/((?:[\x21-\x7e]+\/)*)([\w+=,.@-]{1,64})$/;
const PRINCIPAL_ARN =
  /^arn:([a-z-]+):(iam|sts)::(\d{12}):(root|user\/.+|assumed-role\/[^/]+\/[^/]+|federated-user\/.+)$/;
const SERIAL_PATTERN = /^[\w+=/:,.@-]*$/;

const CHAINED_MAX_SECONDS = 3600;
const INVALID_MFA_CODE = 'MultiFactorAuthentication failed with invalid MFA one time pass code.';
const UNKNOWN_MFA_DEVICE = 'MultiFactorAuthentication failed, unable to validate MFA code.';

/** Default failure statuses for codes tests commonly inject, matching what STS sends. */
const STATUS_BY_CODE: Record<string, number> = {
  AccessDenied: 403,
  InvalidClientTokenId: 403,
  SignatureDoesNotMatch: 403,
  MissingAuthenticationToken: 403,
  ExpiredToken: 400,
  Throttling: 400,
  ServiceUnavailable: 503,
  InternalFailure: 500,
  RegionDisabledException: 403,
};

export async function startSts(options: StsOptions = {}): Promise<StsEmulator> {
  const registered = new Map<string, Principal>();
  const issuedKeys = new Map<string, Principal>();
  const calls: Record<StsAction, number> = { AssumeRole: 0, GetCallerIdentity: 0, GetSessionToken: 0 };
  const assumeRoleRequests: AssumeRoleRequestRecord[] = [];
  const issued: IssuedCredentials[] = [];
  const faults = new FaultInjector(STATUS_BY_CODE);
  const deniedRoles = new Set<string>();
  const mfaDevices = new Map<string, MfaDevice & { used: Set<number> }>();
  let delayMs = 0;
  const totpClock = options.totpClock ?? Date.now;

  const setIdentity = (accessKeyId: string, arn: string, secretAccessKey?: string) => {
    registered.set(accessKeyId, { ...principalFromArn(arn), ...(secretAccessKey ? { secretAccessKey } : {}) });
  };
  for (const [key, arn] of Object.entries(options.identities ?? {})) setIdentity(key, arn);
  const addMfaDevice = (serial: string, device: MfaDevice) => {
    mfaDevices.set(serial, { user: device.user, secret: Buffer.from(device.secret), used: new Set() });
  };
  for (const [serial, device] of Object.entries(options.mfaDevices ?? {})) addMfaDevice(serial, device);

  const authenticate = (req: IncomingMessage): { accessKeyId: string; principal: Principal } => {
    const { accessKeyId } = querySigV4(req, 'sts');
    const invalid = new AwsServiceError(
      'InvalidClientTokenId',
      'The security token included in the request is invalid.',
      403,
    );
    const temp = issuedKeys.get(accessKeyId);
    if (temp) {
      // Temporary keys are only valid together with their own session token, and only until they expire.
      if (req.headers['x-amz-security-token'] !== temp.temporary!.sessionToken) throw invalid;
      if (temp.temporary!.expiration.getTime() <= Date.now()) {
        throw new AwsServiceError('ExpiredToken', 'The security token included in the request is expired', 400);
      }
      return { accessKeyId, principal: temp };
    }
    const known = registered.get(accessKeyId);
    if (!known) throw invalid;
    return { accessKeyId, principal: known };
  };

  /** A key's principal as a caller presenting it (and, for an issued key, its session token) would be known. */
  const principalOf = (accessKeyId: string, sessionToken: string | undefined): Principal | undefined => {
    const temp = issuedKeys.get(accessKeyId);
    if (temp) {
      const t = temp.temporary!;
      return sessionToken === t.sessionToken && t.expiration.getTime() > Date.now() ? temp : undefined;
    }
    return registered.get(accessKeyId);
  };

  const issue = (
    principal: Principal,
    action: IssuedCredentials['action'],
    durationSeconds: number,
    sourceIdentity: string | undefined,
    mfa: boolean,
  ) => {
    const accessKeyId = 'ASIA' + randomAlnum(16);
    const secretAccessKey = randomBytes(30).toString('base64');
    const sessionToken = 'IQoJb3JpZ2luX2Vj' + randomBytes(300).toString('base64');
    // STS reports whole seconds; keep `issued` equal to what the client parses.
    const expiration = new Date(Math.floor((Date.now() + durationSeconds * 1000) / 1000) * 1000);
    issuedKeys.set(accessKeyId, {
      ...principal,
      secretAccessKey,
      temporary: { sessionToken, expiration, mfa, ...(sourceIdentity !== undefined ? { sourceIdentity } : {}) },
    });
    const record: IssuedCredentials = {
      accessKeyId,
      secretAccessKey,
      sessionToken,
      expiration,
      arn: principal.arn,
      action,
      mfa,
      ...(sourceIdentity !== undefined ? { sourceIdentity } : {}),
    };
    issued.push(record);
    return record;
  };

  /** Logs an AssumeRole as sent, before any check, so tests see refused calls too. */
  const recordAssumeRole = (
    params: URLSearchParams,
    caller: { accessKeyId: string; principal: Principal },
  ): AssumeRoleRequestRecord => {
    const rawDuration = params.get('DurationSeconds');
    const optional = (member: string) => params.get(member) ?? undefined;
    const policyArns = memberList(params, 'PolicyArns', (p) => params.get(`${p}.arn`) ?? '');
    const tags = memberList(params, 'Tags', (p) => ({
      Key: params.get(`${p}.Key`) ?? '',
      Value: params.get(`${p}.Value`) ?? '',
    }));
    const transitive = memberList(params, 'TransitiveTagKeys', (p) => params.get(p) ?? '');
    const record: AssumeRoleRequestRecord = {
      RoleArn: params.get('RoleArn') ?? '',
      RoleSessionName: params.get('RoleSessionName') ?? '',
      DurationSeconds: rawDuration === null ? 3600 : parseIntStrict(rawDuration),
      accessKeyId: caller.accessKeyId,
      outcome: 'ok',
      mfa: caller.principal.temporary?.mfa ?? false,
      ...(optional('SourceIdentity') !== undefined ? { SourceIdentity: optional('SourceIdentity')! } : {}),
      ...(optional('ExternalId') !== undefined ? { ExternalId: optional('ExternalId')! } : {}),
      ...(optional('Policy') !== undefined ? { Policy: optional('Policy')! } : {}),
      ...(policyArns.length ? { PolicyArns: policyArns } : {}),
      ...(tags.length ? { Tags: tags } : {}),
      ...(transitive.length ? { TransitiveTagKeys: transitive } : {}),
    };
    assumeRoleRequests.push(record);
    return record;
  };

  const assumeRole = (params: URLSearchParams, caller: { accessKeyId: string; principal: Principal }): string => {
    const record = recordAssumeRole(params, caller);
    const roleArn = params.get('RoleArn') ?? undefined;
    const sessionName = params.get('RoleSessionName') ?? undefined;
    const rawDuration = params.get('DurationSeconds');
    const duration = record.DurationSeconds;
    const requestedSourceIdentity = record.SourceIdentity;
    const externalId = record.ExternalId;
    const policy = record.Policy;
    const policyArns = record.PolicyArns ?? [];
    const tags = record.Tags ?? [];
    try {
      const v = new ValidationCollector();
      v.checkString(roleArn, 'roleArn', { required: true, min: 20, max: 2048 });
      v.checkString(sessionName, 'roleSessionName', {
        required: true,
        min: 2,
        max: 64,
        pattern: MEMBER_PATTERN,
        patternText: MEMBER_PATTERN_TEXT,
      });
      if (Number.isNaN(duration)) v.add(rawDuration, 'durationSeconds', 'Member must be an integer');
      else v.checkRange(duration, 'durationSeconds', 900, 43200);
      v.checkString(requestedSourceIdentity, 'sourceIdentity', {
        min: 2,
        max: 64,
        pattern: MEMBER_PATTERN,
        patternText: MEMBER_PATTERN_TEXT,
      });
      v.checkString(externalId, 'externalId', {
        min: 2,
        max: 1224,
        pattern: EXTERNAL_ID_PATTERN,
        patternText: EXTERNAL_ID_PATTERN_TEXT,
      });
      v.checkString(policy, 'policy', { min: 1, max: 2048 });
      if (tags.length > 50) v.add(`[${tags.length} tags]`, 'tags', 'Member must have length less than or equal to 50');
      tags.forEach((tag, i) => {
        v.checkString(tag.Key, `tags.${i + 1}.member.key`, { min: 1, max: 128 });
        v.checkString(tag.Value, `tags.${i + 1}.member.value`, { max: 256 });
      });
      if (policyArns.length > 10)
        v.add(`[${policyArns.length} ARNs]`, 'policyArns', 'Member must have length less than or equal to 10');
      v.throwIfAny('ValidationError');

      const role = ROLE_ARN.exec(roleArn!);
      if (!role) throw new AwsServiceError('ValidationError', `${roleArn} is invalid`, 400);
      // Any temporary credentials calling AssumeRole are a chain, GetSessionToken's (the MFA session) included.
      const chained = caller.principal.kind === 'assumed-role' || caller.principal.temporary !== undefined;
      if (chained && duration > CHAINED_MAX_SECONDS) {
        throw new AwsServiceError(
          'ValidationError',
          'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
          400,
        );
      }
      if (deniedRoles.has(roleArn!)) {
        throw new AwsServiceError(
          'AccessDenied',
          `User: ${caller.principal.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
          403,
        );
      }
      const [, partition, account, , roleName] = role as unknown as string[];
      const roleId = 'AROA' + stableId(roleArn!, 17);
      // A source identity set earlier in a role chain carries over to the next session.
      const sourceIdentity = requestedSourceIdentity ?? caller.principal.temporary?.sourceIdentity;
      const principal: Principal = {
        arn: `arn:${partition}:sts::${account}:assumed-role/${roleName}/${sessionName}`,
        account: account!,
        userId: `${roleId}:${sessionName}`,
        kind: 'assumed-role',
      };
      const packed =
        policy || policyArns.length || tags.length
          ? Math.max(1, Math.ceil(((policy?.length ?? 0) + 100 * policyArns.length + 30 * tags.length) / 20.48))
          : 0;
      if (packed > 100) {
        throw new AwsServiceError(
          'PackedPolicyTooLarge',
          `Packed policy consumes ${packed}% of allotted space, please use smaller policy for this request.`,
          400,
        );
      }
      // An MFA session's authentication carries down the chain (aws:MultiFactorAuthPresent stays true).
      const creds = issue(principal, 'AssumeRole', duration, sourceIdentity, caller.principal.temporary?.mfa ?? false);
      return (
        (sourceIdentity !== undefined ? el('SourceIdentity', sourceIdentity) : '') +
        node('AssumedRoleUser', el('AssumedRoleId', principal.userId) + el('Arn', principal.arn)) +
        credentialsXml(creds) +
        el('PackedPolicySize', String(packed))
      );
    } catch (err) {
      if (err instanceof AwsServiceError) record.outcome = err.code;
      throw err;
    }
  };

  const getSessionToken = (params: URLSearchParams, caller: { principal: Principal }): string => {
    const rawDuration = params.get('DurationSeconds');
    const duration = rawDuration === null ? 43200 : parseIntStrict(rawDuration);
    const serial = params.get('SerialNumber') ?? undefined;
    const tokenCode = params.get('TokenCode') ?? undefined;
    const v = new ValidationCollector();
    if (Number.isNaN(duration)) v.add(rawDuration, 'durationSeconds', 'Member must be an integer');
    else v.checkRange(duration, 'durationSeconds', 900, 129600);
    v.checkString(serial, 'serialNumber', { min: 9, max: 256, pattern: SERIAL_PATTERN, patternText: '[\\w+=/:,.@-]*' });
    v.checkString(tokenCode, 'tokenCode', { min: 6, max: 6, pattern: /^\d*$/, patternText: '[\\d]*' });
    v.throwIfAny('ValidationError');
    if (
      caller.principal.temporary ||
      caller.principal.kind === 'assumed-role' ||
      caller.principal.kind === 'federated'
    ) {
      throw new AwsServiceError('AccessDenied', 'Cannot call GetSessionToken with session credentials', 403);
    }
    const mfa = serial !== undefined || tokenCode !== undefined;
    if (mfa) verifyMfa(caller.principal, serial, tokenCode);
    // The root user's session tokens are capped at one hour.
    const effective = caller.principal.kind === 'root' ? Math.min(duration, 3600) : duration;
    const { temporary: _unused, ...base } = caller.principal;
    return credentialsXml(issue(base, 'GetSessionToken', effective, undefined, mfa));
  };

  /** AWS's check of a one-time code: the device must be the caller's, the code within one 30-second step of now, and
   * a code already accepted is not accepted again. */
  const verifyMfa = (principal: Principal, serial: string | undefined, tokenCode: string | undefined) => {
    const device = serial === undefined ? undefined : mfaDevices.get(serial);
    if (!device || device.user !== principal.arn || tokenCode === undefined) {
      throw new AwsServiceError('AccessDenied', UNKNOWN_MFA_DEVICE, 403);
    }
    const counter = matchTotp(device.secret, tokenCode, totpClock());
    if (counter === undefined || device.used.has(counter)) {
      throw new AwsServiceError('AccessDenied', INVALID_MFA_CODE, 403);
    }
    device.used.add(counter);
  };

  const dispatch = (req: IncomingMessage, body: Buffer): { action: StsAction; resultXml: string } => {
    const { action: known, params, caller } = queryRequest(req, body, API, () => authenticate(req));
    calls[known]++;
    const injected = faults.take(known);
    if (injected) {
      if (known === 'AssumeRole') recordAssumeRole(params, caller).outcome = injected.code;
      throw injected;
    }
    switch (known) {
      case 'AssumeRole':
        return { action: known, resultXml: assumeRole(params, caller) };
      case 'GetSessionToken':
        return { action: known, resultXml: getSessionToken(params, caller) };
      case 'GetCallerIdentity': {
        const p = caller.principal;
        return { action: known, resultXml: el('Arn', p.arn) + el('UserId', p.userId) + el('Account', p.account) };
      }
    }
  };

  const server = await startQueryServer({ xmlns: XMLNS, getDelay: () => delayMs, dispatch });

  return {
    url: server.url,
    calls,
    assumeRoleRequests,
    issued,
    setIdentity,
    callerOf(accessKeyId, sessionToken) {
      const p = principalOf(accessKeyId, sessionToken);
      if (!p) return undefined;
      const sourceIdentity = p.temporary?.sourceIdentity;
      return {
        ...{ arn: p.arn, account: p.account, userId: p.userId },
        ...(sourceIdentity !== undefined ? { sourceIdentity } : {}),
      };
    },
    secretOf: (accessKeyId, sessionToken) => principalOf(accessKeyId, sessionToken)?.secretAccessKey,
    failNext: (action, spec, times) => faults.failNext(action, spec, times),
    setFailure: (action, spec) => faults.setFailure(action, spec),
    setDelay(ms) {
      delayMs = ms;
    },
    denyRole(roleArn) {
      deniedRoles.add(roleArn);
    },
    addMfaDevice,
    expire(accessKeyId) {
      const principal = issuedKeys.get(accessKeyId);
      if (!principal) throw new Error(`expire: ${accessKeyId} was not issued by this emulator`);
      const now = new Date();
      principal.temporary!.expiration = now;
      for (const record of issued) if (record.accessKeyId === accessKeyId) record.expiration = now;
    },
    reset() {
      for (const a of ACTIONS) calls[a] = 0;
      assumeRoleRequests.length = 0;
      issued.length = 0;
      issuedKeys.clear();
      faults.clear();
      deniedRoles.clear();
      delayMs = 0;
    },
    close: () => server.close(),
  };
}

function principalFromArn(arn: string): Principal {
  const m = PRINCIPAL_ARN.exec(arn);
  if (!m) throw new Error(`setIdentity: not a principal ARN: ${arn}`);
  const [, , , account, resource] = m as unknown as string[];
  if (resource === 'root') return { arn, account: account!, userId: account!, kind: 'root' };
  if (resource!.startsWith('user/'))
    return { arn, account: account!, userId: 'AIDA' + stableId(arn, 17), kind: 'user' };
  if (resource!.startsWith('federated-user/')) {
    return {
      arn,
      account: account!,
      userId: `${account}:${resource!.slice('federated-user/'.length)}`,
      kind: 'federated',
    };
  }
  const [, roleName, session] = resource!.split('/');
  const roleId = 'AROA' + stableId(`${account}:${roleName}`, 17);
  return { arn, account: account!, userId: `${roleId}:${session}`, kind: 'assumed-role' };
}

/** A Query-protocol list (`Tags.member.1.Key`, …), read in order until the first gap. */
function memberList<T>(params: URLSearchParams, name: string, read: (prefix: string) => T): T[] {
  const out: T[] = [];
  for (let i = 1; i <= 1000; i++) {
    const prefix = `${name}.member.${i}`;
    const present = [...params.keys()].some((k) => k === prefix || k.startsWith(prefix + '.'));
    if (!present) break;
    out.push(read(prefix));
  }
  return out;
}

function parseIntStrict(text: string): number {
  return /^-?\d{1,10}$/.test(text) ? Number(text) : Number.NaN;
}

function credentialsXml(c: IssuedCredentials): string {
  return node(
    'Credentials',
    el('AccessKeyId', c.accessKeyId) +
      el('SecretAccessKey', c.secretAccessKey) +
      el('SessionToken', c.sessionToken) +
      el('Expiration', c.expiration.toISOString().replace(/\.\d{3}Z$/, 'Z')),
  );
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function randomAlnum(n: number): string {
  const bytes = randomBytes(n);
  let out = '';
  for (const b of bytes) out += ALNUM[b % 32];
  return out;
}
