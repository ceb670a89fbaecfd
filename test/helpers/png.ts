// A PNG reader for checking screenshots and images pixel by pixel (PNG, ISO/IEC 15948): 8-bit
// greyscale, RGB or RGBA, not interlaced, the five filter types of section 9. Enough for what
// Chromium writes and for examples/site's image; anything else is an error, not a guess.
import { inflateSync } from 'node:zlib';

export interface Image { width: number; height: number; /** RGBA, 4 bytes a pixel, row by row. */ rgba: Buffer }

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 6: 4 };

export function readPng(file: Buffer): Image {
  if (file.subarray(0, 8).toString('latin1') !== '\x89PNG\r\n\x1a\n') throw new Error('not a PNG');
  let width = 0, height = 0, type = -1;
  const idat: Buffer[] = [];
  for (let p = 8; p < file.length;) {
    const len = file.readUInt32BE(p), kind = file.subarray(p + 4, p + 8).toString('latin1');
    const data = file.subarray(p + 8, p + 8 + len);
    if (kind === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      type = data[9];
      if (data[8] !== 8 || !(type in CHANNELS) || data[12] !== 0) throw new Error(`unsupported PNG: depth ${data[8]}, colour type ${type}, interlace ${data[12]}`);
    } else if (kind === 'IDAT') idat.push(data);
    else if (kind === 'IEND') break;
    p += 12 + len;
  }
  const n = CHANNELS[type], stride = width * n;
  const raw = inflateSync(Buffer.concat(idat));
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = px.subarray(y * stride, (y + 1) * stride), up = y > 0 ? px.subarray((y - 1) * stride, y * stride) : null;
    for (let i = 0; i < stride; i++) {
      const a = i >= n ? row[i - n] : 0, b = up ? up[i] : 0, c = up && i >= n ? up[i - n] : 0;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new Error(`PNG filter type ${filter}`);
      row[i] = (src[i] + pred) & 0xff;
    }
  }
  const rgba = Buffer.alloc(width * height * 4);
  for (let k = 0; k < width * height; k++) {
    const s = k * n;
    rgba[k * 4] = px[s];
    rgba[k * 4 + 1] = n >= 3 ? px[s + 1] : px[s];
    rgba[k * 4 + 2] = n >= 3 ? px[s + 2] : px[s];
    rgba[k * 4 + 3] = n === 4 ? px[s + 3] : 255;
  }
  return { width, height, rgba };
}

/** [r, g, b] at (x, y). */
export function pixel(img: Image, x: number, y: number): [number, number, number] {
  const o = (Math.round(y) * img.width + Math.round(x)) * 4;
  return [img.rgba[o], img.rgba[o + 1], img.rgba[o + 2]];
}
