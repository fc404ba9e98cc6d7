"""Default keyword lists of the message grammar (en, fr, sw, id); an instance overrides them in its config.

Data only: :mod:`layers.reports.messages` reads these through :class:`~layers.reports.messages.Keywords`,
and the service merges ``MESSAGES_KEYWORDS`` from the instance config over them (a list given for a
language replaces that language's default list). Phrases are matched case- and accent-insensitively,
single words with typos forgiven.
"""

from __future__ import annotations

LANGUAGES = ("en", "fr", "sw", "id")

# category -> language -> phrases. Longer phrases win over shorter ones at the same place.
CATEGORIES: dict[str, dict[str, list[str]]] = {
    "flooding_observed": {
        "en": ["flood", "flooding", "flooded", "floods", "water level", "inundated"],
        "fr": ["inondation", "inondations", "inonde", "inondee", "crue"],
        "sw": ["mafuriko", "furiko", "maji mengi", "maji yamejaa"],
        "id": ["banjir", "kebanjiran", "genangan", "tergenang", "air naik"],
    },
    "blocked_drain": {
        "en": ["drain", "blocked drain", "clogged drain", "gutter"],
        "fr": ["caniveau", "egout", "caniveau bouche"],
        "sw": ["mtaro", "mfereji", "mtaro umeziba"],
        "id": ["got", "selokan", "saluran", "got mampet", "saluran mampet", "gorong gorong"],
    },
    "evacuation_obstacle": {
        "en": ["blocked", "roadblock", "road blocked", "obstacle", "bridge down"],
        "fr": ["bloque", "bloquee", "obstacle", "route coupee", "barre"],
        "sw": ["imezibwa", "imefungwa", "kizuizi", "barabara imefungwa"],
        "id": ["terhalang", "tertutup", "blokir", "jalan putus", "putus", "macet total"],
    },
    "damaged_building": {
        "en": ["damage", "damaged", "collapsed", "house damaged"],
        "fr": ["degat", "degats", "endommage", "effondre", "maison effondree"],
        "sw": ["uharibifu", "imeharibika", "imebomoka", "nyumba imeanguka"],
        "id": ["rusak", "roboh", "rumah rusak", "ambruk"],
    },
    "shelter_site": {
        "en": ["shelter", "evacuation centre", "evacuation center"],
        "fr": ["abri", "refuge", "centre d evacuation"],
        "sw": ["makazi", "kimbilio", "hifadhi"],
        "id": ["posko", "pengungsian", "penampungan", "tempat pengungsian"],
    },
    "need_water": {
        "en": ["need water", "drinking water", "no water"],
        "fr": ["besoin eau", "besoin d eau", "eau potable"],
        "sw": ["tunahitaji maji", "maji ya kunywa", "hakuna maji"],
        "id": ["butuh air", "perlu air", "air bersih", "air minum"],
    },
    "need_food": {
        "en": ["need food", "food", "hungry"],
        "fr": ["nourriture", "besoin nourriture", "faim"],
        "sw": ["chakula", "tunahitaji chakula", "njaa"],
        "id": ["makanan", "butuh makanan", "kelaparan", "sembako"],
    },
    "need_medical": {
        "en": ["medical", "doctor", "injured", "ambulance", "sick"],
        "fr": ["medecin", "blesse", "blesses", "malade", "medical"],
        "sw": ["daktari", "majeruhi", "mgonjwa", "wagonjwa", "matibabu"],
        "id": ["medis", "dokter", "luka", "terluka", "sakit", "ambulans"],
    },
}

