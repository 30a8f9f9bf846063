// The first line is printed before the bundle's modules are evaluated, so the step shows life at
// once; `eager` keeps everything in the single dist/index.js.
process.stdout.write('DreamScape action-changes\n');
const { run } = await import(/* webpackMode: "eager" */ './main.js');
await run();
