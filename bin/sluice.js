#!/usr/bin/env node
// The `sluice` command. An installed package runs the compiled CLI in dist/. A checkout of the
// repository (src/ beside bin/) runs the TypeScript sources instead, so `npm start`, the tests and
// the TaskManagers they start need no build step: there `sluice` itself (imported by job files and
// job bundles) resolves to src/ too, through the "sluice-source" export condition, so one copy of
// the engine is loaded. Either way tsx's loader is registered: job files may be TypeScript.
import { existsSync } from 'node:fs';
import { register as registerHooks } from 'node:module';
import { register } from 'tsx/esm/api';

register();
const source = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(source)) {
  // Registered after tsx, so it runs first and hands the condition on to tsx and Node's resolver.
  const addCondition = `export async function resolve(specifier, context, next) {
    return next(specifier, { ...context, conditions: [...context.conditions, 'sluice-source'] });
  }`;
  registerHooks(`data:text/javascript,${encodeURIComponent(addCondition)}`);
  await import(source.href);
} else {
  await import('../dist/cli/main.js');
}
