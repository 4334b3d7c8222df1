// Who is asking (DESIGN §4): sts:GetCallerIdentity on the base credentials of the requested profile's source — the
// principal that will call AssumeRole — never the OS user. An access key belongs to one principal for its whole life,
// so answers are cached per access key id; concurrent lookups for one key make one call.
import { LRUCache } from 'lru-cache';
import { SentinelError } from '../../core/errors.js';
import { ArnParseError, DEFAULT_TRUSTED_SESSION_ROLES, parseCallerArn } from '../../core/identity/arn.js';
import { loadSts } from '../../core/issuer/sdk.js';
import { stsBudget } from '../../core/issuer/assume-role.js';
import { SingleFlight } from '../../core/issuer/single-flight.js';
import { stsFailure } from '../../core/issuer/sts-errors.js';
import { waitingFor } from '../../core/upstream-waits.js';
import type { BaseCredentials, CallerIdentity, StsClients } from '../../core/issuer/types.js';

export interface Identifier {
  identify(base: BaseCredentials, ctx: { profile: string; region: string }): Promise<CallerIdentity>;
  clear(): void;
}

/** `trustedSessionRoles`: config identity.trusted_session_roles (DESIGN §5.3). */
export function createIdentifier(
  sts: StsClients,
  trustedSessionRoles: readonly string[] = DEFAULT_TRUSTED_SESSION_ROLES,
): Identifier {
  const cache = new LRUCache<string, CallerIdentity>({ max: 1024 });
  const flights = new SingleFlight<CallerIdentity>();
  return {
    async identify(base, ctx) {
      const hit = cache.get(base.accessKeyId);
      if (hit) return hit;
      return flights.run(base.accessKeyId, async () => {
        let arn: string | undefined;
        try {
          const { GetCallerIdentityCommand } = await loadSts();
          const client = await sts.client(ctx.region, base);
          const out = await waitingFor(`AWS STS (GetCallerIdentity for ${ctx.profile})`, () =>
            client.send(new GetCallerIdentityCommand({}), stsBudget()),
          );
          arn = out.Arn;
        } catch (e) {
          throw stsFailure(e, { action: 'GetCallerIdentity', profile: ctx.profile });
        }
        let identity: CallerIdentity;
        try {
          identity = parseCallerArn(arn, trustedSessionRoles);
        } catch (e) {
          if (!(e instanceof ArnParseError)) throw e;
          throw new SentinelError(
            'BaseCredentialsUnavailable',
            `the base identity of profile "${ctx.profile}" cannot be named for policy: ${e.message}`,
            {
              hint: 'Use a source profile whose identity is an IAM user or a role session with a name made of letters and digits.',
              details: { profile: ctx.profile },
            },
          );
        }
        cache.set(base.accessKeyId, identity);
        return identity;
      });
    },
    clear() {
      cache.clear();
    },
  };
}
