"""A realistic large service definition for the builder benchmark: 100 questions on 30 pages.

``large_service()`` builds, deterministically, an "Apply for adult social care support"
service of the size that makes form builders slow (Open Forms users report saves of tens of
seconds on a 95-component form): every widget type of ``runtime.widgets.WIDGETS``, in the
mix a real long form has (more short texts and yes-or-no questions than NHS numbers); choices
with hints; an eligibility question whose routing jumps over a stop page; show-if conditions
in every operator family the builder offers (yes or no, one of several, includes, more than,
before, and two clauses combined); a routing rule that skips two pages; and the ``allOf``
if/then rules that require answers on conditional pages exactly when those pages are asked,
written as the builder writes them (their ``if`` is the page's visibility condition). The
result passes ``runtime.checker.check``; ``tests/test_bench.py`` checks that it still does.

Run it to print the definition: ``.venv/bin/python bench/large_service.py > large.json``.
"""

from __future__ import annotations

import sys
from typing import Any

from runtime.definition import FORMAT, dumps
from runtime.visibility import visibility_condition
from runtime.widgets import WIDGETS

SERVICE_ID = "adult-social-care-support"
QUESTIONS = 100
PAGES = 30

# (name, label, hint or None); choice widgets add their options: (value, label, hint or None).
Entry = tuple[Any, ...]

