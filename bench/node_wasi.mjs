// node_wasi.mjs - run a WASI command under node's built-in WASI, for the
// benchmarks:
//   node --no-warnings --no-turbo-fast-api-calls bench/node_wasi.mjs FILE.wasm [ARGS...]
// The guest's exit status becomes node's. Compilation is part of the run,
// as is node's own start-up: V8 compiles with Liftoff first and tiers up
// hot functions with TurboFan while the program runs.
//
// --no-turbo-fast-api-calls: without it node 20 crashes (SIGSEGV, after the
// program has finished) in about a third of the runs of programs that grow
// their memory a lot (sieve, hashmap): a V8 fast API call into node's WASI
// can start a GC at a point where that is unsafe (nodejs/node#46777). The
// programs make a few WASI calls each, so the flag costs nothing measurable.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import process from 'node:process';

const [file, ...args] = process.argv.slice(2);
if (!file) {
    console.error('usage: node_wasi.mjs FILE.wasm [ARGS...]');
    process.exit(2);
}
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env: {}, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
