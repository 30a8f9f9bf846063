// A Node.js module loader that runs the repository's TypeScript directly, for scripts, the demo,
// benchmarks and the kube-double CLI (actions themselves ship as ncc bundles). Type errors are not
// checked here: `npm run typecheck` does that.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Maps `./x.js` imports to `./x.ts` when only the TypeScript file exists. */
export async function resolve(specifier, context, next) {
  if (
    (specifier.startsWith('.') || specifier.startsWith('/')) &&
    specifier.endsWith('.js') &&
    context.parentURL
  ) {
    const candidate = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
    if (
      candidate.protocol === 'file:' &&
      !existsSync(fileURLToPath(new URL(specifier, context.parentURL))) &&
      existsSync(fileURLToPath(candidate))
    ) {
      return next(candidate.href, context);
    }
  }
  return next(specifier, context);
}

/** Transpiles `.ts` files to ES modules on the fly. */
export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const path = fileURLToPath(url);
  const output = ts.transpileModule(readFileSync(path, 'utf8'), {
    fileName: path,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      sourceMap: false,
      inlineSourceMap: true,
      inlineSources: true,
    },
  });
  return { format: 'module', source: output.outputText, shortCircuit: true };
}
