"""The shared tokenizer: words, stemmed content terms, stopwords."""

from qa.text.terms import stem, term_set, terms, words


def test_words_lowercase_and_split_hyphenated_words():
    assert words("Middle-aged WOMEN's twitch") == ["middle-aged", "middle", "aged", "women's", "twitch"]


def test_curly_apostrophes_are_normalized():
    assert words("Don’t") == words("Don't") == ["don't"]


def test_underscores_and_punctuation_separate_words():
    assert words("snake_case, (parens) and dots...end") == ["snake", "case", "parens", "and", "dots", "end"]


def test_terms_are_stemmed_content_words_in_order_with_repeats():
    assert terms("The spasms are spreading and the spasm spreads") == ["spasm", "spread", "spasm", "spread"]


def test_stopwords_and_single_letters_go_but_single_digits_stay():
    assert terms("What is a 5 x of the it") == ["5"]


def test_term_set_and_stem():
    assert term_set("twitching twitches twitch") == {stem("twitching")} == {"twitch"}
    assert terms("") == [] and term_set("   ") == set()