POOLS: dict[str, list[Entry]] = {
    "text": [
        ("full_name", "What is your full name?", None),
        ("previous_name", "What was your previous name?", "Leave this blank if you have not changed your name."),
        ("gp_name", "What is your GP's name?", None),
        ("gp_practice", "What is the name of your GP practice?", None),
        ("carer_name", "What is your carer's full name?", None),
        ("partner_name", "What is your partner's full name?", None),
        (
            "landlord_name",
            "What is your landlord's name?",
            "This could be a person, a council or a housing association.",
        ),
        ("employer_name", "What is the name of your employer?", None),
        ("social_worker_name", "What is your social worker's name?", None),
        ("representative_name", "What is the name of the person filling in this form for you?", None),
        ("emergency_contact_name", "Who should we contact in an emergency?", "Give their full name."),
        ("day_centre_name", "Which day centre do you go to?", None),
        ("school_name", "What is the name of your child's school?", None),
        ("key_safe_location", "Where is your key safe?", "For example, to the left of the front door."),
        ("pharmacy_name", "Which pharmacy do you use?", None),
        ("vehicle_registration", "What is your vehicle registration number?", "For example, CU57ABC."),
    ],
    "textarea": [
        ("condition_description", "Tell us about your condition", "Include any diagnosis, treatment or medication."),
        ("daily_tasks", "Which everyday tasks do you find difficult?", "For example, washing, dressing or cooking."),
        ("reason_for_applying", "Why are you asking for support now?", None),
        ("home_adaptations", "What changes have been made to your home?", "For example, grab rails or a stair lift."),
        ("medication_details", "What medication do you take?", None),
        ("current_support", "What help do you get at the moment?", "Include help from family, friends or neighbours."),
        ("communication_needs_detail", "How can we make it easier to talk to you?", None),
        ("other_information", "Is there anything else you want to tell us?", None),
    ],
    "number": [
        ("household_size", "How many people live in your home?", "Include yourself."),
        ("weekly_income", "What is your household's weekly income after tax?", None),
        ("monthly_rent", "How much rent do you pay each month?", None),
        ("care_hours", "How many hours of care do you get each week?", None),
        ("bedrooms", "How many bedrooms does your home have?", None),
        ("savings", "How much money do you have in savings?", "Include bank accounts, ISAs and premium bonds."),
        ("children_at_home", "How many children under 18 live with you?", None),
        ("falls_last_year", "How many times have you fallen in the last 12 months?", None),
    ],
    "date": [
        ("date_of_birth", "What is your date of birth?", "For example, 27 3 1958"),
        ("move_in_date", "When did you move into your home?", "For example, 4 2019"),
        ("diagnosis_date", "When were you diagnosed?", None),
        ("tenancy_start_date", "When did your tenancy start?", None),
        ("last_assessment_date", "When was your last care assessment?", None),
        ("hospital_discharge_date", "When did you leave hospital?", None),
        ("benefit_award_date", "When did your benefit award start?", None),
        ("partner_date_of_birth", "What is your partner's date of birth?", None),
    ],
    "email": [
        ("email", "What is your email address?", "We will use this to contact you about your application."),
        ("carer_email", "What is your carer's email address?", None),
        ("representative_email", "What is your representative's email address?", None),
        ("social_worker_email", "What is your social worker's email address?", None),
        ("landlord_email", "What is your landlord's email address?", None),
    ],
    "tel": [
        ("phone", "What is your phone number?", "We will only call you if we need to ask about your application."),
        ("mobile_phone", "What is your mobile phone number?", None),
        ("carer_phone", "What is your carer's phone number?", None),
        ("emergency_contact_phone", "What is your emergency contact's phone number?", None),
        ("gp_phone", "What is your GP practice's phone number?", None),
        ("landlord_phone", "What is your landlord's phone number?", None),
    ],
    "postcode": [
        ("postcode", "What is your postcode?", "For example, WB1 1AA"),
        ("previous_postcode", "What was the postcode of your last home?", None),
        ("gp_postcode", "What is your GP practice's postcode?", None),
        ("day_centre_postcode", "What is your day centre's postcode?", None),
    ],
    "uk-address": [
        ("address", "What is your address?", None),
        ("previous_address", "What was the address of your last home?", None),
        ("carer_address", "What is your carer's address?", None),
        ("correspondence_address", "Where should we send letters?", "Leave blank to use your home address."),
        ("landlord_address", "What is your landlord's address?", None),
    ],
    "declaration": [
        ("information_correct", "Declaration", None),
    ],
    "yes-no": [
        ("has_partner", "Do you live with a partner?", None),
        ("has_carer", "Does someone care for you without being paid?", None),
        ("gets_benefits", "Do you get any benefits?", None),
        ("owns_home", "Do you own your home?", None),
        ("is_working", "Are you working at the moment?", None),
        ("needs_interpreter", "Do you need an interpreter?", None),
        ("has_pets", "Are there any pets in your home?", "We ask so that our staff can visit safely."),
        ("uses_wheelchair", "Do you use a wheelchair?", None),
        ("lives_alone", "Do you live alone?", None),
        ("recent_hospital_stay", "Have you stayed in hospital in the last 6 months?", None),
        ("has_key_safe", "Do you have a key safe?", None),
        ("has_representative", "Is someone filling in this form for you?", None),
        ("has_stairs", "Are there stairs inside your home?", None),
    ],
    "radios": [
        (
            "housing_type",
            "What type of home do you live in?",
            None,
            [
                ("house", "House", None),
                ("flat", "Flat or maisonette", None),
                ("bungalow", "Bungalow", None),
                ("sheltered", "Sheltered housing", "Housing with a warden or an alarm service"),
                ("care_home", "Care home", None),
            ],
        ),
        (
            "tenure",
            "Do you own or rent your home?",
            None,
            [
                ("own", "I own it", "Including with a mortgage"),
                ("council", "I rent from the council", None),
                ("housing_association", "I rent from a housing association", None),
                ("private", "I rent from a private landlord", None),
                ("family", "I live with family or friends", None),
            ],
        ),
        (
            "walking_distance",
            "How far can you walk without stopping?",
            "Think about a normal day, using any walking aids you usually use.",
            [
                ("cannot_walk", "I cannot walk at all", None),
                ("under_20_metres", "Less than 20 metres", "About the length of 2 buses"),
                ("20_to_100_metres", "20 to 100 metres", None),
                ("over_100_metres", "More than 100 metres", None),
            ],
        ),
        (
            "employment_status",
            "What is your employment status?",
            None,
            [
                ("employed", "Employed", None),
                ("self_employed", "Self-employed", None),
                ("unemployed", "Unemployed", None),
                ("retired", "Retired", None),
                ("unable_to_work", "Unable to work", "Because of illness or disability"),
            ],
        ),
        (
            "contact_preference",
            "How should we contact you?",
            None,
            [("email", "Email", None), ("phone", "Phone", None), ("letter", "Letter", None)],
        ),
        (
            "relationship_to_applicant",
            "What is your relationship to the person who needs support?",
            None,
            [
                ("partner", "Partner", None),
                ("parent", "Parent", None),
                ("child", "Son or daughter", None),
                ("friend", "Friend or neighbour", None),
                ("professional", "Professional", "For example, a social worker or nurse"),
            ],
        ),
        (
            "heating_type",
            "How is your home heated?",
            None,
            [
                ("gas", "Gas central heating", None),
                ("electric", "Electric heaters", None),
                ("oil", "Oil", None),
                ("none", "No heating", None),
            ],
        ),
        (
            "visit_time",
            "When is the best time for us to visit?",
            None,
            [("morning", "Morning", None), ("afternoon", "Afternoon", None), ("any_time", "Any time", None)],
        ),
        (
            "urgency",
            "How soon do you need support?",
            None,
            [
                ("now", "Straight away", "You are not safe at home without support"),
                ("weeks", "Within a few weeks", None),
                ("planning", "I am planning ahead", None),
            ],
        ),
        (
            "how_heard",
            "How did you hear about this service?",
            None,
            [
                ("gp", "From my GP", None),
                ("hospital", "From the hospital", None),
                ("friend", "From family or friends", None),
                ("website", "From the council's website", None),
                ("other", "Somewhere else", None),
            ],
        ),
    ],
    "checkboxes": [
        (
            "support_needs",
            "What do you need help with?",
            "Select all that apply.",
            [
                ("washing", "Washing and bathing", None),
                ("dressing", "Getting dressed", None),
                ("meals", "Preparing meals", None),
                ("medication", "Taking medication", None),
                ("moving", "Moving around the home", None),
                ("shopping", "Shopping", None),
            ],
        ),
        (
            "benefits_received",
            "Which benefits do you get?",
            "Select all that apply.",
            [
                ("pip", "Personal Independence Payment", None),
                ("attendance_allowance", "Attendance Allowance", "For people over State Pension age"),
                ("universal_credit", "Universal Credit", None),
                ("pension_credit", "Pension Credit", None),
                ("housing_benefit", "Housing Benefit", None),
            ],
        ),
        (
            "walking_aids",
            "Which walking aids do you use?",
            "Select all that apply.",
            [
                ("stick", "Walking stick", None),
                ("frame", "Walking frame", None),
                ("wheelchair", "Wheelchair", None),
                ("scooter", "Mobility scooter", None),
            ],
        ),
        (
            "rooms_needing_changes",
            "Which rooms need changes?",
            "Select all that apply.",
            [
                ("bathroom", "Bathroom", None),
                ("kitchen", "Kitchen", None),
                ("bedroom", "Bedroom", None),
                ("stairs", "Stairs", None),
                ("entrance", "Front or back door", None),
            ],
        ),
        (
            "communication_needs",
            "Do you need any of these to talk to us?",
            "Select all that apply.",
            [
                ("large_print", "Large print", None),
                ("easy_read", "Easy read", None),
                ("bsl", "British Sign Language interpreter", None),
                ("hearing_loop", "Hearing loop", None),
            ],
        ),
        (
            "visit_days",
            "Which days can we visit you?",
            "Select all that apply.",
            [
                ("monday", "Monday", None),
                ("tuesday", "Tuesday", None),
                ("wednesday", "Wednesday", None),
                ("thursday", "Thursday", None),
                ("friday", "Friday", None),
            ],
        ),
    ],
    "select": [
        (
            "council_ward",
            "Which ward do you live in?",
            "It is on your council tax bill.",
            [
                ("abbey", "Abbey", None),
                ("castle", "Castle", None),
                ("harbour", "Harbour", None),
                ("meadows", "Meadows", None),
                ("riverside", "Riverside", None),
                ("westgate", "Westgate", None),
            ],
        ),
        (
            "preferred_language",
            "What language do you prefer to speak?",
            None,
            [
                ("english", "English", None),
                ("welsh", "Welsh", None),
                ("polish", "Polish", None),
                ("punjabi", "Punjabi", None),
                ("urdu", "Urdu", None),
                ("other", "Another language", None),
            ],
        ),
        (
            "council_tax_band",
            "What is your council tax band?",
            None,
            [(band.lower(), f"Band {band}", None) for band in "ABCDEFGH"],
        ),
        (
            "name_title",
            "What is your title?",
            None,
            [
                ("mr", "Mr", None),
                ("mrs", "Mrs", None),
                ("ms", "Ms", None),
                ("miss", "Miss", None),
                ("mx", "Mx", None),
                ("dr", "Dr", None),
            ],
        ),
    ],
    "ni-number": [
        ("ni_number", "What is your National Insurance number?", "For example, QQ 12 34 56 C"),
        ("partner_ni_number", "What is your partner's National Insurance number?", "For example, QQ 12 34 56 C"),
    ],
    "nhs-number": [
        ("nhs_number", "What is your NHS number?", "It is 10 digits long, like 485 777 3456."),
        ("carer_nhs_number", "What is your carer's NHS number?", None),
        ("partner_nhs_number", "What is your partner's NHS number?", None),
    ],
}

