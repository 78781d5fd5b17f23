/**
 * The package's layering, read from the compiled import graph: running a
 * model (src/runtime) never reaches training, export, the tfjs codec model or
 * tfjs itself, except through the one dynamic import of the explicit tfjs
 * engine; the browser build (src/web) reaches no Node module and no tfjs.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

import { expect } from 'chai';

/** Every .js file under `directory` compiled from a source file that still exists (dist/ may hold stale ones). */
function files(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return files(path);
    return path.endsWith('.js') && existsSync(join('src', relative(ROOT, path)).replace(/\.js$/, '.ts')) ? [path] : [];
  });
}

/** Static imports and re-exports of a compiled module (dynamic import() calls are listed apart). */
function imports(path: string): { static: string[]; dynamic: string[] } {
  const text = readFileSync(path, 'utf8');
  const statics = [...text.matchAll(/^(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
  const bare = [...text.matchAll(/^import\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
  const dynamic = [...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
  return { static: [...statics, ...bare], dynamic };
}

const ROOT = resolve('dist/src');

describe('layering: the runtime stays clear of training', () => {
  it('no module under src/runtime imports tfjs, codec/model, train/ or export/ statically, nor reaches them', () => {
    const forbidden = (target: string) => target.startsWith('@tensorflow/') || /\/(codec\/model|train\/[^/]+|export\/[^/]+)\.js$/.test(target);
    // Walk the static graph from every runtime module, so an indirect path is caught too.
    const offenders: string[] = [];
    const seen = new Set<string>();
    const visit = (path: string, via: string[]) => {
      if (seen.has(path)) return;
      seen.add(path);
      for (const specifier of imports(path).static) {
        const target = specifier.startsWith('.') ? resolve(dirname(path), specifier) : specifier;
        if (forbidden(target)) offenders.push([...via, relative(ROOT, path), specifier].join(' → '));
        else if (specifier.startsWith('.')) visit(target, [...via, relative(ROOT, path)]);
      }
    };
    for (const path of files(join(ROOT, 'runtime'))) visit(path, []);
    expect(offenders).to.deep.equal([]);
  });

  it('the only dynamic imports of tfjs-side modules in src/runtime are the tfjs engine\'s', () => {
    const dynamic = files(join(ROOT, 'runtime')).flatMap((path) => imports(path).dynamic.map((specifier) => `${relative(ROOT, path)}: ${specifier}`));
    expect(dynamic.filter((line) => !line.startsWith('runtime/codec.js:'))).to.deep.equal([]);
  });
});

describe('layering: the browser build', () => {
  it('nothing src/web reaches imports a Node module, tfjs, or the Node-only parts of the runtime', () => {
    const offenders: string[] = [];
    const seen = new Set<string>();
    const visit = (path: string, via: string[]) => {
      if (seen.has(path)) return;
      seen.add(path);
      const { static: statics, dynamic } = imports(path);
      for (const specifier of [...statics, ...dynamic]) {
        const target = specifier.startsWith('.') ? resolve(dirname(path), specifier) : specifier;
        const chain = [...via, relative(ROOT, path), specifier].join(' → ');
        if (specifier.startsWith('node:') || specifier.startsWith('@tensorflow/') || specifier === 'onnxruntime-node') offenders.push(chain);
        else if (specifier.startsWith('.')) visit(target, [...via, relative(ROOT, path)]);
      }
    };
    for (const path of files(join(ROOT, 'web'))) visit(path, []);
    expect(seen.size, 'modules reached from src/web').to.be.greaterThan(5);
    expect(offenders).to.deep.equal([]);
  });
});
