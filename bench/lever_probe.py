"""Issue 29's lever measurements, outside the pipeline (bench/NOTES.md copies its output).

A stand-alone approximation of Transform + Trainer (the tokenizers of models/preprocessing.py, ids and TF-IDF
weights computed in Python, the same pooling model) on CORPUS (a folder: train/ and test/, or class
folders split 80/20 by content hash), beside the TF-IDF + LinearSVC baseline on the same split, so that a lever
costs a minute to measure, not a pipeline run. It proves nothing about the pipeline: make bench measures that.

    python bench/lever_probe.py CORPUS_DIR --tok new --weighting tfidf
"""

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf
import tf_keras


def load(name):
    root = name

    def folder(d):
        docs, labels = [], []
        classes = sorted(c for c in os.listdir(d) if os.path.isdir(os.path.join(d, c)) and c != "unsup")
        for i, c in enumerate(classes):
            for f in sorted(os.listdir(os.path.join(d, c))):
                docs.append(open(os.path.join(d, c, f), encoding="utf-8", errors="replace").read())
                labels.append(i)
        return docs, np.array(labels), classes

    if os.path.isdir(os.path.join(root, "train")):
        tr, ytr, classes = folder(os.path.join(root, "train"))
        te, yte, _ = folder(os.path.join(root, "test"))
    else:
        docs, y, classes = folder(root)
        h = np.array([int(hashlib.md5(d.encode()).hexdigest()[:8], 16) % 10 for d in docs])
        tr = [d for d, k in zip(docs, h, strict=False) if k >= 2]
        ytr = y[h >= 2]
        te = [d for d, k in zip(docs, h, strict=False) if k < 2]
        yte = y[h < 2]
    # eval: 10% of train by hash
    h = np.array([int(hashlib.md5(d.encode()).hexdigest()[8:16], 16) % 10 for d in tr])
    ev = [d for d, k in zip(tr, h, strict=False) if k == 0]
    yev = ytr[h == 0]
    tr = [d for d, k in zip(tr, h, strict=False) if k != 0]
    ytr = ytr[h != 0]
    return (tr, ytr), (ev, yev), (te, yte), classes


def baseline(tr, ytr, te, yte):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    t = time.time()
    v = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    clf = LinearSVC(C=0.5).fit(v.fit_transform(tr), ytr)
    return float((clf.predict(v.transform(te)) == yte).mean()), time.time() - t


def tokens_of(docs, tok):
    out = []
    for i in range(0, len(docs), 2000):
        r = tok(tf.constant(docs[i : i + 2000]))
        out += [[w.decode() for w in row] for row in r.to_list()]
    return out


def features(toks_tr, others, a):
    """ids + weights per doc: unigram vocab (df>=min_df, cap), n-grams hashed."""
    import collections

    def grams(toks):
        g = list(toks)
        for n in range(2, a.ngrams + 1):
            g += [" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)]
        return g

    df = collections.Counter()
    for t in toks_tr:
        df.update(set(t))
    vocab = [w for w, c in sorted(df.items(), key=lambda kv: (-kv[1], kv[0])) if c >= a.min_df][: a.vocab - 2]
    index = {w: i + 2 for i, w in enumerate(vocab)}
    V = a.vocab

    def ids_of(toks):
        c = collections.Counter(grams(toks)) if a.unique else None
        items = list(c.items()) if a.unique else [(g, 1) for g in grams(toks)]
        ids, tfs = [], []
        for g, n in items:
            if " " in g:
                i = V + (int(hashlib.md5(g.encode()).hexdigest()[:12], 16) % a.buckets)
            else:
                i = index.get(g, 1)
            ids.append(i)
            tfs.append(n)
        return ids, tfs

    tr = [ids_of(t) for t in toks_tr]
    dfid = np.zeros(V + a.buckets, np.float64)
    for ids, _ in tr:
        dfid[list(set(ids))] += 1
    N = len(tr)
    idf = np.log((1 + N) / (1 + dfid)) + 1
    keep = dfid >= a.min_df
    keep[1] = False  # OOV

    def weigh(ids, tfs):
        ids = np.array(ids, np.int64)
        tfs = np.array(tfs, np.float64)
        if a.weighting == "tfidf":
            w = (1 + np.log(tfs)) * idf[ids] * keep[ids]
            n = np.sqrt((w**2).sum())
            w = w / n if n > 0 else w
        elif a.weighting == "mask":
            w = keep[ids] * 1.0 * tfs
            w = w / max(np.sqrt(len(ids)), 1)
        else:
            w = tfs / max(np.sqrt(tfs.sum()), 1)
        return ids, w.astype(np.float32)

    return [weigh(*x) for x in tr], [[weigh(*ids_of(t)) for t in o] for o in others]


def ragged(feats):
    ids = tf.ragged.constant([f[0] for f in feats], dtype=tf.int64)
    w = tf.ragged.constant([f[1] for f in feats], dtype=tf.float32)
    return ids, w


class Pool(tf_keras.layers.Layer):
    def __init__(self, rows, dim, rate, **kw):
        super().__init__(**kw)
        self.rows, self.dim = rows, dim
        self.drop = tf_keras.layers.Dropout(rate)

    def build(self, s):
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.rows, self.dim), initializer=tf_keras.initializers.RandomUniform(-0.05, 0.05)
        )

    def call(self, inputs, training=None):
        ids, w = inputs
        v = self.drop(tf.gather(self.embeddings, ids.flat_values), training=training) * w.flat_values[:, None]
        return tf.math.unsorted_segment_sum(v, ids.value_rowids(), ids.nrows())


