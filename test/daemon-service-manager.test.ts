// Which service manager started the daemon (daemon/lifecycle/service-manager.ts), as /v1/status reports it for
// `sentinel daemon restart`: only what marks Sentinel's own unit or agent counts, not what a terminal run as a service
// passes on to the shells it opens.
import t from 'tap';
import { managerOfDaemon } from '../cli/daemon.js';
import { serviceManager } from '../daemon/lifecycle/service-manager.js';
import { startDaemon } from './support/daemon.js';

const UNIT = '0::/user.slice/user-1000.slice/user@1000.service/app.slice/sentinel.service\n';
const TERMINAL = '0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-terminal-1234.scope\n';
const none = () => TERMINAL;

t.test('launchd: its label in XPC_SERVICE_NAME, nothing else', async (t) => {
  t.equal(serviceManager({ XPC_SERVICE_NAME: 'dev.sentinel.agent' }, 42, none), 'launchd');
  t.equal(serviceManager({ XPC_SERVICE_NAME: '0' }, 42, none), null, "Terminal's shells");
  t.equal(serviceManager({ XPC_SERVICE_NAME: 'com.apple.Terminal' }, 42, none), null);
});

t.test('systemd: the process systemd started, or the cgroup of sentinel.service', async (t) => {
  t.equal(serviceManager({ SYSTEMD_EXEC_PID: '42' }, 42, none), 'systemd', 'SYSTEMD_EXEC_PID names this process');
  t.equal(
    serviceManager({ SYSTEMD_EXEC_PID: '41', INVOCATION_ID: 'abc' }, 42, none),
    null,
    "a terminal service's variables, inherited through a shell",
  );
  t.equal(
    serviceManager({}, 42, () => UNIT),
    'systemd',
    "in sentinel.service's cgroup (systemd before 248)",
  );
  t.equal(
    serviceManager({}, 42, () => `12:pids:/x\n${UNIT}`),
    'systemd',
    'cgroup v1 lines too',
  );
  for (const other of [
    '0::/user.slice/user-1000.slice/user@1000.service/app.slice/notsentinel.service\n',
    '0::/user.slice/user-1000.slice/user@1000.service/app.slice/sentinel.service/child\n',
    '0::/system.slice/sentinel.socket\n',
    '',
  ]) {
    t.equal(
      serviceManager({}, 42, () => other),
      null,
      JSON.stringify(other),
    );
  }
  t.equal(
    serviceManager({}, 42, () => {
      throw Object.assign(new Error('no /proc'), { code: 'ENOENT' });
    }),
    null,
    'no /proc: none',
  );
});

t.test('/v1/status says which, null for a daemon started by hand', async (t) => {
  const plain = await startDaemon(t);
  t.equal((await plain.client.get<{ service_manager: unknown }>('/v1/status')).service_manager, null);
  const managed = await startDaemon(t, { env: { SYSTEMD_EXEC_PID: String(process.pid) } });
  t.equal((await managed.client.get<{ service_manager: unknown }>('/v1/status')).service_manager, 'systemd');
});

t.test(
  "daemon restart takes the status's word, and looks up the cgroup of a daemon from before the field",
  async (t) => {
    const unread = () => {
      throw new Error('not read');
    };
    t.equal(await managerOfDaemon({ pid: 7, service_manager: 'launchd' }, unread), 'launchd');
    t.equal(await managerOfDaemon({ pid: 7, service_manager: null }, unread), null, 'null: started by hand');
    t.equal(await managerOfDaemon({ pid: 7 }, () => UNIT), 'systemd', 'absent: its cgroup is sentinel.service');
    t.equal(await managerOfDaemon({ pid: 7 }, () => TERMINAL), null, 'absent: another cgroup');
    t.equal(await managerOfDaemon({ pid: process.pid }), null, "this test's own cgroup, read from /proc");
  },
);
