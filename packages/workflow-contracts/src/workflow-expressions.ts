import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import { triggers, type Job, type WorkflowFile } from './workflow-file.js';

/** The contexts an expression may read (`inputs`, `github`, `needs`, `secrets`, ...), as plain JSON. */
export type ExpressionContexts = Readonly<Record<string, unknown>>;

/** A piece of a workflow value: literal text, or the body of one `${{ }}`. */
export type ExpressionPart = { readonly literal: string } | { readonly expression: string };

/** Splits text into literal text and the bodies of its `${{ }}`; a `}}` inside a quoted string does not close one. */
export function expressionParts(text: string): ExpressionPart[] {
  const out: ExpressionPart[] = [];
  let at = 0;
  while (at < text.length) {
    const start = text.indexOf('${{', at);
    if (start === -1) {
      out.push({ literal: text.slice(at) });
      break;
    }
    if (start > at) out.push({ literal: text.slice(at, start) });
    let end = start + 3;
    let quoted = false;
    for (; end < text.length; end++) {
      if (text[end] === "'") quoted = !quoted;
      else if (!quoted && text.startsWith('}}', end)) break;
    }
    if (end >= text.length) throw new Error(`an expression is not closed in ${JSON.stringify(text)}`);
    out.push({ expression: text.slice(start + 3, end) });
    at = end + 2;
  }
  return out;
}

function evaluateExpression(expression: string, contexts: ExpressionContexts): data.ExpressionData {
  const parsed = new Parser(new Lexer(expression).lex().tokens, Object.keys(contexts), []).parse();
  const context = JSON.parse(JSON.stringify(contexts), data.reviver) as data.Dictionary;
  return new Evaluator(parsed, context).evaluate();
}

/** ExpressionData as plain JSON. */
export function plain(value: data.ExpressionData): unknown {
  return JSON.parse(JSON.stringify(value, data.replacer)) as unknown;
}

/**
 * Evaluates a value of a workflow file as the runner does, with GitHub's own expression library: a
 * value that is one `${{ }}` and nothing else keeps the type of its result (a boolean stays a
 * boolean); text with expressions inside is one string, each result turned into text; anything
 * else is returned unchanged. A context the expression names but `contexts` lacks is an error.
 */
export function evaluateValue(value: unknown, contexts: ExpressionContexts): unknown {
  if (typeof value !== 'string') return value;
  const split = expressionParts(value);
  const [only] = split;
  if (split.length === 1 && only !== undefined && 'expression' in only)
    return plain(evaluateExpression(only.expression, contexts));
  return split
    .map((p) => ('literal' in p ? p.literal : evaluateExpression(p.expression, contexts).coerceString()))
    .join('');
}

/** A value as an action's input, a job's output or an environment variable receives it: text. */
export function evaluateString(value: unknown, contexts: ExpressionContexts): string {
  return text(evaluateValue(value, contexts));
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** One input of a reusable workflow, as its `on.workflow_call.inputs` declares it. */
interface CallInput {
  readonly type?: string;
  readonly default?: unknown;
}

/**
 * The `inputs` context of a reusable workflow, as a calling job sets it: every input the callee
 * declares, from the caller's `with:` (evaluated in `callerContexts`) or else the callee's default
 * (`false`, `0` or `''` without one). Booleans and numbers keep their type; strings are text.
 */
export function callInputs(
  callee: WorkflowFile,
  caller: Pick<Job, 'with'>,
  callerContexts: ExpressionContexts,
): Record<string, unknown> {
  const call = triggers(callee.doc).workflow_call as
    { inputs?: Readonly<Record<string, CallInput>> } | null | undefined;
  const given = caller.with ?? {};
  const inputs: Record<string, unknown> = {};
  for (const [name, input] of Object.entries(call?.inputs ?? {})) {
    const empty = input.type === 'boolean' ? false : input.type === 'number' ? 0 : '';
    const value = evaluateValue(name in given ? given[name] : (input.default ?? empty), callerContexts);
    inputs[name] = input.type === 'boolean' || input.type === 'number' ? value : text(value);
  }
  return inputs;
}
