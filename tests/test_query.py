"""Follow-up questions: when a question leans on the conversation, and what is added to its search."""

from qa.search.query import content_words, leans_on_history, resolve, topic


def test_content_words_drop_stopwords_question_words_and_repeats():
    assert content_words("What is the treatment of the treatment for hemifacial spasm?") == [
        "treatment",
        "hemifacial",
        "spasm",
    ]


def test_pronouns_and_short_questions_lean_on_history():
    assert leans_on_history("What causes it?")
    assert leans_on_history("How is the disease treated?")
    assert leans_on_history("Why?")
    assert not leans_on_history("What causes hemifacial spasm?")


def test_a_question_that_continues_the_last_one_leans_on_history():
    assert leans_on_history("And the side effects?")
    assert leans_on_history("What about botulinum toxin injections?")
    assert leans_on_history("how about in children?")
    assert not leans_on_history("Anderson reported which side effects?")
    assert resolve("And the side effects?", ["Is botulinum toxin used for hemifacial spasm?"]) == (
        "And the side effects? (botulinum toxin used hemifacial spasm)"
    )


def test_self_contained_question_is_searched_as_is():
    history = ["What is hemifacial spasm?"]
    assert resolve("  What   causes facial twitching? ", history) == "What causes facial twitching?"
    assert resolve("What causes it?") == "What causes it?"
    assert resolve("What causes it?", []) == "What causes it?"


def test_follow_up_gets_the_topic_of_the_last_self_contained_turn():
    history = ["What is hemifacial spasm?", "How is it treated?"]
    assert resolve("What causes it?", history) == "What causes it? (hemifacial spasm)"


def test_topic_words_already_in_the_question_are_not_repeated():
    assert resolve("Is the spasm painful for them?", ["What is hemifacial spasm?"]) == (
        "Is the spasm painful for them? (hemifacial)"
    )


def test_topic_falls_back_to_a_follow_up_turn_with_content():
    assert topic(["Why does it hurt?"]) == ["hurt"]
    assert topic(["", "What?"]) == []
    assert resolve("And then?", ["What?"]) == "And then?"
