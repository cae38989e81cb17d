"""Transform's module: the one tokenization and weighting, shared by training and serving.

The graph built here is saved by Transform and loaded into the exported model,
so a served request goes through exactly these ops (no train/serving skew).

Tokenizers (TransformConfig.tokenizer; `tokens` below):
  words       lowercase; markup (`<b>`, `<br />`, `&amp;`) removed; punctuation separates words
              (`console.log(x)` -> console log x) but tokens that mean something in code stay whole
              (`c++`, `c#`, `.net`, `::`, `->`, `=>`, `#include`); `!`, `?`, symbols and emoji are tokens;
              each character of a script written without spaces (Chinese, Japanese, Thai, ...) is a token.
  characters  the same tokens, and n-grams one order longer (character trigrams where words have no spaces).
  auto        per document: `characters` when at least CHARACTERS_FROM_SHARE of its letters are in a
              script written without spaces, else `words` (the run's summary says how the training
              split came out: chosen_tokenization).
  tutorial    the TensorFlow tutorial's standardization, exactly: lowercase, `<br />` to a space, ASCII
              punctuation deleted, whitespace tokens.

Ids follow Keras' TextVectorization: 0 is padding, 1 is out-of-vocabulary, 2.. the vocabulary's
tokens (most frequent first), then `ngram_buckets` ids for the hashed n-grams. A row holds the
document's unigrams, then its n-grams; with max_len N it is padded or cut to N ids, with 0 it is
the whole document (ragged).

Weighting (TransformConfig.weighting): `tfidf` lists each distinct term of a document once, with the
weight a TF-IDF linear model gives it: (1 + log count) x idf, idf = ln((1 + n) / (1 + df)) + 1 from
the training split's n documents, 0 for a term in fewer than MIN_DOCUMENT_FREQUENCY of them (and for
out-of-vocabulary words), the row scaled to unit L2 norm. `none`: every occurrence, no weights (the
model divides by the count: recipe.POOLINGS).
"""

from __future__ import annotations

import re
import string
from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

from models import ragged
from models.features import LABEL_KEY, OOV_ID, PAD_ID, TEXT_KEY, TOKEN_IDS_KEY, TOKEN_TEXTS_KEY, TOKEN_WEIGHTS_KEY
from models.recipe import TransformConfig
from models.vocabulary import frequency_vocabulary

VOCAB_NAME = "tokens"
# Letters and documents counted by script over the training split: the record of what `auto` chose.
LETTERS_BY_SCRIPT_NAME = "letters_by_script"
_RESERVED_IDS = 2
# The baseline's min_df: a term seen in one training document is noise to a linear model (weight 0).
MIN_DOCUMENT_FREQUENCY = 2
# Scripts written without spaces between words (Unicode script names, as RE2's \p{...} knows them).
UNSPACED_SCRIPTS = ("Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar")
CHARACTERS_FROM_SHARE = 0.5
# Document frequencies of vocabulary terms are counted by hash: 2^18 slots for the distinct words of a
# corpus (IMDB's training split has about 100,000), so a vocabulary word shares its slot with a rare
# word now and then, which moves its idf little. 1 MB in the graph.
VOCABULARY_DF_BUCKETS = 2**18

_PUNCTUATION = f"[{re.escape(string.punctuation)}]"
_UNSPACED = "[" + "".join(rf"\p{{{s}}}" for s in UNSPACED_SCRIPTS) + "]"
# HTML tags by name (not any `<...>`: `std::vector<int>` keeps its `int`) and character entities.
_MARKUP_TAGS = "a|b|br|i|u|s|p|em|strong|div|span|code|pre|li|ul|ol|h[1-6]|img|hr|blockquote|font|table|tr|td|th"
_MARKUP = rf"</?(?:{_MARKUP_TAGS}|sup|sub|tt|center|small|big)\b[^<>]*>|&(?:[a-z]+|#[0-9]+);"
# Kept whole though made of punctuation; RE2 tries these before a lone punctuation mark.
_CODE_TOKENS = r"\bc\+\+|\bc#|\bf#|\.net\b|#include\b|#define\b|::|->|=>|==|!=|<=|>=|&&|\|\||\+\+"
_TOKEN_MARKS = rf"{_CODE_TOKENS}|!|\?|\pS|{_UNSPACED}|\pP"


def standardize(text: tf.Tensor) -> tf.Tensor:
    """Lowercase, `<br />` to a space, ASCII punctuation removed (the tutorial's standardization)."""
    lowered = tf.strings.lower(text)
    no_breaks = tf.strings.regex_replace(lowered, "<br />", " ")
    return tf.strings.regex_replace(no_breaks, _PUNCTUATION, "")