# How many questions of each widget the service asks: a long council form's mix.
MIX = {
    "text": 16,
    "textarea": 8,
    "number": 8,
    "date": 8,
    "email": 5,
    "tel": 6,
    "postcode": 4,
    "uk-address": 5,
    "yes-no": 12,
    "declaration": 1,
    "radios": 10,
    "checkboxes": 6,
    "select": 4,
    "ni-number": 2,
    "nhs-number": 3,
}  # 98, plus the eligibility question and the consent question: 100

ELIGIBILITY: Entry = (
    "lives_in_area",
    "Do you live in Westbridge?",
    "You must apply to the council for the area where you live.",
)
CONSENT: Entry = ("consent_to_share", "Can we share your information with your GP?", None)
# An add-another question is alone on its page: it takes the place of the one question of the
# page at PAGE_SIZES[HELPERS_PAGE] (a long text in the mix above).
HELPERS: Entry = (
    "people_who_help",
    "Who helps you at home?",
    "Add each person who helps you, such as a family member, a friend or a paid carer.",
)
HELPERS_PAGE = 25

# The newer question types take the place of a question of the mix above, by its name: a file
# question alone on its page (the partner's full name is asked alone on "Your partner"); the
# rent in pounds and pence; the GP practice's number as a UK phone number; a time of day.
INSTEAD: dict[str, tuple[str, Entry]] = {
    "partner_name": (
        "file",
        (
            "partner_income_proof",
            "Upload proof of your partner's income",
            "For example, a payslip or a letter about their benefits. A photo or scan is fine.",
        ),
    ),
    "monthly_rent": ("money", ("monthly_rent", "How much rent do you pay each month?", None)),
    "gp_phone": ("uk-phone", ("gp_phone", "What is your GP practice's phone number?", None)),
    "day_centre_name": (
        "time",
        ("day_centre_arrival", "What time do you usually arrive at your day centre?", "For example, 9:30am or 2pm"),
    ),
}

