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
    "de": (r"\b{score}\s*(?:von|aus)\s*(?:5|10|funf|fuenf|zehn)\b",
           r"\b{score}\s+(?:sterne?n?|punkte?n?)\b",
           r"\b(?:gebe|vergebe|gabe|gaebe|geben|vergeben|bewerte)\s+(?:ich |es |dem |ihm |ihr )?"
           r"(?:eine |ein |die |glatte |volle |klare )?{score}\b"
           r"(?!\s*(?:tage?n?|wochen?|monate?n?|jahre?n?|stunden?|minuten?|mal|euro)\b)"),
    "fr": (r"\b{score}\s*sur\s*(?:5|10|cinq|dix)\b",
           r"\b{score}\s+etoiles?\b",
           r"\bj(?:e |')(?:lui |leur |y )?(?:donne|donnerais|mets|mettrais|note|attribue|ai mis|ai donne)\s+"
           r"(?:un |une |la note de )?{score}\b(?!\s*(?:jours?|semaines?|mois|ans?|heures?|minutes?|fois|euros?)\b)"),
    "it": (r"\b{score}\s*su\s*(?:5|10|cinque|dieci)\b",
           r"\b{score}\s+stell[ae]\b",
           r"\b(?:(?:gli|le|ti|vi) do|darei|metto|metterei|voto|ho messo|ho dato)\s+(?:un |una |un bel |il )?"
           r"{score}\b(?!\s*(?:giorni|settimane|mesi|anni|ore|minuti|volte|euro)\b)",
           r"\bdo (?:un|una) (?:bel )?{score}\b(?!\s*(?:giorni|settimane|mesi|anni|ore|minuti|volte|euro)\b)"),
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
    "de": (
        ("not_as_described", r"beschreibung|beschrieben|abbildung|\bfotos?\b|\bbilde?r?n?\b|produktbild|"
                             r"sieht (?:ganz |vollig |total |viel )?anders aus|anders als (?:auf|im|online)|"
                             r"gefalscht|falschung|\bfake\b"),
        ("wrong_item", r"\bfalsche[nrsm]?\b|falsch geliefert|(?:ein |eine )?andere[snm]? (?:modell|produkt|artikel|farbe|"
                       r"ausfuhrung|teil)|nicht (?:das|die|den|was) (?:ich )?bestellt|\b(?:an)?statt\b|vertauscht|"
                       r"verwechselt|nicht meine bestellung|\w+ bestellt und (?!nichts|noch|nie)\w+ (?:bekommen|erhalten|geliefert)"),
        ("missing_part", r"\bfehl(?:t|en|te|ten)\b|unvollstandig|nicht (?:dabei|enthalten|beigelegt|im lieferumfang)|"
                         r"lag nicht bei|\bohne (?:kabel|ladegerat|netzteil|anleitung|schrauben|deckel|batterien?|"
                         r"fernbedienung)|\bkein(?:e|en)? (?:kabel|ladegerat|ladekabel|netzteil|anleitung|schrauben|deckel|"
                         r"batterien|fernbedienung)\b"),
        ("size_fit", r"\bzu (?:klein|gro(?:ss|ß)|eng|weit|kurz|lang|schmal|breit|locker)\b|gro(?:ss|ß)e passt nicht|"
                     r"(?:passt|passen|sitzt|sitzen) (?:mir )?(?:gar )?nicht|fallt (?:sehr |viel )?(?:klein|gro(?:ss|ß)|riesig)|"
                     r"nummer zu (?:klein|gro(?:ss|ß))"),
        ("not_received", r"nie (?:angekommen|erhalten|bekommen|geliefert|da)|(?<!noch )nicht (?:angekommen|erhalten|"
                         r"bekommen|zugestellt|geliefert)|nichts (?:erhalten|bekommen|angekommen)|keine lieferung|"
                         r"(?:abgegeben|zugestellt|geliefert)\b.{0,20}\b(?:nicht|nichts|kein)|bei mir ist nichts|"
                         r"verloren|verschwunden|(?:falsche|andere) adresse|zuruck an den absender"),
        ("late", r"verspat|verzoger|zu spat\b|immer noch nicht|noch nicht (?:da|angekommen|verschickt|versandt)|"
                 r"(?:hangt|steckt|festgesteckt)\b.{0,20}\b(?:fest|zoll|seit)|\bzoll\b|seit .{0,25}unterwegs|"
                 r"dauert (?:ewig|so lange|zu lange|ewigkeiten)|uberfallig|verschoben|zieht sich"),
        ("damaged", r"kaputt|beschadigt|zerbrochen|gebrochen|gesprungen|einen sprung\b|\briss\b|zerkratzt|kratzer|delle|"
                    r"eingedruckt|verbeult|verbogen|zerrissen|\bloch\b|\bflecke?n?\b|scherben|zersplittert|angeschlagen|"
                    r"zerdruckt|\bnass\b|angeknackst|zerplatzt"),
        ("defective", r"funktionier(?:t|en) (?:gar |uberhaupt )?nicht|\bgeht (?:gar |uberhaupt )?nicht\b|\bgeht nicht mehr\b|"
                      r"\bgeht nich\b|ladt nicht|startet nicht|springt nicht an|reagiert (?:gar )?nicht|"
                      r"schaltet sich (?:nicht|standig|dauernd|immer|von selbst)|lasst sich nicht|defekt|tropft|undicht|"
                      r"flackert|brummt|rauscht|bricht (?:immer |standig )?ab|sturzt ab|hangt sich auf|keinen mucks|"
                      r"bleibt (?:schwarz|stehen)|wird nicht erkannt|verbindet sich nicht|kuhlt nicht|heizt nicht"),
    ),
    "fr": (
        ("not_as_described", r"description|\bdecrit|annonce|\bphotos?\b|\bimages?\b|illustration|sur le site|"
                             r"en vrai|contrefacon"),
        ("wrong_item", r"\bmauvais(?:e)? (?:article|modele|produit|couleur|taille|pointure|version|colis)|"
                       r"pas (?:le bon|la bonne|les bons|les bonnes)\b|pas ce que j'ai commande|"
                       r"\bautre (?:article|modele|produit|chose|couleur)|au lieu d|a la place d|pas la mienne|pas le mien|"
                       r"commande (?:du|de la|des|un|une|le|la) \w+ et (?:j'ai recu|j'ai eu|on m'a livre|on m'a envoye)"),
        ("missing_part", r"\bmanqu(?:e|ent|ait|aient)\b|incomplet|pas (?:fourni|inclus)|"
                         r"n'(?:y )?(?:etait|avait) pas (?:de |le |la |les )?(?:cable|chargeur|notice|vis|piles|"
                         r"telecommande|couvercle|adaptateur)|\bsans (?:le |la |les )?(?:cable|chargeur|notice|vis|piles|"
                         r"telecommande|couvercle|adaptateur)\b|\bpas de (?:cable|chargeur|notice|vis|piles|telecommande|"
                         r"mode d'emploi)\b"),
        ("size_fit", r"trop (?:petit|grand|serre|large|court|long|etroit|juste)|taille (?:petit|grand)|"
                     r"la taille ne va pas|ne me va pas|ne (?:me )?vont pas|pointure trop|mal aux pieds"),
        ("not_received", r"jamais (?:arrive|recu|livre)|(?:pas|rien|aucun\w*) recu|(?:rien|aucune livraison) recu|"
                         r"n'est pas arrive|\bperdu|disparu|volatilise|(?:mauvaise|autre) adresse|"
                         r"(?:marque|indique|dit|affiche)\w* (?:comme )?livre|(?:depose|livre|remis)\b.{0,20}\b"
                         r"(?:rien|pas la|n'est pas|aucun)|retourne a l'expediteur|il n'y a rien|rien eu\b"),
        ("late", r"retard|toujours pas (?:la|arrive|livre)|pas encore (?:arrive|livre|la|expedie)|"
                 r"(?:colis|paquet|commande|envoi|livraison) (?:est )?(?:bloque|coince)|douane|en transit|"
                 r"(?:en route|en chemin) depuis|interminable|traine|reporte|n'avance (?:pas|plus)|ne bouge (?:pas|plus)|"
                 r"\btarde"),
        ("damaged", r"\bcass(?:e|ee|es|ees)\b|brise|fissur|\bfele|ebrech|\braye|rayure|abime|dechir|tordu|\bpliee?s?\b|"
                    r"cabosse|ecrase|enfonce|morceaux|eclats|\btrou(?:s|e|ee)?\b|\btach(?:e|es|ee|ees)\b|fendu|mouille|"
                    r"endommag|\bbosse\b|accroc|ecaille"),
        ("defective", r"ne (?:marche|fonctionne|s'allume|demarre|charge|repond|reagit|se connecte|refroidit|chauffe)\w* "
                      r"(?:plus|pas)|\bmarche (?:pas|plus)\b|fonctionne (?:pas|plus)|defectu|en panne|hors service|"
                      r"\bfuit\b|fuite|clignote|gresille|s'eteint|s'arrete|se deconnecte|\bplante\b|bugue|decolle|"
                      r"signe de vie|reste noir|pas reconnu"),
    ),
    "it": (
        ("not_as_described", r"descrizione|descritto|annuncio|\bfoto\b|immagin|illustrazione|sul sito|dal vivo|"
                             r"contraffatt|\bfalso\b|tarocc"),
        ("wrong_item", r"(?<!indirizzo )sbagliat|\baltr[oa] (?:articolo|modello|prodotto|cosa|colore|taglia|versione)|"
                       r"un'altra cosa|non e (?:quello|quella) che ho ordinato|non e (?:il|la) (?:prodotto|versione)? ?giust|"
                       r"invece d|al posto d|non e la mia|non e il mio|scambiat|ordinato (?:il|la|lo|un|una) \w+ e "
                       r"(?:mi e arrivat[oa]|ho ricevuto|ho avuto) (?:il|la|lo|un|una)\b"),
        ("missing_part", r"\bmanc(?:a|ano|ava|avano)\b|incomplet|non (?:era|erano) (?:incluso|inclusi|compreso)|"
                         r"non c'era (?:il|la|lo|l')|non c'erano (?:le|i|gli)|\bsenza (?:il |la |le |i |l')?(?:cavo|"
                         r"caricatore|istruzioni|viti|coperchio|pile|telecomando|alimentatore|libretto)\b"),
        ("size_fit", r"troppo (?:piccol|grand|strett|larg|cort|lung)|veste (?:piccol|grand|larg|strett)|"
                     r"non mi (?:sta|stanno|va|vanno|entra|entrano)\b|numero (?:in )?(?:troppo )?(?:piccol|grand)|"
                     r"fanno male ai piedi|(?:taglia|misura) non (?:va|mi va|e giusta)"),
        ("not_received", r"mai (?:arrivat|ricevut|consegnat)|non (?:l'ho |lo |ho )?ricevut|non (?:mi )?e (?:mai )?arrivat|"
                         r"(?:niente|nulla) (?:ricevut|arrivat)|non ho (?:ricevuto|avuto) (?:niente|nulla)|\bpers[oa]\b|"
                         r"smarrit|sparit|indirizzo sbagliato|altro indirizzo|(?:risulta|dice|segna)\w* consegnat|"
                         r"consegnat[oa] ma|lasciato ma|tornato al mittente|da me non c'e|qui non c'e|non e arrivat"),
        ("late", r"ritard|ancora (?:non|niente|nulla)|non (?:e )?ancora arrivat|(?:pacco|ordine|spedizione|consegna|"
                 r"pacchetto) (?:e )?(?:bloccat|ferm)|dogana|in transito|in viaggio da|rimandat|non si (?:muove|aggiorna)|"
                 r"ci (?:vuole|mette) (?:tanto|troppo|una vita)|non finisce piu|era prevista|doveva arrivare"),
        ("damaged", r"\brott[oaie]\b|frantum|pezzi\b|crepat|\bcrepa\b|incrinat|scheggiat|graffi|ammaccat|\bbozz|"
                    r"strappat|strappo|rovinat|danneggiat|piegat|stort[oa]|spaccat|\bmacchi[ae]\b|\bbuc(?:o|hi)\b|bucat|"
                    r"bagnat|schiacciat|scrost"),
        ("defective", r"non (?:si )?(?:funziona|funzionano|accende|accendono|avvia|carica|caricano|parte|risponde|"
                      r"reagisce|connette|collega|raffredda|scalda)|\bnon va\b|\bnon vanno\b|smesso di funzionare|"
                      r"difettos|guast|si (?:spegne|ferma|blocca|disconnette|riavvia)|\bperde\b|sfarfall|ronz|lampeggia|"
                      r"segni di vita|resta nero|non viene riconosciut|nn funziona"),
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
