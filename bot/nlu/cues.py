"""The lexical detectors beside the intent model: does a reply name a problem, say "no", or ask?

The safety policy (shared/CONVERSATION.md, "problems first, asks only on a clean yes") must not
hang on one model's guess: a problem stated in words the model never saw ("the pan rusted",
"so much for 'waterproof'") still counts, and a "yes" that is really a question ("why should
I?") or carries a "no" is not a clean yes. These cues are words and phrasings per trained
language, written from the intent definitions (never from held-out sentences), matched on folded
text (lower case, accents removed: bot/nlu/cue_words.py). They only ever make the bot more
careful: a cue turns praise into a problem, or a yes into "ask again", never the other way.

`read_cues(text)` is pure and cheap (a few regexes); `with_cues(parse)` attaches them to a parse
(`Parse.cues`, bot/base/parse.py), which the conversation layer does for every parse the engine
gets, whatever parser made it.
"""
from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from typing import Optional

from bot.base.parse import GENERAL, Cues, Parse
from bot.nlu.cue_words import PROBLEM_CUES, fold

# ---- problems ---------------------------------------------------------------------------

# English, stricter than the entity fallback in rasa_nlu.py (that one runs only once the model
# already said "problem"; this one runs on every reply, praise included). Folded text.
_ENGLISH: tuple[tuple[str, str], ...] = (
    ("not_as_described", r"not as (?:described|advertised|pictured|shown)|nothing like the (?:picture|photo|description|"
                         r"listing|ad)|(?:looks?|looked) nothing like|false advertising|misleading|\bfake\b|"
                         r"not what (?:the|your) (?:listing|description|website|ad) (?:says|said)"),
    ("wrong_item", r"\bwrong (?:item|colou?r|model|one|product|flavou?r|thing|book|version|size|order|shoes?|pair)|"
                   r"not what i (?:ordered|bought|paid for)|someone else'?s|different (?:item|product|one|colou?r|model) "
                   r"(?:than|from|to)|sent (?:me )?the wrong"),
    ("missing_part", r"\bmissing\b|(?:wasn'?t|weren'?t|was not|were not|not) in the (?:box|package|parcel)|"
                     r"not included|\bno (?:charger|charging cable|cable|screws|instructions|manual|strap|lid|batter\w*|"
                     r"remote|adapter|plug)\b|\bincomplete\b|came without|arrived without (?:the|a|its|any) "
                     r"(?:charger|cable|screws|instructions|manual|strap|lid|batter\w*|remote|adapter|plug)"),
    ("size_fit", r"\btoo (?:small|big|tight|loose|short|long|narrow|wide|large|snug)\b|\bruns? (?:small|large|big)\b|"
                 r"(?:doesn'?t|does not|don'?t|do not|didn'?t|did not|won'?t) fit\b|(?:size|fit) is (?:off|wrong)"),
    ("not_received", r"never (?:arrived|came|got here|showed up)|not (?:been )?(?:received|delivered)|"
                     r"haven'?t (?:received|got(?:ten)?) (?:it|them|my|the|anything)|"
                     r"(?:hasn'?t|has not|haven'?t|have not) (?:arrived|been delivered|come)|"
                     r"didn'?t (?:get|arrive|receive|come)|(?:package|parcel|order) (?:is |was |got )?lost|"
                     r"wrong address|(?:marked|says|shows|showing) (?:as )?delivered but|nothing (?:came|arrived)|"
                     r"returned to sender|still not here|where is my (?:order|package|parcel)"),
    ("late", r"\blate\b|\bdelay(?:ed|s)?\b|overdue|still waiting|no sign of|(?:hasn'?t|has not) (?:shipped|moved)|"
             r"\bstuck (?:in|at)\b|taking (?:forever|ages)|past the (?:delivery|due) date"),
    ("damaged", r"\bbroken?\b|\bbrokn\b|\bcrack(?:ed|s)?\b|\bdent(?:s|ed)?\b|scratch(?:ed|es)\b|smashed|shattered|"
                r"ripped|\btorn\b|damaged?\b|\bbent\b|chipped|snapped|crushed|squashed|soaked|\brust(?:ed|y|ing|s)?\b|"
                r"peel(?:ed|ing|s)? (?:off|away)|\bpeeling\b|frayed|\bstain(?:ed|s)?\b|faded|melted|warped|"
                r"\bsplit\b|\bburst\b|holes? in\b|\bdented\b|fell apart|falling apart"),
    ("defective", r"(?:doesn'?t|does not|won'?t|wont|isn'?t|is not|stopped|don'?t|didn'?t|did not|can'?t|cannot|"
                  r"no longer|not) (?:work|charg|turn(?:ing)? on|start|switch(?:ing)? on|connect|power|pair|respond|"
                  r"heat|cool|hold (?:a )?charge|close|seal|stay on)|(?:is|was|arrived|battery|came|totally|completely) dead\b|"
                  r"dead on arrival|faulty|defect|\bleak(?:s|ing|ed|y)?\b|"
                  r"came (?:off|apart|unglued|undone|loose|unstitched)|\bdied\b|cutting out|keeps? (?:crashing|"
                  r"disconnecting|turning off|dying|dropping)|\bcrash(?:es|ed|ing)\b|disconnect|flicker|buzz(?:es|ing)\b|"
                  r"stopped working|quit working|malfunction|glitch|overheat|unglued|unstitched|came off"),
    (GENERAL, r"(?:a|an|some|the|big|real|serious) (?:problem|issue|fault)s? with|\bproblems? with (?:it|the|my|this)|"
              r"\bissues? with (?:it|the|my|this)|waste of money|piece of (?:junk|crap|garbage)|\buseless\b|"
              r"\bjunk\b|\brubbish\b|\bgarbage\b|\bdoes(?:n'?t| not) do what it|\bbadly made\b|poor quality|"
              r"cheaply made|fell to pieces"),
)

