/**
 * `simvq-audio serve`: what it serves and what it refuses, as a user runs it.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { expect } from 'chai';

import { cliScript, expectOneLineError, repositoryRoot, runCli } from '../helpers/cli.js';

const pretrained = { SIMVQ_PRETRAINED_DIR: join(repositoryRoot, 'codec', 'pretrained') };

describe('simvq-audio serve', function () {
  this.timeout(60_000);

  it('serves the page, the model files and onnxruntime-web on 127.0.0.1, cross-origin isolated, and nothing else', async () => {
    const child = spawn(process.execPath, [cliScript, 'serve', '--port', '0', '--no-comparisons'], { cwd: repositoryRoot, env: { ...process.env, ...pretrained } });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          const line = /^(http:\/\/127\.0\.0\.1:\d+\/)\n/m.exec(out);
          if (line !== null) resolve(line[1]!);
        });
        child.on('close', (code) => reject(new Error(`serve exited with ${code} before printing its address`)));
      });
      const page = await fetch(url);
      expect(page.status).to.equal(200);
      expect(page.headers.get('content-type')).to.match(/^text\/html/);
      expect(page.headers.get('cross-origin-opener-policy')).to.equal('same-origin');
      expect(page.headers.get('cross-origin-embedder-policy')).to.equal('require-corp');
      expect(await page.text()).to.include('<script type="module" src="app.js">');
      const manifest = (await (await fetch(`${url}model/model.json`)).json()) as { modelId: string };
      expect(manifest.modelId).to.equal('speech-16k-0.9kbps');
      expect((await fetch(`${url}ort/ort-wasm-simd-threaded.wasm`, { method: 'HEAD' })).headers.get('content-type')).to.equal('application/wasm');
      expect(await (await fetch(`${url}comparisons.json`)).json()).to.deep.equal([]);
      for (const path of ['model/model.safetensors', 'model/..%2Fpackage.json', '..%2F..%2Fpackage.json', 'ort/../package.json', 'chunks/.hidden.js', 'nothing']) {
        expect((await fetch(url + path)).status, path).to.equal(404);
      }
      expect((await fetch(url, { method: 'POST' })).status).to.equal(405);
    } finally {
      child.kill('SIGINT');
    }
  });

  it('a port number out of range, a port in use, or a missing model: exit 2, one line', async () => {
    expectOneLineError(await runCli(['serve', '--port', '99999'], pretrained), '--port');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const address = taken.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      expectOneLineError(await runCli(['serve', '--port', String(port), '--no-comparisons'], pretrained), `--port ${port}`, 'in use');
    } finally {
      taken.close();
    }
    expectOneLineError(await runCli(['serve', '--port', '0', '--model', '/no/such/model'], pretrained), '/no/such/model');
  });
});
