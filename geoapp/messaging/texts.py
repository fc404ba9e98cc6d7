"""What geoapp says by SMS, in the four languages of the grammar; each text fits one 160-character SMS.

Alerts speak the scenario's hazard kind: ``alert_what_<kind>`` and ``alert_todo_<kind>`` for every kind of
``layers/hazard/kinds`` (a kind without them gets ``generic``'s words), and ``alert_to_<kind>`` (else
``alert_to``) names where people go: a shelter, or an open assembly area after an earthquake.

An instance overrides any text with ``MESSAGES_TEXTS = {"sw": {"help": "..."}}`` in its config.
"""

from __future__ import annotations

from flask import current_app

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "receipt": "Received: {what} {where}. Ref {ref}. A moderator will check it.",
        "receipt_no_place": "Received: {what}. Ref {ref}. We could not find the place; a moderator will check it.",
        "published": "Your report {ref} is published. Thank you.",
        "rejected": "Your report {ref} was not published: {reason}",
        "subscribed": "You will get alerts for {where}. Send STOP to end.",
        "which": "Which one? {options}. Send JOIN and the full name.",
        "no_place": "Place not found. Send JOIN and your neighbourhood name.",
        "stopped": "You will get no more messages. Send JOIN and a place to subscribe again.",
        "help": "Send e.g. FLOOD 60cm RW04 <place>, BLOCKED <street>, JOIN <place> or STOP.",
        "alert": "{what} {where}: {todo} {to}: {shelter}",
        "alert_no_shelter": "{what} {where}: {todo}",
        "dash_title": "Messages (SMS, WhatsApp, USSD)",
        "dash_off": "Messages are off: no SMS gateway is configured on this instance.",
        "dash_none": "Nobody has subscribed to alerts yet (residents send JOIN and their neighbourhood).",
        "dash_caption": "Alert subscribers per neighbourhood",
        "dash_neighbourhood": "Neighbourhood",
        "dash_subscribers": "Subscribers",
        "dash_send": "Send an alert",
        "dash_shelter": "Nearest safe shelter (optional)",
        "dash_sent": "Alert queued for {n} subscribers.",
        # Alerts per hazard kind (layers/hazard/kinds): what, what to do, and where to go ("alert_to").
        "alert_what_flood": "FLOOD ALERT",
        "alert_todo_flood": "Move to higher ground now.",
        "alert_what_tsunami": "TSUNAMI ALERT",
        "alert_todo_tsunami": "Go to high ground inland now.",
        "alert_what_earthquake": "EARTHQUAKE ALERT",
        "alert_todo_earthquake": "Go to an open space away from buildings.",
        "alert_what_volcano": "VOLCANO ALERT",
        "alert_todo_volcano": "Leave the danger zone now.",
        "alert_what_volcanic_ash": "VOLCANIC ASH ALERT",
        "alert_todo_volcanic_ash": "Stay indoors, cover your mouth and nose.",
        "alert_what_cyclone": "CYCLONE ALERT",
        "alert_todo_cyclone": "Shelter in a strong building now.",
        "alert_what_landslide": "LANDSLIDE ALERT",
        "alert_todo_landslide": "Leave steep slopes now.",
        "alert_what_generic": "HAZARD ALERT",
        "alert_todo_generic": "Stay alert and follow official advice.",
        "alert_to": "Shelter",
        "alert_to_earthquake": "Assembly area",
        "ussd_menu": "Report\n{options}",
        "ussd_where": "Neighbourhood:\n{options}",
        "ussd_more": "0 More",
        "ussd_depth": "Water depth:\n1 Ankle\n2 Knee\n3 Waist\n4 Chest\n5 Not flooded",
        "ussd_join": "Alerts for",
        "ussd_done": "END Thank you. Ref {ref}.",
        "ussd_bad": "END Invalid choice. Please dial again.",
    },
    "fr": {
        "receipt": "Recu: {what} {where}. Ref {ref}. Un moderateur va verifier.",
        "receipt_no_place": "Recu: {what}. Ref {ref}. Lieu introuvable; un moderateur va verifier.",
        "published": "Votre signalement {ref} est publie. Merci.",
        "rejected": "Votre signalement {ref} n'est pas publie: {reason}",
        "subscribed": "Vous recevrez les alertes pour {where}. Envoyez STOP pour arreter.",
        "which": "Lequel? {options}. Envoyez REJOINDRE et le nom complet.",
        "no_place": "Lieu introuvable. Envoyez REJOINDRE et le nom du quartier.",
        "stopped": "Vous ne recevrez plus de messages. Envoyez REJOINDRE et un lieu pour reprendre.",
        "help": "Envoyez ex. INONDATION 60cm <lieu>, BLOQUE <rue>, REJOINDRE <lieu> ou STOP.",
        "alert": "{what} {where}: {todo} {to}: {shelter}",
        "alert_no_shelter": "{what} {where}: {todo}",
        "dash_title": "Messages (SMS, WhatsApp, USSD)",
        "dash_off": "Les messages sont desactives : aucune passerelle SMS n'est configuree.",
        "dash_none": "Personne n'est encore abonne aux alertes (les habitants envoient REJOINDRE et leur quartier).",
        "dash_caption": "Abonnes aux alertes par quartier",
        "dash_neighbourhood": "Quartier",
        "dash_subscribers": "Abonnes",
        "dash_send": "Envoyer une alerte",
        "dash_shelter": "Abri sur le plus proche (facultatif)",
        "dash_sent": "Alerte en file pour {n} abonnes.",
        # Alerts per hazard kind (layers/hazard/kinds): what, what to do, and where to go ("alert_to").
        "alert_what_flood": "ALERTE INONDATION",
        "alert_todo_flood": "Montez en hauteur maintenant.",
        "alert_what_tsunami": "ALERTE TSUNAMI",
        "alert_todo_tsunami": "Allez vers les hauteurs, loin de la cote, maintenant.",
        "alert_what_earthquake": "ALERTE SEISME",
        "alert_todo_earthquake": "Allez dans un espace ouvert, loin des batiments.",
        "alert_what_volcano": "ALERTE VOLCAN",
        "alert_todo_volcano": "Quittez la zone de danger maintenant.",
        "alert_what_volcanic_ash": "ALERTE CENDRES VOLCANIQUES",
        "alert_todo_volcanic_ash": "Restez a l'interieur, couvrez bouche et nez.",
        "alert_what_cyclone": "ALERTE CYCLONE",
        "alert_todo_cyclone": "Abritez-vous dans un batiment solide.",
        "alert_what_landslide": "ALERTE GLISSEMENT DE TERRAIN",
        "alert_todo_landslide": "Quittez les pentes maintenant.",
        "alert_what_generic": "ALERTE DANGER",
        "alert_todo_generic": "Restez vigilant et suivez les consignes officielles.",
        "alert_to": "Abri",
        "alert_to_earthquake": "Rassemblement",
    },
    "sw": {
        "receipt": "Tumepokea: {what} {where}. Kumb {ref}. Msimamizi ataikagua.",
        "receipt_no_place": "Tumepokea: {what}. Kumb {ref}. Mahali hapajulikani; msimamizi ataikagua.",
        "published": "Ripoti yako {ref} imechapishwa. Asante.",
        "rejected": "Ripoti yako {ref} haijachapishwa: {reason}",
        "subscribed": "Utapata tahadhari za {where}. Tuma ACHA kusitisha.",
        "which": "Ipi? {options}. Tuma JIUNGE na jina kamili.",
        "no_place": "Mahali hapajulikani. Tuma JIUNGE na jina la mtaa wako.",
        "stopped": "Hutapata ujumbe tena. Tuma JIUNGE na mahali kujiunga tena.",
        "help": "Tuma mfano MAFURIKO 60cm <mahali>, IMEFUNGWA <barabara>, JIUNGE <mahali> au ACHA.",
        "alert": "{what} {where}: {todo} {to}: {shelter}",
        "alert_no_shelter": "{what} {where}: {todo}",
        "dash_title": "Ujumbe (SMS, WhatsApp, USSD)",
        "dash_off": "Ujumbe umezimwa: hakuna lango la SMS lililowekwa.",
        "dash_none": "Bado hakuna aliyejiunga na tahadhari (wakazi hutuma JIUNGE na mtaa wao).",
        "dash_caption": "Waliojiunga na tahadhari kwa kila mtaa",
        "dash_neighbourhood": "Mtaa",
        "dash_subscribers": "Waliojiunga",
        "dash_send": "Tuma tahadhari",
        "dash_shelter": "Makazi salama ya karibu (si lazima)",
        "dash_sent": "Tahadhari imepangwa kwa waliojiunga {n}.",
        # Alerts per hazard kind (layers/hazard/kinds): what, what to do, and where to go ("alert_to").
        "alert_what_flood": "TAHADHARI YA MAFURIKO",
        "alert_todo_flood": "Hamia sehemu ya juu sasa.",
        "alert_what_tsunami": "TAHADHARI YA TSUNAMI",
        "alert_todo_tsunami": "Nenda sehemu ya juu mbali na pwani sasa.",
        "alert_what_earthquake": "TAHADHARI YA TETEMEKO LA ARDHI",
        "alert_todo_earthquake": "Nenda eneo la wazi mbali na majengo.",
        "alert_what_volcano": "TAHADHARI YA VOLKANO",
        "alert_todo_volcano": "Ondoka eneo la hatari sasa.",
        "alert_what_volcanic_ash": "TAHADHARI YA JIVU LA VOLKANO",
        "alert_todo_volcanic_ash": "Kaa ndani, funika mdomo na pua.",
        "alert_what_cyclone": "TAHADHARI YA KIMBUNGA",
        "alert_todo_cyclone": "Jikinge ndani ya jengo imara.",
        "alert_what_landslide": "TAHADHARI YA MAPOROMOKO YA ARDHI",
        "alert_todo_landslide": "Ondoka kwenye miteremko sasa.",
        "alert_what_generic": "TAHADHARI YA HATARI",
        "alert_todo_generic": "Kuwa macho na fuata maelekezo rasmi.",
        "alert_to": "Makazi",
        "alert_to_earthquake": "Eneo la kukusanyika",
    },
    "id": {
        "receipt": "Diterima: {what} {where}. Ref {ref}. Moderator akan memeriksa.",
        "receipt_no_place": "Diterima: {what}. Ref {ref}. Lokasi tidak ditemukan; moderator akan memeriksa.",
        "published": "Laporan {ref} sudah diterbitkan. Terima kasih.",
        "rejected": "Laporan {ref} tidak diterbitkan: {reason}",
        "subscribed": "Anda akan menerima peringatan untuk {where}. Kirim BERHENTI untuk berhenti.",
        "which": "Yang mana? {options}. Kirim DAFTAR dan nama lengkap.",
        "no_place": "Lokasi tidak ditemukan. Kirim DAFTAR dan nama RW/kelurahan.",
        "stopped": "Anda tidak akan menerima pesan lagi. Kirim DAFTAR dan lokasi untuk daftar lagi.",
        "help": "Kirim mis. BANJIR 60cm RW04 <lokasi>, TERHALANG <jalan>, DAFTAR <lokasi> atau BERHENTI.",
        "alert": "{what} {where}: {todo} {to}: {shelter}",
        "alert_no_shelter": "{what} {where}: {todo}",
        "dash_title": "Pesan (SMS, WhatsApp, USSD)",
        "dash_off": "Pesan nonaktif: belum ada gateway SMS yang dikonfigurasi.",
        "dash_none": "Belum ada yang berlangganan peringatan (warga mengirim DAFTAR dan nama RW/kelurahan).",
        "dash_caption": "Pelanggan peringatan per wilayah",
        "dash_neighbourhood": "Wilayah",
        "dash_subscribers": "Pelanggan",
        "dash_send": "Kirim peringatan",
        "dash_shelter": "Posko aman terdekat (opsional)",
        "dash_sent": "Peringatan dijadwalkan untuk {n} pelanggan.",
        # Alerts per hazard kind (layers/hazard/kinds): what, what to do, and where to go ("alert_to").
        "alert_what_flood": "PERINGATAN BANJIR",
        "alert_todo_flood": "Segera mengungsi ke tempat tinggi.",
        "alert_what_tsunami": "PERINGATAN TSUNAMI",
        "alert_todo_tsunami": "Segera menjauh dari pantai ke tempat tinggi.",
        "alert_what_earthquake": "PERINGATAN GEMPA BUMI",
        "alert_todo_earthquake": "Pergi ke tempat terbuka, jauhi bangunan.",
        "alert_what_volcano": "PERINGATAN GUNUNG API",
        "alert_todo_volcano": "Segera tinggalkan zona bahaya.",
        "alert_what_volcanic_ash": "PERINGATAN ABU VULKANIK",
        "alert_todo_volcanic_ash": "Tetap di dalam rumah, tutup mulut dan hidung.",
        "alert_what_cyclone": "PERINGATAN SIKLON",
        "alert_todo_cyclone": "Berlindung di bangunan yang kokoh.",
        "alert_what_landslide": "PERINGATAN TANAH LONGSOR",
        "alert_todo_landslide": "Segera jauhi lereng.",
        "alert_what_generic": "PERINGATAN BAHAYA",
        "alert_todo_generic": "Tetap waspada, ikuti arahan petugas.",
        "alert_to": "Posko",
        "alert_to_earthquake": "Titik kumpul",
    },
}
SMS_LIMIT = 160


