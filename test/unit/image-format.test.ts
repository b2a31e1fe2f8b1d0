import { describe, expect, it } from 'vitest';
import { sniffImageType } from '../../src/modules/products/images/domain/image-format';
import { heicAv1, heicHevc, jpeg, png, webp } from '../support/images';

const ftyp = (major: string, ...compatible: string[]) => {
  const body = Buffer.concat([Buffer.from(major), Buffer.alloc(4), ...compatible.map((b) => Buffer.from(b))]);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(8 + body.length);
  return Buffer.concat([size, Buffer.from('ftyp'), body, Buffer.alloc(32)]);
};

describe('sniffImageType', () => {
  it('when given real JPEG, PNG, WebP and HEIC files, then each is recognised by its bytes', async () => {
    expect(sniffImageType(await jpeg())).toBe('image/jpeg');
    expect(sniffImageType(await png())).toBe('image/png');
    expect(sniffImageType(await webp(10, 10))).toBe('image/webp');
    expect(sniffImageType(heicHevc())).toBe('image/heic');
    expect(sniffImageType(await heicAv1(16, 16))).toBe('image/heic');
  });

  it('when the generic HEIF brand lists an HEVC brand, then HEIC; when it is AVIF or another ISO-BMFF file (MP4), then refused', () => {
    expect(sniffImageType(ftyp('mif1', 'mif1', 'heic'))).toBe('image/heic');
    expect(sniffImageType(ftyp('mif1', 'mif1', 'avif'))).toBeNull();
    expect(sniffImageType(ftyp('avif', 'mif1', 'avif'))).toBeNull();
    expect(sniffImageType(ftyp('isom', 'isom', 'mp41'))).toBeNull();
  });

  it('when the major brand is a multi-layer or scalable HEVC brand (heim, heis, hevm, hevs), then refused even with decodable compatible brands: the HEVC decoder takes the major brand only', () => {
    for (const major of ['heim', 'heis', 'hevm', 'hevs']) expect(sniffImageType(ftyp(major, 'mif1', 'heic', major))).toBeNull();
    expect(sniffImageType(ftyp('heix', 'mif1', 'heix'))).toBe('image/heic');
    expect(sniffImageType(ftyp('hevc', 'msf1', 'hevc'))).toBe('image/heic');
  });

  it('when given text, a GIF, an SVG, a truncated signature or nothing, then null', () => {
    for (const bytes of [Buffer.from('hello'), Buffer.from('GIF89a\x01\x00\x01\x00'), Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), Buffer.from([0xff, 0xd8]), Buffer.from('RIFF\x00\x00\x00\x00WAVE'), Buffer.alloc(0)]) {
      expect(sniffImageType(bytes)).toBeNull();
    }
  });
});
