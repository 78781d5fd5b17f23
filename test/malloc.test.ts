import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { MALLOC_TUNABLES, mallocTuning, tunedEnvironment, wantsMallocRelaunch } from '../src/malloc.js';
import { repositoryRoot, runCli } from './helpers/cli.js';

const ours = MALLOC_TUNABLES;

describe('malloc tuning', function () {
  this.timeout(60_000);

  it('tells tuned, user-set, switched-off, default and unsupported apart', () => {
    expect(mallocTuning({ GLIBC_TUNABLES: ours }, 'linux')).to.equal('tuned');
    expect(mallocTuning({ GLIBC_TUNABLES: `glibc.malloc.arena_max=2:${ours}` }, 'linux')).to.equal('tuned');
    expect(mallocTuning({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=1000' }, 'linux')).to.equal('user');
    expect(mallocTuning({ SIMVQ_MALLOC_TUNING: '0' }, 'linux')).to.equal('off');
    expect(mallocTuning({}, 'linux')).to.equal('default');
    expect(mallocTuning({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux')).to.equal('default');
    expect(mallocTuning({}, 'darwin')).to.equal('unsupported');
    // Only the default case relaunches: never twice, never over a user's own threshold.
    expect(wantsMallocRelaunch({}, 'linux')).to.equal(true);
    for (const env of [{ GLIBC_TUNABLES: ours }, { GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=1000' }, { SIMVQ_MALLOC_TUNING: '0' }]) {
      expect(wantsMallocRelaunch(env, 'linux'), JSON.stringify(env)).to.equal(false);
    }
    expect(wantsMallocRelaunch({}, 'win32')).to.equal(false);
  });

  it('adds its settings after tunables already set, and keeps the rest of the environment', () => {
    expect(tunedEnvironment({ PATH: '/bin' })).to.deep.equal({ PATH: '/bin', GLIBC_TUNABLES: ours });
    expect(tunedEnvironment({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })['GLIBC_TUNABLES']).to.equal(`glibc.malloc.arena_max=2:${ours}`);
  });

  if (process.platform !== 'linux') return;

  it('the simvq-audio command runs with them, unless told not to or given a threshold of its own', async () => {
    expect((await runCli(['info'])).stdout).to.match(/^malloc: glibc, heap trimming off/m);
    expect((await runCli(['info'], { SIMVQ_MALLOC_TUNING: '0' })).stdout).to.match(/^malloc: glibc defaults \(SIMVQ_MALLOC_TUNING=0\)/m);
    const own = await runCli(['info', '--json'], { GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=1000' });
    expect((JSON.parse(own.stdout) as { malloc: string }).malloc).to.equal('user');
  });

  describe('relaunching', () => {
    // A script that relaunches itself, then prints what its second run sees and waits.
    const probe = join(mkdtempSync(join(tmpdir(), 'simvq-relaunch-')), 'probe.mjs');
    writeFileSync(
      probe,
      `const { relaunchWithTunedMalloc } = await import(${JSON.stringify(new URL('dist/src/malloc.js', `file://${repositoryRoot}/`).href)});
await relaunchWithTunedMalloc();
process.stdout.write(JSON.stringify({ pid: process.pid, tunables: process.env.GLIBC_TUNABLES, args: process.argv.slice(2) }) + '\\n');
if (process.argv[2] === 'exit') process.exit(Number(process.argv[3]));
setTimeout(() => {}, 60_000);
`,
    );

    function start(args: string[]) {
      const env = { ...process.env };
      delete env['GLIBC_TUNABLES'];
      delete env['SIMVQ_MALLOC_TUNING'];
      const child = spawn(process.execPath, [probe, ...args], { env });
      const firstLine = new Promise<{ pid: number; tunables: string; args: string[] }>((resolve) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as { pid: number; tunables: string; args: string[] });
        });
      });
      const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      return { child, firstLine, ended };
    }

    it('runs the same script and arguments again with the tunables, and exits with its code', async () => {
      const { child, firstLine, ended } = start(['exit', '7']);
      const seen = await firstLine;
      expect(seen.tunables).to.equal(ours);
      expect(seen.args).to.deep.equal(['exit', '7']);
      expect(seen.pid).to.not.equal(child.pid);
      expect(await ended).to.deep.equal({ code: 7, signal: null });
    });

    it('passes SIGTERM on and ends by it, leaving no process behind', async () => {
      const { child, firstLine, ended } = start(['wait']);
      const seen = await firstLine;
      child.kill('SIGTERM');
      expect(await ended).to.deep.equal({ code: null, signal: 'SIGTERM' });
      expect(() => process.kill(seen.pid, 0), 'the relaunched process is gone').to.throw(/ESRCH/);
    });
  });
});
