/**
 * One jest configuration for the whole tree. Tests are TypeScript run as native ESM
 * (NODE_OPTIONS=--experimental-vm-modules, set by the `jest` npm script).
 * @type {import('jest').Config}
 */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testMatch: [
    '<rootDir>/packages/*/__tests__/**/*.test.ts',
    '<rootDir>/action-*/__tests__/**/*.test.ts',
    '<rootDir>/scripts/*/__tests__/**/*.test.ts',
  ],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  modulePathIgnorePatterns: ['<rootDir>/.tmp/'],
  maxWorkers: 2,
  testTimeout: 60_000,
  verbose: false,
};
