import { describe, expect, it } from '@jest/globals';
import { ExpressionScope, expressionOfText } from '../../src/executor/template-values.js';

describe('ExpressionScope', () => {
  it("evaluates with GitHub's rules: names and comparisons ignore case, what is missing is null", () => {
    const scope = new ExpressionScope({ inputs: { Environment: 'PROD' }, github: { event: {} } });
    expect(scope.condition("inputs.environment == 'prod'")).toBe(true);
    expect(scope.condition('github.event.client_payload.environment')).toBe(false);
  });

  it('calls the status functions it was given, and refuses them where no status exists', () => {
    const failed = new ExpressionScope({}, { success: false, failure: true, cancelled: false });
    expect([
      failed.condition('success()'),
      failed.condition('failure()'),
      failed.condition('always()'),
    ]).toEqual([false, true, true]);
    expect(() => new ExpressionScope({}).condition('success()')).toThrow();
  });
});

describe('expressionOfText', () => {
  it('keeps a lone expression as it is and turns anything else into a format() of the text', () => {
    expect(expressionOfText('${{ inputs.a }}')).toBe('inputs.a');
    expect(expressionOfText("it's ${{ inputs.a }} {x}\n")).toBe("format('it''s {0} {{x}}\n', inputs.a)");
    const scope = new ExpressionScope({ inputs: { a: true } });
    expect(scope.evaluate(expressionOfText("it's ${{ inputs.a }} {x}")).coerceString()).toBe("it's true {x}");
  });
});
