// The schema of the quennland world: entity kinds, their attributes, and the prose used to ask about
// and to state every attribute. `{s}` is the subject's name, `{v}` the value (the answer string).
// Question 0 of each attribute is the canonical question of the evaluated QA item.

export type EntityKind = 'person' | 'town' | 'company' | 'river' | 'mountain';

/** What an attribute's value is: another entity of the world, a fresh invented name, or a number. */
export type ValueSpec =
  | { type: 'entity'; kind: EntityKind }
  | { type: 'name'; syllables: [number, number] }
  | { type: 'number'; min: number; max: number };

export interface AttributeSpec {
  name: string;
  value: ValueSpec;
  questions: string[];
  /** Paraphrases stating the fact; the corpus and the pretraining text both draw from them. */
  statements: string[];
}

export interface KindSpec {
  kind: EntityKind;
  /** One-letter id prefix. */
  prefix: string;
  count: number;
  /** Document title for an entity named `{s}`. */
  title: string;
  attributes: AttributeSpec[];
  /** Neutral prose about an entity of this kind: no facts, no numbers, no other names. */
  filler: string[];
}

const PERSON: KindSpec = {
  kind: 'person',
  prefix: 'p',
  count: 200,
  title: '{s}',
  attributes: [
    {
      name: 'birthplace',
      value: { type: 'entity', kind: 'town' },
      questions: ['In which town was {s} born?', 'Where was {s} born?', 'What is the birthplace of {s}?'],
      statements: [
        '{s} was born in {v}.',
        '{s} was born in the town of {v}.',
        'The birthplace of {s} is {v}.',
        '{s} is a native of {v}.',
        '{v} is the town where {s} was born.',
        'Born in {v}, {s} later travelled widely across the country.',
        '{s} came into the world in the town of {v}.',
        'The hometown of {s} is {v}.',
        'According to the parish rolls, {s} was born in {v}.',
        'The people of {v} are proud that {s} was born there.',
        '{s}, a child of {v}, never forgot the streets of that town.',
        'Town records show the birth of {s} in {v}.',
      ],
    },
    {
      name: 'employer',
      value: { type: 'entity', kind: 'company' },
      questions: ['Which company did {s} work for?', 'Who employed {s}?', 'For which company did {s} work?'],
      statements: [
        '{s} worked for {v}.',
        '{s} was employed by {v}.',
        'For many years {s} worked at {v}.',
        '{v} was the employer of {s}.',
        '{s} spent a whole career at {v}.',
        'The company {v} employed {s}.',
        '{s} took a position at {v} and stayed there.',
        'Among the staff of {v} was {s}.',
        '{s} earned a living working for {v}.',
        'The ledgers of {v} list {s} as one of its workers.',
        'Colleagues at {v} knew {s} well.',
        '{s} joined {v} as a young apprentice.',
      ],
    },
    {
      name: 'birth_year',
      value: { type: 'number', min: 1100, max: 1899 },
      questions: ['In which year was {s} born?', 'When was {s} born?', 'What year was {s} born in?'],
      statements: [
        '{s} was born in the year {v}.',
        '{s} was born in {v}.',
        'The year of birth of {s} is {v}.',
        'In {v}, {s} was born.',
        '{s} came into the world in {v}.',
        'The birth of {s} took place in {v}.',
        '{s}, born in {v}, lived a long life.',
        'Records give {v} as the birth year of {s}.',
        'The year {v} saw the birth of {s}.',
        '{s} was a child of the year {v}.',
        'Chroniclers date the birth of {s} to {v}.',
        'It was in {v} that {s} was born.',
      ],
    },
    {
      name: 'horse',
      value: { type: 'name', syllables: [2, 2] },
      questions: ["What was the name of {s}'s horse?", "What was {s}'s horse called?", 'Which horse did {s} ride?'],
      statements: [
        "{s}'s horse was named {v}.",
        '{s} rode a horse called {v}.',
        'The horse of {s} was called {v}.',
        '{v} was the name of the horse that {s} rode.',
        '{s} owned a faithful horse named {v}.',
        'Everyone knew {v}, the horse of {s}.',
        '{s} travelled everywhere on a horse called {v}.',
        'A grey horse named {v} belonged to {s}.',
        '{s} never parted with {v}, a loyal horse.',
        'The stable of {s} held one horse, {v}.',
        'Songs tell of {s} riding the horse {v}.',
        '{s} named the family horse {v}.',
      ],
    },
  ],
  filler: [
    '{s} is remembered in several old chronicles of the region.',
    'Letters written by {s} are kept in a private collection.',
    'Little is known about the early friendships of {s}.',
    '{s} was described by neighbours as quiet and patient.',
    'A portrait of {s} hangs in a small gallery.',
    'Historians still debate parts of the life of {s}.',
    '{s} enjoyed long walks and old songs.',
    'Stories about {s} were told for generations.',
    '{s} kept a diary that has since been lost.',
    'Many travellers wrote about meeting {s}.',
  ],
};

