"""Customers are answered in their own language: whose language wins, switching it, STOP and
"a person" in every language, and a language with no NLU that is never guessed at."""
from __future__ import annotations

import pytest

from bot.conversation import language_choice
from bot.base.events import InboundKind
from tests.support.harness import ADDRESS, Harness, make_settings

PT_CSAT = "Como está a correr com Trail Runner 2 shoes? Toque de 1 (mal) a 5 (ótimo)."
PT_BR_GREETING = "Oi, Ana! Obrigado mais uma vez pelo seu pedido."
SHIPPED_LANGUAGES = ["en", "es", "pt", "pt-BR", "de", "fr", "it", "ja"]
FR_CSAT = "Comment se passe l'utilisation de Trail Runner 2 shoes ? Appuyez de 1 (pas bien) à 5 (super)."


def harness(**nlu) -> Harness:
    return Harness(make_settings(schedule={"weekly_cap": 5}, nlu=nlu or {"languages": ["en"]}))


async def test_the_order_language_decides_every_text_and_button():
    h = harness()
    await h.start_checkin(language="pt")
    assert h.texts()[-2:] == ["Olá, Ana! Obrigado mais uma vez pela sua encomenda.", PT_CSAT]
    assert h.last_buttons() == ["1", "2", "3", "4", "5"]
    await h.press("5")
    assert h.texts()[-1] == "Que bom saber! Deixaria uma avaliação curta? Ajuda muito outros clientes."
    labels = [b[0] for b in __import__("json").loads(h.outbox()[-1]["buttons"])]
    assert labels == ["Claro", "Agora não"]
    await h.say("claro")                      # a typed label in the customer's language is the choice
    assert h.texts()[-1].startswith("Obrigado! Aqui está o link:")     # the one ask: no offer after it


async def test_a_regional_variant_uses_its_own_texts_then_its_base_language():
    h = harness()
    await h.start_checkin(language="pt-BR")
    assert h.texts()[-2] == PT_BR_GREETING                      # pt-BR.yml's own wording
    assert h.texts()[-1] == "Como está indo com Trail Runner 2 shoes? Toque de 1 (ruim) a 5 (ótimo)."
    await h.press("5")
    labels = [b[0] for b in __import__("json").loads(h.outbox()[-1]["buttons"])]
    assert labels == ["Claro", "Agora não"]                     # not in pt-BR.yml: from pt.yml


async def test_without_an_order_language_the_platform_language_applies():
    h = harness()
    await h.start_checkin()                                     # no language column: English so far
    assert h.texts()[-1].startswith("How is Trail Runner 2 shoes working for you?")
    await h.deliver(h.event(InboundKind.HELP, text="/help", language_code="de-AT"))
    assert h.texts()[-1].startswith("Ich bin der Nachbetreuungs-Assistent des Shops")


async def test_the_order_language_wins_over_the_platform_language():
    h = harness()
    await h.start_checkin(language="fr")
    await h.deliver(h.event(InboundKind.HELP, text="/help", language_code="de"))
    assert h.texts()[-1].startswith("Je suis l'assistant de suivi de la boutique")


async def test_language_menu_and_a_tap_switch_the_language_for_good():
    h = harness()
    await h.start_checkin(language="pt")
    await h.say("/language")
    assert h.texts()[-1] == "Em que língua prefere que lhe escreva?"
    assert h.last_buttons() == ["lang:en", "lang:es", "lang:pt", "lang:pt-BR", "lang:de", "lang:fr", "lang:it",
                                "lang:ja"]
    await h.deliver(h.event(InboundKind.BUTTON, button_value="lang:fr"))
    assert h.texts()[-1] == "C'est noté : je vous écrirai désormais en français."
    assert h.store.customers.get(h.customer_id()).language_choice == "fr"
    await h.say("hello?")                                       # the open check-in asks again, in French
    assert h.texts()[-1] == FR_CSAT


async def test_saying_a_language_name_switches_too():
    h = harness()
    await h.start_checkin()
    await h.say("Deutsch")
    assert h.texts()[-1] == "Erledigt: Ab jetzt schreibe ich Ihnen auf Deutsch."
    await h.say("English")
    assert h.texts()[-1] == "Done: I'll write to you in English from now on."


@pytest.mark.parametrize("text, expected", [
    ("in German please", "de"), ("auf Deutsch, bitte", "de"), ("auf Italienisch bitte", "it"),
    ("em francês, por favor", "fr"), ("¿puedes escribirme en francés?", "fr"), ("en alemán, por favor", "de"),
    ("en espagnol s'il vous plaît", "es"), ("in portoghese per favore", "pt"), ("日本語でお願いします", "ja"),
    ("Englisch", "en"), ("inglés", "en"), ("/language it", "it"),
    ("português do Brasil", "pt-BR"), ("em português do Brasil, por favor", "pt-BR"), ("português", "pt"),
])
def test_a_short_request_in_any_language_names_the_language(text, expected):
    assert language_choice.requested(text, SHIPPED_LANGUAGES) == expected


@pytest.mark.parametrize("text", [
    "no English", "I speak German but the screen is broken", "the German post lost my parcel",
    "bitte", "por favor", "in", "stop", "das Display ist kaputt, bitte helfen Sie mir auf Deutsch oder Englisch",
])
def test_a_message_that_merely_mentions_a_language_is_no_request(text):
    assert language_choice.requested(text, SHIPPED_LANGUAGES) is None