def words(text: tf.Tensor) -> tf.RaggedTensor:
    """The `words` tokens (module docstring) of each text."""
    lowered = tf.strings.lower(text, encoding="utf-8")
    no_markup = tf.strings.regex_replace(lowered, _MARKUP, " ")
    # A code token, `!`, `?`, a symbol (\pS: + = $ < emoji), a character of a script written without spaces or a
    # punctuation mark (\pP) becomes a token, then the lone marks but `!` and `?` are dropped. One pass: RE2
    # tries the alternatives in order. The whole match (\0), not a group: RE2 then needs no submatch search
    # (the same tokens as `( ... )|\pP` -> ` \1 `, 1.7x faster on Stack Overflow and 3.4x on Japanese news).
    separated = tf.strings.regex_replace(no_markup, _TOKEN_MARKS, r" \0 ")
    # A lone mark stands between the spaces the pass above put around it (two marks in a row are "  ,  ,  "):
    # dropped from the text before the split, not as tokens after it (5,000 IMDB reviews: 201 ms instead of 250).
    return tf.strings.split(tf.strings.regex_replace(separated, r" [^\PP!?] ", " "))


def tokens(text: tf.Tensor, tokenizer: str) -> tf.RaggedTensor:
    return tf.strings.split(standardize(text)) if tokenizer == "tutorial" else words(text)


def ngrams_of(toks: tf.RaggedTensor, config: TransformConfig, characters) -> tf.RaggedTensor:
    """The n-grams (n >= 2) of each row of tokens, shortest first, and one order longer where `characters`
    (a bool, or auto's [batch] bool tensor: per document)."""
    grams = [tf.strings.ngrams(toks, n, separator=" ") for n in range(2, config.ngrams + 1)]
    if isinstance(characters, tf.Tensor):  # the longer order of the chosen documents' tokens only
        chosen = tf.gather(characters, toks.value_rowids())
        grams.append(tf.strings.ngrams(ragged.kept(toks, chosen), config.ngrams + 1, separator=" "))
    elif characters:
        grams.append(tf.strings.ngrams(toks, config.ngrams + 1, separator=" "))
    grams = [ragged.with_row_ids(g) for g in grams]  # row ids, which the joins below read
    return ragged.concat_rows(grams) if grams else toks[:, :0]


def tokenize(text: tf.Tensor, ngrams: int = 1, tokenizer: str = "tutorial") -> tf.RaggedTensor:
    """Tokens of each text; with ngrams=2, bigrams follow the unigrams (every occurrence)."""
    toks = tokens(text, tokenizer)
    if ngrams <= 1:
        return toks
    return ragged.concat_rows([toks, ngrams_of(toks, TransformConfig(ngrams=ngrams), False)])


def _dense_text(text) -> tf.Tensor:
    """The text feature as a [batch] string tensor, whatever shape the schema gave it."""
    if isinstance(text, tf.SparseTensor):
        text = tf.sparse.to_dense(text, default_value="")
    return tf.reshape(text, [-1])


def _characters_chosen(text: tf.Tensor, config: TransformConfig):
    """`characters` or not: a bool, or for `auto` a [batch] bool tensor, per document (at least
    CHARACTERS_FROM_SHARE of its letters in scripts written without spaces). Per document, not per corpus:
    a corpus-wide share would make every n-gram's document frequency wait for a second pass of analysis
    (tf.Transform's second phase cost ~28 s of fixed overhead here, bench/NOTES.md), and a mixed corpus gets
    each document's own tokenization."""
    if config.tokenizer != "auto":
        return config.tokenizer == "characters"
    # Counted by what removing runs takes away: few replacements, 3.8x faster on IMDB than keeping one class.
    length = lambda t: tf.strings.length(t, unit="UTF8_CHAR")  # noqa: E731
    letters_of = lambda t: length(tf.strings.regex_replace(t, r"\PL+", ""))  # noqa: E731
    unspaced = length(text) - length(tf.strings.regex_replace(text, f"{_UNSPACED}+", ""))
    # Letters are counted for the decision only where there are unspaced ones (none in most corpora): the letters
    # of every document feed only the record below, which the exported graph leaves out (5,000 IMDB reviews: the
    # letters took 134 ms, the unspaced characters 20).
    candidates = ragged.where_true(unspaced > 0)
    over_share = tf.cast(tf.gather(unspaced, candidates), tf.float32) >= CHARACTERS_FROM_SHARE * tf.cast(
        letters_of(tf.gather(text, candidates)), tf.float32
    )
    chosen = tf.scatter_nd(candidates[:, None], tf.cast(over_share, tf.int32), tf.shape(text, tf.int64)) > 0
    letters = letters_of(text)
    # The training split's counts, for the record (chosen_tokenization): letters and documents by script.
    counts = tf.cast(
        tf.stack([unspaced, letters - unspaced, tf.cast(chosen, tf.int32), tf.cast(~chosen, tf.int32)], 1), tf.float32
    )
    names = tf.constant([["unspaced_letters", "spaced_letters", "unspaced_documents", "spaced_documents"]])
    frequency_vocabulary(
        tf.reshape(tf.tile(names, [tf.shape(text)[0], 1]), [-1]),
        weights=tf.reshape(counts, [-1]),
        store_frequency=True,
        vocab_filename=LETTERS_BY_SCRIPT_NAME,
    )
    return chosen


