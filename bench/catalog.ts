import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { Client } from 'pg';
import { Sequelize } from 'sequelize';
import { migrate } from '../src/cli/migrate';
import { loadConfig } from '../src/config';
import type { RequestContext } from '../src/platform/context';
import { prepareDoc } from '../src/platform/documents/document-store';
import { createDocumentStore } from '../src/platform/documents';
import type { StoredEvent } from '../src/platform/events/event';
import { createLogger } from '../src/platform/logger';
import { PostgresSearchIndex, type SearchDocument, type SearchIndexWriter } from '../src/platform/search';
import { RANGE_METERS } from '../src/modules/neighbourhoods';
import { createDongRepository } from '../src/modules/neighbourhoods/data/dong-repository';
import { createDongResolver } from '../src/modules/neighbourhoods/domain/dong-resolver';
import { createProductRepository } from '../src/modules/products/data/product-repository';
import { PRODUCT_DETAILS, productDetailProjection, type ProductDetailDoc } from '../src/modules/products/product-detail.projection';
import { createSearchLookups } from '../src/modules/search/data/search-lookups';
import { listingSearchUseCases, type ListingSearchParams } from '../src/modules/search/domain/listings-search';
import { createIndexFeeder, SEARCH_INDEX_CHANGED_CHANNEL, type IndexChange } from '../src/modules/search/index-feeder';
import { createUserRepository } from '../src/modules/users/data/user-repository';
import { personalDataCipher } from '../src/modules/users';
import { DURATION, fmt, ROUNDS, startServer, summarise, type Stats } from './lib';
import { countCpu } from './cpu-accounting';
import { loadGenerator, loadPaths } from './load-paths';

// `make bench`, catalog part (issue #6): 200,000 listings in a database of their own, then the
// feed, keyword search, neighbourhood search and listing detail through the compiled API
// (production settings) at 100 and 500 connections, next to a bare node:http + pg server running
// the feed's and the detail's SQL; and EXPLAIN (ANALYZE, BUFFERS) of every query those requests
// run, captured from the very code the API runs. Results: docs/performance.md, "Catalog".
//
// The seed is the state the running system would hold: sellers as users rows (e-mails encrypted
// by the users component's cipher) with a verified neighbourhood, `products` rows, the likes
// behind every like_count, the search index written by the index feeder's mapping through the
// PostgreSQL adapter's rebuild path, and the ProductDetail documents as the projection builds
// them. Not seeded: the event history (the documents carry version 1) and photos.
//
// BENCH_RESEED=1 drops and seeds again (otherwise a database holding this seed is reused);
// BENCH_LISTINGS, BENCH_USERS to change the size; BENCH_SKIP_LOAD=1 for the plans only;
// `--explain` prints whole plans (otherwise their key lines).

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/junggo_bench';
// A Redis database of its own: the bench's cached feeds must not meet a development API's.
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/13';
const LISTINGS = Number(process.env.BENCH_LISTINGS ?? 200_000);
const USERS = Number(process.env.BENCH_USERS ?? 20_000);
const CONNECTION_LEVELS = (process.env.BENCH_CATALOG_CONNECTIONS ?? '100,500').split(',').map(Number);
const EXPLAIN = process.argv.includes('--explain');
const SEED_VERSION = 1;
const SEED_MARK = `junggo catalog bench seed v${SEED_VERSION}: ${LISTINGS} listings, ${USERS} users`;

// Fixed keys: the seeded e-mails must stay readable by every later run that reuses the seed.
const benchKey = (name: string) => createHash('sha256').update(`junggo-catalog-bench:${name}`).digest('base64');
const ENV = {
  NODE_ENV: 'production',
  PUBLIC_BASE_URL: 'http://127.0.0.1',
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  DATABASE_URL,
  REDIS_URL,
  QUEUE_PREFIX: 'bench-catalog',
  JWT_SECRET: 'bench-secret-0123456789abcdef0123456789abcdef',
  FIELD_ENCRYPTION_KEYS: `bench1:${benchKey('field')}`,
  BLIND_INDEX_KEY: benchKey('index'),
  // The load generator speaks for many users, each with its own address.
  TRUST_PROXY: 'loopback',
  RATE_LIMIT_MAX: '1000000',
};

// ---------------------------------------------------------------------------------------------
// The generator: deterministic (seeded PRNG), so every seed of a size is the same data.

let rngState = 0x5eed_2026;
const rand = () => {
  rngState = (rngState + 0x6d2b79f5) | 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const chance = (p: number) => rand() < p;
const gaussian = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const id = (prefix: string) => `${prefix}_${Array.from({ length: 20 }, () => CROCKFORD[Math.floor(rand() * 32)]).join('')}`;

/** Picks by weight: `cumulative` from `cumulate`. */
const cumulate = (weights: number[]) => weights.reduce<number[]>((acc, w) => [...acc, (acc.at(-1) ?? 0) + w], []);
function pickWeighted<T>(xs: readonly T[], cumulative: number[]): T {
  const r = rand() * cumulative.at(-1)!;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! < r) lo = mid + 1;
    else hi = mid;
  }
  return xs[lo]!;
}

