"""Common English nicknames and the given name each one is short for (data only).

Keys and values are casefolded and accent-free, as profiles arrive. A nickname that is
short for several names (e.g. "alex", "sam", "chris") maps to the most common one: the
canonical first name only ever adds evidence when both sides agree on it.
"""

from __future__ import annotations

# canonical given name -> its common nicknames and short forms
_GROUPS: dict[str, tuple[str, ...]] = {
    "abigail": ("abby", "abbie", "gail"),
    "alexander": ("alex", "alec", "sandy", "xander", "alexandre"),
    "alexandra": ("alexa", "lexi", "sasha", "alexandria"),
    "alfred": ("alf", "alfie", "fred"),
    "andrew": ("andy", "drew"),
    "anne": ("ann", "annie", "anna", "nan", "nancy"),
    "anthony": ("tony", "ant", "antony"),
    "archibald": ("archie", "archy"),
    "arthur": ("art", "artie"),
    "barbara": ("barb", "babs", "barbie"),
    "benjamin": ("ben", "benny", "benji", "benjy"),
    "bernard": ("bernie", "barney"),
    "catherine": ("cathy", "cath", "kate", "katie", "kath", "kathy", "katherine", "kathryn", "kay", "kitty", "cat"),
    "charles": ("charlie", "chas", "chuck", "chaz"),
    "charlotte": ("lottie", "charlie", "lotte"),
    "christina": ("tina", "chrissy", "christine", "kirsty", "kirsten"),
    "christopher": ("chris", "kit", "topher"),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davy", "davie"),
    "deborah": ("debbie", "deb", "debra"),
    "donald": ("don", "donny"),
    "dorothy": ("dot", "dottie", "dolly", "dora"),
    "douglas": ("doug", "dougie"),
    "edward": ("ed", "eddie", "eddy", "ted", "teddy", "ned"),
    "eleanor": ("ellie", "nell", "nellie", "elly", "elinor"),
    "elizabeth": ("liz", "lizzie", "lizzy", "beth", "betty", "bess", "bessie", "eliza", "libby", "elsie", "betsy"),
    "emily": ("em", "emmy", "millie"),
    "frances": ("fran", "fanny", "frankie"),
    "francis": ("frank", "francesco"),
    "frederick": ("freddie", "freddy", "fritz"),
    "gerald": ("gerry", "jerry"),
    "gregory": ("greg", "gregg"),
    "harold": ("harry", "hal"),
    "helen": ("nell", "lena", "ellen"),
    "henry": ("hank", "hal", "hendrik"),
    "isabel": ("izzy", "isabella", "bella", "isobel", "issy"),
    "jacob": ("jake", "jakey"),
    "james": ("jim", "jimmy", "jamie", "jimbo", "jas"),
    "jane": ("janey", "jenny", "jan"),
    "jennifer": ("jen", "jenn", "jenni", "jennie"),
    "jessica": ("jess", "jessie"),
    "john": ("jack", "johnny", "jon", "jonny", "ian", "sean", "shaun"),
    "jonathan": ("jonty", "nathan"),
    "joseph": ("joe", "joey", "jo"),
    "joshua": ("josh",),
    "judith": ("judy", "jude"),
    "kenneth": ("ken", "kenny"),
    "lawrence": ("larry", "laurie", "laurence"),
    "leonard": ("len", "lenny", "leo"),
    "margaret": ("maggie", "peggy", "meg", "megan", "madge", "marge", "margie", "greta", "daisy", "molly", "rita"),
    "mary": ("mae", "mamie", "polly", "maria", "marie"),
    "matilda": ("tilly", "tilda", "mattie"),
    "matthew": ("matt", "matty"),
    "michael": ("mike", "mick", "mickey", "micky", "mikey", "mitch"),
    "nicholas": ("nick", "nicky", "nico", "nicolas"),
    "oliver": ("ollie", "olly", "noll"),
    "patricia": ("pat", "patty", "patsy", "trish", "tricia"),
    "patrick": ("paddy", "pat", "rick"),
    "peter": ("pete", "petey"),
    "philip": ("phil", "pip", "phillip"),
    "rebecca": ("becky", "becca", "bex"),
    "richard": ("rich", "richie", "dick", "ricky", "rick", "dickie"),
    "robert": ("bob", "bobby", "rob", "robbie", "robby", "bert", "bertie", "rab", "rabbie"),
    "ronald": ("ron", "ronnie"),
    "samuel": ("sam", "sammy"),
    "samantha": ("sammie", "sammi"),
    "sarah": ("sally", "sadie", "sara"),
    "stephen": ("steve", "stevie", "steven"),
    "susan": ("sue", "susie", "suzy", "suzanne", "susannah"),
    "theodore": ("theo", "teddie"),
    "thomas": ("tom", "tommy", "thom"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "vicki", "tori", "vikki"),
    "walter": ("walt", "wally"),
    "william": ("bill", "billy", "will", "willy", "willie", "liam", "wills"),
    "zachary": ("zach", "zack", "zak"),
}

# nickname -> canonical given name; the first group listing a nickname wins
NICKNAMES: dict[str, str] = {}
for _canonical, _nicknames in _GROUPS.items():
    for _nickname in _nicknames:
        NICKNAMES.setdefault(_nickname, _canonical)
del _canonical, _nicknames


def canonical_first_name(first_name: str | None) -> str | None:
    """The given name a nickname is short for, or the name itself when it is not a known nickname."""
    if not first_name:
        return None
    return NICKNAMES.get(first_name, first_name)