def _unigram_ids(unigrams: tf.RaggedTensor, config: TransformConfig, by_documents: bool) -> tf.RaggedTensor:
    # tft.vocabulary's file from one Beam combine (models/vocabulary.py): IMDB's Transform alone took 26.0 and 25.7 s
    # with tft.vocabulary unweighted, 22.6 and 23.5 s weighted (one pair per distinct token of a batch, not one per
    # occurrence); bench/NOTES.md has this one's figures.
    vocabulary = frequency_vocabulary(
        unigrams.flat_values,
        top_k=config.vocab_size - _RESERVED_IDS,
        # Counted once per document (tfidf's rows are distinct), a word must be in two of them.
        frequency_threshold=MIN_DOCUMENT_FREQUENCY if by_documents else None,
        vocab_filename=VOCAB_NAME,
    )
    # Looked up on the flat values and put back in `unigrams`' rows, which hold their row ids: tft.apply_vocabulary
    # of the ragged tensor rebuilds it from row splits alone, and a later `value_rowids()` costs 72 ops.
    ids = tft.apply_vocabulary(unigrams.flat_values, vocabulary, default_value=-1, num_oov_buckets=0)
    return unigrams.with_flat_values(tf.where(ids < 0, tf.cast(OOV_ID, tf.int64), ids + _RESERVED_IDS))


def _ngram_ids(grams: tf.RaggedTensor, config: TransformConfig) -> tf.RaggedTensor:
    """fastText-style: n-grams hashed into `ngram_buckets` ids after the vocabulary's."""
    return tf.strings.to_hash_bucket_fast(grams, config.ngram_buckets) + config.vocab_size


def _document_frequency(keys: tf.RaggedTensor, size: int) -> tuple[tf.RaggedTensor, tf.Tensor]:
    """Each key's count of training documents (rows are distinct terms, so a row counts a key once), and the
    number of training documents. One analyzer for both (and for every key range): each tf.Transform analyzer
    adds its own combine to the analysis, whatever its size."""
    in_batch = tf.math.unsorted_segment_sum(tf.ones_like(keys.flat_values, tf.float32), keys.flat_values, size + 1)
    in_batch += tf.one_hot(size, size + 1) * tf.cast(keys.nrows(), tf.float32)  # the last slot counts documents
    table = tft.sum(in_batch[None, :], reduce_instance_dims=False)  # [size + 1], over the training split
    return keys.with_flat_values(tf.gather(table, keys.flat_values)), table[size]


def log_wherever_it_sits(x: tf.Tensor) -> tf.Tensor:
    """ln x in float32, the same for a value whatever its place in the batch. float32 `tf.math.log` is not:
    Eigen computes most of a vector with a SIMD polynomial and the rest with std::log, and the two differ by an
    ulp for about one value in five (665 of 3,000 random values, alone against inside one vector). So a
    document's weights changed with the batch Beam gave it, and two cold runs wrote examples an ulp apart. The
    float64 log rounded to float32 was the same in every position for 1,000,003 random values (and equal to
    numpy's correctly rounded one for all of them)."""
    return tf.cast(tf.math.log(tf.cast(x, tf.float64)), tf.float32)


def _tfidf_weights(
    ids: tf.RaggedTensor, df: tf.RaggedTensor, counts: tf.RaggedTensor, documents: tf.Tensor
) -> tf.RaggedTensor:
    """(1 + log count) x idf, 0 under MIN_DOCUMENT_FREQUENCY and for OOV, each row scaled to unit L2 norm."""
    idf = log_wherever_it_sits((1.0 + documents) / (1.0 + df.flat_values)) + 1.0
    kept = tf.cast((df.flat_values >= MIN_DOCUMENT_FREQUENCY) & (ids.flat_values != OOV_ID), tf.float32)
    weights = (1.0 + log_wherever_it_sits(counts.flat_values)) * idf * kept
    rows = ids.value_rowids()
    norms = tf.sqrt(tf.math.unsorted_segment_sum(tf.square(weights), rows, ids.nrows()))
    return ids.with_flat_values(weights / tf.gather(tf.maximum(norms, 1e-12), rows))


