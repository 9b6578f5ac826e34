"""Text data: Tiny Shakespeare prepared into TFDS (array_record, no TensorFlow), or 'markov_text'
(generated in code by a seeded order-2 character Markov chain whose entropy rate is known
exactly: the floor of any model's nats per character), tokenised as characters or byte-pair
tokens, and cut into windows of block_size + 1 tokens.

Split (as nanoGPT): the first 90% of the file's characters train, the last 10% validate; the
validation split is the likelihood protocol's test set. Vocabularies come from the training
split only: characters in code-point order, or a byte-level BPE trained with the `tokenizers`
library (cached beside the prepared data, keyed by the training text and the vocabulary size).

Windows: every offset of the training stream is an example (`sliding_window_view`, no copy),
so an epoch's permutation is nanoGPT's random offsets without replacement. The test windows
tile the validation stream at stride block_size, the first one starting on the last training
token, so every validation token is predicted exactly once from the text since its window
began; the last window is padded with the id `vocab_size` (never a target). Each token knows
how many characters it stands for (`token_chars`), which turns any tokenizer's nats into nats
per character.
"""

import dataclasses
import functools
import hashlib
import os
from collections.abc import Callable

import numpy as np

from jaxgen.data.errors import DataError

TINY_SHAKESPEARE = {
    "file": "input.txt",
    "url": "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
    "md5": "6fb458f1232090904fb40fe944165e91",
}
TRAIN_FRACTION = 0.9
TOKENIZERS = ("char", "bpe")


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    kind: str  # 'char' or 'bpe'
    size: int  # token ids 0..size-1; `size` itself pads test windows
    encode: Callable[[str], np.ndarray]  # text -> int32 ids
    decode: Callable[[np.ndarray], str]  # ids (padding dropped) -> text
    token_chars: np.ndarray  # [size + 1] int32 characters per token (0 for the padding id)


@dataclasses.dataclass(frozen=True)
class TextData:
    """What the protocol and the decoders need beyond the windows."""

    vocab: Vocabulary
    block_size: int
    test_text_checksum: str  # SHA-256 of the validation split's UTF-8 bytes, first 16 hex digits
    test_chars: int  # characters of the validation split, every one predicted once
    target_start: int = 1  # column of 'x' where the predicted tokens begin (windows: 1; packed pairs: S + 1)


@functools.cache
def _builder_class():
    """The builder, defined on first use (TFDS is imported only when text is loaded; once: TFDS
    registers builder names)."""
    import tensorflow_datasets as tfds
    from etils import epath

    class TinyShakespeareText(tfds.core.GeneratorBasedBuilder):
        """Tiny Shakespeare (plays in the public domain, compiled by A. Karpathy): one record per split."""

        VERSION = tfds.core.Version("1.0.0")
        MANUAL_DOWNLOAD_INSTRUCTIONS = "Put input.txt in DIR or DIR/tinyshakespeare and set config.data.dir=DIR."

        def __init__(self, *, source_dir: str | None = None, **kwargs):
            self._source_dir = source_dir
            super().__init__(**kwargs)

        def _info(self):
            return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({"text": tfds.features.Text()}),
                                         homepage="https://github.com/karpathy/char-rnn")

        def _split_generators(self, dl_manager):
            if self._source_dir:
                path = epath.Path(self._source_dir) / TINY_SHAKESPEARE["file"]
            else:
                path = epath.Path(dl_manager.download(TINY_SHAKESPEARE["url"]))
            raw = path.read_bytes()
            digest = hashlib.md5(raw).hexdigest()
            if digest != TINY_SHAKESPEARE["md5"]:
                raise DataError(f"{path}: md5 {digest} does not match the published {TINY_SHAKESPEARE['md5']}")
            text = raw.decode("utf-8")
            cut = int(len(text) * TRAIN_FRACTION)
            return {"train": self._generate_examples(text[:cut]), "validation": self._generate_examples(text[cut:])}

        def _generate_examples(self, text):
            yield 0, {"text": text}

    return TinyShakespeareText


