import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import type { FunctionDefinition } from '@actions/expressions/funcs/info';
import { truthy } from '@actions/expressions/result';
import {
  isBasicExpression,
  isBoolean,
  isLiteral,
  isMapping,
  isNumber,
  isSequence,
  isString,
} from '@actions/workflow-parser';
import type { BasicExpressionToken, TemplateToken } from '@actions/workflow-parser/templates/tokens/index';
import { ensureStatusFunction } from '@actions/workflow-parser/model/converter/if-condition';
import { load } from 'js-yaml';
import { expressionParts, plain } from '../workflow-expressions.js';

/** The status functions of a job or step condition: GitHub's `success()`, `failure()`, `cancelled()`. */
export interface RunStatus {
  readonly success: boolean;
  readonly failure: boolean;
  readonly cancelled: boolean;
}

/**
 * The contexts an expression reads (`github`, `inputs`, `needs`, `steps`, ...) as plain JSON, with
 * the status functions where conditions may call them. Evaluation is GitHub's own
 * (`@actions/expressions`): case-insensitive names, loose equality, `null` for what is missing.
 */
export class ExpressionScope {
  private readonly dictionary: data.Dictionary;
  private readonly names: string[];
  private readonly functions: Map<string, FunctionDefinition>;

  constructor(
    readonly contexts: Readonly<Record<string, unknown>>,
    status?: RunStatus,
  ) {
    this.names = Object.keys(contexts);
    this.dictionary = JSON.parse(JSON.stringify(contexts), data.reviver) as data.Dictionary;
    this.functions = new Map();
    if (status !== undefined) {
      const fn = (name: string, value: boolean): void => {
        this.functions.set(name, { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(value) });
      };
      fn('success', status.success);
      fn('failure', status.failure);
      fn('cancelled', status.cancelled);
      fn('always', true);
    }
  }

  /** Evaluates one expression (the text inside `${{ }}`). */
  evaluate(expression: string): data.ExpressionData {
    const tokens = new Lexer(expression).lex().tokens;
    const tree = new Parser(tokens, this.names, [...this.functions.values()]).parse();
    return new Evaluator(tree, this.dictionary, this.functions).evaluate();
  }

  /** A condition's value: the expression's result, truthy or not. */
  condition(expression: string): boolean {
    return truthy(this.evaluate(expression));
  }

  /** A token of the workflow as plain JSON, every expression in it evaluated. */
  value(token: TemplateToken): unknown {
    if (isBasicExpression(token)) return plain(this.evaluate(expressionOf(token)));
    if (isString(token) || isBoolean(token) || isNumber(token)) return token.value;
    if (isLiteral(token)) return null;
    if (isSequence(token)) {
      const out: unknown[] = [];
      for (const item of token) out.push(this.value(item));
      return out;
    }
    if (isMapping(token)) {
      const out: Record<string, unknown> = {};
      for (const pair of token) out[this.text(pair.key, 'a mapping key')] = this.value(pair.value);
      return out;
    }
    throw new Error(`${token.typeName()} is not supported here`);
  }

  /**
   * A scalar token as text, the way an input, an environment variable or a script receives it:
   * booleans and numbers as GitHub writes them, null as ''. A mapping or a sequence is refused.
   */
  text(token: TemplateToken, where: string): string {
    if (isBasicExpression(token)) {
      const result = this.evaluate(expressionOf(token));
      if (!result.primitive)
        throw new Error(`${where}: the expression gave ${kindName(result)}, where text is expected`);
      return result.coerceString();
    }
    if (isString(token)) return token.value;
    if (isBoolean(token) || isNumber(token)) return String(token.value);
    if (isLiteral(token)) return '';
    throw new Error(`${where}: a ${token.typeName()} is not text`);
  }
}

function kindName(value: data.ExpressionData): string {
  return value.kind === data.Kind.Array ? 'an array' : 'an object';
}

/**
 * The expression a text with `${{ }}` stands for, as the runner reads it: the expression itself
 * when the text is one `${{ }}` and nothing else (its result keeps its type), else a `format()`
 * of the literal text around the expressions (a string, however the expressions turn out).
 */
export function expressionOfText(text: string): string {
  const parts = expressionParts(text).map((p) =>
    'expression' in p ? { expression: p.expression.trim() } : p,
  );
  const [only] = parts;
  if (parts.length === 1 && only !== undefined && 'expression' in only) return only.expression;
  let pattern = '';
  const args: string[] = [];
  for (const part of parts) {
    if ('literal' in part)
      pattern += part.literal.replace(/'/g, "''").replace(/\{/g, '{{').replace(/\}/g, '}}');
    else {
      pattern += `{${args.length}}`;
      args.push(part.expression);
    }
  }
  return `format('${pattern}'${args.map((a) => `, ${a}`).join('')})`;
}

/**
 * The expression of a token. For a YAML block scalar (`>-`, `|`) spanning lines,
 * `@actions/workflow-parser` (made for the editor) builds the expression from the scalar's source
 * lines, indentation and line breaks included, where GitHub reads the scalar's folded value: a
 * condition `if: >-` then `${{ ... }}` on the next lines would be a non-empty `format()` string,
 * always true. The value is folded again here (js-yaml) and read as GitHub reads it.
 */
export function expressionOf(token: BasicExpressionToken): string {
  const header = token.blockScalarHeader;
  const source = token.source;
  if (header === undefined || source === undefined || !source.includes('\n')) return token.expression;
  const folded = (load(`folded: ${header}\n${source}`) as { folded: unknown }).folded;
  return typeof folded === 'string' ? expressionOfText(folded) : token.expression;
}

/**
 * The condition of a job or step as the runner evaluates it: the parser's (with GitHub's implicit
 * `success() && (...)` when no status function is called), or, for a block scalar, its folded
 * value given the same treatment (see {@link expressionOf}).
 */
export function conditionOf(converted: BasicExpressionToken, raw: TemplateToken | undefined): string {
  if (raw === undefined || !isBasicExpression(raw) || expressionOf(raw) === raw.expression)
    return converted.expression;
  return ensureStatusFunction(expressionOf(raw), raw.definitionInfo);
}