class M(tf_keras.Model):
    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            p = self(x, training=True)
            loss = self.compute_loss(x, y, p)
        vs = self.trainable_variables
        gs = tape.gradient(loss, vs)
        tab = self.get_layer("emb").embeddings
        self.emb_opt.apply_gradients([(g, v) for g, v in zip(gs, vs, strict=False) if v is tab])
        self.optimizer.apply_gradients([(g, v) for g, v in zip(gs, vs, strict=False) if v is not tab])
        return self.compute_metrics(x, y, p, None)


def train(a, k, rows, tr, ytr, ev, yev, te, yte):
    tf_keras.utils.set_random_seed(a.seed)
    ids = tf_keras.Input(shape=(None,), dtype=tf.int64, ragged=True)
    w = tf_keras.Input(shape=(None,), dtype=tf.float32, ragged=True)
    x = Pool(rows, a.dim, a.dropout, name="emb")([ids, w])
    x = tf_keras.layers.Dropout(a.dropout)(x)
    out = tf_keras.layers.Dense(1 if k == 2 else k)(x)
    m = M([ids, w], out)
    m.emb_opt = tf_keras.optimizers.Adagrad(a.elr, initial_accumulator_value=1e-6)
    if k == 2:
        loss, met = (
            tf_keras.losses.BinaryCrossentropy(from_logits=True),
            tf_keras.metrics.BinaryAccuracy(threshold=0.0, name="acc"),
        )
    else:
        loss, met = (
            tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            tf_keras.metrics.SparseCategoricalAccuracy(name="acc"),
        )
    m.compile(tf_keras.optimizers.Adam(a.lr), loss, [met], steps_per_execution=32)

    def ds(f, y, shuf):
        d = tf.data.Dataset.from_tensor_slices((ragged(f), y))
        if shuf:
            d = d.shuffle(50000, seed=a.seed)
        return d.batch(a.batch)

    t = time.time()
    h = m.fit(
        ds(tr, ytr, True),
        validation_data=ds(ev, yev, False),
        epochs=a.epochs,
        verbose=0,
        callbacks=[tf_keras.callbacks.EarlyStopping(patience=a.patience, restore_best_weights=True)],
    )
    fit = time.time() - t
    acc = m.evaluate(ds(te, yte, False), verbose=0)[1]
    return acc, fit, len(h.history["loss"])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("corpus")
    p.add_argument("--tok", default="new")
    p.add_argument("--weighting", default="tfidf")
    p.add_argument("--ngrams", type=int, default=2)
    p.add_argument("--vocab", type=int, default=20000)
    p.add_argument("--buckets", type=int, default=1000000)
    p.add_argument("--min-df", type=int, default=2)
    p.add_argument("--unique", type=int, default=1)
    p.add_argument("--dim", type=int, default=32)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--lr", type=float, default=4e-3)
    p.add_argument("--elr", type=float, default=0.1)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--patience", type=int, default=2)
    p.add_argument("--baseline", type=int, default=1)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()
    (tr, ytr), (ev, yev), (te, yte), classes = load(a.corpus)
    res = {"corpus": a.corpus, **{k: v for k, v in vars(a).items() if k != "corpus"}}
    if a.baseline:
        res["baseline"], res["baseline_s"] = baseline(tr, ytr, te, yte)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from models import preprocessing

    # The pipeline's own tokenizers (the figures in bench/NOTES.md were measured with an earlier copy of `words`
    # that lacked the code tokens #define, <= and >=).
    tok = {"new": preprocessing.words, "old": lambda t: preprocessing.tokens(t, "tutorial")}[a.tok]
    t0 = time.time()
    ttr, tev, tte = (tokens_of(d, tok) for d in (tr, ev, te))
    ftr, (fev, fte) = features(ttr, [tev, tte], a)
    res["prep_s"] = round(time.time() - t0, 1)
    res["acc"], res["fit_s"], res["epochs_run"] = train(
        a, len(classes), a.vocab + a.buckets, ftr, ytr, fev, yev, fte, yte
    )
    print(json.dumps(res))


if __name__ == "__main__":
    main()
