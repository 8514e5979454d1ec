/**
 * Every TypeScript code block a reader meets must compile: the README, the guides in docs/, and every
 * `@example` in the TSDoc of src/. Blocks fenced as ```ts are checked; ```ts no-check opts one out.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');
const out = join(root, '.tmp', 'snippets');

interface Snippet {
  readonly origin: string;
  readonly code: string;
}

const FENCE = /^[ \t]*```ts[ \t]*\n([\s\S]*?)^[ \t]*```/gm;

function fromMarkdown(file: string): Snippet[] {
  const text = readFileSync(file, 'utf8');
  const snippets: Snippet[] = [];
  for (const m of text.matchAll(FENCE)) {
    const line = text.slice(0, m.index).split('\n').length;
    snippets.push({ origin: `${relative(root, file)}:${line}`, code: m[1] as string });
  }
  return snippets;
}

function fromTsdoc(file: string): Snippet[] {
  const text = readFileSync(file, 'utf8');
  const snippets: Snippet[] = [];
  for (const c of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const body = c[0]
      .split('\n')
      .map((l) => l.replace(/^\s*\/?\*+\/?\s?/, ''))
      .join('\n');
    for (const m of body.matchAll(FENCE)) {
      const line = text.slice(0, c.index).split('\n').length;
      snippets.push({ origin: `${relative(root, file)}:${line}`, code: m[1] as string });
    }
  }
  return snippets;
}

function walk(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(join(dir, d.name), ext) : d.name.endsWith(ext) ? [join(dir, d.name)] : [],
  );
}

function collect(): Snippet[] {
  const docs = join(root, 'docs');
  const markdown = [
    join(root, 'README.md'),
    ...readdirSync(docs)
      .filter((f) => f.endsWith('.md'))
      .map((f) => join(docs, f)),
  ];
  return [...markdown.flatMap(fromMarkdown), ...walk(join(root, 'src'), '.ts').flatMap(fromTsdoc)];
}

describe('code samples in README, docs and TSDoc', () => {
  const snippets = collect();

  it('finds the samples (README, the guides, the API examples)', () => {
    expect(snippets.some((s) => s.origin.startsWith('README.md'))).toBe(true);
    expect(snippets.some((s) => s.origin.startsWith('docs/'))).toBe(true);
    expect(snippets.some((s) => s.origin.startsWith('src/'))).toBe(true);
  });

  it('every sample type-checks against the package', () => {
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const files = snippets.map((s, i) => {
      const file = join(out, `snippet-${String(i).padStart(4, '0')}.ts`);
      // Each sample is its own module (top-level await allowed), as a user's file would be.
      writeFileSync(file, `${s.code}\nexport {};\n`);
      return file;
    });
    const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
    const program = ts.createProgram(files, { ...parsed.options, noEmit: true, noUnusedLocals: false });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file?.fileName.startsWith(out) === true)
      .map((d) => {
        const index = files.indexOf((d.file as ts.SourceFile).fileName);
        const { line } = (d.file as ts.SourceFile).getLineAndCharacterOfPosition(d.start ?? 0);
        const snippet = snippets[index] as Snippet;
        return `${snippet.origin} (+${line}): ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(problems).toEqual([]);
  }, 180_000); // one TypeScript program over every sample and the whole package: slow on a loaded machine
});
