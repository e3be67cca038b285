// The `interp` program as a module to spawn: `interp demo` runs each stage through it.
import { main } from './cli.js';

await main(process.argv);
