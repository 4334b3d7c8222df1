// STS clients for calls made with a given set of base credentials. SDK v3 binds credentials to a client, so there is
// one client per (region, access key), kept in a small LRU; all of them share two keep-alive agents, so a refresh
// reuses the TLS connection of the last one. Endpoints come from the SDK's own resolution (AWS_ENDPOINT_URL_STS and
// friends); nothing here names a host. client-sts itself is imported with the first client (sdk.ts).
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { STSClient } from '@aws-sdk/client-sts';
import { LRUCache } from 'lru-cache';
import { loadSts } from '../../core/issuer/sdk.js';
import type { BaseCredentials, StsClients } from '../../core/issuer/types.js';
import { STS_BUDGET_MS, boundedRequestHandler } from '../../core/aws-http.js';
import type { OpLogger } from '../../core/log.js';

export interface StsClientOptions {
  /** SDK attempts per call (1 = no retry). The default, 2, absorbs one blip without outlasting the SDK clients that
   * wait on the daemon (1–2 s per attempt); single flight keeps it to one call per session however many wait. */
  maxAttempts?: number;
  /** Per attempt (default: the whole STS budget, so a hung first attempt leaves no time for a second). */
  requestTimeoutMs?: number;
  log?: OpLogger;
}

export type { StsClients };

export function createStsClients(options: StsClientOptions = {}): StsClients {
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 16 });
  const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 16 });
  // Evicted clients are not destroyed: destroying one would close the shared agents. They hold no timers.
  const clients = new LRUCache<string, STSClient>({ max: 64 });
  return {
    async client(region, credentials) {
      const key = `${region}\u0000${credentials.accessKeyId}`;
      let c = clients.get(key);
      if (!c) {
        const { STSClient } = await loadSts();
        // Another caller may have made it while this one waited for the import.
        const made = clients.get(key);
        if (made) return made;
        c = new STSClient({
          region,
          credentials: {
            accessKeyId: credentials.accessKeyId,
            secretAccessKey: credentials.secretAccessKey,
            ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
            ...(credentials.expiration ? { expiration: credentials.expiration } : {}),
          },
          maxAttempts: options.maxAttempts ?? 2,
          requestHandler: boundedRequestHandler({
            timeoutMs: options.requestTimeoutMs ?? STS_BUDGET_MS,
            log: options.log,
            httpAgent,
            httpsAgent,
          }),
        });
        clients.set(key, c);
      }
      return c;
    },
    close() {
      clients.clear();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