# Questions per question page (28 of them; with the eligibility page and the stop page, 30).
PAGE_SIZES = [1, 4, 5, 3, 4, 4, 5, 3, 4, 1, 5, 4, 3, 4, 4, 5, 3, 4, 4, 3, 5, 3, 4, 3, 5, 1, 4, 1]

SECTIONS = [
    "About you",
    "Your contact details",
    "Your home",
    "Your health",
    "Getting around",
    "Your address",
    "Everyday tasks",
    "Your GP",
    "Money and benefits",
    "Your partner",
    "Your carer",
    "Support you get now",
    "Changes to your home",
    "Communication",
    "Work",
    "Your tenancy",
    "Hospital stays",
    "Medication",
    "Visiting you",
    "Your representative",
    "Emergency contact",
    "Previous address",
    "Savings",
    "Children",
    "Heating",
    "Falls",
    "Anything else",
    "Sharing your information",
]

# Show-if conditions, by question page position (0-based among the 28), on answers from
# earlier pages: (widget of the question used, the condition schema for it); the builder's
# operators "is", "is one of", "includes", "more than", "is before", and "all" of two clauses.
SHOW_IF_AT = {
    9: "yes-no",
    12: "radios",
    15: "checkboxes",
    18: "number+yes-no",
    21: "date",
}
ROUTE_AT = 22  # a routing rule on this page skips the next two
OPTIONAL_EVERY = 7  # every 7th question is optional, as in real forms


