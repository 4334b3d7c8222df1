import t from 'tap';
import * as paths from '../core/paths.js';
import { parseDuration, formatDuration } from '../core/duration.js';

t.test('runtime dir: XDG_RUNTIME_DIR, else TMPDIR/sentinel-UID; relative XDG values are ignored', async (t) => {
  const uid = process.getuid!();
  t.equal(paths.runtimeDir({ XDG_RUNTIME_DIR: '/run/user/7' }), '/run/user/7/sentinel');
  t.equal(paths.runtimeDir({ TMPDIR: '/var/tmp' }), `/var/tmp/sentinel-${uid}`);
  t.equal(paths.runtimeDir({ XDG_RUNTIME_DIR: 'relative', TMPDIR: '/var/tmp' }), `/var/tmp/sentinel-${uid}`);
  t.equal(paths.runtimeDir({ XDG_RUNTIME_DIR: '/run/user/7' }, '/custom'), '/custom');
});

t.test('XDG config and state homes', async (t) => {
  t.equal(paths.configDir({ HOME: '/h' }), '/h/.config/sentinel');
  t.equal(paths.configDir({ HOME: '/h', XDG_CONFIG_HOME: '/x' }), '/x/sentinel');
  t.equal(paths.stateDir({ HOME: '/h' }), '/h/.local/state/sentinel');
  t.equal(paths.stateDir({ HOME: '/h', XDG_STATE_HOME: '/s' }), '/s/sentinel');
  t.equal(paths.defaultDecisionLog({ HOME: '/h' }), '/h/.local/state/sentinel/decisions.log');
  t.equal(paths.expandHome('~/a', { HOME: '/h' }), '/h/a');
  t.equal(paths.expandHome('~', { HOME: '/h' }), '/h');
  t.equal(paths.socketPath({ XDG_RUNTIME_DIR: '/r' }), '/r/sentinel/sentinel.sock');
  t.equal(paths.socketPath({ XDG_RUNTIME_DIR: '/r', SENTINEL_SOCKET: '/s.sock' }), '/s.sock');
  t.equal(paths.socketPath({ SENTINEL_SOCKET: '/s.sock' }, null, '/f.sock'), '/f.sock');
});

t.test('Go-style durations', async (t) => {
  t.equal(parseDuration('15m'), 900_000);
  t.equal(parseDuration('1h30m'), 5_400_000);
  t.equal(parseDuration('90s'), 90_000);
  t.equal(parseDuration('1.5h'), 5_400_000);
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('2d'), 172_800_000);
  for (const bad of ['', '15', 'm', '1h 30m', '-5m', '0s', '5x', '1h30', 'h1', 'abc', '1e3s', '5m'.repeat(40)]) {
    t.equal(parseDuration(bad), undefined, `refuses ${JSON.stringify(bad)}`);
  }
  t.equal(parseDuration(42 as unknown as string), undefined, 'refuses non-strings');
  t.equal(formatDuration(5_400_000), '1h30m');
  t.equal(formatDuration(900_000), '15m');
  t.equal(formatDuration(61_000), '1m1s');
  t.equal(formatDuration(0), '0s');
});