/** What people sell in each leaf category (brand and model names as they are typed in titles). */
const LEAF_ITEMS: Record<string, string> = {
  'appliances/air-care': '다이슨 공기청정기|삼성 블루스카이 공기청정기|LG 퓨리케어 공기청정기|위닉스 제습기|샤오미 공기청정기|가습기|쿠쿠 가습기',
  'appliances/air-conditioning': '창문형 에어컨|LG 휘센 벽걸이 에어컨|전기히터|라디에이터|온풍기|선풍기|서큘레이터|전기요',
  'appliances/appliances-etc': '전기포트|정수기|안마기|체중계|전동칫솔|재봉틀|스팀다리미',
  'appliances/beauty-appliances': '다이슨 에어랩|다이슨 드라이기|고데기|필립스 면도기|브라운 면도기|LED 마스크|제모기',
  'appliances/cleaning': '다이슨 무선청소기|로봇청소기|LG 코드제로|삼성 비스포크 제트|물걸레 청소기|샤오미 로봇청소기',
  'appliances/kitchen-appliances': '에어프라이어|전자레인지|쿠쿠 전기밥솥|네스프레소 커피머신|믹서기|토스터|식기세척기|광파오븐',
  'appliances/laundry': '드럼세탁기|통돌이 세탁기|건조기|LG 트롬 세탁기|삼성 그랑데 건조기|미니 세탁기|LG 스타일러',
  'appliances/tv': 'LG 올레드 TV|삼성 QLED TV|빔프로젝터|스마트 TV 55인치|사운드바|TV 거치대',
  'beauty/fragrance': '조말론 향수|딥티크 향수|샤넬 향수|디올 향수|바이레도 향수|르라보 상탈|니치 향수 공병',
  'beauty/haircare': '헤어 에센스|샴푸 세트|바디로션|헤어 트리트먼트|바디워시 세트',
  'beauty/makeup': '쿠션 팩트|립스틱|아이섀도 팔레트|파운데이션|맥 립스틱|에스티로더 더블웨어',
  'beauty/mens-care': '남성 올인원|남성 스킨로션 세트|면도크림|남자 선크림',
  'beauty/nail': '젤네일 키트|네일 스티커|네일 램프|네일 드릴',
  'beauty/skincare': '설화수 세트|에스티로더 갈색병|선크림|토너 패드|수분크림|앰플 세트',
  'books/books-etc': '전집|요리책|여행 가이드북|국어사전|캘리그라피 책',
  'books/comics': '원피스 만화책 전권|슬램덩크 전권|나루토 전권|귀멸의 칼날 세트|웹툰 단행본',
  'books/fiction': '소설책 세트|에세이|해리포터 전집|무라카미 하루키 소설|한강 소설',
  'books/foreign-books': '영어 원서|해리포터 원서|일본어 원서|영어 그림책',
  'books/magazines': '보그 잡지|패션 잡지|과학동아|인테리어 잡지',
  'books/self-help': '자기계발서|경제경영 도서|주식 투자 책|부동산 책',
  'books/textbooks': '토익 교재|공무원 수험서|수능 문제집|전공책|자격증 교재|한국사 교재',
  'digital/audio': '에어팟 프로|에어팟 맥스|소니 헤드폰|갤럭시 버즈|마샬 스피커|JBL 블루투스 스피커|보스 헤드폰',
  'digital/cameras': '캐논 DSLR|소니 미러리스|후지필름 카메라|고프로|인스탁스 폴라로이드|니콘 렌즈|필름카메라',
  'digital/desktops': '게이밍 컴퓨터 본체|조립 PC|아이맥|맥미니|사무용 데스크탑',
  'digital/digital-etc': '전자사전|보조배터리|고속 충전기|스마트홈 허브|전자책 리더기',
  'digital/game-consoles': '닌텐도 스위치|플스5|플스4|엑스박스|스위치 게임 타이틀|닌텐도 스위치 OLED',
  'digital/laptops': '맥북 에어|맥북 프로|LG 그램|갤럭시북|게이밍 노트북|레노버 씽크패드',
  'digital/monitors': '27인치 모니터|LG 울트라기어 모니터|삼성 오디세이 모니터|4K 모니터|모니터암',
  'digital/pc-parts': '그래픽카드 RTX 3060|그래픽카드 RTX 4070|램 16GB|SSD 1TB|인텔 CPU|메인보드|파워서플라이',
  'digital/peripherals': '기계식 키보드|로지텍 마우스|무선 키보드|웹캠|프린터|외장하드',
  'digital/phones': '아이폰 15 프로|아이폰 14|아이폰 13 미니|아이폰 12|갤럭시 S24|갤럭시 S23 울트라|갤럭시 Z 플립5|갤럭시 Z 폴드5|아이폰 SE',
  'digital/tablets': '아이패드 프로|아이패드 에어|아이패드 미니|갤럭시탭 S9|애플펜슬|갤럭시탭',
  'digital/wearables': '애플워치|갤럭시 워치|애플워치 울트라|미밴드|가민 시계',
  'furniture/bedding': '이불 세트|암막 커튼|러그|카페트|메모리폼 베개|극세사 이불',
  'furniture/beds': '퀸 침대|슈퍼싱글 침대|매트리스|시몬스 매트리스|침대 프레임|이층 침대',
  'furniture/desks-chairs': '책상|컴퓨터 의자|시디즈 의자|모션 데스크|허먼밀러 의자|접이식 책상|독서실 책상',
  'furniture/dining': '4인 식탁|원목 식탁|식탁 의자|아일랜드 식탁|주방 수납장',
  'furniture/interior-deco': '액자|무드등|디퓨저|전신 거울|벽시계|포스터',
  'furniture/lighting': '스탠드 조명|장스탠드|LED 조명|펜던트 조명|루이스폴센 조명',
  'furniture/sofas': '3인 소파|가죽 소파|패브릭 소파|리클라이너 소파|1인 소파|빈백',
  'furniture/storage': '옷장|서랍장|책장|수납장|행거|이케아 선반|신발장',
  'hobbies/art-supplies': '유화 물감|이젤|수채화 세트|마카 세트|뜨개질 실',
  'hobbies/board-games': '보드게임|루미큐브|직소퍼즐 1000피스|스플렌더|카탄',
  'hobbies/collectibles': '포켓몬 카드|아이돌 포토카드|굿즈 일괄|앨범 포카|한정판 피규어',
  'hobbies/figures': '건담 프라모델|레고|레고 테크닉|피규어|원피스 피규어|레고 스타워즈',
  'hobbies/hobbies-etc': '드론|RC카|마술도구|천체망원경',
  'hobbies/instruments': '통기타|일렉기타|디지털 피아노|우쿨렐레|야마하 키보드|바이올린|드럼 패드',
  'hobbies/records': 'LP 레코드|CD 앨범|턴테이블|아이돌 앨범|카세트테이프',
  'kids/feeding': '젖병 세트|분유 제조기|유축기|이유식 용기|아기 식탁의자',
  'kids/kids-books': '유아 전집|그림책 세트|원목 교구|한글 교재|자연관찰 전집',
  'kids/kids-clothing': '아기 내복|유아 패딩|아동 원피스|유아 우주복|아동복 세트',
  'kids/kids-furniture': '아기 침대|유아 책상|아기 범퍼침대|유아 옷장|놀이매트',
  'kids/kids-shoes': '아기 신발|유아 운동화|아동 장화|첫걸음마 신발',
  'kids/maternity': '임부복|산모 방석|출산 준비물 일괄|아기띠|수유 쿠션',
  'kids/strollers': '부가부 유모차|절충형 유모차|휴대용 유모차|카시트|주니어 카시트|요요 유모차',
  'kids/toys': '뽀로로 장난감|타요 장난감|레고 듀플로|아기 체육관|붕붕카|소꿉놀이 세트',
  'living/cookware': '르크루제 냄비|프라이팬 세트|식기 세트|스타벅스 텀블러|밀폐용기|칼 세트',
  'living/household': '수건 세트|빨래건조대|세제 세트|장우산|캐리어 24인치',
  'living/processed-food': '커피 캡슐|라면 박스|홍삼 세트|단백질 쉐이크|견과류 선물세트',
  'living/tools': '전동드릴|공구 세트|보쉬 드릴|접이식 사다리|디월트 임팩|레이저 수평계',
  'mens-fashion/men-accessories': '남자 시계|카시오 시계|가죽 벨트|선글라스|넥타이|은반지',
  'mens-fashion/men-bags': '남자 백팩|크로스백|서류가방|반지갑|카드지갑|몽블랑 지갑',
  'mens-fashion/men-bottoms': '청바지|슬랙스|조거팬츠|반바지|리바이스 청바지',
  'mens-fashion/men-outer': '노스페이스 패딩|롱패딩|울 코트|바람막이|가죽자켓|블루종',
  'mens-fashion/men-shoes': '나이키 운동화|조던 1|뉴발란스 992|아디다스 삼바|구두|컨버스',
  'mens-fashion/men-suits': '정장 세트|수트 자켓|턱시도|정장 바지',
  'mens-fashion/men-tops': '맨투맨|후드티|옥스포드 셔츠|니트|반팔티|폴로 셔츠',
  other: '기타 물품|잡동사니 일괄|이사 정리 물품|사무용품|문구류 일괄',
  'pets/cat-supplies': '캣타워|고양이 화장실|스크래쳐|고양이 장난감|자동 급식기',
  'pets/dog-supplies': '강아지 켄넬|강아지 방석|이동가방|강아지 옷|하네스|강아지 유모차',
  'pets/pet-food': '고양이 사료|강아지 사료|고양이 간식|츄르 대용량|강아지 간식',
  'pets/pets-etc': '어항|수족관 여과기|햄스터 케이지|새장',
  'plants/gardening': '토분|원예 도구|분갈이 흙|식물 조명|물뿌리개',
  'plants/houseplants': '몬스테라|스투키|고무나무|다육이|올리브나무|극락조|산세베리아',
  'plants/seeds': '방울토마토 모종|상추 모종|허브 씨앗|바질 모종',
  'sports/ball-sports': '축구공|농구공|배드민턴 라켓|테니스 라켓|야구 글러브|탁구 라켓',
  'sports/bicycles': '로드 자전거|미니벨로|접이식 자전거|MTB 자전거|브롬톤 자전거|전기 자전거|하이브리드 자전거|아동 자전거',
  'sports/camping': '캠핑의자|텐트|코베아 버너|캠핑 테이블|타프|스노우피크 텐트|캠핑 랜턴|침낭',
  'sports/fishing': '낚싯대|스피닝 릴|낚시 가방|루어 세트|낚시 의자',
  'sports/fitness': '요가매트|덤벨 세트|케틀벨|실내 자전거|런닝머신|폼롤러|필라테스 링',
  'sports/golf': '골프채 풀세트|드라이버|아이언 세트|퍼터|골프백|타이틀리스트 드라이버|골프화',
  'sports/running': '등산화|등산 스틱|러닝화|등산 배낭|트레킹화',
  'sports/sports-etc': '인라인 스케이트|킥보드|클라이밍화|스케이트보드',
  'sports/water-sports': '수영복|수경|서핑보드|래쉬가드|오리발',
  'sports/winter-sports': '스노우보드|스키 세트|보드복|스키 부츠|보드 바인딩',
  'tickets/gift-cards': '스타벅스 기프티콘|백화점 상품권|문화상품권|신세계 상품권|배민 상품권',
  'tickets/performance-tickets': '뮤지컬 티켓|콘서트 티켓|전시회 티켓|연극 티켓',
  'tickets/sports-tickets': '야구 티켓|축구 티켓|농구 티켓',
  'tickets/tickets-etc': '영화 예매권|놀이공원 자유이용권|워터파크 입장권',
  'tickets/travel': '호텔 숙박권|리조트 숙박권|제주 항공권|펜션 숙박권',
  'vehicles/car-parts': '블랙박스|차량용 거치대|루프박스|카시트 커버|차량 매트|하이패스 단말기',
  'vehicles/motorcycles': '혼다 PCX|야마하 NMAX|전동 킥보드|스쿠터|오토바이 헬멧',
  'vehicles/tires': '타이어 4짝|알로이 휠|윈터 타이어|스노우 체인',
  'womens-accessories/jewelry': '14K 목걸이|귀걸이|반지|팔찌|판도라 팔찌|스와로브스키 목걸이',
  'womens-accessories/watches': '여자 시계|다니엘웰링턴 시계|까르띠에 시계|메탈 시계',
  'womens-accessories/women-bags': '숄더백|토트백|에코백|크로스백|루이비통 가방|구찌 가방|미니백',
  'womens-accessories/women-fashion-accessories': '볼캡|버킷햇|스카프|머리핀|헤어밴드|선글라스',
  'womens-accessories/women-shoes': '로퍼|샌들|스니커즈|롱부츠|힐|어그 부츠|메리제인',
  'womens-accessories/women-wallets': '장지갑|카드지갑|반지갑|동전지갑',
  'womens-clothing/women-bottoms': '와이드 팬츠|청바지|슬랙스|레깅스|반바지',
  'womens-clothing/women-dresses': '원피스|니트 원피스|셔츠 원피스|롱 원피스|하객 원피스',
  'womens-clothing/women-outer': '롱패딩|숏패딩|트렌치코트|울코트|가디건|트위드 자켓',
  'womens-clothing/women-skirts': '롱스커트|미니스커트|플리츠 스커트|데님 스커트',
  'womens-clothing/women-suits': '정장 세트|블레이저|셋업 정장',
  'womens-clothing/women-tops': '블라우스|니트|맨투맨|크롭티|스트라이프 셔츠',
  'womens-clothing/women-training': '트레이닝복 세트|레깅스|요가복|후드집업',
  'womens-clothing/women-underwear': '잠옷 세트|파자마|브라 세트|홈웨어',
};

