"""Aftercare's own Rasa pipeline component, named by module path in config.yml's `nlu:`.

It runs inside the trained graph, so training and parsing see the same tokens; there is no
rewriting of the text around the model. Imported only by Rasa (it imports Rasa).
"""
from __future__ import annotations

from typing import Any, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.shapes import shaped_words


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False
)
class ShapeTokenizer(WhitespaceTokenizer):
    """Rasa's WhitespaceTokenizer, with order numbers, amounts, dates and e-mail addresses
    replaced by one placeholder token each (`bot.nlu.shapes`). Token offsets still point at
    the original text, so entity spans are unchanged."""

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        tokens = super().tokenize(message, attribute)
        if attribute != "text" or not tokens:
            return tokens
        shaped = shaped_words([t.text for t in tokens])
        for token, text in zip(tokens, shaped):
            if text != token.text:
                token.text = text
                token.lemma = text
        return tokens

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """As WhitespaceTokenizer's."""
        return WhitespaceTokenizer.get_default_config()
