import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { QueryTypes, type Sequelize } from 'sequelize';
import { createRequestContext } from '../../platform/context';
import type { DocumentStore } from '../../platform/documents';
import type { Logger } from '../../platform/logger';
import { neighbourhoodsModule } from '../neighbourhoods';
import { CURRENT_LOCATION_TERMS_VERSION } from '../neighbourhoods/domain/neighbourhood';
import type { ListingFields, ProductCondition, TradeMethod } from './domain/product';
import { productsModule } from '.';

interface DemoListing {
  title: string;
  description: string;
  category: string;
  price: number;
  condition: ProductCondition;
  tradeMethods: TradeMethod[];
  shippingFee?: number;
  offersAllowed?: boolean;
}

/**
 * Who sells in the demo, where they verified their neighbourhood (a point in the dong), and what
 * they list. Prices and wording as on a Korean secondhand market; nothing the moderation blocks.
 */
export const DEMO_SELLERS: { email: string; at: { lat: number; lng: number }; listings: DemoListing[] }[] = [
  {
    email: 'seller@junggo.example',
    // 망원제2동 (마포구)
    at: { lat: 37.5563, lng: 126.9019 },
    listings: [
      { title: '아이폰 14 프로 256GB 딥퍼플', description: '1년 사용했고 케이스 끼고 써서 흠집 없습니다. 배터리 성능 89%, 박스와 충전 케이블 드려요.', category: 'digital/phones', price: 780_000, condition: 'used', tradeMethods: ['meet_up', 'parcel'], shippingFee: 4_000, offersAllowed: true },
      { title: '갤럭시 탭 S8 와이파이 128GB', description: '인강용으로 샀는데 몇 번 안 썼어요. S펜 포함, 액정 필름 붙어 있습니다.', category: 'digital/tablets', price: 420_000, condition: 'like_new', tradeMethods: ['meet_up'] },
      { title: '에어팟 프로 2세대 미개봉', description: '선물 받았는데 이미 있어서 팝니다. 미개봉 새 제품이에요.', category: 'digital/audio', price: 250_000, condition: 'new', tradeMethods: ['meet_up', 'convenience_store'], shippingFee: 2_500 },
      { title: '닌텐도 스위치 OLED + 젤다 타이틀', description: '본체 깨끗하고 조이콘 쏠림 없습니다. 젤다 왕국의 눈물 칩 같이 드려요.', category: 'digital/game-consoles', price: 330_000, condition: 'used', tradeMethods: ['meet_up'], offersAllowed: true },
      { title: '이케아 책상 120cm 화이트', description: '이사 가면서 정리합니다. 분해 안 되어 있어서 직접 가져가셔야 해요.', category: 'furniture/desks-chairs', price: 30_000, condition: 'used', tradeMethods: ['meet_up'] },
      { title: '원목 수납장 3단', description: '생활 기스 조금 있지만 튼튼합니다. 망원역 근처에서 거래해요.', category: 'furniture/storage', price: 45_000, condition: 'used', tradeMethods: ['meet_up'], offersAllowed: true },
      { title: '미니벨로 자전거 20인치', description: '출퇴근용으로 탔어요. 타이어 작년에 새로 갈았고 잘 나갑니다.', category: 'sports/bicycles', price: 150_000, condition: 'used', tradeMethods: ['meet_up'] },
      { title: '캠핑 의자 2개 일괄', description: '두 번 사용했어요. 수납 가방 있습니다.', category: 'sports/camping', price: 40_000, condition: 'like_new', tradeMethods: ['meet_up', 'parcel'], shippingFee: 5_000 },
      { title: '몬스테라 화분 나눔해요', description: '잎이 많이 나서 분갈이했어요. 화분째 가져가세요.', category: 'plants/houseplants', price: 0, condition: 'used', tradeMethods: ['meet_up'] },
      { title: '해리포터 전집 20권', description: '책장에만 있던 책이라 깨끗합니다. 무거워서 직거래만 해요.', category: 'books/fiction', price: 60_000, condition: 'like_new', tradeMethods: ['meet_up'] },
      { title: '김광석 LP 다시 부르기', description: '재발매반이고 몇 번 안 들었습니다. 자켓 상태 좋아요.', category: 'hobbies/records', price: 35_000, condition: 'like_new', tradeMethods: ['meet_up', 'parcel'], shippingFee: 4_000 },
      { title: '강아지 이동장 중형', description: '10kg 이하 강아지용이에요. 세척해서 드립니다.', category: 'pets/dog-supplies', price: 20_000, condition: 'used', tradeMethods: ['meet_up'] },
    ],
  },
  {
    email: 'demo@junggo.example',
    // 합정동 (마포구), next to the seller's dong
    at: { lat: 37.5495, lng: 126.9139 },
    listings: [
      { title: '다이슨 에어랩 컴플리트', description: '구성품 모두 있어요. 정품 등록된 제품입니다.', category: 'appliances/beauty-appliances', price: 380_000, condition: 'used', tradeMethods: ['meet_up', 'parcel'], shippingFee: 4_000, offersAllowed: true },
      { title: '유아 원목 식탁의자', description: '아이가 커서 정리해요. 트레이 분리 가능합니다.', category: 'kids/kids-furniture', price: 25_000, condition: 'used', tradeMethods: ['meet_up'] },
      { title: '뮤지컬 티켓 2매 양도', description: '일정이 안 맞아서 정가에 양도합니다. 좌석은 채팅으로 알려드려요.', category: 'tickets/performance-tickets', price: 140_000, condition: 'new', tradeMethods: ['meet_up'] },
    ],
  },
];

