import { describe, expect, it } from '@jest/globals';
import { callInputs, evaluateString, evaluateValue, parseWorkflow } from '../src/index.js';

describe('evaluateValue', () => {
  it('keeps the type of a value that is one expression, and joins text with expressions as text', () => {
    const contexts = { inputs: { push: 'auto', all: true, environment: 'Staging' } };
    expect(evaluateValue('${{ inputs.all }}', contexts)).toBe(true);
    expect(evaluateValue("${{ inputs.push != 'false' && inputs.all }}", contexts)).toBe(true);
    expect(evaluateValue('k8s/overlays/${{ inputs.environment }}', contexts)).toBe('k8s/overlays/Staging');
    expect(evaluateValue('${{ inputs.all }} and ${{ inputs.push }}', contexts)).toBe('true and auto');
    expect(evaluateValue(true, contexts)).toBe(true);
    expect(evaluateValue('plain text', {})).toBe('plain text');
  });

  it("follows GitHub's rules: string comparison ignores case, a missing property is null", () => {
    const contexts = { inputs: { environment: 'PROD' } };
    expect(evaluateValue("${{ inputs.environment == 'prod' }}", contexts)).toBe(true);
    expect(
      evaluateValue(`\${{ contains(fromJSON('["staging", "prod"]'), inputs.environment) }}`, contexts),
    ).toBe(true);
    expect(evaluateValue('${{ inputs.missing }}', contexts)).toBeNull();
    expect(evaluateString('${{ inputs.missing }}', contexts)).toBe('');
    expect(evaluateString("${{ inputs.missing || 'fallback' }}", contexts)).toBe('fallback');
  });

  it("does not end an expression at a '}}' inside a quoted string", () => {
    expect(evaluateValue("${{ format('{0}}}', 'a') }}", {})).toBe('a}');
  });

  it('refuses a context it was not given, and an unclosed expression', () => {
    expect(() => evaluateValue('${{ secrets.TOKEN }}', { inputs: {} })).toThrow(/secrets/);
    expect(() => evaluateValue('${{ inputs.x', { inputs: {} })).toThrow('an expression is not closed');
  });
});

describe('callInputs', () => {
  const callee = parseWorkflow(
    '.github/workflows/callee.yml',
    [
      'on:',
      '  workflow_call:',
      '    inputs:',
      '      environment: { type: string, required: true }',
      '      mode: { type: string, default: auto }',
      '      dry-run: { type: boolean }',
      '      retries: { type: number, default: 3 }',
      '      note: { type: string }',
      'jobs: {}',
    ].join('\n'),
  );

  it("sets every declared input from the caller's with:, evaluated in the caller's contexts, or the default", () => {
    expect(
      callInputs(
        callee,
        { with: { environment: '${{ inputs.environment }}', 'dry-run': '${{ inputs.dry }}' } },
        { inputs: { environment: 'prod', dry: true } },
      ),
    ).toEqual({ environment: 'prod', mode: 'auto', 'dry-run': true, retries: 3, note: '' });
    expect(callInputs(callee, { with: { environment: 'dev', mode: true } }, {})).toEqual({
      environment: 'dev',
      mode: 'true',
      'dry-run': false,
      retries: 3,
      note: '',
    });
  });
});