async def test_asking_in_a_sentence_switches_for_good():
    h = harness()
    await h.start_checkin(language="pt")
    await h.say("em alemão, por favor")
    assert h.texts()[-1] == "Erledigt: Ab jetzt schreibe ich Ihnen auf Deutsch."
    assert h.store.customers.get(h.customer_id()).language_choice == "de"


@pytest.mark.parametrize("language, stop, confirmation", [
    ("pt", "pare", "Feito: não vai receber mais mensagens nossas."),
    ("de", "Stopp!", "Erledigt: Sie erhalten keine Nachrichten mehr von uns."),
    ("fr", "arrête", "C'est fait : vous ne recevrez plus de messages de notre part."),
    ("it", "basta", "Fatto: non riceverai più messaggi da noi."),
    ("ja", "停止", "承知しました。今後メッセージはお送りしません。"),
    ("es", "parar", "Hecho: no recibirás más mensajes nuestros."),
])
async def test_stop_in_the_customers_own_words(language, stop, confirmation):
    h = harness()
    await h.start_checkin(language=language)
    await h.say(stop)
    assert h.texts()[-1].startswith(confirmation)
    assert h.identity().opted_out
    await h.advance(__import__("datetime").timedelta(days=30))
    assert h.texts()[-1].startswith(confirmation)              # silence afterwards


@pytest.mark.parametrize("language, words", [("de", "Mitarbeiter"), ("es", "quiero hablar con una persona"),
                                             ("ja", "オペレーター"), ("en", "a person, please")])
async def test_a_person_please_in_any_language_escalates(language, words):
    h = harness()
    await h.start_checkin(language=language)
    await h.say(words)
    assert h.case() is not None and h.case().reason == "human"


async def test_free_text_in_a_language_without_nlu_is_never_guessed_at():
    h = harness()                                               # the model knows English only
    await h.start_checkin(language="ja")
    parser_calls = len(h.parser.calls)
    await h.say("届きました great")                              # the stand-in NLU would call it praise
    assert len(h.parser.calls) == parser_calls + 1
    assert h.case() is None and h.scores() == {}                # never read by a model that cannot read it
    assert "ボタンをタップしてください" in h.texts()[-2] and "STOP" in h.texts()[-2]
    assert h.last_buttons() == ["1", "2", "3", "4", "5"]


async def test_a_problem_in_japanese_words_still_reaches_a_person():
    # no model, but the problem cues (bot/nlu/cues.py) know a few unmistakable words: problems first
    h = harness()
    await h.start_checkin(language="ja")
    await h.say("届いたら割れていました")
    assert h.case() is not None and (h.case().reason, h.case().problem_type) == ("product_problem", "damaged")


async def test_a_trained_language_reaches_the_engine():
    h = harness(languages=["en", "es"])
    await h.start_checkin(language="es")
    await h.say("llegó broken")                                 # the stand-in reads "broken"
    assert h.case() is not None and h.case().reason == "product_problem"


async def test_an_unknown_sender_is_answered_in_their_platform_language():
    h = harness()
    await h.deliver(h.event(InboundKind.TEXT, address="999", text="hola", language_code="es"))
    assert h.channel.texts("999")[-1].startswith("Soy el asistente de seguimiento de la tienda")
    assert ADDRESS != "999"


async def test_agents_see_the_language_and_the_report_slices_by_it():
    from bot.store.reporting import Period, Reporting

    h = harness()
    await h.start_checkin(language="de")
    await h.press("1")
    await h.say("es ist kaputt broken")
    card = h.core.cases.card(h.case().id, h.clock.now())
    assert card["language"] == "Deutsch (de)"                  # the agent knows whom they answer
    groups = Reporting(h.store.db).groups(Period(), "language", h.clock.now())
    assert [g["key"] for g in groups] == ["de"]
    assert groups[0]["csat"]["n"] == 1


async def test_free_text_is_read_with_the_customers_language_known():
    h = harness(languages=["en", "pt"])
    await h.start_checkin(language="pt-BR")
    await h.say("chegou partido")
    assert h.parser.languages[-1] == "pt-BR"                    # the order's language, as a hint
    await h.say("Deutsch")                                      # their own choice beats the order
    await h.say("es ist kaputt")
    assert h.parser.languages[-1] == "de"


async def test_the_async_path_passes_the_language_too():
    h = harness()
    await h.start_checkin(language="fr")
    await h.core.on_event(h.event(InboundKind.TEXT, text="il est cassé"))
    assert h.parser.languages[-1] == "fr"


async def test_a_strangers_text_is_read_in_their_platform_language():
    h = harness()
    await h.deliver(h.event(InboundKind.TEXT, address="999", text="hola", language_code="es-MX"))
    assert h.parser.languages[-1] == "es-MX"
    await h.deliver(h.event(InboundKind.TEXT, address="998", text="hello"))
    assert h.parser.languages[-1] == "en"                       # nothing known: the shop's default


async def test_a_malformed_platform_language_is_no_language():
    h = harness()
    await h.start_checkin()
    await h.deliver(h.event(InboundKind.TEXT, text="hello", language_code={"not": "a tag"}))
    assert h.parser.languages[-1] == "en"
    await h.core.on_event(h.event(InboundKind.TEXT, text="hi", language_code=3.5))
    assert h.parser.languages[-1] == "en" and h.parser.calls[-1] == "hi"