def find_source_dir(data_dir: str) -> str | None:
    """DIR or DIR/tinyshakespeare holding input.txt; DIR defaults to $JAXGEN_DATA_DIR."""
    data_dir = data_dir or os.environ.get("JAXGEN_DATA_DIR", "")
    for candidate in ((os.path.join(data_dir, "tinyshakespeare"), data_dir) if data_dir else ()):
        if os.path.exists(os.path.join(candidate, TINY_SHAKESPEARE["file"])):
            return candidate
    return None


def load_splits(data_dir: str, tfds_dir: str, download: bool) -> tuple[dict[str, str], str]:
    """({'train': text, 'validation': text}, the prepared dataset's directory), preparing once."""
    import tensorflow_datasets as tfds

    source_dir = find_source_dir(data_dir)
    builder = _builder_class()(source_dir=source_dir, data_dir=tfds_dir or None, file_format="array_record")
    if not builder.is_prepared():
        if source_dir is None and not download:
            raise FileNotFoundError(
                f"tiny_shakespeare is not prepared in {builder.data_dir} and input.txt was not found in "
                f"{data_dir or os.environ.get('JAXGEN_DATA_DIR', '') or '(no directory given)'!r}; set config.data.dir=DIR "
                "or JAXGEN_DATA_DIR=DIR (DIR or DIR/tinyshakespeare), or config.data.download=True")
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=source_dir))
    splits = {s: builder.as_data_source(split=s)[0]["text"].decode("utf-8") for s in ("train", "validation")}
    return splits, str(builder.data_dir)


def char_vocabulary(train_text: str) -> Vocabulary:
    chars = np.array(sorted(set(train_text)))
    lookup = {c: i for i, c in enumerate(chars)}

    def encode(text: str) -> np.ndarray:
        unknown = sorted(set(text) - lookup.keys())
        if unknown:
            raise DataError(f"characters {unknown[:10]} are not in the training split's vocabulary")
        return np.fromiter((lookup[c] for c in text), np.int32, len(text))

    def decode(ids) -> str:
        ids = np.asarray(ids)
        return "".join(chars[ids[ids < len(chars)]])

    return Vocabulary("char", len(chars), encode, decode, np.append(np.ones(len(chars), np.int32), 0))