/** Median asking price (KRW) by leaf, else by top-level category; prices are log-normal around it. */
const MEDIAN_PRICE: Record<string, number> = {
  appliances: 120_000, 'appliances/laundry': 300_000, 'appliances/tv': 350_000, 'appliances/appliances-etc': 40_000,
  beauty: 20_000, books: 8_000, 'books/textbooks': 12_000, 'books/comics': 30_000,
  digital: 150_000, 'digital/phones': 450_000, 'digital/laptops': 700_000, 'digital/tablets': 400_000, 'digital/desktops': 600_000,
  'digital/cameras': 500_000, 'digital/game-consoles': 250_000, 'digital/audio': 120_000, 'digital/digital-etc': 30_000,
  furniture: 60_000, 'furniture/beds': 150_000, 'furniture/sofas': 150_000, 'furniture/interior-deco': 15_000,
  hobbies: 30_000, 'hobbies/instruments': 150_000, kids: 25_000, 'kids/strollers': 150_000,
  living: 15_000, 'mens-fashion': 35_000, 'mens-fashion/men-shoes': 80_000, other: 10_000, pets: 20_000, plants: 15_000,
  sports: 60_000, 'sports/bicycles': 250_000, 'sports/golf': 250_000, tickets: 50_000, 'tickets/travel': 150_000,
  vehicles: 60_000, 'vehicles/motorcycles': 1_500_000, 'vehicles/tires': 250_000,
  'womens-accessories': 50_000, 'womens-accessories/women-bags': 150_000, 'womens-accessories/watches': 150_000, 'womens-clothing': 25_000,
};