# A claim quoted back, or "so much for" a claim: sarcasm about what the listing promised
# ("'waterproof', great job"): the product is not as described, whatever the praise around it.
_CLAIMS = (r"water ?-?proof|shock ?-?proof|unbreakable|non ?-?stick|stainless|scratch ?-?proof|indestructible|"
           r"rust ?-?proof|durable|premium|long[- ]lasting|"
           r"impermeable|a prueba de agua|antigolpes|irrompible|antiadherente|inoxidable|resistente|"
           r"a prova d'?agua|impermeavel|a prova de choque|inquebravel|antiaderente|"
           r"wasserdicht|sto(?:ss|ß)fest|unzerbrechlich|antihaft|rostfrei|kratzfest|"
           r"etanche|antichoc|incassable|anti-?adhesif|inoxydable|"
           r"impermeabile|antiurto|indistruttibile|inossidabile")
_QUOTES = "\"'“”‘’«»„‚"
_CLAIM = rf"(?:{_CLAIMS}|impermeab\w*|etanch\w*|impermeave\w*)\w{{0,3}}"    # plurals and genders too
_SARCASM = re.compile(rf"[{_QUOTES}]\s*{_CLAIM}\s*[{_QUOTES}]|"
                      rf"(?:so much for|supposedly|so-called|so called|supuestamente|supostamente|sogenannt\w*|"
                      rf"angeblich|soi-disant|soi disant|pretendument|cosiddett\w*|presunt\w*|tanto per il)\s+"
                      rf"(?:being |the |it being |ser |essere |etre )?{_CLAIM}")

