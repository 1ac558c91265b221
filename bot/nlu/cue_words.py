"""The keyword rules' words in the other trained languages (English ones: bot/nlu/rasa_nlu.py).

The CRF finds rating and problem-type spans it was trained on; these cues give a score said in
words ("le doy un ocho", "nota dez") or an unseen problem phrase ("chegou em cacos") its
canonical value anyway. Each language's model reads only its own language, so the tables are
merged: a word of one language means the same score in every other (no number word names two
scores). Cues match text lowered and with accents folded, since customers often type without
them ("esta rota", "nao liga"): write the patterns without accents.
"""
from __future__ import annotations

import unicodedata

# Every spelling of 0-10 a customer types, per language (folded spellings where they differ).
NUMBER_WORDS: dict[str, dict[str, int]] = {
    "es": {"cero": 0, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
           "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10},
    "pt": {"zero": 0, "um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3, "três": 3,
           "quatro": 4, "cinco": 5, "seis": 6, "sete": 7, "oito": 8, "nove": 9, "dez": 10},
    "de": {"null": 0, "eins": 1, "ein": 1, "eine": 1, "zwei": 2, "drei": 3, "vier": 4,
           "fünf": 5, "fuenf": 5, "funf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9,
           "zehn": 10},
    "fr": {"zéro": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5,
           "six": 6, "sept": 7, "huit": 8, "neuf": 9, "dix": 10},
    "it": {"zero": 0, "uno": 1, "una": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5,
           "sei": 6, "sette": 7, "otto": 8, "nove": 9, "dieci": 10},
}
# Words for "one" that are also the article ("le doy un ocho"): a score only as a whole span.
ARTICLES = frozenset({"un", "une", "uno", "una", "um", "uma", "ein", "eine"})

# Where a score sits in a sentence; `{score}` is any number word or 0-10. Folded text.
RATING_CUES: dict[str, tuple[str, ...]] = {
    "es": (r"\b{score}\s*(?:de|sobre|en)\s*(?:5|10|cinco|diez)\b",
           r"\b{score}\s+estrellas?\b",
           r"\b(?:doy|daria|pongo|pondria|puntuo|califico|nota|puntuacion|un)\s+(?:un |una |de )?"
           r"{score}\b(?!\s*(?:dias?|semanas?|mes(?:es)?|anos?|horas?|minutos?|veces|euros?)\b)"),
    "pt": (r"\b{score}\s*(?:de|em|sobre|numa escala de)\s*(?:5|10|cinco|dez)\b",
           r"\b{score}\s+estrelas?\b",
           r"\b(?:dou|daria|dou-lhe|daria-lhe|nota|classifico|avalio com)\s+(?:um |uma |nota |o |a )?"
           r"{score}\b(?!\s*(?:dias?|semanas?|mes(?:es)?|anos?|horas?|minutos?|vezes|euros?|reais)\b)"),
}

# (problem type, pattern) per language, the more specific kinds first: the first match wins.
PROBLEM_CUES: dict[str, tuple[tuple[str, str], ...]] = {
    "es": (
        ("not_as_described", r"descripci|anuncio|\bfotos?\b|fotografia|imagen|\bla web\b|"
                             r"no se parece|falsificad|imitacion|\bfalso\b|no es (?:lo que|como) (?:pone|dice|sale)"),
        ("wrong_item", r"equivocad|(?:producto|modelo|articulo|color|sabor) (?:distint|diferente)|"
                       r"\botr[oa] (?:producto|modelo|articulo|color|cosa|marca|sabor)\b|"
                       r"no es (?:lo|el|la) que (?:pedi|compre|encargue)|no es (?:el|la) mi[oa]|"
                       r"distint[oa] (?:al|a lo|del|de lo) que (?:pedi|compre|encargue)|de otra persona|"
                       r"no coincide con (?:mi|el) pedido|cambiad[oa]s?\b"),
        ("missing_part", r"\bfalta|incomplet|sin (?:el|la|los|las|sus) (?:cable|cargador|tornillo|pieza|"
                         r"instrucciones|manual|tapa|pila|bateria|mando|correa|funda)|"
                         r"no (?:venia|venian|viene|vienen|trae|traia|traen|incluye|incluia|estaba|vino) "
                         r"(?:el |la |los |las |ningun |ninguna )?(?:cable|cargador|tornillo|pieza|instrucciones|"
                         r"manual|tapa|pila|bateria|mando|correa|funda)|solo (?:venia|vino|trae|viene) un[oa]?\b"),
        ("size_fit", r"\bqueda(?:n|ba|ban)? (?:muy |super |algo |un poco |demasiado )?(?:pequen|grande|cort|larg|"
                     r"estrech|anch|apretad|justo|holgad|enorme|chic)|demasiado (?:pequen|grande|estrech|anch|cort|"
                     r"larg|apretad|chic)|me aprieta|no me (?:entra|entran|cabe|caben)|"
                     r"talla(?:n)? (?:muy |super )?(?:pequen|grande|chic)|la talla no"),
        ("not_received", r"nunca (?:me )?(?:llego|llegaron|recibi)|no (?:me )?(?:ha|han) llegado|no (?:me )?llego|"
                         r"no (?:lo |la |los |las )?(?:he|hemos) recibido|no (?:lo |la )?recibi|"
                         r"sin (?:aparecer|llegar|recibir)|no aparece|se (?:ha )?perdido|perdid|extravi|"
                         r"otra direccion|direccion equivocada|(?:pone|dice|marca|figura|aparece) (?:que )?(?:como )?"
                         r"entregad|no ha venido nadie|(?:aun|todavia) no (?:lo |la |los |las )?tengo|"
                         r"(?:dejo|dejaron|entrego|entregaron)\b.*\bno (?:esta|hay nada|tengo nada)|"
                         r"no (?:me )?(?:lo |la )?(?:entrego|entregaron|dejo nada|dejaron nada)\b|devuelto al remitente"),
        ("late", r"retras|tarde\b|atrasad|sigo esperando|(?:parado|atascado|estancado|retenido|bloqueado)\b|"
                 r"aduana|deberia (?:haber )?llegado|tenia que (?:haber )?llega|previst[oa] para|no avanza|"
                 r"tarda(?:ndo)? (?:mucho|demasiado|tanto)|demora"),
        ("damaged", r"\brot[oa]s?\b|romp|rajad|raja\b|agrietad|grieta|rayad|rayon|aranaz|aranad|golpe|abollad|"
                    r"aplastad|pedazos|anicos|trizas|rasgad|descosid|manchad|mancha|agujer|doblad|partid|"
                    r"estropead|danad|mojad|desconchad|astillad|quebrad|hundid"),
        ("defective", r"no (?:me )?(?:funciona|funcionan|enciende|encienden|se enciende|prende|prenden|arranca|"
                      r"carga|cargan|conecta|se conecta|va\b|anda|responde|suena|calienta|enfria)|"
                      r"dej(?:o|aron) de (?:funcionar|ir|andar|cargar|sonar)|ha dejado de|defectuos|defecto|"
                      r"\bfalla|fallando|se apaga|se reinicia|se desconecta|se cuelga|se bloquea|gotea|pierde agua|"
                      r"se (?:despego|despegan|despegaron|desprendio|deshizo)|despegad|muerto|ruido raro|"
                      r"hace ruido|parpadea|se calienta demasiado|pixel"),
    ),
    "pt": (
        ("not_as_described", r"descri|anuncio|\bfotos?\b|fotografia|imagem|imagens|\bno site\b|"
                             r"nao e (?:igual|como) (?:a|na|no|ao)|falsificad|imitacao|\bfalso\b|"
                             r"nao corresponde a descri"),
        ("wrong_item", r"(?:produto|modelo|artigo|cor|coisa|sabor|item|versao|livro) (?:errad|diferente|trocad)|"
                       r"\boutr[oa] (?:produto|modelo|artigo|cor|coisa|marca|sabor)\b|"
                       r"nao e (?:o|a) que (?:pedi|encomendei|comprei)|nao e (?:o|a) (?:meu|minha)|"
                       r"de outra pessoa|(?:veio|vieram|mandaram|enviaram|mandaram-me|enviaram-me) (?:o |a )?outr|"
                       r"\btrocad[oa]s\b|nao bate com o (?:pedido|que)"),
        ("missing_part", r"\bfalt(?:a|am|ou|aram|ava|avam)\b|incomplet|sem (?:o|a|os|as) (?:cabo|carregador|"
                         r"parafuso|peca|manual|instruc|tampa|pilha|bateria|comando|controle|alca|capa)|"
                         r"nao (?:vinha|vinham|veio|vieram|vem|traz|trazia|inclui|tinha) (?:o |a |os |as |nenhum |nenhuma )?"
                         r"(?:cabo|carregador|parafuso|peca|manual|instruc|tampa|pilha|bateria|comando|controle|alca|capa)|"
                         r"so (?:veio|vinha|vem) um[a]?\b"),
        ("size_fit", r"\b(?:fica|ficam|ficou|ficaram|esta|estao|ta|veste|vestem) (?:muito |super |bem |um pouco |"
                     r"meio |demasiado )?(?:pequen|grande|apertad|larg|curt|compri|justo|justinh|folgad|enorme)|"
                     r"(?:pequen|grande|apertad|larg|curt|justo)[oa]?s? demais|tamanho (?:esta |ta )?errad|"
                     r"nao (?:me )?(?:serve|servem|cabe|cabem)\b|aperta(?:m)?\b|demasiado (?:pequen|grande|apertad)"),
        ("not_received", r"nunca (?:me )?(?:chegou|chegaram|recebi)|nao (?:me )?(?:chegou|chegaram)|"
                         r"nao (?:o |a |os |as )?recebi|(?:ainda|continua|continuo) sem (?:receber|aparecer|chegar)|"
                         r"sem (?:aparecer|chegar)|extravi|perdeu-se|se perdeu|perdid|outra morada|"
                         r"(?:endereco|morada) errad|(?:diz|aparece|consta|marca|esta) (?:que )?(?:como )?(?:foi )?entregue|"
                         r"(?:entregue|deixou|deixaram|entregaram)\b.*\bnao (?:esta|vi|tenho|recebi|ha nada)|"
                         r"nao (?:me )?(?:entregou|entregaram|deixou nada|deixaram nada)\b|"
                         r"devolvid[oa] ao remetente|nao esta ca\b"),
        ("late", r"atras|demora|demorando|(?:parad[oa]|pres[oa]|retid[oa]|encalhad[oa])\b|alfandega|"
                 r"(?:devia|deveria) ter chegado|(?:marcad|previst)[oa] para|a espera|esperando|nao avanca|"
                 r"nada de chegar"),
        ("damaged", r"partid|parti(?:u|ram)|quebr|rachad|racha\b|trinc|riscad|risco|amolgad|amassad|esmagad|"
                    r"rasgad|em cacos|estilhac|danific|estragad|mancha|buraco|furad|amachucad|lascad|molhad|"
                    r"tort[oa]\b|descosid"),
        ("defective", r"nao (?:funciona|funcionam|liga|ligam|carrega|carregam|arranca|conecta|emparelha|responde|"
                      r"segura|acende|da sinal|aquece|toca)|deix(?:ou|aram) de (?:funcionar|ligar|carregar)|"
                      r"par(?:ou|aram) de (?:funcionar|ligar|carregar)|defeit|avariad|avaria|desliga sozinh|"
                      r"reinicia sozinh|desliga-se|se desliga|travad|trava\b|pifou|morreu|vaza|verte agua|"
                      r"barulho estranh|faz barulho|aquece demais|descol|pixel"),
    ),
}


def fold(text: str) -> str:
    """Lower case without accents: "Está rota" and "esta rota" are the same to the cues."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def number_words() -> dict[str, int]:
    """Every language's number words, folded and as written, merged into one table."""
    merged: dict[str, int] = {}
    for words in NUMBER_WORDS.values():
        for word, score in words.items():
            merged[word] = score
            merged[fold(word)] = score
    return merged
