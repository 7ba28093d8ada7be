// Builds the SDK served at /sdk/: the ES module web/sdk/opencalls.js (esbuild, one bundle,
// not minified so it can be read) and its declarations web/sdk/*.d.ts (tsc, which also
// type-checks the sources against the generated web/sdk/protocol.d.ts). The output is
// committed; ./scripts/test rebuilds it and fails if anything differs.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, '../../web/sdk');

execFileSync(process.execPath, [path.join(here, 'node_modules/typescript/bin/tsc'), '-p', here], { stdio: 'inherit' });

await build({
  entryPoints: [path.join(here, 'src/opencalls.ts')],
  outfile: path.join(out, 'opencalls.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  charset: 'utf8',
  legalComments: 'none',
  banner: {
    js: '// OpenCalls browser SDK (ES module). GENERATED from sdk/js/src by `npm run build` in sdk/js; do not edit.\n// Types: /sdk/opencalls.d.ts. Guide: docs/sdk-js.md.',
  },
  logLevel: 'warning',
});
