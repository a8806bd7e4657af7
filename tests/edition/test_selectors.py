"""W3C selectors on the text layer and the one rule that places a quote
(edition/tei/selectors.py), shared by the proposing form, the API, re-targeting and exports."""

import pytest

from edition.tei.selectors import (CONTEXT, Quote, QuoteAmbiguous, QuoteNotFound, place_quote,
                                   quote_candidates, selector, utf16_to_code_points)


class TestSelector:
    def test_prefix_and_suffix_are_32_code_points(self):
        text = "".join(chr(ord("a") + i % 26) for i in range(200))
        quote = selector(text, 100, 105)
        assert quote == {"exact": text[100:105], "prefix": text[68:100],
                         "suffix": text[105:137]}
        assert CONTEXT == 32

    def test_context_is_cut_at_the_ends_of_the_text(self):
        assert selector("abc def", 0, 3) == {"exact": "abc", "prefix": "", "suffix": " def"}
        assert selector("abc def", 7, 7) == {"exact": "", "prefix": "abc def", "suffix": ""}

    def test_characters_outside_the_bmp_count_as_one(self):
        text = "😀" * 40 + "x" + "𝔄" * 40
        quote = selector(text, 40, 41)
        assert quote == {"exact": "x", "prefix": "😀" * 32, "suffix": "𝔄" * 32}


class TestQuoteCandidates:
    def test_repeated_phrase_is_told_apart_by_its_context(self):
        text = "he said the the end of the matter"
        first, second = 8, 12
        assert quote_candidates(text, Quote("the", "he said ", " the end")) == [first, second,
                                                                                 23]
        assert quote_candidates(text, Quote("the", "said the ", " end"))[0] == second

    def test_without_context_the_hint_decides(self):
        text = "the the the"
        assert quote_candidates(text, Quote("the"), hint=7) == [8, 4, 0]
        assert quote_candidates(text, Quote("the"), hint=0) == [0, 4, 8]

    def test_case_only_difference_is_not_a_match(self):
        assert quote_candidates("the Republic of korea", Quote("Korea")) == []
        assert quote_candidates("the Republic of korea", Quote("korea")) == [16]

    def test_nbsp_and_space_are_different_characters(self):
        text = "page\u00a0278 and page 279"
        assert quote_candidates(text, Quote("page 278")) == []
        assert quote_candidates(text, Quote("page\u00a0278")) == [0]

    def test_runs_of_spaces_in_a_quote_do_not_match_the_collapsed_layer(self):
        assert quote_candidates("a b", Quote("a  b")) == []

    def test_decomposed_quote_does_not_match_the_nfc_layer(self):
        # The text layer is NFC: callers normalise a quote first (the propose form does).
        text = "Señor Pérez"
        assert quote_candidates(text, Quote("Pe\u0301rez")) == []
        assert quote_candidates(text, Quote("Pérez")) == [6]

    def test_outside_the_bmp(self):
        assert quote_candidates("a 𝔄 b 𝔄", Quote("𝔄", prefix="b ")) == [6, 2]

    def test_empty_quote_is_placed_by_its_context_alone(self):
        text = "to recognition. The Prime Minister"
        assert quote_candidates(text, Quote("", "recognition.", " The"))[0] == 15
        assert quote_candidates(text, Quote("", "xyz", "")) == []


class TestUtf16:
    def test_bmp_offsets_are_code_points(self):
        assert [utf16_to_code_points("aé–b", i) for i in range(5)] == [0, 1, 2, 3, 4]

    def test_a_character_outside_the_bmp_is_two_utf16_units(self):
        text = "a𝔄b😀c"  # UTF-16: a=0, 𝔄=1-2, b=3, 😀=4-5, c=6
        assert utf16_to_code_points(text, 1) == 1
        assert utf16_to_code_points(text, 3) == 2
        assert utf16_to_code_points(text, 4) == 3
        assert utf16_to_code_points(text, 6) == 4
        assert utf16_to_code_points(text, 7) == 5

    def test_a_browser_selection_of_an_astral_character(self):
        text = "see 𝔄 here"
        start, end = utf16_to_code_points(text, 4), utf16_to_code_points(text, 6)
        assert text[start:end] == "𝔄"

    def test_offsets_that_are_not_character_boundaries_are_refused(self):
        assert utf16_to_code_points("a𝔄", 3) == 2
        with pytest.raises(ValueError, match="not a character boundary"):
            utf16_to_code_points("a𝔄", 4)
        with pytest.raises(ValueError, match="not a character boundary"):
            utf16_to_code_points("a𝔄", 2)
        with pytest.raises(ValueError, match="inside a surrogate pair"):
            utf16_to_code_points("a𝔄b", 2)
        with pytest.raises(ValueError, match="negative"):
            utf16_to_code_points("a", -1)


class TestPlaceQuote:
    TEXT = "he said the the end of the matter"

    def test_a_single_occurrence_is_placed(self):
        assert place_quote(self.TEXT, Quote("matter")) == 27

    def test_context_decides_first(self):
        assert place_quote(self.TEXT, Quote("the", "said the ", " end")) == 12

    def test_exact_context_beats_context_that_only_agrees_without_spaces(self):
        text = "said:the end; said: the end"
        assert place_quote(text, Quote("the", "said:", " end")) == 5
        assert place_quote(text, Quote("the", "said: ", " end")) == 20

    def test_typed_context_without_edge_spaces_still_counts(self):
        text = "talks with Kishi and then with Fujiyama, negotiations with Kishi again"
        assert place_quote(text, Quote("Kishi", "negotiations with", "again")) == 59

    def test_the_hint_breaks_a_tie_of_context(self):
        assert place_quote("the the the", Quote("the"), hint=7) == 8

    def test_a_tie_without_hint_is_ambiguous(self):
        with pytest.raises(QuoteAmbiguous) as raised:
            place_quote("the the the", Quote("the"))
        assert raised.value.candidates == [0, 4, 8]

    def test_a_hint_halfway_between_two_does_not_choose(self):
        with pytest.raises(QuoteAmbiguous):
            place_quote("ab ab", Quote("ab"), hint=1.5)

    def test_within_limits_the_search_to_near_the_hint(self):
        with pytest.raises(QuoteNotFound):
            place_quote("x" * 100 + "the", Quote("the"), hint=0, within=50)
        assert place_quote("x" * 100 + "the", Quote("the"), hint=90, within=50) == 100

    def test_not_found(self):
        with pytest.raises(QuoteNotFound):
            place_quote(self.TEXT, Quote("Korea"))

    def test_a_point_by_its_context(self):
        text = "to recognition. The Prime Minister"
        assert place_quote(text, Quote("", "recognition.", " The")) == 15
        with pytest.raises(QuoteNotFound):
            place_quote(text, Quote("", "xyz", ""))