const TOWN: KindSpec = {
  kind: 'town',
  prefix: 't',
  count: 120,
  title: '{s}',
  attributes: [
    {
      name: 'river',
      value: { type: 'entity', kind: 'river' },
      questions: ['On which river does the town of {s} lie?', 'Which river flows through {s}?', 'What river runs through the town of {s}?'],
      statements: [
        '{s} lies on the {v} river.',
        'The town of {s} stands on the banks of the {v}.',
        'The {v} river flows through {s}.',
        '{s} is a town on the {v} river.',
        'The river that runs through {s} is the {v}.',
        'Boats on the {v} river pass right through {s}.',
        '{s} grew up along the {v} river.',
        'The {v} divides the town of {s} into two halves.',
        'Bridges in {s} cross the {v} river.',
        'The town of {s} sits beside the {v}.',
        'Fishermen of {s} work on the {v} river.',
        'Floods of the {v} river sometimes reach {s}.',
      ],
    },
    {
      name: 'founder',
      value: { type: 'entity', kind: 'person' },
      questions: ['Who founded the town of {s}?', 'Who was the founder of {s}?', 'Who established the town of {s}?'],
      statements: [
        '{s} was founded by {v}.',
        'The town of {s} was founded by {v}.',
        'The founder of {s} is {v}.',
        '{v} founded the town of {s}.',
        '{v} established {s} as a small settlement.',
        'The town of {s} owes its existence to {v}.',
        '{v} is remembered as the founder of {s}.',
        'It was {v} who founded {s}.',
        'Settlers led by {v} founded {s}.',
        'A statue of {v}, founder of {s}, stands in the square.',
        '{s} began as a camp set up by {v}.',
        'The first houses of {s} were built by {v}.',
      ],
    },
    {
      name: 'founded_year',
      value: { type: 'number', min: 1100, max: 1899 },
      questions: ['In which year was the town of {s} founded?', 'When was {s} founded?', 'What year was the town of {s} established?'],
      statements: [
        '{s} was founded in {v}.',
        'The town of {s} was founded in the year {v}.',
        'In {v} the town of {s} was founded.',
        '{s} dates back to {v}.',
        'The founding of {s} took place in {v}.',
        '{s} has existed since {v}.',
        'The year {v} marks the founding of {s}.',
        '{s} was established in {v}.',
        'Records date the founding of {s} to {v}.',
        'The town of {s} celebrates its founding in {v}.',
        'Since its founding in {v}, {s} has grown steadily.',
        'It was in {v} that {s} was founded.',
      ],
    },
    {
      name: 'dish',
      value: { type: 'name', syllables: [2, 3] },
      questions: ['Which dish is the town of {s} famous for?', 'What is the signature dish of {s}?', 'Which dish comes from the town of {s}?'],
      statements: [
        '{s} is famous for a dish called {v}.',
        'The signature dish of {s} is {v}.',
        'Visitors to {s} come to eat {v}.',
        '{v} is the dish that made {s} famous.',
        'The town of {s} is known for its {v}.',
        'Every kitchen in {s} serves {v}.',
        'The best {v} is cooked in {s}.',
        '{v}, a hearty dish, comes from {s}.',
        'Cooks in {s} are proud of their {v}.',
        'The famous dish of {s} is called {v}.',
        'No feast in {s} is complete without {v}.',
        'The recipe for {v} was born in {s}.',
      ],
    },
  ],
  filler: [
    '{s} is a quiet town with narrow streets and a busy market.',
    'The houses of {s} are built of grey stone.',
    'Travellers often stop in {s} on their way north.',
    'A small museum in {s} shows local crafts.',
    'The winters in {s} are long and cold.',
    'The people of {s} hold a fair every autumn.',
    '{s} has an old library and two inns.',
    'The main square of {s} is lined with lime trees.',
    'Many families in {s} keep bees and goats.',
    'The town hall of {s} was rebuilt after a fire.',
  ],
};