def _clause(name: str, widget: str, question: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema ``builder.conditions.to_schema`` writes for one clause on ``name``."""
    values = list(question.get("options", {}))
    if widget == "yes-no":
        sub: dict[str, Any] = {"const": True}
    elif widget in ("radios", "select"):
        sub = {"enum": values[:2]}
    elif widget == "checkboxes":
        sub = {"contains": {"const": values[0]}}
    elif widget == "number":
        sub = {"exclusiveMinimum": 0}
    elif widget == "date":
        sub = {"dateBefore": "1960-01-01"}
    else:
        return {"required": [name]}
    return {"properties": {name: sub}, "required": [name]}


def _property(widget: str, entry: Entry) -> dict[str, Any]:
    name = entry[0]
    prop = WIDGETS[widget].new_property()
    if widget in ("radios", "select"):
        prop["enum"] = [value for value, _, _ in entry[3]]
    elif widget == "checkboxes":
        prop["items"]["enum"] = [value for value, _, _ in entry[3]]
    elif widget == "text":
        prop["maxLength"] = 100
    elif widget == "number" and name in ("household_size", "bedrooms", "children_at_home", "falls_last_year"):
        prop = {"type": "integer", "minimum": 0, "maximum": 50}
    elif widget == "date":
        prop["dateBefore"] = "today"  # every date this service asks about is in the past
    elif widget == "money":
        prop["maximum"] = 300000  # £3,000.00 a month
    elif widget == "file":
        prop["maxItems"] = 2
    return prop


def _question(widget: str, entry: Entry) -> dict[str, Any]:
    name, label, hint = entry[:3]
    question: dict[str, Any] = {"label": label}
    if hint:
        question["hint"] = hint
    for opening in ("What is your ", "What is the ", "What was your ", "What was the "):
        if label.startswith(opening):  # "What is your full name?" is "Full name" on check answers
            short = label.removeprefix(opening).rstrip("?")
            question["short_label"] = short[:1].upper() + short[1:]
    question["widget"] = widget
    if widget in ("radios", "checkboxes", "select"):
        question["options"] = {
            value: {"label": text, **({"hint": option_hint} if option_hint else {})}
            for value, text, option_hint in entry[3]
        }
    if widget == "text":
        question["width"] = "two-thirds" if name.endswith("name") else "20"
        if name.endswith("name"):
            question["spellcheck"] = False
    elif widget == "textarea":
        question["rows"] = 6
    elif widget == "number":
        if name in ("weekly_income", "monthly_rent", "savings"):
            question["prefix"] = "£"
        if name == "care_hours":
            question["suffix"] = "hours"
        question["width"] = "5"
    elif widget == "email":
        question["autocomplete"] = "email" if name == "email" else "off"
        question["spellcheck"] = False
    elif widget == "declaration":
        question["statement"] = "I confirm that the information I have given is correct"
    elif widget in ("file", "money", "time", "uk-phone"):
        question = {**WIDGETS[widget].new_question(label), **question}
        if widget == "file":
            question |= {"accept": ["jpeg", "png", "pdf"], "max_size_mb": 10}
    elif widget == "add-another":
        fresh = WIDGETS[widget].new_question(label)
        question |= {"singular": "person", "plural": "people", "questions": fresh["questions"]}
    elif widget == "tel":
        question["width"] = "20"
        question["autocomplete"] = "tel" if name in ("phone", "mobile_phone") else "off"
    return question


def _sequence() -> list[tuple[str, Entry]]:
    """The questions in the order they are asked: the widgets interleaved, as sections mix them."""
    remaining = {widget: list(POOLS[widget][:count]) for widget, count in MIX.items()}
    for widget, count in MIX.items():
        if len(remaining[widget]) != count:
            raise ValueError(f"the {widget} pool has {len(remaining[widget])} questions, not {count}")
    order: list[tuple[str, Entry]] = []
    # Weighted round robin: each widget in turn while it has questions left, the commoner ones
    # more often, so that every page mixes types and the rarer widgets are spread out.
    credit = dict.fromkeys(MIX, 0.0)
    total = sum(MIX.values())
    while len(order) < total:
        for widget in MIX:
            credit[widget] += MIX[widget] / total
        widget = max((w for w in MIX if remaining[w]), key=lambda w: credit[w])
        credit[widget] -= 1
        order.append((widget, remaining[widget].pop(0)))
    return order


def large_service(service_id: str = SERVICE_ID) -> dict[str, Any]:
    """A valid definition of 100 questions on 30 pages (see the module docstring)."""
    if sum(PAGE_SIZES) != QUESTIONS - 2 + 1 or len(PAGE_SIZES) != PAGES - 2:
        raise ValueError("PAGE_SIZES must ask 99 questions on 28 pages")
    properties: dict[str, Any] = {}
    questions: dict[str, Any] = {}
    widget_of: dict[str, str] = {}
    # The consent question comes last, on a page of its own.
    sequence = [*_sequence(), ("yes-no", CONSENT)]
    if len(sequence) != sum(PAGE_SIZES):
        raise ValueError(f"{len(sequence)} questions for {sum(PAGE_SIZES)} places")
    alone = sum(PAGE_SIZES[:HELPERS_PAGE])
    if PAGE_SIZES[HELPERS_PAGE] != 1 or sequence[alone][0] != "textarea":
        raise ValueError("the add-another question must take a long text's page of its own")
    sequence[alone] = ("add-another", HELPERS)
    sequence = [INSTEAD.get(entry[0], (widget, entry)) for widget, entry in sequence]
    if sum(widget == "file" for widget, _entry in sequence) != 1:
        raise ValueError("the file question must take the place of a question in the mix")
    for widget, entry in [("yes-no", ELIGIBILITY), *sequence]:
        name = entry[0]
        properties[name] = _property(widget, entry)
        questions[name] = _question(widget, entry)
        widget_of[name] = widget

    first = "where-you-live"
    pages: list[dict[str, Any]] = [
        {
            "id": first,
            "title": "Where you live",
            "questions": ["lives_in_area"],
            "next": [{"if": _clause("lives_in_area", "yes-no", {}), "goto": "about-you"}],
        },
        {
            "id": "cannot-apply-online",
            "title": "You cannot apply online",
            "intro": [
                "You can only use this service if you live in Westbridge.",
                "Apply to the council for the area where you live. You can find your local council on GOV.UK.",
            ],
            "questions": [],
            "stop": True,
        },
    ]
    at = 0
    for i, size in enumerate(PAGE_SIZES):
        names = [entry[0] for _, entry in sequence[at : at + size]]
        at += size
        title = SECTIONS[i]
        page: dict[str, Any] = {"id": title.lower().replace(" ", "-"), "title": title, "questions": names}
        if i % 4 == 2:
            page["intro"] = [f"We ask about {title.lower()} to work out what support would help you most."]
        pages.append(page)

    doc: dict[str, Any] = {
        "format": FORMAT,
        "id": service_id,
        "version": 1,
        "title": "Apply for adult social care support",
        "description": "Ask for an assessment of the care and support you need to live safely at home.",
        "department": "Adult Social Care",
        "live": True,
        "reference_prefix": "ASC",
        "start": {
            "body": [
                "Use this service to ask the council for an assessment of the care and support you need.",
                "You can apply for yourself or for someone you look after.",
                "It takes about 30 minutes. You can save your answers and come back later.",
            ],
            "you_will_need": ["your NHS number, if you know it", "details of any benefits you get"],
        },
        "identity": {
            "full_name": "full_name",
            "date_of_birth": "date_of_birth",
            "email": "email",
            "phone": "phone",
            "postcode": "address.postcode",
            "nhs_number": "nhs_number",
            "ni_number": "ni_number",
        },
        "schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": properties,
            "required": [],
            "additionalProperties": False,
        },
        "questions": questions,
        "pages": pages,
        "messages": {
            "date_of_birth": {
                "required": "Enter your date of birth",
                "dateBefore": "Date of birth must be in the past",
            },
            "support_needs": {"required": "Select what you need help with"},
            "weekly_income": {"minimum": "Weekly income must be £0 or more"},
        },
        "check_answers": {
            "declaration": [
                "By sending this you confirm that the information you have given is correct to the best of your "
                "knowledge."
            ]
        },
        "confirmation": {
            "title": "Request sent",
            "next_steps": [
                "We have sent you an email with your reference number.",
                "A social worker will contact you within 10 working days to arrange an assessment.",
            ],
        },
        "privacy": {
            "url": "https://www.westbridge.gov.uk/privacy/adult-social-care",
            "summary": ["We use your information to assess your needs and to arrange your care and support."],
        },
        "contact": {
            "email": "adultsocialcare@westbridge.gov.uk",
            "phone": "01632 960 789",
            "hours": "Monday to Friday, 9am to 5pm",
        },
    }

    # Conditions use answers from earlier pages that are always asked, as a designer would.
    question_pages = pages[2:]
    used: set[str] = set()
    for position, kinds in SHOW_IF_AT.items():
        clauses = []
        for kind in kinds.split("+"):
            name = _last_asked(doc, question_pages[:position], kind, widget_of, used)
            used.add(name)
            clauses.append(_clause(name, kind, questions[name]))
        question_pages[position]["show_if"] = clauses[0] if len(clauses) == 1 else {"allOf": clauses}
    router = question_pages[ROUTE_AT]
    name = _last_asked(doc, question_pages[: ROUTE_AT + 1], "radios", widget_of, used)
    used.add(name)
    router["next"] = [{"if": _clause(name, "radios", questions[name]), "goto": question_pages[ROUTE_AT + 3]["id"]}]

    _require(doc, used)
    return doc


def _last_asked(
    doc: dict[str, Any], pages: list[dict[str, Any]], widget: str, widget_of: dict[str, str], used: set[str]
) -> str:
    """The last question of this widget on an always-asked page among ``pages``, not used yet."""
    for page in reversed(pages):
        if visibility_condition(doc, page["id"]) is not None:
            continue  # only pages that every citizen who can apply is asked
        for name in reversed(page["questions"]):
            if widget_of[name] == widget and name not in used:
                return name
    raise ValueError(f"no {widget} question to base a condition on")


def _require(doc: dict[str, Any], conditions_use: set[str]) -> None:
    """Required answers: in the root on pages always asked, else in an if/then per page.

    Each ``if`` is the page's visibility condition, as the builder writes it, so the
    checker's trap proof holds and the builder reads the rule back as its own.
    """
    schema = doc["schema"]
    optional = {
        name for i, name in enumerate(doc["questions"]) if i % OPTIONAL_EVERY == OPTIONAL_EVERY - 1
    } - conditions_use
    optional |= {"previous_name", "correspondence_address"}  # their hints say "leave blank"
    rules: list[dict[str, Any]] = []
    for page in doc["pages"]:
        names = [n for n in page["questions"] if n not in optional]
        if not names:
            continue
        shown = visibility_condition(doc, page["id"])
        if shown is None:
            schema["required"].extend(names)
        else:
            rules.append({"if": shown, "then": {"required": names}})
    schema["allOf"] = rules


if __name__ == "__main__":
    sys.stdout.write(dumps(large_service()))
