// Steps tsc does not do: the console's static files, and an executable CLI for npx and bin links.
import { chmodSync, cpSync } from 'node:fs';

cpSync('src/console/public', 'dist/console/public', { recursive: true });
chmodSync('dist/cli.js', 0o755);