def bpe_vocabulary(train_text: str, vocab_size: int, cache_dir: str) -> Vocabulary:
    """Byte-level BPE (GPT-2's pre-tokenisation) trained on `train_text` by `tokenizers`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    digest = hashlib.sha256(train_text.encode()).hexdigest()[:12]
    path = os.path.join(cache_dir, f"bpe_{vocab_size}_{digest}.json")
    if os.path.exists(path):
        tok = Tokenizer.from_file(path)
    else:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
        tok.train_from_iterator([train_text], trainer)
        os.makedirs(cache_dir, exist_ok=True)
        tmp = f"{path}.tmp{os.getpid()}"
        tok.save(tmp)
        os.replace(tmp, path)
    size = tok.get_vocab_size()
    chars = np.array([len(tok.decode([i])) for i in range(size)] + [0], np.int32)

    def encode(text: str) -> np.ndarray:
        ids = np.asarray(tok.encode(text).ids, np.int32)
        if int(chars[ids].sum()) != len(text):
            raise DataError(f"BPE tokens cover {int(chars[ids].sum())} characters of a {len(text)}-character text "
                            "(multi-byte characters split across tokens); use tokenizer='char'")
        return ids

    def decode(ids) -> str:
        ids = np.asarray(ids)
        return tok.decode(ids[ids < size].tolist())

    return Vocabulary("bpe", size, encode, decode, chars)


def windows(train_ids: np.ndarray, test_ids: np.ndarray, block_size: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """(train [N, block + 1]: every offset, a read-only view; test [M, block + 1]: the validation
    stream after the last training token at stride block, padded with `pad`)."""
    if len(train_ids) <= block_size + 1:
        raise DataError(f"block_size={block_size}: the training split has only {len(train_ids)} tokens")
    train = np.lib.stride_tricks.sliding_window_view(train_ids, block_size + 1)
    stream = np.concatenate([train_ids[-1:], test_ids])
    m = -(-(len(stream) - 1) // block_size)
    padded = np.full(m * block_size + 1, pad, np.int32)
    padded[:len(stream)] = stream
    test = np.stack([padded[i * block_size:(i + 1) * block_size + 1] for i in range(m)])
    return train, test


MARKOV_ALPHABET = "abcdefgh ."


def markov_chain(seed: int, order: int = 2, alphabet: str = MARKOV_ALPHABET, concentration: float = 0.3
                 ) -> tuple[np.ndarray, float]:
    """(transition probabilities [A^order, A]: row = context index (base A, oldest symbol first),
    entropy rate in nats per character under the stationary distribution)."""
    a = len(alphabet)
    rng = np.random.default_rng([seed, 7])
    probs = rng.dirichlet(np.full(a, concentration), size=a**order)
    states = a**order
    step = np.zeros((states, states))  # context -> next context
    for ctx in range(states):
        for c in range(a):
            step[ctx, (ctx * a + c) % states] += probs[ctx, c]
    pi = np.full(states, 1.0 / states)
    for _ in range(10_000):
        new = pi @ step
        if np.abs(new - pi).max() < 1e-15:
            break
        pi = new
    entropy = -np.sum(probs * np.log(np.where(probs > 0, probs, 1.0)), axis=1)
    return probs, float(pi @ entropy)


def markov_text(seed: int, num_chars: int, draw: int = 0, order: int = 2, alphabet: str = MARKOV_ALPHABET) -> str:
    """`num_chars` characters of chain `seed` (its first context drawn uniformly); `draw` picks an
    independent stretch of the same chain (the training and validation splits differ in it)."""
    probs, _ = markov_chain(seed, order, alphabet)
    a, states = len(alphabet), len(alphabet) ** order
    rng = np.random.default_rng([seed, draw, num_chars])
    cum = np.cumsum(probs, 1)
    u = rng.random(num_chars)
    out = np.empty(num_chars, np.int64)
    ctx = int(rng.integers(states))
    for i in range(num_chars):
        c = min(int(np.searchsorted(cum[ctx], u[i], side="right")), a - 1)
        out[i] = c
        ctx = (ctx * a + c) % states
    return "".join(np.array(list(alphabet))[out])


def text_splits(name: str, options: dict) -> tuple[dict[str, str], str]:
    """({'train': text, 'validation': text}, a directory for tokenizer caches) of `name`'s text:
    'markov_text' generated from options' toy keys, else Tiny Shakespeare prepared once."""
    if name.startswith("markov"):
        seed = options["toy_seed"]
        splits = {"train": markov_text(seed, options["toy_train_size"], draw=0),
                  "validation": markov_text(seed, options["toy_test_size"], draw=1)}
        return splits, os.path.join(options["tfds_dir"] or os.path.expanduser("~/tensorflow_datasets"), "markov_text")
    return load_splits(options["dir"], options["tfds_dir"], options["download"])


def load_text(name: str, options: dict) -> tuple[dict, dict, TextData]:
    """Training and test windows ({'x': int32 [N, block + 1]}) and the TextData of text dataset
    `name` under options' tokenizer, vocab_size and block_size."""
    if options["tokenizer"] not in TOKENIZERS:
        raise ValueError(f"config.data.tokenizer={options['tokenizer']!r}: expected one of {TOKENIZERS}")
    splits, prepared = text_splits(name, options)
    if options["tokenizer"] == "char":
        vocab = char_vocabulary(splits["train"])
    else:
        vocab = bpe_vocabulary(splits["train"], options["vocab_size"], os.path.join(prepared, "tokenizers"))
    train_ids, test_ids = vocab.encode(splits["train"]), vocab.encode(splits["validation"])
    train, test = windows(train_ids, test_ids, options["block_size"], vocab.size)
    digest = hashlib.sha256(splits["validation"].encode()).hexdigest()[:16]
    return {"x": train}, {"x": test}, TextData(vocab, options["block_size"], digest, len(splits["validation"]))
