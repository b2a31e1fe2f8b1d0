import sharp from 'sharp';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeHeic, HeicDecoderUnavailable } from '../../src/modules/products/images/domain/heic-decoder';
import { makeDerivatives, UnprocessableImage } from '../../src/modules/products/images/domain/imaging';
import { MAX_IMAGE_PIXELS } from '../../src/modules/products/images/domain/photo';
import { HEVC_PHOTO, heicAv1, heicHevc, heicHevcPhoto } from '../support/images';

// The real decoder runs; the spy only tells whether it was reached.
vi.mock('../../src/modules/products/images/domain/heic-decoder', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/modules/products/images/domain/heic-decoder')>();
  return { ...actual, decodeHeic: vi.fn(actual.decodeHeic) };
});
const decoder = vi.mocked(decodeHeic);
beforeEach(() => {
  decoder.mockClear();
});

const rejection = async (work: Promise<unknown>) => {
  const err = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnprocessableImage);
  return err as UnprocessableImage;
};

/** The RGB of the pixel at (x, y) of an encoded image. */
async function pixel(image: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [data[at]!, data[at + 1]!, data[at + 2]!];
}
const near = (actual: number[], expected: readonly number[]) => actual.every((v, i) => Math.abs(v - expected[i]!) <= 24);

/** The fixture with its `ispe` (the coded size) rewritten: a valid, decodable file whose header declares far more. */
function declaringSize(file: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(file);
  const ispe = out.indexOf('ispe', 0, 'latin1');
  out.writeUInt32BE(width, ispe + 8);
  out.writeUInt32BE(height, ispe + 12);
  return out;
}

describe('makeDerivatives with HEIC', () => {
  it('when an iPhone HEVC HEIC (stored sideways with irot and EXIF orientation 6, GPS in its EXIF) is processed, then the display and thumbnail are upright WebP without any metadata, its colours where they belong', async () => {
    const original = heicHevcPhoto();
    const before = await sharp(original).metadata();
    expect(before).toMatchObject({ format: 'heif', width: HEVC_PHOTO.width, height: HEVC_PHOTO.height });
    expect(before.exif?.includes('iPhone 13')).toBe(true);
    expect(before.exif?.includes(Buffer.from([0x88, 0x25])) || before.exif?.includes(Buffer.from([0x25, 0x88]))).toBe(true); // the GPS IFD pointer
    expect(original.includes('irot')).toBe(true);

    const made = await makeDerivatives(original, 'image/heic');

    expect(decoder).toHaveBeenCalledTimes(1);
    expect([made.width, made.height]).toEqual([HEVC_PHOTO.width, HEVC_PHOTO.height]);
    for (const [file, size] of [
      [made.display, [HEVC_PHOTO.width, HEVC_PHOTO.height]],
      [made.thumb, [400, 400]],
    ] as const) {
      const meta = await sharp(file).metadata();
      expect(meta.format).toBe('webp');
      expect([meta.width, meta.height]).toEqual(size);
      expect(meta.exif).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      expect(meta.icc).toBeUndefined();
      expect(meta.orientation).toBeUndefined();
      expect(file.includes('Exif')).toBe(false);
      expect(file.includes('iPhone 13')).toBe(false);
    }
    // Upright, turned once: not as stored (wrong size above), not turned a second time by the EXIF orientation, not mirrored.
    const { quadrants } = HEVC_PHOTO;
    expect(near(await pixel(made.display, 16, 24), quadrants.topLeft)).toBe(true);
    expect(near(await pixel(made.display, 48, 24), quadrants.topRight)).toBe(true);
    expect(near(await pixel(made.display, 16, 72), quadrants.bottomLeft)).toBe(true);
    expect(near(await pixel(made.display, 48, 72), quadrants.bottomRight)).toBe(true);
  });

  it('when an HEVC HEIC is damaged (cut short, or its coded picture zeroed), then UnprocessableImage image_undecodable, not retryable', async () => {
    const photo = heicHevcPhoto();
    const cut = photo.subarray(0, photo.length - 100);
    const zeroed = Buffer.from(photo);
    zeroed.fill(0, zeroed.indexOf('mdat', 0, 'latin1') + 4);

    for (const damaged of [cut, zeroed]) {
      const err = await rejection(makeDerivatives(damaged, 'image/heic'));
      expect(err.reason).toBe('image_undecodable');
      expect(err.retryable).toBe(false);
    }
    // The cut file's header no longer parses; the zeroed one reaches the decoder, which fails.
    expect(decoder).toHaveBeenCalledTimes(1);
    expect(decoder.mock.calls[0]![0]).toBe(zeroed);
  });

  it('when an HEVC HEIC has valid boxes but a meaningless coded payload (heicHevc), then image_undecodable', async () => {
    const err = await rejection(makeDerivatives(heicHevc(), 'image/heic'));
    expect(err.reason).toBe('image_undecodable');
    expect(decoder).toHaveBeenCalledTimes(1);
    expect(String((err.cause as Error).message)).toContain('HEIC decoding failed');
  });

  it('when an HEVC HEIC declares more than MAX_IMAGE_PIXELS, then image_undecodable from the header alone: the decoder is never called', async () => {
    const bomb = declaringSize(heicHevcPhoto(), 12_000, 9_000);
    expect(12_000 * 9_000).toBeGreaterThan(MAX_IMAGE_PIXELS);

    const err = await rejection(makeDerivatives(bomb, 'image/heic'));

    expect(err.reason).toBe('image_undecodable');
    expect((err.cause as Error).message).toContain('more than 50000000');
    expect(decoder).not.toHaveBeenCalled();
  });

  it('when the HEVC decoder cannot be loaded, then heic_codec_unsupported', async () => {
    decoder.mockRejectedValueOnce(new HeicDecoderUnavailable(new Error('Cannot find module')));
    const err = await rejection(makeDerivatives(heicHevcPhoto(), 'image/heic'));
    expect(err.reason).toBe('heic_codec_unsupported');
  });

  it('when the HEIC is AV1-coded, then sharp decodes it as before and the HEVC decoder is not involved', async () => {
    const made = await makeDerivatives(await heicAv1(64, 48), 'image/heic');
    expect([made.width, made.height]).toEqual([64, 48]);
    expect(decoder).not.toHaveBeenCalled();
  });
});

describe('decodeHeic', () => {
  it('when decoding outlasts its deadline, then it is refused and its thread stopped, not left holding a core', async () => {
    await expect(decodeHeic(heicHevcPhoto(), MAX_IMAGE_PIXELS, 1)).rejects.toThrow(/took longer than 1 ms; the thread was stopped/);
  });

  it('when the image is within the limit, then upright RGBA; when libheif reads more pixels than the limit, then refused before decoding', async () => {
    const photo = heicHevcPhoto();
    const pixels = HEVC_PHOTO.width * HEVC_PHOTO.height;
    const image = await decodeHeic(photo, pixels);
    expect([image.width, image.height, image.data.length]).toEqual([HEVC_PHOTO.width, HEVC_PHOTO.height, pixels * 4]);
    expect([...image.data.subarray(0, 3)].every((v, i) => Math.abs(v - HEVC_PHOTO.quadrants.topLeft[i]!) <= 24)).toBe(true);

    await expect(decodeHeic(photo, pixels - 1)).rejects.toThrow(`declares ${HEVC_PHOTO.width} x ${HEVC_PHOTO.height} pixels, more than ${pixels - 1}`);
  });
});