def preprocessing_fn(inputs: dict[str, Any], custom_config: dict[str, Any] = None) -> dict[str, tf.Tensor]:
    config = TransformConfig.from_custom_config(custom_config)
    text = _dense_text(inputs[TEXT_KEY])
    characters = _characters_chosen(text, config)
    tfidf = config.weighting == "tfidf"
    # With ngram_buckets, only unigrams go through the vocabulary (counting millions of distinct n-grams is
    # Transform's slowest work) and the n-grams are hashed.
    hashed = config.ngram_buckets > 0
    unigrams = tokens(text, config.tokenizer)
    grams = ngrams_of(unigrams, config, characters)
    # The terms the vocabulary looks up, and (hashed) the n-grams.
    groups = [unigrams, grams] if hashed else [ragged.concat_rows([unigrams, grams])]
    if tfidf:
        groups, counts = zip(*(ragged.distinct(group) for group in groups), strict=True)
    # Every output lists a document's terms in one order: its unigrams, then (hashed) its n-grams.
    join = ragged.RowJoin(list(groups)) if hashed else ragged.concat_rows
    ids = _unigram_ids(groups[0], config, tfidf)
    if hashed:
        gram_ids = _ngram_ids(groups[1], config)
        ids = join([ids, gram_ids])
    texts = join(list(groups))
    outputs = {TOKEN_IDS_KEY: ids, TOKEN_TEXTS_KEY: texts}
    if tfidf:
        # Every analyzer reads the documents alone (none waits for another's result: one pass of analysis).
        # A vocabulary term's frequency is kept by its hash (ids wait for the vocabulary), an n-gram's by its id.
        # Keys: the vocabulary terms' hashes in [0, VOCABULARY_DF_BUCKETS), then the n-gram buckets after them.
        keys = [tf.strings.to_hash_bucket_fast(groups[0], VOCABULARY_DF_BUCKETS)]
        if hashed:
            keys.append(gram_ids - config.vocab_size + VOCABULARY_DF_BUCKETS)
        size = VOCABULARY_DF_BUCKETS + (config.ngram_buckets if hashed else 0)
        df, documents = _document_frequency(join(keys), size)
        weights = _tfidf_weights(ids, df, join(list(counts)), documents)
        outputs[TOKEN_WEIGHTS_KEY] = weights
    if config.max_len:  # padded or cut to max_len; 0 keeps the ragged rows (Transform writes `<key>$ragged_values`)
        shape = [None, config.max_len]
        pads = {TOKEN_IDS_KEY: PAD_ID, TOKEN_TEXTS_KEY: "", TOKEN_WEIGHTS_KEY: 0.0}
        outputs = {k: v.to_tensor(default_value=pads[k], shape=shape) for k, v in outputs.items()}
    if LABEL_KEY in inputs:  # absent at serving
        label = inputs[LABEL_KEY]
        if isinstance(label, tf.SparseTensor):
            label = tf.sparse.to_dense(label)
        outputs[LABEL_KEY] = tf.reshape(label, [-1])
    return outputs


def chosen_tokenization(transform_graph_uri: str, tokenizer: str) -> dict:
    """What Transform tokenized with: {tokenizer (the setting), and for auto: unspaced_share (of the training
    split's letters), character_documents (the share of its documents tokenized as `characters`)}."""
    path = f"{transform_graph_uri}/transform_fn/assets/{LETTERS_BY_SCRIPT_NAME}"
    if tokenizer != "auto" or not tf.io.gfile.exists(path):  # set, or a graph made before the record existed
        return {"tokenizer": tokenizer}
    counts = {}
    with tf.io.gfile.GFile(path) as f:
        for line in f:
            count, name = line.split()
            counts[name] = float(count)
    share = lambda part, other: counts.get(part, 0.0) / max(counts.get(part, 0.0) + counts.get(other, 0.0), 1.0)  # noqa: E731
    return {
        "tokenizer": tokenizer,
        "unspaced_share": round(share("unspaced_letters", "spaced_letters"), 4),
        "character_documents": round(share("unspaced_documents", "spaced_documents"), 4),
    }


def tokenization_line(record: dict) -> str:
    """One line for the run's summary and the report."""
    if "unspaced_share" not in record:
        return f"tokenizer: {record['tokenizer']} (set by --tokenizer or the recipe)"
    return (
        f"tokenizer: auto: {record['unspaced_share']:.1%} of the training split's letters are in scripts written "
        f"without spaces; {record['character_documents']:.1%} of its documents (those written without spaces) "
        "were tokenized as characters, the rest as words (--tokenizer overrides)"
    )
