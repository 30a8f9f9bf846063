// Module hooks that let Node 20 run this repository's TypeScript sources without a build step:
// `.ts` files are transpiled on load with the TypeScript compiler the repository already depends on,
// and the `.js` specifiers that the sources use for relative imports resolve to their `.ts` files.
// Transpiled output is cached by content hash under node_modules/.cache, so only the first start
// after a change pays for loading the compiler.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
const cacheDir = join(repositoryRoot, 'node_modules', '.cache', 'dreamscape', 'typescript-hooks');
let compiler;

async function transpile(fileName, source) {
  compiler ??= (await import('typescript')).default;
  const ts = compiler;
  const { outputText } = ts.transpileModule(source, {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      inlineSourceMap: true,
    },
  });
  return outputText;
}

async function cached(fileName, source) {
  const key = createHash('sha256').update(fileName).update('\0').update(source).digest('hex');
  const file = join(cacheDir, `${key}.js`);
  try {
    return await readFile(file, 'utf8');
  } catch {
    const output = await transpile(fileName, source);
    try {
      await mkdir(cacheDir, { recursive: true });
      const partial = join(cacheDir, `${key}.${process.pid}.tmp`);
      await writeFile(partial, output);
      await rename(partial, file);
    } catch {
      // A read-only tree only costs speed.
    }
    return output;
  }
}

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const fromTypeScript = context.parentURL?.endsWith('.ts') === true;
    if (fromTypeScript && specifier.startsWith('.') && specifier.endsWith('.js')) {
      return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
    }
    throw error;
  }
}

export async function load(url, context, nextLoad) {
  if (url.startsWith('file:') && url.endsWith('.ts')) {
    const fileName = fileURLToPath(url);
    const source = await readFile(fileName, 'utf8');
    return { format: 'module', source: await cached(fileName, source), shortCircuit: true };
  }
  return nextLoad(url, context);
}
