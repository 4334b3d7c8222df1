import t from 'tap';
import { ERROR_CODES, SentinelError, describe, fromBody, EXIT } from '../core/errors.js';

t.test('every catalogued code has a status, an exit code and a hint', async (t) => {
  for (const code of ERROR_CODES) {
    const d = describe(code);
    t.ok(d.status >= 400 && d.status < 600, `${code} status`);
    t.ok(Object.values(EXIT).includes(d.exit as never), `${code} exit`);
    t.ok(d.hint.length > 10, `${code} hint`);
  }
});

t.test('denials, revocations and bad tokens are 403, never 5xx (SDKs would retry)', async (t) => {
  for (const code of [
    'PolicyDenied',
    'ApprovalRequired',
    'ServerModeRequired',
    'SessionRevoked',
    'SessionExpired',
    'SessionEnded',
    'SessionUnknown',
    'TokenInvalid',
    'PeerNotAllowed',
    'NotStampable',
  ] as const) {
    t.equal(describe(code).status, 403, code);
  }
  t.equal(describe('PolicyDenied').exit, 3);
  t.equal(describe('DaemonNotRunning').exit, 4);
  t.equal(describe('BadRequest').exit, 2);
  t.equal(describe('SessionStoreUnavailable').status, 503);
  t.equal(describe('StsUnavailable').status, 502);
});

t.test('the wire body carries both spellings and round-trips', async (t) => {
  const e = new SentinelError('SessionRevoked', 'revoked by alice: leaving', { details: { session_id: 'abc' } });
  const body = e.toBody();
  t.equal(body.Code, 'SessionRevoked');
  t.equal(body.code, 'SessionRevoked');
  t.equal(body.Message, body.message);
  const back = fromBody(JSON.parse(JSON.stringify(body)));
  t.equal(back.code, 'SessionRevoked');
  t.equal(back.message, 'revoked by alice: leaving');
  t.equal(back.exit, 1);
  t.equal(fromBody({ Code: 'NoSuchThing' }).code, 'InternalError');
  t.equal(fromBody('garbage').code, 'InternalError');
  t.equal(fromBody(null).code, 'InternalError');
});