# More words per language beside cue_words.PROBLEM_CUES: what goes wrong with things over time
# (rust, peeling, a seam), and problems named in general words.
_MORE: dict[str, tuple[tuple[str, str], ...]] = {
    "es": (("not_as_described", r"no (?:es|era|se parece) (?:como|a|al|en nada a)(?: en)? (?:la|las|el|lo de la|lo del) "
                                r"(?:foto|fotos|descripcion|anuncio|web)|no coincide con (?:la descripcion|las fotos|el anuncio)|"
                                r"nada que ver con (?:la foto|las fotos|el anuncio|la descripcion)|publicidad enganosa|"
                                r"falsificad|imitacion barata"),
           ("damaged", r"oxidad|oxido\b|se (?:oxido|pelo|desgasto|destino|rompio|partio)|descolorid|destenid"),
           (GENERAL, r"(?:un|algun|tengo un|hay un) (?:problema|fallo|defecto) con|no sirve (?:para nada)?\b|"
                     r"una porqueria|una basura|tirar el dinero|dinero tirado|mala calidad|decepcionad[oa]s? con el")),
    "pt": (("not_as_described", r"nao (?:e|era) (?:como|igual) (?:na|nas|a|ao|no) (?:foto|fotos|imagem|descricao|anuncio|site)|"
                                r"nao corresponde a descri|nada a ver com (?:a foto|as fotos|o anuncio|a descricao)|"
                                r"propaganda enganosa|publicidade enganosa|falsificad"),
           ("damaged", r"enferruj|ferrugem|oxidad|descasc|desbot|se (?:partiu|rasgou|soltou)|soltou-se|descosturou"),
           (GENERAL, r"(?:um|algum|tenho um|ha um) (?:problema|defeito) com|nao serve (?:para nada)?\b|"
                     r"uma porcaria|um lixo|dinheiro deitado fora|ma qualidade|pessima qualidade")),
    "de": (("defective", r"ausgefallen|fallt (?:immer wieder |standig )?aus|(?:ging|geht|ist) (?:sofort |gleich )?kaputt|"
                         r"hat den geist aufgegeben|funktioniert nicht mehr"),
           ("not_as_described", r"sieht (?:ganz |vollig |total |viel )?anders aus|anders als (?:auf dem|auf den|im|in der) "
                                r"(?:bild|bildern|foto|fotos|beschreibung|shop)|nicht wie (?:beschrieben|abgebildet)|"
                                r"entspricht nicht der beschreibung|gefalscht|falschung"),
           ("damaged", r"rost|verrostet|rostig|blattert ab|abgeblattert|lost sich|hat sich\b.{0,30}\b(?:gelost|abgelost)|"
                       r"(?:sohle|naht|absatz|griff|henkel|deckel)\b.{0,30}\b(?:gelost|abgelost|abgefallen|abgegangen)|"
                       r"naht ist (?:auf|offen|gerissen)|ausgeblichen|verfarbt"),
           (GENERAL, r"(?:ein|das|ein gro(?:ss|ß)es) problem mit|problem(?:e)? mit (?:dem|der|den|meine\w*)|"
                     r"unbrauchbar|schrott|mull\b|geldverschwendung|schlechte qualitat|billig verarbeitet")),
    "fr": (("not_as_described", r"pas (?:comme|conforme a) (?:sur )?(?:la |les |l')?(?:photos?|description|annonce)|"
                                r"rien a voir avec (?:la photo|les photos|l'annonce|la description)|non conforme|"
                                r"publicite mensongere|contrefacon"),
           ("damaged", r"rouill|s'ecaille|ecaill|decollee?s?\b|s'est (?:decolle|casse|dechire|abime|defait)|"
                       r"decolor|delave|couture (?:lache|defaite)"),
           (GENERAL, r"(?:un|des|gros) (?:probleme|souci|defaut)s? (?:avec|sur)|inutilisable|nul(?:le)?\b|"
                     r"camelote|de la merde|argent jete|mauvaise qualite|aucune qualite")),
    "it": (("not_as_described", r"non (?:e|era) come (?:in|nella|nelle|nell'|sul|descritt)\w*|non corrisponde alla "
                                r"descrizione|niente a che vedere con (?:la foto|le foto|l'annuncio|la descrizione)|"
                                r"pubblicita ingannevole|contraffatt|tarocc"),
           ("damaged", r"arrugginit|ruggine|si e (?:rotto|rotta|staccat[oa]|scollat[oa]|strappat[oa]|sciolt[oa])|"
                       r"scollat|staccat|spellat|sbiadit|scolorit|si sta(?:nno)? (?:staccando|rompendo)"),
           (GENERAL, r"(?:un|qualche|ho un|c'e un) (?:problema|difetto) con|inutilizzabile|una schifezza|"
                     r"soldi buttati|pessima qualita|scarsa qualita|fa schifo")),
}
# Japanese has no model: a few unmistakable words still make its problems reach a person.
_JAPANESE = (("damaged", r"壊れ|割れ|破れ|傷が|へこ"), ("defective", r"故障|不良|動かない|つかない|充電できない"),
             ("not_received", r"届かない|届いていない|届いてない|未着"), ("wrong_item", r"違う商品|間違った商品"),
             ("missing_part", r"入っていない|欠品|足りない"))

# Phrases that look like a cue and are not ("esta tarde": this afternoon; "tutti i pezzi": all
# the parts): blanked before matching.
_BENIGN = re.compile(r"\b(?:esta|la|por la|buenas|de la|toda la) tarde\b|\b(?:tutti|tutte) (?:i|le) (?:pezzi|parti)\b|"
                     r"\b(?:chemise|pull|tissu|motif|t-shirt|haut|robe|chaussettes?) rayee?s?\b|\bun tiers\b|"
                     # "exactly what I needed / was missing": praise in every language
                     r"\b(?:ce|tout ce|exactement ce|precisement ce|pile ce) qu'il (?:me |nous )?(?:fallait|manquait)\b|"
                     r"\b(?:lo|justo lo|exactamente lo) que (?:me |le |nos )?(?:faltaba|hacia falta)\b|"
                     r"\b(?:o|era o|exatamente o|mesmo o) que (?:me |nos )?(?:faltava|fazia falta)\b|"
                     r"\b(?:quello|proprio quello|esattamente quello|cio) che (?:mi |ci )?(?:mancava|serviva)\b|"
                     r"\bexactly what (?:i|we|my \w+|the \w+) (?:was |were )?(?:missing|needed)\b|"
                     r"\bme ha cambiado la vida\b|\bbombenfest\b|\bpe atras\b")

