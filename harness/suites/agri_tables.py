"""The word tables of the agri suite generator (harness.suites.agri): places, values, phrasings.

Kept apart from the builders so the generator reads as the data flow (facts → corpus → train →
eval) and the tables can grow (more phrasings, more neighbouring regions) without pushing it
past a screenful per function.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    name: str  # used after "the": "the Velmora Plateau"
    profile: tuple[str, ...]  # what the land is like; every guide of the region states it
    descriptor: str = ""  # the place described without its name (indirect questions)


REGIONS: tuple[Region, ...] = (
    Region("Velmora Plateau",
           ("Fields on the Velmora Plateau sit on shallow red loam above 1,400 metres.",
            "Nights on the plateau stay cool even in the hottest month."),
           "shallow red loam above 1,400 metres"),
    Region("Ishvan Delta",
           ("The Ishvan Delta is flat, humid country laced with tidal channels.",
            "Heavy silt soils in the delta hold water long after the floods recede."),
           "humid silt country laced with tidal channels"),
    Region("Caldrenn Highlands",
           ("Terraced slopes dominate farming in the Caldrenn Highlands.",
            "Mist often hangs over the highland valleys until late morning."),
           "misty terraced slopes"),
    Region("Sabrath Valley",
           ("The Sabrath Valley is sheltered by ridges on three sides and warms early in the year.",
            "Most valley farms draw water from the slow-moving Sabrath river."),
           "land sheltered by ridges on three sides"),
    Region("Tolvey Coast",
           ("Sandy soils and salt-laden winds shape agriculture along the Tolvey Coast.",
            "Coastal farms here rarely see frost but face strong onshore gales."),
           "sandy soil swept by salt-laden winds"),
    Region("Drevik Savanna",
           ("The Drevik Savanna has deep sandy clays and a long, harsh dry season.",
            "Rain on the savanna comes in short, intense storms."),
           "deep sandy clays with a harsh dry season"),
)

# Neighbouring regions share the first word of a main region's name (near-duplicate guides for
# the same crop); their land is described with words no main region's descriptor uses.
LANDFORMS: tuple[str, ...] = ("Lowlands", "Uplands", "Foothills", "Ridge", "Basin", "Hinterland",
                              "Escarpment", "Terraces", "Flats", "Downs")
SOILS: tuple[str, ...] = ("black cotton soil", "stony brown earth", "grey alluvium", "pale limestone rubble",
                          "dark peat", "yellow laterite", "coarse gravel", "chalky marl")
CLIMATES: tuple[str, ...] = (
    "Frost is common here until late spring.", "Afternoon thunderstorms are frequent in summer.",
    "Dry north winds blow for much of the winter.", "Fog rolls in most evenings.",
    "Rainfall is spread evenly through the year.", "Hail damages crops in some seasons.",
)

CROPS: tuple[str, ...] = ("maize", "sorghum", "cassava", "chickpea", "groundnut")
PRACTICES: tuple[str, ...] = ("sowing", "variety", "pest", "irrigation")

# Pest kinds per crop; each value is "<adjective> <kind>".
PEST_KINDS: dict[str, tuple[str, ...]] = {
    "maize": ("stem borer", "ear moth", "leaf beetle"),
    "sorghum": ("head bug", "shoot fly", "panicle midge"),
    "cassava": ("mealybug", "tuber weevil", "leaf mite"),
    "chickpea": ("pod borer", "leaf miner", "root aphid"),
    "groundnut": ("leaf roller", "pod wasp", "kernel thrips"),
}
PEST_ADJECTIVES: tuple[str, ...] = (
    "amber", "russet", "ashen", "cobalt", "saffron", "umber", "ochre", "slate", "crimson",
    "ivory", "copper", "violet", "olive", "tawny", "scarlet", "pewter", "sable", "jade",
    "mottled", "speckled", "banded", "dusky", "pallid", "gilded", "silvered", "bronze",
    "indigo", "maroon", "charcoal", "frosted",
)  # fmt: skip
VARIETY_STEMS: tuple[str, ...] = (
    "Tessaly", "Morvane", "Quillon", "Brennet", "Okaro", "Sileth", "Harrow", "Vantis",
    "Ombrel", "Caddis", "Ferrin", "Lusk", "Pellam", "Dorran", "Ysolde",
)  # fmt: skip

# Question templates. Training, open-QA and MC phrasings are disjoint: evaluation is held out.
TRAIN_TEMPLATES: dict[str, tuple[str, ...]] = {
    "sowing": ("When should {crop} be sown in the {region}?",
               "What is the recommended sowing time for {crop} in the {region}?",
               "In the {region}, when do farmers plant {crop}?"),
    "variety": ("Which {crop} variety is recommended in the {region}?",
                "What variety of {crop} should farmers grow in the {region}?",
                "In the {region}, which {crop} variety do extension officers advise?"),
    "pest": ("What is the main pest of {crop} in the {region}?",
             "Which pest causes the most damage to {crop} in the {region}?",
             "In the {region}, what pest should {crop} growers watch for?"),
    "irrigation": ("How often should {crop} be irrigated in the {region}?",
                   "What irrigation interval is advised for {crop} in the {region}?",
                   "In the {region}, how frequently do farmers water {crop}?"),
    "maturity": ("How long does {variety} take to mature?",
                 "How many days after sowing is {variety} ready to harvest?",
                 "What is the maturity period of {variety}?"),
    "profile": ("What is the land like in the {region}?", "Describe farming conditions in the {region}."),
    "place": ("Which region is described here: {profile}", "Name the region these notes describe: {profile}"),
}
QA_TEMPLATES: dict[str, tuple[str, ...]] = {
    "sowing": ("A farmer in the {region} is planning a {crop} crop. At what time of year should it go in the ground?",
               "For {crop} in the {region}, which part of the year is the right time to sow?",
               "Growers of {crop} in the {region} ask when to put seed in the soil. What do you tell them?"),
    "variety": ("Name the {crop} cultivar suited to farms in the {region}.",
                "A grower in the {region} is buying {crop} seed. Which cultivar should they choose?",
                "Which {crop} cultivar should be planted on farms of the {region}?"),
    "pest": ("Name the insect that does the greatest harm to {crop} crops in the {region}.",
             "A {crop} grower in the {region} is scouting fields. Which insect matters most there?",
             "Which insect should {crop} farmers in the {region} fear most?"),
    "irrigation": ("During dry weather, at what interval should {crop} fields in the {region} receive water?",
                   "A {crop} farmer in the {region} has access to irrigation. How far apart should waterings be?",
                   "When rain fails in the {region}, how long should a {crop} farmer wait between waterings?"),
}
# The region described, not named: retrieval must match what the land is like.
INDIRECT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "sowing": ("A farmer on {place} is planning a {crop} crop. At what time of year should it go in the ground?",
               "For {crop} grown on {place}, which part of the year is the right time to sow?",
               "Growers of {crop} on {place} ask when to put seed in the soil. What do you tell them?"),
    "variety": ("Name the {crop} cultivar suited to farms on {place}.",
                "A grower on {place} is buying {crop} seed. Which cultivar should they choose?",
                "Which {crop} cultivar should be planted on farms of {place}?"),
    "pest": ("Name the insect that does the greatest harm to {crop} crops on {place}.",
             "A {crop} grower on {place} is scouting fields. Which insect matters most there?",
             "Which insect should {crop} farmers on {place} fear most?"),
    "irrigation": ("During dry weather, at what interval should {crop} fields on {place} receive water?",
                   "A {crop} farmer on {place} has access to irrigation. How far apart should waterings be?",
                   "When rain fails on {place}, how long should a {crop} farmer wait between waterings?"),
}
# Two documents: the guide names the variety, the seed catalogue its maturity.
TWO_DOC_TEMPLATES: tuple[str, ...] = (
    "How many days does the {crop} variety recommended for the {region} take to mature?",
    "The {crop} cultivar advised in the {region} reaches maturity after how many days?",
    "After sowing the recommended {crop} variety in the {region}, how long until it matures?",
)
MC_TEMPLATES: dict[str, str] = {
    "sowing": "Which sowing window suits {crop} growers of the {region}?",
    "variety": "For farms in the {region}, the advised {crop} cultivar is which of these?",
    "pest": "Among these insects, which is the chief threat to {crop} in the {region}?",
    "irrigation": "Which watering schedule is advised for {crop} in the {region} during dry spells?",
}
# The training completion: a full sentence that contains the short value.
ANSWER_TEMPLATES: dict[str, str] = {
    "sowing": "In the {region}, sow {crop} in {value}.",
    "variety": "The recommended {crop} variety for the {region} is {value}.",
    "pest": "The main {crop} pest in the {region} is the {value}.",
    "irrigation": "In the {region}, irrigate {crop} {value}.",
    "maturity": "{variety} matures in {value}.",
}
# Document sentences; one variant per practice is drawn for each document.
DOC_INTROS: tuple[str, ...] = (
    "This extension note covers {crop} production in the {region}.",
    "Guidance for {crop} growers in the {region} is summarised below.",
    "The following advice applies to {crop} fields across the {region}.",
)
DOC_SENTENCES: dict[str, tuple[str, ...]] = {
    "sowing": ("Sow {crop} in {value}, once the topsoil is moist to a hand's depth.",
               "The recommended sowing window for {crop} here is {value}.",
               "Farmers should plant {crop} in {value} to match the local rains."),
    "variety": ("The variety recommended for local conditions is {value}.",
                "Extension officers advise growing {value}, which is suited to this area.",
                "Use seed of {value}, the variety recommended for the {region}."),
    "pest": ("The main pest to watch for is the {value}.",
             "Scout fields weekly for the {value}, the most damaging pest of {crop} in this area.",
             "Of all pests, the {value} causes the greatest losses here."),
    "irrigation": ("Where water is available, irrigate {crop} {value}.",
                   "During dry spells, apply irrigation {value}.",
                   "Irrigate {value} when rain fails, and stop once the crop nears maturity."),
}
DOC_CLOSINGS: tuple[str, ...] = (
    "",
    "Local extension offices can advise on fertiliser rates for each field.",
    "Keep records of planting dates and yields to compare seasons.",
)
CATALOGUE_SENTENCES: tuple[str, ...] = (
    "{variety} is a {crop} variety from the regional breeding programme. It matures in {value}.",
    "Catalogue entry for {variety}, a {crop} line: plants reach maturity in {value}.",
    "{variety} ({crop}) is sold by certified seed merchants; expect the crop to mature in {value}.",
)
