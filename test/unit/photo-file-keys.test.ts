import { describe, expect, it } from 'vitest';
import { photoFileKeys, storageKeys } from '../../src/modules/products/images/domain/photo';

describe('photoFileKeys', () => {
  it('names the stored original and both derivatives', () => {
    const keys = photoFileKeys({ productId: 'prd_A', id: 'img_B', originalKey: 'originals/prd_A/img_B-upload' });
    expect(keys).toEqual(['originals/prd_A/img_B-upload', 'products/prd_A/img_B.webp', 'products/prd_A/img_B-thumb.webp']);
  });

  it('falls back to the derived original once processing has dropped it from the row', () => {
    const keys = photoFileKeys({ productId: 'prd_A', id: 'img_B', originalKey: null });
    expect(keys[0]).toBe(storageKeys('prd_A', 'img_B').original);
    expect(new Set(keys).size).toBe(3);
  });
});