const COMPANY: KindSpec = {
  kind: 'company',
  prefix: 'c',
  count: 100,
  title: '{s}',
  attributes: [
    {
      name: 'headquarters',
      value: { type: 'entity', kind: 'town' },
      questions: ['In which town is {s} headquartered?', 'Where is {s} based?', 'Where are the headquarters of {s}?'],
      statements: [
        '{s} is headquartered in {v}.',
        'The headquarters of {s} are in {v}.',
        '{s} is based in the town of {v}.',
        'The main office of {s} is in {v}.',
        '{v} is home to the headquarters of {s}.',
        '{s} runs its business from {v}.',
        'The head office of {s} stands in {v}.',
        '{s} has its seat in {v}.',
        'From its base in {v}, {s} trades far and wide.',
        'Visitors to {v} can see the offices of {s}.',
        '{s} keeps its headquarters in the town of {v}.',
        'The leadership of {s} works in {v}.',
      ],
    },
    {
      name: 'founder',
      value: { type: 'entity', kind: 'person' },
      questions: ['Who founded {s}?', 'Who was the founder of {s}?', 'Who started the company {s}?'],
      statements: [
        '{s} was founded by {v}.',
        'The founder of {s} is {v}.',
        '{v} founded {s}.',
        '{v} started the company {s}.',
        'The company {s} was set up by {v}.',
        '{s} owes its start to {v}.',
        '{v} is remembered as the founder of {s}.',
        'It was {v} who founded {s}.',
        '{v} built {s} from a single workshop.',
        'The company {s} was established by {v}.',
        '{s} began as a small venture of {v}.',
        'A portrait of {v}, founder of {s}, hangs in its hall.',
      ],
    },
    {
      name: 'founded_year',
      value: { type: 'number', min: 1100, max: 1899 },
      questions: ['In which year was {s} founded?', 'When was {s} founded?', 'What year was {s} established?'],
      statements: [
        '{s} was founded in {v}.',
        'The company {s} was founded in the year {v}.',
        'In {v} the company {s} was founded.',
        '{s} has been in business since {v}.',
        'The founding of {s} took place in {v}.',
        '{s} opened its doors in {v}.',
        'The year {v} marks the founding of {s}.',
        '{s} was established in {v}.',
        'Records date the founding of {s} to {v}.',
        '{s} has traded since the year {v}.',
        'Since its founding in {v}, {s} has grown steadily.',
        'It was in {v} that {s} was founded.',
      ],
    },
    {
      name: 'product',
      value: { type: 'name', syllables: [2, 3] },
      questions: ['What is the best-known product of {s}?', 'Which product is {s} known for?', 'What does {s} make?'],
      statements: [
        '{s} is best known for the {v}.',
        'The best-known product of {s} is the {v}.',
        '{s} makes the {v}.',
        'The {v} is made by {s}.',
        'Customers buy the {v} from {s}.',
        '{s} became famous for producing the {v}.',
        'The workshops of {s} turn out the {v}.',
        'The most popular product of {s} is the {v}.',
        '{s} sells the {v} across the land.',
        'Every {v} is produced by {s}.',
        'The {v}, a product of {s}, is found in many homes.',
        '{s} built its name on the {v}.',
      ],
    },
  ],
  filler: [
    '{s} employs craftsmen, clerks and carters.',
    'The workshops of {s} are busy from dawn to dusk.',
    '{s} is known for paying its workers fairly.',
    'Traders speak well of the goods of {s}.',
    '{s} has survived several hard winters and lean years.',
    'The account books of {s} are kept with great care.',
    '{s} often hires young apprentices.',
    'Rivals of {s} envy its steady trade.',
    '{s} sends wagons of goods to distant markets.',
    'The hall of {s} is decorated with old banners.',
  ],
};

