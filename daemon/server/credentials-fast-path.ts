// Warm credential fetches are nearly all of the daemon's traffic (botocore and the AWS CLI fetch on every API call,
// DESIGN §3.4), and fastify's pipeline around them — routing, four hook stages, the reply machinery — cost about as
// much CPU per request as everything Sentinel itself does (bench/daemon.ts). So a request that is plainly a
// well-formed credential fetch from an admitted peer with a known token is answered here, on node:http directly,
// through the same checks and the same session manager; anything else — every admission refusal, a query string, a
// body, a foreign Host — is handed to fastify untouched, which answers it as before. Nothing is checked only here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OpLogger } from '../../core/log.js';
import type { DaemonSessions } from '../sessions/types.js';
import type { PeerCheck, TokenCheck, Transport } from './auth.js';
import { serializedBody } from '../../core/issuer/credentials-body.js';
import { errorAnswer, internalErrorFor } from './errors.js';
import { foreignHostOf } from './listener-host.js';
import { CREDENTIAL_PATHS } from './routes-credentials.js';

const PATHS: ReadonlySet<string> = new Set(CREDENTIAL_PATHS);

export interface FastPathOptions {
  transport: Transport;
  peers: PeerCheck;
  tokens: TokenCheck;
  sessions: DaemonSessions;
  log: OpLogger;
}

/** Returns a request listener that answers what it takes and returns false for everything else. */
export function credentialFastPath(options: FastPathOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { transport, peers, tokens, sessions, log } = options;
  return function fastPath(req, res) {
    if (req.method !== 'GET' || !PATHS.has(req.url!)) return false;
    const headers = req.headers;
    if ((headers['content-length'] !== undefined && headers['content-length'] !== '0') || headers['transfer-encoding'])
      return false;
    const socket = req.socket;
    const record = peers(socket);
    if (!record.ok) return false;
    if (transport === 'tcp' && foreignHostOf(headers.host, socket)) return false;
    const match = tokens.match(socket, record.peer, headers.authorization);
    if (!match) return false;
    sessions.credentials(match, record.peer).then(
      (body) => {
        const bytes = serializedBody(body);
        res.writeHead(200, {
          'content-type': 'application/json',
          'cache-control': 'no-store',
          'content-length': bytes.length,
        });
        res.end(bytes);
      },
      (error: unknown) => {
        const answer = errorAnswer(internalErrorFor(error, log, 'GET', req.url));
        res.writeHead(answer.status, { ...answer.headers, 'content-length': answer.body.length });
        res.end(answer.body);
      },
    );
    return true;
  };
}