/**
 * Gives each demo seller a verified neighbourhood and, if they list nothing yet, their demo
 * listings, through the components' own use cases: the listings record `product.created` like any
 * other, so the worker indexes them and builds their details. Idempotent. Development only.
 */
export async function seedDemoListings(deps: {
  sequelize: Sequelize;
  redis: Redis;
  store: DocumentStore;
  log: Logger;
  /** The demo account's id by its e-mail (the users component owns the encrypted addresses). */
  userIdOf: (email: string) => Promise<string | null>;
}): Promise<number> {
  const { sequelize } = deps;
  const ctx = createRequestContext(`seed_${randomUUID().replace(/-/g, '')}`, deps.log);
  const { neighbourhoods, requireVerifiedNeighbourhood } = neighbourhoodsModule({ sequelize });
  const { products } = productsModule({ sequelize, redis: deps.redis, store: deps.store, log: deps.log, cacheTtlSeconds: 60 });
  const categories = new Map(
    (await sequelize.query<{ id: string; path: string }>('SELECT id, path FROM categories', { type: QueryTypes.SELECT })).map((c) => [c.path, c.id]),
  );
  let created = 0;
  for (const seller of DEMO_SELLERS) {
    const userId = await deps.userIdOf(seller.email);
    if (!userId) continue;
    const [listed] = await sequelize.query('SELECT 1 FROM products WHERE seller_id = $1 LIMIT 1', { bind: [userId], type: QueryTypes.SELECT });
    if (listed) continue;
    await requireVerifiedNeighbourhood(userId).catch(async () => {
      await neighbourhoods.giveConsent(ctx, userId, CURRENT_LOCATION_TERMS_VERSION);
      await neighbourhoods.verify(ctx, userId, seller.at);
    });
    for (const l of seller.listings) {
      const categoryId = categories.get(l.category);
      if (!categoryId) throw new Error(`demo listing "${l.title}": no category ${l.category}`);
      const fields: ListingFields = {
        title: l.title,
        description: l.description,
        categoryId,
        price: l.price,
        offersAllowed: l.offersAllowed ?? false,
        condition: l.condition,
        tradeMethods: l.tradeMethods,
        shippingFee: l.shippingFee ?? 0,
        quantity: 1,
      };
      await products.create(ctx, userId, fields);
      created += 1;
    }
  }
  return created;
}