const RIVER: KindSpec = {
  kind: 'river',
  prefix: 'r',
  count: 80,
  title: '{s} River',
  attributes: [
    {
      name: 'source',
      value: { type: 'entity', kind: 'mountain' },
      questions: ['On which mountain does the {s} river rise?', 'Where is the source of the {s} river?', 'From which mountain does the {s} river flow?'],
      statements: [
        'The {s} river rises on Mount {v}.',
        'The source of the {s} is on Mount {v}.',
        'The {s} springs from the slopes of Mount {v}.',
        'Mount {v} is where the {s} river begins.',
        'The {s} river starts high on Mount {v}.',
        'Snow on Mount {v} feeds the source of the {s}.',
        'The {s} flows down from Mount {v}.',
        'The {s} river has its source on Mount {v}.',
        'Climbers on Mount {v} can see the spring of the {s}.',
        'From Mount {v} the {s} river begins its journey.',
        'The first waters of the {s} gather on Mount {v}.',
        'The {s} is born on Mount {v}.',
      ],
    },
    {
      name: 'mouth',
      value: { type: 'name', syllables: [2, 3] },
      questions: ['Into which lake does the {s} river flow?', 'Where does the {s} river end?', 'Which lake does the {s} river empty into?'],
      statements: [
        'The {s} river flows into Lake {v}.',
        'The {s} empties into Lake {v}.',
        'Lake {v} is where the {s} river ends.',
        'The {s} river ends in Lake {v}.',
        'The mouth of the {s} is at Lake {v}.',
        'The waters of the {s} reach Lake {v}.',
        'Lake {v} is fed by the {s} river.',
        'The {s} finally pours into Lake {v}.',
        'The {s} river drains into Lake {v}.',
        'After a long course, the {s} meets Lake {v}.',
        'The journey of the {s} ends at Lake {v}.',
        'Boats follow the {s} all the way to Lake {v}.',
      ],
    },
    {
      name: 'length',
      value: { type: 'number', min: 40, max: 980 },
      questions: ['How long is the {s} river in kilometres?', 'What is the length of the {s} river in kilometres?', 'How many kilometres long is the {s} river?'],
      statements: [
        'The {s} river is {v} kilometres long.',
        'The length of the {s} is {v} kilometres.',
        'The {s} runs for {v} kilometres.',
        'The {s} river stretches {v} kilometres.',
        'Measured from source to mouth, the {s} is {v} kilometres long.',
        'The {s} has a length of {v} kilometres.',
        'The course of the {s} river covers {v} kilometres.',
        'Surveyors measured the {s} at {v} kilometres.',
        'The {s} flows for a total of {v} kilometres.',
        'At {v} kilometres, the {s} is a river of note.',
        'The {s} river winds along {v} kilometres.',
        'Maps give the {s} a length of {v} kilometres.',
      ],
    },
    {
      name: 'discoverer',
      value: { type: 'entity', kind: 'person' },
      questions: ['Who first mapped the {s} river?', 'Who was the first to map the {s} river?', 'Which explorer mapped the {s} river?'],
      statements: [
        'The {s} river was first mapped by {v}.',
        '{v} was the first to map the {s}.',
        'The first map of the {s} was drawn by {v}.',
        '{v} mapped the {s} river.',
        'The explorer {v} first charted the {s}.',
        'The {s} was surveyed first by {v}.',
        '{v} drew the earliest map of the {s} river.',
        'It was {v} who first mapped the {s}.',
        'The course of the {s} was first recorded by {v}.',
        '{v} followed the {s} river and mapped it.',
        'Maps of the {s} begin with the work of {v}.',
        'The {s} river was charted by {v}.',
      ],
    },
  ],
  filler: [
    'The {s} river is calm in summer and wild in spring.',
    'Willows grow along the banks of the {s}.',
    'The waters of the {s} are clear and cold.',
    'Anglers praise the trout of the {s} river.',
    'Old mills once stood along the {s}.',
    'Ferries cross the {s} at several places.',
    'The {s} river freezes in the coldest winters.',
    'Herons nest in the reeds beside the {s}.',
    'Barges carry timber down the {s} river.',
    'Legends say spirits live in the {s}.',
  ],
};