# Words that cancel a cue right before it in the same clause: "no scratches", "nothing broken".
_NEGATORS = frozenset("""
no not never nothing none without zero nor isnt wasnt arent werent dont doesnt didnt hasnt havent wont
cant couldnt hadnt
sin nada ningun ninguna nunca ni tampoco
sem nada nenhum nenhuma nunca nem
kein keine keinen keiner keinem keines nicht nichts ohne nie niemals
pas sans aucun aucune rien jamais ni
senza nessun nessuna niente nulla mai
""".split())
_CLAUSE = re.compile(r"[,.;:!?()\n]| but | pero | mas | aber | mais | ma ")
_WORD = re.compile(r"[\w']+")


@lru_cache(maxsize=1)
def _problem_table() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Every language's (kind, pattern), the more specific kinds first within a language."""
    table: list[tuple[str, str]] = list(_ENGLISH)
    for language, cues in PROBLEM_CUES.items():
        # the entity fallback's "as described" cues name any photo ("como en las fotos" is praise)
        table.extend(cue for cue in cues if cue[0] != "not_as_described")
        table.extend(_MORE.get(language, ()))
    table.extend(_JAPANESE)
    return tuple((kind, re.compile(pattern)) for kind, pattern in table)


def _negated(folded: str, start: int) -> bool:
    """A negating word among the three words before `start`, in the same clause."""
    before = _CLAUSE.split(folded[:start])[-1]
    words = [w.replace("'", "") for w in _WORD.findall(before)][-3:]
    return any(w in _NEGATORS for w in words)


def problem_cue(text: str) -> Optional[str]:
    """The problem a reply names in words, whatever the intent model says: a problem type,
    GENERAL for a problem named in general words, or None. A cue right after a "no"/"not" in
    the same clause does not count ("no scratches at all")."""
    folded = fold(text)
    if _SARCASM.search(folded):
        return "not_as_described"
    folded = _BENIGN.sub(" ", folded.replace("’", "'"))
    for kind, pattern in _problem_table():
        for match in pattern.finditer(folded):
            if not _negated(folded, match.start()):
                return kind
    return None


# ---- "no" and questions -----------------------------------------------------------------

# Stock phrases that carry a "no" but mean yes or are polite ("sure, no problem", "why not").
_POLITE = re.compile(r"\b(?:no (?:problem|worries|prob)|why not|not a problem|of course|sin problema|por que no|"
                     r"claro que si|sem problema|porque nao|por que nao|kein problem|warum nicht|pas de (?:probleme|souci)|"
                     r"pourquoi pas|nessun problema|perche no|perche non)\b[!.?]*")
_NO_WORDS = frozenset("""
no not never nope nah dont doesnt didnt wont cant cannot rather
nunca tampoco jamas
nao nunca nem
nein nicht kein keine nie lieber
non pas jamais
mai
""".split())
# A reply that asks rather than answers: a question mark, or a question opening.
_QUESTION = re.compile(
    r"\?|^\s*(?:why|how|what|who|do i|does it|must i|should i|have i to|do i have to|is it|are you|can i|"
    r"por ?que|para que|tengo que|debo|hay que|"
    r"porque|por que|tenho de|tenho que|devo|preciso|"
    r"warum|wieso|weshalb|wozu|muss ich|soll ich|"
    r"pourquoi|dois-je|je dois|faut-il|est-ce que|"
    r"perche|devo|tocca a me|a che serve)\b")


def has_negation(text: str) -> bool:
    """A "no"/"not" word in the reply, stock polite phrases ("no problem", "why not") aside."""
    folded = _POLITE.sub(" ", fold(text).replace("’", "'"))
    return any(w.replace("'", "") in _NO_WORDS for w in _WORD.findall(folded))


def is_question(text: str) -> bool:
    """The reply asks something ("why should I?", "do I have to", "¿para qué?")."""
    folded = _POLITE.sub(" ", fold(text)).strip()
    return bool(_QUESTION.search(folded))


def read_cues(text: str) -> Cues:
    """Every cue of one reply."""
    return Cues(problem_cue(text), has_negation(text), is_question(text))


def with_cues(parse: Parse) -> Parse:
    """The parse with the cues of its text attached (`Parse.cues`)."""
    return replace(parse, cues=read_cues(parse.text))