/** What sellers add to a title: model details per leaf, else per top-level category. */
const SPECS: Record<string, string[]> = {
  'digital/phones': ['128GB', '256GB', '512GB', '자급제', '공기계', '배터리 89%', '블랙', '화이트', '블루'],
  'digital/tablets': ['64GB', '256GB', 'Wi-Fi', 'LTE', '5세대', '6세대', '스페이스그레이'],
  'digital/laptops': ['M1', 'M2', '16GB', '512GB', '13인치', '15인치', 'i7'],
  'digital/audio': ['2세대', '3세대', '정품', '블랙', '화이트'],
  digital: ['정품', '블랙', '화이트', '박스 있음'],
  'mens-fashion': ['S', 'M', 'L', 'XL', '100', '105', '블랙', '네이비'],
  'mens-fashion/men-shoes': ['260', '265', '270', '275', '280'],
  'womens-clothing': ['S', 'M', 'L', 'free', '55', '66', '블랙', '아이보리', '베이지'],
  'womens-accessories/women-shoes': ['225', '230', '235', '240', '245', '250'],
  'womens-accessories': ['블랙', '브라운', '정품', '베이지'],
  kids: ['0-6개월', '12개월', '3세', '5세', '90', '110', '남아', '여아'],
  'kids/strollers': ['신생아용', '휴대용', '정품', '2023년형'],
  'furniture/beds': ['퀸', '슈퍼싱글', '킹', '싱글'],
  furniture: ['원목', '화이트', '대형', '소형'],
  appliances: ['2023년식', '2022년식', '대용량', '미니', '화이트'],
  'sports/bicycles': ['카본', '알루미늄', '21단', '700C', '20인치'],
  'sports/golf': ['남성용', '여성용', '정품', '왼손용'],
  'sports/running': ['260', '270', '남성용', '여성용'],
};
const MODIFIERS = ['급처', '새상품', '미개봉', 'S급', '상태 좋아요', '거의 새것', '정품', '택포', '네고 가능', '1회 사용', '가격 내림', '풀박스', '저렴하게', '팝니다', '판매합니다', '싸게 팔아요', '일괄', '단순개봉', '급매'];
const REASONS = [
  '이사 가게 되어 정리합니다.', '선물 받았는데 사용하지 않아서 올려요.', '새로 구매해서 기존 제품 판매해요.', '아이가 커서 더 이상 쓰지 않아요.',
  '자리만 차지해서 내놓아요.', '두세 번 정도 사용했어요.', '1년 정도 사용했습니다.', '구매한 지 3개월 됐어요.', '취미를 바꾸게 되어 처분합니다.',
  '집 정리 중이라 저렴하게 올려요.', '사이즈가 맞지 않아서 판매합니다.', '중복으로 선물 받아서 하나 팔아요.',
];
const CONDITION_NOTES: Record<string, string[]> = {
  new: ['새 제품이고 박스 미개봉입니다.', '포장 그대로인 새상품이에요.', '택도 안 뗀 새것입니다.'],
  like_new: ['생활기스 거의 없이 깨끗합니다.', '거의 새것 같은 상태예요.', '몇 번 안 써서 상태 아주 좋아요.'],
  used: ['사용감은 조금 있지만 기능은 문제없어요.', '사진에 보이는 작은 흠집 외에는 깨끗해요.', '생활기스 있습니다. 감안해 주세요.', '세탁 후 보관했어요.'],
  for_parts: ['고장 나서 부품용으로 판매합니다.', '작동이 안 돼서 부품용이에요.', '수리하실 분께 드려요.'],
};
const CLOSERS = ['채팅 주세요!', '관심 있으시면 연락 주세요.', '문의는 채팅으로 부탁드려요.', '빠른 거래 원해요.', '', ''];
const NICK_A = ['행복한', '조용한', '부지런한', '느긋한', '상냥한', '씩씩한', '배고픈', '졸린', '용감한', '깔끔한', '알뜰한', '다정한', '신나는', '따뜻한'];
const NICK_B = ['고양이', '강아지', '너구리', '판다', '곰돌이', '토끼', '다람쥐', '펭귄', '여우', '부엉이', '수달', '거북이', '햄스터', '고래'];

/** Words people type into the search box, from everyday (아이폰) to rare (전기밥솥), 3+ and 2-character ones. */
const SEARCH_WORDS = [
  '아이폰', '갤럭시', '맥북', '에어팟', '아이패드', '자전거', '유모차', '의자', '책상', '패딩', '운동화', '가방', '텐트', '레고', '닌텐도',
  '다이슨', '원피스', '코트', '모니터', '키보드', '향수', '골프', '캠핑', '소파', '선풍기', '전기밥솥', '카시트', '침대', '상품권', '몬스테라',
];

interface Category { id: string; path: string; name: string; leaf: boolean }
interface Dong { code: string; name: string; sido: string; lat: number; lng: number }
interface Seller { id: string; dong: Dong; since: string }
interface Listing {
  id: string; seller_id: string; title: string; description: string; category_id: string; category_path: string; price: number;
  offers_allowed: boolean; condition: string; trade_methods: string[]; shipping_fee: number; dong_code: string; lat: number; lng: number;
  quantity: number; status: string; buyer_id: string | null; moderation: string; like_count: number; view_count: number; chat_count: number;
  bumped_at: string; created_at: string; updated_at: string; deleted_at: string | null; version: number;
}

function roundPrice(p: number): number {
  if (p < 10_000) return Math.max(500, Math.round(p / 500) * 500);
  if (p < 100_000) return Math.round(p / 1000) * 1000;
  if (p < 1_000_000) return Math.round(p / 5000) * 5000;
  return Math.round(p / 50_000) * 50_000;
}

function makeListing(seller: Seller, category: Category, likers: Seller[], now: number): Listing {
  const top = category.path.split('/')[0]!;
  const item = pick((LEAF_ITEMS[category.path] ?? category.name).split('|'));
  const free = chance(0.04);
  const condition = pickWeighted(['new', 'like_new', 'used', 'for_parts'], CONDITION_WEIGHTS);
  const parts = [item];
  const specs = SPECS[category.path] ?? SPECS[top];
  if (specs && chance(0.5)) parts.push(pick(specs));
  if (free) parts.push(pick(['나눔', '무료나눔', '나눔합니다']));
  else if (chance(0.55)) parts.push(pick(MODIFIERS));
  let title = parts.join(' ');
  if (!free && chance(0.08)) title = `[${pick(['급처', '급매', '가격내림', '미개봉'])}] ${title}`;

  const parcel = chance(0.35);
  const tradeMethods = ['meet_up', ...(parcel ? ['parcel'] : []), ...(chance(0.1) ? ['convenience_store'] : [])];
  const shippingFee = tradeMethods.length > 1 && chance(0.4) ? pick([3000, 3500, 4000, 5000]) : 0;
  const offers = !free && chance(0.65);
  const description = [
    `${item} ${free ? '나눔합니다.' : pick(['판매합니다.', '팔아요.', '내놓습니다.'])}`,
    pick(REASONS),
    pick(CONDITION_NOTES[condition]!),
    `${seller.dong.name} ${pick(['근처에서 직거래 원해요.', '근처 직거래 가능합니다.', '주민센터 앞에서 거래해요.', '근처 편의점 앞에서 만나요.'])}`,
    parcel ? (shippingFee ? `택배비 ${shippingFee.toLocaleString('ko-KR')}원 별도입니다.` : '택배 거래도 가능합니다(택배비 포함).') : '',
    free ? '' : offers ? pick(['가격 제안 환영합니다.', '쿨거래시 약간 네고 가능해요.']) : pick(['네고는 어렵습니다.', '가격 제안은 받지 않아요.']),
    pick(CLOSERS),
  ].filter(Boolean).join(' ');

  const median = MEDIAN_PRICE[category.path] ?? MEDIAN_PRICE[top] ?? 30_000;
  const price = free ? 0 : Math.min(50_000_000, roundPrice(median * Math.exp(0.75 * gaussian())));

  // Posted over the last 60 days; a quarter bumped once since (끌어올리기 waits a day).
  const created = now - rand() * 60 * 86_400_000;
  const bumped = chance(0.25) && now - created > 86_400_000 ? created + 86_400_000 + rand() * (now - created - 86_400_000) : created;
  const ageDays = (now - created) / 86_400_000;
  // Older listings are more often sold.
  const r = rand();
  const status = r < 0.05 + ageDays * 0.005 ? 'sold' : r < 0.12 + ageDays * 0.005 ? 'reserved' : r < 0.14 + ageDays * 0.005 ? 'hidden' : 'on_sale';
  const deleted = chance(0.02);
  const moderation = chance(0.004) ? 'flagged' : 'ok';
  const likes = chance(0.45) ? 0 : Math.min(likers.length - 1, Math.floor(-Math.log(1 - rand()) * 4 * (1 + (median > 200_000 ? 1 : 0))) + 1);
  const changes = (bumped > created ? 1 : 0) + (status !== 'on_sale' ? 1 : 0) + (deleted ? 1 : 0);
  const lastChange = Math.max(bumped, created + rand() * (now - created) * (changes ? 1 : 0));
  return {
    id: id('prd'),
    seller_id: seller.id,
    title,
    description,
    category_id: category.id,
    category_path: category.path,
    price,
    offers_allowed: offers,
    condition,
    trade_methods: tradeMethods,
    shipping_fee: shippingFee,
    dong_code: seller.dong.code,
    lat: seller.dong.lat,
    lng: seller.dong.lng,
    quantity: chance(0.05) ? 2 + Math.floor(rand() * 4) : 1,
    status,
    buyer_id: status === 'sold' && chance(0.5) ? buyerOtherThan(seller, likers) : null,
    moderation,
    like_count: likes,
    view_count: Math.floor(likes * (5 + rand() * 20) + rand() * ageDays * 3),
    chat_count: Math.floor(likes * rand() * 0.8),
    bumped_at: new Date(bumped).toISOString(),
    created_at: new Date(created).toISOString(),
    updated_at: new Date(lastChange).toISOString(),
    deleted_at: deleted ? new Date(lastChange).toISOString() : null,
    version: 1 + changes,
  };
}
const CONDITION_WEIGHTS = cumulate([10, 30, 55, 5]);
const buyerOtherThan = (seller: Seller, users: Seller[]) => {
  const buyer = pick(users);
  return buyer.id === seller.id ? null : buyer.id;
};

