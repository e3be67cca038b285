// Runs the CLI from source (tests spawn this under tsx so they need no build).
import { main } from '../../src/cli.js';

await main(process.argv);
