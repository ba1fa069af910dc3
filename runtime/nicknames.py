"""Common UK nicknames, short forms and spellings, and the given name each stands for (data only).

Keys and values are casefolded and accent-free, as profiles arrive (``ł`` and ``ø`` are folded
here too, so "Małgorzata" and "Malgorzata" are one name). The lists cover the communities of UK
councils: English, Welsh, Scottish and Irish short forms, Polish diminutives (Gosia, Ola, Kasia),
Yoruba and Igbo short forms (Seun, Dami, Emeka), the spellings of Muhammad, Aisha or Hussain.
Cross-language equivalents of a given name that are names in their own right (José and Joseph,
Seán and John, Siân and Jane) are left out: twins may bear them.

A short form of several names ("alex", "fran", "jon") belongs to each: ``first_name_forms`` gives
them all, and two names agree when their forms meet. ``canonical_first_name`` gives one (the
first group listing it) for blocking keys.
"""

from __future__ import annotations

# canonical given name -> its nicknames, short forms and other spellings
_GROUPS: dict[str, tuple[str, ...]] = {
    "abigail": ("abby", "abbie", "abi", "abbi", "gail"),
    "alexander": ("alex", "alec", "sandy", "xander", "alexandre", "alejandro", "alasdair", "alastair", "alistair",
                  "aleksander", "olek", "alek", "sasha"),
    "alexandra": ("alexa", "lexi", "lexie", "sasha", "alexandria", "aleksandra", "ola", "olenka", "alex", "sandra"),
    "alfred": ("alf", "alfie", "fred"),
    "andrew": ("andy", "drew", "andrzej", "jedrek"),
    "angela": ("angie", "ange"),
    "anne": ("ann", "annie", "anna", "nan", "nancy", "ania", "anka"),
    "anthony": ("tony", "ant", "antony"),
    "archibald": ("archie", "archy"),
    "arthur": ("art", "artie"),
    "barbara": ("barb", "babs", "barbie", "basia"),
    "benjamin": ("ben", "benny", "benji", "benjy"),
    "bernard": ("bernie", "barney"),
    "bridget": ("bridie", "biddy", "brigid", "brighid"),
    "caroline": ("carol", "carrie", "caz", "carolyn", "karolina"),
    "catherine": ("cathy", "cath", "kate", "katie", "kath", "kathy", "katherine", "kathryn", "kay", "kitty", "cat",
                  "katy", "cathryn", "katarzyna", "kasia"),
    "charles": ("charlie", "chas", "chuck", "chaz"),
    "charlotte": ("lottie", "charlie", "lotte", "lotty"),
    "christina": ("tina", "chrissy", "christine", "kirsty", "kirsten", "krystyna", "krysia"),
    "christopher": ("chris", "kit", "topher", "krzysztof", "krzys"),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davy", "davie", "dai", "dawid"),
    "deborah": ("debbie", "deb", "debra", "debs"),
    "dominic": ("dom", "dominik"),
    "donald": ("don", "donny", "donnie"),
    "dorothy": ("dot", "dottie", "dolly", "dora", "dorota"),
    "douglas": ("doug", "dougie"),
    "edward": ("ed", "eddie", "eddy", "ted", "teddy", "ned"),
    "eleanor": ("ellie", "nell", "nellie", "elly", "elinor"),
    "elizabeth": ("liz", "lizzie", "lizzy", "beth", "betty", "bess", "bessie", "eliza", "libby", "elsie", "betsy",
                  "elzbieta", "ela", "elspeth", "lisbeth"),
    "emily": ("em", "emmy", "millie"),
    "frances": ("fran", "fanny", "frankie", "francesca", "franny", "frannie", "cesca", "franziska"),
    "francis": ("frank", "frankie", "fran", "franciszek", "franek"),
    "frederick": ("freddie", "freddy", "fritz", "fred"),
    "gabriella": ("gabby", "gabi", "gaby"),
    "geoffrey": ("geoff", "jeff", "jeffrey"),
    "gerald": ("gerry", "jerry", "ger"),
    "gillian": ("gill", "jill", "gilly", "jillian"),
    "gregory": ("greg", "gregg", "grzegorz", "grzes"),
    "harold": ("harry", "hal"),
    "helen": ("nell", "lena", "ellen"),
    "henry": ("hank", "hal", "hendrik", "harry"),
    "isabel": ("izzy", "isabella", "bella", "isobel", "issy", "izzie", "izabela", "iza"),
    "jacob": ("jake", "jakey", "jakub", "kuba"),
    "james": ("jim", "jimmy", "jamie", "jimbo", "jas", "jem"),
    "jane": ("janey", "jan"),
    "jennifer": ("jen", "jenn", "jenni", "jennie", "jenny", "jenna"),
    "jessica": ("jess", "jessie"),
    "joanna": ("jo", "asia", "joasia", "joanne"),
    "john": ("jack", "johnny", "jon", "jonny", "jonnie", "johnnie", "janek"),
    "jonathan": ("jon", "jonny", "jonnie", "jonty", "jonathon", "johnny"),
    "joseph": ("joe", "joey", "jo"),
    "josephine": ("jo", "josie", "jojo"),
    "joshua": ("josh",),
    "judith": ("judy", "jude", "judi"),
    "julia": ("jules", "julie"),
    "kenneth": ("ken", "kenny"),
    "lawrence": ("larry", "laurie", "laurence"),
    "leonard": ("len", "lenny", "leo", "lennie"),
    "louise": ("lou", "lulu", "louisa"),
    "lukasz": ("luke", "lukas"),
    "magdalena": ("magda", "madzia"),
    "malgorzata": ("gosia", "goska", "malgosia"),
    "margaret": ("maggie", "peggy", "meg", "megan", "madge", "marge", "margie", "greta", "daisy", "molly", "rita",
                 "peg", "mags", "maisie"),
    "martin": ("marty", "marcin"),
    "mary": ("mae", "mamie", "polly", "marysia"),
    "matilda": ("tilly", "tilda", "mattie", "tillie"),
    "matthew": ("matt", "matty", "mateusz", "mathew"),
    "michael": ("mike", "mick", "mickey", "micky", "mikey", "mitch", "michal"),
    # Spellings of one name in English letters (and the short form they share).
    "muhammad": ("mohammed", "mohammad", "mohamed", "muhammed", "mohamad", "muhamed", "mohd", "mohamud", "mo",
                 "moe", "mohammod", "mohummed"),
    "nicholas": ("nick", "nicky", "nico", "nicolas"),
    "nicola": ("nicky", "nikki", "nic", "nicki"),
    "oliver": ("ollie", "olly", "noll"),
    "olivia": ("liv", "livvy", "livvie", "ollie"),
    "patricia": ("pat", "patty", "patsy", "trish", "tricia", "trisha", "patrycja"),
    "patrick": ("paddy", "pat", "rick", "padraig", "padraic", "patryk"),
    "pamela": ("pam", "pammy"),
    "penelope": ("penny", "pen"),
    "peter": ("pete", "petey"),
    "philip": ("phil", "pip", "phillip"),
    "rachel": ("rach", "rachael"),
    "raymond": ("ray",),
    "rebecca": ("becky", "becca", "bex", "becki", "rebekah"),
    "richard": ("rich", "richie", "dick", "ricky", "rick", "dickie", "ritchie"),
    "robert": ("bob", "bobby", "rob", "robbie", "robby", "bert", "bertie", "rab", "rabbie"),
    "ronald": ("ron", "ronnie"),
    "rosemary": ("rose", "rosie"),
    "samuel": ("sam", "sammy"),
    "samantha": ("sammie", "sammi", "sam", "sammy"),
    "sarah": ("sally", "sadie", "sara"),
    "stanislaw": ("stan", "stas", "staszek"),
    "stephen": ("steve", "stevie", "steven", "steph"),
    "stephanie": ("steph", "stevie", "steffi"),
    "susan": ("sue", "susie", "suzy", "suzanne", "susannah", "suzie"),
    "teresa": ("tess", "tessa", "terri", "theresa"),
    "theodore": ("theo", "teddie"),
    "thomas": ("tom", "tommy", "thom", "tomasz", "tomek", "tomos", "twm"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "vicki", "tori", "vikki", "vic", "wiktoria"),
    "vincent": ("vince", "vinnie", "vinny"),
    "walter": ("walt", "wally"),
    "william": ("bill", "billy", "will", "willy", "willie", "liam", "wills"),
    "wojciech": ("wojtek",),
    "zachary": ("zach", "zack", "zak", "zac"),
    "zofia": ("zosia",),
    # Welsh, Scottish and Irish short forms and spellings
    "ciaran": ("kieran", "keiran", "kieron"),
    "diarmuid": ("dermot", "diarmaid"),
    "gwenllian": ("gwen", "gwenno"),
    "gwyneth": ("gwen", "gwyn"),
    "llewellyn": ("llew", "llywelyn", "llewelyn"),
    "rhiannon": ("rhi", "rhian"),
    "gareth": ("gaz", "garreth"),
    "niamh": ("neve", "neave"),
    "siobhan": ("shivaun", "shiv"),
    "grainne": ("grania",),
    # Yoruba, Igbo and Akan short forms
    "oluwaseun": ("seun", "oluseun"),
    "oluwadamilare": ("dami", "damilare", "lare"),
    "oluwadamilola": ("dami", "damilola", "lola"),
    "oluwafemi": ("femi",),
    "oluwatobi": ("tobi",),
    "oluwatosin": ("tosin",),
    "oluwakemi": ("kemi",),
    "oluwatoyin": ("toyin",),
    "oluwabunmi": ("bunmi",),
    "oluwaseyi": ("seyi",),
    "oluwasegun": ("segun",),
    "oluwafunmilayo": ("funmi", "funmilayo"),
    "adebayo": ("bayo",),
    "adewale": ("wale",),
    "ayodele": ("ayo", "dele"),
    "babatunde": ("tunde",),
    "temitope": ("tope", "temi"),
    "chiamaka": ("amaka",),
    "chukwuemeka": ("emeka",),
    "chinonso": ("nonso",),
    "obinna": ("obi",),
    "kwabena": ("kobby",),
    # South Asian and Arabic names in their common English spellings
    "abdullah": ("abdulla",),
    "ahmed": ("ahmad",),
    "aisha": ("ayesha", "aysha", "aishah", "ayisha"),
    "fatima": ("fatimah", "fatema", "fathima"),
    "gurpreet": ("gurprit",),
    "harpreet": ("harprit",),
    "hussain": ("hussein", "husain", "hossain", "husein"),
    "ibrahim": ("ebrahim", "ibraheem"),
    "jaswinder": ("jasvinder", "jas", "jaz"),
    "kuldip": ("kuldeep",),
    "mandeep": ("mandip",),
    "omar": ("umar",),
    "rajesh": ("raj",),
    "ravinder": ("ravi",),
    "sanjay": ("sanj",),
    "yasmin": ("yasmine", "yasmeen", "yas"),
    "yusuf": ("yousuf", "yousef", "yusef", "youssef"),
    "zainab": ("zaynab", "zeinab"),
    "hassan": ("hasan",),
    "usman": ("osman", "uthman"),
    "khadija": ("khadijah", "khadeeja"),
}  # fmt: skip

