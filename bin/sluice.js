#!/usr/bin/env node
// The `sluice` command: registers the TypeScript loader so job files (and Sluice itself) run
// from source with no build step, then hands over to the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
