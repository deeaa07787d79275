// The emulator's CLI with --durability full, for `bench/compare.ts --after=` (the cost of fsync per commit).
process.env.OCI_IOT_DURABILITY = 'full';
await import('../../dist/cli.js');
