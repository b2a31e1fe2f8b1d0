// The category tree as first shipped, modelled on the large Korean secondhand marketplaces.
// Frozen: later changes to the tree are new migrations, so every environment converges.
export interface CategorySeed {
  slug: string;
  name: string;
  children?: CategorySeed[];
}

const leaves = (pairs: [string, string][]): CategorySeed[] => pairs.map(([slug, name]) => ({ slug, name }));

export const categoryTree: CategorySeed[] = [
  {
    slug: 'digital', name: '디지털기기',
    children: leaves([
      ['phones', '휴대폰'], ['tablets', '태블릿'], ['wearables', '스마트워치/웨어러블'], ['laptops', '노트북'],
      ['desktops', '데스크탑/본체'], ['monitors', '모니터'], ['pc-parts', 'PC부품'], ['peripherals', '키보드/마우스/주변기기'],
      ['audio', '음향기기/이어폰'], ['cameras', '카메라/캠코더'], ['game-consoles', '게임기/타이틀'], ['digital-etc', '기타 디지털기기'],
    ]),
  },
  {
    slug: 'appliances', name: '생활가전',
    children: leaves([
      ['tv', 'TV/영상가전'], ['kitchen-appliances', '주방가전'], ['cleaning', '청소기'], ['laundry', '세탁기/건조기'],
      ['air-conditioning', '냉난방/에어컨'], ['air-care', '공기청정기/가습기'], ['beauty-appliances', '미용가전'], ['appliances-etc', '기타 생활가전'],
    ]),
  },
  {
    slug: 'furniture', name: '가구/인테리어',
    children: leaves([
      ['beds', '침대/매트리스'], ['sofas', '소파'], ['desks-chairs', '책상/의자'], ['storage', '수납/선반/옷장'],
      ['dining', '식탁/주방가구'], ['lighting', '조명'], ['interior-deco', '인테리어소품'], ['bedding', '침구/커튼/카페트'],
    ]),
  },
  {
    slug: 'living', name: '생활/주방',
    children: leaves([
      ['cookware', '주방용품/식기'], ['household', '생활용품'], ['tools', '공구/산업용품'], ['processed-food', '가공식품'],
    ]),
  },
  {
    slug: 'kids', name: '유아동',
    children: leaves([
      ['strollers', '유모차/카시트'], ['kids-furniture', '유아가구'], ['kids-clothing', '유아동의류'], ['kids-shoes', '유아동신발'],
      ['toys', '장난감/완구'], ['kids-books', '유아도서/교구'], ['feeding', '수유/이유용품'], ['maternity', '출산/임부용품'],
    ]),
  },
  {
    slug: 'womens-clothing', name: '여성의류',
    children: leaves([
      ['women-outer', '아우터'], ['women-tops', '상의'], ['women-bottoms', '바지'], ['women-skirts', '치마'],
      ['women-dresses', '원피스'], ['women-suits', '정장/셋업'], ['women-training', '트레이닝복'], ['women-underwear', '언더웨어/홈웨어'],
    ]),
  },
  {
    slug: 'womens-accessories', name: '여성잡화',
    children: leaves([
      ['women-shoes', '신발'], ['women-bags', '가방'], ['women-wallets', '지갑'], ['jewelry', '주얼리'],
      ['watches', '시계'], ['women-fashion-accessories', '패션소품/모자'],
    ]),
  },
  {
    slug: 'mens-fashion', name: '남성패션/잡화',
    children: leaves([
      ['men-outer', '아우터'], ['men-tops', '상의'], ['men-bottoms', '바지'], ['men-suits', '정장'],
      ['men-shoes', '신발'], ['men-bags', '가방/지갑'], ['men-accessories', '시계/액세서리'],
    ]),
  },
  {
    slug: 'beauty', name: '뷰티/미용',
    children: leaves([
      ['skincare', '스킨케어'], ['makeup', '메이크업'], ['fragrance', '향수'], ['haircare', '헤어/바디'],
      ['nail', '네일'], ['mens-care', '남성화장품'],
    ]),
  },
  {
    slug: 'sports', name: '스포츠/레저',
    children: leaves([
      ['bicycles', '자전거'], ['golf', '골프'], ['camping', '캠핑'], ['fitness', '헬스/요가/필라테스'],
      ['running', '러닝/등산'], ['ball-sports', '구기스포츠'], ['water-sports', '수영/수상스포츠'], ['winter-sports', '스키/보드'],
      ['fishing', '낚시'], ['sports-etc', '기타 스포츠'],
    ]),
  },
  {
    slug: 'hobbies', name: '취미/게임/음반',
    children: leaves([
      ['figures', '피규어/프라모델'], ['board-games', '보드게임/퍼즐'], ['instruments', '악기'], ['records', 'CD/LP/음반'],
      ['collectibles', '수집품/굿즈'], ['art-supplies', '미술/공예'], ['hobbies-etc', '기타 취미'],
    ]),
  },
  {
    slug: 'books', name: '도서',
    children: leaves([
      ['fiction', '소설/에세이'], ['textbooks', '수험서/교재'], ['comics', '만화'], ['self-help', '자기계발/경제'],
      ['foreign-books', '외국도서'], ['magazines', '잡지'], ['books-etc', '기타 도서'],
    ]),
  },
  {
    slug: 'tickets', name: '티켓/교환권',
    children: leaves([
      ['performance-tickets', '공연/전시'], ['sports-tickets', '스포츠 경기'], ['gift-cards', '상품권/기프티콘'],
      ['travel', '여행/숙박'], ['tickets-etc', '기타 티켓'],
    ]),
  },
  {
    slug: 'pets', name: '반려동물용품',
    children: leaves([
      ['dog-supplies', '강아지용품'], ['cat-supplies', '고양이용품'], ['pet-food', '사료/간식'], ['pets-etc', '기타 반려동물용품'],
    ]),
  },
  {
    slug: 'plants', name: '식물',
    children: leaves([
      ['houseplants', '실내식물'], ['gardening', '원예용품'], ['seeds', '씨앗/모종'],
    ]),
  },
  {
    slug: 'vehicles', name: '자동차/오토바이',
    children: leaves([
      ['car-parts', '자동차용품/부품'], ['motorcycles', '오토바이/스쿠터'], ['tires', '타이어/휠'],
    ]),
  },
  { slug: 'other', name: '기타 중고물품' },
];