// ---------------------------------------------------------------------------------------------
// Seeding

const logger = createLogger('warn', 'bench-catalog');

async function isSeeded(pg: Client): Promise<boolean> {
  const { rows } = await pg.query<{ mark: string | null }>(`SELECT shobj_description(oid, 'pg_database') AS mark FROM pg_database WHERE datname = current_database()`);
  return rows[0]?.mark === SEED_MARK;
}

async function dropDatabase(): Promise<void> {
  const url = new URL(DATABASE_URL);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Runs `work` over `items` in chunks, `parallel` chunks at a time, ticking `bar` by chunk size. */
async function inChunks<T>(items: T[], size: number, parallel: number, bar: SingleBar, work: (chunk: T[]) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < items.length) {
        const chunk = items.slice(next, next + size);
        next += size;
        await work(chunk);
        bar.increment(chunk.length);
      }
    }),
  );
}

async function seed(): Promise<void> {
  const started = Date.now();
  const config = loadConfig({ ...ENV, LOG_LEVEL: 'warn' });
  const sequelize = new Sequelize(DATABASE_URL, { dialect: 'postgres', logging: false, pool: { max: 4 } });
  const pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  // Without a terminal (CI logs), a line every 5 s instead of a redrawn bar.
  const bars = new MultiBar(
    { format: '{stage} [{bar}] {percentage}% | {value}/{total} | {duration_formatted}', hideCursor: true, clearOnComplete: false, noTTYOutput: !process.stdout.isTTY, notTTYSchedule: 5000 },
    Presets.shades_classic,
  );
  let stopped = false;
  try {
    const categories = (await pg.query<Category>(
      `SELECT c.id, c.path, c.name, NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id) AS leaf FROM categories c ORDER BY c.path`,
    )).rows;
    const leaves = categories.filter((c) => c.leaf);
    const dongs = (await pg.query<Dong>('SELECT code, name, sido, lat, lng FROM dongs ORDER BY code')).rows;
    // Where people live and trade: Seoul first, then the capital area, a share elsewhere; some
    // dongs much busier than others.
    const regionWeight = (sido: string) => (sido === '서울특별시' ? 55 / 426 : sido === '경기도' ? 22 / 567 : sido === '인천광역시' ? 5 / 155 : 18 / 1_500);
    const dongWeights = cumulate(dongs.map((d) => regionWeight(d.sido) * Math.exp(0.8 * gaussian())));
    // Busy leaves (phones, clothes) get more listings than quiet ones (seeds, magazines).
    const leafWeights = cumulate(leaves.map(() => Math.exp(0.9 * gaussian())));

    // Sellers (and likers): users rows through the users component's repository (encrypted e-mail,
    // blind index), e-mail verified, each with a verified neighbourhood (needed to post).
    const users = createUserRepository(sequelize, personalDataCipher(config));
    const sellers: Seller[] = [];
    const nicknames = new Set<string>();
    for (let i = 0; i < USERS; i++) {
      let nickname: string;
      do nickname = `${pick(NICK_A)}${pick(NICK_B)}${Math.floor(rand() * 10_000)}`;
      while (nicknames.has(nickname));
      nicknames.add(nickname);
      sellers.push({ id: id('usr'), dong: pickWeighted(dongs, dongWeights), since: new Date(started - rand() * 400 * 86_400_000).toISOString() });
    }
    const nicknameList = [...nicknames];
    const userBar = bars.create(USERS, 0, { stage: 'users          ' });
    await inChunks(sellers.map((s, i) => ({ s, i })), 500, 3, userBar, async (chunk) => {
      await sequelize.transaction(async (t) => {
        for (const { s, i } of chunk) await users.insert({ id: s.id, email: `seller${i}@bench.junggo.example`, passwordHash: null, nickname: nicknameList[i]!, phone: null }, t);
        const rows = chunk.map(({ s }) => ({ user_id: s.id, dong_code: s.dong.code, created: s.since }));
        await sequelize.query(
          `WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(user_id text, dong_code text, created timestamptz)),
                u AS (UPDATE users SET email_verified_at = r.created, created_at = r.created, updated_at = r.created FROM r WHERE users.id = r.user_id),
                c AS (INSERT INTO location_consents (user_id, terms_version, agreed_at) SELECT user_id, '2026-11', created FROM r)
           INSERT INTO user_neighbourhoods (user_id, dong_code, is_primary, range, verified_at, expires_at)
           SELECT user_id, dong_code, true, 'medium', now() - interval '3 days', now() + interval '27 days' FROM r`,
          { bind: [JSON.stringify(rows)], transaction: t },
        );
      });
    });

    // Sellers' activity is skewed: a few post hundreds of listings, most a handful.
    const sellerWeights = cumulate(sellers.map((_, i) => 1 / (i + 10) ** 0.6));
    const listings: Listing[] = [];
    for (let i = 0; i < LISTINGS; i++) listings.push(makeListing(pickWeighted(sellers, sellerWeights), pickWeighted(leaves, leafWeights), sellers, started));

    const productBar = bars.create(LISTINGS, 0, { stage: 'products       ' });
    await inChunks(listings, 2000, 2, productBar, async (chunk) => {
      await sequelize.query(
        `INSERT INTO products (id, seller_id, title, description, category_id, price, offers_allowed, condition, trade_methods, shipping_fee,
                               dong_code, lat, lng, quantity, status, buyer_id, moderation, like_count, view_count, chat_count,
                               bumped_at, created_at, updated_at, deleted_at, version)
         SELECT id, seller_id, title, description, category_id, price, offers_allowed, condition, trade_methods, shipping_fee,
                dong_code, lat, lng, quantity, status, buyer_id, moderation, like_count, view_count, chat_count,
                bumped_at, created_at, updated_at, deleted_at, version
           FROM jsonb_to_recordset($1::jsonb) AS r(id text, seller_id text, title text, description text, category_id text, price int,
                offers_allowed boolean, condition text, trade_methods text[], shipping_fee int, dong_code text, lat float8, lng float8,
                quantity int, status text, buyer_id text, moderation text, like_count int, view_count int, chat_count int,
                bumped_at timestamptz, created_at timestamptz, updated_at timestamptz, deleted_at timestamptz, version int)`,
        { bind: [JSON.stringify(chunk)] },
      );
    });

    // The like rows behind every like_count (the engagement component keeps them equal).
    const likes: { user_id: string; product_id: string; created_at: string }[] = [];
    for (const l of listings) {
      const who = new Set<string>();
      while (who.size < l.like_count) {
        const u = pickWeighted(sellers, sellerWeights).id;
        if (u !== l.seller_id) who.add(u);
      }
      const from = Date.parse(l.created_at);
      for (const u of who) likes.push({ user_id: u, product_id: l.id, created_at: new Date(from + rand() * (started - from)).toISOString() });
    }
    const likeBar = bars.create(likes.length, 0, { stage: 'likes          ' });
    await inChunks(likes, 10_000, 2, likeBar, async (chunk) => {
      await sequelize.query(
        `INSERT INTO product_likes (user_id, product_id, created_at)
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(user_id text, product_id text, created_at timestamptz)`,
        { bind: [JSON.stringify(chunk)] },
      );
    });

    // Each listing as its events would leave it: `product.created` with the final snapshot (the
    // shape products.ts records), then the tombstone of a deleted one.
    const createdEvent = (l: Listing, position: number): StoredEvent => ({
      id: `evt_bench_${position}`,
      position,
      aggregate_type: 'product',
      aggregate_id: l.id,
      aggregate_version: 1,
      type: 'product.created',
      schema_version: 1,
      payload: {
        product_id: l.id, seller_id: l.seller_id, title: l.title, description: l.description, category_id: l.category_id,
        category_path: l.category_path, price: l.price, offers_allowed: l.offers_allowed, condition: l.condition, trade_methods: l.trade_methods,
        shipping_fee: l.shipping_fee, dong_code: l.dong_code, lat: l.lat, lng: l.lng, quantity: l.quantity, status: l.status,
        moderation: l.moderation, bumped_at: l.bumped_at, created_at: l.created_at, updated_at: l.updated_at,
      },
      metadata: {},
      occurred_at: l.created_at,
    });

    // The search index: the feeder's own mapping of the event, written through the PostgreSQL
    // adapter's rebuild path (a shadow table filled without indexes, indexed, swapped in).
    const feeder = createIndexFeeder(sequelize);
    const searchBar = bars.create(LISTINGS, 0, { stage: 'search index   ' });
    const index = new PostgresSearchIndex({ sequelize });
    await index.rebuild(async (shadow) => {
      await inChunks(listings, 1000, 3, searchBar, async (chunk) => {
        const docs: SearchDocument[] = [];
        const capture: SearchIndexWriter = {
          get: async () => null,
          index: async (doc) => Boolean(docs.push(doc)),
          restore: async () => false,
          update: async () => false,
          remove: async () => false,
        };
        for (const l of chunk) await feeder(createdEvent(l, 1), capture);
        await sequelize.transaction(async (t) => {
          for (const [i, doc] of docs.entries()) {
            const l = chunk[i]!;
            // What product.liked (count as sent), product.deleted (tombstone) leave on the document.
            await shadow.index({ ...doc, likeCount: l.like_count, chatCount: l.chat_count, deleted: l.deleted_at !== null }, { transaction: t });
          }
        });
      });
    });

    // ProductDetail documents, as the projection builds them from the same events, written in
    // bulk into the document store's table for the collection.
    const store = await createDocumentStore({ databaseUrl: DATABASE_URL, log: logger });
    await store.collection(PRODUCT_DETAILS);
    await store.close();
    const detailBar = bars.create(LISTINGS, 0, { stage: 'product details' });
    await inChunks(listings, 2000, 2, detailBar, async (chunk) => {
      const bodies: ProductDetailDoc[] = [];
      const capture = { get: async () => null, upsert: async (d: ProductDetailDoc) => Boolean(bodies.push(d)), delete: async () => false, find: async () => ({ items: [], nextCursor: null }), count: async () => 0 };
      for (const l of chunk) {
        await productDetailProjection.apply(createdEvent(l, 1), capture);
        const doc = bodies.at(-1)!;
        Object.assign(doc, { buyer_id: l.buyer_id, deleted: l.deleted_at !== null });
      }
      const rows = bodies.map((d, i) => ({ id: d.id, version: d.version, body: prepareDoc(PRODUCT_DETAILS, d), updated_at: chunk[i]!.updated_at }));
      await sequelize.query(
        `INSERT INTO doc_product_details (id, version, body, updated_at)
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(id text, version bigint, body jsonb, updated_at timestamptz)`,
        { bind: [JSON.stringify(rows)] },
      );
    });
    bars.stop();
    stopped = true;
    process.stdout.write('VACUUM ANALYZE …\n');
    for (const table of ['users', 'user_neighbourhoods', 'products', 'product_likes', 'search_documents', 'doc_product_details']) await pg.query(`VACUUM ANALYZE ${table}`);
    await pg.query(`COMMENT ON DATABASE "${new URL(DATABASE_URL).pathname.slice(1)}" IS '${SEED_MARK}'`);
    console.log(`seeded ${LISTINGS} listings, ${USERS} users, ${likes.length} likes in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    if (!stopped) bars.stop();
    await sequelize.close();
    await pg.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Query plans, captured from the code the API runs

interface CapturedPlan { name: string; sql: string; plan: string[] }

/** The lines of a plan worth reading at a glance: nodes, filters, row counts, timing. */
const keyLines = (plan: string[]) =>
  plan.filter((l) => /Scan|Sort|Limit|Join|Nested|Index Cond|Filter|Rows Removed|Recheck|Heap Blocks|Execution Time|Planning Time|^\s*Buffers/.test(l)).slice(0, 16);

async function capturePlans(pg: Client, sample: { feedLeaf: string; feedTop: string; productId: string; dong: Dong }): Promise<CapturedPlan[]> {
  const captured: { sql: string; bind: unknown[] }[] = [];
  const sequelize = new Sequelize(DATABASE_URL, {
    dialect: 'postgres',
    pool: { max: 2 },
    logging: (sql: string, opts?: unknown) => {
      captured.push({ sql: sql.replace(/^Executing \([^)]*\): /, ''), bind: (opts as { bind?: unknown[] } | undefined)?.bind ?? [] });
    },
  });
  const plans: CapturedPlan[] = [];
  try {
    // The search use cases wired as src/modules/search/index.ts wires them (minus caches and
    // history): toIndexQuery turns HTTP parameters into the index query the API runs.
    const index = new PostgresSearchIndex({ sequelize });
    const resolver = createDongResolver(createDongRepository(sequelize));
    const notCached = { get: async () => { throw new Error('not cached here'); } };
    const search = listingSearchUseCases({
      index,
      lookups: createSearchLookups(sequelize),
      history: { record: async () => undefined } as never,
      feedCache: { firstPages: notCached, laterPages: notCached },
      isEmptyPage: () => false,
      neighbourhoods: {
        rangeMeters: RANGE_METERS,
        requireVerifiedNeighbourhood: async () => { throw new Error('anonymous'); },
        around: (code, radius) => resolver.neighbourhood(code, radius),
        pointsWithin: (lat, lng, radius) => resolver.pointsWithin(lat, lng, radius),
      },
    });
    const ctx = { log: logger } as unknown as RequestContext;
    const explain = async (name: string, run: () => Promise<unknown>, pickSql: (c: typeof captured) => (typeof captured)[number] = (c) => c.at(-1)!) => {
      for (let i = 0; i < 5; i++) await run();
      captured.length = 0;
      await run();
      const { sql, bind } = pickSql(captured);
      const plan = (await pg.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, bind)).rows.map((r) => r['QUERY PLAN']);
      plans.push({ name, sql, plan });
    };
    const viaApi = async (params: Partial<ListingSearchParams>) => index.search(await search.toIndexQuery(ctx, { sort: 'recent', limit: 20, ...params }));
    let cursor: string | undefined;
    await explain('feed: category_id=<leaf>, sort=recent', async () => { cursor = (await viaApi({ categoryId: sample.feedLeaf })).nextCursor ?? undefined; });
    await explain('feed: category_id=<top-level>, sort=recent', () => viaApi({ categoryId: sample.feedTop }));
    await explain('feed: category_id=<leaf>, page 2 (cursor)', () => viaApi({ categoryId: sample.feedLeaf, cursor }));
    await explain('search: q=아이폰 (3+ characters: trigram LIKE)', () => viaApi({ q: '아이폰' }));
    await explain('search: q=가방 (2 characters: full-text prefix)', () => viaApi({ q: '가방' }));
    await explain('search: q=전기밥솥 (rare word)', () => viaApi({ q: '전기밥솥' }));
    await explain(`neighbourhood: dong_code=${sample.dong.code} (${sample.dong.name}), range=medium`, () => viaApi({ dongCode: sample.dong.code, range: 'medium' }));
    await explain('neighbourhood: the dongs within range (the API keeps them per dong and range)', () => viaApi({ dongCode: sample.dong.code, range: 'medium' }), (c) => c.find((q) => q.sql.includes('FROM dongs c'))!);
    await explain(`neighbourhood: near=${sample.dong.lat},${sample.dong.lng}, radius=3000`, () => viaApi({ near: `${sample.dong.lat},${sample.dong.lng}`, radius: 3000 }));
    await explain(`neighbourhood: near=${sample.dong.lat},${sample.dong.lng}, radius=20000, sort=distance (the dong walk)`, () => viaApi({ near: `${sample.dong.lat},${sample.dong.lng}`, radius: 20000, sort: 'distance' }));
    // The detail's miss path (products.ts get → findView), then its images from ProductDetail.
    const products = createProductRepository(sequelize);
    await explain('detail: the listing with category, dong and seller', () => products.findView(sample.productId));
    const docSql = 'SELECT body FROM doc_product_details WHERE id = $1';
    plans.push({ name: 'detail: its ProductDetail document (images)', sql: docSql, plan: (await pg.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${docSql}`, [sample.productId])).rows.map((r) => r['QUERY PLAN']) });
  } finally {
    await sequelize.close();
  }
  return plans;
}