# Letters that Unicode does not decompose into a base letter and an accent.
_FOLD = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ı": "i", "æ": "ae", "œ": "oe", "ß": "ss", "þ": "th"})


def fold(name: str) -> str:
    """A first name as the lists hold it (casefolded profiles keep ł and ø: fold them to l and o)."""
    return name.translate(_FOLD)


# nickname -> canonical given name; the first group listing a nickname wins
NICKNAMES: dict[str, str] = {}
# any name -> every given name it may stand for (itself included)
FORMS: dict[str, frozenset[str]] = {}
for _canonical, _nicknames in _GROUPS.items():
    FORMS[_canonical] = FORMS.get(_canonical, frozenset({_canonical})) | {_canonical}
    for _nickname in _nicknames:
        NICKNAMES.setdefault(_nickname, _canonical)
        FORMS[_nickname] = FORMS.get(_nickname, frozenset({_nickname})) | {_canonical}
del _canonical, _nicknames


def canonical_first_name(first_name: str | None) -> str | None:
    """The given name a nickname is short for, or the name itself when it is not a known nickname."""
    if not first_name:
        return None
    name = fold(first_name)
    return NICKNAMES.get(name, name)


def first_name_forms(first_name: str | None) -> tuple[str, ...]:
    """Every given name a first name may stand for, itself included, sorted ("jon": john, jon, jonathan)."""
    if not first_name:
        return ()
    name = fold(first_name)
    return tuple(sorted(FORMS.get(name, frozenset({name}))))
