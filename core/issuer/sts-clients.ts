// STS clients for calls made with a given set of base credentials. SDK v3 binds credentials to a client, so there is
// one client per (region, access key), kept in a small LRU; all of them share the first client's request handler and
// so its two keep-alive agents, and a refresh reuses the TLS connection of the last one. The handler is built by the
// SDK from agent options, which keeps node:http out of core/ (the daemon and the Lambda vendor both use this).
// Endpoints come from the SDK's own resolution (AWS_ENDPOINT_URL_STS and friends); nothing here names a host.
// client-sts itself is imported with the first client (sdk.ts).
import type { STSClient } from '@aws-sdk/client-sts';
import { LRUCache } from 'lru-cache';
import { loadSts } from './sdk.js';
import type { BaseCredentials, StsClients } from './types.js';
import { STS_BUDGET_MS, boundedRequestHandler } from '../aws-http.js';
import type { OpLogger } from '../log.js';

export interface StsClientOptions {
  /** SDK attempts per call (1 = no retry). The default, 2, absorbs one blip without outlasting the SDK clients that
   * wait on the daemon (1–2 s per attempt); single flight keeps it to one call per session however many wait. */
  maxAttempts?: number;
  /** Per attempt (default: the whole STS budget, so a hung first attempt leaves no time for a second). */
  requestTimeoutMs?: number;
  log?: OpLogger;
}

export type { StsClients };

const AGENT = { keepAlive: true, maxSockets: 16 };

export function createStsClients(options: StsClientOptions = {}): StsClients {
  let handler: STSClient['config']['requestHandler'] | undefined;
  // Evicted clients are not destroyed: destroying one would close the shared handler's agents. They hold no timers.
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
          requestHandler:
            handler ??
            boundedRequestHandler({
              timeoutMs: options.requestTimeoutMs ?? STS_BUDGET_MS,
              log: options.log,
              httpAgent: AGENT,
              httpsAgent: AGENT,
            }),
        });
        handler ??= c.config.requestHandler;
        clients.set(key, c);
      }
      return c;
    },
    close() {
      clients.clear();
      handler?.destroy?.();
    },
  };
}
