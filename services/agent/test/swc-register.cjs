/**
 * Lets a test run TypeScript sources in a process of their own (the agent runtime, the prober under fuzz),
 * compiled the way Jest compiles them (jest.preset.cjs): node --require this --conditions=@pier/source.
 * A process of its own is what shows that a crash would end the agent: Jest catches what escapes inside
 * its own process and blames the running test.
 */
const { readFileSync } = require('node:fs');
const { transformSync } = require('@swc/core');
const { swcOptions } = require('../../../jest.preset.cjs');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), { ...swcOptions, filename });
  module._compile(code, filename);
};