def text(language: str | None, key: str, **values) -> str:
    """The text ``key`` in ``language`` (English when that language lacks it), filled in, cut to one SMS."""
    lang = language if language in TEXTS else "en"
    custom = (current_app.config.get("MESSAGES_TEXTS") or {}) if current_app else {}
    template = (custom.get(lang) or {}).get(key) or TEXTS[lang].get(key) or TEXTS["en"][key]
    out = template.format(**values)
    return out if len(out) <= SMS_LIMIT else out[: SMS_LIMIT - 1] + "…"


def kind_text(language: str | None, key: str, kind: str | None, *, fallback: str = "generic") -> str:
    """``<key>_<kind>`` in ``language``; ``<key>_<fallback>`` (or ``key`` itself) when no text names that kind."""
    lang = language if language in TEXTS else "en"
    custom = (current_app.config.get("MESSAGES_TEXTS") or {}) if current_app else {}
    for k in (f"{key}_{kind or 'flood'}", f"{key}_{fallback}", key):
        if k in (custom.get(lang) or {}) or k in TEXTS[lang] or k in TEXTS["en"]:
            return text(language, k)
    raise KeyError(key)


def fit(template_key: str, language: str | None, *, shrink: tuple[str, ...], **values) -> str:
    """Like :func:`text`, but shortens the ``shrink`` values (longest first) so the whole text fits 160
    characters: a place or shelter name is cut, never the instruction."""
    lang = language if language in TEXTS else "en"
    values = {k: str(v) for k, v in values.items()}
    out = TEXTS[lang].get(template_key, TEXTS["en"][template_key]).format(**values)
    while len(out) > SMS_LIMIT and any(len(values[k]) > 8 for k in shrink):
        k = max(shrink, key=lambda n: len(values[n]))
        values[k] = values[k][: max(8, len(values[k]) - (len(out) - SMS_LIMIT) - 1)].rstrip() + "…"
        out = TEXTS[lang].get(template_key, TEXTS["en"][template_key]).format(**values)
    return out[:SMS_LIMIT]


DASHBOARD_KEYS = (
    "dash_title",
    "dash_off",
    "dash_none",
    "dash_caption",
    "dash_neighbourhood",
    "dash_subscribers",
    "dash_send",
    "dash_shelter",
)


def dashboard_strings(language: str | None) -> dict[str, str]:
    out = {k.removeprefix("dash_"): text(language, k) for k in DASHBOARD_KEYS}
    lang = language if language in TEXTS else "en"
    out["sent"] = TEXTS[lang].get("dash_sent", TEXTS["en"]["dash_sent"])  # filled in by the template
    return out
