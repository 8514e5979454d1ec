import { existsSync, readdirSync } from 'node:fs';
import { defineConfig } from 'tsup';

/** Every `src/<block>/index.ts` except `core` becomes the subpath `system-design-blocks/<block>`. */
const blocks = readdirSync('src', { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'core' && existsSync(`src/${d.name}/index.ts`))
  .map((d) => d.name);

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    ...Object.fromEntries(blocks.map((b) => [`${b}/index`, `src/${b}/index.ts`])),
  },
  format: ['esm', 'cjs'],
  dts: { compilerOptions: { paths: {} } },
  tsconfig: 'tsconfig.build.json',
  // Shared chunks in both formats: one copy of core (errors, the hasher) however many subpaths a user loads.
  splitting: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  treeshake: false,
});
