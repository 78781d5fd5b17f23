import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { expect } from 'chai';

import { launchMode, MALLOC_TUNABLES, relaunchEnvironment, relaunchNodeOptions } from '../src/relaunch.js';
import { repositoryRoot, runCli } from './helpers/cli.js';

describe('starting Node again for the engine', function () {
  this.timeout(60_000);

  it('tells a second start, a switched-off one, one under the inspector, a direct one and other platforms apart', () => {
    expect(launchMode({ SIMVQ_RELAUNCHED: '1' }, 'linux')).to.equal('relaunched');
    expect(launchMode({ SIMVQ_RELAUNCH: '0' }, 'linux')).to.equal('off');
    expect(launchMode({}, 'linux', [])).to.equal('direct');
    // Under the inspector a second start would fight over its port.
    expect(launchMode({}, 'linux', ['--inspect-brk'])).to.equal('inspector');
    expect(launchMode({ NODE_OPTIONS: '--max-old-space-size=4096 --inspect=9229' }, 'linux', [])).to.equal('inspector');
    expect(launchMode({}, 'darwin')).to.equal('unsupported');
  });

  it('adds the malloc settings after tunables already set, but leaves a trim threshold of the user', () => {
    expect(relaunchEnvironment({ PATH: '/bin' })).to.deep.equal({ PATH: '/bin', GLIBC_TUNABLES: MALLOC_TUNABLES, SIMVQ_RELAUNCHED: '1', SIMVQ_PARENT_PIPE_FD: '3' });
    expect(relaunchEnvironment({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })['GLIBC_TUNABLES']).to.equal(`glibc.malloc.arena_max=2:${MALLOC_TUNABLES}`);
    expect(relaunchEnvironment({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=1000' })['GLIBC_TUNABLES']).to.equal('glibc.malloc.trim_threshold=1000');
  });

  it("keeps Node's own options and adds the GC option once", () => {
    expect(relaunchNodeOptions(['--enable-source-maps'])).to.deep.equal(['--enable-source-maps', '--single-threaded-gc']);
    expect(relaunchNodeOptions(['--single-threaded-gc'])).to.deep.equal(['--single-threaded-gc']);
  });

  if (process.platform !== 'linux') return;

  it('the simvq-audio command starts again, unless told not to', async () => {
    expect((await runCli(['info'])).stdout).to.match(/^process: started again with glibc heap trimming off and single-threaded GC/m);
    const off = await runCli(['info', '--json'], { SIMVQ_RELAUNCH: '0' });
    expect((JSON.parse(off.stdout) as { launch: string }).launch).to.equal('off');
  });

  describe('the second start', () => {
    // A script that relaunches itself, then prints what its second start sees and waits.
    const probe = join(mkdtempSync(join(tmpdir(), 'simvq-relaunch-')), 'probe.mjs');
    const relaunchModule = pathToFileURL(join(repositoryRoot, 'dist', 'src', 'relaunch.js')).href;
    writeFileSync(
      probe,
      `const { relaunchForEngine } = await import(${JSON.stringify(relaunchModule)});
await relaunchForEngine();
const seen = { pid: process.pid, tunables: process.env.GLIBC_TUNABLES, options: process.execArgv, args: process.argv.slice(2) };
process.stdout.write(JSON.stringify(seen) + '\\n');
if (process.argv[2] === 'exit') process.exit(Number(process.argv[3]));
setTimeout(() => {}, 60_000);
`,
    );

    interface Seen {
      pid: number;
      tunables: string;
      options: string[];
      args: string[];
    }

    function start(args: string[]) {
      const env = { ...process.env };
      for (const name of ['GLIBC_TUNABLES', 'SIMVQ_RELAUNCH', 'SIMVQ_RELAUNCHED']) delete env[name];
      const child = spawn(process.execPath, [probe, ...args], { env });
      const firstLine = new Promise<Seen>((resolve) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as Seen);
        });
      });
      const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      return { child, firstLine, ended };
    }

    it('runs the same script and arguments with the settings, and exits with its code', async () => {
      const { child, firstLine, ended } = start(['exit', '7']);
      const seen = await firstLine;
      expect(seen.tunables).to.equal(MALLOC_TUNABLES);
      expect(seen.options).to.include('--single-threaded-gc');
      expect(seen.args).to.deep.equal(['exit', '7']);
      expect(seen.pid).to.not.equal(child.pid);
      expect(await ended).to.deep.equal({ code: 7, signal: null });
    });

    it('ends the second start when the first is killed by SIGKILL, which it cannot pass on', async () => {
      const { child, firstLine, ended } = start(['wait']);
      const seen = await firstLine;
      child.kill('SIGKILL');
      expect(await ended).to.deep.equal({ code: null, signal: 'SIGKILL' });
      const deadline = Date.now() + 5000;
      let alive = true;
      while (alive && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        try {
          process.kill(seen.pid, 0);
        } catch {
          alive = false;
        }
      }
      expect(alive, 'the second start outlived the first').to.equal(false);
    });

    it('passes SIGTERM on and ends by it, leaving no process behind', async () => {
      const { child, firstLine, ended } = start(['wait']);
      const seen = await firstLine;
      child.kill('SIGTERM');
      expect(await ended).to.deep.equal({ code: null, signal: 'SIGTERM' });
      expect(() => process.kill(seen.pid, 0), 'the second start is gone').to.throw(/ESRCH/);
    });
  });
});
