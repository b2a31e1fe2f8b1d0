import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/platform/events/event';
import { productDetailProjection, type ProductDetailDoc } from '../../src/modules/products/product-detail.projection';
import { memoryCollection as anyCollection } from '../support/memory-collection';

const memoryCollection = (onGet?: () => Promise<void>) => anyCollection<ProductDetailDoc>(onGet);

// The ProductDetail read model must not depend on the order events arrive in: the photos job's
// product.images_changed may be applied before a redelivered product.created, a replay may
// overlap live delivery, and two events of one listing may be applied at the same moment.

const ID = 'prd_0000000000000000TEST';
let position = 100;
const event = (type: string, payload: Record<string, unknown>): StoredEvent => {
  position += 1;
  return {
    id: `evt_${position}`,
    position,
    aggregate_type: 'product',
    aggregate_id: ID,
    aggregate_version: position,
    type,
    schema_version: 1,
    payload,
    metadata: {},
    occurred_at: new Date(Date.UTC(2026, 10, 27, 0, 0, position)).toISOString(),
  };
};

const snapshot = { seller_id: 'usr_1', title: '아이폰 14', description: '깨끗해요', category_id: 'cat_1', category_path: 'digital/phones', price: 700000, offers_allowed: true, condition: 'used', trade_methods: ['meetup'], shipping_fee: 0, dong_code: '1144069000', lat: 37.55, lng: 126.9, quantity: 1, status: 'on_sale', bumped_at: '2026-11-27T00:00:00.000Z', created_at: '2026-11-27T00:00:00.000Z', updated_at: '2026-11-27T00:00:00.000Z' };
const image = { id: 'img_1', url: 'https://img/1.webp', thumbnail_url: 'https://img/1-t.webp', width: 10, height: 10, position: 0 };

const history = () => [
  event('product.created', snapshot),
  event('product.images_changed', { product_id: ID, images: [image] }),
  event('product.updated', { ...snapshot, title: '아이폰 14 프로', price: 650000 }),
  event('product.status_changed', { status: 'reserved', buyer_id: 'usr_2' }),
];
const withoutBookkeeping = ({ version: _v, positions: _p, ...doc }: ProductDetailDoc) => doc;

describe('ProductDetail projection', () => {
  it('when the events arrive in any order, or twice, then the document is the same', async () => {
    const events = history();
    const inOrder = memoryCollection();
    for (const e of events) await productDetailProjection.apply(e, inOrder);
    const expected = withoutBookkeeping(inOrder.docs.get(ID)!);
    expect(expected).toMatchObject({ title: '아이폰 14 프로', price: 650000, status: 'reserved', buyer_id: 'usr_2', images: [image], seller_id: 'usr_1' });

    for (const order of [[3, 2, 1, 0], [1, 0, 3, 2], [1, 3, 0, 2, 1, 0]]) {
      const docs = memoryCollection();
      for (const i of order) await productDetailProjection.apply(events[i]!, docs);
      expect(withoutBookkeeping(docs.docs.get(ID)!), `order ${order.join(',')}`).toEqual(expected);
    }
  });

  it('when an event older than every field it sets is delivered again, then nothing is written', async () => {
    const events = history();
    const docs = memoryCollection();
    for (const e of events) await productDetailProjection.apply(e, docs);
    const version = docs.docs.get(ID)!.version;
    await productDetailProjection.apply(events[0]!, docs);
    expect(docs.docs.get(ID)!.version).toBe(version);
  });

  it('when two events of one listing are applied at the same moment, then both count', async () => {
    const [created, images] = history();
    const docs = memoryCollection();
    await productDetailProjection.apply(created!, docs);
    // Both read the same document before either writes: the loser of the version race re-applies.
    let reads = 0;
    let release: () => void = () => undefined;
    const first = new Promise<void>((go) => (release = go));
    const racing = memoryCollection(async () => {
      reads += 1;
      if (reads === 1) await first;
      else if (reads === 2) release();
    });
    racing.docs.set(ID, docs.docs.get(ID)!);
    const status = event('product.status_changed', { status: 'sold', buyer_id: 'usr_3' });
    await Promise.all([productDetailProjection.apply(images!, racing), productDetailProjection.apply(status, racing)]);
    expect(reads).toBe(3);
    expect(racing.docs.get(ID)).toMatchObject({ images: [image], status: 'sold', buyer_id: 'usr_3', title: '아이폰 14' });
  });
});