# Commands: a message whose first word is one of these.
COMMANDS: dict[str, dict[str, list[str]]] = {
    "join": {
        "en": ["join", "subscribe"],
        "fr": ["rejoindre", "abonner", "inscrire", "abonnement"],
        "sw": ["jiunge", "unga", "sajili"],
        "id": ["daftar", "gabung", "ikut", "langganan"],
    },
    "stop": {
        "en": ["stop", "unsubscribe", "cancel", "end", "quit"],
        "fr": ["arret", "arreter", "desabonner"],
        "sw": ["acha", "sitisha", "simama"],
        "id": ["berhenti", "henti", "batal"],
    },
    "help": {
        "en": ["help", "info"],
        "fr": ["aide"],
        "sw": ["msaada", "usaidizi"],
        "id": ["bantuan", "tolong info"],
    },
}

# Units of a depth: metres per unit.
UNITS: dict[str, float] = {
    "m": 1.0,
    "meter": 1.0,
    "meters": 1.0,
    "metre": 1.0,
    "metres": 1.0,
    "mtr": 1.0,
    "mita": 1.0,
    "cm": 0.01,
    "cms": 0.01,
    "centimeter": 0.01,
    "centimeters": 0.01,
    "centimetre": 0.01,
    "centimetres": 0.01,
    "senti": 0.01,
    "sentimita": 0.01,
    "sentimeter": 0.01,
    "mm": 0.001,
}

# Depths said with the body, as people do ("banjir selutut"): metres.
BODY_DEPTHS: dict[str, float] = {
    "ankle": 0.1,
    "ankles": 0.1,
    "knee": 0.5,
    "knees": 0.5,
    "waist": 1.0,
    "chest": 1.3,
    "cheville": 0.1,
    "chevilles": 0.1,
    "genou": 0.5,
    "genoux": 0.5,
    "taille": 1.0,
    "poitrine": 1.3,
    "kifundo": 0.1,
    "goti": 0.5,
    "magoti": 0.5,
    "kiuno": 1.0,
    "kifua": 1.3,
    "semata kaki": 0.1,
    "sebetis": 0.3,
    "selutut": 0.5,
    "sepaha": 0.7,
    "sepinggang": 1.0,
    "sepinggul": 0.9,
    "sedada": 1.3,
    "seleher": 1.5,
}

# Words that introduce a depth given without a unit ("depth 60").
DEPTH_WORDS: list[str] = [
    "depth",
    "deep",
    "level",
    "profondeur",
    "hauteur",
    "kina",
    "urefu",
    "kedalaman",
    "ketinggian",
    "tinggi",
    "setinggi",
]

# Words that never name a place: dropped before places are looked up.
STOPWORDS: list[str] = [
    # en
    "near", "at", "in", "on", "the", "of", "by", "next", "to", "behind", "opposite", "full", "please", "help",
    "now", "here", "very", "high", "water", "road", "is", "and", "a", "an", "area",
    # fr
    "pres", "a", "au", "aux", "de", "du", "des", "la", "le", "les", "dans", "sur", "plein", "pleine", "est", "et",
    "cote", "vers", "rue", "quartier",
    # sw
    "karibu", "na", "ya", "wa", "kwa", "katika", "eneo", "mtaa", "barabara", "imejaa", "sana", "hapa",
    # id
    "dekat", "di", "ke", "depan", "belakang", "samping", "sebelah", "penuh", "dan", "yang", "sudah", "sekitar",
    "daerah", "warga", "tolong", "cm", "sini",
]  # fmt: skip

# Words in place names that alone say nothing about where (a match needs one other word).
GENERIC_PLACE_WORDS: list[str] = [
    "rw", "rt", "kel", "kelurahan", "kecamatan", "desa", "kampung", "jl", "jln", "jalan", "gang", "gg", "no",
    "street", "st", "road", "rd", "avenue", "ave", "rue", "avenue", "mtaa", "barabara", "ward", "kata", "bridge",
    "jembatan", "pont", "daraja", "masjid", "mosque", "gereja", "church", "sekolah", "school", "pasar", "market",
    "sd", "sdn", "smp", "smpn", "sma", "sman", "raya", "utara", "selatan", "barat", "timur", "baru", "lama",
]  # fmt: skip
