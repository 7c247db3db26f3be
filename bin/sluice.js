#!/usr/bin/env node
// The `sluice` command: registers the TypeScript loader so job files (and Sluice itself) run
// from source with no build step, then hands over to the CLI.
import { register } from 'tsx/esm/api';

// A person reads the log of `sluice` commands: one readable line per event unless JSON is asked
// for. Set before anything is loaded, since modules create their loggers when imported.
process.env.SLUICE_LOG_FORMAT ??= 'pretty';
register();
await import('../src/cli/main.ts');
