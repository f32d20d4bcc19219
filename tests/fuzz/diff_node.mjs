// tests/fuzz/diff_node.mjs - the reference side of the differential fuzzer
// (tests/fuzz/diff.sh): run a module from binaryen's `wasm-opt -ttf` under
// node (V8) and print its transcript, in the format tests/fuzz/diff_awsm.c
// prints for awsm:
//
//   node diff_node.mjs FILE.wasm
//
//   call NAME                 each exported function, in export order,
//                             after hangLimitInitializer() when exported,
//                             with zero (or null) arguments
//   log TYPE BITS             a call of fuzzing-support.log-TYPE
//   ret TYPE BITS ...         its results (none: "ret")
//   trap CLASS                it trapped (classes below)
//   skip                      it takes or returns v128 (JS cannot)
//   global NAME TYPE BITS     after each trap and at the end: each
//                             global diff.sh exported,
//   memory PAGES FNV1A        and memory 0
//
// Values print as the hex of their bits, except NaNs, which print "nan"
// (the spec leaves their payloads to the engine); references print "null"
// or "ref". Trap classes are what V8's and awsm's messages can both tell
// apart: V8 has one message for a divide's and a conversion's overflow,
// awsm one for a table access past its end and a call_indirect past it.
import { readFileSync } from 'node:fs';

const out = [];
const emit = (line) => out.push(line);

const f32bits = (x) => {
    const dv = new DataView(new ArrayBuffer(4));
    dv.setFloat32(0, x, true);
    return dv.getUint32(0, true).toString(16);
};
const f64bits = (x) => {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setFloat64(0, x, true);
    return dv.getBigUint64(0, true).toString(16);
};
const show = {
    i32: (x) => (x >>> 0).toString(16),
    i64: (x) => BigInt.asUintN(64, x).toString(16),
    f32: (x) => (Number.isNaN(x) ? 'nan' : f32bits(x)),
    f64: (x) => (Number.isNaN(x) ? 'nan' : f64bits(x)),
    funcref: (x) => (x === null ? 'null' : 'ref'),
    externref: (x) => (x === null || x === undefined ? 'null' : 'ref'),
};
const zero = { i32: 0, i64: 0n, f32: 0, f64: 0, funcref: null, externref: null };

// V8's trap messages (src/common/message-template.h), by class.
const classes = [
    [/unreachable/, 'unreachable'],
    [/divide by zero|remainder by zero/, 'div-zero'],
    [/divide result unrepresentable|float unrepresentable|integer overflow/, 'int-overflow'],
    [/memory access out of bounds|data segment .*out of bounds/, 'memory-oob'],
    [/table index is out of bounds|invalid index into function table|element segment .*out of bounds|table access/, 'table-oob'],
    [/null function or function signature mismatch|function signature mismatch|null function/, 'indirect'],
    [/Maximum call stack size exceeded/, 'stack'],
    [/operation does not support unaligned accesses/, 'unaligned-atomic'],
    [/atomics wait operation on non-shared memory|Atomics.wait cannot be called/, 'wait-unshared'],
];
const classify = (e) => {
    if (e instanceof TypeError && /type incompatibility/.test(e.message))
        return 'host';
    for (const [re, name] of classes)
        if (re.test(e.message))
            return name;
    return `other ${e.constructor.name}: ${e.message}`;
};

// Binaryen's fuzzer imports log functions; log-v128 cannot be called from
// wasm through JS (a TypeError at the call), so awsm's traps as "host".
const log = (type) => (x) => emit(`log ${type} ${show[type](x)}`);
const imports = {
    'fuzzing-support': {
        'log-i32': log('i32'), 'log-i64': log('i64'),
        'log-f32': log('f32'), 'log-f64': log('f64'),
        'log-v128': () => { throw new TypeError('type incompatibility'); },
    },
};

const bytes = readFileSync(process.argv[2]);
const module = new WebAssembly.Module(bytes);
let instance;
try {
    instance = new WebAssembly.Instance(module, imports);
} catch (e) {
    emit(`instantiate ${classify(e)}`);
    console.log(out.join('\n'));
    process.exit(0);
}

// Export signatures come from the binary itself: JS does not expose them.
const sigs = exportSignatures(bytes);
const exports = instance.exports;
const reset = exports.hangLimitInitializer;
for (const d of WebAssembly.Module.exports(module)) {
    if (d.kind !== 'function')
        continue;
    emit(`call ${d.name}`);
    const sig = sigs.get(d.name);
    if (sig.params.includes('v128') || sig.results.includes('v128')) {
        emit('skip');
        continue;
    }
    try {
        if (reset)
            reset();
        let r = exports[d.name](...sig.params.map((t) => zero[t]));
        if (sig.results.length === 1)
            r = [r];
        emit(['ret', ...sig.results.map((t, i) => `${t} ${show[t](r[i])}`)].join(' '));
    } catch (e) {
        emit(`trap ${classify(e)}`);
        state();
    }
}
state();
console.log(out.join('\n'));

// The state a trap leaves: globals exported as "global$N$TYPE" by diff.sh
// (binaryen's own are not), and memory.
function state() {
    for (const d of WebAssembly.Module.exports(module)) {
        const m = d.kind === 'global' && /^global\$\d+\$(\w+)$/.exec(d.name);
        if (m)
            emit(`global ${d.name} ${m[1]} ${show[m[1]](exports[d.name].value)}`);
    }
    const mem = Object.values(exports).find((x) => x instanceof WebAssembly.Memory);
    if (mem) {
        const m = new Uint8Array(mem.buffer);
        let h = 0x811c9dc5;
        for (let i = 0; i < m.length; i++)
            h = Math.imul(h ^ m[i], 0x01000193) >>> 0;
        emit(`memory ${m.length / 65536} ${h.toString(16)}`);
    }
}

// ---- the type, function, import and export sections, enough for the
// signature of each exported function -----------------------------------
function exportSignatures(b) {
    let p = 8;
    const u32 = () => {
        let r = 0, shift = 0, byte;
        do {
            byte = b[p++];
            r |= (byte & 0x7f) << shift;
            shift += 7;
        } while (byte & 0x80);
        return r >>> 0;
    };
    const name = () => {
        const n = u32();
        const s = b.subarray(p, p + n).toString('utf8');
        p += n;
        return s;
    };
    const valtype = () => ({ 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64',
                             0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' })[b[p++]];
    const limits = () => { const f = b[p++]; u32(); if (f & 1) u32(); };
    const types = [], funcs = [], sigs = new Map();
    while (p < b.length) {
        const id = b[p++], size = u32(), end = p + size;
        if (id === 1) {
            for (let n = u32(); n > 0; n--) {
                p++;                                    // 0x60
                const params = [], results = [];
                for (let k = u32(); k > 0; k--) params.push(valtype());
                for (let k = u32(); k > 0; k--) results.push(valtype());
                types.push({ params, results });
            }
        } else if (id === 2) {
            for (let n = u32(); n > 0; n--) {
                name(); name();
                const kind = b[p++];
                if (kind === 0) funcs.push(types[u32()]);
                else if (kind === 1) { valtype(); limits(); }
                else if (kind === 2) limits();
                else { valtype(); p++; }
            }
        } else if (id === 3) {
            for (let n = u32(); n > 0; n--) funcs.push(types[u32()]);
        } else if (id === 7) {
            for (let n = u32(); n > 0; n--) {
                const s = name(), kind = b[p++], index = u32();
                if (kind === 0) sigs.set(s, funcs[index]);
            }
        }
        p = end;
    }
    return sigs;
}