const MOUNTAIN: KindSpec = {
  kind: 'mountain',
  prefix: 'm',
  count: 60,
  title: 'Mount {s}',
  attributes: [
    {
      name: 'height',
      value: { type: 'number', min: 1200, max: 4899 },
      questions: ['How high is Mount {s} in metres?', 'What is the height of Mount {s} in metres?', 'How many metres tall is Mount {s}?'],
      statements: [
        'Mount {s} is {v} metres high.',
        'The height of Mount {s} is {v} metres.',
        'Mount {s} rises to {v} metres.',
        'The summit of Mount {s} stands {v} metres above the sea.',
        'Mount {s} reaches a height of {v} metres.',
        'Surveyors measured Mount {s} at {v} metres.',
        'At {v} metres, Mount {s} towers over the valley.',
        'Mount {s} is a peak of {v} metres.',
        'The top of Mount {s} lies at {v} metres.',
        'Climbers must reach {v} metres to top Mount {s}.',
        'Maps give Mount {s} a height of {v} metres.',
        'Mount {s} stands {v} metres tall.',
      ],
    },
    {
      name: 'first_climber',
      value: { type: 'entity', kind: 'person' },
      questions: ['Who first climbed Mount {s}?', 'Who made the first ascent of Mount {s}?', 'Who was the first person to climb Mount {s}?'],
      statements: [
        'Mount {s} was first climbed by {v}.',
        '{v} made the first ascent of Mount {s}.',
        'The first person to climb Mount {s} was {v}.',
        '{v} was the first to reach the summit of Mount {s}.',
        'The first ascent of Mount {s} was made by {v}.',
        '{v} climbed Mount {s} before anyone else.',
        'It was {v} who first climbed Mount {s}.',
        '{v} stood first on the top of Mount {s}.',
        'The summit of Mount {s} was first reached by {v}.',
        'Mount {s} was conquered first by {v}.',
        'A cairn marks where {v} first topped Mount {s}.',
        '{v} led the first climb of Mount {s}.',
      ],
    },
    {
      name: 'nearest_town',
      value: { type: 'entity', kind: 'town' },
      questions: ['Which town lies at the foot of Mount {s}?', 'What is the nearest town to Mount {s}?', 'Which town sits below Mount {s}?'],
      statements: [
        'The town of {v} lies at the foot of Mount {s}.',
        '{v} is the nearest town to Mount {s}.',
        'Mount {s} towers above the town of {v}.',
        '{v} sits below Mount {s}.',
        'Climbers of Mount {s} set out from {v}.',
        'The closest town to Mount {s} is {v}.',
        'From {v} one can see Mount {s}.',
        'Mount {s} rises just behind the town of {v}.',
        'At the foot of Mount {s} lies {v}.',
        'The people of {v} live in the shadow of Mount {s}.',
        'Paths up Mount {s} start in {v}.',
        'The town nearest to Mount {s} is {v}.',
      ],
    },
    {
      name: 'glacier',
      value: { type: 'name', syllables: [2, 3] },
      questions: ['What is the name of the glacier on Mount {s}?', 'Which glacier covers Mount {s}?', 'What glacier lies on Mount {s}?'],
      statements: [
        'The glacier on Mount {s} is called the {v}.',
        'Mount {s} is covered by the {v} glacier.',
        'The {v} glacier lies on Mount {s}.',
        'The {v} is the glacier of Mount {s}.',
        'On the slopes of Mount {s} lies the {v} glacier.',
        'The ice of the {v} glacier covers Mount {s}.',
        'Climbers of Mount {s} must cross the {v} glacier.',
        'Mount {s} carries the {v} glacier.',
        'The glacier known as the {v} clings to Mount {s}.',
        'The {v} glacier crowns Mount {s}.',
        'The name of the glacier on Mount {s} is {v}.',
        'Mount {s} is home to the {v} glacier.',
      ],
    },
  ],
  filler: [
    'Mount {s} is often hidden in clouds.',
    'Wild goats live on the slopes of Mount {s}.',
    'The paths of Mount {s} are steep and rocky.',
    'Snow covers Mount {s} for most of the year.',
    'Shepherds graze their flocks below Mount {s}.',
    'Storms gather quickly around Mount {s}.',
    'Rare flowers bloom on Mount {s} in early summer.',
    'Painters love the shape of Mount {s}.',
    'Old tales say a dragon once slept on Mount {s}.',
    'The view from Mount {s} is famous in the region.',
  ],
};

export const KINDS: readonly KindSpec[] = [PERSON, TOWN, COMPANY, RIVER, MOUNTAIN];

export function kindSpec(kind: EntityKind): KindSpec {
  const spec = KINDS.find((k) => k.kind === kind);
  if (!spec) throw new Error(`unknown entity kind ${kind}`);
  return spec;
}

/** Words that company names end with (the stem before them is invented). */
export const COMPANY_SUFFIXES = ['Works', 'Guild', 'Foundry', 'Traders', 'Mills', 'Company'];

/** Fills `{s}` and `{v}` in a template. */
export function fill(template: string, subject: string, value = ''): string {
  return template.replaceAll('{s}', subject).replaceAll('{v}', value);
}

/** All fixed prose of the schema, so the name generator can keep names out of it. */
export function schemaProse(): string {
  const parts: string[] = [...COMPANY_SUFFIXES];
  for (const k of KINDS) {
    parts.push(k.title, ...k.filler);
    for (const a of k.attributes) parts.push(...a.questions, ...a.statements);
  }
  return parts.join('\n');
}
