// Cuts a release of the actions, or verifies a release tag someone pushed (scripts/release/README.md):
//   npm run release -- 1.2.3 | --bump major|minor|patch | --verify v1.2.3  [--repo d] [--remote r] [--notes-file f] [--dry-run]
import { runReleaseCommand } from './release/cli.js';

process.exitCode = await runReleaseCommand(process.argv.slice(2), {
  cwd: process.cwd(),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  debug: process.env.RUNNER_DEBUG === '1',
});
