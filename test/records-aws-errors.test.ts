// What a table's "unavailable" error says for each kind of AWS failure: no credentials found is not AWS refusing
// them (before, `init breakglass` with no credentials at all sent admins to their IAM policy), and AWS's own text
// never reaches the message.
import t from 'tap';
import { BREAKGLASS_TABLE } from '../core/breakglass/record.js';
import { storeUnavailable } from '../core/records/aws-errors.js';

const error = (name: string, message = 'arn:aws:iam::123456789012:user/secret-detail did something') =>
  Object.assign(new Error(message), { name });

t.test('no credentials found: says so, and how to give some', async (t) => {
  const e = storeUnavailable(
    error('CredentialsProviderError', 'Could not load credentials from any providers'),
    't1',
    BREAKGLASS_TABLE,
  );
  t.equal(e.message, 'no AWS credentials could be found for the break-glass table t1');
  t.match(e.hint, /aws_profile in config\.yaml, or --profile/);
  t.notMatch(e.message + e.hint, /refused|IAM policy/);
});

t.test('credentials AWS refused: the IAM policy; throttling, unreachable; AWS text never shown', async (t) => {
  const refused = storeUnavailable(error('AccessDeniedException'), 't1', BREAKGLASS_TABLE);
  t.equal(refused.message, "AWS refused Sentinel's credentials for the break-glass table t1");
  t.match(refused.hint, /init breakglass --plan/);
  t.match(storeUnavailable(error('ThrottlingException'), 't1', BREAKGLASS_TABLE).message, /throttling/);
  const down = storeUnavailable(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 't1', BREAKGLASS_TABLE);
  t.match(down.message, /cannot be reached/);
  for (const e of [refused, down]) t.notMatch(e.message + e.hint, /secret-detail|123456789012/);
});
