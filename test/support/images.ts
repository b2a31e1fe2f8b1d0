import { readFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

// Real image files made in the test, one per need; the one exception is the HEVC HEIC photo
// (test/fixtures/photos: no encoder is installable from npm, see its README).

const color = () => ({ r: Math.floor(Math.random() * 256), g: Math.floor(Math.random() * 256), b: 90 });

/** The GPS position a phone would record (서울 마포구), as EXIF rationals. */
export const GPS_EXIF = { GPSLatitudeRef: 'N', GPSLatitude: '37/1 33/1 22/1', GPSLongitudeRef: 'E', GPSLongitude: '126/1 54/1 6/1' };

/** A JPEG with a camera make, a GPS position and orientation 6 (stored sideways: shown rotated 90°). */
export const jpegWithGps = (width = 800, height = 600) =>
  sharp({ create: { width, height, channels: 3, background: color() } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .withExifMerge({ IFD0: { Make: 'JunggoTestCam' }, IFD3: GPS_EXIF })
    .toBuffer();

export const jpeg = (width = 320, height = 240) => sharp({ create: { width, height, channels: 3, background: color() } }).jpeg().toBuffer();
export const png = (width = 300, height = 200) => sharp({ create: { width, height, channels: 4, background: { ...color(), alpha: 1 } } }).png().toBuffer();
export const webp = (width = 2400, height = 1200) => sharp({ create: { width, height, channels: 3, background: color() } }).webp().toBuffer();

/** An HEIF image under the `heic` brand that sharp can decode: AV1-coded (sharp cannot encode HEVC). */
export async function heicAv1(width = 640, height = 480): Promise<Buffer> {
  const avif = await sharp({ create: { width, height, channels: 3, background: color() } }).heif({ compression: 'av1' }).toBuffer();
  const out = Buffer.from(avif);
  out.write('heic', 8, 'latin1'); // the ftyp major brand
  return out;
}

const u8 = (n: number) => Buffer.from([n]);
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const box = (type: string, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(8 + body.length), Buffer.from(type, 'latin1'), body]);
};
const fullBox = (type: string, version: number, ...parts: Buffer[]) => box(type, u8(version), Buffer.alloc(3), ...parts);

/**
 * An HEVC-coded HEIC as an iPhone writes it, in structure: ftyp `heic`, a primary `hvc1` item
 * with its `hvcC` and `ispe` (dimensions) properties, and a (meaningless) coded payload. Its
 * header reads fine; its coded picture is meaningless, so decoding fails.
 */
export function heicHevc(width = 4032, height = 3024): Buffer {
  const ftyp = box('ftyp', Buffer.from('heic'), u32(0), Buffer.from('mif1heic'));
  const hvcC = box('hvcC', u8(1), u8(1), u32(0x60000000), Buffer.alloc(6), u8(90), u16(0xf000), u8(0xfc), u8(0xfd), u8(0xf8), u8(0xf8), u16(0), u8(0x0f), u8(0));
  const iprp = box('iprp', box('ipco', hvcC, fullBox('ispe', 0, u32(width), u32(height))), fullBox('ipma', 0, u32(1), u16(1), u8(2), u8(0x81), u8(0x02)));
  const hdlr = fullBox('hdlr', 0, u32(0), Buffer.from('pict'), Buffer.alloc(12), u8(0));
  const pitm = fullBox('pitm', 0, u16(1));
  const iinf = fullBox('iinf', 0, u16(1), fullBox('infe', 2, u16(1), u16(0), Buffer.from('hvc1'), u8(0)));
  const payload = Buffer.from([0, 0, 0, 4, 0x26, 0x01, 0xaf, 0x00]);
  const meta = (offset: number) => fullBox('meta', 0, hdlr, pitm, fullBox('iloc', 0, u8(0x44), u8(0), u16(1), u16(1), u16(0), u16(1), u32(offset), u32(payload.length)), iinf, iprp);
  const offset = ftyp.length + meta(0).length + 8;
  return Buffer.concat([ftyp, meta(offset), box('mdat', payload)]);
}

/** What iphone-hevc.heic shows once upright: 64 × 96, one flat colour (RGB) per quadrant. */
export const HEVC_PHOTO = {
  width: 64,
  height: 96,
  quadrants: { topLeft: [220, 30, 30], topRight: [30, 180, 40], bottomLeft: [30, 60, 220], bottomRight: [240, 220, 30] },
} as const;

/**
 * A real HEVC-coded HEIC as an iPhone writes it: pixels stored sideways (96 × 64) with an `irot`
 * box and EXIF orientation 6, EXIF with an iPhone's make and model and GPS_EXIF. The one image
 * file checked in (test/fixtures/photos/README.md): nothing installed here can encode HEVC.
 */
export const heicHevcPhoto = () => readFileSync(path.join(__dirname, '../fixtures/photos/iphone-hevc.heic'));

function crc32(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    let c = (crc ^ byte) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
const pngChunk = (type: string, data: Buffer) => Buffer.concat([u32(data.length), Buffer.from(type, 'latin1'), data, u32(crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])))]);

/** A decompression bomb: a valid PNG of a few dozen bytes whose header declares `side × side` RGB pixels. */
export function pngBomb(side = 20_000): Buffer {
  const ihdr = Buffer.concat([u32(side), u32(side), Buffer.from([8, 2, 0, 0, 0])]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.alloc(100))), pngChunk('IEND', Buffer.alloc(0))]);
}