// ---------------------------------------------------------------------------------------------
// Load

interface Target {
  name: string;
  base: 'api' | 'bare';
  paths: string[];
  continues?: boolean;
  /**
   * Listing changes told to the API during the run, as the index feeder tells them: `scoped`
   * names the listing's category and dong (what the feeder sends), `everything` tells that
   * anything may have changed (what every change told before scoped invalidation).
   */
  changes?: 'scoped' | 'everything';
}

// Listing changes per second told during the "under writes" cases: a few times the rate of new
// listings of a large marketplace (a million a day is ~12/s), edits, bumps and sales included.
const CHANGES_PER_SECOND = Number(process.env.BENCH_CHANGES_PER_SECOND ?? 20);

async function main(): Promise<void> {
  if (process.env.BENCH_RESEED === '1') await dropDatabase();
  await migrate(DATABASE_URL, REDIS_URL, 'warn');
  let pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  if (!(await isSeeded(pg))) {
    if ((await pg.query('SELECT 1 FROM products LIMIT 1')).rowCount) {
      // A partial seed (an interrupted run) or another size: start again from an empty database.
      await pg.end();
      await dropDatabase();
      await migrate(DATABASE_URL, REDIS_URL, 'warn');
      pg = new Client({ connectionString: DATABASE_URL });
      await pg.connect();
    }
    await seed();
  } else {
    console.log(`reusing ${new URL(DATABASE_URL).pathname.slice(1)} (${SEED_MARK}; BENCH_RESEED=1 seeds again)`);
  }

  try {
    const categories = (await pg.query<Category>(
      `SELECT c.id, c.path, c.name, NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id) AS leaf FROM categories c ORDER BY c.path`,
    )).rows;
    const seoul = (await pg.query<Dong>(`SELECT code, name, sido, lat, lng FROM dongs WHERE sido = '서울특별시' ORDER BY code`)).rows;
    // Ids a reader can open: visible listings, in a fixed shuffled order.
    const ids = (await pg.query<{ id: string }>(`SELECT id FROM products WHERE deleted_at IS NULL AND status <> 'hidden' ORDER BY md5(id)`)).rows.map((r) => r.id);
    const leaf = categories.find((c) => c.path === 'digital/phones') ?? categories.find((c) => c.leaf)!;
    const top = categories.find((c) => c.path === 'digital') ?? categories.find((c) => !c.path.includes('/'))!;
    const mangwon = seoul.find((d) => d.name.startsWith('망원제1')) ?? seoul[0]!;

    const plans = await capturePlans(pg, { feedLeaf: leaf.id, feedTop: top.id, productId: ids[0]!, dong: mangwon });
    console.log('\n## Query plans (EXPLAIN (ANALYZE, BUFFERS)), as the API runs them');
    for (const p of plans) {
      console.log(`\n### ${p.name}\n${p.sql.replace(/\s+/g, ' ').trim()}\n${(EXPLAIN ? p.plan : keyLines(p.plan)).join('\n')}`);
    }
    if (process.env.BENCH_SKIP_LOAD === '1') return;

    // BENCH_API_PROCESSES=2: two copies of the API, as two replicas would serve (bench/api-replicas.mjs).
    const replicas = Number(process.env.BENCH_API_PROCESSES ?? 1);
    // BENCH_API_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof': profiles of the API under the load.
    const apiNodeArgs = (process.env.BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const api = await startServer(replicas > 1 ? 'bench/api-replicas.mjs' : 'dist/server.js', { ...ENV, BENCH_API_PROCESSES: String(replicas) }, 'PORT', apiNodeArgs);
    const bare = await startServer('bench/bare-catalog.mjs', { ...ENV, BENCH_API_PROCESSES: String(replicas) });
    const children = [api.child, bare.child];
    try {
      // Cached feeds start empty, so the rotating cases begin cold.
      const redis = new Redis(REDIS_URL);
      for await (const keys of redis.scanStream({ match: '{cache:*', count: 500 }) as AsyncIterable<string[]>) if (keys.length) await redis.del(...keys);
      redis.disconnect();

      // Page 2 of every category's feed, as its first page's cursor leads there: a page users
      // share (cached like the first), and the same with a price bound, which no cache holds.
      const pageTwo = async (filters: string) => {
        const paths: string[] = [];
        for (const c of categories) {
          const first = `/v1/products?category_id=${c.id}&sort=recent${filters}`;
          const res = await fetch(`${api.base}${first}`);
          if (res.status !== 200) throw new Error(`feed answered ${res.status}: ${await res.text()}`);
          const body = (await res.json()) as { next_cursor?: string | null };
          if (body.next_cursor) paths.push(`${first}&cursor=${encodeURIComponent(body.next_cursor)}`);
        }
        return paths;
      };
      const cursors = await pageTwo('');
      const uncachedCursors = await pageTwo('&min_price=0');
      const jitter = () => (rand() - 0.5) * 0.01;
      const hotIds = ids.slice(0, 1000);
      const nearPaths = Array.from({ length: 20_000 }, (_, i) => {
        const d = seoul[i % seoul.length]!;
        return `/v1/products?near=${(d.lat + jitter()).toFixed(5)},${(d.lng + jitter()).toFixed(5)}&radius=3000`;
      });
      const targets: Target[] = [
        { name: 'feed, one category (cached first page)', base: 'api', paths: [`/v1/products?category_id=${top.id}&sort=recent`] },
        { name: `feed, ${categories.length} categories rotating`, base: 'api', paths: categories.map((c) => `/v1/products?category_id=${c.id}&sort=recent`) },
        { name: `feed, ${categories.length} categories rotating, ${CHANGES_PER_SECOND} changes/s`, base: 'api', paths: categories.map((c) => `/v1/products?category_id=${c.id}&sort=recent`), changes: 'scoped' },
        { name: `feed, ${categories.length} categories rotating, ${CHANGES_PER_SECOND} changes/s told as "everything"`, base: 'api', paths: categories.map((c) => `/v1/products?category_id=${c.id}&sort=recent`), changes: 'everything' },
        { name: 'feed, page 2 (cursor, cached like the first)', base: 'api', paths: cursors },
        { name: 'feed, page 2 + min_price=0 (cursor, uncached)', base: 'api', paths: uncachedCursors },
        { name: 'bare: feed first page, rotating', base: 'bare', paths: categories.map((c) => `/feed?category_id=${c.id}`) },
        { name: `search, q= ${SEARCH_WORDS.length} words rotating (cached first pages)`, base: 'api', paths: SEARCH_WORDS.map((w) => `/v1/products?q=${encodeURIComponent(w)}`) },
        // A price bound makes a search uncacheable: every request reads the index, as a long-tail query does.
        { name: `search, q= ${SEARCH_WORDS.length} words + min_price=0 (uncached)`, base: 'api', paths: SEARCH_WORDS.map((w) => `/v1/products?q=${encodeURIComponent(w)}&min_price=0`) },
        { name: `neighbourhood, dong_code (${seoul.length} Seoul dongs) range=medium`, base: 'api', paths: seoul.map((d) => `/v1/products?dong_code=${d.code}&range=medium`) },
        { name: `neighbourhood, dong_code, range=medium, ${CHANGES_PER_SECOND} changes/s`, base: 'api', paths: seoul.map((d) => `/v1/products?dong_code=${d.code}&range=medium`), changes: 'scoped' },
        { name: 'neighbourhood, near=lat,lng radius=3000', base: 'api', paths: nearPaths },
        // Never cached (the order is the point's): the widest radius, nearest dongs walked first.
        { name: 'neighbourhood, near radius=20000 sort=distance (uncached)', base: 'api', paths: nearPaths.map((p) => p.replace('radius=3000', 'radius=20000&sort=distance')) },
        { name: 'detail, 1,000 listings rotating (cache hits)', base: 'api', paths: hotIds.map((id) => `/v1/products/${id}`) },
        // The two cold lists continue where their last run stopped: every read is a first read.
        { name: `detail, ${ids.length.toLocaleString('en')} listings (mostly misses)`, base: 'api', paths: ids.map((id) => `/v1/products/${id}`), continues: true },
        { name: 'bare: detail, all listings', base: 'bare', paths: ids.map((id) => `/products/${id}`), continues: true },
      ];
      for (const t of targets) {
        const res = await fetch(`${t.base === 'api' ? api.base : bare.base}${t.paths[0]}`);
        if (res.status !== 200) throw new Error(`${t.name}: ${res.status} ${await res.text()}`);
      }

      // Requests still queued in a server when autocannon stops would weigh on the next run.
      const settle = async () => {
        for (let quiet = 0, i = 0; quiet < 3 && i < 120; i++) {
          await new Promise((r) => setTimeout(r, 250));
          const { rows } = await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()`);
          quiet = rows[0]!.n === 0 ? quiet + 1 : 0;
        }
      };
      // What the feeder would tell of random listings (the index itself is not changed: only
      // what the caches drop is measured).
      const changed = (await pg.query<{ id: string; category_path: string; dong_code: string }>('SELECT id, category_path, dong_code FROM search_documents ORDER BY random() LIMIT 10000')).rows;
      const tellChanges = (kind: 'scoped' | 'everything') => {
        let n = 0;
        const timer = setInterval(() => {
          const l = changed[n++ % changed.length]!;
          const change: IndexChange = { id: l.id, categories: [l.category_path], dongs: [l.dong_code] };
          void pg.query('SELECT pg_notify($1, $2)', [SEARCH_INDEX_CHANGED_CHANNEL, kind === 'scoped' ? JSON.stringify(change) : '']);
        }, 1000 / CHANGES_PER_SECOND);
        return () => clearInterval(timer);
      };
      const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : null;
      if (only) targets.splice(0, targets.length, ...targets.filter((t) => only.test(t.name)));
      const results: { connections: number; name: string; stats: Stats }[] = [];
      const position = new Map<Target, number>();
      const generator = await loadGenerator();
      console.log(`\nload generator: ${generator}; API processes: ${replicas}`);
      for (const connections of CONNECTION_LEVELS) {
        console.log(`\n## ${connections} connections, ${ROUNDS} interleaved rounds of ${DURATION} s, ${ids.length} readable listings`);
        const runs = targets.map(() => [] as Stats[]);
        for (let round = 1; round <= ROUNDS; round++) {
          for (const [ti, t] of targets.entries()) {
            await settle();
            const from = t.continues ? (position.get(t) ?? 0) : 0;
            const stopChanges = t.changes ? tellChanges(t.changes) : () => undefined;
            const cpu = countCpu();
            const stats = await loadPaths(generator, { base: t.base === 'api' ? api.base : bare.base, paths: t.paths, from, connections }).finally(stopChanges);
            const cpuPerRequest = cpu(stats.requests);
            position.set(t, from + stats.requests);
            runs[ti]!.push(stats);
            console.log(`round ${round}  ${t.name.padEnd(52)} ${fmt(runs[ti]!.at(-1)!)}`);
            if (cpuPerRequest) console.log(`         ${cpuPerRequest}`);
          }
        }
        for (const [ti, t] of targets.entries()) {
          const s = summarise(runs[ti]!);
          results.push({ connections, name: t.name, stats: s });
          console.log(`median  ${t.name.padEnd(52)} ${fmt(s)}`);
        }
      }
      console.log('\n| connections | request | req/s | p50 | p95 | p99 | errors / non-2xx |\n|---|---|---:|---:|---:|---:|---|');
      for (const r of results) {
        const s = r.stats;
        console.log(`| ${r.connections} | ${r.name} | ${s.rps.toFixed(0)} | ${s.p50.toFixed(1)} ms | ${s.p95.toFixed(1)} ms | ${s.p99.toFixed(1)} ms | ${s.errors} / ${s.non2xx} |`);
      }
    } finally {
      for (const child of children) child.kill('SIGTERM');
    }
  } finally {
    await pg.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
