// Structure checks over src/: no import cycles (type-only imports count: earlier cycles in this
// project were over types) and no imports from tools/, scripts/ or tests/.
//
// The graph comes from dpdm (devDependency), which parses every file with the TypeScript compiler and
// resolves specifiers with ts.resolveModuleName under tsconfig.json, so NodeNext `./x.js` specifiers
// land on `./x.ts`. `transform: false` keeps type-only imports and `export type … from` edges (with
// `transform: true` dpdm would run the TS emitter first and they would vanish).
//
// dpdm does NOT see two forms, so they are rejected below for relative specifiers instead:
// type-position `import('./x.js')` (ImportTypeNode, e.g. `import('./x.js').Foo`) and
// `import x = require('./x.js')`. Write `import type { Foo } from './x.js'` instead.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseCircular, parseDependencyTree, type DependencyTree } from 'dpdm';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FORBIDDEN_FROM_SRC = ['tools/', 'scripts/', 'tests/'];

/** Dependency tree of every `src/**\/*.ts` and what they import, keys relative to `root` (`/` separators). */
async function importGraph(root: string): Promise<DependencyTree> {
  return parseDependencyTree('src/**/*.ts', {
    cwd: root,
    context: root,
    tsconfig: join(root, 'tsconfig.json'),
    transform: false, // keep `import type` / `export type … from`
    skipDynamicImports: false,
  });
}

/** Each cycle as `a.ts -> b.ts -> a.ts`. */
function cycles(tree: DependencyTree): string[] {
  return parseCircular(tree).map((cycle) => [...cycle, cycle[0]].join(' -> '));
}

function isRelative(specifier: string): boolean {
  return specifier.startsWith('./') || specifier.startsWith('../');
}

function srcFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return srcFiles(path);
    return entry.isFile() && entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative specifiers that dpdm cannot see (see the header comment), as `file: specifier`. */
function invisibleToDpdm(root: string): string[] {
  const found: string[] = [];
  for (const file of srcFiles(join(root, 'src'))) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      let specifier: string | undefined;
      if (ts.isImportTypeNode(node)) {
        const arg = node.argument;
        if (ts.isLiteralTypeNode(arg) && ts.isStringLiteral(arg.literal)) specifier = arg.literal.text;
      } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
        const expr = node.moduleReference.expression;
        if (ts.isStringLiteral(expr)) specifier = expr.text;
      }
      if (specifier !== undefined && isRelative(specifier)) {
        found.push(`${relative(root, file).split(sep).join('/')}: ${specifier}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

describe('src/ import structure', async () => {
  const tree = await importGraph(ROOT);
  const srcEntries = Object.entries(tree).filter(([id]) => id.startsWith('src/'));

  it('parses every src file', () => {
    const expected = srcFiles(join(ROOT, 'src')).map((f) => relative(ROOT, f).split(sep).join('/')).sort();
    assert.deepEqual(srcEntries.map(([id]) => id).sort(), expected);
  });

  it('resolves every relative import (an unresolved one would hide an edge)', () => {
    const unresolved = srcEntries.flatMap(([, deps]) =>
      (deps ?? []).filter((d) => d.id === null && isRelative(d.request)).map((d) => `${d.issuer}: ${d.request}`),
    );
    assert.deepEqual(unresolved, [], `unresolved relative imports:\n  ${unresolved.join('\n  ')}`);
  });

  it('uses no relative import forms the cycle check cannot see', () => {
    const found = invisibleToDpdm(ROOT);
    assert.deepEqual(found, [], `use \`import type\` instead of these:\n  ${found.join('\n  ')}`);
  });

  it('has no import cycles, type-only imports included', () => {
    const found = cycles(tree);
    assert.deepEqual(found, [], `import cycles in src/:\n  ${found.join('\n  ')}`);
  });

  it(`never imports from ${FORBIDDEN_FROM_SRC.join(', ')}`, () => {
    const bad = srcEntries.flatMap(([, deps]) =>
      (deps ?? [])
        .filter((d) => d.id !== null && FORBIDDEN_FROM_SRC.some((dir) => d.id!.startsWith(dir)))
        .map((d) => `${d.issuer} -> ${d.id}`),
    );
    assert.deepEqual(bad, [], `src/ imports outside src/:\n  ${bad.join('\n  ')}`);
  });
});

// Guards the checker itself: a library upgrade that dropped type-only edges or stopped mapping
// `.js` specifiers to `.ts` files would otherwise turn the test above silently green.
describe('the cycle check itself', () => {
  it('sees a cycle made only of `import type` / `export type … from` over `.js` specifiers', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ragtax-imports-'));
    try {
      writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
      writeFileSync(
        join(root, 'tsconfig.json'),
        JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src/**/*.ts'] }),
      );
      const src = join(root, 'src');
      mkdirSync(src);
      writeFileSync(join(src, 'a.ts'), "import type { B } from './b.js';\nexport interface A { b?: B }\n");
      writeFileSync(join(src, 'b.ts'), "export type { C as B } from './c.js';\n");
      writeFileSync(join(src, 'c.ts'), "import { type A } from './a.js';\nexport interface C { a?: A }\n");
      const found = cycles(await importGraph(root));
      assert.equal(found.length, 1, `expected one cycle, got: ${JSON.stringify(found)}`);
      assert.deepEqual(new Set(found[0]!.split(' -> ')), new Set(['src/a.ts', 'src/b.ts', 'src/c.ts']));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
